/* Device matrices: allocation within device limits, upload/download with shape checks. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime.h"

clg_status clg_check_alloc(const clg_context *ctx, size_t bytes, const char *what)
{
    const clg_device_info *in = &ctx->info;
    if (bytes > in->max_alloc_size || bytes > in->global_mem_size)
        return clg_fail(ctx, CLG_ERR_DEVICE_MEMORY,
                        "%s needs %zu bytes, beyond the device's limits: "
                        "CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes, CL_DEVICE_GLOBAL_MEM_SIZE %llu "
                        "bytes (%s)",
                        what, bytes, (unsigned long long)in->max_alloc_size,
                        (unsigned long long)in->global_mem_size, in->device_name);
    return CLG_OK;
}

clg_status clg_buffer_create(clg_context *ctx, size_t bytes, const char *what, cl_mem *out)
{
    clg_status s = clg_check_alloc(ctx, bytes, what);
    if (s != CLG_OK) return s;
    cl_int err;
    *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        clg_status r = clg_fail_cl(ctx, err, "clCreateBuffer");
        return clg_fail(ctx, r, "clCreateBuffer(%s, %zu bytes): %s", what, bytes,
                        clg_cl_error_name(err));
    }
    return CLG_OK;
}

static clg_status mul_bytes(const clg_context *ctx, size_t rows, size_t cols, size_t *bytes)
{
    if (rows == 0 || cols == 0)
        return clg_fail(ctx, CLG_ERR_SHAPE, "tensor shape %zux%zu has a zero dimension", rows,
                        cols);
    if (cols > SIZE_MAX / sizeof(float) / rows)
        return clg_fail(ctx, CLG_ERR_DEVICE_MEMORY, "tensor shape %zux%zu overflows size_t", rows,
                        cols);
    *bytes = rows * cols * sizeof(float);
    return CLG_OK;
}

clg_status clg_tensor_create(clg_context *ctx, size_t rows, size_t cols, clg_tensor **out)
{
    if (!ctx || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_tensor_create: NULL argument");
    *out = NULL;
    size_t bytes = 0;
    clg_status s = mul_bytes(ctx, rows, cols, &bytes);
    if (s != CLG_OK) return s;
    clg_tensor *t = calloc(1, sizeof *t);
    if (!t) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tensor_create: out of host memory");
    s = clg_buffer_create(ctx, bytes, "tensor", &t->mem);
    if (s != CLG_OK) {
        free(t);
        return s;
    }
    t->ctx = ctx;
    t->rows = rows;
    t->cols = cols;
    t->capacity = rows * cols;
    *out = t;
    return CLG_OK;
}

clg_status clg_tensor_zeros(clg_context *ctx, size_t rows, size_t cols, clg_tensor **out)
{
    clg_status s = clg_tensor_create(ctx, rows, cols, out);
    if (s != CLG_OK) return s;
    const float zero = 0.0f;
    cl_int err = clEnqueueFillBuffer(ctx->queue, (*out)->mem, &zero, sizeof zero, 0,
                                     rows * cols * sizeof(float), 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        clg_tensor_destroy(*out);
        *out = NULL;
        return clg_fail_cl(ctx, err, "clEnqueueFillBuffer(tensor)");
    }
    return CLG_OK;
}

clg_status clg_tensor_from_host(clg_context *ctx, const float *host, size_t rows, size_t cols,
                                clg_tensor **out)
{
    if (!host) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_tensor_from_host: NULL data");
    clg_status s = clg_tensor_create(ctx, rows, cols, out);
    if (s == CLG_OK && (s = clg_tensor_upload(*out, host, rows, cols)) != CLG_OK) {
        clg_tensor_destroy(*out);
        *out = NULL;
    }
    return s;
}

void clg_tensor_destroy(clg_tensor *t)
{
    if (!t) return;
    clReleaseMemObject(t->mem);
    free(t);
}

size_t clg_tensor_rows(const clg_tensor *t) { return t ? t->rows : 0; }
size_t clg_tensor_cols(const clg_tensor *t) { return t ? t->cols : 0; }

static clg_status check_shape(const clg_tensor *t, const float *host, size_t rows, size_t cols,
                              const char *op)
{
    if (!t || !host)
        return clg_fail(t ? t->ctx : NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    if (rows != t->rows || cols != t->cols)
        return clg_fail(t->ctx, CLG_ERR_SHAPE, "%s: host shape %zux%zu but tensor is %zux%zu", op,
                        rows, cols, t->rows, t->cols);
    return CLG_OK;
}

clg_status clg_tensor_upload(clg_tensor *t, const float *host, size_t rows, size_t cols)
{
    clg_status s = check_shape(t, host, rows, cols, "clg_tensor_upload");
    if (s != CLG_OK) return s;
    /* Blocking: the caller may free or reuse host right after the call. */
    cl_int err = clEnqueueWriteBuffer(t->ctx->queue, t->mem, CL_TRUE, 0,
                                      rows * cols * sizeof(float), host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(t->ctx, err, "clEnqueueWriteBuffer(tensor)");
}

clg_status clg_tensor_download(const clg_tensor *t, float *host, size_t rows, size_t cols)
{
    clg_status s = check_shape(t, host, rows, cols, "clg_tensor_download");
    if (s != CLG_OK) return s;
    cl_int err = clEnqueueReadBuffer(t->ctx->queue, t->mem, CL_TRUE, 0, rows * cols * sizeof(float),
                                     host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(t->ctx, err, "clEnqueueReadBuffer(tensor)");
}

clg_status clg_tensor_fill(clg_tensor *t, float value)
{
    if (!t) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_tensor_fill: NULL tensor");
    cl_uint n = (cl_uint)(t->rows * t->cols);
    size_t global = clg_round_up(n, 64);
    clg_arg args[] = {CLG_ARG(t->mem), CLG_ARG(n), CLG_ARG(value)};
    return clg_launch(t->ctx, "tensor", "tensor_fill", 1, &global, NULL, 3, args);
}

clg_status clg_tensor_resize(clg_tensor *t, size_t rows, size_t cols)
{
    if (!t) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_tensor_resize: NULL tensor");
    if (rows == 0 || cols == 0 || cols > t->capacity / rows)
        return clg_fail(t->ctx, CLG_ERR_SHAPE,
                        "clg_tensor_resize: %zux%zu does not fit the %zu elements allocated", rows,
                        cols, t->capacity);
    t->rows = rows;
    t->cols = cols;
    return CLG_OK;
}
