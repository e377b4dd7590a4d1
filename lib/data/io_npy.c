/* NumPy .npy files → host arrays. The header is a Python dict literal, parsed strictly
 * here (exactly 'descr', 'fortran_order' and 'shape'); the data length is checked
 * against the file size before anything is allocated. The header check and the
 * conversion are shared with the file-streamed datasets (stream_npy.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"

#define NPY_MAX_HEADER 65536 /* numpy itself refuses headers beyond 10000 bytes by default */
#define NPY_MAX_DIMS 8

typedef enum npy_kind {
    NPY_F32,
    NPY_F64,
    NPY_U8,
    NPY_I8,
    NPY_I16,
    NPY_U16,
    NPY_I32,
    NPY_U32,
    NPY_I64,
    NPY_U64
} npy_kind;

typedef struct npy_type {
    const char *descr;
    size_t size;
    npy_kind kind;
} npy_type;

static const npy_type npy_types[] = {
    {"<f4", 4, NPY_F32}, {"<f8", 8, NPY_F64}, {"|u1", 1, NPY_U8},  {"|i1", 1, NPY_I8},
    {"<i2", 2, NPY_I16}, {"<u2", 2, NPY_U16}, {"<i4", 4, NPY_I32}, {"<u4", 4, NPY_U32},
    {"<i8", 8, NPY_I64}, {"<u8", 8, NPY_U64},
};

/* ------------------------------------------------------------ header dict parser */

typedef struct parser {
    const char *p, *end;
    const char *path;
} parser;

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
        ps->p++;
}

static int peek(parser *ps) { return ps->p < ps->end ? (unsigned char)*ps->p : -1; }

static clg_status syntax(const parser *ps, const char *what)
{
    /* The header text is not NUL-terminated: quote at most what is left of it. */
    const size_t left = ps->p < ps->end ? (size_t)(ps->end - ps->p) : 0;
    if (!left)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header dict: %s at the end of the header",
                        ps->path, what);
    return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header dict: %s at \"%.*s\"", ps->path, what,
                    (int)(left < 24 ? left : 24), ps->p);
}

/* A Python string literal in single or double quotes, without escapes. */
static clg_status parse_string(parser *ps, const char **s, size_t *len)
{
    int q = peek(ps);
    if (q != '\'' && q != '"') return syntax(ps, "expected a quoted string");
    const char *start = ++ps->p;
    while (ps->p < ps->end && *ps->p != q && *ps->p != '\n') {
        if (*ps->p == '\\') return syntax(ps, "backslash escapes are not supported in a string");
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p == '\n') {
        ps->p = start - 1;
        return syntax(ps, "unterminated string");
    }
    *s = start;
    *len = (size_t)(ps->p - start);
    ps->p++;
    return CLG_OK;
}

static int take_word(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) return 0;
    const char *after = ps->p + n;
    if (after < ps->end && (*after == '_' || (*after >= 'a' && *after <= 'z') ||
                            (*after >= 'A' && *after <= 'Z') || (*after >= '0' && *after <= '9')))
        return 0;
    ps->p = after;
    return 1;
}

/* (), (n,), (a, b), (a, b,) — non-negative integers, optional Python 2 'L' suffix. */
static clg_status parse_shape(parser *ps, clg_npy *h)
{
    if (peek(ps) != '(') return syntax(ps, "'shape' must be a tuple");
    ps->p++;
    skip_ws(ps);
    size_t ndim = 0;
    int need_comma_for_one = 1;
    while (peek(ps) != ')') {
        if (peek(ps) < '0' || peek(ps) > '9')
            return syntax(ps, "expected a non-negative integer in 'shape'");
        size_t v = 0;
        while (peek(ps) >= '0' && peek(ps) <= '9') {
            size_t dgt = (size_t)(*ps->p - '0');
            if (v > (SIZE_MAX - dgt) / 10)
                return clg_fail(NULL, CLG_ERR_FORMAT,
                                "%s: .npy header: shape dimension %zu overflows size_t", ps->path,
                                ndim);
            v = v * 10 + dgt;
            ps->p++;
        }
        if (peek(ps) == 'L') ps->p++;
        if (ndim == NPY_MAX_DIMS)
            return clg_fail(NULL, CLG_ERR_UNSUPPORTED, "%s: .npy shape has more than %d dimensions",
                            ps->path, NPY_MAX_DIMS);
        h->shape[ndim++] = v;
        skip_ws(ps);
        if (peek(ps) == ',') {
            ps->p++;
            skip_ws(ps);
            need_comma_for_one = 0;
        } else if (peek(ps) != ')') {
            return syntax(ps, "expected ',' or ')' in 'shape'");
        } else if (ndim == 1 && need_comma_for_one) {
            return syntax(ps, "'shape' (n) is not a tuple; a 1-tuple is written (n,)");
        }
    }
    ps->p++;
    h->ndim = ndim;
    return CLG_OK;
}

static clg_status parse_header(parser *ps, const npy_type **type, clg_npy *h)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0, fortran = 0;
    const char *descr = NULL;
    size_t descr_len = 0;
    skip_ws(ps);
    if (peek(ps) != '{') return syntax(ps, "expected '{'");
    ps->p++;
    skip_ws(ps);
    while (peek(ps) != '}') {
        const char *key;
        size_t klen;
        clg_status st = parse_string(ps, &key, &klen);
        if (st != CLG_OK) return st;
        skip_ws(ps);
        if (peek(ps) != ':') return syntax(ps, "expected ':' after a key");
        ps->p++;
        skip_ws(ps);
        int *seen;
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            seen = &seen_descr;
            if (peek(ps) == '[')
                return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                                "%s: .npy structured dtypes (a 'descr' list) are not supported",
                                ps->path);
            st = parse_string(ps, &descr, &descr_len);
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            seen = &seen_fortran;
            if (take_word(ps, "True"))
                fortran = 1;
            else if (take_word(ps, "False"))
                fortran = 0;
            else
                return syntax(ps, "'fortran_order' must be True or False");
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            seen = &seen_shape;
            st = parse_shape(ps, h);
        } else {
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: .npy header dict: unknown key '%.*s' (expected 'descr', "
                            "'fortran_order', 'shape')",
                            ps->path, (int)(klen > 40 ? 40 : klen), key);
        }
        if (st != CLG_OK) return st;
        if (*seen)
            return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header dict: key '%.*s' is repeated",
                            ps->path, (int)klen, key);
        *seen = 1;
        skip_ws(ps);
        if (peek(ps) == ',') {
            ps->p++;
            skip_ws(ps);
        } else if (peek(ps) != '}') {
            return syntax(ps, "expected ',' or '}'");
        }
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p != ps->end) return syntax(ps, "unexpected text after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header dict lacks the key '%s'", ps->path,
                        !seen_descr     ? "descr"
                        : !seen_fortran ? "fortran_order"
                                        : "shape");

    *type = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (strlen(npy_types[i].descr) == descr_len &&
            memcmp(npy_types[i].descr, descr, descr_len) == 0)
            *type = &npy_types[i];
    if (!*type) {
        int big = descr_len > 0 && descr[0] == '>';
        return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                        "%s: .npy dtype '%.*s' is not supported%s (supported: <f4 <f8 |u1 |i1 <i2 "
                        "<u2 <i4 <u4 <i8 <u8)",
                        ps->path, (int)(descr_len > 20 ? 20 : descr_len), descr,
                        big ? ": big-endian data" : "");
    }
    if (fortran)
        return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                        "%s: .npy fortran_order True (column-major) is not supported; save a "
                        "C-ordered array (np.ascontiguousarray)",
                        ps->path);
    return CLG_OK;
}

/* ------------------------------------------------------------------ data */

static int host_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static clg_status convert(const char *path, const npy_type *t, const unsigned char *in, size_t m,
                          size_t first, float *out)
{
    if (t->kind == NPY_F32 && host_little_endian()) { /* the same floats, copied at once */
        memcpy(out, in, m * sizeof *out);
        for (size_t i = 0; i < m; i++)
            if (!isfinite(out[i]))
                return clg_fail(NULL, CLG_ERR_NONFINITE,
                                "%s: element %zu (%g) is not finite in float32", path, first + i,
                                (double)out[i]);
        return CLG_OK;
    }
    for (size_t i = 0; i < m; i++) {
        const unsigned char *p = in + i * t->size;
        uint64_t u = clg_get_le(p, t->size);
        double v;
        switch (t->kind) {
        case NPY_F32: {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, sizeof f);
            v = f;
            break;
        }
        case NPY_F64:
            memcpy(&v, &u, sizeof v);
            break;
        case NPY_U8:
            v = (double)(uint8_t)u;
            break;
        case NPY_I8:
            v = (double)(int8_t)(uint8_t)u;
            break;
        case NPY_I16:
            v = (double)(int16_t)(uint16_t)u;
            break;
        case NPY_U16:
            v = (double)(uint16_t)u;
            break;
        case NPY_I32:
            v = (double)(int32_t)(uint32_t)u;
            break;
        case NPY_U32:
            v = (double)(uint32_t)u;
            break;
        case NPY_I64:
            v = (double)(int64_t)u;
            break;
        default:
            v = (double)u;
            break;
        }
        /* 64-bit integers: int64 → double → float may round twice; the float is the
         * nearest or next-nearest to the value (documented as "rounded"). */
        float f = t->kind == NPY_I64 ? (float)(int64_t)u : t->kind == NPY_U64 ? (float)u : (float)v;
        if (!isfinite(f))
            return clg_fail(NULL, CLG_ERR_NONFINITE,
                            "%s: element %zu (%g) is not finite in float32", path, first + i, v);
        out[i] = f;
    }
    return CLG_OK;
}

/* The header of fp (at its start) into h (shape and count) and *type, validated whole: the
 * payload of the shape's size must start at *data_off and end the file. */
static clg_status read_header(FILE *fp, const char *path, clg_npy *h, const npy_type **type,
                              uint64_t *data_off_out)
{
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return clg_fail(NULL, CLG_ERR_IO, "%s: not a regular file", path);
    const uint64_t fsize = (uint64_t)sb.st_size;

    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, fp);
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: bad magic: not a .npy file (expected \\x93NUMPY, %zu-byte file)", path,
                        (size_t)fsize);
    const unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                        "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0)", path,
                        major, minor);
    const size_t lenbytes = major == 1 ? 2 : 4;
    if (fread(pre + 8, 1, lenbytes, fp) < lenbytes)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header length: truncated", path);
    const uint64_t hlen = clg_get_le(pre + 8, lenbytes);
    const uint64_t data_off = 8 + lenbytes + hlen;
    if (hlen == 0 || hlen > NPY_MAX_HEADER)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header length %llu is out of range (1..%d)",
                        path, (unsigned long long)hlen, NPY_MAX_HEADER);
    if (data_off > fsize)
        return clg_fail(
            NULL, CLG_ERR_FORMAT,
            "%s: .npy header: truncated: the header needs %llu bytes, the file has %llu", path,
            (unsigned long long)data_off, (unsigned long long)fsize);
    char *text = malloc((size_t)hlen);
    if (!text) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", path);
    if (fread(text, 1, (size_t)hlen, fp) < hlen) {
        free(text);
        return clg_fail(NULL, CLG_ERR_IO, "%s: read error in the .npy header", path);
    }
    clg_status st = CLG_OK;
    if (text[hlen - 1] != '\n')
        st = clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header does not end with a newline", path);
    for (size_t i = 0; st == CLG_OK && i < hlen; i++)
        if (text[i] == '\0')
            st = clg_fail(NULL, CLG_ERR_FORMAT, "%s: .npy header contains a NUL byte", path);
    const npy_type *t = NULL;
    if (st == CLG_OK) {
        parser ps = {.p = text, .end = text + hlen, .path = path};
        st = parse_header(&ps, &t, h);
    }
    free(text);
    if (st != CLG_OK) return st;

    size_t count = 1;
    for (size_t i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0)
            return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                            "%s: .npy shape has a 0 in dimension %zu: empty arrays are not "
                            "supported",
                            path, i);
        if (count > SIZE_MAX / t->size / sizeof(float) / h->shape[i])
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: .npy shape: the element count overflows (dimension %zu = %zu)",
                            path, i, h->shape[i]);
        count *= h->shape[i];
    }
    const uint64_t have = fsize - data_off, need = (uint64_t)count * t->size;
    if (have < need)
        return clg_fail(
            NULL, CLG_ERR_FORMAT,
            "%s: .npy data: truncated: %zu elements of %s need %llu bytes, the file has "
            "%llu",
            path, count, t->descr, (unsigned long long)need, (unsigned long long)have);
    if (have > need)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: .npy data: %llu trailing bytes after the %llu bytes the shape needs",
                        path, (unsigned long long)(have - need), (unsigned long long)need);
    h->count = count;
    *type = t;
    *data_off_out = data_off;
    return CLG_OK;
}

static clg_status read_npy(FILE *fp, const char *path, clg_npy *h)
{
    const npy_type *t = NULL;
    uint64_t data_off = 0;
    clg_status st = read_header(fp, path, h, &t, &data_off);
    if (st != CLG_OK) return st;
    const size_t count = h->count;
    h->count = 0;
    float *data = malloc(count * sizeof *data);
    if (!data)
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu values", path,
                        count);
    unsigned char buf[1 << 16];
    const size_t per_chunk = sizeof buf / t->size;
    for (size_t done = 0; done < count && st == CLG_OK;) {
        size_t m = count - done < per_chunk ? count - done : per_chunk;
        if (fread(buf, t->size, m, fp) < m)
            st = clg_fail(NULL, CLG_ERR_IO, "%s: read error in the .npy data (element %zu)", path,
                          done);
        else
            st = convert(path, t, buf, m, done, data + done);
        done += m;
    }
    if (st != CLG_OK) {
        free(data);
        return st;
    }
    h->count = count;
    h->data = data;
    return CLG_OK;
}

clg_status clg_npy_read_layout(FILE *fp, const char *path, clg_npy_layout *out)
{
    memset(out, 0, sizeof *out);
    const npy_type *t = NULL;
    clg_status st = read_header(fp, path, &out->array, &t, &out->offset);
    if (st != CLG_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    out->elem_size = t->size;
    out->type = (unsigned)(t - npy_types);
    return CLG_OK;
}

clg_status clg_npy_convert(const char *path, const clg_npy_layout *layout, const void *in, size_t m,
                           size_t first, float *out)
{
    return convert(path, &npy_types[layout->type], in, m, first, out);
}

clg_status clg_npy_read(const char *path, clg_npy *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_npy_read: NULL argument");
    FILE *fp = fopen(path, "rb");
    if (!fp) return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    clg_npy h;
    memset(&h, 0, sizeof h);
    clg_status st = read_npy(fp, path, &h);
    fclose(fp);
    if (st != CLG_OK) return st;
    *out = h;
    return CLG_OK;
}

void clg_npy_free(clg_npy *npy)
{
    if (!npy) return;
    free(npy->data);
    memset(npy, 0, sizeof *npy);
}
