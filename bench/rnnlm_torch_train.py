#!/usr/bin/python3
"""bench/rnnlm_torch_train.py - examples/rnnlm.nn written by hand in PyTorch
and trained the way `nngc train examples/rnnlm.nn --batch B` trains it, for
the perplexity comparison of bench/rnnlm_ppl.sh (docs/PERFORMANCE.md).

The same on both sides:
  - vocabulary: <s> = 0, <unk> = 1, then the words of the training file by
    descending count, ties in order of first occurrence, the first V ids
    kept (nngc's --max-vocab V), every other word <unk>;
  - examples: one line = `<s> w1 ... wn <s>`, predicting w1 ... wn and the
    end marker (T = n + 1), lines with T over 100 skipped (rnnlm.nn's
    `dim T max 100`), empty lines skipped;
  - model: h = tanh(Wx emb[w_t] + Wh h + bh), loss += cross_entropy(Wo h + bo,
    w_{t+1}), h starting at zeros; dims V, E = 64, H = 128;
  - init: glorot (U[-r, r), r = sqrt(6 / (fan_in + fan_out)), fan_out the
    first axis) for the matrices, zeros for bh and bo (LANGUAGE.md's default);
  - objective: the sum of the losses of the B examples of a batch, one Adam
    step (lr 0.001, betas 0.9, 0.999, eps 1e-8: the model's `optimizer`) per
    batch, examples shuffled each epoch;
  - validation: exp(sum of losses / number of predicted words).
Not the same by default: the random streams (init and shuffle), float
summation order. --init and --order make the first two nngc's:

  --init F.st   nngc's initial params (`nngc run examples/rnnlm.nn --seed S
                --train 0 --save F.st`: the params NAME_create(S) draws, as
                `nngc train --seed S` does), read from the safetensors file;
  --order F     nngc's order of the examples, epoch by epoch (`nngc train
                --dump-order F`; with --bucket 0 its batches are the
                consecutive runs of B of it, as here);
  --trace       the loss of every step, and the running mean per word that
                nngc's progress lines print.
With both, the two trainers do the same arithmetic up to float rounding:
bench/rnnlm_ppl.sh replay compares them step by step (docs/PERFORMANCE.md).

    python3 bench/rnnlm_torch_train.py TRAIN VALID [--epochs N] [--batch B]
        [--lr X] [--seed S] [--V 10000] [--threads 1] [--init F] [--order F] [--trace]
Prints one line per epoch: "epoch E train_ppl X valid_ppl Y words/s Z secs S".
"""
import argparse, collections, math, os, random, sys, time

import torch


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.split() for l in f]


def build_vocab(lines, V):
    count = collections.Counter()
    first = {}
    for l in lines:
        for w in l:
            count[w] += 1
            first.setdefault(w, len(first))
    words = [w for w in count if w not in ("<s>", "<unk>")]
    words.sort(key=lambda w: (-count[w], first[w]))
    ids = {"<s>": 0, "<unk>": 1}
    for w in words[: V - 2]:
        ids[w] = len(ids)
    return ids


def examples(lines, ids, tmax=100):
    out = []
    for l in lines:
        if not l:
            continue
        seq = [0] + [ids.get(w, 1) for w in l] + [0]
        if len(seq) - 1 <= tmax:
            out.append(seq)
    return out


def glorot(shape, gen):
    fan_out, fan_in = shape[0], math.prod(shape[1:])
    r = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape, generator=gen) * 2 - 1) * r


def read_order(path):
    """nngc train --dump-order FILE: {epoch: [example index, ...]}."""
    order, cur = {}, None
    with open(path) as f:
        for l in f:
            if l.startswith("epoch"):
                cur = order.setdefault(int(l.split()[1]), [])
            else:
                cur.append(int(l))
    return order


class RNNLM(torch.nn.Module):
    def __init__(self, V, E=64, H=128, seed=1):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.nn.Parameter(glorot((V, E), g))
        self.Wx = torch.nn.Parameter(glorot((H, E), g))
        self.Wh = torch.nn.Parameter(glorot((H, H), g))
        self.bh = torch.nn.Parameter(torch.zeros(H))
        self.Wo = torch.nn.Parameter(glorot((V, H), g))
        self.bo = torch.nn.Parameter(torch.zeros(V))

    def forward(self, words, lengths):
        """words [B, Tmax + 1] (padded with 0), lengths [B] (T of each):
        the summed loss and the number of predicted words."""
        B, T1 = words.shape
        T = T1 - 1
        x = torch.nn.functional.embedding(words[:, :T], self.emb) @ self.Wx.t()  # [B, T, H], one GEMM
        h = torch.zeros(B, self.Wh.shape[0])
        hs = []
        for t in range(T):  # the recurrence: one [B, H] x [H, H] product per step
            h = torch.tanh(x[:, t] + h @ self.Wh.t() + self.bh)
            hs.append(h)
        hs = torch.stack(hs, 1)  # [B, T, H]
        mask = torch.arange(T)[None, :] < lengths[:, None]
        logits = hs[mask] @ self.Wo.t() + self.bo  # [words, V], one GEMM
        target = words[:, 1:][mask]
        return torch.nn.functional.cross_entropy(logits, target, reduction="sum"), int(mask.sum())


def batches(exs, B):
    for i in range(0, len(exs), B):
        part = exs[i : i + B]
        T = max(len(e) for e in part)
        w = torch.zeros(len(part), T, dtype=torch.long)
        for j, e in enumerate(part):
            w[j, : len(e)] = torch.tensor(e)
        yield w, torch.tensor([len(e) - 1 for e in part])


def evaluate(model, exs, B=64):
    total, n = 0.0, 0
    with torch.no_grad():
        for w, lens in batches(exs, B):
            loss, k = model(w, lens)
            total += float(loss)
            n += k
    return total / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("valid")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--V", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-lines", type=int, default=0, help="first N training lines only (0: all)")
    ap.add_argument("--init", help="initial params from a safetensors file (nngc run --seed S --train 0 --save F)")
    ap.add_argument("--order", help="the examples' order of each epoch (nngc train --dump-order F)")
    ap.add_argument("--trace", action="store_true", help="print the loss of every step")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    lines = read_lines(a.train)
    if a.max_lines:
        lines = lines[: a.max_lines]
    ids = build_vocab(lines, a.V)
    train = examples(lines, ids)
    valid = examples(read_lines(a.valid), ids)
    model = RNNLM(a.V, seed=a.seed)
    if a.init:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_bench import read_safetensors  # noqa: E402 (numpy arrays by name)
        init = read_safetensors(a.init)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.from_numpy(init[name].copy()))
    given = read_order(a.order) if a.order else {}
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    rng = random.Random(a.seed)
    print(f"torch {torch.__version__}: {len(train)} training lines, vocabulary {len(ids)}, "
          f"valid ppl {math.exp(evaluate(model, valid)):.2f} (initial)", flush=True)
    for ep in range(1, a.epochs + 1):
        order = train[:]
        rng.shuffle(order)
        if ep in given:
            order = [train[i] for i in given[ep]]
        t0 = time.time()
        total, words = 0.0, 0
        for step, (w, lens) in enumerate(batches(order, a.batch)):
            opt.zero_grad(set_to_none=False)
            loss, k = model(w, lens)
            loss.backward()
            opt.step()
            total += float(loss)
            words += k
            if a.trace:
                print(f"step {step + 1} loss {float(loss):.6f} words {k} mean {total / words:.4f}", flush=True)
        secs = time.time() - t0
        v = evaluate(model, valid)
        print(f"epoch {ep} train_ppl {math.exp(total / words):.2f} valid_ppl {math.exp(v):.2f} "
              f"words/s {words / secs:.0f} secs {secs:.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
