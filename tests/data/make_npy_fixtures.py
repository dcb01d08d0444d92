#!/usr/bin/python3
"""Writes the .npy fixtures of tests/unit/test_rt_npy.c with real NumPy.

The files are checked in; rerun only to add a fixture:
    /usr/bin/python3 tests/data/make_npy_fixtures.py
Every value is a simple formula so the C test can state it independently.
"""
import os
import numpy as np
import numpy.lib.format as fmt

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")
os.makedirs(out, exist_ok=True)


def save(name, arr):
    np.save(os.path.join(out, name), arr, allow_pickle=False)


def save_version(name, arr, version):
    with open(os.path.join(out, name), "wb") as f:
        fmt.write_array(f, arr, version=version, allow_pickle=False)


# accepted
save("f32_2d.npy", (np.arange(12, dtype=np.float32) * 0.5 - 1.0).reshape(3, 4))
save("i4_1d.npy", np.array([3, -1, 0, 2**31 - 1, -2**31], dtype="<i4"))
save("i8_1d.npy", np.array([1, -2, 30000, -2**31, 2**31 - 1], dtype="<i8"))
save("f32_0d.npy", np.array(3.25, dtype=np.float32))
save("f32_4d.npy", np.arange(12, dtype=np.float32).reshape(2, 1, 3, 2))
save("f32_empty.npy", np.zeros((0, 3), dtype=np.float32))
save_version("f32_v2.npy", np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5, (2, 0))
save_version("f32_v3.npy", np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5, (3, 0))
# rejected
save("i8_big.npy", np.array([0, 1, 2**31], dtype="<i8"))
save("f8.npy", np.array([1.0, 2.0], dtype="<f8"))
save("f32_be.npy", np.array([1.0, 2.0], dtype=">f4"))
save("b1.npy", np.array([True, False]))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("f32_5d.npy", np.zeros((1, 2, 1, 2, 1), dtype=np.float32))
