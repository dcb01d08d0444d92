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
}
