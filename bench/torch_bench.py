#!/usr/bin/python3
"""torch_bench.py - the rows of `make bench` in PyTorch CPU eager.

    python3 bench/torch_bench.py [--params-only | --train] DIR [ROW...]
    python3 bench/torch_bench.py --compare INITIAL MINE REFERENCE

DIR holds the inputs that bench/rows.py wrote (DIR/ROW/*.npy). For every
row this script

  1. makes the model's params with numpy from a fixed seed (glorot uniform
     for matrices, uniform(-0.1, 0.1) for vectors) and writes them to
     DIR/ROW/params.safetensors, so that `nngc run --params` computes with
     the very same numbers;
  2. computes the row's forward pass (the loss and the outputs the .nn
     model defines, float32, same shapes) two ways:
       slow - written like the .nn source: Python loops, one
              matrix-vector product per word, one cross_entropy per word;
       opt  - hand-optimized: loop-invariant work hoisted, per-word
              products batched into matrix products, one cross_entropy
              (or one logsumexp) over all steps;
     and checks that the two losses agree;
  3. times both under torch.no_grad() with one thread: two warm-up calls,
     then the median over repeats (about TORCH_BENCH_BUDGET seconds, 2 by
     default, at least 5 calls) in microseconds per call.

With --params-only it does step 1 only (for every ROW given, else every
row) and prints nothing. bench/run.sh runs it that way first, then once per
row, just before that row's nngc runs, so that both are timed under the
same conditions.

With --train it does the training rows (TRAIN, the rows of rows.py
TRAIN_ROWS) instead: the same slow and opt forward passes under autograd,
then loss.backward() and one step of the model's optimizer (torch.optim.SGD
or Adam with the model's lr and PyTorch's defaults; the slow version with
torch.optim's default per-param loop, the opt version with foreach=True and,
for skip-gram, a sparse embedding gradient), each timed as above per train
step (zero_grad + forward + backward + step). It also writes
DIR/ROW/torch_step.safetensors: the params after one opt step from the
initial ones, which bench/run.sh compares with nngc's one step
(--compare INITIAL MINE REFERENCE prints "compare DIFF PARAM": the largest
over the params of |MINE - INITIAL - (REFERENCE - INITIAL)| /
|REFERENCE - INITIAL|, 2-norms).

Output, one line each (bench/run.sh parses them):

    torch_version 1.13.0
    torch_blas BLAS_INFO=...
    torch ROW slow_us=X opt_us=Y loss_slow=A loss_opt=B
    torch_train ROW slow_us=X opt_us=Y loss_slow=A loss_opt=B loss1_slow=C loss1_opt=D step_diff=E

(loss: before the step; loss1: the forward pass after one step; step_diff:
how far the slow and opt steps are apart, as for --compare.)
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rows import ROWS  # noqa: E402


# ---------------------------------------------------------------- params

def write_safetensors(path, tensors):
    """A minimal safetensors writer: 8-byte little-endian header length, a
    JSON header padded with spaces to a multiple of 8, then the raw
    little-endian float32 data of every tensor in order."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def make_params(seed, shapes):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if len(shape) == 2:
            a = np.sqrt(6.0 / (shape[0] + shape[1]))
        else:
            a = 0.1
        out[name] = rng.uniform(-a, a, size=shape).astype(np.float32)
    return out


def param_shapes(name, d):
    if name == "slowimpl":
        return dict(W=(d["D"], d["D"]))
    if name == "bow":
        return dict(emb=(d["V"], d["D"]), W=(d["C"], d["D"]), b=(d["C"],))
    if name == "tagger":
        return dict(emb=(d["V"], d["E"]), W=(d["H"], d["E"]), b=(d["H"],),
                    Wo=(d["C"], d["H"]), bo=(d["C"],))
    if name == "hoist":
        return dict(W1=(d["D"], d["K"]), b1=(d["D"],), W2=(d["D"], d["D"]), b2=(d["D"],))
    if name == "skipgram":
        return dict(Ww=(d["V"], d["D"]), Wc=(d["V"], d["D"]))
    if name in ("rnnlm", "rnnlm256"):
        return dict(emb=(d["V"], d["E"]), Wx=(d["H"], d["E"]), Wh=(d["H"], d["H"]),
                    bh=(d["H"],), Wo=(d["V"], d["H"]), bo=(d["V"],))
    raise KeyError(name)


# ---------------------------------------------------------------- the rows
# Each row: slow(p, x) and opt(p, x) return (loss, outputs...). p: params,
# x: inputs as torch tensors (int inputs as int64).

def slowimpl_slow(p, x):
    W, xs, ys = p["W"], x["xs"], x["ys"]
    loss = torch.zeros(())
    for i in range(xs.shape[0]):
        for j in range(ys.shape[0]):
            loss = loss + torch.dot(torch.mv(W, xs[i]), ys[j])
    return (loss,)


def slowimpl_opt(p, x):
    # hoisted and batched: H = [W @ xs[i]]_i as one matrix product, then
    # all N*N dot products as another
    H = torch.mm(x["xs"], p["W"].t())
    return (torch.mm(H, x["ys"].t()).sum(),)


def bow_slow(p, x):
    emb = p["emb"]
    h = torch.zeros(emb.shape[1])
    for w in x["words"].tolist():
        h = h + emb[w]
    z = torch.mv(p["W"], h) + p["b"]
    probs = torch.softmax(z, 0)
    return F.cross_entropy(z, x["label"]), probs


def bow_opt(p, x):
    h = p["emb"][x["words"]].sum(0)
    z = torch.addmv(p["b"], p["W"], h)
    return F.cross_entropy(z, x["label"]), torch.softmax(z, 0)


def tagger_slow(p, x):
    emb, W, b, Wo, bo = p["emb"], p["W"], p["b"], p["Wo"], p["bo"]
    tags = x["tags"]
    loss = torch.zeros(())
    for t, w in enumerate(x["words"].tolist()):
        h = torch.tanh(torch.mv(W, emb[w]) + b)
        loss = loss + F.cross_entropy(torch.mv(Wo, h) + bo, tags[t])
    return (loss,)


def tagger_opt(p, x):
    H = torch.tanh(torch.addmm(p["b"], p["emb"][x["words"]], p["W"].t()))
    Z = torch.addmm(p["bo"], H, p["Wo"].t())
    return (F.cross_entropy(Z, x["tags"], reduction="sum"),)


def hoist_slow(p, x):
    W1, b1, W2, b2, q, xs = p["W1"], p["b1"], p["W2"], p["b2"], x["q"], x["xs"]
    loss = torch.zeros(())
    for t in range(xs.shape[0]):
        c = torch.tanh(torch.mv(W2, torch.tanh(torch.mv(W1, q) + b1)) + b2)
        loss = loss + torch.log(1 + torch.exp(torch.dot(c, xs[t])))
    return (loss,)


def hoist_opt(p, x):
    c = torch.tanh(torch.addmv(p["b2"], p["W2"], torch.tanh(torch.addmv(p["b1"], p["W1"], x["q"]))))
    return (F.softplus(torch.mv(x["xs"], c)).sum(),)


def skipgram_slow(p, x):
    Ww, Wc = p["Ww"], p["Wc"]
    sent = x["sent"]
    ids = sent.tolist()
    loss = torch.zeros(())
    for i in range(2, len(ids) - 2):
        e = Ww[ids[i]]
        loss = loss + F.cross_entropy(torch.mv(Wc, e), sent[i - 2])
        loss = loss + F.cross_entropy(torch.mv(Wc, e), sent[i - 1])
        loss = loss + F.cross_entropy(torch.mv(Wc, e), sent[i + 1])
        loss = loss + F.cross_entropy(torch.mv(Wc, e), sent[i + 2])
    return (loss,)


def skipgram_opt(p, x):
    sent = x["sent"]
    n = sent.shape[0] - 4
    Z = torch.mm(p["Ww"][sent[2:n + 2]], p["Wc"].t())             # [T, V], once per word
    ctx = torch.stack([sent[0:n], sent[1:n + 1], sent[3:n + 3], sent[4:n + 4]], 1)
    # each word's normalizer once for its four context words (log_softmax
    # + gather measured faster here than 4 * logsumexp - picked logits)
    return (-F.log_softmax(Z, 1).gather(1, ctx).sum(),)


def rnnlm_slow(p, x):
    emb, Wx, Wh, bh, Wo, bo = p["emb"], p["Wx"], p["Wh"], p["bh"], p["Wo"], p["bo"]
    words = x["words"]
    ids = words.tolist()
    h = torch.zeros(Wh.shape[0])
    loss = torch.zeros(())
    for t in range(len(ids) - 1):
        h = torch.tanh(torch.mv(Wx, emb[ids[t]]) + torch.mv(Wh, h) + bh)
        loss = loss + F.cross_entropy(torch.mv(Wo, h) + bo, words[t + 1])
    return (loss,)


def rnnlm_opt(p, x):
    Wh = p["Wh"]
    words = x["words"]
    n = words.shape[0] - 1
    X = torch.addmm(p["bh"], p["emb"][words[:n]], p["Wx"].t())   # input part of all steps at once
    hs = torch.empty(n, Wh.shape[0])
    h = torch.zeros(Wh.shape[0])
    for t in range(n):                                          # only the recurrence stays
        h = torch.tanh(torch.addmv(X[t], Wh, h))
        hs[t] = h
    Z = torch.addmm(p["bo"], hs, p["Wo"].t())                   # output layer of all steps at once
    return (F.cross_entropy(Z, words[1:], reduction="sum"),)


def rnnlm_opt_train(p, x):
    # as rnnlm_opt, with the hidden states collected by torch.stack (an
    # in-place hs[t] = h would make autograd copy slices)
    Wh = p["Wh"]
    words = x["words"]
    n = words.shape[0] - 1
    X = torch.addmm(p["bh"], F.embedding(words[:n], p["emb"]), p["Wx"].t())
    hs = []
    h = torch.zeros(Wh.shape[0])
    for t in range(n):
        h = torch.tanh(torch.addmv(X[t], Wh, h))
        hs.append(h)
    Z = torch.addmm(p["bo"], torch.stack(hs), p["Wo"].t())
    return (F.cross_entropy(Z, words[1:], reduction="sum"),)


def skipgram_opt_train(p, x):
    # as skipgram_opt; the centre words' embeddings through a sparse
    # embedding lookup, so that SGD updates only their rows (as nngc does)
    sent = x["sent"]
    n = sent.shape[0] - 4
    Z = torch.mm(F.embedding(sent[2:n + 2], p["Ww"], sparse=True), p["Wc"].t())
    ctx = torch.stack([sent[0:n], sent[1:n + 1], sent[3:n + 3], sent[4:n + 4]], 1)
    return (-F.log_softmax(Z, 1).gather(1, ctx).sum(),)


IMPL = {
    "slowimpl": (slowimpl_slow, slowimpl_opt),
    "bow": (bow_slow, bow_opt),
    "tagger": (tagger_slow, tagger_opt),
    "hoist": (hoist_slow, hoist_opt),
    "skipgram": (skipgram_slow, skipgram_opt),
    "rnnlm": (rnnlm_slow, rnnlm_opt),
    "rnnlm256": (rnnlm_slow, rnnlm_opt),
}


# The training rows: the same forward passes under autograd, then
# loss.backward() and one step of the model's optimizer (torch.optim, the
# model's lr and PyTorch's defaults otherwise, as nngc defines them).
# row -> (slow forward, opt forward, optimizer name, lr)
TRAIN = {
    "slowimpl": (slowimpl_slow, slowimpl_opt, "sgd", 0.1),
    "skipgram": (skipgram_slow, skipgram_opt_train, "sgd", 0.1),
    "rnnlm": (rnnlm_slow, rnnlm_opt_train, "adam", 0.001),
    "rnnlm256": (rnnlm_slow, rnnlm_opt_train, "adam", 0.001),
}


def make_optimizer(kind, lr, params, fast):
    # slow: torch.optim's defaults (a Python loop over the params); fast:
    # foreach=True (one multi-tensor kernel per operation)
    kw = dict(foreach=True) if fast else {}
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, **kw)
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, **kw)


def train_setup(params, kind, lr, fast):
    p = {n: torch.from_numpy(a.copy()).requires_grad_() for n, a in params.items()}
    return p, make_optimizer(kind, lr, list(p.values()), fast)


def train_step_fn(fwd, p, x, opt):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = fwd(p, x)[0]
        loss.backward()
        opt.step()
        return loss
    return step


def train_row(d, name, params, x, budget):
    """Times one train step both ways, writes DIR/ROW/torch_step.safetensors
    (the params after one step from the initial ones, hand-optimized
    version), and returns the output line."""
    slow, opt, kind, lr = TRAIN[name]
    res = {}
    for tag, fwd, fast in (("slow", slow, False), ("opt", opt, True)):
        p, o = train_setup(params, kind, lr, fast)
        step = train_step_fn(fwd, p, x, o)
        l0 = float(step())                      # the loss before the step
        with torch.no_grad():
            l1 = float(fwd(p, x)[0])            # the loss after it
        res[tag] = (l0, l1, {n: t.detach().numpy().copy() for n, t in p.items()})
        p, o = train_setup(params, kind, lr, fast)
        res[tag + "_us"] = median_us(train_step_fn(fwd, p, x, o), budget)
    write_safetensors(os.path.join(d, name, "torch_step.safetensors"), res["opt"][2])
    # slow and opt must make the same step
    diff = max(update_diff(params[n], res["slow"][2][n], res["opt"][2][n]) for n in params)
    return ("torch_train %s slow_us=%.1f opt_us=%.1f loss_slow=%.9g loss_opt=%.9g "
            "loss1_slow=%.9g loss1_opt=%.9g step_diff=%.3g"
            % (name, res["slow_us"], res["opt_us"], res["slow"][0], res["opt"][0],
               res["slow"][1], res["opt"][1], diff))


def update_diff(p0, a, b):
    """How far apart two one-step updates a - p0 and b - p0 of the same
    param are: |(a - p0) - (b - p0)| / |b - p0|, 2-norms over the tensor
    (0 when both are the same). A norm, not the largest element: an Adam
    step is lr * g / (|g| + eps) elementwise, so for a gradient element
    near eps (1e-8) the update hangs on the last bits of g, which differ
    with the order of the sums."""
    p0 = p0.astype(np.float64)
    da, db = a.astype(np.float64) - p0, b.astype(np.float64) - p0
    e = np.linalg.norm(da - db)
    m = np.linalg.norm(db)
    return 0.0 if e == 0 else (e / m if m > 0 else float("inf"))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        if h["dtype"] != "F32":
            raise ValueError("%s: %s: dtype %s" % (path, name, h["dtype"]))
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(h["shape"])
    return out


def compare(initial, mine, ref):
    """--compare: prints the largest update_diff over the params of
    `initial`, and the param where it is, for bench/run.sh."""
    p0, a, b = read_safetensors(initial), read_safetensors(mine), read_safetensors(ref)
    worst, where = 0.0, "-"
    for n in p0:
        if n not in a or n not in b:
            print("compare missing %s" % n)
            return
        e = update_diff(p0[n], a[n], b[n])
        if e >= worst:
            worst, where = e, n
    print("compare %.3g %s" % (worst, where))


# ---------------------------------------------------------------- timing

def median_us(fn, budget):
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    n = int(min(max(budget / max(one, 1e-7), 5), 20000))
    ts = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        ts.append(time.perf_counter_ns() - t0)
    ts.sort()
    m = ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2
    return m / 1000.0


def load_inputs(d, row):
    x = {}
    for iname in row["inputs"]:
        a = np.load(os.path.join(d, row["name"], iname + ".npy"))
        t = torch.from_numpy(np.array(a, order="C"))  # keeps 0-d arrays 0-d
        x[iname] = t.long() if a.dtype.kind == "i" else t
    return x


def main():
    args = sys.argv[1:]
    if args and args[0] == "--compare":
        if len(args) != 4:
            sys.exit("usage: torch_bench.py --compare INITIAL MINE REFERENCE")
        compare(*args[1:])
        return
    mode = "forward"
    if args and args[0] in ("--params-only", "--train"):
        mode = args[0][2:]
        args = args[1:]
    if not args:
        sys.exit("usage: torch_bench.py [--params-only | --train] DIR [ROW...]")
    d = args[0]
    only = set(args[1:])
    unknown = only - {row["name"] for row in ROWS}
    if unknown:
        sys.exit("torch_bench.py: no row %s" % ", ".join(sorted(unknown)))
    if mode == "train":
        unknown = only - set(TRAIN)
        if unknown:
            sys.exit("torch_bench.py: no training row %s" % ", ".join(sorted(unknown)))
    if mode == "params-only":
        for k, row in enumerate(ROWS):
            if not only or row["name"] in only:
                write_safetensors(os.path.join(d, row["name"], "params.safetensors"),
                                  make_params(2000 + k, param_shapes(row["name"], row["dims"])))
        return
    budget = float(os.environ.get("TORCH_BENCH_BUDGET", "2"))
    torch.set_num_threads(1)
    print("torch_version", torch.__version__)
    cfg = torch.__config__.show()
    blas = [w for w in cfg.replace(",", " ").split() if w.startswith(("BLAS_INFO=", "LAPACK_INFO="))]
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    try:  # which BLAS libraries the process really loaded
        with open("/proc/self/maps") as f:
            libs = sorted({os.path.basename(l.split()[-1]) for l in f if "blas" in l.lower() and "/" in l})
    except OSError:
        libs = []
    print("torch_blas", " ".join(blas) or "?", ("loaded: " + " ".join(libs)) if libs else "")
    sys.stdout.flush()
    for k, row in enumerate(ROWS):
        name = row["name"]
        if only and name not in only:
            continue
        if mode == "train" and name not in TRAIN:
            continue
        params = make_params(2000 + k, param_shapes(name, row["dims"]))
        write_safetensors(os.path.join(d, name, "params.safetensors"), params)
        x = load_inputs(d, row)
        if mode == "train":
            print(train_row(d, name, params, x, budget))
            sys.stdout.flush()
            continue
        p = {n: torch.from_numpy(a) for n, a in params.items()}
        slow, opt = IMPL[name]
        with torch.no_grad():
            ls = float(slow(p, x)[0])
            lo = float(opt(p, x)[0])
            us_slow = median_us(lambda: slow(p, x), budget)
            us_opt = median_us(lambda: opt(p, x), budget)
        print("torch %s slow_us=%.1f opt_us=%.1f loss_slow=%.9g loss_opt=%.9g"
              % (name, us_slow, us_opt, ls, lo))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
