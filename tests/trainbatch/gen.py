#!/usr/bin/env python3
"""gen.py - the .npy data of tests/trainbatch (Python alone, no NumPy).

  gen.py seqcls DIR N SEED    DIR/words.npy int32 [N, 8] (ids 0..19), xs.npy
                              float32 [N, 8, 4], y.npy int32 [N] (0..9),
                              len.npy int32 [N]: lengths 1..8, with 1 and 8
                              among them; rows padded past each length
                              (ids 0, floats 0) for tests/batch/models/seqcls.nn
  gen.py pair DIR N SEED      DIR/a.npy int32 [N, 6], b.npy int32 [N, 5] (ids
                              0..19), y.npy int32 [N] (0..2), len.npy int32
                              [N, 2]: each example's two lengths (1..6 and
                              1..5, each with 1 and its max among them),
                              rows padded past them with id 0, for a model
                              of two dynamic dims (run.sh's pair.nn)
  gen.py clf DIR N SEED       DIR/x.npy float32 [N, 32], y.npy int32 [N]
                              (0..9), for examples/classifier.nn
  gen.py badid DIR N K        DIR/sent.npy int32 [N, 44], len.npy [N] for
                              sg.nn with id 1000 (out of V = 128) in example K
  gen.py badlabel DIR N K     DIR/cx.npy float32 [N, 32], cy.npy int32 [N] for
                              examples/classifier.nn with label 10 (out of C = 10)
                              in example K
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from npyio import write_npy  # noqa: E402


def main():
    kind, d, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    if kind == "seqcls":
        lens = [1, 8] + [rng.randint(1, 8) for _ in range(n - 2)]
        rng.shuffle(lens)
        words, xs, ys = [], [], []
        for t in lens:
            words += [rng.randrange(20) if i < t else 0 for i in range(8)]
            xs += [rng.uniform(-1, 1) if i < t else 0.0 for i in range(8) for _ in range(4)]
            ys.append(rng.randrange(10))
        write_npy(d + "/words.npy", "i", [n, 8], words)
        write_npy(d + "/xs.npy", "f", [n, 8, 4], xs)
        write_npy(d + "/y.npy", "i", [n], ys)
        write_npy(d + "/len.npy", "i", [n], lens)
    elif kind == "pair":
        la = [1, 6] + [rng.randint(1, 6) for _ in range(n - 2)]
        lb = [1, 5] + [rng.randint(1, 5) for _ in range(n - 2)]
        rng.shuffle(la)
        rng.shuffle(lb)
        a, b, ys = [], [], []
        for i in range(n):
            a += [rng.randrange(20) if j < la[i] else 0 for j in range(6)]
            b += [rng.randrange(20) if j < lb[i] else 0 for j in range(5)]
            ys.append(rng.randrange(3))
        write_npy(d + "/a.npy", "i", [n, 6], a)
        write_npy(d + "/b.npy", "i", [n, 5], b)
        write_npy(d + "/y.npy", "i", [n], ys)
        write_npy(d + "/len.npy", "i", [n, 2], [x for i in range(n) for x in (la[i], lb[i])])
    elif kind == "clf":
        write_npy(d + "/x.npy", "f", [n, 32], [rng.uniform(-1, 1) for _ in range(n * 32)])
        write_npy(d + "/y.npy", "i", [n], [rng.randrange(10) for _ in range(n)])
    elif kind == "badid":
        rows, lens = [], []
        for i in range(n):
            t = 3 + i % 5
            ids = [0, 0] + [1000 if i == seed and k == 1 else 2 + (i * 7 + k) % 120 for k in range(t)] + [0, 0]
            rows += ids + [0] * (44 - len(ids))
            lens.append(t)
        write_npy(d + "/sent.npy", "i", [n, 44], rows)
        write_npy(d + "/len.npy", "i", [n], lens)
    elif kind == "badlabel":
        write_npy(d + "/cx.npy", "f", [n, 32], [rng.random() for _ in range(n * 32)])
        write_npy(d + "/cy.npy", "i", [n], [10 if i == seed else rng.randrange(10) for i in range(n)])
    else:
        sys.exit(__doc__)


main()
