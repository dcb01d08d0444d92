#!/bin/sh
# tests/approx_e2e/run.sh - compiled softmax approximations against the
# runtime's float64 references (docs/APPROX.md).
#
#   sh tests/approx_e2e/run.sh      (from anywhere; uses build/nngc, build/libnngrt.a)
#
# Each case NAME.nn is compiled at -O0 and -O2, the generated C built with
# -Wall -Wextra -Werror, model.c with hook.h forced in (NNGC_SAMPLE_HOOK: a
# test reads every draw back); NAME_test.c then checks loss and gradients
# against the reference (neg: nnrt_ref_neg on those draws; hier:
# nnrt_ref_hier), finite differences, and the forward loss (neg: the exact
# softmax; hier: -log p under the tree). neg_test.c also checks the draws'
# determinism. Prints "ok - ..." lines, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
RTLIB=${RTLIB:-build/libnngrt.a}
CC=${CC:-cc}
TMO=${APPROX_TIMEOUT:-60}
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

. tests/lib.sh

need_tools approx_e2e "$NNGC"
make_tmp approx_e2e
D=tests/approx_e2e

# case: NAME.nn, NAME_test.c, the model's name
for c in neg:negt hier:hiert; do
for O in -O0 -O2; do
    n=${c%%:*} model=${c#*:}
    if ! "$NNGC" $O "$D/$n.nn" -o "$tmp/$model.c" >"$tmp/log" 2>&1; then
        notok "$n $O: nngc"
        detail "$tmp/log"
        continue
    fi
    if ! $CC -std=c11 -O2 -Wall -Wextra -Werror -Iruntime $BLAS_CFLAGS -I"$tmp" -include "$D/hook.h" \
        -o "$tmp/${n}_test" "$D/${n}_test.c" "$tmp/$model.c" "$RTLIB" $BLAS -lm >"$tmp/cc" 2>&1; then
        notok "$n $O: build ${n}_test"
        detail "$tmp/cc" 20
        continue
    fi
    timeout "$TMO" "$tmp/${n}_test" >"$tmp/out" 2>"$tmp/err"
    st=$?
    sed "s/^\(not ok\|ok\) - /\1 - $n $O: /" "$tmp/out"
    p=$(grep -c '^ok - ' "$tmp/out")
    f=$(grep -c '^not ok - ' "$tmp/out")
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$st" -ne 0 ] && [ "$f" -eq 0 ] || [ -s "$tmp/err" ]; then
        notok "$n $O: $(status_text "$st")"
        detail "$tmp/err" 20
    fi
done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
