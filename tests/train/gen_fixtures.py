#!/usr/bin/python3
"""gen_fixtures.py - reference gradients and trained params for tests/train.

Run with a Python that has PyTorch (tested with torch 1.13) and NumPy:

    /usr/bin/python3 tests/train/gen_fixtures.py

For each model of tests/train/models/ it writes tests/train/fixtures/MODEL/:

    params.safetensors      the params (float32) every test starts from
    NAME.npy                the inputs
    grads/PARAM.npy         d loss / d PARAM at params (zeros for a frozen param)
    sgd.safetensors         params after 3 steps of torch.optim.SGD(lr=0.1)
    adam.safetensors        ... of torch.optim.Adam(lr=0.01), other arguments default
    adagrad.safetensors     ... of torch.optim.Adagrad(lr=0.1), other arguments default
    adam_lazy.safetensors   ... of adam(lr = 0.01, lazy = 1): torch.optim.SparseAdam(lr=0.01) on the
                            lookup tables (TABLES; their gradient's nonzero rows as a sparse
                            gradient), torch.optim.Adam(lr=0.01) on the other params
    untouched.txt           (skipgram) "PARAM ROW ROW ..." rows no id touches
    seq_OPT.safetensors     (skipgram) params after one step on each of SEQ's sentences, a, b, a
                            (other rows each step: lazy Adam's untouched moments do not decay),
                            for OPT in sgd, adam, adagrad, adam_lazy (tests/train/seq_check.c)

The models below are written again in PyTorch, the plain way, and computed
in float64; the test suite (run.sh) needs only the files, never PyTorch.
"""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1),
}
STEPS = 3
# the params each model reads by rows (nngc's lazy Adam updates their touched rows only)
TABLES = {"slowimpl": set(), "skipgram": {"Ww"}, "rnnlm": {"emb"}, "builtins": {"E"}, "loops": set(), "bag": {"emb"},
          "ids_from1": {"E"}, "deadcarry": set(),
          "stablelog": set()}


def lazy_adam_steps(fn, p, tin, tables, frozen):
    """STEPS steps of SparseAdam on the tables and Adam on the rest."""
    dense = [v for k, v in p.items() if k not in frozen and k not in tables]
    sparse = [p[k] for k in sorted(tables)]
    opts = [torch.optim.Adam(dense, lr=0.01)] + ([torch.optim.SparseAdam(sparse, lr=0.01)] if sparse else [])
    for _ in range(STEPS):
        for o in opts:
            o.zero_grad()
        fn(p, tin).backward()
        for t in sparse:
            g = t.grad
            rows = torch.nonzero(g.abs().sum(1)).flatten()
            t.grad = torch.sparse_coo_tensor(rows.unsqueeze(0), g[rows], g.shape)
        for o in opts:
            o.step()


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def xent(z, y):  # z [..., V], y int [...]: -log softmax(z)[y]
    return torch.logsumexp(z, -1) - z.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def slowimpl(p, i):
    loss = 0
    for a in range(i["xs"].shape[0]):
        for b in range(i["xs"].shape[0]):
            loss = loss + torch.dot(p["W"] @ i["xs"][a], i["ys"][b])
    return loss


def skipgram(p, i):
    s = i["sent"].long()
    T = s.shape[0] - 4
    loss = 0
    for k in range(2, T + 2):
        e = p["Ww"][s[k]]
        for d in (-2, -1, 1, 2):
            loss = loss + xent(p["Wc"] @ e, s[k + d])
    return loss


def rnnlm(p, i):
    w = i["words"].long()
    h = torch.zeros(p["Wh"].shape[0], dtype=torch.float64)
    loss = 0
    for t in range(w.shape[0] - 1):
        h = torch.tanh(p["Wx"] @ p["emb"][w[t]] + p["Wh"] @ h + p["bh"])
        loss = loss + xent(p["Wo"] @ h + p["bo"], w[t + 1])
    return loss


def builtins(p, i):
    W, A, b, c, E, F = (p[k] for k in "W A b c E F".split())
    x, X, t = i["x"], i["X"], i["t"]
    ids, y, ys = i["ids"].long(), i["y"].long(), i["ys"].long()
    h = torch.tanh(W @ x + b)
    r = torch.relu(W @ x) + torch.sigmoid(x) * torch.exp(b) / (torch.abs(x) + torch.abs(b) + 1)
    s = torch.log(torch.exp(h) + 1) + torch.sqrt(x * x + 1) - r * F
    Z = X @ W.T
    G = E[ids]
    P = Z * G + A - c
    loss = P.sum() + (P * P).mean()
    loss = loss + torch.dot(P.sum(0), s) + (P.mean(1) * P.sum(-1)).sum()
    u = torch.cat([h, s])
    loss = loss + (torch.softmax(u, -1) * u).sum() - (torch.log_softmax(P[1], -1) * h).sum()
    loss = loss + xent(W @ h, y) + xent(P, ys).sum() / 3
    z = h
    loss = loss + (torch.clamp(z, min=0) - z * t + torch.log1p(torch.exp(-torch.abs(z)))).sum()
    loss = loss + (torch.zeros_like(h) + torch.ones_like(h) * h).sum() + x @ (W @ h) + torch.dot(h @ W, -s)
    g = torch.zeros_like(h)
    for k in range(X.shape[0]):
        g = torch.tanh(g + X[k] * b + E[ids[k]] / 2)
    return loss + (g * g).sum()


def loops(p, i):
    a, W, U, V = (p[k] for k in "a W U V".split())
    xs = i["xs"]
    h = torch.zeros(3, dtype=torch.float64)
    g = torch.zeros(3, dtype=torch.float64)
    for t in range(xs.shape[0]):
        h = a * h + W @ xs[t]
        g = torch.tanh(U @ g + h)
        for _ in range(2):
            g = g * a
    loss = torch.tanh(V @ h).sum() + (g * g).sum()
    for k in range(1, xs.shape[0]):
        loss = loss + torch.dot(V @ xs[k], xs[k - 1])
    return loss


def bag(p, i):
    w = i["words"].long()
    h = torch.zeros(p["emb"].shape[1], dtype=torch.float64)
    for t in range(w.shape[0]):
        h = h + p["emb"][w[t]]
    return xent(p["W"] @ h, i["label"].long())


def ids_from1(p, i):
    W, u, E = p["W"], p["u"], p["E"]
    xs, ids = i["xs"], i["ids"].long()
    h = torch.tanh(u)
    loss = torch.zeros((), dtype=torch.float64)
    for t in range(1, xs.shape[0]):
        a = torch.tanh(E[ids[t]])
        h = torch.tanh(W @ h + a)
        loss = loss + xent(u * u, ids[t - 1])
        for j in range(xs.shape[0]):
            loss = loss + torch.dot(a, xs[j])
    return loss


def deadcarry(p, i):
    W, u, xs = p["W"], p["u"], i["xs"]
    h = torch.tanh(u)
    for t in range(xs.shape[0]):
        h = torch.tanh(W @ h + xs[t])
    return (h * h).sum()  # (a, which the loss does not read, has no gradient)


def stablelog(p, i):
    z, w, x = p["z"], p["w"], i["x"]
    F = torch.nn.functional
    return (-F.logsigmoid(z * x).sum() - F.logsigmoid(-w).sum() + F.softplus(z - w).sum() + (F.softplus(w) * x).sum()
            + torch.sigmoid(100 * w).sum() - (F.logsigmoid(z) * x).sum())


def make(rng):
    """name -> (function, params, frozen, inputs) with NumPy float32/int32 data."""
    n = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)
    models = {}
    models["slowimpl"] = (slowimpl, {"W": n(5, 5)}, set(), {"xs": n(3, 5), "ys": n(3, 5)})
    # ids 0..7 only: rows 8..11 of Ww are never looked up
    sent = np.array([0, 0, 3, 5, 7, 2, 5, 1, 0, 0], np.int32)
    models["skipgram"] = (skipgram, {"Ww": n(12, 5), "Wc": n(12, 5)}, set(), {"sent": sent})
    models["rnnlm"] = (rnnlm, {"emb": n(11, 4), "Wx": n(6, 4), "Wh": n(6, 6), "bh": n(6), "Wo": n(11, 6),
                               "bo": n(11)}, set(), {"words": np.array([1, 4, 9, 4, 10, 2], np.int32)})
    x = n(4)
    x[np.abs(x) < 0.1] = 0.3  # abs and relu away from their kinks
    models["builtins"] = (builtins, {"W": n(4, 4), "A": n(3, 4), "b": n(4), "c": n(3, 1), "E": n(6, 4),
                                     "F": n(4)}, {"F"},
                          {"x": x, "X": n(3, 4), "ids": np.array([4, 1, 4], np.int32), "y": np.int32(2),
                           "ys": np.array([3, 0, 1], np.int32), "t": rng.random(4).astype(np.float32)})
    # (last: the draws above stay the same)
    models["loops"] = (loops, {"a": n(3) + 0.5, "W": n(3, 3), "U": n(3, 3), "V": n(3, 3)}, set(), {"xs": n(6, 3)})
    models["bag"] = (bag, {"emb": n(10, 4), "W": n(3, 4)}, set(),
                     {"words": np.array([2, 7, 2, 5, 9], np.int32), "label": np.int32(1)})
    # ids read in a loop from 1 (tests/e2e/cases/ids_from1); row 3 of E only at t = 0: no gradient
    models["ids_from1"] = (ids_from1, {"W": n(4, 4), "u": n(4) + 0.5, "E": n(4, 4)}, set(),
                           {"xs": n(5, 4), "ids": np.array([3, 1, 0, 1, 2], np.int32)})
    models["deadcarry"] = (deadcarry, {"W": n(3, 3), "u": n(3)}, set(), {"xs": n(5, 3)})
    # arguments past float32's exp (about -87 and 88.7) on both sides, and small ones
    f = lambda *v: np.array(v, np.float32)
    models["stablelog"] = (stablelog, {"z": f(-200, -30, -1, 0, 0.5, 30, 200), "w": f(150, -120, 0.3, -0.2, 95, -95, 0)},
                           set(), {"x": f(1, 1, -1, 1, 2, -1, 1)})
    return models


# seq_check.c's sentences (T = 6): b shares no centre word with a
SEQ = [[0, 0, 1, 2, 4, 5, 6, 7, 0, 0], [0, 0, 3, 8, 3, 9, 3, 10, 0, 0], [0, 0, 1, 2, 4, 5, 6, 7, 0, 0]]


def seq_fixtures(d, params):
    for oname in list(OPTIMIZERS) + ["adam_lazy"]:
        p = tensors(params, set())
        sparse = [p["Ww"]] if oname == "adam_lazy" else []
        dense = [v for v in p.values() if not any(v is t for t in sparse)]
        opts = [torch.optim.Adam(dense, lr=0.01)] if oname == "adam_lazy" else [OPTIMIZERS[oname](dense)]
        opts += [torch.optim.SparseAdam(sparse, lr=0.01)] if sparse else []
        for sent in SEQ:
            for o in opts:
                o.zero_grad()
            skipgram(p, {"sent": torch.tensor(sent)}).backward()
            for t in sparse:
                rows = torch.nonzero(t.grad.abs().sum(1)).flatten()
                t.grad = torch.sparse_coo_tensor(rows.unsqueeze(0), t.grad[rows], t.grad.shape)
            for o in opts:
                o.step()
        save_safetensors(os.path.join(d, "seq_" + oname + ".safetensors"),
                         {k: v.detach().numpy() for k, v in p.items()})


def tensors(params, frozen):
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=k not in frozen) for k, v in params.items()}


def main():
    rng = np.random.default_rng(2024)
    for name, (fn, params, frozen, inputs) in make(rng).items():
        d = os.path.join(HERE, "fixtures", name)
        os.makedirs(os.path.join(d, "grads"), exist_ok=True)
        save_safetensors(os.path.join(d, "params.safetensors"), params)
        tin = {}
        for k, v in inputs.items():
            np.save(os.path.join(d, k + ".npy"), v)
            tin[k] = torch.tensor(v, dtype=torch.float64 if v.dtype == np.float32 else torch.int64)
        p = tensors(params, frozen)
        fn(p, tin).backward()
        for k, v in p.items():
            g = v.grad.numpy() if v.grad is not None else np.zeros(v.shape)
            np.save(os.path.join(d, "grads", k + ".npy"), g.astype(np.float32))
        for oname, make_opt in OPTIMIZERS.items():
            p = tensors(params, frozen)
            opt = make_opt([v for k, v in p.items() if k not in frozen])
            for _ in range(STEPS):
                opt.zero_grad()
                fn(p, tin).backward()
                opt.step()
            save_safetensors(os.path.join(d, oname + ".safetensors"),
                             {k: v.detach().numpy() for k, v in p.items()})
        p = tensors(params, frozen)
        lazy_adam_steps(fn, p, tin, TABLES[name], frozen)
        save_safetensors(os.path.join(d, "adam_lazy.safetensors"), {k: v.detach().numpy() for k, v in p.items()})
        if name == "skipgram":
            seq_fixtures(d, params)
            centre = set(inputs["sent"][2:-2].tolist())
            rows = [str(r) for r in range(12) if r not in centre]
            with open(os.path.join(d, "untouched.txt"), "w") as f:
                f.write("Ww " + " ".join(rows) + "\n")
        print("wrote", d)


if __name__ == "__main__":
    main()
