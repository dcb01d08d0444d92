#!/bin/sh
# tests/batch/bench.sh - words/s of training examples/rnnlm.nn on PTB with
# one sentence per step and with --batch=B (not part of make test: it
# takes 2 x SECONDS; the machine's load is printed with the result).
#
#   sh tests/batch/bench.sh [SECONDS (60)] [B (32)] [TRAIN.txt (../shared/data/ptb/train.txt)] [V (10000)]
#
# V other than 10000: the model with `dim V = V` (a smaller output layer,
# whose GEMMs the program as written already batches over time).
# Sentences in file order, each T + 1 ids (<eos> first and last: T words to
# predict), at most 100 steps; the vocabulary is the file's 9999 most
# frequent words and <unk> (V - 2 of them). Prints "B words/s steps loss/word" per run.
cd "$(dirname "$0")/../.." || exit 1
SECS=${1:-60} B=${2:-32} DATA=${3:-../shared/data/ptb/train.txt} V=${4:-10000}
NNGC=${NNGC:-build/nngc}
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
    cc -O2 -DBATCH="$b" -Iruntime -I"$tmp/b$b" -o "$tmp/b$b/bench" tests/batch/bench.c "$tmp/b$b/rnnlm.c" \
        build/libnngrt.a $BLAS -lm -lpthread || exit 1
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for b in 1 "$B"; do "$tmp/b$b/bench" "$tmp/ids.bin" "$SECS" || exit 1; done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
