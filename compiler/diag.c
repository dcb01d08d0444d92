/*
 * diag.c - source files and user-facing diagnostics.
 *
 * Every source text the compiler reads (the program and its imports) is
 * registered here, so that a Loc (file index + line/col + byte span) is
 * enough to print a message in the usual form:
 *
 *   model.nn:3:14: error: unexpected identifier 'loss'
 *   h = tanh(Wx @ x loss)
 *                   ^^^^
 *
 * Diagnostics never exit: they are counted in the Diag and the caller
 * returns failure up the chain (so tests can check error paths). After
 * max_errors errors, one "too many errors" line is printed and later
 * messages are counted but not shown.
 *
 * With Diag.hold (the driver sets it), messages are formatted at once but
 * kept; diag_flush prints them sorted by (file, offset), each followed by
 * its notes, so the user reads them top to bottom whatever order the
 * stages found them in (autodiff walks the graph backwards).
 */
#include "nngc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void diag_init(Diag *d, FILE *out) {
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
}

int diag_add_file(Diag *d, const char *path, const char *text, size_t len) {
    NN_ASSERT(text != NULL);
    SourceFile f = {.path = xstrdup(path ? path : "<input>"), .text = text, .len = len};
    VEC_PUSH(d->files, d->nfiles, d->capfiles, f);
    return d->nfiles - 1;
}

int diag_load_file(Diag *d, const char *path, Loc from) {
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text && errno == EFBIG) {
        diag_error(d, from, "%s: not a program: longer than %zu MiB", path, NN_MAX_SOURCE >> 20);
        return -1;
    }
    if (!text) {
        diag_error(d, from, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    /* A NUL byte cannot appear in program text; it means the user pointed us
     * at an object file or an image. One message beats a hundred lexer errors. */
    if (memchr(text, '\0', len)) {
        diag_error(d, from, "%s: binary file (contains NUL bytes)", path);
        return -1;
    }
    /* A UTF-8 byte order mark (Windows editors write one) is no part of the
     * program: skipped, as C compilers do, so columns are the editor's */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3, len -= 3;
    /* Loc stores byte offsets as int. */
    if (len > (size_t)INT_MAX / 2) {
        diag_error(d, from, "%s: file too large", path);
        return -1;
    }
    return diag_add_file(d, path, text, len);
}

Loc loc_merge(Loc a, Loc b) {
    if (a.file < 0)
        return b;
    if (b.file < 0 || b.file != a.file)
        return a; /* spans of different files cannot be joined; keep the first */
    int end = a.off + a.len > b.off + b.len ? a.off + a.len : b.off + b.len;
    Loc r = a.off <= b.off ? a : b;
    r.len = end - r.off;
    return r;
}

static int error_limit(const Diag *d) { return d->max_errors > 0 ? d->max_errors : 100; }

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* The source line holding loc, then a caret line under its span. One
 * column per character: tabs before the span are copied so the caret lines
 * up whatever the tab width, a UTF-8 character counts once, and control
 * bytes and invalid UTF-8 are shown as '?' (they could drive the terminal).
 * A span running past the end of the line is cut there; an empty span gets
 * one '^'. */
static void print_source(FILE *out, const SourceFile *f, Loc loc) {
    if (loc.off < 0 || (size_t)loc.off > f->len)
        return;
    const unsigned char *text = (const unsigned char *)f->text;
    size_t off = (size_t)loc.off;
    size_t start = off, end = off;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    while (end < f->len && text[end] != '\n')
        end++;
    if (end > start && text[end - 1] == '\r')
        end--;
    size_t stop = loc.len > 0 ? off + (size_t)loc.len : off;
    if (stop > end)
        stop = end;
    int carets = 0;
    for (size_t i = start; i < end;) {
        size_t n = utf8_len(text + i, end - i);
        if (n == 0 || (n == 1 && ((text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f))) {
            fputc('?', out);
            n = 1;
        } else {
            fwrite(text + i, 1, n, out);
        }
        if (i >= off && i < stop)
            carets++;
        i += n;
    }
    fputc('\n', out);
    for (size_t i = start; i < off && i < end;) {
        size_t n = utf8_len(text + i, end - i);
        fputc(text[i] == '\t' ? '\t' : ' ', out);
        i += n ? n : 1;
    }
    if (carets == 0)
        carets = 1;
    for (int i = 0; i < carets; i++)
        fputc('^', out);
    fputc('\n', out);
}

/* One diagnostic as printed: the message line and the source lines. */
static void write_message(FILE *out, const Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap) {
    if (loc.file < 0 || loc.file >= d->nfiles) {
        fprintf(out, "nngc: %s: ", kind);
        vfprintf(out, fmt, ap);
        fputc('\n', out);
        return;
    }
    const SourceFile *f = &d->files[loc.file];
    fprintf(out, "%s:%d:%d: %s: ", f->path, loc.line, loc.col, kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    print_source(out, f, loc);
}

/* A held diagnostic: its text (with the notes that followed it) and where
 * it sorts. */
struct DiagMsg {
    int file; /* -1: no location (sorts first) */
    int off;
    int seq;  /* order of arrival, for equal locations */
    bool is_error;
    char *text;
};

static void hold(Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    NN_ASSERT(m != NULL);
    write_message(m, d, kind, loc, fmt, ap);
    fclose(m);
    char *text = xstrdup(buf ? buf : "");
    free(buf);
    if (strcmp(kind, "note") == 0 && d->nheld > 0) {
        DiagMsg *last = &d->held[d->nheld - 1];
        last->text = xsprintf("%s%s", last->text, text);
        return;
    }
    bool located = loc.file >= 0 && loc.file < d->nfiles;
    DiagMsg msg = {located ? loc.file : -1, located ? loc.off : 0, d->nheld, strcmp(kind, "error") == 0, text};
    VEC_PUSH(d->held, d->nheld, d->capheld, msg);
}

static int cmp_msg(const void *pa, const void *pb) {
    const DiagMsg *a = pa, *b = pb;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

void diag_flush(Diag *d) {
    if (d->nheld == 0)
        return;
    FILE *out = d->out ? d->out : stderr;
    int limit = error_limit(d);
    qsort(d->held, (size_t)d->nheld, sizeof *d->held, cmp_msg);
    for (int i = 0; i < d->nheld && d->nshown <= limit; i++) {
        if (d->held[i].is_error && ++d->nshown > limit) {
            fprintf(out, "nngc: too many errors (more than %d); not showing the rest\n", limit);
            break;
        }
        fputs(d->held[i].text, out);
    }
    d->nheld = 0;
    fflush(out);
}

void diag_verror(Diag *d, const char *kind, Loc loc, const char *fmt, va_list ap) {
    FILE *out = d->out ? d->out : stderr;
    int limit = error_limit(d);
    if (strcmp(kind, "note") != 0)
        d->quiet_notes = false;
    if (strcmp(kind, "warning") == 0 && d->warnings != DIAG_WARN_SHOW) {
        if (d->warnings == DIAG_WARN_OFF) {
            d->quiet_notes = true;
            return;
        }
        kind = "error";
    }
    if (d->quiet_notes)
        return;
    bool is_error = strcmp(kind, "error") == 0;
    if (is_error) {
        d->nerrors++;
        if (d->nerrors == limit + 1 && !d->hold)
            fprintf(out, "nngc: too many errors (more than %d); not showing the rest\n", limit);
    } else if (strcmp(kind, "warning") == 0) {
        d->nwarnings++;
    }
    if (d->hold) {
        hold(d, kind, loc, fmt, ap);
        return;
    }
    /* Past the limit nothing is shown: not the error, nor its notes. */
    if (d->nerrors > limit)
        return;
    write_message(out, d, kind, loc, fmt, ap);
}

void diag_error(Diag *d, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, "error", loc, fmt, ap);
    va_end(ap);
}

void diag_warning(Diag *d, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, "warning", loc, fmt, ap);
    va_end(ap);
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(d, "note", loc, fmt, ap);
    va_end(ap);
}
