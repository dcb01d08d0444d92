#!/bin/sh
# bench/par_bench.sh - two loops at the same time (pass par): time per call
# of bench/models/birnn.nn (a bidirectional RNN tagger) with one op thread
# (NNRT_OP_THREADS=1: the two loops one after the other) and with two,
# forward and train step, alternated run by run, minimum of ROUNDS runs.
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
run() { # OPS KIND: us per call
    if [ "$2" = train ]; then extra="--train 1 --repeat 40"; else extra="--repeat 200"; fi
    # shellcheck disable=SC2086
    NNRT_OP_THREADS=$1 "$NNGC" run bench/models/birnn.nn -O2 --input words="$tmp/words.npy" \
        --input tags="$tmp/tags.npy" $extra 2>&1 | awk '$1 == "time:" {print $3}'
}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), T = $T, load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-8s %12s %12s %8s\n' kind "1 thread us" "2 threads us" speedup
for kind in forward train; do
    a="" b=""
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        a="$a $(run 1 $kind)" b="$b $(run 2 $kind)"
        r=$((r + 1))
    done
    echo "$kind $a | $b" | awk -v n="$ROUNDS" '{
        ma = ""; mb = "";
        for (i = 2; i < 2 + n; i++) if (ma == "" || $i + 0 < ma) ma = $i + 0;
        for (i = 3 + n; i < 3 + 2 * n; i++) if (mb == "" || $i + 0 < mb) mb = $i + 0;
        printf "%-8s %12.1f %12.1f %7.2fx\n", $1, ma, mb, (mb > 0 ? ma / mb : 0) }'
done
