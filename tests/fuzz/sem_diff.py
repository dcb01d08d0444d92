#!/usr/bin/env python3
"""sem_diff.py SEED COUNT [options] - differential testing of nngc's semantics.

Generates COUNT random well-typed programs (seeded by SEED; program i has
its own seed SEED * 100003 + i, so one program can be replayed alone with
--only I) over much of the language: loops from 0 or 1 to T or T - 1,
the last step (T - 1..T), the sentence again after itself (T..2 * T),
a stack as a later loop's carry,
loops over a static dim, nested loops, loop-carried values, accumulators,
stacked writes read back after the loop, int index arithmetic (ids[t] + 1,
T - 1 - t), lookups (one id, a vector of ids), matrix products in every
form, the elementwise and reduction builtins (the log of a probability
written out: log(1 - sigmoid(x)), log(1 + exp(x)), 1 / (1 + exp(-x)),
exp(v) / sum(exp(v)),
log(sum(exp(z))) - z[y]), softmax / log_softmax /
cross_entropy on vectors and matrices (labels per example or the same
for all), one word's log_softmax, binary_cross_entropy, concat,
transpose, defs (local and from the stdlib) and float scalar inputs. Each
program is run with `nngc run --params P --grads --out` on fixed inputs
and params written here, and compared by the modes asked for (--modes,
default all):

  opt    -O0, -O1 and -O2 agree: every output, the loss, every gradient
  cuda   the C target (-O2) against the CUDA target under the emulation
         (NNGC_CUDA_EMULATE=1), a fraction of the programs (--cuda-frac)
         because the emulation is slow
  fd     the gradients (-O2) against central finite differences of the
         loss: for two params the loss reads, the directional derivative
         along a random direction of that param (and one along all params
         at once)
         against (L(p + h u) - L(p - h u)) / 2h, h = 1e-2, then 3e-3 and
         3e-2; agreement within 2e-2 relative (plus the float32 rounding
         of the loss over 2h) at any step passes. When no step agrees and
         the differences at the steps disagree with each other by more
         than the tolerance, the loss is not smooth there (a relu or abs
         kink, a softmax saturating within h): counted as skipped, not
         as a failure
  batch  nngc run --batch=B on B examples (tests/batch/check.py) against
         B one-example runs (the generator draws only what --batch
         takes: stacks read by rows or whole, concat along T), a third
         of them under a softmax method that draws nothing (class,
         hier, binary, embed); one that the batch stage still rejects
         is counted as skipped
  predict
         nngc run --predict (NAME_predict, docs/API.md "Prediction") at
         -O0, -O1 and -O2 under a softmax method drawn per program (full,
         the sampling methods, class:c=N, hier, binary, its ecc and
         hybrid, embed; class and hier with --counts half the time): the
         words printed, their number (the positions) and order, must be
         the same at every level. For the exact softmax and the sampling
         methods (decoded as it), when the program's one cross_entropy is
         a whole loss term at the top level or in a top-level loop, also
         against a reference: the same program with the logits written
         to an output zq (zq[t] = Z in the loop), run at -O0, and the
         argmax of each row (a near tie, within 1e-5, either way). The
         other methods have no such reference here (their distributions
         are the runtime decoders' to compute, and the program has no
         output of them): tests/predict/ checks those against the
         forward graph's loss. A program NAME_predict refuses at -O0
         (no cross_entropy, more than one term, logits it cannot decode,
         a method --softmax cannot lower there, --counts for a model
         without class or hier), or at -O1/-O2 for the decoding point in
         a parallel task (pass par), is counted as skipped; any other
         refusal at -O1 or -O2 where -O0 predicts is a failure

A third of the programs also train 3 steps (sgd, adam, adagrad or lazy
adam, chosen at random) at -O2 and are compared after them with -O0 (opt)
and the CUDA target (cuda; not lazy adam, which CUDA does not have).

Tolerance for opt and cuda: |a - b| <= 1e-4 max(|a|, |b|) + 1e-5 per
element (the float order of a fused or batched product differs from the
unfused one's); after training 1e-3 and 1e-4 (adam's first steps move
every param by about lr whatever the gradient's size, so a gradient of
1e-7 against 0 becomes a visible difference); after adam or adagrad
not compared at all where an element of the gradients before training
agreed by the 1e-5 alone, off by more than a tenth (float noise around
a gradient that is 0, which such a step turns into about lr: -O0 and -O2
differed by 0.1 after adagrad:lr=0.1, seed 10000 program 25). Prints each failing program with the failing comparison,
and at the end one line per mode: programs compared clean, failures,
skipped. Exit status 1 when anything failed. Pure Python (tests/npyio.py
reads and writes the .npy files), no NumPy needed.

  --modes opt,cuda,fd,batch,predict   --cuda-frac F (0.2)   --fd-frac F (0.5)
  --batch-frac F (0.3)   --only I   --keep DIR (write each program there)
  --softmax SPEC (the predict mode's method for every program, instead of
  one drawn)   -v (print every program)   -h, --help (this text)

A bad command line (a missing or non-numeric SEED or COUNT, an unknown
option or mode) prints the synopsis and exits 2.

    sem_diff.py --file PROG.nn [--modes ...] [--seed N]

runs every mode asked for on PROG.nn, a program over (some of) the
declarations the generator uses (the params and inputs, same shapes), with the
inputs and params of seed N (default 1): how the test suites replay a
program this tool found (tests/cuda/diff/, tests/opt/diff/, ...).
"""
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from npyio import read_npy, write_npy, write_safetensors  # noqa: E402

NNGC = os.environ.get("NNGC", os.path.join(ROOT, "build", "nngc"))
CHECK_BATCH = os.path.join(ROOT, "tests", "batch", "check.py")
BATCH_SOFTMAX = ("class:c=3", "hier", "binary", "embed")   # (batch: methods that draw nothing)

D, C, TMAX = 4, 12, 5        # dims of every program; ids are in 0..NIDS-1
NIDS = 10                    # so ids[t] + 2 still indexes a [C, ...] table
PARAMS = {"W": [D, D], "U": [D, D], "V": [D], "E": [C, D], "Wo": [C, D], "P": [D, 2 * D]}
SMAX = 4                     # a second dynamic dim, S: zs : [S, D] (declared where used)
INPUTS = {"xs": ("f", "[T, D]"), "ids": ("i", "int[T]"), "x": ("f", "[D]"),
          "y": ("i", "int"), "s": ("f", "float"), "zs": ("f", "[S, D]")}


# vector expressions of one operand, by the generator's choice k
UNARY = {10: "-%s", 11: "tanh(%s)", 12: "tanh(%s)", 13: "sigmoid(%s)", 14: "relu(%s)", 15: "exp(tanh(%s))",
         16: "log(sigmoid(%s))", 17: "sqrt(sigmoid(%s) + 0.1)", 18: "softmax(%s)", 19: "log_softmax(%s)"}

class Gen:
    """One random program. vec/mat/sca build expressions of shape [D],
    [T, D] (or [T + k, D]) and []; the statement builders keep track of
    the names bound so far (self.vecs) and of the loop variable in scope."""

    def __init__(self, rng):
        self.r = rng
        self.zs = False   # zs : [S, D] used (dim S declared)
        self.defs = []
        self.lines = []
        self.nn = False        # import "nn" used
        self.n = 0

    def fresh(self, base):
        self.n += 1
        return "%s%d" % (base, self.n)

    def ch(self, *xs):
        return self.r.choice(xs)

    # leaves of shape [D]: names bound, params, inputs, rows picked by the
    # loop variable and by int arithmetic on it
    def vleaf(self, env):
        c = list(env["vecs"]) * 2 + ["x", "V", "E[y]", "W[y - y]"]
        t = env.get("t")
        if t:
            c += ["xs[%s]" % t, "E[ids[%s]]" % t, "E[ids[%s] + 2]" % t, "Wo[%s + 1]" % t]
            c += ["xs[T - 1 - %s]" % t, "E[ids[T - 1 - %s]]" % t]
            if env.get("tnext"):
                c += ["xs[%s + 1]" % t]
        if t and env.get("thi") == "T":
            c += ["%s[%s]" % (hs, t) for hs in env.get("hs", [])]
            c += ["%s[T - 1 - %s]" % (hs, t) for hs in env.get("hs", [])]
        if env.get("k"):
            c += ["W[%s]" % env["k"], "E[2 * %s + 1]" % env["k"]]
        return self.r.choice(c)

    def vec(self, d, env):
        if d <= 0 or self.r.random() < 0.25:
            return self.vleaf(env)
        a = lambda: self.vec(d - 1, env)
        k = self.r.randrange(34)
        if k < 3:
            return "W @ %s" % a()
        if k == 3:
            return "transpose(U) @ %s" % a()
        if k == 4:
            return "(%s @ U)" % a()  # (in parentheses: x @ (v @ U), not (x @ v) @ U)
        if k in (5, 6):
            return "(%s + %s)" % (a(), a())
        if k == 7:
            return "(%s - %s)" % (a(), a())
        if k == 8:
            return "(%s * %s)" % (a(), a())
        if k == 9:
            return "(%s / (abs(%s) + 1))" % (a(), a())
        if k in UNARY:
            return UNARY[k] % a()
        if k == 20:
            return "(%s * %s)" % (a(), self.ch("0.5", "s", "sum(%s)" % a(), "dot(%s, %s)" % (a(), a())))
        if k == 21:
            return "(1 - %s)" % a()
        if k == 22:
            return "P @ concat(%s, %s)" % (a(), a())
        if k == 23:   # (a sequence read whole: under --batch also read by rows in a loop, batch-major)
            return "%s(%s, 0)" % (self.ch("sum", "mean"), self.mat(d - 1, env))
        if k == 24:
            return "(%s * %s)" % (a(), self.sca(d - 1, env))
        if k == 25:   # (the log of a probability written out: the front end's log_sigmoid)
            return self.ch("abs(%s)", "abs(%s)", "log(1 - sigmoid(%s))", "log(1 + exp(%s))",
                           "(1 / (1 + exp(-%s)))") % a()
        if k == 26:
            self.nn = True
            return self.ch("silu(%s)", "softplus(%s)") % a()
        if k == 27:
            self.nn = True
            return "rnn_cell(W, U, V, %s, %s)" % (a(), a())
        if k == 28:
            self.nn = True
            return "layer_norm(%s, V, %s)" % (a(), self.vleaf(env))
        if k == 29:
            self.nn = True
            return "gru_cell(W, U, V, U, W, V, W, U, V, %s, %s)" % (a(), a())
        if k == 30:
            return "%s(%s)" % (self.newdef(), a())
        if k == 31:
            return "transpose(%s) @ %s" % (self.ch("W", "U"), a())
        if k == 32 and self.r.random() < 0.5:
            m = self.mat(d - 1, env)
            # attention (--batch masks the softmax and the sum along T), over
            # the sequence or a concat along T: [2 T, D], [T + D, D] (a
            # start block), [D + T, D] (--batch: an example's rows, then its
            # padding)
            c = self.ch("%s" % m, "concat(%s, %s)" % (m, self.mat(d - 1, env)),
                        "concat(%s, %s)" % (m, self.ch("W", "U")), "concat(%s, %s)" % (self.ch("W", "E"), m))
            return self.ch("transpose(%s) @ softmax(%s @ %s)" % (c, c, a()),
                           "%s(%s, 0)" % (self.ch("sum", "mean"), c))
        if k == 32:
            return "(%s + %s)" % (a(), self.ch("1", "-0.25", "s"))
        return "%s @ %s" % (self.ch("W", "U"), a())

    def newdef(self):
        name = self.fresh("f")
        body = self.r.choice([
            "{ z = A @ v; return tanh(z) + v }",
            "{ return sigmoid(v) * v }",
            "{ a = v * v\n  b = a + 1\n  return v / b }",
            "{ return softmax(A @ v + v) }",
            "{ e = exp(v)\n  return e / sum(e) }",
        ])
        if "A" in body:
            self.defs.append("def %s(v) %s" % (name, body.replace("A", "W")))
        else:
            self.defs.append("def %s(v) %s" % (name, body))
        return name

    # [T, D] values (a whole sequence), summed or averaged along T by the
    # caller (k 23)
    def mat(self, d, env):
        c = ["xs", "E[ids]", "xs @ transpose(W)", "tanh(xs)", "softmax(xs)", "log_softmax(E[ids])"]
        if self.r.random() < 0.1:   # (cross attention over zs : [S, D], a second dynamic dim)
            c.append("softmax(E[ids] @ transpose(zs)) @ zs")
        if env.get("hs"):   # (a stack read whole: --batch reads its batch-major view)
            c += [h for h in env["hs"]]
        m = self.r.choice(c)
        if d > 0 and self.r.random() < 0.5:
            t = ["tanh(%s)", "(%s + %s)" % ("%s", self.vleaf(env)), "(%s * %s)" % ("%s", m), "relu(%s)", "%s @ U",
                 "sigmoid(%s)", "softmax(%s @ transpose(%s)) @ %s" % ("%s", m, m),
                 "tanh(%s @ (W @ transpose(%s))) @ %s" % ("%s", m, m),
                 "softmax(%s @ transpose(zs @ W)) @ tanh(zs)"]   # (cross attention over zs: two dynamic dims)
            m = self.r.choice(t) % m
        self.zs |= "zs" in m
        return m

    def sca(self, d, env):
        a = lambda: self.vec(max(d - 1, 0), env)
        t = env.get("t")
        c = ["dot(%s, %s)" % (a(), a()), "sum(%s)" % a(), "mean(%s)" % a(),
             "sum(log_softmax(%s))" % a(), "binary_cross_entropy(%s, sigmoid(%s))" % (a(), a()),
             "(%s)[%s]" % (a(), self.ch("0", "3", "y - y")), "(%s @ %s)" % (a(), a()),
             "cross_entropy(Wo @ %s, y)" % a()]
        if t:
            c += ["cross_entropy(Wo @ %s, ids[%s])" % (a(), t)]
        # a label the same for every example (--batch: each example's), one
        # word's log-probability (--batch: the IR's pick, which --softmax lowers)
        c += ["cross_entropy(Wo @ %s, %s)" % (a(), self.ch("0", t or "1")),
              "log_softmax(Wo @ %s)[%s]" % (a(), self.ch("y", "2", t or "0"))]
        # the softmax and the cross entropy written with exp, sum and log
        # (the front end's softmax, logsumexp and cross_entropy)
        z, w = "Wo @ %s" % a(), self.ch("y", "2", t or "0")
        c += [self.ch("log(sum(exp(%s))) - (%s)[%s]" % (z, z, w), "-log((exp(%s) / sum(exp(%s)))[%s])" % (z, z, w),
                      "log(sum(exp(%s)))" % a())]
        c += ["dot(%s(%s, 1), softmax(%s(%s, -1)))" % (self.ch("sum", "mean"), self.mat(d, env),
                                                       self.ch("sum", "mean"), self.mat(d, env))]
        c += ["sum(%s)" % self.mat(d, env), "sum(cross_entropy(%s @ transpose(Wo), ids))" % self.mat(d, env)]
        self.nn = True if self.r.random() < 0.2 else self.nn
        if self.nn:
            c += ["mse(%s, %s)" % (a(), a()), "l2(%s)" % a(), "cosine(%s, %s)" % (a(), a())]
        return self.r.choice(c)

    def loop(self, env, depth):
        """A for loop at the top level (depth 0) or nested (depth 1)."""
        r = self.r
        ind = "  " * (depth + 1)
        kind = r.randrange(6) if depth == 0 else r.choice([0, 3, 4])
        if kind == 3 and depth == 0 and r.random() < 0.5:
            v, rng_ = self.fresh("k"), "0..D"
            inner = dict(env, k=v, vecs=list(env["vecs"]))
        elif kind == 5:
            # the sentence again after itself, T..2 T: a start and a number
            # of steps that grow with T (--batch: each example's own, masked);
            # the body reads rows t - T
            v = self.fresh("t")
            rng_ = "T..2 * T"
            inner = dict(env, t="(%s - T)" % v, tnext=False, thi="T", vecs=list(env["vecs"]))
        else:
            v = self.fresh("t")
            # (kind 4: the last step, a start at a dynamic dim: --batch runs
            # it from each example's own start)
            lo, hi = [("0", "T"), ("1", "T"), ("0", "T - 1"), ("0", "T"), ("T - 1", "T")][kind]
            rng_ = "%s..%s" % (lo, hi)
            inner = dict(env, t=v, tnext=hi == "T - 1", thi=hi, vecs=list(env["vecs"]))
        self.lines.append("%sfor %s in %s {" % ("  " * depth, v, rng_))
        carried = [h for h in env["vecs"] if r.random() < 0.5]
        loc = self.fresh("a")
        self.lines.append("%s%s = %s" % (ind, loc, self.vec(2, inner)))
        inner["vecs"].append(loc)
        for h in carried:
            self.lines.append(ind + r.choice(["%s = tanh(%s)" % (h, "%s"), "%s = %s + %s" % (h, h, "%s"),
                                              "%s = %s * sigmoid(%s)" % (h, h, "%s")]) % self.vec(2, inner))
        for acc in env["accs"]:
            if r.random() < 0.6:
                self.lines.append("%s%s += %s" % (ind, acc, self.vec(1, inner)))
        self.lines.append("%sloss += %s" % (ind, self.sca(2, inner)))
        if depth == 0 and r.random() < 0.3:   # (--batch: a loop inside the loop reads both loops' masks)
            self.loop(inner, 1)
        if depth == 0 and "t" in inner and r.random() < 0.4:
            hs = self.fresh("hs")
            self.lines.append("%s%s[%s] = %s" % (ind, hs, v, self.vec(1, inner)))
            env.setdefault("stacked", []).append((hs, rng_))
            if rng_.endswith("T"):
                env.setdefault("hs", []).append(hs)
        self.lines.append("  " * depth + "}")

    def program(self):
        r = self.r
        env = {"vecs": [], "accs": []}
        body = self.lines
        for _ in range(r.randint(0, 2)):
            h = self.fresh("h")
            body.append("%s = %s" % (h, r.choice(["zeros([D])", "V", "tanh(W @ x)", self.vec(1, env)])))
            env["vecs"].append(h)
        for _ in range(r.randint(0, 1)):
            acc = self.fresh("acc")
            body.append("%s = %s" % (acc, r.choice(["zeros([D])", "x", "V * 2"])))
            env["accs"].append(acc)
        if r.random() < 0.3:
            body.append("loss += %s" % self.sca(2, env))
        for _ in range(r.randint(1, 2)):
            self.loop(env, 0)
        # after the loops: the carried values, accumulators and stacked
        # tensors are read; stacked rows before lo are zero, those of T - 1
        # loops have one row less
        env["vecs"] += env["accs"]
        outs = list(env["vecs"])
        for hs, rng_ in env.get("stacked", []):
            body.append("loss += sum(%s(%s, 0) * %s)" % (r.choice(["sum", "mean"]), hs, self.vleaf(env)))
            outs.append(hs)
        if env.get("hs") and r.random() < 0.3:
            # a stack as a loop's carry (layers over the sequence) and sum
            hs, m, k, acc = r.choice(env["hs"]), self.fresh("m"), self.fresh("k"), self.fresh("acc")
            body += ["%s = %s" % (m, hs), "%s = %s * 0.5" % (acc, hs), "for %s in 0..2 {" % k,
                     "  %s = tanh(%s @ %s) + %s" % (m, m, r.choice(["U", "transpose(W)"]), hs),
                     "  %s += %s" % (acc, r.choice([m, hs])), "}",
                     "loss += sum(%s(%s, 0) * %s) + sum(%s)" % (r.choice(["sum", "mean"]), m, self.vleaf(env), acc)]
        if r.random() < 0.5:
            z = self.fresh("z")
            body.append("%s = %s" % (z, self.vec(2, env)))
            outs.append(z)
            env["vecs"].append(z)
        body.append("loss += %s" % self.sca(1, env))
        outs = [o for o in outs if r.random() < 0.7]
        head = ["model fz"] + (['import "nn"'] if self.nn else []) + [
            "dim D = %d" % D, "dim C = %d" % C, "dim T max %d" % TMAX] + (["dim S max %d" % SMAX] if self.zs else [])
        head += ["param %s : [%s]" % (p, ", ".join(
            {D: "D", C: "C", 2 * D: "2 * D"}[s] for s in shp)) for p, shp in PARAMS.items()]
        head += ["input %s : %s" % (n, t) for n, (_, t) in INPUTS.items() if n != "zs" or self.zs]
        if outs:
            head.append("output " + ", ".join(outs))
        return "\n".join(head + self.defs + body) + "\n"


# ---- files: params (safetensors), inputs (npy) ----


def prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def dim_max(src, name, default):
    """The max of dynamic dim NAME as src declares it (a --file's own), or default."""
    m = re.search(r"^dim %s max (\d+)" % name, src, re.M)
    return min(int(m.group(1)), default) if m else default


class Runner:
    def __init__(self, work, rng, src=""):
        self.w = work
        T = rng.randint(min(2, dim_max(src, "T", TMAX)), dim_max(src, "T", TMAX))
        self.feeds = []
        vals = {"xs": ("f", [T, D], [rng.gauss(0, 1) for _ in range(T * D)]),
                "ids": ("i", [T], [rng.randrange(NIDS) for _ in range(T)]),
                "x": ("f", [D], [rng.gauss(0, 1) for _ in range(D)]),
                "y": ("i", [], [rng.randrange(NIDS)]),
                "s": ("f", [], [rng.uniform(-1, 1)])}
        S = rng.randint(1, dim_max(src, "S", SMAX))
        vals["zs"] = ("f", [S, D], [rng.gauss(0, 1) for _ in range(S * D)])
        for name, (code, shape, v) in vals.items():
            p = "%s/%s.npy" % (work, name)
            write_npy(p, code, shape, v)
            self.feeds += ["--input", "%s=%s" % (name, p)]
        self.params = {p: (shp, [f32(rng.gauss(0, 0.5)) for _ in range(prod(shp))]) for p, shp in PARAMS.items()}
        self.n = 0

    def only_declared(self, src):
        """Feeds and params of the names src declares alone (a --file
        program may leave some out)."""
        params = re.findall(r"^param (\w+)", src, re.M)
        inputs = re.findall(r"^input (\w+)", src, re.M)
        self.params = {p: v for p, v in self.params.items() if p in params}
        self.feeds = [a for k in range(0, len(self.feeds), 2) for a in self.feeds[k:k + 2]
                      if self.feeds[k + 1].split("=")[0] in inputs]

    def run(self, model, args, params=None, env=None, grads=True):
        """nngc run; returns ({'o/NAME' or 'g/NAME': values}, None) or
        (None, error text)."""
        self.n += 1
        d = "%s/r%d" % (self.w, self.n)
        pf = d + ".safetensors"
        write_safetensors(pf, params or self.params)
        cmd = [NNGC, "run", model, "--params", pf, "--out", d + "/o"] + self.feeds + args
        if grads:
            cmd += ["--grads", d + "/g"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, **(env or {})))
        except subprocess.TimeoutExpired:
            return None, "timeout: " + " ".join(cmd)
        if p.returncode != 0:
            return None, "exit %d: %s\n%s" % (p.returncode, " ".join(cmd[3:]), (p.stdout + p.stderr)[-1500:])
        res = {}
        for sub in ("o", "g"):
            if os.path.isdir(d + "/" + sub):
                for f in os.listdir(d + "/" + sub):
                    res[sub + "/" + f[:-4]] = read_npy(d + "/" + sub + "/" + f)
        shutil.rmtree(d, ignore_errors=True)
        os.unlink(pf)
        return res, None

    def predict(self, model, args):
        """nngc run --predict; returns (the words printed, None) or (None,
        error text)."""
        self.n += 1
        pf = "%s/r%d.safetensors" % (self.w, self.n)
        write_safetensors(pf, self.params)
        cmd = [NNGC, "run", model, "--params", pf, "--predict"] + self.feeds + args
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return None, "timeout: " + " ".join(cmd)
        finally:
            os.unlink(pf)
        m = re.search(r"^predict \[(\d+)\] =(( \d+)*)$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            errors = [l for l in (p.stdout + p.stderr).split("\n") if "error" in l or "Assert" in l]
            return None, "exit %d: %s\n%s\n%s" % (p.returncode, "\n".join(errors[:5]), " ".join(cmd[3:]),
                                                  (p.stdout + p.stderr)[-1000:])
        words = [int(w) for w in m.group(2).split()]
        if len(words) != int(m.group(1)):
            return None, "predict [%s] printed %d words" % (m.group(1), len(words))
        return words, None


def compare(a, b, rtol=1e-4, atol=1e-5):
    """None when the results agree, else the first difference in words."""
    if sorted(a) != sorted(b):
        return "different files: %s vs %s" % (sorted(a), sorted(b))
    for k in sorted(a):
        (sa, va), (sb, vb) = a[k], b[k]
        if sa != sb:
            return "%s: shape %s vs %s" % (k, sa, sb)
        for i, (x, y) in enumerate(zip(va, vb)):
            if x == y or (math.isnan(x) and math.isnan(y)):  # (inf - inf is nan: equal infinities agree)
                continue
            if not abs(x - y) <= rtol * max(abs(x), abs(y)) + atol:
                return "%s[%d]: %.9g vs %.9g" % (k, i, x, y)
    return None


def noise_grad(a, b):
    """The first gradient element on which a and b (that compare took
    for the same) differ by more than a tenth of the larger, in words, or
    None. They agreed by compare's atol alone: the element is float noise
    around 0 (W's gradient in softmax(mean(xs + W @ v, -1)), where W @ v
    shifts every logit alike, is 7.6e-9 at -O0 and -1.6e-8 at -O2), and
    adam or adagrad step it by about lr whatever its size."""
    for k in sorted(a):
        if k.startswith("g/") and k in b:
            for i, (x, y) in enumerate(zip(a[k][1], b[k][1])):
                if abs(x - y) > 0.1 * max(abs(x), abs(y)):
                    return "%s[%d] (%.3g vs %.3g)" % (k, i, x, y)
    return None


def fd_check(run, model, base, rng):
    """'ok', 'skip: why' or 'FAIL: why' for the gradients of base against
    finite differences along one random direction per param and one along
    all of them."""
    params = run.params
    grads = {k[2:]: v[1] for k, v in base.items() if k.startswith("g/")}
    loss0 = base["o/loss"][1][0]
    used = sorted(p for p in params if any(grads[p]))  # a param the loss does not read: nothing to see
    dirs = [[p] for p in rng.sample(used, min(2, len(used)))] + [sorted(params)]
    skipped = []
    for ps in dirs:
        u = {p: [rng.gauss(0, 1) for _ in params[p][1]] for p in ps}
        norm = math.sqrt(sum(x * x for p in ps for x in u[p]))
        u = {p: [x / norm for x in u[p]] for p in ps}
        an = sum(g * x for p in ps for g, x in zip(grads[p], u[p]))
        fds = []
        ok = False
        for h in (1e-2, 3e-3, 3e-2):
            ls = []
            for sg in (1, -1):
                pp = dict(params)
                for p in ps:
                    pp[p] = (params[p][0], [f32(v + sg * h * x) for v, x in zip(params[p][1], u[p])])
                res, err = run.run(model, [], pp, grads=False)
                if err:
                    return "FAIL: " + err
                ls.append(res["o/loss"][1][0])
            fd = (ls[0] - ls[1]) / (2 * h)
            fds.append(fd)
            # the loss is float32: each of the two values is off by up to
            # about |loss| 2^-24 per rounding, a few hundred roundings
            noise = 300 * 6e-8 * (abs(loss0) + 1) / h
            if abs(fd - an) <= 2e-2 * max(abs(fd), abs(an)) + noise + 1e-5:
                ok = True
                break
        if ok:
            continue
        spread = max(fds) - min(fds)
        if spread > 2e-2 * max(abs(f) for f in fds) + 300 * 6e-8 * (abs(loss0) + 1) / 3e-3:
            skipped.append("%s: fd %s not smooth" % ("+".join(ps), ["%.5g" % f for f in fds]))
            continue
        return "FAIL: d loss along %s: grads say %.7g, finite differences %s" % (
            "+".join(ps), an, ", ".join("%.7g" % f for f in fds))
    return "skip: " + "; ".join(skipped) if skipped else "ok"


# the softmax methods NAME_predict decodes (docs/API.md, "Prediction"), one
# drawn per program by the predict mode (%d: a size drawn with it); the
# exact softmax (and the sampling methods, decoded as it) have a reference
SOFTMAX = ["full", "full", "full", "neg:k=3", "nce:k=2", "sampled:k=3", "class:c=%d", "class:c=%d", "hier",
           "hier", "binary", "binary:ecc=%d", "binary:hybrid=%d", "embed"]
EXACT = ("full", "neg", "nce", "sampled")

# what NAME_predict refuses (docs/API.md, "Prediction") and a method that
# cannot be lowered where it is used (docs/CLI.md, --softmax): skipped
PREDICT_LIMITS = ("has no cross_entropy to predict from", "supports one cross_entropy term",
                  "the logits are not W @ h + b of params", "the decoding point runs in a parallel task",
                  "softmax approximation '", "uses no word counts")


def logits_program(src):
    """For the predict mode's reference: (src with the logits of its one
    cross_entropy also written to an output zq, a row per predicted
    position: zq = Z at the top level, zq[t] = Z in a top-level loop over
    t; the first row that is a position), or None where the cross_entropy
    is not one whole loss term (loss += cross_entropy(Z, y), or loss +=
    sum(cross_entropy(M, ids)) at the top level) outside nested loops."""
    lines = src.split("\n")
    at = [k for k, l in enumerate(lines) if "cross_entropy(" in l]
    m = len(at) == 1 and src.count("cross_entropy(") == 1 and re.match(
        r"( *)loss \+= (sum\()?cross_entropy\((.*)\)$", lines[at[0]])
    if not m:
        return None
    ind, whole, args = m.groups()
    if whole:
        if not args.endswith(")"):
            return None
        args = args[:-1]
    depth, comma = 0, None
    for j, c in enumerate(args):
        depth += (c in "([") - (c in ")]")
        if depth < 0:
            return None
        if c == "," and depth == 0 and comma is None:
            comma = j
    if depth or comma is None:
        return None
    z, lo = args[:comma], 0
    if ind == "":
        lines.insert(at[0], "zq = %s" % z)
    elif ind == "  " and not whole:
        head = [re.match(r"for (\w+) in ([^.]+)\.\.", l) for l in lines[:at[0]]]
        head = [h for h in head if h][-1]
        if not head.group(2).isdigit():   # (from T - 1 or T: zq's rows would be T - 1.., each example's)
            return None
        lines.insert(at[0], "  zq[%s] = %s" % (head.group(1), z))
        lo = int(head.group(2))
    else:
        return None
    outs = [k for k, l in enumerate(lines) if l.startswith("output ")]
    if outs:
        lines[outs[0]] += ", zq"
    else:
        lines.insert(max(k for k, l in enumerate(lines) if l.startswith("input ")) + 1, "output zq")
    return "\n".join(lines), lo


def predict_check(run, model, src, rng, work, softmax=None):
    """'ok', 'skip: why' or 'FAIL: why' for nngc run --predict at -O0, -O1
    and -O2 under a softmax method drawn from rng (softmax: that one; with
    counts for class and hier half the time), and for an exact softmax against the argmax
    of the logits (logits_program, run at -O0)."""
    sm = softmax or rng.choice(SOFTMAX)
    if "%d" in sm:
        sm %= rng.randint(1, 8) if "ecc" in sm else rng.randint(2, C - 1)
    args = ["--softmax=" + sm]
    if sm.startswith(("class", "hier")) and rng.random() < 0.5:
        counts = "%s/counts.npy" % work
        write_npy(counts, "i", [C], [rng.randint(0, 30) for _ in range(C)])
        args += ["--counts=" + counts]
    got = {}
    for lvl in ("-O0", "-O1", "-O2"):
        words, err = run.predict(model, [lvl] + args)
        limit = err and next((why for why in PREDICT_LIMITS if why in err), None)
        if err and limit and (lvl == "-O0" or "parallel task" in limit):
            return "skip: %s %s: %s" % (" ".join(args), lvl, [l for l in err.split("\n") if limit in l][0])
        if err:
            return "FAIL: %s %s (-O0 predicts %s): %s" % (" ".join(args), lvl, got.get("-O0"), err)
        got[lvl] = words
    if got["-O1"] != got["-O0"] or got["-O2"] != got["-O0"]:
        return "FAIL: %s: -O0 predicts %s, -O1 %s, -O2 %s" % (" ".join(args), got["-O0"], got["-O1"], got["-O2"])
    ref = sm.split(":")[0] in EXACT and logits_program(src)
    if not ref:
        return "ok"
    refmodel = model[:-3] + "-logits.nn"
    with open(refmodel, "w") as f:
        f.write(ref[0])
    res, err = run.run(refmodel, ["-O0"], grads=False)
    if err:
        return "FAIL: the program with its logits as output zq: " + err
    shape, v = res["o/zq"]
    n = shape[-1]
    rows = [v[k:k + n] for k in range(0, len(v), n)][ref[1]:]
    if len(rows) != len(got["-O0"]):
        return "FAIL: %s: %d words %s, the logits have %d rows" % (" ".join(args), len(got["-O0"]), got["-O0"],
                                                                      len(rows))
    for k, (w, z) in enumerate(zip(got["-O0"], rows)):
        best = max(range(n), key=lambda j: (z[j], -j))
        if not 0 <= w < n or z[w] < z[best] - 1e-5 * (abs(z[best]) + 1):   # (a near tie: either)
            return "FAIL: %s: position %d is word %d, the argmax of its logits is %d (%.7g vs %.7g)" % (
                " ".join(args), k, w, best, z[w] if 0 <= w < n else float("nan"), z[best])
    return "ok: %d words, the argmax of the logits" % len(rows)


MODES = ("opt", "cuda", "fd", "batch", "predict")


def usage_error(why):
    """A bad command line: the reason and the synopsis on stderr, exit 2."""
    sys.stderr.write("sem_diff.py: %s\nusage: sem_diff.py SEED COUNT [options] | --file PROG.nn "
                     "[options]  (sem_diff.py --help for more)\n" % why)
    sys.exit(2)


def parse_args(argv):
    """(opts, verbose, seed, count) from the command line; --help prints
    the docstring and exits 0, a bad command line exits 2."""
    opts = {"--modes": ",".join(MODES), "--cuda-frac": "0.2", "--fd-frac": "0.5",
            "--batch-frac": "0.3", "--only": None, "--keep": None, "--file": None, "--seed": "1", "--softmax": None}
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        sys.exit(0)
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    pos = []
    while argv:
        a = argv.pop(0)
        if a in opts:
            if not argv:
                usage_error("%s needs a value" % a)
            opts[a] = argv.pop(0)
        elif a.startswith("-") and not re.match(r"-\d+$", a):
            usage_error("unknown option %s" % a)
        else:
            pos.append(a)

    def number(name, text, kind):
        try:
            return kind(text)
        except ValueError:
            usage_error("%s must be a number, not %r" % (name, text))

    for name in ("--cuda-frac", "--fd-frac", "--batch-frac"):
        number(name, opts[name], float)
    if opts["--only"] is not None and number("--only", opts["--only"], int) < 0:
        usage_error("--only must be at least 0")
    bad = [m for m in opts["--modes"].split(",") if m not in MODES]
    if bad:
        usage_error("unknown mode %s (the modes: %s)" % (", ".join(bad), ",".join(MODES)))
    if opts["--file"]:
        if pos:
            usage_error("--file takes no SEED COUNT (the seed is --seed N)")
        if not os.path.isfile(opts["--file"]):
            usage_error("--file %s: no such file" % opts["--file"])
        seed, count = number("--seed", opts["--seed"], int), 1
        for m in ("cuda", "fd", "batch"):
            opts["--%s-frac" % m] = "1"
    else:
        if len(pos) != 2:
            usage_error("expected SEED COUNT, got %d argument%s" % (len(pos), "" if len(pos) == 1 else "s"))
        seed, count = number("SEED", pos[0], int), number("COUNT", pos[1], int)
        if count < 0:
            usage_error("COUNT must be at least 0")
    return opts, verbose, seed, count


def main():
    opts, verbose, seed, count = parse_args(sys.argv[1:])
    modes = opts["--modes"].split(",")
    stats = {m: [0, 0, 0] for m in modes}    # clean, failed, skipped
    gen_errors = 0
    work = tempfile.mkdtemp(prefix="nngc-semdiff-")
    only = int(opts["--only"]) if opts["--only"] is not None else None
    for i in range(count) if only is None else [only]:
        rng = random.Random(seed * 100003 + i)
        do = {m: m in modes for m in modes}
        # (drawn whatever the modes: a program is the same under any --modes)
        drawn = {m: rng.random() < float(opts["--%s-frac" % m]) for m in ("cuda", "fd", "batch")}
        for m in drawn:
            do[m] = drawn[m] and m in modes
        g = Gen(rng)
        src = g.program()
        if opts["--file"]:
            with open(opts["--file"]) as f:
                src = f.read()
        model = "%s/m%d.nn" % (work, i)
        with open(model, "w") as f:
            f.write(src)
        if opts["--keep"]:
            os.makedirs(opts["--keep"], exist_ok=True)
            shutil.copy(model, "%s/p%d_%d.nn" % (opts["--keep"], seed, i))
        if verbose:
            print("---- program %d" % i)
            print(src)
        run = Runner(work, rng, src)
        run.only_declared(src)
        fails = []
        base, err = run.run(model, ["-O2"])
        if err:
            o0, err0 = run.run(model, ["-O0"])
            if err0 and ("error:" in err0 and ".nn:" in err0):
                gen_errors += 1        # the generator's mistake: not well-typed
                if verbose:
                    print("rejected:", err0)
                continue
            fails.append(("opt" if "opt" in modes else modes[0], "-O2 failed, -O0 %s: %s" % (
                "failed too" if err0 else "ran", err)))
        elif not all(math.isfinite(v) for v in base["o/loss"][1]):
            for m in modes:   # (cosine or layer_norm of a zero vector): nothing to compare
                stats[m][2] += do[m]
        else:
            o0 = None
            if do.get("opt"):
                for lvl in ("-O0", "-O1"):
                    res, err = run.run(model, [lvl])
                    o0 = res if lvl == "-O0" else o0
                    why = err or compare(base, res)
                    if why:
                        fails.append(("opt", "%s vs -O2: %s" % (lvl, why)))
                        break
                else:
                    stats["opt"][0] += 1
            # three training steps (the outputs and loss after them), for
            # a third of the programs: each optimizer's update, sparse ones
            # included, at -O0 and -O2 and on the CUDA target
            opt = rng.choice(["sgd:lr=0.1", "adam:lr=0.01", "adagrad:lr=0.1", "adam:lr=0.01,lazy=1"])
            train = ["--train", "3", "--optimizer=" + opt] if rng.random() < 0.35 else None
            tbase = None
            if train and (do.get("opt") or do["cuda"]):
                tbase, err = run.run(model, train, grads=False)
                if err:
                    fails.append(("opt" if do.get("opt") else "cuda", "--train 3: " + err))
            # (adam and adagrad step a gradient of float noise by about lr:
            # no comparison after them where the gradients have one)
            adaptive = not opt.startswith("sgd")
            noise = tbase and adaptive and o0 and noise_grad(base, o0)
            if noise and verbose:
                print("not compared after %s (-O0): gradient %s is noise" % (" ".join(train), noise))
            if tbase and do.get("opt") and not noise:
                res, err = run.run(model, train + ["-O0"], grads=False)
                why = err or compare(tbase, res, 1e-3, 1e-4)
                if why:
                    fails.append(("opt", "-O0 vs -O2 after %s: %s" % (" ".join(train), why)))
            if do["cuda"]:
                env = {"NNGC_CUDA_EMULATE": "1"}
                res, err = run.run(model, ["--target=cuda"], env=env)
                why = err or compare(base, res)
                noise = not why and tbase and adaptive and noise_grad(base, res)
                if noise and verbose:
                    print("not compared after %s (cuda): gradient %s is noise" % (" ".join(train), noise))
                if not why and tbase and "lazy" not in opt and not noise:   # (lazy: no SparseAdam on CUDA)
                    res, err = run.run(model, ["--target=cuda"] + train, env=env, grads=False)
                    why = err or compare(tbase, res, 1e-3, 1e-4)
                    why = why and "after %s: %s" % (" ".join(train), why)
                if why:
                    fails.append(("cuda", "cuda (emulated) vs c: " + why))
                else:
                    stats["cuda"][0] += 1
            if do["fd"]:
                v = fd_check(run, model, base, rng)
                if v.startswith("FAIL"):
                    fails.append(("fd", v))
                elif v.startswith("skip"):
                    stats["fd"][2] += 1
                    if verbose:
                        print(v)
                else:
                    stats["fd"][0] += 1
            if do.get("predict"):
                # (its own draws: the other modes' are the same with or without it)
                v = predict_check(run, model, src, random.Random("predict %d" % (seed * 100003 + i)), work,
                                  opts["--softmax"])
                if v.startswith("FAIL"):
                    fails.append(("predict", "nngc run --predict " + v[6:]))
                else:
                    stats["predict"][0 if v.startswith("ok") else 2] += 1
                    if verbose and v != "ok":
                        print("predict", v)
            if do["batch"]:
                B = rng.randint(2, 4)
                # (a third under a softmax method that draws nothing: batched,
                # one word's log-probabilities and cross entropies lowered as
                # in the one-example program)
                sm = rng.choice(BATCH_SOFTMAX) if rng.random() < 0.3 else None
                cmd = [sys.executable, CHECK_BATCH, NNGC, model, str(B), str(i),
                       "--ids", str(NIDS)] + (["--mean"] if rng.random() < 0.3 else []) + \
                      (["--softmax=" + sm] if sm else [])
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                    out, rc = p.stdout + p.stderr, p.returncode
                except subprocess.TimeoutExpired:   # a failure of this program, not the sweep's end
                    out, rc = "timeout after 600 s: " + " ".join(cmd[1:]), -1
                if rc == 0:
                    stats["batch"][0] += 1
                elif sm and "error: softmax approximation" in out and re.search(r"nngc run failed \(\S+ run \S+ .*/ref\d+/", out):
                    stats["batch"][2] += 1     # (the method's limit in the program as written: nothing to batch)
                    if verbose:
                        print("batch skipped: --softmax=%s: %s" % (sm, out[-300:]))
                elif ("error: --batch:" in out or "expected nan" in out or "expected inf" in out or
                      "cannot differentiate through these nested loops" in out):   # (the batch axis: one too many)
                    stats["batch"][2] += 1
                    if verbose:
                        print("batch skipped:", out[-300:])
                else:
                    fails.append(("batch", "--batch=%d vs one example at a time: %s" % (B, out[-1500:])))
        for m, why in fails:
            stats[m][1] += 1
            print("FAIL %s program %d (seed %d, --only %d): %s" % (m, i, seed, i, why))
            print(src)
        if (i + 1) % 25 == 0:
            print("after %d programs: %s" % (i + 1, "; ".join("%s %d/%d/%d" % (m, *stats[m]) for m in modes)))
        sys.stdout.flush()
    for m in modes:
        print("%-5s %d clean, %d failed, %d skipped" % (m, *stats[m]))
    print("%d programs, %d rejected by the front end (generator's mistakes)" % (
        count if only is None else 1, gen_errors))
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(s[1] for s in stats.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
