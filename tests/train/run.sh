#!/bin/sh
# tests/train/run.sh - training end to end: gradients, optimizer steps,
# checkpoints, against PyTorch.
#
#   sh tests/train/run.sh          (from anywhere; uses build/nngc, build/npycmp,
#                                   build/libnngrt.a and a C compiler)
#
# Models: tests/train/models/*.nn, small versions of the examples (slowimpl,
# skipgram, rnnlm), `builtins`, which puts every builtin of the language
# on the path to its loss, and `loops`, every way a loop keeps its values
# in place (stacked carries, forward and reverse, values in two buffers),
# `bag`, a bag of words (its gradient a broadcast row scattered), and
# `ids_from1`, ids read in a loop from 1 (tests/e2e/cases/ids_from1),
# `deadcarry`, a carry the loss does not read whose value overflows.
# Fixtures: tests/train/fixtures/MODEL/, written by
# gen_fixtures.py with PyTorch in float64 (checked in; no PyTorch here).
#
#   1. grads     nngc run --grads at -O2 against PyTorch's gradients
#                (rtol 1e-3, atol 1e-5: float32 against float64)
#   2. -O0, -O1  the same at -O0, and -O0 and -O1 against -O2 (rtol 1e-4, atol 1e-6)
#   3. steps     --train 3 with sgd(lr 0.1), adam(lr 0.01), adagrad(lr 0.1)
#                against torch.optim after 3 steps (rtol 1e-3, atol 1e-5)
#   4. resume    2 steps, --save, load, 1 step == 3 steps, bit for bit,
#                optimizer state included (Adam and Adagrad)
#   5. sparse    sgd leaves the rows of a lookup table that no id touches
#                bit-identical; seq_check.c's steps on sentences a, b, a with
#                sgd, adagrad, adam and adam(lazy = 1) against torch.optim
#                (SparseAdam for lazy: untouched rows' moments do not decay)
#   6. fd        central differences of the loss (float32, step 1e-2) for
#                one element of every param of rnnlm: |fd - g| <= 1e-2 |g| + 1e-3
#   7. cli       --dump-ir=autodiff, --train without an optimizer, a model
#                with nothing to train
#   8. app       examples/apps/train_app.c: train, save, reload, evaluate
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
NPYCMP=${NPYCMP:-build/npycmp}
RTLIB=${RTLIB:-$(dirname "$NNGC")/libnngrt.a}
CC=${CC:-cc}
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
FIX=tests/train/fixtures
MODELS=tests/train/models

. tests/lib.sh
# check NAME CMD...: ok when CMD succeeds; else not ok with its output
check() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then ok "$name"; else notok "$name"; sed 's/^/#   /' "$tmp/out" | head -n 12; fi
}

make_tmp train

for tool in "$NNGC" "$NPYCMP" "$RTLIB"; do
    if [ ! -e "$tool" ]; then
        notok "train: $tool exists (run make)"
        echo "$pass passed, $fail failed"
        exit 1
    fi
done
STTOOL=$tmp/sttool
if ! $CC -std=c11 -O1 -Iruntime -o "$STTOOL" tests/train/sttool.c "$RTLIB" $BLAS -lm -lpthread >"$tmp/cc" 2>&1; then
    notok "train: build tests/train/sttool.c"
    cat "$tmp/cc"
    echo "$pass passed, $fail failed"
    exit 1
fi

# inputs MODEL: the --input arguments of a model's fixtures
inputs() {
    for f in "$FIX/$1"/*.npy; do
        printf ' --input %s=%s' "$(basename "$f" .npy)" "$f"
    done
}

# grads MODEL DIR [options]: nngc run --grads DIR at the fixture params
grads() {
    m=$1 d=$2
    shift 2
    # shellcheck disable=SC2046
    "$NNGC" run "$MODELS/$m.nn" --params "$FIX/$m/params.safetensors" $(inputs "$m") --grads "$d" \
        --out "$tmp/o" "$@"
}

# cmp_grads DIR REFDIR RTOL ATOL: every PARAM.npy of REFDIR against DIR
cmp_grads() {
    for g in "$2"/*.npy; do
        "$NPYCMP" "$1/$(basename "$g")" "$g" --rtol "$3" --atol "$4" || { echo "in $(basename "$g")"; return 1; }
    done
}

# ---------------------------------------------------------------- 1, 2: gradients
for m in slowimpl skipgram rnnlm builtins loops bag ids_from1 deadcarry stablelog; do
    if grads $m "$tmp/g2_$m" -O2 >"$tmp/out" 2>&1; then
        check "grads $m -O2 vs PyTorch" cmp_grads "$tmp/g2_$m" "$FIX/$m/grads" 1e-3 1e-5
    else
        notok "grads $m -O2: nngc run failed"
        sed 's/^/#   /' "$tmp/out" | head -n 12
    fi
    if grads $m "$tmp/g0_$m" -O0 >"$tmp/out" 2>&1; then
        check "grads $m -O0 vs PyTorch" cmp_grads "$tmp/g0_$m" "$FIX/$m/grads" 1e-3 1e-5
        check "grads $m -O0 == -O2" cmp_grads "$tmp/g0_$m" "$tmp/g2_$m" 1e-4 1e-6
    else
        notok "grads $m -O0: nngc run failed"
        sed 's/^/#   /' "$tmp/out" | head -n 12
    fi
    if grads $m "$tmp/g1_$m" -O1 >"$tmp/out" 2>&1; then
        check "grads $m -O1 == -O2" cmp_grads "$tmp/g1_$m" "$tmp/g2_$m" 1e-4 1e-6
    else
        notok "grads $m -O1: nngc run failed"
        sed 's/^/#   /' "$tmp/out" | head -n 12
    fi
done

# ---------------------------------------------------------------- 3: optimizer steps
# train MODEL PARAMS STEPS OPTIMIZER OUT [options]
train() {
    m=$1 p=$2 n=$3 o=$4 out=$5
    shift 5
    # shellcheck disable=SC2046
    "$NNGC" run "$MODELS/$m.nn" --params "$p" $(inputs "$m") --train "$n" --optimizer="$o" --save "$out" \
        --out "$tmp/o" "$@"
}
trained() { # MODEL OPT SPEC: train 3 steps, compare with PyTorch
    train "$1" "$FIX/$1/params.safetensors" 3 "$3" "$tmp/t_$1_$2.st" && "$STTOOL" cmp "$tmp/t_$1_$2.st" \
        "$FIX/$1/$2.safetensors" --rtol 1e-3 --atol 1e-5
}
for m in slowimpl skipgram rnnlm builtins loops bag ids_from1 deadcarry stablelog; do
    check "train $m sgd x3 vs torch.optim.SGD" trained $m sgd sgd:lr=0.1
    check "train $m adam x3 vs torch.optim.Adam" trained $m adam adam:lr=0.01
    check "train $m adagrad x3 vs torch.optim.Adagrad" trained $m adagrad adagrad:lr=0.1
done

# ---------------------------------------------------------------- 4: resume
resume() { # MODEL SPEC
    p=$FIX/$1/params.safetensors
    train "$1" "$p" 3 "$2" "$tmp/r3.st" && train "$1" "$p" 2 "$2" "$tmp/r2.st" &&
        train "$1" "$tmp/r2.st" 1 "$2" "$tmp/r21.st" && "$STTOOL" cmp "$tmp/r21.st" "$tmp/r3.st" --rtol 0 --atol 0
}
check "resume rnnlm adam: 2 + save/load + 1 == 3 (bit for bit, state restored)" resume rnnlm adam:lr=0.01
check "resume builtins adagrad: 2 + save/load + 1 == 3" resume builtins adagrad:lr=0.1

# ---------------------------------------------------------------- 5: sparse
sparse() {
    read -r table rows <"$FIX/skipgram/untouched.txt"
    train skipgram "$FIX/skipgram/params.safetensors" 3 sgd:lr=0.1 "$tmp/sp.st" &&
        "$STTOOL" cmp "$tmp/sp.st" "$FIX/skipgram/params.safetensors" --rtol 0 --atol 0 \
            --rows "$table=$(echo "$rows" | tr ' ' ',')" &&
        ! "$STTOOL" cmp "$tmp/sp.st" "$FIX/skipgram/params.safetensors" --rtol 0 --atol 0 --rows "$table=2,3" \
            >/dev/null
}
check "sparse: sgd leaves untouched rows of skipgram's Ww bit-identical (and moves touched ones)" sparse

# ---------------------------------------------------------------- 6: finite differences
fd() {
    m=rnnlm
    grads $m "$tmp/fdg" >/dev/null || return 1
    for pe in emb:5 Wx:3 Wh:7 bh:2 Wo:13 bo:4; do
        p=${pe%%:*} i=${pe#*:}
        for s in plus minus; do
            d=0.01
            [ $s = minus ] && d=-0.01
            "$STTOOL" perturb "$FIX/$m/params.safetensors" "$tmp/$s.st" "$p" "$i" "$d" || return 1
            # shellcheck disable=SC2046
            "$NNGC" run "$MODELS/$m.nn" --params "$tmp/$s.st" $(inputs $m) --out "$tmp/fd_$s" >/dev/null || return 1
        done
        lp=$("$STTOOL" get "$tmp/fd_plus/loss.npy" 0) lm=$("$STTOOL" get "$tmp/fd_minus/loss.npy" 0)
        g=$("$STTOOL" get "$tmp/fdg/$p.npy" "$i")
        awk -v lp="$lp" -v lm="$lm" -v g="$g" -v n="$p[$i]" 'BEGIN {
            fd = (lp - lm) / 0.02; e = fd - g; if (e < 0) e = -e; a = g < 0 ? -g : g
            printf "%s: fd %.6g, grad %.6g\n", n, fd, g
            exit !(e <= 1e-2 * a + 1e-3) }' || return 1
    done
}
check "fd: central differences of rnnlm's loss match --grads (float32, 1e-2 relative)" fd

# ---------------------------------------------------------------- 7: command line
dump_autodiff() {
    "$NNGC" "$MODELS/rnnlm.nn" --dump-ir=autodiff >"$tmp/dump" && grep -q '^; ---- IR dump after autodiff ----' "$tmp/dump" &&
        grep -q 'reverse' "$tmp/dump"
}
check "--dump-ir=autodiff prints the train graph (with a reverse loop)" dump_autodiff
no_opt() {
    # shellcheck disable=SC2046
    "$NNGC" run "$MODELS/builtins.nn" --params "$FIX/builtins/params.safetensors" $(inputs builtins) --train 1 \
        >"$tmp/o1" 2>&1
    [ $? -eq 2 ] && grep -q 'declares no optimizer' "$tmp/o1"
}
check "--train without an optimizer: usage error naming --optimizer" no_opt
nothing() {
    printf 'model fz\ndim D = 2\nparam W : [D] frozen\ninput x : [D]\nloss += dot(W, x)\n' >"$tmp/fz.nn"
    "$NNGC" run "$tmp/fz.nn" --input x="$FIX/builtins/t.npy" --grads "$tmp/fz" >"$tmp/o1" 2>&1
    [ $? -eq 1 ] && grep -q 'every param is frozen' "$tmp/o1" && "$NNGC" "$tmp/fz.nn" -o "$tmp/fz.c" &&
        ! grep -q fz_train_step "$tmp/fz.h"
}
check "a model with only frozen params: no training API, --grads is an error" nothing
no_train() {
    "$NNGC" "$MODELS/rnnlm.nn" -o "$tmp/nt.c" --no-train && ! grep -q rnnlm_train_step "$tmp/nt.h" &&
        "$NNGC" "$MODELS/rnnlm.nn" -o "$tmp/t.c" && grep -q 'rnnlm_train_step' "$tmp/t.h"
}
check "--no-train leaves the training API out" no_train
repeat_train() {
    # shellcheck disable=SC2046
    "$NNGC" run "$MODELS/rnnlm.nn" --params "$FIX/rnnlm/params.safetensors" $(inputs rnnlm) --train 1 --repeat 5 \
        >"$tmp/rep" && grep -q '^time: median .* us per call (5 calls)$' "$tmp/rep" && grep -q '^loss = ' "$tmp/rep"
}
check "--train with --repeat times train steps" repeat_train

# ---------------------------------------------------------------- 8: the C API
app() {
    "$NNGC" examples/rnnlm.nn -o "$tmp/rnnlm.c" &&
        $CC -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$tmp" -o "$tmp/train_app" examples/apps/train_app.c \
            "$tmp/rnnlm.c" "$RTLIB" $BLAS -lm -lpthread &&
        "$tmp/train_app" examples/data/tiny.txt "$tmp/ckpt.safetensors"
}
sparse() {
    "$NNGC" "$MODELS/skipgram.nn" -O2 -o "$tmp/skipgram.c" && grep -q 'nnrt_sgd_update_ids' "$tmp/skipgram.c" &&
        $CC -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$tmp" -o "$tmp/sparse_check" tests/train/sparse_check.c \
            "$tmp/skipgram.c" "$RTLIB" $BLAS -lm -lpthread &&
        "$tmp/sparse_check"
}
check "sparse table gradient: no stale rows across calls, SGD updates each touched row once (sparse_check.c)" sparse
sparse_neg() {
    "$NNGC" "$MODELS/skipgram.nn" -O2 --softmax="${1:-neg:k=3}" -o "$tmp/skipgram.c" &&
        grep -q "${2:-nnrt_rows_scatter_sgd}" "$tmp/skipgram.c" &&
        $CC -std=c11 -O2 -Wall -Wextra -Werror -DSAMPLES -Iruntime -I"$tmp" -o "$tmp/sparse_check" \
            tests/train/sparse_check.c "$tmp/skipgram.c" "$RTLIB" $BLAS -lm -lpthread &&
        "$tmp/sparse_check"
}
check "neg:k=3: train_step's SGD in the scatters == w - lr * grad, bit for bit (sparse_check.c)" sparse_neg
# share = batch: the noise columns go through rows_shared.c's GEMMs in both
sparse_shared() { sparse_neg neg:k=3,share=batch; }
check "neg:k=3,share=batch: train_step's SGD in the scatters == w - lr * grad, bit for bit (sparse_check.c)" sparse_shared
# hier: Wc's gradient is one scatter of four segments of paths (no concat),
# its SGD in them (path_count, then path_scatter_sgd; the root in every path)
sparse_hier() { sparse_neg hier nnrt_path_count && [ "$(grep -c 'nnrt_path_scatter_sgd(' "$tmp/skipgram.c")" -eq 4 ]; }
check "hier: train_step's SGD in the path scatters == w - lr * grad, bit for bit (sparse_check.c)" sparse_hier
# word2vec's form (skipgram_rev.nn: the contexts' vectors predict the
# centre word) with hier: autodiff sums the four contexts' products of one
# path, which the rows pass scatters as four segments of that path (-O2;
# one visit of each path row for the four, nnrt_path_scatter_m): its
# gradients against -O0's (the [T, L, D] products stored, added and
# scattered), and train_step's SGD in those scatters (each row repeated
# across the segments, nnrt_path_scatter_sgd_m) against w - lr * grad,
# bit for bit
rev_hier() {
    for o in O0 O2; do
        # shellcheck disable=SC2046
        "$NNGC" run "$MODELS/skipgram_rev.nn" --softmax=hier -$o --params "$FIX/skipgram/params.safetensors" \
            $(inputs skipgram) --grads "$tmp/rev_$o" --out "$tmp/o" >/dev/null || return 1
    done
    for p in Ww Wc; do
        "$NPYCMP" "$tmp/rev_O2/$p.npy" "$tmp/rev_O0/$p.npy" --rtol 1e-4 --atol 1e-6 || { echo "in $p"; return 1; }
    done
    sed 's/^model skipgram_rev$/model skipgram/' "$MODELS/skipgram_rev.nn" >"$tmp/rev.nn" &&
        "$NNGC" "$tmp/rev.nn" -O2 --softmax=hier -o "$tmp/skipgram.c" &&
        grep -q 'nnrt_path_scatter_sgd_m(.*, 4, ' "$tmp/skipgram.c" &&
        $CC -std=c11 -O2 -Wall -Wextra -Werror -DSAMPLES -DREV -Iruntime -I"$tmp" -o "$tmp/sparse_check" \
            tests/train/sparse_check.c "$tmp/skipgram.c" "$RTLIB" $BLAS -lm -lpthread &&
        "$tmp/sparse_check"
}
check "hier, word2vec's form: -O2's scatter of four segments of one path == -O0's gradients; its SGD == w - lr * grad, bit for bit" rev_hier
# seq OPT SPEC [nngc options]: seq_check.c's three steps against PyTorch's
seq() {
    o=$1 spec=$2
    shift 2
    "$NNGC" "$MODELS/skipgram.nn" --optimizer="$spec" -o "$tmp/sq.c" "$@" &&
        $CC -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$tmp" -o "$tmp/seq_check" tests/train/seq_check.c \
            "$tmp/sq.c" "$RTLIB" $BLAS -lm -lpthread &&
        "$tmp/seq_check" "$FIX/skipgram/params.safetensors" "$tmp/seq_$o.st" &&
        "$STTOOL" cmp "$tmp/seq_$o.st" "$FIX/skipgram/seq_$o.safetensors" --rtol 1e-3 --atol 1e-5
}
check "sparse steps a, b, a: sgd vs torch.optim.SGD" seq sgd sgd:lr=0.1
check "sparse steps a, b, a: adagrad (touched rows only) vs torch.optim.Adagrad" seq adagrad adagrad:lr=0.1
check "sparse steps a, b, a: adam vs torch.optim.Adam (every moment decays)" seq adam adam:lr=0.01
check "sparse steps a, b, a: adam lazy=1 vs torch.optim.SparseAdam on Ww" seq adam_lazy adam:lr=0.01,lazy=1
check "sparse steps a, b, a: adam lazy=1, table gradient dense (select off) vs SparseAdam" \
    seq adam_lazy adam:lr=0.01,lazy=1 --disable-pass=select
sparse_calls() { # the sparse forms are what ran above
    "$NNGC" "$MODELS/skipgram.nn" --optimizer=adagrad:lr=0.1 -o "$tmp/sa.c" && grep -q 'nnrt_adagrad_update_ids(' "$tmp/sa.c" &&
        "$NNGC" "$MODELS/skipgram.nn" --optimizer=adam:lazy=1 -o "$tmp/sl.c" && grep -q 'nnrt_adam_lazy_update_ids(' "$tmp/sl.c" &&
        "$NNGC" "$MODELS/skipgram.nn" --optimizer=adam:lazy=1 --disable-pass=select -o "$tmp/sl.c" &&
        grep -q 'nnrt_adam_lazy_update_rows(' "$tmp/sl.c" &&
        "$NNGC" "$MODELS/skipgram.nn" --optimizer=adam -o "$tmp/sd.c" && ! grep -q 'adam_lazy' "$tmp/sd.c"
}
check "adagrad and adam(lazy = 1) update the touched rows of Ww only; plain adam every row" sparse_calls
lazy_differs() { # lazy Adam's params are not dense Adam's (the fixtures can tell them apart)
    ! "$STTOOL" cmp "$tmp/seq_adam_lazy.st" "$FIX/skipgram/seq_adam.safetensors" --rtol 1e-3 --atol 1e-5 >/dev/null
}
check "sparse steps a, b, a: adam lazy=1 differs from dense Adam's result" lazy_differs
for m in slowimpl skipgram rnnlm builtins loops bag ids_from1 deadcarry stablelog; do
    check "train $m adam lazy=1 x3 vs SparseAdam on tables + Adam" trained $m adam_lazy adam:lr=0.01,lazy=1
done
if [ -f examples/apps/train_app.c ]; then
    check "examples/apps/train_app: train from C, save, reload, evaluate" app
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
