#!/bin/sh
# bench/run.sh - `make bench`: time the lecture's patterns and the reference
# programs with nngc at -O0 and -O2 and in PyTorch CPU eager, and print two
# tables: time per forward call, and time per train step (forward,
# backward, optimizer update) of the rows that train (rows.py TRAIN_ROWS).
# See docs/PERFORMANCE.md.
#
#   sh bench/run.sh [ROW...]     (no ROW: every row of bench/rows.py)
#
# Environment: NNGC (default build/nngc), BENCH_PYTHON (default
# /usr/bin/python3; needs numpy, and torch for the PyTorch columns),
# TORCH_BENCH_BUDGET (seconds of timed calls per PyTorch measurement, 2),
# BENCH_TOL (relative tolerance of the loss checks, 1e-3).
# Everything runs on one thread. The inputs are .npy files made by
# bench/rows.py from fixed seeds in a temporary directory. When torch is
# there, bench/torch_bench.py also writes each row's params as safetensors
# and nngc runs with them (--params), so that nngc's loss can be checked
# against PyTorch's; without torch, nngc uses its params seeded from 0.
#
# Training rows: one step of nngc (-O0 and -O2: nngc run --train 1 --save)
# from PyTorch's params is checked against one step of PyTorch (losses
# before and after the step, and the update of every param), then the
# steps are timed (nngc run --train 1 --repeat N).
#
# Exit status: 0 when every run succeeded and every loss and training step
# agrees (the speed targets are reported, not enforced), 1 otherwise.

set -u

cd "$(dirname "$0")/.." || exit 1
NNGC=${NNGC:-build/nngc}
PY=${BENCH_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Relative loss tolerance: nngc -O0 vs -O2, and nngc vs PyTorch.
TOL=${BENCH_TOL:-1e-3}

if [ ! -x "$NNGC" ]; then
    echo "bench: $NNGC not found: run make first" >&2
    exit 1
fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "bench: $PY cannot import numpy (needed to make the inputs)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM

start=$(date +%s)
"$PY" bench/rows.py "$tmp" > "$tmp/rows.txt" || exit 1
if [ $# -gt 0 ]; then
    for r in "$@"; do
        grep -q "^row $r " "$tmp/rows.txt" || {
            echo "bench: no row '$r' (rows: $(awk '{printf " %s", $2}' "$tmp/rows.txt"))" >&2
            exit 2
        }
    done
fi
only=" $* "
selected() {
    [ "$only" = "  " ] && return 0
    case $only in *" $1 "*) return 0 ;; esac
    return 1
}

# torch_run FILE LABEL ARGS...: bench/torch_bench.py ARGS, its lines added
# to $tmp/FILE; on failure its errors go to errors.txt, status 1
torch_run() {
    file=$1 label=$2
    shift 2
    "$PY" bench/torch_bench.py "$@" >> "$tmp/$file" 2> "$tmp/torch.err" && return 0
    failed "$label" "bench/torch_bench.py $*" "$tmp/torch.err"
    return 1
}

# input_args "NAME=FILE ...": the --input options of nngc run, into $args
input_args() {
    args=""
    for i in $1; do
        args="$args --input $i"
    done
}

# loaded_check OUT LABEL: with --params, every param came from the file
loaded_check() {
    if [ -n "$params" ] && ! awk '/nngc: loaded/ {ok = ($3 == $5)} END {exit !ok}' "$1"; then
        echo "$2: not every param came from the file: $(grep 'loaded' "$1")" >> "$tmp/errors.txt"
    fi
}

# failed LABEL WHAT OUT: nngc's output under a failure line in errors.txt
failed() { { echo "$1: $2 failed:"; sed 's/^/    /' "$3"; } >> "$tmp/errors.txt"; }

# ---------------------------------------------------------------- runs
# Per row: PyTorch (slow and hand-optimized), then nngc -O0 and -O2, so that
# the numbers compared in one row are measured close together in time.
# $tmp/torch.txt collects torch_bench.py's lines; $tmp/nngc.txt gets
#   NAME O0_US O2_US O0_LOSS O2_LOSS   (FAIL for a run that failed)
: > "$tmp/torch.txt"
: > "$tmp/nngc.txt"
: > "$tmp/errors.txt"
have_torch=0
torch_version="not installed"
if "$PY" -c 'import torch' 2>/dev/null; then
    have_torch=1
    # the params first: nngc runs with the same numbers as PyTorch
    if ! "$PY" bench/torch_bench.py --params-only "$tmp" "$@" 2> "$tmp/torch.err"; then
        echo "bench: bench/torch_bench.py --params-only failed:" >&2
        cat "$tmp/torch.err" >&2
        have_torch=0
        torch_version="failed"
    fi
fi

while read -r _ name model rep0 rep2 ins; do
    selected "$name" || continue
    params=""
    if [ "$have_torch" = 1 ]; then
        echo "bench: $name: PyTorch eager, slow and hand-optimized ..." >&2
        torch_run torch.txt "$name" "$tmp" "$name" && params="--params $tmp/$name/params.safetensors"
    fi
    input_args "$ins"
    line="$name"
    losses=""
    for lev in O0 O2; do
        if [ "$lev" = O0 ]; then rep=$rep0; else rep=$rep2; fi
        echo "bench: $name: nngc run $model -$lev --repeat $rep ..." >&2
        out="$tmp/$name.$lev.out"
        # shellcheck disable=SC2086 # word splitting of $args and $params is intended
        if "$NNGC" run "$model" $args $params -v --repeat "$rep" "-$lev" > "$out" 2>&1; then
            us=$(awk '$1 == "time:" {print $3}' "$out")
            loss=$(awk '$1 == "loss" && $2 == "=" {print $3}' "$out")
            loaded_check "$out" "$name -$lev"
        else
            us=FAIL
            loss=FAIL
            failed "$name -$lev" "nngc run" "$out"
        fi
        line="$line ${us:-FAIL}"
        losses="$losses ${loss:-FAIL}"
    done
    echo "$line$losses" >> "$tmp/nngc.txt"
done <<EOF
$(grep '^row ' "$tmp/rows.txt")
EOF

# ---------------------------------------------------------------- training
# Per training row: PyTorch (slow and hand-optimized; it also writes the
# params after one step from the initial ones), then per level one checked
# step (nngc run --train 1 --save, its update compared with PyTorch's) and
# the timed steps (--train 1 --repeat N). $tmp/ntrain.txt gets
#   NAME O0_US O2_US O0_LOSS0 O2_LOSS0 O0_LOSS1 O2_LOSS1 O0_DIFF O2_DIFF
# (LOSS0: the loss the step computed, LOSS1: the loss after it, DIFF: how
# far the step's update is from PyTorch's, as DIFF@PARAM, "-" without torch).
: > "$tmp/torch_train.txt"
: > "$tmp/ntrain.txt"
while read -r _ name model rep0 rep2 ins; do
    selected "$name" || continue
    params=""
    ref=""
    if [ "$have_torch" = 1 ]; then
        echo "bench: $name: train step in PyTorch eager, slow and hand-optimized ..." >&2
        if torch_run torch_train.txt "$name (train)" --train "$tmp" "$name"; then
            params="--params $tmp/$name/params.safetensors"
            ref="$tmp/$name/torch_step.safetensors"
        fi
    fi
    input_args "$ins"
    times=""
    l0s=""
    l1s=""
    diffs=""
    for lev in O0 O2; do
        if [ "$lev" = O0 ]; then rep=$rep0; else rep=$rep2; fi
        out="$tmp/$name.train.$lev.out"
        step="$tmp/$name/step.$lev.safetensors"
        echo "bench: $name: nngc run $model -$lev --train 1 --save, then --train 1 --repeat $rep ..." >&2
        l0=FAIL
        l1=FAIL
        diff=-
        us=FAIL
        # shellcheck disable=SC2086 # word splitting of $args and $params is intended
        if "$NNGC" run "$model" $args $params -v --train 1 --save "$step" "-$lev" > "$out" 2>&1; then
            l0=$(awk '$1 == "nngc:" && $2 == "step" && $3 == "1:" {print $5}' "$out")
            l1=$(awk '$1 == "loss" && $2 == "=" {print $3}' "$out")
            loaded_check "$out" "$name (train) -$lev"
            if [ -n "$ref" ]; then
                diff=$("$PY" bench/torch_bench.py --compare "$tmp/$name/params.safetensors" "$step" "$ref" 2>> "$tmp/errors.txt" |
                       awk '$1 == "compare" && NF == 3 {print $2 "@" $3}')
                [ -n "$diff" ] || diff=FAIL
            fi
        else
            failed "$name (train) -$lev" "nngc run --train 1 --save" "$out"
        fi
        # shellcheck disable=SC2086
        if "$NNGC" run "$model" $args $params --train 1 --repeat "$rep" "-$lev" > "$out" 2>&1; then
            us=$(awk '$1 == "time:" {print $3}' "$out")
        else
            failed "$name (train) -$lev" "nngc run --train 1 --repeat" "$out"
        fi
        times="$times ${us:-FAIL}"
        l0s="$l0s ${l0:-FAIL}"
        l1s="$l1s ${l1:-FAIL}"
        diffs="$diffs $diff"
    done
    echo "$name$times$l0s$l1s$diffs" >> "$tmp/ntrain.txt"
done <<EOF
$(grep '^train ' "$tmp/rows.txt")
EOF

if [ "$have_torch" = 1 ]; then
    torch_version=$(awk '$1 == "torch_version" {print $2; exit}' "$tmp/torch.txt")
    torch_blas=$(awk '$1 == "torch_blas" {$1 = ""; sub(/^ /, ""); print; exit}' "$tmp/torch.txt")
    [ -n "$torch_version" ] || torch_version="failed"
fi

# ---------------------------------------------------------------- the table
model_name=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
openblas=$("$PY" - 2>/dev/null <<'EOF'
import ctypes
for n in ("libopenblas.so.0", "libopenblas.so"):
    try:
        lib = ctypes.CDLL(n)
    except OSError:
        continue
    lib.openblas_get_config.restype = ctypes.c_char_p
    print(lib.openblas_get_config().decode())
    break
EOF
)
elapsed=$(( $(date +%s) - start ))

echo
echo "nngc benchmark: time per forward call, median, 1 thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1))"
echo "machine: ${model_name:-unknown CPU}, $cores cores; $(uname -sr)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nngc:    $("$NNGC" --version 2>&1 | head -n 1)"
echo "kernels: $("$NNGC" --version 2>&1 | sed -n 2p)"
echo "BLAS:    ${openblas:-unknown}${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"
if [ "$have_torch" = 1 ]; then
    echo "torch:   $torch_version (${torch_blas:-?})"
else
    echo "torch:   $torch_version"
fi
echo

# helpers shared by the forward and the training tables
AWK_LIB='
function num(x) { return x ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ }
function rel(a, b,   d, m) {
    d = a - b; if (d < 0) d = -d
    m = (a < 0 ? -a : a); if ((b < 0 ? -b : b) > m) m = (b < 0 ? -b : b)
    return m == 0 ? 0 : d / m
}
function ratio(a, b) {
    if (!num(a) || !num(b) || b <= 0) return "-"
    return sprintf(a / b < 10 ? "%.2fx" : "%.1fx", a / b)
}
'

awk -v tol="$TOL" -v have_torch="$have_torch" -v tv="$torch_version" \
    -v tf="$tmp/torch.txt" -v nf="$tmp/nngc.txt" "$AWK_LIB"'
FILENAME == tf && $1 == "torch" {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); T[$2, kv[1]] = kv[2] }
    next
}
FILENAME == nf {
    n++; row[n] = $1; o0[n] = $2; o2[n] = $3; l0[n] = $4; l2[n] = $5
}
END {
    fmt = "%-9s %10s %10s %8s %14s %14s %15s %14s  %s\n"
    printf fmt, "row", "-O0 us", "-O2 us", "-O0/-O2", "torch slow us", "torch opt us", "torch slow/-O2", "torch opt/-O2", "loss check"
    printf fmt, "---------", "------", "------", "-------", "-------------", "------------", "--------------", "-------------", "----------"
    bad = 0
    for (k = 1; k <= n; k++) {
        r = row[k]
        check = "ok"
        if (!num(l0[k]) || !num(l2[k])) { check = "FAIL"; bad = 1 }
        else if (rel(l0[k], l2[k]) > tol) { check = "WARNING: -O0 loss " l0[k] " != -O2 loss " l2[k]; bad = 1 }
        if (have_torch == 1 && (r, "opt_us") in T) {
            ts = T[r, "slow_us"]; to = T[r, "opt_us"]
            if (check == "ok") {
                if (rel(l2[k], T[r, "loss_opt"]) > tol || rel(l2[k], T[r, "loss_slow"]) > tol) {
                    check = sprintf("MISMATCH: nngc %s, torch %.6g", l2[k], T[r, "loss_opt"]); bad = 1
                } else check = sprintf("ok (%s)", l2[k])
            }
            tsr = ratio(ts, o2[k]); tor = ratio(to, o2[k])
        } else {
            ts = to = tsr = tor = (have_torch == 1 ? "missing" : "torch: " tv)
            if (check == "ok") check = "ok (-O0 = -O2, no torch)"
        }
        printf fmt, r, o0[k], o2[k], ratio(o0[k], o2[k]), ts, to, tsr, tor, check
        # targets
        if (r == "slowimpl" && num(o0[k]) && num(o2[k]))
            tgt[++nt] = sprintf("slowimpl: -O2 at least 5x faster than -O0: %s (%s)", o0[k] / o2[k] >= 5 ? "met" : "NOT met", ratio(o0[k], o2[k]))
        if (have_torch == 1 && num(o2[k]) && num(to) && num(ts)) {
            if (to / o2[k] < 1) miss1 = miss1 sprintf(" %s (%s)", r, ratio(to, o2[k]))
            if (ts / o2[k] < 10) miss10 = miss10 sprintf(" %s (%s)", r, ratio(ts, o2[k]))
            ntr++
        }
    }
    print ""
    print "targets:"
    for (i = 1; i <= nt; i++) print "  " tgt[i]
    if (ntr > 0) {
        print "  every row: -O2 at least as fast as torch opt: " (miss1 == "" ? "met" : "NOT met on" miss1)
        print "  every row: -O2 at least 10x faster than torch slow: " (miss10 == "" ? "met" : "NOT met on" miss10)
    } else
        print "  the PyTorch targets: not measured (torch: " tv ")"
    exit bad
}' "$tmp/torch.txt" "$tmp/nngc.txt"
status=$?

if [ -s "$tmp/ntrain.txt" ]; then
    echo
    echo "training: time per train step (forward, backward, optimizer update), median; nngc run --train 1 --repeat N"
    echo
    awk -v tol="$TOL" -v have_torch="$have_torch" -v tv="$torch_version" \
        -v tf="$tmp/torch_train.txt" -v nf="$tmp/ntrain.txt" "$AWK_LIB"'
FILENAME == tf && $1 == "torch_train" {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); T[$2, kv[1]] = kv[2] }
    next
}
FILENAME == nf {
    n++; row[n] = $1; o0[n] = $2; o2[n] = $3; a0[n] = $4; a2[n] = $5; b0[n] = $6; b2[n] = $7; d0[n] = $8; d2[n] = $9
}
END {
    fmt = "%-9s %10s %10s %8s %14s %14s %15s %14s  %s\n"
    printf fmt, "row", "-O0 us", "-O2 us", "-O0/-O2", "torch slow us", "torch opt us", "torch slow/-O2", "torch opt/-O2", "step check"
    printf fmt, "---------", "------", "------", "-------", "-------------", "------------", "--------------", "-------------", "----------"
    bad = 0
    for (k = 1; k <= n; k++) {
        r = row[k]
        check = "ok"
        if (!num(a0[k]) || !num(a2[k]) || !num(b0[k]) || !num(b2[k])) { check = "FAIL"; bad = 1 }
        else if (rel(a0[k], a2[k]) > tol || rel(b0[k], b2[k]) > tol) {
            check = "WARNING: -O0 losses " a0[k] ", " b0[k] " != -O2 losses " a2[k] ", " b2[k]; bad = 1
        }
        if (have_torch == 1 && (r, "opt_us") in T) {
            ts = T[r, "slow_us"]; to = T[r, "opt_us"]
            split(d0[k], e0, "@"); split(d2[k], e2, "@")
            if (check == "ok") {
                if (!num(e0[1]) || !num(e2[1])) { check = "FAIL: no update to compare"; bad = 1 }
                else if (rel(a2[k], T[r, "loss_opt"]) > tol || rel(a2[k], T[r, "loss_slow"]) > tol) {
                    check = sprintf("MISMATCH: loss before the step: nngc %s, torch %.6g", a2[k], T[r, "loss_opt"]); bad = 1
                } else if (rel(b2[k], T[r, "loss1_opt"]) > tol || rel(b2[k], T[r, "loss1_slow"]) > tol) {
                    check = sprintf("MISMATCH: loss after the step: nngc %s, torch %.6g", b2[k], T[r, "loss1_opt"]); bad = 1
                } else if (e0[1] + 0 > tol + 0 || e2[1] + 0 > tol + 0) {
                    check = sprintf("MISMATCH: update differs from torch by %s (-O0, %s), %s (-O2, %s)", e0[1], e0[2], e2[1], e2[2]); bad = 1
                } else if (T[r, "step_diff"] + 0 > tol + 0) {
                    check = sprintf("MISMATCH: torch slow and opt steps differ by %s", T[r, "step_diff"]); bad = 1
                } else
                    check = sprintf("ok (loss %.6g -> %s, update %.1e)", a2[k], b2[k], (e0[1] + 0 > e2[1] + 0 ? e0[1] : e2[1]))
            }
            tsr = ratio(ts, o2[k]); tor = ratio(to, o2[k])
        } else {
            ts = to = tsr = tor = (have_torch == 1 ? "missing" : "torch: " tv)
            if (check == "ok") check = "ok (-O0 = -O2, no torch)"
        }
        printf fmt, r, o0[k], o2[k], ratio(o0[k], o2[k]), ts, to, tsr, tor, check
        if (r == "rnnlm" && have_torch == 1 && num(o2[k]) && num(to) && num(ts))
            tgt = sprintf("rnnlm (H = 128): -O2 train step at least 3x faster than PyTorch: %s against torch opt (%s), %s against torch slow (%s)",
                          to / o2[k] >= 3 ? "met" : "NOT met", ratio(to, o2[k]), ts / o2[k] >= 3 ? "met" : "NOT met", ratio(ts, o2[k]))
    }
    print ""
    print "training target:"
    print "  " (tgt != "" ? tgt : "rnnlm (H = 128): -O2 train step at least 3x faster than PyTorch: not measured")
    if (have_torch == 1) {
        print "step check: one step of nngc (-O0 and -O2, --train 1 --save) and of PyTorch from the same params: the losses before and"
        print "after it agree within " tol " relative, and |nngc update - torch update| / |torch update| (2-norms, worst param) <= " tol "."
    }
    exit bad
}' "$tmp/torch_train.txt" "$tmp/ntrain.txt" || status=1
fi

if [ -s "$tmp/errors.txt" ]; then
    echo
    echo "errors:"
    cat "$tmp/errors.txt"
    status=1
fi
echo
echo "bench took ${elapsed}s"
exit "$status"
