#!/bin/sh
# tests/predict/run.sh - NAME_predict (docs/API.md, "Prediction"): the RNN
# LM of tests/approx_e2e/rnn.nn with every softmax method, at -O0 and -O2,
# its predicted words against the argmax of its own forward graph
# (predict_test.c); a classifier against the argmax of its output probs
# (clf.nn, clf_test.c); --batch=2 against one call per sentence
# (batch_test.c); a word per step at every -O where the passes moved the
# cross_entropy's parts (hoisted.nn, row_pick.nn, product_rows.nn,
# hoisted_term.nn; with every kind of method against the forward graph's
# argmax: hoisted_test.c); the exact softmax's one word written
# -log_softmax(z)[y] (three forms) predicts rnn.nn's words; a model with
# two cross_entropy terms and the CUDA target get an error return.
#
#   sh tests/predict/run.sh      (uses build/nngc, build/libnngrt.a)

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
RTLIB=${RTLIB:-build/libnngrt.a}
CC=${CC:-cc}
TMO=${PREDICT_TIMEOUT:-60}
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# the test programs and the generated C: -O1 (about 100 builds; -O2 took
# twice as long to compile, and the models are tiny)
TCFLAGS="-std=c11 -O1 -Wall -Wextra -Werror"

. tests/lib.sh

need_tools predict "$NNGC"
make_tmp predict
D=tests/predict
python3 -c "import sys; sys.path.insert(0, 'tests'); from npyio import write_npy
write_npy('$tmp/words.npy', 'i', [7], [0, 5, 2, 23, 7, 1, 12])" || notok "words.npy for nngc run"

for s in full neg:k=3 nce:k=3 class:c=4 class:c=7 hier binary binary:hybrid=3 binary:ecc=4 binary:ecc=17 \
    binary:hybrid=5,ecc=6 embed; do
    for O in -O0 -O2; do
        name="--softmax=$s $O"
        if ! "$NNGC" $O --softmax=$s tests/approx_e2e/rnn.nn -o "$tmp/rnnt.c" >"$tmp/log" 2>&1 ||
            ! $CC $TCFLAGS -Iruntime $BLAS_CFLAGS -I"$tmp" -o "$tmp/predict_test" \
                "$D/predict_test.c" "$tmp/rnnt.c" "$RTLIB" $BLAS -lm -lpthread >>"$tmp/log" 2>&1; then
            notok "$name: build"
            detail "$tmp/log" 20
            continue
        fi
        timeout "$TMO" "$tmp/predict_test" >"$tmp/out" 2>"$tmp/err"
        st=$?
        if [ "$st" -eq 0 ] && ! grep -q '^not ok' "$tmp/out"; then
            ok "$name: $(grep '^# .* agree' "$tmp/out" | sed 's/^# //')"
        else
            notok "$name: $(status_text $st)"
            grep -v '^ok' "$tmp/out" | detail /dev/stdin 10
            detail "$tmp/err" 5
        fi
        # nngc run --predict prints what the API gives (seed 5, no counts)
        case $s in class:c=4 | hier | binary:hybrid=5,ecc=6 | embed)
            "$tmp/predict_test" 5 >"$tmp/api" 2>&1
            if timeout "$TMO" "$NNGC" run $O --softmax=$s --seed 5 tests/approx_e2e/rnn.nn --input words="$tmp/words.npy" \
                --predict >"$tmp/run" 2>&1 && grep -q '^predict \[6\] = ' "$tmp/api" && grep -qxF "$(cat "$tmp/api")" "$tmp/run"; then
                ok "$name: nngc run --predict prints the API's words"
            else
                notok "$name: nngc run --predict prints the API's words"
                detail "$tmp/api" 2
                detail "$tmp/run" 4
            fi
            ;;
        esac
    done
done

# one word's log-probability of the exact softmax written out (the three
# forms of LANGUAGE.md, and the softmax and the cross entropy written with
# exp, sum and log): the cross_entropy of rnn.nn all the same, its words
# and loss (was "--predict: model rnnt has no cross_entropy to predict
# from")
for form in "-log_softmax(Wo @ h + bo)[words[t + 1]]" "-log(softmax(Wo @ h + bo)[words[t + 1]])" \
    "-log(softmax(Wo @ h + bo))[words[t + 1]]" "-log((exp(Wo @ h + bo) / sum(exp(Wo @ h + bo)))[words[t + 1]])" \
    "log(sum(exp(Wo @ h + bo))) - (Wo @ h + bo)[words[t + 1]]"; do
    sed "s|cross_entropy(Wo @ h + bo, words\[t + 1\])|$form|" tests/approx_e2e/rnn.nn >"$tmp/pick.nn"
    for O in -O0 -O2; do
        name="loss += $form $O"
        "$NNGC" run $O --seed 5 tests/approx_e2e/rnn.nn --input words="$tmp/words.npy" --predict >"$tmp/xent" 2>&1
        if ! grep -qF -- "$form" "$tmp/pick.nn"; then
            notok "$name: the model"
        elif timeout "$TMO" "$NNGC" run $O --seed 5 "$tmp/pick.nn" --input words="$tmp/words.npy" --predict \
            >"$tmp/run" 2>&1 && grep -q '^predict \[6\] = ' "$tmp/xent" && cmp -s "$tmp/xent" "$tmp/run"; then
            ok "$name: the words and loss of cross_entropy"
        else
            notok "$name: the words and loss of cross_entropy"
            detail "$tmp/xent" 2
            detail "$tmp/run" 4
        fi
    done
done

# the batched program (--batch=2): the same words as one call per sentence,
# time-major (batch_test.c, compiled plain and with -DBATCH)
for s in full class:c=4 hier binary:ecc=4 embed; do
    for O in -O0 -O2; do
        name="--batch=2 --softmax=$s $O"
        if "$NNGC" $O --softmax=$s tests/approx_e2e/rnn.nn -o "$tmp/rnnt.c" >"$tmp/log" 2>&1 &&
            $CC $TCFLAGS -Iruntime $BLAS_CFLAGS -I"$tmp" -o "$tmp/plain" \
                "$D/batch_test.c" "$tmp/rnnt.c" "$RTLIB" $BLAS -lm -lpthread >>"$tmp/log" 2>&1 &&
            "$NNGC" $O --batch=2 --softmax=$s tests/approx_e2e/rnn.nn -o "$tmp/rnnt.c" >>"$tmp/log" 2>&1 &&
            $CC $TCFLAGS -DBATCH -Iruntime $BLAS_CFLAGS -I"$tmp" -o "$tmp/batched" \
                "$D/batch_test.c" "$tmp/rnnt.c" "$RTLIB" $BLAS -lm -lpthread >>"$tmp/log" 2>&1 &&
            timeout "$TMO" "$tmp/plain" >"$tmp/o1" 2>>"$tmp/log" && timeout "$TMO" "$tmp/batched" >"$tmp/o2" 2>>"$tmp/log" &&
            [ "$(wc -l <"$tmp/o1")" -eq 2 ] && cmp -s "$tmp/o1" "$tmp/o2"; then
            ok "$name: the words of one call per sentence"
        else
            notok "$name: the words of one call per sentence"
            detail "$tmp/log" 5
            detail "$tmp/o1" 2
            detail "$tmp/o2" 2
        fi
    done
done

# logits computed whole, split by the select pass at -O2 (logsumexp, pick)
for O in -O0 -O2; do
    if "$NNGC" $O "$D/clf.nn" -o "$tmp/clf.c" >"$tmp/log" 2>&1 &&
        $CC $TCFLAGS -Iruntime $BLAS_CFLAGS -I"$tmp" -o "$tmp/clf_test" \
            "$D/clf_test.c" "$tmp/clf.c" "$RTLIB" $BLAS -lm -lpthread >>"$tmp/log" 2>&1 &&
        timeout "$TMO" "$tmp/clf_test" >"$tmp/out" 2>&1; then
        ok "clf $O: $(sed 's/^ok - //' "$tmp/out")"
    else
        notok "clf $O"
        detail "$tmp/log" 10
        detail "$tmp/out" 5
    fi
done

# a word per step at every -O: logits the same at every step (hoisted.nn),
# the target the same at every step (row_pick.nn), the rows a product
# (product_rows.nn)
for c in "hoisted 7 logits hoisted out of the loop" "row_pick 6 the target's pick from row t of the logits" \
    "product_rows 7 linear_logsumexp of rows computed Wo @ W2" "hoisted_term 7 a whole term hoisted out of the loop" \
    "nested_rows 14 a loop inside the one over the rows (each row's word twice in a row)" \
    "nested_block 42 loops inside and around the one over the rows"; do
    set -- $c
    f=$1 n=$2
    shift 2
    for O in -O0 -O1 -O2; do
        "$NNGC" run $O "$D/$f.nn" --seed 5 --input "words=$tmp/words.npy" --predict >"$tmp/$f$O" 2>&1
    done
    if grep -q "^predict \[$n\] = \([0-9]* \)\{$((n - 1))\}[0-9]*\$" "$tmp/$f-O0" &&
        cmp -s "$tmp/$f-O0" "$tmp/$f-O1" && cmp -s "$tmp/$f-O0" "$tmp/$f-O2"; then
        ok "$*: $n words at -O0, -O1 and -O2"
    else
        notok "$*: $n words at -O0, -O1 and -O2"
        detail "$tmp/$f-O0" 3
        detail "$tmp/$f-O2" 3
    fi
done
# the same under every kind of method: -O2 batches each method's part of
# the term out of both loops of nested_rows.nn as it does the logits
for sm in class:c=5 hier binary binary:hybrid=5 neg:k=3 embed; do
    for O in -O0 -O2; do
        "$NNGC" run $O --softmax=$sm "$D/nested_rows.nn" --seed 5 --input "words=$tmp/words.npy" --predict \
            >"$tmp/nr$O" 2>&1
    done
    if grep -q "^predict \[14\] = " "$tmp/nr-O0" && cmp -s "$tmp/nr-O0" "$tmp/nr-O2" &&
        awk '{ for (i = 4; i < NF; i += 2) if ($i != $(i + 1)) exit 1 }' "$tmp/nr-O0"; then
        ok "nested_rows --softmax=$sm: 14 words at -O0 and -O2, each step's twice in a row"
    else
        notok "nested_rows --softmax=$sm: 14 words at -O0 and -O2, each step's twice in a row"
        detail "$tmp/nr-O0" 3
        detail "$tmp/nr-O2" 3
    fi
done
# the order of those positions (-O0's, which every level gave above): the
# word of step t depends on t alone, so nested_rows' come in equal pairs
# and nested_block's second half is its first
if awk '{ for (i = 4; i < NF; i += 2) if ($i != $(i + 1)) exit 1 }' "$tmp/nested_rows-O0" &&
    awk '{ h = (NF - 3) / 2; for (i = 4; i < 4 + h; i++) if ($i != $(i + h)) exit 1;
           for (i = 4; i < 4 + h; i += 3) if ($i != $(i + 1) || $i != $(i + 2)) exit 1 }' "$tmp/nested_block-O0"; then
    ok "nested loops: each step's word once per step of the loops inside (in a row), the steps once per loop around"
else
    notok "nested loops: each step's word once per step of the loops inside, the steps once per loop around"
    detail "$tmp/nested_rows-O0" 2
    detail "$tmp/nested_block-O0" 2
fi

# the same three ways out of the loop (model hoisted: logits the same at
# every step) with every kind of method at -O0, -O1 and -O2: T words, each
# the argmin over w of the forward graph's loss with every word w
# (hoisted_test.c): a whole term hoisted (hoisted_term.nn, words[0]), a
# target per step (hoisted.nn), a loop of T - 1 steps (hoisted_short.nn);
# and beside the term a cross_entropy nothing reads (dead_term.nn)
for c in "hoisted_term 24 7" "hoisted 30 7" "hoisted_short 24 6" "dead_term 24 7"; do
    set -- $c
    for s in full class:c=4 hier binary:hybrid=3 embed; do
        for O in -O0 -O1 -O2; do
            name="$1.nn --softmax=$s $O"
            if "$NNGC" $O --softmax=$s "$D/$1.nn" -o "$tmp/hoisted.c" >"$tmp/log" 2>&1 &&
                $CC $TCFLAGS -Iruntime $BLAS_CFLAGS -I"$tmp" -o "$tmp/hoisted_test" \
                    "$D/hoisted_test.c" "$tmp/hoisted.c" "$RTLIB" $BLAS -lm -lpthread >>"$tmp/log" 2>&1 &&
                timeout "$TMO" "$tmp/hoisted_test" $2 7 $3 >"$tmp/out" 2>>"$tmp/log"; then
                ok "$name: $(sed 's/^ok - //' "$tmp/out")"
            else
                notok "$name"
                detail "$tmp/log" 10
                detail "$tmp/out" 5
            fi
        done
    done
done

# embed with a target the same at every step (embed_bcast.nn): at -O2 the
# vMF loss leaves the loop with the target's row broadcast to the steps;
# the words at -O0, -O1 and -O2 the same (tests/fuzz/sem_diff.py)
if python3 tests/fuzz/sem_diff.py --file "$D/embed_bcast.nn" --modes predict --softmax embed >"$tmp/log" 2>&1 &&
    grep -q '^predict 1 clean' "$tmp/log"; then
    ok "embed_bcast.nn --softmax=embed: -O0, -O1 and -O2 predict the same words"
else
    notok "embed_bcast.nn --softmax=embed: -O0, -O1 and -O2 predict the same words"
    detail "$tmp/log" 10
fi

# the term read into a product that -O2 batches over a loop's steps
# (batched_reader.nn): the positions of the program as written, T x T x T;
# and that product read a row per step by the loop (row_reader.nn): T x T;
# class's two levels of a target that is the loop's index (index_label.nn);
# logits broadcast to the steps (bcast_logits.nn); rows a product with the
# sequence, a hidden vector of its dynamic length at -O2 (dyn_rows.nn)
for m in batched_reader row_reader index_label bcast_logits dyn_rows; do
    sms="full sampled:k=3"
    [ $m = index_label ] && sms="full class:c=5 hier" # (a log_softmax's pick: a term, exact too)
    [ $m = bcast_logits ] && sms="class:c=5 binary"
    for sm in $sms; do
        if python3 tests/fuzz/sem_diff.py --file "$D/$m.nn" --modes predict --softmax $sm >"$tmp/log" 2>&1 &&
            grep -q '^predict 1 clean' "$tmp/log"; then
            ok "$m.nn --softmax=$sm: -O0, -O1 and -O2 predict the same words"
        else
            notok "$m.nn --softmax=$sm: -O0, -O1 and -O2 predict the same words"
            detail "$tmp/log" 10
        fi
    done
done

# two cross_entropy terms (neg.nn's y and u): NAME_predict says so
for O in -O0 -O2; do
    if "$NNGC" $O tests/approx_e2e/neg.nn -o "$tmp/negt.c" >"$tmp/log" 2>&1 &&
        grep -q '"negt_ctx_predict: supports one cross_entropy term; this model has 2"' "$tmp/negt.c" &&
        ! grep -q 'nnrt_decode_' "$tmp/negt.c"; then
        ok "two cross_entropy terms $O: predict returns an error"
    else
        notok "two cross_entropy terms $O: predict returns an error"
    fi
done

# the CUDA target: the same header, an error return
if "$NNGC" --softmax=class tests/approx_e2e/rnn.nn -o "$tmp/rnnt.c" >"$tmp/log" 2>&1 &&
    mkdir -p "$tmp/cu" && "$NNGC" --target=cuda --softmax=class tests/approx_e2e/rnn.nn -o "$tmp/cu/rnnt.cu" >>"$tmp/log" 2>&1 &&
    cmp -s "$tmp/rnnt.h" "$tmp/cu/rnnt.h" && grep -q 'predict: not supported on the cuda target yet' "$tmp/cu/rnnt.cu"; then
    ok "cuda: the same header, predict returns an error"
else
    notok "cuda: the same header, predict returns an error"
    detail "$tmp/log"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
