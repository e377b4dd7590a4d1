/* Status names, error messages, OpenCL error names. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

static _Thread_local char thread_err[CLG_MSG_LEN];

static const char *const status_names[CLG_STATUS_COUNT] = {
    [CLG_OK] = "CLG_OK",
    [CLG_ERR_INVALID_ARGUMENT] = "CLG_ERR_INVALID_ARGUMENT",
    [CLG_ERR_SHAPE] = "CLG_ERR_SHAPE",
    [CLG_ERR_NO_PLATFORM] = "CLG_ERR_NO_PLATFORM",
    [CLG_ERR_NO_DEVICE] = "CLG_ERR_NO_DEVICE",
    [CLG_ERR_OPENCL] = "CLG_ERR_OPENCL",
    [CLG_ERR_BUILD] = "CLG_ERR_BUILD",
    [CLG_ERR_HOST_MEMORY] = "CLG_ERR_HOST_MEMORY",
    [CLG_ERR_DEVICE_MEMORY] = "CLG_ERR_DEVICE_MEMORY",
    [CLG_ERR_NONFINITE] = "CLG_ERR_NONFINITE",
    [CLG_ERR_IO] = "CLG_ERR_IO",
    [CLG_ERR_FORMAT] = "CLG_ERR_FORMAT",
    [CLG_ERR_SINGULAR] = "CLG_ERR_SINGULAR",
    [CLG_ERR_BLAS] = "CLG_ERR_BLAS",
    [CLG_ERR_UNSUPPORTED] = "CLG_ERR_UNSUPPORTED",
    [CLG_ERR_STATE] = "CLG_ERR_STATE",
    [CLG_ERR_DIVERGED] = "CLG_ERR_DIVERGED",
    [CLG_ERR_CANCELLED] = "CLG_ERR_CANCELLED",
    [CLG_ERR_COMM] = "CLG_ERR_COMM",
};

const char *clg_status_string(clg_status s)
{
    if ((int)s < 0 || s >= CLG_STATUS_COUNT || !status_names[s]) return "CLG_ERR_UNKNOWN_STATUS";
    return status_names[s];
}

const char *clg_version(void) { return CLGRAD_VERSION_STRING; }

const char *clg_last_error(const clg_context *ctx) { return ctx ? ctx->err : thread_err; }

const char *clg_build_log(const clg_context *ctx)
{
    return ctx && ctx->build_log ? ctx->build_log : "";
}

void clg_clear_error(const clg_context *ctx)
{
    char *buf = ctx ? (char *)ctx->err : thread_err;
    buf[0] = '\0';
}

static clg_status vfail(const clg_context *ctx, clg_status s, const char *fmt, va_list ap)
{
    /* The message buffer is diagnostic state, not part of the context's logical value. */
    char *buf = ctx ? (char *)ctx->err : thread_err;
    vsnprintf(buf, CLG_MSG_LEN, fmt, ap);
    return s;
}

clg_status clg_set_error(const clg_context *ctx, clg_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, s, fmt, ap);
    va_end(ap);
    return s;
}

clg_status clg_fail(const clg_context *ctx, clg_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, s, fmt, ap);
    va_end(ap);
    return s;
}

/* One N() per code, packed. */
/* clang-format off */
const char *clg_cl_error_name(cl_int err)
{
    switch (err) {
#define N(x) case x: return #x;
        N(CL_SUCCESS) N(CL_DEVICE_NOT_FOUND) N(CL_DEVICE_NOT_AVAILABLE) N(CL_COMPILER_NOT_AVAILABLE)
        N(CL_MEM_OBJECT_ALLOCATION_FAILURE) N(CL_OUT_OF_RESOURCES) N(CL_OUT_OF_HOST_MEMORY)
        N(CL_PROFILING_INFO_NOT_AVAILABLE) N(CL_MEM_COPY_OVERLAP) N(CL_IMAGE_FORMAT_MISMATCH)
        N(CL_IMAGE_FORMAT_NOT_SUPPORTED) N(CL_BUILD_PROGRAM_FAILURE) N(CL_MAP_FAILURE)
        N(CL_MISALIGNED_SUB_BUFFER_OFFSET) N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        N(CL_COMPILE_PROGRAM_FAILURE) N(CL_LINKER_NOT_AVAILABLE) N(CL_LINK_PROGRAM_FAILURE)
        N(CL_DEVICE_PARTITION_FAILED) N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) N(CL_INVALID_VALUE)
        N(CL_INVALID_DEVICE_TYPE) N(CL_INVALID_PLATFORM) N(CL_INVALID_DEVICE) N(CL_INVALID_CONTEXT)
        N(CL_INVALID_QUEUE_PROPERTIES) N(CL_INVALID_COMMAND_QUEUE) N(CL_INVALID_HOST_PTR)
        N(CL_INVALID_MEM_OBJECT) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) N(CL_INVALID_IMAGE_SIZE)
        N(CL_INVALID_SAMPLER) N(CL_INVALID_BINARY) N(CL_INVALID_BUILD_OPTIONS) N(CL_INVALID_PROGRAM)
        N(CL_INVALID_PROGRAM_EXECUTABLE) N(CL_INVALID_KERNEL_NAME) N(CL_INVALID_KERNEL_DEFINITION)
        N(CL_INVALID_KERNEL) N(CL_INVALID_ARG_INDEX) N(CL_INVALID_ARG_VALUE) N(CL_INVALID_ARG_SIZE)
        N(CL_INVALID_KERNEL_ARGS) N(CL_INVALID_WORK_DIMENSION) N(CL_INVALID_WORK_GROUP_SIZE)
        N(CL_INVALID_WORK_ITEM_SIZE) N(CL_INVALID_GLOBAL_OFFSET) N(CL_INVALID_EVENT_WAIT_LIST)
        N(CL_INVALID_EVENT) N(CL_INVALID_OPERATION) N(CL_INVALID_GL_OBJECT) N(CL_INVALID_BUFFER_SIZE)
        N(CL_INVALID_MIP_LEVEL) N(CL_INVALID_GLOBAL_WORK_SIZE) N(CL_INVALID_PROPERTY)
        N(CL_INVALID_IMAGE_DESCRIPTOR) N(CL_INVALID_COMPILER_OPTIONS) N(CL_INVALID_LINKER_OPTIONS)
        N(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef N
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "CL_UNKNOWN_ERROR";
    }
}
/* clang-format on */

clg_status clg_fail_cl(const clg_context *ctx, cl_int err, const char *op)
{
    clg_status s = CLG_ERR_OPENCL;
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_INVALID_BUFFER_SIZE)
        s = CLG_ERR_DEVICE_MEMORY;
    else if (err == CL_OUT_OF_HOST_MEMORY)
        s = CLG_ERR_HOST_MEMORY;
    return clg_fail(ctx, s, "%s: %s (%d)", op, clg_cl_error_name(err), (int)err);
}
