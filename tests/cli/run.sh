#!/bin/sh
# tests/cli/run.sh - tests of the nngc command line: options, output files,
# -c / --shared, and `nngc run` with good and bad inputs.
#
#   make && sh tests/cli/run.sh          (from the repository root)
#
# The model is tests/cli/tiny.nn; its params, inputs and hand-computed
# expected results are checked in under tests/cli/data/ (written by
# data/make_data.py), so nothing here needs NumPy. Prints one FAIL line per
# failed check and "N passed, N failed" at the end; exits 1 on any failure.
# NNGC and NPYCMP override the binaries under test.
set -u

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
NPYCMP=${NPYCMP:-build/npycmp}
T=tests/cli
DATA=$T/data
MODEL=$T/tiny.nn

if [ ! -x "$NNGC" ]; then
    echo "tests/cli/run.sh: $NNGC is missing: run make first" >&2
    exit 1
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/nngc-cli.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
# nngc run's temporary directories go here, so the test can see that they
# are removed.
mkdir "$W/tmp"
TMPDIR=$W/tmp
export TMPDIR

pass=0
fail=0

bad() {
    fail=$((fail + 1))
    echo "FAIL: $1"
    if [ -s "$W/err" ]; then sed -n '1,6s/^/    | /p' "$W/err"; fi
}

# expect STATUS NAME TEXT CMD...: runs CMD; checks the exit status, that
# stdout+stderr contain TEXT (if not empty), that a failure says "error:",
# and that it did not crash (a signal gives a status over 128).
expect() {
    want=$1 name=$2 text=$3
    shift 3
    "$@" >"$W/out" 2>"$W/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "$name: exit status $got, expected $want"
        return 1
    fi
    if [ -n "$text" ] && ! cat "$W/out" "$W/err" | grep -qF -- "$text"; then
        bad "$name: output does not contain '$text'"
        return 1
    fi
    if [ "$want" -ne 0 ] && ! grep -q "error:" "$W/err"; then
        bad "$name: no 'error:' message on stderr"
        return 1
    fi
    pass=$((pass + 1))
    return 0
}

# check NAME CMD...: CMD must succeed (a plain predicate).
check() {
    name=$1
    shift
    if "$@" >/dev/null 2>"$W/err"; then
        pass=$((pass + 1))
    else
        bad "$name"
    fi
}

# ---------------------------------------------------------------- options
expect 0 "--help" "usage: nngc" "$NNGC" --help
expect 0 "--version" "nngc 0.2.0" "$NNGC" --version
expect 2 "no arguments" "usage" "$NNGC"
expect 2 "unknown option" "unknown option '--bogus'" "$NNGC" --bogus "$MODEL"
expect 2 "two model files" "more than one model file" "$NNGC" "$MODEL" "$MODEL"
expect 2 "-O3" "optimization level" "$NNGC" -O3 "$MODEL"
expect 2 "-o without a value" "needs a file name" "$NNGC" "$MODEL" -o
expect 2 "-c with --shared" "cannot be combined" "$NNGC" -c --shared "$MODEL"
expect 2 "unknown pass" "unknown pass 'nosuch'" "$NNGC" --passes=nosuch "$MODEL"
expect 2 "unknown disabled pass" "unknown pass 'nosuch'" "$NNGC" --disable-pass=nosuch "$MODEL"
expect 2 "unknown dump point" "unknown dump point 'nosuch'" "$NNGC" --dump-ir=nosuch "$MODEL"
expect 2 "bad --softmax" "--softmax=bogus" "$NNGC" --softmax=bogus "$MODEL"
expect 1 "missing model file" "nosuch.nn" "$NNGC" "$W/nosuch.nn"
expect 2 "output onto the model" "would overwrite the model" "$NNGC" "$MODEL" -o "$MODEL"

# ---------------------------------------------------------------- C output
expect 0 "-o writes model.c" "" "$NNGC" "$MODEL" -o "$W/m.c" &&
    check "-o writes the header next to it" grep -q "tiny_forward" "$W/m.h" &&
    check "model.c includes m.h" grep -q '#include "m.h"' "$W/m.c" &&
    check "#line markers by default" grep -q '#line' "$W/m.c" &&
    check "generated C compiles warning-free" cc -std=c11 -Wall -Wextra -Werror -Iruntime -I"$W" -c "$W/m.c" -o "$W/m_cc.o"
# Every example and bench model, at each -O level, with and without the
# training API, compiles warning-free under gcc and clang (an unused static
# helper, say, is a warning only clang gives).
warn_free() {
    for m in examples/*.nn bench/models/*.nn; do
        for O in -O0 -O1 -O2; do
            for t in "" --no-train; do
                "$NNGC" "$m" $O $t -o "$W/wf.c" || { echo "$m $O $t: nngc failed" >&2; return 1; }
                for c in gcc clang; do
                    command -v $c >/dev/null || continue
                    $c -std=c11 -Wall -Wextra -Werror -Iruntime -I"$W" -c "$W/wf.c" -o "$W/wf.o" ||
                        { echo "$m $O $t: $c warns" >&2; return 1; }
                done
            done
        done
    done
}
check "every example and bench model compiles warning-free (gcc, clang; -O0/-O1/-O2; with and without training)" warn_free
expect 0 "--no-line" "" "$NNGC" "$MODEL" --no-line -o "$W/noline.c" &&
    check "--no-line: no #line" sh -c "! grep -q '#line' '$W/noline.c'"
check "no temporary files left next to the output" sh -c "! ls '$W' | grep -q '\.tmp'"

mkdir "$W/def"
cp "$MODEL" "$W/def/tiny.nn"
expect 0 "default output name" "" "$NNGC" "$W/def/tiny.nn" &&
    check "default output is MODEL.c + MODEL.h" test -s "$W/def/tiny.c" -a -s "$W/def/tiny.h"

# ---------------------------------------------------------------- -c, --shared
mkdir -p "$W/obj"
expect 0 "-c" "" "$NNGC" -c "$MODEL" -o "$W/obj/tiny.o" &&
    check "-c: object defines tiny_forward" sh -c "nm '$W/obj/tiny.o' | grep -q ' T tiny_forward'" &&
    check "-c: header next to the object" grep -q "tiny_forward" "$W/obj/tiny.h"
mkdir -p "$W/so"
expect 0 "--shared" "" "$NNGC" --shared "$MODEL" -o "$W/so/tiny.so" &&
    check "--shared: exports tiny_forward" sh -c "nm -D --defined-only '$W/so/tiny.so' | grep -q ' T tiny_forward'" &&
    check "--shared: runtime linked in" sh -c "nm -D --defined-only '$W/so/tiny.so' | grep -q ' T nnrt_'" &&
    check "--shared: header next to it" test -s "$W/so/tiny.h" &&
    check "--shared: an app links against the .so alone" \
        ${CC:-cc} -std=c11 -Wall -Iruntime -I"$W/so" $T/shared_app.c "$W/so/tiny.so" -Wl,-rpath,"$W/so" -o "$W/so/app" &&
    expect 0 "--shared: the app computes loss and y" "1.6931 -1.0000 -1.0000" "$W/so/app" $DATA/params.safetensors

# ---------------------------------------------------------------- inspection
mkdir "$W/dump"
cp "$MODEL" "$W/dump/tiny.nn"
expect 0 "--dump-ir=lower" "; ---- IR dump after lower ----" "$NNGC" --dump-ir=lower "$W/dump/tiny.nn"
expect 0 "--dump-ir" "; ---- IR dump after" "$NNGC" --dump-ir "$W/dump/tiny.nn"
expect 0 "--dump-ir=all" "; ---- IR dump after lower ----" "$NNGC" --dump-ir=all "$W/dump/tiny.nn"
expect 0 "--dot" "digraph" "$NNGC" --dot "$W/dump/tiny.nn"
check "--dump-ir/--dot alone write no output files" test ! -e "$W/dump/tiny.c" -a ! -e "$W/dump/tiny.h"
expect 0 "--dump-ir with -o" "IR dump" "$NNGC" --dump-ir=lower "$W/dump/tiny.nn" -o "$W/dump/out.c" &&
    check "--dump-ir with -o writes the output" test -s "$W/dump/out.c"
expect 0 "--dot=FILE" "" "$NNGC" --dot="$W/dump/g.dot" "$W/dump/tiny.nn" &&
    check "--dot=FILE writes Graphviz" grep -q digraph "$W/dump/g.dot"
expect 0 "-O0 --passes= (no passes)" "" "$NNGC" -O0 --passes= "$MODEL" -o "$W/o0.c"

# ---------------------------------------------------------------- nngc run
P="--params $DATA/params.safetensors"
IN="--input words=$DATA/words.npy --input x=$DATA/x.npy --input c=$DATA/c.npy"

# shellcheck disable=SC2086 # $P and $IN are word lists on purpose
expect 0 "run --out" "" "$NNGC" run "$MODEL" $P $IN --out "$W/res/sub" &&
    check "run: y matches the hand-computed value" "$NPYCMP" "$W/res/sub/y.npy" $DATA/expect_y.npy &&
    check "run: loss matches the hand-computed value" "$NPYCMP" "$W/res/sub/loss.npy" $DATA/expect_loss.npy
check "npycmp can fail (y vs loss)" sh -c "! '$NPYCMP' '$W/res/sub/y.npy' $DATA/expect_loss.npy"
# shellcheck disable=SC2086
expect 0 "run prints the loss" "loss = 1.69315" "$NNGC" run "$MODEL" $P $IN
check "run prints the outputs" grep -qF "y [2] = -1 -1" "$W/out"
# shellcheck disable=SC2086
expect 0 "run --repeat" "(3 calls)" "$NNGC" run "$MODEL" $P $IN --repeat 3 &&
    check "run --repeat prints the median" grep -q "^time: median [0-9]*\.[0-9] us per call" "$W/out"
# shellcheck disable=SC2086
expect 0 "run -O0" "loss = 1.69315" "$NNGC" run -O0 "$MODEL" $P $IN
# shellcheck disable=SC2086
expect 0 "run: int64 .npy is converted" "loss = 1.69315" "$NNGC" run "$MODEL" $P \
    --input words=$DATA/words_i64.npy --input x=$DATA/x.npy --input c=$DATA/c.npy
# shellcheck disable=SC2086
expect 0 "run --dim agreeing with the inputs" "loss = 1.69315" "$NNGC" run "$MODEL" $P $IN --dim T=3
# shellcheck disable=SC2086
expect 0 "run with seeded params" "loss = " "$NNGC" run "$MODEL" $IN --seed 7
# shellcheck disable=SC2086
expect 0 "run -v says how many params it loaded" "loaded 2 of 2 params" "$NNGC" run -v "$MODEL" $P $IN

# bad inputs: each gives exit 1 and a message that names the problem
X="--input x=$DATA/x.npy"
C="--input c=$DATA/c.npy"
WD="--input words=$DATA/words.npy"
# shellcheck disable=SC2086
{
expect 1 "run: unknown input name" "has no input 'foo' (its inputs: words, x, c)" \
    "$NNGC" run "$MODEL" $P $IN --input foo=$DATA/x.npy
expect 1 "run: missing input" "missing input 'c'" "$NNGC" run "$MODEL" $P $WD $X
expect 1 "run: input given twice" "given twice" "$NNGC" run "$MODEL" $P $IN $X
expect 1 "run: wrong dtype" "holds int32 data" "$NNGC" run "$MODEL" $P $WD $C --input x=$DATA/x_int.npy
expect 1 "run: wrong rank" "has rank 2" "$NNGC" run "$MODEL" $P $WD $C --input x=$DATA/x_2d.npy
expect 1 "run: wrong axis size" "axis 0 has 3 elements, expected 2" \
    "$NNGC" run "$MODEL" $P $WD $C --input x=$DATA/x_3.npy
expect 1 "run: size over max" "words: axis 0 has 5 elements, so T = 4, over its max 3" \
    "$NNGC" run "$MODEL" $P $X $C --input words=$DATA/words_long.npy
expect 1 "run: id out of range" "out of range" "$NNGC" run "$MODEL" $P $X $C --input words=$DATA/words_badid.npy
expect 1 "run: corrupt npy" "corrupt.npy" "$NNGC" run "$MODEL" $P $WD $C --input x=$DATA/corrupt.npy
expect 1 "run: missing npy" "nosuch.npy" "$NNGC" run "$MODEL" $P $WD $C --input x=$W/nosuch.npy
expect 1 "run: corrupt params" "params_corrupt" "$NNGC" run "$MODEL" $IN --params $DATA/params_corrupt.safetensors
expect 1 "run: params of the wrong shape" "W" "$NNGC" run "$MODEL" $IN --params $DATA/params_badshape.safetensors
expect 1 "run: missing params file" "nosuch.safetensors" "$NNGC" run "$MODEL" $IN --params $W/nosuch.safetensors
expect 1 "run: --dim against the inputs" "expected 3" "$NNGC" run "$MODEL" $P $IN --dim T=2
expect 1 "run: --dim of an unknown dim" "no dim named 'Q'" "$NNGC" run "$MODEL" $P $IN --dim Q=2
expect 1 "run: --dim over max" "from 1 to 3" "$NNGC" run "$MODEL" $P $IN --dim T=9
expect 1 "run: no backend compiler" "cannot run the backend compiler" \
    "$NNGC" run "$MODEL" $P $IN --cc=$W/nosuch-cc
expect 1 "run: missing model" "nosuch.nn" "$NNGC" run "$W/nosuch.nn" $IN
expect 2 "run: no model" "needs a model file" "$NNGC" run
expect 2 "run: --input without =" "NAME=VALUE" "$NNGC" run "$MODEL" --input x
expect 2 "run: --repeat 0" "--repeat" "$NNGC" run "$MODEL" $IN --repeat 0
expect 2 "run: unknown option" "unknown option '--bogus'" "$NNGC" run "$MODEL" --bogus
}
check "run removes its temporary directory" sh -c "[ -z \"\$(ls -A '$W/tmp')\" ]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
