/* Closed-form least squares against the true parameters and a float64 host solve
 * (Gaussian elimination with partial pivoting, a different method from the library's
 * Cholesky); ridge, rank deficiency and argument errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* splitmix64 + Box–Muller: a host generator independent of the library's Philox. */
static uint64_t rng_state;
static double rng_u01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_u01())) * cos(6.283185307179586 * rng_u01());
}

/* X (n×d) ~ N(offset_j, 1), Y = X·W + b + N(0, noise²) with W (d×q) and b (q) drawn too. */
static void make_data(size_t n, size_t d, size_t q, double noise, float *X, float *Y, double *W,
                      double *b)
{
    for (size_t i = 0; i < d * q; i++) W[i] = rng_normal();
    for (size_t c = 0; c < q; c++) b[c] = 3.0 * rng_normal();
    for (size_t r = 0; r < n; r++) {
        /* Column means up to ±5 (mean²/var up to 25) exercise the device-side centring. */
        for (size_t j = 0; j < d; j++) X[r * d + j] = (float)(rng_normal() + 5.0 * sin((double)j));
        for (size_t c = 0; c < q; c++) {
            double v = b[c] + noise * rng_normal();
            for (size_t j = 0; j < d; j++) v += (double)X[r * d + j] * W[j * q + c];
            Y[r * q + c] = (float)v;
        }
    }
}

/* Float64 reference: [XᵀX + λI, Xᵀ1; 1ᵀX, n]·[w; b] = [XᵀY; 1ᵀY] by Gaussian elimination
 * with partial pivoting. w is d×q, b is q. */
static void host_solve(const float *X, const float *Y, size_t n, size_t d, size_t q, double ridge,
                       double *w, double *b)
{
    size_t P = d + 1, C = P + q; /* augmented matrix P × (P + q) */
    double *M = calloc(P * C, sizeof *M);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < P; i++) {
            double xi = i < d ? X[r * d + i] : 1.0;
            for (size_t j = 0; j < P; j++) M[i * C + j] += xi * (j < d ? X[r * d + j] : 1.0);
            for (size_t c = 0; c < q; c++) M[i * C + P + c] += xi * Y[r * q + c];
        }
    for (size_t i = 0; i < d; i++) M[i * C + i] += ridge;
    for (size_t k = 0; k < P; k++) {
        size_t piv = k;
        for (size_t i = k + 1; i < P; i++)
            if (fabs(M[i * C + k]) > fabs(M[piv * C + k])) piv = i;
        for (size_t j = 0; j < C; j++) {
            double t = M[k * C + j];
            M[k * C + j] = M[piv * C + j];
            M[piv * C + j] = t;
        }
        for (size_t i = k + 1; i < P; i++) {
            double f = M[i * C + k] / M[k * C + k];
            for (size_t j = k; j < C; j++) M[i * C + j] -= f * M[k * C + j];
        }
    }
    for (size_t c = 0; c < q; c++)
        for (size_t i = P; i-- > 0;) {
            double v = M[i * C + P + c];
            for (size_t j = i + 1; j < P; j++) v -= M[i * C + j] * (j < d ? w[j * q + c] : b[c]);
            v /= M[i * C + i];
            if (i < d)
                w[i * q + c] = v;
            else
                b[c] = v;
        }
    free(M);
}

#define GUARD 8
#define SENTINEL 12345.0f

/* Solves on the device; checks the guard zone after w and b stays untouched. */
static clg_status device_solve(clg_context *ctx, const float *X, const float *Y, size_t n, size_t d,
                               size_t q, double ridge, float *w, float *b)
{
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, d, q, &ds));
    for (size_t i = 0; i < GUARD; i++) w[d * q + i] = b[q + i] = SENTINEL;
    clg_status s = clg_solve_normal(ctx, ds, ridge, w, b);
    for (size_t i = 0; i < GUARD; i++)
        cr_assert(w[d * q + i] == SENTINEL && b[q + i] == SENTINEL, "write past w or b");
    clg_dataset_destroy(ds);
    return s;
}

static void compare_with_host(clg_context *ctx, size_t n, size_t d, size_t q, double ridge)
{
    const double tol = 1e-4;
    float *X = malloc(n * d * sizeof *X), *Y = malloc(n * q * sizeof *Y);
    float *w = malloc((d * q + GUARD) * sizeof *w), *b = malloc((q + GUARD) * sizeof *b);
    double *Wt = malloc(d * q * sizeof *Wt), bt[3], *wr = malloc(d * q * sizeof *wr), br[3];
    make_data(n, d, q, 0.1, X, Y, Wt, bt);
    host_solve(X, Y, n, d, q, ridge, wr, br);
    CLG_OK_OR_FAIL(ctx, device_solve(ctx, X, Y, n, d, q, ridge, w, b));
    double err = 0;
    for (size_t i = 0; i < d * q; i++) err = fmax(err, fabs(w[i] - wr[i]));
    for (size_t c = 0; c < q; c++) err = fmax(err, fabs(b[c] - br[c]));
    printf("solve n=%zu d=%zu q=%zu ridge=%g: max |device - float64 host| = %.2e (tol %.0e)\n", n,
           d, q, ridge, err, tol);
    cr_expect(err <= tol, "n=%zu d=%zu q=%zu ridge=%g: max error %.3e > %.0e", n, d, q, ridge, err,
              tol);
    free(X), free(Y), free(w), free(b), free(Wt), free(wr);
}

Test(solve, d2l_true_parameters)
{
    clg_context *ctx = test_context();
    const size_t n = 1000, d = 2;
    const double wt[2] = {2.0, -3.4}, bt = 4.2, tol = 1e-3;
    float X[2000], Y[1000], w[2 + GUARD], b[1 + GUARD];
    rng_state = 42;
    for (size_t r = 0; r < n; r++) {
        X[2 * r] = (float)rng_normal();
        X[2 * r + 1] = (float)rng_normal();
        Y[r] = (float)(X[2 * r] * wt[0] + X[2 * r + 1] * wt[1] + bt + 0.01 * rng_normal());
    }
    CLG_OK_OR_FAIL(ctx, device_solve(ctx, X, Y, n, d, 1, 0.0, w, b));
    printf("d2l closed form: w = [%.5f, %.5f], b = %.5f (tol %.0e)\n", w[0], w[1], b[0], tol);
    cr_expect(fabs(w[0] - wt[0]) <= tol && fabs(w[1] - wt[1]) <= tol, "w = [%g, %g]", w[0], w[1]);
    cr_expect(fabs(b[0] - bt) <= tol, "b = %g", b[0]);
    clg_context_destroy(ctx);
}

Test(solve, matches_float64_host_solve)
{
    clg_context *ctx = test_context();
    rng_state = 7;
    const size_t ds[3] = {5, 17, 64};
    for (size_t i = 0; i < 3; i++) {
        compare_with_host(ctx, 1013, ds[i], 1, 0.0);
        compare_with_host(ctx, 1013, ds[i], 3, 0.0);
    }
    clg_context_destroy(ctx);
}

Test(solve, ridge_matches_float64_host_solve_with_unpenalised_bias)
{
    clg_context *ctx = test_context();
    rng_state = 11;
    compare_with_host(ctx, 501, 5, 1, 5.0);
    compare_with_host(ctx, 777, 17, 3, 250.0);
    clg_context_destroy(ctx);
}

/* X with a column copied from another (dup) or set constant, y from the rest. */
static void deficient_data(size_t n, size_t d, int constant, float *X, float *Y)
{
    for (size_t r = 0; r < n; r++) {
        double y = 1.0;
        for (size_t j = 0; j < d; j++) {
            X[r * d + j] = (float)rng_normal();
            y += (double)(j + 1) * X[r * d + j];
        }
        X[r * d + 2] = constant ? 1.5f : X[r * d + 0];
        Y[r] = (float)(y + 0.01 * rng_normal());
    }
}

Test(solve, rank_deficient_is_singular_and_ridge_fixes_it)
{
    clg_context *ctx = test_context();
    const size_t n = 999, d = 4;
    float X[999 * 4], Y[999], w[4 + GUARD], b[1 + GUARD];
    double wr[4], br[1];
    rng_state = 3;
    for (int constant = 0; constant <= 1; constant++) {
        deficient_data(n, d, constant, X, Y);
        for (size_t i = 0; i < d; i++) w[i] = -7.0f;
        b[0] = -7.0f;
        cr_expect_eq(device_solve(ctx, X, Y, n, d, 1, 0.0, w, b), CLG_ERR_SINGULAR);
        const char *msg = clg_last_error(ctx);
        cr_expect(strstr(msg, "column 2") && strstr(msg, constant ? "constant" : "combination"),
                  "message names column 2: %s", msg);
        cr_expect(w[0] == -7.0f && w[3] == -7.0f && b[0] == -7.0f, "outputs untouched on error");

        const double tol = 1e-4;
        CLG_OK_OR_FAIL(ctx, device_solve(ctx, X, Y, n, d, 1, 0.1, w, b));
        host_solve(X, Y, n, d, 1, 0.1, wr, br);
        double err = fabs(b[0] - br[0]);
        for (size_t i = 0; i < d; i++) err = fmax(err, fabs(w[i] - wr[i]));
        printf("%s column, ridge 0.1: max |device - float64 host| = %.2e (tol %.0e)\n",
               constant ? "constant" : "duplicate", err, tol);
        cr_expect(err <= tol, "ridge 0.1 error %.3e", err);
    }
    clg_context_destroy(ctx);
}

Test(solve, argument_errors)
{
    clg_context *ctx = test_context();
    float X[6] = {1, 2, 3, 4, 5, 7}, Y[3] = {1, 2, 4}, w[2] = {9, 9}, b[1] = {9};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 3, 2, 1, &ds));
    cr_expect_eq(clg_solve_normal(NULL, ds, 0.0, w, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_solve_normal(ctx, NULL, 0.0, w, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_solve_normal(ctx, ds, 0.0, NULL, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_solve_normal(ctx, ds, 0.0, w, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_solve_normal(ctx, ds, -0.5, w, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(clg_last_error(ctx), "ridge"), "%s", clg_last_error(ctx));
    cr_expect_eq(clg_solve_normal(ctx, ds, NAN, w, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_solve_normal(ctx, ds, INFINITY, w, b), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(w[0] == 9 && w[1] == 9 && b[0] == 9, "outputs untouched on error");

    /* Three points, three unknowns: an exact fit. y = 1 + 0·x0 + ... solved exactly. */
    const double tol = 1e-3;
    CLG_OK_OR_FAIL(ctx, clg_solve_normal(ctx, ds, 0.0, w, b));
    for (int r = 0; r < 3; r++) {
        double fit = X[2 * r] * w[0] + X[2 * r + 1] * w[1] + b[0];
        cr_expect(fabs(fit - Y[r]) <= tol, "row %d: fit %g vs %g (tol %.0e)", r, fit, Y[r], tol);
    }

    clg_context *other = test_context();
    cr_expect_eq(clg_solve_normal(other, ds, 0.0, w, b), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(other);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(solve, overflowing_moments_are_nonfinite)
{
    clg_context *ctx = test_context();
    float X[64], Y[32], w[2], b[1];
    rng_state = 5;
    for (int i = 0; i < 64; i++) X[i] = (float)(1e25 * rng_normal());
    for (int i = 0; i < 32; i++) Y[i] = (float)rng_normal();
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 32, 2, 1, &ds));
    cr_expect_eq(clg_solve_normal(ctx, ds, 0.0, w, b), CLG_ERR_NONFINITE);
    cr_expect(strstr(clg_last_error(ctx), "float32"), "%s", clg_last_error(ctx));
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* A file-streamed CSV (chunks of 97 rows, and the default) solves from the file chunk by
 * chunk, with the same bits as the host-streamed dataset of the same rows (one code path,
 * the same sums) and within 1e-4 of the float64 host solve. */
Test(solve, file_streamed_data_solves_from_the_file)
{
    clg_context *ctx = test_context();
    enum { N = 1013, D = 5 };
    static float X[N * D], Y[N];
    double W[D], b0[1];
    rng_state = 11;
    make_data(N, D, 1, 0.01, X, Y, W, b0);
    char path[512];
    snprintf(path, sizeof path, "%s/solve.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t r = 0; r < N; r++) {
        for (size_t j = 0; j < D; j++) fprintf(f, "%.9g,", (double)X[r * D + j]);
        fprintf(f, "%.9g\n", (double)Y[r]);
    }
    fclose(f);
    clg_dataset *host;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv(ctx, path, NULL, &host));
    CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(host, 1));
    float wh[D], bh[1];
    CLG_OK_OR_FAIL(ctx, clg_solve_normal(ctx, host, 0.0, wh, bh));
    double wr[D], br[1];
    host_solve(X, Y, N, D, 1, 0.0, wr, br);
    /* 10^8 rows a chunk: more than the file has (the buffer is sized by the rows) */
    const size_t chunks[3] = {97, 0, 100000000};
    for (int k = 0; k < 3; k++) {
        clg_stream_options so = clg_stream_defaults();
        so.chunk_rows = chunks[k];
        clg_dataset *file;
        CLG_OK_OR_FAIL(ctx, clg_dataset_stream_csv(ctx, path, NULL, 0, &so, &file, NULL));
        cr_assert_eq(clg_dataset_storage(file), CLG_STORAGE_FILE);
        float w[D], b[1];
        CLG_OK_OR_FAIL(ctx, clg_solve_normal(ctx, file, 0.0, w, b));
        cr_expect(memcmp(w, wh, sizeof w) == 0 && b[0] == bh[0],
                  "chunks of %zu: file-streamed solve differs from the host-streamed one",
                  chunks[k]);
        for (size_t j = 0; j < D; j++)
            cr_expect(fabs(w[j] - wr[j]) <= 1e-4 * (1 + fabs(wr[j])), "w[%zu] %g, float64 %g", j,
                      (double)w[j], wr[j]);
        clg_dataset_destroy(file);
    }
    remove(path);
    clg_dataset_destroy(host);
    clg_context_destroy(ctx);
}
