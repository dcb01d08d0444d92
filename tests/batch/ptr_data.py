"""ptr_data.py DIR - the inputs of tests/batch/ptr.nn and pointer.nn (tests/batch/run.sh,
tests/cuda/run.sh): two examples of 4 and 2 rows as one batch (xs [T, B,
E] time-major, or [B, T, E] for ptr_whole.nn; at [T, B], T_len), each
alone, and indexes out of range."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

d = sys.argv[1]
xs = [0.1 * k for k in range(24)]  # [T, B, E]: example b's row t at (t * 2 + b) * 3
check.write_npy(d + "/pxs.npy", "f", [4, 2, 3], xs)
# the same rows batch-major ([B, T, E]: ptr_whole.nn reads xs whole too)
check.write_npy(d + "/pxsb.npy", "f", [2, 4, 3], [xs[(t * 2 + b) * 3 + e] for b in range(2) for t in range(4) for e in range(3)])
check.write_npy(d + "/pbad.npy", "i", [4, 2], [0, 1, 3, 2, 1, 0, 2, 0])  # example 1 reads row 2 of 2
check.write_npy(d + "/pneg.npy", "i", [4, 2], [0, 1, 3, -1, 1, 0, 2, 0])  # and row -1
check.write_npy(d + "/pok.npy", "i", [4, 2], [0, 1, 3, 0, 1, 0, 2, 0])
check.write_npy(d + "/plen.npy", "i", [2], [4, 2])
check.write_npy(d + "/plen0.npy", "i", [2], [4, 0])
check.write_npy(d + "/px0.npy", "f", [4, 3], [xs[(t * 2) * 3 + e] for t in range(4) for e in range(3)])
check.write_npy(d + "/px1.npy", "f", [2, 3], [xs[(t * 2 + 1) * 3 + e] for t in range(2) for e in range(3)])
check.write_npy(d + "/pa0.npy", "i", [4], [0, 3, 1, 2])
check.write_npy(d + "/pa1.npy", "i", [2], [1, 0])
# pointer.nn: example 0's 4 words, example 1's 2 (the rest padding), a
# label past example 1's positions
check.write_npy(d + "/yw.npy", "i", [2, 4], [1, 2, 3, 4, 5, 6, 1000000, 1000000])
check.write_npy(d + "/ybad.npy", "i", [2], [3, 2])
check.write_npy(d + "/ylen.npy", "i", [2], [4, 2])
