#!/bin/sh
# tests/cuda/static_counts.sh STATS: a header for tests/cuda/test_target.cpp
# (-include it) defining STATIC_FORWARD and STATIC_TRAIN from the "device
# code (forward|train)" lines that nngc --target=cuda --stats wrote to
# STATS, for a graph without loops (a line without "per iteration"):
# uploads, downloads, kernel launches, GEMMs, device copies, zero fills.
# (A header, not -D: nvcc splits a -D value at its commas.) Used by
# tests/cuda/run.sh and scripts/gpu-check.sh.
sed -n 's/^device code (\(forward\|train\)): per call: \([0-9]*\) uploads, \([0-9]*\) downloads ([^)]*), \([0-9]*\) kernel launches, \([0-9]*\) GEMMs, \([0-9]*\) device copies, \([0-9]*\) zero fills$/#define STATIC_\1 \2, \3, \4, \5, \6, \7/p' "$1" |
    sed 's/STATIC_forward/STATIC_FORWARD/; s/STATIC_train/STATIC_TRAIN/'
