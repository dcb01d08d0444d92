#!/bin/sh
# bench/rnnlm_ppl.sh - validation perplexity of examples/rnnlm.nn trained by
# `nngc train` and by the same model written by hand in PyTorch
# (bench/rnnlm_torch_train.py), same data, epochs, batch, optimizer and
# vocabulary, one thread each, run one after the other (issue #9's
# "perplexity at least as good as PyTorch"; docs/PERFORMANCE.md).
#
#   sh bench/rnnlm_ppl.sh [EPOCHS (1)] [B (32)] [LINES (0: all)]
#   sh bench/rnnlm_ppl.sh replay [EPOCHS (1)] [B (32)] [LINES (3200)] [SEED (1)]
#
# replay: the step-by-step check that the two trainers do the same
# arithmetic. PyTorch starts from nngc's initial params (`nngc run --seed S
# --train 0 --save`) and visits the examples in nngc's order (`nngc train
# --dump-order`, --bucket 0); both print the running mean loss after every
# step (nngc's progress lines with --progress 1e-9, the script's --trace),
# then the validation perplexity. The two columns should agree to the last
# digit printed; the first step where they part is the bug.
#
# Data: ../shared/data/ptb/{train,valid}.txt (PTB_DIR to change); LINES > 0
# trains on the first LINES lines only. Needs python3-torch (Debian) for
# the PyTorch side; without it only nngc's line is printed.
cd "$(dirname "$0")/.." || exit 1
MODE=ppl
[ "$1" = replay ] && { MODE=replay; shift; }
EPOCHS=${1:-1} B=${2:-32} LINES=${3:-0} SEED=${4:-1}
[ $MODE = replay ] && LINES=${3:-3200}
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
if [ $MODE = replay ]; then
    "$PY" -c 'import torch' 2>/dev/null || { echo "rnnlm_ppl.sh: replay needs python3-torch" >&2; exit 1; }
    "$PY" -c "import struct; open('$tmp/w.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00v\\x00' + \
        (\"{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\".ljust(117) + '\\n').encode() + struct.pack('<3i', 0, 1, 0))"
    "$NNGC" run examples/rnnlm.nn --input words="$tmp/w.npy" --seed "$SEED" --train 0 --save "$tmp/init.st" >/dev/null || exit 1
    "$NNGC" train examples/rnnlm.nn --data "$train" --valid "$PTB/valid.txt" --epochs "$EPOCHS" --batch "$B" \
        --bucket 0 --max-vocab 10000 --seed "$SEED" --progress 1e-9 --dump-order "$tmp/order.txt" >"$tmp/nngc.out" 2>&1 || exit 1
    "$PY" bench/rnnlm_torch_train.py "$train" "$PTB/valid.txt" --epochs "$EPOCHS" --batch "$B" --init "$tmp/init.st" \
        --order "$tmp/order.txt" --trace >"$tmp/torch.out" 2>&1 || exit 1
    echo "step  nngc (running mean loss)  PyTorch"
    # one progress line per update, and one more (the same) at each epoch's end
    sed -n 's/^epoch \([0-9]*\)\/[0-9]* *\([0-9.]*%\).* loss \([0-9.]*\) .*/\1 \2 \3/p' "$tmp/nngc.out" | uniq |
        cut -d' ' -f3 >"$tmp/a"
    grep -o 'mean [0-9.]*' "$tmp/torch.out" | cut -d' ' -f2 >"$tmp/b"
    paste "$tmp/a" "$tmp/b" | awk '{ n++; if ($1 != $2 && !d) d = n; if (n <= 10 || n % 50 == 0) print n, $1, $2 }
        END { print (d ? "first step that differs: " d : "all " n " steps agree") }'
    grep '^epoch [0-9]*/[0-9]*: train' "$tmp/nngc.out"
    grep '^epoch' "$tmp/torch.out"
    exit 0
fi
echo "## nngc train"
# --bucket 0: shuffled batches, as the PyTorch script makes them (BUCKET=5 for the default)
"$NNGC" train examples/rnnlm.nn --data "$train" --valid "$PTB/valid.txt" --epochs "$EPOCHS" \
    --batch "$B" --bucket "${BUCKET:-0}" --max-vocab 10000 --seed 1 -q || exit 1
if "$PY" -c 'import torch' 2>/dev/null; then
    echo "## PyTorch"
    "$PY" bench/rnnlm_torch_train.py "$train" "$PTB/valid.txt" --epochs "$EPOCHS" --batch "$B" --seed 1 || exit 1
else
    echo "## PyTorch: not installed (apt-get install python3-torch)"
fi
