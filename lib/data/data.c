/* Datasets: device-resident X (n×d) and Y (n×q), from host arrays or generated;
 * or, when they do not fit the device (or streaming is forced), host-resident
 * arrays that loaders upload batch by batch (docs/performance.md "Datasets larger than device memory");
 * or rows left in a file and read chunk by chunk (stream_file.c, docs/streaming.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static clg_status check_finite(const clg_context *ctx, const char *what, const float *a, size_t n,
                               size_t cols)
{
    for (size_t i = 0; i < n * cols; i++)
        if (!isfinite(a[i]))
            return clg_fail(ctx, CLG_ERR_NONFINITE,
                            "%s has a non-finite value (%g) at row %zu, column %zu", what,
                            (double)a[i], i / cols, i % cols);
    return CLG_OK;
}

clg_status clg_dataset_check_dims(const clg_context *ctx, size_t n, size_t d, size_t q)
{
    if (n == 0 || d == 0 || q == 0)
        return clg_fail(ctx, CLG_ERR_SHAPE, "dataset shape n=%zu d=%zu q=%zu has a zero dimension",
                        n, d, q);
    if (n > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_SHAPE, "dataset of %zu samples exceeds 2^32-1", n);
    return CLG_OK;
}

/* Allocates an empty dataset with device tensors of the right shapes. */
clg_status clg_dataset_alloc(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out)
{
    if (!ctx || !out) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "dataset: NULL argument");
    *out = NULL;
    clg_status s = clg_dataset_check_dims(ctx, n, d, q);
    if (s != CLG_OK) return s;
    clg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "dataset: out of host memory");
    ds->ctx = ctx;
    ds->n = n;
    ds->d = d;
    ds->q = q;
    s = clg_tensor_create(ctx, n, d, &ds->X);
    if (s == CLG_OK) s = clg_tensor_create(ctx, n, q, &ds->Y);
    if (s != CLG_OK) {
        clg_dataset_destroy(ds);
        return s;
    }
    *out = ds;
    return CLG_OK;
}

/* n·c·4 bytes, or 0 when that overflows size_t. */
static size_t float_bytes(size_t n, size_t c)
{
    if (n == 0 || c == 0 || c > SIZE_MAX / sizeof(float) / n) return 0;
    return n * c * sizeof(float);
}

int clg_dataset_needs_streaming(const clg_context *ctx, size_t n, size_t d, size_t q)
{
    size_t xb = float_bytes(n, d), yb = float_bytes(n, q);
    if (!xb || !yb || xb > SIZE_MAX - yb) return 1;
    const clg_device_info *in = &ctx->info;
    if (xb > in->max_alloc_size || yb > in->max_alloc_size) return 1;
    return (unsigned long long)(xb + yb) > in->global_mem_size / 2;
}

/* ctx->cfg.stream (CLGRAD_STREAM, validated at context creation): -1 auto (stream what
 * does not fit), 1 always, 0 never (too large is CLG_ERR_DEVICE_MEMORY). */
static clg_status stream_mode(const clg_context *ctx, int *mode)
{
    *mode = ctx->cfg.stream == CLG_SETTING_ON ? 1 : ctx->cfg.stream == CLG_SETTING_OFF ? 0 : -1;
    return CLG_OK;
}

clg_status clg_dataset_decide_streaming(const clg_context *ctx, size_t n, size_t d, size_t q,
                                        int *stream)
{
    int mode;
    clg_status s = stream_mode(ctx, &mode);
    if (s == CLG_OK)
        *stream = mode == 1 || (mode == -1 && clg_dataset_needs_streaming(ctx, n, d, q));
    return s;
}

/* A streamed dataset: uninitialised host arrays hX (n×d) and hY (n×q). */
clg_status clg_dataset_alloc_host(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out)
{
    *out = NULL;
    clg_status s = clg_dataset_check_dims(ctx, n, d, q);
    if (s != CLG_OK) return s;
    size_t xb = float_bytes(n, d), yb = float_bytes(n, q);
    if (!xb || !yb)
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY,
                        "dataset shape n=%zu d=%zu q=%zu overflows size_t", n, d, q);
    clg_dataset *ds = calloc(1, sizeof *ds);
    if (ds) {
        ds->hX = malloc(xb);
        ds->hY = malloc(yb);
    }
    if (!ds || !ds->hX || !ds->hY) {
        clg_dataset_destroy(ds);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY,
                        "streamed dataset: out of host memory for %zu + %zu bytes", xb, yb);
    }
    ds->ctx = ctx;
    ds->n = n;
    ds->d = d;
    ds->q = q;
    ds->streamed = 1;
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
    int stream = 0;
    clg_status s = clg_dataset_check_dims(ctx, n, d, q);
    if (s == CLG_OK) s = clg_dataset_decide_streaming(ctx, n, d, q, &stream);
    if (s != CLG_OK) return s;
    if (stream) {
        if ((s = clg_dataset_alloc_host(ctx, n, d, q, &ds)) != CLG_OK) return s;
        memcpy(ds->hX, X, n * d * sizeof(float));
        memcpy(ds->hY, Y, n * q * sizeof(float));
        *out = ds;
        return CLG_OK;
    }
    s = clg_dataset_alloc(ctx, n, d, q, &ds);
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
    free(ds->hX);
    free(ds->hY);
    clg_stream_file_free(ds->file);
    free(ds);
}

size_t clg_dataset_size(const clg_dataset *ds) { return ds ? ds->n : 0; }
size_t clg_dataset_features(const clg_dataset *ds) { return ds ? ds->d : 0; }
size_t clg_dataset_targets(const clg_dataset *ds) { return ds ? ds->q : 0; }
/* NULL for a streamed dataset, which has no device tensors. */
const clg_tensor *clg_dataset_X(const clg_dataset *ds) { return ds ? ds->X : NULL; }
const clg_tensor *clg_dataset_Y(const clg_dataset *ds) { return ds ? ds->Y : NULL; }

clg_status clg_dataset_download(const clg_dataset *ds, float *X, float *Y)
{
    if (!ds) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_download: NULL dataset");
    if (ds->file) return clg_dataset_read_rows(ds, 0, ds->n, X, Y); /* chunk by chunk */
    if (ds->streamed) {
        if (X) memcpy(X, ds->hX, ds->n * ds->d * sizeof(float));
        if (Y) memcpy(Y, ds->hY, ds->n * ds->q * sizeof(float));
        return CLG_OK;
    }
    clg_status s = X ? clg_tensor_download(ds->X, X, ds->n, ds->d) : CLG_OK;
    if (s == CLG_OK && Y) s = clg_tensor_download(ds->Y, Y, ds->n, ds->q);
    return s;
}

/* Class ids are kept as floats: every integer up to 2^24 is exact. */
#define MAX_CLASSES 16777216u

clg_status clg_dataset_from_host_labels(clg_context *ctx, const float *X, const int32_t *labels,
                                        size_t n, size_t d, size_t classes, clg_dataset **out)
{
    const char *op = "clg_dataset_from_host_labels";
    if (!ctx || !X || !labels || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    *out = NULL;
    if (classes < 2 || classes > MAX_CLASSES)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: classes is %zu but must be between 2 and 2^24 (ids are stored as "
                        "exact floats)",
                        op, classes);
    if (n == 0 || d == 0)
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: dataset shape n=%zu d=%zu has a zero dimension",
                        op, n, d);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "%s: label %ld of row %zu is outside [0, %zu)", op, (long)labels[i], i,
                            classes);
    clg_status s = check_finite(ctx, "X", X, n, d);
    int stream = 0;
    if (s == CLG_OK) s = clg_dataset_check_dims(ctx, n, d, 1);
    if (s == CLG_OK) s = clg_dataset_decide_streaming(ctx, n, d, 1, &stream);
    if (s != CLG_OK) return s;
    clg_dataset *ds = NULL;
    if (stream) {
        if ((s = clg_dataset_alloc_host(ctx, n, d, 1, &ds)) != CLG_OK) return s;
        memcpy(ds->hX, X, n * d * sizeof(float));
        for (size_t i = 0; i < n; i++) ds->hY[i] = (float)labels[i];
        ds->classes = classes;
        *out = ds;
        return CLG_OK;
    }
    float *Y = malloc(n * sizeof *Y);
    if (!Y)
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu labels", op, n);
    for (size_t i = 0; i < n; i++) Y[i] = (float)labels[i];
    s = clg_dataset_alloc(ctx, n, d, 1, &ds);
    if (s == CLG_OK) s = clg_tensor_upload(ds->X, X, n, d);
    if (s == CLG_OK) s = clg_tensor_upload(ds->Y, Y, n, 1);
    free(Y);
    if (s != CLG_OK) {
        clg_dataset_destroy(ds);
        return s;
    }
    ds->classes = classes;
    *out = ds;
    return CLG_OK;
}

size_t clg_dataset_classes(const clg_dataset *ds) { return ds ? ds->classes : 0; }

int clg_dataset_view_of(const clg_dataset *ds, clg_dataset_view *v)
{
    if (ds->streamed) return 0;
    v->X = ds->X->mem;
    v->Y = ds->Y->mem;
    v->n = ds->n;
    v->d = ds->d;
    v->q = ds->q;
    v->classes = ds->classes;
    return 1;
}

int clg_dataset_streamed(const clg_dataset *ds) { return ds ? ds->streamed : 0; }

clg_status clg_dataset_set_streaming(clg_dataset *ds, int on)
{
    const char *op = "clg_dataset_set_streaming";
    if (!ds) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL dataset", op);
    clg_context *ctx = ds->ctx;
    on = on != 0;
    if (on == ds->streamed) return CLG_OK;
    if (ds->loaders)
        return clg_fail(ctx, CLG_ERR_STATE,
                        "%s: %zu loader(s) still borrow the dataset; destroy them first", op,
                        ds->loaders);
    if (ds->file) return clg_stream_to_device(ds); /* file → device, chunk by chunk */
    clg_dataset *tmp = NULL;
    clg_status s;
    if (on) { /* device → host */
        s = clg_dataset_alloc_host(ctx, ds->n, ds->d, ds->q, &tmp);
        if (s == CLG_OK) s = clg_tensor_download(ds->X, tmp->hX, ds->n, ds->d);
        if (s == CLG_OK) s = clg_tensor_download(ds->Y, tmp->hY, ds->n, ds->q);
    } else { /* host → device: fails (dataset unchanged) when it does not fit */
        s = clg_dataset_alloc(ctx, ds->n, ds->d, ds->q, &tmp);
        if (s == CLG_OK) s = clg_tensor_upload(tmp->X, ds->hX, ds->n, ds->d);
        if (s == CLG_OK) s = clg_tensor_upload(tmp->Y, ds->hY, ds->n, ds->q);
    }
    if (s != CLG_OK) {
        clg_dataset_destroy(tmp);
        return s;
    }
    /* Swap storage: ds takes tmp's, tmp takes the old one and is destroyed. */
    clg_tensor *X = ds->X, *Y = ds->Y;
    float *hX = ds->hX, *hY = ds->hY;
    ds->X = tmp->X;
    ds->Y = tmp->Y;
    ds->hX = tmp->hX;
    ds->hY = tmp->hY;
    ds->streamed = on;
    tmp->X = X;
    tmp->Y = Y;
    tmp->hX = hX;
    tmp->hY = hY;
    clg_dataset_destroy(tmp);
    return CLG_OK;
}
