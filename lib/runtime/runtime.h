/* runtime: errors, devices, the context and its queues, programs and their cache, launch,
 * tensors, CLBlast glue and tuning. Sees base only. */
#ifndef CLGRAD_RUNTIME_H
#define CLGRAD_RUNTIME_H
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdarg.h>

#include "base.h"
#include "clgrad.h"

#define CLG_MSG_LEN 2048
#define CLG_MAX_PROGRAMS 16
#define CLG_MAX_KERNELS 64

/* Kernel sources embedded at build time (generated from the files of cl/). */
typedef struct clg_kernel_source {
    const char *name; /* file stem: "linear" for cl/linear.cl */
    const char *text;
} clg_kernel_source;
extern const clg_kernel_source clg_kernel_sources[];
extern const size_t clg_kernel_source_count;

typedef struct clg_program_slot {
    const char *name;
    cl_program program;
} clg_program_slot;

typedef struct clg_kernel_slot {
    const char *name; /* kernel function name (points into static storage) */
    cl_kernel kernel;
} clg_kernel_slot;

/* config.c: the context's settings, resolved once at creation from clg_context_options
 * and the CLGRAD_* variables (the only place that reads the environment). Code below
 * reads these, never the environment. */
typedef struct clg_config {
    clg_fused_path fused;     /* never CLG_FUSED_DEFAULT */
    clg_product_impl product; /* never CLG_PRODUCT_DEFAULT */
    clg_setting stream;       /* CLG_SETTING_AUTO, _ON or _OFF */
    int tune;                 /* 1: apply the stored CLBlast tuning at creation */
    int build_warnings;       /* 1: compile without -w */
    void (*on_build)(const char *program, const char *device, void *user);
    void *on_build_user;
    /* Testing knobs, not options: tests set them on a live context (ctx->cfg.x = ...). */
    int epoch_loss_overlap;       /* train/epoch_loss.c: 0 never, 1 when it pays, 2 always */
    size_t synthetic_chunk_bytes; /* data/synthetic.c: rows drawn per chunk when streamed */
    size_t solve_chunk_bytes;     /* solve/solve.c: rows uploaded per chunk when streamed */
} clg_config;

struct clg_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    cl_command_queue aux_queue; /* epoch_loss.c: a second in-order queue, made on first use */
    clg_device_info info;
    int cache_on;
    int cache_binary; /* 1: load our stored binaries; 0: rebuild from source (driver cache) */
    char cache_dir[1024];
    clg_program_slot programs[CLG_MAX_PROGRAMS];
    size_t program_count;
    clg_kernel_slot kernels[CLG_MAX_KERNELS];
    size_t kernel_count;
    clg_context_stats stats;
    char err[CLG_MSG_LEN];
    char *build_log;
    void *blas_params; /* applied CLBlast overrides (tune.c: struct clg_tune_state), may be NULL */
    cl_mem gemm_scratch; /* gemm.c: CLBlast's temporary buffer, grown on demand */
    clg_config cfg;
    size_t gemm_scratch_bytes;
};

struct clg_tensor {
    clg_context *ctx;
    size_t rows, cols;
    size_t capacity; /* elements allocated */
    cl_mem mem;
};

/* error.c: set the message of ctx (or of this thread when ctx is NULL) and return s. */
clg_status clg_fail(const clg_context *ctx, clg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Message "op: CL_ERROR_NAME"; maps memory errors to CLG_ERR_DEVICE_MEMORY/HOST_MEMORY. */
clg_status clg_fail_cl(const clg_context *ctx, cl_int err, const char *op);
const char *clg_cl_error_name(cl_int err);
void clg_clear_error(const clg_context *ctx);

/* context.c: one process-wide lock for state that OpenCL drivers and CLBlast keep per
 * process (platform and device enumeration, CLBlast's parameter overrides and caches). */
void clg_process_lock(void);
void clg_process_unlock(void);

/* config.c: dst (size bytes, the library's struct, holding the defaults) takes the caller's
 * options src as far as the caller's header knew them: src's first field is its
 * struct_size; one below v1_size (not made by the defaults function) is refused naming
 * `defaults`. dst's struct_size stays the library's. */
clg_status clg_options_copy(const clg_context *ctx, const char *op, const char *defaults, void *dst,
                            size_t size, const void *src, size_t v1_size);
/* config.c: fills ctx->cfg, cache_on, cache_binary, cache_dir from opts (NULL: defaults)
 * and the environment; *device and *origin get the device selection and where it came
 * from ("device selection" or "CLGRAD_DEVICE"; *device NULL: the default device). */
clg_status clg_config_resolve(clg_context *ctx, const clg_context_options *opts,
                              const char **device, const char **origin);
/* Sets one run-time setting of a live context from a CLGRAD_FUSED, CLGRAD_GEMM or
 * CLGRAD_STREAM value, validated as at creation (value NULL or "": automatic). For tests
 * and the self-test, which change paths on one context. */
clg_status clg_config_set(clg_context *ctx, const char *var, const char *value);
/* $CLGRAD_DEVICE for clg_device_select(NULL) (NULL when unset). */
const char *clg_config_device_env(void);

/* device.c */
typedef struct clg_device_handle {
    cl_platform_id platform;
    cl_device_id device;
} clg_device_handle;
/* Resolves a selection to OpenCL handles and info. */
/* spec NULL: the default device; origin names spec in messages. */
clg_status clg_device_resolve(const char *spec, const char *origin, clg_device_handle *h,
                              clg_device_info *info);

/* program.c: kernel of family `program` (file stem) named `kernel`, built or
 * fetched from the cache on first use; the kernel object is owned by ctx. */
clg_status clg_kernel_get(clg_context *ctx, const char *program, const char *kernel,
                          cl_kernel *out);
void clg_programs_release(clg_context *ctx);
const char *clg_program_options(const clg_context *ctx);

/* launch.c: set arguments and enqueue a 1-D or 2-D range. */
typedef struct clg_arg {
    size_t size;
    const void *value; /* NULL with size > 0: local memory of that size */
} clg_arg;
#define CLG_ARG(v) ((clg_arg){sizeof(v), &(v)})
#define CLG_LOCAL(bytes) ((clg_arg){(bytes), NULL})
clg_status clg_launch(clg_context *ctx, const char *program, const char *kernel, cl_uint dims,
                      const size_t *global, const size_t *local, size_t nargs, const clg_arg *args);
/* The same on a given queue of the context (the overlapped epoch loss uses its second). */
clg_status clg_launch_on(clg_context *ctx, cl_command_queue queue, const char *program,
                         const char *kernel, cl_uint dims, const size_t *global,
                         const size_t *local, size_t nargs, const clg_arg *args);
size_t clg_round_up(size_t n, size_t m);

/* workgroup.c: limits for one kernel on ctx's device, so local sizes are valid
 * everywhere: *group = min(CL_KERNEL_WORK_GROUP_SIZE, device max), items[0..1] =
 * CL_DEVICE_MAX_WORK_ITEM_SIZES, *local_free = local memory left for __local args. */
clg_status clg_kernel_limits(clg_context *ctx, const char *program, const char *kernel,
                             size_t *group, size_t items[2], size_t *local_free);
/* Largest power of two <= n (n >= 1). */
size_t clg_pow2_floor(size_t n);

/* tune.c: applies the stored CLBlast tuning at context creation (never fails;
 * the outcome is in stats and clg_context_tuning) and frees ctx->blas_params. */
void clg_tune_on_create(clg_context *ctx);
void clg_tune_release(clg_context *ctx);

/* tensor.c */
clg_status clg_check_alloc(const clg_context *ctx, size_t bytes, const char *what);
clg_status clg_buffer_create(clg_context *ctx, size_t bytes, const char *what, cl_mem *out);

/* gemm.c: the product implementation (ctx->cfg.product, CLGRAD_GEMM) and the rule choosing CLBlast for a
 * product of M×K and K×N; clg_gemm_clblast enqueues row-major C = op(A)·op(B) + beta·C
 * (ta/tb: A/B transposed) without waiting; what names the caller in messages. */
typedef enum clg_gemm_choice { CLG_GEMM_AUTO, CLG_GEMM_OWN, CLG_GEMM_CLBLAST } clg_gemm_choice;
clg_status clg_gemm_mode(const clg_context *ctx, clg_gemm_choice *mode);
int clg_gemm_wide(clg_gemm_choice mode, size_t M, size_t N, size_t K);
void clg_gemm_on_create(clg_context *ctx);
void clg_gemm_release(clg_context *ctx);
clg_status clg_gemm_clblast(clg_context *ctx, int ta, int tb, size_t M, size_t N, size_t K,
                            cl_mem A, size_t lda, cl_mem B, size_t ldb, float beta, cl_mem C,
                            size_t ldc, const char *what);
/* The same with C starting c_off floats into its buffer. CLBlast's other routines that
 * need temporary buffers allocate them themselves, and CLBlast 1.5.3 aborts the process
 * (std::terminate) when such an allocation fails: clgrad's products go through these two,
 * whose temporary is the context's scratch buffer (tests/test_faults.c). */
clg_status clg_gemm_clblast_at(clg_context *ctx, int ta, int tb, size_t M, size_t N, size_t K,
                               cl_mem A, size_t lda, cl_mem B, size_t ldb, float beta, cl_mem C,
                               size_t c_off, size_t ldc, const char *what);

#endif
