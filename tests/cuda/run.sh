#!/bin/sh
# tests/cuda/run.sh - the CUDA runtime (runtime/cuda/) without a GPU.
#
#   sh tests/cuda/run.sh        after make; VERBOSE output is the caller's
#
# 1. Host emulation, with every C++ compiler there is (g++, clang++): the
#    runtime's .cu files and the test programs compile as C++17 with
#    -Wall -Wextra -Werror; tests/cuda/test_emu.cpp checks the emulation
#    itself (barriers, thread orders, a missing and a divergent
#    __syncthreads reported), tests/cuda/test_kernels.cpp the kernels and
#    GEMM wrappers against the CPU runtime, tests/cuda/test_rnnlm.cpp
#    examples/rnnlm.nn's forward pass and output-layer gradient written
#    with the runtime against nngc's C for it; tests/cuda/nodevice.c runs with
#    and without an (emulated) device.
# 2. nvcc, when there is one (else one SKIP line, counted as nothing):
#    runtime/cuda/*.cu for sm_80 and sm_90 with -Werror all-warnings and
#    register spills as errors (checked to fail on tests/cuda/spill_probe.cu);
#    the test programs link against cuBLAS and the CUDA runtime; without a
#    CUDA driver nodevice must print the "no CUDA device" error and exit 1.
# Ends with "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# run from `make test`, the builds below are make's own (no jobserver to share)
unset MAKEFLAGS MFLAGS MAKELEVEL
TMO=${TMO:-300}
make_tmp cuda
# A sanitizer build (make SANITIZE=... test sets BUILD): the emulation's
# fibers (makecontext/swapcontext) are not supported under ASan or TSan,
# so this suite runs in the plain `make test` only.
if [ "${BUILD:-build}" != build ]; then
    echo "SKIP - cuda: sanitizer build ($BUILD): the emulation switches stacks (swapcontext), which ASan/TSan do not follow; the plain make test runs this suite"
    echo "$pass passed, $fail failed"
    exit 0
fi
if [ ! -f build/libnngrt.a ]; then
    notok "cuda: build/libnngrt.a exists (run make)"
    echo "$pass passed, $fail failed"
    exit 1
fi

# prog LABEL CMD...: runs a test program, one check per "ok -"/"not ok -"
# line it prints; a crash or a failing exit without a "not ok" is a failure.
prog() {
    label=$1
    shift
    timeout "$TMO" "$@" >"$tmp/out" 2>&1
    st=$?
    before=$fail
    seen=0
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "$label: ${line#ok - }"; seen=1 ;;
        "not ok - "*) notok "$label: ${line#not ok - }"; seen=1 ;;
        "#"*) echo "$line" ;;
        esac
    done <"$tmp/out"
    if [ "$st" -ne 0 ] && [ "$fail" -eq "$before" ] || [ "$seen" -eq 0 ]; then
        notok "$label: $(status_text "$st")"
        detail "$tmp/out" 10
    fi
}

# expect_run LABEL STATUS PATTERN CMD...: CMD exits with STATUS and its
# output has a line matching PATTERN (grep)
expect_run() {
    label=$1 want=$2 pattern=$3
    shift 3
    timeout "$TMO" "$@" >"$tmp/out" 2>&1
    st=$?
    if [ "$st" -eq "$want" ] && grep -q "$pattern" "$tmp/out"; then
        ok "$label"
    else
        notok "$label ($(status_text "$st"))"
        detail "$tmp/out"
    fi
}

# ---------------------------------------------------------------- emulation

compilers=""
for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null 2>&1 && compilers="$compilers $cxx"
done
if [ -z "$compilers" ]; then
    notok "emulation: a C++ compiler (g++ or clang++) on PATH"
fi
for cxx in $compilers; do
    dir=build/cuda-emu-$cxx
    if make -s -j2 EMU_CXX="$cxx" EMU_BUILD="$dir" cuda-emu >"$tmp/build" 2>&1; then
        ok "emulation ($cxx): runtime/cuda and tests/cuda build with -Wall -Wextra -Werror"
    else
        notok "emulation ($cxx): runtime/cuda and tests/cuda build with -Wall -Wextra -Werror"
        grep -E 'error|warning' "$tmp/build" | head -n 5 | sed 's/^/#   /'
        continue
    fi
    prog "emulation ($cxx)" "$dir/test_emu"
    prog "kernels ($cxx)" "$dir/test_kernels"
    prog "rnnlm ($cxx)" "$dir/test_rnnlm"
    expect_run "nodevice ($cxx): without a device, the clean error and exit status 1" \
        1 '^nodevice: error: no CUDA device: ' env NNRT_EMU_NO_DEVICE=1 "$dir/nodevice"
    expect_run "nodevice ($cxx): with the emulated device, a GEMM through cuBLAS" \
        0 '= \[\[19 22\] \[43 50\]\]' "$dir/nodevice"
done

# ---------------------------------------------------------------- nvcc

NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null 2>&1; then
    echo "SKIP - nvcc checks: no $NVCC on PATH (sm_80/sm_90 builds, no spills, cuBLAS link, no-device exit; see docs/CUDA.md)"
else
    if make -s -j2 NVCC="$NVCC" cuda >"$tmp/build" 2>&1; then
        ok "nvcc: runtime/cuda/*.cu for sm_80 and sm_90 with -Werror all-warnings, no register spills"
    else
        notok "nvcc: runtime/cuda/*.cu for sm_80 and sm_90 with -Werror all-warnings, no register spills"
        detail "$tmp/build" 10
    fi
    # shellcheck disable=SC2046
    if "$NVCC" $(make -s NVCC="$NVCC" cuda-nvcc-flags) -c tests/cuda/spill_probe.cu \
        -o "$tmp/spill.o" >"$tmp/spill" 2>&1; then
        notok "nvcc: a kernel that spills registers fails the build (it compiled)"
    elif grep -q 'spilled' "$tmp/spill"; then
        ok "nvcc: a kernel that spills registers fails the build"
    else
        notok "nvcc: a kernel that spills registers fails the build, saying so"
        detail "$tmp/spill"
    fi
    if make -s -j2 NVCC="$NVCC" cuda-progs build/cuda/test_rnnlm >"$tmp/build" 2>&1; then
        ok "nvcc: test programs link against cuBLAS and the CUDA runtime"
        timeout "$TMO" build/cuda/nodevice >"$tmp/out" 2>&1
        st=$?
        if [ "$st" -eq 1 ] && grep -q '^nodevice: error: no CUDA device: ' "$tmp/out"; then
            ok "nvcc: nodevice without a GPU: the clean \"no CUDA device\" error, exit status 1"
        elif [ "$st" -eq 0 ] && grep -q '= \[\[19 22\] \[43 50\]\]' "$tmp/out"; then
            ok "nvcc: nodevice on a GPU: a GEMM through cuBLAS ($(head -n 1 "$tmp/out"))"
        else
            notok "nvcc: nodevice: neither the no-device error with status 1 nor a right GEMM ($(status_text "$st"))"
            detail "$tmp/out"
        fi
    else
        notok "nvcc: test programs link against cuBLAS and the CUDA runtime"
        detail "$tmp/build" 10
    fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
