/* Internal declarations shared by the files of lib/; never installed. */
#ifndef CLGRAD_INTERNAL_H
#define CLGRAD_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdarg.h>

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
    /* selftest.c: values that win over CLGRAD_FUSED / CLGRAD_GEMM while it runs (NULL: none) */
    const char *force_fused, *force_gemm;
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

/* file.c: writes buf to path whole or not at all (temporary + fsync + rename + directory
 * fsync); follows symlinks, refuses non-regular files, removes temporaries that dead
 * processes left for the same path. A failure is CLG_ERR_IO (or CLG_ERR_HOST_MEMORY) with
 * the message, starting with op, in msg; no context, so the caller reports it. */
clg_status clg_file_write_atomic(const char *op, const char *path, const void *buf, size_t len,
                                 char *msg, size_t msglen);
int clg_mkdir_p(const char *dir); /* 0 or -1 with errno */
const char *clg_os_reason(int err, char *buf, size_t len); /* strerror_r into buf */

/* context.c: one process-wide lock for state that OpenCL drivers and CLBlast keep per
 * process (platform and device enumeration, CLBlast's parameter overrides and caches). */
void clg_process_lock(void);
void clg_process_unlock(void);

/* device.c */
typedef struct clg_device_handle {
    cl_platform_id platform;
    cl_device_id device;
} clg_device_handle;
/* Resolves a selection to OpenCL handles and info. */
clg_status clg_device_resolve(const char *spec, clg_device_handle *h, clg_device_info *info);

/* program.c: kernel of family `program` (file stem) named `kernel`, built or
 * fetched from the cache on first use; the kernel object is owned by ctx. */
clg_status clg_kernel_get(clg_context *ctx, const char *program, const char *kernel, cl_kernel *out);
void clg_programs_release(clg_context *ctx);
const char *clg_program_options(void);
uint64_t clg_hash64(const void *data, size_t len, uint64_t h);
#define CLG_HASH_SEED 0xcbf29ce484222325ULL

/* launch.c: set arguments and enqueue a 1-D or 2-D range. */
typedef struct clg_arg {
    size_t size;
    const void *value; /* NULL with size > 0: local memory of that size */
} clg_arg;
#define CLG_ARG(v) ((clg_arg){sizeof(v), &(v)})
#define CLG_LOCAL(bytes) ((clg_arg){(bytes), NULL})
clg_status clg_launch(clg_context *ctx, const char *program, const char *kernel, cl_uint dims,
                      const size_t *global, const size_t *local, size_t nargs, const clg_arg *args);
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

/* ---------------------------------------------------------------- data layer */

struct clg_dataset {
    clg_context *ctx;
    size_t n, d, q;
    size_t classes; /* 0: regression; else Y is n×1 float class ids */
    clg_tensor *X; /* n×d; NULL when streamed */
    clg_tensor *Y; /* n×q; NULL when streamed */
    int streamed;  /* 1: X and Y live in host memory (hX, hY); loaders upload batches */
    float *hX, *hY; /* host copies (n×d, n×q) of a streamed dataset, else NULL */
    size_t loaders; /* live loaders borrowing ds (clg_dataset_set_streaming refuses then) */
};

struct clg_loader {
    clg_dataset *ds;
    clg_loader_options opts;
    uint64_t epoch;     /* epochs started so far */
    size_t next;        /* next batch index within the epoch */
    size_t batches;     /* per epoch */
    uint32_t *order;    /* host copy of this epoch's permutation (n) */
    cl_mem order_dev;   /* device copy (n uint32) */
    cl_event order_written; /* host order may be rewritten once this completed */
    clg_tensor *Xb, *Yb; /* batch_size rows of capacity; rows set per batch */
    /* Streamed datasets only (ds->streamed): rows are gathered on the host into
     * stage[slot] (cap·d floats of X, then cap·q of Y), uploaded without blocking
     * into the slot's device tensors (slot 0: Xb/Yb, slot 1: Xb2/Yb2), and the
     * slot alternates per batch. upload[slot] are the two writes' events: the
     * staging buffer is refilled only once they completed. order_dev is unused. */
    clg_tensor *Xb2, *Yb2;
    cl_mem stage_mem[2];  /* pinned (CL_MEM_ALLOC_HOST_PTR) staging, mapped; NULL if malloc'd */
    float *stage[2];
    cl_event upload[2][2];
    unsigned slot;        /* slot of the next batch (alternates across epochs too) */
};

/* data.c: a dataset with uninitialised n×d and n×q device tensors. */
clg_status clg_dataset_alloc(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out);
/* data.c: a streamed dataset with uninitialised host arrays hX (n×d), hY (n×q). */
clg_status clg_dataset_alloc_host(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out);
/* data.c: *stream = 1 when a new n×d, n×q dataset is to be streamed (CLGRAD_STREAM, else
 * clg_dataset_needs_streaming). */
clg_status clg_dataset_decide_streaming(const clg_context *ctx, size_t n, size_t d, size_t q,
                                        int *stream);
/* synthetic.c: rows per chunk of a streamed synthetic dataset × (d+1) floats (32 MiB;
 * tests lower it). */
extern size_t clg_synthetic_chunk_bytes;
/* data.c: 1 when a dataset of n×d features and n×q targets does not fit the device
 * and clg_dataset_from_host(_labels) keeps it on the host: X or Y beyond
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, X+Y beyond half of CL_DEVICE_GLOBAL_MEM_SIZE
 * (the other half is left to batches, model and activations), or a byte count
 * that overflows size_t. */
int clg_dataset_needs_streaming(const clg_context *ctx, size_t n, size_t d, size_t q);

/* Philox streams: 0 and 1 are synthetic_linear's X and noise; layer init draws from
 * its own stream so the same seed never makes weights equal to data. */
#define CLG_STREAM_INIT 2u

/* philox.c: host helpers on the Philox stream (same as cl/common.cl). */
float clg_philox_u01(uint32_t u);
/* Fills out[n] with N(0, std²) samples from (seed, stream); index i uses counter
 * (lo32(i/4), stream, hi32(i/4), 0) words by Box–Muller pairs, as cl/data.cl does.
 * Streams 0 (X) and 1 (noise) are synthetic_linear's; the loader tags word 3. */
void clg_philox_normal(uint64_t seed, uint32_t stream, float std, float *out, size_t n);

/* --------------------------------------------------------------- model layer */

typedef enum clg_layer_kind { CLG_LAYER_LINEAR, CLG_LAYER_RELU } clg_layer_kind;

typedef struct clg_layer {
    clg_layer_kind kind;
    size_t in, out;
    cl_mem W, b;       /* linear only: in×out and 1×out */
    cl_mem dW, db;     /* gradients, same shapes */
    clg_tensor *Y;     /* output activations, capacity rows × out */
    clg_tensor *dX;    /* gradient w.r.t. the input, capacity rows × in */
} clg_layer;

#define CLG_MAX_LAYERS 32

struct clg_model {
    clg_context *ctx;
    clg_layer layers[CLG_MAX_LAYERS];
    size_t nlayers;
    size_t capacity;       /* rows the activation buffers hold */
    const clg_tensor *X;   /* input of the last forward (borrowed) */
    size_t rows;           /* rows of the last forward */
};

typedef struct clg_sgd_group {
    clg_sgd_options opts;
} clg_sgd_group;

struct clg_optimizer {
    clg_model *model;
    size_t nparams;
    size_t *group_of;        /* per parameter: index into groups */
    clg_sgd_group *groups;   /* groups[0] is the default group */
    size_t ngroups;
    cl_mem *momentum;        /* per parameter, allocated on first use (NULL otherwise) */
    unsigned long long steps;
};

/* Parameter index i → its buffers and size. */
typedef struct clg_param_ref {
    cl_mem value, grad;
    size_t count;
} clg_param_ref;
clg_status clg_model_param_ref(const clg_model *m, size_t index, clg_param_ref *ref);

/* solve.c: bytes of [X | Y] rows per upload for a streamed dataset (32 MiB; tests
 * lower it to cover several chunks). */
extern size_t clg_solve_chunk_bytes;

/* checkpoint.c: CRC-32 (IEEE 802.3, same values as zlib's crc32); crc 0 to start,
 * or a previous result to continue. */
uint32_t clg_crc32(uint32_t crc, const void *data, size_t len);
/* checkpoint.c: reads and validates the checkpoint at path exactly as clg_model_load does
 * before it creates anything; needs no context (the message goes to the thread's).
 * For tests/fuzz/fuzz_checkpoint.c. */
clg_status clg_checkpoint_check(const char *path);

/* ---------------------------------------------------------------- ops layer
 * One host wrapper per kernel: argument checks are the caller's, these only
 * enqueue (no waits). Sizes are in elements. */

/* data.cl */
/* Rows row0 .. row0+n-1 of the synthetic dataset of that seed into X (n×d), y (n). */
clg_status clg_op_synthetic_linear(clg_context *ctx, cl_mem X, cl_mem y, cl_mem w, float b,
                                   float noise, size_t row0, size_t n, size_t d, uint64_t seed);
clg_status clg_op_gather_rows(clg_context *ctx, cl_mem src, cl_mem order, size_t offset,
                              size_t count, size_t cols, cl_mem dst);
/* gemm.c: CLGRAD_GEMM (auto | own | clblast) and the rule choosing CLBlast for a
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
/* linear.cl: Y = X·W + b; dW = Xᵀ·dY, db = colsum(dY), dX = dY·Wᵀ (dX may be NULL). */
clg_status clg_op_linear_forward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem b, cl_mem Y,
                                 size_t B, size_t d, size_t q);
clg_status clg_op_linear_backward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem dY, cl_mem dW,
                                  cl_mem db, cl_mem dX, size_t B, size_t d, size_t q);
clg_status clg_op_relu_forward(clg_context *ctx, cl_mem X, cl_mem Y, size_t n);
clg_status clg_op_relu_backward(clg_context *ctx, cl_mem X, cl_mem dY, cl_mem dX, size_t n);
/* loss.cl. B x q is the shape of pred; target is B x q for the regression losses
 * and B x 1 float class ids for CLG_LOSS_SOFTMAX_XENT (q = C classes), whose
 * MEAN divides by B (per sample) and whose NONE output is B x 1. A class id not
 * an integer in [0, C) makes that row's loss and gradient NaN. */
clg_status clg_op_loss_value(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                             cl_mem target, cl_mem out, size_t B, size_t q);
clg_status clg_op_loss_grad(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                            cl_mem target, cl_mem grad, size_t B, size_t q);
/* acc[0] += sum over the B×q elements of the per-element loss (for cross-entropy:
 * over the B per-sample losses), fixed order. */
clg_status clg_op_loss_accumulate(clg_context *ctx, clg_loss_kind kind, cl_mem pred, cl_mem target,
                                  cl_mem acc, size_t B, size_t q);
/* acc[0] += number of the B rows of pred (B×C) whose argmax equals the class id in
 * target (B×1); the first maximum wins (torch.argmax), a NaN counts as the largest,
 * a class id out of range never matches. Fixed order; exact below 2^24. */
clg_status clg_op_accuracy_accumulate(clg_context *ctx, cl_mem pred, cl_mem target, cl_mem acc,
                                      size_t B, size_t C);
/* sgd.cl: one step on n elements; mom NULL when momentum is 0. */
clg_status clg_op_sgd_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem mom, size_t n,
                             const clg_sgd_options *o, float grad_scale, int first_step);

/* fused.c (cl/fused.cl): one whole epoch of clg_fit for a single Linear layer with a
 * squared/MSE loss (regression data) or softmax cross-entropy (class ids) and SGD, in
 * one kernel launch per epoch, one per minibatch, or two multi-work-group launches per
 * minibatch (docs/performance.md; CLGRAD_FUSED=0|auto|minibatch|epoch|pipeline). *handled = 0 and nothing done
 * when the setup is not eligible (the caller runs its unfused epoch, loader untouched);
 * else it starts the loader's epoch itself, enqueues every step without waiting, adds
 * the steps to *steps and sets *handled = 1. */
clg_status clg_fused_epoch(clg_model *m, clg_optimizer *opt, clg_loader *ld,
                           const clg_fit_options *o, size_t epoch, int *handled, size_t *steps);
/* train.c: after `done` of `total` batches of epoch `epoch`, when o asks for progress
 * then (every progress_every batches and at the last), waits for the device and
 * calls o->on_progress; else nothing. */
clg_status clg_fit_progress(clg_context *ctx, const clg_fit_options *o, size_t epoch, size_t done,
                            size_t total);
/* fused.c: floats of padding after W in the fused kernels' local memory (as FUSED_OL in
 * cl/fused.cl); work-items the fused forward of `rows` batch rows and the fused
 * backward of a d×q layer (and its bias) take, by cl/fused.cl's blocking. */
#define CLG_FUSED_W_PAD 16
size_t clg_fused_forward_units(size_t rows, size_t q);
size_t clg_fused_backward_units(size_t d, size_t q);
/* fused.c: (lr, momentum, dampening, weight_decay) as the fused kernels take them. */
cl_float4 clg_fused_hyper(const clg_sgd_options *o);
/* fused_split.c: the split-step path (one launch per minibatch over several groups, see
 * there) for an eligible setup whose loader epoch has started; kind 0/1/2 as
 * cl/fused.cl, scales and first_step as fused_sgd_epoch. Local memory it needs for a
 * batch capacity cap: clg_fused_split_local_bytes. */
clg_status clg_fused_split(clg_model *m, clg_optimizer *opt, clg_loader *ld, cl_int kind,
                           cl_float4 scales, cl_int first_step, const clg_fit_options *o,
                           size_t epoch);
size_t clg_fused_split_local_bytes(const clg_context *ctx, size_t d, size_t q, size_t cap);
/* epoch_loss.c: clg_fit's per-epoch full-set loss overlapped with the next epoch
 * (see there). create: *out NULL when the model or dataset does not allow it. start:
 * snapshot the parameters and enqueue their loss in the second queue (*handled = 0:
 * the fused loss kernel declined, nothing pending). collect: wait for the pending
 * loss, divided by count. snapshot: the buffers (W, b) the pending or last loss was of. */
typedef struct clg_epoch_loss clg_epoch_loss;
/* 1 (default): overlap where it pays (EPOCH_LOSS_MIN_WORK); 0 never, 2 wherever possible,
 * even with a callback other than the printer (tests whose callback only records) */
extern int clg_epoch_loss_overlap;
clg_status clg_epoch_loss_create(clg_model *m, const clg_dataset *ds, clg_loss_kind kind,
                                 clg_epoch_loss **out);
clg_status clg_epoch_loss_start(clg_epoch_loss *el, int *handled);
int clg_epoch_loss_pending(const clg_epoch_loss *el);
clg_status clg_epoch_loss_collect(clg_epoch_loss *el, size_t count, double *loss);
void clg_epoch_loss_snapshot(const clg_epoch_loss *el, cl_mem out[2]);
void clg_epoch_loss_destroy(clg_epoch_loss *el);

/* fused.c: acc[0] += summed loss of a single-Linear model over ds (per element for
 * squared/MSE, per sample for cross-entropy), read straight from the dataset (no
 * gather), in two launches; *handled = 0 and nothing done for other models, when W
 * does not fit in local memory, or with CLGRAD_FUSED=0.
 * W, b: the parameters to use, NULL for the layer's own (the overlapped epoch loss
 * passes a snapshot). Enqueued on ctx->queue. */
clg_status clg_fused_full_loss(clg_model *m, const clg_dataset *ds, clg_loss_kind kind,
                               cl_mem W, cl_mem b, clg_tensor *acc, int *handled);

#endif
