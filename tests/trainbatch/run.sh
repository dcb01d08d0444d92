#!/bin/sh
# tests/trainbatch/run.sh - `nngc train --batch B` and `nngc eval --batch B`
# on the compiler's batched program (compiler/driver/train_batch.c,
# docs/TRAIN.md "Batches").
#
#   sh tests/trainbatch/run.sh     (uses build/nngc, build/npycmp, python3)
#
# The reference is the summed one-example path (--one-example: B calls of
# the program as written, gradients summed, one update), which
# tests/partrain checks against `nngc run --grads` summed by a script. With
# SGD the two must give the same params up to the order of float additions:
#
#   1. text     the RNN LM (lm.nn) and the skip-gram (sg.nn) on 14 lines
#               of tiny.txt with a 1-word line and a 39-word one (lm's
#               max): one step (4 lines), and 2 epochs of --batch 4 (3 full
#               batches and a partial one of 2 per epoch); the note says
#               which program ran
#   2. npy      a sequence classifier (tests/batch/models/seqcls.nn: the
#               loss reads the final state, a time-major float input) with
#               lengths 1..8, and examples/classifier.nn (no dynamic dim)
#   3. fallback clf.nn, a text classifier reading its line whole (the
#               batched program), attention over the line, a loop in a
#               loop, the last step, a label the same for every example
#               and a loop from T to 2 T (batched); a model the compiler
#               cannot batch (a loop from T to a fixed width): a note
#               saying why, and the bytes of --one-example
#   4. eval     --batch 4 scores as --one-example (a partial last batch); a
#               classifier's accuracy from the batched output's rows
#   5. errors   an id out of range in example 5 names example 5 (also for a
#               model with an output); --batch x
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
NPYCMP=${NPYCMP:-$(dirname "$NNGC")/npycmp}
M=tests/traincli/models
TINY=examples/data/tiny.txt
TMO=300
export OPENBLAS_NUM_THREADS=1

. tests/lib.sh
make_tmp trainbatch
need_tools trainbatch "$NNGC" "$NPYCMP"

# run NAME CMD...: ok when CMD exits 0 (output in $tmp/out; tests/lib.sh)
run() { DETAIL=12 run_ok "$@"; }
# has NAME PATTERN: ok when $tmp/out has a line matching PATTERN (grep -E)
has() {
    if grep -Eq "$2" "$tmp/out"; then ok "$1"; else notok "$1"; detail "$tmp/out" 8; fi
}
# same NAME A B: every .npy of directory A close to B's
same() {
    bad=""
    for f in "$2"/*.npy; do
        "$NPYCMP" "$f" "$3/$(basename "$f")" --rtol 1e-3 --atol 2e-5 >"$tmp/cmp" 2>&1 || bad="$bad $(basename "$f")"
    done
    if [ -z "$bad" ]; then ok "$1"; else notok "$1:$bad"; detail "$tmp/cmp" 4; fi
}
# exports MODEL DIR: --export P=DIR/P.npy for each param of MODEL
exports() {
    mkdir -p "$2"
    case $1 in
    lm) ps="emb Wx Wh bh Wo bo" ;;
    sg) ps="Ww Wc" ;;
    seqcls) ps="emb Wx Ux Wh bh Wo" ;;
    classifier) ps="W1 b1 W2 b2" ;;
    clf) ps="emb W b" ;;
    attn) ps="emb W q" ;;
    pair) ps="emb W Wo" ;;
    selfattn) ps="emb Wq W" ;;
    nest | last | pool | prior | again) ps="emb U W" ;;
    pad) ps="emb U W pad" ;;
    bos) ps="emb U W start" ;;
    esac
    for p in $ps; do printf ' --export %s=%s/%s.npy' $p "$2" $p; done
}
# both NAME MODEL KEY ARGS...: trains with --batch 4 (the batched program)
# and with --one-example into $tmp/KEY_b and $tmp/KEY_o, then compares
both() {
    name=$1 model=$2 key=$3
    shift 3
    run "$name: --batch 4" "$NNGC" train "$model" --batch 4 "$@" $(exports "$(basename "$model" .nn)" "$tmp/${key}_b") &&
        has "$name: the batched program ran" "4 examples per call of the batched program"
    run "$name: --batch 4 --one-example" "$NNGC" train "$model" --batch 4 --one-example "$@" \
        $(exports "$(basename "$model" .nn)" "$tmp/${key}_o")
    same "$name: batched = summed one-example gradients" "$tmp/${key}_o" "$tmp/${key}_b"
}

# the text: 12 lines of tiny.txt, a line of 1 word and one of 39 (lm.nn's
# T max 40 is 39 words + the end of the sentence)
head -n 12 $TINY >"$tmp/text.txt"
echo "the" >>"$tmp/text.txt"
tr -s ' \n' '\n\n' <$TINY | grep . | head -n 39 | tr '\n' ' ' >>"$tmp/text.txt"
echo >>"$tmp/text.txt"
{ sed -n 13p "$tmp/text.txt"; sed -n 14p "$tmp/text.txt"; sed -n 1,2p "$tmp/text.txt"; } >"$tmp/four.txt"
tail -n 30 $TINY >"$tmp/valid.txt"
if [ "$(awk 'NR == 13 { print NF } NR == 14 { print NF }' "$tmp/text.txt" | tr '\n' ' ')" = "1 39 " ]; then
    ok "data: lines of 1 and 39 words"
else
    notok "data: lines of 1 and 39 words"
fi

# ---------------------------------------------------------------- 1: text
# SGD at an lr that trains stably (at 0.05 the LM diverges in epoch 2, and
# float rounding, even OpenBLAS's thread count, changes the params by 1e-3)
SGD="--optimizer=sgd:lr=0.01"
both "lm one step" $M/lm.nn lm1 --data "$tmp/four.txt" --epochs 1 $SGD --progress 100
both "lm 2 epochs" $M/lm.nn lm2 --data "$tmp/text.txt" --epochs 2 $SGD --progress 100
both "sg 2 epochs" $M/sg.nn sg2 --data "$tmp/text.txt" --epochs 2 --lr 0.01 --progress 100
# the reference is not the start: training moved the params
if "$NPYCMP" "$tmp/lm1_b/Wo.npy" "$tmp/lm2_b/Wo.npy" --rtol 1e-3 --atol 2e-5 >/dev/null 2>&1; then
    notok "lm: 2 epochs differ from one step (the comparison can fail)"
else
    ok "lm: 2 epochs differ from one step (the comparison can fail)"
fi

# ---------------------------------------------------------------- 2: npy
python3 tests/trainbatch/gen.py seqcls "$tmp" 10 3
both "seqcls (.npy, lengths 1..8)" tests/batch/models/seqcls.nn sq --data words="$tmp/words.npy" \
    --data xs="$tmp/xs.npy" --data y="$tmp/y.npy" --lengths "$tmp/len.npy" --epochs 2 --lr 0.05 --progress 100
# two dynamic dims (a pair of sentences, lengths [N, 2]): T_len and S_len
cat >"$tmp/pair.nn" <<'EOF'
model pair
dim V = 20
dim D = 8
dim C = 3
dim T max 6
dim S max 5
param emb : [V, D]
param W : [D, D]
param Wo : [C, D]
input a : int[T]
input b : int[S]
input y : int
x = emb[a]
z = emb[b]
c = softmax(x @ transpose(z @ W)) @ z
loss += cross_entropy(Wo @ (mean(tanh(c), 0) + mean(z, 0)), y)
EOF
python3 tests/trainbatch/gen.py pair "$tmp" 11 5
both "pair (.npy, two dynamic dims)" "$tmp/pair.nn" pair --data a="$tmp/a.npy" --data b="$tmp/b.npy" --data y="$tmp/y.npy" \
    --lengths "$tmp/len.npy" --epochs 2 --lr 0.05 --progress 100
python3 tests/trainbatch/gen.py clf "$tmp" 10 4
both "classifier (.npy, no dynamic dim)" examples/classifier.nn cl --data x="$tmp/x.npy" --data y="$tmp/y.npy" \
    --epochs 2 $SGD --progress 100

# ---------------------------------------------------------------- 3: fallback
# a text classifier reading its line whole (mean(emb[words], 0): masked
# past each line's end) is batched, and so are one with attention over the
# line (a softmax along it, emb[words] @ q), one with self-attention, one
# with a loop inside a loop, ...; a loop from T to a fixed width is not
# yet: the fallback
awk '{ print "__label__" (NR % 3) " " $0 }' "$tmp/text.txt" >"$tmp/labels.txt"
both "clf (labelled text, the line read whole)" $M/clf.nn clf --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
cat >"$tmp/attn.nn" <<'EOF'
model attn
dim V = 128
dim D = 16
dim C = 3
dim T max 40
param emb : [V, D]
param W : [C, D]
param q : [D]
input words : int[T]
input label : int
x = emb[words]
a = softmax(x @ q)
loss += cross_entropy(W @ (transpose(x) @ a), label)
EOF
both "attn (attention over the line)" "$tmp/attn.nn" attn --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# self-attention: the line's words attend to each other (products of two
# per-example matrices: batch_matmul), then a mean over the line
cat >"$tmp/selfattn.nn" <<'EOF'
model selfattn
dim V = 128
dim D = 16
dim C = 3
dim T max 40
param emb : [V, D]
param Wq : [D, D]
param W : [C, D]
input words : int[T]
input label : int
x = emb[words]
h = tanh(softmax(x @ transpose(x @ Wq)) @ x)
loss += cross_entropy(W @ mean(h, 0), label)
EOF
both "selfattn (self-attention over the line)" "$tmp/selfattn.nn" selfattn --data "$tmp/labels.txt" --epochs 2 $SGD \
    --progress 100
# rnn_head NAME W_SHAPE: a line classifier's declarations (nest.nn, pool.nn, last.nn)
rnn_head() {
    printf 'model %s\ndim V = 128\ndim D = 16\ndim C = 3\ndim T max 40\nparam emb : [V, D]\n' "$1"
    printf 'param U : [D, D]\nparam W : [%s]\ninput words : int[T]\ninput label : int\nh = zeros([D])\n' "$2"
}
# a loop inside the loop: batched (the inner loop reads the outer one's masks)
{ rnn_head nest "C, D"; cat <<'EOF'
for t in 0..T {
  for k in 0..2 {
    h = tanh(U @ h + emb[words[t]])
  }
}
loss += cross_entropy(W @ h, label)
EOF
} >"$tmp/nest.nn"
both "nest (a loop inside the loop)" "$tmp/nest.nn" nest --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# a start row before the line (concat along its dynamic dim): each
# example's rows, then its padding
{ rnn_head bos "C, D"; cat <<'EOF'
param start : [1, D]
x = concat(start, emb[words])
loss += cross_entropy(W @ mean(tanh(x @ U), 0), label)
EOF
} >"$tmp/bos.nn"
both "bos (a start row before the line)" "$tmp/bos.nn" bos --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# a loop's stack of hidden vectors read whole (mean-pooling over the
# line): its batch-major view, the padding zeros
{ rnn_head pool "C, D"; cat <<'EOF'
for t in 0..T {
  h = tanh(U @ h + emb[words[t]])
  hs[t] = h
}
loss += cross_entropy(W @ mean(hs, 0), label)
EOF
} >"$tmp/pool.nn"
both "pool (the mean of a loop's stack)" "$tmp/pool.nn" pool --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# a loop that starts at T - 1 (the last word): each example's own last
# step (the loop 0..1, its index T_len[b] - 1 + t)
{ rnn_head last "C, D"; cat <<'EOF'
for t in T - 1..T {
  h = tanh(U @ h + emb[words[t]])
}
loss += cross_entropy(W @ h, label)
EOF
} >"$tmp/last.nn"
both "last (a loop from T - 1)" "$tmp/last.nn" last --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# a cross entropy whose label is the same for every example (a prior
# toward class 0): each example's label 0 (was the fallback's example)
{ rnn_head prior "C, D"; cat <<'EOF'
for t in 0..T {
  h = tanh(U @ h + emb[words[t]])
}
loss += cross_entropy(W @ h, label) + 0.1 * cross_entropy(W @ h, 0)
EOF
} >"$tmp/prior.nn"
both "prior (a label the same for every example)" "$tmp/prior.nn" prior --data "$tmp/labels.txt" --epochs 2 $SGD \
    --progress 100
# a loop whose start and number of steps both depend on the line's
# length (the line read again, backwards, its steps numbered on from T):
# each line's own steps
{ rnn_head again "C, D"; cat <<'EOF'
for t in 0..T {
  h = tanh(U @ h + emb[words[t]])
}
for t in T..2 * T {
  h = tanh(U @ h + emb[words[2 * T - 1 - t]])
}
loss += cross_entropy(W @ h, label)
EOF
} >"$tmp/again.nn"
both "again (a loop from T to 2 T)" "$tmp/again.nn" again --data "$tmp/labels.txt" --epochs 2 $SGD --progress 100
# what the compiler cannot batch yet (a loop from the line's end to a
# fixed width, line 16: the line padded to 40 steps with a learned pad
# vector): the one-example path, after a note that says why
{ rnn_head pad "C, D"; cat <<'EOF'
param pad : [D]
for t in 0..T {
  h = tanh(U @ h + emb[words[t]])
}
for t in T..40 {
  h = tanh(U @ h + pad)
}
loss += cross_entropy(W @ h, label)
EOF
} >"$tmp/pad.nn"
run "pad: --batch 4" "$NNGC" train "$tmp/pad.nn" --data "$tmp/labels.txt" --batch 4 --epochs 1 \
    $(exports pad "$tmp/pad_b")
has "pad: a note: the compiler cannot batch it, and why" \
    "note: --batch 4: the compiler cannot batch model pad: .*pad.nn:16:1: .*'loop' whose start depends on a dynamic dim and does not grow with it.*gradients are summed"
run "pad: --batch 4 --one-example" "$NNGC" train "$tmp/pad.nn" --data "$tmp/labels.txt" --batch 4 --one-example \
    --epochs 1 -q $(exports pad "$tmp/pad_o")
if cmp -s "$tmp/pad_b/W.npy" "$tmp/pad_o/W.npy" && cmp -s "$tmp/pad_b/emb.npy" "$tmp/pad_o/emb.npy" &&
    cmp -s "$tmp/pad_b/pad.npy" "$tmp/pad_o/pad.npy" && cmp -s "$tmp/pad_b/U.npy" "$tmp/pad_o/U.npy"; then
    ok "pad: the fallback is the summed one-example path (same bytes)"
else
    notok "pad: the fallback is the summed one-example path (same bytes)"
fi
# eval computes no gradient: its note ends at the fallback
run "pad: save a checkpoint" "$NNGC" train "$tmp/pad.nn" --data "$tmp/labels.txt" --epochs 1 -q --save "$tmp/pad.st"
run "pad: eval --batch 4" "$NNGC" eval "$tmp/pad.nn" --params "$tmp/pad.st" --data "$tmp/labels.txt" --batch 4
if grep -Eq "note: --batch 4: the compiler cannot batch model pad: .*\(the program as written\)$" "$tmp/out"; then
    ok "pad: eval --batch 4: the note says each example runs on its own, and nothing of gradients"
else
    notok "pad: eval --batch 4: the note says each example runs on its own, and nothing of gradients"
    detail "$tmp/out" 8
fi
run "--batch 6 --threads 4: not a multiple" "$NNGC" train $M/lm.nn --data "$tmp/four.txt" --epochs 1 --batch 6 \
    --threads 4 --progress 100
has "... a note saying so" "note: --batch 6: it is not a multiple of the 4 threads"

# ---------------------------------------------------------------- 4: eval
run "lm: save a checkpoint" "$NNGC" train $M/lm.nn --data "$tmp/text.txt" --epochs 1 -q --save "$tmp/lm.st"
# 30 lines: 7 batches of 4, then 2 one at a time
run "eval --batch 4" "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --data "$tmp/valid.txt" --batch 4
has "eval --batch 4: the batched program ran" "4 examples per call of the batched program"
lb=$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")
run "eval --one-example" "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --data "$tmp/valid.txt"
lo=$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")
if [ -n "$lb" ] && awk -v a="$lb" -v b="$lo" 'BEGIN { d = a - b; exit !(d < 1e-5 * b && -d < 1e-5 * b && b > 0.5) }'; then
    ok "eval: the batched loss per word $lb = $lo"
else
    notok "eval: the batched loss per word '$lb', one at a time '$lo'"
fi

# a classifier's accuracy: the argmax of each row of the batched output
mkdir -p "$tmp/c"
python3 tests/trainbatch/gen.py clf "$tmp/c" 30 5
run "classifier: train 3 epochs" "$NNGC" train examples/classifier.nn --data x="$tmp/c/x.npy" --data y="$tmp/c/y.npy" \
    --epochs 3 --lr 0.05 -q --save "$tmp/cl.st"
for k in b o; do
    f=; [ $k = o ] && f=--one-example
    run "classifier: eval --batch 8 $f" "$NNGC" eval examples/classifier.nn --params "$tmp/cl.st" --data x="$tmp/c/x.npy" \
        --data y="$tmp/c/y.npy" --batch 8 $f
    grep -e '^loss' -e '^accuracy' "$tmp/out" >"$tmp/eval_$k"
done
if [ "$(grep -c . "$tmp/eval_b")" -eq 2 ] && diff "$tmp/eval_b" "$tmp/eval_o" >/dev/null; then
    ok "classifier: eval --batch 8 gives the loss and accuracy of one at a time ($(tr '\n' ' ' <"$tmp/eval_b"))"
else
    notok "classifier: eval --batch 8: $(tr '\n' ' ' <"$tmp/eval_b") vs $(tr '\n' ' ' <"$tmp/eval_o")"
fi

# ---------------------------------------------------------------- 6: approximations
# --batch with a softmax approximation (passes/approx.c rows_loop: the
# batched [B, V] logits lowered row by row, batched again at -O2). The
# methods without samples give the one-example gradients; a sampling
# method draws per (step, example) in both, so -O0 (the row loop run as
# written) and -O2 (the batch pass's row-wise ops) must agree
for m in hier class:c=8 binary binary:hybrid=20 embed; do
    both "lm --softmax=$m" $M/lm.nn "lm_$(echo $m | tr -c 'a-z0-9\n' _)" --data "$tmp/text.txt" --epochs 2 $SGD \
        --progress 100 --softmax=$m
done
both "sg --softmax=hier" $M/sg.nn sgh --data "$tmp/text.txt" --epochs 2 --lr 0.01 --progress 100 --softmax=hier
# (class and hier too: -O0 has no rows pass, so the row kernels of -O2's
# batched recurrence, class's ranges and hier's paths, meet a reference
# that does not use them)
for m in neg:k=3 nce:k=5 sampled:k=5 class:c=8 hier; do
    key="lms_$(echo $m | tr -c 'a-z0-9\n' _)"
    for o in 0 2; do
        run "lm --softmax=$m -O$o: --batch 4" "$NNGC" train $M/lm.nn --batch 4 -O$o --data "$tmp/text.txt" \
            --epochs 2 $SGD --progress 100 --softmax=$m $(exports lm "$tmp/${key}_$o")
    done
    has "lm --softmax=$m: the batched program ran" "4 examples per call of the batched program"
    same "lm --softmax=$m: -O0 = -O2 (the same draws, if any)" "$tmp/${key}_0" "$tmp/${key}_2"
done

# the output rows' gradient is sparse (rows listed, zeroed and updated
# alone): in the batched program one sparse_scatter_add after the loops
# (the batch pass takes hier out of the recurrence with [T, 4] targets),
# without the batch pass a loop's scatter_rows (each step's rows listed as
# the loop adds them); the reference has dense gradients (no select
# pass), with SGD and with Adam
for opt in "$SGD" "--optimizer=adam:lr=0.01"; do
    key="lmsp_$(echo "$opt" | cut -c13-15)"
    run "lm hier $opt: --batch 4" "$NNGC" train $M/lm.nn --batch 4 --data "$tmp/text.txt" --epochs 2 "$opt" \
        --progress 100 --softmax=hier $(exports lm "$tmp/${key}_b")
    run "lm hier $opt: --batch 4, one example at a time, no batch pass" "$NNGC" train $M/lm.nn --batch 4 \
        --one-example --disable-pass=batch --data "$tmp/text.txt" --epochs 2 "$opt" --progress 100 --softmax=hier \
        $(exports lm "$tmp/${key}_r")
    run "lm hier $opt: dense reference" "$NNGC" train $M/lm.nn --batch 4 --one-example --disable-pass=select \
        --data "$tmp/text.txt" --epochs 2 "$opt" --progress 100 --softmax=hier $(exports lm "$tmp/${key}_d")
    same "lm hier $opt: sparse output-row gradients = dense" "$tmp/${key}_d" "$tmp/${key}_b"
    same "lm hier $opt: a loop's sparse scatter_rows = dense" "$tmp/${key}_d" "$tmp/${key}_r"
done

# the forward graph of class and hier (their own distribution) batched too
for m in hier class:c=8; do
    run "lm --softmax=$m: save" "$NNGC" train $M/lm.nn --data "$tmp/text.txt" --epochs 1 -q --softmax=$m \
        --save "$tmp/lm_$m.st"
    run "lm --softmax=$m: eval --batch 4" "$NNGC" eval $M/lm.nn --params "$tmp/lm_$m.st" --data "$tmp/valid.txt" \
        --batch 4 --softmax=$m
    has "lm --softmax=$m: eval ran the batched program" "4 examples per call of the batched program"
    lb=$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")
    run "lm --softmax=$m: eval one at a time" "$NNGC" eval $M/lm.nn --params "$tmp/lm_$m.st" --data "$tmp/valid.txt" \
        --softmax=$m
    lo=$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")
    if [ -n "$lb" ] && awk -v a="$lb" -v b="$lo" 'BEGIN { d = a - b; exit !(d < 1e-5 * b && -d < 1e-5 * b && b > 0.5) }'; then
        ok "lm --softmax=$m: eval --batch 4 loss per word $lb = $lo"
    else
        notok "lm --softmax=$m: eval --batch 4 loss per word '$lb', one at a time '$lo'"
    fi
done

# ---------------------------------------------------------------- 5: errors
# names NAME PATTERN CMD...: ok when CMD exits 1 with a line matching PATTERN
names() {
    name=$1 pat=$2
    shift 2
    timeout $TMO "$@" >"$tmp/out" 2>&1
    st=$?
    if [ $st -eq 1 ] && grep -q "$pat" "$tmp/out"; then ok "$name"; else
        notok "$name ($(status_text $st))"
        detail "$tmp/out" 6
    fi
}
python3 tests/trainbatch/gen.py badid "$tmp" 8 5
names "an id out of range in a batch names its example" "sent.npy example 5: .*out of range" \
    "$NNGC" train $M/sg.nn --data sent="$tmp/sent.npy" --lengths "$tmp/len.npy" --batch 4 --epochs 1
# a model with an output (examples/classifier.nn): the example is found by
# running the batch's examples one at a time, which once passed no outputs
# and so blamed the batch's first example for "NULL outputs"
python3 tests/trainbatch/gen.py badlabel "$tmp" 8 5
for cmd in "train --epochs 1" eval; do
    # shellcheck disable=SC2086
    names "${cmd%% *} --batch 4: a label out of range names its example (a model with an output)" \
        "cx.npy example 5: .*index 10 out of range" "$NNGC" $cmd examples/classifier.nn --data x="$tmp/cx.npy" \
        --data y="$tmp/cy.npy" --batch 4
done
timeout $TMO "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --data "$tmp/valid.txt" --batch x >"$tmp/out" 2>&1
st=$?
if [ $st -eq 2 ] && grep -q "expected a whole number" "$tmp/out"; then ok "eval --batch x: a usage error"; else
    notok "eval --batch x: a usage error ($(status_text $st))"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
