"""Writes the .npz and safetensors fixtures of tests/data/npz/ with real
NumPy (np.savez, np.savez_compressed) and the safetensors package.

    python3 tests/data/make_npz_fixtures.py     (needs numpy, safetensors)

Each array's values are a formula stated again in the tests that read them
(tests/unit/test_rt_npz.c, tests/unit/test_rt_params.c):

    W = arange(12).reshape(3, 4) * 0.25        float32
    b = [1.5, -2.0, 3.0]                       float64 (NumPy's default)
    s = 7.0                                    float32, 0-d
    embé = -arange(4).reshape(2, 2)            float32
"""
import os

import numpy as np

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npz")
os.makedirs(here, exist_ok=True)

arrays = {
    "W": (np.arange(12, dtype=np.float32).reshape(3, 4) * 0.25).astype(np.float32),
    "b": np.array([1.5, -2.0, 3.0]),
    "s": np.float32(7.0),
    "emb\u00e9": -np.arange(4, dtype=np.float32).reshape(2, 2),
}
np.savez(os.path.join(here, "ref.npz"), **arrays)
np.savez_compressed(os.path.join(here, "compressed.npz"), **arrays)
np.savez(os.path.join(here, "ids.npz"), ids=np.array([3, 1, 4], dtype=np.int64))
np.savez(os.path.join(here, "empty.npz"))
# An Adam checkpoint's state names hold '/': members "__opt__/W/m.npy".
np.savez(os.path.join(here, "with_state.npz"), W=arrays["W"],
         **{"__opt__/W/m": np.ones((3, 4), np.float32), "__opt__/step": np.float32(2)})
