/* train: the fit loop, evaluation, the overlapped epoch loss and the fused paths. Sees data,
 * optim and below. */
#ifndef CLGRAD_TRAIN_H
#define CLGRAD_TRAIN_H
#include "data.h"
#include "optim.h"

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
/* ctx->cfg.epoch_loss_overlap (a testing knob): 1 (default) overlap where it pays
 * (EPOCH_LOSS_MIN_WORK); 0 never, 2 wherever possible, even with a callback other than the
 * printer (tests whose callback only records). */
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
clg_status clg_fused_full_loss(clg_model *m, const clg_dataset *ds, clg_loss_kind kind, cl_mem W,
                               cl_mem b, clg_tensor *acc, int *handled);

#endif
