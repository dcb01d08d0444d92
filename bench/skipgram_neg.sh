#!/bin/sh
# bench/skipgram_neg.sh - skip-gram with negative sampling: fastText against
# the compiled model (`nngc train --softmax=neg:k=5`), one epoch on a text
# file, words per second, in one script so that both see the same machine
# load (issues #10 and #12; docs/PERFORMANCE.md, "Softmax approximations:
# compiled skip-gram").
#
#   sh bench/skipgram_neg.sh [DATA]     (default ../shared/data/ptb/train.txt)
#
# Environment: NNGC (default build/nngc), FASTTEXT (default fasttext;
# Debian's `apt-get install fasttext`, not needed by make test), RUNS
# (rounds, default 3), THREADS (default "1 2": each round runs every
# configuration at each thread count).
#
# The configurations, run alternately, one after the other in each round
# (the load average is printed before each run):
#   fasttext      skipgram -dim 100 -ws 5 -neg 5 -epoch 1 -minCount 5
#                 -minn 0 -maxn 0 -bucket 0 -thread N (no subword n-grams;
#                 its defaults otherwise: lr 0.05 decaying linearly,
#                 subsampling -t 1e-4, window drawn from 1..5 per word)
#   fasttext-t1   the same with -t 1: no subsampling, as nngc trains
#   nngc-w5       bench/models/skipgram_w5.nn: dim 100, window 5 (ten
#                 contexts per word, fixed), --softmax=neg:k=5 --lr 0.05
#                 --decay linear --min-count 5, --threads N (hogwild)
#   nngc-w3       the same with window 3 (six contexts per word: fastText's
#                 average with -ws 5)
#   nngc-w5-s, nngc-w3-s   the same with --sample 1e-4 (fastText's default
#                 subsampling, the same formula): to compare with fastText's
#                 defaults (issue #12)
# words/s: fastText's own words/sec/thread (times N threads: per process),
# nngc's epoch summary; both count every token of the file read (fastText
# counts the tokens it discards by subsampling too). words/cpu-s: the
# file's tokens over the process's user + system CPU time (/usr/bin/time;
# nngc's includes compiling the model, about a second): on a shared
# machine the wall-clock rates move with the load, the CPU rates less.
# The loss is each program's mean per (word, context) pair: fastText's
# avg.loss, nngc's training loss per centre word over its contexts (both
# with 5 negatives; not the same lr schedule in detail).

set -u
cd "$(dirname "$0")/.." || exit 1
NNGC=${NNGC:-build/nngc}
FT=${FASTTEXT:-fasttext}
RUNS=${RUNS:-3}
THREADS=${THREADS:-1 2}
DATA=${1:-../shared/data/ptb/train.txt}
export OPENBLAS_NUM_THREADS=1

if [ ! -x "$NNGC" ]; then
    echo "skipgram_neg: $NNGC not found: run make first" >&2
    exit 1
fi
if [ ! -r "$DATA" ]; then
    echo "skipgram_neg: $DATA: no such file" >&2
    exit 1
fi
have_ft=1
command -v "$FT" >/dev/null 2>&1 || {
    echo "skipgram_neg: $FT not found (apt-get install fasttext): nngc only" >&2
    have_ft=0
}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# the window-3 model: skipgram_w5.nn without the contexts at distance 4 and 5
sed -e 's/skipgram_w5/skipgram_w3/; s/T + 10/T + 6/; s/for i in 5..T + 5/for i in 3..T + 3/' \
    -e '/i [-+] [45]\]/d' bench/models/skipgram_w5.nn >"$tmp/skipgram_w3.nn"

load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }

# fastText: the last words/sec/thread of its progress line, and avg.loss
run_ft() { # NAME THREADS EXTRA...
    name=$1 th=$2
    shift 2
    l=$(load)
    start=$(date +%s.%N)
    if ! /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$FT" skipgram -input "$DATA" -output "$tmp/ft" -dim 100 -ws 5 \
        -neg 5 -epoch 1 -minCount 5 -minn 0 -maxn 0 -bucket 0 -thread "$th" "$@" >"$tmp/ft.log" 2>&1; then
        echo "$name threads=$th: fasttext failed" >&2
        tail -3 "$tmp/ft.log" >&2
        return
    fi
    end=$(date +%s.%N)
    tr '\r' '\n' <"$tmp/ft.log" | awk -v name="$name" -v th="$th" -v l="$l" -v s="$start" -v e="$end" \
        -v cpu="$(cat "$tmp/cpu")" -v words="$WORDS" '
        /words\/sec\/thread/ { for (i = 1; i < NF; i++) { if ($i == "words/sec/thread:") w = $(i + 1);
                                                         if ($i == "avg.loss:") loss = $(i + 1) } }
        END { split(cpu, c, " ");
              printf "%-12s threads=%s load=%-5s words/s %7d  words/cpu-s %7d  wall %5.1f s  loss %s (per context)\n",
                     name, th, l, w * th, words / (c[1] + c[2]), e - s, loss }'
}

# nngc train: the epoch summary's words/s and train loss
run_nngc() { # NAME THREADS MODEL CONTEXTS [EXTRA...]
    name=$1 th=$2 model=$3 ctx=$4
    shift 4
    l=$(load)
    start=$(date +%s.%N)
    if ! /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$NNGC" train "$model" --data "$DATA" --epochs 1 --lr 0.05 \
        --decay linear --softmax=neg:k=5 --min-count 5 --threads "$th" "$@" -q >"$tmp/nngc.log" 2>&1; then
        echo "$name threads=$th: nngc train failed" >&2
        tail -3 "$tmp/nngc.log" >&2
        return
    fi
    end=$(date +%s.%N)
    awk -v name="$name" -v th="$th" -v l="$l" -v s="$start" -v e="$end" -v cpu="$(cat "$tmp/cpu")" \
        -v words="$WORDS" -v ctx="$ctx" '/^epoch 1\/1:/ {
            for (i = 1; i < NF; i++) { if ($(i + 1) == "words/s") w = $i; if ($i == "loss" && !loss) loss = $(i + 1) } }
        END { split(cpu, c, " ");
              printf "%-12s threads=%s load=%-5s words/s %7d  words/cpu-s %7d  wall %5.1f s  loss %.4f (per context)\n",
                     name, th, l, w, words / (c[1] + c[2]), e - s, loss / ctx }' "$tmp/nngc.log"
}

WORDS=$(wc -w <"$DATA")
echo "data: $DATA ($WORDS tokens, $(wc -l <"$DATA") lines); $(nproc) cores; $RUNS rounds"
for r in $(seq 1 "$RUNS"); do
    echo "-- round $r"
    for th in $THREADS; do
        [ "$have_ft" = 1 ] && run_ft fasttext "$th"
        run_nngc nngc-w5 "$th" bench/models/skipgram_w5.nn 10
        [ "$have_ft" = 1 ] && run_ft fasttext-t1 "$th" -t 1
        run_nngc nngc-w3 "$th" "$tmp/skipgram_w3.nn" 6
        run_nngc nngc-w5-s "$th" bench/models/skipgram_w5.nn 10 --sample 1e-4
        run_nngc nngc-w3-s "$th" "$tmp/skipgram_w3.nn" 6 --sample 1e-4
    done
done
