#!/usr/bin/python3
"""rows.py - the rows of `make bench` and their inputs.

    python3 bench/rows.py DIR

writes the inputs of every row as .npy files into DIR/ROW/ (random ids and
floats from fixed seeds, so every run times the same data) and prints one
line per row for bench/run.sh:

    row NAME MODEL REPEAT_O0 REPEAT_O2 INPUT=FILE ...

then one line per training row (TRAIN_ROWS), same fields:

    train NAME MODEL REPEAT_O0 REPEAT_O2 INPUT=FILE ...

MODEL is relative to the repository root. Needs only numpy; torch_bench.py
imports ROWS from here to read the same files and to know the sizes.
"""
import os
import sys

import numpy as np

T = 50  # words per sentence in every row that has one
V = 10000

# name, model, what it shows, repeat counts for nngc run at -O0 and -O2
# (about 2 s of timed calls each on the machine of docs/PERFORMANCE.md), sizes used by
# torch_bench.py, and the inputs: name -> (kind, shape or None, arg)
ROWS = [
    dict(name="slowimpl", model="examples/slowimpl.nn", repeat=(20000, 100000),
         dims=dict(N=10, D=100),
         inputs=dict(xs=("float01", (10, 100)), ys=("float01", (10, 100)))),
    dict(name="bow", model="bench/models/bow.nn", repeat=(200000, 200000),
         dims=dict(V=V, D=256, C=20, T=T),
         inputs=dict(words=("ids", (T,), V), label=("id", None, 20))),
    dict(name="tagger", model="bench/models/tagger.nn", repeat=(5000, 5000),
         dims=dict(V=V, E=256, H=256, C=50, T=T),
         inputs=dict(words=("ids", (T,), V), tags=("ids", (T,), 50))),
    dict(name="hoist", model="bench/models/hoist.nn", repeat=(2000, 50000),
         dims=dict(K=256, D=256, T=T),
         inputs=dict(q=("float11", (256,)), xs=("float11", (T, 256)))),
    dict(name="skipgram", model="examples/skipgram.nn", repeat=(60, 400),
         dims=dict(V=V, D=128, T=T),
         inputs=dict(sent=("sentence", (T + 4,), V))),
    dict(name="rnnlm", model="examples/rnnlm.nn", repeat=(200, 400),
         dims=dict(V=V, E=64, H=128, T=T),
         inputs=dict(words=("ids", (T + 1,), V))),
    dict(name="rnnlm256", model="bench/models/rnnlm256.nn", repeat=(100, 250),
         dims=dict(V=V, E=256, H=256, T=T),
         inputs=dict(words=("ids", (T + 1,), V))),
]

# The training rows of `make bench`: rows of ROWS whose model declares an
# optimizer, timed as train steps (nngc run --train 1 --repeat N), with the
# repeat counts at -O0 and -O2 (about 2 s of steps each). bench/run.sh gets
# them as lines "train NAME MODEL REPEAT_O0 REPEAT_O2 INPUT=FILE ...";
# torch_bench.py --train knows their optimizers.
TRAIN_ROWS = {
    "slowimpl": (8000, 100000),   # sgd(lr = 0.1)
    "skipgram": (16, 120),        # sgd(lr = 0.1)
    "rnnlm": (16, 120),           # adam(lr = 0.001)
}


def make_input(rng, spec):
    kind, shape = spec[0], spec[1]
    if kind == "float01":
        return rng.random(shape, dtype=np.float32)
    if kind == "float11":
        return (2 * rng.random(shape, dtype=np.float32) - 1).astype(np.float32)
    if kind == "ids":
        return rng.integers(1, spec[2], size=shape).astype(np.int32)
    if kind == "id":
        return np.int32(rng.integers(0, spec[2]))
    if kind == "sentence":  # <s> <s> w1 ... wT <s> <s>, as skipgram expects
        s = rng.integers(1, spec[2], size=shape).astype(np.int32)
        s[:2] = 0
        s[-2:] = 0
        return s
    raise ValueError(kind)


def input_path(d, row, name):
    return os.path.join(d, row["name"], name + ".npy")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: rows.py DIR")
    d = sys.argv[1]
    lines = []
    for k, row in enumerate(ROWS):
        os.makedirs(os.path.join(d, row["name"]), exist_ok=True)
        rng = np.random.default_rng(1000 + k)
        args = []
        for name, spec in row["inputs"].items():
            p = input_path(d, row, name)
            np.save(p, make_input(rng, spec))
            args.append("%s=%s" % (name, p))
        print("row", row["name"], row["model"], row["repeat"][0], row["repeat"][1], *args)
        if row["name"] in TRAIN_ROWS:
            lines.append(["train", row["name"], row["model"], *TRAIN_ROWS[row["name"]], *args])
    for line in lines:
        print(*line)


if __name__ == "__main__":
    main()
