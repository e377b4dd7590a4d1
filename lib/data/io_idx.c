/* IDX files (MNIST / Fashion-MNIST) → host arrays. Plain and gzip-compressed files
 * are both read through zlib's gz* interface, which tells them apart by the gzip
 * magic (a plain file is passed through). The payload is read in chunks into an
 * output array that grows with what was actually read, so a header that claims
 * a huge array over a short file costs no huge allocation. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

#define IDX_MAX_ELEMENTS ((size_t)INT32_MAX) /* 2^31 - 1 */
#define IDX_LABEL_LIMIT 16777216.0           /* 2^24: ids stay exact as float */
#define DEFLATE_MAX_RATIO 1032               /* the most deflate can expand its input */

typedef struct idx_type {
    uint8_t code;
    size_t size;
    const char *name;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, "ubyte"}, {0x09, 1, "sbyte"},   {0x0B, 2, "int16"},
    {0x0C, 4, "int32"}, {0x0D, 4, "float32"}, {0x0E, 8, "float64"},
};

typedef struct idx_src {
    gzFile gz;
    const char *path;
    int64_t file_size; /* bytes on disk; -1 when not a regular file */
} idx_src;

static const char *kind(const idx_src *s) { return gzdirect(s->gz) ? "" : " (gzip)"; }

/* Reads up to n bytes; *got < n only at the end of the data. A zlib or system error
 * (corrupt or cut gzip stream, read failure) is reported here. */
static clg_status src_read(idx_src *s, void *buf, size_t n, size_t *got)
{
    size_t total = 0;
    while (total < n) {
        size_t left = n - total;
        unsigned chunk = left > (1u << 30) ? (1u << 30) : (unsigned)left;
        int r = gzread(s->gz, (char *)buf + total, chunk);
        if (r <= 0) break;
        total += (size_t)r;
    }
    *got = total;
    if (total == n) return CLG_OK;
    int err = Z_OK;
    const char *msg = gzerror(s->gz, &err);
    switch (err) {
    case Z_OK:
    case Z_STREAM_END:
        return CLG_OK;
    case Z_ERRNO:
        return clg_fail(NULL, CLG_ERR_IO, "%s: read error: %s", s->path, strerror(errno));
    case Z_MEM_ERROR:
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: zlib is out of memory", s->path);
    case Z_BUF_ERROR:
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: the gzip stream is truncated (%s)", s->path,
                        msg);
    default:
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: the gzip stream is corrupt (%s)", s->path, msg);
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* Converts m big-endian elements starting at element index `first` into out. */
static clg_status convert(const idx_src *s, const idx_type *t, const unsigned char *in, size_t m,
                          size_t first, float *out)
{
    for (size_t i = 0; i < m; i++) {
        const unsigned char *p = in + i * t->size;
        switch (t->code) {
        case 0x08:
            out[i] = (float)p[0];
            break;
        case 0x09:
            out[i] = (float)(int8_t)p[0];
            break;
        case 0x0B:
            out[i] = (float)(int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
            break;
        case 0x0C:
            out[i] = (float)(int32_t)be32(p);
            break;
        case 0x0D: {
            uint32_t u = be32(p);
            float f;
            memcpy(&f, &u, sizeof f);
            if (!isfinite(f))
                return clg_fail(NULL, CLG_ERR_NONFINITE,
                                "%s: payload element %zu is not finite (%g)", s->path, first + i,
                                (double)f);
            out[i] = f;
            break;
        }
        default: { /* 0x0E */
            uint64_t u = be64(p);
            double v;
            memcpy(&v, &u, sizeof v);
            float f = (float)v;
            if (!isfinite(f))
                return clg_fail(NULL, CLG_ERR_NONFINITE,
                                "%s: payload element %zu (%g) is not finite in float32", s->path,
                                first + i, v);
            out[i] = f;
        }
        }
    }
    return CLG_OK;
}

static clg_status read_header(idx_src *s, const idx_type **type, clg_idx *h)
{
    unsigned char head[4];
    size_t got;
    clg_status st = src_read(s, head, 4, &got);
    if (st != CLG_OK) return st;
    if (got < 4)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s%s: magic: the file has %zu bytes, too short for an IDX header", s->path,
                        kind(s), got);
    if (head[0] != 0 || head[1] != 0)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s%s: magic: the first two bytes are 0x%02x 0x%02x, expected 0x00 0x00 "
                        "(not an IDX file)",
                        s->path, kind(s), head[0], head[1]);
    *type = NULL;
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == head[2]) *type = &idx_types[i];
    if (!*type)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s%s: dtype: code 0x%02x is not an IDX type (0x08 ubyte, 0x09 sbyte, "
                        "0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)",
                        s->path, kind(s), head[2]);
    if (head[3] < 1 || head[3] > 4)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s%s: ndim: %u dimensions, expected 1 to 4", s->path,
                        kind(s), head[3]);
    h->dtype = head[2];
    h->ndim = head[3];

    unsigned char dims[16];
    const size_t want = 4u * h->ndim;
    st = src_read(s, dims, want, &got);
    if (st != CLG_OK) return st;
    if (got < want)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s%s: dims: truncated: %u dimensions need %zu bytes, the file has %zu",
                        s->path, kind(s), h->ndim, want, got);
    size_t count = 1;
    for (unsigned i = 0; i < h->ndim; i++) {
        h->dims[i] = be32(dims + 4 * i);
        if (h->dims[i] == 0)
            return clg_fail(NULL, CLG_ERR_FORMAT, "%s%s: dims[%u] is 0", s->path, kind(s), i);
        if (count > IDX_MAX_ELEMENTS / h->dims[i])
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s%s: dims: the element count overflows the limit of %zu elements "
                            "(dims[%u] = %u)",
                            s->path, kind(s), IDX_MAX_ELEMENTS, i, (unsigned)h->dims[i]);
        count *= h->dims[i];
    }
    h->count = count;
    return CLG_OK;
}

/* The payload the header declares must fit in the file: refused before any allocation
 * (a plain file must hold it; a gzip file cannot expand beyond deflate's ratio). */
static clg_status check_size(const idx_src *s, const idx_type *t, const clg_idx *h)
{
    if (s->file_size < 0) return CLG_OK;
    const uint64_t need = (uint64_t)h->count * t->size, head = 4 + 4 * (uint64_t)h->ndim;
    const uint64_t size = (uint64_t)s->file_size;
    if (gzdirect(s->gz)) {
        const uint64_t have = size > head ? size - head : 0;
        if (have < need)
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: payload: truncated: %zu elements of %s need %llu bytes, the file "
                            "has %llu",
                            s->path, h->count, t->name, (unsigned long long)need,
                            (unsigned long long)have);
    } else if (need / DEFLATE_MAX_RATIO > size) {
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s (gzip): payload: %zu elements of %s need %llu bytes, more than a "
                        "%llu-byte gzip file can hold (deflate expands at most %d:1)",
                        s->path, h->count, t->name, (unsigned long long)need,
                        (unsigned long long)size, DEFLATE_MAX_RATIO);
    }
    return CLG_OK;
}

static clg_status read_payload(idx_src *s, const idx_type *t, size_t count, float **out)
{
    unsigned char buf[1 << 16];
    const size_t per_chunk = sizeof buf / t->size;
    float *data = NULL;
    size_t cap = 0, done = 0;
    clg_status st = CLG_OK;
    while (done < count) {
        size_t m = count - done < per_chunk ? count - done : per_chunk, got;
        st = src_read(s, buf, m * t->size, &got);
        if (st != CLG_OK) break;
        if (done + m > cap) {
            size_t ncap = cap ? 2 * cap : ((size_t)1 << 16);
            if (ncap < done + m) ncap = done + m;
            if (ncap > count) ncap = count;
            float *nd = realloc(data, ncap * sizeof *nd);
            if (!nd) {
                st = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu values",
                              s->path, ncap);
                break;
            }
            data = nd;
            cap = ncap;
        }
        st = convert(s, t, buf, got / t->size, done, data + done);
        if (st != CLG_OK) break;
        if (got < m * t->size) {
            st = clg_fail(NULL, CLG_ERR_FORMAT,
                          "%s%s: payload: truncated: %zu elements of %s need %zu bytes, the file "
                          "has %zu",
                          s->path, kind(s), count, t->name, count * t->size, done * t->size + got);
            break;
        }
        done += m;
    }
    if (st == CLG_OK) {
        unsigned char extra[64];
        size_t got;
        st = src_read(s, extra, sizeof extra, &got); /* also ends the gzip stream: CRC check */
        if (st == CLG_OK && got > 0)
            st = clg_fail(NULL, CLG_ERR_FORMAT,
                          "%s%s: trailing data after the payload of %zu bytes (%zu%s extra bytes)",
                          s->path, kind(s), count * t->size, got,
                          got == sizeof extra ? " or more" : "");
    }
    if (st != CLG_OK) {
        free(data);
        return st;
    }
    *out = data;
    return CLG_OK;
}

clg_status clg_idx_read(const char *path, clg_idx *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_idx_read: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    idx_src s = {.path = path, .file_size = -1};
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) s.file_size = (int64_t)sb.st_size;
    s.gz = gzdopen(fd, "rb");
    if (!s.gz) {
        close(fd);
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: cannot open: zlib is out of memory", path);
    }
    clg_idx h;
    memset(&h, 0, sizeof h);
    const idx_type *t = NULL;
    clg_status st = read_header(&s, &t, &h);
    if (st == CLG_OK) st = check_size(&s, t, &h);
    if (st == CLG_OK) st = read_payload(&s, t, h.count, &h.data);
    gzclose(s.gz);
    if (st != CLG_OK) return st;
    *out = h;
    return CLG_OK;
}

void clg_idx_free(clg_idx *idx)
{
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

clg_status clg_idx_read_pair(const char *images, const char *labels, float **X, int32_t **y,
                             size_t *n, size_t *d)
{
    if (X) *X = NULL;
    if (y) *y = NULL;
    if (n) *n = 0;
    if (d) *d = 0;
    if (!images || !labels || !X || !y || !n || !d)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_idx_read_pair: NULL argument");
    clg_idx im, lb;
    clg_status st = clg_idx_read(images, &im);
    if (st != CLG_OK) return st;
    st = clg_idx_read(labels, &lb);
    if (st != CLG_OK) {
        clg_idx_free(&im);
        return st;
    }
    if (im.ndim < 2)
        st = clg_fail(NULL, CLG_ERR_SHAPE,
                      "%s: images must have at least 2 dimensions (samples × features), the file "
                      "is 1-D (are images and labels swapped?)",
                      images);
    else if (lb.ndim != 1)
        st = clg_fail(NULL, CLG_ERR_SHAPE, "%s: labels must be 1-D, the file has %u dimensions",
                      labels, lb.ndim);
    else if (im.dims[0] != lb.dims[0])
        st = clg_fail(NULL, CLG_ERR_SHAPE, "%s has %u images but %s has %u labels", images,
                      (unsigned)im.dims[0], labels, (unsigned)lb.dims[0]);
    int32_t *yo = NULL;
    if (st == CLG_OK) {
        yo = malloc(lb.count * sizeof *yo);
        if (!yo) st = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", labels);
    }
    for (size_t i = 0; st == CLG_OK && i < lb.count; i++) {
        const float v = lb.data[i];
        if (v < 0 || v >= IDX_LABEL_LIMIT || v != floorf(v))
            st = clg_fail(NULL, CLG_ERR_FORMAT,
                          "%s: label %zu is %g; class ids must be integers in [0, 2^24)", labels, i,
                          (double)v);
        else
            yo[i] = (int32_t)v;
    }
    if (st != CLG_OK) {
        free(yo);
        clg_idx_free(&im);
        clg_idx_free(&lb);
        return st;
    }
    if (im.dtype == 0x08)
        for (size_t i = 0; i < im.count; i++) im.data[i] /= 255.0f;
    *n = im.dims[0];
    *d = im.count / im.dims[0];
    *X = im.data; /* ownership moves to the caller */
    *y = yo;
    clg_idx_free(&lb);
    return CLG_OK;
}
