/* data: datasets, loaders, synthetic data, file readers. Sees ops and below. */
#ifndef CLGRAD_DATA_H
#define CLGRAD_DATA_H
#include "ops.h"

/* ---------------------------------------------------------------- data layer */

struct clg_dataset {
    clg_context *ctx;
    size_t n, d, q;
    size_t classes; /* 0: regression; else Y is n×1 float class ids */
    clg_tensor *X;  /* n×d; NULL when streamed */
    clg_tensor *Y;  /* n×q; NULL when streamed */
    int streamed;   /* 1: X and Y live in host memory (hX, hY); loaders upload batches */
    float *hX, *hY; /* host copies (n×d, n×q) of a streamed dataset, else NULL */
    size_t loaders; /* live loaders borrowing ds (clg_dataset_set_streaming refuses then) */
};

struct clg_loader {
    clg_dataset *ds;
    clg_loader_options opts;
    uint64_t epoch;         /* epochs started so far */
    size_t next;            /* next batch index within the epoch */
    size_t batches;         /* per epoch */
    uint32_t *order;        /* host copy of this epoch's permutation (n) */
    cl_mem order_dev;       /* device copy (n uint32) */
    cl_event order_written; /* host order may be rewritten once this completed */
    clg_tensor *Xb, *Yb;    /* batch_size rows of capacity; rows set per batch */
    /* Streamed datasets only (ds->streamed): rows are gathered on the host into
     * stage[slot] (cap·d floats of X, then cap·q of Y), uploaded without blocking
     * into the slot's device tensors (slot 0: Xb/Yb, slot 1: Xb2/Yb2), and the
     * slot alternates per batch. upload[slot] are the two writes' events: the
     * staging buffer is refilled only once they completed. order_dev is unused. */
    clg_tensor *Xb2, *Yb2;
    cl_mem stage_mem[2]; /* pinned (CL_MEM_ALLOC_HOST_PTR) staging, mapped; NULL if malloc'd */
    float *stage[2];
    cl_event upload[2][2];
    unsigned slot; /* slot of the next batch (alternates across epochs too) */
};

/* Narrow views for the fused paths of lib/train, which read data and order directly. */
typedef struct clg_dataset_view {
    cl_mem X, Y; /* n×d and n×q on the device */
    size_t n, d, q, classes;
} clg_dataset_view;
/* data.c: fills v; 0 (v untouched) for a streamed (host-resident) dataset. */
int clg_dataset_view_of(const clg_dataset *ds, clg_dataset_view *v);
typedef struct clg_loader_view {
    clg_dataset_view data;
    cl_mem order; /* the epoch's permutation on the device (n uint32) */
    size_t batch_size, batches;
} clg_loader_view;
/* loader.c: as clg_dataset_view_of, for the loader's dataset and order. */
int clg_loader_view_of(const clg_loader *ld, clg_loader_view *v);
/* loader.c: marks the started epoch's batches consumed (a fused epoch ran them). */
void clg_loader_consume_epoch(clg_loader *ld);

/* scaling.c: why mean and scale (d floats each) are no standardization, or NULL. */
const char *clg_scaling_invalid(const float *mean, const float *scale, size_t d);

/* data.c: a dataset with uninitialised n×d and n×q device tensors. */
clg_status clg_dataset_alloc(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out);
/* data.c: a streamed dataset with uninitialised host arrays hX (n×d), hY (n×q). */
clg_status clg_dataset_alloc_host(clg_context *ctx, size_t n, size_t d, size_t q,
                                  clg_dataset **out);
/* data.c: *stream = 1 when a new n×d, n×q dataset is to be streamed (CLGRAD_STREAM, else
 * clg_dataset_needs_streaming). */
clg_status clg_dataset_decide_streaming(const clg_context *ctx, size_t n, size_t d, size_t q,
                                        int *stream);
/* synthetic.c: rows per chunk of a streamed synthetic dataset × (d+1) floats are
 * ctx->cfg.synthetic_chunk_bytes (32 MiB; tests lower it). */
/* data.c: 1 when a dataset of n×d features and n×q targets does not fit the device
 * and clg_dataset_from_host(_labels) keeps it on the host: X or Y beyond
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, X+Y beyond half of CL_DEVICE_GLOBAL_MEM_SIZE
 * (the other half is left to batches, model and activations), or a byte count
 * that overflows size_t. */
int clg_dataset_needs_streaming(const clg_context *ctx, size_t n, size_t d, size_t q);

#endif
