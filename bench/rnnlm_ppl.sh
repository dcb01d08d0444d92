#!/bin/sh
# bench/rnnlm_ppl.sh - validation perplexity of examples/rnnlm.nn trained by
# `nngc train` and by the same model written by hand in PyTorch
# (bench/rnnlm_torch_train.py), same data, epochs, batch, optimizer and
# vocabulary, one thread each, run one after the other (issue #9's
# "perplexity at least as good as PyTorch"; docs/PERFORMANCE.md).
#
#   sh bench/rnnlm_ppl.sh [EPOCHS (1)] [B (32)] [LINES (0: all)]
#
# Data: ../shared/data/ptb/{train,valid}.txt (PTB_DIR to change); LINES > 0
# trains on the first LINES lines only. Needs python3-torch (Debian) for
# the PyTorch side; without it only nngc's line is printed.
cd "$(dirname "$0")/.." || exit 1
EPOCHS=${1:-1} B=${2:-32} LINES=${3:-0}
PTB=${PTB_DIR:-../shared/data/ptb}
NNGC=${NNGC:-build/nngc}
PY=${BENCH_PYTHON:-/usr/bin/python3}
[ -f "$PTB/train.txt" ] && [ -f "$PTB/valid.txt" ] || { echo "rnnlm_ppl.sh: no $PTB/train.txt and valid.txt" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-ppl.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
train=$PTB/train.txt
if [ "$LINES" -gt 0 ]; then head -n "$LINES" "$train" >"$tmp/train.txt"; train=$tmp/train.txt; fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg), epochs $EPOCHS, batch $B, lines ${LINES:-all}"
echo "## nngc train"
"$NNGC" train examples/rnnlm.nn --data "$train" --valid "$PTB/valid.txt" --epochs "$EPOCHS" \
    --batch "$B" --max-vocab 10000 --seed 1 -q || exit 1
if "$PY" -c 'import torch' 2>/dev/null; then
    echo "## PyTorch"
    "$PY" bench/rnnlm_torch_train.py "$train" "$PTB/valid.txt" --epochs "$EPOCHS" --batch "$B" --seed 1 || exit 1
else
    echo "## PyTorch: not installed (apt-get install python3-torch)"
fi
