#!/bin/sh
# tests/cuda/run.sh - the CUDA runtime (runtime/cuda/) without a GPU.
#
#   sh tests/cuda/run.sh        after make; VERBOSE output is the caller's
#
# 1. Host emulation, with g++ (or the compilers CUDA_EMU_CXX names: .ci/run
#    adds clang++): the
#    runtime's .cu files and the test programs compile as C++17 with
#    -Wall -Wextra -Werror; tests/cuda/test_emu.cpp checks the emulation
#    itself (barriers, thread orders, a missing and a divergent
#    __syncthreads reported), tests/cuda/test_kernels.cpp the kernels and
#    GEMM wrappers against the CPU runtime, tests/cuda/test_rnnlm.cpp
#    examples/rnnlm.nn's forward pass and output-layer gradient written
#    with the runtime against nngc's C for it; tests/cuda/nodevice.c runs with
#    and without an (emulated) device.
# 2. nvcc, when there is one (else one SKIP line, counted as nothing; and
#    not at all with CUDA_NVCC_CHECKS=0):
#    runtime/cuda/*.cu for sm_80 and sm_90 with -Werror all-warnings and
#    register spills as errors (checked to fail on tests/cuda/spill_probe.cu),
#    the code --target=cuda generates for the examples and bench models the
#    same way for sm_90;
#    the test programs link against cuBLAS and the CUDA runtime; without a
#    CUDA driver nodevice must print the "no CUDA device" error and exit 1.
# Ends with "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# run from `make test`, the builds below are make's own (no jobserver to share)
unset MAKEFLAGS MFLAGS MAKELEVEL
TMO=${TMO:-300}
make_tmp cuda
# nngc's build cache (the emulation's runtime objects: run_cuda.c): this
# run's own, whatever the caller's (the checks below count what is in it)
export NNGC_CACHE_DIR="$tmp/cache"
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

# Builds and runs that take long go two at a time (the machine's 2 cores),
# each in the background into a folder of its own, DIR/out its output and
# DIR/st its exit status; their checks are reported afterwards, in order.
# in_pairs K: after starting job K, waits for it and job K - 1 when K is even.
in_pairs() { [ $(($1 % 2)) -ne 0 ] || wait; }
# saved_prog LABEL DIR: prog's checks of a test program that ran into DIR.
saved_prog() { prog "$1" sh -c 'cat "$1"; exit "$2"' - "$2/out" "$(cat "$2/st")"; }

# ---------------------------------------------------------------- emulation

# CUDA_EMU_CXX: the C++ compilers to emulate with (default g++ alone, the
# first of g++ and clang++ there is, to keep `make test` within its time;
# .ci/run runs the suite again with CUDA_EMU_CXX=clang++)
compilers=""
for cxx in ${CUDA_EMU_CXX:-g++ clang++}; do
    command -v "$cxx" >/dev/null 2>&1 && compilers="$compilers $cxx"
    [ -z "$CUDA_EMU_CXX" ] && [ -n "$compilers" ] && break
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

# ---------------------------------------------------------------- --target=cuda

# The models --target=cuda compiles (docs/CUDA.md), each against the C
# target's build of the same program (renamed NAME_c) by test_target.cpp:
# forward, gradients, three train steps, a param written on the host
# (with each compiler: the examples; with the first: the others too, and
# loops at -O0, where no pass has taken them apart).
TARGET_EXAMPLES="examples/logreg.nn examples/classifier.nn examples/mlp.nn"
# FILE:LEVEL[:B] (B: the batched program, nngc --batch=B; rnnlm_small is
# examples/rnnlm.nn with small sizes; small:FILE is FILE with every dim of
# 100 or more at 16, for the emulation's speed)
TARGET_MORE="small:examples/skipgram.nn:2 tests/golden/place/loop.nn:2 tests/golden/place/loop.nn:0 tests/e2e/cases/stdlib_nn/model.nn:2
tests/e2e/cases/stdlib_nn/model.nn:0 tests/e2e/cases/slowimpl/model.nn:2 tests/e2e/cases/slowimpl/model.nn:0
tests/cuda/models/rnnlm_small.nn:2 tests/cuda/models/rnnlm_small.nn:1 tests/cuda/models/rnnlm_small.nn:0
tests/cuda/models/rnnlm_small.nn:2:3 tests/e2e/cases/rnnlm/model.nn:2 tests/e2e/cases/rnnlm/model.nn:0
tests/e2e/cases/skipgram/model.nn:2 tests/e2e/cases/skipgram/model.nn:0 tests/e2e/cases/bag/model.nn:2
tests/e2e/cases/bag/model.nn:0 tests/e2e/cases/builtins/model.nn:2 tests/e2e/cases/builtins/model.nn:0
small:bench/models/birnn.nn:2 small:bench/models/bow.nn:2 small:bench/models/bow.nn:0 small:bench/models/bow.nn:2:3
small:bench/models/tagger.nn:2 small:bench/models/tagger.nn:2:3 small:bench/models/skipgram_w5.nn:2
small:bench/models/skipgram_w5.nn:2:3 small:bench/models/hoist.nn:2 small:bench/models/hoist.nn:2:3
examples/logreg.nn:2:4 tests/cuda/models/rowmv.nn:2 tests/cuda/models/rowmv.nn:0
tests/e2e/cases/ids_from1/model.nn:2 tests/e2e/cases/ids_from1/model.nn:0 tests/e2e/cases/addend_nested/model.nn:2
tests/e2e/cases/addend_nested/model.nn:0 tests/e2e/cases/addend/model.nn:2
tests/e2e/cases/addend/model.nn:0 tests/e2e/cases/loops/model.nn:2 tests/e2e/cases/loops/model.nn:0
tests/batch/models/pad_finite.nn:2:3 tests/batch/models/stack.nn:2:3 tests/batch/models/stack.nn:0:2
tests/batch/models/seq_whole.nn:2:3 tests/batch/models/seq_whole.nn:0:2 tests/batch/models/reverse.nn:2:3
tests/batch/models/reverse.nn:0:2 tests/batch/models/attend.nn:2:3 tests/batch/models/nested_dyn.nn:2:3
tests/batch/models/nested_static.nn:0:2 tests/batch/models/rows_whole.nn:2:3 tests/batch/models/stack_from1.nn:0:2
tests/batch/models/matmul_rows.nn:2:3 tests/batch/models/reverse_index.nn:2:3 tests/batch/models/concat.nn:2:3 tests/batch/models/selfattn.nn:2:3
tests/batch/models/selfattn.nn:0:2 tests/batch/models/seq_axes.nn:2:3 tests/batch/models/ids_rows.nn:2:3
tests/batch/models/pair.nn:2:3 tests/batch/models/two_dims.nn:2:3 tests/batch/models/concat_seq.nn:2:3 tests/batch/models/rank4.nn:2:3 tests/batch/models/stack_whole.nn:2:3
tests/batch/models/last_steps.nn:2:3 tests/batch/models/stack_carry.nn:2:3 tests/batch/models/shared_label.nn:2:3
tests/batch/models/softmax_pick.nn:2:3 tests/batch/models/xent_rows.nn:2:3 tests/batch/models/steps_dyn.nn:2:3
tests/batch/nested_deep.nn:2 tests/batch/nested_deep.nn:2:2"
# fixtures of tests/e2e/cases (NumPy, float64) that test_fixture.cpp runs:
# all of them (loops_empty: loops' model, with no steps)
TARGET_FIXTURES="stdlib_nn slowimpl rnnlm skipgram bag builtins ids_from1 addend addend_nested loops loops_empty"
libs="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lm -ldl -lpthread"
emu_flags="-std=c++17 -O1 -ffp-contract=off -Wall -Wextra -Werror -Iruntime -Iruntime/cuda"
model_name() { sed -n 's/^model \([A-Za-z_0-9]*\)$/\1/p' "$1" | head -n 1; }
# target_build CXX DIR FILE.nn EMU_LIB OPT SFX [B]: NAME.cu (emulated) and
# NAME_c.c of FILE.nn at -OPT (--batch=B), linked with test_target.cpp into
# DIR/test_NAME_SFX (its object DIR/NAME_SFX.o; the other files in
# DIR/NAME_SFX/, so that builds of one model at two levels can run side
# by side)
target_build() {
    cxx=$1 o=$5 m=$(model_name "$3") sfx=$6 bf=${7:+--batch=$7}
    f=$3 lib=$4 d=$2/${m}_$6
    mkdir -p "$d"
    # shellcheck disable=SC2086
    sed "s/^model $m\$/model ${m}_c/" "$f" >"$d/${m}_c.nn" &&
        build/nngc "-O$o" $bf --target=cuda --stats -I "$(dirname "$f")" "$f" -o "$d/$m.cu" 2>"$d/$m.stats" &&
        sh tests/cuda/static_counts.sh "$d/$m.stats" >"$d/$m.counts.h" &&
        build/nngc "-O$o" $bf -I "$(dirname "$f")" "$d/${m}_c.nn" -o "$d/${m}_c.c" &&
        ${CC:-cc} -O1 -Iruntime -c "$d/${m}_c.c" -o "$d/${m}_c.o" &&
        "$cxx" $emu_flags -x c++ -c "$d/$m.cu" -o "$2/${m}_$sfx.o" &&
        "$cxx" $emu_flags -DGPU_DESC="${m}_desc" -DCPU_DESC="${m}_c_desc" -DGPU_STATS="${m}_cuda_stats" \
            -include "$d/$m.counts.h" -c tests/cuda/test_target.cpp \
            -o "$d/test_$m.o" &&
        "$cxx" -o "$2/test_${m}_$sfx" "$d/test_$m.o" "$2/${m}_$sfx.o" "$d/${m}_c.o" "$lib" build/libnngrt.a $libs
}
# small FILE [DIR]: FILE with every dim of 100 or more at 16 (the same
# program, smaller), in DIR (default $tmp)
small() {
    sed 's/^dim \([A-Za-z_0-9]*\) = [0-9][0-9][0-9][0-9]*$/dim \1 = 16/' "$1" >"${2:-$tmp}/$(basename "$1")" &&
        echo "${2:-$tmp}/$(basename "$1")"
}
# npy_i32 FILE V...: a 1-d int32 .npy of small values (0 to 255), no NumPy needed
npy_i32() {
    f=$1
    shift
    { printf '\223NUMPY\001\000\166\000'
      printf "%-117s\n" "{'descr': '<i4', 'fortran_order': False, 'shape': ($#,), }"
      for v in "$@"; do printf "\\$(printf '%03o' "$v")\\000\\000\\000"; done; } >"$f"
}
# CUDA_MODELS=examples (.ci/run's clang++ rerun, after the plain make
# test ran everything with g++): the examples only; TARGET_MORE, the
# fixtures and the approximations are left out (one SKIP line). The
# emulation's own tests and nngc run, train and eval below still run.
first="" more=""
if [ "${CUDA_MODELS:-all}" = examples ]; then
    echo "SKIP - target: CUDA_MODELS=examples: the other models, the e2e fixtures and the softmax approximations (the plain make test runs them)"
fi
for cxx in $compilers; do
    dir=build/cuda-emu-$cxx
    [ -f "$dir/libnngrt_cuda_emu.a" ] || continue
    runs=""
    for f in $TARGET_EXAMPLES; do runs="$runs $f:2"; done
    if [ -z "$first" ]; then
        first=$cxx
        if [ "${CUDA_MODELS:-all}" != examples ]; then
            more=$cxx
            runs="$runs $TARGET_MORE"
        fi
    fi
    # two at a time, each into $tmp/target/K/ (build: the build's output;
    # st "build" when it failed)
    rm -rf "$tmp/target"
    k=0
    for r in $runs; do
        k=$((k + 1))
        f=${r#small:}
        b=""
        case $f in *:*:*) b=${f##*:} f=${f%:*} ;; esac
        o=${f##*:} f=${f%:*}
        j=$tmp/target/$k
        mkdir -p "$j"
        case $r in small:*) f=$(small "$f" "$j") ;; esac
        m=$(model_name "$f")
        # an e2e case: its fixture's inputs (in range for the model)
        fx=""
        case $f in tests/e2e/cases/*) fx=$(dirname "$f") ;; esac
        # (a small program's files apart from the full one's)
        sfx=$o${b:+b$b}
        case $r in small:*) sfx=${sfx}s ;; esac
        # shellcheck disable=SC2086
        {
            if target_build "$cxx" "$dir/target" "$f" "$dir/libnngrt_cuda_emu.a" "$o" "$sfx" $b >"$j/build" 2>&1; then
                timeout "$TMO" "$dir/target/test_${m}_$sfx" $fx >"$j/out" 2>&1
                echo $? >"$j/st"
            else
                echo build >"$j/st"
            fi
        } &
        in_pairs $k
    done
    wait
    k=0
    for r in $runs; do
        k=$((k + 1)) j=$tmp/target/$k
        st=$(cat "$j/st" 2>/dev/null || echo build)
        if [ "$st" = build ]; then
            notok "target ($cxx): $r --target=cuda compiles with -Wall -Wextra -Werror (emulation)"
            grep -E 'error|warning' "$j/build" | head -n 5 | sed 's/^/#   /'
        else
            saved_prog "target ($cxx) $r" "$j"
        fi
    done
done
# NumPy's results (tests/e2e/cases) for the code --target=cuda generates
# (the objects built above for TARGET_MORE)
if [ -n "$more" ]; then
    dir=build/cuda-emu-$first/target
    for c in $TARGET_FIXTURES; do
        f=tests/e2e/cases/$c/model.nn m=$(model_name "tests/e2e/cases/$c/model.nn")
        for o in 0 2; do
            # shellcheck disable=SC2086
            if [ -f "$dir/${m}_$o.o" ] &&
                "$first" $emu_flags -DGPU_DESC="${m}_desc" tests/cuda/test_fixture.cpp "$dir/${m}_$o.o" \
                    "build/cuda-emu-$first/libnngrt_cuda_emu.a" build/libnngrt.a $libs -o "$dir/fixture_${c}_$o" \
                    >"$tmp/build" 2>&1; then
                prog "fixture ($first) $c -O$o" "$dir/fixture_${c}_$o" "tests/e2e/cases/$c"
            else
                notok "fixture ($first): $f -O$o --target=cuda builds"
                grep -E 'error|warning' "$tmp/build" | head -n 5 | sed 's/^/#   /'
            fi
        done
    done
fi
# the generated model without a device: create fails with the runtime's message
if [ -n "$first" ] && [ -x "build/cuda-emu-$first/target/test_logreg_2" ]; then
    t=build/cuda-emu-$first/target/test_logreg_2
    expect_run "target: without a device, NAME_create fails with \"no CUDA device\"" \
        1 'create (no CUDA device: ' env NNRT_EMU_NO_DEVICE=1 "$t"
fi
# --stats: the copies of a call
if build/nngc --target=cuda --stats examples/classifier.nn -o "$tmp/cl.cu" 2>"$tmp/stats" >/dev/null &&
    grep -q '^placement (forward): copies per call: 1 to device (128 bytes), 2 to host (44 bytes)' "$tmp/stats" &&
    grep -q '^placement (train): copies per call: 1 to device (128 bytes), 2 to host (44 bytes).*gradients stay on the device' "$tmp/stats"; then
    ok "target: --stats counts the copies per call (classifier: x up; loss and probs down)"
else
    notok "target: --stats counts the copies per call"
    detail "$tmp/stats"
fi
# --stats: a sparse gradient zeroes one call's rows, not its table (skip-gram
# with neg: Ww and Wc, 10000 x 128 floats each, 10240000 bytes together;
# one call's ids, T max 200: T centre rows of Ww, 16 T rows of Wc (4
# contexts x (1 + k = 3)): 3400 rows of 512 bytes, 1740800)
if build/nngc --target=cuda --stats --softmax=neg:k=3 examples/skipgram.nn -o "$tmp/sg.cu" 2>"$tmp/stats" >/dev/null &&
    zb=$(sed -n 's/^device code (train): .* 2 zero fills (\([0-9]*\) bytes at most)$/\1/p' "$tmp/stats") &&
    [ "$zb" = 1740800 ] && grep -q 'nnrt_cuda_zero_rows' "$tmp/sg.cu" &&
    grep -q 'nnrt_cuda_sgd_update_ids_clear' "$tmp/sg.cu"; then
    ok "target: --stats, skip-gram neg: 2 zero fills of one call's rows ($zb bytes at most), the update on those rows"
else
    notok "target: --stats, skip-gram neg: sparse gradients zero one call's rows"
    detail "$tmp/stats"
fi
# the default output name: MODEL.cu next to MODEL.h; -c is not taken (yet)
cp examples/logreg.nn "$tmp/logreg.nn"
if build/nngc --target=cuda "$tmp/logreg.nn" >"$tmp/out" 2>&1 && [ -s "$tmp/logreg.cu" ] && [ -s "$tmp/logreg.h" ] &&
    grep -q '#include "logreg.h"' "$tmp/logreg.cu" && grep -q 'nnrt_cuda_dev.cuh' "$tmp/logreg.cu"; then
    ok "target: nngc --target=cuda M.nn writes M.cu and M.h"
else
    notok "target: nngc --target=cuda M.nn writes M.cu and M.h"
    detail "$tmp/out"
fi
# ---------------------------------------------------------------- softmax approximations

# Every method on the device (cu_approx.c, runtime/cuda/approx.cu), one
# compile each, with the first compiler, two at a time:
# 1. against the C target (test_target.cpp): rnnlm_small (V = 50) with
#    word counts of its own (--counts: a skewed noise, tree and classes,
#    zero counts included, but for sampled) and int inputs over the whole vocabulary; -O2
#    (the ops batched over T: the samples drawn before the loop), -O0 for
#    neg (in the loop: host ids, the sampled rows' gradient scattered into
#    the loop's sum at device ids), skipgram --batch=3 for neg (a row of a
#    device int tensor). The gradients match only if the device draws the
#    C target's ids (the same keyed stream).
# 2. against the float64 references (tests/approx_e2e's programs, built
#    against the .cu's model.h as they are against the C target's model.c;
#    neg's draws read back through tests/cuda/hook.h). Left out there, and
#    counted in a # line: the checks that write or read params through a
#    host pointer kept across calls (finite differences, the update,
#    neg's forward after it), which the CUDA target does not refresh
#    (docs/CUDA.md); the finite differences are not even run there
#    (-DNO_FD: they were most of this section's time on the emulation).
APPROX_METHODS="neg:k=3 nce:k=3 sampled:k=3 hier class:c=5 binary binary:hybrid=5 binary:ecc=4 embed"
approx_e2e_cases="neg:neg:negt:0 nce:neg:negt:1 sampled:neg:negt:2 hier:hier:hiert:0 class:class:classt:0
binary:binary:binaryt:0 binary_h:binary:binaryt:1 binary_e:binary:binaryt:2 embed_l:embed:embedt:1"
# approx_target K FILE:LEVEL[bB]:METHOD: build K (test_target.cpp, C target's
# build of the same) into $adir/K/, run it into $adir/K/out; $adir/K/st: its
# status, or "build"
approx_target() {
    k=$1 f=${2%%:*} rest=${2#*:}
    o=${rest%%:*} s=${rest#*:} b=""
    case $o in *b*) b=${o#*b} o=${o%b*} ;; esac
    m=$(model_name "$f") cnt="" range=16 # skipgram's V
    [ "$m" = rnnlm_small ] && range=50
    # (sampled: no count of 0, since a target of probability 0 is an error:
    # approx_ref's neg_test.c checks that one)
    case $m:$s in
    rnnlm_small:binary* | rnnlm_small:embed*) ;;
    rnnlm_small:sampled*) cnt=--counts="$adir/counts50_pos.npy" ;;
    rnnlm_small:*) cnt=--counts="$adir/counts50.npy" ;;
    esac
    d=$adir/$k
    mkdir -p "$d"
    echo "$(basename "$f") -O$o${b:+ --batch=$b} --softmax=$s" >"$d/label"
    # shellcheck disable=SC2086
    if sed "s/^model $m\$/model ${m}_c/" "$f" >"$d/${m}_c.nn" &&
        build/nngc "-O$o" ${b:+--batch=$b} --softmax="$s" $cnt --target=cuda --stats "$f" -o "$d/$m.cu" 2>"$d/$m.stats" &&
        sh tests/cuda/static_counts.sh "$d/$m.stats" >"$d/$m.counts.h" &&
        build/nngc "-O$o" ${b:+--batch=$b} --softmax="$s" $cnt "$d/${m}_c.nn" -o "$d/${m}_c.c" &&
        ${CC:-cc} -O1 -Iruntime -c "$d/${m}_c.c" -o "$d/${m}_c.o" &&
        "$first" $emu_flags -x c++ -c "$d/$m.cu" -o "$d/$m.o" &&
        "$first" $emu_flags -DGPU_DESC="${m}_desc" -DCPU_DESC="${m}_c_desc" -DGPU_STATS="${m}_cuda_stats" \
            -DINT_RANGE=$range -include "$d/$m.counts.h" -c tests/cuda/test_target.cpp -o "$d/test_$m.o" &&
        "$first" -o "$d/test" "$d/test_$m.o" "$d/$m.o" "$d/${m}_c.o" "$lib" build/libnngrt.a $libs; then
        timeout "$TMO" "$d/test" >"$d/out" 2>&1
        echo $? >"$d/st"
    else
        echo build >"$d/st"
    fi >"$d/build" 2>&1
}
# approx_ref K CASE: tests/approx_e2e's CASE (NAME:TEST:MODEL:METHOD) on the .cu, as approx_target
approx_ref() {
    k=$1 n=${2%%:*} rest=${2#*:}
    t=${rest%%:*} rest=${rest#*:}
    m=${rest%%:*} method=${rest#*:}
    d=$adir/$k src=tests/approx_e2e/$n.nn
    [ -e "$src" ] || src=$tmp/$n.nn
    mkdir -p "$d"
    echo "$n -O2" >"$d/label"
    if build/nngc -O2 --target=cuda "$src" -o "$d/$m.cu" &&
        "$first" $emu_flags -include tests/cuda/hook.h -x c++ -c "$d/$m.cu" -o "$d/$m.o" &&
        ${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$d" -DMETHOD="$method" -DNO_FD \
            -c "tests/approx_e2e/${t}_test.c" -o "$d/test.o" &&
        "$first" -o "$d/test" "$d/test.o" "$d/$m.o" "$lib" build/libnngrt.a $libs; then
        timeout "$TMO" "$d/test" >"$d/out" 2>&1
        echo $? >"$d/st"
    else
        echo build >"$d/st"
    fi >"$d/build" 2>&1
}
if [ -n "$more" ]; then
    adir=build/cuda-emu-$first/approx lib=build/cuda-emu-$first/libnngrt_cuda_emu.a
    rm -rf "$adir"
    mkdir -p "$adir"
    # counts for V = 50: 200 / (i + 1), every 7th from 3 on 0
    cv="" i=0
    while [ $i -lt 50 ]; do
        cv="$cv $([ $((i % 7)) -eq 3 ] && echo 0 || echo $((200 / (i + 1))))"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    npy_i32 "$adir/counts50.npy" $cv
    # shellcheck disable=SC2046
    npy_i32 "$adir/counts50_pos.npy" $(for c in $cv; do echo $((c > 0 ? c : 1)); done)
    small examples/skipgram.nn >/dev/null
    D=tests/approx_e2e
    sed 's/with neg(k = 3)/with nce(k = 3, lnz = 0)/' "$D/neg.nn" >"$tmp/nce.nn"
    sed 's/with neg(k = 3)/with sampled(k = 3)/' "$D/neg.nn" >"$tmp/sampled.nn"
    sed 's/with binary$/with binary(hybrid = 3)/' "$D/binary.nn" >"$tmp/binary_h.nn"
    sed 's/with binary$/with binary(ecc = 4)/' "$D/binary.nn" >"$tmp/binary_e.nn"
    sed 's/with embed$/with embed(lambda1 = 0.02, lambda2 = 0.5)/' "$D/embed.nn" >"$tmp/embed_l.nn"
    # two at a time (in_pairs), then the results in order
    jobs=""
    for s in $APPROX_METHODS; do jobs="$jobs t:tests/cuda/models/rnnlm_small.nn:2:$s"; done
    jobs="$jobs t:tests/cuda/models/rnnlm_small.nn:0:neg:k=3 t:$tmp/skipgram.nn:2b3:neg:k=3"
    for c in $approx_e2e_cases; do jobs="$jobs r:$c"; done
    k=0
    for j in $jobs; do
        k=$((k + 1))
        case $j in t:*) approx_target $k "${j#t:}" & ;; *) approx_ref $k "${j#r:}" & ;; esac
        in_pairs $k
    done
    wait
    kept='finite differences|the SGD update is|forward is the exact cross entropy'
    k=0
    for j in $jobs; do
        k=$((k + 1)) d=$adir/$k
        label=$(cat "$d/label") st=$(cat "$d/st" 2>/dev/null || echo build)
        what="against the C target"
        case $j in r:*) what="against the float64 reference" ;; esac
        if [ "$st" = build ]; then
            notok "approx ($first) $label: --target=cuda and the test build (emulation)"
            grep -E 'error|warning' "$d/build" | head -n 5 | sed 's/^/#   /'
            continue
        fi
        case $j in
        t:*) saved_prog "approx ($first) $label $what" "$d" ;;
        *)
            # 1: a check failed (maybe a left-out one); more: a crash
            [ "$st" -gt 1 ] && notok "approx ($first) $label $what: $(status_text "$st")"
            grep -Ev "^(not ok|ok) - .*($kept)" "$d/out" >"$d/kept"
            echo "# approx ($first) $label: $(grep -Ec "^(not ok|ok|# not run) - .*($kept)" "$d/out") checks left out (a host param pointer kept across calls)"
            prog "approx ($first) $label $what" cat "$d/kept"
            ;;
        esac
    done
fi

# ---------------------------------------------------------------- nngc run --target=cuda

# Without a GPU: the clean error and exit status 1, at once (no build).
expect_run "run: nngc run --target=cuda without a GPU says \"no CUDA device\", exit status 1" \
    1 'error: --target=cuda: no CUDA device' build/nngc run --target=cuda examples/logreg.nn
expect_run "run: without nvcc, \"nvcc not found\", exit status 1" \
    1 'error: --target=cuda: nvcc not found' env NNGC_CUDA_NO_DEV_CHECK=1 NVCC=/nonexistent/nvcc \
    build/nngc run --target=cuda examples/logreg.nn
# NNGC_CUDA_EMULATE=1: the whole path on the emulation, against PyTorch's
# gradients and optimizer steps (tests/train/fixtures, float64)
TFIX=tests/train/fixtures TMOD=tests/train/models
tinputs() { for f in "$TFIX/$1"/*.npy; do printf ' --input %s=%s' "$(basename "$f" .npy)" "$f"; done; }
cuda_grads() { # MODEL LEVEL
    rm -rf "$tmp/cg"
    # shellcheck disable=SC2046
    NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda "-O$2" "$TMOD/$1.nn" --params "$TFIX/$1/params.safetensors" \
        $(tinputs "$1") --grads "$tmp/cg" --out "$tmp/co" >"$tmp/out" 2>&1 || return 1
    for g in "$TFIX/$1/grads"/*.npy; do
        build/npycmp "$tmp/cg/$(basename "$g")" "$g" --rtol 1e-3 --atol 1e-5 >>"$tmp/out" 2>&1 || return 1
    done
}
cuda_train() { # MODEL OPT SPEC: 3 steps, the params and state against torch.optim's
    # shellcheck disable=SC2046
    NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda "$TMOD/$1.nn" --params "$TFIX/$1/params.safetensors" \
        $(tinputs "$1") --train 3 --optimizer="$3" --save "$tmp/ct.st" --out "$tmp/co" >"$tmp/out" 2>&1 &&
        "$tmp/sttool" cmp "$tmp/ct.st" "$TFIX/$1/$2.safetensors" --rtol 1e-3 --atol 1e-5 >>"$tmp/out" 2>&1
}
if ${CC:-cc} -std=c11 -O1 -Iruntime -o "$tmp/sttool" tests/train/sttool.c build/libnngrt.a $libs >"$tmp/out" 2>&1; then
    for r in rnnlm:2 rnnlm:0 skipgram:2 slowimpl:2 builtins:2 ids_from1:2 ids_from1:0 bag:2 bag:0 loops:2 loops:0 \
        deadcarry:0 stablelog:2 stablelog:0; do
        if cuda_grads "${r%:*}" "${r#*:}"; then
            ok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda -O${r#*:} --grads ${r%:*}: PyTorch's gradients"
        else
            notok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda -O${r#*:} --grads ${r%:*}: PyTorch's gradients"
            detail "$tmp/out"
        fi
    done
    for r in rnnlm:adam:adam:lr=0.01 skipgram:sgd:sgd:lr=0.1 builtins:adagrad:adagrad:lr=0.1; do
        m=${r%%:*} rest=${r#*:}
        if cuda_train "$m" "${rest%%:*}" "${rest#*:}"; then
            ok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --train 3 $m ${rest#*:}: torch.optim's params and state"
        else
            notok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --train 3 $m ${rest#*:}: torch.optim's params and state"
            detail "$tmp/out"
        fi
    done
    # a label read on the host from the input (backend/place.c), checked there
    idf=tests/e2e/cases/ids_from1
    expect_run "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --grads ids_from1: a label out of range, exit status 1" \
        1 'model.nn:20:11: index 4 out of range \[0, 4)' env NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda \
        "$idf/model.nn" --params "$idf/params.safetensors" --input "xs=$idf/in_xs.npy" \
        --input "ids=$idf/bad_oob_ids.npy" --grads "$tmp/cg" --out "$tmp/co"
    # a row at a per-example index under --batch (tests/batch/ptr.nn):
    # checked on the device against the example's own rows (check_index),
    # the message the index, that bound and the example; an example of
    # length 0 reads nothing (the C target's loss)
    python3 tests/batch/ptr_data.py "$tmp"
    pin="--input xs=$tmp/pxs.npy --input T_len=$tmp/plen.npy"
    # shellcheck disable=SC2086
    expect_run "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --batch=2 ptr: a per-example index past its rows" \
        1 'row index 2 out of range \[0, 2) (example 1)' env NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda \
        --batch=2 tests/batch/ptr.nn $pin --input "at=$tmp/pbad.npy"
    # shellcheck disable=SC2086
    expect_run "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --batch=2 ptr: a negative per-example index" \
        1 'row index -1 out of range \[0, 2) (example 1)' env NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda \
        --batch=2 tests/batch/ptr.nn $pin --input "at=$tmp/pneg.npy"
    expect_run "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --batch=2 pointer: a label past the example's positions" \
        1 'row index 2 out of range \[0, 2) (example 1)' env NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda \
        --batch=2 tests/batch/pointer.nn --input "words=$tmp/yw.npy" --input "y=$tmp/ybad.npy" --input "T_len=$tmp/ylen.npy"
    pin="--input xs=$tmp/pxs.npy --input T_len=$tmp/plen0.npy --input at=$tmp/pok.npy"
    # shellcheck disable=SC2086
    if NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda --batch=2 tests/batch/ptr.nn $pin >"$tmp/out" 2>&1 &&
        build/nngc run --batch=2 tests/batch/ptr.nn $pin >>"$tmp/out" 2>&1 &&
        awk '/^loss = / { l[n++] = $3 } END { d = l[0] - l[1]; if (d < 0) d = -d; exit !(n == 2 && d <= 1e-5 * (1 + l[1])) }' \
            "$tmp/out"; then
        ok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --batch=2 ptr, an example of length 0: the C target's loss"
    else
        notok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --batch=2 ptr, an example of length 0: the C target's loss"
        detail "$tmp/out"
    fi
    # programs tests/fuzz/sem_diff.py found the CUDA target wrong on: its
    # outputs and gradients against the C target's (sem_diff's inputs and
    # params; pure Python)
    for f in tests/cuda/diff/*.nn; do
        if python3 tests/fuzz/sem_diff.py --file "$f" --modes cuda >"$tmp/out" 2>&1; then
            ok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --grads $(basename "$f" .nn): the C target's results"
        else
            notok "run: NNGC_CUDA_EMULATE=1 nngc run --target=cuda --grads $(basename "$f" .nn): the C target's results"
            detail "$tmp/out"
        fi
    done
else
    notok "run: build tests/train/sttool.c"
    detail "$tmp/out"
fi

# --stats: what the forward and the grad call executed, counted by the
# runtime as they ran, against the counts nngc wrote down for the code
# (tests/cuda/counts.awk): the copies between host and device the same for
# 3 and 9 words and as nngc said (a loop never copies), the launches, GEMMs
# and device copies nngc's per call plus its per iteration times the
# iterations, 6 iterations more for 6 words more
npy_i32 "$tmp/w3.npy" 1 2 3
npy_i32 "$tmp/w9.npy" 1 2 3 4 5 6 7 8 9
for w in 3 9; do
    mkdir -p "$tmp/g$w"
    NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda --stats --grads "$tmp/g$w" tests/train/models/rnnlm.nn \
        --input "words=$tmp/w$w.npy" >/dev/null 2>"$tmp/stats$w" || notok "run: --stats, $w words: $(cat "$tmp/stats$w")"
done
prog "run: --stats' counts (rnnlm)" awk -v what=forward -v graph=forward -v wa=3 -v wb=9 -f tests/cuda/counts.awk \
    "$tmp/stats3" "$tmp/stats9"
prog "run: --stats' counts (rnnlm)" awk -v what=grad -v graph=train -v wa=3 -v wb=9 -f tests/cuda/counts.awk \
    "$tmp/stats3" "$tmp/stats9"

# nngc train and eval on the emulation: the same numbers as the C target's
# (a small model, 40 sentences, batches of 8: the emulation is slow)
head -n 40 examples/data/tiny.txt >"$tmp/tr.txt"
tail -n 10 examples/data/tiny.txt >"$tmp/va.txt"
valid_of() { sed -n 's/^epoch 1\/1: .*valid loss \([0-9.]*\).*/\1/p' "$1"; }
# nngc train: the full softmax, then negative sampling (the noise from the
# data's counts by NAME_set_counts, uploaded at the next call; the device
# drawing the C target's samples)
for sm in "" --softmax=neg:k=3; do
    # shellcheck disable=SC2086
    if NNGC_CUDA_EMULATE=1 build/nngc train --target=cuda $sm tests/traincli/models/lm.nn --data "$tmp/tr.txt" \
        --valid "$tmp/va.txt" --epochs 1 --batch 8 --save "$tmp/lmg.st" -q >"$tmp/tg" 2>&1 &&
        build/nngc train $sm tests/traincli/models/lm.nn --data "$tmp/tr.txt" --valid "$tmp/va.txt" --epochs 1 --batch 8 \
            --save "$tmp/lmc${sm:+_neg}.st" -q >"$tmp/tc" 2>&1 && [ -n "$(valid_of "$tmp/tg")" ] &&
        [ "$(valid_of "$tmp/tg")" = "$(valid_of "$tmp/tc")" ]; then
        ok "train: NNGC_CUDA_EMULATE=1 nngc train --target=cuda --batch 8 $sm: the C target's valid loss ($(valid_of "$tmp/tg"))"
    else
        notok "train: NNGC_CUDA_EMULATE=1 nngc train --target=cuda --batch 8 $sm: the C target's valid loss"
        detail "$tmp/tg"
        detail "$tmp/tc"
    fi
done
# the approximations with their own distribution, batched over the steps
# and the batch's examples (passes/batch.c: hier's paths, class's rows as
# [T, B] targets): 16 sentences, batches of 8, the C target's valid loss
head -n 16 "$tmp/tr.txt" >"$tmp/tr16.txt"
for sm in --softmax=hier --softmax=class:c=8; do
    # shellcheck disable=SC2086
    if NNGC_CUDA_EMULATE=1 build/nngc train --target=cuda $sm tests/traincli/models/lm.nn --data "$tmp/tr16.txt" \
        --valid "$tmp/va.txt" --epochs 1 --batch 8 -q >"$tmp/tg" 2>&1 &&
        build/nngc train $sm tests/traincli/models/lm.nn --data "$tmp/tr16.txt" --valid "$tmp/va.txt" --epochs 1 \
            --batch 8 -q >"$tmp/tc" 2>&1 && [ -n "$(valid_of "$tmp/tg")" ] &&
        [ "$(valid_of "$tmp/tg")" = "$(valid_of "$tmp/tc")" ]; then
        ok "train: NNGC_CUDA_EMULATE=1 nngc train --target=cuda --batch 8 $sm: the C target's valid loss ($(valid_of "$tmp/tg"))"
    else
        notok "train: NNGC_CUDA_EMULATE=1 nngc train --target=cuda --batch 8 $sm: the C target's valid loss"
        detail "$tmp/tg"
        detail "$tmp/tc"
    fi
done
# the note on OpenBLAS's generic kernels (nngc --version prints it where
# they run) is the C target's: on the device cuBLAS multiplies
if NNGC_CUDA_EMULATE=1 build/nngc train --target=cuda tests/traincli/models/lm.nn --data "$tmp/tr16.txt" --epochs 1 \
    --batch 8 >"$tmp/tn" 2>&1 && grep -q '^epoch 1/1:' "$tmp/tn" && ! grep -q 'OpenBLAS runs its' "$tmp/tn"; then
    ok "train: nngc train --target=cuda prints no note on OpenBLAS's kernels$(build/nngc --version |
        grep -q 'note: OpenBLAS runs its' && echo ' (the C target prints one here)')"
else
    notok "train: nngc train --target=cuda prints no note on OpenBLAS's kernels"
    detail "$tmp/tn"
fi
loss_of() { sed -n 's/^loss per word \([0-9.]*\),.*/\1/p' "$1"; }
if NNGC_CUDA_EMULATE=1 build/nngc eval --target=cuda tests/traincli/models/lm.nn --params "$tmp/lmc.st" \
    --data "$tmp/va.txt" >"$tmp/eg" 2>&1 &&
    build/nngc eval tests/traincli/models/lm.nn --params "$tmp/lmc.st" --data "$tmp/va.txt" >"$tmp/ec" 2>&1 &&
    [ -n "$(loss_of "$tmp/eg")" ] && [ "$(loss_of "$tmp/eg")" = "$(loss_of "$tmp/ec")" ]; then
    ok "eval: NNGC_CUDA_EMULATE=1 nngc eval --target=cuda: the C target's loss per word ($(loss_of "$tmp/eg"))"
else
    notok "eval: NNGC_CUDA_EMULATE=1 nngc eval --target=cuda: the C target's loss per word"
    detail "$tmp/eg"
    detail "$tmp/ec"
fi
expect_run "train: nngc train --target=cuda without a GPU says \"no CUDA device\", exit status 1" \
    1 'error: --target=cuda: no CUDA device' build/nngc train --target=cuda tests/traincli/models/lm.nn \
    --data "$tmp/tr.txt" --epochs 1
# -c and --shared: nvcc (below), or the emulation
expect_run "target: -c without nvcc: \"nvcc not found\", exit status 1" \
    1 'error: --target=cuda: nvcc not found' env NVCC=/nonexistent/nvcc build/nngc --target=cuda -c \
    "$tmp/logreg.nn" -o "$tmp/logreg.o"
if NNGC_CUDA_EMULATE=1 build/nngc --target=cuda --shared "$tmp/logreg.nn" -o "$tmp/logreg_emu.so" >"$tmp/out" 2>&1 &&
    ${CC:-cc} -Iruntime tests/cuda/loadso.c -o "$tmp/loadso" -ldl >>"$tmp/out" 2>&1 &&
    "$tmp/loadso" "$tmp/logreg_emu.so" logreg_desc >>"$tmp/out" 2>&1 && grep -q '^created logreg' "$tmp/out"; then
    ok "target: NNGC_CUDA_EMULATE=1 --shared: a library a C program loads and creates the model from"
else
    notok "target: NNGC_CUDA_EMULATE=1 --shared: a library a C program loads and creates the model from"
    detail "$tmp/out"
fi

# the emulation's runtime, compiled once (run_cuda.c): every run above
# used one set of objects; a changed runtime source makes another; without
# a cache (NNGC_CACHE_DIR=off) nothing is written and the run still works
keys() { ls "$1" 2>/dev/null | sed -n 's/^\([0-9a-f]*\)-emu-.*\.o$/\1/p' | sort -u | wc -l; }
if [ "$(keys "$tmp/cache")" = 1 ] && [ "$(ls "$tmp/cache" | grep -c -- '-emu-.*\.o$')" = 4 ]; then
    ok "cache: the runs above compiled the emulation's runtime once (4 objects, one key)"
else
    notok "cache: the runs above compiled the emulation's runtime once"
    ls "$tmp/cache" | sed 's/^/#   /'
fi
mkdir -p "$tmp/inc/cuda"
rnn="tests/train/models/rnnlm.nn --params tests/train/fixtures/rnnlm/params.safetensors --input words=tests/train/fixtures/rnnlm/words.npy"
cp runtime/*.h "$tmp/inc/" && cp runtime/cuda/* "$tmp/inc/cuda/" && echo '/* changed */' >>"$tmp/inc/cuda/kernels.cu"
# shellcheck disable=SC2086
if NNGC_INCLUDE="$tmp/inc" NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda $rnn >"$tmp/out" 2>&1 &&
    [ "$(keys "$tmp/cache")" = 2 ]; then
    ok "cache: a changed runtime source (kernels.cu) makes objects of its own"
else
    notok "cache: a changed runtime source (kernels.cu) makes objects of its own ($(keys "$tmp/cache") keys)"
    detail "$tmp/out"
fi
# shellcheck disable=SC2086
if env -u XDG_CACHE_HOME HOME="$tmp/home" NNGC_CACHE_DIR=off NNGC_CUDA_EMULATE=1 build/nngc run --target=cuda \
    $rnn >"$tmp/out" 2>&1 && grep -q '^loss = ' "$tmp/out" && [ ! -e "$tmp/home" ]; then
    ok "cache: NNGC_CACHE_DIR=off: the run compiles the runtime with the model, writing no cache"
else
    notok "cache: NNGC_CACHE_DIR=off: the run compiles the runtime with the model, writing no cache"
    detail "$tmp/out"
fi

# ---------------------------------------------------------------- nvcc

NVCC=${NVCC:-nvcc}
if [ "${CUDA_NVCC_CHECKS:-1}" = 0 ]; then
    # (.ci/run's second run of this suite, with clang++: the plain run did them)
    echo "SKIP - nvcc checks: CUDA_NVCC_CHECKS=0"
elif ! command -v "$NVCC" >/dev/null 2>&1; then
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
    # the code --target=cuda generates: the same flags as the runtime's
    # every example and bench model (forward and training in one .cu), at
    # -O2, -O0 for rnnlm, rnnlm's batched program and a batched one with
    # nested loops and rows at per-example indexes (check_index), one with
    # products of per-example matrices (batch_matmul); every softmax
    # approximation (approx_all.nn), and one alone (@METHOD: a create that
    # builds one structure, its status variable only set, which nvcc
    # -Werror reported)
    # (two at a time: in_pairs, each in $tmp/nv/K/). The models for sm_90
    # alone (the runtime above for both: the same source through the same
    # front end; half of this section's time, which was the suite's longest)
    nvflags=$(make -s NVCC="$NVCC" CUDA_ARCHS=90 cuda-nvcc-flags)
    k=0
    for r in examples/*.nn bench/models/*.nn examples/rnnlm.nn:0 examples/rnnlm.nn:2:64 tests/cuda/models/approx_all.nn \
        tests/batch/models/nested_dyn.nn:2:3 tests/batch/models/selfattn.nn:2:3 examples/skipgram.nn@neg:k=3 \
        examples/skipgram.nn@hier; do
        k=$((k + 1)) j=$tmp/nv/$k
        sm=""
        case $r in *@*) sm=--softmax=${r#*@} r=${r%@*} ;; esac
        f=${r%%:*} o=2 bf=""
        case $r in *:*:*) bf=--batch=${r##*:} ;; *:*) o=${r##*:} ;; esac
        mkdir -p "$j"
        echo "nvcc: $f -O$o $bf $sm --target=cuda for sm_90 with -Werror all-warnings, no register spills" \
            >"$j/label"
        # shellcheck disable=SC2086
        {
            build/nngc -O$o $bf $sm --target=cuda "$f" -o "$j/m.cu" >"$j/build" 2>&1 &&
                "$NVCC" $nvflags -c "$j/m.cu" -o "$j/m.o" >>"$j/build" 2>&1
            echo $? >"$j/st"
        } &
        in_pairs $k
    done
    wait
    for j in $(seq 1 $k); do
        j=$tmp/nv/$j
        if [ "$(cat "$j/st")" = 0 ]; then
            ok "$(cat "$j/label")"
        else
            notok "$(cat "$j/label")"
            detail "$j/build" 10
        fi
    done
    # -c, --shared and nngc run through nvcc: without a GPU, "no CUDA device"
    # from the runtime (NNGC_CUDA_NO_DEV_CHECK=1: past the driver's quick check)
    if build/nngc --target=cuda -c "$tmp/logreg.nn" -o "$tmp/logreg_nv.o" >"$tmp/out" 2>&1 &&
        build/nngc --target=cuda --shared "$tmp/logreg.nn" -o "$tmp/logreg_nv.so" >>"$tmp/out" 2>&1; then
        "$tmp/loadso" "$tmp/logreg_nv.so" logreg_desc >"$tmp/out" 2>&1
        st=$?
        if { [ "$st" -eq 1 ] && grep -q '^create: no CUDA device: ' "$tmp/out"; } ||
            { [ "$st" -eq 0 ] && grep -q '^created logreg' "$tmp/out"; }; then
            ok "nvcc: nngc --target=cuda -c and --shared; the library says \"no CUDA device\" or creates the model ($(head -c 60 "$tmp/out"))"
        else
            notok "nvcc: nngc --target=cuda --shared: a library that loads ($(status_text "$st"))"
            detail "$tmp/out"
        fi
    else
        notok "nvcc: nngc --target=cuda -c and --shared build"
        detail "$tmp/out" 10
    fi
    expect_run "nvcc: nngc run --target=cuda through nvcc: without a GPU, the runtime's \"no CUDA device\", exit 1 (or it runs)" \
        "$([ -e /dev/nvidiactl ] && echo 0 || echo 1)" "$([ -e /dev/nvidiactl ] && echo '^loss = ' || echo 'error: no CUDA device: ')" \
        env NNGC_CUDA_NO_DEV_CHECK=1 build/nngc run --target=cuda tests/train/models/rnnlm.nn \
        --params tests/train/fixtures/rnnlm/params.safetensors --input words=tests/train/fixtures/rnnlm/words.npy
    # a generated model linked by nvcc: without a driver, the clean error
    # (or, on a GPU, NumPy's results for tests/e2e/cases/slowimpl)
    # shellcheck disable=SC2046
    if build/nngc --target=cuda tests/e2e/cases/slowimpl/model.nn -o "$tmp/slowimpl.cu" >"$tmp/build" 2>&1 &&
        "$NVCC" $(make -s NVCC="$NVCC" cuda-nvcc-flags) -c "$tmp/slowimpl.cu" -o "$tmp/slowimpl.o" >>"$tmp/build" 2>&1 &&
        "$NVCC" $(make -s NVCC="$NVCC" cuda-nvcc-flags) -DGPU_DESC=slowimpl_desc -x cu -c tests/cuda/test_fixture.cpp \
            -o "$tmp/fixture.o" >>"$tmp/build" 2>&1 &&
        "$NVCC" $(make -s NVCC="$NVCC" cuda-nvcc-flags) "$tmp/fixture.o" "$tmp/slowimpl.o" build/cuda/libnngrt_cuda.a \
            build/libnngrt.a -lcublas -lcudart $libs -o "$tmp/fixture_slowimpl" >>"$tmp/build" 2>&1; then
        timeout "$TMO" "$tmp/fixture_slowimpl" tests/e2e/cases/slowimpl >"$tmp/out" 2>&1
        st=$?
        if [ "$st" -eq 1 ] && grep -q 'create (no CUDA device: ' "$tmp/out"; then
            ok "nvcc: a generated model without a GPU: NAME_create fails with the \"no CUDA device\" error"
        elif [ "$st" -eq 0 ]; then
            ok "nvcc: a generated model on the GPU: slowimpl as NumPy's fixture"
        else
            notok "nvcc: a generated model: neither the no-device error nor NumPy's results ($(status_text "$st"))"
            detail "$tmp/out"
        fi
    else
        notok "nvcc: a generated model links against the CUDA runtime"
        detail "$tmp/build" 10
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

# scripts/gpu-pack.sh, what scripts/gpu-check.sh needs on a bare GPU
# image (docs/CUDA.md): nngc's parser, and where pkg-config finds OpenBLAS
# a tarball whose cblas.h and libraries build and run a program alone
if sh scripts/gpu-pack.sh "$tmp/pack" >"$tmp/out" 2>&1 && [ -f "$tmp/pack/gen/parser.c" ] &&
    [ -f "$tmp/pack/gen/parser.h" ] && [ -f "$tmp/pack/gen/lexer.c" ] && [ -f "$tmp/pack/gen/lexer.h" ]; then
    ok "gpu-pack: nngc's parser as flex and bison made it"
    if [ -f "$tmp/pack/openblas.tgz" ]; then
        o=$tmp/pack/openblas
        # shellcheck disable=SC2016
        if tar -xzf "$tmp/pack/openblas.tgz" -C "$tmp/pack" &&
            printf '#include <cblas.h>\nint main(void) { float x[2] = {3, 4}; return cblas_sdot(2, x, 1, x, 1) != 25; }\n' |
            ${CC:-cc} -I"$o/include" -x c - -L"$o/lib" -lopenblas -o "$tmp/sdot" >"$tmp/out" 2>&1 &&
            LD_LIBRARY_PATH=$o/lib "$tmp/sdot" >>"$tmp/out" 2>&1 && LD_LIBRARY_PATH=$o/lib ldd "$tmp/sdot" | grep -q "$o/lib/libopenblas"; then
            ok "gpu-pack: its OpenBLAS builds and runs a program (3*3 + 4*4 = 25)"
        else
            notok "gpu-pack: its OpenBLAS builds and runs a program"
            detail "$tmp/out"
        fi
    elif pkg-config --exists openblas 2>/dev/null; then
        notok "gpu-pack: pkg-config finds OpenBLAS, but it was not packed"
        detail "$tmp/out"
    fi
else
    notok "gpu-pack: nngc's parser as flex and bison made it"
    detail "$tmp/out"
fi
expect_run "gpu-check: GPU_CHECK_PACK that is not a folder: exit 2, said" 2 "GPU_CHECK_PACK=.* is not a directory" \
    env GPU_CHECK_PACK="$tmp/nosuch" sh scripts/gpu-check.sh
# gpu-check's kernel profile: tests/cuda/ncu_top.awk on ncu's per-kernel
# summary (tests/cuda/data: kernels of two ncu runs on the H200 of
# 2026-12-04, times in us and in ms), the longest first. The numbers, by
# hand from the file's averages and invocations: 1.18 ms x 20 = 23600 us,
# 39.65 us x 20 = 793 us; in all 23600 + 793 + 13.35 x 5 + 4.98 x 26 +
# 3.37 x 10 + 7.91 x 23 + 2.31 x 50 = 24920.36 us, of which 23600 is 94.7%
if awk -v n=2 -f tests/cuda/ncu_top.awk tests/cuda/data/ncu_summary.txt >"$tmp/ncu" 2>&1 &&
    sed -n 1p "$tmp/ncu" | grep -q '^kernel time (ncu): 24920.4 us in all, 7 kernels$' &&
    sed -n 2p "$tmp/ncu" | grep -q '^ 94.7%    23600.0 us     20 x   1180.00 us  nnrt_k_scatter_add (4096, 1, 1)' &&
    sed -n 3p "$tmp/ncu" | grep -q '   793.0 us     20 x     39.65 us  nnrt_k_scatter_add (200, 1, 1)' &&
    [ "$(wc -l <"$tmp/ncu")" -eq 3 ]; then
    ok "gpu-check: ncu_top.awk orders ncu's kernels by total time (ms and us read)"
else
    notok "gpu-check: ncu_top.awk orders ncu's kernels by total time (ms and us read)"
    detail "$tmp/ncu"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
