/* Datasets: device synthetic data against a host reference, reproducibility by seed,
 * argument errors, host uploads with non-finite values, round trips. */
#include <math.h>

#include "helpers.h"
#include "internal.h"

#define X_REL 1e-5 /* device float log/sqrt/cospi vs double reference */
#define X_ABS 1e-6
#define Y_TOL 1e-4 /* float dot product of d terms vs double */

static void check_synthetic(clg_context *ctx, size_t n, size_t d, const float *w, float b,
                            float noise, uint64_t seed)
{
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, b, noise, seed, &ds));
    cr_assert_eq(clg_dataset_size(ds), n);
    cr_assert_eq(clg_dataset_features(ds), d);
    cr_assert_eq(clg_dataset_targets(ds), 1u);
    cr_assert_eq(clg_tensor_rows(clg_dataset_X(ds)), n);
    cr_assert_eq(clg_tensor_cols(clg_dataset_X(ds)), d);
    cr_assert_eq(clg_tensor_rows(clg_dataset_Y(ds)), n);
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    float *Xr = malloc(n * d * sizeof *Xr), *er = malloc(n * sizeof *er);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, y));
    clg_philox_normal(seed, 0u, 1.0f, Xr, n * d); /* stream 0: X */
    clg_philox_normal(seed, 1u, 1.0f, er, n);     /* stream 1: noise */
    double worst_x = 0.0, worst_y = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dot = 0.0;
        for (size_t j = 0; j < d; j++) {
            size_t e = i * d + j;
            double err = fabs((double)X[e] - Xr[e]);
            cr_assert(err <= X_REL * fabs(Xr[e]) + X_ABS,
                      "n=%zu d=%zu: X[%zu,%zu] = %.9g, host %.9g (tolerance %g rel + %g abs)", n, d,
                      i, j, (double)X[e], (double)Xr[e], X_REL, X_ABS);
            if (err > worst_x) worst_x = err;
            dot += (double)X[e] * w[j];
        }
        double ref = dot + b + (double)noise * er[i];
        double err = fabs((double)y[i] - ref);
        cr_assert(err <= Y_TOL * (1.0 + fabs(ref)),
                  "n=%zu d=%zu: y[%zu] = %.9g, X*w + b + noise*eps in double = %.9g (tolerance "
                  "%g*(1+|ref|))",
                  n, d, i, (double)y[i], ref, Y_TOL);
        if (err > worst_y) worst_y = err;
    }
    cr_log_info("synthetic n=%zu d=%zu: max |dX| %.3g, max |dy| %.3g", n, d, worst_x, worst_y);
    free(X);
    free(y);
    free(Xr);
    free(er);
    clg_dataset_destroy(ds);
}

Test(data, synthetic_matches_host_reference)
{
    clg_context *ctx = test_context();
    const float w2[2] = {2.0f, -3.4f}; /* d2l's true_w, true_b = 4.2, noise 0.01 */
    check_synthetic(ctx, 1000, 2, w2, 4.2f, 0.01f, 0);
    check_synthetic(ctx, 1, 2, w2, 4.2f, 0.01f, 5);
    float w7[7];
    for (int j = 0; j < 7; j++) w7[j] = 0.25f * (float)j - 0.8f;
    check_synthetic(ctx, 333, 7, w7, -1.5f, 0.5f, 0xdeadbeefcafeULL);
    float w130[130];
    for (int j = 0; j < 130; j++) w130[j] = (j % 2 ? 1.0f : -1.0f) / (float)(j + 1);
    check_synthetic(ctx, 65, 130, w130, 0.0f, 2.0f, UINT64_MAX);
    clg_context_destroy(ctx);
}

Test(data, noise_zero_gives_exact_linear_targets)
{
    clg_context *ctx = test_context();
    const float w[1] = {3.0f};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 257, w, 1, 0.0f, 0.0f, 11u, &ds));
    float X[257], y[257];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, y));
    for (size_t i = 0; i < 257; i++)
        cr_assert_eq(y[i], X[i] * 3.0f, "y[%zu] = %.9g must be exactly 3*X = %.9g with noise 0", i,
                     (double)y[i], (double)(X[i] * 3.0f));
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

static void generate(clg_context *ctx, uint64_t seed, float *X, float *y)
{
    const float w[3] = {0.5f, 1.0f, -2.0f};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 500, w, 3, 0.3f, 0.1f, seed, &ds));
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, y));
    clg_dataset_destroy(ds);
}

Test(data, seed_reproduces_across_contexts_and_differs_between_seeds)
{
    clg_context *a = test_context(), *b = test_context();
    static float Xa[1500], ya[500], Xb[1500], yb[500], Xc[1500], yc[500];
    generate(a, 1234, Xa, ya);
    generate(b, 1234, Xb, yb);
    cr_expect_arr_eq(Xa, Xb, sizeof Xa, "same seed, same device: X bit-identical");
    cr_expect_arr_eq(ya, yb, sizeof ya, "same seed, same device: y bit-identical");
    generate(a, 1235, Xc, yc);
    size_t same = 0;
    for (size_t e = 0; e < 1500; e++) same += Xa[e] == Xc[e];
    cr_expect(same < 5, "seeds 1234 and 1235 share %zu of 1500 X values", same);
    /* Seeds differing only in the high word must differ too (key word 1). */
    generate(a, 1234 + (1ULL << 32), Xc, yc);
    same = 0;
    for (size_t e = 0; e < 1500; e++) same += Xa[e] == Xc[e];
    cr_expect(same < 5, "seeds differing in bit 32 share %zu of 1500 X values", same);
    clg_context_destroy(a);
    clg_context_destroy(b);
}

static void expect_fail(clg_context *ctx, clg_status got, clg_status want, const char *what,
                        const char *needle)
{
    cr_expect_eq(got, want, "%s: got %s, want %s", what, clg_status_string(got),
                 clg_status_string(want));
    const char *msg = clg_last_error(ctx);
    cr_expect(msg[0] != '\0', "%s: message must not be empty", what);
    if (needle) cr_expect(strstr(msg, needle), "%s: message '%s' names '%s'", what, msg, needle);
    if (got == want) bad_input_record(what, clg_status_string(got), msg);
}

Test(data, synthetic_bad_arguments)
{
    clg_context *ctx = test_context();
    const float w[2] = {1.0f, 2.0f};
    clg_dataset *ds = (clg_dataset *)&ds; /* must come back NULL */
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 0, w, 2, 0.0f, 0.1f, 0, &ds), CLG_ERR_SHAPE,
                "n = 0", "n=0");
    cr_expect_null(ds);
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 0, 0.0f, 0.1f, 0, &ds), CLG_ERR_SHAPE,
                "d = 0", "d=0");
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, NULL, 2, 0.0f, 0.1f, 0, &ds),
                CLG_ERR_INVALID_ARGUMENT, "NULL w", "NULL");
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 2, 0.0f, 0.1f, 0, NULL),
                CLG_ERR_INVALID_ARGUMENT, "NULL out", "NULL");
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 2, 0.0f, -0.1f, 0, &ds),
                CLG_ERR_INVALID_ARGUMENT, "negative noise", "noise");
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 2, NAN, 0.1f, 0, &ds),
                CLG_ERR_NONFINITE, "NaN b", "b is not finite");
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 2, 0.0f, INFINITY, 0, &ds),
                CLG_ERR_NONFINITE, "infinite noise", "noise");
    const float wbad[3] = {1.0f, 2.0f, -INFINITY};
    expect_fail(ctx, clg_dataset_synthetic_linear(ctx, 10, wbad, 3, 0.0f, 0.1f, 0, &ds),
                CLG_ERR_NONFINITE, "-Inf in w", "w[2]");
    cr_expect_null(ds);
    cr_expect_eq(clg_dataset_synthetic_linear(NULL, 10, w, 2, 0.0f, 0.1f, 0, &ds),
                 CLG_ERR_INVALID_ARGUMENT, "NULL context");
    cr_expect(clg_last_error(NULL)[0] != '\0', "NULL context: thread message set");
    clg_context_destroy(ctx);
}

Test(data, from_host_nonfinite_names_row_and_column)
{
    clg_context *ctx = test_context();
    float X[4 * 3], Y[4];
    for (int i = 0; i < 12; i++) X[i] = (float)i;
    for (int i = 0; i < 4; i++) Y[i] = (float)i;
    X[2 * 3 + 1] = NAN;
    clg_dataset *ds = NULL;
    expect_fail(ctx, clg_dataset_from_host(ctx, X, Y, 4, 3, 1, &ds), CLG_ERR_NONFINITE, "NaN in X",
                "row 2, column 1");
    cr_expect_null(ds);
    X[7] = 7.0f;
    Y[3] = INFINITY;
    expect_fail(ctx, clg_dataset_from_host(ctx, X, Y, 4, 3, 1, &ds), CLG_ERR_NONFINITE, "Inf in Y",
                "row 3, column 0");
    Y[3] = 3.0f;
    expect_fail(ctx, clg_dataset_from_host(ctx, X, Y, 0, 3, 1, &ds), CLG_ERR_SHAPE, "n = 0", NULL);
    expect_fail(ctx, clg_dataset_from_host(ctx, X, NULL, 4, 3, 1, &ds), CLG_ERR_INVALID_ARGUMENT,
                "NULL Y", NULL);
    clg_context_destroy(ctx);
}

Test(data, from_host_round_trip)
{
    clg_context *ctx = test_context();
    enum { N = 37, D = 5, Q = 3 };
    float X[N * D], Y[N * Q], X2[N * D], Y2[N * Q];
    for (int i = 0; i < N * D; i++) X[i] = (float)i * 0.37f - 11.0f;
    for (int i = 0; i < N * Q; i++) Y[i] = -(float)i * 1.5f + 0.25f;
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, N, D, Q, &ds));
    cr_expect_eq(clg_dataset_size(ds), (size_t)N);
    cr_expect_eq(clg_dataset_features(ds), (size_t)D);
    cr_expect_eq(clg_dataset_targets(ds), (size_t)Q);
    memset(X2, 0xff, sizeof X2);
    memset(Y2, 0xff, sizeof Y2);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X2, Y2));
    cr_expect_arr_eq(X, X2, sizeof X, "X round trip exact");
    cr_expect_arr_eq(Y, Y2, sizeof Y, "Y round trip exact");
    memset(Y2, 0xff, sizeof Y2);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, NULL, Y2));
    cr_expect_arr_eq(Y, Y2, sizeof Y, "Y alone round trip exact");
    cr_expect_eq(clg_dataset_download(NULL, X2, Y2), CLG_ERR_INVALID_ARGUMENT);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(NULL);
    clg_context_destroy(ctx);
}

/* Global sizes are rounded up to 64: the ops must not write past their extent.
 * Each buffer has a guard zone of sentinels after the part the op owns. */
enum { GUARD = 100 };
static const float SENTINEL = -12345.5f;

static cl_mem guarded(clg_context *ctx, size_t n)
{
    float *h = malloc((n + GUARD) * sizeof *h);
    for (size_t i = 0; i < n + GUARD; i++) h[i] = SENTINEL;
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              (n + GUARD) * sizeof *h, h, &err);
    cr_assert_eq(err, CL_SUCCESS);
    free(h);
    return m;
}

static void expect_guard_intact(clg_context *ctx, cl_mem m, size_t n, const char *what)
{
    float *h = malloc((n + GUARD) * sizeof *h);
    cr_assert_eq(
        clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, (n + GUARD) * sizeof *h, h, 0, NULL, NULL),
        CL_SUCCESS);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(h[i], SENTINEL, "%s: element %zu of %zu was not written", what, i, n);
    for (size_t i = n; i < n + GUARD; i++)
        cr_assert_eq(h[i], SENTINEL, "%s: guard element %zu (past %zu) was overwritten", what, i,
                     n);
    free(h);
}

Test(data, ops_stay_within_their_extent)
{
    clg_context *ctx = test_context();
    const size_t n = 67, d = 3; /* 201 elements, 67 rows: neither a multiple of 64 */
    const float w[3] = {1.0f, 2.0f, 3.0f};
    cl_int err;
    cl_mem wb =
        clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof w, (void *)w, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cl_mem X = guarded(ctx, n * d), y = guarded(ctx, n);
    CLG_OK_OR_FAIL(ctx, clg_op_synthetic_linear(ctx, X, y, wb, 0.5f, 0.1f, 0, n, d, 3));
    expect_guard_intact(ctx, X, n * d, "synthetic_linear X");
    expect_guard_intact(ctx, y, n, "synthetic_linear y");

    /* Gather rows 5..5+count of a reversed order from X into a guarded buffer. */
    uint32_t order[67];
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)(n - 1 - i);
    cl_mem ob =
        clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof order, order, &err);
    cr_assert_eq(err, CL_SUCCESS);
    const size_t count = 23, offset = 5;
    cl_mem dst = guarded(ctx, count * d);
    CLG_OK_OR_FAIL(ctx, clg_op_gather_rows(ctx, X, ob, offset, count, d, dst));
    expect_guard_intact(ctx, dst, count * d, "gather_rows");
    float src[201], got[69];
    cr_assert_eq(clEnqueueReadBuffer(ctx->queue, X, CL_TRUE, 0, sizeof src, src, 0, NULL, NULL),
                 CL_SUCCESS);
    cr_assert_eq(clEnqueueReadBuffer(ctx->queue, dst, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL),
                 CL_SUCCESS);
    for (size_t r = 0; r < count; r++)
        for (size_t c = 0; c < d; c++)
            cr_assert_eq(got[r * d + c], src[order[offset + r] * d + c],
                         "gather row %zu col %zu must be source row %u exactly", r, c,
                         order[offset + r]);
    clReleaseMemObject(wb);
    clReleaseMemObject(X);
    clReleaseMemObject(y);
    clReleaseMemObject(ob);
    clReleaseMemObject(dst);
    clg_context_destroy(ctx);
}
