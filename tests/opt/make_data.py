#!/usr/bin/env python3
"""tests/opt/make_data.py - writes the committed inputs of tests/opt/run.sh.

    /usr/bin/python3 tests/opt/make_data.py        (from anywhere; needs numpy)

The opt suite runs every example (examples/*.nn), every benchmark model
(bench/models/*.nn) and every golden program (tests/golden/*/*.nn) at -O0,
-O1, -O2 and with each pass alone, and compares the results with the -O0
run. Those models have no fixtures of their own, so this script makes one
input file per declared input:

    tests/opt/data/<key>/<input>.npy
    tests/opt/data/<key>/dims            NAME=N per dynamic dim (for nngc run --dim)
    tests/opt/data/<key>/open_dims       NAME=N per open dim (`dim V`: for every
                                         compilation; the size of the golden
                                         file's `# flags: --dim V=N`, else 5)

where <key> is the model's path with "/" turned into "__" and ".nn"
dropped (examples__rnnlm, bench__models__tagger, tests__golden__batch__rnn_fission).

The inputs are read from the `input NAME : TYPE` lines of the model:
  - a dynamic dim (`dim T max N`) is set to min(N, 5), small and fixed;
  - float inputs are normal(0, 0.5) values, float32;
  - int inputs are ids in [0, m) where m is the smallest static dim of
    the model: every id the examples use indexes (or names a class of) a
    size that is a static dim, so such ids are always in range.
One more directory, zero_trip/, holds the special inputs of a check of
run.sh (see the end of main). Values come from a generator seeded by the key, so the files are the same
on every run. The test suite itself never needs numpy: rerun this script
only when a model's inputs change, and commit tests/opt/data.
"""
import os
import re
import sys
import zlib

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "opt", "data")
DYN_DEFAULT = 5


def models():
    """Paths (relative to ROOT) of the models the suite runs, sorted."""
    found = []
    for sub in ("examples", os.path.join("bench", "models")):
        d = os.path.join(ROOT, sub)
        if os.path.isdir(d):
            found += [os.path.join(sub, f) for f in os.listdir(d) if f.endswith(".nn")]
    g = os.path.join(ROOT, "tests", "golden")
    if os.path.isdir(g):
        for p in os.listdir(g):
            pd = os.path.join(g, p)
            if os.path.isdir(pd):
                found += [os.path.join("tests", "golden", p, f) for f in os.listdir(pd) if f.endswith(".nn")]
    return sorted(found)


def key_of(path):
    return path[:-3].replace(os.sep, "__")


def strip_comment(line):
    return line.split("#", 1)[0].strip()


def eval_size(expr, dims):
    """A dim expression (names, integers, + - *) with the dims' values."""
    if not re.fullmatch(r"[A-Za-z0-9_+\-* ]+", expr):
        raise ValueError("bad size %r" % expr)
    return int(eval(expr, {"__builtins__": {}}, dict(dims)))


def parse(path):
    dims, static, inputs, dyn, opened = {}, [], [], [], []
    flagged = {}
    with open(os.path.join(ROOT, path)) as f:
        for raw in f:
            for m in re.finditer(r"--dim[ =](\w+)=(\d+)", raw if raw.startswith("# flags:") else ""):
                flagged[m.group(1)] = int(m.group(2))
            line = strip_comment(raw)
            m = re.fullmatch(r"dim\s+(\w+)", line)
            if m:
                dims[m.group(1)] = flagged.get(m.group(1), DYN_DEFAULT)
                static.append(dims[m.group(1)])
                opened.append(m.group(1))
                continue
            m = re.fullmatch(r"dim\s+(\w+)\s*=\s*(.+)", line)
            if m:
                dims[m.group(1)] = eval_size(m.group(2), dims)
                static.append(dims[m.group(1)])
                continue
            m = re.fullmatch(r"dim\s+(\w+)\s+max\s+(.+)", line)
            if m:
                dims[m.group(1)] = min(eval_size(m.group(2), dims), DYN_DEFAULT)
                dyn.append(m.group(1))
                continue
            m = re.fullmatch(r"input\s+(\w+)\s*:\s*(int|float)?\s*(\[(.*)\])?", line)
            if m:
                is_int = m.group(2) == "int"
                shape = []
                if m.group(3):
                    shape = [eval_size(s.strip(), dims) for s in m.group(4).split(",")]
                inputs.append((m.group(1), is_int, tuple(shape)))
    return dims, static, inputs, dyn, opened


def main():
    written = 0
    for path in models():
        dims, static, inputs, dyn, opened = parse(path)
        key = key_of(path)
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        idmax = min(static) if static else 1
        d = os.path.join(OUT, key)
        os.makedirs(d, exist_ok=True)
        for name, is_int, shape in inputs:
            if is_int:
                a = rng.integers(0, idmax, size=shape).astype("<i4")
            else:
                a = (rng.standard_normal(size=shape) * 0.5).astype("<f4")
            np.save(os.path.join(d, name + ".npy"), np.asarray(a))
            written += 1
        # the dynamic dims, for --dim NAME=N (not every one is an input's size)
        with open(os.path.join(d, "dims"), "w") as f:
            for name in dyn:
                f.write("%s=%d\n" % (name, dims[name]))
        if opened:
            with open(os.path.join(d, "open_dims"), "w") as f:
                for name in opened:
                    f.write("%s=%d\n" % (name, dims[name]))
    # zero_trip: tests/golden/hoist/zero_trip_kept.nn with T = 1 (its loop
    # 1..T runs zero times) and y = 9, out of range for E : [5, 3]. Every
    # level must run it without error (loss 0): the checked E[y] must not
    # be hoisted out of a loop that never runs.
    d = os.path.join(OUT, "zero_trip")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "y.npy"), np.array(9, dtype="<i4"))
    np.save(os.path.join(d, "xs.npy"), np.ones((1, 3), dtype="<f4"))
    written += 2
    print("wrote %d input files under %s" % (written, os.path.relpath(OUT, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
