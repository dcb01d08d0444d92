#!/bin/sh
# scripts/demo.sh - what `make demo` runs after `make all`.
#
# Shows the whole path from a model written the plain way to a C program:
#   1. build/nngc compiles examples/rnnlm.nn (the Elman RNN language model)
#      into C: build/demo/rnnlm.c and build/demo/rnnlm.h;
#   2. examples/apps/rnnlm_app.c, an ordinary C program, is compiled against
#      that header and linked with build/libnngrt.a and OpenBLAS;
#   3. the program scores held-out text with the randomly initialised model
#      (the perplexity must come out near the vocabulary size V);
#   4. it trains the model (rnnlm_train_step, Adam) for a bounded time on the
#      training text, printing words/s and the loss as it goes, saves it, and
#      prints the perplexity of the trained model on the held-out text;
#   5. `nngc train` trains the same model from the command line, 32
#      sentences per call of the compiler's batched program (--batch 32),
#      on the first NNGC_DEMO_LINES lines of the training text for
#      NNGC_DEMO_EPOCHS epochs, and prints the validation perplexity on the
#      held-out sentences before training and after each epoch.
#
# Data: with the Penn Treebank at ../shared/data/ptb/ next to the repository
# (train.txt and valid.txt), it trains on ptb train.txt and evaluates on ptb
# valid.txt; otherwise on the shipped corpus: it trains on
# examples/data/tiny.txt and evaluates on examples/data/tiny-valid.txt
# (held-out sentences from the same generator, make_tiny.py). It never
# evaluates on its training file.
#
# Environment:
#   NNGC_DEMO_SENTENCES=N  evaluate on the first N held-out sentences (1000)
#   NNGC_DEMO_SECONDS=S    train for S seconds (60) in step 4
#   NNGC_DEMO_LINES=L      step 5 trains on the first L lines (5000; the
#                          whole Penn Treebank is 42068: about 1/8 of it)
#   NNGC_DEMO_EPOCHS=E     step 5's epochs (2)
#   NNGC_DEMO_PTB=DIR      where to look for the Penn Treebank (default
#                          ../shared/data/ptb; empty: use the shipped corpus)
#   NNGC_DEMO_OUT=DIR      where the generated C and the program go (build/demo)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${NNGC_DEMO_OUT:-build/demo}

step() { printf '\n== %s\n' "$*"; }

for f in build/nngc build/libnngrt.a; do
    if [ ! -e "$f" ]; then
        echo "demo.sh: $f is missing; run 'make' first (or 'make demo')" >&2
        exit 1
    fi
done
mkdir -p "$OUT"

# (cd + pwd: print a clean path, not .../main/../shared/...)
PTBDIR=${NNGC_DEMO_PTB-$ROOT/../shared/data/ptb}
PTB=$(cd "$PTBDIR" 2>/dev/null && pwd) || PTB=""
if [ -n "$PTB" ] && [ -f "$PTB/train.txt" ] && [ -f "$PTB/valid.txt" ]; then
    TRAIN="$PTB/train.txt"
    VALID="$PTB/valid.txt"
    WHAT="the Penn Treebank ($PTB)"
else
    TRAIN=examples/data/tiny.txt
    VALID=examples/data/tiny-valid.txt
    if [ -n "$PTBDIR" ]; then
        WHAT="the shipped corpus examples/data/ (no Penn Treebank train.txt and valid.txt in $PTBDIR)"
    else
        WHAT="the shipped corpus examples/data/ (NNGC_DEMO_PTB is empty)"
    fi
fi
N=${NNGC_DEMO_SENTENCES:-1000}
SECS=${NNGC_DEMO_SECONDS:-60}
LINES=${NNGC_DEMO_LINES:-5000}
EPOCHS=${NNGC_DEMO_EPOCHS:-2}
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
echo "demo data: $WHAT"
echo "  train on $TRAIN (also the vocabulary)"
echo "  evaluate on $VALID (held-out text, at most its first $N sentences)"

step "1. compile the model: build/nngc examples/rnnlm.nn -o $OUT/rnnlm.c"
sed -n '/^model/,$p' examples/rnnlm.nn
build/nngc examples/rnnlm.nn -o "$OUT/rnnlm.c"
echo "-> $OUT/rnnlm.c ($(wc -l < "$OUT/rnnlm.c") lines of C) and $OUT/rnnlm.h, which declares:"
grep -E '^[A-Za-z].*rnnlm_[a-z_]+\(' "$OUT/rnnlm.h" | sed 's/^/     /' || true

step "2. build the C application examples/apps/rnnlm_app.c against it"
make -s -C examples/apps NNGC="$ROOT/build/nngc" RT_INC="$ROOT/runtime" \
    RT_LIB="$ROOT/build" O="$(cd "$OUT" && pwd)"
echo "-> $OUT/rnnlm_app"

step "3. evaluate on $VALID with random parameters (seed 1)"
echo "$OUT/rnnlm_app -v $TRAIN -n $N $VALID"
"$OUT/rnnlm_app" -v "$TRAIN" -n "$N" "$VALID"
echo
echo "Untrained, the model gives every word about the same probability, so the"
echo "perplexity is close to the vocabulary size V: that is the sanity check."

step "4. train for $SECS s on $TRAIN, save, then evaluate on $VALID again"
echo "$OUT/rnnlm_app -v $TRAIN -t $SECS -o $OUT/rnnlm-trained.safetensors -n $N $VALID"
"$OUT/rnnlm_app" -v "$TRAIN" -t "$SECS" -o "$OUT/rnnlm-trained.safetensors" -n "$N" "$VALID"
echo
echo "The perplexity above is on $VALID, held-out text the model was not trained on."
echo "The trained parameters (and Adam's state, to resume) are in $OUT/rnnlm-trained.safetensors;"
echo "score other text with: $OUT/rnnlm_app -p $OUT/rnnlm-trained.safetensors -v $TRAIN FILE"

step "5. train with nngc train --batch 32 on the first $LINES lines of $TRAIN for $EPOCHS epochs"
head -n "$LINES" "$TRAIN" >"$OUT/train-head.txt"
head -n "$N" "$VALID" >"$OUT/valid-head.txt"
echo "build/nngc train examples/rnnlm.nn --data $OUT/train-head.txt --valid $OUT/valid-head.txt --batch 32 --epochs $EPOCHS --save $OUT/rnnlm-nngc.st"
"${NNGC:-build/nngc}" train examples/rnnlm.nn --data "$OUT/train-head.txt" --valid "$OUT/valid-head.txt" --batch 32 \
    --epochs "$EPOCHS" --save "$OUT/rnnlm-nngc.st"
echo
echo "Each line 'epoch E/$EPOCHS' gives the validation perplexity (ppl) on the first $N held-out"
echo "sentences of $VALID. The vocabulary is counted on the lines trained on"
echo "($OUT/rnnlm-nngc.st.vocab), so it is smaller than step 4's: the perplexities of"
echo "the two steps are not comparable. The checkpoint $OUT/rnnlm-nngc.st resumes with"
echo "--params; score other text with: build/nngc eval examples/rnnlm.nn --params $OUT/rnnlm-nngc.st --data FILE --batch 32"
