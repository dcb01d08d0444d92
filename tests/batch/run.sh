#!/bin/sh
# tests/batch/run.sh - nngc --batch=B (compiler/passes/vectorize.c): the
# program over one example turned into one over B examples.
#
#   sh tests/batch/run.sh          (from anywhere; uses build/nngc, python3, a C compiler)
#
#   1. same      check.py: a batch of B random examples (nngc run --batch=B)
#                gives the summed loss and gradients of B runs of the program
#                as written (the un-batched program: an independent
#                reference), and output row b is example b's; --batch-mean
#                gives their mean; B = 1 as well
#   2. ir        --dump-ir shows the batch axis on the inputs and one GEMM
#                for W @ x; for rnnlm, no output-layer value in a loop (the
#                masks are [T, B] tables); --report=batch says what got the axis
#   3. errors    what vectorize cannot batch yet is a located error, not a
#                crash or a wrong program
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}

. tests/lib.sh
make_tmp batch
need_tools batch "$NNGC"

# check NAME CMD...: ok when CMD succeeds; else not ok with its output
check() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then ok "$name"; else notok "$name"; detail "$tmp/out" 12; fi
}

# 1. batched == sum of one-example runs
check "same: logreg, B=5" python3 tests/batch/check.py "$NNGC" examples/logreg.nn 5 1
check "same: classifier, B=4" python3 tests/batch/check.py "$NNGC" examples/classifier.nn 4 2
check "same: mlp (a params-only loss term), B=3" python3 tests/batch/check.py "$NNGC" examples/mlp.nn 3 3 -I stdlib
check "same: classifier, B=3, --batch-mean" python3 tests/batch/check.py "$NNGC" examples/classifier.nn 3 4 --mean
check "same: logreg, B=1" python3 tests/batch/check.py "$NNGC" examples/logreg.nn 1 5
for m in tests/batch/models/*.nn; do
    check "same: $(basename "$m" .nn), B=4" python3 tests/batch/check.py "$NNGC" "$m" 4 6
done
# loops over examples of different lengths: masks, time-major sequences
check "same: rnnlm, B=4, lengths 1..6" python3 tests/batch/check.py "$NNGC" examples/rnnlm.nn 4 7
check "same: rnnlm, B=3, -O0" python3 tests/batch/check.py "$NNGC" examples/rnnlm.nn 3 8 -O0
check "same: seqcls, B=5, -O1" python3 tests/batch/check.py "$NNGC" tests/batch/models/seqcls.nn 5 9 -O1
# a label the same for every example, and logits of a matrix of positions,
# under the methods that do not draw (class, hier, binary, embed: the same
# objective batched or not)
for sm in class:c=3 hier binary embed; do
    for m in shared_label xent_rows shared_logits shared_pick; do
        check "same: $m, B=4, --softmax=$sm" python3 tests/batch/check.py "$NNGC" \
            tests/batch/models/$m.nn 4 10 --softmax=$sm
    done
done
check "same: shared_label, B=3, -O0" python3 tests/batch/check.py "$NNGC" tests/batch/models/shared_label.nn 3 11 -O0
check "same: softmax_pick, B=3, -O0" python3 tests/batch/check.py "$NNGC" tests/batch/models/softmax_pick.nn 3 12 -O0

# 2. the IR and the report
if "$NNGC" examples/classifier.nn --batch=8 --dump-ir=lower >"$tmp/ir" 2>&1 &&
    grep -q '^input x : f32\[8, 32\]$' "$tmp/ir" && grep -q '^input y : i32\[8\]$' "$tmp/ir" &&
    grep -q 'matmul %[0-9]*, %[0-9]* tb : f32\[8, 64\]' "$tmp/ir" && ! grep -q matvec "$tmp/ir"; then
    ok "ir: inputs [8, ...], W @ x one matmul"
else
    notok "ir: inputs [8, ...], W @ x one matmul"
    detail "$tmp/ir" 20
fi
if "$NNGC" examples/mlp.nn -I stdlib --batch=2 --report=batch --dump-ir >/dev/null 2>"$tmp/rep" &&
    grep -q 'matvec -> matmul f32\[2, 128\]: batched' "$tmp/rep" &&
    grep -q 'mul: not batched (depends on no input' "$tmp/rep" &&
    grep -q 'loss: the sum of the 2 examples' "$tmp/rep"; then
    ok "report: batched and not batched, and why"
else
    notok "report: batched and not batched, and why"
    detail "$tmp/rep" 20
fi
# the masks as [T, B] tables before the loops: no value of the output layer
# ([..., V] logits and their gradient, dWo [V, H]) is left in a loop body
# (fused bodies do not count); dWo is one matmul ... ta over all T x B rows
if "$NNGC" examples/rnnlm.nn --batch=8 --dump-ir=train >"$tmp/ir" 2>&1 &&
    grep -q '^%[0-9]* = matmul %[0-9]*, %[0-9]* ta : f32\[10000, 128\]' "$tmp/ir" &&
    awk '/= loop /{d++; next} /= fused /{f++; next} /^ *}/{if (f) f--; else if (d) d--; next}
         d > 0 && f == 0 && /(, 10000\]|\[10000, 128\])/ {print; bad = 1} END {exit bad}' "$tmp/ir" >"$tmp/inloop"; then
    ok "ir: rnnlm --batch=8, the output layer out of the loops"
else
    notok "ir: rnnlm --batch=8, the output layer out of the loops"
    detail "$tmp/inloop" 8
fi
if "$NNGC" examples/classifier.nn --batch=1 --dump-ir=lower >"$tmp/b1" 2>&1 &&
    "$NNGC" examples/classifier.nn --dump-ir=lower >"$tmp/b0" 2>&1 && cmp -s "$tmp/b0" "$tmp/b1"; then
    ok "ir: --batch=1 is the program as written"
else
    notok "ir: --batch=1 is the program as written"
fi

# reverse.nn at -O2: the reversed reads' index arithmetic (T_len - 1 - t,
# per example, against the loop's index) and their gathers are whole-tensor
# work before the loops, as words[t] is: only the recurrences stay in them
if "$NNGC" tests/batch/models/reverse.nn --batch=4 -O2 --report=batch -o "$tmp/rev.c" 2>"$tmp/rev" &&
    grep -q 'batched %[0-9]* isub into isub before the loop' "$tmp/rev" &&
    ! grep 'batch: loop t: kept' "$tmp/rev" | grep -v -q 'carried value\|recurrence'; then
    ok "ir: reverse --batch=4, reversed reads out of the loops"
else
    notok "ir: reverse --batch=4, reversed reads out of the loops"
    grep 'kept' "$tmp/rev" | grep -v 'carried value\|recurrence' | head -n 8 | sed 's/^/#   /'
fi

# 3. errors: a located message and exit status 1 (a usage error: 2)
# expect_error NAME STATUS MODEL PATTERN [ARGS...]
expect_error() {
    name=$1 want=$2 model=$3 pat=$4
    shift 4
    "$NNGC" "$model" --dump-ir "$@" >"$tmp/err" 2>&1
    st=$?
    if [ $st -eq "$want" ] && grep -q "$pat" "$tmp/err"; then ok "error: $name"; else
        notok "error: $name ($(status_text $st))"
        detail "$tmp/err" 8
    fi
}
# run_error NAME PATTERN ARGS...: nngc run ARGS fails at run time (status
# 1) with PATTERN in its message
run_error() {
    name=$1 pat=$2
    shift 2
    "$NNGC" run "$@" >"$tmp/err" 2>&1
    st=$?
    if [ $st -eq 1 ] && grep -q "$pat" "$tmp/err"; then ok "error: $name"; else
        notok "error: $name ($(status_text $st))"
        detail "$tmp/err" 8
    fi
}
# four nested loops: their gradient keeps a stack of 5 axes, batched 6
# (nested_deep.nn): the gradients against finite differences, --batch
# against one example at a time (tests/fuzz/sem_diff.py)
python3 tests/fuzz/sem_diff.py --file tests/batch/nested_deep.nn --modes fd,batch >"$tmp/deep" 2>&1
if grep -q "^fd    1 clean" "$tmp/deep" && grep -q "^batch 1 clean" "$tmp/deep"; then
    ok "nested_deep: four nested loops' gradients (finite differences) and --batch (one example at a time)"
else
    notok "nested_deep: four nested loops' gradients (finite differences) and --batch (one example at a time)"
    detail "$tmp/deep" 20
fi
# --batch adds an axis to each value of an example's: an input or an
# output of 4 axes per example (the most the runtime's tensors have)
# cannot have it: an error at the declaration, not a compiler crash
# (internal errors before); a value of 4 inside the call batches
# (models/rank4.nn)
printf 'model r4\nparam w : [2]\ninput x : [2, 2, 2, 2]\nloss += sum(x) * sum(w)\n' >"$tmp/r4.nn"
expect_error "an input of 4 axes" 1 "$tmp/r4.nn" \
    "r4.nn:3:1: error: --batch: the input 'x' has 4 axes; batched it would have 5 (an input has at most 4)" --batch=2
printf 'model r4\nparam w : [2, 2, 2, 2]\ninput x : [2]\noutput o\no = w\nloss += sum(o) * sum(x)\n' >"$tmp/r4.nn"
expect_error "an output of 4 axes, the same for every example" 1 "$tmp/r4.nn" \
    "r4.nn:4:8: error: --batch: the output 'o' has 4 axes; batched it would have 5" --batch=2
sed -i 's/^o = w$/o = w * sum(x)/' "$tmp/r4.nn"
expect_error "an output of 4 axes per example" 1 "$tmp/r4.nn" \
    "r4.nn:4:8: error: --batch: the output 'o' has 4 axes; batched it would have 5" --batch=2
# an op along the dynamic dim of a sequence read whole, outside a loop over
# it: the batch pads each example to the longest, and the padding was
# summed into the loss (sum(sigmoid(xs)) counted sigmoid(1e3) for every
# padded position; found by tests/fuzz/sem_diff.py). Sums, means, dots and
# softmaxes along it are masked now (tests/batch/models/seq_whole.nn,
# attend.nn, seq_axes.nn: along any axis); a padding mask is built for 8
# sizes of dynamic axes at most, and an op along a ninth is an error.
{
    printf 'model seqsum\ndim T max 5\n'
    for k in 0 1 2 3 4 5 6 7 8; do printf 'input x%d : [T + %d]\n' $k $k; done
    for k in 0 1 2 3 4 5 6 7 8; do printf 'loss += sum(exp(x%d))\n' $k; done
} >"$tmp/seqsum.nn"
expect_error "an op along a ninth size of dynamic axes" 1 "$tmp/seqsum.nn" "seqsum.nn:20:9: error: --batch: cannot batch 'sum' over a sequence's dynamic dim" --batch=2
# a length past the batch's T is refused at run time (the mask table's check)
python3 - "$tmp" <<'PY'
import sys
sys.path.insert(0, "tests/batch")
import check
check.write_npy(sys.argv[1] + "/w.npy", "i", [4, 2], [1] * 8)
check.write_npy(sys.argv[1] + "/len.npy", "i", [2], [3, 4])
PY
run_error "a length past T" "rnnlm.nn:17:1: index .* out of range" \
    examples/rnnlm.nn --batch=2 --dim T=3 --input words="$tmp/w.npy" --input T_len="$tmp/len.npy"
# a row at a per-example index (xs[at[t]]: one gather of the [T B, ...]
# rows, tests/batch/ptr.nn) past the example's own rows but inside the
# batch's T is a range error, as in a one-example call, not a read of the
# padding: example 1 has 2 rows and reads row 2 at step 1, or row -1; the
# message names the index and the example's bound as a one-example call
# would, and the example (was "index 4 out of range [0, 4)", the index
# translated into a table of the batch's T rows). The same rows in range
# give the sum of the two one-example losses (nngc run of the program as
# written on each example alone: at[t] = 0 3 1 2 and 1 0, xs their rows);
# an example of length 0 adds nothing (its padded steps read its row 0,
# which it does not have: was a range error)
# LEN FILE...: the batch's loss with lengths LEN is the sum of the losses
# of nngc run on each example alone (FILE: pairs of xs and at)
ptr_sum() {
    len=$1
    shift
    "$NNGC" run "$P" --batch=2 --input xs="$tmp/$xs.npy" --input at="$tmp/pok.npy" --input T_len="$tmp/$len.npy" \
        >"$tmp/out" 2>&1 || return 1
    while [ $# -gt 0 ]; do
        "$NNGC" run "$P" --input xs="$tmp/$1.npy" --input at="$tmp/$2.npy" >>"$tmp/out" 2>&1 || return 1
        shift 2
    done
    awk '/^loss = / { l[n++] = $3 } END { d = l[0]; for (k = 1; k < n; k++) d -= l[k]; if (d < 0) d = -d
        exit !(n >= 2 && d <= 1e-5 * (1 + l[0])) }' "$tmp/out"
}
python3 tests/batch/ptr_data.py "$tmp"
# ptr.nn reads xs by rows only (time-major, [T, B, E]); ptr_whole.nn also
# whole (batch-major, [B, T, E]: pxsb.npy), each row one gather of [B T, E]
for P in tests/batch/ptr.nn tests/batch/ptr_whole.nn; do
    pm=$(basename "$P" .nn) xs=pxs
    [ "$pm" = ptr ] || xs=pxsb
    for c in "pbad:index 2 out of range \[0, 2) (example 1)" "pneg:index -1 out of range \[0, 2) (example 1)"; do
        for o in 2 0; do
            run_error "-O$o: $pm: a per-example index outside the example's rows (${c%%:*})" "$pm.nn:13:19: ${c#*:}" \
                -O$o "$P" --batch=2 --input xs="$tmp/$xs.npy" --input at="$tmp/${c%%:*}.npy" --input T_len="$tmp/plen.npy"
        done
    done
    if ptr_sum plen px0 pa0 px1 pa1; then
        ok "$pm: a per-example index in range: the sum of the one-example losses"
    else
        notok "$pm: a per-example index in range: the sum of the one-example losses"
        detail "$tmp/out" 8
    fi
    if ptr_sum plen0 px0 pa0; then
        ok "$pm: a per-example index, an example of length 0: the other example's loss"
    else
        notok "$pm: a per-example index, an example of length 0: the other example's loss"
        detail "$tmp/out" 8
    fi
done
# the same at random (at[t] within the example's rows: check.py --within)
check "same: ptr, B=3, at[t] random within each example's rows" \
    python3 tests/batch/check.py "$NNGC" tests/batch/ptr.nn 3 21 --within at
check "same: ptr_whole, B=4, -O0" python3 tests/batch/check.py "$NNGC" tests/batch/ptr_whole.nn 4 22 --within at -O0
# cross_entropy and pick whose classes are the positions (a pointer): the
# padding's logits never count, the label is checked against the
# example's own positions (a one-example call: against its T)
check "same: pointer, B=3" python3 tests/batch/check.py "$NNGC" tests/batch/pointer.nn 3 23 --within y
check "same: pointer, B=4, -O0" python3 tests/batch/check.py "$NNGC" tests/batch/pointer.nn 4 24 --within y -O0
run_error "a pointer label past the example's positions" "pointer.nn:16:9: index 2 out of range \[0, 2) (example 1)" \
    tests/batch/pointer.nn --batch=2 --input words="$tmp/yw.npy" --input y="$tmp/ybad.npy" --input T_len="$tmp/ylen.npy"
# an example of length 0 (T_len 0: allowed, though a one-example program
# has T >= 1) in a mean over the line read whole: its mean is 0, not 0 / 0
# (nan in the whole batch's loss and gradients). clf.nn's bias starts at
# 0, so example 0's loss is cross_entropy(zeros([3]), y) = log 3, and the
# batch's is that plus example 1's alone (the padding: ids out of range)
python3 - "$tmp" <<'PY'
import sys
sys.path.insert(0, "tests/batch")
import check
check.write_npy(sys.argv[1] + "/cw.npy", "i", [2, 3], [1000000] * 3 + [5, 7, 9])
check.write_npy(sys.argv[1] + "/cl.npy", "i", [2], [2, 1])
check.write_npy(sys.argv[1] + "/clen.npy", "i", [2], [0, 3])
check.write_npy(sys.argv[1] + "/cw1.npy", "i", [3], [5, 7, 9])
check.write_npy(sys.argv[1] + "/cl1.npy", "i", [], [1])
PY
C=tests/traincli/models/clf.nn
if "$NNGC" run $C --batch=2 --seed 3 --dim T=3 --input words="$tmp/cw.npy" --input label="$tmp/cl.npy" \
    --input T_len="$tmp/clen.npy" >"$tmp/b0" 2>&1 &&
    "$NNGC" run $C --seed 3 --dim T=3 --input words="$tmp/cw1.npy" --input label="$tmp/cl1.npy" >"$tmp/b1" 2>&1 &&
    awk '/^loss = / { l[n++] = $3 } END { d = l[0] - (l[1] + log(3)); if (d < 0) d = -d; exit !(n == 2 && l[0] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ && d <= 1e-5 * (1 + l[0])) }' \
        "$tmp/b0" "$tmp/b1"; then
    ok "an empty example in a mean over the sequence: loss log 3 + the other's"
else
    notok "an empty example in a mean over the sequence: loss log 3 + the other's"
    cat "$tmp/b1" >>"$tmp/b0"
    detail "$tmp/b0" 8
fi
expect_error "--batch=0" 2 examples/logreg.nn "error: --batch: expected a whole number from 1 to 1000000, got '0'" --batch=0
expect_error "--batch=x" 2 examples/logreg.nn "error: --batch: expected a whole number from 1 to 1000000, got 'x'" --batch=x

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
