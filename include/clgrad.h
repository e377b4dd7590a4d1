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
    CLG_ERR_DIVERGED,         /* training diverged: the loss grew beyond diverge_factor */
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
    CLG_PRODUCT_AUTO,   /* "auto": CLBlast for wide products, the own kernel otherwise */
    CLG_PRODUCT_OWN,    /* "own" */
    CLG_PRODUCT_CLBLAST /* "clblast" */
} clg_product_impl;

typedef enum clg_cache_mode { /* CLGRAD_CACHE_MODE */
    CLG_CACHE_DEFAULT = 0,
    CLG_CACHE_BINARY, /* "binary": load clgrad's stored binaries (the default) */
    CLG_CACHE_SOURCE  /* "source": rebuild from source; the driver's cache only */
} clg_cache_mode;

typedef struct clg_context_options {
    size_t struct_size;       /* sizeof(clg_context_options) of the caller's header */
    const char *device;       /* NULL: $CLGRAD_DEVICE, else the default (clg_device_select) */
    clg_fused_path fused;     /* CLGRAD_FUSED */
    clg_product_impl product; /* CLGRAD_GEMM */
    clg_setting cache;        /* ON/AUTO: cache when a directory is known; CLGRAD_NO_CACHE=1: OFF */
    const char *cache_dir;    /* NULL: $CLGRAD_CACHE_DIR, $XDG_CACHE_HOME/clgrad, ~/.cache/clgrad */
    clg_cache_mode cache_mode; /* CLGRAD_CACHE_MODE */
    clg_setting stream;       /* CLGRAD_STREAM: ON always, OFF never, AUTO what does not fit */
    clg_setting tune;         /* apply the stored CLBlast tuning; CLGRAD_NO_TUNE=1: OFF */
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
    unsigned blas_tuned_from_cache; /* 1 when a stored CLBlast tuning was applied (clg_tune_apply) */
    unsigned blas_tune_rejected;    /* stored tunings found corrupt/foreign and ignored */
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

/* ----------------------------------------------------------------- dataset */

/* Features X (n×d) and targets Y (n×q, float) resident on the device, or
 * "streamed": kept in host memory, with loaders uploading each batch
 * (double-buffered) — see clg_dataset_set_streaming. */
typedef struct clg_dataset clg_dataset;

/* Copies host arrays X[n*d] and Y[n*q] to the device. NaN or Inf anywhere is
 * CLG_ERR_NONFINITE (the message names row and column); n, d or q of 0 is
 * CLG_ERR_SHAPE. Data that does not fit the device (X or Y beyond
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, or X+Y beyond half of CL_DEVICE_GLOBAL_MEM_SIZE)
 * is copied to host memory instead and streamed. The environment variable
 * CLGRAD_STREAM=1 streams every dataset made here, CLGRAD_STREAM=0 none (too
 * large is then CLG_ERR_DEVICE_MEMORY); unset or "auto" decides by size; another
 * value is CLG_ERR_INVALID_ARGUMENT. The same holds for
 * clg_dataset_from_host_labels (and so for the CSV, IDX and npy readers). */
CLG_API clg_status clg_dataset_from_host(clg_context *ctx, const float *X, const float *Y,
                                         size_t n, size_t d, size_t q, clg_dataset **out);

/* d2l's synthetic_data: X ~ N(0, 1) of n×d, y = X·w + b + N(0, noise²), q = 1.
 * Generated on the device from `seed` with Philox + Box–Muller, so a seed
 * gives the same data on every device and every run (to float rounding of
 * log/cos). w has d entries. Streamed by the rule of clg_dataset_from_host
 * (drawn on the device in chunks, kept in host memory) when too large. */
CLG_API clg_status clg_dataset_synthetic_linear(clg_context *ctx, size_t n, const float *w,
                                                size_t d, float b, float noise, uint64_t seed,
                                                clg_dataset **out);
CLG_API void clg_dataset_destroy(clg_dataset *ds);
CLG_API size_t clg_dataset_size(const clg_dataset *ds);     /* n */
CLG_API size_t clg_dataset_features(const clg_dataset *ds); /* d */
CLG_API size_t clg_dataset_targets(const clg_dataset *ds);  /* q */

/* Classification data: labels[n] are class ids in [0, classes). They are kept
 * on the device as one float column (exact below 2^24), so the dataset has
 * q = 1 and clg_dataset_classes() = classes. An id out of range is
 * CLG_ERR_INVALID_ARGUMENT naming the row; so is classes < 2 or > 2^24. NaN or
 * Inf in X is CLG_ERR_NONFINITE; n or d of 0 is CLG_ERR_SHAPE. */
CLG_API clg_status clg_dataset_from_host_labels(clg_context *ctx, const float *X,
                                                const int32_t *labels, size_t n, size_t d,
                                                size_t classes, clg_dataset **out);
/* Number of classes, or 0 for a regression dataset. */
CLG_API size_t clg_dataset_classes(const clg_dataset *ds);
/* Splits ds into a shuffled (seeded) train part and a test part of
 * round(n·test_fraction) samples (0 < test_fraction < 1, both parts non-empty,
 * CLG_ERR_INVALID_ARGUMENT otherwise). The permutation is a Philox Fisher–Yates
 * shuffle of the indices (same seed, same parts on every device); rows are
 * gathered on the device into two new datasets, which keep the classes. */
CLG_API clg_status clg_dataset_split(const clg_dataset *ds, double test_fraction, uint64_t seed,
                                     clg_dataset **train, clg_dataset **test);
/* Copies the dataset to the host; X (n*d) or Y (n*q) may be NULL to skip it. */
CLG_API clg_status clg_dataset_download(const clg_dataset *ds, float *X, float *Y);
/* The device tensors (borrowed; owned by the dataset); NULL for a streamed
 * dataset, which has none (use clg_dataset_download or a loader). */
CLG_API const clg_tensor *clg_dataset_X(const clg_dataset *ds);
CLG_API const clg_tensor *clg_dataset_Y(const clg_dataset *ds);
/* 1 when ds is streamed (host-resident), 0 otherwise (and for NULL). */
CLG_API int clg_dataset_streamed(const clg_dataset *ds);
/* Moves ds to host memory (on != 0: streamed from then on, which any dataset,
 * synthetic or split ones included, can be) or back to the device (on = 0:
 * CLG_ERR_DEVICE_MEMORY, dataset unchanged, when it does not fit). Training on
 * a streamed dataset gives the same floats as on the device. CLG_ERR_STATE
 * while a loader borrows ds. A split of a streamed dataset is streamed. */
CLG_API clg_status clg_dataset_set_streaming(clg_dataset *ds, int on);

/* ------------------------------------------------------------------ loader */

typedef struct clg_loader_options {
    size_t batch_size; /* default 32 */
    int shuffle;       /* default 1: a fresh seeded permutation each epoch */
    int drop_last;     /* default 0: the last batch may be partial */
    uint64_t seed;     /* default 0 */
} clg_loader_options;
CLG_API clg_loader_options clg_loader_defaults(void);

/* Yields minibatches of a dataset; batches are gathered on the device, or for
 * a streamed dataset gathered on the host and uploaded, double-buffered. */
typedef struct clg_loader clg_loader;

/* A minibatch: X (rows×d) and Y (rows×q) are owned by the loader and
 * overwritten by the next clg_loader_next (for a streamed dataset, by the one
 * after it: two batch buffers alternate). */
typedef struct clg_batch {
    const clg_tensor *X;
    const clg_tensor *Y;
    size_t rows;  /* batch size; smaller for a partial last batch */
    size_t index; /* 0-based within the epoch */
} clg_batch;

/* The loader borrows ds, which must outlive it. batch_size 0 is an error. */
CLG_API clg_status clg_loader_create(clg_dataset *ds, const clg_loader_options *opts,
                                     clg_loader **out);
CLG_API void clg_loader_destroy(clg_loader *ld);
/* Batches per epoch: ceil(n/B), or floor(n/B) with drop_last. */
CLG_API size_t clg_loader_batches(const clg_loader *ld);
/* Starts the next epoch: draws its permutation (epoch e uses seed and e) and
 * uploads it without waiting. */
CLG_API clg_status clg_loader_start_epoch(clg_loader *ld);
/* Enqueues the gather of the next batch; *has_batch = 0 at the end of the epoch. */
CLG_API clg_status clg_loader_next(clg_loader *ld, clg_batch *batch, int *has_batch);
/* The current epoch's order of sample indices (n entries), for inspection. */
CLG_API clg_status clg_loader_order(const clg_loader *ld, uint32_t *order, size_t n);

/* ------------------------------------------------------------------- model */

/* A sequence of layers. Linear(d → q) holds W (d×q) and b (1×q). */
typedef struct clg_model clg_model;

typedef struct clg_linear_init {
    float weight_std;     /* default 0.01: W ~ N(0, std²) */
    uint64_t seed;        /* default 0 */
    const float *weight;  /* d*q values to copy instead (NULL: random) */
    const float *bias;    /* q values to copy instead (NULL: zeros) */
} clg_linear_init;
CLG_API clg_linear_init clg_linear_init_defaults(void);

CLG_API clg_status clg_model_create(clg_context *ctx, clg_model **out);
CLG_API void clg_model_destroy(clg_model *m);
/* Appends Linear(in → out); in must equal the previous layer's output width.
 * init NULL means clg_linear_init_defaults(). */
CLG_API clg_status clg_model_add_linear(clg_model *m, size_t in, size_t out,
                                        const clg_linear_init *init);
/* Appends max(0, x). */
CLG_API clg_status clg_model_add_relu(clg_model *m);
CLG_API size_t clg_model_inputs(const clg_model *m);
CLG_API size_t clg_model_outputs(const clg_model *m);

/* Parameters are numbered in layer order: layer 0 weight, layer 0 bias, ... */
typedef struct clg_param_info {
    size_t layer;
    int is_bias;
    size_t rows, cols;
    char name[32]; /* "0.weight", "0.bias" (PyTorch's naming) */
} clg_param_info;
CLG_API size_t clg_model_param_count(const clg_model *m);
CLG_API clg_status clg_model_param_info(const clg_model *m, size_t index, clg_param_info *info);
/* count must equal rows*cols of the parameter (CLG_ERR_SHAPE otherwise). */
CLG_API clg_status clg_model_get_param(const clg_model *m, size_t index, float *host, size_t count);
CLG_API clg_status clg_model_set_param(clg_model *m, size_t index, const float *host, size_t count);
/* Gradient of the last backward pass. */
CLG_API clg_status clg_model_get_grad(const clg_model *m, size_t index, float *host, size_t count);

/* Forward pass of X (B×in). *out (B×outputs) is owned by the model and valid
 * until the next forward. Enqueued; no wait. */
CLG_API clg_status clg_model_forward(clg_model *m, const clg_tensor *X, const clg_tensor **out);
/* Backward pass of the last forward: dY (B×outputs) is dL/dŶ. Overwrites
 * (does not accumulate) every parameter's gradient. */
CLG_API clg_status clg_model_backward(clg_model *m, const clg_tensor *dY);

/* ------------------------------------------------------------------ losses */

typedef enum clg_loss_kind {
    CLG_LOSS_SQUARED = 0, /* (ŷ − y)² / 2, d2l's squared_loss */
    CLG_LOSS_MSE = 1,     /* (ŷ − y)², PyTorch's MSELoss */
    CLG_LOSS_SOFTMAX_XENT = 2 /* −log softmax(ŷ)[label], computed with log-sum-exp;
                                 pred is B×C logits, target B×1 class ids */
} clg_loss_kind;

typedef enum clg_reduction {
    CLG_REDUCE_MEAN = 0, /* mean over all B·q elements (over the B samples for SOFTMAX_XENT) */
    CLG_REDUCE_SUM = 1,
    CLG_REDUCE_NONE = 2  /* one value per element */
} clg_reduction;

/* Loss of pred against target (both B×q). out is 1×1 for MEAN/SUM, B×q for NONE.
 * SOFTMAX_XENT: pred is B×C logits and target B×1 class ids (CLG_ERR_SHAPE
 * otherwise); out is B×1 for NONE (one loss per sample), MEAN divides by B. A
 * class id that is not an integer in [0, C) gives a NaN loss for its row (so
 * clg_fit stops with CLG_ERR_NONFINITE). */
CLG_API clg_status clg_loss_forward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                                    const clg_tensor *pred, const clg_tensor *target,
                                    clg_tensor *out);
/* dL/dpred of the reduced loss (for NONE: of the sum of the elements), B×q.
 * SOFTMAX_XENT: softmax(pred) − onehot(label), times 1/B for MEAN. */
CLG_API clg_status clg_loss_backward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                                     const clg_tensor *pred, const clg_tensor *target,
                                     clg_tensor *grad);

/* --------------------------------------------------------------------- SGD */

/* PyTorch's SGD: g ← grad·grad_scale + weight_decay·p;
 * with momentum: buf ← momentum·buf + (1 − dampening)·g (buf ← g on the first
 * step), g ← nesterov ? g + momentum·buf : buf; then p ← p − lr·g. */
typedef struct clg_sgd_options {
    float lr;           /* default 0.03 */
    float momentum;     /* default 0 */
    float dampening;    /* default 0 */
    float weight_decay; /* default 0 */
    int nesterov;       /* default 0 */
} clg_sgd_options;
CLG_API clg_sgd_options clg_sgd_defaults(void);

typedef struct clg_optimizer clg_optimizer;

/* Every parameter of m starts in the default group with `opts`. m must
 * outlive the optimizer. */
CLG_API clg_status clg_sgd_create(clg_model *m, const clg_sgd_options *opts, clg_optimizer **out);
CLG_API void clg_sgd_destroy(clg_optimizer *opt);
/* Moves parameters (indices as in clg_model_param_info) into a group of their own
 * options, like PyTorch's param_groups. */
CLG_API clg_status clg_sgd_add_group(clg_optimizer *opt, const size_t *params, size_t count,
                                     const clg_sgd_options *opts);
/* Selects every weight (biases = 0) or every bias (biases = 1) into a group. */
CLG_API clg_status clg_sgd_add_group_by_kind(clg_optimizer *opt, int biases,
                                             const clg_sgd_options *opts);
/* One update of every parameter from its gradient times grad_scale (1/|B| for
 * d2l's from-scratch sgd on a summed loss, 1 for a mean loss). Enqueued. */
CLG_API clg_status clg_sgd_step(clg_optimizer *opt, float grad_scale);

/* ---------------------------------------------------------------- training */

/* Called after each epoch with the 1-based epoch and the mean loss over the
 * whole training set (per element, of the fit's loss kind; per sample for
 * CLG_LOSS_SOFTMAX_XENT); NaN when clg_fit_options.epoch_loss is 0. */
typedef void (*clg_epoch_callback)(size_t epoch, double train_loss, void *user);
/* Prints "epoch 1, loss 0.000203" to stdout, like d2l ("epoch 1" for a NaN loss). */
CLG_API void clg_print_epoch(size_t epoch, double train_loss, void *user);

typedef struct clg_fit_options {
    size_t epochs;           /* default 3 */
    size_t batch_size;       /* default 10 */
    int shuffle;             /* default 1 */
    int drop_last;           /* default 0 */
    uint64_t seed;           /* default 0: seeds the epoch permutations */
    clg_loss_kind loss;      /* default CLG_LOSS_SQUARED */
    clg_reduction reduction; /* MEAN (default) or SUM: SUM steps with grad_scale 1/|B| */
    clg_sgd_options sgd;     /* used when no optimizer is passed */
    clg_epoch_callback on_epoch; /* default clg_print_epoch; NULL for silence */
    void *user;
    /* Optional progress report within an epoch: after every `progress_every`
     * batches (and the last) the host waits for the device, then calls it. Each
     * call is one wait, so keep it for an interactive display. Default NULL / 0. */
    void (*on_progress)(size_t epoch, size_t batch, size_t batches, void *user);
    size_t progress_every;
    /* Default 1: after each epoch, one pass over the whole training set for its loss
     * (d2l's linear regression), which also stops the fit with CLG_ERR_NONFINITE once
     * it diverges. 0: no such pass (on_epoch gets NaN, final_loss is NaN, and clg_fit
     * waits only once, at the end); a pass costs about one forward of the data. */
    int epoch_loss;
    /* Default 1e4: with epoch_loss on, the initial model's loss is computed too, and an
     * epoch whose loss exceeds diverge_factor times it stops the fit with
     * CLG_ERR_DIVERGED (a finite blow-up, which NaN checks miss). 0 turns it off. */
    double diverge_factor;
} clg_fit_options;
CLG_API clg_fit_options clg_fit_defaults(void);

typedef struct clg_fit_report {
    size_t epochs_run;
    size_t steps;
    double final_loss; /* full-set mean loss after the last epoch */
} clg_fit_report;

/* Trains m on ds. The host waits once per epoch (for the full-set loss). on_epoch(e)
 * sees the model as it was after epoch e: a callback may evaluate or save it. With
 * clg_print_epoch or no callback, a single Linear layer on a device dataset has that
 * loss computed in a second queue while the next epoch trains (same values;
 * docs/performance.md); any other callback is called before the next epoch is enqueued.
 * Classification data (clg_dataset_from_host_labels) needs loss
 * CLG_LOSS_SOFTMAX_XENT and a model with one output per class; regression data
 * a regression loss (CLG_ERR_INVALID_ARGUMENT / CLG_ERR_SHAPE otherwise).
 * opt NULL: an SGD optimizer with opts->sgd is made for the call. report may be NULL.
 * A non-finite loss stops training with CLG_ERR_NONFINITE, one beyond diverge_factor
 * with CLG_ERR_DIVERGED; the model then holds the parameters of the last epoch whose
 * loss passed, or its initial ones (an epoch already under way is undone; the
 * optimizer's momentum buffers are not). */
CLG_API clg_status clg_fit(clg_model *m, clg_dataset *ds, const clg_fit_options *opts,
                           clg_optimizer *opt, clg_fit_report *report);

typedef struct clg_eval_result {
    double loss;     /* mean per-sample loss (per element for regression losses) */
    double accuracy; /* fraction of argmax(ŷ) == label; -1 for regression data */
    size_t n;
} clg_eval_result;

/* Loss and (for classification data) accuracy of m over the whole of ds, in
 * batches, with one wait. kind must suit the data: CLG_LOSS_SOFTMAX_XENT for
 * classification data, a regression loss otherwise (CLG_ERR_INVALID_ARGUMENT);
 * the model's outputs must equal the classes (or q) (CLG_ERR_SHAPE). */
CLG_API clg_status clg_evaluate(clg_model *m, clg_dataset *ds, clg_loss_kind kind,
                                clg_eval_result *out);

/* Runs the model on host rows X[n×inputs]; writes n×outputs values to out (raw
 * logits for a classifier). Batched; one wait. n = 0 is CLG_ERR_SHAPE, NaN or
 * Inf in X is CLG_ERR_NONFINITE. */
CLG_API clg_status clg_predict(clg_model *m, const float *X, size_t n, float *out);

/* Mean loss of m over the whole of ds (per element; per sample for
 * SOFTMAX_XENT), one wait: clg_evaluate's loss. */
CLG_API clg_status clg_evaluate_loss(clg_model *m, clg_dataset *ds, clg_loss_kind kind,
                                     double *loss);

/* -------------------------------------------------------------- closed form */

/* Least squares with a bias column: minimises |X·w + b − y|² + ridge·|w|²
 * (the bias is not penalised). XᵀX and Xᵀy are formed on the device with
 * CLBlast; the (d+1)×(d+1) system is solved on the host in double by Cholesky
 * (never an explicit inverse). w gets d*q values, b gets q. A rank-deficient
 * system (ridge 0) is CLG_ERR_SINGULAR. The device centres a copy of [X | Y]
 * first (for float32 accuracy), so the call needs n*(d+q) floats of workspace;
 * a streamed dataset is centred on the host and sent in chunks of 32 MiB instead.
 * ridge < 0 or non-finite is CLG_ERR_INVALID_ARGUMENT; w and b are written only
 * on success. */
CLG_API clg_status clg_solve_normal(clg_context *ctx, const clg_dataset *ds, double ridge,
                                    float *w, float *b);

/* ------------------------------------------------------------- checkpoints */

/* Saves m's architecture and parameters (and, if opt is not NULL, the
 * optimizer's options and momentum buffers) to path in the versioned format
 * of docs/formats.md "Checkpoints": magic, version, layer shapes, payload, CRC32.
 * meta (may be NULL) is a short text stored alongside (the CLI keeps the loss
 * there). Atomic: written to a temporary file, fsync'ed and renamed, so a
 * failed save leaves an earlier file at path untouched. */
CLG_API clg_status clg_model_save(const clg_model *m, const clg_optimizer *opt, const char *meta,
                                  const char *path);
/* Creates a model from a checkpoint. meta (may be NULL) receives the stored
 * text, cut to metalen. Any corruption, truncation or unknown version is
 * CLG_ERR_FORMAT; nothing is returned then. */
CLG_API clg_status clg_model_load(clg_context *ctx, const char *path, clg_model **out, char *meta,
                                  size_t metalen);
/* Loads parameters (and optimizer state when opt is not NULL and the file has
 * it) into an existing model; a different architecture is CLG_ERR_SHAPE with
 * a message naming the first difference, and changes nothing. */
CLG_API clg_status clg_model_load_into(clg_model *m, clg_optimizer *opt, const char *path);

/* ------------------------------------------------------------------- files */

typedef struct clg_csv_options {
    int header;        /* -1 (default): the first line is a header when any field of it
                          is not a number; 0: no header; 1: the first line is a header */
    long label_column; /* default -1 = last; 0-based, negative counts from the end */
    char delimiter;    /* default ','; not a space, quote or line break */
} clg_csv_options;
CLG_API clg_csv_options clg_csv_defaults(void);

/* Reads a numeric CSV file on the host (no context needed): the label column
 * becomes y (n×1), the other columns X (n×d), row-major. *X and *y are
 * malloc'd; the caller frees them with free(). Tolerates CRLF, blank lines,
 * spaces around fields and double-quoted numbers. Errors (message through
 * clg_last_error(NULL), naming the line and column): CLG_ERR_IO (unreadable),
 * CLG_ERR_FORMAT (non-numeric field, ragged row, empty file, header only, fewer
 * than two columns), CLG_ERR_NONFINITE (NaN, Inf, beyond float range),
 * CLG_ERR_INVALID_ARGUMENT (NULL, bad option). On error *X and *y are NULL
 * and *n, *d are 0. opts NULL means clg_csv_defaults(). Numbers are read in
 * the C locale whatever the program's locale. */
CLG_API clg_status clg_csv_read(const char *path, const clg_csv_options *opts, float **X,
                                float **y, size_t *n, size_t *d);

/* clg_csv_read, then clg_dataset_from_host with q = 1; errors go to ctx. */
CLG_API clg_status clg_dataset_from_csv(clg_context *ctx, const char *path,
                                        const clg_csv_options *opts, clg_dataset **out);

/* IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed (told apart by the
 * gzip magic; both are read through zlib). Layout: two zero bytes, a dtype code
 * (0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
 * ndim (1..4), ndim big-endian uint32 dims (each > 0), then the big-endian
 * payload and nothing after it (for gzip: nothing after it in the decompressed
 * data; zlib ignores non-gzip bytes after the compressed stream). At most 2^31-1
 * elements. */
typedef struct clg_idx {
    uint8_t dtype;     /* the dtype code above */
    uint8_t ndim;      /* 1..4 */
    uint32_t dims[4];  /* dims[ndim..3] are 0 */
    size_t count;      /* product of the dims */
    float *data;       /* count values converted to float (ubyte NOT scaled);
                          int32 beyond 2^24 rounds to the nearest float */
} clg_idx;

/* Reads an IDX file on the host. Errors (message through clg_last_error(NULL),
 * naming the path and the field): CLG_ERR_IO (cannot open or read),
 * CLG_ERR_FORMAT (magic, dtype, ndim, a zero dim, element count beyond the
 * limit, truncated header or payload, corrupt gzip stream, trailing data),
 * CLG_ERR_NONFINITE (NaN/Inf, or a float64 beyond float32 range),
 * CLG_ERR_INVALID_ARGUMENT (NULL). On error *out is zeroed. Free with clg_idx_free. */
CLG_API clg_status clg_idx_read(const char *path, clg_idx *out);
/* Frees out->data and zeroes *out; accepts NULL and a zeroed struct. */
CLG_API void clg_idx_free(clg_idx *idx);

/* Reads an image file (n × ... , at least 2-D) and a label file (1-D, n
 * entries) as classification data: *X (n×d, d = product of the other dims,
 * row-major) with ubyte pixels scaled to [0, 1] (x/255; other dtypes kept as
 * they are), *y (n) class ids. Labels must be integers in [0, 2^24). Errors as
 * clg_idx_read, plus CLG_ERR_SHAPE (image and label counts differ, labels not
 * 1-D, images 1-D) and CLG_ERR_FORMAT (a label negative, fractional or too large).
 * *X and *y are malloc'd (free()); on error they are NULL and *n, *d are 0. */
CLG_API clg_status clg_idx_read_pair(const char *images, const char *labels, float **X,
                                     int32_t **y, size_t *n, size_t *d);

/* clg_idx_read_pair, then clg_dataset_from_host_labels with classes = the
 * largest label + 1 (at least 2); errors go to ctx. */
CLG_API clg_status clg_dataset_from_idx(clg_context *ctx, const char *images, const char *labels,
                                        clg_dataset **out);

/* NumPy .npy files, format versions 1.0, 2.0 and 3.0, C order. dtypes: <f4,
 * <f8, |u1, |i1, <i2, <u2, <i4, <u4, <i8, <u8 (little-endian); values are
 * converted to float (64-bit and 32-bit integers beyond 2^24 round to the
 * nearest float). Shapes of 0 to 8 dims; () is a scalar (count 1). */
typedef struct clg_npy {
    size_t ndim;      /* 0..8 */
    size_t shape[8];  /* shape[ndim..7] are 0 */
    size_t count;     /* product of the shape (1 for a scalar) */
    float *data;      /* count values, C order */
} clg_npy;

/* Reads a .npy file on the host. The header dict must have exactly the keys
 * 'descr', 'fortran_order' and 'shape'. Errors (message through
 * clg_last_error(NULL), naming the path and the problem): CLG_ERR_IO,
 * CLG_ERR_FORMAT (magic, header length, header dict syntax, missing/unknown/
 * repeated key, shape overflow, data shorter or longer than the shape says),
 * CLG_ERR_UNSUPPORTED (fortran_order True, big-endian or other dtypes,
 * structured dtypes, an unknown format version, more than 8 dims, a zero in
 * the shape), CLG_ERR_NONFINITE (NaN/Inf, or a float64 beyond float32 range),
 * CLG_ERR_INVALID_ARGUMENT (NULL). On error *out is zeroed. */
CLG_API clg_status clg_npy_read(const char *path, clg_npy *out);
/* Frees npy->data and zeroes *npy; accepts NULL and a zeroed struct. */
CLG_API void clg_npy_free(clg_npy *npy);

/* Features from X_path (2-D n×d; 1-D is n×1) and targets from y_path (1-D n,
 * or 2-D n×q). classification != 0: y must hold one integer class id >= 0 per
 * row (1-D or n×1, below 2^24) and the dataset is made with
 * clg_dataset_from_host_labels (classes = largest id + 1, at least 2);
 * otherwise clg_dataset_from_host. Shape disagreements are CLG_ERR_SHAPE,
 * non-integral or negative labels CLG_ERR_FORMAT; errors go to ctx. */
CLG_API clg_status clg_dataset_from_npy(clg_context *ctx, const char *X_path, const char *y_path,
                                        int classification, clg_dataset **out);
/* ------------------------------------------------------------------ tuning */

/* CLBlast's SGEMM kernel ("Xgemm") has 16 tuning parameters; a device missing
 * from CLBlast's database (POCL's CPU device, for one) runs generic ones.
 * clg_tune_sgemm searches the parameters on ctx's device, keeps the fastest
 * configuration that reproduces the untuned result, stores it in the cache
 * directory as <cache_dir>/clblast-<16 hex digits>.tune (the digits hash
 * platform, device and driver; a small versioned text file with a checksum,
 * written atomically) and applies it with CLBlastOverrideParameters.
 * clg_context_create applies a stored file for its device (unless
 * CLGRAD_NO_TUNE=1 or the cache is off); a corrupt or foreign file is ignored
 * and counted in clg_context_stats.blas_tune_rejected.
 * CLBlast keeps overrides per device for the whole process, so an applied
 * tuning affects every CLBlast call on that device, from any context. */

#define CLG_TUNE_PARAMS 16
/* Largest accepted |tuned − untuned| / max|untuned| over a size³ SGEMM. */
#define CLG_TUNE_VERIFY_TOL 1e-4

/* Name of Xgemm parameter i (0 <= i < CLG_TUNE_PARAMS): "GEMMK", "KREG",
 * "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
 * "STRM", "STRN", "VWM", "VWN"; NULL beyond. */
CLG_API const char *clg_tune_param_name(size_t i);

/* One configuration tried, passed to clg_tune_options.on_candidate. */
typedef struct clg_tune_candidate {
    unsigned index;                 /* 1-based order of trial */
    size_t values[CLG_TUNE_PARAMS]; /* in clg_tune_param_name order */
    double gflops;                  /* on the screening shape; 0 when it failed */
    int blas_status;                /* CLBlast status code, 0 when it ran */
} clg_tune_candidate;

typedef struct clg_tune_options {
    double max_seconds;      /* default 120: no new candidate is started after it */
    unsigned max_candidates; /* default 0: as many as max_seconds allows */
    size_t size;             /* default 1024: the square SGEMM timed (>= 64) */
    int mlp_shapes;          /* default 1: also time 256×256×784 and 784×256×256 */
    unsigned runs;           /* default 5: timed runs per final measurement (median) */
    int store;               /* default 1: write the result to the cache directory */
    uint64_t seed;           /* default 0: order of the random part of the search */
    int force;               /* default 0; 1: apply (and store) the best verified candidate
                                even when it is not faster than the baseline */
    void (*on_candidate)(const clg_tune_candidate *c, void *user); /* may be NULL */
    void *user;
} clg_tune_options;
CLG_API clg_tune_options clg_tune_defaults(void);

typedef struct clg_tune_shape {
    size_t m, n, k;        /* C (m×n) = A (m×k) · B (k×n), row-major */
    double gflops_untuned; /* median over runs */
    double gflops_tuned;
} clg_tune_shape;

typedef struct clg_tune_report {
    unsigned candidates_tried;
    unsigned candidates_failed;      /* CLBlast rejected the configuration */
    int improved;                    /* 1: best beats the untuned parameters (or force) and is applied */
    size_t best[CLG_TUNE_PARAMS];    /* fastest configuration found */
    double gflops_untuned;           /* size³ SGEMM, median */
    double gflops_tuned;
    double max_rel_error;            /* tuned vs untuned size³ result (see CLG_TUNE_VERIFY_TOL) */
    clg_tune_shape shapes[3];
    size_t shape_count;
    double seconds;                  /* wall time of the call */
    int stored;                      /* 1 when written to path */
    char path[1100];                 /* the tune file of this device ("" when the cache is off) */
    char note[512];                  /* why nothing was stored or applied, else "" */
} clg_tune_report;

/* Runs the search described above. The baseline is whatever CLBlast uses when
 * the call starts (set CLGRAD_NO_TUNE=1 before creating ctx for CLBlast's own
 * defaults). Failing to store (unwritable cache) is not an error: report->stored
 * is 0 and report->note says why. When nothing beats the baseline nothing is
 * stored; CLBlast cannot restore its built-in parameters, so the tuning that
 * was applied before the call is re-applied, else the fastest candidate stays
 * in effect for this process. opts NULL means clg_tune_defaults(). */
CLG_API clg_status clg_tune_sgemm(clg_context *ctx, const clg_tune_options *opts,
                                  clg_tune_report *report);

/* Applies this device's stored tuning, if there is one. CLG_OK when applied
 * or when there is no file (stats tell which); CLG_ERR_FORMAT when a file
 * exists but is corrupt, foreign or rejected by CLBlast (it is ignored). */
CLG_API clg_status clg_tune_apply(clg_context *ctx);

/* The tuning applied through ctx: *applied 1 and values (may be NULL) get the
 * parameters; note (may be NULL) gets a sentence on the last apply ("applied
 * PATH", "ignored PATH: reason", or ""), valid until the next tune call. */
CLG_API clg_status clg_context_tuning(const clg_context *ctx, int *applied,
                                      size_t values[CLG_TUNE_PARAMS], const char **note);

/* -------------------------------------------------------------- self-test */

typedef struct clg_selftest_result {
    char kernel[48];
    double max_error; /* largest |device − reference| (relative where stated) */
    double tolerance;
    int passed;
} clg_selftest_result;

/* Runs every kernel family of the library on ctx's device against a plain-C
 * double reference. Writes up to `capacity` results; *count gets the total.
 * Returns CLG_OK when the tests could run (check .passed), an error otherwise. */
CLG_API clg_status clg_selftest(clg_context *ctx, clg_selftest_result *results, size_t capacity,
                                size_t *count);

#ifdef __cplusplus
}
#endif
#endif
