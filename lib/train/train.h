/* train: the fit loop, evaluation, the overlapped epoch loss and the fused paths. Sees data,
 * optim and below. */
#ifndef CLGRAD_TRAIN_H
#define CLGRAD_TRAIN_H
#include "data.h"
#include "optim.h"

/* fused.c (cl/fused.cl): one whole epoch of clg_fit for a single Linear layer with a
 * squared/MSE loss (regression data) or softmax cross-entropy (class ids) and an optimizer
 * whose kind the fused kernels run (SGD), in one kernel launch per epoch, one per
 * minibatch, or multi-work-group launches per minibatch (docs/performance.md; the context's
 * fused setting). *handled = 0 and nothing done when the setup is not eligible (the caller
 * runs its unfused epoch, loader untouched); else it starts the loader's epoch itself,
 * enqueues every step without waiting, adds the steps to *steps and sets *handled = 1.
 * rep->progress(user, done, total) is called after `done` batches, every rep->every batches
 * (the caller's progress reports, a model-averaging fit's averages). */
typedef clg_status (*clg_fused_progress_fn)(void *user, size_t done, size_t total);
typedef struct clg_fused_reports {
    size_t every; /* batches between progress calls; 0: none */
    int whole;    /* at each call the model must hold the parameters of `done` steps (a
                     model-averaging fit reads and replaces them): not the split step */
    clg_fused_progress_fn progress;
    void *user;
} clg_fused_reports;
clg_status clg_fused_epoch(clg_model *m, clg_optimizer *opt, clg_loader *ld,
                           const clg_fit_options *o, const clg_fused_reports *rep, int *handled,
                           size_t *steps);
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
 * passes a snapshot). Enqueued on queue (the context's main or second queue). */
clg_status clg_fused_full_loss(clg_model *m, const clg_dataset *ds, clg_loss_kind kind, cl_mem W,
                               cl_mem b, clg_tensor *acc, cl_command_queue queue, int *handled);

/* dist.c: clg_fit over a communicator (see there). Each call but _valid, _create and
 * _destroy is a collective taking this rank's status `mine`. */
typedef struct clg_dist {
    const clg_comm *comm;
    float *buf;          /* the exchanges' values, then one status per rank */
    uint64_t *gathered;  /* one value per rank (clg_dist_range) */
    size_t floats;       /* parameters' floats */
    size_t state_floats; /* the optimizer's state floats that averaging moves */
    size_t every;        /* average_every: 0 for the per-step gradient sum */
    size_t steps;        /* gradient sum: steps per epoch, the same on every rank; averaging:
                             the fewest batches of any rank (averages fall below it) */
    size_t rows;         /* the training rows of all ranks (for shards: their sum) */
    size_t pending;      /* averaging: the averages the epoch still owes */
    int failed;          /* averaging: an exchange of this epoch failed on every rank */
} clg_dist;
clg_status clg_dist_comm_valid(const clg_comm *c, const clg_context *ctx, const char *op);
clg_status clg_dist_exchange(const clg_comm *c, const clg_context *ctx, float *buf, size_t n,
                             clg_status mine, const char *what);
clg_status clg_dist_agree(const clg_comm *c, const clg_context *ctx, const uint64_t *v,
                          const char *const *names, size_t k, clg_status mine, const char *what);
/* every: average_every (sizes the buffer for the parameters and opt's state). */
clg_status clg_dist_create(const clg_comm *c, clg_model *m, const clg_optimizer *opt, size_t every,
                           clg_dist **out);
void clg_dist_destroy(clg_dist *d);
/* The gradients summed over the ranks, and *rows (this rank's rows of the step) too, kept in
 * d->buf; zeros: this rank adds zeros (its share of the batch was empty; no backward ran).
 * _put_grads (not collective): the sums into the model's gradient buffers. */
clg_status clg_dist_sum_grads(clg_dist *d, clg_model *m, clg_status mine, int zeros, float *rows);
clg_status clg_dist_put_grads(clg_dist *d, clg_model *m);
/* The smallest, largest and sum of the ranks' values. */
clg_status clg_dist_range(clg_dist *d, const clg_context *ctx, size_t mine, clg_status s,
                          size_t *min, size_t *max, size_t *sum);
/* Model averaging: every rank's parameters replaced by their mean over the ranks; with state,
 * the optimizer's state buffers too, and its step count by the largest. Counts one of
 * d->pending; a failed exchange sets d->failed. */
clg_status clg_dist_average(clg_dist *d, clg_model *m, clg_optimizer *opt, clg_status mine,
                            int state);
clg_status clg_dist_sum(clg_dist *d, const clg_context *ctx, float *x, clg_status mine,
                        const char *what);

/* schedule.c: why s is not a valid schedule ("gamma must be in (0, 1]"), or NULL. */
const char *clg_schedule_invalid(const clg_schedule *s);

#endif
