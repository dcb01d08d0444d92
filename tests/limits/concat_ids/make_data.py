#!/usr/bin/python3
"""Writes the inputs and the hand-computed expected outputs of model.nn
(run once; the .npy files are checked in, so the test needs no NumPy).

E row r is [10 r, 10 r + 1]; a = [3, 0, 4] (T = 3), b = [1, 2]:
ids = [3, 0, 4, 1, 2], rows = E[ids]; twice = E[[1, 2, 1, 2]];
both = rows then twice."""
import numpy as np
E = np.array([[0, 1], [10, 11], [20, 21], [30, 31], [40, 41]], np.float32)
np.save('in_E.npy', E)
np.save('in_a.npy', np.array([3, 0, 4], np.int32))
np.save('in_b.npy', np.array([1, 2], np.int32))
rows = np.array([[30, 31], [0, 1], [40, 41], [10, 11], [20, 21]], np.float32)
twice = np.array([[10, 11], [20, 21], [10, 11], [20, 21]], np.float32)
np.save('expect_rows.npy', rows)
np.save('expect_both.npy', np.concatenate([rows, twice]))
