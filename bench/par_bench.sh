#!/bin/sh
# bench/par_bench.sh - two loops at the same time (pass par): time per call
# of bench/models/birnn.nn (a bidirectional RNN tagger) with one op thread
# (NNRT_OP_THREADS=1: the two loops one after the other), with two whose
# hand-off sleeps at once (NNRT_SPIN_US=0: a condition variable) and with
# two that spin first (NNRT_SPIN_US=100; the default is 0), forward and train
# step, alternated run by run, minimum of ROUNDS runs.
# Needs two idle cores to mean anything: the machine's load is printed.
#
#   sh bench/par_bench.sh [T (50)] [ROUNDS (5)]
cd "$(dirname "$0")/.." || exit 1
T=${1:-50} ROUNDS=${2:-5}
NNGC=${NNGC:-build/nngc}
PY=${BENCH_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-par.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$PY" - "$tmp" "$T" <<'PY' || exit 1
import sys, numpy as np
d, T = sys.argv[1], int(sys.argv[2])
r = np.random.default_rng(1)
np.save(d + "/words.npy", r.integers(0, 10000, T).astype(np.int32))
np.save(d + "/tags.npy", r.integers(0, 50, T).astype(np.int32))
PY
run() { # OPS KIND [SPIN_US]: us per call
    if [ "$2" = train ]; then extra="--train 1 --repeat 40"; else extra="--repeat 200"; fi
    # shellcheck disable=SC2086
    NNRT_SPIN_US=${3:-100} NNRT_OP_THREADS=$1 "$NNGC" run bench/models/birnn.nn -O2 --input words="$tmp/words.npy" \
        --input tags="$tmp/tags.npy" $extra 2>&1 | awk '$1 == "time:" {print $3}'
}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), T = $T, load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-8s %10s %10s %10s %8s %8s\n' kind "1 thr us" "2 sleep us" "2 spin us" sleep spin
for kind in forward train; do
    a="" b="" c=""
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        a="$a $(run 1 $kind)" b="$b $(run 2 $kind 0)" c="$c $(run 2 $kind 100)"
        r=$((r + 1))
    done
    echo "$kind $a | $b | $c" | awk -v n="$ROUNDS" '
        function lo(from,   i, m) { m = ""; for (i = from; i < from + n; i++) if (m == "" || $i + 0 < m) m = $i + 0; return m }
        { ma = lo(2); mb = lo(3 + n); mc = lo(4 + 2 * n);
          printf "%-8s %10.1f %10.1f %10.1f %7.2fx %7.2fx\n", $1, ma, mb, mc, (mb > 0 ? ma / mb : 0), (mc > 0 ? ma / mc : 0) }'
done
