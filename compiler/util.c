/*
 * util.c - the compilation arena, string helpers, file reading and the
 * internal-error exit.
 *
 * Memory: every object the compiler makes (AST, IR, strings) comes from one
 * arena and is freed at once by xfree_all() when the compilation ends, the way
 * QBE frees its per-function pool. Nothing is freed one object at a time, so
 * the rest of the compiler never has to think about ownership.
 *
 * The arena is a list of chunks. Small requests are carved from the head
 * chunk; a request bigger than a quarter of a chunk gets a chunk of its own,
 * linked behind the head so that the head keeps serving small requests.
 * xrealloc grows the most recent allocation in place when it can, which makes
 * the doubling vectors of VEC_PUSH cheap; otherwise it copies (the old block
 * is simply abandoned until xfree_all).
 */
#include "nngc.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CHUNK_SIZE = 64 * 1024, ALIGN = alignof(max_align_t) };

typedef struct Chunk {
    struct Chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    alignas(max_align_t) unsigned char data[];
} Chunk;

static Chunk *arena;      /* head chunk: small allocations come from here */
static void *last_block;  /* the most recent allocation from the head chunk */
static size_t last_size;  /* its (aligned) size, for growing it in place */

static _Noreturn void out_of_memory(void) {
    fputs("nngc: out of memory\n", stderr);
    exit(1);
}

static size_t align_up(size_t n) {
    if (n > SIZE_MAX - ALIGN)
        out_of_memory();
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static Chunk *new_chunk(size_t size) {
    if (size > SIZE_MAX - sizeof(Chunk))
        out_of_memory();
    Chunk *c = malloc(sizeof(Chunk) + size);
    if (!c)
        out_of_memory();
    c->size = size;
    c->used = 0;
    c->next = NULL;
    return c;
}

void *xalloc(size_t size) {
    size = align_up(size ? size : 1);
    if (size > CHUNK_SIZE / 4) {
        /* A big block gets its own chunk; keep the head for small ones. */
        Chunk *c = new_chunk(size);
        c->used = size;
        if (arena) {
            c->next = arena->next;
            arena->next = c;
        } else {
            arena = c;
        }
        memset(c->data, 0, size);
        return c->data;
    }
    if (!arena || arena->size - arena->used < size) {
        Chunk *c = new_chunk(CHUNK_SIZE);
        c->next = arena;
        arena = c;
    }
    void *p = arena->data + arena->used;
    arena->used += size;
    memset(p, 0, size);
    last_block = p;
    last_size = size;
    return p;
}

void *xrealloc(void *p, size_t old_size, size_t new_size) {
    if (!p)
        return xalloc(new_size);
    if (new_size <= old_size)
        return p;
    if (p == last_block) {
        /* The newest block of the head chunk: grow it where it is. */
        size_t want = align_up(new_size);
        size_t start = (size_t)((unsigned char *)p - arena->data);
        if (want <= arena->size - start) {
            memset((unsigned char *)p + old_size, 0, want - old_size);
            arena->used = start + want;
            last_size = want;
            return p;
        }
    }
    void *q = xalloc(new_size);
    memcpy(q, p, old_size);
    return q;
}

char *xstrndup(const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char *p = xalloc(len + 1);
    memcpy(p, s, len);
    return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xvsprintf(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    NN_ASSERT(n >= 0);
    char *s = xalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *xsprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = xvsprintf(fmt, ap);
    va_end(ap);
    return s;
}

void xfree_all(void) {
    while (arena) {
        Chunk *next = arena->next;
        free(arena);
        arena = next;
    }
    last_block = NULL;
    last_size = 0;
}

_Noreturn void nn_internal_error(const char *file, int line, const char *what) {
    fflush(stdout);
    fprintf(stderr, "nngc: internal error at %s:%d: %s (this is a compiler bug)\n", file, line, what);
    fflush(stderr);
    abort();
}

/* The Damerau-Levenshtein distance (optimal string alignment), in a
 * table: the names it compares are short (over 64 characters: no guess). */
int edit_distance(const char *a, const char *b, int max) {
    int na = (int)strlen(a), nb = (int)strlen(b);
    if (na - nb > max || nb - na > max || na > 64 || nb > 64)
        return max + 1;
    int d[65][65];
    for (int i = 0; i <= na; i++)
        d[i][0] = i;
    for (int j = 0; j <= nb; j++)
        d[0][j] = j;
    for (int i = 1; i <= na; i++) {
        for (int j = 1; j <= nb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    }
    return d[na][nb];
}

Guess guess_start(const char *name) {
    int len = (int)strlen(name);
    int max = len >= 6 ? 2 : 1;
    if (max >= len)
        max = len - 1;
    return (Guess){name, NULL, max + 1};
}

void guess_consider(Guess *g, const char *cand) {
    if (strcmp(cand, g->name) == 0)
        return;
    int d = edit_distance(g->name, cand, g->dist - 1);
    if (d < g->dist) {
        g->best = cand;
        g->dist = d;
    }
}

/* Reads with stdio in chunks rather than trusting st_size, so pipes and
 * /dev/stdin work too, and at most NN_MAX_SOURCE bytes, so an endless
 * device does not fill the memory. The text is copied into the arena at the end so that
 * callers never free it. */
char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        errno = EISDIR;
        return NULL;
    }
    size_t n = 0, cap = 1 << 14;
    char *buf = malloc(cap);
    if (!buf)
        out_of_memory();
    for (;;) {
        if (n == cap) {
            if (cap > SIZE_MAX / 2)
                out_of_memory();
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                out_of_memory();
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n > NN_MAX_SOURCE) {
            /* /dev/zero, /dev/urandom, a FIFO that never ends: stop */
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
    }
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        free(buf);
        fclose(f);
        errno = e;
        return NULL;
    }
    fclose(f);
    char *text = xalloc(n + 1); /* zeroed: NUL-terminated */
    memcpy(text, buf, n);
    free(buf);
    if (len)
        *len = n;
    return text;
}
