#!/bin/sh
# tests/tsan/run.sh - the concurrency tests, meant to run under
# ThreadSanitizer (`make SANITIZE=thread tsan-test` builds build-tsan/ and
# runs this with its binaries); plain builds run them too.
#
# Each tests/tsan/NAME.c is one test program. Its first line names the
# model it needs, "/* model: PATH.nn */": the runner compiles that model
# with NNGC into tmp/NAME/ (MODEL.c and MODEL.h), builds NAME.c with it
# and the runtime, and runs it with one argument, a scratch directory; exit
# status 0 and no sanitizer report is a pass. To add a test, add a file.
#
# NNGC, CC (the compiler with the sanitizer flags) and RTLIB (libnngrt.a of
# the same build) select the build; defaults: build/. Ends with
# "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
CC=${CC:-cc}
RTLIB=${RTLIB:-$(dirname "$NNGC")/libnngrt.a}
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
TMO=${TSAN_TIMEOUT:-300}
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
. tests/lib.sh
need_tools tsan "$NNGC"
make_tmp tsan

for src in tests/tsan/*.c; do
    name=$(basename "$src" .c)
    model=$(sed -n '1s|^/\* model: \([^ ]*\.nn\).*|\1|p' "$src")
    dir=$tmp/$name
    mkdir -p "$dir/scratch"
    if [ -z "$model" ]; then
        notok "$name: no '/* model: PATH.nn' first line"
        continue
    fi
    mname=$(basename "$model" .nn)
    if ! "$NNGC" "$model" -o "$dir/$mname.c" >"$dir/log" 2>&1 ||
        ! $CC -std=c11 -O1 -g -Wall -Wextra -Iruntime -I"$dir" -o "$dir/prog" "$src" "$dir/$mname.c" \
            "$RTLIB" $BLAS -lm -lpthread >>"$dir/log" 2>&1; then
        notok "$name: build"
        detail "$dir/log" 12
        continue
    fi
    timeout "$TMO" "$dir/prog" "$dir/scratch" >"$dir/out" 2>&1
    st=$?
    if [ "$st" -eq 0 ] && ! grep -q "WARNING: ThreadSanitizer\|ERROR: .*Sanitizer" "$dir/out"; then
        ok "$name: $(head -n 1 "$dir/out")"
    else
        notok "$name: $(status_text $st)"
        detail "$dir/out" 30
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
