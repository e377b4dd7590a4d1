/* clgrad — linear neural networks (d2l chapter 3) trained on any OpenCL device.
 *
 * Conventions
 *  - Every public symbol starts with clg_ / CLG_. Handles are opaque.
 *  - Every fallible call returns clg_status; outputs go through pointer arguments.
 *    clg_last_error(ctx) holds a sentence describing the last failure on that
 *    context; calls that have no context (device listing, context creation) keep
 *    their message per thread, read with clg_last_error(NULL).
 *  - The library never prints (unless a callback it was given does) and never
 *    calls exit() or abort().
 *  - Ownership: every clg_x_create has a clg_x_destroy that accepts NULL. Host
 *    arrays passed in are copied and stay the caller's.
 *  - Threads: a context and everything made from it are used by one thread at a
 *    time. Separate contexts are independent. The on-disk program cache is safe
 *    across threads and processes (files are written atomically).
 *  - Matrices are float32, row-major. A Linear layer's weight is stored d×q
 *    (inputs × outputs), so the forward pass is Y = X·W + b.
 */
#ifndef CLGRAD_H
#define CLGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "clgrad_version.h"

#if defined(_WIN32) && defined(CLGRAD_BUILDING_SHARED)
#define CLG_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CLG_API __attribute__((visibility("default")))
#else
#define CLG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

typedef enum clg_status {
    CLG_OK = 0,
    CLG_ERR_INVALID_ARGUMENT, /* NULL pointer, zero size, bad option value */
    CLG_ERR_SHAPE,            /* shapes of arguments do not agree */
    CLG_ERR_NO_PLATFORM,      /* no OpenCL platform is installed */
    CLG_ERR_NO_DEVICE,        /* the device selection matched nothing */
    CLG_ERR_OPENCL,           /* an OpenCL call failed (message names it) */
    CLG_ERR_BUILD,            /* a kernel program failed to build (see build log) */
    CLG_ERR_HOST_MEMORY,      /* malloc failed */
    CLG_ERR_DEVICE_MEMORY,    /* request beyond the device's limits, or allocation failed */
    CLG_ERR_NONFINITE,        /* NaN or Inf in input data or in a result */
    CLG_ERR_IO,               /* a file could not be opened, read or written */
    CLG_ERR_FORMAT,           /* a file is malformed, truncated or of another kind */
    CLG_ERR_SINGULAR,         /* a linear system is rank deficient */
    CLG_ERR_BLAS,             /* CLBlast returned an error */
    CLG_ERR_UNSUPPORTED,      /* the device or build lacks what the call needs */
    CLG_ERR_STATE,            /* call out of order (e.g. backward before forward) */
    CLG_STATUS_COUNT
} clg_status;

/* Name of a status code ("CLG_ERR_SHAPE"); never NULL. */
CLG_API const char *clg_status_string(clg_status s);

typedef struct clg_context clg_context;

/* Message of the last failure on ctx, or of this thread's last context-less
 * call when ctx is NULL. Empty string when there was none. Valid until the
 * next failing call on the same context / thread. */
CLG_API const char *clg_last_error(const clg_context *ctx);

/* Build log of the last kernel build that failed on ctx (empty if none). */
CLG_API const char *clg_build_log(const clg_context *ctx);

CLG_API const char *clg_version(void);

/* ----------------------------------------------------------------- devices */

typedef enum clg_device_type {
    CLG_DEVICE_GPU = 1,
    CLG_DEVICE_ACCELERATOR = 2,
    CLG_DEVICE_CPU = 3,
    CLG_DEVICE_OTHER = 4
} clg_device_type;

typedef struct clg_device_info {
    unsigned platform_index; /* position in clGetPlatformIDs order */
    unsigned device_index;   /* position within its platform */
    clg_device_type type;
    char platform_name[128];
    char device_name[128];
    char vendor[128];
    char driver_version[64];
    char opencl_version[128];
    unsigned compute_units;
    uint64_t global_mem_size;
    uint64_t max_alloc_size;
    uint64_t local_mem_size;
    size_t max_work_group_size;
} clg_device_info;

/* Lists every device of every platform, in platform order then device order.
 * Writes at most `capacity` entries to `out` (which may be NULL when capacity
 * is 0) and the total number of devices to *count. */
CLG_API clg_status clg_device_list(clg_device_info *out, size_t capacity, size_t *count);

/* Resolves a device selection to an index into clg_device_list's order.
 * spec: NULL means $CLGRAD_DEVICE if set, else the default (the first
 * GPU, else the first accelerator, else the first CPU, else the first device).
 * Forms: "gpu", "cpu", "accelerator", "P:D" (platform and device index), or a
 * case-insensitive substring of "platform name device name". A spec that
 * matches nothing fails with CLG_ERR_NO_DEVICE and a message listing devices.
 * "default" names the default. An empty spec or empty $CLGRAD_DEVICE is an error. */
CLG_API clg_status clg_device_select(const char *spec, size_t *index);

/* ----------------------------------------------------------------- context */

/* Creates a context (OpenCL context + in-order queue + program store) on the
 * device chosen by clg_device_select(device). Programs are built lazily, on the
 * first use of a kernel family, and cached on disk under $CLGRAD_CACHE_DIR
 * (default $XDG_CACHE_HOME/clgrad, else ~/.cache/clgrad) unless
 * CLGRAD_NO_CACHE=1. */
CLG_API clg_status clg_context_create(clg_context **out, const char *device);
CLG_API void clg_context_destroy(clg_context *ctx);

/* Information on the context's device. */
CLG_API clg_status clg_context_device(const clg_context *ctx, clg_device_info *info);

/* Waits until every command enqueued on ctx has finished. */
CLG_API clg_status clg_context_finish(clg_context *ctx);

typedef struct clg_context_stats {
    unsigned programs_built;       /* compiled from source in this context */
    unsigned programs_from_cache;  /* loaded from the on-disk binary cache */
    unsigned cache_rejected;       /* cache files found corrupt/foreign and ignored */
    unsigned cache_write_failures; /* binaries that could not be stored */
    unsigned kernels_enqueued;
} clg_context_stats;

CLG_API clg_status clg_context_get_stats(const clg_context *ctx, clg_context_stats *stats);

/* Directory the context's program cache uses ("" when the cache is off). */
CLG_API const char *clg_context_cache_dir(const clg_context *ctx);

/* ------------------------------------------------------------------ tensor */

/* A float32 row-major matrix in device memory. */
typedef struct clg_tensor clg_tensor;

/* Uninitialised rows×cols tensor. Fails with CLG_ERR_DEVICE_MEMORY (message
 * names the request and the device limits) beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE
 * or the global memory size. */
CLG_API clg_status clg_tensor_create(clg_context *ctx, size_t rows, size_t cols, clg_tensor **out);
CLG_API clg_status clg_tensor_zeros(clg_context *ctx, size_t rows, size_t cols, clg_tensor **out);
/* Creates a tensor holding a copy of host[rows*cols]. */
CLG_API clg_status clg_tensor_from_host(clg_context *ctx, const float *host, size_t rows,
                                        size_t cols, clg_tensor **out);
CLG_API void clg_tensor_destroy(clg_tensor *t);
CLG_API size_t clg_tensor_rows(const clg_tensor *t);
CLG_API size_t clg_tensor_cols(const clg_tensor *t);
/* Copies host data in / out. rows and cols must equal the tensor's shape
 * (CLG_ERR_SHAPE otherwise). Download blocks until the data is on the host. */
CLG_API clg_status clg_tensor_upload(clg_tensor *t, const float *host, size_t rows, size_t cols);
CLG_API clg_status clg_tensor_download(const clg_tensor *t, float *host, size_t rows, size_t cols);
/* Sets every element to value (enqueued; no wait). */
CLG_API clg_status clg_tensor_fill(clg_tensor *t, float value);

#ifdef __cplusplus
}
#endif
#endif
