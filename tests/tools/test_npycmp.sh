#!/bin/sh
# test_npycmp.sh - checks build/npycmp's exit codes on the NumPy fixtures in
# tests/data/npy/. Run from the repository root after `make build/npycmp`.
set -u
bin=build/npycmp
d=tests/data/npy
fails=0

# expect CODE ARGS...: runs npycmp ARGS and checks its exit status.
expect() {
    want=$1
    shift
    "$bin" "$@" >/dev/null 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: npycmp $* exited $got, want $want"
        fails=$((fails + 1))
    fi
}

expect 0 $d/f32_v2.npy $d/f32_v3.npy                 # same values, other versions
expect 0 $d/f32_2d.npy $d/f32_2d.npy --rtol 0 --atol 0
expect 1 $d/f32_2d.npy $d/f32_4d.npy                 # shapes differ
expect 1 $d/i4_1d.npy $d/i8_1d.npy                   # values differ
expect 0 $d/i4_1d.npy $d/i8_1d.npy --atol 5e9        # ... by less than 5e9
expect 1 $d/i4_1d.npy $d/i8_1d.npy --atol 1 --rtol 0.5
expect 2 $d/f32_2d.npy $d/no-such.npy                # unreadable
expect 2 $d/f32_2d.npy $d/f8.npy                     # unsupported dtype
expect 2 $d/f32_2d.npy                               # usage
expect 2 $d/f32_2d.npy $d/f32_2d.npy --rtol -1

# The mismatch report names the index and the values.
out=$("$bin" $d/i4_1d.npy $d/i8_1d.npy)
case $out in
*"at [0]:"*"= 3, "*"= 1, |diff| = 2"*"5 of 5 elements differ"*) ;;
*) echo "FAIL: unexpected report: $out"; fails=$((fails + 1)) ;;
esac

[ "$fails" -eq 0 ] && echo "test_npycmp: all passed"
exit "$fails"
