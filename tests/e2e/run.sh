#!/bin/sh
# tests/e2e/run.sh - end-to-end numeric tests of compiled models.
#
#   sh tests/e2e/run.sh            (from anywhere; uses build/nngc, build/npycmp)
#
# Each directory tests/e2e/cases/<name>/ holds a program (model.nn), its
# params (params.safetensors), its inputs (in_<input>.npy) and the expected
# results (expect_<output>.npy, expect_loss.npy), computed by
# tests/e2e/gen_fixtures.py in float64 NumPy from the language's semantics:
# an independent reference, never the compiler's own output. For every case
# and every optimisation level we run
#
#   nngc run [-O0|-O2] model.nn --params params.safetensors \
#       --input NAME=in_NAME.npy ... --out DIR
#
# and compare each expected array with DIR/<output>.npy using npycmp
# (rtol 1e-4, atol 1e-5: float32 arithmetic against a float64 reference).
# The error checks at the end feed bad inputs (an id out of range, a dynamic
# size over its max, a missing input, a wrong dtype or shape) and expect
# exit status 1 with a message, never a crash.
#
# Prints one "ok - NAME" / "not ok - NAME" line per check, then
# "N passed, N failed"; exits 1 if any check failed.
#
# Environment: NNGC, NPYCMP override the tools; E2E_TIMEOUT (seconds, 30)
# bounds each run so that a hang is a failure, not a stuck suite.

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
NPYCMP=${NPYCMP:-build/npycmp}
TMO=${E2E_TIMEOUT:-30}
CASES=tests/e2e/cases
RTOL=1e-4
ATOL=1e-5

. tests/lib.sh

need_tools e2e "$NNGC" "$NPYCMP"
make_tmp e2e

# run_model CASE OUTDIR [nngc options] [extra run args]: runs one case with
# all of its inputs; stderr goes to $tmp/err. Returns nngc's status.
run_model() {
    # sh has no local variables: rm_ names keep the caller's apart
    rm_dir=$CASES/$1
    rm_out=$2
    shift 2
    set -- "$@" "$rm_dir/model.nn" --params "$rm_dir/params.safetensors"
    for rm_f in "$rm_dir"/in_*.npy; do
        [ -e "$rm_f" ] || continue
        rm_name=${rm_f##*/in_}
        rm_name=${rm_name%.npy}
        set -- "$@" --input "$rm_name=$rm_f"
    done
    rm -rf "$rm_out"
    mkdir -p "$rm_out"
    timeout "$TMO" "$NNGC" run "$@" --out "$rm_out" >"$tmp/out" 2>"$tmp/err"
}

# ---------------------------------------------------------------- numeric cases

for dir in "$CASES"/*/; do
    case=${dir%/}
    case=${case##*/}
    for opt in "" -O0 -O2; do
        label="e2e/$case${opt:+ $opt}"
        out=$tmp/out-$case$opt
        if [ -n "$opt" ]; then
            run_model "$case" "$out" "$opt"
        else
            run_model "$case" "$out"
        fi
        st=$?
        if [ $st -ne 0 ]; then
            notok "$label: nngc run: $(status_text $st)"
            head -n 5 "$tmp/err" | cut -c 1-160 | sed 's/^/#   /'
            continue
        fi
        ok "$label: nngc run"
        for exp in "$dir"expect_*.npy; do
            [ -e "$exp" ] || continue
            name=${exp##*/expect_}
            name=${name%.npy}
            if [ ! -f "$out/$name.npy" ]; then
                notok "$label: $name (no $name.npy written)"
            elif "$NPYCMP" "$exp" "$out/$name.npy" --rtol $RTOL --atol $ATOL >"$tmp/cmp" 2>&1; then
                ok "$label: $name"
            else
                notok "$label: $name"
                head -n 5 "$tmp/cmp" | cut -c 1-160 | sed 's/^/#   /'
            fi
        done
    done
done

# ---------------------------------------------------------------- error cases

# expect_fail LABEL SUBSTRING CMD...: CMD must exit with status 1 and, when
# SUBSTRING is not empty, say SUBSTRING on stderr.
expect_fail() {
    label=$1
    want=$2
    shift 2
    # (called only after the numeric loop: reusing label is safe)
    timeout "$TMO" "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
    if [ $st -ne 1 ]; then
        notok "$label: expected exit status 1, got $(status_text $st)"
    elif [ ! -s "$tmp/err" ]; then
        notok "$label: no message on stderr"
    elif [ -n "$want" ] && ! grep -qF -- "$want" "$tmp/err"; then
        notok "$label: stderr lacks \"$want\""
        head -n 5 "$tmp/err" | cut -c 1-160 | sed 's/^/#   /'
    else
        ok "$label"
    fi
}

sg=$CASES/skipgram
rn=$CASES/rnnlm
sl=$CASES/slowimpl
expect_fail "e2e/error: id out of range" "out of range" \
    "$NNGC" run "$sg/model.nn" --params "$sg/params.safetensors" \
    --input "sent=$sg/bad_oob_sent.npy" --out "$tmp/err-oob"
expect_fail "e2e/error: negative id" "out of range" \
    "$NNGC" run "$sg/model.nn" --params "$sg/params.safetensors" \
    --input "sent=$sg/bad_neg_sent.npy" --out "$tmp/err-neg"
expect_fail "e2e/error: dynamic size over max" "" \
    "$NNGC" run "$sg/model.nn" --params "$sg/params.safetensors" \
    --input "sent=$sg/bad_long_sent.npy" --out "$tmp/err-long"
for O in -O0 -O2; do
    expect_fail "e2e/error: id out of range in a bag of words ($O)" "model.nn:12:11: index 9 out of range [0, 9)" \
        "$NNGC" run "$CASES/bag/model.nn" --params "$CASES/bag/params.safetensors" $O \
        --input "words=$CASES/bag/bad_oob_words.npy" --out "$tmp/err-bag"
done
# a label read on the host from the input where the passes batched the ids
# (compiler/backend/place.c), checked there as in the loop
idf=$CASES/ids_from1
for O in -O0 -O2; do
    expect_fail "e2e/error: a label out of range read as ids[t - 1] ($O)" "model.nn:20:11: index 4 out of range [0, 4)" \
        "$NNGC" run "$idf/model.nn" --params "$idf/params.safetensors" $O --grads "$tmp/err-idf-g" \
        --input "xs=$idf/in_xs.npy" --input "ids=$idf/bad_oob_ids.npy" --out "$tmp/err-idf"
done
expect_fail "e2e/error: missing input" "words" \
    "$NNGC" run "$rn/model.nn" --params "$rn/params.safetensors" \
    --out "$tmp/err-missing"
expect_fail "e2e/error: float data for an int input" "" \
    "$NNGC" run "$rn/model.nn" --params "$rn/params.safetensors" \
    --input "words=$CASES/builtins/in_tgt.npy" --out "$tmp/err-dtype"
expect_fail "e2e/error: wrong input shape" "" \
    "$NNGC" run "$sl/model.nn" --params "$sl/params.safetensors" \
    --input "xs=$CASES/builtins/in_x.npy" --input "ys=$sl/in_ys.npy" \
    --out "$tmp/err-shape"
expect_fail "e2e/error: params file lacks a param" "" \
    "$NNGC" run "$rn/model.nn" --params "$sg/params.safetensors" \
    --input "words=$rn/in_words.npy" --out "$tmp/err-params"

# ---------------------------------------------------------------- one word's log-probability

# one word's log-probability where p(y) is below the smallest float (or
# exp(z) overflows): log(softmax(z)[y]) (the exact cross_entropy it is
# lowered to), the softmax written exp(z) / sum(exp(z)) and the cross
# entropy written log(sum(exp(z))) - z[y] (the front end's softmax and
# cross_entropy) give -log p(y) = 200 + log(2 + e^-200), 200 to float
# precision, by hand (they were inf, NaN and inf)
python3 -c "import sys; sys.path.insert(0, 'tests'); from npyio import write_npy
write_npy('$tmp/z.npy', 'f', [3], [0.0, 200.0, 0.0]); write_npy('$tmp/y.npy', 'i', [], [0])" ||
    notok "e2e/tiny_p: the inputs"
for form in "-log(softmax(z)[y])" "-log((exp(z) / sum(exp(z)))[y])" "log(sum(exp(z))) - z[y]"; do
    printf 'model tiny_p\ninput z : [3]\ninput y : int\nloss += %s\n' "$form" >"$tmp/tiny_p.nn"
    for O in -O0 -O2; do
        if timeout "$TMO" "$NNGC" run $O "$tmp/tiny_p.nn" --input "z=$tmp/z.npy" --input "y=$tmp/y.npy" \
            >"$tmp/out" 2>&1 && grep -qx 'loss = 200' "$tmp/out"; then
            ok "e2e/tiny_p $O: $form = 200 where p(y) underflows"
        else
            notok "e2e/tiny_p $O: $form = 200 where p(y) underflows"
            detail "$tmp/out" 3
        fi
    done
done

# the log of a sigmoid's probability where it rounds to 0 (s = -200):
# -log sigma(s) = 200 + log(1 + e^-200), 200 to float precision, by hand,
# written five ways (the front end's log_sigmoid; were inf)
python3 -c "import sys; sys.path.insert(0, 'tests'); from npyio import write_npy
write_npy('$tmp/s.npy', 'f', [], [-200.0])" || notok "e2e/tiny_s: the input"
for form in "-log(sigmoid(s))" "-log(1 / (1 + exp(-s)))" "-log(1 - sigmoid(-s))" "log(1 + exp(-s))" "softplus(-s)"; do
    printf 'model tiny_s\nimport "nn"\ninput s : float\nloss += %s\n' "$form" >"$tmp/tiny_s.nn"
    for O in -O0 -O2; do
        if timeout "$TMO" "$NNGC" run $O "$tmp/tiny_s.nn" --input "s=$tmp/s.npy" >"$tmp/out" 2>&1 &&
            grep -qx 'loss = 200' "$tmp/out"; then
            ok "e2e/tiny_s $O: $form = 200 where sigmoid(s) underflows"
        else
            notok "e2e/tiny_s $O: $form = 200 where sigmoid(s) underflows"
            detail "$tmp/out" 3
        fi
    done
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
