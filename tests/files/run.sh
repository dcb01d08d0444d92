#!/bin/sh
# tests/files/run.sh - params and input files as a new user makes them,
# through `nngc run` (issue #13) and a save that cannot complete (#14):
#
#   1. --params P.npz (np.savez: float64 W and b, float32 E) loads by name
#   2. a trainable param missing from the file keeps its init, with one
#      note line on stderr naming it (not only with -v)
#   3. a frozen param missing from the file is an error
#   4. --params W.npy is an error that says it is a .npy file
#   5. np.savez_compressed's file is an error that says what to do
#   6. the documented NumPy route to safetensors (safetensors.numpy.save_file)
#      loads, where the Python packages are installed (else a SKIP line,
#      not counted as passed)
#   7. a save past `ulimit -f` fails naming the path and "File too large",
#      leaving no temporary file
#   8. so does nngc's own output (an error, not death by SIGXFSZ)
#
# The model (model.nn) and the fixtures (make_fixtures.py, real NumPy) give
# y = W x + b + E x = (7.5, 11) by hand; without b, (7, 12).
# NNGC overrides the compiler under test; PYTHON the interpreter for 6.
# Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
PYTHON=${PYTHON:-python3}
D=tests/files
. tests/lib.sh
need_tools files "$NNGC"
make_tmp files
skipped=0
skip() { skipped=$((skipped + 1)); echo "SKIP - $1"; }

# run NAME WANT_STATUS ARGS...: nngc run on model.nn with x.npy; stdout in
# $tmp/out, stderr in $tmp/err; a wrong status is a failure (returns 1).
run() {
    name=$1 want=$2
    shift 2
    "$NNGC" run "$D/model.nn" --input x="$D/x.npy" "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
    if [ "$st" -ne "$want" ]; then
        notok "$name: $(status_text $st), expected status $want"
        detail "$tmp/err"
        return 1
    fi
}

# has FILE TEXT: FILE contains TEXT (fixed string)
has() { grep -qF -- "$2" "$1"; }

if run "npz params" 0 --params "$D/params.npz" && has "$tmp/out" "y [2] = 7.5 11" && [ ! -s "$tmp/err" ]; then
    ok "--params P.npz (np.savez, float64 and float32): y = (7.5, 11)"
else
    notok "--params P.npz: y is not (7.5, 11) or stderr not empty"
    detail "$tmp/out"
    detail "$tmp/err"
fi

if run "missing trainable" 0 --params "$D/no_b.npz" && has "$tmp/out" "y [2] = 7 12" &&
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && has "$tmp/err" "note: not in the params file, so initialised as declared: b"; then
    ok "a trainable param missing from the file: its init (zeros), one note line naming it"
else
    notok "a trainable param missing from the file"
    detail "$tmp/out"
    detail "$tmp/err"
fi

if run "missing frozen" 1 --params "$D/no_E.npz" &&
    has "$tmp/err" "no_E.npz: frozen param 'E' of model files is missing from the file"; then
    ok "a frozen param missing from the file is an error naming it"
else
    notok "a frozen param missing from the file"
    detail "$tmp/err"
fi

if run "npy params" 1 --params "$D/W.npy" && has "$tmp/err" "W.npy is a .npy file, not safetensors" &&
    has "$tmp/err" "safetensors.numpy.save_file"; then
    ok "--params W.npy: says it is a .npy file and how to write a params file"
else
    notok "--params W.npy"
    detail "$tmp/err"
fi

if run "compressed npz" 1 --params tests/data/npz/compressed.npz &&
    has "$tmp/err" "is compressed (np.savez_compressed); save with np.savez"; then
    ok "np.savez_compressed's file: a clear error"
else
    notok "np.savez_compressed's file"
    detail "$tmp/err"
fi

# 6. The route docs/API.md documents, run as written there.
if "$PYTHON" -c "import numpy, safetensors.numpy" 2>/dev/null; then
    "$PYTHON" - "$tmp/p.safetensors" >"$tmp/py" 2>&1 <<'PY'
import sys
import numpy as np
from safetensors.numpy import save_file
W = np.array([[1.0, 2.0], [3.0, 4.0]])
b = np.array([0.5, -1.0])
E = np.array([[0.0, 1.0], [1.0, 0.0]])
params = {"W": W, "b": b, "E": E}
save_file({k: v.astype(np.float32) for k, v in params.items()}, sys.argv[1])
PY
    if run "safetensors route" 0 --params "$tmp/p.safetensors" && has "$tmp/out" "y [2] = 7.5 11"; then
        ok "safetensors.numpy.save_file's file loads: y = (7.5, 11)"
    else
        notok "safetensors.numpy.save_file's file"
        detail "$tmp/py"
        detail "$tmp/out"
    fi
else
    skip "safetensors.numpy.save_file route: no numpy + safetensors for $PYTHON (pip install numpy safetensors)"
fi

# 7. 16 MB of params, files limited to 4 MB (8192 blocks of 512 bytes; 8 MB
# where a block is 1 KB): the model builds, the save cannot complete.
cat >"$tmp/big.nn" <<'NN'
model big
dim N = 2048
param W : [N, N] init zeros
input x : [N]
output y
y = W @ x
NN
"$PYTHON" -c 'import sys, struct
h = "{'"'descr': '<f4', 'fortran_order': False, 'shape': (2048,), }"'"
h += " " * (63 - 10 - len(h)) + "\n"
sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + bytes(8192))' >"$tmp/bx.npy"
mkdir "$tmp/save"
(ulimit -f 8192 && exec "$NNGC" run "$tmp/big.nn" --input x="$tmp/bx.npy" --save "$tmp/save/ck.safetensors") >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 1 ] && has "$tmp/err" "$tmp/save/ck.safetensors: write failed: File too large" &&
    [ -z "$(ls -A "$tmp/save")" ]; then
    ok "a save past ulimit -f: 'File too large' naming the path, no temporary file left"
else
    notok "a save past ulimit -f: $(status_text $st); left: $(ls -A "$tmp/save")"
    detail "$tmp/err"
fi

# 8. The compiler's own output past `ulimit -f` (2 KB or 4 KB; the C of
# rnnlm.nn is larger): an error, not a death by SIGXFSZ, no temp file left.
mkdir "$tmp/gen"
(ulimit -f 4 && exec "$NNGC" examples/rnnlm.nn -o "$tmp/gen/rnnlm.c") >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 1 ] && has "$tmp/err" "error:" && [ -z "$(ls -A "$tmp/gen")" ]; then
    ok "nngc -o past ulimit -f: an error, no temporary file left"
else
    notok "nngc -o past ulimit -f: $(status_text $st); left: $(ls -A "$tmp/gen")"
    detail "$tmp/err"
fi

[ "$skipped" -eq 0 ] || echo "$skipped skipped (not counted as passed)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
