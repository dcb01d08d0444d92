#!/bin/sh
# bench/ab.sh - two nngc builds side by side on the rows of `make bench`:
# time per forward call and per train step at -O2, the builds alternated
# run by run on the same inputs, the minimum of ROUNDS runs each. For a
# change that should not change speed (a refactoring): the ratio B/A of
# each row should be 1 within the noise.
#
#   NNGC_A=old/nngc NNGC_B=build/nngc sh bench/ab.sh [ROW...]
#
# Environment: ROUNDS (5), AB_SCALE (repeat counts of rows.py divided by
# this, 4), BENCH_PYTHON (/usr/bin/python3, needs numpy for the inputs).
# One thread. Prints one line per row and kind: A us, B us, B/A.
set -u
cd "$(dirname "$0")/.." || exit 1
A=${NNGC_A:?set NNGC_A to the first nngc}
B=${NNGC_B:-build/nngc}
PY=${BENCH_PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-5}
SCALE=${AB_SCALE:-4}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-ab.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$PY" bench/rows.py "$tmp" >"$tmp/rows.txt" || exit 1

only=" $* "
# min_us NNGC KIND MODEL REP ARGS...: the time: line of one nngc run
one() {
    nngc=$1 kind=$2 model=$3 rep=$4
    shift 4
    if [ "$kind" = train ]; then
        "$nngc" run "$model" "$@" --train 1 --repeat "$rep" -O2 2>&1 | awk '$1 == "time:" {print $3}'
    else
        "$nngc" run "$model" "$@" --repeat "$rep" -O2 2>&1 | awk '$1 == "time:" {print $3}'
    fi
}

printf '%-10s %-8s %10s %10s %7s\n' row kind "A us" "B us" "B/A"
while read -r kind name model _ rep2 ins; do
    [ "$only" = "  " ] || case $only in *" $name "*) ;; *) continue ;; esac
    args=""
    for i in $ins; do args="$args --input $i"; done
    rep=$((rep2 / SCALE))
    [ "$rep" -ge 1 ] || rep=1
    [ "$kind" = row ] && kind=forward
    a="" b=""
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        # shellcheck disable=SC2086 # $args is a list of options
        ta=$(one "$A" "$kind" "$model" "$rep" $args)
        # shellcheck disable=SC2086
        tb=$(one "$B" "$kind" "$model" "$rep" $args)
        a="$a ${ta:-nan}" b="$b ${tb:-nan}"
        r=$((r + 1))
    done
    echo "$name $kind $a | $b" | awk -v rounds="$ROUNDS" '{
        ma = ""; mb = "";
        for (i = 3; i < 3 + rounds; i++) if (ma == "" || $i + 0 < ma) ma = $i + 0;
        for (i = 4 + rounds; i < 4 + 2 * rounds; i++) if (mb == "" || $i + 0 < mb) mb = $i + 0;
        printf "%-10s %-8s %10.1f %10.1f %6.2fx\n", $1, $2, ma, mb, (ma > 0 ? mb / ma : 0) }'
done <"$tmp/rows.txt"
