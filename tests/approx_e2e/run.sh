#!/bin/sh
# tests/approx_e2e/run.sh - compiled softmax approximations against the
# runtime's float64 references (docs/APPROX.md).
#
#   sh tests/approx_e2e/run.sh      (from anywhere; uses build/nngc, build/libnngrt.a)
#
# Each case NAME.nn is compiled at -O0 and -O2, the generated C built with
# cc -O1 -Wall -Wextra -Werror (-O1: its time), model.c with hook.h forced in (NNGC_SAMPLE_HOOK: a
# test reads every draw back); NAME_test.c then checks loss and gradients
# against the reference (neg: nnrt_ref_neg on those draws; hier:
# nnrt_ref_hier; class: nnrt_ref_class; binary: nnrt_ref_bits and
# nnrt_ref_binary; embed: nnrt_ref_vmf), finite differences, and the
# forward loss (neg: the exact softmax; hier, class, binary, embed: the
# method's own loss). neg_test.c also checks the draws'
# determinism. Prints "ok - ..." lines, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
NPYCMP=${NPYCMP:-build/npycmp}
RTLIB=${RTLIB:-build/libnngrt.a}
CC=${CC:-cc}
TMO=${APPROX_TIMEOUT:-60}
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

. tests/lib.sh

need_tools approx_e2e "$NNGC"
make_tmp approx_e2e
D=tests/approx_e2e

# nce and sampled: neg.nn with the method replaced, neg_test.c with METHOD
sed 's/with neg(k = 3)/with nce(k = 3, lnz = 0)/' "$D/neg.nn" >"$tmp/nce.nn"
sed 's/with neg(k = 3)/with nce(k = 3)/' "$D/neg.nn" >"$tmp/nce_z.nn"
sed 's/with neg(k = 3)/with nce(k = 3, lnz = 0, power = 1)/' "$D/neg.nn" >"$tmp/nce_p.nn"
sed 's/with neg(k = 3)/with sampled(k = 3)/' "$D/neg.nn" >"$tmp/sampled.nn"
sed 's/with neg(k = 3)/with neg(k = 3, share = batch)/' "$D/neg.nn" >"$tmp/neg_shared.nn"
# neg with the second target's loss weighted (neg_test.c -DW1=2): the rows
# pass merges the two gradients into one neg_loss_grad with one d each
sed 's/loss += cross_entropy(W @ h + b, u\[t\]) with neg(k = 3)/loss += 2.0 * cross_entropy(W @ h + b, u[t]) with neg(k = 3)/' \
    "$D/neg.nn" >"$tmp/neg_w2.nn"
grep -q '2.0 \* cross' "$tmp/neg_w2.nn" || notok "neg_w2.nn: the sed weighted the second loss"
# binary's variants: binary_test.c with METHOD 1 (hybrid), 2 and 3 (ecc)
sed 's/with binary$/with binary(hybrid = 3)/' "$D/binary.nn" >"$tmp/binary_h.nn"
sed 's/with binary$/with binary(ecc = 4)/' "$D/binary.nn" >"$tmp/binary_e.nn"
sed 's/with binary$/with binary(ecc = 17)/' "$D/binary.nn" >"$tmp/binary_f.nn"
# embed with both regularizers: embed_test.c with METHOD 1
sed 's/with embed$/with embed(lambda1 = 0.02, lambda2 = 0.5)/' "$D/embed.nn" >"$tmp/embed_l.nn"

# the same methods on log_softmax and softmax nodes (passes/approx.c: a
# picked log-probability is -cross_entropy with the node's method): the
# same tests, the same references
sed 's/cross_entropy(W @ h + b, y\[t\]) with class(c = 4)/-log_softmax(W @ h + b) with class(c = 4)[y[t]]/' \
    "$D/class.nn" >"$tmp/class_lsm.nn"
sed 's/cross_entropy(W @ h + b, y\[t\]) with hier/-log(softmax(W @ h + b) with hier[y[t]])/' "$D/hier.nn" >"$tmp/hier_sm.nn"
sed 's/cross_entropy(W @ h + b, y\[t\]) with binary$/-log(softmax(W @ h + b) with binary(hybrid = 3))[y[t]]/' \
    "$D/binary.nn" >"$tmp/binary_sm.nn"
sed 's/cross_entropy(W @ h + b, \([uy]\)\[t\]) with neg(k = 3)/-log_softmax(W @ h + b) with neg(k = 3)[\1[t]]/' \
    "$D/neg.nn" >"$tmp/neg_lsm.nn"
for f in class_lsm hier_sm binary_sm neg_lsm; do
    grep -q softmax "$tmp/$f.nn" || notok "$f.nn: the sed made a softmax node"
done

# hier and class compiled with --counts: the fixture counts are the model's start (-DBAKED)
cp "$D/hier.nn" "$tmp/hier_baked.nn"
# hier with V = 48 and no counts: paths of NN_HIER_MAX_PATH = 40 (hier_test.c -DDEEP)
sed 's/^dim V = 12$/dim V = 48/' "$D/hier.nn" >"$tmp/hier_deep.nn"
grep -q 'dim V = 48' "$tmp/hier_deep.nn" || notok "hier_deep.nn: the sed set V = 48"
cp "$D/class.nn" "$tmp/class_baked.nn"
FXC=--counts=tests/approx/fixtures/counts.npy

# case: NAME (its .nn), its test (the .c), the model's name, the test's
# -DMETHOD, and nngc options (the test gets -DBAKED with them)
for c in neg:neg:negt:0 nce:neg:negt:1 nce_z:neg:negt:4 nce_p:neg:negt:5 sampled:neg:negt:2 neg_shared:neg:negt:3 hier:hier:hiert:0 class:class:classt:0 \
    binary:binary:binaryt:0 binary_h:binary:binaryt:1 binary_e:binary:binaryt:2 binary_f:binary:binaryt:3 embed:embed:embedt:0 embed_l:embed:embedt:1 \
    hier_baked:hier:hiert:0:$FXC hier_deep:hier:hiert:0 class_baked:class:classt:0:$FXC class_lsm:class:classt:0 hier_sm:hier:hiert:0 \
    binary_sm:binary:binaryt:1 neg_lsm:neg:negt:0 neg_w2:neg:negt:0; do
for O in -O0 -O2 -O2-norows -O2-nobatch; do
    n=${c%%:*} rest=${c#*:}
    oflags=$O
    [ "$O" = -O2-norows ] && oflags="-O2 --disable-pass=rows"
    # the loop kept: the rows pass merges the two neg_loss_grads of one position
    [ "$O" = -O2-nobatch ] && oflags="-O2 --disable-pass=batch"
    [ "$O" = -O2-nobatch ] && [ "$n" != neg_w2 ] && continue
    test=${rest%%:*} rest=${rest#*:}
    model=${rest%%:*} rest=${rest#*:}
    method=${rest%%:*} extra=
    [ "$O" = -O2-norows ] && [ "$test" != neg ] && continue # the rows pass's comparison: neg_test.c
    case $rest in *:*) extra=${rest#*:} ;; esac
    baked=
    [ -n "$extra" ] && baked=-DBAKED
    [ "$n" = hier_deep ] && baked=-DDEEP
    # -O2: hier's rows ops skip the pad entries (hier_test.c, pad_row_nan)
    [ "$test" = hier ] && [ "$O" = -O2 ] && baked="$baked -DPADNAN"
    [ "$n" = neg_w2 ] && baked=-DW1=2
    src=$D/$n.nn
    [ -e "$src" ] || src=$tmp/$n.nn
    # shellcheck disable=SC2086
    if ! "$NNGC" $oflags $extra "$src" -o "$tmp/$model.c" >"$tmp/log" 2>&1; then
        notok "$n $O: nngc"
        detail "$tmp/log"
        continue
    fi
    if ! $CC -std=c11 -O1 -Wall -Wextra -Werror -Iruntime $BLAS_CFLAGS -I"$tmp" -include "$D/hook.h" \
        -DMETHOD="$method" $baked -o "$tmp/${n}_test" "$D/${test}_test.c" "$tmp/$model.c" "$RTLIB" $BLAS -lm >"$tmp/cc" 2>&1; then
        notok "$n $O: build ${test}_test"
        detail "$tmp/cc" 20
        continue
    fi
    timeout "$TMO" "$tmp/${n}_test" >"$tmp/out" 2>"$tmp/err"
    st=$?
    # -O2 batches the loop (passes/batch.c): the samples are drawn before
    # it, the same ids as -O0's loop draws, and the tables' gradients are
    # sparse (the SGD update visits the rows touched); hier's paths too
    grep '^# draws' "$tmp/out" >"$tmp/draws$O.$n"
    if [ "$O" = -O2 ] && [ "$test" = neg ]; then
        if [ -s "$tmp/draws-O0.$n" ] && cmp -s "$tmp/draws-O0.$n" "$tmp/draws-O2.$n"; then
            ok "$n: -O2 (batched samples) draws the ids -O0 (the loop) draws"
        else
            notok "$n: -O2 (batched samples) draws the ids -O0 (the loop) draws"
            detail "$tmp/draws-O0.$n"
            detail "$tmp/draws-O2.$n"
        fi
    fi
    # class, binary and embed: batched too, the loop gone (their tables'
    # gradients: class's W a sparse scatter, binary's fixed rows, embed none)
    if [ "$O" = -O2 ] && { [ "$test" = class ] || [ "$test" = binary ] || [ "$test" = embed ]; }; then
        if ! "$NNGC" -O2 $extra --dump-ir=train "$src" | grep -q '= loop ' &&
            ! "$NNGC" -O2 $extra --dump-ir -o "$tmp/f.c" "$src" | grep -q '= loop '; then
            ok "$n -O2: no loop left in the train and forward graphs"
        else
            notok "$n -O2: no loop left in the train and forward graphs"
        fi
    fi
    if [ "$O" = -O2 ] && { [ "$test" = neg ] || [ "$test" = hier ]; }; then
        if grep -q 'nnrt_sgd_update_ids_clear(m->params + [0-9]*, c->grads + [0-9]*, [0-9]*, c->touched1' "$tmp/$model.c" &&
            ! "$NNGC" -O2 --dump-ir=train "$src" | grep -q '= loop '; then
            ok "$n -O2: no loop left, W's gradient sparse"
        else
            notok "$n -O2: no loop left, W's gradient sparse"
        fi
    fi
    # the rows pass's segments: the two targets' neg_loss_grads, each a
    # full row zero but for its segment, are one op with a gradient each
    if [ "$O" = -O2 ] && { [ "$n" = neg ] || [ "$n" = neg_w2 ]; }; then
        if "$NNGC" -O2 $extra --dump-ir=train "$src" | grep -qE '= neg_loss_grad %[0-9]+, %[0-9]+, %[0-9]+, %[0-9]+ at=0 len=4 '; then
            ok "$n -O2: one neg_loss_grad for both targets' segments"
        else
            notok "$n -O2: one neg_loss_grad for both targets' segments"
        fi
    fi
    # the rows pass (passes/rows.c): at -O2 the rows of W are read and
    # written in place; the gradients equal those of the program without
    # the pass and of -O0 (same draws), to rounding
    grep '^# grad' "$tmp/out" >"$tmp/grads$O.$n"
    if [ "$O" = -O2 ] && { [ "$test" = neg ] || [ "$test" = hier ]; }; then
        "$NNGC" -O2 $extra --dump-ir=train "$src" >"$tmp/ir" 2>&1
        if grep -q '= rows_dot ' "$tmp/ir" && grep -q '= rows_wsum ' "$tmp/ir" &&
            grep -qE '= sparse_scatter_add %[0-9]+, %[0-9]+, %[0-9]+ ' "$tmp/ir" && ! grep -qE ' = gather .*: f32\[[^]]*,[^]]*,' "$tmp/ir"; then
            ok "$n -O2: W's rows read in place (rows_dot, rows_wsum, scatter_add of outer products; no float gather)"
        else
            notok "$n -O2: W's rows read in place (rows_dot, rows_wsum, scatter_add of outer products; no float gather)"
            detail "$tmp/ir" 80
        fi
    fi
    if [ "$O" = -O2-norows ] && [ -s "$tmp/grads-O2.$n" ]; then
        for o in -O2-norows -O0; do
            if [ -s "$tmp/grads$o.$n" ] && awk 'NR == FNR { g[$3 " " $4] = $5; next }
                { k = $3 " " $4; d = g[k] - $5; s = $5 < 0 ? -$5 : $5; if (!(k in g) || d * d > 1e-10 * (1 + s * s)) bad++; n++ }
                END { exit !(n > 0 && !bad) }' "$tmp/grads-O2.$n" "$tmp/grads$o.$n"; then
                ok "$n: -O2's gradients (rows pass) = $o's"
            else
                notok "$n: -O2's gradients (rows pass) = $o's"
            fi
        done
    fi
    sed "s/^\(not ok\|ok\) - /\1 - $n $O: /" "$tmp/out"
    tap_count "$tmp/out" "$tmp/err" "$st" "$n $O"
done
done

# an RNN LM (rnn.nn) with each structured method: finite differences of
# every param and p(w | x) summing to 1 (rnn_test.c), -O0 and -O2; at -O2
# the method's ops must have left the loops (fission after the recurrence)
for s in class:c=4 hier binary binary:hybrid=3 binary:ecc=4; do
    for O in -O0 -O2; do
        if ! "$NNGC" $O --softmax=$s "$D/rnn.nn" -o "$tmp/rnnt.c" >"$tmp/log" 2>&1 ||
            ! $CC -std=c11 -O1 -Wall -Wextra -Werror -Iruntime $BLAS_CFLAGS -I"$tmp" -include "$D/hook.h" -o "$tmp/rnn_test" \
                "$D/rnn_test.c" "$tmp/rnnt.c" "$RTLIB" $BLAS -lm >>"$tmp/log" 2>&1; then
            notok "rnn --softmax=$s $O: build"
            detail "$tmp/log" 20
            continue
        fi
        timeout "$TMO" "$tmp/rnn_test" >"$tmp/out" 2>"$tmp/err"
        st=$?
        sed "s/^\(not ok\|ok\) - /\1 - rnn --softmax=$s $O: /" "$tmp/out"
        tap_count "$tmp/out" "$tmp/err" "$st" "rnn --softmax=$s $O"
    done
    # the loop bodies of T at -O2: only the recurrence (no method op)
    if "$NNGC" -O2 --softmax=$s --dump-ir=train "$D/rnn.nn" | awk '/= loop /{d=1} d&&/^}/{d=0} d' |
        grep -qE 'class_|bin_|hier_|logistic_|gather %[0-9]+, %[0-9]+ : f32\[[0-9]+, 6\]'; then
        notok "rnn --softmax=$s -O2: the method's ops leave the loops"
    else
        ok "rnn --softmax=$s -O2: the method's ops leave the loops"
    fi
done

# forward-only models (--no-train: neg's F is the exact softmax, hier's F
# walks the tree) and the training ones compile warning-free too, gcc and
# clang where present
for s in neg:k=2 nce:k=2 sampled:k=2 neg:k=2,share=batch hier class:c=10 binary binary:hybrid=100,ecc=3 embed; do
    for cc in gcc clang; do
        command -v $cc >/dev/null 2>&1 || continue
        for nt in --no-train ""; do
            # shellcheck disable=SC2086
            if "$NNGC" $nt --softmax=$s examples/skipgram.nn -o "$tmp/sgf.c" >"$tmp/log" 2>&1 &&
                $cc -std=c11 -Wall -Wextra -Werror -Iruntime -c "$tmp/sgf.c" -o "$tmp/sgf.o" >>"$tmp/log" 2>&1; then
                ok "${nt:-train} --softmax=$s: $cc -Wall -Wextra -Werror"
            else
                notok "${nt:-train} --softmax=$s: $cc -Wall -Wextra -Werror"
                detail "$tmp/log" 10
            fi
        done
    done
done

# nngc train with each method (the vocabulary's counts reach the model
# through the descriptor's set_counts): the exact (neg, nce, sampled) or
# tree (hier) validation loss must go down from epoch 1 to epoch 3 (not
# from the initial one: nce, whose normalizer is fixed, first moves away
# from the exact softmax)
for s in neg:k=5 nce:k=5 sampled:k=5 hier class:c=8 binary binary:hybrid=16,ecc=4; do
    if timeout "$TMO" "$NNGC" train tests/traincli/models/sg.nn --data examples/data/tiny.txt \
        --valid examples/data/tiny.txt --epochs 3 --softmax=$s -q >"$tmp/out" 2>"$tmp/err" &&
        awk '/^epoch [13]\/3:/ { for (i = 1; i < NF; i++) if ($i == "valid") v[$2] = $(i + 2) }
             END { exit !(v["1/3:"] > 0 && v["3/3:"] > 0 && v["3/3:"] < v["1/3:"]) }' "$tmp/out"; then
        ok "nngc train --softmax=$s: the validation loss goes down"
    else
        notok "nngc train --softmax=$s: the validation loss goes down"
        detail "$tmp/out"
        detail "$tmp/err"
    fi
done

# hier's tree (class's classes) come from CKPT.vocab's counts in nngc eval
# as in training: the evaluation of the checkpoint equals the trainer's
# last validation loss (hier: with the uniform tree it is 23.3, not 14.5)
for s in hier class:c=8; do
    if timeout "$TMO" "$NNGC" train tests/traincli/models/sg.nn --data examples/data/tiny.txt \
        --valid examples/data/tiny-valid.txt --epochs 2 --softmax=$s -q --save "$tmp/h.st" >"$tmp/out" 2>"$tmp/err" &&
        timeout "$TMO" "$NNGC" eval tests/traincli/models/sg.nn --softmax=$s --params "$tmp/h.st" \
            --data examples/data/tiny-valid.txt >"$tmp/eval" 2>>"$tmp/err" &&
        want=$(awk '/^epoch 2\/2:/ { for (i = 1; i < NF; i++) if ($i == "valid") print $(i + 2) }' "$tmp/out") &&
        got=$(awk '/^loss per word/ { print $4 }' "$tmp/eval" | tr -d ,) &&
        awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; exit !(a > 0 && d < 1e-3 && d > -1e-3) }'; then
        ok "$s: nngc eval of the checkpoint = the trainer's validation loss ($got)"
    else
        notok "$s: nngc eval of the checkpoint = the trainer's validation loss"
        detail "$tmp/out"
        detail "$tmp/eval"
        detail "$tmp/err"
    fi
done

# --counts: the float64 copy of the fixture counts gives hier_test's
# --counts results (its BAKED checks); each bad file is one clear error
python3 "$D/mkcounts.py" "$tmp"
if "$NNGC" --counts="$tmp/float.npy" "$D/hier.nn" -o "$tmp/hiert.c" >"$tmp/log" 2>&1 &&
    $CC -std=c11 -O1 -Iruntime $BLAS_CFLAGS -I"$tmp" -include "$D/hook.h" -DBAKED -o "$tmp/hf_test" \
        "$D/hier_test.c" "$tmp/hiert.c" "$RTLIB" $BLAS -lm >>"$tmp/log" 2>&1 && "$tmp/hf_test" >"$tmp/out" 2>&1; then
    ok "--counts=float64 whole numbers: hier_test's checks pass"
else
    notok "--counts=float64 whole numbers: hier_test's checks pass"
    detail "$tmp/log"
    detail "$tmp/out"
fi
# hier's paths are as long as the longest path of the counts known at
# compile time (passes/approx.c): the fixture counts' tree merges (1, 2),
# (n0, 3), (3, 4), (n1, 6), (n2, 9), (n3, 12), (n4, 20), (n5, 30), (n6, 40),
# (50, n7), (n8, n9): word 11 is 7 nodes deep (worked by hand); without
# counts min(V - 1, 40)
for c in "$FXC|$D/hier.nn|7" "|$D/hier.nn|11" "|$tmp/hier_deep.nn|40"; do
    opt=${c%%|*} rest=${c#*|}
    src=${rest%%|*} want=${rest#*|}
    # shellcheck disable=SC2086
    got=$("$NNGC" $opt --dump-ir=train "$src" 2>&1 | sed -n 's/.*= hier_path .* len=\([0-9]*\) .*/\1/p' | sort -u)
    if [ "$got" = "$want" ]; then
        ok "hier_path of $(basename "$src") ${opt:-without counts}: len=$want"
    else
        notok "hier_path of $(basename "$src") ${opt:-without counts}: len=$want (got '$got')"
    fi
done
# nngc train sizes them from its vocabulary (tiny.txt's: well under 40);
# the eval test below checks that nngc eval, compiled from CKPT.vocab's
# counts, walks the same tree
got=$(timeout "$TMO" "$NNGC" train tests/traincli/models/sg.nn --data examples/data/tiny.txt --epochs 1 --softmax=hier -q \
    --dump-ir=train 2>&1 | sed -n 's/.*= hier_path .* len=\([0-9]*\) .*/\1/p' | sort -u)
if [ -n "$got" ] && [ "$got" -lt 40 ] 2>/dev/null; then
    ok "nngc train: hier_path sized by the vocabulary's counts (len=$got)"
else
    notok "nngc train: hier_path sized by the vocabulary's counts (got '$got')"
fi

# nngc run --counts: hier.nn's forward loss at seed 5 (hiert_create(5)'s
# params) under the fixture counts' tree is 12.539510 (hier_test.c's
# float64 nnrt_ref_hier), 10.460132 under the uniform tree
python3 -c "
import sys; sys.path.insert(0, 'tests'); import npyio
npyio.write_npy('$tmp/x.npy', 'i', [4], [1, 5, 2, 7]); npyio.write_npy('$tmp/y.npy', 'i', [4], [3, 0, 11, 6])"
if "$NNGC" run "$D/hier.nn" --seed 5 --input x="$tmp/x.npy" --input y="$tmp/y.npy" \
    --counts=tests/approx/fixtures/counts.npy >"$tmp/out" 2>&1 && grep -qx 'loss = 12.5395' "$tmp/out"; then
    ok "nngc run --counts: the forward loss under the fixture counts' tree (12.5395)"
else
    notok "nngc run --counts: the forward loss under the fixture counts' tree (12.5395)"
    detail "$tmp/out"
fi
while IFS='|' read -r model file want; do
    if "$NNGC" --counts="$tmp/$file" "$model" -o "$tmp/bad.c" >"$tmp/log" 2>&1; then
        notok "--counts=$file: an error"
    elif grep -qF "nngc: error: --counts: $tmp/$file: $want" "$tmp/log" && [ "$(wc -l <"$tmp/log")" -eq 1 ]; then
        ok "--counts=$file: $want"
    else
        notok "--counts=$file: $want"
        detail "$tmp/log"
    fi
done <<EOF
$D/hier.nn|short.npy|11 counts for a vocabulary of 12 words
$D/hier.nn|negative.npy|the count of word id 5 is -2: counts must be whole numbers >= 0
$D/hier.nn|fraction.npy|the count of word id 0 is 2.5: counts must be whole numbers >= 0
$D/hier.nn|huge.npy|the count of word id 0 is 1e+30: counts must be whole numbers >= 0 (and below 2^63)
$D/hier.nn|inf.npy|the count of word id 0 is inf: counts must be whole numbers >= 0 (and below 2^63)
$D/hier.nn|sum.npy|huffman tree: the counts add up to more than 2^63 - 1 (at count[1] = 4611686018427387904)
$D/hier.nn|rank2.npy|word counts must be a vector, one count per word id (not empty), not an array of rank 2
$D/hier.nn|missing.npy|cannot open
tests/golden/approx/class_bias.nn|skewed24.npy|class 5 has 19 words, over the 16 nngc allows for class(c = 6)
examples/mlp.nn|float.npy|model mlp uses no word counts
EOF

# a matrix's cross entropy in a loop whose targets are the same at every
# step (the draws' keys are not): -O2 keeps that loop (batch.c: no rows of
# the loop's steps to draw at once), and its gradients are -O0's, the same
# draws (was an internal error, "row: stored type i32[4]"; found by
# tests/fuzz/sem_diff.py, seed 31000 program 200)
cat >"$tmp/rows_loop.nn" <<'EOF'
model rows_loop
dim D = 4
dim C = 12
dim T max 5
param Wo : [C, D]
input xs : [T, D]
input ids : int[T]
for t in 0..T {
  loss += sum(cross_entropy(tanh(xs) @ transpose(Wo), ids))
}
EOF
python3 -c "
import sys; sys.path.insert(0, 'tests'); import npyio
npyio.write_npy('$tmp/ids.npy', 'i', [3], [1, 5, 11]); npyio.write_npy('$tmp/xs.npy', 'f', [3, 4], [0.5] * 12)"
for m in sampled:k=3 nce:k=3 neg:k=3; do
    for O in -O0 -O2; do
        "$NNGC" run "$tmp/rows_loop.nn" --softmax=$m $O --input xs="$tmp/xs.npy" --input ids="$tmp/ids.npy" \
            --grads "$tmp/rl$O" >"$tmp/rl$O.log" 2>&1 || echo "exit $?" >>"$tmp/rl$O.log"
    done
    if "$NPYCMP" "$tmp/rl-O0/Wo.npy" "$tmp/rl-O2/Wo.npy" --rtol 1e-5 --atol 1e-6 >"$tmp/out" 2>&1; then
        ok "--softmax=$m: a matrix's cross entropy in a loop of the same targets: -O2's gradient is -O0's"
    else
        notok "--softmax=$m: a matrix's cross entropy in a loop of the same targets: -O2's gradient is -O0's"
        detail "$tmp/rl-O2.log" 4
        detail "$tmp/out" 4
    fi
    rm -rf "$tmp/rl-O0" "$tmp/rl-O2"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
