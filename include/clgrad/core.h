/* clgrad: status, version and errors; devices; contexts and their options; device tensors; random numbers. Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_CORE_H
#define CLGRAD_API_CORE_H

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
    CLG_ERR_DIVERGED,         /* training diverged: the loss grew beyond diverge_factor */
    CLG_ERR_CANCELLED,        /* stopped by its cancel flag (clg_fit_options.cancel) */
    CLG_ERR_COMM,             /* a distributed fit's communicator failed, or another rank did */
    CLG_STATUS_COUNT
} clg_status;

/* Name of a status code ("CLG_ERR_SHAPE"); never NULL. */
CLG_API const char *clg_status_string(clg_status s);

typedef struct clg_context clg_context;

/* Message of the last failure on ctx, or of this thread's last context-less
 * call when ctx is NULL. Empty string when there was none. Valid until the
 * next failing call on the same context / thread. */
CLG_API const char *clg_last_error(const clg_context *ctx);
/* Records a failure's message (printf format) where clg_last_error(ctx) reads it, and
 * returns s: for code that extends clgrad (libclgrad_mpi, a clg_comm of the caller's). */
CLG_API clg_status clg_set_error(const clg_context *ctx, clg_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

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

/* "GPU", "accelerator", "CPU" or "other". */
CLG_API const char *clg_device_type_string(clg_device_type t);

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

/* Settings of a context (docs/guide.md "Configuration"). Every field's zero value, *_DEFAULT,
 * means "not set": the CLGRAD_* variable named beside it decides, else the automatic
 * choice. Precedence: automatic choice < environment < a field set here. The environment
 * is read once, by clg_context_create_with; a bad value there refuses the context with
 * CLG_ERR_INVALID_ARGUMENT and a message naming the variable.
 * ABI: struct_size, set by clg_context_options_defaults(), tells the library which
 * fields the caller knows; fields are only ever appended. Always start from the defaults. */
typedef enum clg_setting {
    CLG_SETTING_DEFAULT = 0, /* the environment, else automatic */
    CLG_SETTING_AUTO,        /* the library's choice, whatever the environment says */
    CLG_SETTING_ON,
    CLG_SETTING_OFF
} clg_setting;

typedef enum clg_fused_path { /* CLGRAD_FUSED */
                              CLG_FUSED_DEFAULT = 0,
                              CLG_FUSED_AUTO,      /* "auto" or "1" */
                              CLG_FUSED_OFF,       /* "0" or "off": the unfused path */
                              CLG_FUSED_MINIBATCH, /* "minibatch" */
                              CLG_FUSED_EPOCH,     /* "epoch" */
                              CLG_FUSED_PIPELINE,  /* "pipeline" */
                              CLG_FUSED_SPLIT      /* "split" */
} clg_fused_path;

typedef enum clg_product_impl { /* CLGRAD_GEMM */
                                CLG_PRODUCT_DEFAULT = 0,
                                CLG_PRODUCT_AUTO, /* "auto": CLBlast for wide products, the own kernel otherwise */
                                CLG_PRODUCT_OWN,    /* "own" */
                                CLG_PRODUCT_CLBLAST /* "clblast" */
} clg_product_impl;

typedef enum clg_cache_mode { /* CLGRAD_CACHE_MODE */
                              CLG_CACHE_DEFAULT = 0,
                              CLG_CACHE_BINARY, /* "binary": load clgrad's stored binaries (the default) */
                              CLG_CACHE_SOURCE /* "source": rebuild from source; the driver's cache only */
} clg_cache_mode;

typedef struct clg_context_options {
    size_t struct_size;       /* sizeof(clg_context_options) of the caller's header */
    const char *device;       /* NULL: $CLGRAD_DEVICE, else the default (clg_device_select) */
    clg_fused_path fused;     /* CLGRAD_FUSED */
    clg_product_impl product; /* CLGRAD_GEMM */
    clg_setting cache;        /* ON/AUTO: cache when a directory is known; CLGRAD_NO_CACHE=1: OFF */
    const char *cache_dir;    /* NULL: $CLGRAD_CACHE_DIR, $XDG_CACHE_HOME/clgrad, ~/.cache/clgrad */
    clg_cache_mode cache_mode; /* CLGRAD_CACHE_MODE */
    clg_setting stream;        /* CLGRAD_STREAM: ON always, OFF never, AUTO what does not fit */
    clg_setting tune;          /* apply the stored CLBlast tuning; CLGRAD_NO_TUNE=1: OFF */
    /* Fields appended later (callers built before them pass a smaller struct_size). */
    clg_setting build_warnings; /* CLGRAD_BUILD_WARNINGS=1: ON, the OpenCL compiler's warnings
                                   reach stderr; otherwise kernels build with -w (no chatter) */
    /* Called before one of clgrad's kernel programs is compiled from source (not loaded
     * from the program cache), e.g. to print "compiling kernels for <device>, once" before
     * the seconds a first run takes. program: "linear", "fused", ...; device: its name. */
    void (*on_build)(const char *program, const char *device, void *user);
    void *on_build_user;
} clg_context_options;

/* Every field "not set" (the environment decides), struct_size filled in. */
CLG_API clg_context_options clg_context_options_defaults(void);
/* As clg_context_create with explicit settings; opts NULL: the defaults.
 * clg_context_create(out, device) is this with the defaults and opts.device = device. */
CLG_API clg_status clg_context_create_with(clg_context **out, const clg_context_options *opts);
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
    unsigned
        blas_tuned_from_cache;   /* 1 when a stored CLBlast tuning was applied (clg_tune_apply) */
    unsigned blas_tune_rejected; /* stored tunings found corrupt/foreign and ignored */
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
/* Changes the logical shape; rows*cols must not exceed the elements the tensor
 * was created with (CLG_ERR_SHAPE otherwise). Useful for a partial last batch. */
CLG_API clg_status clg_tensor_resize(clg_tensor *t, size_t rows, size_t cols);
/* Sets every element to value (enqueued; no wait). */
CLG_API clg_status clg_tensor_fill(clg_tensor *t, float value);

/* ------------------------------------------------------------------ random */

/* Philox4x32-10, the counter-based generator behind every random number in
 * clgrad (the device kernels run the same function): out = philox(counter, key). */
CLG_API void clg_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
