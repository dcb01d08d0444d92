#!/usr/bin/python3
"""Independent xoshiro256** / splitmix64 in Python: prints the reference
values pasted into tests/unit/test_rt_rng.c. Rerun to check them:
    /usr/bin/python3 tests/data/rng_reference.py
Follows the reference C code at https://prng.di.unimi.it/.
"""
M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xoshiro(seed):
    s, x = [], seed
    for _ in range(4):
        x, v = splitmix64(x)
        s.append(v)
    while True:
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield result


for seed in (0, 1, 42, 0xFFFFFFFFFFFFFFFF):
    g = xoshiro(seed)
    vals = [next(g) for _ in range(4)]
    print("    {0x%016xull, {%s}}," % (seed, ", ".join("0x%016xull" % v for v in vals)))
# nnrt_rng_double for seed 42, first draw: (next >> 11) * 2^-53
g = xoshiro(42)
print("double seed 42: %.17g" % ((next(g) >> 11) * 2.0**-53))
