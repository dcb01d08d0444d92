#!/bin/sh
# scripts/demo.sh - what `make demo` runs after `make all`.
#
# Shows the whole path from a model written the plain way to a C program:
#   1. build/nngc compiles examples/rnnlm.nn (the Elman RNN language model)
#      into C: build/demo/rnnlm.c and build/demo/rnnlm.h;
#   2. examples/apps/rnnlm_app.c, an ordinary C program, is compiled against
#      that header and linked with build/libnngrt.a and OpenBLAS;
#   3. the program scores a corpus with the (randomly initialised) model:
#      Penn Treebank's validation set when ../shared/data/ptb/ exists next to
#      the repository, else the small corpus shipped in examples/data/;
#   4. it trains the model (rnnlm_train_step, Adam) for a bounded time on the
#      training text, printing words/s and the loss as it goes, saves it, and
#      prints the validation perplexity of the trained model.
#
# NNGC_DEMO_SENTENCES=N (default 1000) limits the scoring to the first N
# validation sentences; NNGC_DEMO_SECONDS=S (default 60) is the training time.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=build/demo

step() { printf '\n== %s\n' "$*"; }

for f in build/nngc build/libnngrt.a; do
    if [ ! -e "$f" ]; then
        echo "demo.sh: $f is missing; run 'make' first (or 'make demo')" >&2
        exit 1
    fi
done
mkdir -p "$OUT"

step "1. compile the model: build/nngc examples/rnnlm.nn -o $OUT/rnnlm.c"
sed -n '/^model/,$p' examples/rnnlm.nn
build/nngc examples/rnnlm.nn -o "$OUT/rnnlm.c"
echo "-> $OUT/rnnlm.c ($(wc -l < "$OUT/rnnlm.c") lines of C) and $OUT/rnnlm.h, which declares:"
grep -E '^[A-Za-z].*rnnlm_[a-z_]+\(' "$OUT/rnnlm.h" | sed 's/^/     /' || true

step "2. build the C application examples/apps/rnnlm_app.c against it"
make -s -C examples/apps NNGC="$ROOT/build/nngc" RT_INC="$ROOT/runtime" \
    RT_LIB="$ROOT/build" O="$ROOT/$OUT"
echo "-> $OUT/rnnlm_app"

# (cd + pwd: print a clean path, not .../main/../shared/...)
PTB=$(cd "$ROOT/../shared/data/ptb" 2>/dev/null && pwd) || PTB=""
if [ -n "$PTB" ] && [ -f "$PTB/valid.txt" ]; then
    CORPUS="$PTB/valid.txt"
    # the vocabulary of the PTB experiments is the training set's
    if [ -f "$PTB/train.txt" ]; then set -- -v "$PTB/train.txt"; else set --; fi
    WHAT="Penn Treebank validation set"
else
    CORPUS="$ROOT/examples/data/tiny.txt"
    set --
    WHAT="shipped corpus examples/data/tiny.txt (no ../shared/data/ptb here)"
fi
TRAIN="$ROOT/examples/data/tiny.txt"
if [ -n "$PTB" ] && [ -f "$PTB/train.txt" ]; then TRAIN="$PTB/train.txt"; fi
set -- "$@" -n "${NNGC_DEMO_SENTENCES:-1000}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

step "3. score the $WHAT with random parameters (seed 1)"
echo "$OUT/rnnlm_app${*:+ $*} $CORPUS"
"$OUT/rnnlm_app" "$@" "$CORPUS"
echo
echo "Untrained, the model gives every word about the same probability, so the"
echo "perplexity is close to the vocabulary size V: that is the sanity check."

SECS=${NNGC_DEMO_SECONDS:-60}
step "4. train for $SECS s on $TRAIN, save, then score the validation text again"
echo "$OUT/rnnlm_app -v $TRAIN -t $SECS -o $OUT/rnnlm-trained.safetensors${*:+ $*} $CORPUS"
"$OUT/rnnlm_app" -v "$TRAIN" -t "$SECS" -o "$OUT/rnnlm-trained.safetensors" "$@" "$CORPUS"
echo
echo "The trained parameters (and Adam's state, to resume) are in $OUT/rnnlm-trained.safetensors;"
echo "score other text with: $OUT/rnnlm_app -p $OUT/rnnlm-trained.safetensors -v $TRAIN FILE"
