#!/usr/bin/python3
"""Writes tests/data/safetensors/ref.safetensors with an independent writer
(json + struct + numpy, not the code under test), read back by
tests/unit/test_rt_safetensors.c:
    /usr/bin/python3 tests/data/make_st_fixtures.py

Deliberately unlike our own writer: the data of "b" comes before that of
"W", json.dumps puts spaces after ':' and ',' and escapes non-ASCII as
\\uXXXX, and there is a __metadata__ entry.
"""
import json
import os
import struct
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors")
os.makedirs(out, exist_ok=True)

W = (np.arange(12, dtype="<f4") * 0.25).reshape(3, 4)   # W[i][j] = (4i + j) / 4
b = np.array([1.5, -2.0, 3.0], dtype="<f4")
s = np.array(7.0, dtype="<f4")                          # a scalar: shape []
e = (-np.arange(4, dtype="<f4")).reshape(2, 2)          # named "emb\u00e9" (embé)

blobs = [("b", b), ("W", W), ("s", s), ("emb\u00e9", e)]
header, data = {}, b""
for name, arr in blobs:
    header[name] = {"dtype": "F32", "shape": list(arr.shape),
                    "data_offsets": [len(data), len(data) + arr.nbytes]}
    data += arr.tobytes()
header["__metadata__"] = {"format": "pt", "note": "caf\u00e9 \"quoted\"\n"}
# Key order in the file: W, __metadata__, b, s, embé.
order = ["W", "__metadata__", "b", "s", "emb\u00e9"]
text = json.dumps({k: header[k] for k in order}).encode("utf-8")
text += b" " * (-len(text) % 8)
with open(os.path.join(out, "ref.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
