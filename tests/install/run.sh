#!/bin/sh
# tests/install/run.sh - an installed nngc used exactly as README.md and
# docs/API.md say (issue #13):
#
#   make install PREFIX=$tmp/prefix
#   nngc model.nn -o model.c                      (the installed nngc)
#   cc app.c model.c $(pkg-config --cflags --libs nngrt)
#
# with PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig and nothing else on the
# line: no --static, no -lopenblas or -lm added by hand. The model is
# tests/files/model.nn (glorot init: the runtime's RNG and libm; W @ x:
# BLAS; a frozen param); the app loads tests/files/params.npz (np.savez)
# through the generated files_load and prints y = (7.5, 11) (by hand, see
# tests/files/make_fixtures.py), and files_load of a file without b fails
# naming b (NAME_load needs every param).
# BUILD selects the build tree to install (make BUILD=...), CC the compiler
# (cc; the sanitizer builds give theirs). Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CC=${CC:-cc}
. tests/lib.sh
make_tmp install
prefix=$tmp/prefix

if make -s install PREFIX="$prefix" BUILD="$BUILD" >"$tmp/install.log" 2>&1 &&
    [ -x "$prefix/bin/nngc" ] && [ -f "$prefix/lib/pkgconfig/nngrt.pc" ]; then
    ok "make install PREFIX=..."
else
    notok "make install PREFIX=..."
    detail "$tmp/install.log" 20
    echo "$pass passed, $fail failed"
    exit 1
fi

cp tests/files/model.nn tests/files/params.npz tests/files/no_b.npz "$tmp/"
cat >"$tmp/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "model.h"
int main(void) {
    files *m = files_create(7);
    if (!m || files_load(m, "params.npz") != NNRT_OK) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    float x[2] = {1.0f, 2.0f};
    files_inputs in = {.x = x};
    files_outputs out;
    if (files_forward(m, &in, &out) != NNRT_OK) {
        fprintf(stderr, "%s\n", nnrt_last_error());
        return 1;
    }
    printf("%g %g\n", out.y[0], out.y[1]);
    if (files_load(m, "no_b.npz") == NNRT_OK || !strstr(nnrt_last_error(), "param 'b'")) {
        fprintf(stderr, "no_b.npz: %s\n", nnrt_last_error());
        return 1;
    }
    files_destroy(m);
    return 0;
}
C
(
    cd "$tmp" || exit 1
    export PATH="$prefix/bin:$PATH" PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    nngc model.nn -o model.c &&
        $CC app.c model.c $(pkg-config --cflags --libs nngrt) -o app &&
        ./app >out
) >"$tmp/log" 2>&1
if [ "$(cat "$tmp/out" 2>/dev/null)" = "7.5 11" ]; then
    ok "cc app.c model.c \$(pkg-config --cflags --libs nngrt): links; NAME_load reads .npz; y = (7.5, 11)"
else
    notok "cc app.c model.c \$(pkg-config --cflags --libs nngrt)"
    detail "$tmp/log" 20
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
