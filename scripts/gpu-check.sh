#!/bin/sh
# scripts/gpu-check.sh - the CUDA runtime on a real NVIDIA GPU, in one go
# (a few minutes): what tests/cuda/run.sh cannot do without one.
#
#   sh scripts/gpu-check.sh                  on a machine with a GPU and nvcc
#   GPU_CHECK_DRY=1 sh scripts/gpu-check.sh  build only (no GPU needed)
#
# 1. builds runtime/cuda and tests/cuda with this machine's nvcc, for this
#    GPU's architecture (nvidia-smi's compute capability; else sm_80 and
#    sm_90), with the flags of `make cuda` (-Werror all-warnings, register
#    spills are errors), into build/gpu-check/ (the CPU runtime too: with
#    OpenBLAS if it is installed, else its portable loops);
# 2. runs tests/cuda/nodevice.c (a GEMM through cuBLAS),
#    tests/cuda/test_kernels.cpp (every kernel against the CPU runtime) and,
#    when nngc builds here, tests/cuda/test_rnnlm.cpp (examples/rnnlm.nn's
#    forward pass and output-layer gradient against nngc's C);
#    and the code nngc --target=cuda generates for every example and bench
#    model at -O2 (and the batched programs of examples/rnnlm.nn and
#    bench/models/attn.nn, --batch=64: the latter's batch_matmuls are
#    strided-batched GEMMs; tests/batch/models/concat_seq.nn, --batch=16:
#    concat along a dynamic dim; tests/batch/nested_deep.nn, --batch=8:
#    four nested loops, 6-axis gradient stacks; tests/batch/models/
#    stack_whole.nn, --batch=16: stacks read whole (batch-major views);
#    last_steps.nn, stack_carry.nn and steps_dyn.nn, --batch=16: loops
#    from T - 1 or T, each example's own start (and number of steps);
#    stacks as loops' carries;
#    tests/cuda/models/approx_all.nn: every softmax approximation, the
#    device drawing the C target's samples; skip-gram with neg and hier and
#    rnnlm with hier over the whole vocabulary: the sparse gradients, each
#    call zeroing the last call's rows and the update visiting its rows;
#    rnnlm with hier and --batch=32: the paths of [T, B] targets, the
#    gradient of W zeroed whole)
#    against nngc's C for the same programs (tests/cuda/test_target.cpp:
#    forward, gradients, three train steps; for a program without loops
#    the copies, launches and GEMMs a call executed as nngc --stats said),
#    with each one's time per call on the GPU and on the CPU, and its
#    largest gradient difference from the C target (the test allows 1e-3
#    on a GPU: tests/cuda/test_target.cpp says why);
# 3. nngc run --target=cuda on the GPU against PyTorch's gradients and
#    optimizer steps (tests/train/fixtures), and --stats' executed copies;
# 4. prints tests/cuda/bench.cu's table: each kernel, and GEMM through
#    nnrt_cuda_gemm vs a plain cublasSgemm on the RNN LM's shapes, GFLOP/s;
#    then RNN LM training with --batch 64 on the GPU against one CPU thread
#    (nngc train, words/s, on examples/data/tiny.txt or the PTB);
# 5. last, as long as its time budget lasts, runs test_kernels and the
#    generated rnnlm_small (-O2) under compute-sanitizer (memcheck,
#    racecheck, synccheck) if there is one; then ncu's time per kernel
#    for the batched RNN LM (--batch=64, and --batch=32 with hier), the
#    longest first, if ncu is there and reads the GPU's counters.
#
# Environment: NVCC (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc),
# CUDA_ARCHS (e.g. "90"), BENCH_ITERS (50), JOBS (make -j and the models
# built at once; default: CPUs), GPU_CHECK_BUDGET (seconds from the start
# after which no sanitizer run starts; default 480),
# OPENBLAS_DIR (an OpenBLAS with include/cblas.h and lib/libopenblas.so,
# for the CPU references; default: the system's, through pkg-config),
# GPU_CHECK_BLAS=no (the CPU references without a BLAS: the runtime's own
# kernels, as on a bare image), GPU_CHECK_DATA (the training text of the
# last row; default: the first 5000 lines of ../shared/data/ptb/train.txt,
# else examples/data/tiny.txt), GPU_CHECK_GEN (flex's and bison's output
# for nngc's parser where they are not installed; default build/gen).
# GPU_CHECK_PACK=DIR: what scripts/gpu-pack.sh put in DIR for a bare GPU
# image (DIR/gen, DIR/openblas.tgz, DIR/ptb5k.txt), each as the variable
# above unless that is set.
# Exit status: 0 all passed, 1 a check failed, 2 cannot run (no nvcc, no GPU,
# build failure), with a message saying which.
set -eu

cd "$(dirname "$0")/.."
B=build/gpu-check
DRY=${GPU_CHECK_DRY:-}
BENCH_ITERS=${BENCH_ITERS:-50}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
BUDGET=${GPU_CHECK_BUDGET:-480}
start=$(date +%s)
PACK=${GPU_CHECK_PACK:-}
if [ -n "$PACK" ]; then
    [ -d "$PACK" ] || { printf 'gpu-check: error: GPU_CHECK_PACK=%s is not a directory\n' "$PACK" >&2; exit 2; }
    [ -d "$PACK/gen" ] && GPU_CHECK_GEN=${GPU_CHECK_GEN:-$PACK/gen}
    [ -f "$PACK/ptb5k.txt" ] && GPU_CHECK_DATA=${GPU_CHECK_DATA:-$PACK/ptb5k.txt}
    if [ -z "${OPENBLAS_DIR:-}" ] && [ -f "$PACK/openblas.tgz" ]; then
        rm -rf "$PACK/openblas" && tar -xzf "$PACK/openblas.tgz" -C "$PACK"
        OPENBLAS_DIR=$(cd "$PACK/openblas" && pwd)
    fi
fi
passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -f "$log"' EXIT

say() { printf 'gpu-check: %s\n' "$*"; }
die() {
    say "error: $*" >&2
    exit 2
}
pass() { passed=$((passed + 1)); say "PASS $*"; }
failc() { failed=$((failed + 1)); say "FAIL $*"; }
# the last lines of the log, indented
tail_log() { tail -n "${1:-15}" "$log" | sed 's/^/    /'; }

# ---------------------------------------------------------------- tools

NVCC=${NVCC:-}
if [ -z "$NVCC" ]; then
    if command -v nvcc >/dev/null 2>&1; then
        NVCC=nvcc
    elif [ -x /usr/local/cuda/bin/nvcc ]; then
        NVCC=/usr/local/cuda/bin/nvcc
    else
        die "no nvcc (not on PATH, not /usr/local/cuda/bin/nvcc); set NVCC=/path/to/nvcc"
    fi
fi
command -v "$NVCC" >/dev/null 2>&1 || die "NVCC=$NVCC is not an executable"
say "nvcc: $("$NVCC" --version | tail -n 2 | head -n 1)"
command -v make >/dev/null 2>&1 || die "no make"
command -v cc >/dev/null 2>&1 || die "no C compiler (cc)"

if [ -z "$DRY" ]; then
    command -v nvidia-smi >/dev/null 2>&1 || die "no nvidia-smi: is there an NVIDIA driver? (GPU_CHECK_DRY=1 builds only)"
    gpu=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>"$log" | head -n 1) ||
        die "nvidia-smi sees no GPU: $(head -n 2 "$log")"
    [ -n "$gpu" ] || die "nvidia-smi lists no GPU"
    say "GPU: $gpu"
fi

if [ -z "${CUDA_ARCHS:-}" ]; then
    cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .' || true)
    case $cap in
    [0-9][0-9] | [0-9][0-9][0-9]) CUDA_ARCHS=$cap ;;
    *) CUDA_ARCHS="80 90" ;;
    esac
fi
say "architectures: $CUDA_ARCHS"
# nngc run/train --target=cuda: nvcc for these alone (its default: 80 90)
NNGC_CUDA_ARCHS=$CUDA_ARCHS
export NNGC_CUDA_ARCHS

# nngc's parser is flex's and bison's output: where they are missing (a
# bare GPU image), the output `make` left in build/gen on another machine
# (carry it along), copied into the build, in the order make makes them
# (each copy newer than its sources and than the file before it)
if ! command -v flex >/dev/null 2>&1 || ! command -v bison >/dev/null 2>&1; then
    g=${GPU_CHECK_GEN:-build/gen}
    if [ -f "$g/parser.c" ] && [ -f "$g/parser.h" ] && [ -f "$g/lexer.c" ] && [ -f "$g/lexer.h" ]; then
        mkdir -p "$B/gen"
        for f in parser.c parser.h lexer.c lexer.h; do cp "$g/$f" "$B/gen/$f"; done
        say "no flex or bison here: nngc's parser from $g (made by make elsewhere)"
    else
        say "no flex or bison here, and no $g/{parser,lexer}.[ch] from another machine: nngc will not build"
    fi
fi

# the CPU runtime: with OpenBLAS (OPENBLAS_DIR's, else the system's when
# its header is there), else without a BLAS (GPU_CHECK_BLAS=no too: the
# runtime's own kernels); blas_libs: what the test programs link besides
# the runtime, as make does
mk="make -s -j$JOBS BUILD=$B NVCC=$NVCC"
# shellcheck disable=SC2046
if [ -n "${OPENBLAS_DIR:-}" ] && [ "${GPU_CHECK_BLAS:-}" != no ]; then
    [ -f "$OPENBLAS_DIR/include/cblas.h" ] || die "OPENBLAS_DIR=$OPENBLAS_DIR has no include/cblas.h"
    blas_libs="-L$OPENBLAS_DIR/lib -lopenblas" # (nvcc links too: no -Wl, options)
    # found there when the programs run, and its own needs (libgfortran) too
    LD_LIBRARY_PATH=$OPENBLAS_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    # shellcheck disable=SC2086
    if ! printf '#include <cblas.h>\nint main(void) { float x = 2; return cblas_sdot(1, &x, 1, &x, 1) != 4; }\n' |
        cc -I"$OPENBLAS_DIR/include" -x c - -o "$log.exe" $blas_libs >"$log" 2>&1 || ! "$log.exe" >>"$log" 2>&1; then
        rm -f "$log.exe"
        tail_log 5 >&2
        die "OPENBLAS_DIR=$OPENBLAS_DIR: cblas_sdot does not link or run (above)"
    fi
    rm -f "$log.exe"
    say "CPU references: the runtime with the OpenBLAS in $OPENBLAS_DIR"
    set -- CUDA_ARCHS="$CUDA_ARCHS" OPENBLAS_CFLAGS="-I$OPENBLAS_DIR/include" OPENBLAS_LIBS="$blas_libs"
elif [ "${GPU_CHECK_BLAS:-}" != no ] &&
    printf '#include <cblas.h>\n' | cc $(pkg-config --cflags openblas 2>/dev/null) -E -x c - >/dev/null 2>&1; then
    say "CPU references: the runtime with OpenBLAS"
    blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
    set -- CUDA_ARCHS="$CUDA_ARCHS"
else
    say "CPU references: no OpenBLAS here, the runtime's own kernels (AVX2) and portable loops"
    blas_libs=""
    set -- CUDA_ARCHS="$CUDA_ARCHS" OPENBLAS_LIBS= OPENBLAS_CFLAGS= \
        CFLAGS="-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -UNNRT_HAVE_CBLAS"
fi

# ---------------------------------------------------------------- build

t0=$(date +%s)
if ! $mk "$@" cuda-progs >"$log" 2>&1; then
    tail_log 30 >&2
    die "the build failed (above); nothing was run"
fi
# examples/rnnlm.nn by hand in CUDA against nngc's C: needs nngc (flex, bison)
rnnlm=""
if $mk "$@" "$B/cuda/test_rnnlm" >"$log" 2>&1; then
    rnnlm=1
else
    say "SKIP test_rnnlm: it did not build (it needs nngc, so flex and bison):"
    tail_log 5
fi
say "built $B/cuda/{test_kernels,nodevice,bench${rnnlm:+,test_rnnlm}} in $(($(date +%s) - t0)) s"

# the code nngc --target=cuda generates, against nngc's C for the same
# program (tests/cuda/test_target.cpp), with a time per call of each
models=""
if [ -n "$rnnlm" ]; then
    fl=$($mk "$@" cuda-nvcc-flags)
    # $B/nngc is not in the build layout nngc recognises: say where things are
    NNGC_STDLIB=$(pwd)/stdlib NNGC_INCLUDE=$(pwd)/runtime
    export NNGC_STDLIB NNGC_INCLUDE
    $mk "$@" "$B/npycmp" >"$log" 2>&1 || say "npycmp did not build: nngc run's checks will fail"
    # FILE[:B][@METHOD]: --batch=B; --softmax=METHOD with word ids over the
    # whole vocabulary (V = 10000): sparse gradients on the device, rows of
    # each step's ids zeroed and updated (cu_api.c), against the C target.
    # Each built in the background, JOBS at a time, into DIR/test_MODEL
    # with its log in DIR/MODEL.log; $models: the programs that built.
    build_model() {
        r=$1 sm="" ir=""
        case $r in *@*) sm=${r#*@} r=${r%@*} ir=-DINT_RANGE=10000 ;; esac
        f=${r%:*} bf="" m=$(sed -n 's/^model \([A-Za-z_0-9]*\)$/\1/p' "${r%:*}")
        case $r in *:*) bf=--batch=${r#*:} ;; esac
        d=$B/cuda/target$bf${sm:+-$(echo "$sm" | tr ':=' '__')}
        mkdir -p "$d"
        echo "$d/test_$m" >"$B/cuda/built.$2"
        # shellcheck disable=SC2086
        {
            sed "s/^model $m\$/model ${m}_c/" "$f" >"$d/${m}_c.nn" &&
                "$B/nngc" $bf ${sm:+--softmax=$sm} --target=cuda --stats "$f" -o "$d/$m.cu" 2>"$d/$m.stats" &&
                sh tests/cuda/static_counts.sh "$d/$m.stats" >"$d/$m.counts.h" &&
                "$B/nngc" $bf ${sm:+--softmax=$sm} -I "$(dirname "$f")" "$d/${m}_c.nn" -o "$d/${m}_c.c" &&
                cc -O2 -Iruntime -c "$d/${m}_c.c" -o "$d/${m}_c.o" &&
                "$NVCC" $fl -c "$d/$m.cu" -o "$d/$m.o" &&
                "$NVCC" $fl -DGPU_DESC="${m}_desc" -DCPU_DESC="${m}_c_desc" -DGPU_STATS="${m}_cuda_stats" $ir \
                    -include "$d/$m.counts.h" -x cu -c tests/cuda/test_target.cpp -o "$d/test_$m.o" &&
                "$NVCC" $fl -o "$d/test_$m" "$d/test_$m.o" "$d/$m.o" "$d/${m}_c.o" "$B/cuda/libnngrt_cuda.a" \
                    "$B/libnngrt.a" -lcublas -lcudart $blas_libs -lm -ldl -lpthread
        } >"$d/$m.log" 2>&1 || echo "$d/$m.log" >>"$B/cuda/built.$2"
    }
    t0=$(date +%s) k=0
    rm -f "$B/cuda"/built.*
    for r in tests/cuda/models/rnnlm_small.nn examples/logreg.nn examples/classifier.nn examples/mlp.nn examples/rnnlm.nn examples/skipgram.nn \
        bench/models/birnn.nn bench/models/bow.nn bench/models/tagger.nn bench/models/rnnlm256.nn \
        examples/rnnlm.nn:64 bench/models/attn.nn:64 tests/cuda/models/approx_all.nn \
        tests/batch/models/concat_seq.nn:16 tests/batch/nested_deep.nn:8 tests/batch/models/stack_whole.nn:16 \
        tests/batch/models/last_steps.nn:16 tests/batch/models/stack_carry.nn:16 tests/batch/models/steps_dyn.nn:16 \
        examples/skipgram.nn@neg:k=3 examples/skipgram.nn@hier examples/rnnlm.nn@hier examples/rnnlm.nn:32@hier; do
        k=$((k + 1))
        build_model "$r" "$(printf %02d $k)" &
        [ $((k % JOBS)) -ne 0 ] || wait
    done
    wait
    n=0
    for s in "$B/cuda"/built.*; do # in the list's order: the program, then its log if it failed
        [ -f "$s" ] || continue
        t=$(sed -n 1p "$s") l=$(sed -n 2p "$s")
        if [ -z "$l" ]; then
            models="$models $t" n=$((n + 1))
        else
            failc "--target=cuda: $t did not build ($l)"
            tail -n 10 "$l" | sed 's/^/    /'
        fi
    done
    say "built $n generated models (nngc --target=cuda and C, nvcc) in $(($(date +%s) - t0)) s"
fi
if [ -n "$DRY" ]; then
    say "GPU_CHECK_DRY: built only, nothing run (generated models:${models:- none})"
    [ "$failed" -eq 0 ]
    exit
fi

# ---------------------------------------------------------------- tests

if timeout 60 "$B/cuda/nodevice" >"$log" 2>&1 && grep -q '= \[\[19 22\] \[43 50\]\]' "$log"; then
    pass "nodevice: $(head -n 1 "$log")"
else
    failc "nodevice: a 2x2 GEMM through cuBLAS"
    tail_log
fi

if timeout 120 "$B/cuda/test_kernels" >"$log" 2>&1; then
    pass "test_kernels: $(grep -c '^ok - ' "$log") checks against the CPU runtime"
else
    failc "test_kernels: $(grep -c '^not ok - ' "$log" || true) of $(grep -c 'ok - ' "$log" || true) checks failed"
    grep -A 2 '^not ok - ' "$log" | head -n 30 | sed 's/^/    /'
fi

if [ -n "$rnnlm" ]; then
    if timeout 120 "$B/cuda/test_rnnlm" >"$log" 2>&1; then
        pass "test_rnnlm: $(grep -c '^ok - ' "$log") checks against nngc's C for examples/rnnlm.nn"
    else
        failc "test_rnnlm: $(grep -c '^not ok - ' "$log" || true) checks failed"
        grep -A 2 '^not ok - ' "$log" | head -n 20 | sed 's/^/    /'
    fi
fi

for t in $models; do
    if NN_TIME_CALLS=50 timeout 120 "$t" >"$log" 2>&1; then
        pass "--target=cuda $t: $(grep -c '^ok - ' "$log") checks against nngc's C"
    else
        failc "--target=cuda $t: $(grep -c '^not ok - ' "$log" || true) checks failed"
        grep -A 2 '^not ok - ' "$log" | head -n 20 | sed 's/^/    /'
    fi
    grep '^# \(time\|largest\)' "$log" | sed 's/^# /    /' || true
done

# nngc run --target=cuda on the GPU (nvcc -arch=native): PyTorch's numbers
if [ -n "$rnnlm" ]; then
    F=tests/train/fixtures
    same_grads() { # MODEL: $B/g against the fixture's
        for g in "$F/$1/grads"/*.npy; do
            "$B/npycmp" "$B/g/$(basename "$g")" "$g" --rtol 1e-3 --atol 1e-5 >>"$log" 2>&1 || return 1
        done
    }
    for m in rnnlm builtins; do
        in=$(for f in "$F/$m"/*.npy; do printf ' --input %s=%s' "$(basename "$f" .npy)" "$f"; done)
        rm -rf "$B/g"
        # shellcheck disable=SC2086
        if NVCC=$NVCC timeout 120 "$B/nngc" run --target=cuda --stats "tests/train/models/$m.nn" \
            --params "$F/$m/params.safetensors" $in --grads "$B/g" --out "$B/o" >"$log" 2>&1 && same_grads "$m"; then
            pass "nngc run --target=cuda --grads $m: PyTorch's gradients; $(grep '^executed (forward' "$log" | cut -c1-90)"
        else
            failc "nngc run --target=cuda --grads $m"
            tail_log 8
        fi
    done
fi

# ---------------------------------------------------------------- timing

echo
if ! timeout 180 "$B/cuda/bench" "$BENCH_ITERS"; then
    failc "bench did not finish"
fi
# RNN LM training, --batch 64: the GPU against one CPU thread (words/s of
# one epoch; the PTB next to the repository if it is there, else tiny.txt)
if [ -n "$rnnlm" ]; then
    data=${GPU_CHECK_DATA:-examples/data/tiny.txt}
    if [ -z "${GPU_CHECK_DATA:-}" ] && [ -f ../shared/data/ptb/train.txt ]; then
        head -n 5000 ../shared/data/ptb/train.txt >"$B/ptb5k.txt" && data=$B/ptb5k.txt
    fi
    for tg in cuda c; do
        if NVCC=$NVCC OPENBLAS_NUM_THREADS=1 timeout 240 "$B/nngc" train --target="$tg" examples/rnnlm.nn --data "$data" --epochs 1 \
            --batch 64 --threads 1 >"$log" 2>&1; then
            say "rnnlm train --batch 64 --target=$tg on $data: $(grep '^epoch 1/1:' "$log" | sed 's/.*| \([0-9.]* words\/s\).*/\1/')"
        else
            failc "rnnlm train --batch 64 --target=$tg"
            tail_log 5
        fi
    done
fi
# ---------------------------------------------------------------- sanitizers

# last: each run only while GPU_CHECK_BUDGET lasts (racecheck can take
# minutes); a device the sanitizer does not support is a SKIP, not a FAIL
# cuda_tool NAME [PATH...]: the first of NAME on PATH, NAME next to nvcc,
# /usr/local/cuda/bin/NAME and the PATHs that exists, or nothing
cuda_tool() {
    t=$1
    shift
    for c in "$t" "$(dirname "$(command -v "$NVCC")")/$t" "/usr/local/cuda/bin/$t" "$@"; do
        if command -v "$c" >/dev/null 2>&1; then
            echo "$c"
            return
        fi
    done
}
SAN=$(cuda_tool compute-sanitizer)
if [ -z "$SAN" ]; then
    say "SKIP compute-sanitizer: not found (PATH, next to nvcc, /usr/local/cuda/bin)"
else
    for tool in memcheck synccheck racecheck; do
        for p in "$B/cuda/test_kernels" $(echo "$models" | tr ' ' '\n' | grep '/target/test_rnnlm_small$' || true); do
            left=$((BUDGET - ($(date +%s) - start)))
            if [ "$left" -lt 30 ]; then
                say "SKIP compute-sanitizer --tool $tool $p: GPU_CHECK_BUDGET=$BUDGET s spent"
                continue
            fi
            st=0
            timeout "$left" "$SAN" --tool "$tool" --error-exitcode 99 "$p" >"$log" 2>&1 || st=$?
            if [ "$st" -eq 0 ]; then
                pass "compute-sanitizer --tool $tool $p: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -n 1)"
            elif grep -q -i 'device not supported\|not supported on this' "$log"; then
                say "SKIP compute-sanitizer --tool $tool $p: $(grep -i -m 1 'not supported' "$log")"
            elif [ "$st" -eq 124 ]; then
                say "SKIP compute-sanitizer --tool $tool $p: stopped at GPU_CHECK_BUDGET=$BUDGET s"
            else
                failc "compute-sanitizer --tool $tool $p (status $st)"
                grep -v '^ok - ' "$log" | head -n 25 | sed 's/^/    /'
            fi
        done
    done
fi

# ---------------------------------------------------------------- kernel profile

# last, while GPU_CHECK_BUDGET lasts: ncu's time per kernel (the clocks as
# they are) over the whole test of the batched RNN LM, with the full
# softmax (--batch=64) and with hier (--batch=32), the longest first
# (tests/cuda/ncu_top.awk); a measurement, neither PASS nor FAIL
NCU=$(cuda_tool ncu /opt/nvidia/nsight-compute/*/ncu)
if [ -z "$NCU" ]; then
    say "SKIP ncu: not found (PATH, next to nvcc, /usr/local/cuda/bin, /opt/nvidia/nsight-compute)"
else
    for p in $(echo "$models" | tr ' ' '\n' | grep -E '/target--batch=(64|32-hier)/test_rnnlm$' || true); do
        left=$((BUDGET - ($(date +%s) - start)))
        if [ "$left" -lt 40 ]; then
            say "SKIP ncu $p: GPU_CHECK_BUDGET=$BUDGET s spent"
            continue
        fi
        st=0
        timeout "$left" "$NCU" --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel "$p" \
            >"$log" 2>&1 || st=$?
        if [ "$st" -eq 0 ]; then
            say "ncu $p: the kernels by time"
            awk -v n=8 -f tests/cuda/ncu_top.awk "$log" | sed 's/^/    /'
        else
            say "SKIP ncu $p (status $st): $(grep -i -m 1 'error\|not supported' "$log" || tail -n 1 "$log")"
        fi
    done
fi
echo
say "$passed passed, $failed failed in $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
