/*
 * cache.c - the build cache of `nngc run`, `train` and `eval`: a model's
 * compiled shared object, and the CUDA emulation's runtime objects, kept
 * in a directory and used again when the same inputs would be compiled
 * the same way (docs/CLI.md "The build cache").
 *
 * An entry is named by a key, a 64-bit FNV-1a hash of everything its
 * bytes depend on: nngc itself and the compiler (each one's path, size,
 * time and inode), the flags, the CPU (-march=native), the
 * generated source and header, and every header of the runtime. Entries
 * are written under a temporary name and renamed, so that two nngc at
 * once never see half of one; a hit touches its entry, and past
 * CACHE_MAX entries the least recently used go. Nothing here fails a
 * build: without a directory (NNGC_CACHE_DIR=off, or one that cannot be
 * made or written) nngc compiles as if there were no cache.
 */
#include "driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { CACHE_MAX = 256 }; /* entries kept (a model's .so: about 100 KiB) */

static uint64_t cache_hash(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

uint64_t cache_hash_str(uint64_t h, const char *s) { return cache_hash(h, s, strlen(s) + 1); }

uint64_t cache_hash_file(uint64_t h, const char *path) {
    size_t len = 0;
    const char *text = read_file(path, &len);
    return text ? cache_hash(cache_hash(h, &len, sizeof len), text, len) : cache_hash_str(h, "(unreadable)");
}

uint64_t cache_hash_program(uint64_t h, const char *prog) {
    h = cache_hash_str(h, prog);
    const char *path = driver_find_program(prog);
    struct stat st;
    char real[4096];
    if (path && realpath(path, real) && stat(real, &st) == 0) {
        int64_t id[4] = {(int64_t)st.st_size, (int64_t)st.st_mtime, (int64_t)st.st_ino, (int64_t)st.st_dev};
        h = cache_hash(cache_hash_str(h, real), id, sizeof id);
    }
    return h;
}

/* this CPU's model name and flags (code built with -march=native runs only
 * where they are the same) */
uint64_t cache_hash_cpu(uint64_t h) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return cache_hash_str(h, "(no cpuinfo)");
    char line[8192];
    int seen = 0;
    while (seen < 2 && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) || !strncmp(line, "flags", 5))
            h = cache_hash_str(h, line), seen++;
    fclose(f);
    return h;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

uint64_t cache_hash_sources(uint64_t h, const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return cache_hash_str(h, dir);
    char *names[512];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 512;) {
        const char *dot = strrchr(e->d_name, '.');
        if (dot && (!strcmp(dot, ".h") || !strcmp(dot, ".cuh") || !strcmp(dot, ".cu") || !strcmp(dot, ".cpp")))
            names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    for (int i = 0; i < n; i++)
        h = cache_hash_file(cache_hash_str(h, names[i]), xsprintf("%s/%s", dir, names[i]));
    return h;
}

uint64_t cache_key_begin(const Paths *paths) {
    /* nngc itself (a new nngc may build with other flags), the runtime's headers */
    return cache_hash_sources(cache_hash_program(0xcbf29ce484222325ull, "/proc/self/exe"), paths->include_dir);
}

const char *cache_dir(void) {
    const char *d = getenv("NNGC_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (d && strcmp(d, "off") == 0)
        return NULL;
    if (!d || !*d)
        d = x && *x == '/' ? xsprintf("%s/nngc", x) : home && *home == '/' ? xsprintf("%s/.cache/nngc", home) : NULL;
    return d && driver_make_dirs(d, true) && access(d, W_OK | X_OK) == 0 ? d : NULL;
}

const char *cache_path(const char *dir, uint64_t key, const char *name) {
    return xsprintf("%s/%016" PRIx64 "-%s", dir, key, name);
}

/* copies src to dst (created with mode 0755); false on any failure (dst removed) */
static bool copy_file(const char *src, const char *dst) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return false;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    bool ok = out >= 0;
    char buf[1 << 16];
    for (ssize_t n; ok && (n = read(in, buf, sizeof buf)) != 0;) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            ok = false;
    }
    close(in);
    if (out >= 0 && close(out) != 0)
        ok = false;
    if (!ok && out >= 0)
        unlink(dst);
    return ok;
}

bool cache_has(const char *entry) {
    if (access(entry, R_OK) != 0)
        return false;
    utimes(entry, NULL); /* used now: the last to go */
    return true;
}

bool cache_fetch(const char *entry, const char *dst) { return cache_has(entry) && copy_file(entry, dst); }

const char *cache_tmp(const char *entry) { return xsprintf("%s.%ld.tmp", entry, (long)getpid()); }

/* past CACHE_MAX entries, the least recently used go (their time: made or last fetched) */
static void cache_trim(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct Entry {
        char *name;
        time_t t;
    } *e = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        struct stat st;
        const char *p = xsprintf("%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t grown = cap ? 2 * cap : 64;
            e = xrealloc(e, cap * sizeof *e, grown * sizeof *e);
            cap = grown;
        }
        e[n].name = xstrdup(p), e[n].t = st.st_mtime, n++;
    }
    closedir(d);
    time_t now = time(NULL);
    while (n > CACHE_MAX) { /* remove the oldest (not one used in the last minute: another nngc may be linking it) */
        size_t old = 0;
        for (size_t i = 1; i < n; i++)
            if (e[i].t < e[old].t)
                old = i;
        if (e[old].t > now - 60)
            break;
        unlink(e[old].name);
        e[old] = e[--n];
    }
}

bool cache_commit(const char *tmp, const char *entry) {
    if (rename(tmp, entry) != 0) {
        unlink(tmp);
        return false;
    }
    const char *slash = strrchr(entry, '/');
    cache_trim(slash ? xsprintf("%.*s", (int)(slash - entry), entry) : ".");
    return true;
}

void cache_store(const char *src, const char *entry) {
    const char *tmp = cache_tmp(entry);
    if (copy_file(src, tmp))
        cache_commit(tmp, entry);
}
