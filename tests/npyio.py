"""npyio.py - the .npy reader and writer of the test scripts (tests/batch,
tests/partrain), so that they need no NumPy: little-endian float32 ('f'),
int32 ('i') and, read only, float64, C order; and a float32 safetensors
writer (params for `nngc run --params`).

    write_npy(path, code, shape, values)   code 'f' or 'i'
    read_npy(path) -> (shape as a list, values as a flat list)
    write_safetensors(path, {name: (shape, values)})   float32, in order
"""
import ast
import json
import struct

_DESCR = {"f": "<f4", "i": "<i4"}
_CODE = {"<f4": "f", "<i4": "i", "<f8": "d"}


def write_npy(path, code, shape, values):
    shp = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (_DESCR[code], shp)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), code), *values))


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    hlen = struct.unpack("<H", data[8:10])[0]
    h = ast.literal_eval(data[10:10 + hlen].decode())
    assert not h["fortran_order"], (path, h)
    n = 1
    for d in h["shape"]:
        n *= d
    return list(h["shape"]), list(struct.unpack_from("<%d%s" % (n, _CODE[h["descr"]]), data, 10 + hlen))


def write_safetensors(path, tensors):
    meta, off, blobs = {}, 0, []
    for name, (shape, vals) in tensors.items():
        b = struct.pack("<%df" % len(vals), *vals)
        meta[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(meta).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
