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
# this, 4), BENCH_PYTHON (/usr/bin/python3, needs numpy for the inputs),
# AB_CPU=1 (CPU time per call instead of the median wall time: for a
# machine busy with other work; needs perf; run it as
# `nice -n -20 taskset -c 1 sh bench/ab.sh` to keep one core for it).
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
# cpu_ms NNGC REP ARGS...: milliseconds of CPU time of the nngc process
# alone (perf's task-clock without the children: clang is not counted)
cpu_ms() {
    nngc=$1 rep=$2
    shift 2
    perf stat -i -x, -e task-clock "$nngc" run "$@" --repeat "$rep" -O2 2>&1 >/dev/null |
        awk -F, '$3 ~ /task-clock/ {print $1}'
}
# one NNGC KIND MODEL REP ARGS...: microseconds per call of one nngc run:
# its time: line (the median of REP calls), or with AB_CPU=1 the CPU time
# per call, (cpu(REP) - cpu(1)) / (REP - 1), which other work on the
# machine disturbs much less than the wall clock
one() {
    nngc=$1 kind=$2 model=$3 rep=$4
    shift 4
    [ "$kind" = train ] && set -- "$@" --train 1
    if [ "${AB_CPU:-0}" = 1 ]; then
        [ "$rep" -ge 2 ] || rep=2
        a=$(cpu_ms "$nngc" 1 "$model" "$@") z=$(cpu_ms "$nngc" "$rep" "$model" "$@")
        echo "$a $z $rep" | awk '{printf "%.1f\n", ($2 - $1) / ($3 - 1) * 1000}'
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
