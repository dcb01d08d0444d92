#!/usr/bin/env python3
"""bench/scale.py - the compiler's own time and memory against the size of
unusual programs: generates each kind of stress program at sizes n, 2n, 4n,
8n, compiles it to C (`nngc -O2 P.nn -o P.c`) and prints its CPU seconds
(user + system: less noisy than the wall clock on a shared machine), its
peak memory and the growth from one size to the next.

    python3 bench/scale.py                 every kind, its default n
    python3 bench/scale.py body loss -n 500 -s 4
    python3 bench/scale.py --gen body 1000 >p.nn      one program, no timing
    python3 bench/scale.py --list

Growth: the time ratio from one size to the next (2 for linear, 4 for
quadratic; below 0.1 s the numbers are noise). A crash (a signal, not the
status 1 of a diagnostic) is reported as such. Extra nngc arguments go
after `--` (`-- --dump-ir=all`, `-- -O0`). Environment: NNGC (default
build/nngc).
"""
import os
import subprocess
import sys
import tempfile
import time

HEAD = "dim H = 8\nparam W : [H, H]\nparam U : [H, H]\ninput x : [H]\n"


def straight(n):
    """n chained statements at the top level"""
    return HEAD + "h = x\n" + "h = tanh(W @ h)\n" * n + "output h\n"


def straight_train(n):
    """the same, trained (autodiff)"""
    return HEAD + "h = x\n" + "h = tanh(W @ h)\n" * n + "loss += sum(h)\n"


def body_src(n, train):
    s = ["dim T max 10", "dim D = 8", "param W : [D, D]", "param U : [D, D]", "input x : [T, D]",
         "h = zeros([D])", "for t in 0..T {", "  a0 = W @ x[t]"]
    s += ["  a%d = tanh(U @ a%d + x[t])" % (i, i - 1) for i in range(1, n)]
    s += ["  h = tanh(a%d + U @ h)" % (n - 1), "}"]
    s.append("loss += sum(h)" if train else "output h")
    return "\n".join(s) + "\n"


def body(n):
    """a loop body of n statements (one carry)"""
    return body_src(n, False)


def body_train(n):
    """the same, trained"""
    return body_src(n, True)


def indep_body(n):
    """a loop body of n independent products, each stacked (hK[t] = ...)"""
    s = ["dim T max 10", "param W : [8, 8]", "input x : [T, 8]", "for t in 0..T {"]
    s += ["  h%d[t] = tanh(W @ x[t] + %d.0)" % (i, i) for i in range(n)]
    s += ["}"] + ["output h%d" % i for i in range(0, n, max(1, n // 8))]
    return "\n".join(s) + "\n"


def carries(n):
    """a loop with n carried values, trained"""
    s = ["dim T max 10", "param W : [8, 8]", "input x : [T, 8]"]
    s += ["c%d = zeros([8])" % i for i in range(n)]
    s += ["for t in 0..T {"]
    s += ["  c%d = tanh(W @ c%d + x[t])" % (i, (i + 1) % n) for i in range(n)]
    s += ["}", "loss += sum(c0)"]
    return "\n".join(s) + "\n"


def loss_terms(n):
    """n cross_entropy terms of one loop, trained"""
    s = ["dim V = 50", "dim T max 10", "param E : [V, 8]", "param Wo : [V, 8]", "input w : int[T + %d]" % n,
         "for t in 0..T {", "  e = E[w[t]]"]
    s += ["  loss += cross_entropy(Wo @ e + %d.0, w[t + %d])" % (i, i + 1) for i in range(n)]
    s += ["}"]
    return "\n".join(s) + "\n"


def softmaxes(n):
    """n softmaxes at the top level, each an output"""
    s = ["param W : [8, 8]", "input x : [8]"]
    s += ["p%d = softmax(W @ x + %d.0)" % (i, i) for i in range(n)]
    s += ["output p%d" % i for i in range(n)]
    return "\n".join(s) + "\n"


def decls(n):
    """n params, n inputs, n outputs, trained"""
    s = ["param W%d : [4, 4]" % i for i in range(n)]
    s += ["input x%d : [4]" % i for i in range(n)]
    s += ["o%d = tanh(W%d @ x%d)" % (i, i, i) for i in range(n)]
    s += ["loss += sum(o%d)" % i for i in range(n)]
    s += ["output o%d" % i for i in range(n)]
    return "\n".join(s) + "\n"


def long_sum(n):
    """one expression of n terms: x + x*1.0 + x*2.0 + ... (left-nested)"""
    return HEAD + "h = x" + "".join(" + x * %d.0" % i for i in range(1, n)) + "\noutput h\n"


def deep_call(n):
    """tanh(tanh(...(x))) n deep (the parser's nesting limit is 200)"""
    return HEAD + "h = " + "tanh(" * n + "x" + ")" * n + "\noutput h\n"


def elementwise(n):
    """n elementwise statements (one fused chain)"""
    s = [HEAD, "h = W @ x"]
    s += ["h = h * %d.5 + sigmoid(h) - x" % (i % 7) for i in range(n)]
    s += ["loss += sum(h * h)", "output h"]
    return "\n".join(s) + "\n"


def defs(n):
    """n defs, each called twice (by the next def and at the top)"""
    s = [HEAD, "def f0(a) { return tanh(W @ a) }"]
    s += ["def f%d(a) {\n  b = f%d(a) + U @ a\n  return sigmoid(b)\n}" % (i, i - 1) if i % 50 else
          "def f%d(a) { return tanh(W @ a) }" % i for i in range(1, n)]
    s += ["h = x"] + ["h = f%d(h)" % i for i in range(n)]
    s += ["loss += sum(h)", "output h"]
    return "\n".join(s) + "\n"


def loops_src(n, train):
    s = ["dim T max 10", "param W : [8, 8]", "input x : [T, 8]", "h = zeros([8])"]
    for i in range(n):
        s += ["for t in 0..T {", "  h = tanh(W @ h + x[t])", "  loss += sum(h)" if train else "  y%d[t] = h" % i, "}"]
    s += [] if train else ["output h"] + ["output y%d" % i for i in range(0, n, max(1, n // 8))]
    return "\n".join(s) + "\n"


def loops(n):
    """n loops one after the other, each feeding the next, trained"""
    return loops_src(n, True)


def loops_fwd(n):
    """the same, not trained (each stacks its values; a few are outputs)"""
    return loops_src(n, False)


def nested(n):
    """loops nested n deep (the parser's limit is 200 levels), trained"""
    s = ["dim T max 3", "param W : [8, 8]", "input x : [T, 8]", "h = zeros([8])"]
    s += ["for t%d in 0..T {" % i for i in range(n)]
    s += ["h = tanh(W @ h + x[t%d])" % (n - 1), "loss += sum(h)"]
    s += ["}"] * n
    return "\n".join(s) + "\n"


KINDS = {
    # name: (generator, default n)
    "straight": (straight, 20000),
    "straight_train": (straight_train, 5000),
    "body": (body, 1000),
    "body_train": (body_train, 1000),
    "indep_body": (indep_body, 500),
    "carries": (carries, 200),
    "loss_terms": (loss_terms, 200),
    "softmaxes": (softmaxes, 1000),
    "decls": (decls, 500),
    "long_sum": (long_sum, 5000),
    "deep_call": (deep_call, 25),
    "elementwise": (elementwise, 1000),
    "defs": (defs, 200),
    "loops": (loops, 200),
    "loops_fwd": (loops_fwd, 400),
    "nested": (nested, 20),
}


def program(kind, n):
    return "model stress\n" + KINDS[kind][0](n)


def run(nngc, src, extra, tmo):
    """compiles src; returns (seconds, peak KB, status text)"""
    with tempfile.TemporaryDirectory(prefix="nngc-scale.") as d:
        p = os.path.join(d, "p.nn")
        with open(p, "w") as f:
            f.write(src)
        t0 = time.monotonic()
        with open(os.path.join(d, "err"), "w+") as err:
            pr = subprocess.Popen([nngc, "-O2", *extra, p, "-o", os.path.join(d, "p.c")], stdout=subprocess.DEVNULL,
                                  stderr=err)
            while True:  # wait4: this child's own peak memory
                pid, status, ru = os.wait4(pr.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - t0 > tmo:
                    pr.kill()
                    pr.wait()
                    return time.monotonic() - t0, 0, "timeout"
                time.sleep(0.01)
            secs, kb = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
            rc = os.waitstatus_to_exitcode(status)
            err.seek(0)
            msg = err.read().strip().splitlines()
        if rc < 0:
            st = "CRASH (signal %d)" % -rc
        elif rc:
            st = "status %d: %s" % (rc, (msg or [""])[0][:70])
        else:
            st = "ok"
        return secs, kb, st


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    if argv[:1] == ["--list"]:
        for k, (f, n) in KINDS.items():
            print("%-15s n=%-6d %s" % (k, n, f.__doc__))
        return 0
    if argv[:1] == ["--gen"]:
        sys.stdout.write(program(argv[1], int(argv[2])))
        return 0
    n0, steps, tmo, kinds = None, 4, 300, []
    i = 0
    while i < len(argv):
        if argv[i] == "-n":
            n0 = int(argv[i + 1]); i += 2
        elif argv[i] == "-s":
            steps = int(argv[i + 1]); i += 2
        elif argv[i] == "-t":
            tmo = float(argv[i + 1]); i += 2
        else:
            kinds.append(argv[i]); i += 1
    nngc = os.environ.get("NNGC", "build/nngc")
    print("%-15s %7s %9s %8s %6s  %s" % ("kind", "n", "cpu_s", "peak_mb", "growth", "status"))
    for kind in kinds or KINDS:
        n, prev = n0 or KINDS[kind][1], None
        for _ in range(steps):
            secs, kb, st = run(nngc, program(kind, n), extra, tmo)
            growth = "%.1f" % (secs / prev) if prev and prev > 0.05 else "-"
            print("%-15s %7d %9.2f %8s %6s  %s" % (kind, n, secs, "%.0f" % (kb / 1024) if kb else "-", growth, st),
                  flush=True)
            if st != "ok":
                break
            prev, n = secs, 2 * n
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
