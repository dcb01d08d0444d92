#!/bin/sh
# tests/fuzz/fuzz.sh BUILD_DIR - runs each libFuzzer target
# BUILD_DIR/fuzz/fuzz_<target> for FUZZ_SECONDS (default 60) on its seed
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
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb="$RSS" -print_final_stats=1 \
        -artifact_prefix="$B/crashes/$t-" $dict "$work" "$dir/corpus" >"$log" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$st" -eq 0 ]; then
        ok "$t: ${SECS}s, ${runs:-?} runs, no finding"
    else
        notok "$t: finding after ${runs:-?} runs (status $st); see $log and $B/crashes/"
        grep -m 3 "ERROR\|runtime error\|SUMMARY\|Test unit written" "$log" | sed 's/^/#   /'
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
