/* Train/test splits of a dataset: a seeded shuffle (clg_dataset_split) or one that keeps
 * each class's share in both parts (clg_dataset_split_stratified); rows are gathered on the
 * device (on the host for a streamed dataset) into two new datasets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* Tag in Philox counter word 3 for the split's shuffle, apart from the
 * loader's ("SHUF") and the generators' (0). */
#define SPLIT_TAG 0x53504C54u /* "SPLT" */

/* A dataset of the rows order[offset .. offset+count) of ds, gathered on the device. */
static clg_status gather_part(const clg_dataset *ds, cl_mem order, size_t offset, size_t count,
                              clg_dataset **out)
{
    clg_dataset *p = NULL;
    clg_status s = clg_dataset_alloc(ds->ctx, count, ds->d, ds->q, &p);
    if (s == CLG_OK)
        s = clg_op_gather_rows(ds->ctx, ds->X->mem, order, offset, count, ds->d, p->X->mem);
    if (s == CLG_OK)
        s = clg_op_gather_rows(ds->ctx, ds->Y->mem, order, offset, count, ds->q, p->Y->mem);
    if (s != CLG_OK) {
        clg_dataset_destroy(p);
        return s;
    }
    p->classes = ds->classes;
    *out = p;
    return CLG_OK;
}

/* Same for a streamed dataset: gathered on the host into a streamed dataset. */
static clg_status host_part(const clg_dataset *ds, const uint32_t *order, size_t offset,
                            size_t count, clg_dataset **out)
{
    clg_dataset *p = NULL;
    clg_status s = clg_dataset_alloc_host(ds->ctx, count, ds->d, ds->q, &p);
    if (s != CLG_OK) return s;
    const size_t d = ds->d, q = ds->q;
    for (size_t r = 0; r < count; r++) {
        size_t i = order[offset + r];
        memcpy(p->hX + r * d, ds->hX + i * d, d * sizeof(float));
        memcpy(p->hY + r * q, ds->hY + i * q, q * sizeof(float));
    }
    p->classes = ds->classes;
    *out = p;
    return CLG_OK;
}

/* The two parts: rows order[0 .. n_train) and order[n_train .. n_train + n_test). */
static clg_status split_by_order(const clg_dataset *ds, const uint32_t *order, size_t n_train,
                                 size_t n_test, clg_dataset **train, clg_dataset **test)
{
    clg_context *ctx = ds->ctx;
    clg_dataset *a = NULL, *b = NULL;
    clg_status s = CLG_OK;
    if (ds->streamed) {
        s = host_part(ds, order, 0, n_train, &a);
        if (s == CLG_OK) s = host_part(ds, order, n_train, n_test, &b);
    } else {
        size_t n = n_train + n_test;
        cl_mem dev = NULL;
        s = clg_buffer_create(ctx, n * sizeof(cl_uint), "split order", &dev);
        if (s == CLG_OK) {
            cl_int err = clEnqueueWriteBuffer(ctx->queue, dev, CL_TRUE, 0, n * sizeof(cl_uint),
                                              order, 0, NULL, NULL);
            if (err != CL_SUCCESS) s = clg_fail_cl(ctx, err, "clEnqueueWriteBuffer(split order)");
        }
        if (s == CLG_OK) s = gather_part(ds, dev, 0, n_train, &a);
        if (s == CLG_OK) s = gather_part(ds, dev, n_train, n_test, &b);
        if (dev) clReleaseMemObject(dev); /* released once the gathers are done with it */
    }
    if (s != CLG_OK) {
        clg_dataset_destroy(a);
        clg_dataset_destroy(b);
        return s;
    }
    *train = a;
    *test = b;
    return CLG_OK;
}

/* Checks the arguments and gives the test part's size. */
static clg_status split_sizes(const clg_dataset *ds, double test_fraction, clg_dataset **train,
                              clg_dataset **test, const char *op, size_t *n_test)
{
    clg_context *ctx = ds ? ds->ctx : NULL;
    if (!ds || !train || !test || train == test)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    *train = *test = NULL;
    if (ds->file) /* its rows are in the file: gathering them would need them all in memory */
        return clg_fail(ctx, CLG_ERR_UNSUPPORTED,
                        "%s: the dataset is streamed from a file, which is not split in memory; "
                        "split the file, or load the dataset first (clg_dataset_set_streaming(ds, "
                        "0))",
                        op);
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: test_fraction %g is not in (0, 1)", op,
                        test_fraction);
    size_t n = ds->n;
    *n_test = (size_t)floor((double)n * test_fraction + 0.5);
    if (*n_test == 0 || *n_test >= n)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: %zu samples with test_fraction %g leave the %s part empty", op, n,
                        test_fraction, *n_test == 0 ? "test" : "train");
    return CLG_OK;
}

clg_status clg_dataset_split(const clg_dataset *ds, double test_fraction, uint64_t seed,
                             clg_dataset **train, clg_dataset **test)
{
    const char *op = "clg_dataset_split";
    size_t n_test = 0;
    clg_status s = split_sizes(ds, test_fraction, train, test, op, &n_test);
    if (s != CLG_OK) return s;
    size_t n = ds->n;
    uint32_t *order = malloc(n * sizeof *order);
    if (!order)
        return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu indices", op,
                        n);
    clg_philox_permutation(order, n, seed, 0, SPLIT_TAG);
    s = split_by_order(ds, order, n - n_test, n_test, train, test);
    free(order);
    return s;
}

/* Test rows per class: floor(n_c·f), then one more for the classes with the largest
 * remainders (the lower class id first on ties) until they sum to n_test. */
static void stratum_sizes(const size_t *count, size_t classes, double f, size_t n_test,
                          size_t *take)
{
    size_t sum = 0;
    for (size_t c = 0; c < classes; c++) {
        take[c] = (size_t)floor((double)count[c] * f);
        sum += take[c];
    }
    while (sum < n_test) {
        size_t best = classes;
        double best_r = -1;
        for (size_t c = 0; c < classes; c++) {
            double r = (double)count[c] * f - (double)take[c];
            if (take[c] < count[c] && r > best_r) {
                best = c;
                best_r = r;
            }
        }
        if (best == classes) break;
        take[best]++;
        sum++;
    }
}

/* The stratified order: per class, a Philox shuffle of its rows (stream 1 + class) whose
 * first take[c] go to the test part; then each part is shuffled (streams 0 and 1 of
 * STRATA_MIX) so that the classes interleave. */
#define STRATA_TAG 0x53545241u /* "STRA" */
#define STRATA_MIX 0x53544D58u /* "STMX" */
static clg_status stratified_order(const clg_dataset *ds, const float *label, double f,
                                   size_t n_test, uint64_t seed, uint32_t *order)
{
    const size_t n = ds->n, C = ds->classes;
    size_t *count = calloc(C, sizeof *count), *take = calloc(C, sizeof *take);
    size_t *start = calloc(C + 1, sizeof *start);
    uint32_t *rows = malloc(n * sizeof *rows), *perm = malloc(n * sizeof *perm);
    uint32_t *part = malloc(n * sizeof *part);
    clg_status s = CLG_OK;
    if (!count || !take || !start || !rows || !perm || !part) {
        s = clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY,
                     "clg_dataset_split_stratified: out of host "
                     "memory for %zu indices",
                     n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) count[(size_t)label[i]]++;
    for (size_t c = 0; c < C; c++) start[c + 1] = start[c] + count[c];
    /* rows grouped by class, in row order (take counts the rows placed, for now) */
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)label[i];
        rows[start[c] + take[c]++] = (uint32_t)i;
    }
    stratum_sizes(count, C, f, n_test, take);
    size_t nt = 0, nr = 0; /* test rows go to part[], train rows to order[] */
    for (size_t c = 0; c < C; c++) {
        clg_philox_permutation(perm, count[c], seed, 1 + (uint64_t)c, STRATA_TAG);
        for (size_t k = 0; k < count[c]; k++) {
            uint32_t row = rows[start[c] + perm[k]];
            if (k < take[c])
                part[nt++] = row;
            else
                order[nr++] = row;
        }
    }
    /* order = shuffled train rows, then shuffled test rows */
    memcpy(rows, order, nr * sizeof *rows);
    clg_philox_permutation(perm, nr, seed, 0, STRATA_MIX);
    for (size_t k = 0; k < nr; k++) order[k] = rows[perm[k]];
    clg_philox_permutation(perm, nt, seed, 1, STRATA_MIX);
    for (size_t k = 0; k < nt; k++) order[nr + k] = part[perm[k]];
done:
    free(count);
    free(take);
    free(start);
    free(rows);
    free(perm);
    free(part);
    return s;
}

clg_status clg_dataset_split_stratified(const clg_dataset *ds, double test_fraction, uint64_t seed,
                                        clg_dataset **train, clg_dataset **test)
{
    const char *op = "clg_dataset_split_stratified";
    size_t n_test = 0;
    clg_status s = split_sizes(ds, test_fraction, train, test, op, &n_test);
    if (s != CLG_OK) return s;
    if (!ds->classes)
        return clg_fail(ds->ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: the dataset has real-valued targets; stratifying needs class ids "
                        "(use clg_dataset_split)",
                        op);
    size_t n = ds->n;
    float *label = malloc(n * ds->q * sizeof *label);
    uint32_t *order = malloc(n * sizeof *order);
    if (!label || !order)
        s = clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory for %zu labels", op, n);
    if (s == CLG_OK) s = clg_dataset_download(ds, NULL, label);
    if (s == CLG_OK) s = stratified_order(ds, label, test_fraction, n_test, seed, order);
    if (s == CLG_OK) s = split_by_order(ds, order, n - n_test, n_test, train, test);
    free(label);
    free(order);
    return s;
}
