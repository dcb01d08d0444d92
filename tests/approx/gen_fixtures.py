#!/usr/bin/env python3
"""Writes the softmax-approximation fixtures under tests/approx/fixtures/.

An independent NumPy statement of every method in docs/APPROX.md: the word
structures (RNNLM frequency classes, word2vec's Huffman tree, binary codes,
the rate-1/2 K=7 convolutional code) and each method's loss and gradient for
one position, in float64, on a fixed small problem (V = 12 words, H = 5,
P = 4 positions, k = 4 fixed samples per position). tests/unit/
test_rt_approx.c reads these files and compares the C references of
runtime/approx.c and runtime/codes.c with them.

The inputs are rounded to float32 before the float64 computation, because
the runtime's .npy reader gives float32: the C side then starts from the
same numbers, and only the outputs carry float32 rounding (the tests allow
a relative 1e-6).

    python3 tests/approx/gen_fixtures.py     # rewrites the fixtures

The test suite does not need NumPy: the fixtures are checked in.
"""
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

V, H, P, K = 12, 5, 4, 4
# <s>, <unk>, then the words by descending count, as `nngc train` numbers them
COUNTS = np.array([50, 3, 40, 30, 20, 12, 9, 6, 4, 3, 2, 1], dtype=np.int64)
NCLASS = 4
HYBRID = 3
LAMBDA1, LAMBDA2 = 0.02, 0.5


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lse(z):
    m = z.max()
    return m + math.log(np.exp(z - m).sum())


# ------------------------------------------------------------ structures

def rnnlm_classes(counts, c, sqrt_counts):
    """rnnlm.cpp: the running share of the total (of sqrt(count/total) in
    the default mode, of count/total with -old-classes), cut at a/c."""
    b = float(counts.sum())
    share = np.sqrt(counts / b) if sqrt_counts else counts / b
    share = share / share.sum() if sqrt_counts else share
    df, a, cls = 0.0, 0, []
    for i in range(len(counts)):
        df = min(df + share[i], 1.0)
        cls.append(a)
        if df > (a + 1) / c and a < c - 1:
            a += 1
    return np.array(cls, dtype=np.int64)


def word2vec_huffman(counts):
    """word2vec.c CreateBinaryTree on the words sorted by descending count
    (ties by id). Returns per word id its path (inner nodes, root first)
    and code bits."""
    n = len(counts)
    order = sorted(range(n), key=lambda i: (-counts[i], i))
    cnt = [int(counts[i]) for i in order] + [10**15] * (n - 1)
    parent, binary = [0] * (2 * n - 1), [0] * (2 * n - 1)
    pos1, pos2 = n - 1, n
    for a in range(n - 1):
        mins = []
        for _ in range(2):
            if pos1 >= 0 and cnt[pos1] < cnt[pos2]:
                mins.append(pos1)
                pos1 -= 1
            else:
                mins.append(pos2)
                pos2 += 1
        cnt[n + a] = cnt[mins[0]] + cnt[mins[1]]
        parent[mins[0]] = parent[mins[1]] = n + a
        binary[mins[1]] = 1
    paths, codes = [None] * n, [None] * n
    for rank, w in enumerate(order):
        p, c, b = [], [], rank
        while b != 2 * n - 2:
            c.append(binary[b])
            p.append(parent[b] - n)
            b = parent[b]
        paths[w], codes[w] = p[::-1], c[::-1]
    return paths, codes


def bincode(w, hybrid, bits):
    c = w - hybrid
    return [(c >> (bits - 1 - i)) & 1 for i in range(bits)]


def conv_encode(msg):
    """Rate 1/2, K = 7, generators 171 and 133 octal, 6 flush zeros; the
    register's bit 0 is the newest input."""
    reg, out = 0, []
    for bit in list(msg) + [0] * 6:
        reg = ((reg << 1) | bit) & 0x7F
        out += [bin(reg & 0o171).count("1") & 1, bin(reg & 0o133).count("1") & 1]
    return out


# ------------------------------------------------------------ losses

def full(z, y):
    p = np.exp(z - lse(z))
    g = p.copy()
    g[y] -= 1
    return lse(z) - z[y], g


def sampled(z, y, s, logq):
    cand = [y] + list(s)
    o = np.array([z[w] - logq[w] for w in cand])
    p = np.exp(o - lse(o))
    g = np.zeros_like(z)
    for j, w in enumerate(cand):
        g[w] += p[j]
    g[y] -= 1
    return lse(o) - o[0], g


def nce(z, y, s, logq):
    k = len(s)
    d = lambda w: z[w] - math.log(k) - logq[w]
    g = np.zeros_like(z)
    loss = softplus(-d(y))
    g[y] += sigmoid(d(y)) - 1
    for w in s:
        loss += softplus(d(w))
        g[w] += sigmoid(d(w))
    return loss, g


def neg(z, y, s):
    g = np.zeros_like(z)
    loss = softplus(-z[y])
    g[y] += sigmoid(z[y]) - 1
    for w in s:
        if w == y:
            continue  # word2vec skips a negative equal to the target
        loss += softplus(z[w])
        g[w] += sigmoid(z[w])
    return loss, g


def classbased(zc, zw, y, cls):
    c = cls[y]
    members = np.nonzero(cls == c)[0]
    lc, lw = lse(zc), lse(zw[members])
    gc = np.exp(zc - lc)
    gc[c] -= 1
    gw = np.zeros_like(zw)
    gw[members] = np.exp(zw[members] - lw)
    gw[y] -= 1
    return lc - zc[c] + lw - zw[y], gc, gw


def hier(x, path, code):
    g = np.zeros_like(x)
    loss = 0.0
    for n, d in zip(path, code):
        t = 1 - d  # bit 0 has probability sigmoid(x)
        loss += softplus(-x[n] if t else x[n])
        g[n] += sigmoid(x[n]) - t
    return loss, g


def binary(zs, x, y, hybrid, bits):
    slot = y if y < hybrid else hybrid
    gs = np.exp(zs - lse(zs))
    gs[slot] -= 1
    loss = lse(zs) - zs[slot]
    gx = np.zeros_like(x)
    if y >= hybrid:
        t = np.array(bincode(y, hybrid, bits), dtype=np.float64)
        loss += float(np.sum(softplus(x) - t * x))
        gx = sigmoid(x) - t
    return loss, gs, gx


def vmf(o, e, l1, l2):
    """Kumar & Tsvetkov (2019): -log C_m(kappa) + l1 kappa - l2 o.e with
    -log C_m(kappa) ~ sqrt((v+1)^2 + k^2) - (v-1) log(v-1 + sqrt(...)),
    v = m/2 - 1. The gradient is the exact gradient of that expression."""
    m = len(o)
    v = m / 2 - 1
    kappa = np.linalg.norm(o)
    r = math.sqrt((v + 1) ** 2 + kappa**2)
    loss = r - (v - 1) * math.log(v - 1 + r) + l1 * kappa - l2 * o @ e
    d = kappa / (v - 1 + r)
    return loss, (d + l1) * o / kappa - l2 * e


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240610)
    W = f32(rng.normal(0, 0.7, (V, H)))
    b = f32(rng.normal(0, 0.3, V))
    h = f32(rng.normal(0, 1.0, (P, H)))
    y = np.array([2, 5, 11, 0], dtype=np.int64)
    # fixed samples: row 1 draws its target twice, row 2 a duplicate
    s = np.array([[3, 7, 2, 10], [5, 0, 9, 5], [4, 4, 6, 1], [8, 2, 3, 11]], dtype=np.int64)
    q = COUNTS.astype(np.float64) ** 0.75
    logq = np.log(q / q.sum())
    for name, a in [("counts", COUNTS), ("W", W), ("b", b), ("h", h), ("y", y), ("samples", s),
                    ("logq", logq)]:
        save(name, a)

    z = h @ W.T + b
    for meth in ["full", "sampled", "nce", "neg"]:
        loss, gz, gh = np.zeros(P), np.zeros((P, V)), np.zeros((P, H))
        for p in range(P):
            if meth == "full":
                loss[p], gz[p] = full(z[p], y[p])
            elif meth == "sampled":
                loss[p], gz[p] = sampled(z[p], y[p], s[p], logq)
            elif meth == "nce":
                loss[p], gz[p] = nce(z[p], y[p], s[p], logq)
            else:
                loss[p], gz[p] = neg(z[p], y[p], s[p])
            gh[p] = W.T @ gz[p]
        save("loss_" + meth, loss)
        save("gz_" + meth, gz)
        save("gh_" + meth, gh)
        save("gW_" + meth, gz[:, :, None] * h[:, None, :])  # [P, V, H]

    # class-based: the word logits reuse W, b; class rows Wc
    for sq in (0, 1):
        save("classes_sqrt%d" % sq, rnnlm_classes(COUNTS, NCLASS, sq))
    cls = rnnlm_classes(COUNTS, NCLASS, 1)
    C = int(cls.max()) + 1
    Wc = f32(rng.normal(0, 0.7, (C, H)))
    save("Wc", Wc)
    loss, gc, gw, gh = np.zeros(P), np.zeros((P, C)), np.zeros((P, V)), np.zeros((P, H))
    for p in range(P):
        loss[p], gc[p], gw[p] = classbased(Wc @ h[p], z[p], y[p], cls)
        gh[p] = Wc.T @ gc[p] + W.T @ gw[p]
    for name, a in [("loss_class", loss), ("gc_class", gc), ("gw_class", gw), ("gh_class", gh)]:
        save(name, a)

    # hierarchical: inner-node rows Wn[V - 1, H]
    paths, codes = word2vec_huffman(COUNTS)
    L = max(len(x) for x in paths)
    pt = -np.ones((V, L), dtype=np.int64)
    cd = -np.ones((V, L), dtype=np.int64)
    for w in range(V):
        pt[w, : len(paths[w])] = paths[w]
        cd[w, : len(codes[w])] = codes[w]
    save("huff_point", pt)
    save("huff_code", cd)
    Wn = f32(rng.normal(0, 0.7, (V - 1, H)))
    save("Wn", Wn)
    loss, gx, gh = np.zeros(P), np.zeros((P, V - 1)), np.zeros((P, H))
    for p in range(P):
        loss[p], gx[p] = hier(Wn @ h[p], paths[y[p]], codes[y[p]])
        gh[p] = Wn.T @ gx[p]
    for name, a in [("loss_hier", loss), ("gx_hier", gx), ("gh_hier", gh)]:
        save(name, a)

    # binary codes with a hybrid softmax of HYBRID words
    bits = max(1, math.ceil(math.log2(V - HYBRID)))
    Ws = f32(rng.normal(0, 0.7, (HYBRID + 1, H)))
    Wb = f32(rng.normal(0, 0.7, (bits, H)))
    save("Ws", Ws)
    save("Wb", Wb)
    loss, gs, gx, gh = np.zeros(P), np.zeros((P, HYBRID + 1)), np.zeros((P, bits)), np.zeros((P, H))
    for p in range(P):
        loss[p], gs[p], gx[p] = binary(Ws @ h[p], Wb @ h[p], y[p], HYBRID, bits)
        gh[p] = Ws.T @ gs[p] + Wb.T @ gx[p]
    for name, a in [("loss_binary", loss), ("gs_binary", gs), ("gx_binary", gx), ("gh_binary", gh)]:
        save(name, a)
    save("bincode", np.array([bincode(w, HYBRID, bits) for w in range(HYBRID, V)], dtype=np.int64))
    save("ecc", np.array([conv_encode(bincode(w, HYBRID, bits)) for w in range(HYBRID, V)],
                         dtype=np.int64))

    # vMF against a frozen unit-norm embedding table E; o = Wo h
    E = rng.normal(0, 1, (V, H))
    E = f32(E / np.linalg.norm(E, axis=1, keepdims=True))
    Wo = f32(rng.normal(0, 1.5, (H, H)))
    save("E", E)
    save("Wo", Wo)
    loss, go = np.zeros(P), np.zeros((P, H))
    for p in range(P):
        loss[p], go[p] = vmf(Wo @ h[p], E[y[p]], LAMBDA1, LAMBDA2)
    save("loss_vmf", loss)
    save("go_vmf", go)


if __name__ == "__main__":
    main()
