#!/bin/sh
# tests/batch/bench.sh - words/s of training examples/rnnlm.nn on PTB with
# one sentence per step (--batch 1), with --batch=B, and (when PyTorch is
# there) the same model hand-batched in PyTorch with batch B
# (bench/rnnlm_torch.py), all on one thread (tests/batch/bound.c times the
# parts that bound the ratio: docs/PERFORMANCE.md). Not part of make test: it
# takes ROUNDS x 3 x SECONDS; the machine's load is printed with the result.
#
#   sh tests/batch/bench.sh [SECONDS (60)] [B (32)] [TRAIN.txt (../shared/data/ptb/train.txt)] [V (10000)] [ROUNDS (1)]
#
# V other than 10000: the model with `dim V = V` (a smaller output layer).
# Sentences in file order, each T + 1 ids (<eos> first and last: T words to
# predict), at most 100 steps; the vocabulary is the file's most frequent
# words, <eos> and <unk> (V - 2 words). The runs alternate (B=1, B, torch,
# then again ROUNDS times), so that a change in the machine's load hits
# them alike. Each prints "B words/s steps loss/word words/cpu-s" (torch:
# "torch B ..."); words per CPU second (the process's own CPU time) move
# less with other jobs on the machine than words per wall second. The
# last lines are the ratios of the medians: B vs 1, and nngc B vs torch B.
#
# The generated C is compiled as nngc run and nngc train compile it:
# ${NNGC_CC:-clang (else cc)} -O2 -march=native. Environment: NNGC
# (build/nngc), TORCH_PYTHON (python3 if it imports torch, else
# /usr/bin/python3; no torch: the torch runs are left out).
cd "$(dirname "$0")/../.." || exit 1
SECS=${1:-60} B=${2:-32} DATA=${3:-../shared/data/ptb/train.txt} V=${4:-10000} ROUNDS=${5:-1}
NNGC=${NNGC:-build/nngc}
CC=${NNGC_CC:-$(command -v clang >/dev/null && echo clang || echo cc)}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
sed "s/^dim V = 10000$/dim V = $V/" examples/rnnlm.nn >"$tmp/rnnlm.nn"
python3 - "$DATA" "$tmp/ids.bin" "$V" <<'PY' || exit 1
import collections, struct, sys
lines = [l.split() for l in open(sys.argv[1])]
count = collections.Counter(w for l in lines for w in l)
vocab = {w: i + 2 for i, (w, _) in enumerate(count.most_common(int(sys.argv[3]) - 2))}  # 0 <eos>, 1 <unk>
out = []
for l in lines:
    if 1 <= len(l) <= 99:
        ids = [0] + [vocab.get(w, 1) for w in l] + [0]
        out.append(struct.pack("<%di" % (len(ids) + 1), len(ids) - 1, *ids))
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<i", len(out)) + b"".join(out))
PY
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
export OPENBLAS_NUM_THREADS=1
for b in 1 "$B"; do
    mkdir -p "$tmp/b$b"
    if [ "$b" = 1 ]; then batch=; else batch=--batch=$b; fi
    "$NNGC" "$tmp/rnnlm.nn" $batch -o "$tmp/b$b/rnnlm.c" || exit 1
    $CC -std=c11 -O2 -march=native -DBATCH="$b" -Iruntime -I"$tmp/b$b" -o "$tmp/b$b/bench" tests/batch/bench.c \
        "$tmp/b$b/rnnlm.c" build/libnngrt.a $BLAS -lm -lpthread || exit 1
done
TORCH_PYTHON=${TORCH_PYTHON:-$(python3 -c 'import torch' 2>/dev/null && echo python3 || echo /usr/bin/python3)}
"$TORCH_PYTHON" -c 'import torch' 2>/dev/null || TORCH_PYTHON=
[ -n "$TORCH_PYTHON" ] || echo "(no PyTorch: the torch runs are left out)"
echo "cc: $CC -O2 -march=native; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
r=0
while [ $r -lt "$ROUNDS" ]; do
    for b in 1 "$B"; do "$tmp/b$b/bench" "$tmp/ids.bin" "$SECS" | tee -a "$tmp/runs" || exit 1; done
    if [ -n "$TORCH_PYTHON" ]; then "$TORCH_PYTHON" bench/rnnlm_torch.py "$tmp/ids.bin" "$SECS" "$B" "$V" | tee -a "$tmp/runs" || exit 1; fi
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    r=$((r + 1))
done
python3 - "$tmp/runs" "$B" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    key = "torch" if f[0] == "torch" else f[0]
    runs.setdefault(key, []).append((float(f[-4]), float(f[-1])))  # words/s, words/cpu-s
med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
b = sys.argv[2]
def ratio(x, y, what):
    if x in med and y in med:
        print("%s: %.2fx words/s, %.2fx words/cpu-s (medians of %d runs)" %
              (what, med[x][0] / med[y][0], med[x][1] / med[y][1], len(runs[x])))
ratio(b, "1", "nngc --batch=%s vs --batch 1" % b)
ratio(b, "torch", "nngc --batch=%s vs PyTorch batch %s" % (b, b))
PY
