/*
 * npz.c - NumPy .npz files: a zip archive of NAME.npy members, as
 * np.savez writes them (PKWARE APPNOTE 6.3: local headers, a central
 * directory, an end record; zip64 records for large files, which np.savez
 * always asks for).
 *
 * The archive is read through its central directory, the one authority
 * on each member's sizes (np.savez leaves the local headers' sizes as
 * zip64 placeholders). Members must be stored (method 0); deflated ones
 * (np.savez_compressed) are refused with a message that says so, which
 * keeps the runtime free of a zlib dependency. The file is untrusted:
 *
 *  - every offset and size is checked against the file, with checked
 *    arithmetic, before it is used;
 *  - the members' byte ranges may not overlap (several directory entries
 *    naming the same bytes would multiply the memory a small file costs),
 *    so the arrays together are bounded by the file's size;
 *  - each member's CRC-32 is checked before its .npy is parsed;
 *  - names are unique, end in ".npy" and contain no NUL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_internal.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

static uint32_t rd16(const unsigned char *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8; }
static uint32_t rd32(const unsigned char *b) { return rd16(b) | rd16(b + 2) << 16; }
static uint64_t rd64(const unsigned char *b) { return rd32(b) | (uint64_t)rd32(b + 4) << 32; }

/* Reads n bytes at offset off, which the caller has checked lie in the file. */
static int read_at(FILE *f, const char *path, int64_t off, void *buf, size_t n) {
    if (fseeko(f, (off_t)off, SEEK_SET) != 0)
        return nnrt_error(NNRT_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    if (n && fread(buf, 1, n, f) != n)
        return nnrt_error(NNRT_ERR_IO, "%s: read failed: %s", path,
                          ferror(f) ? strerror(errno) : "unexpected end of file");
    return NNRT_OK;
}

static int bad_zip(const char *path, const char *what) {
    return nnrt_error(NNRT_ERR_FORMAT, "%s: not a valid .npz (zip) file: %s", path, what);
}

/* CRC-32 (ISO 3309, the zip one) of the n bytes at off. */
static int member_crc(FILE *f, const char *path, int64_t off, int64_t n, uint32_t *out) {
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    unsigned char buf[1 << 14];
    uint32_t crc = 0xffffffffu;
    for (int64_t done = 0; done < n;) {
        size_t k = n - done < (int64_t)sizeof buf ? (size_t)(n - done) : sizeof buf;
        int rc = read_at(f, path, off + done, buf, k);
        if (rc)
            return rc;
        for (size_t i = 0; i < k; i++)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
        done += (int64_t)k;
    }
    *out = crc ^ 0xffffffffu;
    return NNRT_OK;
}

/* Where the central directory is: from the end record, or from the zip64
 * end record when the end record says "see zip64". */
static int find_directory(FILE *f, const char *path, int64_t fsize, int64_t *cd_off,
                          int64_t *cd_size, int64_t *count) {
    int64_t tail = fsize < 22 + 65535 ? fsize : 22 + 65535;
    unsigned char *t = malloc(tail ? (size_t)tail : 1);
    if (!t)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    int rc = read_at(f, path, fsize - tail, t, (size_t)tail);
    int64_t at = -1;
    for (int64_t i = tail - 22; !rc && i >= 0; i--)
        if (rd32(t + i) == SIG_END && rd16(t + i + 20) == (uint32_t)(tail - i - 22)) {
            at = i;
            break;
        }
    unsigned char e[22] = {0};
    if (at >= 0)
        memcpy(e, t + at, 22);
    free(t);
    if (rc)
        return rc;
    if (at < 0)
        return bad_zip(path, "no end of central directory record");
    int64_t end_pos = fsize - tail + at;
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10))
        return bad_zip(path, "a multi-part archive");
    uint64_t n = rd16(e + 10), size = rd32(e + 12), off = rd32(e + 16);
    if (n == 0xffff || size == 0xffffffffu || off == 0xffffffffu) {
        unsigned char loc[20], z[56];
        if (end_pos < 20)
            return bad_zip(path, "no zip64 end record locator");
        if ((rc = read_at(f, path, end_pos - 20, loc, 20)))
            return rc;
        uint64_t z_off = rd64(loc + 8);
        if (rd32(loc) != SIG_LOCATOR64 || z_off > (uint64_t)end_pos - 20 ||
            (uint64_t)end_pos - 20 - z_off < 56)
            return bad_zip(path, "bad zip64 end record locator");
        if ((rc = read_at(f, path, (int64_t)z_off, z, 56)))
            return rc;
        if (rd32(z) != SIG_END64 || rd32(z + 16) != 0 || rd32(z + 20) != 0)
            return bad_zip(path, "bad zip64 end record");
        n = rd64(z + 32), size = rd64(z + 40), off = rd64(z + 48);
        end_pos = (int64_t)z_off;
    }
    if (off > (uint64_t)end_pos || size > (uint64_t)end_pos - off)
        return bad_zip(path, "central directory outside the file");
    if (n > size / 46)
        return bad_zip(path, "more entries than the central directory holds");
    *cd_off = (int64_t)off, *cd_size = (int64_t)size, *count = (int64_t)n;
    return NNRT_OK;
}

/* One member, from its central directory entry. */
typedef struct Member {
    char *name;                  /* without ".npy" */
    int64_t header, data, size;  /* local header offset, data offset, bytes */
    uint32_t crc;
} Member;

/* Parses the entry at *p (of the directory's remaining `left` bytes) into m
 * and advances *p. */
static int parse_entry(const char *path, const unsigned char **p, int64_t left, Member *m) {
    const unsigned char *e = *p;
    char nbuf[80];
    if (left < 46 || rd32(e) != SIG_CENTRAL)
        return bad_zip(path, "bad central directory entry");
    uint32_t flags = rd16(e + 8), method = rd16(e + 10);
    uint64_t csize = rd32(e + 20), usize = rd32(e + 24), header = rd32(e + 42);
    int64_t nlen = rd16(e + 28), xlen = rd16(e + 30), clen = rd16(e + 32);
    if (46 + nlen + xlen + clen > left)
        return bad_zip(path, "central directory entry runs past the directory");
    const char *name = (const char *)e + 46;
    m->name = malloc((size_t)nlen + 1);
    if (!m->name)
        return nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    memcpy(m->name, name, (size_t)nlen);
    m->name[nlen] = '\0';
    const char *shown = nnrt_printable(nbuf, sizeof nbuf, m->name);
    if (memchr(name, '\0', (size_t)nlen))
        return bad_zip(path, "a member name contains NUL");
    /* zip64 extra field: the 8-byte values of the fields saturated above */
    for (const unsigned char *x = e + 46 + nlen, *xe = x + xlen; xe - x >= 4;) {
        uint32_t id = rd16(x), len = rd16(x + 2);
        if (len > xe - x - 4)
            return bad_zip(path, "extra field runs past its entry");
        const unsigned char *v = x + 4, *ve = v + len;
        if (id == 1) {
            uint64_t *fields[3] = {&usize, &csize, &header};
            for (int k = 0; k < 3; k++)
                if (*fields[k] == 0xffffffffu) {
                    if (ve - v < 8)
                        return bad_zip(path, "short zip64 extra field");
                    *fields[k] = rd64(v);
                    v += 8;
                }
        }
        x = ve;
    }
    *p = e + 46 + nlen + xlen + clen;
    if (flags & 1)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: member '%s' is encrypted", path, shown);
    if (method == 8)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: member '%s' is compressed (np.savez_compressed); save with "
                          "np.savez, which stores the arrays as they are",
                          path, shown);
    if (method != 0)
        return nnrt_error(NNRT_ERR_FORMAT, "%s: member '%s' uses zip compression method %u",
                          path, shown, method);
    if (csize != usize || csize > INT64_MAX || header > INT64_MAX)
        return bad_zip(path, "stored member with inconsistent sizes");
    if (nlen < 4 || strcmp(m->name + nlen - 4, ".npy") != 0)
        return nnrt_error(NNRT_ERR_FORMAT,
                          "%s: member '%s' is not a .npy array (a .npz holds NAME.npy members)",
                          path, shown);
    m->name[nlen - 4] = '\0';
    m->size = (int64_t)csize;
    m->header = (int64_t)header;
    m->crc = rd32(e + 16);
    return NNRT_OK;
}

/* Finds the member's data after its local header, within [0, limit). */
static int locate_data(FILE *f, const char *path, Member *m, int64_t limit) {
    unsigned char h[30];
    int64_t data;
    if (m->header > limit - 30)
        return bad_zip(path, "local header outside the file");
    int rc = read_at(f, path, m->header, h, 30);
    if (rc)
        return rc;
    if (rd32(h) != SIG_LOCAL)
        return bad_zip(path, "bad local header");
    if (!nnrt_add_size(m->header + 30, (int64_t)rd16(h + 26) + rd16(h + 28), &data) ||
        data > limit || m->size > limit - data)
        return bad_zip(path, "member data outside the file");
    m->data = data;
    return NNRT_OK;
}

static int by_header(const void *a, const void *b) {
    const Member *x = a, *y = b;
    return (x->header > y->header) - (x->header < y->header);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const Member *)a)->name, ((const Member *)b)->name);
}

void nnrt_npz_free(nnrt_npz *z) {
    if (!z)
        return;
    for (int i = 0; i < z->n; i++) {
        free(z->names[i]);
        nnrt_array_free(&z->arrays[i]);
    }
    free(z->names);
    free(z->arrays);
    z->names = NULL;
    z->arrays = NULL;
    z->n = 0;
}

static int npz_read_file(FILE *f, const char *path, int64_t fsize, nnrt_npz *out) {
    int64_t cd_off = 0, cd_size = 0, n = 0;
    int rc = find_directory(f, path, fsize, &cd_off, &cd_size, &n);
    if (rc)
        return rc;
    if (n > INT32_MAX)
        return bad_zip(path, "too many members");
    unsigned char *cd = malloc(cd_size ? (size_t)cd_size : 1);
    Member *m = calloc(n ? (size_t)n : 1, sizeof *m);
    out->names = calloc(n ? (size_t)n : 1, sizeof *out->names);
    out->arrays = calloc(n ? (size_t)n : 1, sizeof *out->arrays);
    if (!cd || !m || !out->names || !out->arrays)
        rc = nnrt_error(NNRT_ERR_NOMEM, "%s: out of memory", path);
    if (!rc)
        rc = read_at(f, path, cd_off, cd, (size_t)cd_size);
    const unsigned char *p = cd;
    for (int64_t i = 0; i < n && !rc; i++)
        rc = parse_entry(path, &p, cd_size - (p - cd), &m[i]);
    for (int64_t i = 0; i < n && !rc; i++)
        rc = locate_data(f, path, &m[i], cd_off);
    char nbuf[80];
    if (!rc && n > 1) {
        qsort(m, (size_t)n, sizeof *m, by_header);
        for (int64_t i = 1; i < n && !rc; i++)
            if (m[i].header < m[i - 1].data + m[i - 1].size)
                rc = bad_zip(path, "members overlap");
        qsort(m, (size_t)n, sizeof *m, by_name);
        for (int64_t i = 1; i < n && !rc; i++)
            if (strcmp(m[i].name, m[i - 1].name) == 0)
                rc = nnrt_error(NNRT_ERR_FORMAT, "%s: member '%s.npy' appears twice", path,
                                nnrt_printable(nbuf, sizeof nbuf, m[i].name));
    }
    for (int64_t i = 0; i < n && !rc; i++) {
        uint32_t crc;
        char label[4200];
        snprintf(label, sizeof label, "%s (member %s.npy)", path,
                 nnrt_printable(nbuf, sizeof nbuf, m[i].name));
        if ((rc = member_crc(f, path, m[i].data, m[i].size, &crc)))
            break;
        if (crc != m[i].crc) {
            rc = nnrt_error(NNRT_ERR_FORMAT, "%s: CRC mismatch: the file is corrupt", label);
            break;
        }
        if (fseeko(f, (off_t)m[i].data, SEEK_SET) != 0)
            rc = nnrt_error(NNRT_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
        else
            rc = nnrt_npy_read_stream(f, label, m[i].size, &out->arrays[i]);
        if (!rc) {
            out->names[i] = m[i].name;
            m[i].name = NULL;
            out->n++;
        }
    }
    for (int64_t i = 0; m && i < n; i++)
        free(m[i].name);
    free(m);
    free(cd);
    return rc;
}

int nnrt_npz_read(const char *path, nnrt_npz *out) {
    if (!path || !out)
        return nnrt_error(NNRT_ERR_ARG, "nnrt_npz_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f;
    int64_t size;
    int rc = nnrt_open_regular(path, &f, &size);
    if (rc)
        return rc;
    rc = npz_read_file(f, path, size, out);
    fclose(f);
    if (rc)
        nnrt_npz_free(out);
    return rc;
}
