/* Closed-form least squares: Gram matrix on the device (CLBlast), small solve on the host.
 *
 * Numerics. XᵀX accumulated in float32 loses about log10(1 + mean²/var) digits per column
 * when the columns are not centred (the d2l data are, real data often are not), so the
 * device first centres Z = [X | Y] by its column means m and the host solves for the
 * centred intercept: X·w + b = (X − 1·mᵀ)·w + (b + m_xᵀw). The shift m is whatever float
 * the device used, so the reparametrisation is exact; the centred column sums are formed
 * too (≈ 0, not assumed 0). The cost is one n×(d+q) workspace copy of the data.
 *
 * Singularity (decided on the host, in double, before and during Cholesky):
 *  - a feature whose centred sum of squares is <= 1e-10 of its raw sum of squares varies
 *    by less than ~1e-5 of its magnitude (about a hundred float32 ulps): numerically
 *    constant, hence collinear with the bias column;
 *  - a pivot <= sqrt(n)·FLT_EPSILON of its diagonal lies within the typical float32
 *    rounding of an n-term dot product, so the column is a combination of earlier ones.
 * The ridge enters both diagonals, so a ridge well above that rounding always passes. */
#include <clblast_c.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "solve.h"

#define CONST_COLUMN_TOL 1e-10

static clg_status blas_fail(const clg_context *ctx, CLBlastStatusCode st, const char *routine)
{
    return clg_fail(ctx, CLG_ERR_BLAS, "clg_solve_normal: %s failed with CLBlast status %d",
                    routine, (int)st);
}

/* Everything the host needs, in one device buffer so that one read fetches it:
 * [means (p)] [centred column sums (p)] [ZcᵀZc (p×p)], p = d + q. */
static clg_status device_moments(clg_context *ctx, const clg_dataset *ds, float *host)
{
    const size_t n = ds->n, d = ds->d, q = ds->q, p = d + q;
    cl_mem Z = NULL, ones = NULL, R = NULL;
    cl_command_queue queue = ctx->queue;
    CLBlastStatusCode st;
    cl_int err;
    clg_status s = clg_buffer_create(ctx, n * p * sizeof(float), "solve workspace [X|Y]", &Z);
    if (s == CLG_OK) s = clg_buffer_create(ctx, n * sizeof(float), "solve ones vector", &ones);
    if (s == CLG_OK)
        s = clg_buffer_create(ctx, (2 * p + p * p) * sizeof(float), "solve results", &R);
    if (s != CLG_OK) goto done;

    /* Z = [X | Y] with row pitch p, so one product yields XᵀX and XᵀY together. */
    const size_t zero3[3] = {0, 0, 0};
    const size_t xdst[3] = {0, 0, 0}, ydst[3] = {d * sizeof(float), 0, 0};
    const size_t xreg[3] = {d * sizeof(float), n, 1}, yreg[3] = {q * sizeof(float), n, 1};
    err = clEnqueueCopyBufferRect(queue, ds->X->mem, Z, zero3, xdst, xreg, d * sizeof(float), 0,
                                  p * sizeof(float), 0, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueCopyBufferRect(queue, ds->Y->mem, Z, zero3, ydst, yreg, q * sizeof(float), 0,
                                      p * sizeof(float), 0, 0, NULL, NULL);
    const float one = 1.0f, zero = 0.0f;
    if (err == CL_SUCCESS)
        err =
            clEnqueueFillBuffer(queue, ones, &one, sizeof one, 0, n * sizeof(float), 0, NULL, NULL);
    /* CLBlast computes beta·C even for beta = 0, so garbage NaNs in a fresh buffer would
     * survive: start from zeros. */
    if (err == CL_SUCCESS)
        err = clEnqueueFillBuffer(queue, R, &zero, sizeof zero, 0, (2 * p + p * p) * sizeof(float),
                                  0, NULL, NULL);
    if (err != CL_SUCCESS) {
        s = clg_fail_cl(ctx, err, "clg_solve_normal: staging [X|Y]");
        goto done;
    }

    st = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeYes, n, p, 1.0f / (float)n, Z, 0, p,
                      ones, 0, 1, 0.0f, R, 0, 1, &queue, NULL);
    if (st != CLBlastSuccess) {
        s = blas_fail(ctx, st, "CLBlastSgemv (column means)");
        goto done;
    }
    st =
        CLBlastSger(CLBlastLayoutRowMajor, n, p, -1.0f, ones, 0, 1, R, 0, 1, Z, 0, p, &queue, NULL);
    if (st != CLBlastSuccess) {
        s = blas_fail(ctx, st, "CLBlastSger (centring)");
        goto done;
    }
    st = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeYes, n, p, 1.0f, Z, 0, p, ones, 0, 1,
                      0.0f, R, p, 1, &queue, NULL);
    if (st != CLBlastSuccess) {
        s = blas_fail(ctx, st, "CLBlastSgemv (centred column sums)");
        goto done;
    }
    /* ZᵀZ by SGEMM on the context's scratch buffer rather than CLBlastSsyrk, which
     * allocates its own temporaries and aborts the process when that fails (gemm.c). */
    s = clg_gemm_clblast_at(ctx, 1, 0, p, p, n, Z, p, Z, p, 0.0f, R, 2 * p, p,
                            "clg_solve_normal (Z^T Z)");
    if (s != CLG_OK) goto done;
    err = clEnqueueReadBuffer(queue, R, CL_TRUE, 0, (2 * p + p * p) * sizeof(float), host, 0, NULL,
                              NULL);
    if (err != CL_SUCCESS) s = clg_fail_cl(ctx, err, "clg_solve_normal: clEnqueueReadBuffer");

done:
    /* A failed enqueue may leave commands that still use the buffers: drain first. */
    if (s != CLG_OK) clFinish(queue);
    if (Z) clReleaseMemObject(Z);
    if (ones) clReleaseMemObject(ones);
    if (R) clReleaseMemObject(R);
    return s;
}

/* The same moments for a streamed dataset (host-resident X, Y): the means in double on
 * the host (rounded to float, the exact shift used), then chunks of rows centred on the
 * host as the device does (one float subtraction), uploaded and accumulated into the
 * column sums and the Gram block (beta = 1). One upload buffer; each chunk's write waits
 * for the previous chunk's products (in-order queue), which is fine outside training. */
static clg_status streamed_moments(clg_context *ctx, const clg_dataset *ds, float *host)
{
    const size_t n = ds->n, d = ds->d, q = ds->q, p = d + q;
    size_t rows = ctx->cfg.solve_chunk_bytes / (p * sizeof(float));
    if (rows < 1) rows = 1;
    if (rows > n) rows = n;
    cl_mem Z = NULL, ones = NULL, R = NULL;
    cl_command_queue queue = ctx->queue;
    /* rows of X and Y read from host memory or a file (clg_dataset_read_rows), then [X|Y]
     * centred for the upload */
    float *stage = malloc(rows * p * sizeof *stage), *hx = malloc(rows * d * sizeof *hx);
    float *hy = malloc(rows * q * sizeof *hy);
    double *mean = calloc(p, sizeof *mean);
    if (!stage || !mean || !hx || !hy) {
        free(stage), free(mean), free(hx), free(hy);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_solve_normal: out of host memory");
    }
    clg_status s = CLG_OK;
    for (size_t r0 = 0; s == CLG_OK && r0 < n; r0 += rows) {
        const size_t k = n - r0 < rows ? n - r0 : rows;
        s = clg_dataset_read_rows(ds, r0, k, hx, hy);
        for (size_t i = 0; s == CLG_OK && i < k; i++) {
            for (size_t j = 0; j < d; j++) mean[j] += hx[i * d + j];
            for (size_t c = 0; c < q; c++) mean[d + c] += hy[i * q + c];
        }
    }
    for (size_t j = 0; j < p; j++) host[j] = (float)(mean[j] / (double)n);
    if (s == CLG_OK) s = clg_buffer_create(ctx, rows * p * sizeof(float), "solve chunk [X|Y]", &Z);
    if (s == CLG_OK) s = clg_buffer_create(ctx, rows * sizeof(float), "solve ones vector", &ones);
    if (s == CLG_OK)
        s = clg_buffer_create(ctx, (2 * p + p * p) * sizeof(float), "solve results", &R);
    const float one = 1.0f, zero = 0.0f;
    cl_int err = CL_SUCCESS;
    if (s == CLG_OK)
        err = clEnqueueFillBuffer(queue, ones, &one, sizeof one, 0, rows * sizeof(float), 0, NULL,
                                  NULL);
    if (s == CLG_OK && err == CL_SUCCESS)
        err = clEnqueueFillBuffer(queue, R, &zero, sizeof zero, 0, (2 * p + p * p) * sizeof(float),
                                  0, NULL, NULL);
    if (s == CLG_OK && err != CL_SUCCESS) s = clg_fail_cl(ctx, err, "clg_solve_normal: staging");
    for (size_t r0 = 0; s == CLG_OK && r0 < n; r0 += rows) {
        const size_t k = n - r0 < rows ? n - r0 : rows;
        if ((s = clg_dataset_read_rows(ds, r0, k, hx, hy)) != CLG_OK) break;
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < d; j++) stage[i * p + j] = hx[i * d + j] - host[j];
            for (size_t c = 0; c < q; c++) stage[i * p + d + c] = hy[i * q + c] - host[d + c];
        }
        err =
            clEnqueueWriteBuffer(queue, Z, CL_TRUE, 0, k * p * sizeof(float), stage, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            s = clg_fail_cl(ctx, err, "clg_solve_normal: uploading rows");
            break;
        }
        CLBlastStatusCode st = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeYes, k, p, 1.0f,
                                            Z, 0, p, ones, 0, 1, 1.0f, R, p, 1, &queue, NULL);
        if (st != CLBlastSuccess) {
            s = blas_fail(ctx, st, "CLBlastSgemv (centred column sums)");
            break;
        }
        s = clg_gemm_clblast_at(ctx, 1, 0, p, p, k, Z, p, Z, p, 1.0f, R, 2 * p, p,
                                "clg_solve_normal (Z^T Z)");
    }
    if (s == CLG_OK) {
        err = clEnqueueReadBuffer(queue, R, CL_TRUE, p * sizeof(float), (p + p * p) * sizeof(float),
                                  host + p, 0, NULL, NULL);
        if (err != CL_SUCCESS) s = clg_fail_cl(ctx, err, "clg_solve_normal: clEnqueueReadBuffer");
    }
    if (s != CLG_OK) clFinish(queue);
    if (Z) clReleaseMemObject(Z);
    if (ones) clReleaseMemObject(ones);
    if (R) clReleaseMemObject(R);
    free(stage), free(mean), free(hx), free(hy);
    return s;
}

/* In-place lower Cholesky of the P×P matrix A (row-major, lower triangle used). */
static clg_status cholesky(const clg_context *ctx, double *A, size_t P, size_t n)
{
    const double tol = sqrt((double)n) * FLT_EPSILON;
    for (size_t k = 0; k < P; k++) {
        double diag = A[k * P + k], piv = diag;
        for (size_t j = 0; j < k; j++) piv -= A[k * P + j] * A[k * P + j];
        if (!(piv > tol * diag)) {
            if (k == 0)
                return clg_fail(ctx, CLG_ERR_SINGULAR,
                                "clg_solve_normal: the system is singular at the bias column");
            return clg_fail(ctx, CLG_ERR_SINGULAR,
                            "clg_solve_normal: X^T X is singular: feature column %zu is a linear "
                            "combination of the bias and earlier columns (pivot %.3g, %.3g of its "
                            "diagonal, threshold %.3g); drop the column or use ridge > 0",
                            k - 1, piv, diag > 0 ? piv / diag : 0.0, tol);
        }
        double l = sqrt(piv);
        A[k * P + k] = l;
        for (size_t i = k + 1; i < P; i++) {
            double v = A[i * P + k];
            for (size_t j = 0; j < k; j++) v -= A[i * P + j] * A[k * P + j];
            A[i * P + k] = v / l;
        }
    }
    return CLG_OK;
}

/* Solves L·Lᵀ·x = r in place. */
static void cholesky_solve(const double *L, size_t P, double *r)
{
    for (size_t i = 0; i < P; i++) {
        double v = r[i];
        for (size_t j = 0; j < i; j++) v -= L[i * P + j] * r[j];
        r[i] = v / L[i * P + i];
    }
    for (size_t i = P; i-- > 0;) {
        double v = r[i];
        for (size_t j = i + 1; j < P; j++) v -= L[j * P + i] * r[j];
        r[i] = v / L[i * P + i];
    }
}

clg_status clg_solve_normal(clg_context *ctx, const clg_dataset *ds, double ridge, float *w,
                            float *b)
{
    if (!ctx || !ds || !w || !b)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_solve_normal: NULL argument");
    if (ds->ctx != ctx)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_solve_normal: the dataset belongs to another context");
    if (!isfinite(ridge) || ridge < 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_solve_normal: ridge must be finite and >= 0, got %g", ridge);
    const size_t n = ds->n, d = ds->d, q = ds->q, p = d + q, P = d + 1;
    if (n < 1 || d < 1 || q < 1)
        return clg_fail(ctx, CLG_ERR_SHAPE, "clg_solve_normal: dataset shape n=%zu d=%zu q=%zu", n,
                        d, q);

    float *mom = malloc((2 * p + p * p) * sizeof *mom);
    double *A = malloc(P * P * sizeof *A), *rhs = malloc(P * q * sizeof *rhs);
    clg_status s = CLG_OK;
    if (!mom || !A || !rhs) {
        s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_solve_normal: out of host memory");
        goto done;
    }
    s = ds->streamed ? streamed_moments(ctx, ds, mom) : device_moments(ctx, ds, mom);
    if (s != CLG_OK) goto done;
    for (size_t i = 0; i < 2 * p + p * p; i++) {
        /* The upper triangle of the Gram block is what the solve uses. */
        if (i >= 2 * p && (i - 2 * p) % p < (i - 2 * p) / p) continue;
        if (!isfinite(mom[i])) {
            s = clg_fail(ctx, CLG_ERR_NONFINITE,
                         "clg_solve_normal: column moments overflow float32 (values too large)");
            goto done;
        }
    }
    const float *m = mom, *csum = mom + p, *G = mom + 2 * p;

    /* Unknowns: index 0 the centred bias, 1..d the weights (the bias goes first so that a
     * collinear feature, not the bias, is named). Only the lower triangle is filled. */
    A[0] = (double)n;
    for (size_t i = 0; i < d; i++) {
        A[(i + 1) * P] = csum[i];
        for (size_t j = 0; j <= i; j++) A[(i + 1) * P + j + 1] = G[j * p + i];
        A[(i + 1) * P + i + 1] += ridge;
        double centred = A[(i + 1) * P + i + 1];
        double raw = (double)G[i * p + i] + (double)n * m[i] * m[i] + ridge;
        if (!(centred > CONST_COLUMN_TOL * raw)) {
            s = clg_fail(ctx, CLG_ERR_SINGULAR,
                         "clg_solve_normal: X^T X is singular: feature column %zu is constant "
                         "(value %g), collinear with the bias; drop it or use ridge > 0",
                         i, (double)m[i]);
            goto done;
        }
    }
    for (size_t c = 0; c < q; c++) {
        rhs[c * P] = csum[d + c];
        for (size_t i = 0; i < d; i++) rhs[c * P + i + 1] = G[i * p + d + c];
    }
    s = cholesky(ctx, A, P, n);
    if (s != CLG_OK) goto done;

    /* Solve every right-hand side before writing, so a failure leaves w and b untouched.
     * x[0] becomes the uncentred bias. */
    for (size_t c = 0; c < q; c++) {
        double *x = rhs + c * P;
        cholesky_solve(A, P, x);
        x[0] += m[d + c];
        for (size_t i = 0; i < d; i++) x[0] -= (double)m[i] * x[i + 1];
        for (size_t i = 0; i < P; i++)
            if (!isfinite((float)x[i])) {
                s = clg_fail(ctx, CLG_ERR_NONFINITE,
                             "clg_solve_normal: the %s of output %zu is not finite in float32",
                             i == 0 ? "bias" : "weight", c);
                goto done;
            }
    }
    for (size_t c = 0; c < q; c++) {
        b[c] = (float)rhs[c * P];
        for (size_t i = 0; i < d; i++) w[i * q + c] = (float)rhs[c * P + i + 1];
    }

done:
    free(mom);
    free(A);
    free(rhs);
    return s;
}
