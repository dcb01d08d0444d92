#!/bin/sh
# tests/cuda/static_counts.sh STATS: a header for tests/cuda/test_target.cpp
# (-include it) defining STATIC_FORWARD and STATIC_TRAIN from the "device
# code (forward|train)" lines that nngc --target=cuda --stats wrote to
# STATS, for a graph without loops (a line without "per iteration"):
# uploads, downloads, kernel launches, GEMMs, device copies, zero fills;
# STATIC_FORWARD_ZERO_BYTES and STATIC_TRAIN_ZERO_BYTES: the bytes those
# zero fills write at most.
# (A header, not -D: nvcc splits a -D value at its commas.) Used by
# tests/cuda/run.sh and scripts/gpu-check.sh.
sed -n 's/^device code (\(forward\|train\)): per call: \([0-9]*\) uploads, \([0-9]*\) downloads ([^)]*), \([0-9]*\) kernel launches, \([0-9]*\) GEMMs, \([0-9]*\) device copies, \([0-9]*\) zero fills (\([0-9]*\) bytes at most)$/#define STATIC_\1 \2, \3, \4, \5, \6, \7\n#define STATIC_\1_ZERO_BYTES \8/p' "$1" |
    sed 's/STATIC_forward/STATIC_FORWARD/g; s/STATIC_train/STATIC_TRAIN/g'
