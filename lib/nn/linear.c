/* Layer kind Linear(in → out): Y = X·W + b, W in×out, b 1×out. Checkpoint code 0. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

clg_linear_init clg_linear_init_defaults(void)
{
    clg_linear_init init = {.struct_size = sizeof init, .weight_std = 0.01f};
    return init;
}

static void param_shape(uint64_t in, uint64_t out, uint32_t arg, size_t k, size_t *rows,
                        size_t *cols)
{
    (void)arg;
    *rows = k ? 1 : (size_t)in;
    *cols = (size_t)out;
}

static cl_mem *param(clg_layer *L, size_t k, int grad)
{
    if (k == 0) return grad ? &L->dW : &L->W;
    return grad ? &L->db : &L->b;
}

static clg_status forward(clg_context *ctx, clg_layer *L, cl_mem in, size_t rows)
{
    return clg_op_linear_forward(ctx, in, L->W, L->b, L->Y->mem, rows, L->in, L->out);
}

static clg_status backward(clg_context *ctx, clg_layer *L, cl_mem in, cl_mem dy, cl_mem dx,
                           size_t rows)
{
    return clg_op_linear_backward(ctx, in, L->W, dy, L->dW, L->db, dx, rows, L->in, L->out);
}

static void release_mem(cl_mem *mem)
{
    if (*mem) clReleaseMemObject(*mem);
    *mem = NULL;
}

static void release(clg_layer *L)
{
    release_mem(&L->W);
    release_mem(&L->b);
    release_mem(&L->dW);
    release_mem(&L->db);
}

static int describe(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    (void)arg;
    return snprintf(buf, len, "Linear(in_features=%llu, out_features=%llu, bias=True)",
                    (unsigned long long)in, (unsigned long long)out);
}

static int sketch(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    (void)arg;
    return snprintf(buf, len, "Linear(%llu→%llu)", (unsigned long long)in, (unsigned long long)out);
}

static const char *check_record(uint64_t in, uint64_t out, uint32_t arg)
{
    (void)in;
    (void)out;
    /* the common rules (in·out below 2^32) are all a Linear needs */
    return arg ? "a Linear layer takes none" : NULL;
}

static clg_status append(clg_model *m, uint64_t in, uint64_t out, uint32_t arg,
                         const float *const *values)
{
    (void)arg;
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = values[0];
    init.bias = values[1];
    return clg_model_add_linear(m, (size_t)in, (size_t)out, &init);
}

const clg_layer_type clg_layer_linear = {
    "Linear",    CLG_LAYER_LINEAR,
    2,           {"weight", "bias", NULL},
    param_shape, param,
    forward,     backward,
    release,     describe,
    sketch,      check_record,
    append,
};

int clg_layer_is_linear(const clg_layer *L) { return L && L->type == &clg_layer_linear; }

int clg_model_linear_view(const clg_model *m, clg_linear_view *v)
{
    if (m->nlayers != 1 || !clg_layer_is_linear(&m->layers[0]) || m->meta.mean) return 0;
    const clg_layer *L = &m->layers[0];
    v->W = L->W;
    v->b = L->b;
    v->dW = L->dW;
    v->db = L->db;
    v->in = L->in;
    v->out = L->out;
    return 1;
}

clg_status clg_model_add_linear(clg_model *m, size_t in, size_t out, const clg_linear_init *init)
{
    clg_status s = clg_nn_check_room(m, "clg_model_add_linear");
    if (s != CLG_OK) return s;
    clg_context *ctx = m->ctx;
    clg_linear_init def = clg_linear_init_defaults();
    if (init) {
        s = clg_options_copy(ctx, "clg_model_add_linear", "clg_linear_init_defaults", &def,
                             sizeof def, init, CLG_LINEAR_INIT_V1_SIZE);
        if (s != CLG_OK) return s;
    }
    const clg_linear_init *ini = &def;
    const char *why = clg_nn_init_invalid(ini);
    if (in == 0 || out == 0 || in > UINT32_MAX / out)
        return clg_fail(ctx, CLG_ERR_SHAPE, "clg_model_add_linear: invalid shape %zu -> %zu", in,
                        out);
    if (m->nlayers && in != clg_model_outputs(m))
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "clg_model_add_linear: input width %zu but the previous layer gives %zu",
                        in, clg_model_outputs(m));
    if (why)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_model_add_linear: weight_std %g, init kind %d: %s",
                        (double)ini->weight_std, (int)ini->kind, why);
    /* Refused before the host copy is made and drawn: W and its gradient live on the
     * device, each one allocation. */
    s = clg_check_alloc(ctx, in * out * sizeof(float), "clg_model_add_linear: the weight matrix");
    if (s != CLG_OK) return s;
    if (2 * (in * out + out) * sizeof(float) > ctx->info.global_mem_size)
        return clg_fail(
            ctx, CLG_ERR_DEVICE_MEMORY,
            "clg_model_add_linear: a %zu -> %zu layer needs %zu bytes for its parameters "
            "and their gradients, beyond CL_DEVICE_GLOBAL_MEM_SIZE %llu bytes (%s)",
            in, out, 2 * (in * out + out) * sizeof(float),
            (unsigned long long)ctx->info.global_mem_size, ctx->info.device_name);
    float *w = malloc(in * out * sizeof *w), *b = calloc(out, sizeof *b);
    if (!w || !b || (!ini->weight && clg_nn_init_linear(ini, m->nlayers, in, out, w, b) != 0)) {
        free(w);
        free(b);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_model_add_linear: out of host memory");
    }
    if (ini->weight) memcpy(w, ini->weight, in * out * sizeof *w);
    if (ini->bias) memcpy(b, ini->bias, out * sizeof *b);
    clg_layer L = {.type = &clg_layer_linear, .kind = CLG_LAYER_LINEAR, .in = in, .out = out};
    s = clg_nn_buffer_from_host(ctx, w, in * out, "linear weight", &L.W);
    if (s == CLG_OK) s = clg_nn_buffer_from_host(ctx, b, out, "linear bias", &L.b);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, in * out, "weight gradient", &L.dW);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, out, "bias gradient", &L.db);
    free(w);
    free(b);
    if (s != CLG_OK) {
        release(&L);
        return s;
    }
    clg_nn_append(m, &L);
    return CLG_OK;
}
