/* What a model carries besides its layers: the input scaling applied before the first
 * layer (sklearn's StandardScaler in front of the model) and the names of its classes.
 * Checkpoints store both (lib/serial). */
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define CLASS_NAME_MAX 255

void clg_nn_meta_drop_names(clg_model_meta *meta)
{
    for (size_t i = 0; i < meta->nnames; i++) free(meta->names[i]);
    free(meta->names);
    meta->names = NULL;
    meta->nnames = 0;
}

void clg_nn_meta_free(clg_model_meta *meta)
{
    free(meta->mean);
    free(meta->scale);
    if (meta->mean_dev) clReleaseMemObject(meta->mean_dev);
    if (meta->scale_dev) clReleaseMemObject(meta->scale_dev);
    clg_nn_meta_drop_names(meta);
    memset(meta, 0, sizeof *meta);
}

const char *clg_nn_class_name_invalid(const char *name, size_t len)
{
    if (len == 0 || len > CLASS_NAME_MAX) return "a class name must have 1 to 255 bytes";
    for (size_t i = 0; i < len; i++)
        if (name[i] == '\0' || name[i] == '\n' || name[i] == '\r')
            return "a class name holds a NUL or a line break";
    return NULL;
}

static clg_status make_scaling(clg_context *ctx, const char *op, const float *mean,
                               const float *scale, size_t d, clg_model_meta *out)
{
    const char *why = clg_scaling_invalid(mean, scale, d);
    if (why) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: %s", op, why);
    out->mean = malloc(d * sizeof *out->mean);
    out->scale = malloc(d * sizeof *out->scale);
    if (!out->mean || !out->scale)
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    memcpy(out->mean, mean, d * sizeof *mean);
    memcpy(out->scale, scale, d * sizeof *scale);
    clg_status s = clg_nn_buffer_from_host(ctx, mean, d, "input scaling mean", &out->mean_dev);
    if (s == CLG_OK)
        s = clg_nn_buffer_from_host(ctx, scale, d, "input scaling scale", &out->scale_dev);
    return s;
}

static clg_status make_names(clg_context *ctx, const char *op, const char *const *names,
                             size_t count, clg_model_meta *out)
{
    for (size_t i = 0; i < count; i++) {
        const char *why =
            names[i] ? clg_nn_class_name_invalid(names[i], strlen(names[i])) : "a NULL name";
        if (why) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: class %zu: %s", op, i, why);
    }
    out->names = calloc(count, sizeof *out->names);
    if (!out->names) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    out->nnames = count;
    for (size_t i = 0; i < count; i++)
        if (!(out->names[i] = strdup(names[i])))
            return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    return CLG_OK;
}

clg_status clg_nn_meta_make(clg_context *ctx, const char *op, const float *mean, const float *scale,
                            size_t d, const char *const *names, size_t nnames, clg_model_meta *out)
{
    memset(out, 0, sizeof *out);
    clg_status s = mean ? make_scaling(ctx, op, mean, scale, d, out) : CLG_OK;
    if (s == CLG_OK && names) s = make_names(ctx, op, names, nnames, out);
    if (s != CLG_OK) clg_nn_meta_free(out);
    return s;
}

void clg_nn_meta_install(clg_model *m, clg_model_meta *meta)
{
    clg_nn_meta_free(&m->meta);
    m->meta = *meta;
    memset(meta, 0, sizeof *meta);
}

/* The model's meta with one part replaced by the new values and the other part kept. */
static clg_status replace(clg_model *m, const char *op, int scaling, const float *mean,
                          const float *scale, size_t d, const char *const *names, size_t count)
{
    const clg_model_meta *old = &m->meta;
    const size_t in = clg_model_inputs(m);
    clg_model_meta meta;
    clg_status s =
        scaling ? clg_nn_meta_make(m->ctx, op, mean, scale, d, (const char *const *)old->names,
                                   old->nnames, &meta)
                : clg_nn_meta_make(m->ctx, op, old->mean, old->scale, in, names, count, &meta);
    if (s == CLG_OK) clg_nn_meta_install(m, &meta);
    return s;
}

clg_status clg_model_set_input_scaling(clg_model *m, const float *mean, const float *scale,
                                       size_t d)
{
    const char *op = "clg_model_set_input_scaling";
    if (!m) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL model", op);
    if (mean && !scale) return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL scale", op);
    if (mean && m->nlayers == 0)
        return clg_fail(m->ctx, CLG_ERR_STATE, "%s: the model has no layers", op);
    if (mean && d != clg_model_inputs(m))
        return clg_fail(m->ctx, CLG_ERR_SHAPE, "%s: %zu values for a model of %zu inputs", op, d,
                        clg_model_inputs(m));
    return replace(m, op, 1, mean, scale, d, NULL, 0);
}

int clg_model_input_scaling(const clg_model *m, float *mean, float *scale, size_t d)
{
    if (!m || !m->meta.mean) return 0;
    size_t n = d < clg_model_inputs(m) ? d : clg_model_inputs(m);
    if (mean) memcpy(mean, m->meta.mean, n * sizeof *mean);
    if (scale) memcpy(scale, m->meta.scale, n * sizeof *scale);
    return 1;
}

clg_status clg_nn_scale_input(clg_model *m, const clg_tensor *X, const clg_tensor **in)
{
    *in = X;
    if (!m->meta.mean) return CLG_OK;
    if (!m->Xs || m->Xs->capacity < X->rows * X->cols) {
        clg_tensor *t = NULL;
        clg_status s = clg_tensor_create(m->ctx, X->rows, X->cols, &t);
        if (s != CLG_OK) return s;
        clg_tensor_destroy(m->Xs);
        m->Xs = t;
    }
    m->Xs->rows = X->rows;
    m->Xs->cols = X->cols;
    *in = m->Xs;
    return clg_op_scale_columns(m->ctx, X->mem, m->meta.mean_dev, m->meta.scale_dev, X->rows,
                                X->cols, m->Xs->mem);
}

clg_status clg_model_set_class_names(clg_model *m, const char *const *names, size_t count)
{
    const char *op = "clg_model_set_class_names";
    if (!m) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL model", op);
    if (names && (count == 0 || count != clg_model_outputs(m)))
        return clg_fail(m->ctx, CLG_ERR_SHAPE, "%s: %zu names for a model of %zu outputs", op,
                        count, clg_model_outputs(m));
    return replace(m, op, 0, NULL, NULL, 0, names, count);
}

const char *clg_model_class_name(const clg_model *m, size_t k)
{
    return m && k < m->meta.nnames ? m->meta.names[k] : NULL;
}
