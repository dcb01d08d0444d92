"""mkcounts.py DIR - the .npy files of run.sh's --counts checks, written
with struct (no NumPy): good counts as int64 and as float64 (whole
numbers), and one file per error (short, negative, fractional, rank 2,
classes too large for class(c = 6) over 24 words, counts past int64 alone
or added up)."""
import struct
import sys

FIXTURE = [50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1]


def npy(path, descr, shape, values):
    shp = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shp)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    fmt = {"<i8": "q", "<i4": "i", "<f8": "d", "<f4": "f"}[descr]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))


d = sys.argv[1]
npy(d + "/float.npy", "<f8", [12], [float(v) for v in FIXTURE])
npy(d + "/short.npy", "<i4", [11], FIXTURE[:11])
npy(d + "/negative.npy", "<i4", [12], FIXTURE[:5] + [-2] + FIXTURE[6:])
npy(d + "/fraction.npy", "<f4", [12], [2.5] + FIXTURE[1:])
npy(d + "/rank2.npy", "<i4", [3, 4], FIXTURE)
npy(d + "/skewed24.npy", "<i8", [24], [10 ** 6] + [1] * 23)
# no int64 holds these: once cast anyway (undefined) and accepted in silence
npy(d + "/huge.npy", "<f8", [12], [1e30] + [float(v) for v in FIXTURE[1:]])
npy(d + "/inf.npy", "<f4", [12], [float("inf")] + [float(v) for v in FIXTURE[1:]])
# each fits, their sum (the Huffman tree's root) does not
npy(d + "/sum.npy", "<f8", [12], [2.0 ** 62, 2.0 ** 62] + [float(v) for v in FIXTURE[2:]])
