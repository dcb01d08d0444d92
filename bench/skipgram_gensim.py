#!/usr/bin/env python3
"""bench/skipgram_gensim.py - the gensim side of bench/skipgram.sh.

    python3 bench/skipgram_gensim.py train DATA neg|hs OUT.vec EPOCHS LR SEED
        trains gensim's Word2Vec skip-gram (sg=1, vector_size 128, window 5,
        min_count 5, sample 0, workers 1; negative=5 or hs=1) on DATA, one
        sentence per line, writes the vectors in word2vec text format to
        OUT.vec and prints one line: "words N cpu S wall S" (the process's
        CPU time during train(), both of gensim's threads)
    python3 bench/skipgram_gensim.py eval VECTORS.vec
        prints "wordsim353 R simlex999 R oov% A B": Spearman's rank
        correlation of gensim's evaluate_word_pairs on the WordSim-353 and
        SimLex-999 files gensim ships in its test data (pairs with a word
        missing from the vectors are left out; their share is printed)

Not part of make test; needs `pip install gensim`.
"""
import sys
import time


def train(data, mode, out, epochs, lr, seed):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    sents = list(LineSentence(data))
    kw = dict(vector_size=128, window=5, min_count=5, sg=1, sample=0, workers=1, epochs=epochs,
              alpha=lr, min_alpha=lr * 1e-4, seed=seed)
    kw.update(dict(hs=1, negative=0) if mode == "hs" else dict(hs=0, negative=5))
    m = Word2Vec(**kw)
    m.build_vocab(sents)
    c0, w0 = time.process_time(), time.time()
    m.train(sents, total_examples=len(sents), epochs=epochs)
    c1, w1 = time.process_time(), time.time()
    words = sum(len(s) for s in sents) * epochs
    print("words %d cpu %.3f wall %.3f" % (words, c1 - c0, w1 - w0))
    m.wv.save_word2vec_format(out)


def evaluate(vectors):
    import logging
    logging.disable(logging.WARNING)
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath
    kv = KeyedVectors.load_word2vec_format(vectors)
    res = []
    for name, f in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        _, spearman, oov = kv.evaluate_word_pairs(datapath(f))
        res.append((name, spearman[0], oov))
    print(" ".join("%s %.4f" % (n, r) for n, r, _ in res), "oov% " + " ".join("%.1f" % o for _, _, o in res))


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]))
    elif len(sys.argv) == 3 and sys.argv[1] == "eval":
        evaluate(sys.argv[2])
    else:
        sys.exit(__doc__)
