#!/bin/sh
# scripts/gpu-pack.sh - what scripts/gpu-check.sh needs on a bare GPU
# image that has nvcc but not the rest of a development machine, packed
# here into one folder to carry along:
#
#   sh scripts/gpu-pack.sh [DIR]     (default DIR: build/gpu-pack)
#
#   DIR/gen/          flex's and bison's output for nngc's parser (make's)
#   DIR/openblas.tgz  this machine's OpenBLAS: include/cblas.h and
#                     openblas_config.h, lib/libopenblas.so.0 and the
#                     libraries it needs beyond libc (libgfortran), so that
#                     the CPU references there are what they are here
#   DIR/ptb5k.txt     the first 5000 lines of ../shared/data/ptb/train.txt,
#                     when it is there (the training row's text)
#
# Then, on the GPU machine, in a copy of this checkout with DIR in it:
#
#   GPU_CHECK_PACK=DIR sh scripts/gpu-check.sh
#
# Each part is left out, with a message, where this machine lacks it;
# gpu-check.sh then does without (tiny.txt, its own kernels, flex and bison
# if the GPU machine has them). Exit status: 0, or 2 if DIR could not be
# written.
set -eu

cd "$(dirname "$0")/.."
D=${1:-build/gpu-pack}
say() { printf 'gpu-pack: %s\n' "$*"; }

rm -rf "$D"
mkdir -p "$D/gen" || {
    say "error: cannot make $D" >&2
    exit 2
}

if make -s build/gen/parser.c build/gen/lexer.c >/dev/null 2>&1; then
    cp build/gen/parser.c build/gen/parser.h build/gen/lexer.c build/gen/lexer.h "$D/gen/"
    say "gen: nngc's parser (flex $(flex --version | cut -d' ' -f2), $(bison --version | head -n 1))"
else
    rmdir "$D/gen"
    say "gen: left out (make could not run flex and bison here)"
fi

libdir=$(pkg-config --variable=libdir openblas 2>/dev/null || true)
incdir=$(pkg-config --variable=includedir openblas 2>/dev/null || true)
lib=""
[ -n "$libdir" ] && [ -e "$libdir/libopenblas.so.0" ] && lib=$libdir/libopenblas.so.0
if [ -n "$lib" ] && [ -f "$incdir/cblas.h" ]; then
    o=$D/openblas
    mkdir -p "$o/include" "$o/lib"
    cp "$incdir/cblas.h" "$o/include/"
    [ -f "$incdir/openblas_config.h" ] && cp "$incdir/openblas_config.h" "$o/include/"
    cp -L "$lib" "$o/lib/libopenblas.so.0"
    ln -s libopenblas.so.0 "$o/lib/libopenblas.so"
    # what it needs beyond the C library and the loader (libgfortran, libquadmath)
    ldd "$lib" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
        case $name in
        libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | libgcc_s.so* | ld-linux*) ;;
        *) cp -L "$path" "$o/lib/$name" ;;
        esac
    done
    tar -czf "$D/openblas.tgz" -C "$D" openblas
    rm -rf "$o"
    say "openblas.tgz: $(tar -tzf "$D/openblas.tgz" | grep -c '/lib/.') libraries from $libdir, $(du -k "$D/openblas.tgz" | cut -f1) KiB"
else
    say "openblas: left out (pkg-config finds no OpenBLAS with cblas.h here)"
fi

if [ -f ../shared/data/ptb/train.txt ]; then
    head -n 5000 ../shared/data/ptb/train.txt >"$D/ptb5k.txt"
    say "ptb5k.txt: $(wc -w <"$D/ptb5k.txt") words"
else
    say "ptb5k.txt: left out (no ../shared/data/ptb/train.txt)"
fi

say "$D: $(du -sk "$D" | cut -f1) KiB; on the GPU machine: GPU_CHECK_PACK=$D sh scripts/gpu-check.sh"
