#!/usr/bin/env python3
"""make_tiny.py - writes tiny.txt and tiny-valid.txt, the small corpus
shipped with nngc: 400 training sentences and 100 held-out ones.

The sentences come from a handful of templates filled with words chosen by a
fixed-seed random generator, so the file is the same on every run and every
machine (Python's `random` is specified to be reproducible for a given seed).
The text is formatted like Mikolov's Penn Treebank files: lowercase, one
sentence per line, tokens separated by single spaces, numbers written as N,
a space at both ends of each line. It is written for this project and is in
the public domain (CC0); it is not derived from the Penn Treebank.

The held-out sentences (tiny-valid.txt) continue the same random stream
after the 400 training ones, skipping any sentence that is already in
tiny.txt, so a model trained on tiny.txt is evaluated on sentences it has
never seen (drawn from the same templates and words).

    python3 examples/data/make_tiny.py    # rewrites tiny.txt and tiny-valid.txt next to it
"""
import os
import random

SUBJECTS = [
    "the company", "the bank", "the board", "the government", "the market",
    "a spokesman", "the chairman", "the agency", "investors", "analysts",
    "the firm", "the court", "the committee", "traders", "the union",
    "the airline", "the utility", "the publisher", "the fund", "the city",
]
VERBS_T = [
    "said", "reported", "expects", "announced", "estimated", "denied",
    "confirmed", "predicted", "disclosed", "noted",
]
OBJECTS = [
    "higher profits", "lower sales", "a new contract", "the proposal",
    "its earnings", "the merger", "a loss", "the offer", "the plan",
    "new orders", "the price", "the decision", "a sharp decline",
    "strong demand", "the agreement", "weaker results",
]
TIMES = [
    "last week", "yesterday", "this year", "in the third quarter",
    "next month", "in october", "on friday", "earlier this year",
    "in recent months", "last year",
]
AMOUNTS = ["N million", "N billion", "N %", "N cents a share", "N shares"]
ADJS = ["big", "small", "new", "major", "foreign", "local", "strong", "weak"]
NOUNS = [
    "stocks", "bonds", "prices", "rates", "profits", "costs", "exports",
    "imports", "sales", "wages", "loans", "deposits",
]
MOVES = ["rose", "fell", "climbed", "dropped", "jumped", "slipped", "gained"]
PLACES = [
    "new york", "tokyo", "london", "chicago", "washington", "boston",
    "frankfurt", "los angeles",
]


def sentence(r):
    """One sentence from one of several templates."""
    c = r.choice
    k = r.randrange(8)
    if k == 0:
        return f"{c(SUBJECTS)} {c(VERBS_T)} {c(OBJECTS)} {c(TIMES)}"
    if k == 1:
        return f"{c(NOUNS)} {c(MOVES)} {c(AMOUNTS)} {c(TIMES)} in {c(PLACES)}"
    if k == 2:
        return (f"{c(SUBJECTS)} said {c(NOUNS)} {c(MOVES)} {c(TIMES)} "
                f"because of {c(OBJECTS)}")
    if k == 3:
        return (f"in {c(PLACES)} {c(ADJS)} {c(NOUNS)} {c(MOVES)} to "
                f"{c(AMOUNTS)} from {c(AMOUNTS)}")
    if k == 4:
        return (f"{c(SUBJECTS)} {c(VERBS_T)} that {c(SUBJECTS)} will "
                f"consider {c(OBJECTS)} {c(TIMES)}")
    if k == 5:
        return (f"the {c(ADJS)} {c(NOUNS)} market {c(MOVES)} {c(TIMES)} "
                f"as {c(SUBJECTS)} {c(VERBS_T)} {c(OBJECTS)}")
    if k == 6:
        return (f"{c(SUBJECTS)} 's {c(NOUNS)} {c(MOVES)} {c(AMOUNTS)} , "
                f"{c(SUBJECTS)} {c(VERBS_T)}")
    return (f"{c(SUBJECTS)} has n't {c(VERBS_T)} {c(OBJECTS)} but "
            f"{c(SUBJECTS)} {c(VERBS_T)} {c(OBJECTS)} {c(TIMES)}")


def write(name, lines):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def main():
    r = random.Random(20231126)
    train = [" " + sentence(r) + " " for _ in range(400)]
    seen = set(train)
    valid = []
    while len(valid) < 100:
        s = " " + sentence(r) + " "
        if s not in seen:
            seen.add(s)
            valid.append(s)
    write("tiny.txt", train)
    write("tiny-valid.txt", valid)


if __name__ == "__main__":
    main()
