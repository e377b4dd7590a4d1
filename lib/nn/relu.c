/* Layer kind ReLU: Y = max(0, X), width unchanged, no parameters. Checkpoint code 1. */
#include <stdint.h>
#include <stdio.h>

#include "nn.h"

static clg_status forward(clg_context *ctx, clg_layer *L, cl_mem in, size_t rows)
{
    return clg_op_relu_forward(ctx, in, L->Y->mem, rows * L->out);
}

static clg_status backward(clg_context *ctx, clg_layer *L, cl_mem in, cl_mem dy, cl_mem dx,
                           size_t rows)
{
    return dx ? clg_op_relu_backward(ctx, in, dy, dx, rows * L->out) : CLG_OK;
}

static void release(clg_layer *L) { (void)L; }

static int describe(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    (void)arg;
    (void)in;
    (void)out;
    return snprintf(buf, len, "ReLU()");
}

static int sketch(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    (void)arg;
    (void)out;
    return snprintf(buf, len, "ReLU(%llu)", (unsigned long long)in);
}

static const char *check_record(uint64_t in, uint64_t out, uint32_t arg)
{
    if (arg) return "a ReLU takes none";
    return in != out ? "changes width" : NULL;
}

static clg_status append(clg_model *m, uint64_t in, uint64_t out, uint32_t arg,
                         const float *const *values)
{
    (void)arg;
    (void)in;
    (void)out;
    (void)values;
    return clg_model_add_relu(m);
}

const clg_layer_type clg_layer_relu = {
    "ReLU",  CLG_LAYER_RELU, 0,      {NULL, NULL, NULL}, NULL,   NULL, forward, backward,
    release, describe,       sketch, check_record,       append,
};

clg_status clg_model_add_relu(clg_model *m)
{
    clg_status s = clg_nn_check_room(m, "clg_model_add_relu");
    if (s != CLG_OK) return s;
    if (m->nlayers == 0)
        return clg_fail(m->ctx, CLG_ERR_STATE,
                        "clg_model_add_relu: add a Linear layer first (its width sets the ReLU's)");
    size_t w = clg_model_outputs(m);
    clg_layer L = {.type = &clg_layer_relu, .kind = CLG_LAYER_RELU, .in = w, .out = w};
    clg_nn_append(m, &L);
    return CLG_OK;
}
