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

#include <inttypes.h>
#include <string.h>

typedef struct Lowering {
    Graph *g;
    Diag *d;
    const char *flag; /* --softmax's text, or NULL */
    bool train;       /* T: lower; F: sampling methods become full */
    bool report;      /* report methods without a lowering (always on T) */
    bool flag_reported;
    int nsites;
} Lowering;

static bool is_sampling(ApproxKind k) { return k == APPROX_NEG; }

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

/* The hier loss of XENT node n at position i of b: the logits of the
 * inner nodes on y's path (rows of W, one per inner node: W's first V - 1
 * rows, as word2vec's syn1), each a logistic loss against 1 - its bit.
 * The same on F: it is -log p(y) under the tree's distribution. */
static Node *lower_hier(Lowering *L, Block *b, int i, Node *n) {
    if (!one_position(L, n, 2))
        return NULL;
    Node *z = n->in[0], *y = n->in[1];
    int64_t V = z->shape.d[0].c, len = V - 1 < NN_HIER_MAX_PATH ? V - 1 : NN_HIER_MAX_PATH;
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

/* The neg(k) loss of XENT node n at position i of b (see the top). */
static Node *lower_neg(Lowering *L, Block *b, int i, Node *n) {
    Node *z = n->in[0], *y = n->in[1];
    if (!one_position(L, n, 1))
        return NULL;
    if (n->approx.share_batch) {
        not_implemented(L, n, "with share = batch is not implemented yet");
        return NULL;
    }
    Builder at = build_at(L->g, b, i + 1, BUILD_ASSERT, "approx");
    Node *in[1 + MAX_LOOP_DEPTH];
    int nin = 0;
    in[nin++] = y;
    for (const Block *bb = b; bb && bb->loop && nin < 1 + MAX_LOOP_DEPTH; bb = bb->outer)
        in[nin++] = bb->loop->index;
    Node *ids = build_new(OP_SAMPLE, nin, in, n->loc);
    ids->i = n->approx.k;
    ids->size = z->shape.d[0];
    ids->index = L->nsites++;
    ids->name = "samples";
    build_put(&at, ids, n->loc);
    Node *loss = build_op2(&at, OP_NEGLOSS, logits_at(&at, z, ids, n->loc), ids, n->loc);
    loss->name = n->name;
    return loss;
}

static void remove_at(Block *b, int i) {
    memmove(&b->nodes[i], &b->nodes[i + 1], sizeof(Node *) * (size_t)(b->n - i - 1));
    b->n--;
}

static void lower_block(Lowering *L, Block *b) {
    for (int i = 0; i < b->n; i++) {
        Node *n = b->nodes[i];
        if (n->op == OP_LOOP)
            lower_block(L, &n->loop->body);
        if (!(op_flags[n->op] & OPF_SOFTMAX) || n->approx.kind == APPROX_FULL)
            continue;
        if (!L->train && is_sampling(n->approx.kind) && n->op == OP_XENT) {
            /* F: the exact distribution */
            n->approx = (Approx){.kind = APPROX_FULL, .loc = NO_LOC};
            continue;
        }
        if (n->op == OP_XENT && (n->approx.kind == APPROX_NEG || n->approx.kind == APPROX_HIER)) {
            Node *loss = n->approx.kind == APPROX_NEG ? lower_neg(L, b, i, n) : lower_hier(L, b, i, n);
            if (!loss)
                continue;
            ir_replace_uses(L->g, n, loss);
            remove_at(b, i);
            i--;
            continue;
        }
        not_implemented(L, n, "is not implemented yet");
    }
}

bool approx_lower(Graph *g, Diag *d, const char *flag, bool train, bool report) {
    Lowering L = {.g = g, .d = d, .flag = flag, .train = train, .report = train || report};
    int before = d->nerrors;
    lower_block(&L, &g->top);
    return d->nerrors == before;
}
