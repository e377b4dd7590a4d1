/* d2l's synthetic_data generated on the device (kernel wrapper: ops/data.c). */
#include <math.h>
#include <stdint.h>

#include "data.h"

/* A streamed synthetic dataset: chunks of rows drawn on the device (the same kernel,
 * so the same floats as a device dataset of the same seed) and read into host memory. */
static clg_status synthetic_streamed(clg_context *ctx, clg_dataset *ds, cl_mem wbuf, float b,
                                     float noise, uint64_t seed)
{
    const size_t n = ds->n, d = ds->d;
    size_t rows = ctx->cfg.synthetic_chunk_bytes / ((d + 1) * sizeof(float));
    if (rows < 1) rows = 1;
    if (rows > n) rows = n;
    cl_mem X = NULL, y = NULL;
    clg_status s = clg_buffer_create(ctx, rows * d * sizeof(float), "synthetic chunk X", &X);
    if (s == CLG_OK) s = clg_buffer_create(ctx, rows * sizeof(float), "synthetic chunk y", &y);
    for (size_t r0 = 0; s == CLG_OK && r0 < n; r0 += rows) {
        const size_t k = n - r0 < rows ? n - r0 : rows;
        s = clg_op_synthetic_linear(ctx, X, y, wbuf, b, noise, r0, k, d, seed);
        cl_int err = CL_SUCCESS;
        if (s == CLG_OK)
            err = clEnqueueReadBuffer(ctx->queue, X, CL_FALSE, 0, k * d * sizeof(float),
                                      ds->hX + r0 * d, 0, NULL, NULL);
        if (s == CLG_OK && err == CL_SUCCESS)
            err = clEnqueueReadBuffer(ctx->queue, y, CL_TRUE, 0, k * sizeof(float), ds->hY + r0, 0,
                                      NULL, NULL);
        if (s == CLG_OK && err != CL_SUCCESS)
            s = clg_fail_cl(ctx, err, "clEnqueueReadBuffer(synthetic rows)");
    }
    if (s != CLG_OK) clFinish(ctx->queue);
    if (X) clReleaseMemObject(X);
    if (y) clReleaseMemObject(y);
    return s;
}

clg_status clg_dataset_synthetic_linear(clg_context *ctx, size_t n, const float *w, size_t d,
                                        float b, float noise, uint64_t seed, clg_dataset **out)
{
    if (!ctx || !w || !out)
        return clg_fail(
            ctx, CLG_ERR_INVALID_ARGUMENT,
            "clg_dataset_synthetic_linear: NULL argument (ctx, w and out are required)");
    *out = NULL;
    if (n == 0 || d == 0)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "clg_dataset_synthetic_linear: n=%zu and d=%zu must both be at least 1", n,
                        d);
    if (d > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_SHAPE, "clg_dataset_synthetic_linear: d=%zu exceeds 2^32-1",
                        d);
    for (size_t j = 0; j < d; j++)
        if (!isfinite(w[j]))
            return clg_fail(ctx, CLG_ERR_NONFINITE,
                            "clg_dataset_synthetic_linear: w[%zu] is not finite (%g)", j,
                            (double)w[j]);
    if (!isfinite(b))
        return clg_fail(ctx, CLG_ERR_NONFINITE,
                        "clg_dataset_synthetic_linear: b is not finite (%g)", (double)b);
    if (!isfinite(noise))
        return clg_fail(ctx, CLG_ERR_NONFINITE,
                        "clg_dataset_synthetic_linear: noise is not finite (%g)", (double)noise);
    if (noise < 0.0f)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_dataset_synthetic_linear: noise must be >= 0 (a standard deviation), "
                        "got %g",
                        (double)noise);

    clg_dataset *ds;
    int stream = 0;
    clg_status s = clg_dataset_decide_streaming(ctx, n, d, 1, &stream);
    if (s == CLG_OK)
        s = stream ? clg_dataset_alloc_host(ctx, n, d, 1, &ds)
                   : clg_dataset_alloc(ctx, n, d, 1, &ds);
    if (s != CLG_OK) return s;
    cl_mem wbuf = NULL;
    s = clg_check_alloc(ctx, d * sizeof(float), "synthetic_linear weights");
    if (s == CLG_OK) {
        /* COPY_HOST_PTR copies now, so w is the caller's again when we return. */
        cl_int err;
        wbuf = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, d * sizeof(float),
                              (void *)w, &err);
        if (err != CL_SUCCESS)
            s = clg_fail_cl(ctx, err, "clCreateBuffer(synthetic_linear weights)");
    }
    if (s == CLG_OK && stream)
        s = synthetic_streamed(ctx, ds, wbuf, b, noise, seed);
    else if (s == CLG_OK)
        s = clg_op_synthetic_linear(ctx, ds->X->mem, ds->Y->mem, wbuf, b, noise, 0, n, d, seed);
    /* Release is deferred by OpenCL until the enqueued kernel no longer uses it. */
    if (wbuf) clReleaseMemObject(wbuf);
    if (s != CLG_OK) {
        clg_dataset_destroy(ds);
        return s;
    }
    *out = ds;
    return CLG_OK;
}
