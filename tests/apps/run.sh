#!/bin/sh
# tests/apps/run.sh - the example application and an installed nngc, end to end.
#
#   1. examples/apps: `make check` (the app against a fake model and
#      hand-worked expectations), then the real app on the shipped corpus
#      with the real generated model: with random parameters the loss per
#      token must be ln(V) within 1% (an independent, analytic reference).
#   2. `make install PREFIX=tmp`: the installed nngc compiles a model that
#      imports the stdlib, and a C program built with `pkg-config nngrt`
#      links the generated code and the installed runtime.
# Run from the repository root after `make`. Ends with "N passed, N failed".
set -u
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-apps.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if make -s -C examples/apps check O="$tmp/apps" >"$tmp/check.log" 2>&1; then
    ok "examples/apps: make check"
else
    bad "examples/apps: make check"
    sed 's/^/#   /' "$tmp/check.log" | tail -20
fi

if OPENBLAS_NUM_THREADS=1 make -s -C examples/apps run O="$tmp/apps" CORPUS=../data/tiny.txt >"$tmp/run.log" 2>&1; then
    # "loss per predicted token: 9.2105 nats" vs ln(10000) = 9.2103
    loss=$(sed -n 's/^loss per predicted token: \([0-9.]*\) nats.*/\1/p' "$tmp/run.log")
    if [ -n "$loss" ] && awk -v l="$loss" 'BEGIN { d = l - log(10000); exit !(d < 0.09 && d > -0.09) }'; then
        ok "rnnlm_app: loss per token $loss is ln(V) within 1%"
    else
        bad "rnnlm_app: loss per token '$loss' is not ln(V) = 9.2103 within 1%"
        sed 's/^/#   /' "$tmp/run.log" | tail -10
    fi
else
    bad "rnnlm_app: make run"
    sed 's/^/#   /' "$tmp/run.log" | tail -20
fi

prefix="$tmp/prefix"
if make -s install PREFIX="$prefix" >"$tmp/install.log" 2>&1 &&
    [ -x "$prefix/bin/nngc" ] && [ -f "$prefix/include/nngrt.h" ] && [ -f "$prefix/lib/libnngrt.a" ] &&
    [ -f "$prefix/share/nngc/stdlib/nn.nn" ] && [ -f "$prefix/lib/pkgconfig/nngrt.pc" ]; then
    ok "make install PREFIX=...: compiler, runtime, header, stdlib, pkg-config file"
else
    bad "make install"
    sed 's/^/#   /' "$tmp/install.log" | tail -20
fi

# a model importing the stdlib, compiled by the installed nngc, linked via pkg-config
cat >"$tmp/m.nn" <<'NN'
model inst
import "nn"
dim D = 2
param W : [D, D] init ones
param b : [D] init zeros
input x : [D]
output y
y = affine(W, b, x)
NN
cat >"$tmp/main.c" <<'C'
#include <stdio.h>
#include "m.h"
int main(void) {
    inst *m = inst_create(0);
    float x[2] = {1.0f, 2.0f};
    inst_inputs in = {.x = x};
    inst_outputs out;
    if (!m || inst_forward(m, &in, &out) != NNRT_OK) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    /* W = ones, b = 0: y = (3, 3) */
    printf("%g %g\n", out.y[0], out.y[1]);
    inst_destroy(m);
    return 0;
}
C
if PKG_CONFIG_PATH="$prefix/lib/pkgconfig" "$prefix/bin/nngc" "$tmp/m.nn" -o "$tmp/m.c" 2>"$tmp/inst.log" &&
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$tmp" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags nngrt) \
        -o "$tmp/main" "$tmp/main.c" "$tmp/m.c" \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --libs --static nngrt) 2>>"$tmp/inst.log" &&
    [ "$("$tmp/main")" = "3 3" ]; then
    ok "installed nngc + pkg-config: stdlib import, link, y = W x + b"
else
    bad "installed nngc + pkg-config"
    sed 's/^/#   /' "$tmp/inst.log" | tail -20
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
