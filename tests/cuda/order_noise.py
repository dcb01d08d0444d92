#!/usr/bin/env python3
"""order_noise.py - how far two correct float32 builds of one gradient may
differ: the bound behind tests/cuda/test_target.cpp's tolerance on a GPU.

    python3 tests/cuda/order_noise.py [N]      (N draws, default 7)

For bench/models/rnnlm256.nn in test_target's setting (T = 5, params drawn
from N(0, 0.3), word ids from [0, 3)), each draw computes d loss / d every
param three ways: `nngc run --grads` with the runtime's own GEMM kernel
(NNRT_GEMM=own), the same with OpenBLAS (NNRT_GEMM=blas), and NumPy in
float64 (the model's backward pass written out here). It prints, per param,
the largest difference in test_target's measure (|a - b| / max(1, |b|)):
own vs OpenBLAS, and each vs float64; then the largest over all draws.
Needs build/nngc and NumPy; writes into a temporary directory.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from npyio import write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "bench", "models", "rnnlm256.nn")
V, E, H, T = 10000, 256, 256, 5
SHAPES = {"emb": (V, E), "Wx": (H, E), "Wh": (H, H), "bh": (H,), "Wo": (V, H), "bo": (V,)}


def grads_f64(p, words):
    """d loss / d params of h_t = tanh(Wx emb[w_t] + Wh h_{t-1} + bh),
    loss = sum_t cross_entropy(Wo h_t + bo, w_{t+1}), in float64"""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    hs, xs, probs = [np.zeros(H)], [], []
    for t in range(T):
        x = p["emb"][words[t]]
        h = np.tanh(p["Wx"] @ x + p["Wh"] @ hs[-1] + p["bh"])
        z = p["Wo"] @ h + p["bo"]
        e = np.exp(z - z.max())
        xs.append(x), hs.append(h), probs.append(e / e.sum())
    g = {k: np.zeros(s) for k, s in SHAPES.items()}
    dh_next = np.zeros(H)
    for t in reversed(range(T)):
        dz = probs[t].copy()
        dz[words[t + 1]] -= 1
        g["Wo"] += np.outer(dz, hs[t + 1])
        g["bo"] += dz
        da = (p["Wo"].T @ dz + dh_next) * (1 - hs[t + 1] ** 2)
        g["Wx"] += np.outer(da, xs[t])
        g["Wh"] += np.outer(da, hs[t])
        g["bh"] += da
        g["emb"][words[t]] += p["Wx"].T @ da
        dh_next = p["Wh"].T @ da
    return g


def far(a, b):
    return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max())


def main():
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    nngc = os.path.join(ROOT, "build", "nngc")
    worst = [0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, draws + 1):
            rng = np.random.default_rng(seed)
            params = {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in SHAPES.items()}
            words = rng.integers(0, 3, T + 1).astype(np.int32)
            write_safetensors(os.path.join(tmp, "p.safetensors"),
                              {k: (a.shape, a.ravel().tolist()) for k, a in params.items()})
            np.save(os.path.join(tmp, "words.npy"), words)
            got = {}
            for mode in ("own", "blas"):
                out = os.path.join(tmp, mode)
                subprocess.run([nngc, "run", MODEL, "--params", os.path.join(tmp, "p.safetensors"),
                                "--input", "words=" + os.path.join(tmp, "words.npy"), "--grads", out],
                               check=True, stdout=subprocess.DEVNULL,
                               env=dict(os.environ, NNRT_GEMM=mode, NNGC_CACHE_DIR="off"))
                got[mode] = {k: np.load(os.path.join(out, k + ".npy")) for k in SHAPES}
            ref = grads_f64(params, words)
            for k in SHAPES:
                d = [far(got["own"][k], got["blas"][k]), far(got["own"][k], ref[k]), far(got["blas"][k], ref[k])]
                worst = [max(w, x) for w, x in zip(worst, d)]
                print(f"draw {seed} d loss / d {k:4s}: own vs OpenBLAS {d[0]:.2e}, own vs float64 {d[1]:.2e}, "
                      f"OpenBLAS vs float64 {d[2]:.2e} (largest |g| {np.abs(ref[k]).max():.3g})")
    print(f"largest over {draws} draws: own vs OpenBLAS {worst[0]:.2e}, own vs float64 {worst[1]:.2e}, "
          f"OpenBLAS vs float64 {worst[2]:.2e}")


if __name__ == "__main__":
    main()
