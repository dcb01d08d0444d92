# tests/lib.sh - what the script suites share; sourced by tests/*/run.sh
# after they cd to the repository root.
#
#   ok NAME / notok NAME        count a check and print "ok - NAME" /
#                               "not ok - NAME" (counters: pass, fail)
#   detail FILE [N]             the first N (5) lines of FILE, indented,
#                               under a failure line
#   status_text STATUS          an exit status in words (uses TMO, the
#                               suite's timeout in seconds)
#   need_tools SUITE TOOL...    every TOOL executable, or a failed check
#                               and exit 1
#   make_tmp SUITE              sets tmp to a fresh directory removed at exit

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1"; }
detail() { head -n "${2:-5}" "$1" | cut -c 1-160 | sed 's/^/#   /'; }

status_text() {
    if [ "$1" -eq 124 ]; then
        echo "timed out after ${TMO}s"
    elif [ "$1" -ge 128 ]; then
        echo "crashed (status $1)"
    else
        echo "exit status $1"
    fi
}

need_tools() {
    suite=$1
    shift
    for tool in "$@"; do
        if [ ! -x "$tool" ]; then
            echo "$suite: $tool not built (run make)" >&2
            notok "$suite: $tool exists"
            echo "$pass passed, $fail failed"
            exit 1
        fi
    done
}

make_tmp() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/nngc-$1.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT HUP INT TERM
    own_cache "$tmp"
}

# own_cache DIR: nngc's build cache (docs/CLI.md) in DIR/cache unless the
# caller gave one (tests/run_all.sh: one for all the suites), never the
# user's ~/.cache
own_cache() {
    NNGC_CACHE_DIR=${NNGC_CACHE_DIR:-$1/cache}
    export NNGC_CACHE_DIR
}

# run_ok NAME CMD...: ok when CMD exits 0 within $TMO s and printed no
# sanitizer report (its stdout and stderr in $tmp/out); else not ok, with
# the first ${DETAIL:-20} lines of the output.
run_ok() {
    name=$1
    shift
    timeout "$TMO" "$@" >"$tmp/out" 2>&1
    st=$?
    if [ "$st" -eq 0 ] && ! grep -q "ThreadSanitizer\|Sanitizer:" "$tmp/out"; then
        ok "$name"
        return 0
    fi
    notok "$name ($(status_text $st))"
    detail "$tmp/out" "${DETAIL:-20}"
    return 1
}

# tap_count OUT ERR STATUS LABEL [LINES]: adds the "ok - " / "not ok - "
# lines a test program wrote to OUT to pass / fail; a non-zero STATUS with
# no "not ok" line, or anything on ERR, is one more failure named LABEL
# (with the first LINES, default 20, lines of ERR).
tap_count() {
    p=$(grep -c '^ok - ' "$1")
    f=$(grep -c '^not ok - ' "$1")
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ] || [ -s "$2" ]; then
        notok "$4: $(status_text "$3")"
        detail "$2" "${5:-20}"
    fi
}
