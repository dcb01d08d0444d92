#!/bin/sh
# bench/approx_step.sh - time of one training step of an RNN LM (H = 256,
# E = 64, batch 32, 20 words per example) under each softmax
# approximation against the full softmax, at V = 10000 and V = 100000, in
# one script (issue #10's "per-step time of every method against full";
# docs/PERFORMANCE.md, "Softmax approximations: time per step").
#
#   sh bench/approx_step.sh [V...]      (default: 10000 100000)
#
# Environment: NNGC (default build/nngc), REPEAT (timed steps per row,
# default 5), METHODS (default below), STEP_CPU=1 (CPU time per step
# instead of the median wall time: for a busy machine; needs perf).
#
# Each row is `nngc run M.nn --batch=32 --softmax=METHOD --train 1 --repeat
# REPEAT` on fixed inputs (targets drawn from a Zipf distribution, counts
# 10^6 / rank for the noise, tree and classes), SGD: the median time per
# train step of the batched program (nngc run's `time:` line). The row
# `recurrence` is the same program with the loss read from h alone
# (sum(h)): no output layer at all, the part of every step no method
# removes; full / recurrence bounds what any method can gain.
set -u
cd "$(dirname "$0")/.." || exit 1
NNGC=${NNGC:-build/nngc}
REPEAT=${REPEAT:-5}
METHODS=${METHODS:-full neg:k=20 nce:k=20 sampled:k=20 hier class binary}
VS=${*:-10000 100000}
export OPENBLAS_NUM_THREADS=1
command -v python3 >/dev/null 2>&1 || { echo "approx_step: needs python3 with NumPy" >&2; exit 1; }
[ -x "$NNGC" ] || { echo "approx_step: $NNGC not found: run make first" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

model() { # V LOSS-LINE OUTPUT-PARAMS
    cat <<EOF
model lm
dim V = $1
dim E = 64
dim H = 256
dim T max 40
param emb : [V, E]
param Wx : [H, E]
param Wh : [H, H]
param bh : [H] init zeros
$3
input words : int[T + 1]
optimizer sgd(lr = 0.001)
h = zeros([H])
for t in 0..T {
  h = tanh(Wx @ emb[words[t]] + Wh @ h + bh)
  $2
}
EOF
}

# ms per step: the median of nngc run's timed train steps; STEP_CPU=1:
# the CPU time of the nngc process alone (perf's task-clock, not clang's),
# (cpu(REPEAT) - cpu(1)) / (REPEAT - 1), which other work on a busy
# machine disturbs much less than the wall clock; one op thread (idle op
# threads spin, which CPU time would count)
step() { # MODEL ARGS...
    m=$1
    shift
    if [ "${STEP_CPU:-0}" = 1 ]; then
        a=$(step_cpu "$m" 1 "$@") z=$(step_cpu "$m" "$REPEAT" "$@")
        echo "$a $z $REPEAT" | awk '$1 > 0 && $2 > 0 { printf "%.2f", ($2 - $1) / ($3 - 1) }'
        return
    fi
    out=$("$NNGC" run "$m" --batch=32 --input words="$tmp/words.npy" --input T_len="$tmp/len.npy" --train 1 \
        --repeat "$REPEAT" "$@" 2>&1)
    echo "$out" | sed -n 's/^time: median \([0-9.]*\) us per call.*/\1/p' | awk '{ printf "%.2f", $1 / 1000 }'
    echo "$out" | grep -q '^time:' || echo "$out" | tail -2 >&2
}

step_cpu() { # MODEL REPEAT ARGS...: milliseconds of task-clock
    m=$1 r=$2
    shift 2
    NNRT_OP_THREADS=1 perf stat -i -x, -e task-clock "$NNGC" run "$m" --batch=32 --input words="$tmp/words.npy" \
        --input T_len="$tmp/len.npy" --train 1 --repeat "$r" "$@" 2>&1 >/dev/null | awk -F, '$3 ~ /task-clock/ {print $1}'
}

printf '| V | method | ms per step | full / method |\n|---|---|---|---|\n'
for V in $VS; do
    python3 - "$tmp" "$V" <<'EOF' || exit 1
import sys
import numpy as np
d, V = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
p = 1.0 / np.arange(1, V + 1)
np.save(d + "/counts.npy", (1e6 * p).astype(np.int64) + 1)
np.save(d + "/words.npy", rng.choice(V, size=(21, 32), p=p / p.sum()).astype(np.int32))
np.save(d + "/len.npy", np.full(32, 20, np.int32))
EOF
    model "$V" 'loss += cross_entropy(Wo @ h + bo, words[t + 1])' 'param Wo : [V, H]
param bo : [V] init zeros' >"$tmp/lm.nn"
    model "$V" 'loss += sum(h)' '' >"$tmp/rec.nn" # no Wo, bo: no update of unused rows
    full=
    for m in $METHODS; do
        case $m in
        full) ms=$(step "$tmp/lm.nn") full=$ms ;;
        binary*) ms=$(step "$tmp/lm.nn" --softmax="$m") ;; # codes by rank: no counts
        *) ms=$(step "$tmp/lm.nn" --softmax="$m" --counts="$tmp/counts.npy") ;;
        esac
        ratio=$(awk -v f="${full:-0}" -v t="${ms:-0}" 'BEGIN { if (f > 0 && t > 0) printf "%.1fx", f / t; else print "-" }')
        printf '| %s | %s | %s | %s |\n' "$V" "$m" "${ms:-failed}" "$ratio"
    done
    ms=$(step "$tmp/rec.nn")
    ratio=$(awk -v f="${full:-0}" -v t="${ms:-0}" 'BEGIN { if (f > 0 && t > 0) printf "%.1fx", f / t; else print "-" }')
    printf '| %s | recurrence (no output layer) | %s | %s (the bound) |\n' "$V" "${ms:-failed}" "$ratio"
done
