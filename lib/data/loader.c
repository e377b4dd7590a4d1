/* Minibatch loader: a seeded permutation per epoch (host), gathers on the device.
 * Nothing here waits for the device except start_epoch, and only for the previous
 * epoch's permutation upload, long finished by then in any real loop.
 *
 * Streamed datasets (host-resident, ds->streamed): the same permutation, but each
 * batch's rows are gathered on the host into one of two pinned staging buffers and
 * uploaded with non-blocking writes into one of two device batch buffers; the two
 * alternate (double buffering). Before a staging buffer is refilled, clg_loader_next
 * waits for the events of its previous upload — the one of two batches ago, so the
 * host gathers batch k+1 while batch k uploads and batch k-1 computes. The device
 * buffer of two batches ago needs no wait: the queue is in order, so the new upload
 * runs after the kernels that read it.
 *
 * File-streamed datasets (ds->file) are streamed the same way, but the rows come from the
 * loader's cursor (stream_order.c), which reads the file chunk by chunk into its shuffle
 * buffer and hands rows out in the order docs/streaming.md states: no order of n. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* Tag in counter word 3 so the shuffle never reuses the words that
 * clg_philox_normal / synthetic_linear (word 3 = 0) draw from the same seed. */
#define SHUFFLE_TAG CLG_SHUFFLE_TAG /* "SHUF" */

clg_loader_options clg_loader_defaults(void)
{
    clg_loader_options o = {.struct_size = sizeof o, .batch_size = 32, .shuffle = 1};
    return o;
}

/* Waits for (and releases) the uploads from staging buffer k. */
static cl_int wait_uploads(clg_loader *ld, unsigned k)
{
    cl_int err = CL_SUCCESS;
    for (unsigned j = 0; j < 2; j++)
        if (ld->upload[k][j]) {
            cl_int e = clWaitForEvents(1, &ld->upload[k][j]);
            if (err == CL_SUCCESS) err = e;
            clReleaseEvent(ld->upload[k][j]);
            ld->upload[k][j] = NULL;
        }
    return err;
}

void clg_loader_destroy(clg_loader *ld)
{
    if (!ld) return;
    clg_context *ctx = ld->ds->ctx;
    for (unsigned k = 0; k < 2; k++) {
        wait_uploads(ld, k); /* the writes read the staging buffers until they complete */
        if (ld->stage_mem[k]) {
            clEnqueueUnmapMemObject(ctx->queue, ld->stage_mem[k], ld->stage[k], 0, NULL, NULL);
            clReleaseMemObject(ld->stage_mem[k]);
        } else {
            free(ld->stage[k]);
        }
    }
    clg_tensor_destroy(ld->Xb2);
    clg_tensor_destroy(ld->Yb2);
    clg_stream_cursor_destroy(ld->cursor);
    ld->ds->loaders--;
    /* The non-blocking upload reads ld->order until it completes. */
    if (ld->order_written) {
        clWaitForEvents(1, &ld->order_written);
        clReleaseEvent(ld->order_written);
    }
    if (ld->order_dev) clReleaseMemObject(ld->order_dev);
    clg_tensor_destroy(ld->Xb);
    clg_tensor_destroy(ld->Yb);
    free(ld->order);
    free(ld);
}

/* Staging buffer k of `floats` floats: pinned host memory (a CL_MEM_ALLOC_HOST_PTR
 * buffer kept mapped) where the implementation offers it, else malloc'd memory. */
static clg_status stage_create(clg_loader *ld, unsigned k, size_t floats)
{
    clg_context *ctx = ld->ds->ctx;
    size_t bytes = floats * sizeof(float);
    clg_status s = clg_check_alloc(ctx, bytes, "loader staging buffer");
    if (s != CLG_OK) return s;
    cl_int err;
    cl_mem m =
        clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &err);
    if (err == CL_SUCCESS) {
        void *p =
            clEnqueueMapBuffer(ctx->queue, m, CL_TRUE, CL_MAP_WRITE, 0, bytes, 0, NULL, NULL, &err);
        if (err == CL_SUCCESS && p) {
            ld->stage_mem[k] = m;
            ld->stage[k] = p;
            return CLG_OK;
        }
        clReleaseMemObject(m);
    }
    ld->stage[k] = malloc(bytes);
    if (!ld->stage[k])
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY,
                        "clg_loader_create: out of host memory for a %zu-byte staging buffer",
                        bytes);
    return CLG_OK;
}

/* The batches an epoch of rows rows makes (drop_last: whole ones only). */
static size_t batch_count(size_t rows, const clg_loader_options *o)
{
    return o->drop_last ? rows / o->batch_size : (rows + o->batch_size - 1) / o->batch_size;
}

clg_status clg_loader_create(clg_dataset *ds, const clg_loader_options *opts, clg_loader **out)
{
    clg_context *ctx = ds ? ds->ctx : NULL;
    if (!ds || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_loader_create: NULL argument");
    *out = NULL;
    clg_loader_options o = clg_loader_defaults();
    if (opts) {
        clg_status s =
            clg_options_copy(ds ? ds->ctx : NULL, "clg_loader_create", "clg_loader_defaults", &o,
                             sizeof o, opts, offsetof(clg_loader_options, first_epoch));
        if (s != CLG_OK) return s;
    }
    if (o.batch_size == 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_loader_create: batch_size must be >= 1");
    size_t n = ds->n;
    if (o.drop_last && o.batch_size > n)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "clg_loader_create: batch_size %zu exceeds the dataset's %zu samples and "
                        "drop_last is set, so an epoch would have no batch",
                        o.batch_size, n);
    clg_loader *ld = calloc(1, sizeof *ld);
    if (!ld) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_loader_create: out of host memory");
    ld->ds = ds;
    ds->loaders++; /* clg_loader_destroy undoes it, on the error paths too */
    ld->opts = o;
    ld->epoch = o.first_epoch;
    ld->rows = n;
    ld->batches = batch_count(n, &o);
    clg_status s = CLG_OK;
    if (ds->file)
        s = clg_stream_cursor_create(ds, o.shuffle, o.seed, &ld->cursor);
    else if (!(ld->order = malloc(n * sizeof *ld->order)))
        s = clg_fail(ctx, CLG_ERR_HOST_MEMORY,
                     "clg_loader_create: out of host memory for %zu indices", n);
    if (s == CLG_OK && !ds->streamed)
        s = clg_buffer_create(ctx, n * sizeof(cl_uint), "loader order", &ld->order_dev);
    /* A batch never holds more than n rows, whatever batch_size says. */
    size_t cap = o.batch_size < n ? o.batch_size : n;
    if (s == CLG_OK) s = clg_tensor_create(ctx, cap, ds->d, &ld->Xb);
    if (s == CLG_OK) s = clg_tensor_create(ctx, cap, ds->q, &ld->Yb);
    if (s == CLG_OK && ds->streamed) {
        s = clg_tensor_create(ctx, cap, ds->d, &ld->Xb2);
        if (s == CLG_OK) s = clg_tensor_create(ctx, cap, ds->q, &ld->Yb2);
        for (unsigned k = 0; s == CLG_OK && k < 2; k++)
            s = stage_create(ld, k, cap * (ds->d + ds->q));
    }
    if (s != CLG_OK) {
        clg_loader_destroy(ld);
        return s;
    }
    *out = ld;
    return CLG_OK;
}

size_t clg_loader_batches(const clg_loader *ld) { return ld ? ld->batches : 0; }

int clg_loader_view_of(const clg_loader *ld, clg_loader_view *v)
{
    if (!clg_dataset_view_of(ld->ds, &v->data)) return 0;
    v->order = ld->order_dev;
    v->rows = ld->rows;
    v->batch_size = ld->opts.batch_size;
    v->batches = ld->batches;
    return 1;
}

void clg_loader_consume_epoch(clg_loader *ld) { ld->next = ld->batches; }

void clg_loader_set_part(clg_loader *ld, unsigned part, unsigned parts)
{
    ld->part = part;
    ld->parts = parts;
}

clg_status clg_loader_set_block(clg_loader *ld, unsigned part, unsigned parts)
{
    clg_context *ctx = ld->ds->ctx;
    const size_t n = ld->ds->n, B = ld->opts.batch_size;
    if (ld->cursor)
        return clg_fail(ctx, CLG_ERR_UNSUPPORTED,
                        "clg_fit: a file-streamed dataset's rows come in the file's chunk order, "
                        "so the ranks cannot split its epochs; open each rank's shard of the "
                        "file instead (clg_stream_options.part, parts)");
    ld->start = clg_part_start(n, part, parts);
    ld->rows = clg_part_size(n, part, parts);
    if (!ld->rows || (ld->opts.drop_last && ld->rows < B))
        return clg_fail(ctx, CLG_ERR_SHAPE, "clg_fit: rank %u of %u gets %zu of the %zu rows, %s",
                        part, parts, ld->rows, n,
                        ld->rows ? "fewer than a batch, and drop_last is set"
                                 : "none: use fewer ranks than rows");
    ld->batches = batch_count(ld->rows, &ld->opts);
    return CLG_OK;
}
static void draw_order(clg_loader *ld, uint64_t epoch)
{
    size_t n = ld->ds->n;
    if (ld->opts.shuffle) {
        clg_philox_permutation(ld->order, n, ld->opts.seed, epoch, SHUFFLE_TAG);
        return;
    }
    for (size_t i = 0; i < n; i++) ld->order[i] = (uint32_t)i;
}

clg_status clg_loader_start_epoch(clg_loader *ld)
{
    if (!ld) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_loader_start_epoch: NULL loader");
    clg_context *ctx = ld->ds->ctx;
    if (ld->ds->streamed) { /* the host gathers from ld->order: nothing to upload */
        if (ld->cursor)
            clg_stream_cursor_start(ld->cursor, ld->epoch);
        else
            draw_order(ld, ld->epoch);
        ld->epoch++;
        ld->next = 0;
        return CLG_OK;
    }
    if (ld->order_written) {
        /* The previous upload may still be reading the host array we rewrite. */
        cl_int err = clWaitForEvents(1, &ld->order_written);
        clReleaseEvent(ld->order_written);
        ld->order_written = NULL;
        if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clWaitForEvents(loader order upload)");
    }
    draw_order(ld, ld->epoch);
    cl_event ev = NULL;
    cl_int err =
        clEnqueueWriteBuffer(ctx->queue, ld->order_dev, CL_FALSE, 0, ld->rows * sizeof(cl_uint),
                             ld->order + ld->start, 0, NULL, &ev);
    if (err != CL_SUCCESS) {
        /* The device order is stale: this epoch yields no batch; a retry redraws it. */
        ld->next = ld->batches;
        return clg_fail_cl(ctx, err, "clEnqueueWriteBuffer(loader order)");
    }
    ld->order_written = ev;
    ld->epoch++;
    ld->next = 0;
    return CLG_OK;
}

/* Gathers rows order[offset .. offset+count) on the host into the current slot's
 * staging buffer and enqueues their upload into the slot's batch tensors. */
static clg_status stream_batch(clg_loader *ld, size_t offset, size_t count, size_t skip,
                               size_t take, clg_batch *batch)
{
    const clg_dataset *ds = ld->ds;
    clg_context *ctx = ds->ctx;
    const size_t d = ds->d, q = ds->q;
    const size_t cap = ld->opts.batch_size < ds->n ? ld->opts.batch_size : ds->n;
    const unsigned k = ld->slot;
    /* The staging buffer's previous upload (two batches ago) must have read it. */
    cl_int err = wait_uploads(ld, k);
    if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clWaitForEvents(loader batch upload)");
    float *sx = ld->stage[k], *sy = ld->stage[k] + cap * d;
    if (ld->cursor) {
        /* the cursor hands rows out in order: the whole batch, then this part's share */
        clg_status s = clg_stream_cursor_take(ld->cursor, count, sx, sy);
        if (s != CLG_OK) return s;
        if (skip) {
            memmove(sx, sx + skip * d, take * d * sizeof(float));
            memmove(sy, sy + skip * q, take * q * sizeof(float));
        }
        count = take;
    } else {
        const uint32_t *order = ld->order + ld->start + offset + skip;
        count = take;
        for (size_t r = 0; r < count; r++) {
            memcpy(sx + r * d, ds->hX + (size_t)order[r] * d, d * sizeof(float));
            memcpy(sy + r * q, ds->hY + (size_t)order[r] * q, q * sizeof(float));
        }
    }
    if (!count) return CLG_OK; /* a rank's empty share: the cursor moved on, no upload */
    clg_tensor *X = k ? ld->Xb2 : ld->Xb, *Y = k ? ld->Yb2 : ld->Yb;
    err = clEnqueueWriteBuffer(ctx->queue, X->mem, CL_FALSE, 0, count * d * sizeof(float), sx, 0,
                               NULL, &ld->upload[k][0]);
    if (err != CL_SUCCESS) {
        ld->upload[k][0] = NULL;
        return clg_fail_cl(ctx, err, "clEnqueueWriteBuffer(streamed batch X)");
    }
    err = clEnqueueWriteBuffer(ctx->queue, Y->mem, CL_FALSE, 0, count * q * sizeof(float), sy, 0,
                               NULL, &ld->upload[k][1]);
    if (err != CL_SUCCESS) {
        ld->upload[k][1] = NULL;
        return clg_fail_cl(ctx, err, "clEnqueueWriteBuffer(streamed batch Y)");
    }
    X->rows = Y->rows = count;
    batch->X = X;
    batch->Y = Y;
    ld->slot = k ^ 1u;
    return CLG_OK;
}

clg_status clg_loader_next(clg_loader *ld, clg_batch *batch, int *has_batch)
{
    if (!ld || !batch || !has_batch)
        return clg_fail(ld ? ld->ds->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_loader_next: NULL argument");
    clg_context *ctx = ld->ds->ctx;
    *has_batch = 0;
    memset(batch, 0, sizeof *batch);
    if (ld->epoch == ld->opts.first_epoch)
        return clg_fail(ctx, CLG_ERR_STATE,
                        "clg_loader_next: no epoch started (call clg_loader_start_epoch first)");
    if (ld->next >= ld->batches) return CLG_OK;
    size_t B = ld->opts.batch_size, n = ld->rows;
    size_t offset = ld->next * B;
    size_t count = n - offset < B ? n - offset : B, skip = 0, whole = count;
    if (ld->parts > 1) { /* this rank's share of the global batch */
        skip = clg_part_start(count, ld->part, ld->parts);
        count = clg_part_size(count, ld->part, ld->parts);
    }
    if (ld->ds->streamed && (count || ld->cursor)) {
        clg_status s = stream_batch(ld, offset, whole, skip, count, batch);
        if (s != CLG_OK) return s;
    }
    if (ld->ds->streamed || !count) {
        batch->rows = count;
        batch->index = ld->next++;
        *has_batch = 1;
        return CLG_OK;
    }
    offset += skip;
    clg_status s = clg_op_gather_rows(ctx, ld->ds->X->mem, ld->order_dev, offset, count, ld->ds->d,
                                      ld->Xb->mem);
    if (s == CLG_OK)
        s = clg_op_gather_rows(ctx, ld->ds->Y->mem, ld->order_dev, offset, count, ld->ds->q,
                               ld->Yb->mem);
    if (s != CLG_OK) return s;
    ld->Xb->rows = ld->Yb->rows = count;
    batch->X = ld->Xb;
    batch->Y = ld->Yb;
    batch->rows = count;
    batch->index = ld->next++;
    *has_batch = 1;
    return CLG_OK;
}

clg_status clg_loader_order(const clg_loader *ld, uint32_t *order, size_t n)
{
    if (!ld || !order)
        return clg_fail(ld ? ld->ds->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_loader_order: NULL argument");
    if (n != ld->ds->n)
        return clg_fail(ld->ds->ctx, CLG_ERR_SHAPE,
                        "clg_loader_order: room for %zu indices but the dataset has %zu", n,
                        ld->ds->n);
    if (ld->epoch == ld->opts.first_epoch)
        return clg_fail(ld->ds->ctx, CLG_ERR_STATE,
                        "clg_loader_order: no epoch started (call clg_loader_start_epoch first)");
    if (ld->cursor)
        return clg_stream_order(ld->ds, ld->opts.shuffle, ld->opts.seed, ld->epoch - 1, order);
    memcpy(order, ld->order, n * sizeof *order);
    return CLG_OK;
}
