#!/bin/sh
# tests/cuda/static_counts.sh STATS: the -DSTATIC_FORWARD=... and
# -DSTATIC_TRAIN=... flags of tests/cuda/test_target.cpp from the
# "device code (forward|train)" lines that nngc --target=cuda --stats wrote
# to STATS, for a graph without loops (a line without "per iteration"):
# uploads, downloads, kernel launches, GEMMs, device copies, zero fills.
# Used by tests/cuda/run.sh and scripts/gpu-check.sh.
sed -n 's/^device code (\(forward\|train\)): per call: \([0-9]*\) uploads, \([0-9]*\) downloads ([^)]*), \([0-9]*\) kernel launches, \([0-9]*\) GEMMs, \([0-9]*\) device copies, \([0-9]*\) zero fills$/-DSTATIC_\1=\2,\3,\4,\5,\6,\7/p' "$1" |
    sed 's/STATIC_forward/STATIC_FORWARD/; s/STATIC_train/STATIC_TRAIN/' | tr '\n' ' '
