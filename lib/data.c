/* Datasets: device-resident X (n×d) and Y (n×q), from host arrays or generated. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

static clg_status check_finite(const clg_context *ctx, const char *what, const float *a, size_t n,
                               size_t cols)
{
    for (size_t i = 0; i < n * cols; i++)
        if (!isfinite(a[i]))
            return clg_fail(ctx, CLG_ERR_NONFINITE, "%s has a non-finite value (%g) at row %zu, column %zu",
                            what, (double)a[i], i / cols, i % cols);
    return CLG_OK;
}

/* Allocates an empty dataset with device tensors of the right shapes. */
clg_status clg_dataset_alloc(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out)
{
    if (!ctx || !out) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "dataset: NULL argument");
    *out = NULL;
    if (n == 0 || d == 0 || q == 0)
        return clg_fail(ctx, CLG_ERR_SHAPE, "dataset shape n=%zu d=%zu q=%zu has a zero dimension", n,
                        d, q);
    if (n > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_SHAPE, "dataset of %zu samples exceeds 2^32-1", n);
    clg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "dataset: out of host memory");
    ds->ctx = ctx;
    ds->n = n;
    ds->d = d;
    ds->q = q;
    clg_status s = clg_tensor_create(ctx, n, d, &ds->X);
    if (s == CLG_OK) s = clg_tensor_create(ctx, n, q, &ds->Y);
    if (s != CLG_OK) {
        clg_dataset_destroy(ds);
        return s;
    }
    *out = ds;
    return CLG_OK;
}

clg_status clg_dataset_from_host(clg_context *ctx, const float *X, const float *Y, size_t n,
                                 size_t d, size_t q, clg_dataset **out)
{
    if (!ctx || !X || !Y || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_from_host: NULL argument");
    *out = NULL;
    if (n && d && q) {
        clg_status s = check_finite(ctx, "X", X, n, d);
        if (s == CLG_OK) s = check_finite(ctx, "Y", Y, n, q);
        if (s != CLG_OK) return s;
    }
    clg_dataset *ds;
    clg_status s = clg_dataset_alloc(ctx, n, d, q, &ds);
    if (s == CLG_OK) s = clg_tensor_upload(ds->X, X, n, d);
    if (s == CLG_OK) s = clg_tensor_upload(ds->Y, Y, n, q);
    if (s != CLG_OK) {
        clg_dataset_destroy(ds);
        return s;
    }
    *out = ds;
    return CLG_OK;
}

void clg_dataset_destroy(clg_dataset *ds)
{
    if (!ds) return;
    clg_tensor_destroy(ds->X);
    clg_tensor_destroy(ds->Y);
    free(ds);
}

size_t clg_dataset_size(const clg_dataset *ds) { return ds ? ds->n : 0; }
size_t clg_dataset_features(const clg_dataset *ds) { return ds ? ds->d : 0; }
size_t clg_dataset_targets(const clg_dataset *ds) { return ds ? ds->q : 0; }
const clg_tensor *clg_dataset_X(const clg_dataset *ds) { return ds ? ds->X : NULL; }
const clg_tensor *clg_dataset_Y(const clg_dataset *ds) { return ds ? ds->Y : NULL; }

clg_status clg_dataset_download(const clg_dataset *ds, float *X, float *Y)
{
    if (!ds) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_download: NULL dataset");
    clg_status s = X ? clg_tensor_download(ds->X, X, ds->n, ds->d) : CLG_OK;
    if (s == CLG_OK && Y) s = clg_tensor_download(ds->Y, Y, ds->n, ds->q);
    return s;
}
