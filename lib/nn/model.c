/* Sequential model: parameters, forward, backward. Each layer's behaviour comes from its
 * kind's entry in the table of layer.h (linear.c, relu.c, phm.c, registered in layers.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

clg_status clg_model_create(clg_context *ctx, clg_model **out)
{
    if (!ctx || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_create: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_create: out of host memory");
    (*out)->ctx = ctx;
    return CLG_OK;
}

static void layer_release(clg_layer *L)
{
    L->type->release(L);
    clg_tensor_destroy(L->Y);
    clg_tensor_destroy(L->dX);
    L->Y = L->dX = NULL;
}

void clg_model_destroy(clg_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nlayers; i++) layer_release(&m->layers[i]);
    clg_nn_meta_free(&m->meta);
    clg_tensor_destroy(m->Xs);
    free(m);
}

size_t clg_model_inputs(const clg_model *m) { return m && m->nlayers ? m->layers[0].in : 0; }
size_t clg_model_outputs(const clg_model *m)
{
    return m && m->nlayers ? m->layers[m->nlayers - 1].out : 0;
}

/* A buffer holding a copy of host (copied at creation, so nothing waits). */
clg_status clg_nn_buffer_from_host(clg_context *ctx, const float *host, size_t count,
                                   const char *what, cl_mem *out)
{
    size_t bytes = count * sizeof(float);
    clg_status s = clg_check_alloc(ctx, bytes, what);
    if (s != CLG_OK) return s;
    cl_int err;
    *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, (void *)host,
                          &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return clg_fail_cl(ctx, err, what);
    }
    return CLG_OK;
}

clg_status clg_nn_zero_buffer(clg_context *ctx, size_t count, const char *what, cl_mem *out)
{
    clg_status s = clg_buffer_create(ctx, count * sizeof(float), what, out);
    if (s != CLG_OK) return s;
    const float zero = 0.0f;
    cl_int err = clEnqueueFillBuffer(ctx->queue, *out, &zero, sizeof zero, 0, count * sizeof(float),
                                     0, NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(ctx, err, "clEnqueueFillBuffer(gradient)");
}

clg_status clg_nn_check_room(clg_model *m, const char *op)
{
    if (!m) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL model", op);
    if (m->nlayers == CLG_MAX_LAYERS)
        return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: a model holds at most %d layers", op,
                        CLG_MAX_LAYERS);
    return CLG_OK;
}

/* Activation buffers of every layer are (re)made at the next forward. */
static void drop_activations(clg_model *m)
{
    for (size_t i = 0; i < m->nlayers; i++) {
        clg_tensor_destroy(m->layers[i].Y);
        clg_tensor_destroy(m->layers[i].dX);
        m->layers[i].Y = m->layers[i].dX = NULL;
    }
    m->capacity = 0;
    m->rows = 0;
    m->X = NULL;
}

void clg_nn_append(clg_model *m, const clg_layer *L)
{
    drop_activations(m);
    m->layers[m->nlayers++] = *L;
    if (m->meta.nnames != L->out) clg_nn_meta_drop_names(&m->meta); /* outputs changed */
}

size_t clg_model_param_count(const clg_model *m)
{
    size_t n = 0;
    if (m)
        for (size_t i = 0; i < m->nlayers; i++) n += m->layers[i].type->nparams;
    return n;
}

/* Parameter index → (layer, the layer's parameter number). */
static clg_status locate(const clg_model *m, size_t index, const char *op, size_t *layer,
                         size_t *which)
{
    if (!m) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL model", op);
    size_t k = 0;
    for (size_t i = 0; i < m->nlayers; i++) {
        size_t n = m->layers[i].type->nparams;
        if (index < k + n) {
            *layer = i;
            *which = index - k;
            return CLG_OK;
        }
        k += n;
    }
    return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: parameter index %zu out of range (%zu)",
                    op, index, k);
}

clg_status clg_model_param_info(const clg_model *m, size_t index, clg_param_info *info)
{
    size_t layer = 0, k = 0;
    clg_status s = locate(m, index, "clg_model_param_info", &layer, &k);
    if (s != CLG_OK) return s;
    if (!info) return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_param_info: NULL info");
    const clg_layer *L = &m->layers[layer];
    const char *name = L->type->param_names[k];
    memset(info, 0, sizeof *info);
    info->layer = layer;
    info->is_bias = strcmp(name, "bias") == 0;
    L->type->param_shape(L->in, L->out, L->arg, k, &info->rows, &info->cols);
    snprintf(info->name, sizeof info->name, "%zu.%s", layer, name);
    return CLG_OK;
}

clg_status clg_model_param_ref(const clg_model *m, size_t index, clg_param_ref *ref)
{
    size_t layer = 0, k = 0, rows = 0, cols = 0;
    clg_status s = locate(m, index, "clg_model_param_ref", &layer, &k);
    if (s != CLG_OK) return s;
    clg_layer *L = (clg_layer *)&m->layers[layer]; /* param() hands out the slots; read only here */
    ref->value = *L->type->param(L, k, 0);
    ref->grad = *L->type->param(L, k, 1);
    L->type->param_shape(L->in, L->out, L->arg, k, &rows, &cols);
    ref->count = rows * cols;
    return CLG_OK;
}

static clg_status transfer(const clg_model *m, size_t index, const float *host, size_t count,
                           const char *op, clg_param_ref *ref)
{
    clg_status s = clg_model_param_ref(m, index, ref);
    if (s != CLG_OK) return s;
    if (!host) return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL host array", op);
    if (count != ref->count)
        return clg_fail(m->ctx, CLG_ERR_SHAPE, "%s: count %zu but parameter %zu has %zu values", op,
                        count, index, ref->count);
    return CLG_OK;
}

static clg_status download(const clg_model *m, cl_mem mem, float *host, size_t count)
{
    cl_int err = clEnqueueReadBuffer(m->ctx->queue, mem, CL_TRUE, 0, count * sizeof(float), host, 0,
                                     NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(m->ctx, err, "clEnqueueReadBuffer(parameter)");
}

clg_status clg_model_get_param(const clg_model *m, size_t index, float *host, size_t count)
{
    clg_param_ref ref;
    clg_status s = transfer(m, index, host, count, "clg_model_get_param", &ref);
    return s != CLG_OK ? s : download(m, ref.value, host, count);
}

clg_status clg_model_get_grad(const clg_model *m, size_t index, float *host, size_t count)
{
    clg_param_ref ref;
    clg_status s = transfer(m, index, host, count, "clg_model_get_grad", &ref);
    return s != CLG_OK ? s : download(m, ref.grad, host, count);
}

/* Through a staging buffer made from a copy of host, so the call does not wait
 * for the queue and the caller may reuse host at once. */
clg_status clg_model_set_param(clg_model *m, size_t index, const float *host, size_t count)
{
    clg_param_ref ref;
    clg_status s = transfer(m, index, host, count, "clg_model_set_param", &ref);
    if (s != CLG_OK) return s;
    cl_mem stage;
    s = clg_nn_buffer_from_host(m->ctx, host, count, "clCreateBuffer(parameter staging)", &stage);
    if (s != CLG_OK) return s;
    cl_int err = clEnqueueCopyBuffer(m->ctx->queue, stage, ref.value, 0, 0, count * sizeof(float),
                                     0, NULL, NULL);
    clReleaseMemObject(stage);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(m->ctx, err, "clEnqueueCopyBuffer(parameter)");
}

/* Layer i needs dL/dX only when a parameterised layer comes before it. */
static int needs_dx(const clg_model *m, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (m->layers[j].type->nparams) return 1;
    return 0;
}

/* Activation buffers for `rows` rows; all-or-nothing. */
static clg_status grow(clg_model *m, size_t rows)
{
    clg_tensor *Y[CLG_MAX_LAYERS] = {NULL}, *dX[CLG_MAX_LAYERS] = {NULL};
    clg_status s = CLG_OK;
    for (size_t i = 0; i < m->nlayers && s == CLG_OK; i++) {
        s = clg_tensor_create(m->ctx, rows, m->layers[i].out, &Y[i]);
        if (s == CLG_OK && needs_dx(m, i))
            s = clg_tensor_create(m->ctx, rows, m->layers[i].in, &dX[i]);
    }
    if (s != CLG_OK) {
        for (size_t i = 0; i < m->nlayers; i++) {
            clg_tensor_destroy(Y[i]);
            clg_tensor_destroy(dX[i]);
        }
        return s;
    }
    drop_activations(m);
    for (size_t i = 0; i < m->nlayers; i++) {
        m->layers[i].Y = Y[i];
        m->layers[i].dX = dX[i];
    }
    m->capacity = rows;
    return CLG_OK;
}

clg_status clg_model_forward(clg_model *m, const clg_tensor *X, const clg_tensor **out)
{
    if (!m || !X || !out)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_forward: NULL argument");
    if (m->nlayers == 0)
        return clg_fail(m->ctx, CLG_ERR_STATE, "clg_model_forward: the model has no layers");
    size_t B = X->rows, widest = 0;
    if (X->cols != clg_model_inputs(m))
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "clg_model_forward: X is %zux%zu but the model takes %zu inputs", X->rows,
                        X->cols, clg_model_inputs(m));
    for (size_t i = 0; i < m->nlayers; i++)
        widest = m->layers[i].out > widest ? m->layers[i].out : widest;
    widest = X->cols > widest ? X->cols : widest;
    if (B > UINT32_MAX / widest)
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "clg_model_forward: %zu rows of width %zu exceed 2^32-1 elements", B,
                        widest);
    clg_status s = B > m->capacity ? grow(m, B) : CLG_OK;
    m->rows = 0;
    m->X = NULL;
    if (s == CLG_OK) s = clg_nn_scale_input(m, X, &X);
    for (size_t i = 0; i < m->nlayers && s == CLG_OK; i++) {
        clg_layer *L = &m->layers[i];
        cl_mem in = i ? m->layers[i - 1].Y->mem : X->mem;
        s = L->type->forward(m->ctx, L, in, B);
        L->Y->rows = B;
    }
    if (s != CLG_OK) return s;
    m->X = X;
    m->rows = B;
    *out = m->layers[m->nlayers - 1].Y;
    return CLG_OK;
}

clg_status clg_model_backward(clg_model *m, const clg_tensor *dY)
{
    if (!m || !dY)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_backward: NULL argument");
    if (m->rows == 0)
        return clg_fail(m->ctx, CLG_ERR_STATE,
                        "clg_model_backward: no forward pass to differentiate");
    if (dY->rows != m->rows || dY->cols != clg_model_outputs(m))
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "clg_model_backward: dY is %zux%zu but the last forward gave %zux%zu",
                        dY->rows, dY->cols, m->rows, clg_model_outputs(m));
    size_t B = m->rows;
    clg_status s = CLG_OK;
    for (size_t i = m->nlayers; i-- > 0 && s == CLG_OK;) {
        clg_layer *L = &m->layers[i];
        cl_mem in = i ? m->layers[i - 1].Y->mem : m->X->mem;
        cl_mem g = i + 1 < m->nlayers ? m->layers[i + 1].dX->mem : dY->mem;
        cl_mem dx = needs_dx(m, i) ? L->dX->mem : NULL;
        s = L->type->backward(m->ctx, L, in, g, dx, B);
        if (L->dX) L->dX->rows = B;
    }
    return s;
}

size_t clg_model_layer_count(const clg_model *m) { return m ? m->nlayers : 0; }

clg_status clg_model_layer_info(const clg_model *m, size_t i, clg_layer_info *info)
{
    if (!m || !info)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_layer_info: NULL argument");
    if (i >= m->nlayers)
        return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_layer_info: layer %zu of %zu (layers count from 0)", i,
                        m->nlayers);
    const clg_layer *L = &m->layers[i];
    memset(info, 0, sizeof *info);
    snprintf(info->type, sizeof info->type, "%s", L->type->name);
    info->in = L->in;
    info->out = L->out;
    info->params = L->type->nparams;
    L->type->describe(info->repr, sizeof info->repr, L->in, L->out, L->arg);
    return CLG_OK;
}

size_t clg_model_describe(const clg_model *m, char *buf, size_t len)
{
    char dummy[1];
    if (!buf || !len) {
        buf = dummy;
        len = 1;
    }
    buf[0] = '\0';
    if (!m) return 0;
    size_t used = 0;
    clg_text_advance(&buf, &len, &used, snprintf(buf, len, "Sequential(\n"));
    for (size_t i = 0; i < m->nlayers; i++) {
        const clg_layer *L = &m->layers[i];
        clg_text_advance(&buf, &len, &used, snprintf(buf, len, "  (%zu): ", i));
        clg_text_advance(&buf, &len, &used, L->type->describe(buf, len, L->in, L->out, L->arg));
        clg_text_advance(&buf, &len, &used, snprintf(buf, len, "\n"));
    }
    clg_text_advance(&buf, &len, &used, snprintf(buf, len, ")"));
    return used;
}
