#!/bin/sh
# tests/opendim/run.sh - open dims (`dim V` with no size, docs/LANGUAGE.md
# "Open dims"): sized by --dim NAME=N on every command that compiles, and
# by `nngc train` from its vocabulary; recorded with the checkpoint for
# eval and resume.
#
#   sh tests/opendim/run.sh       (uses build/nngc, a C compiler)
#
#   1. compile   --dim sizes the open dim (the params' shapes in the IR
#                dump); no --dim is an error at the declaration; --dim on a
#                sized dim that disagrees names both sizes; unknown names,
#                bad values, two sizes, a dynamic dim: errors
#   2. train     on the first 320 lines of examples/data/tiny.txt: V is the
#                vocabulary's size, counted here by awk (the distinct
#                words + <s> + <unk>); the checkpoint's params have that
#                many rows (read from its safetensors header); CKPT.train
#                records `dim V N`; the initial loss is about ln(N)
#   3. eval      with that checkpoint: compiles with the recorded V, scores
#                as train's last validation did; a --vocab of another size,
#                or --dim V=N+5, is refused
#   4. resume    --params CKPT continues with the recorded V; --batch 4
#                compiles the batched program with the same V;
#                --dump-order writes each epoch's permutation
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
M=tests/opendim/lm.nn
TINY=examples/data/tiny.txt
TMO=300

. tests/lib.sh
make_tmp opendim
need_tools opendim "$NNGC"

# expect NAME STATUS PATTERN CMD...: ok when CMD exits with STATUS and its
# output (stdout and stderr, in $tmp/out) has a line matching PATTERN (grep -E)
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    timeout $TMO "$@" >"$tmp/out" 2>&1
    st=$?
    if [ "$st" -eq "$want" ] && grep -E -q -- "$pat" "$tmp/out"; then
        ok "$name"
    else
        notok "$name ($(status_text $st), expected $want and /$pat/)"
        detail "$tmp/out" 12
    fi
}
# shape NAME CKPT PARAM SHAPE: the safetensors header of CKPT gives PARAM the shape SHAPE ("125,16")
shape() {
    if head -c 4096 "$2" | tr -d '\n' | grep -q "\"$3\":{\"dtype\":\"F32\",\"shape\":\[$4\]"; then ok "$1"; else
        notok "$1: no \"$3\" of shape [$4] in the header of $2"
        head -c 300 "$2" | tail -c +9 | sed 's/^/#   /'
        echo
    fi
}

# ---------------------------------------------------------------- 1: compile
expect "compile: --dim V=7 sizes emb and Wo" 0 '^param emb : f32\[7, 16\]' "$NNGC" $M --dim V=7 --dump-ir=lower
grep -q '^param Wo : f32\[7, 32\]' "$tmp/out" && ok "compile: Wo is [7, 32]" || notok "compile: Wo is [7, 32]"
expect "compile: --dim=V=9 (one word)" 0 '^param bo : f32\[9\]' "$NNGC" $M --dim=V=9 --dump-ir=lower
expect "compile: no --dim is an error at the dim, saying how to size it" 1 \
    "^$M:5:1: error: dim V has no size: give it on the command line with --dim V=N" "$NNGC" $M -o "$tmp/x.c"
expect "compile: --dim on a sized dim that agrees" 0 '^param Wx : f32\[32, 16\]' \
    "$NNGC" $M --dim V=7 --dim E=16 --dump-ir=lower
expect "compile: --dim on a sized dim that disagrees names both sizes" 1 \
    "^$M:6:1: error: --dim E=17 disagrees with the model: dim E is 16 here, 17 there" \
    "$NNGC" $M --dim V=7 --dim E=17 -o "$tmp/x.c"
expect "compile: --dim of a name that is no dim" 1 "error: --dim Q=3: the model has no dim named 'Q'" \
    "$NNGC" $M --dim V=7 --dim Q=3 -o "$tmp/x.c"
expect "compile: --dim of a param's name" 1 "no dim named 'emb' \(it is a param\)" \
    "$NNGC" $M --dim V=7 --dim emb=3 -o "$tmp/x.c"
expect "compile: --dim V=0" 2 "error: --dim V=0: expected NAME=N" "$NNGC" $M --dim V=0 -o "$tmp/x.c"
expect "compile: --dim V=x" 2 "error: --dim V=x: expected NAME=N" "$NNGC" $M --dim V=x -o "$tmp/x.c"
expect "compile: --dim without =" 2 "error: --dim V: expected NAME=N" "$NNGC" $M --dim V -o "$tmp/x.c"
expect "compile: two sizes for one dim" 2 "error: --dim V=5 and --dim V=6: two sizes for dim V" \
    "$NNGC" $M --dim V=5 --dim V=6 -o "$tmp/x.c"
expect "compile: --dim of a dynamic dim is not the compiler's" 1 "^$M:8:1: error: --dim T=5: dim T is dynamic" \
    "$NNGC" $M --dim V=7 --dim T=5 -o "$tmp/x.c"
# nngc run: --dim sizes the open dim at compile time and still gives T
python3 -c "import sys; sys.path.insert(0, 'tests'); import npyio
npyio.write_npy('$tmp/w.npy', 'i', [4], [0, 1, 2, 0])"
expect "run: --dim V=7 and --dim T=3 (the input's)" 0 '^loss = [0-9]' \
    "$NNGC" run $M --dim V=7 --dim T=3 --input words="$tmp/w.npy"
expect "run: no --dim V" 1 "error: dim V has no size" "$NNGC" run $M --input words="$tmp/w.npy"

# ---------------------------------------------------------------- 2: train
head -n 320 "$TINY" >"$tmp/train.txt"
tail -n 80 "$TINY" >"$tmp/valid.txt"
NV=$(awk '{ for (i = 1; i <= NF; i++) if ($i != "<s>" && $i != "<unk>") seen[$i] = 1 } END { n = 2; for (w in seen) n++; print n }' "$tmp/train.txt")
LNV=$(awk -v n="$NV" 'BEGIN { printf "%.4f", log(n) }')
if expect "train: V from the vocabulary ($NV ids)" 0 "^epoch 2/2: train loss" \
    "$NNGC" train $M --data "$tmp/train.txt" --valid "$tmp/valid.txt" --epochs 2 --save "$tmp/lm.st"; then :; fi
grep -q "vocabulary $NV " "$tmp/out" && ok "train: the note says vocabulary $NV" || notok "train: the note says vocabulary $NV"
init=$(sed -n 's/^epoch 0\/2: valid loss \([0-9.]*\).*/\1/p' "$tmp/out")
best=$(sed -n 's/^epoch 2\/2: .*| valid loss \([0-9.]*\).*/\1/p' "$tmp/out")
if awk -v x="$init" -v y="$LNV" 'BEGIN { d = x - y; if (d < 0) d = -d; exit !(x != "" && d <= 0.05) }'; then
    ok "train: initial valid loss $init is ln($NV) = $LNV"
else
    notok "train: initial valid loss $init is ln($NV) = $LNV"
fi
shape "train: the checkpoint's emb is [$NV, 16]" "$tmp/lm.st" emb "$NV,16"
shape "train: the checkpoint's Wo is [$NV, 32]" "$tmp/lm.st" Wo "$NV,32"
shape "train: the checkpoint's bo is [$NV]" "$tmp/lm.st" bo "$NV"
grep -q "^dim V $NV\$" "$tmp/lm.st.train" && ok "train: CKPT.train records dim V $NV" ||
    { notok "train: CKPT.train records dim V $NV"; detail "$tmp/lm.st.train" 10; }
expect "train: --max-vocab 50 makes V 50" 0 "^epoch 1/1" \
    "$NNGC" train $M --data "$tmp/train.txt" --epochs 1 --max-vocab 50 --save "$tmp/m50.st" -q
shape "train: --max-vocab 50: emb is [50, 16]" "$tmp/m50.st" emb "50,16"
expect "train: --dim V=200 wins over the vocabulary" 0 "^epoch 1/1" \
    "$NNGC" train $M --data "$tmp/train.txt" --epochs 1 --dim V=200 --save "$tmp/d200.st" -q
shape "train: --dim V=200: emb is [200, 16]" "$tmp/d200.st" emb "200,16"
expect "train: --dim V=100, under the vocabulary, is refused" 1 "more than dim V = 100" \
    "$NNGC" train $M --data "$tmp/train.txt" --epochs 1 --dim V=100 -q
sed 's/^dim V$/dim W/; s/\[V, /[W, /; s/\[V\]/[W]/' $M >"$tmp/w.nn"
expect "train: --vocab-dim W sizes dim W" 0 "^epoch 1/1" \
    "$NNGC" train "$tmp/w.nn" --data "$tmp/train.txt" --epochs 1 --vocab-dim W --save "$tmp/w.st" -q
shape "train: --vocab-dim W: emb is [$NV, 16]" "$tmp/w.st" emb "$NV,16"
expect "train: without --vocab-dim W, W has no size" 1 "dim W has no size" \
    "$NNGC" train "$tmp/w.nn" --data "$tmp/train.txt" --epochs 1 -q

# ---------------------------------------------------------------- 3: eval
if expect "eval: the checkpoint, V from CKPT.train" 0 "^loss per word" \
    "$NNGC" eval $M --params "$tmp/lm.st" --data "$tmp/valid.txt"; then
    l=$(sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$tmp/out")
    if awk -v x="$l" -v y="$best" 'BEGIN { d = x - y; if (d < 0) d = -d; exit !(x != "" && d <= 0.0001) }'; then
        ok "eval: loss $l == train's last valid loss $best"
    else
        notok "eval: loss $l == train's last valid loss $best"
    fi
fi
expect "eval: --dim V=$((NV + 5)) against the checkpoint's params" 1 "shape \[$NV, 16\].*\[$((NV + 5)), 16\]" \
    "$NNGC" eval $M --params "$tmp/lm.st" --data "$tmp/valid.txt" --dim V=$((NV + 5))
expect "eval: a --vocab of another size than CKPT.train's V" 1 "two sizes for dim V" \
    "$NNGC" eval $M --params "$tmp/lm.st" --vocab "$tmp/m50.st.vocab" --data "$tmp/valid.txt"
expect "eval: seeded params, V from --vocab" 0 "^loss per word" \
    "$NNGC" eval $M --vocab "$tmp/m50.st.vocab" --data "$tmp/valid.txt"

# ---------------------------------------------------------------- 4: resume, batch
expect "resume: --params CKPT, 3 epochs in all" 0 "^epoch 3/3: train loss" \
    "$NNGC" train $M --data "$tmp/train.txt" --valid "$tmp/valid.txt" --epochs 3 --params "$tmp/lm.st" \
    --save "$tmp/lm3.st" -q
shape "resume: emb is still [$NV, 16]" "$tmp/lm3.st" emb "$NV,16"
expect "batch: --batch 4 compiles the batched program with V = $NV" 0 "examples per call of the batched program" \
    "$NNGC" train $M --data "$tmp/train.txt" --epochs 1 --batch 4 --save "$tmp/b.st"
shape "batch: emb is [$NV, 16]" "$tmp/b.st" emb "$NV,16"

# --dump-order (bench/rnnlm_ppl.sh replay's input): each epoch a permutation of the 320 examples
expect "dump-order: 2 epochs" 0 "^epoch 2/2" "$NNGC" train $M --data "$tmp/train.txt" --epochs 2 --batch 4 \
    --dump-order "$tmp/order.txt" -q
for e in 1 2; do
    awk -v e="$e" '/^epoch/ { on = ($2 == e); next } on' "$tmp/order.txt" | sort -n >"$tmp/o$e"
    if seq 0 319 | cmp -s - "$tmp/o$e"; then ok "dump-order: epoch $e is a permutation of 0..319"; else
        notok "dump-order: epoch $e is a permutation of 0..319"; fi
done
awk '/^epoch 1$/ { f = 1; next } /^epoch/ { f = 0 } f' "$tmp/order.txt" >"$tmp/r1"
if [ "$(grep -c '^epoch' "$tmp/order.txt")" -eq 2 ] && ! cmp -s "$tmp/o1" "$tmp/r1"; then
    ok "dump-order: two epochs, the first not in file order"
else
    notok "dump-order: two epochs, the first not in file order"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
