/* Datasets from IDX and .npy files: the host readers of io_idx.c / io_npy.c, then
 * clg_dataset_from_host_labels (classification) or clg_dataset_from_host. */
#include <math.h>
#include <stdlib.h>

#include "data.h"

static size_t classes_of(const int32_t *y, size_t n)
{
    int32_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (y[i] > max) max = y[i];
    return (size_t)max + 1 < 2 ? 2 : (size_t)max + 1;
}

clg_status clg_dataset_from_idx(clg_context *ctx, const char *images, const char *labels,
                                clg_dataset **out)
{
    if (!ctx || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_from_idx: NULL argument");
    *out = NULL;
    float *X;
    int32_t *y;
    size_t n, d;
    clg_status s = clg_idx_read_pair(images, labels, &X, &y, &n, &d);
    if (s != CLG_OK) return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    s = clg_dataset_from_host_labels(ctx, X, y, n, d, classes_of(y, n), out);
    free(X);
    free(y);
    return s;
}

clg_status clg_dataset_from_npy(clg_context *ctx, const char *X_path, const char *y_path,
                                int classification, clg_dataset **out)
{
    if (!ctx || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_from_npy: NULL argument");
    *out = NULL;
    clg_npy X, Y;
    clg_status s = clg_npy_read(X_path, &X);
    if (s != CLG_OK) return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    s = clg_npy_read(y_path, &Y);
    if (s != CLG_OK) {
        clg_npy_free(&X);
        return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    }
    int32_t *labels = NULL;
    const size_t n = X.ndim ? X.shape[0] : 0, d = X.ndim == 2 ? X.shape[1] : 1;
    const size_t q = Y.ndim == 2 ? Y.shape[1] : 1;
    if (X.ndim != 1 && X.ndim != 2)
        s = clg_fail(ctx, CLG_ERR_SHAPE,
                     "%s: features must be 1-D or 2-D (n×d), the array has %zu dimensions", X_path,
                     X.ndim);
    else if (Y.ndim != 1 && Y.ndim != 2)
        s = clg_fail(ctx, CLG_ERR_SHAPE,
                     "%s: targets must be 1-D or 2-D (n×q), the array has %zu dimensions", y_path,
                     Y.ndim);
    else if (Y.shape[0] != n)
        s = clg_fail(ctx, CLG_ERR_SHAPE, "%s has %zu rows but %s has %zu", X_path, n, y_path,
                     Y.shape[0]);
    else if (classification && q != 1)
        s = clg_fail(ctx, CLG_ERR_SHAPE,
                     "%s: class labels must be one column (n or n×1), the array is %zu×%zu", y_path,
                     n, q);
    if (s == CLG_OK && classification) {
        labels = malloc(n * sizeof *labels);
        if (!labels) s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", y_path);
        for (size_t i = 0; s == CLG_OK && i < n; i++) {
            const float v = Y.data[i];
            if (v < 0 || v >= 16777216.0f || v != floorf(v))
                s = clg_fail(ctx, CLG_ERR_FORMAT,
                             "%s: label %zu is %g; class ids must be integers in [0, 2^24)", y_path,
                             i, (double)v);
            else
                labels[i] = (int32_t)v;
        }
        if (s == CLG_OK)
            s = clg_dataset_from_host_labels(ctx, X.data, labels, n, d, classes_of(labels, n), out);
    } else if (s == CLG_OK) {
        s = clg_dataset_from_host(ctx, X.data, Y.data, n, d, q, out);
    }
    free(labels);
    clg_npy_free(&X);
    clg_npy_free(&Y);
    return s;
}
