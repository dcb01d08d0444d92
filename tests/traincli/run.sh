#!/bin/sh
# tests/traincli/run.sh - `nngc train` and `nngc eval` end to end, on the
# shipped corpus examples/data/tiny.txt (docs/TRAIN.md).
#
#   sh tests/traincli/run.sh       (uses build/nngc, build/libnngrt.a, a C compiler)
#
# Models: tests/traincli/models/ (lm: an RNN LM, sg: skip-gram, clf: a
# fastText-style classifier, all with V = 128 for tiny.txt's 125 ids) and
# examples/classifier.nn for .npy data. Data: the first 320 lines of tiny.txt
# to train, the last 80 to validate; tests/traincli/data/labels.txt is
# tiny.txt with a __label__ per line (see its README).
#
#   1. vocab     the vocabulary saved with a checkpoint, for a small file
#                whose ids and counts are worked out by hand below
#   2. learn     the initial validation loss of each model is ln(V) (random
#                params: logits near 0; computed here by awk), and training
#                lowers it well below; eval of the checkpoint agrees
#   3. resume    2 epochs == 1 epoch, stop, resume 1 epoch: same bytes (Adam
#                with its state; SGD with the linear lr decay); another
#                seed differs (the check can fail)
#   4. classify  the text classifier reaches > 90% validation accuracy
#   5. npy       examples/classifier.nn on .npy arrays; the LM on a ragged
#                .npy (padded rows + lengths) scores as on the text
#   6. malformed empty lines, long lines, bad UTF-8, missing label, a
#                vocabulary over V, a NUL in a vocabulary file: a message
#                with file:line, never a crash
#   7. options   --batch 0, --clip, --patience without --valid; --export;
#                --patience, --decay plateau, the progress lines
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
RTLIB=${RTLIB:-$(dirname "$NNGC")/libnngrt.a}
CC=${CC:-cc}
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
M=tests/traincli/models
TINY=examples/data/tiny.txt
TMO=300

. tests/lib.sh
make_tmp traincli
need_tools traincli "$NNGC"

# run NAME EXPECT CMD...: runs CMD (output in $tmp/out); ok when its exit
# status is EXPECT (0, 1 or 2) and it did not crash.
run() {
    name=$1 want=$2
    shift 2
    timeout $TMO "$@" >"$tmp/out" 2>&1
    st=$?
    if [ "$st" -eq "$want" ]; then
        ok "$name"
        return 0
    fi
    notok "$name ($(status_text $st), expected $want)"
    detail "$tmp/out" 12
    return 1
}
# has NAME PATTERN: ok when $tmp/out has a line matching PATTERN (grep -E)
has() {
    if grep -E -q -- "$2" "$tmp/out"; then ok "$1"; else notok "$1: no line matching '$2'"; detail "$tmp/out" 12; fi
}
# near NAME X Y TOL: ok when |X - Y| <= TOL
near() {
    if awk -v x="$2" -v y="$3" -v t="$4" 'BEGIN { d = x - y; if (d < 0) d = -d; exit !(x != "" && d <= t) }'; then
        ok "$1"
    else
        notok "$1: $2 vs $3 (tolerance $4)"
    fi
}
# less NAME X Y: ok when X < Y
less() {
    if awk -v x="$2" -v y="$3" 'BEGIN { exit !(x != "" && y != "" && x + 0 < y + 0) }'; then ok "$1"; else notok "$1: $2 is not below $3"; fi
}
# valid_loss WHICH: the valid loss on the "epoch 0" (initial) or best line of $tmp/out
initial_loss() { sed -n 's/^epoch 0\/[0-9]*: valid loss \([0-9.]*\).*/\1/p' "$tmp/out"; }
best_loss() { sed -n 's/.*| valid loss \([0-9.]*\).*(best).*/\1/p' "$tmp/out" | tail -n 1; }

head -n 320 "$TINY" >"$tmp/train.txt"
tail -n 80 "$TINY" >"$tmp/valid.txt"
LNV=$(awk 'BEGIN { printf "%.4f", log(128) }')

# ---------------------------------------------------------------- 1: vocab
# counts: the 4, a 3, cat 2, dog 2, sat 1, ran 1; first occurrence: the a cat
# sat dog ran; 4 lines with words (one empty line)
printf 'the cat sat\n\na dog ran the a\nthe dog the\na cat\n' >"$tmp/v.txt"
run "vocab: train on a small file" 0 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 --save "$tmp/v.st" -q
printf 'nngc-vocab 1 words 8 labels 0\n<s>\t4\n<unk>\t0\nthe\t4\na\t3\ncat\t2\ndog\t2\nsat\t1\nran\t1\n' >"$tmp/v.want"
if cmp -s "$tmp/v.st.vocab" "$tmp/v.want"; then ok "vocab: ids by count, ties by first occurrence, counts"; else
    notok "vocab: ids by count, ties by first occurrence, counts"; detail "$tmp/v.st.vocab" 10; fi
run "vocab: the note on the data" 0 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 --progress 100 &&
    has "... its counts, and no labels for text without any" "v\.txt: 5 lines, 13 words, vocabulary 8 \(of 6 distinct, min count 1\)\$"
run "vocab: --min-count 2" 0 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 --min-count 2 --save "$tmp/v2.st" -q
printf 'nngc-vocab 1 words 6 labels 0\n<s>\t4\n<unk>\t2\nthe\t4\na\t3\ncat\t2\ndog\t2\n' >"$tmp/v.want"
if cmp -s "$tmp/v2.st.vocab" "$tmp/v.want"; then ok "vocab: words under --min-count counted as <unk>"; else
    notok "vocab: words under --min-count counted as <unk>"; detail "$tmp/v2.st.vocab" 10; fi

# ---------------------------------------------------------------- 2: learn
run "lm: train 3 epochs" 0 "$NNGC" train $M/lm.nn --data "$tmp/train.txt" --valid "$tmp/valid.txt" --epochs 3 \
    --save "$tmp/lm.st" -q && {
    near "lm: initial valid loss is ln(V) = $LNV" "$(initial_loss)" "$LNV" 0.05
    lm_best=$(best_loss)
    less "lm: best valid loss $lm_best < 0.6 ln(V)" "$lm_best" "$(awk -v l="$LNV" 'BEGIN { print 0.6 * l }')"
    if grep -q "warning" "$tmp/out"; then notok "lm: no warning when it learns"; detail "$tmp/out"; else
        ok "lm: no warning when it learns"; fi
}
# an lr that diverges: the first epoch is the best of the epochs, and far
# worse than before training: said once (it was marked "(best)" alone)
run "lm: a diverging lr trains to the end" 0 "$NNGC" train $M/lm.nn --data "$tmp/train.txt" --valid "$tmp/valid.txt" \
    --epochs 3 --lr 1000 -q && {
    has "... with a warning that it got worse than before training" \
        "^nngc: warning: epoch 1: valid loss [0-9.]+, worse than before training \(4\.[0-9]+\): diverging or overfitting"
    if [ "$(grep -c warning "$tmp/out")" -eq 1 ]; then ok "... once"; else notok "... once"; detail "$tmp/out"; fi
}
run "lm: eval the checkpoint" 0 "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --data "$tmp/valid.txt" &&
    near "lm: eval's loss per word == train's best valid loss" \
        "$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")" "$lm_best" 0.0001
cp "$tmp/lm.st" "$tmp/novocab.st"
run "lm: eval of params without CKPT.vocab: error" 1 "$NNGC" eval $M/lm.nn --params "$tmp/novocab.st" \
    --data "$tmp/valid.txt" && has "... that says where the vocabulary comes from" \
    "novocab\.st\.vocab: No such file or directory: text data is read with the vocabulary .* or --vocab FILE"
# a --vocab that is not the checkpoint's own (CKPT.vocab beside it): the
# ids name other words, said (was silent); a copy of it is no other one
cp "$tmp/lm.st.vocab" "$tmp/lmcopy.vocab"
run "lm: eval with a copy of CKPT.vocab as --vocab" 0 "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" \
    --vocab "$tmp/lmcopy.vocab" --data "$tmp/valid.txt" &&
    if grep -q warning "$tmp/out"; then notok "... no warning"; detail "$tmp/out"; else ok "... no warning"; fi
"$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --vocab "$tmp/v.st.vocab" --data "$tmp/valid.txt" >"$tmp/out" 2>&1
has "lm: eval with another corpus's --vocab beside --params: a warning naming the first id that differs" \
    "^nngc: warning: the vocabulary .*/v\.st\.vocab is not the one .*/lm\.st was trained with \(.*/lm\.st\.vocab\): id [0-9]+ is '.*' here, '.*' there; the ids name other words"
run "lm: train --params with another --vocab: a warning too" 0 "$NNGC" train $M/lm.nn --params "$tmp/lm.st" \
    --vocab "$tmp/v.st.vocab" --data "$tmp/v.txt" --epochs 4 -q &&
    has "... the same" "^nngc: warning: the vocabulary .*/v\.st\.vocab is not the one .*/lm\.st was trained with"
run "lm: eval with seeded params (no training)" 0 "$NNGC" eval $M/lm.nn --vocab "$tmp/lm.st.vocab" \
    --data "$tmp/valid.txt" --seed 3 &&
    near "lm: eval untrained == ln(V)" "$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")" "$LNV" 0.05
has "lm: eval counts the predicted words (80 lines: words + </s>)" \
    "^$tmp/valid.txt: 80 examples, $(wc -w <"$tmp/valid.txt" | tr -d ' ') words, $(($(wc -w <"$tmp/valid.txt") + 80)) predicted"

run "sg: train 2 epochs, linear decay" 0 "$NNGC" train $M/sg.nn --data "$tmp/train.txt" --valid "$tmp/valid.txt" \
    --epochs 2 --decay linear -q && {
    # 4 predictions per centre word, each ln(V) at random params
    near "sg: initial valid loss per word is 4 ln(V)" "$(initial_loss)" "$(awk -v l="$LNV" 'BEGIN { print 4 * l }')" 0.1
    less "sg: best valid loss below 0.8 x 4 ln(V)" "$(best_loss)" "$(awk -v l="$LNV" 'BEGIN { print 3.2 * l }')"
}

# ---------------------------------------------------------------- 3: resume
resume() { # NAME MODEL options...
    name=$1 model=$2
    shift 2
    base="$NNGC train $model --data $tmp/train.txt --epochs 2 -q"
    if $base "$@" --save "$tmp/r_full.st" >"$tmp/out" 2>&1 &&
        $base "$@" --save "$tmp/r_half.st" --stop-after 1 >>"$tmp/out" 2>&1 &&
        grep -q '^epoch 1$' "$tmp/r_half.st.train" &&
        $base "$@" --params "$tmp/r_half.st" --save "$tmp/r_res.st" >>"$tmp/out" 2>&1 &&
        cmp "$tmp/r_full.st" "$tmp/r_res.st" >>"$tmp/out" 2>&1; then
        ok "resume $name: 1 epoch + resume 1 == 2 epochs, bit for bit"
    else
        notok "resume $name: 1 epoch + resume 1 == 2 epochs, bit for bit"
        detail "$tmp/out" 12
    fi
    if $base "$@" --params "$tmp/r_half.st" --seed 9 --save "$tmp/r_other.st" >"$tmp/out" 2>&1 &&
        ! cmp -s "$tmp/r_full.st" "$tmp/r_other.st"; then
        ok "resume $name: another --seed gives other params"
    else
        notok "resume $name: another --seed gives other params"
    fi
}
resume "lm adam" $M/lm.nn
resume "sg sgd --decay linear" $M/sg.nn --decay linear
# the checkpoint's state is tied to its params (lm.st.train comes back
# after these checks: later ones read lm.st's open dims from it)
cp "$tmp/lm.st.train" "$tmp/lm.st.train.orig"
cp "$tmp/r_half.st.train" "$tmp/lm.st.train"
run "resume: a state file of other params is refused" 1 "$NNGC" train $M/lm.nn --data "$tmp/train.txt" \
    --params "$tmp/lm.st" --epochs 2 &&
    has "resume: ... with a message" "lm.st.train does not belong to .*lm.st"
# a state file cut short is refused; under valgrind when there is one, in
# the plain build (the reader once parsed the 'best' field it had not read:
# uninitialised memory; a sanitizer's build runs under no valgrind)
printf 'nngc-train 1\nepoch x\n' >"$tmp/lm.st.train"
VG=
[ "${BUILD:-build}" = build ] && command -v valgrind >/dev/null 2>&1 && VG="valgrind -q --error-exitcode=99"
run "resume: a state file cut short is refused${VG:+ (valgrind)}" 1 $VG "$NNGC" train $M/lm.nn --data "$tmp/train.txt" \
    --params "$tmp/lm.st" --epochs 2 && has "resume: ... with a message" \
    "lm.st.train:2: expected 'epoch N', N a whole number >= 0, got 'epoch x'"
# the state is read strictly, each field at its line: an overflow (was
# LONG_MAX epochs: nothing trained, no message), a sign (was a negative
# count), a NaN, a line that is no field (was ignored)
for bad in "2:epoch 99999999999999999999:expected 'epoch N'" "5:bad -5:expected 'bad N'" \
    "4:best nan:expected 'best X', X a number or inf" "8:garbage:expected 'dim NAME N'" "8:dim V abc:expected 'dim NAME N'"; do
    at=${bad%%:*} rest=${bad#*:}
    field=${rest%%:*} msg=${rest#*:}
    awk -v at="$at" -v f="$field" 'NR == at { print f; next } { print } END { if (NR < at) print f }' \
        "$tmp/r_half.st.train" >"$tmp/lm.st.train"
    run "resume: a state file with '$field' is refused" 1 "$NNGC" train $M/lm.nn --data "$tmp/train.txt" \
        --params "$tmp/lm.st" --epochs 2 && has "... at its line" "lm.st.train:$at: $msg"
done
mv "$tmp/lm.st.train.orig" "$tmp/lm.st.train"

# ---------------------------------------------------------------- 4: classify
L=tests/traincli/data/labels.txt
head -n 300 $L >"$tmp/ctrain.txt"
tail -n 100 $L >"$tmp/cvalid.txt"
run "clf: train 5 epochs" 0 "$NNGC" train $M/clf.nn --data "$tmp/ctrain.txt" --valid "$tmp/cvalid.txt" --epochs 5 \
    --save "$tmp/clf.st" -q
run "clf: eval" 0 "$NNGC" eval $M/clf.nn --params "$tmp/clf.st" --data "$tmp/cvalid.txt" &&
    less "clf: validation accuracy > 0.9" 0.9 "$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' "$tmp/out")"
has "clf: accuracy counts 100 lines" "^accuracy [0-9.]+ \([0-9]+ of 100\)"

# ---------------------------------------------------------------- 5: npy
MKNPY=$tmp/mknpy
if $CC -std=c11 -D_GNU_SOURCE -O1 -Iruntime -o "$MKNPY" tests/traincli/mknpy.c "$RTLIB" $BLAS -lm -lpthread \
    >"$tmp/cc" 2>&1 && "$MKNPY" clf "$tmp"; then
    run "npy: examples/classifier.nn on .npy arrays" 0 "$NNGC" train examples/classifier.nn --data x="$tmp/x.npy" \
        --data y="$tmp/y.npy" --valid x="$tmp/vx.npy" --valid y="$tmp/vy.npy" --epochs 8 --lr 0.003 -q && {
        acc0=$(sed -n 's/^epoch 0\/.* acc \([0-9.]*\)%.*/\1/p' "$tmp/out")
        acc=$(sed -n 's/^epoch 8\/.* acc \([0-9.]*\)%.*/\1/p' "$tmp/out")
        less "npy: validation accuracy $acc0% -> $acc% (+20 points)" "$(awk -v a="$acc0" 'BEGIN { print a + 20 }')" "$acc"
    }
    run "npy: progress lines" 0 "$NNGC" train examples/classifier.nn --data x="$tmp/x.npy" --data y="$tmp/y.npy" \
        --epochs 1 --progress 0.000001 &&
        has "npy: ... have ex/s and no words/s (.npy examples have no words)" \
            "^epoch 1/1 +[0-9.]+%  ex/s [0-9]+  lr 0\.001000  loss [0-9.]+  ETA 0h00m[0-9]+s$"
    if "$MKNPY" lm "$tmp/lm.st.vocab" "$tmp/valid.txt" 40 "$tmp" >"$tmp/out" 2>&1 &&
        "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" --data words="$tmp/words.npy" --lengths "$tmp/lengths.npy" \
            >"$tmp/out" 2>&1; then
        per_ex=$(sed -n 's/^loss per example \([0-9.]*\)/\1/p' "$tmp/out")
        nw=$(($(wc -w <"$tmp/valid.txt") + 80))
        near "npy: ragged LM rows (padded + --lengths) score as the text" \
            "$(awk -v l="$per_ex" -v n="$nw" 'BEGIN { printf "%.6f", l * 80 / n }')" "$lm_best" 0.0002
    else
        notok "npy: ragged LM rows"
        detail "$tmp/out"
    fi
    run "npy: --lengths missing for a model with a dynamic dim" 1 "$NNGC" eval $M/lm.nn --params "$tmp/lm.st" \
        --data words="$tmp/words.npy" && has "npy: ... says so" "give each example's sizes with --lengths"
else
    notok "npy: build tests/traincli/mknpy.c"
    detail "$tmp/cc"
fi

# ---------------------------------------------------------------- 6: malformed
printf 'the cat\n\n   \nthe dog\n' >"$tmp/m.txt"
run "empty lines are skipped" 0 "$NNGC" train $M/lm.nn --data "$tmp/m.txt" --epochs 1 &&
    has "... and counted" "m.txt: skipped 2 empty lines and 0 lines over 39 words"
{ echo "a b"; awk 'BEGIN { for (i = 0; i < 45; i++) printf "w "; print "" }'; echo "c d"; } >"$tmp/long.txt"
run "a line over T's max is skipped" 0 "$NNGC" train $M/lm.nn --data "$tmp/long.txt" --epochs 1 &&
    has "... with its file:line" "1 line over 39 words \(the first: .*long.txt:2\)"
printf 'good words\nbad w\377rd\n' >"$tmp/u.txt"
run "bytes that are not UTF-8: error" 1 "$NNGC" train $M/lm.nn --data "$tmp/u.txt" --epochs 1 &&
    has "... at file:line:col" "u.txt:2:6: byte 0xff is not valid UTF-8"
printf '__label__up a b\nc d\n' >"$tmp/nl.txt"
run "a line without a label: error" 1 "$NNGC" train $M/clf.nn --data "$tmp/nl.txt" --epochs 1 &&
    has "... at file:line" "nl.txt:2: no label"
run "a language model on labelled lines: trains" 0 "$NNGC" train $M/lm.nn --data "$tmp/nl.txt" --epochs 1 &&
    has "... the second count says why (__label__ is a word here)" \
        "nl.txt: 2 lines, 5 words, vocabulary 7 .*counted again with the __label__ tokens as words: the model has no label input"
run "--batch 2 --threads 4 --parallel=sync: trains" 0 "$NNGC" train $M/lm.nn --data "$tmp/nl.txt" --epochs 1 \
    --batch 2 --threads 4 --parallel=sync &&
    has "... a note: some threads stay idle (1 rank, not '1 ranks')" "note: --batch 2 is less than 4 threads x 1 rank: some"
printf '__label__up a b\n__label__zz c d\n' >"$tmp/ul.txt"
run "a label not seen in training: error" 1 "$NNGC" train $M/clf.nn --data "$tmp/ctrain.txt" --valid "$tmp/ul.txt" \
    --epochs 1 && has "... at file:line" "ul.txt:2: label '__label__zz' is not one of the 3 labels"
awk 'BEGIN { for (i = 0; i < 200; i++) print "w" i " x" i }' >"$tmp/big.txt"
run "a vocabulary over V: error" 1 "$NNGC" train $M/lm.nn --data "$tmp/big.txt" --epochs 1 &&
    has "... that says how to fit it" "vocabulary has 402 words .* more than dim V = 128 .*--max-vocab 128"
run "--max-vocab 128 fits it" 0 "$NNGC" train $M/lm.nn --data "$tmp/big.txt" --epochs 1 --max-vocab 128 \
    --save "$tmp/big.st" -q && {
    if head -n 1 "$tmp/big.st.vocab" | grep -q 'words 128 '; then ok "--max-vocab: 128 ids saved"; else
        notok "--max-vocab: 128 ids saved"; fi
}
# a NUL byte ends a C string early: the count "1" would be read and the
# rest of its line ignored
printf 'nngc-vocab 1 words 2 labels 0\n<s>\t1\000junk\n<unk>\t0\n' >"$tmp/nul.vocab"
run "a vocabulary file with a NUL byte after a count: error" 1 "$NNGC" train $M/lm.nn --data "$TINY" \
    --vocab "$tmp/nul.vocab" --epochs 1 && has "... at file:line" "nul.vocab:2:6: the count is not a number"
printf 'nngc-vocab 1 words 2 labels 0\n<s>\t+1\n<unk>\t0\n' >"$tmp/plus.vocab"
run "a vocabulary count with a sign: error" 1 "$NNGC" train $M/lm.nn --data "$TINY" --vocab "$tmp/plus.vocab" \
    --epochs 1 && has "... at file:line:col, saying what is expected" \
    "plus.vocab:2:5: the count is not a number >= 0 \(expected decimal digits"
printf 'nngc-vocab 1 words  2 labels 0\n<s>\t1\n<unk>\t0\n' >"$tmp/sp.vocab"
run "a vocabulary header with two spaces: error" 1 "$NNGC" train $M/lm.nn --data "$TINY" --vocab "$tmp/sp.vocab" \
    --epochs 1 && has "... at file:line:col" "sp.vocab:1:20: bad vocabulary header: expected 'nngc-vocab 1 words N"
sed 's/$/\r/' "$tmp/v.st.vocab" >"$tmp/crlf.vocab"
run "a vocabulary file with CRLF line ends is read" 0 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" \
    --vocab "$tmp/crlf.vocab" --epochs 1 --save "$tmp/crlf.st" -q && {
    if cmp -s "$tmp/crlf.st.vocab" "$tmp/v.st.vocab"; then ok "... as with LF: saved again with LF"; else
        notok "... as with LF: saved again with LF"; detail "$tmp/crlf.st.vocab" 10; fi
}
run "a missing data file: error" 1 "$NNGC" train $M/lm.nn --data "$tmp/none.txt" &&
    has "... naming it" "none.txt: No such file"
# the kinds of data and their number are usage errors, found before the
# model is compiled or a file read (were exit 1, after the compile)
run "text --data with .npy --valid: usage error" 2 "$NNGC" train $M/lm.nn --data "$TINY" --valid words=x.npy &&
    has "... that says what to give" "--valid x.npy: the data are a text file"
run "text --data given twice: usage error" 2 "$NNGC" train $M/lm.nn --data "$TINY" --data "$TINY" &&
    has "... that says to give it once" "text data is one file: give --data FILE \(and --valid FILE\) once"
run "text --valid given twice: usage error" 2 "$NNGC" train $M/lm.nn --data "$TINY" --valid "$TINY" --valid "$TINY" &&
    has "... that says to give it once" "text data is one file"
run "eval, .npy --data with a text --data: usage error" 2 "$NNGC" eval $M/lm.nn --data words=x.npy --data "$TINY" &&
    has "... that says what to give" "--data .*tiny.txt: the data are .npy files, one per input: give --data NAME=FILE.npy\$"
run ".npy --data with a text --valid: usage error" 2 "$NNGC" train $M/lm.nn --data words=x.npy --valid "$TINY" &&
    has "... that says what to give" "--valid .*tiny.txt: the data are .npy files, one per input: give --data NAME=FILE.npy"
run "a model with a float input and text data: error" 1 "$NNGC" train examples/classifier.nn --data "$TINY" &&
    has "... that says what to do" "input x : float\[I\] is not text.*--data x=FILE.npy"

# ---------------------------------------------------------------- 7: options
run "--batch 0 is refused" 2 "$NNGC" train $M/lm.nn --data "$TINY" --batch 0 &&
    has "... says why" "--batch: expected a whole number from 1 to 1000000, got '0'"
# a misspelt --layout was found only after the data were read and the
# model compiled (exit 1): now at once, a usage error like --decay's
run "train --layout misspelt: usage error at once" 2 "$NNGC" train $M/lm.nn --data "$TINY" --layout lmm &&
    has "... naming the layouts" "^nngc: error: --layout lmm: expected plain, lm or window\$" &&
    if grep -q "vocabulary" "$tmp/out"; then notok "... before the data are read"; else ok "... before the data are read"; fi
run "eval --layout misspelt: usage error" 2 "$NNGC" eval $M/lm.nn --vocab "$tmp/lm.st.vocab" --data "$tmp/valid.txt" \
    --layout windw && has "... naming the layouts" "--layout windw: expected plain, lm or window"
# over the compiler's limit, --batch was compiled as given and failed at
# create with 'out of memory' (or, past LONG_MAX in eval, read as LONG_MAX)
run "train --batch over 1000000 is refused" 2 "$NNGC" train $M/lm.nn --data "$TINY" --batch 2000000 &&
    has "... as the compiler's --batch=B" "--batch: expected a whole number from 1 to 1000000, got '2000000'"
run "eval --batch past LONG_MAX is refused" 2 "$NNGC" eval $M/lm.nn --vocab "$tmp/lm.st.vocab" \
    --data "$tmp/valid.txt" --batch 99999999999999999999 &&
    has "... not read as another number" "--batch: expected a whole number from 1 to 1000000, got '9{20}'"
run "eval --seed past 2^64 is refused" 2 "$NNGC" eval $M/lm.nn --vocab "$tmp/lm.st.vocab" \
    --data "$tmp/valid.txt" --seed 99999999999999999999999 && has "... says why" "--seed: expected a whole number >= 0"
# --clip C: one SGD step (lr 0.1) on one line (--batch 1: NAME_grad, clip,
# NAME_update) and on two lines (--batch 2: the batched program's step)
# against p0 + (p1 - p0) C / (|g| + 1e-6), |g| = |p1 - p0| / 0.1 over all
# params, from the unclipped step p1 and the untrained p0 (lr 0)
head -n 1 "$TINY" >"$tmp/one.txt"
head -n 2 "$TINY" >"$tmp/two.txt"
clip_step() { # FILE BATCH LR OUT [options]: one epoch, every param exported to OUT_NAME.npy
    cf=$1 cbatch=$2 clr=$3 cout=$4
    shift 4
    "$NNGC" train $M/lm.nn --data "$cf" --epochs 1 --batch "$cbatch" --bucket 0 --optimizer=sgd:lr="$clr" -q "$@" \
        --export emb="${cout}_emb.npy" --export Wx="${cout}_Wx.npy" --export Wh="${cout}_Wh.npy" \
        --export bh="${cout}_bh.npy" --export Wo="${cout}_Wo.npy" --export bo="${cout}_bo.npy"
}
for cb in one:1 two:2; do
    f=${cb%%:*} b=${cb#*:}
    if clip_step "$tmp/$f.txt" "$b" 0 "$tmp/p0" >"$tmp/out" 2>&1 && clip_step "$tmp/$f.txt" "$b" 0.1 "$tmp/p1" >>"$tmp/out" 2>&1 &&
        clip_step "$tmp/$f.txt" "$b" 0.1 "$tmp/pc" --clip 0.5 >>"$tmp/out" 2>&1 &&
        python3 - "$tmp" >>"$tmp/out" 2>&1 <<'PY'
import math, sys
sys.path.insert(0, "tests")
from npyio import read_npy
d = sys.argv[1]
names = ["emb", "Wx", "Wh", "bh", "Wo", "bo"]
p0, p1, pc = ([read_npy("%s/%s_%s.npy" % (d, k, n))[1] for n in names] for k in ("p0", "p1", "pc"))
norm = math.sqrt(sum((b - a) ** 2 for x, y in zip(p0, p1) for a, b in zip(x, y))) / 0.1
s = 0.5 / (norm + 1e-6)
err = max(abs(c - (a + (b - a) * s)) for x, y, z in zip(p0, p1, pc) for a, b, c in zip(x, y, z))
moved = max(abs(b - a) for x, y in zip(p0, p1) for a, b in zip(x, y))
print("|g| %.4f, scale %.4f, max error %.3g (step %.3g)" % (norm, s, err, moved))
sys.exit(0 if norm > 1 and err <= 1e-6 + 1e-3 * moved * s else 1)
PY
    then ok "--clip 0.5 (--batch $b): the step is the unclipped one scaled to norm 0.5"; else
        notok "--clip 0.5 (--batch $b): the step is the unclipped one scaled to norm 0.5"; detail "$tmp/out" 8; fi
done
run "--clip 0 is refused" 2 "$NNGC" train $M/lm.nn --data "$TINY" --clip 0
run "--patience needs --valid" 2 "$NNGC" train $M/lm.nn --data "$TINY" --patience 2
run "--epochs 0 is refused" 2 "$NNGC" train $M/lm.nn --data "$TINY" --epochs 0
run "--export word2vec text and .npy" 0 "$NNGC" eval $M/sg.nn --vocab "$tmp/lm.st.vocab" --data "$tmp/valid.txt" \
    --export Ww="$tmp/vec.txt" --export Wc="$tmp/wc.npy" && {
    if [ "$(head -n 1 "$tmp/vec.txt")" = "125 8" ] && [ "$(wc -l <"$tmp/vec.txt")" -eq 126 ] &&
        sed -n 2p "$tmp/vec.txt" | awk '$1 != "<s>" || NF != 9 { exit 1 }' &&
        sed -n 4p "$tmp/vec.txt" | awk '$1 != "the" { exit 1 }'; then
        ok "--export: header 'V D', one line per word with D numbers"
    else
        notok "--export: header 'V D', one line per word with D numbers"
        detail "$tmp/vec.txt" 3
    fi
    # 128 x 8 floats after a 128-byte header
    if [ "$(wc -c <"$tmp/wc.npy")" -eq $((128 + 128 * 8 * 4)) ]; then ok "--export .npy: the whole [128, 8] table"; else
        notok "--export .npy: the whole [128, 8] table"; fi
}
# --export is written after the last save: onto the checkpoint it replaced
# it with the vectors, exit 0
for f in ck.st ck.st.vocab; do
    run "--export onto the --save checkpoint ($f) is refused" 2 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 \
        --save "$tmp/ck.st" --export emb="$tmp/$f" -q && has "... saying why" "would overwrite the checkpoint"
done
# an empty value or a malformed --export: refused before training (it once
# trained a whole run, then failed at the save or the export)
for bad in "--save=" "--data=" "--export emb=" "--export =x"; do
    # shellcheck disable=SC2086
    run "train $bad is refused at once" 2 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 $bad && {
        if grep -q "^epoch" "$tmp/out"; then notok "... before training"; else ok "... before training"; fi
    }
done
# a param the model lacks, or the word2vec text format of a vector or of
# .npy data: an error before training or evaluating too (it trained the
# whole run first), with the nearest param's name
run "train --export of a misspelt param fails at once" 1 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" --epochs 1 \
    --export Wxx="$tmp/wxx.npy" && has "... naming the nearest param" "has no param Wxx; did you mean Wx\?" && {
    if grep -q "^epoch" "$tmp/out"; then notok "... before training"; else ok "... before training"; fi
}
run "train --export of a vector as word2vec text fails at once" 1 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" \
    --epochs 1 --export bh="$tmp/bh.txt" && has "... saying why" "needs a \[rows, columns\] param" && {
    if grep -q "^epoch" "$tmp/out"; then notok "... before training"; else ok "... before training"; fi
}
run "eval --export of a misspelt param fails at once" 1 "$NNGC" eval $M/sg.nn --vocab "$tmp/lm.st.vocab" \
    --data "$tmp/valid.txt" --export W="$tmp/w.npy" && has "... saying why" "has no param W$" && {
    if grep -q "perplexity" "$tmp/out"; then notok "... before evaluating"; else ok "... before evaluating"; fi
}
# --export onto a device is written in place, as -o is (docs/CLI.md); it
# once renamed a file over it (as root: over /dev/null itself). Through
# links in $tmp, so that a regression replaces them, not the devices
ln -s /dev/null "$tmp/null"
ln -s /dev/null "$tmp/null.npy"
run "--export (text and .npy) onto links to /dev/null" 0 "$NNGC" eval $M/sg.nn --vocab "$tmp/lm.st.vocab" \
    --data "$tmp/valid.txt" --export Ww="$tmp/null" --export Wc="$tmp/null.npy" && {
    if [ -L "$tmp/null" ] && [ -L "$tmp/null.npy" ]; then ok "--export: ... written in place, the links stay"; else
        notok "--export: ... written in place, the links stay"; fi
}
if [ -c /dev/full ]; then
    ln -s /dev/full "$tmp/full"
    run "--export onto a link to /dev/full fails" 1 "$NNGC" eval $M/sg.nn --vocab "$tmp/lm.st.vocab" \
        --data "$tmp/valid.txt" --export Ww="$tmp/full" && has "... saying why" "full: write failed: No space left"
    ln -s /dev/full "$tmp/ckf.st.vocab"
    run "--save's vocabulary onto a link to /dev/full fails" 1 "$NNGC" train $M/lm.nn --data "$tmp/v.txt" \
        --epochs 1 --save "$tmp/ckf.st" -q && has "... saying why" "ckf.st.vocab: write failed: No space left"
    # the scores printed, lost: exit 1, as nngc run (docs/CLI.md)
    for cmd in "eval $M/sg.nn --vocab $tmp/lm.st.vocab --data $tmp/valid.txt" \
        "train $M/lm.nn --data $tmp/v.txt --epochs 1"; do
        run "nngc ${cmd%% *} > /dev/full fails" 1 sh -c "'$NNGC' $cmd >/dev/full" &&
            has "... saying why" "cannot write the standard output: No space left on device"
    done
fi
# validated on the training lines with their labels permuted (up -> other,
# down -> up, other -> down): the better the model fits the training
# labels, the worse its validation loss, on any machine's rounding, so
# every epoch after the first (the first best) is no new best
sed -e 's/^__label__up /__label__X /; s/^__label__down /__label__up /' \
    -e 's/^__label__other /__label__down /; s/^__label__X /__label__other /' "$tmp/ctrain.txt" >"$tmp/cflip.txt"
run "--patience stops early" 0 "$NNGC" train $M/clf.nn --data "$tmp/ctrain.txt" --valid "$tmp/cflip.txt" \
    --epochs 30 --patience 1 --lr 0.1 && has "... with a message" "early stop: no better validation loss for 1 epochs"

run "--decay plateau" 0 "$NNGC" train $M/clf.nn --data "$tmp/ctrain.txt" --valid "$tmp/cflip.txt" --epochs 5 \
    --decay plateau --lr 0.1 --progress 0.000001 && {
    has "plateau: epoch 2, no new best, halves the lr" "^epoch 3/5: .* \| lr 0\.05 \|"
    has "plateau: and again after each epoch without a new best" "^epoch 5/5: .* \| lr 0\.0125 \|"
    has "progress: plain lines on a pipe, with words/s, ex/s, lr, loss, ETA" \
        "^epoch 2/5 +[0-9.]+%  words/s [0-9]+  ex/s [0-9]+  lr 0\.100000  loss [0-9.]+  ETA 0h00m[0-9]+s$"
}

# --init-unigram: bo starts at log(count / total) of the training file's
# words (ids without a count at half a count), counted here by Python from
# the text, compared as sorted values (the ids' order is the vocabulary's);
# sgd with lr 0 leaves it as initialized for --export
run "--init-unigram bo" 0 "$NNGC" train $M/lm.nn --data "$TINY" --epochs 1 --optimizer=sgd:lr=0 \
    --init-unigram bo --export bo="$tmp/bo.npy" -q && {
    if python3 - "$TINY" "$tmp/bo.npy" <<'PY'
import math, sys
from collections import Counter
sys.path.insert(0, "tests")
from npyio import read_npy
lines = [l.split() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
c = Counter(w for l in lines for w in l)
c["<s>"] = len(lines)
total = sum(c.values())
shape, got = read_npy(sys.argv[2])
want = [math.log(v / total) for v in c.values()] + [math.log(0.5 / total)] * (shape[0] - len(c))
ok = shape == [128] and all(abs(a - b) <= 1e-5 * abs(b) for a, b in zip(sorted(got), sorted(want)))
print("bo: %d values, smallest %.4f / %.4f, largest %.4f / %.4f" % (shape[0], min(got), min(want), max(got), max(want)))
sys.exit(0 if ok else 1)
PY
    then ok "--init-unigram: bo is the log unigram frequency of each word"; else
        notok "--init-unigram: bo is the log unigram frequency of each word"; fi
}
run "--init-unigram of a matrix is refused" 1 "$NNGC" train $M/lm.nn --data "$TINY" --init-unigram Wo &&
    has "... naming its shape" "--init-unigram Wo: needs text data and a vector of at least the vocabulary's 125 words; Wo is \[128, 32\]"
run "--init-unigram of no param is refused" 1 "$NNGC" train $M/lm.nn --data "$TINY" --init-unigram nope

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
