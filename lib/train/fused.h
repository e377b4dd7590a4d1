/* The fused paths' private interface (fused.c plans, fused_pipeline.c and fused_split.c
 * run). The planner gathers everything into one clg_fused_job through the narrow views of
 * the lower layers (clg_loader_view_of, clg_model_linear_view, clg_optim_*); the paths
 * read only the job and report progress through its callback. */
#ifndef CLGRAD_TRAIN_FUSED_H
#define CLGRAD_TRAIN_FUSED_H
#include "../../cl/fused_shape.h"
#include "train.h"

#define FUSED_MAX_GROUP 256
#define FUSED_PIPE_ROWS 64 /* batch rows per group of fused_mb_forward */

typedef struct clg_fused_job {
    clg_context *ctx;
    clg_loader_view ld;      /* the dataset on the device, the epoch's order, batching */
    size_t n, d, q, bs, cap; /* samples, inputs, outputs, batch size, rows of a batch */
    clg_linear_view lin;     /* the Linear layer's buffers */
    cl_mem mom[2];           /* W's and b's momentum buffers, NULL when unused */
    cl_float4 hyper[2];      /* (lr, momentum, dampening, weight_decay) of W's, b's group */
    cl_int nesterov[2];
    cl_int first_step;   /* bit 0: W's momentum buffer is new (its first step sets buf
                                 = u); bit 1: b's */
    cl_int kind;         /* 0 squared, 1 MSE, 2 cross-entropy, as cl/fused.cl */
    cl_float4 scales;    /* loss and gradient scale of a full batch, then of the last */
    size_t report_every; /* batches between progress reports; 0: none */
    /* Called after `done` of the epoch's batches are enqueued (may wait for the device). */
    clg_status (*progress)(void *user, size_t done, size_t total);
    void *user;
} clg_fused_job;

clg_status clg_fused_pipeline(const clg_fused_job *j);
clg_status clg_fused_split(const clg_fused_job *j);
/* fused_split.c: local memory the split step needs for a batch capacity cap. */
size_t clg_fused_split_local_bytes(const clg_context *ctx, size_t d, size_t q, size_t cap);
/* fused.c: work-items the fused forward of `rows` batch rows and the fused backward of a
 * d×q layer (and its bias) take, by cl/fused.cl's blocking. */
size_t clg_fused_forward_units(size_t rows, size_t q);
size_t clg_fused_backward_units(size_t d, size_t q);

#endif
