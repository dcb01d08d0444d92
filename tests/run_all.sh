#!/bin/sh
# tests/run_all.sh - runs every test suite and sums up (what `make test` runs,
# after `make all`; it builds nothing itself but the unit tests).
#
#   sh tests/run_all.sh          VERBOSE=1 shows every "ok" line too
#
# Suites, in order:
#   unit     make -s unit-test: the cmocka binaries build/tests/test_*;
#            counted from cmocka's "[  PASSED  ] N test(s)." and
#            "[  FAILED  ] N test(s)" lines
#   golden   tests/golden/run.sh   IR dumps against reviewed .expected files
#   errors   tests/errors/run.sh   the bad-input catalogue
#   e2e      tests/e2e/run.sh      compiled models against NumPy references
#   cli      tests/cli/run.sh      the command line (when present)
#   opt      tests/opt/run.sh      every model at -O0/-O1/-O2 and each pass alone
#                                  gives the same results; pass options
#   apps     tests/apps/run.sh     the example application, make install + pkg-config
#   install  tests/install/run.sh  make install, then the README's pkg-config line as written
#   files    tests/files/run.sh    params files as NumPy users make them (.npz,
#                                  safetensors), missing params, a save past ulimit -f
#   train    tests/train/run.sh    training against PyTorch fixtures
#   docs     tests/docs/run.sh     the nn examples of README.md and docs/LANGUAGE.md
#                                  compile; the demo trains and evaluates on
#                                  different files and says which
#   fuzz     tests/fuzz/run.sh     every fuzz target's corpus (seeds, past crashes)
#                                  replayed without libFuzzer
#   limits   tests/limits/run.sh   big and deep programs compile fast; errors found
#                                  at compile time; concat of ids
# Each script suite ends with a line "N passed, N failed". A suite that
# exits non-zero without reporting a failure (a crash, a missing summary) counts
# as one more failure, so a broken suite can never look green.
#
# BUILD (set by make) selects the build tree; see "script suites" below.
# TEST_JOBS suites run side by side (default: the CPUs; 1 runs them one
# after another); each one's output goes to its own file, and the report
# comes in the order above whatever order they finish in.
#
# Prints each suite's failures and summary (with its seconds), then exactly
# one last line "N passed, N failed"; exits 1 if anything failed.

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.." || exit 1

# One BLAS thread unless the caller says otherwise: the suites run side by
# side with nothing else on small machines, and the runtime multiplies
# skinny products with its own kernel only when OpenBLAS has one thread
# (runtime/blas.c), which is the path the suites should cover.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

# The suites that build a matrix of models and options through nngc run,
# train and eval have the backend compiler build them at -O0
# (NNGC_CFLAGS, docs/CLI.md): clang -O2 was most of their time (opt 104
# CPU-s against 51, trainbatch 53 against 10, batch 43 against 14). The
# others (e2e, train, cli, approx_e2e, cuda, docs, ...) build generated
# code as users do, at nngc's -O2.
fast_build="opt batch trainbatch partrain traincli opendim subsample predict"

# run_one NAME: the suite's output in $tmp/NAME, then its exit status and
# seconds in $tmp/NAME.st (written last: the sign that it ended).
run_one() {
    t0=$(date +%s)
    case " $fast_build " in *" $1 "*)
        NNGC_CFLAGS="-O0${NNGC_CFLAGS:+ $NNGC_CFLAGS}"
        export NNGC_CFLAGS
        ;;
    esac
    if [ "$1" = unit ]; then
        make -s unit-test >"$tmp/unit" 2>&1
    else
        sh "tests/$1/run.sh" >"$tmp/$1" 2>&1
    fi
    st=$?
    echo "$st $(($(date +%s) - t0))" >"$tmp/$1.tmp" && mv "$tmp/$1.tmp" "$tmp/$1.st"
}

if [ "${1:-}" = --one ]; then # the runner's xargs, for each suite
    tmp=$2
    run_one "$3"
    exit 0
fi

total_pass=0
total_fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
# one build cache for every suite (nngc run, train and eval compile a
# model once per source: docs/CLI.md), not the user's
export NNGC_CACHE_DIR="$tmp/cache"

# show FILE: the suite's output, all of it with VERBOSE=1, else without the
# "ok" lines (failures, their details and the summary remain).
show() {
    if [ -n "$VERBOSE" ]; then
        cat "$1"
    else
        grep -v -e '^ok - ' -e '^\[       OK \]' -e '^\[ RUN      \]' "$1"
    fi
}

# account NAME STATUS PASSED FAILED [SECONDS]: adds a suite's counts to the totals.
account() {
    p=$3
    f=$4
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $1: exited with status $2 without reporting a failure"
        f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    echo "== $1: $p passed, $f failed${5:+ (${5}s)}"
}

# ---------------------------------------------------------------- the suites

# Sanitizer reports: a stack trace; known leaks of test code suppressed.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp}"

# A sanitizer build (make SANITIZE=... test: BUILD=build-asan) runs the
# same suites with its own binaries: every suite takes NNGC and NPYCMP,
# nngc run compiles generated code with NNGC_CC, and the suites that build
# C programs use CC; $BUILD/cc is the compiler with the sanitizer flags.
BUILD=${BUILD:-build}
if [ "$BUILD" != build ]; then
    export NNGC="$PWD/$BUILD/nngc" NPYCMP="$PWD/$BUILD/npycmp" NNGC_CC="$PWD/$BUILD/cc" CC="$PWD/$BUILD/cc" BUILD
fi

# Every tests/NAME/run.sh is a suite: the long-standing ones first, in this
# order, then any other in alphabetical order (a new suite needs no edit here).
first="golden errors e2e cli opt apps train"
rest=$(for s in tests/*/run.sh; do s=${s#tests/}; s=${s%/run.sh}; case " $first " in *" $s "*) ;; *) echo "$s" ;; esac; done)
suites=$(echo unit $first $rest) # one line

# The longest suites start first, so that side by side they end together
# (seconds, side by side on 2 cores, 2026-12-03: cuda 462, approx_e2e 88,
# threads 80, predict 71, opt 67, train 64, cli 44, the rest under 30,
# make test 8m48 in all; under ASan predict 128, opt and approx_e2e 114,
# threads 74, train and trainbatch 70, the rest under 55, 7m23 in all).
long="cuda approx_e2e threads predict opt train cli trainbatch batch partrain"
start_order=$(for s in $long; do case " $suites " in *" $s "*) echo "$s" ;; esac; done
    for s in $suites; do case " $long " in *" $s "*) ;; *) echo "$s" ;; esac; done)

jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) jobs=1 ;; esac
printf '%s\n' $start_order | xargs -P "$jobs" -n 1 sh "$self" --one "$tmp" &
pool=$!

for suite in $suites; do
    if [ "$suite" != unit ] && [ ! -f "tests/$suite/run.sh" ]; then
        echo "== $suite: skipped (no tests/$suite/run.sh)"
        continue
    fi
    while [ ! -f "$tmp/$suite.st" ] && kill -0 "$pool" 2>/dev/null; do
        sleep 1
    done
    echo "== $suite"
    if [ ! -f "$tmp/$suite.st" ]; then
        echo "not ok - $suite: never ended (the runner stopped)"
        account "$suite" 1 0 1
        continue
    fi
    read -r st secs <"$tmp/$suite.st"
    show "$tmp/$suite"
    if [ "$suite" = unit ]; then # cmocka's lines
        p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/unit" | awk '{ s += $1 } END { print s + 0 }')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/unit" | awk '{ s += $1 } END { print s + 0 }')
        account unit "$st" "$p" "$f" "$secs"
        continue
    fi
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/$suite" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "not ok - $suite: no \"N passed, N failed\" line (status $st)"
        account "$suite" 1 0 1 "$secs"
        continue
    fi
    p=${summary%% passed*}
    f=${summary#*passed, }
    f=${f%% failed}
    account "$suite" "$st" "$p" "$f" "$secs"
done
wait "$pool"

echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
