#!/bin/sh
# bench/skipgram.sh - skip-gram on one thread: nngc train against fastText
# and gensim, negative sampling and the hierarchical softmax, words per
# CPU second and the ratios, then the quality of the vectors (issue #10,
# "Speed"; docs/PERFORMANCE.md, "Skip-gram against fastText and gensim").
#
#   sh bench/skipgram.sh [DATA]     (default ../shared/data/ptb/train.txt)
#
# Environment: NNGC (build/nngc), FASTTEXT (fasttext; `apt-get install
# fasttext`), GENSIM_PYTHON (python3; a Python with `pip install gensim`),
# METHODS ("neg hier"), EPOCHS (1), LR (0.025), QUALITY (1: evaluate the
# vectors when gensim is there; 0: speed only). A program that is missing
# is left out with a note. None of this is needed by make test.
#
# Settings, the same for all (issue #10): dim 128, window 5, 5 negatives or
# the hierarchical softmax, no subsampling, EPOCHS epochs, lr LR decaying
# linearly to 0, one thread:
#   nngc-w5   nngc train on bench/models/skipgram_w5.nn at dim 128 (ten
#             contexts per word, every word), --softmax=neg:k=5 or hier,
#             --min-count 5 (as fastText and gensim; ids past the vocabulary
#             stay untrained)
#   nngc-w3   the same at window 3: six contexts per word, the average
#             work of fastText's and gensim's window 5, which draw each
#             word's window from 1..5
#   nngc-w3r  nngc-w3 as word2vec.c and gensim compute it: each context
#             word's vector predicts the centre word
#             (bench/skipgram_rev_w5.nn at window 3)
#   fasttext  skipgram -maxn 0 -t 1 -dim 128 -ws 5 -neg 5 -thread 1 (or
#             -loss hs), -epoch EPOCHS -lr LR (its minCount 5)
#   gensim    Word2Vec(sg=1, negative=5 or hs=1, sample=0, workers=1,
#             vector_size=128, window=5, min_count=5, alpha=LR)
#             (bench/skipgram_gensim.py)
# words/cpu-s: the file's tokens x epochs over the CPU time of training:
# nngc's user + system time less that of compiling the model (a run on a
# one-line file), fastText's whole process (reading the file included),
# gensim's process time during train() (its two threads). words/s: the
# same over wall time. The CPU rates are the ones to compare on a shared
# machine; the load average is printed with each run.
# Quality: Spearman's rho of gensim's evaluate_word_pairs on WordSim-353
# and SimLex-999 (bench/skipgram_gensim.py eval) for each program's vectors
# (nngc: --export Ww=FILE, the word vectors; fastText: its .vec).

set -u
cd "$(dirname "$0")/.." || exit 1
NNGC=${NNGC:-build/nngc}
FT=${FASTTEXT:-fasttext}
PY=${GENSIM_PYTHON:-python3}
METHODS=${METHODS:-neg hier}
EPOCHS=${EPOCHS:-1}
LR=${LR:-0.025}
QUALITY=${QUALITY:-1}
DATA=${1:-../shared/data/ptb/train.txt}
export OPENBLAS_NUM_THREADS=1

[ -x "$NNGC" ] || { echo "skipgram: $NNGC not found: run make first" >&2; exit 1; }
[ -r "$DATA" ] || { echo "skipgram: $DATA: no such file" >&2; exit 1; }
have_ft=1 have_gs=1
command -v "$FT" >/dev/null 2>&1 || { echo "skipgram: $FT not found (apt-get install fasttext): left out" >&2; have_ft=0; }
"$PY" -c "import gensim" 2>/dev/null || { echo "skipgram: no gensim in $PY (pip install gensim): left out" >&2; have_gs=0; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

sed -e 's/dim D = 100/dim D = 128/' bench/models/skipgram_w5.nn >"$tmp/w5.nn"
sed -e 's/skipgram_w5/skipgram_w3/; s/T + 10/T + 6/; s/for i in 5..T + 5/for i in 3..T + 3/' \
    -e '/i [-+] [45]\]/d' "$tmp/w5.nn" >"$tmp/w3.nn"
sed -e 's/dim D = 100/dim D = 128/; s/skipgram_rev_w5/skipgram_rev_w3/; s/T + 10/T + 6/; s/for i in 5..T + 5/for i in 3..T + 3/' \
    -e '/i [-+] [45]\]/d' bench/models/skipgram_rev_w5.nn >"$tmp/w3r.nn"
head -n 1 "$DATA" >"$tmp/one.txt"
WORDS=$(($(wc -w <"$DATA") * EPOCHS))
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }
cpu_of() { awk '{ printf "%.3f", $1 + $2 }' "$1"; }

# row NAME METHOD CPU WALL: one line of the table, the rates kept in $tmp/rate.NAME.METHOD
row() {
    echo "$3" >"$tmp/rate.$1.$2"
    awk -v n="$1" -v m="$2" -v c="$3" -v w="$4" -v words="$WORDS" -v l="$5" \
        'BEGIN { printf "%-9s %-5s words/cpu-s %8.0f  words/s %8.0f  cpu %7.2f s  wall %7.2f s  load %s\n",
                 n, m, words / c, words / w, c, w, l }'
}

nngc_run() { # NAME MODEL METHOD SOFTMAX
    name=$1 model=$2 m=$3 sm=$4
    /usr/bin/time -f "%U %S" -o "$tmp/cpu0" "$NNGC" train "$model" --data "$tmp/one.txt" --epochs 1 \
        --softmax="$sm" -q >/dev/null 2>&1
    l=$(load)
    s=$(date +%s.%N)
    if ! /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$NNGC" train "$model" --data "$DATA" --epochs "$EPOCHS" --lr "$LR" \
        --decay linear --softmax="$sm" --min-count 5 --export Ww="$tmp/$name.$m.vec" -q >"$tmp/log" 2>&1; then
        echo "$name $m: nngc train failed" >&2
        tail -3 "$tmp/log" >&2
        return
    fi
    e=$(date +%s.%N)
    row "$name" "$m" "$(awk -v a="$(cpu_of "$tmp/cpu")" -v b="$(cpu_of "$tmp/cpu0")" 'BEGIN { print a - b }')" \
        "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')" "$l"
}

ft_run() { # METHOD ARGS...
    m=$1
    shift
    l=$(load)
    s=$(date +%s.%N)
    if ! /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$FT" skipgram -input "$DATA" -output "$tmp/fasttext.$m" -maxn 0 \
        -t 1 -dim 128 -ws 5 -thread 1 -epoch "$EPOCHS" -lr "$LR" "$@" >"$tmp/log" 2>&1; then
        echo "fasttext $m: failed" >&2
        tail -3 "$tmp/log" >&2
        return
    fi
    e=$(date +%s.%N)
    row fasttext "$m" "$(cpu_of "$tmp/cpu")" "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')" "$l"
}

gs_run() { # METHOD neg|hs
    l=$(load)
    if ! "$PY" bench/skipgram_gensim.py train "$DATA" "$2" "$tmp/gensim.$1.vec" "$EPOCHS" "$LR" 1 >"$tmp/log" 2>&1; then
        echo "gensim $1: failed" >&2
        tail -3 "$tmp/log" >&2
        return
    fi
    set -- "$1" $(cat "$tmp/log")
    row gensim "$1" "$5" "$7" "$l"
}

echo "data: $DATA ($WORDS tokens x epochs, $(wc -l <"$DATA") lines), $EPOCHS epoch(s), lr $LR; $(nproc) cores"
for m in $METHODS; do
    case $m in
    neg) sm=neg:k=5 ftarg="-neg 5" gsarg=neg ;;
    hier) sm=hier ftarg="-loss hs" gsarg=hs ;;
    *) echo "skipgram: METHODS: neg or hier, not $m" >&2; exit 1 ;;
    esac
    nngc_run nngc-w5 "$tmp/w5.nn" "$m" "$sm"
    nngc_run nngc-w3 "$tmp/w3.nn" "$m" "$sm"
    nngc_run nngc-w3r "$tmp/w3r.nn" "$m" "$sm"
    # shellcheck disable=SC2086
    [ "$have_ft" = 1 ] && ft_run "$m" $ftarg
    [ "$have_gs" = 1 ] && gs_run "$m" "$gsarg"
done

echo
echo "ratios (words per CPU second; goal: nngc >= 1.5x fastText and >= gensim)"
for m in $METHODS; do
    for n in nngc-w5 nngc-w3 nngc-w3r; do
        [ -r "$tmp/rate.$n.$m" ] || continue
        for o in fasttext gensim; do
            [ -r "$tmp/rate.$o.$m" ] || continue
            awk -v n="$n" -v o="$o" -v m="$m" -v a="$(cat "$tmp/rate.$n.$m")" -v b="$(cat "$tmp/rate.$o.$m")" \
                'BEGIN { printf "%-9s / %-9s %-5s %5.2fx\n", n, o, m, b / a }'
        done
    done
done

if [ "$QUALITY" = 1 ] && [ "$have_gs" = 1 ]; then
    echo
    echo "quality (Spearman rho; oov%: pairs left out)"
    for m in $METHODS; do
        for n in nngc-w5 nngc-w3 nngc-w3r fasttext gensim; do
            f=$tmp/$n.$m.vec
            [ -r "$f" ] || continue
            printf '%-9s %-5s %s\n' "$n" "$m" "$("$PY" bench/skipgram_gensim.py eval "$f" 2>&1 | tail -1)"
        done
    done
fi
