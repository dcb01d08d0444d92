#!/usr/bin/env python3
"""npyref.py - the .npy helpers of tests/partrain (Python alone, no NumPy).

  npyref.py data DIR N SEED        writes DIR/sent.npy (int32 [N, 44]: the
                                   examples of sg.nn, ids 2..127 padded with
                                   <s> = 0), DIR/len.npy (int32 [N]: T of
                                   each) and DIR/sent_I.npy (example I alone,
                                   [T + 4]) with DIR/T_I (its T)
  npyref.py sgd OUT LR W0 G1 G2 ...  writes OUT = W0 - LR * (G1 + G2 + ...):
                                   one SGD step on the summed gradients,
                                   in float64, the reference of --batch
"""
import random
import os
import sys


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from npyio import read_npy, write_npy  # noqa: E402


def main():
    if sys.argv[1] == "data":
        d, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        rng = random.Random(seed)
        rows, lens = [], []
        for i in range(n):
            t = rng.randint(1, 12)
            ids = [0, 0] + [rng.randint(2, 127) for _ in range(t)] + [0, 0]
            write_npy("%s/sent_%d.npy" % (d, i), "i", [t + 4], ids)
            with open("%s/T_%d" % (d, i), "w") as f:
                f.write("%d\n" % t)
            rows += ids + [0] * (44 - len(ids))
            lens.append(t)
        write_npy(d + "/sent.npy", "i", [n, 44], rows)
        write_npy(d + "/len.npy", "i", [n], lens)
    elif sys.argv[1] == "sgd":
        out, lr = sys.argv[2], float(sys.argv[3])
        shape, w = read_npy(sys.argv[4])
        acc = [0.0] * len(w)
        for g in sys.argv[5:]:
            gs, ga = read_npy(g)
            assert gs == shape, (g, gs, shape)
            for i, x in enumerate(ga):
                acc[i] += x
        write_npy(out, "f", list(shape), [w[i] - lr * acc[i] for i in range(len(w))])
    else:
        sys.exit(__doc__)


main()
