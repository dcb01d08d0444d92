#!/bin/sh
# test/check.sh APP - tests rnnlm_app built against the fake model
# (fake_rnnlm.c: T max 4, loss exactly T * ln V). The expected ids and totals
# below were worked out by hand from the rules in rnnlm_app.c's header
# comment: 0 = <s>, 1 = <unk>, then words by falling count, ties
# alphabetical; windows of at most T + 1 = 5 ids overlapping by one.
set -u
APP=${1:?usage: check.sh path/to/rnnlm_app}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlm-app-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; fails=$((fails + 1)); }

# counts: a 4, b 4, c 1, q 1, z 1 -> a=2 b=3 c=4 q=5 z=6; "<unk>" is id 1
printf 'b b a c a b\n\n  a   b z q\n<unk> a\n' > "$tmp/c.txt"
cat > "$tmp/want" <<'END'
4: 0 3 3 2 4
3: 4 2 3 0
4: 0 2 3 6 5
1: 5 0
3: 0 1 2 0
END
FAKE_RNNLM_LOG="$tmp/log" "$APP" "$tmp/c.txt" > "$tmp/out" 2>&1
st=$?
[ $st -eq 0 ] && ok "runs" || notok "runs (status $st): $(cat "$tmp/out")"
cmp -s "$tmp/want" "$tmp/log" && ok "ids and windows" || { notok "ids and windows"; diff "$tmp/want" "$tmp/log"; }
grep -q "sentences: 3, words: 12 (1 <unk>), predicted tokens: 15 .*forward calls: 5" "$tmp/out" \
    && ok "totals" || { notok "totals"; cat "$tmp/out"; }
grep -q "loss per predicted token: 9.2103 nats, perplexity: 10000.00" "$tmp/out" \
    && ok "loss and perplexity (uniform model: ln V, V)" || { notok "loss and perplexity"; cat "$tmp/out"; }
grep -q "vocabulary: 5 words" "$tmp/out" && ok "vocabulary size" || notok "vocabulary size"

# vocabulary from another file: only "a" is known (id 2)
printf 'a\n' > "$tmp/v.txt"
rm -f "$tmp/log"
FAKE_RNNLM_LOG="$tmp/log" "$APP" -v "$tmp/v.txt" -n 1 "$tmp/c.txt" > "$tmp/out" 2>&1
printf '4: 0 1 1 2 1\n3: 1 2 1 0\n' > "$tmp/want"
cmp -s "$tmp/want" "$tmp/log" && ok "-v and -n" || { notok "-v and -n"; diff "$tmp/want" "$tmp/log"; }
grep -q "words: 6 (4 <unk>)" "$tmp/out" && ok "<unk> count" || { notok "<unk> count"; cat "$tmp/out"; }

# errors: a message and a non-zero status, never a crash
"$APP" "$tmp/missing.txt" > "$tmp/out" 2>&1
st=$?
[ $st -eq 1 ] && grep -q "cannot open .*missing.txt" "$tmp/out" && ok "missing corpus" || notok "missing corpus (status $st)"
"$APP" -p "$tmp/none.safetensors" "$tmp/c.txt" > "$tmp/out" 2>&1
st=$?
[ $st -eq 1 ] && grep -q "cannot load .*fake model" "$tmp/out" && ok "params load error" || notok "params load error (status $st)"
"$APP" -n x "$tmp/c.txt" > "$tmp/out" 2>&1
[ $? -eq 1 ] && ok "bad -n" || notok "bad -n"
"$APP" > "$tmp/out" 2>&1
[ $? -eq 2 ] && grep -q usage "$tmp/out" && ok "usage" || notok "usage"
: > "$tmp/empty.txt"
"$APP" "$tmp/empty.txt" > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "no sentences" "$tmp/out" && ok "empty corpus" || notok "empty corpus"

# -t: training on the -v file, evaluation on another file, said in one line;
# never an evaluation on the training text (the same path, no -v, or a link)
"$APP" -t 1 -v "$tmp/v.txt" "$tmp/c.txt" > "$tmp/out" 2>&1
st=$?
[ $st -eq 0 ] && grep -q "^data: train on $tmp/v.txt, evaluate on $tmp/c.txt " "$tmp/out" &&
    grep -q "^training for 1 s on $tmp/v.txt " "$tmp/out" && grep -q "^evaluated on: $tmp/c.txt$" "$tmp/out" \
    && ok "-t: train on the -v file, evaluate on the corpus" || { notok "-t (status $st)"; cat "$tmp/out"; }
ln -s c.txt "$tmp/link.txt"
for args in "-t 1" "-t 1 -v $tmp/c.txt" "-t 1 -v $tmp/link.txt"; do
    # shellcheck disable=SC2086
    "$APP" $args "$tmp/c.txt" > "$tmp/out" 2>&1
    st=$?
    [ $st -eq 1 ] && grep -q "give -v TRAIN.txt, a training text other than the evaluation corpus" "$tmp/out" &&
        ! grep -q "^training" "$tmp/out" \
        && ok "$args CORPUS: refused (no evaluation on the training text)" || { notok "$args CORPUS (status $st)"; cat "$tmp/out"; }
done

[ $fails -eq 0 ] && echo "rnnlm_app: all checks passed" || echo "rnnlm_app: $fails check(s) failed"
[ $fails -eq 0 ]
