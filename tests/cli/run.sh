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
# nngc's build cache: the caller's (tests/run_all.sh), else one of our own
NNGC_CACHE_DIR=${NNGC_CACHE_DIR:-$W/cache}
export NNGC_CACHE_DIR

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
expect 0 "--version: the matrix kernels" "matrix products: " "$NNGC" --version
# OpenBLAS on its generic kernels on a CPU with AVX2: the note that says how to get its fast ones
if "$NNGC" --version | grep -q "OpenBLAS (Prescott)" && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    expect 0 "--version: OPENBLAS_CORETYPE note" "note: OpenBLAS runs its generic kernels (Prescott)" "$NNGC" --version
fi
expect 2 "no arguments" "usage" "$NNGC"
expect 2 "unknown option" "unknown option '--bogus'" "$NNGC" --bogus "$MODEL"
# an option one or two typos away from a real one: the guess, from the
# command's usage (and nngc's, whose compiler options every command takes)
expect 2 "unknown option: a guess" "unknown option '--dump-irr'; did you mean '--dump-ir'?" "$NNGC" --dump-irr "$MODEL"
expect 2 "nngc run: a guess" "unknown option '--grad'; did you mean '--grads'? (see nngc run --help)" \
    "$NNGC" run "$MODEL" --grad "$W"
expect 2 "nngc train: a guess" "unknown option '--epoch'; did you mean '--epochs'? (see nngc train --help)" \
    "$NNGC" train "$MODEL" --epoch 3
expect 2 "nngc eval: a compiler option's guess" "unknown option '--softmx=neg'; did you mean '--softmax'?" \
    "$NNGC" eval "$MODEL" --softmx=neg
expect 2 "two model files" "more than one model file" "$NNGC" "$MODEL" "$MODEL"
expect 2 "-O3" "optimization level" "$NNGC" -O3 "$MODEL"
expect 2 "-o without a value" "needs a file name" "$NNGC" "$MODEL" -o
expect 2 "-c with --shared" "cannot be combined" "$NNGC" -c --shared "$MODEL"
expect 2 "unknown pass" "unknown pass 'nosuch'" "$NNGC" --passes=nosuch "$MODEL"
expect 2 "unknown disabled pass" "unknown pass 'nosuch'" "$NNGC" --disable-pass=nosuch "$MODEL"
expect 2 "unknown dump point" "unknown dump point 'nosuch'" "$NNGC" --dump-ir=nosuch "$MODEL"
expect 2 "bad --softmax" "--softmax=bogus" "$NNGC" --softmax=bogus "$MODEL"
expect 2 "--softmax with an argument twice" "--softmax=neg:k=3,k=4: softmax method neg: argument 'k' given twice" \
    "$NNGC" --softmax=neg:k=3,k=4 "$MODEL" -o "$W/sm.c"
expect 2 "--softmax with two positional arguments" "argument 'k' given twice" "$NNGC" --softmax=neg:3,4 "$MODEL" -o "$W/sm.c"
for spec in neg: neg:,k=3 neg:k=3, neg:k=3,,power=1; do
    expect 2 "--softmax=$spec: an empty argument" "--softmax=$spec: an empty argument after ':'" \
        "$NNGC" --softmax=$spec "$MODEL" -o "$W/sm.c"
done
expect 2 "--softmax=neg:=3: an argument without a name" "an argument without a name" \
    "$NNGC" --softmax=neg:=3 "$MODEL" -o "$W/sm.c"
expect 1 "missing model file" "nosuch.nn" "$NNGC" "$W/nosuch.nn"
expect 2 "output onto the model" "is also an input" "$NNGC" "$MODEL" -o "$MODEL"

# ---------------------------------------------------------------- C output
expect 0 "-o writes model.c" "" "$NNGC" "$MODEL" -o "$W/m.c" &&
    check "-o writes the header next to it" grep -q "tiny_forward" "$W/m.h" &&
    check "model.c includes m.h" grep -q '#include "m.h"' "$W/m.c" &&
    check "#line markers by default" grep -q '#line' "$W/m.c" &&
    check "generated C compiles warning-free" cc -std=c11 -Wall -Wextra -Werror -Iruntime -I"$W" -c "$W/m.c" -o "$W/m_cc.o"
# Every example and bench model, and the corner cases of tests/warnings/,
# at each -O level, with and without the training API, compiles
# warning-free under gcc and clang (an unused static helper, say, is a
# warning only clang gives).
warn_free() {
    for m in examples/*.nn bench/models/*.nn tests/warnings/*.nn; do
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

# the warnings: a param never named, one only in a value that goes nowhere
# (that value too),
# an input never named (a typo, or a term left out of the loss); -w hides
# them, -Werror makes them errors (nothing written)
printf 'model unused\ndim D = 2\nparam W : [D, D]\nparam U : [D, D]\ninput x : [D]\ninput z : [D]\ny = U @ x\nloss += sum(x * x)\n' >"$W/unused.nn"
expect 0 "unused params and inputs: warnings" "" "$NNGC" "$W/unused.nn" -o "$W/unused.c" && {
    cp "$W/err" "$W/unused.err"
    for w in "3:7: warning: param 'W' is never used" "4:7: warning: param 'U' does not affect any output or the loss" \
        "6:7: warning: input 'z' is never used" "7:1: warning: the value bound to 'y' here is never used"; do
        check "... $w" grep -qF "unused.nn:$w" "$W/unused.err"
    done
    check "... and no other" test "$(grep -c 'warning:' "$W/unused.err")" -eq 4
}
# names bound to the parts of a softmax, a cross entropy or the log of a
# sigmoid written out are read through the front end's rewrites: no warning
expect 0 "names read through the front end's rewrites" "" "$NNGC" tests/warnings/written_out.nn -o "$W/wo.c" &&
    cp "$W/err" "$W/wo.err" && check "... no warning" sh -c "! grep -q 'warning:' '$W/wo.err'"
expect 0 "-w: no warnings" "" "$NNGC" -w "$W/unused.nn" -o "$W/unused.c" && cp "$W/err" "$W/w.err" && check "... none on stderr" test ! -s "$W/w.err"
rm -f "$W/unused.c"
expect 1 "-Werror: the warnings are errors" "unused.nn:3:7: error: param 'W' is never used" \
    "$NNGC" -Werror "$W/unused.nn" -o "$W/unused.c" && check "... nothing written" test ! -e "$W/unused.c"
# a name bound in a loop that has ended: the loop's note, no guess of a
# near name (tests/errors/typo_guess.nn has the guesses)
printf 'model dropped\ndim D = 2\ninput x : [D]\nh = x\nfor t in 0..2 {\n  hh = h\n}\noutput y\ny = hh\n' >"$W/dropped.nn"
expect 1 "undefined after its loop: the note" "note: 'hh' was bound here, inside a loop" "$NNGC" "$W/dropped.nn" -o "$W/dropped.c" &&
    cp "$W/err" "$W/dropped.err" && check "... and no guess" sh -c "! grep -q 'did you mean' '$W/dropped.err'"
expect 1 "nngc run -Werror" "unused.nn:6:7: error: input 'z' is never used" "$NNGC" run -Werror "$W/unused.nn"

mkdir "$W/def"
cp "$MODEL" "$W/def/tiny.nn"
expect 0 "default output name" "" "$NNGC" "$W/def/tiny.nn" &&
    check "default output is MODEL.c + MODEL.h" test -s "$W/def/tiny.c" -a -s "$W/def/tiny.h"

# ---------------------------------------------------------------- -c, --shared
mkdir -p "$W/obj"
expect 0 "-c" "" "$NNGC" -c "$MODEL" -o "$W/obj/tiny.o" &&
    check "-c: object defines tiny_forward" sh -c "nm '$W/obj/tiny.o' | grep -q ' T tiny_forward'" &&
    check "-c: header next to the object" grep -q "tiny_forward" "$W/obj/tiny.h"
# a compiler that exits 0 and writes nothing: an error, and neither the
# object nor its header appears
mkdir -p "$W/nocc"
printf '#!/bin/sh\nexit 0\n' >"$W/nocc/cc" && chmod +x "$W/nocc/cc"
for k in -c --shared; do
    expect 1 "$k: a C compiler that writes nothing" "wrote no" env NNGC_CC="$W/nocc/cc" NNGC_CACHE_DIR=off \
        "$NNGC" $k "$MODEL" -o "$W/nocc/tiny.out" &&
        check "$k: a C compiler that writes nothing: no file left" sh -c "! ls '$W/nocc' | grep -q tiny"
done
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
# -v says which kernels multiply and OpenBLAS's threads (its variable's)
if "$NNGC" --version | grep -q "BLAS: openblas"; then
    expect 0 "run -v: the kernels and OpenBLAS's threads" "; 2 BLAS threads" \
        env OPENBLAS_NUM_THREADS=2 "$NNGC" run "$MODEL" $P $IN -v
fi
check "run prints the outputs" grep -qF "y [2] = -1 -1" "$W/out"
# The model nngc run builds links libm by name, so that its exp and log
# bind to their current versions: an unversioned reference binds to the
# oldest one, glibc's SVID wrappers (5% of a hier skip-gram's time). A
# backend compiler that keeps a copy of what it built; then every libm
# function the model calls must carry a version.
cat >"$W/keepcc" <<EOF
#!/bin/sh
$(command -v clang || command -v cc) "\$@" || exit 1
while [ \$# -gt 1 ]; do [ "\$1" = -o ] && cp "\$2" "$W/kept.so"; shift; done
exit 0
EOF
chmod +x "$W/keepcc"
libm_versioned() {
    objdump -T "$W/kept.so" | grep '[*]UND[*]' | grep -E ' (expf?|logf?|log1pf?|tanhf?|sqrtf?|powf?)$' >"$W/libm" &&
        ! grep -qv 'GLIBC_' "$W/libm"
}
# shellcheck disable=SC2086
expect 0 "run with a backend compiler that keeps the model" "loss = 1.69315" env NNGC_CC="$W/keepcc" "$NNGC" run "$MODEL" $P $IN &&
    check "run: the model's libm calls bind to versioned symbols (-lm on its link line)" libm_versioned
# the backend compiler's flags (docs/CLI.md): -fno-trapping-math, and -O3
# for GCC, known by the name of the program or of the file it links to
# (here a logging wrapper named log-gcc behind a link named cc, and one
# named mycc behind a link named gcc), else -O2
cat >"$W/log-gcc" <<EOF
#!/bin/sh
echo "\$*" >"$W/ccargs"
exec $(command -v clang || command -v cc) "\$@"
EOF
chmod +x "$W/log-gcc"
cp "$W/log-gcc" "$W/mycc"
mkdir -p "$W/ccln" && ln -sf "$W/log-gcc" "$W/ccln/cc"
ccargs() { # FLAG...: each on the last command line, and -fno-trapping-math
    for f in "$@" -fno-trapping-math; do grep -q -- "$f" "$W/ccargs" || return 1; done
}
expect 0 "-c with a compiler named like GCC (through a link)" "" "$NNGC" -c --cc="$W/ccln/cc" "$MODEL" -o "$W/ccflags.o" &&
    check "... is run with -O3 -fno-trapping-math" ccargs "-O3 "
expect 0 "--shared with another compiler" "" "$NNGC" --shared --cc="$W/mycc" "$MODEL" -o "$W/ccflags.so" &&
    check "... is run with -O2 -fno-trapping-math" ccargs "-O2 "
ln -sf "$W/mycc" "$W/ccln/gcc"
expect 0 "-c with a link named gcc to another name (as ccache's)" "" "$NNGC" -c --cc="$W/ccln/gcc" "$MODEL" -o "$W/ccflags.o" &&
    check "... is run with -O3" ccargs "-O3 "
# shellcheck disable=SC2086
expect 0 "run with a compiler named like GCC" "loss = 1.69315" env NNGC_CACHE_DIR=off NNGC_CC="$W/log-gcc" "$NNGC" run "$MODEL" $P $IN &&
    check "... builds the model with -O3 -march=native -fno-trapping-math" ccargs "-O3 " -march=native
# NNGC_CFLAGS: its words after nngc's flags (a later -O wins), on every
# backend command line; too many words: an error, no build
# shellcheck disable=SC2086
expect 0 "run with NNGC_CFLAGS" "loss = 1.69315" env NNGC_CACHE_DIR=off NNGC_CFLAGS=" -O0	-DNNGC_T=1 " \
    NNGC_CC="$W/log-gcc" "$NNGC" run "$MODEL" $P $IN &&
    check "... builds with them after nngc's own (-O3 ... -O0 -DNNGC_T=1)" grep -q -- "-O3 .* -O0 -DNNGC_T=1 " "$W/ccargs"
expect 0 "-c with NNGC_CFLAGS" "" env NNGC_CFLAGS=-DNNGC_T=2 "$NNGC" -c --cc="$W/mycc" "$MODEL" -o "$W/ccflags.o" &&
    check "... is run with them" grep -q -- "-O2 .* -DNNGC_T=2 " "$W/ccargs"
expect 1 "NNGC_CFLAGS that the compiler refuses: its error" "the backend compiler" \
    env NNGC_CFLAGS=-fno-such-flag-nngc "$NNGC" --shared "$MODEL" -o "$W/ccflags.so"
# shellcheck disable=SC2086
expect 1 "NNGC_CFLAGS of 17 words" "NNGC_CFLAGS: more than 16 words" \
    env NNGC_CFLAGS="$(printf -- '-DA%s ' $(seq 17))" "$NNGC" run "$MODEL" $P $IN
# the build cache (docs/CLI.md): the same source built by the same compiler
# is compiled once (countcc counts its runs); another source, no cache, a
# damaged entry (rebuilt), a directory that cannot be made (no cache), and
# past 256 entries the least recently used go
cat >"$W/countcc" <<EOF
#!/bin/sh
echo x >>"$W/compiles"
exec $(command -v clang || command -v cc) "\$@"
EOF
chmod +x "$W/countcc"
compiles() { [ "$(cat "$W/compiles" 2>/dev/null | wc -l)" -eq "$1" ]; }
cache_run() { # DIR ARGS...: (NNGC_BIN: another nngc; the same -I whichever)
    d=$1
    shift
    # shellcheck disable=SC2086
    env NNGC_INCLUDE="$PWD/runtime" NNGC_STDLIB="$PWD/stdlib" NNGC_CACHE_DIR="$d" NNGC_CC="$W/countcc" \
        NNGC_CFLAGS="$CFL" "${NNGC_BIN:-$NNGC}" run "$MODEL" $P $IN "$@"
}
CFL=
C=$W/cache1
expect 0 "cache: a first run compiles" "loss = 1.69315" cache_run "$C" && check "cache: ... once" compiles 1 &&
    check "cache: ... and keeps the .so" sh -c "ls '$C'/*-model.so"
expect 0 "cache: the same run again" "loss = 1.69315" cache_run "$C" && check "cache: ... compiles nothing" compiles 1
expect 0 "cache: -O0 (another source)" "loss = 1.69315" cache_run "$C" -O0 && check "cache: ... compiles" compiles 2
CFL=-O1
expect 0 "cache: NNGC_CFLAGS=-O1 (another build)" "loss = 1.69315" cache_run "$C" && check "cache: ... compiles" compiles 3
expect 0 "cache: ... again" "loss = 1.69315" cache_run "$C" && check "cache: ... compiles nothing" compiles 3
CFL=
expect 0 "cache: NNGC_CACHE_DIR=off" "loss = 1.69315" cache_run off && check "cache: off compiles" compiles 4
for f in "$C"/*-model.so; do : >"$f"; done
expect 0 "cache: a damaged entry (emptied)" "loss = 1.69315" cache_run "$C" && check "cache: ... is rebuilt" compiles 5
expect 0 "cache: ... and used after" "loss = 1.69315" cache_run "$C" && check "cache: ... compiles nothing" compiles 5
expect 0 "cache: a directory that cannot be made" "loss = 1.69315" cache_run /proc/nngc-cache &&
    check "cache: ... compiles" compiles 6
mkdir -p "$W/bin" && cp "$NNGC" "$W/bin/nngc"
NNGC_BIN=$W/bin/nngc
expect 0 "cache: another nngc (a copy)" "loss = 1.69315" cache_run "$C" && check "cache: ... compiles" compiles 7
NNGC_BIN=
i=0
while [ $i -lt 300 ]; do
    : >"$C/old$i"
    i=$((i + 1))
done
touch -d '2 hours ago' "$C"/old*
expect 0 "cache: a store into a full cache" "loss = 1.69315" cache_run "$C" -O1 &&
    check "cache: ... keeps 256 entries, the newest" sh -c "[ \$(ls '$C' | wc -l) -eq 256 ] && ls '$C'/*-model.so"
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
expect 0 "run -v says how many params it loaded" "loaded 2 of 2 params" "$NNGC" run -v "$MODEL" $P $IN &&
    check "run -v: all loaded, so no 'the others keep their seeded init'" \
        sh -c "! grep -q 'the others' '$W/err'"

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

# ---------------------------------------------------------------- the train graph's dumps
# data/tiny_train_cse.expected was written by this compiler and read by hand:
# grad W = outer(exp(y - lse) - onehot(c), x), grad E = the two scatter_adds of
# the reverse loop (d dot(a, b) = b, a).
expect 0 "--dump-ir=train:cse" "" "$NNGC" -O1 --dump-ir=train:cse "$MODEL" &&
    check "--dump-ir=train:cse matches data/tiny_train_cse.expected" cmp "$W/out" "$DATA/tiny_train_cse.expected"
"$NNGC" --dump-ir=autodiff "$MODEL" >"$W/ad1" 2>&1
"$NNGC" --dump-ir=train:autodiff "$MODEL" >"$W/ad2" 2>&1
check "--dump-ir=autodiff is --dump-ir=train:autodiff" cmp "$W/ad1" "$W/ad2"
check "the train graph after autodiff has gradients" grep -q '^grad W = ' "$W/ad1"
"$NNGC" -O2 --dump-ir=train:all "$MODEL" >"$W/tall" 2>&1
check "--dump-ir=train:all: after autodiff, then each -O2 pass in order" sh -c \
    "[ \"\$(grep '^; ---- IR dump' '$W/tall' | sed 's/.* after //; s/ -*\$//' | tr '\\n' ' ')\" = 'autodiff softmax fold cse hoist batch rows dce fuse select par ' ]"
"$NNGC" -O2 --dump-ir=train "$MODEL" >"$W/tlast" 2>&1
check "--dump-ir=train is the last dump of train:all" sh -c \
    "sed -n '/^; ---- IR dump after par/,\$p' '$W/tall' | cmp -s - '$W/tlast'"
"$NNGC" -O2 --dump-ir=fuse "$MODEL" >"$W/flast" 2>&1
check "the forward graph's dump has no gradients" sh -c "! grep -q '^grad ' '$W/flast'"
expect 2 "--dump-ir=train:lower" "unknown dump point 'lower'" "$NNGC" --dump-ir=train:lower "$MODEL"
expect 2 "--dump-ir=train:cse at -O0" "--dump-ir=train:cse: pass 'cse' does not run" "$NNGC" -O0 --dump-ir=train:cse "$MODEL"
# (a diff around a pass that does not run printed nothing and exited 0)
expect 2 "--dump-ir-diff=hoist at -O0" "--dump-ir-diff=hoist: pass 'hoist' does not run" "$NNGC" -O0 --dump-ir-diff=hoist "$MODEL"
expect 2 "--dump-ir-diff=batch with --disable-pass=batch" "pass 'batch' does not run" \
    "$NNGC" --disable-pass=batch --dump-ir-diff=batch "$MODEL"
expect 2 "--passes=autodiff" "autodiff is a stage of its own" "$NNGC" --passes=autodiff "$W/dump/tiny.nn"
expect 1 "--dump-ir=train:all with --no-train" "--no-train was given" "$NNGC" --dump-ir=train:all --no-train "$MODEL"

# ---------------------------------------------------------------- errors: one format, source order
# Two approximations the C backend cannot lower (embed of 2 dimensions,
# more classes than words), and an optimizer: both reported at
# their `with`, line 8 before line 9 (autodiff used to find them walking
# backwards and print line 9 first, without the source line).
printf 'model ap\ndim V = 5\ndim D = 2\nparam W : [V, D]\ninput x : [D]\ninput y : int\noptimizer sgd(lr = 0.1)\nloss += cross_entropy(W @ x, y) with embed\nloss += cross_entropy(W @ x, y) with class(6)\n' >"$W/ap.nn"
expect 1 "two approximations" "ap.nn:8:38: error: softmax approximation 'embed' needs an embedding of more than 2 dimensions" "$NNGC" "$W/ap.nn" -o "$W/ap.c" &&
    cp "$W/err" "$W/diag" &&
    check "errors in source order, each with its source line and caret" sh -c \
        "[ \"\$(grep -c 'error:' '$W/diag')\" = 2 ] && grep 'error:' '$W/diag' | head -1 | grep -q ':8:38:' && sed -n 3p '$W/diag' | grep -q '^ *^^^^' && grep -q 'ap.nn:9:38: error:' '$W/diag'"
SGLINE=$(grep -n 'loss += cross_entropy' examples/skipgram.nn | head -1 | cut -d: -f1)
# the same message with --no-train, and from --softmax= (issue #13: once "no
# gradient for cross_entropy with neg", once without a caret or the flag)
for t in "" --no-train; do
    # shellcheck disable=SC2086
    expect 1 "--softmax=class:c=20000 $t: one diagnostic naming the flag" \
        "examples/skipgram.nn:$SGLINE:11: error: softmax approximation 'class' (from --softmax=class:c=20000) needs c <= V (20000 classes for 10000 words)" \
        "$NNGC" examples/skipgram.nn --softmax=class:c=20000 $t -o "$W/sg.c" &&
        cp "$W/err" "$W/diag" &&
        check "--softmax=class:c=20000 $t: exactly one error, with a caret line" sh -c \
            "[ \"\$(grep -c 'error:' '$W/diag')\" = 1 ] && sed -n 3p '$W/diag' | grep -q '^ *^^^'"
done
expect 1 "--softmax=class:c=20000 with --optimizer" "(from --softmax=class:c=20000)" "$NNGC" examples/skipgram.nn --softmax=class:c=20000 --optimizer=sgd:lr=1 -o "$W/sg.c"
expect 0 "--softmax=neg:k=5 compiles skip-gram (passes/approx.c)" "" "$NNGC" examples/skipgram.nn --softmax=neg:k=5 -o "$W/sgn.c"
expect 0 "--dump-ir alone still shows the method" "with neg" "$NNGC" examples/skipgram.nn --softmax=neg --dump-ir=lower
# --softmax on cross entropies over different numbers of classes (a pick
# of a 4-way log_softmax in a loop, a 12-way output layer): the method is
# for the widest, the other stays exact, with a note (was the error "the
# softmax approximations of one model must share one vocabulary (4 and 12
# words)"; found by tests/fuzz/sem_diff.py)
cat >"$W/two.nn" <<'EOF'
model two
dim D = 4
dim C = 12
dim T max 5
param W : [D, D]
param Wo : [C, D]
param E : [C, D]
input ids : int[T]
input xs : [T, D]
for t in 0..T {
  a = tanh(W @ xs[t])
  loss += -(log_softmax(a))[0]
}
loss += sum(cross_entropy(log_softmax(E[ids]) @ transpose(Wo), ids))
EOF
expect 0 "--softmax=hier on 4- and 12-way cross entropies: a note names the one that stays exact" \
    "two.nn:12:12: note: --softmax=hier is for the predictions over 12 classes; this cross_entropy over 4 stays exact" \
    "$NNGC" "$W/two.nn" --softmax=hier --dump-ir=train:autodiff
check "... the 4-way one a cross_entropy (exact), the 12-way one hier's path" sh -c \
    "grep -q 'cross_entropy .*@12:12' '$W/out' && grep -q 'hier_path .*of=12 .*@14:13' '$W/out' && ! grep -q 'hier_path .*of=4' '$W/out'"

# ---------------------------------------------------------------- looking writes nothing
mkdir "$W/look"
cp "$MODEL" "$W/look/tiny.nn"
expect 0 "--stats" "stats after lower" "$NNGC" --stats "$W/look/tiny.nn"
expect 0 "--report=batch" "batch: loop t:" "$NNGC" --report=batch "$W/look/tiny.nn"
expect 2 "--dump-ir PASS: its value must follow '=', and the error says so" \
    "(--dump-ir takes its value after '=': --dump-ir=lower)" "$NNGC" --dump-ir lower "$W/look/tiny.nn"
expect 2 "... --dot FILE likewise" "(--dot takes its value after '=': --dot=g.dot)" \
    "$NNGC" --dot g.dot "$W/look/tiny.nn"
expect 2 "--report of no pass lists the passes with a report" "unknown pass 'bach' in --report (passes with a report: batch, par)" \
    "$NNGC" --report=bach "$W/look/tiny.nn"
expect 0 "--dump-ir-diff=batch" "IR diff around batch" "$NNGC" --dump-ir-diff=batch "$W/look/tiny.nn"
check "--stats/--report/--dump-ir-diff alone write no output files" sh -c "[ \"\$(ls '$W/look')\" = tiny.nn ]"
expect 0 "--stats with -o writes the output" "stats after" "$NNGC" --stats "$W/look/tiny.nn" -o "$W/look/o.c" &&
    check "--stats -o: o.c and o.h" test -s "$W/look/o.c" -a -s "$W/look/o.h"
expect 0 "--report=batch on nested loops" "batch: loop i:" "$NNGC" --report=batch examples/slowimpl.nn &&
    cp "$W/err" "$W/diag" &&
    check "--report=batch names every node (no %-1)" sh -c "grep -q 'batched %[0-9]' '$W/diag' && ! grep -q '%-' '$W/diag'"

# ---------------------------------------------------------------- the options are documented
# every option `nngc --help` and `nngc run --help` list appears in docs/CLI.md
documented() {
    { "$NNGC" --help; "$NNGC" run --help; } | grep -o -- '--*[A-Za-z][A-Za-z0-9-]*' | sort -u >"$W/opts"
    [ -s "$W/opts" ] || return 1
    missing=""
    while read -r o; do
        grep -qF -- "\`$o" docs/CLI.md || missing="$missing $o"
    done <"$W/opts"
    [ -z "$missing" ] || { echo "not in docs/CLI.md:$missing" >&2; return 1; }
}
check "every option of --help and run --help is in docs/CLI.md" documented

# ---------------------------------------------------------------- no output is an input
mkdir "$W/id"
cp "$MODEL" "$W/id/m.nn"
ln "$W/id/m.nn" "$W/id/hard.nn"
ln -s m.nn "$W/id/sym.nn"
printf 'def twice(v) {\n  return v + v\n}\n' >"$W/id/lib.nn"
printf 'model im\nimport "lib"\ndim D = 2\ninput x : [D]\noutput y\ny = twice(x)\n' >"$W/id/im.nn"
cp "$W/id/m.nn" "$W/id/orig.nn"
cp "$W/id/lib.nn" "$W/id/lib.orig"
expect 2 "--dot onto the model" "is also an input" "$NNGC" "$W/id/m.nn" --dot="$W/id/m.nn"
expect 2 "-o onto a hard link of the model" "is the same file as the input" "$NNGC" "$W/id/m.nn" -o "$W/id/hard.nn"
expect 2 "-o onto a symbolic link to the model" "is the same file as the input" "$NNGC" "$W/id/m.nn" -o "$W/id/sym.nn"
expect 1 "-o onto an import" "lib.nn' is" "$NNGC" "$W/id/im.nn" -o "$W/id/lib.nn"
expect 1 "--dot onto an import" "lib.nn' is" "$NNGC" "$W/id/im.nn" --dot="$W/id/lib.nn"
# shellcheck disable=SC2086
{
expect 2 "run --save onto the model" "is also an input" "$NNGC" run "$W/id/m.nn" $P $IN --save "$W/id/m.nn"
cp "$DATA/x.npy" "$W/id/x.npy"
expect 2 "run --save onto an input" "is also an input" "$NNGC" run "$MODEL" $P $WD $C --input x="$W/id/x.npy" --save "$W/id/x.npy"
mkdir "$W/id/out"
cp "$DATA/x.npy" "$W/id/out/y.npy"
expect 1 "run --out onto an input" "y.npy' is also an input" \
    "$NNGC" run "$MODEL" $P $WD $C --input x="$W/id/out/y.npy" --out "$W/id/out"
check "--out left the input as it was" cmp "$W/id/out/y.npy" "$DATA/x.npy"
cp "$DATA/params.safetensors" "$W/id/ck.st"
expect 0 "run --save onto its own --params (a checkpoint) is allowed" "loss = " \
    "$NNGC" run "$MODEL" --params "$W/id/ck.st" $IN --optimizer=sgd:lr=0.1 --train 1 --save "$W/id/ck.st" &&
    check "the checkpoint changed" sh -c "! cmp -s '$W/id/ck.st' '$DATA/params.safetensors'"
}
head -n 40 examples/data/tiny.txt >"$W/id/tiny.txt"
cp "$W/id/tiny.txt" "$W/id/tiny.orig"
expect 2 "train --save onto its --data" "is also an input" \
    "$NNGC" train tests/traincli/models/lm.nn --data "$W/id/tiny.txt" --save "$W/id/tiny.txt" --epochs 1
check "the training data is unchanged" cmp "$W/id/tiny.txt" "$W/id/tiny.orig"
# an output that cannot be written is said before the training, not after
# it (the trained params were lost: the save failed at the end)
expect 1 "train --save into a missing directory: error before training" \
    "nngc: error: --save $W/id/nodir/x.st: cannot write in the directory '$W/id/nodir': it does not exist" \
    "$NNGC" train tests/traincli/models/lm.nn --data "$W/id/tiny.txt" --save "$W/id/nodir/x.st" --epochs 1 &&
    check "... before the first epoch" sh -c "! grep -q '^epoch' '$W/out'"
expect 1 "train --save onto a directory: error" "nngc: error: --save $W/id: that is a directory" \
    "$NNGC" train tests/traincli/models/lm.nn --data "$W/id/tiny.txt" --save "$W/id" --epochs 1
expect 1 "train --save under a file: error" "cannot write in the directory '$W/id/tiny.txt': it is not a directory" \
    "$NNGC" train tests/traincli/models/lm.nn --data "$W/id/tiny.txt" --save "$W/id/tiny.txt/x.st" --epochs 1
expect 1 "train --export into a missing directory: error" \
    "nngc: error: --export $W/id/nodir/e.txt: cannot write in the directory" \
    "$NNGC" train tests/traincli/models/lm.nn --data "$W/id/tiny.txt" --export emb="$W/id/nodir/e.txt" --epochs 1
# the compiler's -o: the file asked for, not its header, and before the compile
expect 1 "-o into a missing directory: error naming it" \
    "nngc: error: -o $W/id/nodir/x.c: cannot write in the directory '$W/id/nodir': it does not exist" \
    "$NNGC" "$MODEL" -o "$W/id/nodir/x.c" && cp "$W/err" "$W/err1" &&
    check "... and no other error" sh -c "[ \$(wc -l <'$W/err1') -eq 1 ]"
expect 1 "-o onto a directory: error" "nngc: error: -o $W/id: that is a directory" "$NNGC" "$MODEL" -o "$W/id"
expect 1 "-c -o into a missing directory: error" "nngc: error: -o $W/id/nodir/x.o: cannot write in the directory" \
    "$NNGC" -c "$MODEL" -o "$W/id/nodir/x.o"
# shellcheck disable=SC2086
expect 1 "run --save into a missing directory: error" "nngc: error: --save $W/id/nodir/x.st: cannot write" \
    "$NNGC" run "$MODEL" $P $IN --optimizer=sgd:lr=0.1 --train 1 --save "$W/id/nodir/x.st"
check "the model, its links and the import are unchanged" sh -c \
    "cmp '$W/id/m.nn' '$W/id/orig.nn' && cmp '$W/id/sym.nn' '$W/id/orig.nn' && cmp '$W/id/lib.nn' '$W/id/lib.orig'"

# an option of one value given twice: the last one wins (docs/CLI.md)
expect 0 "-o given twice: the last one wins" "" "$NNGC" "$MODEL" -o "$W/id/first.c" -o "$W/id/second.c" &&
    check "... only it is written" sh -c "test -f '$W/id/second.c' && ! test -e '$W/id/first.c'"

# ---------------------------------------------------------------- write errors name the path and the reason
# Devices are reached through symbolic links in $W: a regression that
# renamed a temporary file onto the output would replace the link, not
# /dev/full or /dev/null itself (nngc runs as root in CI).
if [ -c /dev/full ]; then
    ln -s /dev/full "$W/full"
    expect 1 "--dot onto /dev/full" "cannot write '$W/full': No space left on device" "$NNGC" "$MODEL" --dot="$W/full"
    expect 1 "--dump-ir > /dev/full" "cannot write the standard output: No space left on device" \
        sh -c "'$NNGC' --dump-ir=all '$MODEL' >/dev/full"
    # shellcheck disable=SC2086
    expect 1 "run > /dev/full" "cannot write the standard output: No space left on device" \
        sh -c "'$NNGC' run '$MODEL' $P $IN >/dev/full"
fi
ln -s /dev/null "$W/null"
expect 0 "--dot onto /dev/null is written in place" "" "$NNGC" "$MODEL" --dot="$W/null" &&
    check "the output is still the device" test -c "$W/null"
# -o /dev/null wrote a file /dev/null.h beside the device (as root)
expect 0 "-o /dev/null: compiles, writing nothing" "" "$NNGC" "$MODEL" -o "$W/null" &&
    check "... no header beside the device" sh -c "test -c '$W/null' && ! test -e '$W/null.h'"
expect 0 "-c -o /dev/null: compiles, writing nothing" "" "$NNGC" -c "$MODEL" -o "$W/null" &&
    check "... no header beside the device" sh -c "test -c '$W/null' && ! test -e '$W/null.h'"

# a UTF-8 byte order mark before the program (a Windows editor's) was
# 'unexpected character' at 1:1; now skipped, columns as the editor shows
printf '\357\273\277' | cat - "$MODEL" >"$W/bom.nn"
expect 0 "a model file with a UTF-8 byte order mark compiles" "" "$NNGC" "$W/bom.nn" -o "$W/bom.c"
printf '\357\273\277modl x\n' >"$W/bom2.nn"
expect 1 "... and its columns count from after the mark" "bom2.nn:1:6: error: unexpected identifier 'x'" \
    "$NNGC" "$W/bom2.nn"

# ---------------------------------------------------------------- hostile inputs
expect 1 "a model that never ends (/dev/zero)" "longer than 16 MiB" timeout 5 "$NNGC" /dev/zero
# an .npy of shape (0, 2^63 - 1) for x : [D, 2 * T - 1]: T must not wrap around
npy_empty() {
    h="{'descr': '<f4', 'fortran_order': False, 'shape': $2, }"
    n=$(((10 + ${#h} + 1 + 63) / 64 * 64 - 10))
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf %03o $((n % 256)))\\$(printf %03o $((n / 256)))"
        printf '%s' "$h"
        printf "%$((n - ${#h} - 1))s\n" ""
    } >"$1"
}
npy_empty "$W/huge.npy" "(3, 9223372036854775807)"
printf 'model huge\ndim D = 3\ndim T max 10\ninput x : [D, 2 * T - 1]\noutput y\ny = sum(x)\n' >"$W/huge.nn"
npy_empty "$W/zero.npy" "(0, 9223372036854775807)"
expect 1 "dim inference: 2^63 - 1 elements" "axis 1 has 9223372036854775807 elements, which no T from 1 to 10 gives" \
    "$NNGC" run "$W/huge.nn" --input x="$W/zero.npy"
cp "$W/err" "$W/diag"
check "dim inference: no negative T" sh -c "grep -q 'axis 1 has' '$W/diag' && ! grep -q 'T = -' '$W/diag'"

# ---------------------------------------------------------------- an output that is a scalar input
# y = s (or what the passes fold to it, s * 1) for a float scalar input s:
# the output is a copy in the context, not &in->s, a pointer into the
# caller's inputs struct (the descriptor's forward, which nngc run calls,
# keeps that struct on its stack: y read garbage after the call)
npy_empty "$W/s.npy" "()"
printf '\000\000\000\100' >>"$W/s.npy" # 2.0f
for e in s "s * 1"; do
    printf 'model sinput\ninput s : float\noutput y\ny = %s\nloss += s\n' "$e" >"$W/sin.nn"
    for O in -O0 -O2; do
        expect 0 "run: output y = $e, s a scalar input ($O)" "" "$NNGC" run $O "$W/sin.nn" --input s="$W/s.npy" \
            --out "$W/sin" && check "... y is s" "$NPYCMP" "$W/sin/y.npy" "$W/s.npy"
    done
done

# ---------------------------------------------------------------- optimizer values (as PyTorch checks them)
for spec in adam:lr=1,beta1=2 adam:beta2=1 adam:eps=-1 sgd:lr=-1 adagrad:lr=1,lr=2 adam:lr=inf adam:lr=nan; do
    expect 2 "--optimizer=$spec is refused" "--optimizer=$spec" "$NNGC" "$MODEL" --optimizer=$spec --dump-ir=lower
done
for spec in sgd:lr=1e-320 sgd:lr=0 adam:beta1=0,eps=0 adagrad:lr=1e-320,eps=1e-320; do
    expect 0 "--optimizer=$spec is accepted" "" "$NNGC" "$MODEL" --optimizer=$spec -o "$W/opt.c"
done
opt_model() {
    printf 'model om\ndim D = 2\nparam W : [D]\ninput x : [D]\noptimizer %s\nloss += dot(W, x)\n' "$1" >"$W/om.nn"
}
opt_model "adam(lr = 1, beta1 = 2)"
expect 1 "optimizer adam(beta1 = 2)" "om.nn:5:1: error: adam beta1 = 2 is out of range" "$NNGC" "$W/om.nn" -o "$W/om.c"
opt_model "adam(eps = -1)"
expect 1 "optimizer adam(eps = -1)" "adam eps = -1 is out of range" "$NNGC" "$W/om.nn" -o "$W/om.c"
opt_model "adagrad(lr = 1, lr = 2)"
expect 1 "optimizer adagrad(lr = 1, lr = 2)" "om.nn:5:27: error: optimizer adagrad: argument 'lr' given twice" "$NNGC" "$W/om.nn" -o "$W/om.c"
opt_model "sgd(lr = x)"
expect 1 "optimizer sgd(lr = x)" "om.nn:5:20: error: expected a number" "$NNGC" "$W/om.nn" -o "$W/om.c"
cp "$W/err" "$W/diag"
check "... and not also 'sgd needs a learning rate'" sh -c "! grep -q 'needs a learning rate' '$W/diag'"
opt_model "adam(lr = x, beta1 = 2)"
expect 1 "optimizer adam(lr = x, beta1 = 2)" "adam beta1 = 2 is out of range" "$NNGC" "$W/om.nn" -o "$W/om.c"
opt_model "sgd(lr = 0)"
expect 0 "optimizer sgd(lr = 0)" "" "$NNGC" "$W/om.nn" -o "$W/om.c"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
