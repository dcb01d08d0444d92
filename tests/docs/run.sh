#!/bin/sh
# tests/docs/run.sh - the user documentation and the demo, against the code.
#
#   sh tests/docs/run.sh      (from anywhere; uses build/nngc, build/libnngrt.a
#                              and a C compiler; about 20 s)
#
# 1. The nn examples of README.md and docs/LANGUAGE.md. Every fenced block
#    must name its language (```nn, ```c, ```sh, ```text, ...): a bare ```
#    is a failure, so no nn example can hide from this test. Every ```nn
#    block is compiled to an object file (`nngc -c`: nngc, then the C
#    compiler on the generated C) and must compile without a diagnostic,
#    unless HTML comments on the lines right before its fence say otherwise:
#
#      <!-- not-a-program -->      not compiled: an illustration, not a whole
#                                  program (listed as "# not compiled: ...",
#                                  counted neither as passed nor as failed)
#      <!-- in-context: NAME -->   a fragment: it replaces the "# @FRAGMENT"
#                                  line of tests/docs/context/NAME.nn, and that
#                                  program is compiled
#      <!-- compile-error: TEXT --> nngc must reject it (status 1) with TEXT
#                                  in its messages
#      <!-- same-as: PATH -->      the block must also be PATH from its
#                                  `model` line on (a program the docs show
#                                  and the repository ships)
#
#    A marker whose block is not ```nn, or an unknown marker, is a failure.
#    The error examples of LANGUAGE.md's "## Errors" must be what nngc
#    prints: the first program with `hh` for `h` (the first block after the
#    heading), the same program without `+ bh` (the warning example), and
#    the same program run on an id of 10000 (`nngc run`).
# 2. The demo (scripts/demo.sh, on the shipped corpus, 1 s of training, into
#    a temporary directory): it trains on examples/data/tiny.txt and
#    evaluates on examples/data/tiny-valid.txt, says so, passes -v once, and
#    the trained model's held-out perplexity is below the untrained one.
#    With a Penn Treebank directory (a stand-in made of the shipped files,
#    via NNGC_DEMO_PTB) it trains on its train.txt and evaluates on its
#    valid.txt; with only a valid.txt there it falls back to the shipped
#    corpus. The shipped training and held-out files share no sentence, and
#    make_tiny.py regenerates both byte for byte.
# 3. Messages the other docs quote (CLI.md's errors of `nngc run` on
#    tests/cli/tiny.nn, a softmax approximation's error, OPTIMIZATIONS.md's
#    unknown pass) are what nngc prints.
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed".

cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
NNGC=${NNGC:-build/nngc}
TMO=${DOCS_TIMEOUT:-60}
CTX=tests/docs/context
DOCS="README.md docs/LANGUAGE.md"

. tests/lib.sh

need_tools docs "$NNGC"
case $NNGC in /*) ;; *) NNGC=$ROOT/$NNGC ;; esac
make_tmp docs

# ---------------------------------------------------------------- 1: doc examples

# extract FILE: writes every fenced block of FILE with language nn to
# $tmp/blocks/N.nn, one line per block to $tmp/blocks/list:
#   N|FILE|LINE|MARKERS        (MARKERS: the marker comments, ";"-separated)
# and one line per problem (bare fence, marker before a non-nn block,
# unclosed block) to $tmp/blocks/bad.
extract() {
    awk -v file="$1" -v dir="$tmp/blocks" '
        function flush_markers() { markers = "" }
        BEGIN { n = 0; inblock = 0; markers = ""
                while ((getline x < (dir "/count")) > 0) n = x }
        inblock {
            if ($0 ~ /^```[ \t]*$/) { inblock = 0; if (out != "") close(out); next }
            if (out != "") print > out
            next
        }
        /^<!--.*-->[ \t]*$/ {
            m = $0; sub(/^<!--[ \t]*/, "", m); sub(/[ \t]*-->[ \t]*$/, "", m)
            markers = markers (markers == "" ? "" : ";") m
            next
        }
        /^```/ {
            lang = $0; sub(/^```[ \t]*/, "", lang); sub(/[ \t]*$/, "", lang)
            inblock = 1; start = NR; out = ""
            if (lang == "") {
                print file ":" NR ": fenced block without a language (write ```nn, ```c, ```sh, ```text, ...)" >> (dir "/bad")
            } else if (lang == "nn") {
                n++; out = dir "/" n ".nn"
                printf "" > out
                print n "|" file "|" NR "|" markers >> (dir "/list")
            } else if (markers != "") {
                print file ":" NR ": marker <!-- " markers " --> before a ```" lang " block, not an nn one" >> (dir "/bad")
            }
            flush_markers()
            next
        }
        { flush_markers() }
        END {
            if (inblock) print file ":" start ": fenced block never closed" >> (dir "/bad")
            print n > (dir "/count")
        }
    ' "$1"
}

mkdir -p "$tmp/blocks"
: >"$tmp/blocks/list"
: >"$tmp/blocks/bad"
for f in $DOCS; do
    extract "$f"
done
if [ -s "$tmp/blocks/bad" ]; then
    notok "fenced blocks in $DOCS: every one names its language, markers only before nn blocks"
    detail "$tmp/blocks/bad" 20
else
    ok "fenced blocks in $DOCS: every one names its language, markers only before nn blocks"
fi
nblocks=$(wc -l <"$tmp/blocks/list")
if [ "$nblocks" -ge 10 ]; then
    ok "$nblocks nn blocks found in $DOCS"
else
    notok "only $nblocks nn blocks found in $DOCS (the extraction is broken?)"
fi

# check_block N FILE LINE MARKERS: one nn block against its markers.
check_block() {
    n=$1 where="$2:$3"
    src="$tmp/blocks/$n.nn"
    skip="" ctx="" want_err="" same=""
    rest=$4
    while [ -n "$rest" ]; do
        m=${rest%%;*}
        case $rest in *";"*) rest=${rest#*;} ;; *) rest="" ;; esac
        case $m in
        not-a-program) skip=1 ;;
        in-context:*) ctx=$(echo "${m#in-context:}" | sed 's/^ *//') ;;
        compile-error:*) want_err=$(echo "${m#compile-error:}" | sed 's/^ *//') ;;
        same-as:*) same=$(echo "${m#same-as:}" | sed 's/^ *//') ;;
        *)
            notok "$where: unknown marker <!-- $m -->"
            return
            ;;
        esac
    done
    if [ -n "$skip" ]; then
        echo "# not compiled (marked not-a-program): $where"
        return
    fi
    prog="$tmp/blocks/prog$n.nn"
    if [ -n "$ctx" ]; then
        if [ ! -f "$CTX/$ctx.nn" ] || ! grep -q '^# @FRAGMENT$' "$CTX/$ctx.nn"; then
            notok "$where: context $CTX/$ctx.nn missing or without a '# @FRAGMENT' line"
            return
        fi
        awk -v frag="$src" '$0 == "# @FRAGMENT" { while ((getline l < frag) > 0) print l; next } { print }' \
            "$CTX/$ctx.nn" >"$prog"
        what="$where (in $CTX/$ctx.nn)"
    else
        cp "$src" "$prog"
        what=$where
    fi
    if [ -n "$same" ]; then
        if sed -n '/^model /,$p' "$same" | cmp -s - "$src"; then
            ok "$where is $same"
        else
            notok "$where is not $same (from its model line on)"
            sed -n '/^model /,$p' "$same" | diff - "$src" >"$tmp/diff"
            detail "$tmp/diff" 10
        fi
    fi
    timeout "$TMO" "$NNGC" -c "$prog" -o "$tmp/blocks/prog$n.o" >"$tmp/out" 2>&1
    st=$?
    if [ -n "$want_err" ]; then
        if [ $st -eq 1 ] && grep -qF -- "$want_err" "$tmp/out" && ! grep -q "internal error" "$tmp/out"; then
            ok "$what: rejected with '$want_err'"
        else
            notok "$what: expected status 1 and '$want_err', got $(status_text $st)"
            detail "$tmp/out"
        fi
    elif [ $st -eq 0 ] && [ ! -s "$tmp/out" ]; then
        ok "$what compiles (nngc -c)"
    else
        notok "$what does not compile cleanly: $(status_text $st)"
        detail "$tmp/out"
    fi
}

while IFS='|' read -r n file line markers; do
    check_block "$n" "$file" "$line" "$markers"
done <"$tmp/blocks/list"

# printed_example WHAT SED START STATUS: LANGUAGE.md's first program edited
# by SED, compiled as rnnlm.nn, must exit with STATUS and print the first
# block after the line that starts with START.
first=$(awk -F'|' '$2 == "docs/LANGUAGE.md" { print $1; exit }' "$tmp/blocks/list")
mkdir -p "$tmp/err"
printed_example() {
    sed "$2" "$tmp/blocks/$first.nn" >"$tmp/err/rnnlm.nn"
    awk -v start="$3" 'index($0, start) == 1 { e = 1; next } e && /^```/ { if (b) exit; b = 1; next } b { print }' \
        docs/LANGUAGE.md >"$tmp/err/want"
    (cd "$tmp/err" && "$NNGC" rnnlm.nn -o out.c >/dev/null 2>got)
    st=$?
    if [ $st -eq "$4" ] && [ -s "$tmp/err/want" ] && cmp -s "$tmp/err/want" "$tmp/err/got"; then
        ok "docs/LANGUAGE.md: the $1 example is what nngc prints"
    else
        notok "docs/LANGUAGE.md: the $1 example is not what nngc prints ($(status_text $st))"
        diff "$tmp/err/want" "$tmp/err/got" >"$tmp/diff"
        detail "$tmp/diff" 10
    fi
}
# `Wh @ hh`: the first block after "## Errors"; without `+ bh`: the block
# after the paragraph on warnings (which compiles)
printed_example error 's/Wh @ h + bh/Wh @ hh + bh/' "## Errors" 1
printed_example warning 's/Wh @ h + bh)/Wh @ h)/' "Warnings do not stop" 0

# The run-time error example: the same program on ids with 10000 in them.
want="rnnlm.nn:16:17: index 10000 out of range [0, 10000)"
python3 -c '
import struct, sys
h = "{\x27descr\x27: \x27<i4\x27, \x27fortran_order\x27: False, \x27shape\x27: (6,), }"
h += " " * (63 - (10 + len(h)) % 64) + "\n"
sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<6i", 0, 57, 10000, 9, 88, 0))
' >"$tmp/err/bad.npy"
cp "$tmp/blocks/$first.nn" "$tmp/err/rnnlm.nn"
(cd "$tmp/err" && timeout "$TMO" "$NNGC" run rnnlm.nn --input words=bad.npy >out 2>&1)
st=$?
if grep -qF "\`$want\`" docs/LANGUAGE.md && [ $st -eq 1 ] && grep -qF "$want" "$tmp/err/out"; then
    ok "docs/LANGUAGE.md: the run-time error example is what the model reports"
else
    notok "docs/LANGUAGE.md: the run-time error example '$want' ($(status_text $st))"
    detail "$tmp/err/out"
fi

# ---------------------------------------------------------------- 2: the demo

# demo NAME PTBDIR: runs the demo into $tmp/demo with 1 s of training, on
# PTBDIR as the Penn Treebank (empty: none); output in $tmp/NAME.log.
demo() {
    NNGC_DEMO_PTB=$2 NNGC_DEMO_SECONDS=1 NNGC_DEMO_SENTENCES=50 NNGC_DEMO_LINES=100 NNGC_DEMO_EPOCHS=1 NNGC_DEMO_OUT="$tmp/demo" \
        timeout 300 sh scripts/demo.sh >"$tmp/$1.log" 2>&1
}

# check_data NAME TRAIN VALID: the demo's log says it trains on TRAIN and
# evaluates on VALID, and the app's own lines agree.
check_data() {
    log="$tmp/$1.log"
    if grep -qxF "  train on $2 (also the vocabulary)" "$log" &&
        grep -q "^  evaluate on $3 " "$log" &&
        grep -q "^data: train on $2, evaluate on $3 " "$log" &&
        grep -q "^training for 1 s on $2 " "$log" &&
        [ "$(grep -c "^evaluated on: $3\$" "$log")" -eq 2 ] &&
        ! grep -q "^evaluated on: $2\$" "$log"; then
        ok "demo ($1): trains on $2, evaluates on $3, and says so"
    else
        notok "demo ($1): does not train on $2 and evaluate on $3 (or does not say so)"
        grep -e "train on" -e "evaluate on" -e "^training for" -e "^evaluated on" "$log" >"$tmp/lines"
        detail "$tmp/lines" 10
    fi
}

if demo shipped ""; then
    ok "demo on the shipped corpus runs (NNGC_DEMO_SECONDS=1)"
    check_data shipped examples/data/tiny.txt examples/data/tiny-valid.txt
    # the app's command lines, as the demo echoes them: one -v each
    if grep "rnnlm_app " "$tmp/shipped.log" | grep -q -e '-v .* -v '; then
        notok "demo: a command passes -v twice"
        grep "rnnlm_app " "$tmp/shipped.log" >"$tmp/lines"
        detail "$tmp/lines"
    else
        ok "demo: every command it prints passes -v once"
    fi
    # untrained (step 3) against trained (step 4) on the held-out text
    sed -n 's/^loss per predicted token: .* perplexity: \([0-9.]*\)$/\1/p' "$tmp/shipped.log" >"$tmp/ppl"
    if [ "$(wc -l <"$tmp/ppl")" -eq 2 ] && awk 'NR == 1 { a = $1 } NR == 2 { b = $1 } END { exit !(b < a && a > 9000 && a < 11000) }' "$tmp/ppl"; then
        ok "demo: held-out perplexity near V untrained, lower after training ($(tr '\n' ' ' <"$tmp/ppl"))"
    else
        notok "demo: held-out perplexities $(tr '\n' ' ' <"$tmp/ppl")(want about V = 10000, then lower)"
    fi
else
    notok "demo on the shipped corpus: $(status_text $?)"
    tail -n 5 "$tmp/shipped.log" >"$tmp/lines"
    detail "$tmp/lines"
fi

# a stand-in Penn Treebank directory: the shipped files under PTB's names
mkdir -p "$tmp/ptb"
cp examples/data/tiny.txt "$tmp/ptb/train.txt"
cp examples/data/tiny-valid.txt "$tmp/ptb/valid.txt"
ptb=$(cd "$tmp/ptb" && pwd)
if demo ptb "$ptb"; then
    check_data ptb "$ptb/train.txt" "$ptb/valid.txt"
else
    notok "demo with a Penn Treebank directory: $(status_text $?)"
fi
rm "$ptb/train.txt"
if demo ptb-valid-only "$ptb"; then
    check_data ptb-valid-only examples/data/tiny.txt examples/data/tiny-valid.txt
else
    notok "demo with a Penn Treebank directory holding only valid.txt: $(status_text $?)"
fi

# the shipped split
if [ -z "$(sort -u examples/data/tiny.txt | comm -12 - "$(sort -u examples/data/tiny-valid.txt >"$tmp/v" && echo "$tmp/v")")" ] &&
    [ -s examples/data/tiny-valid.txt ]; then
    ok "examples/data: tiny-valid.txt shares no sentence with tiny.txt"
else
    notok "examples/data: tiny-valid.txt shares sentences with tiny.txt"
fi
mkdir -p "$tmp/gen"
cp examples/data/make_tiny.py "$tmp/gen/"
if python3 "$tmp/gen/make_tiny.py" && cmp -s "$tmp/gen/tiny.txt" examples/data/tiny.txt &&
    cmp -s "$tmp/gen/tiny-valid.txt" examples/data/tiny-valid.txt; then
    ok "examples/data/make_tiny.py regenerates tiny.txt and tiny-valid.txt byte for byte"
else
    notok "examples/data/make_tiny.py does not regenerate tiny.txt and tiny-valid.txt"
fi

# ---------------------------------------------------------------- 3: quoted messages

# quoted DOC DIR TEXT CMD...: DOC quotes TEXT, and CMD, run in DIR, exits
# with status 1 or 2 and prints TEXT.
quoted() {
    doc=$1 dir=$2 text=$3
    shift 3
    (cd "$dir" && timeout "$TMO" "$@" >"$tmp/q.out" 2>&1)
    st=$?
    if ! grep -qF -- "$text" "$doc"; then
        notok "$doc: does not quote '$text' (any more)"
    elif [ $st -ne 1 ] && [ $st -ne 2 ]; then
        notok "$doc: '$text': $(status_text $st)"
        detail "$tmp/q.out"
    elif ! grep -qF -- "$text" "$tmp/q.out"; then
        notok "$doc: nngc does not print '$text'"
        detail "$tmp/q.out"
    else
        ok "$doc: '$text' is what nngc prints"
    fi
}
c=tests/cli
quoted docs/CLI.md $c "nngc: error: model tiny has no input 'foo' (its inputs: words, x, c)" \
    "$NNGC" run tiny.nn --input foo=data/x.npy
quoted docs/CLI.md $c "nngc: error: missing input 'c' (input c : int): give it with --input c=FILE.npy" \
    "$NNGC" run tiny.nn --input words=data/words.npy --input x=data/x.npy
quoted docs/CLI.md $c "nngc: error: input 'x': x_int.npy holds int32 data, but x is float32 (input x : [D])" \
    sh -c 'cd data && "$0" run ../tiny.nn --input words=words.npy --input x=x_int.npy --input c=c.npy' "$NNGC"
quoted docs/CLI.md $c "nngc: error: input 'x': x_2d.npy has rank 2 (shape (1, 2)), but x has rank 1 ([D])" \
    sh -c 'cd data && "$0" run ../tiny.nn --input words=words.npy --input x=x_2d.npy --input c=c.npy' "$NNGC"
quoted docs/CLI.md $c "nngc: error: x: axis 0 has 3 elements, expected 2 (x is [D], T = 3)" \
    "$NNGC" run tiny.nn --input words=data/words.npy --input x=data/x_3.npy --input c=data/c.npy
quoted docs/CLI.md $c "tiny.nn:16:15: index 7 out of range [0, 4)" \
    "$NNGC" run tiny.nn --input words=data/words_badid.npy --input x=data/x.npy --input c=data/c.npy
quoted docs/CLI.md examples \
    "skipgram.nn:16:11: error: softmax approximation 'class' (from --softmax=class:c=20000) needs c <= V (20000 classes for 10000 words)" \
    "$NNGC" skipgram.nn --softmax=class:c=20000 -o "$tmp/sg.c"
quoted docs/OPTIMIZATIONS.md examples \
    "nngc: error: unknown pass 'bogus' in --passes (valid passes: softmax, fold, cse, hoist, batch, rows, dce, fuse, select, par)" \
    "$NNGC" --passes=hoist,bogus rnnlm.nn

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
