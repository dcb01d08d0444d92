#!/bin/sh
# bench/compile_time.sh - compile time against program length: generates
# programs of 1k, 10k and 100k statements and times `nngc -O2` on each.
#
#   sh bench/compile_time.sh [N...]      (default N: 1000 10000 100000)
#
# Two shapes of program, each N statements long:
#   chain  h = tanh(W @ h), N times (each statement reads the previous one)
#   indep  hK = tanh(W @ x + K.0), N independent statements (one is output)
# and the chain with a loss (`loss += sum(h)`), which adds the train graph
# (autodiff, and its fused gradient sums) up to 10k statements.
# Prints one row per program: statements, seconds, peak memory (KB; with
# GNU time, else '-').
# Growth should be linear: 10x the statements, about 10x the time.
# Environment: NNGC (default build/nngc).
set -u
cd "$(dirname "$0")/.." || exit 1
NNGC=${NNGC:-build/nngc}
[ -x "$NNGC" ] || { echo "bench: $NNGC not found: run make first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-ct.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
sizes=${*:-1000 10000 100000}

# gen KIND N: the program on stdout
gen() {
    echo "model bench"
    echo "dim H = 8"
    echo "param W : [H, H]"
    echo "input x : [H]"
    echo "h = x"
    case $1 in
    chain | train) awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) print "h = tanh(W @ h)" }' ;;
    indep) awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "h%d = tanh(W @ x + %d.0)\n", i, i; print "h = h" (n - 1) }' ;;
    esac
    [ "$1" = train ] && echo "loss += sum(h)"
    echo "output h"
}

printf '%-6s %10s %10s %12s\n' kind statements seconds peak_kb
for kind in chain indep train; do
    for n in $sizes; do
        [ "$kind" = train ] && [ "$n" -gt 10000 ] && continue
        gen $kind "$n" >"$tmp/p.nn"
        if [ -x /usr/bin/time ]; then
            if /usr/bin/time -f '%e %M' -o "$tmp/time" "$NNGC" -O2 "$tmp/p.nn" -o "$tmp/p.c" 2>"$tmp/err"; then
                read -r secs kb <"$tmp/time"
            else
                secs=failed kb=-
            fi
        else # no GNU time: wall clock only
            t0=$(date +%s.%N)
            if "$NNGC" -O2 "$tmp/p.nn" -o "$tmp/p.c" 2>"$tmp/err"; then
                secs=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.2f", $2 - $1 }') kb=-
            else
                secs=failed kb=-
            fi
        fi
        printf '%-6s %10d %10s %12s\n' "$kind" "$n" "$secs" "$kb"
    done
done
