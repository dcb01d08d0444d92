#!/bin/sh
# tests/subsample/run.sh - `nngc train --sample t`, word2vec's subsampling
# of frequent words (compiler/driver/train_sub.c, docs/TRAIN.md).
#
#   sh tests/subsample/run.sh     (uses build/nngc and awk)
#
#   1. formula   on examples/data/tiny.txt, each epoch's count of kept
#                words (the epoch line's "kept N of M words") against
#                sum_w count(w) keep(w), keep(w) = min(1, (sqrt(f/t) + 1) t/f),
#                f = count(w) / tokens, computed here by awk from the file
#                itself: within 4 binomial standard deviations
#                (sqrt(sum_w count(w) keep(w) (1 - keep(w)))), t = 1e-3 and
#                1e-2, three epochs each and their sum (a keep 5% too high
#                fails it)
#   2. seed      the same --seed twice: the same kept counts and the same
#                trained params bit for bit; another seed: other counts;
#                --threads 2 (hogwild): the same counts as one thread (the
#                draws are a function of seed, epoch and line)
#   3. off       --sample 1 keeps every word of tiny.txt (keep >= 1 when
#                f <= 2.6 t): the params of a run without --sample, bit for
#                bit; --sample 0 is off
#   4. eval      the trainer's validation loss (every word) equals `nngc
#                eval`'s on the checkpoint; nngc eval has no --sample
#   5. errors    --sample -1, --sample x, --sample with --batch, with .npy data
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
M=tests/traincli/models/sg.nn
TINY=examples/data/tiny.txt
VALID=examples/data/tiny-valid.txt
TMO=${SUBSAMPLE_TIMEOUT:-300}
export OPENBLAS_NUM_THREADS=1

. tests/lib.sh
need_tools subsample "$NNGC"
make_tmp subsample

# train NAME ARGS...: nngc train on tiny.txt, output in $tmp/NAME.log
train() {
    name=$1
    shift
    timeout "$TMO" "$NNGC" train $M --data $TINY --epochs 3 --min-count 1 --progress 1000 "$@" >"$tmp/$name.log" 2>&1
}
# kept NAME: the kept counts of each epoch, one a line
kept() { sed -n 's/^epoch [0-9]*\/[0-9]*: .*(kept \([0-9]*\) of \([0-9]*\) words.*/\1 \2/p' "$tmp/$1.log"; }

# 1. the kept fraction against the formula
for t in 1e-3 1e-2; do
    if ! train "f$t" --sample $t --export Ww="$tmp/f$t.npy"; then
        notok "formula t=$t: nngc train"
        detail "$tmp/f$t.log" 10
        continue
    fi
    kept "f$t" >"$tmp/f$t.kept"
    awk -v t="$t" -v keptfile="$tmp/f$t.kept" '
        { for (i = 1; i <= NF; i++) { c[$i]++; total++ } }
        END {
            for (w in c) {
                f = c[w] / total
                p = (sqrt(f / t) + 1) * t / f
                if (p > 1) p = 1
                e += c[w] * p; v += c[w] * p * (1 - p)
            }
            sd = sqrt(v); n = 0; bad = 0
            while ((getline line < keptfile) > 0) {
                split(line, a, " "); n++
                dev = (a[1] - e) / sd
                printf "#   epoch %d: kept %d of %d, expected %.1f (sd %.1f, %+.2f sd)\n", n, a[1], a[2], e, sd, dev
                if (a[2] != total || dev > 4 || dev < -4) bad = 1
                sum += a[1]
            }
            dev = (sum - n * e) / (sd * sqrt(n))
            printf "#   all %d epochs: kept %d, expected %.1f (%+.2f sd)\n", n, sum, n * e, dev
            if (n != 3 || e > 0.9 * total || dev > 4 || dev < -4) bad = 1
            exit bad
        }' $TINY >"$tmp/f.out"
    if [ $? -eq 0 ]; then ok "formula t=$t: kept words within 4 sd of the expectation"; else
        notok "formula t=$t: kept words within 4 sd of the expectation"; detail "$tmp/f.out" 6; fi
done

# 2. determinism
train s1 --sample 1e-3 --seed 7 --export Ww="$tmp/s1.npy" &&
    train s2 --sample 1e-3 --seed 7 --export Ww="$tmp/s2.npy" &&
    train s3 --sample 1e-3 --seed 8 &&
    train s4 --sample 1e-3 --seed 7 --threads 2 --parallel=hogwild
if [ $? -ne 0 ]; then
    notok "seed: nngc train"
    detail "$tmp/s4.log" 10
else
    if [ -n "$(kept s1)" ] && [ "$(kept s1)" = "$(kept s2)" ] && cmp -s "$tmp/s1.npy" "$tmp/s2.npy"; then
        ok "seed: the same seed keeps the same words and trains the same params"
    else notok "seed: the same seed keeps the same words and trains the same params"; fi
    if [ "$(kept s1)" != "$(kept s3)" ]; then ok "seed: another seed keeps other words"; else
        notok "seed: another seed keeps other words"; fi
    if [ "$(kept s1)" = "$(kept s4)" ]; then ok "seed: two hogwild threads keep the words of one thread"; else
        notok "seed: two hogwild threads keep the words of one thread"; kept s1; kept s4; fi
fi

# 3. --sample 1 keeps everything; --sample 0 is off
train all --sample 1 --export Ww="$tmp/all.npy" && train none --export Ww="$tmp/none.npy" &&
    train zero --sample 0 --export Ww="$tmp/zero.npy"
if [ $? -eq 0 ] && cmp -s "$tmp/all.npy" "$tmp/none.npy" && cmp -s "$tmp/zero.npy" "$tmp/none.npy" &&
    grep -q "kept 4486 of 4486 words" "$tmp/all.log" && ! grep -q "kept" "$tmp/zero.log"; then
    ok "off: --sample 1 keeps every word (the params without --sample), --sample 0 is off"
else
    notok "off: --sample 1 keeps every word (the params without --sample), --sample 0 is off"
    detail "$tmp/all.log" 4
fi

# 4. validation and nngc eval read every word
if train v --sample 1e-3 --valid $VALID --save "$tmp/v.st" &&
    timeout "$TMO" "$NNGC" eval $M --params "$tmp/v.st" --data $VALID >"$tmp/e.log" 2>&1; then
    tl=$(sed -n 's/^epoch 3\/3: .*| valid loss \([0-9.]*\).*/\1/p' "$tmp/v.log")
    el=$(sed -n 's/^loss per word \([0-9.]*\).*/\1/p' "$tmp/e.log" | head -1)
    if [ -n "$tl" ] && [ -n "$el" ] && [ "$tl" = "$(printf '%.4f' "$el")" ]; then ok "eval: validation and nngc eval read every word ($tl)"; else
        notok "eval: validation and nngc eval read every word (train '$tl', eval '$el')"; detail "$tmp/e.log"; fi
else
    notok "eval: nngc train --valid / nngc eval"
    detail "$tmp/v.log" 6
    detail "$tmp/e.log" 6
fi
if timeout "$TMO" "$NNGC" eval $M --params "$tmp/v.st" --data $VALID --sample 1e-3 >"$tmp/e2.log" 2>&1; then
    notok "eval: --sample is not an option of nngc eval"
else ok "eval: --sample is not an option of nngc eval"; fi

# 5. errors: a message naming the option, exit status non-zero
err() { # NAME PATTERN ARGS...
    name=$1 pat=$2
    shift 2
    if timeout "$TMO" "$NNGC" train $M "$@" >"$tmp/err.log" 2>&1; then
        notok "errors: $name (succeeded)"
    elif grep -q -- "$pat" "$tmp/err.log" && ! grep -q "Sanitizer\|core dumped" "$tmp/err.log"; then
        ok "errors: $name"
    else notok "errors: $name"; detail "$tmp/err.log"; fi
}
err "--sample -1" "--sample: expected a positive number" --data $TINY --sample -1
err "--sample x" "--sample: expected a positive number" --data $TINY --sample x
err "--sample with --batch" "--sample: not with --batch" --data $TINY --sample 1e-3 --batch 4
python3 -c '
import struct, sys
def npy(path, shape, vals):
    h = "{\x27descr\x27: \x27<i4\x27, \x27fortran_order\x27: False, \x27shape\x27: %s, }" % (shape,)
    h += " " * (63 - (10 + len(h)) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%di" % len(vals), *vals))
npy(sys.argv[1], (1, 44), [2] * 44)
npy(sys.argv[2], (1,), [3])' "$tmp/sent.npy" "$tmp/len.npy"
err "--sample with .npy data" "--sample: subsampling drops words of text lines" --data sent="$tmp/sent.npy" \
    --lengths "$tmp/len.npy" --sample 1e-3

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
