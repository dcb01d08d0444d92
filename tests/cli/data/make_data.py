#!/usr/bin/env python3
"""make_data.py - writes the fixtures of tests/cli/run.sh (checked in, so
the tests need no NumPy; rerun only to change them):

    /usr/bin/python3 tests/cli/data/make_data.py

The expected results are computed by hand below, not by running anything,
so the tests compare nngc against an independent reference.
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, a):
    np.save(os.path.join(HERE, name), a)


def safetensors(name, tensors):
    """Writes F32 tensors in the safetensors format: an 8-byte little-endian
    header length, a JSON header, then the raw data."""
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


E = np.array([[1, 0], [0, 1], [1, 1], [2, -1]], dtype=np.float32)
W = np.array([[1, 2], [3, 4]], dtype=np.float32)
safetensors("params.safetensors", {"E": E, "W": W})
# W of the wrong shape: loading must fail
safetensors("params_badshape.safetensors", {"E": E, "W": np.zeros((3, 3), np.float32)})
with open(os.path.join(HERE, "params_corrupt.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 1000) + b'{"E": {"dtype"')  # header runs past the end

save("words.npy", np.array([0, 2, 3, 1], dtype=np.int32))  # T = 3
save("x.npy", np.array([1, -1], dtype=np.float32))
save("c.npy", np.array(0, dtype=np.int32))  # 0-d: `input c : int`

# y = W @ x = [1*1 + 2*(-1), 3*1 + 4*(-1)] = [-1, -1]
save("expect_y.npy", np.array([-1, -1], dtype=np.float32))
# loss = E0.E2 + E2.E3 + E3.E1 + cross_entropy(y, 0)
#      = (1*1 + 0*1) + (1*2 + 1*(-1)) + (2*0 + (-1)*1) - log(e^-1 / (e^-1 + e^-1))
#      = 1 + 1 - 1 + log 2 = 1.6931472
save("expect_loss.npy", np.array(1.6931472, dtype=np.float32))

# bad inputs, one problem each
save("words_i64.npy", np.array([0, 2, 3, 1], dtype=np.int64))      # fine: converted to int32
save("words_long.npy", np.array([0, 1, 2, 3, 0], dtype=np.int32))  # T = 4 > max 3
save("words_badid.npy", np.array([0, 2, 7, 1], dtype=np.int32))    # id 7 >= V = 4
save("x_int.npy", np.array([1, -1], dtype=np.int32))               # wrong dtype
save("x_2d.npy", np.array([[1, -1]], dtype=np.float32))            # wrong rank
save("x_3.npy", np.array([1, -1, 0], dtype=np.float32))            # 3 elements, D = 2
with open(os.path.join(HERE, "corrupt.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00\xff\x00{'descr': '<f4'")  # header length past the end
