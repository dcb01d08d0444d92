#!/bin/sh
# tests/golden/run.sh - golden IR-dump tests.
#
#   sh tests/golden/run.sh                   compare
#   UPDATE_GOLDEN=1 sh tests/golden/run.sh   rewrite the .expected files
#                                            (make golden-update)
#
# For each tests/golden/<pass>/<name>.nn, runs
#
#   nngc --dump-ir=<pass> tests/golden/<pass>/<name>.nn
#
# (with --dump-ir and no -o, nngc writes no files, so a golden test does
# not depend on the emitter). A case whose first line is
#   # flags: OPTIONS
# runs `nngc OPTIONS <name>.nn` instead (OPTIONS choose the passes and the
# dump point: tests/golden/batch_train/ dumps the train graph after batch).
# and compares its stdout with tests/golden/<pass>/<name>.expected
# (diff -u, shown on failure). The directory name is the pass whose output
# is dumped ("lower" = the IR straight from the front end). The .expected
# files are never written by hand: generate them with make golden-update,
# then read `git diff tests/golden` line by line before committing them.
#
# Prints one "ok - NAME" / "not ok - NAME" line per case, then
# "N passed, N failed"; exits 1 if any failed.

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
TMO=${GOLDEN_TIMEOUT:-30}
DIR=tests/golden

. tests/lib.sh

need_tools golden "$NNGC"
make_tmp golden

for f in "$DIR"/*/*.nn; do
    [ -e "$f" ] || continue
    passdir=${f%/*}
    passname=${passdir##*/}
    name=${f##*/}
    name=${name%.nn}
    label="golden/$passname/$name"
    expected=$passdir/$name.expected

    flags="--dump-ir=$passname"
    first=$(head -n 1 "$f")
    case $first in
    "# flags: "*) flags=${first#"# flags: "} ;;
    esac
    # shellcheck disable=SC2086 # flags is a list of options
    timeout "$TMO" "$NNGC" $flags "$f" >"$tmp/dump" 2>"$tmp/err"
    st=$?
    if [ $st -ne 0 ]; then
        notok "$label: nngc exited with status $st"
        sed 's/^/#   /' "$tmp/err" | head -n 8
        continue
    fi
    if [ ! -s "$tmp/dump" ]; then
        notok "$label: empty dump"
        continue
    fi

    if [ -n "$UPDATE_GOLDEN" ]; then
        if [ -f "$expected" ] && cmp -s "$tmp/dump" "$expected"; then
            ok "$label (unchanged)"
        else
            if cp "$tmp/dump" "$expected"; then
                ok "$label (updated)"
            else
                notok "$label: cannot write $expected"
            fi
        fi
    elif [ ! -f "$expected" ]; then
        notok "$label: no $expected (make golden-update, then review it)"
    elif diff -u "$expected" "$tmp/dump" >"$tmp/diff"; then
        ok "$label"
    else
        notok "$label: dump differs from $expected"
        sed 's/^/#   /' "$tmp/diff" | head -n 40
    fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
