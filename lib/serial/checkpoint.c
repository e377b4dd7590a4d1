/* Checkpoints: save / load a model (and optionally its SGD optimizer state).
 *
 * File format, version 1. Every integer and float is little-endian, whatever
 * the host; floats are IEEE-754 binary32, stored bit for bit.
 *
 *   offset  size        field
 *   0       8           magic "CLGRADCK" (no NUL)
 *   8       4   u32     format version = 1
 *   12      4   u32     flags: bit 0 = optimizer state present; other bits must be 0
 *   16      4   u32     layer count L (1..32)
 *   20      4   u32     meta length M (0..65536)
 *   24      20·L        per layer: u32 kind (0 Linear, 1 ReLU: clg_layer_type.code), u64 in,
 *                       u64 out
 *   24+20L  M           meta bytes (the text given to clg_model_save, no NUL)
 *   ...                 parameters, in parameter order (layer 0 weight, layer 0 bias, ...):
 *                       each layer stores its kind's parameters in the kind's order, each as
 *                       rows·cols f32 (param_shape); a Linear(d→q) layer stores W as d·q f32
 *                       (row-major d×q) then b as q f32
 *   ...                 only when flags bit 0 is set, the optimizer:
 *                         u32 group count G (>= 1)
 *                         G × { f32 lr, f32 momentum, f32 dampening, f32 weight_decay,
 *                               u32 nesterov (0/1) }                          (20 bytes each)
 *                         P × u32 group index of parameter p (P = number of parameters)
 *                         u64 steps taken
 *                         P × { u8 has_momentum; if 1: the parameter's count of f32 }
 *   end-4   4   u32     CRC-32 (IEEE 802.3, zlib's crc32) of every byte before it
 *
 * Validation on load (all before anything is created or changed): magic, version
 * (only 1), flags, counts, layer kinds (known to the table of lib/nn/layer.h), shapes
 * (non-zero; in·out below 2^32; each layer's input equals the previous output; the kind's
 * own rule, check_record: a ReLU's in equals its out; the first layer has parameters, i.e.
 * is a Linear), optimizer options (PyTorch's constraints), group
 * indices, the exact file length and finally the CRC. Every failure is
 * CLG_ERR_FORMAT naming the field.
 *
 * Saving builds the whole file in memory and writes it with clg_file_write_atomic
 * (file.c): a failure or a kill leaves a file already at path untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serial.h"

#define CK_MAGIC "CLGRADCK"
#define CK_VERSION 1u
#define CK_FLAG_OPTIMIZER 1u
#define CK_HEADER 24u
#define CK_LAYER_BYTES 20u
#define CK_GROUP_BYTES 20u
#define CK_MAX_META 65536u
#define CK_MAX_PARAMS (CLG_LAYER_MAX_PARAMS * CLG_MAX_LAYERS)

/* ------------------------------------------------------- little-endian bytes */

static void put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    clg_put_le32(p, v);
}
static float get_f32(const unsigned char *p)
{
    uint32_t v = clg_get_le32(p);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}
static void put_floats(unsigned char *p, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) put_f32(p + 4 * i, f[i]);
}
static void get_floats(float *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) f[i] = get_f32(p + 4 * i);
}

/* --------------------------------------------------------------- parsing */

typedef struct ck_layer {
    uint32_t kind;
    const clg_layer_type *type; /* the table's entry for kind */
    uint64_t in, out;
} ck_layer;

/* A validated file: offsets into data. */
typedef struct ck_file {
    unsigned char *data;
    size_t len;
    uint32_t flags, nlayers, metalen;
    ck_layer layers[CLG_MAX_LAYERS];
    size_t meta; /* offset of the meta bytes */
    size_t nparams;
    size_t param_off[CK_MAX_PARAMS]; /* offset of each parameter's floats */
    size_t param_count[CK_MAX_PARAMS];
    /* optimizer (flags & CK_FLAG_OPTIMIZER) */
    uint32_t ngroups;
    size_t groups;   /* offset of the group options */
    size_t group_of; /* offset of the P group indices */
    uint64_t steps;
    size_t mom_off[CK_MAX_PARAMS]; /* 0: no momentum buffer */
} ck_file;

/* Bounds-checked cursor: need(n) fails (FORMAT, naming what) past the end of the
 * bytes that precede the CRC. */
typedef struct ck_cursor {
    const ck_file *f;
    size_t pos, end;
    const clg_context *ctx;
    const char *op, *path;
} ck_cursor;

static clg_status need(ck_cursor *c, uint64_t n, const char *what)
{
    if (n > c->end - c->pos)
        return clg_fail(c->ctx, CLG_ERR_FORMAT,
                        "%s: %s: truncated: %s needs %llu bytes at offset %zu, file has %zu", c->op,
                        c->path, what, (unsigned long long)n, c->pos, c->f->len);
    return CLG_OK;
}

static clg_status check_group(const ck_cursor *c, uint32_t g, const clg_sgd_options *o)
{
    const char *bad = NULL;
    if (!isfinite(o->lr) || !isfinite(o->momentum) || !isfinite(o->dampening) ||
        !isfinite(o->weight_decay))
        bad = "non-finite option";
    else if (o->lr < 0.0f)
        bad = "negative lr";
    else if (o->momentum < 0.0f || o->weight_decay < 0.0f)
        bad = "negative momentum or weight_decay";
    else if (o->nesterov && (o->momentum <= 0.0f || o->dampening != 0.0f))
        bad = "nesterov needs momentum > 0 and dampening 0";
    if (!bad) return CLG_OK;
    return clg_fail(c->ctx, CLG_ERR_FORMAT,
                    "%s: %s: optimizer group %u: %s (lr %g, momentum %g, dampening %g, "
                    "weight_decay %g, nesterov %d)",
                    c->op, c->path, g, bad, (double)o->lr, (double)o->momentum,
                    (double)o->dampening, (double)o->weight_decay, o->nesterov);
}

static clg_sgd_options group_options(const ck_file *f, uint32_t g)
{
    const unsigned char *p = f->data + f->groups + (size_t)g * CK_GROUP_BYTES;
    clg_sgd_options o;
    o.lr = get_f32(p);
    o.momentum = get_f32(p + 4);
    o.dampening = get_f32(p + 8);
    o.weight_decay = get_f32(p + 12);
    o.nesterov = (int)clg_get_le32(p + 16);
    return o;
}

/* Header, layer table, meta and parameter extents; leaves c->pos after the parameters.
 * Reads only the first CK_HEAD_MAX bytes of f->data (fewer when the file is shorter) but
 * checks every extent against f->len, the length of the whole file, so that read_file can
 * run it on the head of a file before reading the rest. */
#define CK_HEAD_MAX (CK_HEADER + CK_LAYER_BYTES * CLG_MAX_LAYERS)
static clg_status parse_layout(ck_cursor *cur, ck_file *f)
{
    ck_cursor c = *cur;
    const clg_context *ctx = c.ctx;
    const char *op = c.op, *path = c.path;
    const unsigned char *d = f->data;
    if (f->len < 8 || memcmp(d, CK_MAGIC, 8) != 0)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: not a clgrad checkpoint (%s)", op, path,
                        f->len < 8 ? "shorter than the 8-byte magic" : "bad magic");
    if (f->len < 12)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: truncated: no version field (%zu bytes)", op,
                        path, f->len);
    uint32_t version = clg_get_le32(d + 8);
    if (version != CK_VERSION)
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: checkpoint format version %u not supported (this library reads "
                        "version %u)",
                        op, path, version, CK_VERSION);
    if (f->len < CK_HEADER + 4)
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: truncated: %zu bytes, the header and CRC alone take %u", op, path,
                        f->len, CK_HEADER + 4);
    c.end = f->len - 4; /* the CRC */
    c.pos = 12;
    f->flags = clg_get_le32(d + 12);
    f->nlayers = clg_get_le32(d + 16);
    f->metalen = clg_get_le32(d + 20);
    c.pos = CK_HEADER;
    if (f->flags & ~CK_FLAG_OPTIMIZER)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: unknown flags 0x%x", op, path, f->flags);
    if (f->nlayers == 0 || f->nlayers > CLG_MAX_LAYERS)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer count %u (must be 1..%d)", op, path,
                        f->nlayers, CLG_MAX_LAYERS);
    if (f->metalen > CK_MAX_META)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: meta length %u exceeds %u", op, path,
                        f->metalen, CK_MAX_META);
    clg_status s = need(&c, (uint64_t)f->nlayers * CK_LAYER_BYTES, "the layer table");
    if (s != CLG_OK) return s;
    f->nparams = 0;
    for (uint32_t i = 0; i < f->nlayers; i++, c.pos += CK_LAYER_BYTES) {
        ck_layer *L = &f->layers[i];
        L->kind = clg_get_le32(d + c.pos);
        L->in = clg_get_le64(d + c.pos + 4);
        L->out = clg_get_le64(d + c.pos + 12);
        L->type = clg_layer_type_by_code(L->kind);
        if (!L->type)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer %u: unknown kind %u", op, path, i,
                            L->kind);
        if (i == 0 && L->type->nparams == 0)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer 0: the first layer must be Linear",
                            op, path);
        if (L->in == 0 || L->out == 0 || L->in > UINT32_MAX / L->out)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer %u: invalid shape %s(%llu→%llu)",
                            op, path, i, L->type->name, (unsigned long long)L->in,
                            (unsigned long long)L->out);
        const char *why = L->type->check_record(L->in, L->out);
        if (why)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer %u: %s(%llu→%llu) %s", op, path, i,
                            L->type->name, (unsigned long long)L->in, (unsigned long long)L->out,
                            why);
        if (i && L->in != f->layers[i - 1].out)
            return clg_fail(ctx, CLG_ERR_FORMAT,
                            "%s: %s: layer %u: input width %llu but layer %u gives %llu", op, path,
                            i, (unsigned long long)L->in, i - 1,
                            (unsigned long long)f->layers[i - 1].out);
    }
    s = need(&c, f->metalen, "the meta text");
    if (s != CLG_OK) return s;
    f->meta = c.pos;
    c.pos += f->metalen;
    for (uint32_t i = 0; i < f->nlayers; i++) {
        const ck_layer *L = &f->layers[i];
        for (size_t k = 0; k < L->type->nparams; k++) {
            size_t rows = 0, cols = 0;
            char what[64];
            L->type->param_shape(L->in, L->out, k, &rows, &cols);
            size_t count = rows * cols;
            snprintf(what, sizeof what, "a %s", L->type->param_names[k]);
            s = need(&c, (uint64_t)count * 4, what);
            if (s != CLG_OK) return s;
            f->param_off[f->nparams] = c.pos;
            f->param_count[f->nparams++] = count;
            c.pos += count * 4;
        }
    }
    *cur = c;
    return CLG_OK;
}

/* Validates f->data[0..len) completely; fills the rest of f. */
static clg_status parse(const clg_context *ctx, const char *op, const char *path, ck_file *f)
{
    ck_cursor c = {f, 0, f->len, ctx, op, path};
    const unsigned char *d = f->data;
    clg_status s = parse_layout(&c, f);
    if (s != CLG_OK) return s;
    if (f->flags & CK_FLAG_OPTIMIZER) {
        s = need(&c, 4, "the optimizer group count");
        if (s != CLG_OK) return s;
        f->ngroups = clg_get_le32(d + c.pos);
        c.pos += 4;
        if (f->ngroups == 0)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: optimizer group count 0", op, path);
        s = need(&c, (uint64_t)f->ngroups * CK_GROUP_BYTES, "the optimizer groups");
        if (s != CLG_OK) return s;
        f->groups = c.pos;
        c.pos += (size_t)f->ngroups * CK_GROUP_BYTES;
        for (uint32_t g = 0; g < f->ngroups; g++) {
            clg_sgd_options o = group_options(f, g);
            uint32_t nesterov = clg_get_le32(d + f->groups + (size_t)g * CK_GROUP_BYTES + 16);
            if (nesterov > 1)
                return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: optimizer group %u: nesterov %u", op,
                                path, g, nesterov);
            s = check_group(&c, g, &o);
            if (s != CLG_OK) return s;
        }
        s = need(&c, (uint64_t)f->nparams * 4, "the parameter group indices");
        if (s != CLG_OK) return s;
        f->group_of = c.pos;
        for (size_t p = 0; p < f->nparams; p++) {
            uint32_t g = clg_get_le32(d + c.pos + 4 * p);
            if (g >= f->ngroups)
                return clg_fail(ctx, CLG_ERR_FORMAT,
                                "%s: %s: optimizer: parameter %zu in group %u of %u", op, path, p,
                                g, f->ngroups);
        }
        c.pos += f->nparams * 4;
        s = need(&c, 8, "the optimizer step count");
        if (s != CLG_OK) return s;
        f->steps = clg_get_le64(d + c.pos);
        c.pos += 8;
        for (size_t p = 0; p < f->nparams; p++) {
            s = need(&c, 1, "a momentum flag");
            if (s != CLG_OK) return s;
            unsigned has = d[c.pos++];
            if (has > 1)
                return clg_fail(ctx, CLG_ERR_FORMAT,
                                "%s: %s: optimizer: parameter %zu momentum flag %u", op, path, p,
                                has);
            f->mom_off[p] = 0;
            if (!has) continue;
            s = need(&c, (uint64_t)f->param_count[p] * 4, "a momentum buffer");
            if (s != CLG_OK) return s;
            f->mom_off[p] = c.pos;
            c.pos += f->param_count[p] * 4;
        }
    }
    if (c.pos != c.end)
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: file length %zu, the layout needs %zu "
                        "(%zu trailing bytes)",
                        op, path, f->len, c.pos + 4, c.end - c.pos);
    uint32_t stored = clg_get_le32(d + c.end), computed = clg_crc32(0, d, c.end);
    if (stored != computed)
        return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: CRC32 mismatch (stored %08x, computed %08x)",
                        op, path, stored, computed);
    return CLG_OK;
}

/* Reads up to n bytes at offset off; returns how many (fewer at the end of the file), or -1. */
static ssize_t read_at(int fd, unsigned char *p, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Checks the head of a file of len bytes (magic, version, counts, layer table) and the
 * length its layout allows before anything else is read or allocated: a 2 GB file given
 * as a checkpoint by mistake is refused after reading its first bytes. */
static clg_status check_head(const clg_context *ctx, const char *op, const char *path, int fd,
                             size_t len)
{
    char why[128];
    unsigned char head[CK_HEAD_MAX];
    const size_t want = len < sizeof head ? len : sizeof head;
    ssize_t got = read_at(fd, head, want, 0);
    if (got < 0)
        return clg_fail(ctx, CLG_ERR_IO, "%s: reading %s: %s", op, path,
                        clg_os_reason(errno, why, sizeof why));
    ck_file h;
    memset(&h, 0, sizeof h);
    h.data = head;
    h.len = (size_t)got < want ? (size_t)got : len; /* shrank meanwhile: judged as it is now */
    ck_cursor c = {&h, 0, h.len, ctx, op, path};
    clg_status s = parse_layout(&c, &h);
    if (s != CLG_OK) return s;
    if (!(h.flags & CK_FLAG_OPTIMIZER)) {
        if (c.pos == c.end) return CLG_OK;
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: file length %zu, the layout needs %zu "
                        "(%zu trailing bytes)",
                        op, path, h.len, c.pos + 4, c.end - c.pos);
    }
    /* With the optimizer, the layout's length depends on the group count and on which
     * momentum buffers exist: refuse what exceeds its largest value (parse checks the rest). */
    unsigned char g[4];
    if (c.end - c.pos < 4 || read_at(fd, g, 4, (off_t)c.pos) != 4) return CLG_OK;
    uint64_t most = (uint64_t)c.pos + 4 + (uint64_t)clg_get_le32(g) * CK_GROUP_BYTES + 8 +
                    5 * (uint64_t)h.nparams;
    for (size_t p = 0; p < h.nparams; p++) most += 4 * (uint64_t)h.param_count[p];
    if (c.end <= most) return CLG_OK;
    return clg_fail(ctx, CLG_ERR_FORMAT,
                    "%s: %s: file length %zu, the layout needs at most %llu "
                    "(%u optimizer groups)",
                    op, path, h.len, (unsigned long long)most + 4, clg_get_le32(g));
}

/* Reads the whole file into f->data (malloc'd), once its head was checked. */
static clg_status read_file(const clg_context *ctx, const char *op, const char *path, ck_file *f)
{
    char why[128];
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return clg_fail(ctx, CLG_ERR_IO, "%s: cannot open %s: %s", op, path,
                        clg_os_reason(errno, why, sizeof why));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return clg_fail(ctx, CLG_ERR_IO, "%s: cannot stat %s: %s", op, path,
                        clg_os_reason(e, why, sizeof why));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return clg_fail(ctx, CLG_ERR_IO, "%s: %s: %s", op, path,
                        S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if ((uintmax_t)st.st_size > SIZE_MAX - 1) {
        close(fd);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: %s: too large to read", op, path);
    }
    size_t len = (size_t)st.st_size, got = 0;
    clg_status s = check_head(ctx, op, path, fd, len);
    if (s != CLG_OK) {
        close(fd);
        return s;
    }
    f->data = malloc(len ? len : 1);
    if (!f->data) {
        close(fd);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: %s: out of host memory (%zu bytes)", op,
                        path, len);
    }
    while (got < len) {
        ssize_t r = read(fd, f->data + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(f->data);
            f->data = NULL;
            return clg_fail(ctx, CLG_ERR_IO, "%s: reading %s: %s", op, path,
                            clg_os_reason(e, why, sizeof why));
        }
        if (r == 0) break; /* shrank while reading: parse reports the short length */
        got += (size_t)r;
    }
    close(fd);
    f->len = got;
    return CLG_OK;
}

static clg_status load_file(const clg_context *ctx, const char *op, const char *path, ck_file *f)
{
    clg_status s = read_file(ctx, op, path, f);
    if (s == CLG_OK) s = parse(ctx, op, path, f);
    if (s != CLG_OK) {
        free(f->data);
        f->data = NULL;
    }
    return s;
}

clg_status clg_checkpoint_check(const char *path)
{
    if (!path) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_checkpoint_check: NULL path");
    ck_file f;
    clg_status s = load_file(NULL, "clg_checkpoint_check", path, &f);
    free(f.data); /* NULL after a failure */
    return s;
}

/* Decoded floats of parameter p (or its momentum buffer); malloc'd. */
static float *decode(const ck_file *f, size_t off, size_t count)
{
    float *v = malloc((count ? count : 1) * sizeof *v);
    if (v) get_floats(v, f->data + off, count);
    return v;
}

/* ------------------------------------------------------------------ saving */

static clg_status read_buffer(const clg_model *m, cl_mem mem, float *host, size_t count,
                              const char *what)
{
    cl_int err = clEnqueueReadBuffer(m->ctx->queue, mem, CL_TRUE, 0, count * sizeof(float), host, 0,
                                     NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(m->ctx, err, what);
}

clg_status clg_model_save(const clg_model *m, const clg_optimizer *opt, const char *meta,
                          const char *path)
{
    const clg_context *ctx = m ? m->ctx : NULL;
    if (!m || !path || !*path)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_save: NULL model or path");
    if (m->nlayers == 0)
        return clg_fail(ctx, CLG_ERR_STATE, "clg_model_save: the model has no layers");
    size_t metalen = meta ? strlen(meta) : 0;
    if (metalen > CK_MAX_META)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_save: meta is %zu bytes, at most %u are stored", metalen,
                        CK_MAX_META);
    size_t nparams = clg_model_param_count(m);
    if (opt && opt->model != m)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_save: the optimizer belongs to another model");
    if (opt && opt->nparams != nparams)
        return clg_fail(ctx, CLG_ERR_STATE,
                        "clg_model_save: the optimizer has %zu parameters, "
                        "the model %zu",
                        opt->nparams, nparams);
    /* Size of the file (shapes are bounded by add_linear: each < 2^32 elements). */
    size_t len = CK_HEADER + CK_LAYER_BYTES * m->nlayers + metalen, floats = 0, maxcount = 0;
    clg_param_ref refs[CK_MAX_PARAMS];
    for (size_t p = 0; p < nparams; p++) {
        clg_status s = clg_model_param_ref(m, p, &refs[p]);
        if (s != CLG_OK) return s;
        floats += refs[p].count;
        maxcount = refs[p].count > maxcount ? refs[p].count : maxcount;
    }
    if (opt) {
        len += 4 + CK_GROUP_BYTES * opt->ngroups + 4 * nparams + 8 + nparams;
        for (size_t p = 0; p < nparams; p++)
            if (opt->momentum[p]) floats += refs[p].count;
    }
    len += 4 * floats + 4;
    unsigned char *buf = malloc(len);
    float *host = malloc((maxcount ? maxcount : 1) * sizeof *host);
    if (!buf || !host) {
        free(buf);
        free(host);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_save: out of host memory (%zu bytes)",
                        len);
    }
    unsigned char *q = buf;
    memcpy(q, CK_MAGIC, 8);
    clg_put_le32(q + 8, CK_VERSION);
    clg_put_le32(q + 12, opt ? CK_FLAG_OPTIMIZER : 0u);
    clg_put_le32(q + 16, (uint32_t)m->nlayers);
    clg_put_le32(q + 20, (uint32_t)metalen);
    q += CK_HEADER;
    for (size_t i = 0; i < m->nlayers; i++, q += CK_LAYER_BYTES) {
        clg_put_le32(q, m->layers[i].type->code);
        clg_put_le64(q + 4, m->layers[i].in);
        clg_put_le64(q + 12, m->layers[i].out);
    }
    if (metalen) memcpy(q, meta, metalen);
    q += metalen;
    clg_status s = CLG_OK;
    for (size_t p = 0; p < nparams && s == CLG_OK; p++) {
        s = read_buffer(m, refs[p].value, host, refs[p].count,
                        "clEnqueueReadBuffer(checkpoint parameter)");
        put_floats(q, host, refs[p].count);
        q += 4 * refs[p].count;
    }
    if (opt && s == CLG_OK) {
        clg_put_le32(q, (uint32_t)opt->ngroups);
        q += 4;
        for (size_t g = 0; g < opt->ngroups; g++, q += CK_GROUP_BYTES) {
            const clg_sgd_options *o = &opt->groups[g].opts;
            put_f32(q, o->lr);
            put_f32(q + 4, o->momentum);
            put_f32(q + 8, o->dampening);
            put_f32(q + 12, o->weight_decay);
            clg_put_le32(q + 16, o->nesterov != 0);
        }
        for (size_t p = 0; p < nparams; p++, q += 4) clg_put_le32(q, (uint32_t)opt->group_of[p]);
        clg_put_le64(q, opt->steps);
        q += 8;
        for (size_t p = 0; p < nparams && s == CLG_OK; p++) {
            *q++ = opt->momentum[p] != NULL;
            if (!opt->momentum[p]) continue;
            s = read_buffer(m, opt->momentum[p], host, refs[p].count,
                            "clEnqueueReadBuffer(checkpoint momentum)");
            put_floats(q, host, refs[p].count);
            q += 4 * refs[p].count;
        }
    }
    free(host);
    if (s == CLG_OK) {
        clg_put_le32(q, clg_crc32(0, buf, (size_t)(q - buf)));
        char msg[CLG_MSG_LEN];
        s = clg_file_write_atomic("clg_model_save", path, buf, len, msg, sizeof msg);
        if (s != CLG_OK) s = clg_fail(ctx, s, "%s", msg);
    }
    free(buf);
    return s;
}

/* ----------------------------------------------------------------- loading */

clg_status clg_model_load(clg_context *ctx, const char *path, clg_model **out, char *meta,
                          size_t metalen)
{
    if (out) *out = NULL;
    if (!ctx || !path || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_load: NULL argument");
    ck_file f;
    clg_status s = load_file(ctx, "clg_model_load", path, &f);
    if (s != CLG_OK) return s;
    clg_model *m = NULL;
    s = clg_model_create(ctx, &m);
    size_t p = 0;
    for (uint32_t i = 0; i < f.nlayers && s == CLG_OK; i++) {
        const ck_layer *L = &f.layers[i];
        float *values[CLG_LAYER_MAX_PARAMS] = {NULL};
        int ok = 1;
        for (size_t k = 0; k < L->type->nparams; k++, p++) {
            values[k] = decode(&f, f.param_off[p], f.param_count[p]);
            ok = ok && values[k];
        }
        if (!ok)
            s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_load: out of host memory");
        else
            s = L->type->append(m, L->in, L->out, (const float *const *)values);
        for (size_t k = 0; k < L->type->nparams; k++) free(values[k]);
    }
    if (s == CLG_OK && meta && metalen) {
        size_t n = f.metalen < metalen - 1 ? f.metalen : metalen - 1;
        memcpy(meta, f.data + f.meta, n);
        meta[n] = '\0';
    }
    free(f.data);
    if (s != CLG_OK) {
        clg_model_destroy(m);
        return s;
    }
    *out = m;
    return CLG_OK;
}

/* CLG_ERR_SHAPE naming the first difference between f and m. */
static clg_status compare_arch(const clg_model *m, const ck_file *f, const char *path)
{
    size_t n = m->nlayers < f->nlayers ? m->nlayers : f->nlayers;
    char a[96], b[96];
    for (size_t i = 0; i < n; i++) {
        const ck_layer *F = &f->layers[i];
        const clg_layer *L = &m->layers[i];
        if (F->type == L->type && F->in == L->in && F->out == L->out) continue;
        F->type->sketch(a, sizeof a, F->in, F->out);
        L->type->sketch(b, sizeof b, L->in, L->out);
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "clg_model_load_into: %s: layer %zu: file has %s, "
                        "model has %s",
                        path, i, a, b);
    }
    if (m->nlayers != f->nlayers)
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "clg_model_load_into: %s: file has %u layers, model has %zu", path,
                        f->nlayers, m->nlayers);
    return CLG_OK;
}

static clg_status buffer_from(clg_context *ctx, const ck_file *f, size_t off, size_t count,
                              const char *what, cl_mem *out)
{
    *out = NULL;
    clg_status s = clg_check_alloc(ctx, count * sizeof(float), what);
    if (s != CLG_OK) return s;
    float *v = decode(f, off, count);
    if (!v) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_load_into: out of host memory");
    cl_int err;
    *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, count * sizeof(float),
                          v, &err);
    free(v);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return clg_fail_cl(ctx, err, what);
    }
    return CLG_OK;
}

/* Everything is prepared first (new device buffers made from the file, new
 * group tables); only when all of it exists are the model's and optimizer's
 * buffers swapped, which cannot fail. Old buffers are released afterwards
 * (OpenCL defers the release until commands queued on them complete). */
clg_status clg_model_load_into(clg_model *m, clg_optimizer *opt, const char *path)
{
    clg_context *ctx = m ? m->ctx : NULL;
    if (!m || !path)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_load_into: NULL model or path");
    if (opt && opt->model != m)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_load_into: the optimizer belongs to another model");
    if (opt && opt->nparams != clg_model_param_count(m))
        return clg_fail(ctx, CLG_ERR_STATE,
                        "clg_model_load_into: the optimizer has %zu "
                        "parameters, the model %zu",
                        opt->nparams, clg_model_param_count(m));
    ck_file f;
    clg_status s = load_file(ctx, "clg_model_load_into", path, &f);
    if (s != CLG_OK) return s;
    s = compare_arch(m, &f, path);
    int with_opt = opt && (f.flags & CK_FLAG_OPTIMIZER);
    cl_mem values[CK_MAX_PARAMS] = {NULL}, mom[CK_MAX_PARAMS] = {NULL};
    size_t *group_of = NULL;
    clg_sgd_group *groups = NULL;
    for (size_t p = 0; p < f.nparams && s == CLG_OK; p++)
        s = buffer_from(ctx, &f, f.param_off[p], f.param_count[p], "checkpoint parameter",
                        &values[p]);
    if (with_opt && s == CLG_OK) {
        group_of = malloc(f.nparams * sizeof *group_of);
        groups = malloc(f.ngroups * sizeof *groups);
        if (!group_of || !groups)
            s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_load_into: out of host memory");
        for (size_t p = 0; p < f.nparams && s == CLG_OK; p++)
            if (f.mom_off[p])
                s = buffer_from(ctx, &f, f.mom_off[p], f.param_count[p], "checkpoint momentum",
                                &mom[p]);
    }
    if (s != CLG_OK) {
        for (size_t p = 0; p < CK_MAX_PARAMS; p++) {
            if (values[p]) clReleaseMemObject(values[p]);
            if (mom[p]) clReleaseMemObject(mom[p]);
        }
        free(group_of);
        free(groups);
        free(f.data);
        return s;
    }
    /* Commit: nothing below can fail. */
    size_t p = 0;
    for (size_t i = 0; i < m->nlayers; i++) {
        clg_layer *L = &m->layers[i];
        for (size_t k = 0; k < L->type->nparams; k++) {
            cl_mem *slot = L->type->param(L, k, 0);
            clReleaseMemObject(*slot);
            *slot = values[p++];
        }
    }
    if (with_opt) {
        for (uint32_t g = 0; g < f.ngroups; g++) groups[g].opts = group_options(&f, g);
        for (size_t k = 0; k < f.nparams; k++) {
            group_of[k] = clg_get_le32(f.data + f.group_of + 4 * k);
            if (opt->momentum[k]) clReleaseMemObject(opt->momentum[k]);
            opt->momentum[k] = mom[k];
        }
        free(opt->groups);
        free(opt->group_of);
        opt->groups = groups;
        opt->ngroups = f.ngroups;
        opt->group_of = group_of;
        opt->steps = f.steps;
    }
    free(f.data);
    return CLG_OK;
}
