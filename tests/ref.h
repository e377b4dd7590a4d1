/* Test-side references: a seeded host RNG, guarded device buffers, double references. */
#ifndef CLGRAD_TEST_REF_H
#define CLGRAD_TEST_REF_H
#include <math.h>
#include <stdint.h>

#include "helpers.h"
#include "internal.h"

#define GUARD 67 /* floats after each output, not a multiple of any group size */
#define SENTINEL 1234.5678f

/* Uniform in [lo, hi) from a 64-bit LCG; reproducible across runs. */
static inline float ref_uniform(uint64_t *state, float lo, float hi)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((*state >> 40) * (1.0 / 16777216.0));
}

static inline float *ref_random(uint64_t *state, size_t n, float lo, float hi)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = ref_uniform(state, lo, hi);
    return a;
}

/* A device buffer of n floats copied from host, followed by GUARD sentinels. */
static inline cl_mem ref_buffer(clg_context *ctx, const float *host, size_t n)
{
    float *tmp = malloc((n + GUARD) * sizeof *tmp);
    for (size_t i = 0; i < n; i++) tmp[i] = host ? host[i] : SENTINEL;
    for (size_t i = n; i < n + GUARD; i++) tmp[i] = SENTINEL;
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              (n + GUARD) * sizeof(float), tmp, &err);
    cr_assert_eq(err, CL_SUCCESS, "clCreateBuffer: %s", clg_cl_error_name(err));
    free(tmp);
    return m;
}

/* Reads n floats into out (may be NULL) and asserts the guard zone is untouched. */
static inline void ref_read(clg_context *ctx, cl_mem m, float *out, size_t n, const char *what)
{
    float *tmp = malloc((n + GUARD) * sizeof *tmp);
    cl_int err = clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, (n + GUARD) * sizeof(float), tmp, 0,
                                     NULL, NULL);
    cr_assert_eq(err, CL_SUCCESS, "clEnqueueReadBuffer: %s", clg_cl_error_name(err));
    for (size_t i = n; i < n + GUARD; i++)
        cr_assert_eq(tmp[i], SENTINEL, "%s: out-of-bounds write at element %zu (size %zu)", what, i,
                     n);
    if (out) memcpy(out, tmp, n * sizeof *out);
    free(tmp);
}

static inline void ref_write(clg_context *ctx, cl_mem m, const float *host, size_t n)
{
    cl_int err =
        clEnqueueWriteBuffer(ctx->queue, m, CL_TRUE, 0, n * sizeof(float), host, 0, NULL, NULL);
    cr_assert_eq(err, CL_SUCCESS, "clEnqueueWriteBuffer: %s", clg_cl_error_name(err));
}

/* Linear(in → out) with the given weights (in·out, row-major) and bias (out). */
static inline clg_model *ref_linear_model(clg_context *ctx, size_t in, size_t out, const float *W,
                                          const float *b)
{
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = W;
    init.bias = b;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, in, out, &init));
    return m;
}

/* Writes gradients straight into the gradient buffers of a model's first Linear layer. */
static inline void ref_set_linear_grads(clg_model *m, const float *gW, const float *gb)
{
    clg_param_ref r;
    CLG_OK_OR_FAIL(m->ctx, clg_model_param_ref(m, 0, &r));
    ref_write(m->ctx, r.grad, gW, r.count);
    CLG_OK_OR_FAIL(m->ctx, clg_model_param_ref(m, 1, &r));
    ref_write(m->ctx, r.grad, gb, r.count);
}

/* |got - want| <= tol; `what` (a string) and the tolerance go into the message. */
#define EXPECT_CLOSE(got, want, tol, what)                                                         \
    do {                                                                                           \
        double g_ = (got), w_ = (want), t_ = (tol);                                                \
        cr_assert(fabs(g_ - w_) <= t_, "%s: got %.9g want %.9g, |diff| %.3g > tol %.3g", (what),   \
                  g_, w_, fabs(g_ - w_), t_);                                                      \
    } while (0)
#endif
