/* Checkpoints: clg_model_save / clg_model_load / clg_model_load_into, the glue between the
 * file format (ck_format.c) and models and optimizers. Saving builds the whole file in
 * memory and writes it with clg_file_write_atomic (base/file.c): a failure or a kill leaves
 * a file already at path untouched. */
#include <stdlib.h>
#include <string.h>

#include "serial.h"

static clg_status read_buffer(const clg_model *m, cl_mem mem, float *host, size_t count,
                              const char *what)
{
    cl_int err = clEnqueueReadBuffer(m->ctx->queue, mem, CL_TRUE, 0, count * sizeof(float), host, 0,
                                     NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(m->ctx, err, what);
}

/* The optimizer block at *q (advanced past it). */
static clg_status put_optimizer(const clg_model *m, const clg_optimizer *opt,
                                const clg_param_ref *refs, float *host, unsigned char **q)
{
    unsigned char *p = *q;
    const size_t nparams = opt->nparams;
    clg_put_le32(p, (uint32_t)opt->impl->kind);
    clg_put_le32(p + 4, opt->impl->nstate);
    clg_put_le32(p + 8, (uint32_t)opt->ngroups);
    p += 12;
    for (size_t g = 0; g < opt->ngroups; g++, p += CK_GROUP_BYTES)
        clg_ck_put_group_options(p, &opt->groups[g]);
    for (size_t i = 0; i < nparams; i++, p += 4) clg_put_le32(p, (uint32_t)opt->group_of[i]);
    clg_put_le64(p, opt->steps);
    p += 8;
    clg_status s = CLG_OK;
    for (size_t i = 0; i < nparams && s == CLG_OK; i++)
        for (unsigned k = 0; k < opt->impl->nstate && s == CLG_OK; k++) {
            cl_mem buf = clg_optim_state(opt, i, k);
            *p++ = buf != NULL;
            if (!buf) continue;
            s = read_buffer(m, buf, host, refs[i].count, "clEnqueueReadBuffer(checkpoint state)");
            clg_ck_put_floats(p, host, refs[i].count);
            p += 4 * refs[i].count;
        }
    *q = p;
    return s;
}

/* Bytes of the input scaling and class name blocks. */
static size_t meta_bytes(const clg_model *m)
{
    size_t n = m->meta.mean ? 4 + 8 * clg_model_inputs(m) : 0;
    if (m->meta.names) n += 4;
    for (size_t k = 0; k < m->meta.nnames; k++) n += 4 + strlen(m->meta.names[k]);
    return n;
}

static void put_meta(const clg_model *m, unsigned char **q)
{
    unsigned char *p = *q;
    const size_t d = clg_model_inputs(m);
    if (m->meta.mean) {
        clg_put_le32(p, (uint32_t)d);
        clg_ck_put_floats(p + 4, m->meta.mean, d);
        clg_ck_put_floats(p + 4 + 4 * d, m->meta.scale, d);
        p += 4 + 8 * d;
    }
    if (m->meta.names) {
        clg_put_le32(p, (uint32_t)m->meta.nnames);
        p += 4;
        for (size_t k = 0; k < m->meta.nnames; k++) {
            size_t len = strlen(m->meta.names[k]);
            clg_put_le32(p, (uint32_t)len);
            memcpy(p + 4, m->meta.names[k], len);
            p += 4 + len;
        }
    }
    *q = p;
}

/* The file's input scaling and class names as a model meta (checked already by parse). */
static clg_status meta_from_file(clg_context *ctx, const char *op, const ck_file *f,
                                 clg_model_meta *out)
{
    const size_t d = f->layers[0].in;
    float *v = f->flags & CK_FLAG_SCALING ? clg_ck_decode(f, f->scaling, 2 * d) : NULL;
    char **names = f->flags & CK_FLAG_NAMES ? calloc(f->nnames, sizeof *names) : NULL;
    int ok = (!(f->flags & CK_FLAG_SCALING) || v) && (!(f->flags & CK_FLAG_NAMES) || names);
    size_t off = f->names;
    for (uint32_t k = 0; ok && names && k < f->nnames; k++)
        ok = (names[k] = clg_ck_name(f, &off)) != NULL;
    clg_status s = ok ? clg_nn_meta_make(ctx, op, v, v ? v + d : NULL, d,
                                         (const char *const *)names, f->nnames, out)
                      : clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    for (uint32_t k = 0; names && k < f->nnames; k++) free(names[k]);
    free(names);
    free(v);
    return s;
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
    const unsigned ns = opt ? opt->impl->nstate : 0;
    if (opt) {
        len += 12 + CK_GROUP_BYTES * opt->ngroups + 4 * nparams + 8 + ns * nparams;
        for (size_t p = 0; p < nparams; p++)
            for (unsigned k = 0; k < ns; k++)
                if (clg_optim_state(opt, p, k)) floats += refs[p].count;
    }
    len += 4 * floats + 4 + meta_bytes(m);
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
    clg_put_le32(q + 12, (opt ? CK_FLAG_OPTIMIZER : 0u) | (m->meta.mean ? CK_FLAG_SCALING : 0u) |
                             (m->meta.names ? CK_FLAG_NAMES : 0u));
    clg_put_le32(q + 16, (uint32_t)m->nlayers);
    clg_put_le32(q + 20, (uint32_t)metalen);
    q += CK_HEADER;
    for (size_t i = 0; i < m->nlayers; i++, q += CK_LAYER_BYTES) {
        clg_put_le32(q, m->layers[i].type->code | m->layers[i].arg << 16); /* ck_format.c */
        clg_put_le64(q + 4, m->layers[i].in);
        clg_put_le64(q + 12, m->layers[i].out);
    }
    if (metalen) memcpy(q, meta, metalen);
    q += metalen;
    clg_status s = CLG_OK;
    for (size_t p = 0; p < nparams && s == CLG_OK; p++) {
        s = read_buffer(m, refs[p].value, host, refs[p].count,
                        "clEnqueueReadBuffer(checkpoint parameter)");
        clg_ck_put_floats(q, host, refs[p].count);
        q += 4 * refs[p].count;
    }
    if (opt && s == CLG_OK) s = put_optimizer(m, opt, refs, host, &q);
    if (s == CLG_OK) put_meta(m, &q);
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
    clg_status s = clg_ck_load_file(ctx, "clg_model_load", path, &f);
    if (s != CLG_OK) return s;
    clg_model *m = NULL;
    s = clg_model_create(ctx, &m);
    size_t p = 0;
    for (uint32_t i = 0; i < f.nlayers && s == CLG_OK; i++) {
        const ck_layer *L = &f.layers[i];
        float *values[CLG_LAYER_MAX_PARAMS] = {NULL};
        int ok = 1;
        for (size_t k = 0; k < L->type->nparams; k++, p++) {
            values[k] = clg_ck_decode(&f, f.param_off[p], f.param_count[p]);
            ok = ok && values[k];
        }
        if (!ok)
            s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_load: out of host memory");
        else
            s = L->type->append(m, L->in, L->out, L->kind >> 16, (const float *const *)values);
        for (size_t k = 0; k < L->type->nparams; k++) free(values[k]);
    }
    clg_model_meta mm;
    if (s == CLG_OK) s = meta_from_file(ctx, "clg_model_load", &f, &mm);
    if (s == CLG_OK) clg_nn_meta_install(m, &mm);
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
        if (F->type == L->type && F->in == L->in && F->out == L->out && F->kind >> 16 == L->arg)
            continue;
        F->type->sketch(a, sizeof a, F->in, F->out, F->kind >> 16);
        L->type->sketch(b, sizeof b, L->in, L->out, L->arg);
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
    float *v = clg_ck_decode(f, off, count);
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

/* The optimizer's new tables and state buffers from f, made before anything changes. */
typedef struct opt_prep {
    clg_optimizer_options *groups;
    size_t *group_of;
    cl_mem *state; /* nparams × nstate */
} opt_prep;

static void opt_prep_free(opt_prep *o, size_t nstate_total)
{
    for (size_t i = 0; o->state && i < nstate_total; i++)
        if (o->state[i]) clReleaseMemObject(o->state[i]);
    free(o->state);
    free(o->group_of);
    free(o->groups);
}

static clg_status prepare_optimizer(clg_context *ctx, const clg_optimizer *opt, const ck_file *f,
                                    const char *path, opt_prep *o)
{
    if (f->impl != opt->impl)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "clg_model_load_into: %s: file has %s optimizer state, the optimizer is %s",
                        path, f->impl->name, opt->impl->name);
    const size_t ns = f->nstate;
    o->group_of = malloc(f->nparams * sizeof *o->group_of);
    o->groups = malloc(f->ngroups * sizeof *o->groups);
    o->state = calloc(f->nparams * (ns ? ns : 1), sizeof *o->state);
    if (!o->group_of || !o->groups || !o->state)
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_load_into: out of host memory");
    for (uint32_t g = 0; g < f->ngroups; g++) o->groups[g] = clg_ck_group_options(f, g);
    for (size_t k = 0; k < f->nparams; k++)
        o->group_of[k] = clg_get_le32(f->data + f->group_of + 4 * k);
    clg_status s = CLG_OK;
    for (size_t p = 0; p < f->nparams && s == CLG_OK; p++)
        for (size_t k = 0; k < ns && s == CLG_OK; k++)
            if (f->state_off[p][k])
                s = buffer_from(ctx, f, f->state_off[p][k], f->param_count[p],
                                f->impl->state_names[k], &o->state[p * ns + k]);
    return s;
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
    clg_status s = clg_ck_load_file(ctx, "clg_model_load_into", path, &f);
    if (s != CLG_OK) return s;
    s = compare_arch(m, &f, path);
    const int with_opt = opt && (f.flags & CK_FLAG_OPTIMIZER);
    cl_mem values[CK_MAX_PARAMS] = {NULL};
    opt_prep prep = {NULL, NULL, NULL};
    for (size_t p = 0; p < f.nparams && s == CLG_OK; p++)
        s = buffer_from(ctx, &f, f.param_off[p], f.param_count[p], "checkpoint parameter",
                        &values[p]);
    if (with_opt && s == CLG_OK) s = prepare_optimizer(ctx, opt, &f, path, &prep);
    clg_model_meta mm = {0};
    if (s == CLG_OK) s = meta_from_file(ctx, "clg_model_load_into", &f, &mm);
    if (s != CLG_OK) {
        for (size_t p = 0; p < CK_MAX_PARAMS; p++)
            if (values[p]) clReleaseMemObject(values[p]);
        opt_prep_free(&prep, f.nparams * f.nstate);
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
    if (with_opt)
        clg_optim_replace(opt, prep.groups, f.ngroups, prep.group_of, prep.state, f.steps);
    clg_nn_meta_install(m, &mm); /* the file's scaling and names, or none */
    free(f.data);
    return CLG_OK;
}

clg_status clg_checkpoint_inspect(const char *path, clg_checkpoint_info *info)
{
    const char *op = "clg_checkpoint_inspect";
    if (!path || !info) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    ck_file f;
    clg_status s = clg_ck_load_file(NULL, op, path, &f);
    if (s != CLG_OK) return s;
    memset(info, 0, sizeof *info);
    info->version = f.version;
    info->has_optimizer = (f.flags & CK_FLAG_OPTIMIZER) != 0;
    if (info->has_optimizer) {
        info->optimizer = f.kind;
        info->optimizer_groups = f.ngroups;
        info->optimizer_steps = f.steps;
    }
    free(f.data);
    return CLG_OK;
}

clg_status clg_checkpoint_meta(const char *path, char *meta, size_t len)
{
    const char *op = "clg_checkpoint_meta";
    if (!path || !meta || !len)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument or no room", op);
    ck_file f;
    clg_status s = clg_ck_load_file(NULL, op, path, &f);
    if (s != CLG_OK) return s;
    size_t n = f.metalen < len ? f.metalen : len - 1;
    memcpy(meta, f.data + f.meta, n);
    meta[n] = '\0';
    free(f.data);
    return CLG_OK;
}
