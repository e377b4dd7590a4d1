/* Layer kind PHM(in → out, n): parameterized hypercomplex multiplication (Zhang et al.,
 * ICLR 2021), checkpoint code 2 with n as the record's argument. Y = X·W + b with W the
 * top-left in×out block of Σ_i A_i ⊗ S_i (include/clgrad/nn.h, docs/layers.md). Each
 * forward builds W on the device (cl/phm.cl) and runs the Linear product on it (so CLBlast
 * where the Linear uses it); each backward runs the Linear backward into dW and reduces it
 * to dA and dS: n³ + n·ceil(in/n)·ceil(out/n) + out parameters, the flops of a Linear. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Factor sizes of a layer in → out with n factors. */
static size_t count_a(size_t n) { return n * n * n; }
static size_t count_s(size_t in, size_t out, size_t n)
{
    return n * ceil_div(in, n) * ceil_div(out, n);
}

static void param_shape(uint64_t in, uint64_t out, uint32_t arg, size_t k, size_t *rows,
                        size_t *cols)
{
    const size_t n = arg ? arg : 1;
    if (k == 0) { /* A: A_0 .. A_{n-1}, n×n each, stacked */
        *rows = n * n;
        *cols = n;
    } else if (k == 1) { /* S: S_0 .. S_{n-1}, dn×qn each, stacked */
        *rows = n * ceil_div((size_t)in, n);
        *cols = ceil_div((size_t)out, n);
    } else {
        *rows = 1;
        *cols = (size_t)out;
    }
}

static cl_mem *param(clg_layer *L, size_t k, int grad)
{
    if (k == 0) return grad ? &L->dA : &L->A;
    if (k == 1) return grad ? &L->dS : &L->S;
    return grad ? &L->db : &L->b;
}

static clg_status forward(clg_context *ctx, clg_layer *L, cl_mem in, size_t rows)
{
    clg_status s = clg_op_phm_build(ctx, L->A, L->S, L->W, L->in, L->out, L->arg);
    if (s != CLG_OK) return s;
    return clg_op_linear_forward(ctx, in, L->W, L->b, L->Y->mem, rows, L->in, L->out);
}

/* W is the one the last forward built: the optimizer changes A and S only after this. */
static clg_status backward(clg_context *ctx, clg_layer *L, cl_mem in, cl_mem dy, cl_mem dx,
                           size_t rows)
{
    clg_status s = clg_op_linear_backward(ctx, in, L->W, dy, L->dW, L->db, dx, rows, L->in, L->out);
    if (s != CLG_OK) return s;
    return clg_op_phm_grad(ctx, L->A, L->S, L->dW, L->dA, L->dS, L->in, L->out, L->arg);
}

static void release_mem(cl_mem *mem)
{
    if (*mem) clReleaseMemObject(*mem);
    *mem = NULL;
}

static void release(clg_layer *L)
{
    cl_mem *all[] = {&L->A, &L->S, &L->b, &L->dA, &L->dS, &L->db, &L->W, &L->dW};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) release_mem(all[i]);
}

static int describe(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    return snprintf(buf, len, "PHM(in_features=%llu, out_features=%llu, n=%u, bias=True)",
                    (unsigned long long)in, (unsigned long long)out, (unsigned)arg);
}

static int sketch(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg)
{
    return snprintf(buf, len, "PHM(%llu→%llu, n=%u)", (unsigned long long)in,
                    (unsigned long long)out, (unsigned)arg);
}

/* Why n does not fit a layer in → out (in and out non-zero, in·out below 2^32), or NULL. */
static const char *n_invalid(uint64_t in, uint64_t out, uint64_t n)
{
    if (n < 1 || n > CLG_PHM_MAX_N) return "needs n in 1..16";
    if (n > in && n > out) return "has n above max(in, out)";
    if (count_s((size_t)in, (size_t)out, (size_t)n) > UINT32_MAX)
        return "has a factor S of 2^32 elements or more";
    return NULL;
}

static const char *check_record(uint64_t in, uint64_t out, uint32_t arg)
{
    return n_invalid(in, out, arg);
}

/* The layer, its parameters from values (A, S, b; checkpoint loading) or drawn as ini says. */
static clg_status add(clg_model *m, size_t in, size_t out, size_t n, const clg_linear_init *ini,
                      const float *const *values, const char *op)
{
    clg_context *ctx = m->ctx;
    if (n < 1 || n > CLG_PHM_MAX_N)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: n %zu: must be 1..%d", op, n,
                        CLG_PHM_MAX_N);
    if (in == 0 || out == 0 || in > UINT32_MAX / out)
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: invalid shape %zu -> %zu", op, in, out);
    if (n > in && n > out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: n %zu exceeds max(in, out) = %zu: every factor would be padding", op,
                        n, in > out ? in : out);
    if (count_s(in, out, n) > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: %zu -> %zu with n %zu: the factor S would have %zu elements "
                        "(2^32-1 at most)",
                        op, in, out, n, count_s(in, out, n));
    if (m->nlayers && in != clg_model_outputs(m))
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: input width %zu but the previous layer gives %zu",
                        op, in, clg_model_outputs(m));
    const char *why = clg_nn_init_invalid(ini);
    if (why)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: weight_std %g, init kind %d: %s", op,
                        (double)ini->weight_std, (int)ini->kind, why);
    const size_t nA = count_a(n), nS = count_s(in, out, n), floats = in * out + nA + nS + out;
    clg_status s = clg_check_alloc(ctx, in * out * sizeof(float), "clg_model_add_phm: the weight");
    if (s != CLG_OK) return s;
    if (2 * floats * sizeof(float) > ctx->info.global_mem_size)
        return clg_fail(ctx, CLG_ERR_DEVICE_MEMORY,
                        "%s: a PHM %zu -> %zu layer (n %zu) needs %zu bytes for its weight, "
                        "factors, bias and their gradients, beyond CL_DEVICE_GLOBAL_MEM_SIZE "
                        "%llu bytes (%s)",
                        op, in, out, n, 2 * floats * sizeof(float),
                        (unsigned long long)ctx->info.global_mem_size, ctx->info.device_name);
    float *A = malloc(nA * sizeof *A), *S = malloc(nS * sizeof *S), *b = calloc(out, sizeof *b);
    int ok = A && S && b;
    if (ok && values) {
        memcpy(A, values[0], nA * sizeof *A);
        memcpy(S, values[1], nS * sizeof *S);
        memcpy(b, values[2], out * sizeof *b);
    } else if (ok) {
        ok = clg_nn_init_phm(ini, m->nlayers, in, out, n, A, nA, S, nS, b) == 0;
    }
    if (!ok) {
        free(A);
        free(S);
        free(b);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    }
    clg_layer L = {
        .type = &clg_layer_phm, .kind = CLG_LAYER_PHM, .in = in, .out = out, .arg = (uint32_t)n};
    s = clg_nn_buffer_from_host(ctx, A, nA, "PHM factor A", &L.A);
    if (s == CLG_OK) s = clg_nn_buffer_from_host(ctx, S, nS, "PHM factor S", &L.S);
    if (s == CLG_OK) s = clg_nn_buffer_from_host(ctx, b, out, "PHM bias", &L.b);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, nA, "PHM gradient of A", &L.dA);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, nS, "PHM gradient of S", &L.dS);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, out, "PHM bias gradient", &L.db);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, in * out, "PHM weight", &L.W);
    if (s == CLG_OK) s = clg_nn_zero_buffer(ctx, in * out, "PHM weight gradient", &L.dW);
    free(A);
    free(S);
    free(b);
    if (s != CLG_OK) {
        release(&L);
        return s;
    }
    clg_nn_append(m, &L);
    return CLG_OK;
}

static clg_status append(clg_model *m, uint64_t in, uint64_t out, uint32_t arg,
                         const float *const *values)
{
    clg_linear_init init = clg_linear_init_defaults();
    return add(m, (size_t)in, (size_t)out, arg, &init, values, "clg_model_load");
}

const clg_layer_type clg_layer_phm = {
    "PHM",   CLG_LAYER_PHM, 3,      {"A", "S", "bias"}, param_shape, param, forward, backward,
    release, describe,      sketch, check_record,       append,
};

clg_status clg_model_add_phm(clg_model *m, size_t in, size_t out, size_t n,
                             const clg_linear_init *init)
{
    const char *op = "clg_model_add_phm";
    clg_status s = clg_nn_check_room(m, op);
    if (s != CLG_OK) return s;
    clg_linear_init def = clg_linear_init_defaults();
    if (init) {
        s = clg_options_copy(m->ctx, op, "clg_linear_init_defaults", &def, sizeof def, init,
                             CLG_LINEAR_INIT_V1_SIZE);
        if (s != CLG_OK) return s;
    }
    if (def.weight || def.bias)
        return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: init.weight and init.bias are for Linear layers; set a PHM layer's "
                        "A, S and bias with clg_model_set_param",
                        op);
    return add(m, in, out, n, &def, NULL, op);
}
