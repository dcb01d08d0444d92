#!/usr/bin/env python3
"""gen_fixtures.py - writes the end-to-end test cases of tests/e2e/cases/.

Run by hand (/usr/bin/python3 tests/e2e/gen_fixtures.py), never by the test
suite: its outputs are checked in, so the tests need no Python.

Each case is a directory holding
    model.nn              the program
    params.safetensors    every param, deterministic random values
    in_<input>.npy        every input ('<f4' floats, '<i4' or '<i8' ids)
    expect_<output>.npy   every output, and expect_loss.npy (0-d) when the
                          program has a loss
    bad_*.npy             inputs that must make `nngc run` fail (see run.sh)

The expected values are an INDEPENDENT reference: they are computed here in
float64 NumPy straight from the semantics of /work/shared/LANGUAGE.md (on the
float32-rounded params and inputs, since that is what the compiled model
sees), then stored as float32. The losses of the three LANGUAGE.md programs
are computed a second time with plain Python loops (math module only) and
checked against the NumPy values, so a slip in one reference is caught by
the other.
"""
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


# ---------------------------------------------------------------- writers

def write_safetensors(path, tensors):
    """Our own minimal safetensors writer: 8-byte little-endian header
    length, a JSON header padded with spaces to a multiple of 8, then the
    raw little-endian float32 data of each tensor in order."""
    header = {}
    blobs = []
    off = 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def f32(a):
    """Rounds to float32 (what the model stores) and back to float64 (what
    the reference computes in)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def write_case(name, model, params, inputs, expect, bad=None):
    """params: name -> float64 array (already f32-rounded); inputs: name ->
    array with its final dtype; expect: name -> float64 array or scalar."""
    d = os.path.join(CASES, name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):  # stale fixtures of a renamed output must go
        if old.endswith(".npy") or old.endswith(".safetensors"):
            os.remove(os.path.join(d, old))
    with open(os.path.join(d, "model.nn"), "w") as f:
        f.write(model.lstrip("\n"))
    write_safetensors(os.path.join(d, "params.safetensors"), params)
    # np.save keeps a transposed view in Fortran order; the runtime reads
    # C order only, so every array is copied in C order first (np.array,
    # not np.ascontiguousarray, which would turn a 0-d array into [1])
    for k, v in inputs.items():
        np.save(os.path.join(d, "in_%s.npy" % k), np.array(v, order="C"))
    for k, v in expect.items():
        v = np.asarray(v, dtype=np.float64)
        assert np.all(np.isfinite(v)), (name, k)
        np.save(os.path.join(d, "expect_%s.npy" % k),
                np.array(v, dtype="<f4", order="C"))
    for k, v in (bad or {}).items():
        np.save(os.path.join(d, "bad_%s.npy" % k), np.array(v, order="C"))
    print("wrote %-10s params %s inputs %s expect %s" % (
        name, sorted(params), sorted(inputs),
        {k: list(np.shape(v)) for k, v in expect.items()}))


def close(a, b, what):
    if not np.allclose(a, b, rtol=1e-10, atol=1e-10):
        sys.exit("self-check failed: %s: %r != %r" % (what, a, b))


# ---------------------------------------------------------------- semantics
# The language's builtins, in float64, written from LANGUAGE.md's table.

def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def cross_entropy(z, y):
    """-log softmax(z)[y]"""
    return -log_softmax(z)[y]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def binary_cross_entropy(z, t):
    """sum of -t log s(z) - (1-t) log(1-s(z))"""
    s = sigmoid(z)
    return np.sum(-t * np.log(s) - (1.0 - t) * np.log(1.0 - s))


# The second, loop-only reference for the three LANGUAGE.md programs.

def py_matvec(W, x):
    return [sum(W[r][c] * x[c] for c in range(len(x))) for r in range(len(W))]


def py_xent(z, y):
    m = max(z)
    return -(z[y] - m - math.log(sum(math.exp(v - m) for v in z)))


# ---------------------------------------------------------------- cases

def case_slowimpl(rng):
    N, D = 4, 5
    model = """
# slowimpl with small sizes: loss = sum_i sum_j dot(W @ xs[i], ys[j])
model slowimpl
dim N = %d
dim D = %d
param W : [D, D]
input xs : [N, D]
input ys : [N, D]
optimizer sgd(lr = 0.1)
for i in 0..N {
  for j in 0..N {
    loss += dot(W @ xs[i], ys[j])
  }
}
""" % (N, D)
    W = f32(rng.normal(0, 0.5, (D, D)))
    xs = rng.normal(0, 1, (N, D)).astype("<f4")
    ys = rng.normal(0, 1, (N, D)).astype("<f4")
    X, Y = f32(xs), f32(ys)
    loss = 0.0
    for i in range(N):
        for j in range(N):
            loss += np.dot(W @ X[i], Y[j])
    # second reference: closed form sum_i (W x_i) . sum_j y_j, in loops
    Wl, Xl, Yl = W.tolist(), X.tolist(), Y.tolist()
    ysum = [sum(Yl[j][c] for j in range(N)) for c in range(D)]
    loss2 = sum(sum(a * b for a, b in zip(py_matvec(Wl, Xl[i]), ysum))
                for i in range(N))
    close(loss, loss2, "slowimpl loss")
    assert abs(loss) > 0.5, "loss too close to 0 for a relative tolerance"
    write_case("slowimpl", model, {"W": W}, {"xs": xs, "ys": ys},
               {"loss": loss})


SKIPGRAM = """
# skipgram with small sizes (V=20, D=8, T max 7); sent is read as '<i8'
model skipgram
dim V = 20
dim D = 8
dim T max 7
param Ww : [V, D]
param Wc : [V, D]
input sent : int[T + 4]
optimizer sgd(lr = 0.1)
for i in 2..T + 2 {
  e = Ww[sent[i]]
  loss += cross_entropy(Wc @ e, sent[i - 2])
  loss += cross_entropy(Wc @ e, sent[i - 1])
  loss += cross_entropy(Wc @ e, sent[i + 1])
  loss += cross_entropy(Wc @ e, sent[i + 2])
}
"""


def case_skipgram(rng):
    V, D, T = 20, 8, 5
    Ww = f32(rng.normal(0, 0.5, (V, D)))
    Wc = f32(rng.normal(0, 0.5, (V, D)))
    words = rng.integers(1, V, T)
    words[1] = V - 1  # the last row must be reachable
    sent = np.concatenate([[0, 0], words, [0, 0]]).astype("<i8")
    assert sent.shape == (T + 4,)
    loss = 0.0
    for i in range(2, T + 2):
        e = Ww[sent[i]]
        for o in (-2, -1, 1, 2):
            loss += cross_entropy(Wc @ e, sent[i + o])
    Wwl, Wcl = Ww.tolist(), Wc.tolist()
    loss2 = 0.0
    for i in range(2, T + 2):
        z = py_matvec(Wcl, Wwl[int(sent[i])])
        for o in (-2, -1, 1, 2):
            loss2 += py_xent(z, int(sent[i + o]))
    close(loss, loss2, "skipgram loss")
    bad_oob = sent.copy()
    bad_oob[4] = V  # one past the last row: must be "out of range"
    bad_neg = sent.copy()
    bad_neg[3] = -1
    bad_long = np.concatenate([[0, 0], rng.integers(1, V, 8), [0, 0]]).astype("<i8")  # T = 8 > max 7
    write_case("skipgram", SKIPGRAM, {"Ww": Ww, "Wc": Wc}, {"sent": sent},
               {"loss": loss},
               bad={"oob_sent": bad_oob, "neg_sent": bad_neg,
                    "long_sent": bad_long})


BAG = """
# bag of words: h is the sum of the embeddings of the words; -O2 reads the
# rows of E in place (no gathered copy), each id checked
model bag
dim V = 9
dim D = 6
dim T max 8
param E : [V, D]
input words : int[T]
output h
h = zeros([D])
for t in 0..T {
  h = h + E[words[t]]
}
loss += sum(h * h)
"""


def case_bag(rng):
    V, D, T = 9, 6, 7
    E = f32(rng.normal(0, 1, (V, D)))
    words = rng.integers(0, V, T).astype("<i4")
    words[2] = V - 1  # the last row must be reachable
    words[5] = words[1]  # a repeated word adds twice
    h = np.zeros(D)
    for t in range(T):
        h = h + E[words[t]]
    hl = [0.0] * D
    for t in range(T):
        hl = [a + b for a, b in zip(hl, E.tolist()[int(words[t])])]
    close(h, np.array(hl), "bag h")
    bad = words.copy()
    bad[3] = V  # one past the last row
    write_case("bag", BAG, {"E": E}, {"words": words}, {"h": h, "loss": float(h @ h)},
               bad={"oob_words": bad})


def case_rnnlm(rng):
    V, E, H, T = 20, 6, 7, 6
    model = """
# rnnlm with small sizes (V=20, E=6, H=7, T max 9), returning the final
# state h and every state stacked in hs : [T, H]
model rnnlm
dim V = 20
dim E = 6
dim H = 7
dim T max 9
param emb : [V, E]
param Wx : [H, E]
param Wh : [H, H]
param bh : [H] init zeros
param Wo : [V, H]
param bo : [V] init zeros
input words : int[T + 1]
output h
output hs
optimizer adam(lr = 0.001)
h = zeros([H])
for t in 0..T {
  h = tanh(Wx @ emb[words[t]] + Wh @ h + bh)
  hs[t] = h
  loss += cross_entropy(Wo @ h + bo, words[t + 1])
}
"""
    p = {
        "emb": f32(rng.normal(0, 0.5, (V, E))),
        "Wx": f32(rng.normal(0, 0.5, (H, E))),
        "Wh": f32(rng.normal(0, 0.4, (H, H))),
        "bh": f32(rng.normal(0, 0.1, H)),  # nonzero: the file, not the init, counts
        "Wo": f32(rng.normal(0, 0.5, (V, H))),
        "bo": f32(rng.normal(0, 0.1, V)),
    }
    words = rng.integers(0, V, T + 1).astype("<i4")
    h = np.zeros(H)
    hs = np.zeros((T, H))
    loss = 0.0
    for t in range(T):
        h = np.tanh(p["Wx"] @ p["emb"][words[t]] + p["Wh"] @ h + p["bh"])
        hs[t] = h
        loss += cross_entropy(p["Wo"] @ h + p["bo"], words[t + 1])
    q = {k: v.tolist() for k, v in p.items()}
    h2 = [0.0] * H
    loss2 = 0.0
    for t in range(T):
        a = py_matvec(q["Wx"], q["emb"][int(words[t])])
        b = py_matvec(q["Wh"], h2)
        h2 = [math.tanh(a[r] + b[r] + q["bh"][r]) for r in range(H)]
        z = [v + c for v, c in zip(py_matvec(q["Wo"], h2), q["bo"])]
        loss2 += py_xent(z, int(words[t + 1]))
    close(loss, loss2, "rnnlm loss")
    close(h, np.array(h2), "rnnlm h")
    write_case("rnnlm", model, p, {"words": words},
               {"loss": loss, "h": h, "hs": hs})


LOOPS = """
# loops: where a loop's values live (compiler/backend/walk.c, place_loops).
# k's next value is a product of k itself (two buffers taken in turn: one
# would be overwritten while it is read); h is stacked after its update
# (computed in its stack's row, the carry pointing there). The loop starts
# at 1 (a stack's row is t - 1); with T = 1 it runs no iteration, and the
# results are the carries' initial values (not zeros). T max 8.
model loops
dim D = 4
dim T max 8
param W : [D, D]
param a : [D]
input xs : [T, D]
output k
output hs
k = a
h = tanh(a)
for t in 1..T {
  k = W @ k + xs[t]
  h = a * h + tanh(k)
  hs[t] = h
}
loss += sum(k * k) + sum(h)
"""


def case_loops(rng, name="loops", T=6):
    D = 4
    p = {"W": f32(rng.normal(0, 0.5, (D, D))), "a": f32(rng.normal(0.5, 0.3, D))}
    xs = f32(rng.normal(0, 1, (T, D))).astype("<f4")
    k = p["a"].copy()
    h = np.tanh(p["a"])
    hs = np.zeros((T, D))  # row 0 never written: zero (LANGUAGE.md, "Indexed write")
    for t in range(1, T):
        k = p["W"] @ k + xs[t]
        h = p["a"] * h + np.tanh(k)
        hs[t] = h
    q = {n: v.tolist() for n, v in p.items()}
    k2, h2 = list(q["a"]), [math.tanh(v) for v in q["a"]]
    for t in range(1, T):
        k2 = [v + x for v, x in zip(py_matvec(q["W"], k2), xs[t].tolist())]
        h2 = [a * v + math.tanh(c) for a, v, c in zip(q["a"], h2, k2)]
    close(k, np.array(k2), "loops k")
    close(h, np.array(h2), "loops h")
    write_case(name, LOOPS, p, {"xs": xs}, {"k": k, "hs": hs, "loss": float(k @ k + h.sum())})


ADDEND = """
# addend: a product's addend in place (compiler/backend/walk.c,
# place_addends). U @ xs[t] is one product for every step before the
# loop; step t's W @ h + row t accumulates in row t when nothing else
# reads the rows, but here the loss reads them all after the loop: the
# product must keep its own memory. T max 8.
model addend
dim D = 4
dim T max 8
param W : [D, D]
param U : [D, D]
input xs : [T, D]
output h
h = zeros([D])
for t in 0..T {
  h = tanh(W @ h + U @ xs[t])
}
for t in 0..T {
  loss += sum(U @ xs[t])
}
"""


def addend_rnn(rng, passes, name):
    """The params, xs and h = tanh(W @ h + U @ xs[t]) over the steps, the
    steps run `passes` times, in NumPy and in plain Python (checked
    against each other) for the addend cases."""
    D, T = 4, 5
    p = {"W": f32(rng.normal(0, 0.5, (D, D))), "U": f32(rng.normal(0, 0.5, (D, D)))}
    xs = f32(rng.normal(0, 1, (T, D))).astype("<f4")
    h = np.zeros(D)
    q = {n: v.tolist() for n, v in p.items()}
    h2 = [0.0] * D
    for _ in range(passes):
        for t in range(T):
            h = np.tanh(p["W"] @ h + p["U"] @ xs[t])
            a, b = py_matvec(q["W"], h2), py_matvec(q["U"], xs[t].tolist())
            h2 = [math.tanh(u + v) for u, v in zip(a, b)]
    close(h, np.array(h2), name + " h")
    return p, q, xs, h


def case_addend(rng):
    p, q, xs, h = addend_rnn(rng, 1, "addend")
    loss = sum((p["U"] @ x).sum() for x in xs)
    loss2 = sum(sum(py_matvec(q["U"], x.tolist())) for x in xs)
    close(loss, loss2, "addend loss")
    write_case("addend", ADDEND, p, {"xs": xs}, {"h": h, "loss": loss})


BUILTINS = """
# builtins: every expression of LANGUAGE.md's table, each in its own output
# so that a failure names the construct.
model builtins
dim N = 3
dim D = 4
dim K = 5
dim V = 6
dim L max 5
param A : [N, D]
param B : [D, K]
param E : [V, D]
param M : [D, D]
param v : [D]
input x : [D]
input Xm : [N, D]
input ids : int[L]
input y : int
input tgt : [D]
output mm
output mv
output trv
output tr
output bc
output ew
output sc
output negx
output idx
output look
output ey
output u_tanh
output u_relu
output u_sig
output u_exp
output u_log
output u_sqrt
output u_abs
output s_all
output m_all
output ax0
output ax1
output dt
output cc1
output cc2
output zo
output sm1
output sm2
output lsm
output xe
output bxe
output aff
output rows
output acc
output c
optimizer sgd(lr = 0.1)

def affine(W, b, z) { return W @ z + b }
def layer(W, b, z) {
  pre = affine(W, b, z)
  return tanh(pre)
}

mm = A @ B                                  # [N,K] matrix-matrix
mv = A @ x                                  # [N] matrix-vector
trv = transpose(B) @ x                      # [K]
tr = transpose(A)                           # [D,N]
bc = Xm + v                                 # [N,D] + [D]
ew = Xm * v - Xm / (abs(v) + 1.0)           # broadcasting * - /
sc = 0.5 * Xm - 2.0 + Xm / 4.0 + Xm * dot(x, v)  # scalar literals and a 0-d value
negx = -x + -Xm[0] * 2.0                    # unary minus
idx = Xm[2] * Xm[1][3] + Xm[y - 3]          # rows, an element, an int expression
look = E[ids]                               # [L,D] batched lookup
ey = E[y]                                   # row by a scalar int input
u_tanh = tanh(x)
u_relu = relu(x)
u_sig = sigmoid(x)
u_exp = exp(x)
u_log = log(abs(x) + 0.5)
u_sqrt = sqrt(abs(x))
u_abs = abs(Xm)
s_all = sum(Xm)
m_all = mean(Xm)
ax0 = sum(Xm, 0)                            # [D]
ax1 = sum(Xm, 1)                            # [N]
dt = dot(x, v)
cc1 = concat(x, v)                          # [2D]
cc2 = concat(Xm, A)                         # [2N,D]
zo = ones([N, D]) * 2.0 + zeros([D])
sm1 = softmax(A @ x)
sm2 = softmax(Xm)                           # over the last axis
lsm = log_softmax(Xm)
xe = cross_entropy(E @ x, y)
bxe = binary_cross_entropy(x, tgt)
aff = layer(M, v, affine(M, v, x))          # defs inlined, one calling another

acc = zeros([D])
for i in 0..N {
  for j in 0..2 {
    acc = tanh(M @ acc + Xm[i] * 0.5) + v * 0.1    # carried through both loops
  }
  rows[i] = acc                             # stacked: [N,D]
}

c = zeros([D])
for t in 0..L {
  c = c + E[ids[t]] * x                     # carried over a dynamic range
  loss += dot(E[ids[t]], v)
}
loss += xe
loss += bxe
"""


def case_builtins(rng):
    N, D, K, V, L = 3, 4, 5, 6, 3
    A = f32(rng.normal(0, 0.5, (N, D)))
    B = f32(rng.normal(0, 0.5, (D, K)))
    E = f32(rng.normal(0, 0.5, (V, D)))
    M = f32(rng.normal(0, 0.5, (D, D)))
    v = f32(rng.normal(0, 0.5, D))
    x_in = rng.normal(0, 1, D).astype("<f4")
    X_in = rng.normal(0, 1, (N, D)).astype("<f4")
    ids = np.array([5, 0, 3], dtype="<i4")
    y = np.array(4, dtype="<i4")  # 0-d: a scalar int input
    tgt_in = rng.uniform(0, 1, D).astype("<f4")
    # the model's Xm ('X' and 'x' would clash as in_X.npy and in_x.npy on
    # case-insensitive file systems)
    x, X, tgt = f32(x_in), f32(X_in), f32(tgt_in)
    yi = int(y)

    def affine(W, b, z):
        return W @ z + b

    def layer(W, b, z):
        return np.tanh(affine(W, b, z))

    o = {}
    o["mm"] = A @ B
    o["mv"] = A @ x
    o["trv"] = B.T @ x
    o["tr"] = A.T
    o["bc"] = X + v
    o["ew"] = X * v - X / (np.abs(v) + 1.0)
    o["sc"] = 0.5 * X - 2.0 + X / 4.0 + X * np.dot(x, v)
    o["negx"] = -x + (-X[0]) * 2.0
    o["idx"] = X[2] * X[1][3] + X[yi - 3]
    o["look"] = E[ids]
    o["ey"] = E[yi]
    o["u_tanh"] = np.tanh(x)
    o["u_relu"] = np.maximum(x, 0.0)
    o["u_sig"] = sigmoid(x)
    o["u_exp"] = np.exp(x)
    o["u_log"] = np.log(np.abs(x) + 0.5)
    o["u_sqrt"] = np.sqrt(np.abs(x))
    o["u_abs"] = np.abs(X)
    o["s_all"] = np.sum(X)
    o["m_all"] = np.mean(X)
    o["ax0"] = np.sum(X, axis=0)
    o["ax1"] = np.sum(X, axis=1)
    o["dt"] = np.dot(x, v)
    o["cc1"] = np.concatenate([x, v])
    o["cc2"] = np.concatenate([X, A], axis=0)
    o["zo"] = np.ones((N, D)) * 2.0 + np.zeros(D)
    o["sm1"] = softmax(A @ x)
    o["sm2"] = softmax(X)
    o["lsm"] = log_softmax(X)
    o["xe"] = cross_entropy(E @ x, yi)
    o["bxe"] = binary_cross_entropy(x, tgt)
    o["aff"] = layer(M, v, affine(M, v, x))
    acc = np.zeros(D)
    rows = np.zeros((N, D))
    for i in range(N):
        for _ in range(2):
            acc = np.tanh(M @ acc + X[i] * 0.5) + v * 0.1
        rows[i] = acc
    o["rows"], o["acc"] = rows, acc
    c = np.zeros(D)
    loss = 0.0
    for t in range(L):
        c = c + E[ids[t]] * x
        loss += np.dot(E[ids[t]], v)
    o["c"] = c
    o["loss"] = loss + o["xe"] + o["bxe"]

    # hand checks of shapes and of values that are easy to see
    shapes = {"mm": (N, K), "mv": (N,), "trv": (K,), "tr": (D, N),
              "bc": (N, D), "look": (L, D), "ax0": (D,), "ax1": (N,),
              "cc1": (2 * D,), "cc2": (2 * N, D), "sm2": (N, D),
              "rows": (N, D), "xe": (), "dt": (), "loss": ()}
    for k, s in shapes.items():
        assert np.shape(o[k]) == s, (k, np.shape(o[k]), s)
    close(o["sm2"].sum(axis=1), np.ones(N), "softmax rows sum to 1")
    close(o["zo"], np.full((N, D), 2.0), "ones*2+zeros")
    close(o["xe"], -math.log(math.exp((E @ x)[yi]) /
                             sum(math.exp(z) for z in E @ x)), "xent by hand")
    close(o["idx"][0], X[2][0] * X[1][3] + X[1][0], "idx by hand")
    close(o["look"][1], E[0], "lookup row")
    close(o["rows"][-1], o["acc"], "last stacked row is the final carry")

    ins = {"x": x_in, "Xm": X_in, "ids": ids, "y": y, "tgt": tgt_in}
    params = {"A": A, "B": B, "E": E, "M": M, "v": v}
    write_case("builtins", BUILTINS, params, ins, o)

STDLIB = """
# stdlib_nn: defs of stdlib/nn.nn (import "nn"). z, r and n are also names
# that gru_cell binds inside its body: the outputs must keep the caller's
# values (a def's locals do not leak into the caller).
model stdlib_nn
import "nn"
dim K = 5
dim H = 4
dim M = 3
dim T max 6
param W1 : [H, K]
param b1 : [H]
param W2 : [M, H]
param b2 : [M]
param Wz : [H, K]
param Uz : [H, H]
param bz : [H]
param Wr : [H, K]
param Ur : [H, H]
param br : [H]
param Wn : [H, K]
param Un : [H, H]
param bn : [H]
param g : [K]
param bk : [K]
input x : [K]
input xs : [T, K]
input y : int
output z
output r
output n
output sp
output h
optimizer sgd(lr = 0.1)
z = mlp2(W1, b1, W2, b2, x)
r = relu_mlp2(W1, b1, W2, b2, x)
n = layer_norm(x, g, bk)
sp = softplus(x)
h = zeros([H])
for t in 0..T {
  h = gru_cell(Wz, Uz, bz, Wr, Ur, br, Wn, Un, bn, xs[t], h)
}
loss += cross_entropy(z, y)
loss += mse(r, b2)
loss += cosine(x, g)
"""


def case_stdlib(rng):
    """The reference follows the comments of stdlib/nn.nn (what each def is
    documented to compute), written again here in NumPy."""
    K, H, M, T = 5, 4, 3, 4
    shapes = {"W1": (H, K), "b1": (H,), "W2": (M, H), "b2": (M,),
              "Wz": (H, K), "Uz": (H, H), "bz": (H,), "Wr": (H, K),
              "Ur": (H, H), "br": (H,), "Wn": (H, K), "Un": (H, H),
              "bn": (H,), "g": (K,), "bk": (K,)}
    p = {k: f32(rng.normal(0, 0.5, s)) for k, s in shapes.items()}
    x_in = rng.normal(0, 1, K).astype("<f4")
    xs_in = rng.normal(0, 1, (T, K)).astype("<f4")
    y = np.array(1, dtype="<i4")
    x, xs = f32(x_in), f32(xs_in)

    def affine(W, b, v):
        return W @ v + b

    o = {}
    o["z"] = affine(p["W2"], p["b2"], np.tanh(affine(p["W1"], p["b1"], x)))
    o["r"] = affine(p["W2"], p["b2"], np.maximum(affine(p["W1"], p["b1"], x), 0))
    d = x - x.mean()
    o["n"] = p["g"] * d / np.sqrt(np.mean(d * d) + 0.00001) + p["bk"]
    o["sp"] = np.log(1 + np.exp(x))
    h = np.zeros(H)
    for t in range(T):  # GRU, PyTorch's formulation
        zg = sigmoid(p["Wz"] @ xs[t] + p["Uz"] @ h + p["bz"])
        rg = sigmoid(p["Wr"] @ xs[t] + p["Ur"] @ h + p["br"])
        ng = np.tanh(p["Wn"] @ xs[t] + p["Un"] @ (rg * h) + p["bn"])
        h = (1 - zg) * ng + zg * h
    o["h"] = h
    mse = np.mean((o["r"] - p["b2"]) ** 2)
    cos = np.dot(x, p["g"]) / math.sqrt(np.dot(x, x) * np.dot(p["g"], p["g"]))
    o["loss"] = cross_entropy(o["z"], int(y)) + mse + cos
    u = (o["n"] - p["bk"]) / p["g"]  # layer_norm: zero mean, unit variance
    assert abs(u.mean()) < 1e-9 and abs(np.mean(u * u) - 1) < 1e-3, u
    write_case("stdlib_nn", STDLIB, p, {"x": x_in, "xs": xs_in, "y": y}, o)


IDS_FROM1 = """
# ids_from1: ids read in a loop that starts at 1. The passes read every
# step's ids[t] before the loop (a gather at range 1..T) while the lookup's
# gradient (a scatter at the id, in the backward loop kept by the inner
# loop) and the label ids[t - 1] of an invariant row stay in the loop: with
# --target=cuda each such id is read on the host from the input, not from
# the device's copy (compiler/backend/place.c). T max 6.
model ids_from1
dim D = 4
dim T max 6
param W : [D, D]
param u : [D] init uniform(-1, 1)
param E : [D, D]
input xs : [T, D]
input ids : int[T]
output h
h = tanh(u)
for t in 1..T {
  a = tanh(E[ids[t]])
  h = tanh(W @ h + a)
  loss += cross_entropy(u * u, ids[t - 1])
  for j in 0..T {
    loss += dot(a, xs[j])
  }
}
"""


ADDEND_NESTED = """
# addend_nested: the addend's rows read again (compiler/backend/walk.c,
# row_read_once). U @ xs[t] is one product for every step before the
# loops, but the loop over t runs twice, inside the loop over k: each row
# is read once per k, so step t's W @ h + row t must not accumulate in
# row t (at -O2 the second pass read the first pass's sums: a wrong h and
# a wrong gradient of W; found by tests/fuzz/sem_diff.py). T max 8.
model addend_nested
dim D = 4
dim T max 8
param W : [D, D]
param U : [D, D]
input xs : [T, D]
output h
h = zeros([D])
for k in 0..2 {
  for t in 0..T {
    h = tanh(W @ h + U @ xs[t])
  }
}
loss += sum(h)
"""


def case_addend_nested(rng):
    p, _, xs, h = addend_rnn(rng, 2, "addend_nested")
    write_case("addend_nested", ADDEND_NESTED, p, {"xs": xs}, {"h": h, "loss": float(h.sum())})


def case_ids_from1(rng):
    D, T = 4, 5
    p = {"W": f32(rng.normal(0, 0.5, (D, D))), "u": f32(rng.uniform(-1, 1, D)),
         "E": f32(rng.normal(0, 1, (D, D)))}
    xs = f32(rng.normal(0, 1, (T, D))).astype("<f4")
    ids = rng.integers(0, D, T).astype("<i4")
    ids[0] = D - 1  # the last row and label, read only as ids[t - 1]
    h = np.tanh(p["u"])
    loss = 0.0
    for t in range(1, T):
        a = np.tanh(p["E"][ids[t]])
        h = np.tanh(p["W"] @ h + a)
        loss += cross_entropy(p["u"] * p["u"], ids[t - 1])
        for j in range(T):
            loss += a @ xs[j]
    q = {n: v.tolist() for n, v in p.items()}
    h2, loss2 = [math.tanh(v) for v in q["u"]], 0.0
    for t in range(1, T):
        a2 = [math.tanh(v) for v in q["E"][int(ids[t])]]
        h2 = [math.tanh(v + w) for v, w in zip(py_matvec(q["W"], h2), a2)]
        loss2 += py_xent([v * v for v in q["u"]], int(ids[t - 1]))
        loss2 += sum(sum(v * x for v, x in zip(a2, xs[j].tolist())) for j in range(T))
    close(h, np.array(h2), "ids_from1 h")
    close(loss, loss2, "ids_from1 loss")
    bad = ids.copy()
    bad[0] = D  # a label one past the last, read at t = 1 as ids[t - 1]
    write_case("ids_from1", IDS_FROM1, p, {"xs": xs, "ids": ids}, {"h": h, "loss": loss},
               bad={"oob_ids": bad})


UNIT_AXIS = """
# unit_axis: sums over a last axis of size 1 ([T, 1] operands). At -O2 the
# pass select makes each a mul_sum, whose C stored every result one element
# late (the sum's counter, past the axis, was part of the result's index):
# y read [0, 4, 10] for [4, 10, 18], c and the loss 0 for -6.
model unit_axis
dim T max 4
dim K = 1
param U : [2, K]
input a : [T, K]
input b : [T, K]
input ids : int[T]
output y, c
y = sum(a * b, 1)
c = zeros([1])
for t in 0..T {
  c = c * 0.5 + U[ids[t]] @ a[t]
}
loss += sum(c)
"""


def case_unit_axis():
    """Fixed small numbers (no generator), checked by hand: y = [4, 10, 18];
    c: -2 * 1, then -1 + 0.5 * 2 = 0, then 0 - 2 * 3 = -6."""
    p = {"U": f32([[0.5], [-2.0]])}
    a = np.array([[1.0], [2.0], [3.0]], dtype="<f4")
    b = np.array([[4.0], [5.0], [6.0]], dtype="<f4")
    ids = np.array([1, 0, 1], dtype="<i4")
    y = (f32(a) * f32(b)).sum(axis=1)
    c = np.zeros(1)
    for t in range(3):
        c = c * 0.5 + p["U"][ids[t]] @ f32(a[t])
    close(y, np.array([4.0, 10.0, 18.0]), "unit_axis y")
    close(c, np.array([-6.0]), "unit_axis c")
    write_case("unit_axis", UNIT_AXIS, p, {"a": a, "b": b, "ids": ids}, {"y": y, "c": c, "loss": c.sum()})


def stdlib_has_nn():
    p = os.path.join(HERE, "..", "..", "stdlib", "nn.nn")
    return os.path.exists(p)


def main():
    # one generator per case, seeded separately so that editing one case
    # does not change the numbers of the others
    case_slowimpl(np.random.default_rng(7))
    case_skipgram(np.random.default_rng(2))
    case_rnnlm(np.random.default_rng(3))
    case_bag(np.random.default_rng(6))
    case_builtins(np.random.default_rng(4))
    case_loops(np.random.default_rng(8))
    case_loops(np.random.default_rng(9), "loops_empty", 1)  # no iteration: the carries' initial values
    case_addend(np.random.default_rng(10))
    case_addend_nested(np.random.default_rng(12))
    case_ids_from1(np.random.default_rng(11))
    case_unit_axis()
    if stdlib_has_nn():
        case_stdlib(np.random.default_rng(5))
    else:
        print("stdlib/nn.nn not found: no import case")


if __name__ == "__main__":
    main()
