#!/bin/sh
# tests/threads/run.sh - contexts of one model on two threads (docs/API.md,
# "Threads"), plainly and under ThreadSanitizer.
#
#   sh tests/threads/run.sh      (from anywhere; uses build/nngc,
#                                 build/libnngrt.a and a C compiler)
#
# tests/threads/threads_test.c (see its header for the checks: two threads
# bit for bit against one, grad + update == train_step, grad_accumulate and
# an SGD step by hand) built with each model:
#
#   rnnlm        examples/rnnlm.nn (Adam)
#   rnnlm_sgd    the same with --optimizer=sgd:lr=0.1 (the hand-made step)
#   skipgram     examples/skipgram.nn at -O2: sparse table gradients, with
#                lists of touched rows that grad_accumulate merges
#   skipgram_O0  at -O0: dense table gradients (nnrt_sgd_update_rows)
#   rnnlm_notrain  --no-train: contexts for forward alone
#   birnn        bench/models/birnn.nn at -O2: two loops at the same time
#                (pass par, nnrt_par2), in the forward and the train graph
#
# then rnnlm, skipgram and birnn (and birnn with NNRT_SPIN_US=200: the
# pass par's worker spins before it sleeps) again with the program, the generated code and the
# runtime (its sources, with -DNNRT_NO_CLONES: TSan cannot load the
# target_clones ifunc resolvers) built with -fsanitize=thread; any report is
# a failure (halt_on_error). OpenBLAS is not instrumented.
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
RTLIB=${RTLIB:-$(dirname "$NNGC")/libnngrt.a}
CC=${CC:-cc}
# the TSan build's compiler: not $CC, which a sanitizer run of the suites
# (make SANITIZE=address,...) sets to one with flags TSan cannot join
TSAN_CC=${TSAN_CC:-cc}
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
export OPENBLAS_NUM_THREADS=1

. tests/lib.sh
make_tmp threads
need_tools threads "$NNGC"

# model NAME FILE NNGC-FLAGS...: compiles FILE into $tmp/NAME.c
model() {
    name=$1
    file=$2
    shift 2
    "$NNGC" "$@" "$file" -o "$tmp/$name.c" 2>"$tmp/$name.log"
}

# run_test NAME BINARY MAXID T: runs it, counts its ok / not ok lines
run_test() {
    "$2" "$1" "$3" "$4" >"$tmp/$1.out" 2>"$tmp/$1.err"
    st=$?
    cat "$tmp/$1.out"
    tap_count "$tmp/$1.out" "$tmp/$1.err" "$st" "$1" 30
}

# name file maxid T flags
while read -r name file maxid T flags; do
    if ! model "$name" "$file" $flags; then
        notok "$name: nngc $flags $file"
        detail "$tmp/$name.log"
        continue
    fi
    desc=${name%%_*}_desc
    if ! $CC -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$tmp" -DDESC="$desc" -o "$tmp/$name" \
        tests/threads/threads_test.c "$tmp/$name.c" "$RTLIB" $BLAS -lm -lpthread >"$tmp/$name.cc" 2>&1; then
        notok "$name: build threads_test"
        detail "$tmp/$name.cc" 20
        continue
    fi
    run_test "$name" "$tmp/$name" "$maxid" "$T"
done <<EOF
rnnlm examples/rnnlm.nn 10000 6 -O2
rnnlm_sgd examples/rnnlm.nn 10000 6 -O2 --optimizer=sgd:lr=0.1
skipgram examples/skipgram.nn 30 8 -O2
skipgram_O0 examples/skipgram.nn 30 8 -O0
rnnlm_notrain examples/rnnlm.nn 10000 6 -O2 --no-train
birnn bench/models/birnn.nn 50 6 -O2
EOF

# ---------------------------------------------------------------- TSan
TSAN="-fsanitize=thread -g -O1 -DNNRT_NO_CLONES"
mkdir -p "$tmp/rt"
rt_ok=1
for src in runtime/*.c; do
    obj="$tmp/rt/$(basename "$src" .c).o"
    if ! $TSAN_CC -std=c11 -D_GNU_SOURCE $TSAN -Iruntime $BLAS_CFLAGS -DNNRT_HAVE_CBLAS -c "$src" -o "$obj" \
        >>"$tmp/rt.log" 2>&1; then
        rt_ok=0
    fi
done
if [ $rt_ok -eq 1 ]; then
    ok "tsan: the runtime built with -fsanitize=thread"
else
    notok "tsan: the runtime built with -fsanitize=thread"
    detail "$tmp/rt.log" 20
fi
for name in rnnlm skipgram birnn; do
    [ $rt_ok -eq 1 ] || break
    desc=${name}_desc
    if ! $TSAN_CC -std=c11 $TSAN -Iruntime -I"$tmp" -DDESC="$desc" -o "$tmp/tsan_$name" tests/threads/threads_test.c \
        "$tmp/$name.c" "$tmp"/rt/*.o $BLAS -lm -lpthread >"$tmp/tsan_$name.cc" 2>&1; then
        notok "tsan: build threads_test with $name"
        detail "$tmp/tsan_$name.cc" 20
        continue
    fi
    maxid=10000
    [ $name = skipgram ] && maxid=30
    [ $name = birnn ] && maxid=50
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" run_test "tsan_$name" "$tmp/tsan_$name" $maxid 4
done
# the hand-off that spins before it sleeps (runtime/par.c, NNRT_SPIN_US)
# and the one that sleeps at once (the default), both under TSan
if [ -x "$tmp/tsan_birnn" ]; then
    NNRT_SPIN_US=200 TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" run_test "tsan_birnn_spin" \
        "$tmp/tsan_birnn" 50 4
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
