#!/bin/sh
# tests/fuzz/run.sh - replays every fuzz target's corpus in the normal test
# suite: tests/fuzz/<target>/corpus/ holds the seeds and every input that
# ever crashed a target (a regression case each). The replay programs
# ($BUILD/fuzz/replay_<target>, built by `make`) call the target once per
# file without libFuzzer, so any compiler builds them, and the sanitizer
# builds (make SANITIZE=address,undefined test) check each input under ASan
# and UBSan. A crash, an abort or a sanitizer report fails the target.
# Fuzzing itself is tests/fuzz/fuzz.sh (make fuzz). Ends with "N passed,
# N failed".
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
TMO=${FUZZ_REPLAY_TIMEOUT:-300}
. tests/lib.sh
make_tmp fuzz

for dir in tests/fuzz/*/; do
    t=$(basename "$dir")
    [ -d "$dir/corpus" ] || continue
    bin=$BUILD/fuzz/replay_$t
    need_tools fuzz "$bin"
    n=$(ls "$dir/corpus" | wc -l)
    timeout "$TMO" "$bin" "$dir"/corpus/* >"$tmp/$t" 2>&1
    st=$?
    if [ "$st" -eq 0 ] && ! grep -q "runtime error\|ERROR: .*Sanitizer" "$tmp/$t"; then
        ok "$t: $n corpus files replayed"
    else
        notok "$t: replaying $n corpus files: $(status_text $st)"
        detail "$tmp/$t" 20
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
