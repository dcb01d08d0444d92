#!/bin/sh
# tests/errors/run.sh - the bad-input catalogue: every file here must be
# rejected with the right diagnostics, quickly and without a crash.
#
#   sh tests/errors/run.sh            (from anywhere; uses build/nngc)
#
# Each tests/errors/<name>.nn is one bad program. Its comment lines
#
#   # expect: LINE:COL: error: SUBSTRING
#
# (one or more) name the diagnostics it must produce, and no other error
# (an error that only follows from an earlier one is noise). For each file we run
# `nngc FILE -o TMP/out.c` and check that
#   - it exits with status 1 (not 0, not a signal: status < 128) within 5 s;
#   - for every expect line, some stderr line starts with
#     "tests/errors/<name>.nn:LINE:COL: error: " and contains SUBSTRING;
#     "..." in SUBSTRING stands for any text ("shape mismatch...[3]...[4]"
#     asks for the three parts in that order);
#   - stderr never says "internal error" (that is a compiler bug, not a
#     diagnostic).
# A few inputs cannot be committed as files (an empty file would need an
# expect comment; binary files do not belong in git; 100000 '(' would be a
# silly file): the runner generates them into a temporary directory and
# checks them the same way, at any location.
#
# Location conventions (the compiler implements these; the expectations in
# this directory follow them). LINE and COL are 1-based, COL counts bytes.
#   - binary operators (@ + - * /) and `+=`: the operator token;
#   - indexing a[i]: the '[';
#   - calls (wrong arity, `with` on a call that is not a softmax,
#     recursion): the callee's name; an argument of the wrong type: the
#     argument;
#   - undefined names and dims: the name; duplicates: the second
#     declaration's name; a bad rebinding: the bound name; a row write
#     hs[i] outside the loop of i: the index;
#   - unknown init / optimizer / optimizer argument / softmax method: its name;
#   - numbers out of range (literal overflow, `dim T max 0`): the number;
#     a dim expression that overflows: its operator;
#   - syntax errors: the unexpected token; an unclosed '(': the '(' that
#     opened it; an unexpected character: that character;
#   - a missing `model` line: the first token of the file; a missing import:
#     the string after `import`.
#
# Prints one "ok - NAME" / "not ok - NAME" line per file, then
# "N passed, N failed"; exits 1 if any failed.

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
TMO=${ERRORS_TIMEOUT:-5}
DIR=tests/errors

. tests/lib.sh

need_tools errors "$NNGC"
make_tmp errors

# has_diag PREFIX SUBSTRING: does $tmp/err have a line that starts with
# PREFIX and then contains the "..."-separated parts of SUBSTRING in order?
has_diag() {
    awk -v prefix="$1" -v want="$2" '
        BEGIN { n = split(want, part, /\.\.\./) }
        index($0, prefix) == 1 {
            rest = substr($0, length(prefix) + 1)
            for (i = 1; i <= n; i++) {
                p = index(rest, part[i])
                if (p == 0) next
                rest = substr(rest, p + length(part[i]))
            }
            found = 1
            exit
        }
        END { exit !found }' "$tmp/err"
}

# compile FILE: runs the compiler on FILE; sets st and why ("" if the
# status is the expected 1).
compile() {
    timeout "$TMO" "$NNGC" "$1" -o "$tmp/out.c" >"$tmp/out" 2>"$tmp/err"
    st=$?
    why=""
    if [ $st -eq 124 ]; then
        why="timed out after ${TMO}s"
    elif [ $st -ge 128 ]; then
        why="crashed (status $st)"
    elif [ $st -ne 1 ]; then
        why="exit status $st, expected 1"
    elif grep -q "internal error" "$tmp/err"; then
        why="internal error"
    fi
}

# show: the first lines of stderr, as TAP-style comments.
show() { head -n 8 "$tmp/err" | cut -c 1-160 | sed 's/^/#   /'; }

# ---------------------------------------------------------------- the catalogue

for f in "$DIR"/*.nn; do
    [ -e "$f" ] || continue
    name=${f##*/}
    name=${name%.nn}
    grep '^# expect: ' "$f" >"$tmp/expects"
    if [ ! -s "$tmp/expects" ]; then
        notok "errors/$name: no '# expect:' line in $f"
        continue
    fi
    compile "$f"
    if [ -n "$why" ]; then
        notok "errors/$name: $why"
        show
        continue
    fi
    missing=""
    # each line: "# expect: LINE:COL: error: SUBSTRING"
    while IFS= read -r line; do
        spec=${line#\# expect: }
        loc=${spec%%: error: *}
        want=${spec#*: error: }
        if ! has_diag "$f:$loc: error: " "$want"; then
            missing="$missing
#   missing: $f:$loc: error: ...$want..."
        fi
    done <"$tmp/expects"
    # no follow-on errors: as many errors as expect lines
    nexp=$(wc -l <"$tmp/expects")
    nerr=$(grep -c ": error: " "$tmp/err")
    if [ -z "$missing" ] && [ "$nerr" -ne "$nexp" ]; then
        missing="
#   $nerr errors where $nexp are expected (a follow-on error?)"
    fi
    if [ -z "$missing" ]; then
        ok "errors/$name"
    else
        notok "errors/$name"
        echo "$missing" | sed '/^$/d'
        show
    fi
done

# ---------------------------------------------------------------- generated inputs

# gen_case NAME SUBSTRING: $tmp/NAME.nn must be rejected with an error that
# names the file and contains SUBSTRING (at any location).
gen_case() {
    compile "$tmp/$1.nn"
    if [ -n "$why" ]; then
        notok "errors/$1 (generated): $why"
        show
    elif ! grep -F -- "$tmp/$1.nn:" "$tmp/err" | grep -F "error: " | grep -qF -- "$2"; then
        notok "errors/$1 (generated): no \"$tmp/$1.nn:...error: ...$2\" on stderr"
        show
    else
        ok "errors/$1 (generated)"
    fi
}

: >"$tmp/empty.nn"
gen_case empty "empty"

# an ELF-like header: NUL bytes and control characters
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000>\000' >"$tmp/binary.nn"
gen_case binary "binary"

# 100000 '(' : the parser must stop at its nesting limit, not overflow the stack
{
    printf 'model deep\ndim D = 4\ninput x : [D]\noutput y\ny = '
    head -c 100000 /dev/zero | tr '\0' '('
    printf 'x\n'
} >"$tmp/deep_parens.nn"
gen_case deep_parens "too deeply nested"

# 100000 unary minus signs: the same limit, through another grammar rule
{
    printf 'model deep\ndim D = 4\ninput x : [D]\noutput y\ny = '
    head -c 100000 /dev/zero | tr '\0' '-'
    printf 'x\n'
} >"$tmp/deep_minus.nn"
gen_case deep_minus "too deeply nested"

# a file that does not exist: an error naming it, not a crash
compile "$tmp/no_such_file.nn"
if [ -n "$why" ]; then
    notok "errors/no_such_file (generated): $why"
    show
elif ! grep -qF -- "no_such_file.nn" "$tmp/err"; then
    notok "errors/no_such_file (generated): the message does not name the file"
    show
else
    ok "errors/no_such_file (generated)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
