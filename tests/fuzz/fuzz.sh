#!/bin/sh
# tests/fuzz/fuzz.sh BUILD_DIR - runs each libFuzzer target
# BUILD_DIR/fuzz/fuzz_<target> for FUZZ_SECONDS (default 60; FUZZ_SMOKE=1:
# a fixed seed and number of runs, see below) on its seed
# corpus tests/fuzz/<target>/corpus/ with its dictionary
# tests/fuzz/<target>/dict. New inputs go to BUILD_DIR/fuzz-corpus/<target>
# (the checked-in corpus stays as it is), a crash to
# BUILD_DIR/crashes/<target>-crash-*. Copy a crash into the target's
# corpus/ once it is fixed: tests/fuzz/run.sh then replays it in every
# `make test`. FUZZ_TARGETS="npy npz" limits the targets (default: all),
# run one after another.
# Ends with "N passed, N failed" (a target passes when it ran its time
# without a finding).
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
. tests/lib.sh
# libFuzzer's own limits: a slow input or a huge allocation is a finding too
RSS=${FUZZ_RSS_MB:-2048}
mkdir -p "$B/crashes"

for dir in tests/fuzz/*/; do
    t=$(basename "$dir")
    [ -d "$dir/corpus" ] || continue
    case " ${FUZZ_TARGETS:-$t} " in *" $t "*) ;; *) continue ;; esac
    bin=$B/fuzz/fuzz_$t
    need_tools fuzz "$bin"
    work=$B/fuzz-corpus/$t
    mkdir -p "$work"
    dict=
    [ -f "$dir/dict" ] && dict=-dict=$dir/dict
    log=$B/fuzz-$t.log
    # FUZZ_SMOKE=1 (CI): a fixed seed and a fixed number of runs
    # (tests/fuzz/<target>/smoke_runs, about 10 s each), so that a CI run
    # tries the same inputs every time: a finding there is reproducible,
    # never luck. Otherwise FUZZ_SECONDS of fresh random search.
    # The same inputs need the same coverage for each: the compiler's hash
    # tables hash pointers, so a smoke run goes without address space
    # randomization (setarch -R, where the system allows it), and without
    # -reload (a rescan of the corpus folder every second: timing). Then
    # a checkout tries the same inputs at every run; another checkout
    # (another path: libFuzzer's own allocations move the heap) may see
    # other coverage of the frontend target and try other inputs from the
    # first few hundred runs on: a finding in CI is replayed from the
    # input its report prints (below), not by running this again here.
    limit="-max_total_time=$SECS"
    norand=""
    if [ -n "${FUZZ_SMOKE:-}" ]; then
        limit="-seed=1 -runs=$(cat "$dir/smoke_runs" 2>/dev/null || echo 10000) -max_total_time=120 -reload=0"
        work=$B/fuzz-corpus/smoke-$t
        rm -rf "$work"
        mkdir -p "$work"
        setarch "$(uname -m)" -R true 2>/dev/null && norand="setarch $(uname -m) -R"
    fi
    $norand "$bin" $limit -timeout=10 -rss_limit_mb="$RSS" -print_final_stats=1 \
        -artifact_prefix="$B/crashes/$t-" $dict "$work" "$dir/corpus" >"$log" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$st" -eq 0 ]; then
        ok "$t: ${runs:-?} runs, no finding${norand:+ (no address randomization)}"
    else
        notok "$t: finding after ${runs:-?} runs (status $st); see $log and $B/crashes/"
        grep -m 3 "ERROR\|runtime error\|SUMMARY\|Test unit written" "$log" | sed 's/^/#   /'
        # the input itself (base64, the first 600 bytes), so that a finding
        # of a run elsewhere (CI) can be replayed from its log alone:
        # base64 -d >x; BUILD/fuzz/fuzz_<target> x
        unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        [ -f "$unit" ] && echo "#   input (base64): $(head -c 600 "$unit" | base64 -w 0)"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
