/* Checkpoint files as bytes: layout, reading and validation, in plain C (no OpenCL call;
 * checkpoint.c is the glue to models and optimizers). The format is docs/formats.md
 * "Checkpoints":
 *
 * Version 2 (written), little-endian whatever the host; floats IEEE-754 binary32 bit for bit.
 *
 *   offset  size        field
 *   0       8           magic "CLGRADCK" (no NUL)
 *   8       4   u32     format version = 2 (1 still loads)
 *   12      4   u32     flags: bit 0 = optimizer state, bit 1 = input scaling, bit 2 = class
 *                       names present; other bits must be 0
 *   16      4   u32     layer count L (1..32)
 *   20      4   u32     meta length M (0..65536)
 *   24      20·L        per layer: u32 kind word, u64 in, u64 out; the kind word holds the
 *                       kind code in its low 16 bits (0 Linear, 1 ReLU, 2 PHM:
 *                       clg_layer_type.code) and the layer's argument in its high 16 bits
 *                       (clg_layer.arg: PHM's n; 0 for Linear and ReLU, so every file
 *                       written before PHM reads the same, and a library without PHM
 *                       refuses a PHM record as an unknown kind)
 *   24+20L  M           meta bytes (the text given to clg_model_save, no NUL)
 *   ...                 parameters, in parameter order (layer 0 weight, layer 0 bias, ...):
 *                       each layer stores its kind's parameters in the kind's order, each as
 *                       rows·cols f32 (param_shape); a Linear(d→q) layer stores W as d·q f32
 *                       (row-major d×q) then b as q f32; a PHM(d→q, n) layer A (n·n×n), S
 *                       (n·ceil(d/n) × ceil(q/n)) then b (q), see docs/layers.md
 *   ...                 only when flags bit 0 is set, the optimizer:
 *                         u32 kind K (clg_optimizer_kind: 0 SGD, 1 Adam, 2 AdamW, 3 RMSprop)
 *                         u32 state buffers per parameter S (the kind's clg_optim_impl
 *                             nstate: SGD 1, the others 3)
 *                         u32 group count G (>= 1)
 *                         G × 60 bytes: words 1..15 of clg_optimizer_options (every field
 *                             after kind is 32 bits: f32 lr, f32 momentum, f32 dampening,
 *                             f32 weight_decay, u32 nesterov, f32 beta1, f32 beta2, f32 eps,
 *                             f32 alpha, u32 amsgrad, u32 centered, 4 reserved u32 = 0)
 *                         P × u32 group index of parameter p (P = number of parameters)
 *                         u64 steps taken
 *                         P × S × { u8 present; if 1: the parameter's count of f32 }
 *   ...                 only when flags bit 1 is set, the input scaling:
 *                         u32 d (the first layer's in), d f32 means, d f32 scales (> 0)
 *   ...                 only when flags bit 2 is set, the class names:
 *                         u32 C (the last layer's out), C × { u32 length 1..255, bytes
 *                         without NUL or line break }
 *   end-4   4   u32     CRC-32 (IEEE 802.3, zlib's crc32) of every byte before it
 *
 * Version 1 differs in the optimizer block: no K and S words (K = SGD, S = 1) and 20-byte
 * group records (the first five words); it has no flags but bit 0.
 *
 * Validation on load (all before anything is created or changed): magic, version, flags,
 * counts, layer kinds (known to the table of lib/nn/layer.h), shapes (non-zero; in·out below
 * 2^32; each layer's input equals the previous output; the kind's own rule on shape and
 * argument, check_record: a ReLU's in equals its out, Linear and ReLU take no argument, a
 * PHM's n is in 1..16 and at most max(in, out); the first layer has parameters), the optimizer
 * kind and its state count, the group options (the kind's checks), group indices, the exact
 * file length and finally the CRC. Every failure is CLG_ERR_FORMAT naming the field.
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

_Static_assert(sizeof(clg_optimizer_options) == 4 * CK_OPT_WORDS,
               "every optimizer option is one 32-bit word");

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
void clg_ck_put_floats(unsigned char *p, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) put_f32(p + 4 * i, f[i]);
}
static void get_floats(float *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) f[i] = get_f32(p + 4 * i);
}

/* --------------------------------------------------------------- parsing */

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

clg_optimizer_options clg_ck_group_options(const ck_file *f, uint32_t g)
{
    clg_optimizer_options o;
    memset(&o, 0, sizeof o);
    uint32_t words[CK_OPT_WORDS] = {(uint32_t)f->kind};
    const unsigned char *p = f->data + f->groups + (size_t)g * f->group_bytes;
    for (size_t k = 0; k < f->group_bytes / 4; k++) words[k + 1] = clg_get_le32(p + 4 * k);
    memcpy(&o, words, sizeof o);
    return o;
}

void clg_ck_put_group_options(unsigned char *p, const clg_optimizer_options *o)
{
    uint32_t words[CK_OPT_WORDS];
    memcpy(words, o, sizeof words);
    for (size_t k = 1; k < CK_OPT_WORDS; k++) clg_put_le32(p + 4 * (k - 1), words[k]);
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
    f->version = version;
    if (version != 1 && version != CK_VERSION)
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: checkpoint format version %u not supported (this library reads "
                        "versions 1 to %u)",
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
    const uint32_t known =
        version == 1 ? CK_FLAG_OPTIMIZER : CK_FLAG_OPTIMIZER | CK_FLAG_SCALING | CK_FLAG_NAMES;
    if (f->flags & ~known)
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
        L->kind = clg_get_le32(d + c.pos); /* the whole word: code and argument */
        L->in = clg_get_le64(d + c.pos + 4);
        L->out = clg_get_le64(d + c.pos + 12);
        L->type = clg_layer_type_by_code(L->kind & 0xFFFFu);
        const uint32_t arg = L->kind >> 16;
        if (!L->type)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer %u: unknown kind %u", op, path, i,
                            L->kind & 0xFFFFu);
        if (i == 0 && L->type->nparams == 0)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer 0: the first layer must be Linear",
                            op, path);
        if (L->in == 0 || L->out == 0 || L->in > UINT32_MAX / L->out)
            return clg_fail(ctx, CLG_ERR_FORMAT, "%s: %s: layer %u: invalid shape %s(%llu→%llu)",
                            op, path, i, L->type->name, (unsigned long long)L->in,
                            (unsigned long long)L->out);
        const char *why = L->type->check_record(L->in, L->out, arg);
        if (why && arg)
            return clg_fail(ctx, CLG_ERR_FORMAT,
                            "%s: %s: layer %u: %s(%llu→%llu) with argument %u: %s", op, path, i,
                            L->type->name, (unsigned long long)L->in, (unsigned long long)L->out,
                            arg, why);
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
            L->type->param_shape(L->in, L->out, L->kind >> 16, k, &rows, &cols);
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

/* The optimizer block's head: kind, state count, group count (v1: the group count only). */
static clg_status parse_optimizer_head(ck_cursor *c, ck_file *f)
{
    const unsigned char *d = f->data;
    const int v1 = f->version == 1;
    clg_status s = need(c, v1 ? 4 : 12, "the optimizer's kind, state and group counts");
    if (s != CLG_OK) return s;
    f->kind = v1 ? CLG_OPTIMIZER_SGD : (clg_optimizer_kind)clg_get_le32(d + c->pos);
    f->impl = clg_optim_impl_of(f->kind);
    if (!f->impl)
        return clg_fail(c->ctx, CLG_ERR_FORMAT,
                        "%s: %s: optimizer kind %u unknown to this library version", c->op, c->path,
                        (unsigned)clg_get_le32(d + c->pos));
    f->nstate = v1 ? 1 : clg_get_le32(d + c->pos + 4);
    if (f->nstate != f->impl->nstate)
        return clg_fail(c->ctx, CLG_ERR_FORMAT,
                        "%s: %s: optimizer %s with %u state buffers per parameter (it has %u)",
                        c->op, c->path, f->impl->name, f->nstate, f->impl->nstate);
    c->pos += v1 ? 0 : 8;
    f->ngroups = clg_get_le32(d + c->pos);
    c->pos += 4;
    f->group_bytes = v1 ? CK_V1_GROUP_BYTES : CK_GROUP_BYTES;
    if (f->ngroups == 0)
        return clg_fail(c->ctx, CLG_ERR_FORMAT, "%s: %s: optimizer group count 0", c->op, c->path);
    return CLG_OK;
}

/* The optimizer block (flags bit 0): groups, their options, indices, steps, state. */
static clg_status parse_optimizer(ck_cursor *c, ck_file *f)
{
    const unsigned char *d = f->data;
    clg_status s = parse_optimizer_head(c, f);
    if (s == CLG_OK) s = need(c, (uint64_t)f->ngroups * f->group_bytes, "the optimizer groups");
    if (s != CLG_OK) return s;
    f->groups = c->pos;
    c->pos += (size_t)f->ngroups * f->group_bytes;
    for (uint32_t g = 0; g < f->ngroups; g++) {
        clg_optimizer_options o = clg_ck_group_options(f, g);
        const char *why = clg_optim_invalid(&o);
        if (why)
            return clg_fail(c->ctx, CLG_ERR_FORMAT, "%s: %s: optimizer group %u: %s", c->op,
                            c->path, g, why);
    }
    s = need(c, (uint64_t)f->nparams * 4, "the parameter group indices");
    if (s != CLG_OK) return s;
    f->group_of = c->pos;
    for (size_t p = 0; p < f->nparams; p++) {
        uint32_t g = clg_get_le32(d + c->pos + 4 * p);
        if (g >= f->ngroups)
            return clg_fail(c->ctx, CLG_ERR_FORMAT,
                            "%s: %s: optimizer: parameter %zu in group %u of %u", c->op, c->path, p,
                            g, f->ngroups);
    }
    c->pos += f->nparams * 4;
    s = need(c, 8, "the optimizer step count");
    if (s != CLG_OK) return s;
    f->steps = clg_get_le64(d + c->pos);
    c->pos += 8;
    for (size_t p = 0; p < f->nparams; p++)
        for (uint32_t k = 0; k < f->nstate; k++) {
            s = need(c, 1, "a state buffer flag");
            if (s != CLG_OK) return s;
            unsigned has = d[c->pos++];
            if (has > 1)
                return clg_fail(c->ctx, CLG_ERR_FORMAT,
                                "%s: %s: optimizer: parameter %zu %s flag %u", c->op, c->path, p,
                                f->impl->state_names[k], has);
            f->state_off[p][k] = 0;
            if (!has) continue;
            s = need(c, (uint64_t)f->param_count[p] * 4, f->impl->state_names[k]);
            if (s != CLG_OK) return s;
            f->state_off[p][k] = c->pos;
            c->pos += f->param_count[p] * 4;
        }
    return CLG_OK;
}

/* The input scaling and class name blocks (flags bits 1 and 2). */
static clg_status parse_meta(ck_cursor *c, ck_file *f)
{
    const unsigned char *d = f->data;
    const uint64_t in = f->layers[0].in, out = f->layers[f->nlayers - 1].out;
    clg_status s = CLG_OK;
    if (f->flags & CK_FLAG_SCALING) {
        s = need(c, 4 + 8 * in, "the input scaling");
        if (s != CLG_OK) return s;
        if (clg_get_le32(d + c->pos) != in)
            return clg_fail(c->ctx, CLG_ERR_FORMAT,
                            "%s: %s: input scaling of %u features for a model of %llu inputs",
                            c->op, c->path, clg_get_le32(d + c->pos), (unsigned long long)in);
        f->scaling = c->pos + 4;
        float *v = clg_ck_decode(f, f->scaling, 2 * in);
        const char *why = v ? clg_scaling_invalid(v, v + in, in) : NULL;
        free(v);
        if (!v) return clg_fail(c->ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->op);
        if (why)
            return clg_fail(c->ctx, CLG_ERR_FORMAT, "%s: %s: input scaling: %s", c->op, c->path,
                            why);
        c->pos += 4 + 8 * in;
    }
    if (!(f->flags & CK_FLAG_NAMES)) return CLG_OK;
    s = need(c, 4, "the class name count");
    if (s != CLG_OK) return s;
    f->nnames = clg_get_le32(d + c->pos);
    if (f->nnames != out)
        return clg_fail(c->ctx, CLG_ERR_FORMAT,
                        "%s: %s: %u class names for a model of %llu outputs", c->op, c->path,
                        f->nnames, (unsigned long long)out);
    c->pos += 4;
    f->names = c->pos;
    for (uint32_t k = 0; k < f->nnames; k++) {
        s = need(c, 4, "a class name length");
        if (s != CLG_OK) return s;
        uint32_t len = clg_get_le32(d + c->pos);
        s = need(c, 4 + (uint64_t)len, "a class name");
        if (s != CLG_OK) return s;
        const char *why = len > CK_MAX_NAME
                              ? "a class name must have 1 to 255 bytes"
                              : clg_nn_class_name_invalid((const char *)d + c->pos + 4, len);
        if (why)
            return clg_fail(c->ctx, CLG_ERR_FORMAT, "%s: %s: class %u: %s", c->op, c->path, k, why);
        c->pos += 4 + len;
    }
    return CLG_OK;
}

char *clg_ck_name(const ck_file *f, size_t *off)
{
    uint32_t len = clg_get_le32(f->data + *off);
    char *name = malloc(len + 1);
    if (name) {
        memcpy(name, f->data + *off + 4, len);
        name[len] = '\0';
    }
    *off += 4 + len;
    return name;
}

/* Validates f->data[0..len) completely; fills the rest of f. */
static clg_status parse(const clg_context *ctx, const char *op, const char *path, ck_file *f)
{
    ck_cursor c = {f, 0, f->len, ctx, op, path};
    const unsigned char *d = f->data;
    clg_status s = parse_layout(&c, f);
    if (s == CLG_OK && (f->flags & CK_FLAG_OPTIMIZER)) s = parse_optimizer(&c, f);
    if (s == CLG_OK) s = parse_meta(&c, f);
    if (s != CLG_OK) return s;
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
    /* The blocks after the parameters: the scaling's length is known, the optimizer's and
     * the names' have a largest value (parse checks the rest). */
    uint64_t after = 0, groups = 0;
    if (h.flags & CK_FLAG_SCALING) after += 4 + 8 * h.layers[0].in;
    if (h.flags & CK_FLAG_NAMES) after += 4 + (4 + CK_MAX_NAME) * h.layers[h.nlayers - 1].out;
    if (!(h.flags & (CK_FLAG_OPTIMIZER | CK_FLAG_NAMES))) {
        if (c.end - c.pos <= after) return CLG_OK; /* short: parse says what is missing */
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: file length %zu, the layout needs %llu "
                        "(%llu trailing bytes)",
                        op, path, h.len, (unsigned long long)(c.pos + after + 4),
                        (unsigned long long)(c.end - c.pos - after));
    }
    if (h.flags & CK_FLAG_OPTIMIZER) {
        const int v1 = h.version == 1;
        unsigned char w[12];
        const size_t words = v1 ? 4 : 12;
        if (c.end - c.pos < words || read_at(fd, w, words, (off_t)c.pos) != (ssize_t)words)
            return CLG_OK;
        const uint64_t nstate = v1 ? 1 : clg_get_le32(w + 4);
        groups = clg_get_le32(w + words - 4);
        if (nstate > CLG_OPTIM_MAX_STATE) return CLG_OK; /* parse names it */
        after += words + groups * (v1 ? CK_V1_GROUP_BYTES : CK_GROUP_BYTES) + 8 +
                 (4 + nstate) * (uint64_t)h.nparams;
        for (size_t p = 0; p < h.nparams; p++) after += 4 * nstate * (uint64_t)h.param_count[p];
    }
    const uint64_t most = (uint64_t)c.pos + after;
    if (c.end <= most) return CLG_OK;
    if (!(h.flags & CK_FLAG_OPTIMIZER))
        return clg_fail(ctx, CLG_ERR_FORMAT,
                        "%s: %s: file length %zu, the layout needs at most %llu", op, path, h.len,
                        (unsigned long long)most + 4);
    return clg_fail(ctx, CLG_ERR_FORMAT,
                    "%s: %s: file length %zu, the layout needs at most %llu "
                    "(%llu optimizer groups)",
                    op, path, h.len, (unsigned long long)most + 4, (unsigned long long)groups);
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

clg_status clg_ck_load_file(const clg_context *ctx, const char *op, const char *path, ck_file *f)
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
    clg_status s = clg_ck_load_file(NULL, "clg_checkpoint_check", path, &f);
    free(f.data); /* NULL after a failure */
    return s;
}

float *clg_ck_decode(const ck_file *f, size_t off, size_t count)
{
    float *v = malloc((count ? count : 1) * sizeof *v);
    if (v) get_floats(v, f->data + off, count);
    return v;
}
