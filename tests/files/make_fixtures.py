"""Writes the fixtures of tests/files/ with real NumPy:

    python3 tests/files/make_fixtures.py

    W = [[1, 2], [3, 4]]   float64 (NumPy's default)
    b = [0.5, -1]          float64
    E = [[0, 1], [1, 0]]   float32
    x = [1, 2]             float64

so that y = W x + b + E x = (1 + 4 + 0.5 + 2, 3 + 8 - 1 + 1) = (7.5, 11).
params.npz has W, b, E; no_b.npz lacks b (b keeps its init, zeros: y =
(7, 12)); no_E.npz lacks the frozen E (an error); W.npy is W alone.
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
W = np.array([[1.0, 2.0], [3.0, 4.0]])
b = np.array([0.5, -1.0])
E = np.array([[0, 1], [1, 0]], np.float32)
np.savez(os.path.join(here, "params.npz"), W=W, b=b, E=E)
np.savez(os.path.join(here, "no_b.npz"), W=W, E=E)
np.savez(os.path.join(here, "no_E.npz"), W=W, b=b)
np.save(os.path.join(here, "W.npy"), W)
np.save(os.path.join(here, "x.npy"), np.array([1.0, 2.0]))
