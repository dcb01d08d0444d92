#!/usr/bin/env python3
"""tests/batch/check.py - a batch of B examples against B one-example runs.

    python3 tests/batch/check.py NNGC MODEL.nn B SEED [--mean] [-O0|-O1] [-I DIR]... [--ids N]
        [--within NAME]... [--softmax=M]

Makes B random examples for the inputs of MODEL (float inputs uniform in
[-1, 1], int inputs in [0, N), N 10 unless --ids says, an int input named
by --within in [0, the example's length) (a pointer to one of its
positions), float labels named `label` 0 or 1), runs
`nngc run --grads --out` once per example on the program as written (the
independent reference: the un-batched program) and once on the batch with
--batch=B, and compares: the loss and every gradient against the sum over
the examples (with --mean: the mean), every output row b against example
b's output (cut to the example's own shape where a dynamic dim pads it:
the padding is not compared). Each dynamic dim gets a length per example (1, the max, and
random ones between, shuffled); the batch is padded to the longest with
values that fail or show if read (ids out of range, floats 1e3). (B = 1: inputs and outputs without the batch axis, the program
as written). Tolerance: |x - ref| <= 1e-4 |ref| + 1e-5 per element. Exit 0
when all agree; otherwise one line per mismatch and exit 1. Pure Python:
.npy files are read and written here (no NumPy needed).
"""
import itertools
import os
import random
import re
import subprocess
import sys
import tempfile


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from npyio import read_npy, write_npy  # noqa: E402


def header_of(nngc, model, incl, args):
    """({name: (dtype, [size expr])} of the inputs, {dim: max} of the
    dynamic dims) from the header of --dump-ir=lower."""
    p = subprocess.run([nngc, model, "--dump-ir=lower"] + incl + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("nngc --dump-ir failed:\n" + p.stdout + p.stderr)
    ins = {}
    for m in re.finditer(r"^input (\w+) : (f32|i32)(?:\[([^]]*)\])?$", p.stdout, re.M):
        ins[m.group(1)] = (m.group(2), [x.strip() for x in m.group(3).split(",")] if m.group(3) else [])
    dyn = {m.group(1): int(m.group(2)) for m in re.finditer(r"^dim (\w+) max (\d+)$", p.stdout, re.M)}
    return ins, dyn


def size(expr, dims):
    return int(eval(re.sub(r"[A-Za-z_]\w*", lambda m: str(dims[m.group(0)]), expr)))


def run(nngc, model, args, incl, d, feeds):
    os.makedirs(d)
    cmd = [nngc, "run", model, "--seed", "7", "--grads", d + "/g", "--out", d + "/o"] + incl + args
    for name, path in feeds:
        cmd += ["--input", "%s=%s" % (name, path)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("nngc run failed (%s):\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    res = {}
    for sub in ("g", "o"):
        for f in os.listdir(d + "/" + sub):
            res[sub + "/" + f[:-4]] = read_npy(d + "/" + sub + "/" + f)
    return res


def leading_blocks(shape, vals, shapes):
    """Row b of a batched output (shape [B, ...], padded to the longest
    example along a dynamic dim) cut to example b's own shape (shapes[b]),
    the rows concatenated: what the padding holds is not compared."""
    row = shape[1:]
    size = 1
    for d in row:
        size *= d
    out = []
    for b, own in enumerate(shapes):
        if len(own) != len(row) or any(o > r for o, r in zip(own, row)):
            return vals   # (not a padded row: the length check reports it)
        for e in itertools.product(*[range(o) for o in own]):
            flat = 0
            for i, d in zip(e, row):
                flat = flat * d + i
            out.append(vals[b * size + flat])
    return out


def main():
    argv = sys.argv[1:]
    mean = "--mean" in argv
    argv = [a for a in argv if a != "--mean"]
    incl = []
    nids = 10
    if "--ids" in argv:
        k = argv.index("--ids")
        nids = int(argv[k + 1])
        del argv[k:k + 2]
    within = set()
    while "--within" in argv:
        k = argv.index("--within")
        within.add(argv[k + 1])
        del argv[k:k + 2]
    while "-I" in argv:
        k = argv.index("-I")
        incl += ["-I", argv[k + 1]]
        del argv[k:k + 2]
    opts = [a for a in argv if a in ("-O0", "-O1", "-O2") or a.startswith("--softmax=")]
    incl += opts
    argv = [a for a in argv if a not in opts]
    nngc, model, B, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    rng = random.Random(seed)
    ins, dyn = header_of(nngc, model, incl, [])
    bins, _ = header_of(nngc, model, incl, ["--batch=%d" % B] if B > 1 else [])
    # the batch axis of each input: where the header with another batch
    # size differs (its size string "B" alone is ambiguous when a static
    # dim has B's value: zs : [K, E] at K = B = 3 is [3, 3, 3])
    other = header_of(nngc, model, incl, ["--batch=9973"])[0] if B > 1 else bins
    bax = {name: next((k for k, (x, y) in enumerate(zip(sizes, other[name][1])) if x != y), -1)
           for name, (dt, sizes) in bins.items() if name in ins}
    tmp = tempfile.mkdtemp(prefix="nngc-batch-")
    # lengths of each dynamic dim: 1 and the max among them, in random order
    lens = {}
    for name, dmax in dyn.items():
        tmax = min(dmax, 6)
        ls = [1, tmax] + [rng.randint(1, tmax) for _ in range(B - 2)] if B > 1 else [tmax]
        rng.shuffle(ls)
        lens[name] = ls[:B]
    first = next(iter(dyn), None)  # (--within: a position of the first dynamic dim)
    examples, shapes = [], []
    for b in range(B):
        dims = {name: lens[name][b] for name in dyn}
        ex, shp = {}, {}
        for name, (dt, sizes) in ins.items():
            shp[name] = [size(e, dims) for e in sizes]
            n = 1
            for d in shp[name]:
                n *= d
            if dt == "i32" and name in within:
                ex[name] = [rng.randrange(lens[first][b]) for _ in range(n)]
            elif dt == "i32":
                ex[name] = [rng.randrange(nids) for _ in range(n)]
            elif name == "label":
                ex[name] = [float(rng.randrange(2)) for _ in range(n)]
            else:
                ex[name] = [rng.uniform(-1, 1) for _ in range(n)]
        examples.append(ex)
        shapes.append(shp)
    dimargs = lambda dims: [a for name in dyn for a in ("--dim", "%s=%d" % (name, dims[name]))]
    # the reference: B runs of the program as written
    refs = []
    for b, ex in enumerate(examples):
        feeds = []
        for name, (dt, sizes) in ins.items():
            path = "%s/ex%d_%s.npy" % (tmp, b, name)
            write_npy(path, "f" if dt == "f32" else "i", shapes[b][name], ex[name])
            feeds.append((name, path))
        refs.append(run(nngc, model, dimargs({n: lens[n][b] for n in dyn}), incl, "%s/ref%d" % (tmp, b), feeds))
    # the batch: padded to the longest example (padding: ids out of any
    # range, large floats: a read of the padding fails or shows), the batch
    # axis where the batched program's header puts it
    dims = {name: max(lens[name]) for name in dyn}
    feeds = []
    for name, (dt, sizes) in bins.items():
        path = "%s/batch_%s.npy" % (tmp, name)
        if name not in ins:  # the lengths of a dynamic dim, NAME_len
            write_npy(path, "f" if dt == "f32" else "i", [B], lens[name[:-len("_len")]])
            feeds.append((name, path))
            continue
        full = [size(e, dims) for e in sizes]
        ax = bax[name] if B > 1 else -1
        pad = 1000000 if dt == "i32" else 1e3
        vals = []
        for idx in itertools.product(*[range(d) for d in full]):
            b = idx[ax] if ax >= 0 else 0
            e = [i for k, i in enumerate(idx) if k != ax]
            shp = shapes[b][name]
            if any(i >= d for i, d in zip(e, shp)):
                vals.append(pad)
                continue
            flat = 0
            for i, d in zip(e, shp):
                flat = flat * d + i
            vals.append(examples[b][name][flat])
        write_npy(path, "f" if dt == "f32" else "i", full, vals)
        feeds.append((name, path))
    args = (["--batch=%d" % B] if B > 1 else []) + (["--batch-mean"] if mean else []) + dimargs(dims)
    got = run(nngc, model, args, incl, tmp + "/batch", feeds)

    bad = 0

    def close(key, g, r):
        nonlocal bad
        if len(g) != len(r):
            print("%s: %d values, expected %d" % (key, len(g), len(r)))
            bad += 1
            return
        for i, (x, y) in enumerate(zip(g, r)):
            if not abs(x - y) <= 1e-4 * abs(y) + 1e-5:
                print("%s[%d]: %.8g, expected %.8g" % (key, i, x, y))
                bad += 1
                return

    if set(got) != set(refs[0]):
        print("files differ: batch %s, one example %s" % (sorted(got), sorted(refs[0])))
        return 1
    for key in sorted(refs[0]):
        if key.startswith("g/") or key == "o/loss":
            tot = [sum(vals) for vals in zip(*[r[key][1] for r in refs])]
            if mean:
                tot = [t / B for t in tot]
            close(key, got[key][1], tot)
        else:  # an output: row b is example b's
            shape, vals = got[key]
            if B > 1 and shape[:1] != [B]:
                print("%s: shape %s, expected a leading %d" % (key, shape, B))
                bad += 1
                continue
            close(key, leading_blocks(shape, vals, [r[key][0] for r in refs]) if B > 1 else vals,
                  [x for r in refs for x in r[key][1]])
    print("%s: %d values compared, %d mismatches" % (os.path.basename(model), len(refs[0]), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
