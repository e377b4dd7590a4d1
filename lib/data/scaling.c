/* Feature statistics and standardization of a dataset (sklearn's StandardScaler: fit on the
 * training set, transform it and the test set with the same mean and scale). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define STATS_CHUNK_BYTES ((size_t)1 << 20) /* rows read per chunk of a device dataset */

const char *clg_scaling_invalid(const float *mean, const float *scale, size_t d)
{
    for (size_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]) || !isfinite(scale[j])) return "a non-finite mean or scale";
        if (!(scale[j] >= FLT_MIN)) return "a scale that is not > 0 (or below FLT_MIN)";
    }
    return NULL;
}

/* Calls f on consecutive blocks of rows of X (host rows; device datasets are read in
 * chunks; file-streamed ones chunk by chunk, into buf of chunk_rows × (d + q) floats). */
static clg_status each_block(const clg_dataset *ds, float *buf, size_t chunk,
                             void (*f)(const float *rows, size_t n, size_t d, double *acc,
                                       const double *mean),
                             double *acc, const double *mean)
{
    if (ds->file) {
        const size_t C = clg_dataset_chunk_rows(ds);
        for (size_t k = 0; k * C < ds->n; k++) {
            size_t n;
            clg_status s = clg_stream_read_chunk(ds, k, buf, buf + C * ds->d, &n);
            if (s != CLG_OK) return s;
            f(buf, n, ds->d, acc, mean);
        }
        return CLG_OK;
    }
    if (ds->streamed) {
        f(ds->hX, ds->n, ds->d, acc, mean);
        return CLG_OK;
    }
    for (size_t r = 0; r < ds->n; r += chunk) {
        size_t n = ds->n - r < chunk ? ds->n - r : chunk;
        cl_int err =
            clEnqueueReadBuffer(ds->ctx->queue, ds->X->mem, CL_TRUE, r * ds->d * sizeof(float),
                                n * ds->d * sizeof(float), buf, 0, NULL, NULL);
        if (err != CL_SUCCESS) return clg_fail_cl(ds->ctx, err, "clEnqueueReadBuffer(features)");
        f(buf, n, ds->d, acc, mean);
    }
    return CLG_OK;
}

static void add_sums(const float *x, size_t n, size_t d, double *acc, const double *mean)
{
    (void)mean;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) acc[j] += x[i * d + j];
}

static void add_squares(const float *x, size_t n, size_t d, double *acc, const double *mean)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = x[i * d + j] - mean[j];
            acc[j] += v * v;
        }
}

clg_status clg_dataset_feature_stats(const clg_dataset *ds, float *mean, float *scale)
{
    const char *op = "clg_dataset_feature_stats";
    if (!ds || !mean || !scale)
        return clg_fail(ds ? ds->ctx : NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    const size_t d = ds->d, chunk = STATS_CHUNK_BYTES / (d * sizeof(float)) + 1;
    double *sum = calloc(d, sizeof *sum), *sq = calloc(d, sizeof *sq);
    /* Host-streamed: none; file-streamed: one chunk of X and Y; device: chunk rows of X. */
    const size_t floats = ds->file       ? clg_dataset_chunk_rows(ds) * (d + ds->q)
                          : ds->streamed ? 0
                                         : chunk * d;
    float *buf = floats ? malloc(floats * sizeof *buf) : NULL;
    clg_status s = CLG_OK;
    if (!sum || !sq || (floats && !buf))
        s = clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    if (s == CLG_OK) s = each_block(ds, buf, chunk, add_sums, sum, NULL);
    for (size_t j = 0; s == CLG_OK && j < d; j++) sum[j] /= (double)ds->n;
    if (s == CLG_OK) s = each_block(ds, buf, chunk, add_squares, sq, sum);
    for (size_t j = 0; s == CLG_OK && j < d; j++) {
        double sd = sqrt(sq[j] / (double)ds->n); /* population: ddof 0, as sklearn */
        mean[j] = (float)sum[j];
        scale[j] = sd > 0 && isfinite(sd) && (float)sd > 0 ? (float)sd : 1.0f; /* constant: 1 */
    }
    free(sum);
    free(sq);
    free(buf);
    return s;
}

clg_status clg_dataset_standardize(clg_dataset *ds, const float *mean, const float *scale)
{
    const char *op = "clg_dataset_standardize";
    if (!ds || !mean || !scale)
        return clg_fail(ds ? ds->ctx : NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    const char *why = clg_scaling_invalid(mean, scale, ds->d);
    if (why) return clg_fail(ds->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: %s", op, why);
    const size_t n = ds->n, d = ds->d;
    if (ds->file) return clg_stream_standardize(ds, mean, scale); /* applied as rows are read */
    if (ds->streamed) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                ds->hX[i * d + j] = (ds->hX[i * d + j] - mean[j]) / scale[j];
        return CLG_OK;
    }
    cl_int err;
    cl_mem m = clCreateBuffer(ds->ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              d * sizeof(float), (void *)mean, &err);
    if (err != CL_SUCCESS) return clg_fail_cl(ds->ctx, err, "clCreateBuffer(mean)");
    cl_mem sc = clCreateBuffer(ds->ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               d * sizeof(float), (void *)scale, &err);
    clg_status s = err == CL_SUCCESS ? CLG_OK : clg_fail_cl(ds->ctx, err, "clCreateBuffer(scale)");
    if (s == CLG_OK) s = clg_op_scale_columns(ds->ctx, ds->X->mem, m, sc, n, d, ds->X->mem);
    clReleaseMemObject(m); /* freed once the enqueued kernel is done */
    if (sc) clReleaseMemObject(sc);
    return s;
}
