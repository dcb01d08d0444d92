#!/bin/sh
# tests/limits/run.sh - the compiler's limits: what must stay fast on big
# or deep programs, and the errors found at compile time that would
# otherwise wait for run time.
#
#   sh tests/limits/run.sh            (from anywhere; uses build/nngc)
#
# Checks:
#   - deep_def_shared.nn: def fK(a) = fK-1(a) + fK-1(a), 20 levels: compiles
#     in under 10 s and lowers to a few nodes (a def applied to the same
#     argument nodes is inlined once);
#   - deep_def_budget.nn: the same with fK-1(-a) as the second call (2^20
#     different copies): rejected in under 10 s with the growth-budget
#     diagnostic naming the defs being inlined;
#   - 100000 chained statements `h = tanh(W @ h)` (generated): compile at
#     -O2 within LIMITS_BIG_TIMEOUT (30 s; about 5 s on a 2-core machine):
#     a compile time quadratic in the program's length fails it;
#   - a loop body of 8000 statements (generated), trained: the same within
#     LIMITS_BIG_TIMEOUT (4 times that in a sanitizer build);
#   - 20000 chained statements, trained, 1000 params, inputs and
#     outputs, trained, and 4000 loops in a row, trained (generated): the
#     same;
#   - concat_ids/: concat of int vectors (an id vector built in the
#     language) and of float matrices, run at -O0 and -O2 against the
#     hand-computed outputs of concat_ids/make_data.py (checked in);
#   - every other *.nn here with "# expect: LINE:COL: error: SUBSTRING"
#     lines is rejected (status 1, in 5 s) with those diagnostics; one
#     without expect lines must compile.
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed";
# exits 1 if any failed.

cd "$(dirname "$0")/../.." || exit 1
NNGC=${NNGC:-build/nngc}
DIR=tests/limits
BIG_TMO=${LIMITS_BIG_TIMEOUT:-30}

. tests/lib.sh

NPYCMP=${NPYCMP:-build/npycmp}
need_tools limits "$NNGC" "$NPYCMP"
make_tmp limits

# run TMO ARGS...: nngc with a timeout; status in st, stderr in $tmp/err
run() {
    TMO=$1
    shift
    timeout "$TMO" "$NNGC" "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
}

# ---------------------------------------------------------------- deep defs

run 10 --dump-ir=lower $DIR/deep_def_shared.nn
nodes=$(grep -c '^%' "$tmp/out")
if [ $st -eq 0 ] && [ "$nodes" -le 30 ]; then
    ok "limits: 20 levels of defs calling the next twice with the same argument: $nodes nodes"
else
    notok "limits: 20 levels of defs calling the next twice with the same argument ($(status_text $st), $nodes nodes)"
    detail "$tmp/err"
fi

run 10 $DIR/deep_def_budget.nn -o "$tmp/x.c"
if [ $st -eq 1 ] && grep -q "deep_def_budget.nn:8:12: error: inlining 'f0' here would inline more than" "$tmp/err" &&
    grep -q "note: inside def 'f20', being inlined" "$tmp/err" && ! grep -q "internal error" "$tmp/err"; then
    ok "limits: 2^20 different inlined copies: the growth budget's diagnostic"
else
    notok "limits: 2^20 different inlined copies: the growth budget's diagnostic ($(status_text $st))"
    detail "$tmp/err"
fi

# ---------------------------------------------------------------- long programs

{
    echo "model chain"
    echo "dim H = 8"
    echo "param W : [H, H]"
    echo "input x : [H]"
    echo "h = x"
    awk 'BEGIN { for (i = 0; i < 100000; i++) print "h = tanh(W @ h)" }'
    echo "output h"
} >"$tmp/chain.nn"
# compiles_within TMO NAME WHAT: NAME.nn in $tmp compiles at -O2 within TMO s
compiles_within() {
    run "$1" -O2 "$tmp/$2.nn" -o "$tmp/$2.c"
    if [ $st -eq 0 ] && [ -s "$tmp/$2.c" ]; then
        ok "limits: $3 compile at -O2 within ${1}s"
    else
        notok "limits: $3 compile at -O2 within ${1}s ($(status_text $st))"
        detail "$tmp/err"
    fi
}
compiles_within "$BIG_TMO" chain "100000 chained statements"

# 8000 statements in a loop body, trained: the batch pass moves each out of
# the loop (it walked the whole graph once per value moved: 3000 took 59 s;
# then it counted the body's uses of each value it batched, searched the
# loop's results and the body for each: 8000 took 55 s, 4.4 s now); a
# sanitizer build gets 4 times as long
{
    echo "model body"
    echo "dim T max 10"
    echo "dim D = 8"
    echo "param W : [D, D]"
    echo "param U : [D, D]"
    echo "input x : [T, D]"
    echo "h = zeros([D])"
    echo "for t in 0..T {"
    echo "  a0 = W @ x[t]"
    awk 'BEGIN { for (i = 1; i < 8000; i++) printf "  a%d = tanh(U @ a%d + x[t])\n", i, i - 1 }'
    echo "  h = tanh(a7999 + U @ h)"
    echo "}"
    echo "loss += sum(h)"
} >"$tmp/body.nn"
body_tmo=$BIG_TMO
[ "${BUILD:-build}" = build ] || body_tmo=$((BIG_TMO * 4))
compiles_within "$body_tmo" body "8000 statements of a loop body, trained,"

# 20000 chained statements, trained: the gradient's position searched per
# param and per top-level node when emitting (cubic), its 20000 operands
# printed one xsprintf each (quadratic, 2 GB), the memory plan comparing
# each buffer with every live one, a leaf put at the head of the top block
# shifting it: 114 s before, 5 s now
{
    echo "model chaintrain"
    echo "dim H = 8"
    echo "param W : [H, H]"
    echo "input x : [H]"
    echo "h = x"
    awk 'BEGIN { for (i = 0; i < 20000; i++) print "h = tanh(W @ h)" }'
    echo "loss += sum(h)"
} >"$tmp/chaintrain.nn"
compiles_within "$body_tmo" chaintrain "20000 chained statements, trained,"

# 1000 params, inputs and outputs, trained: the search above made it 81 s
{
    echo "model decls"
    awk 'BEGIN { n = 1000
        for (i = 0; i < n; i++) printf "param W%d : [4, 4]\n", i
        for (i = 0; i < n; i++) printf "input x%d : [4]\n", i
        for (i = 0; i < n; i++) printf "o%d = tanh(W%d @ x%d)\n", i, i, i
        for (i = 0; i < n; i++) printf "loss += sum(o%d)\n", i
        for (i = 0; i < n; i++) printf "output o%d\n", i }'
} >"$tmp/decls.nn"
compiles_within "$body_tmo" decls "1000 params, inputs and outputs, trained,"

# 4000 loops in a row, each feeding the next, trained (8000 loops with the
# reverse ones): batch replaced each loop's results in a walk of the whole
# graph and searched its block per loop, autodiff and par walked the rest
# of the block per loop: 74 s before (3200: 38 s), about 3 s now
{
    echo "model loops"
    echo "dim T max 10"
    echo "param W : [8, 8]"
    echo "input x : [T, 8]"
    echo "h = zeros([8])"
    awk 'BEGIN { for (i = 0; i < 4000; i++) print "for t in 0..T {\n  h = tanh(W @ h + x[t])\n  loss += sum(h)\n}" }'
} >"$tmp/loops.nn"
compiles_within "$body_tmo" loops "4000 loops in a row, trained,"

# ---------------------------------------------------------------- concat of ids

C=$DIR/concat_ids
for o in -O0 -O2; do
    rm -rf "$tmp/cc"
    run 60 run $C/model.nn $o --input E=$C/in_E.npy --input a=$C/in_a.npy --input b=$C/in_b.npy --out "$tmp/cc"
    if [ $st -eq 0 ] && "$NPYCMP" "$tmp/cc/rows.npy" $C/expect_rows.npy >"$tmp/cmp" 2>&1 &&
        "$NPYCMP" "$tmp/cc/both.npy" $C/expect_both.npy >>"$tmp/cmp" 2>&1; then
        ok "limits: concat of int ids and of float rows at $o"
    else
        notok "limits: concat of int ids and of float rows at $o ($(status_text $st))"
        detail "$tmp/err"
        detail "$tmp/cmp"
    fi
done

# ---------------------------------------------------------------- compile-time errors

for f in $DIR/*.nn; do
    name=${f##*/}
    case $name in deep_def_*) continue ;; esac
    run 5 "$f" -o "$tmp/x.c"
    expects=$(sed -n 's/^# expect: //p' "$f")
    if [ -z "$expects" ]; then
        if [ $st -eq 0 ]; then ok "limits: $name compiles"; else notok "limits: $name compiles ($(status_text $st))"; detail "$tmp/err"; fi
        continue
    fi
    good=true
    [ $st -eq 1 ] || good=false
    grep -q "internal error" "$tmp/err" && good=false
    echo "$expects" >"$tmp/expects"
    while IFS= read -r e; do
        loc=${e%%: error: *}
        want=${e#*: error: }
        grep -F "$f:$loc: error: " "$tmp/err" | grep -qF "$want" || good=false
    done <"$tmp/expects"
    if $good; then ok "limits: $name rejected at compile time"; else notok "limits: $name rejected at compile time ($(status_text $st))"; detail "$tmp/err"; fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
