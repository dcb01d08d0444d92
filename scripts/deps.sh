#!/bin/sh
# scripts/deps.sh - install what nngc needs to build and test, on Debian 12.
#
#   sh scripts/deps.sh            (as root; does nothing when all is there)
#
# Checks each package with dpkg first and runs apt-get only for the missing
# ones, so it is quick and offline-safe on a machine that is already set up
# (CI runs it before every `make test`). As a normal user it installs
# nothing: it lists what is missing and exits 1.
#
# The tests compare against NumPy-generated fixtures that are checked in, so
# NumPy itself is not needed. gcc brings its sanitizer runtimes (libasan,
# libubsan, libtsan) for `make SANITIZE=...`; clang's libFuzzer and
# sanitizer runtimes (`make fuzz`) are libclang-rt-14-dev, only a
# recommendation of clang, so it is named. Open MPI (libopenmpi-dev,
# openmpi-bin) builds nngc with MPI for `mpirun -np P nngc train`
# (docs/TRAIN.md); tests/partrain runs it.
set -eu

PACKAGES="make gcc clang libclang-rt-14-dev flex bison libcmocka-dev libopenblas-dev pkg-config python3 libopenmpi-dev openmpi-bin"

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not a Debian system: we cannot check packages, only name them.
    echo "deps.sh: no dpkg here; install the equivalents of: $PACKAGES" >&2
    missing_cmd=""
    for c in make cc flex bison pkg-config; do
        command -v "$c" >/dev/null 2>&1 || missing_cmd="$missing_cmd $c"
    done
    if [ -n "$missing_cmd" ]; then
        echo "deps.sh: missing commands:$missing_cmd" >&2
        exit 1
    fi
    exit 0
fi

missing=""
for p in $PACKAGES; do
    # dpkg -s also succeeds for removed-but-configured packages; the status
    # line tells them apart.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps.sh: all build and test dependencies are installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages:$missing" >&2
    echo "deps.sh: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# $missing is a list of words on purpose
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
echo "deps.sh: done"
