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
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: dataset shape n=%zu d=%zu has a zero dimension", op,
                        n, d);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "%s: label %ld of row %zu is outside [0, %zu)", op, (long)labels[i], i,
                            classes);
    clg_status s = check_finite(ctx, "X", X, n, d);
    if (s != CLG_OK) return s;
    float *Y = malloc(n * sizeof *Y);
    if (!Y) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu labels", op, n);
    for (size_t i = 0; i < n; i++) Y[i] = (float)labels[i];
    clg_dataset *ds = NULL;
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

/* Tag in Philox counter word 3 for the split's shuffle, apart from the
 * loader's ("SHUF") and the generators' (0). */
#define SPLIT_TAG 0x53504C54u /* "SPLT" */

typedef struct split_stream {
    uint32_t ctr[4], key[2], buf[4];
    unsigned used;
} split_stream;

static uint32_t split_word(split_stream *ws)
{
    if (ws->used == 4) {
        clg_philox4x32(ws->ctr, ws->key, ws->buf);
        if (++ws->ctr[0] == 0) ws->ctr[1]++;
        ws->used = 0;
    }
    return ws->buf[ws->used++];
}

/* Uniform in [0, range), unbiased (multiply-shift with rejection). */
static uint32_t split_below(split_stream *ws, uint32_t range)
{
    uint64_t m = (uint64_t)split_word(ws) * range;
    if ((uint32_t)m < range) {
        uint32_t threshold = (uint32_t)(-range) % range;
        while ((uint32_t)m < threshold) m = (uint64_t)split_word(ws) * range;
    }
    return (uint32_t)(m >> 32);
}

/* A dataset of the rows order[offset .. offset+count) of ds, gathered on the device. */
static clg_status gather_part(const clg_dataset *ds, cl_mem order, size_t offset, size_t count,
                              clg_dataset **out)
{
    clg_dataset *p = NULL;
    clg_status s = clg_dataset_alloc(ds->ctx, count, ds->d, ds->q, &p);
    if (s == CLG_OK) s = clg_op_gather_rows(ds->ctx, ds->X->mem, order, offset, count, ds->d, p->X->mem);
    if (s == CLG_OK) s = clg_op_gather_rows(ds->ctx, ds->Y->mem, order, offset, count, ds->q, p->Y->mem);
    if (s != CLG_OK) {
        clg_dataset_destroy(p);
        return s;
    }
    p->classes = ds->classes;
    *out = p;
    return CLG_OK;
}

clg_status clg_dataset_split(const clg_dataset *ds, double test_fraction, uint64_t seed,
                             clg_dataset **train, clg_dataset **test)
{
    const char *op = "clg_dataset_split";
    clg_context *ctx = ds ? ds->ctx : NULL;
    if (!ds || !train || !test || train == test)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    *train = *test = NULL;
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: test_fraction %g is not in (0, 1)", op,
                        test_fraction);
    size_t n = ds->n;
    size_t n_test = (size_t)floor((double)n * test_fraction + 0.5);
    if (n_test == 0 || n_test >= n)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: %zu samples with test_fraction %g leave the %s part empty", op, n,
                        test_fraction, n_test == 0 ? "test" : "train");
    size_t n_train = n - n_test;
    uint32_t *order = malloc(n * sizeof *order);
    if (!order) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu indices", op, n);
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    split_stream ws = {.ctr = {0, 0, 0, SPLIT_TAG},
                       .key = {(uint32_t)seed, (uint32_t)(seed >> 32)},
                       .used = 4};
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        uint32_t j = split_below(&ws, (uint32_t)(i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    cl_mem dev = NULL;
    clg_status s = clg_buffer_create(ctx, n * sizeof(cl_uint), "split order", &dev);
    if (s == CLG_OK) {
        cl_int err = clEnqueueWriteBuffer(ctx->queue, dev, CL_TRUE, 0, n * sizeof(cl_uint), order, 0,
                                          NULL, NULL);
        if (err != CL_SUCCESS) s = clg_fail_cl(ctx, err, "clEnqueueWriteBuffer(split order)");
    }
    free(order);
    clg_dataset *a = NULL, *b = NULL;
    if (s == CLG_OK) s = gather_part(ds, dev, 0, n_train, &a);
    if (s == CLG_OK) s = gather_part(ds, dev, n_train, n_test, &b);
    if (dev) clReleaseMemObject(dev); /* released once the gathers are done with it */
    if (s != CLG_OK) {
        clg_dataset_destroy(a);
        clg_dataset_destroy(b);
        return s;
    }
    *train = a;
    *test = b;
    return CLG_OK;
}
