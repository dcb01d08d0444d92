/*
 * approx.c - the softmax approximations: the objective stage's lowerings
 * (driver/compile.c), on the train graph T before autodiff, so that the
 * approximated loss is what gets differentiated (docs/APPROX.md).
 *
 * neg(k) (word2vec's negative sampling): for cross_entropy(z, y) with
 * z = W @ h [+ b] one position's logits (a [V] vector) and y an int scalar,
 *
 *   ids  = sample(y, i...)           i32[k+1]: y, then k noise words
 *   rows = gather(W, ids)            [k+1, H]: only these rows are read
 *   zz   = matvec(rows, h) [+ gather(b, ids)]
 *   loss = neg_loss(zz, ids)         softplus(-zz0) + sum_j softplus(zzj)
 *
 * so the gradient reaches the k + 1 rows alone (scatter_add of the rows,
 * a sparse param gradient). Logits of another form are gathered whole:
 * gather(z, ids) (correct, not faster). The sample's stream is a function
 * of (the context's seed and step, its site, the loop indexes i...), so
 * autodiff's recomputation of it in the backward loop draws the same ids;
 * its random flag (OPF_RANDOM) keeps cse, hoist and fold away from it.
 *
 * hier (word2vec's hierarchical softmax): the logits of the inner nodes on
 * y's path in the model's Huffman tree (hier_path, padded to a static
 * length), each a logistic loss against 1 - the bit taken (hier_labels,
 * -1 on the padding): logistic_loss(logits_at(path), labels).
 *
 * The forward graph F keeps the exact softmax of a sampling method: its
 * cross_entropy there is the full one (the evaluation's log-probability).
 * hier is lowered on F too: its loss is -log p(y) under the tree.
 * Methods without a lowering yet are errors, at their `with` or naming
 * --softmax.
 *
 * Requires: a lowered, verified graph (before autodiff). The replaced
 * cross_entropy nodes are taken out of their blocks.
 */
#include "nngc.h"
#include "nnrt_approx.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

typedef struct Lowering {
    Graph *g;
    Diag *d;
    const char *flag; /* --softmax's text, or NULL */
    bool train;       /* T: lower; F: sampling methods become full */
    bool report;      /* report methods without a lowering (always on T) */
    bool flag_reported;
    int nsites;
    const Node *noise; /* the first sampling node: the model's one noise distribution */
    const int64_t *counts; /* the word counts known at compile time (NULL: none) */
    int64_t ncounts;
    int64_t hier_words, hier_len; /* hier_length's last answer */
} Lowering;

static bool is_sampling(ApproxKind k) { return k == APPROX_NEG || k == APPROX_NCE || k == APPROX_SAMPLED; }

static void not_implemented(Lowering *L, const Node *n, const char *why) {
    if (!L->report)
        return;
    const char *method = approx_name[n->approx.kind];
    if (n->approx.loc.file >= 0) {
        diag_error(L->d, n->approx.loc, "softmax approximation '%s' %s", method, why);
    } else if (!L->flag_reported) {
        /* one message for the flag, at the first node it reached */
        diag_error(L->d, n->loc, "softmax approximation '%s' (from --softmax=%s) %s", method,
                   L->flag ? L->flag : method, why);
        L->flag_reported = true;
    }
}

/* z = W @ h (W not transposed), or that plus a [V] bias: *W, *h, *bias. */
static bool match_linear(const Node *z, Node **W, Node **h, Node **bias) {
    *bias = NULL;
    if (z->op == OP_ADD && z->in[0]->op == OP_MATVEC && z->in[1]->shape.rank == 1 &&
        shape_eq(&z->in[1]->shape, &z->shape)) {
        *bias = z->in[1];
        z = z->in[0];
    }
    if (z->op != OP_MATVEC || z->nin != 2 || z->ta)
        return false;
    *W = z->in[0];
    *h = z->in[1];
    return true;
}

/* The logits z at ids: W's rows at ids times h [+ b at ids] when z is
 * linear, else z computed whole and gathered. */
static Node *logits_at(Builder *at, Node *z, Node *ids, Loc loc) {
    Node *W, *h, *bias, *zz;
    if (!match_linear(z, &W, &h, &bias))
        return build_op2(at, OP_GATHER, z, ids, loc);
    zz = build_op2(at, OP_MATVEC, build_op2(at, OP_GATHER, W, ids, loc), h, loc);
    if (bias)
        zz = build_op2(at, OP_ADD, zz, build_op2(at, OP_GATHER, bias, ids, loc), loc);
    return zz;
}

/* What every lowering needs: one position's logits over a static
 * vocabulary (of at least min_words) and an int target. */
static bool one_position(Lowering *L, const Node *n, int64_t min_words) {
    const Node *z = n->in[0], *y = n->in[1];
    if (z->shape.rank == 1 && ir_is_int_scalar(y) && size_is_const(z->shape.d[0]) && z->shape.d[0].c >= min_words)
        return true;
    not_implemented(L, n, xsprintf("needs one position's logits (a vector over a static vocabulary of %" PRId64
                                   " words or more) and an int target", min_words));
    return false;
}

/* The static length of hier's paths over V words: the longest path of
 * the Huffman tree of the counts known at compile time (--counts, nngc
 * train's and eval's vocabulary), built as NAME_set_counts builds it (ids
 * past the counts, and counts of 0, count 1: c_approx.c's emit_build);
 * else min(V - 1, NN_HIER_MAX_PATH), and NAME_set_counts rejects a deeper
 * tree. Counts that do not fit V (more of them, a bad count) get the
 * default here and their error from the backend (c_approx_check) or
 * NAME_set_counts. */
static int64_t hier_length(Lowering *L, int64_t V) {
    int64_t len = V - 1 < NN_HIER_MAX_PATH ? V - 1 : NN_HIER_MAX_PATH;
    if (!L->counts || L->ncounts < 1 || L->ncounts > V)
        return len;
    if (L->hier_words == V)
        return L->hier_len;
    int64_t *counts1 = xalloc(sizeof(int64_t) * (size_t)V);
    for (int64_t w = 0; w < V; w++)
        counts1[w] = w < L->ncounts && L->counts[w] > 0 ? L->counts[w] : 1;
    nnrt_huffman t;
    if (nnrt_huffman_build(&t, counts1, V) == NNRT_OK) {
        len = t.max_len;
        nnrt_huffman_free(&t);
    }
    L->hier_words = V;
    L->hier_len = len;
    return len;
}

/* The hier loss of XENT node n at position i of b: the logits of the
 * inner nodes on y's path (rows of W, one per inner node: W's first V - 1
 * rows, as word2vec's syn1), each a logistic loss against 1 - its bit.
 * The same on F: it is -log p(y) under the tree's distribution. */
static Node *lower_hier(Lowering *L, Block *b, int i, Node *n) {
    if (!one_position(L, n, 2))
        return NULL;
    Node *z = n->in[0], *y = n->in[1];
    int64_t V = z->shape.d[0].c, len = hier_length(L, V);
    Builder at = build_at(L->g, b, i + 1, BUILD_ASSERT, "approx");
    Node *path = build_new(OP_HIERPATH, 1, &y, n->loc), *labels = build_new(OP_HIERLABEL, 1, &y, n->loc);
    path->i = labels->i = len;
    path->size = labels->size = z->shape.d[0];
    build_put(&at, path, n->loc);
    build_put(&at, labels, n->loc);
    Node *loss = build_op2(&at, OP_LOGISTICLOSS, logits_at(&at, z, path, n->loc), labels, n->loc);
    loss->name = n->name;
    return loss;
}

static void remove_at(Block *b, int i) {
    memmove(&b->nodes[i], &b->nodes[i + 1], sizeof(Node *) * (size_t)(b->n - i - 1));
    b->n--;
}

static int position(const Block *b, const Node *x) {
    for (int i = 0; i < b->n; i++)
        if (b->nodes[i] == x)
            return i;
    NN_ASSERT(!"a node of its block");
}

/* ---------------------------------------------------------------- class, binary, embed */

/* What class, binary and embed need: one position (one_position) whose
 * logits are W @ h [+ b] with W a param (their rows are the method's). */
static bool linear_position(Lowering *L, const Node *n, int64_t min_words, Node **W, Node **h, Node **bias) {
    if (!one_position(L, n, min_words))
        return false;
    if (match_linear(n->in[0], W, h, bias) && (*W)->op == OP_PARAM && size_is_const((*h)->shape.d[0]))
        return true;
    not_implemented(L, n, "needs logits W @ h or W @ h + b with W a param");
    return false;
}

/* The PARAM leaf of the method's param called name (shape s, init), made
 * the first time: the class rows of one W serve all its nodes. NULL
 * after an error (the name taken by a param of another shape). */
static Node *method_param(Lowering *L, const Node *n, const char *name, Shape s, InitKind init) {
    Graph *g = L->g;
    int idx = -1;
    for (int i = 0; i < g->nparams; i++)
        if (strcmp(g->params[i].name, name) == 0)
            idx = i;
    if (idx >= 0 && !shape_eq(&g->params[idx].shape, &s)) {
        not_implemented(L, n, xsprintf("needs a param '%s' of another shape (one W, two class counts?)", name));
        return NULL;
    }
    if (idx < 0) {
        ParamDecl p = {.name = name, .loc = n->loc, .shape = s, .init = init};
        idx = g->nparams;
        VEC_PUSH(g->params, g->nparams, g->capparams, p);
    }
    for (int i = 0; i < g->top.n; i++)
        if (g->top.nodes[i]->op == OP_PARAM && g->top.nodes[i]->index == idx)
            return g->top.nodes[i];
    Node *leaf = ir_new_node(OP_PARAM, 0, NULL, n->loc);
    leaf->index = idx;
    leaf->name = name;
    Builder top = build_at(g, &g->top, -1, BUILD_ASSERT, "approx");
    return build_leaf(&top, leaf, true);
}

/* class(c) (Goodman 2001; Mikolov's RNNLM classes, built at run time from
 * the counts): the class logits from the method's own rows W.class [c, H]
 * (and W.class_bias when the logits have a bias), then the logits of y's
 * class range only: rows of W at class_ids(y), padded to a static length
 * (class_ids' len: 4 V / c, at least twice what frequency binning gives a
 * Zipf vocabulary; NAME_set_counts rejects a larger class). The same on F:
 * -log p(y) = -log p(class) - log p(y | class). c = 0: ceil(sqrt(V)). */
static Node *lower_class(Lowering *L, Block *b, int i, Node *n) {
    Node *W, *h, *bias;
    if (!linear_position(L, n, 2, &W, &h, &bias))
        return NULL;
    int64_t V = n->in[0]->shape.d[0].c, c = n->approx.k, H = h->shape.d[0].c;
    if (c == 0)
        while (c * c < V)
            c++;
    if (c > V) {
        not_implemented(L, n, xsprintf("needs c <= V (%" PRId64 " classes for %" PRId64 " words)", c, V));
        return NULL;
    }
    const char *wname = L->g->params[W->index].name;
    Node *Wc = method_param(L, n, xsprintf("%s.class", wname), (Shape){2, {size_const(c), size_const(H)}}, INIT_GLOROT);
    Node *bc = bias ? method_param(L, n, xsprintf("%s.class_bias", wname), (Shape){1, {size_const(c)}}, INIT_ZEROS) : NULL;
    if (!Wc || (bias && !bc))
        return NULL;
    Node *y = n->in[1];
    Builder at = build_at(L->g, b, position(b, n) + 1, BUILD_ASSERT, "approx");
    Node *zc = build_op2(&at, OP_MATVEC, Wc, h, n->loc);
    if (bc)
        zc = build_op2(&at, OP_ADD, zc, bc, n->loc);
    Node *ids = build_new(OP_CLASSIDS, 1, &y, n->loc);
    ids->i = 4 * ((V + c - 1) / c) < V ? 4 * ((V + c - 1) / c) : V;
    ids->index = (int)c;
    ids->size = size_const(V);
    build_put(&at, ids, n->loc);
    Node *loss = NULL;
    for (int level = 0; level < 2; level++) {
        Node *part = build_new(OP_CLASSLOSS, 2, (Node *[]){level ? logits_at(&at, n->in[0], ids, n->loc) : zc, y}, n->loc);
        part->index = level;
        part->size = size_const(V);
        build_put(&at, part, n->loc);
        loss = loss ? build_op2(&at, OP_ADD, loss, part, n->loc) : part;
    }
    return loss;
}

/* A range leaf: ids from, from + 1, ..., from + len - 1 (rows of W). */
static Node *rows_from(Lowering *L, int64_t from, int64_t len, Loc loc) {
    Node *r = ir_new_node(OP_RANGE, 0, NULL, loc);
    r->size = size_const(from);
    r->shape = (Shape){1, {size_const(len)}};
    Builder top = build_at(L->g, &L->g->top, -1, BUILD_ASSERT, "approx");
    return build_leaf(&top, r, true);
}

/* binary (Oda et al. 2017): y's code y - N in bits = ceil(log2(V - N))
 * bits (frequency rank: ids are by count), each bit a logistic loss on a
 * row of W; hybrid = N adds a softmax over W's first N + 1 rows (the N
 * most frequent words, then "a coded word"), the bits counting only for
 * y >= N; ecc = n predicts bits + n bits of the code's convolutional code
 * (nnrt_ecc_encode, punctured evenly). The bit rows follow the softmax's:
 * W's rows [N + 1, N + 1 + bits + n) (N = 0: from row 0). On F the
 * same, renormalized over V: + log Z (bin_logz: the sum over the valid
 * codes of their bits' probability), so that p(w) sums to 1 over V. */
static Node *lower_binary(Lowering *L, Block *b, int i, Node *n) {
    Node *W, *h, *bias;
    int64_t N = n->approx.hybrid, ecc = n->approx.k, V = n->in[0]->shape.d[0].c;
    if (!linear_position(L, n, 2, &W, &h, &bias))
        return NULL;
    if (N >= V) {
        not_implemented(L, n, xsprintf("needs hybrid < V (%" PRId64 " for %" PRId64 " words)", N, V));
        return NULL;
    }
    int64_t bits = 1;
    while (((int64_t)1 << bits) < V - N)
        bits++;
    int64_t first = N > 0 ? N + 1 : 0, nlab = bits + ecc;
    if (ecc > 0 && nlab > 2 * (bits + NN_ECC_FLUSH)) {
        not_implemented(L, n, xsprintf("with ecc = %" PRId64 ": the convolutional code of %" PRId64
                                       " bits has %" PRId64 " bits, so ecc <= %" PRId64, ecc, bits, 2 * (bits + NN_ECC_FLUSH),
                                       bits + 2 * NN_ECC_FLUSH));
        return NULL;
    }
    if (first + nlab > V) {
        not_implemented(L, n, xsprintf("needs %" PRId64 " rows of W (%" PRId64 " words)", first + nlab, V));
        return NULL;
    }
    Node *y = n->in[1], *bitrows = rows_from(L, first, nlab, n->loc), *slotrows = N ? rows_from(L, 0, N + 1, n->loc) : NULL;
    Builder at = build_at(L->g, b, position(b, n) + 1, BUILD_ASSERT, "approx"); /* after the leaves */
    Node *code = build_new(OP_BINCODE, 1, &y, n->loc);
    code->i = nlab;
    code->index = (int)N;
    code->size = size_const(V);
    build_put(&at, code, n->loc);
    Node *zb = logits_at(&at, n->in[0], bitrows, n->loc);
    Node *loss = build_op2(&at, OP_LOGISTICLOSS, zb, code, n->loc);
    if (!L->train) {
        /* F: renormalized over the vocabulary, + log Z of the valid codes */
        Node *lz = build_new(OP_BINLOGZ, 2, (Node *[]){zb, y}, n->loc);
        lz->i = nlab;
        lz->index = (int)N;
        lz->size = size_const(V);
        loss = build_op2(&at, OP_ADD, loss, build_put(&at, lz, n->loc), n->loc);
    }
    if (N > 0) {
        Node *slot = build_new(OP_BINSLOT, 1, &y, n->loc);
        slot->index = (int)N;
        slot->size = size_const(V);
        build_put(&at, slot, n->loc);
        Node *zs = logits_at(&at, n->in[0], slotrows, n->loc);
        loss = build_op2(&at, OP_ADD, build_op2(&at, OP_XENT, zs, slot, n->loc), loss, n->loc);
    }
    return loss;
}

/* embed (Kumar & Tsvetkov 2019): h is the predicted embedding, W's row y
 * (normalized to unit length) the target's; the von Mises-Fisher loss
 * -log C_m(|h|) - lambda2 h . e + lambda1 |h| (Kumar & Tsvetkov's NLLvMF
 * with both regularizers; 0 and 1 by default: the plain loss, embed(lambda1
 * = 0.1, lambda2 = 0.1) as written). W gets no gradient
 * from it (the output embeddings are frozen: pretrained, loaded with
 * --params); b is not used. The same on F. */
static Node *lower_embed(Lowering *L, Block *b, int i, Node *n) {
    Node *W, *h, *bias;
    if (!linear_position(L, n, 1, &W, &h, &bias))
        return NULL;
    if (h->shape.d[0].c <= 2) {
        not_implemented(L, n, "needs an embedding of more than 2 dimensions");
        return NULL;
    }
    Builder at = build_at(L->g, b, position(b, n) + 1, BUILD_ASSERT, "approx");
    Node *loss = build_new(OP_VMFLOSS, 2, (Node *[]){h, build_op2(&at, OP_ROW, W, n->in[1], n->loc)}, n->loc);
    loss->approx = n->approx; /* the lambdas */
    return build_put(&at, loss, n->loc);
}

/* Makes x (an int value: a target and its index arithmetic) available
 * before position *pos of b, moving it and its operands up there if
 * needed; *pos moves past what was moved. False when some node on the way
 * is not a pure int computation (nothing wrong was done: what moved is
 * pure and still after its operands). */
static bool move_before(Block *b, Node *x, int *pos) {
    if (x->parent != b)
        return true;
    if (position(b, x) < *pos)
        return true;
    if (x->dtype != DT_I32 || x->op == OP_LOOP || x->op == OP_LOOPOUT || x->op == OP_CARRY ||
        (op_flags[x->op] & OPF_RANDOM))
        return false;
    for (int j = 0; j < x->nin; j++)
        if (!move_before(b, x->in[j], pos))
            return false;
    remove_at(b, position(b, x));
    ir_insert(b, (*pos)++, x);
    return true;
}

/* Two nodes with one method and the same arguments. */
static bool same_method(const Approx *a, const Approx *c) {
    return a->kind == c->kind && a->k == c->k && a->hybrid == c->hybrid && a->share_batch == c->share_batch &&
           a->lambda1 == c->lambda1 && a->lambda2 == c->lambda2 && a->lnz == c->lnz &&
           a->lnz_set == c->lnz_set && a->power == c->power && a->power_set == c->power_set;
}

/* Two neg nodes whose rows can be read together: the same W, h, bias, k. */
static bool same_rows(const Node *a, const Node *c) {
    Node *W1, *h1, *b1, *W2, *h2, *b2;
    return c->op == OP_XENT && same_method(&c->approx, &a->approx) && match_linear(a->in[0], &W1, &h1, &b1) &&
           match_linear(c->in[0], &W2, &h2, &b2) &&
           W1 == W2 && h1 == h2 && b1 == b2 && c->in[0]->shape.rank == 1 && ir_is_int_scalar(c->in[1]);
}

#define MAX_GROUP 64

/* The neg(k) losses of XENT node n at position i of b and of the later
 * nodes of b that read the same rows (the contexts of one skip-gram
 * word): one sample per target (each its own site), their ids
 * concatenated, the rows read once, one neg_loss per target on its
 * segment. One gather means one scatter of W's gradient per position
 * (a sparse gradient), not one per target. Returns the position to go on
 * from, -1 after an error. */
static int lower_neg(Lowering *L, Block *b, int i, Node *n) {
    if (!one_position(L, n, 1))
        return -1;
    double power = n->approx.power_set ? n->approx.power : NN_NOISE_POWER;
    if (!L->noise) {
        L->noise = n;
    } else if ((L->noise->approx.power_set ? L->noise->approx.power : NN_NOISE_POWER) != power) {
        /* one alias table per model (NAME_set_counts builds it) */
        diag_error(L->d, n->approx.loc.file >= 0 ? n->approx.loc : n->loc,
                   "the noise's power differs from that of the sampling method at line %d: a model has one "
                   "noise distribution", L->noise->loc.line);
        return -1;
    }
    Node *group[MAX_GROUP] = {n};
    int ng = 1, pos = i; /* new nodes go before pos: the targets moved there */
    for (int j = i + 1; j < b->n && ng < MAX_GROUP; j++)
        if (same_rows(n, b->nodes[j]) && move_before(b, b->nodes[j]->in[1], &pos))
            group[ng++] = b->nodes[j];
    Builder at = build_at(L->g, b, pos, BUILD_ASSERT, "approx");
    Node *ids = NULL, *in[1 + MAX_LOOP_DEPTH];
    for (int m = 0; m < ng; m++) {
        int nin = 0;
        in[nin++] = group[m]->in[1];
        /* share = batch: no loop index in the key, so every position of
         * a call draws the same k noise words (per site) */
        for (const Block *bb = b; !n->approx.share_batch && bb && bb->loop && nin < 1 + MAX_LOOP_DEPTH; bb = bb->outer)
            in[nin++] = bb->loop->index;
        Node *s = build_new(OP_SAMPLE, nin, in, group[m]->loc);
        s->i = n->approx.k;
        s->f = power;
        s->size = n->in[0]->shape.d[0];
        s->index = L->nsites++;
        s->name = "samples";
        build_put(&at, s, group[m]->loc);
        ids = ids ? build_op2(&at, OP_CONCAT, ids, s, group[m]->loc) : s;
    }
    Node *zz = logits_at(&at, n->in[0], ids, n->loc);
    /* nce's fixed normalizer: the model's log-probability in training is
     * s - lnz; by default ln V, where all-zero scores are normalized (with
     * lnz = 0 and zero-initialized output biases, the rare words that noise
     * rarely draws keep their scores while the frequent ones are pushed far
     * below, and the exact softmax of the trained scores is worse than
     * uniform: docs/APPROX.md) */
    double lnz = n->approx.lnz_set ? n->approx.lnz : log((double)n->in[0]->shape.d[0].c);
    if (n->approx.kind == APPROX_NCE && lnz != 0)
        zz = build_op2(&at, OP_SUB, zz, build_leaf(&at, ir_const(lnz, n->loc), true), n->loc);
    for (int m = 0; m < ng; m++) {
        Op op = n->approx.kind == APPROX_NCE ? OP_NCELOSS : n->approx.kind == APPROX_SAMPLED ? OP_SAMPLEDLOSS : OP_NEGLOSS;
        Node *loss = build_new(op, 2, (Node *[]){zz, ids}, group[m]->loc);
        loss->index = m * (int)(n->approx.k + 1);
        loss->i = n->approx.k + 1;
        loss->name = group[m]->name;
        build_put(&at, loss, group[m]->loc);
        ir_replace_uses(L->g, group[m], loss);
        remove_at(b, position(b, group[m]));
    }
    return at.pos;
}

/* z = H @ W^T [+ b]: rows of logits from rows of h (vectorize.c's
 * batched W @ h [+ b]; H @ transpose(W) as written): *W, *h ([B, H], or
 * [B, T, H] of a batched matrix of positions), *bias. */
static bool match_rows_linear(const Node *z, Node **W, Node **h, Node **bias) {
    *bias = NULL;
    if (z->op == OP_ADD && z->in[0]->op == OP_MATMUL && z->in[1]->shape.rank == 1) {
        *bias = z->in[1];
        z = z->in[0];
    }
    if (z->op != OP_MATMUL || z->nin != 2 || z->ta || (!z->tb && z->in[1]->op != OP_TRANSPOSE))
        return false;
    *h = z->in[0];
    *W = z->tb ? z->in[1] : z->in[1]->in[0];
    return true;
}

/* Logits of several positions, [N, ..., V], at targets [N, ...]. */
static bool rows_form(const Node *n) {
    const Node *z = n->in[0], *y = n->in[1];
    if (n->op != OP_XENT || z->shape.rank < 2 || y->dtype != DT_I32 || y->shape.rank != z->shape.rank - 1)
        return false;
    for (int k = 0; k < y->shape.rank; k++)
        if (!size_eq(y->shape.d[k], z->shape.d[k]))
            return false;
    return true;
}


/* The cross_entropy n of B examples at once (nngc --batch=B: logits
 * [B, V], targets [B]) becomes a loop over its rows, each row's
 * cross_entropy one position's, which lower_block then lowers as any
 * other (a sample keyed by the row's index too, so every example draws
 * its own noise words; logits of more axes, [B, T, V] at [B, T]: each
 * row's is [T, V] at [T], a loop over its rows in turn); the loop's
 * stacked losses [B] replace n. The
 * later nodes of b with the same method on the same rows H @ W^T [+ b]
 * (a batched skip-gram's contexts) join the loop, reading one row of
 * logits, so neg groups them (one gather, one sparse scatter). At -O2
 * the batch pass turns the loop back into row-wise ops (a [B, k+1] draw,
 * one gather of the rows, one loss per row). Returns the loop node, NULL
 * when n is not of that form (left to one_position's message). */
static Node *rows_loop(Lowering *L, Block *b, Node *n) {
    Node *W, *h, *bias, *zr, *group[MAX_GROUP] = {n};
    if (!rows_form(n))
        return NULL;
    int ng = 1, pos = position(b, n);
    /* logits the same for every row (--batch's broadcast of W @ h of
     * params to the batch, the label per example): each row's are that
     * vector (or matrix), as written */
    Node *z = n->in[0], *same = z->op == OP_BROADCAST && z->in[0]->shape.rank == z->shape.rank - 1 ? z->in[0] : NULL;
    bool linear = !same && match_rows_linear(z, &W, &h, &bias), vec = z->shape.rank == 2;
    for (int j = pos + 1; linear && vec && j < b->n && ng < MAX_GROUP; j++) {
        Node *c = b->nodes[j], *W2, *h2, *b2;
        if ((op_flags[c->op] & OPF_SOFTMAX) && rows_form(c) && same_method(&c->approx, &n->approx) &&
            match_rows_linear(c->in[0], &W2, &h2, &b2) && W2 == W && h2 == h && b2 == bias &&
            move_before(b, c->in[1], &pos))
            group[ng++] = c;
    }
    Loop *l = ir_new_loop(b, "ex", size_const(0), n->in[0]->shape.d[0], n->loc);
    Builder at = build_at(L->g, &l->body, -1, BUILD_ASSERT, "approx");
    if (same) {
        zr = same;
    } else if (linear) { /* the row's W @ h, or its H @ W^T (a matrix of positions) */
        Node *hr = build_op2(&at, OP_ROW, h, l->index, n->loc);
        if (vec) {
            zr = build_op2(&at, OP_MATVEC, W, hr, n->loc);
        } else {
            zr = build_new(OP_MATMUL, 2, (Node *[]){hr, W}, n->loc);
            zr->tb = true;
            zr = build_put(&at, zr, n->loc);
        }
        if (bias)
            zr = build_op2(&at, OP_ADD, zr, bias, n->loc);
    } else {
        zr = build_op2(&at, OP_ROW, n->in[0], l->index, n->loc);
    }
    Node *x[MAX_GROUP];
    for (int m = 0; m < ng; m++) {
        x[m] = build_op2(&at, OP_XENT, zr, build_op2(&at, OP_ROW, group[m]->in[1], l->index, n->loc), group[m]->loc);
        x[m]->approx = group[m]->approx;
        x[m]->name = group[m]->name;
    }
    ir_insert(b, pos, l->node);
    for (int m = 0; m < ng; m++) {
        ir_replace_uses(L->g, group[m], ir_loop_stack_of(l, x[m], -1, NULL, NULL));
        remove_at(b, position(b, group[m]));
    }
    return l->node;
}

/* ---------------------------------------------------------------- softmax and log_softmax */

#define MAX_USERS 64

/* The nodes of b (and its loops) that read x, at most max; *other counts
 * the uses that are not operands of a node (loop results, outputs). */
static int users_in(Block *b, const Node *x, Node **u, int n, int max) {
    for (int i = 0; i < b->n; i++) {
        Node *v = b->nodes[i];
        for (int k = 0; k < v->nin; k++)
            if (v->in[k] == x) {
                if (n < max)
                    u[n] = v;
                n++;
                break;
            }
        if (v->op == OP_LOOP)
            n = users_in(&v->loop->body, x, u, n, max);
    }
    return n;
}

/* x's users (nodes reading it as an operand), or -1 when something else
 * reads it too (a loop result, an output, the loss) or there are too
 * many. */
static int users_of(Graph *g, Node *x, Node **u) {
    int n = users_in(&g->top, x, u, 0, MAX_USERS), ops = 0;
    for (int i = 0; i < n && i < MAX_USERS; i++)
        for (int k = 0; k < u[i]->nin; k++)
            ops += u[i]->in[k] == x;
    ir_count_uses(g);
    int all = x->mark;
    ir_clear_marks(&g->top);
    return n > MAX_USERS || ops != all ? -1 : n;
}

/* Is u a pick of one word's entry of x: x[y] (row, or the IR's pick) with
 * y an int scalar, or --batch's pick of each example's (x [B, V], y i32 [B]),
 * or, where x has a method (several: its cross entropies are of x
 * broadcast to a row per word, pick_to_xent), several words' of one x [V]
 * (x[ids]: --batch's x the same for every example at each one's label)?
 * The exact softmax keeps x[ids] as written: one normalizer, not one per
 * word. */
static bool is_pick(const Node *u, const Node *x, bool several) {
    if ((u->op == OP_PICK || (u->op == OP_GATHER && several)) && u->in[0] == x &&
        x->shape.rank == (u->op == OP_PICK ? 2 : 1) && u->in[1]->dtype == DT_I32 && u->in[1]->shape.rank == 1)
        return true;
    return (u->op == OP_ROW || u->op == OP_PICK) && u->in[0] == x && x->shape.rank == 1 && ir_is_int_scalar(u->in[1]);
}

/* Replaces the log-probability u (of word y under softmax node n) by
 * -cross_entropy(z, y) with n's method, built just before u (z [V] at ids
 * y [m]: z broadcast to [m, V], each row's); where u's one use is its
 * negation (the loss -lp[y]), that use by the cross_entropy itself (no
 * neg of a neg for autodiff to carry). */
static void pick_to_xent(Lowering *L, const Node *n, Node *u, Node *y) {
    Block *b = u->parent;
    Builder at = build_at(L->g, b, position(b, u), BUILD_ASSERT, "approx");
    Node *z = n->in[0];
    if (z->shape.rank == 1 && y->shape.rank == 1) {
        Node *bz = build_new(OP_BROADCAST, 1, (Node *[]){z}, u->loc);
        bz->shape = (Shape){.rank = 2, .d = {y->shape.d[0], z->shape.d[0]}};
        z = build_put(&at, bz, u->loc);
    }
    Node *x = build_new(OP_XENT, 2, (Node *[]){z, y}, u->loc);
    x->approx = n->approx;
    build_put(&at, x, u->loc);
    Node *w[MAX_USERS];
    if (users_of(L->g, u, w) == 1 && w[0]->op == OP_NEG) {
        x->name = w[0]->name;
        ir_replace_uses(L->g, w[0], x);
        remove_at(w[0]->parent, position(w[0]->parent, w[0]));
    } else {
        Node *lp = build_op1(&at, OP_NEG, x, u->loc);
        lp->name = u->name;
        ir_replace_uses(L->g, u, lp);
    }
    remove_at(b, position(b, u));
}

/* The forms of a softmax node n with a method whose value is one word's
 * log-probability: log_softmax(z)[y], and log(softmax(z)[y]) or
 * log(softmax(z))[y]. Each becomes -cross_entropy(z, y) with n's method
 * (lowered as any cross_entropy). Where the whole distribution is read
 * instead: an error at n's `with`; with --softmax, n stays exact. */
static bool lower_picks(Lowering *L, Node *n) {
    Node *u[MAX_USERS], *w[MAX_USERS];
    bool several = n->approx.kind != APPROX_FULL;
    int nu = users_of(L->g, n, u);
    const Node *bad = NULL;
    for (int i = 0; i < nu && !bad; i++) {
        if (n->op == OP_LOGSOFTMAX) {
            bad = is_pick(u[i], n, several) ? NULL : u[i];
            continue;
        }
        /* softmax: log(p[y]) or log(p)[y], each of the inner node's uses */
        bool pick = is_pick(u[i], n, several), lg = u[i]->op == OP_LOG;
        int nw = pick || lg ? users_of(L->g, u[i], w) : -1;
        for (int j = 0; j < nw && !bad; j++)
            bad = (pick && w[j]->op == OP_LOG) || (lg && is_pick(w[j], u[i], several)) ? NULL : w[j];
        if (nw < 0)
            bad = u[i];
    }
    if ((nu < 0 || bad) && n->approx.kind == APPROX_FULL)
        return false; /* exact, as written */
    if (nu < 0 || bad) {
        if (n->approx.loc.file >= 0 && L->report) {
            const char *fn = op_name[n->op];
            if (bad)
                diag_error(L->d, n->approx.loc,
                           "softmax approximation '%s' needs the log-probability of one word (%s), but the "
                           "%s at line %d reads the whole distribution of this %s (line %d)",
                           approx_name[n->approx.kind],
                           n->op == OP_LOGSOFTMAX ? "log_softmax(z)[y]" : "log(softmax(z)[y]) or log(softmax(z))[y]",
                           op_name[bad->op], bad->loc.line, fn, n->loc.line);
            else
                diag_error(L->d, n->approx.loc,
                           "softmax approximation '%s' needs the log-probability of one word (%s[y]), but the "
                           "whole %s (line %d) is a result", approx_name[n->approx.kind], fn, fn, n->loc.line);
        }
        n->approx = (Approx){.kind = APPROX_FULL, .loc = NO_LOC};
        return false;
    }
    for (int i = 0; i < nu; i++) {
        if (n->op == OP_LOGSOFTMAX) {
            pick_to_xent(L, n, u[i], u[i]->in[1]);
            continue;
        }
        int nw = users_of(L->g, u[i], w);
        for (int j = 0; j < nw; j++)
            pick_to_xent(L, n, w[j], u[i]->op == OP_LOG ? w[j]->in[1] : u[i]->in[1]);
        remove_at(u[i]->parent, position(u[i]->parent, u[i]));
    }
    remove_at(n->parent, position(n->parent, n)); /* read by nothing now */
    return true;
}

/* Every softmax and log_softmax node, in b and its loops. One with a
 * method is its method's loss, or an error; an exact one whose every use
 * is one word's log-probability becomes the exact cross_entropy all the
 * same (nothing to report otherwise): the same value, without the
 * log-probabilities of the other words (and log(softmax(z)[y]) no longer
 * -inf where p(y) underflows), and a loss NAME_predict decodes. */
static void lower_softmax_nodes(Lowering *L, Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP)
            lower_softmax_nodes(L, &n->loop->body);
        if ((n->op == OP_SOFTMAX || n->op == OP_LOGSOFTMAX) && lower_picks(L, n))
            i--; /* n is gone; its picks, after it, are cross_entropy nodes */
    }
}

/* The number of classes of cross_entropy n (its logits' last axis); 0
 * when it is not a constant (a softmax over a sequence's positions). */
static int64_t xent_classes(const Node *n) {
    Size v = n->in[0]->shape.d[n->in[0]->shape.rank - 1];
    return size_is_const(v) ? v.c : 0;
}

/* The largest number of classes of the approximated cross_entropy nodes
 * in b (and its loops): with_chosen, those whose method a `with` chose,
 * else those --softmax did. */
static int64_t widest(const Block *b, bool with_chosen) {
    int64_t v = 0;
    for (int i = 0; i < b->n; i++) {
        const Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            int64_t w = widest(&n->loop->body, with_chosen);
            v = w > v ? w : v;
        }
        if (n->op == OP_XENT && n->approx.kind != APPROX_FULL && (n->approx.loc.file >= 0) == with_chosen &&
            xent_classes(n) > v)
            v = xent_classes(n);
    }
    return v;
}

/* --softmax on a model with cross entropies over different numbers of
 * classes (an output layer over the vocabulary and a pick of a small
 * log_softmax, or of one over a sequence's positions): the method is for
 * the word predictions, the widest (or those of a `with`'s vocabulary),
 * and the others stay exact, as a softmax whose whole distribution is
 * read does (docs/LANGUAGE.md): the approximations of one model share one
 * vocabulary. A note on T says which. */
static void flag_vocab(Lowering *L, Block *b, int64_t vocab) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP)
            flag_vocab(L, &n->loop->body, vocab);
        if (n->op != OP_XENT || n->approx.kind == APPROX_FULL || n->approx.loc.file >= 0 || xent_classes(n) == vocab)
            continue;
        if (L->train)
            diag_note(L->d, n->loc, "--softmax=%s is for the predictions over %" PRId64 " classes; this "
                      "cross_entropy over %s stays exact", L->flag ? L->flag : approx_name[n->approx.kind], vocab,
                      xent_classes(n) ? xsprintf("%" PRId64, xent_classes(n)) : "a sequence's positions");
        n->approx = (Approx){.kind = APPROX_FULL, .loc = NO_LOC};
    }
}

static void lower_block(Lowering *L, Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP) {
            lower_block(L, &n->loop->body);
            i = position(b, n); /* leaves (class's params, binary's rows) went to the top block's head */
        }
        if (!(op_flags[n->op] & OPF_SOFTMAX) || n->approx.kind == APPROX_FULL)
            continue;
        if (!L->train && is_sampling(n->approx.kind) && n->op == OP_XENT) {
            /* F: the exact distribution */
            n->approx = (Approx){.kind = APPROX_FULL, .loc = NO_LOC};
            continue;
        }
        if (n->op == OP_XENT && n->in[0]->shape.rank >= 2) {
            Node *rows = rows_loop(L, b, n);
            if (rows) {
                i = position(b, rows) - 1; /* the loop next: its row's cross_entropy lowered */
                continue;
            }
        }
        if (n->op == OP_XENT && is_sampling(n->approx.kind)) {
            int next = lower_neg(L, b, i, n);
            if (next >= 0)
                i = next - 1;
            continue;
        }
        if (n->op == OP_XENT && n->approx.kind >= APPROX_CLASS) {
            ApproxKind k = n->approx.kind;
            Node *loss = k == APPROX_HIER    ? lower_hier(L, b, i, n)
                         : k == APPROX_CLASS ? lower_class(L, b, i, n)
                         : k == APPROX_BINARY ? lower_binary(L, b, i, n)
                                              : lower_embed(L, b, i, n);
            if (!loss)
                continue;
            loss->name = n->name;
            ir_replace_uses(L->g, n, loss);
            remove_at(b, position(b, n));
            i = position(b, loss);
            continue;
        }
        not_implemented(L, n, xsprintf("is implemented for cross_entropy only, not %s", op_name[n->op]));
    }
}

bool approx_lower(Graph *g, Diag *d, const char *flag, const int64_t *counts, int64_t ncounts, bool train,
                  bool report) {
    Lowering L = {.g = g, .d = d, .flag = flag, .train = train, .report = train || report, .counts = counts,
                  .ncounts = ncounts};
    int before = d->nerrors;
    lower_softmax_nodes(&L, &g->top);
    int64_t vocab = widest(&g->top, true);
    flag_vocab(&L, &g->top, vocab ? vocab : widest(&g->top, false));
    lower_block(&L, &g->top);
    return d->nerrors == before;
}
