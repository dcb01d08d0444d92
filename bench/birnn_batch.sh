#!/bin/sh
# bench/birnn_batch.sh - training bench/models/birnn.nn (a bidirectional RNN
# tagger: its second recurrence reads the sentence right to left,
# words[T - 1 - t]) with `nngc train`: one example per step (--batch 1),
# the batched program (--batch B: the compiler's vectorize stage, each
# example's T its own), and the path --batch took before the batched
# program read a row at a per-example index (--batch B --one-example: B
# one-example gradients summed). Sentences of PTB's train.txt as ids (the
# file's most frequent V - 1 words, 0 for the rest), at most 100 words;
# tags: id % 50 (a tagging task of the model's size, no tagged corpus
# needed). The modes alternate ROUNDS times, so that a change in the
# machine's load hits them alike; each prints the loss and sentences/s `nngc
# train` reports for its epoch, words/s (sentences/s x mean length), and
# the CPU seconds of the whole process (compiling included: with
# NNGC_CACHE_DIR set, the second round reuses the compiled programs),
# which moves less than wall time with other jobs on the machine. Not part of make test.
# MODEL=bench/models/attn.nn runs the same on the self-attention tagger
# (products of two per-example matrices: the batched program's
# batch_matmul; --one-example is the path it took before).
#
#   sh bench/birnn_batch.sh [N sentences (3000)] [B (32)] [ROUNDS (2)] [TRAIN.txt (../shared/data/ptb/train.txt)]
#
# Environment: NNGC (build/nngc), MODEL (bench/models/birnn.nn). Needs python3 (no NumPy).
cd "$(dirname "$0")/.." || exit 1
N=${1:-3000} B=${2:-32} ROUNDS=${3:-2} DATA=${4:-../shared/data/ptb/train.txt}
NNGC=${NNGC:-build/nngc} MODEL=${MODEL:-bench/models/birnn.nn}
[ -f "$DATA" ] || { echo "birnn_batch.sh: no $DATA (PTB is read from ../shared/data)" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 - "$DATA" "$N" "$tmp" <<'PY' || exit 1
import sys
from collections import Counter
sys.path.insert(0, "tests")
from npyio import write_npy
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l.split()[:100] for l in open(path) if l.split()][:n]
freq = Counter(w for l in lines for w in l)
ids = {w: i + 1 for i, (w, _) in enumerate(freq.most_common(9999))}
T = 100  # the model's T max: every example padded to it
words, tags = [], []
for l in lines:
    row = [ids.get(w, 0) for w in l] + [0] * (T - len(l))
    words += row
    tags += [i % 50 for i in row]
write_npy(out + "/words.npy", "i", [len(lines), T], words)
write_npy(out + "/tags.npy", "i", [len(lines), T], tags)
write_npy(out + "/len.npy", "i", [len(lines)], [len(l) for l in lines])
nw = sum(len(l) for l in lines)
open(out + "/mean", "w").write("%.4f\n" % (nw / len(lines)))
print("birnn_batch: %d sentences, %d words" % (len(lines), nw))
PY
timer=""   # (Debian's package time; without it, no CPU seconds)
[ -x /usr/bin/time ] && timer="/usr/bin/time -f cpu_%U_%S"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
r=1
while [ $r -le "$ROUNDS" ]; do
    for mode in "--batch 1" "--batch $B" "--batch $B --one-example"; do
        # shellcheck disable=SC2086
        OPENBLAS_NUM_THREADS=1 $timer "$NNGC" train "$MODEL" \
            --data words="$tmp/words.npy" --data tags="$tmp/tags.npy" --lengths "$tmp/len.npy" --epochs 1 --seed 1 \
            $mode >"$tmp/out" 2>&1
        cpu=$(sed -n 's/^cpu_\([0-9.]*\)_\([0-9.]*\)$/\1 \2/p' "$tmp/out" | awk '{ print $1 + $2 }')
        w=$(sed -n 's/^epoch 1\/1: train loss \([0-9.]*\) .* | \([0-9.]*\) ex\/s .*/\1 \2/p' "$tmp/out")
        # shellcheck disable=SC2086
        set -- $w
        if [ $# -eq 2 ]; then
            echo "round $r  $mode: loss/sentence $1  sentences/s $2  words/s $(awk -v e="$2" -v m="$(cat "$tmp/mean")" 'BEGIN { printf "%.0f", e * m }')  process CPU s ${cpu:-?}"
        else
            echo "round $r  $mode: failed"
        fi
    done
    r=$((r + 1))
done
