#!/usr/bin/python3
"""rnnlm_torch.py - examples/rnnlm.nn trained in PyTorch, hand-batched: the
reference for the words/s of `nngc --batch=B` (bench/rnnlm_batch.sh).

    python3 bench/rnnlm_torch.py IDS.bin SECONDS [B (32)] [V (10000)]

IDS.bin is the file tests/batch/bench.sh writes (int32 count n, then n
sentences as int32 T and T + 1 ids). The batches are made as
tests/batch/bench.c makes them: the sentences sorted by length, cut into
batches of B, the batches in the same xorshift-shuffled order; each batch
time-major [T + 1, B], padded to its longest sentence.

The model is examples/rnnlm.nn (E = 64, H = 128, V ids), written the way a
PyTorch user batches it by hand: the input projection of every step in one
matrix product, the recurrence h = tanh(x_t Wx^T + h Wh^T + bh) one
[B, H] x [H, H] product per step, the output layer and cross_entropy over
all T x B positions at once, the positions past a sentence's end left out
of the loss (ignore_index; they then add nothing to any gradient, as
nngc's masks). The loss is the sum over the batch, as nngc's; one Adam step
(lr 0.001, PyTorch's defaults otherwise, as `optimizer adam(lr = 0.001)`)
per batch. Params: glorot uniform matrices, zero biases. One thread.

Prints "torch B words_per_s steps loss_per_word words_per_cpu_s", the
columns of tests/batch/bench.c.
"""
import struct
import sys
import time

import torch
import torch.nn.functional as F

E, H = 64, 128


def read_ids(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<i", data, 0)
    off, sents = 4, []
    for _ in range(n):
        (t,) = struct.unpack_from("<i", data, off)
        sents.append(list(struct.unpack_from("<%di" % (t + 1), data, off + 4)))
        off += 4 * (t + 2)
    return sents


def batch_order(nb):
    """bench.c's xorshift shuffle of the batch numbers."""
    border, r, mask = list(range(nb)), 88172645463325252, (1 << 64) - 1
    for i in range(nb - 1, 0, -1):
        r ^= (r << 13) & mask
        r ^= r >> 7
        r ^= (r << 17) & mask
        j = r % (i + 1)
        border[i], border[j] = border[j], border[i]
    return border


def glorot(rows, cols, g):
    a = (6.0 / (rows + cols)) ** 0.5
    return ((torch.rand(rows, cols, generator=g) * 2 - 1) * a).requires_grad_()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: rnnlm_torch.py IDS.bin SECONDS [B] [V]")
    path, budget = sys.argv[1], float(sys.argv[2])
    B = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    V = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    torch.set_num_threads(1)
    sents = read_ids(path)
    order = sorted(range(len(sents)), key=lambda i: len(sents[i]))
    nb = len(sents) // B
    border = batch_order(nb)
    batches = []  # (words [T + 1, B] time-major, targets [T, B] with -100 past the end, words)
    for k in range(nb):
        s = [sents[i] for i in order[border[k] * B:(border[k] + 1) * B]]
        T = max(len(x) - 1 for x in s)
        words = torch.zeros(T + 1, B, dtype=torch.long)
        targets = torch.full((T, B), -100, dtype=torch.long)
        for b, x in enumerate(s):
            words[:len(x), b] = torch.tensor(x)
            targets[:len(x) - 1, b] = torch.tensor(x[1:])
        batches.append((words, targets, sum(len(x) - 1 for x in s)))

    g = torch.Generator().manual_seed(1)
    emb, Wx, Wh, Wo = glorot(V, E, g), glorot(H, E, g), glorot(H, H, g), glorot(V, H, g)
    bh, bo = torch.zeros(H, requires_grad=True), torch.zeros(V, requires_grad=True)
    params = [emb, Wx, Wh, bh, Wo, bo]
    opt = torch.optim.Adam(params, lr=0.001)

    words_done, loss_sum, steps, k = 0, 0.0, 0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < budget:
        words, targets, nw = batches[k]
        k = (k + 1) % nb
        T = targets.shape[0]
        opt.zero_grad()
        xp = F.embedding(words[:T], emb) @ Wx.t() + bh  # [T, B, H]: every step's input at once
        h = torch.zeros(B, H)
        hs = []
        for t in range(T):
            h = torch.tanh(xp[t] + h @ Wh.t())
            hs.append(h)
        logits = torch.stack(hs) @ Wo.t() + bo  # [T, B, V]
        loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-100, reduction="sum")
        loss.backward()
        opt.step()
        words_done += nw
        loss_sum += loss.item()
        steps += 1
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print("torch %d %.0f %d %.4f %.0f" % (B, words_done / dt, steps, loss_sum / words_done, words_done / dc))


if __name__ == "__main__":
    main()
