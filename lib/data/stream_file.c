/* File-streamed datasets: the rows stay in a file (.npy: stream_npy.c, CSV: stream_csv.c
 * over io_csv.c) and are read a chunk of chunk_rows rows at a time, into buffers of a
 * bounded size (docs/streaming.md). Here: the options, the dataset built over a format's
 * reader, chunk and row reads with the recorded standardizations applied, loading onto the
 * device. The order loaders draw the rows in is stream_order.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

clg_stream_options clg_stream_defaults(void)
{
    clg_stream_options o = {.struct_size = sizeof o, .chunk_rows = 0, .buffer_chunks = 4};
    return o;
}

size_t clg_stream_auto_chunk_rows(size_t floats)
{
    size_t row = (floats ? floats : 1) * sizeof(float);
    size_t rows = CLG_STREAM_CHUNK_BYTES / row;
    return rows ? rows : 1;
}

clg_status clg_stream_check_unchanged(int fd, const char *path, const struct stat *at_open)
{
    struct stat now;
    if (fstat(fd, &now) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot stat the streamed file", path);
    if (now.st_size != at_open->st_size || now.st_mtim.tv_sec != at_open->st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != at_open->st_mtim.tv_nsec)
        return clg_fail(NULL, CLG_ERR_IO,
                        "%s: the file changed since the streamed dataset was opened (size %lld, "
                        "now %lld bytes, or its modification time); open it again",
                        path, (long long)at_open->st_size, (long long)now.st_size);
    return CLG_OK;
}

clg_status clg_stream_options_of(clg_context *ctx, const char *op, const clg_stream_options *opts,
                                 clg_stream_options *o)
{
    *o = clg_stream_defaults();
    if (opts) {
        /* the first published clg_stream_options ended with buffer_chunks */
        const size_t v1 = offsetof(clg_stream_options, part);
        clg_status s = clg_options_copy(ctx, op, "clg_stream_defaults", o, sizeof *o, opts, v1);
        if (s != CLG_OK) return s;
    }
    if (o->buffer_chunks == 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: buffer_chunks must be >= 1", op);
    if (o->parts ? o->part >= o->parts : o->part != 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: part %zu of %zu parts: need part < parts (or both 0: the whole file)",
                        op, o->part, o->parts);
    if (o->classes == 1 || o->classes > ((size_t)1 << 24))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: classes %zu: 0 (from the data) or 2 .. 2^24", op, o->classes);
    if (o->chunk_rows > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: chunk_rows %zu exceeds 2^32-1 (a dataset's rows)", op, o->chunk_rows);
    return CLG_OK;
}

void clg_stream_file_free(clg_stream_file *f)
{
    if (!f) return;
    if (f->format && f->src) f->format->close(f->src);
    free(f->scaling);
    free(f);
}

clg_status clg_dataset_from_stream(clg_context *ctx, const char *op, size_t n, size_t d, size_t q,
                                   size_t classes, const clg_stream_format *format, void *src,
                                   const clg_stream_options *o, clg_dataset **out)
{
    *out = NULL;
    clg_status s = clg_dataset_check_dims(ctx, n, d, q);
    if (s != CLG_OK) {
        format->close(src);
        return s;
    }
    clg_dataset *ds = calloc(1, sizeof *ds);
    clg_stream_file *f = calloc(1, sizeof *f);
    if (!ds || !f) {
        free(ds);
        free(f);
        format->close(src);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    }
    f->format = format;
    f->src = src;
    f->chunk_rows = o->chunk_rows ? o->chunk_rows : clg_stream_auto_chunk_rows(d + q);
    if (f->chunk_rows > n) f->chunk_rows = n;
    f->chunks = (n + f->chunk_rows - 1) / f->chunk_rows;
    f->buffer_chunks = o->buffer_chunks;
    ds->ctx = ctx;
    ds->n = n;
    ds->d = d;
    ds->q = q;
    ds->classes = classes;
    ds->streamed = 1;
    ds->file = f;
    *out = ds;
    return CLG_OK;
}

clg_status clg_stream_read_chunk(const clg_dataset *ds, size_t k, float *X, float *Y, size_t *rows)
{
    const clg_stream_file *f = ds->file;
    const size_t first = k * f->chunk_rows, d = ds->d;
    const size_t m = ds->n - first < f->chunk_rows ? ds->n - first : f->chunk_rows;
    clg_status s = f->format->read(f->src, k, first, m, X, Y);
    if (s != CLG_OK) return clg_fail(ds->ctx, s, "%s", clg_last_error(NULL));
    /* As clg_dataset_standardize does on a host array: one float subtraction and division. */
    for (size_t t = 0; t < f->nscale; t++) {
        const float *mean = f->scaling + 2 * t * d, *scale = mean + d;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++) X[i * d + j] = (X[i * d + j] - mean[j]) / scale[j];
    }
    *rows = m;
    return CLG_OK;
}

/* Rows of a file-streamed dataset: whole chunks straight into X and Y, the others through a
 * buffer of one chunk. */
static clg_status file_rows(const clg_dataset *ds, size_t first, size_t count, float *X, float *Y)
{
    const clg_stream_file *f = ds->file;
    const size_t C = f->chunk_rows, d = ds->d, q = ds->q;
    float *buf = NULL;
    clg_status s = CLG_OK;
    for (size_t k = first / C; s == CLG_OK && k * C < first + count; k++) {
        const size_t c0 = k * C, m = ds->n - c0 < C ? ds->n - c0 : C;
        const size_t lo = first > c0 ? first - c0 : 0;
        const size_t hi = first + count < c0 + m ? first + count - c0 : m;
        size_t got;
        if (lo == 0 && hi == m && X && Y) {
            s = clg_stream_read_chunk(ds, k, X + (c0 - first) * d, Y + (c0 - first) * q, &got);
            continue;
        }
        if (!buf && !(buf = malloc(C * (d + q) * sizeof *buf)))
            return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY,
                            "reading a streamed file: out of host memory for a chunk of %zu rows",
                            C);
        s = clg_stream_read_chunk(ds, k, buf, buf + C * d, &got);
        if (s != CLG_OK) break;
        const size_t at = c0 + lo - first;
        if (X) memcpy(X + at * d, buf + lo * d, (hi - lo) * d * sizeof *X);
        if (Y) memcpy(Y + at * q, buf + C * d + lo * q, (hi - lo) * q * sizeof *Y);
    }
    free(buf);
    return s;
}

clg_status clg_dataset_read_rows(const clg_dataset *ds, size_t first, size_t count, float *X,
                                 float *Y)
{
    if (first > ds->n || count > ds->n - first)
        return clg_fail(ds->ctx, CLG_ERR_SHAPE, "rows %zu..%zu of a dataset of %zu", first,
                        first + count, ds->n);
    if (count == 0) return CLG_OK;
    const size_t d = ds->d, q = ds->q;
    if (ds->file) return file_rows(ds, first, count, X, Y);
    if (ds->streamed) {
        if (X) memcpy(X, ds->hX + first * d, count * d * sizeof *X);
        if (Y) memcpy(Y, ds->hY + first * q, count * q * sizeof *Y);
        return CLG_OK;
    }
    cl_int err = CL_SUCCESS;
    if (X)
        err = clEnqueueReadBuffer(ds->ctx->queue, ds->X->mem, CL_TRUE, first * d * sizeof(float),
                                  count * d * sizeof(float), X, 0, NULL, NULL);
    if (Y && err == CL_SUCCESS)
        err = clEnqueueReadBuffer(ds->ctx->queue, ds->Y->mem, CL_TRUE, first * q * sizeof(float),
                                  count * q * sizeof(float), Y, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(ds->ctx, err, "clEnqueueReadBuffer(rows)");
}

clg_status clg_stream_standardize(clg_dataset *ds, const float *mean, const float *scale)
{
    clg_stream_file *f = ds->file;
    const size_t d = ds->d;
    float *sc = realloc(f->scaling, (f->nscale + 1) * 2 * d * sizeof *sc);
    if (!sc)
        return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY,
                        "clg_dataset_standardize: out of host memory");
    memcpy(sc + f->nscale * 2 * d, mean, d * sizeof *sc);
    memcpy(sc + f->nscale * 2 * d + d, scale, d * sizeof *sc);
    f->scaling = sc;
    f->nscale++;
    return CLG_OK;
}

clg_status clg_stream_to_device(clg_dataset *ds)
{
    clg_context *ctx = ds->ctx;
    clg_stream_file *f = ds->file;
    const size_t C = f->chunk_rows, d = ds->d, q = ds->q;
    clg_tensor *X = NULL, *Y = NULL;
    float *buf = malloc(C * (d + q) * sizeof *buf);
    clg_status s = buf ? CLG_OK
                       : clg_fail(ctx, CLG_ERR_HOST_MEMORY,
                                  "clg_dataset_set_streaming: out of host memory for a chunk of "
                                  "%zu rows",
                                  C);
    if (s == CLG_OK) s = clg_tensor_create(ctx, ds->n, d, &X);
    if (s == CLG_OK) s = clg_tensor_create(ctx, ds->n, q, &Y);
    for (size_t k = 0; s == CLG_OK && k < f->chunks; k++) {
        size_t m;
        s = clg_stream_read_chunk(ds, k, buf, buf + C * d, &m);
        cl_int err = CL_SUCCESS;
        if (s == CLG_OK)
            err = clEnqueueWriteBuffer(ctx->queue, X->mem, CL_TRUE, k * C * d * sizeof(float),
                                       m * d * sizeof(float), buf, 0, NULL, NULL);
        if (s == CLG_OK && err == CL_SUCCESS)
            err = clEnqueueWriteBuffer(ctx->queue, Y->mem, CL_TRUE, k * C * q * sizeof(float),
                                       m * q * sizeof(float), buf + C * d, 0, NULL, NULL);
        if (s == CLG_OK && err != CL_SUCCESS)
            s = clg_fail_cl(ctx, err, "clg_dataset_set_streaming: uploading a chunk");
    }
    free(buf);
    if (s != CLG_OK) {
        clg_tensor_destroy(X);
        clg_tensor_destroy(Y);
        return s;
    }
    ds->X = X;
    ds->Y = Y;
    ds->streamed = 0;
    ds->file = NULL;
    clg_stream_file_free(f);
    return CLG_OK;
}

clg_storage clg_dataset_storage(const clg_dataset *ds)
{
    return !ds || !ds->streamed ? CLG_STORAGE_DEVICE
           : ds->file           ? CLG_STORAGE_FILE
                                : CLG_STORAGE_HOST;
}

size_t clg_dataset_chunk_rows(const clg_dataset *ds)
{
    return ds && ds->file ? ds->file->chunk_rows : 0;
}

size_t clg_dataset_parts(const clg_dataset *ds, size_t *part, size_t *file_rows)
{
    if (part) *part = ds ? ds->part : 0;
    if (file_rows) *file_rows = !ds ? 0 : ds->parts ? ds->file_rows : ds->n;
    return ds ? ds->parts : 0;
}
