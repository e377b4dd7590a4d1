/* The training loop: epochs of gather → forward → loss gradient → backward →
 * SGD, all enqueued; the host waits once per epoch, for the full-set loss. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define EVAL_CHUNK 4096 /* rows per evaluation batch: bounds activation memory */

void clg_print_epoch(size_t epoch, double train_loss, void *user)
{
    (void)user;
    if (isnan(train_loss))
        printf("epoch %zu\n", epoch);
    else
        printf("epoch %zu, loss %f\n", epoch, train_loss);
    fflush(stdout);
}

void clg_record_epoch(size_t epoch, double train_loss, void *user)
{
    clg_epoch_log *log = user;
    if (!log) return;
    if (log->count < log->capacity && log->loss)
        log->loss[log->count++] = train_loss;
    else
        log->dropped++;
    log->last = epoch;
}

void clg_print_validation(size_t epoch, double loss, double accuracy, void *user)
{
    (void)user;
    if (accuracy >= 0)
        printf("epoch %zu, validation loss %f, accuracy %.4f\n", epoch, loss, accuracy);
    else
        printf("epoch %zu, validation loss %f\n", epoch, loss);
    fflush(stdout);
}

clg_fit_options clg_fit_defaults(void)
{
    clg_fit_options o = {0};
    o.struct_size = sizeof o;
    o.epochs = 3;
    o.batch_size = 10;
    o.shuffle = 1;
    o.loss = CLG_LOSS_SQUARED;
    o.reduction = CLG_REDUCE_MEAN;
    o.optimizer = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.on_epoch = clg_print_epoch;
    o.epoch_loss = 1;
    o.diverge_factor = 1e4;
    o.schedule = clg_schedule_defaults();
    o.on_validation = clg_print_validation;
    return o;
}

/* The loss must suit the data: cross-entropy for class ids, squared/MSE for targets. */
static clg_status check_loss(const clg_context *ctx, const clg_dataset *ds, clg_loss_kind kind,
                             const char *op)
{
    if (kind != CLG_LOSS_SQUARED && kind != CLG_LOSS_MSE && kind != CLG_LOSS_SOFTMAX_XENT)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: unknown loss kind %d", op, (int)kind);
    if (kind == CLG_LOSS_SOFTMAX_XENT && !ds->classes)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: softmax cross-entropy needs classification data (a dataset made by "
                        "clg_dataset_from_host_labels); this one has real-valued targets",
                        op);
    if (kind != CLG_LOSS_SOFTMAX_XENT && ds->classes)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: the dataset holds class ids (%zu classes); use "
                        "CLG_LOSS_SOFTMAX_XENT, not a regression loss",
                        op, ds->classes);
    return CLG_OK;
}

static clg_status check_model_data(clg_model *m, const clg_dataset *ds, clg_loss_kind kind,
                                   const char *op)
{
    if (!m || !ds)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    if (m->nlayers == 0) return clg_fail(m->ctx, CLG_ERR_STATE, "%s: the model has no layers", op);
    if (ds->ctx != m->ctx)
        return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: model and dataset belong to different contexts", op);
    clg_status s = check_loss(m->ctx, ds, kind, op);
    if (s != CLG_OK) return s;
    if (ds->classes) {
        if (clg_model_inputs(m) != ds->d || clg_model_outputs(m) != ds->classes)
            return clg_fail(m->ctx, CLG_ERR_SHAPE,
                            "%s: the model maps %zu inputs to %zu outputs but the dataset has %zu "
                            "features and %zu classes (one output per class)",
                            op, clg_model_inputs(m), clg_model_outputs(m), ds->d, ds->classes);
    } else if (clg_model_inputs(m) != ds->d || clg_model_outputs(m) != ds->q) {
        return clg_fail(m->ctx, CLG_ERR_SHAPE,
                        "%s: the model maps %zu inputs to %zu outputs but the dataset has %zu "
                        "features and %zu targets",
                        op, clg_model_inputs(m), clg_model_outputs(m), ds->d, ds->q);
    }
    return CLG_OK;
}

/* Elements the summed loss of a full pass is divided by: samples for
 * cross-entropy (mean per sample), samples × targets otherwise. */
static size_t loss_count(const clg_dataset *ds, clg_loss_kind kind)
{
    return kind == CLG_LOSS_SOFTMAX_XENT ? ds->n : ds->n * ds->q;
}

/* Enqueues the summed loss of m over ds into acc[0] (zeroed here) and, when
 * correct is not NULL, the number of correct argmax predictions into correct[0]. */
static clg_status enqueue_full_pass(clg_model *m, clg_loader *eval, clg_loss_kind kind,
                                    clg_tensor *acc, clg_tensor *correct)
{
    clg_status s = clg_tensor_fill(acc, 0.0f);
    int fused = 0;
    /* The fused kernels read a device dataset; a streamed one goes through the loader, as
     * does a rank's share of one. */
    if (s == CLG_OK && !correct && !eval->ds->streamed && eval->parts < 2)
        s = clg_fused_full_loss(m, eval->ds, kind, NULL, NULL, acc, m->ctx->queue, &fused);
    if (s != CLG_OK || fused) return s;
    if (correct) s = clg_tensor_fill(correct, 0.0f);
    if (s == CLG_OK) s = clg_loader_start_epoch(eval);
    clg_batch b;
    int more = 1;
    while (s == CLG_OK && (s = clg_loader_next(eval, &b, &more)) == CLG_OK && more) {
        if (!b.rows) continue; /* a rank's empty share */
        const clg_tensor *pred;
        s = clg_model_forward(m, b.X, &pred);
        if (s == CLG_OK)
            s = clg_op_loss_accumulate(m->ctx, kind, pred->mem, b.Y->mem, acc->mem, b.rows,
                                       pred->cols);
        if (s == CLG_OK && correct)
            s = clg_op_accuracy_accumulate(m->ctx, pred->mem, b.Y->mem, correct->mem, b.rows,
                                           pred->cols);
    }
    /* The batches belong to the loader, which the caller destroys: nothing to backpropagate. */
    m->X = NULL;
    m->rows = 0;
    return s;
}

static clg_status eval_loader(clg_dataset *ds, clg_loader **out)
{
    clg_loader_options lo = clg_loader_defaults();
    lo.shuffle = 0;
    lo.batch_size = ds->n < EVAL_CHUNK ? ds->n : EVAL_CHUNK;
    return clg_loader_create(ds, &lo, out);
}

/* The one blocking read of an epoch. */
static clg_status read_mean(clg_tensor *acc, size_t elements, double *out)
{
    float sum = 0;
    clg_status s = clg_tensor_download(acc, &sum, 1, 1);
    if (s == CLG_OK) *out = (double)sum / (double)elements;
    return s;
}

clg_status clg_evaluate(clg_model *m, clg_dataset *ds, clg_loss_kind kind, clg_eval_result *out)
{
    const char *op = "clg_evaluate";
    clg_status s = check_model_data(m, ds, kind, op);
    if (s != CLG_OK) return s;
    if (!out) return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL result", op);
    clg_loader *eval = NULL;
    clg_tensor *acc = NULL, *correct = NULL;
    int classify = ds->classes != 0;
    s = eval_loader(ds, &eval);
    /* acc = {loss sum, correct count}: one 2-float buffer, read once. */
    if (s == CLG_OK) s = clg_tensor_create(m->ctx, 1, 2, &acc);
    if (s == CLG_OK && classify) s = clg_tensor_create(m->ctx, 1, 1, &correct);
    if (s == CLG_OK) s = enqueue_full_pass(m, eval, kind, acc, correct);
    if (s == CLG_OK && classify) {
        cl_int err = clEnqueueCopyBuffer(m->ctx->queue, correct->mem, acc->mem, 0, sizeof(float),
                                         sizeof(float), 0, NULL, NULL);
        if (err != CL_SUCCESS) s = clg_fail_cl(m->ctx, err, "clEnqueueCopyBuffer(accuracy)");
    }
    float sums[2] = {0, 0};
    if (s == CLG_OK) s = clg_tensor_download(acc, sums, 1, 2);
    if (s == CLG_OK) {
        out->n = ds->n;
        out->loss = (double)sums[0] / (double)loss_count(ds, kind);
        out->accuracy = classify ? (double)sums[1] / (double)ds->n : -1.0;
    }
    clg_tensor_destroy(correct);
    clg_tensor_destroy(acc);
    clg_loader_destroy(eval);
    return s;
}

clg_status clg_evaluate_loss(clg_model *m, clg_dataset *ds, clg_loss_kind kind, double *loss)
{
    if (m && !loss)
        return clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT, "clg_evaluate_loss: NULL loss");
    clg_eval_result r;
    clg_status s = clg_evaluate(m, ds, kind, &r);
    if (s == CLG_OK) *loss = r.loss;
    return s;
}

clg_status clg_predict(clg_model *m, const float *X, size_t n, float *out)
{
    const char *op = "clg_predict";
    if (!m || !X || !out)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    if (m->nlayers == 0) return clg_fail(m->ctx, CLG_ERR_STATE, "%s: the model has no layers", op);
    if (n == 0) return clg_fail(m->ctx, CLG_ERR_SHAPE, "%s: no rows to predict", op);
    size_t d = clg_model_inputs(m), q = clg_model_outputs(m);
    if (n > SIZE_MAX / (d > q ? d : q))
        return clg_fail(m->ctx, CLG_ERR_SHAPE, "%s: %zu rows overflow the host arrays", op, n);
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return clg_fail(m->ctx, CLG_ERR_NONFINITE,
                            "%s: X has a non-finite value (%g) at row %zu, column %zu", op,
                            (double)X[i], i / d, i % d);
    size_t chunk = n < EVAL_CHUNK ? n : EVAL_CHUNK;
    clg_tensor *xb = NULL;
    clg_status s = clg_tensor_create(m->ctx, chunk, d, &xb);
    /* Writes and reads are enqueued without waiting (the queue is in order, X and
     * out stay valid until the call returns); one wait at the end. */
    for (size_t r0 = 0; s == CLG_OK && r0 < n; r0 += chunk) {
        size_t rows = n - r0 < chunk ? n - r0 : chunk;
        xb->rows = rows;
        cl_int err = clEnqueueWriteBuffer(m->ctx->queue, xb->mem, CL_FALSE, 0,
                                          rows * d * sizeof(float), X + r0 * d, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            s = clg_fail_cl(m->ctx, err, "clEnqueueWriteBuffer(predict rows)");
            break;
        }
        const clg_tensor *pred;
        s = clg_model_forward(m, xb, &pred);
        if (s != CLG_OK) break;
        err = clEnqueueReadBuffer(m->ctx->queue, pred->mem, CL_FALSE, 0, rows * q * sizeof(float),
                                  out + r0 * q, 0, NULL, NULL);
        if (err != CL_SUCCESS) s = clg_fail_cl(m->ctx, err, "clEnqueueReadBuffer(predictions)");
    }
    /* Even after a failure, wait: enqueued transfers still use X and out. */
    cl_int err = clFinish(m->ctx->queue);
    if (s == CLG_OK && err != CL_SUCCESS) s = clg_fail_cl(m->ctx, err, "clFinish(predict)");
    m->X = NULL; /* xb is gone: nothing to backpropagate */
    m->rows = 0;
    clg_tensor_destroy(xb);
    return s;
}

typedef struct fit_state {
    clg_loader *train, *eval;
    clg_optimizer *own_opt;
    clg_tensor *grad, *acc;
    cl_mem *good; /* the parameters of the last epoch whose loss passed (initially the
                   * model's): where a diverged fit returns to */
    size_t ngood;
    double initial; /* the initial model's loss: what diverge_factor is relative to */
    float lr;       /* group 0's learning rate, for messages */
    float *base_lr; /* each group's rate when clg_fit was called (the schedule's base) */
    size_t ngroups;
    clg_dataset *own_train, *own_val; /* the parts of a validation_fraction split */
    clg_dataset *val;                 /* the validation set, or NULL */
    clg_dist *dist;                   /* a distributed fit's gradient buffer, or NULL */
    cl_mem *best;                     /* the parameters of the best validation epoch */
    clg_validation_result vr;         /* which epoch that is */
} fit_state;

static void fit_state_free(fit_state *st)
{
    clg_loader_destroy(st->train);
    clg_loader_destroy(st->eval);
    clg_optimizer_destroy(st->own_opt);
    clg_tensor_destroy(st->grad);
    clg_tensor_destroy(st->acc);
    for (size_t i = 0; i < st->ngood; i++) {
        if (st->good && st->good[i]) clReleaseMemObject(st->good[i]);
        if (st->best && st->best[i]) clReleaseMemObject(st->best[i]);
    }
    free(st->good);
    free(st->best);
    free(st->base_lr);
    clg_dataset_destroy(st->own_train);
    clg_dataset_destroy(st->own_val);
    clg_dist_destroy(st->dist);
}

/* Enqueues copies between the model's parameters and a set of st->ngood buffers (st->good
 * or st->best); src (to_model 0) may name other buffers holding the parameters (the
 * overlapped loss's snapshot). */
static clg_status copy_params(clg_model *m, const fit_state *st, cl_mem *set, int to_model,
                              const cl_mem *src)
{
    for (size_t i = 0; i < st->ngood; i++) {
        clg_param_ref ref;
        clg_status s = clg_model_param_ref(m, i, &ref);
        if (s != CLG_OK) return s;
        cl_mem from = to_model ? set[i] : src ? src[i] : ref.value;
        cl_mem to = to_model ? ref.value : set[i];
        cl_int err = clEnqueueCopyBuffer(m->ctx->queue, from, to, 0, 0, ref.count * sizeof(float),
                                         0, NULL, NULL);
        if (err != CL_SUCCESS)
            return clg_fail_cl(m->ctx, err,
                               to_model ? "clEnqueueCopyBuffer(restore parameters)"
                                        : "clEnqueueCopyBuffer(keep parameters)");
    }
    return CLG_OK;
}

static clg_status copy_good(clg_model *m, fit_state *st, int to_model, const cl_mem *src)
{
    return copy_params(m, st, st->good, to_model, src);
}

/* A set of buffers shaped as the model's parameters, holding a copy of them. */
static clg_status params_create(clg_model *m, fit_state *st, const char *what, cl_mem **out)
{
    size_t n = clg_model_param_count(m);
    cl_mem *set = calloc(n, sizeof *set);
    if (!set) return clg_fail(m->ctx, CLG_ERR_HOST_MEMORY, "clg_fit: out of host memory");
    *out = set;
    st->ngood = n;
    for (size_t i = 0; i < n; i++) {
        clg_param_ref ref;
        clg_status s = clg_model_param_ref(m, i, &ref);
        if (s == CLG_OK) s = clg_buffer_create(m->ctx, ref.count * sizeof(float), what, &set[i]);
        if (s != CLG_OK) return s;
    }
    return copy_params(m, st, set, 0, NULL);
}

static clg_status check_fit_options(const clg_context *ctx, const clg_fit_options *o)
{
    if (o->epochs == 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_fit: epochs must be at least 1");
    if (o->batch_size == 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_fit: batch_size must be at least 1");
    if (!(o->diverge_factor >= 0) || isinf(o->diverge_factor))
        return clg_fail(
            ctx, CLG_ERR_INVALID_ARGUMENT,
            "clg_fit: diverge_factor must be finite and >= 0 (0 turns the check off), got %g",
            o->diverge_factor);
    if (o->reduction != CLG_REDUCE_MEAN && o->reduction != CLG_REDUCE_SUM)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: reduction must be CLG_REDUCE_MEAN or CLG_REDUCE_SUM");
    const char *why = clg_schedule_invalid(&o->schedule);
    if (why) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_fit: schedule: %s", why);
    if (o->first_epoch > UINT32_MAX || o->epochs > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: first_epoch %llu and epochs %zu must each be below 2^32",
                        (unsigned long long)o->first_epoch, o->epochs);
    if (o->validation_fraction != 0 && !(o->validation_fraction > 0 && o->validation_fraction < 1))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: validation_fraction %g is not in (0, 1) (0: none)",
                        o->validation_fraction);
    if (o->validation_fraction != 0 && o->validation)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: give a validation dataset or a validation_fraction, not both");
    if (o->average_every && !o->comm)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: average_every %zu needs a communicator (comm): it is how the "
                        "ranks of a distributed fit combine their models",
                        o->average_every);
    if (o->early_stop && !o->validation && o->validation_fraction == 0)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: early_stop needs validation data (validation or "
                        "validation_fraction)");
    return CLG_OK;
}

/* After `done` of `total` batches of epoch `epoch`: when o asks for progress then (every
 * progress_every batches and at the last), waits for the device and calls on_progress. */
static clg_status fit_progress(clg_context *ctx, const clg_fit_options *o, size_t epoch,
                               size_t done, size_t total)
{
    if (!o->on_progress || !o->progress_every || (done % o->progress_every && done != total))
        return CLG_OK;
    clg_status s = clg_context_finish(ctx);
    if (s == CLG_OK) o->on_progress(epoch, done, total, o->user);
    return s;
}

static int cancelled(const clg_fit_options *o) { return o->cancel && *o->cancel; }

/* After steps of an epoch: a model-averaging fit's averages, then the caller's reports. */
typedef struct progress_ctx {
    clg_model *m;
    clg_optimizer *opt;
    const clg_fit_options *o;
    fit_state *st;
    size_t epoch;
} progress_ctx;

/* After `done` of the `total` batches of this rank's epoch: every average_every steps below
 * the ranks' fewest batches, an average (a cancel goes into it, so that every rank stops);
 * then o's progress report. */
static clg_status after_steps(void *user, size_t done, size_t total)
{
    const progress_ctx *p = user;
    clg_dist *d = p->st->dist;
    if (d && d->every && done % d->every == 0 && done < d->steps) {
        clg_status s =
            clg_dist_average(d, p->m, p->opt, cancelled(p->o) ? CLG_ERR_CANCELLED : CLG_OK, 0);
        if (s != CLG_OK) return s;
    }
    return fit_progress(p->m->ctx, p->o, p->epoch, done, total);
}

static size_t gcd(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* How often the fused paths must stop for after_steps: every average_every and every
 * progress_every batches (their gcd), or never. */
static clg_fused_reports fused_reports(const progress_ctx *pc)
{
    const clg_fit_options *o = pc->o;
    const size_t k = pc->st->dist ? pc->st->dist->every : 0;
    const size_t e = o->on_progress ? o->progress_every : 0;
    clg_fused_reports r = {k && e ? gcd(k, e) : k ? k : e, k != 0, after_steps, (void *)pc};
    return r;
}

/* One epoch of a distributed fit's steps (docs/distributed.md): this rank's rows of each
 * global batch (its share of the batch, or its shard's next local batch), their gradient
 * summed over the rows and then over the ranks with the ranks' row counts, the same update
 * everywhere, scaled by the batch's rows. Every rank runs every step's exchange; a local
 * failure or cancel is carried into the next one (or the epoch's closing exchange in
 * clg_fit), so that every rank stops together. */
static clg_status run_epoch_dist(clg_model *m, clg_optimizer *opt, const clg_fit_options *o,
                                 fit_state *st, size_t epoch, size_t *steps)
{
    clg_status s = clg_loader_start_epoch(st->train);
    const size_t total = st->dist->steps, mine = clg_loader_batches(st->train);
    const size_t q = o->loss == CLG_LOSS_SOFTMAX_XENT ? 1 : clg_model_outputs(m);
    for (size_t k = 0; k < total; k++) {
        clg_batch b = {0};
        int more = 0;
        if (s == CLG_OK && k < mine) { /* a shard may run out of batches before the others */
            s = clg_loader_next(st->train, &b, &more);
            if (s == CLG_OK && !more)
                s = clg_fail(m->ctx, CLG_ERR_STATE, "clg_fit: the loader ended at batch %zu", k);
        }
        if (s == CLG_OK && cancelled(o)) s = CLG_ERR_CANCELLED;
        if (s == CLG_OK && b.rows) {
            const clg_tensor *pred;
            st->grad->rows = b.rows;
            s = clg_model_forward(m, b.X, &pred);
            if (s == CLG_OK)
                s = clg_op_loss_grad(m->ctx, o->loss, CLG_REDUCE_SUM, pred->mem, b.Y->mem,
                                     st->grad->mem, b.rows, pred->cols);
            if (s == CLG_OK) s = clg_model_backward(m, st->grad);
        }
        float rows = (float)b.rows; /* an empty share adds zeros */
        const clg_status all = clg_dist_sum_grads(st->dist, m, s, b.rows == 0, &rows);
        if (all != CLG_OK) return all; /* every rank sees it and stops */
        /* what fails here, on this rank alone, goes into the next exchange */
        s = clg_dist_put_grads(st->dist, m);
        const float scale = 1.0f / (o->reduction == CLG_REDUCE_MEAN ? rows * (float)q : rows);
        if (s == CLG_OK) s = clg_optimizer_step(opt, scale);
        (*steps)++;
        if (s == CLG_OK) s = fit_progress(m->ctx, o, epoch, k + 1, total);
    }
    return s;
}

/* One epoch of minibatch steps, enqueued without any wait (but for progress reports). */
static clg_status run_epoch_local(clg_model *m, clg_optimizer *opt, const clg_fit_options *o,
                                  fit_state *st, size_t epoch, size_t *steps)
{
    int fused = 0;
    clg_status s = CLG_OK;
    progress_ctx pc = {m, opt, o, st, epoch};
    const clg_fused_reports rep = fused_reports(&pc);
    s = clg_fused_epoch(m, opt, st->train, o, &rep, &fused, steps);
    if (s != CLG_OK || fused) return s;
    s = clg_loader_start_epoch(st->train);
    clg_batch b;
    int more = 1;
    while (s == CLG_OK && (s = clg_loader_next(st->train, &b, &more)) == CLG_OK && more) {
        if (b.index && cancelled(o)) return CLG_ERR_CANCELLED; /* clg_fit says so */
        const clg_tensor *pred;
        st->grad->rows = b.rows;
        s = clg_model_forward(m, b.X, &pred);
        if (s == CLG_OK)
            s = clg_op_loss_grad(m->ctx, o->loss, o->reduction, pred->mem, b.Y->mem, st->grad->mem,
                                 b.rows, pred->cols);
        if (s == CLG_OK) s = clg_model_backward(m, st->grad);
        if (s == CLG_OK)
            s = clg_optimizer_step(opt,
                                   o->reduction == CLG_REDUCE_SUM ? 1.0f / (float)b.rows : 1.0f);
        (*steps)++;
        if (s == CLG_OK) s = after_steps(&pc, b.index + 1, clg_loader_batches(st->train));
    }
    return s;
}

/* One epoch of a model-averaging fit: this rank's local steps (fused where they apply), with
 * the averages after_steps makes among them; then the averages a rank that stopped early (a
 * failure, a cancel) skipped, carrying its status, and the epoch's closing average of the
 * parameters and the optimizer's state: every rank makes the same exchanges, and all stop at
 * the first that fails. */
static clg_status run_epoch_avg(clg_model *m, clg_optimizer *opt, const clg_fit_options *o,
                                fit_state *st, size_t epoch, size_t *steps)
{
    clg_dist *d = st->dist;
    d->pending = d->steps > 1 ? (d->steps - 1) / d->every : 0;
    d->failed = 0;
    clg_status s = run_epoch_local(m, opt, o, st, epoch, steps);
    while (!d->failed && d->pending) s = clg_dist_average(d, m, opt, s, 0);
    if (s == CLG_OK && cancelled(o)) s = CLG_ERR_CANCELLED;
    if (!d->failed) s = clg_dist_average(d, m, opt, s, 1);
    return s;
}

static clg_status run_epoch(clg_model *m, clg_optimizer *opt, const clg_fit_options *o,
                            fit_state *st, size_t epoch, size_t *steps)
{
    if (st->dist && st->dist->every) return run_epoch_avg(m, opt, o, st, epoch, steps);
    if (st->dist) return run_epoch_dist(m, opt, o, st, epoch, steps);
    return run_epoch_local(m, opt, o, st, epoch, steps);
}

/* A distributed fit's per-epoch collectives: the epoch loss summed over the ranks' shares
 * (the initial model's too), and the closing exchange of an epoch, which carries each
 * rank's status and stop request so that all go on, or all stop. */
static clg_status full_loss(clg_model *m, fit_state *st, clg_loss_kind kind, size_t count,
                            double *out)
{
    clg_status s = enqueue_full_pass(m, st->eval, kind, st->acc, NULL);
    if (!st->dist) return s == CLG_OK ? read_mean(st->acc, count, out) : s;
    float sum = 0;
    if (s == CLG_OK) s = clg_tensor_download(st->acc, &sum, 1, 1);
    s = clg_dist_sum(st->dist, m->ctx, &sum, s, "clg_fit (epoch loss)");
    if (s == CLG_OK) *out = (double)sum / (double)count;
    return s;
}

static clg_status epoch_sync(clg_model *m, fit_state *st, clg_status s, int *stop)
{
    if (!st->dist) return s;
    float any = (float)(*stop != 0);
    s = clg_dist_sum(st->dist, m->ctx, &any, s, "clg_fit");
    if (s == CLG_OK) *stop = any > 0;
    return s;
}

/* Records epoch e's loss in r and, when it passes, calls on_epoch. A loss that is
 * non-finite or beyond diverge_factor times the initial model's (when computed) is
 * recorded, then CLG_ERR_NONFINITE / CLG_ERR_DIVERGED instead of the call. */
static clg_status report_epoch(clg_model *m, const clg_fit_options *o, const fit_state *st,
                               clg_fit_report *r, size_t e, double loss)
{
    r->epochs_run = e;
    r->final_loss = loss;
    e += (size_t)o->first_epoch; /* on_epoch's numbering from here */
    if (o->epoch_loss && !isfinite(loss))
        return clg_fail(m->ctx, CLG_ERR_NONFINITE,
                        "clg_fit: the training loss became %g in epoch %zu (learning rate %g too "
                        "high, or unscaled data?); the model keeps the parameters of epoch %zu",
                        loss, e, (double)st->lr, e - 1);
    if (o->epoch_loss && o->diverge_factor > 0 && st->initial > 0 &&
        loss > o->diverge_factor * st->initial)
        return clg_fail(m->ctx, CLG_ERR_DIVERGED,
                        "clg_fit: the training loss grew to %g in epoch %zu, over %g times the "
                        "initial model's %g (learning rate %g too high, or unscaled data?); the "
                        "model keeps the parameters of epoch %zu",
                        loss, e, o->diverge_factor, st->initial, (double)st->lr, e - 1);
    if (o->on_epoch) o->on_epoch(e, loss, o->user);
    return CLG_OK;
}

/* After a cancel: an epoch under way goes back to the last whole one (st->good holds it
 * when the epoch loss is on); the status and message say which epoch the model holds. */
static clg_status fit_cancelled(clg_model *m, const clg_fit_options *o, fit_state *st, size_t whole,
                                int undo)
{
    clg_status s = CLG_OK;
    if (undo && o->epoch_loss) s = copy_good(m, st, 1, NULL);
    if (s == CLG_OK) s = clg_context_finish(m->ctx);
    if (s != CLG_OK) return s;
    whole += (size_t)o->first_epoch;
    if (undo && !o->epoch_loss)
        return clg_fail(m->ctx, CLG_ERR_CANCELLED,
                        "clg_fit: cancelled during epoch %zu; the model holds epoch %zu and the "
                        "steps of epoch %zu that ran",
                        whole + 1, whole, whole + 1);
    return clg_fail(m->ctx, CLG_ERR_CANCELLED,
                    "clg_fit: cancelled %s epoch %zu; the model holds the parameters of epoch %zu",
                    undo ? "during" : "before", whole + 1, whole);
}

/* A callback other than the printer may read or evaluate the model, so it must see
 * the epoch it reports: then no epoch is enqueued before the report. */
static int callback_allows_overlap(const clg_context *ctx, const clg_fit_options *o)
{
    if (o->validation || o->validation_fraction != 0) return 0; /* it reads the model too */
    return !o->on_epoch || o->on_epoch == clg_print_epoch || o->on_epoch == clg_record_epoch ||
           o->on_epoch_records_only || ctx->cfg.epoch_loss_overlap == 2;
}

/* The caller's options over the defaults (as far as its header knew them), checked with
 * the model, the data and the optimizer. */
static clg_status fit_arguments(clg_model *m, const clg_dataset *ds, const clg_fit_options *opts,
                                const clg_optimizer *opt, clg_fit_options *o)
{
    *o = clg_fit_defaults();
    /* The first published clg_fit_options ended with diverge_factor. */
    const size_t v1 = offsetof(clg_fit_options, diverge_factor) + sizeof o->diverge_factor;
    clg_status s = opts ? clg_options_copy(m ? m->ctx : NULL, "clg_fit", "clg_fit_defaults", o,
                                           sizeof *o, opts, v1)
                        : CLG_OK;
    if (s == CLG_OK) s = check_model_data(m, ds, o->loss, "clg_fit");
    if (s == CLG_OK) s = check_fit_options(m->ctx, o);
    if (s == CLG_OK && opt && opt->model != m)
        s = clg_fail(m->ctx, CLG_ERR_INVALID_ARGUMENT,
                     "clg_fit: the optimizer belongs to another model");
    if (s == CLG_OK && o->validation)
        s = check_model_data(m, o->validation, o->loss, "clg_fit (validation set)");
    return s;
}

/* The data clg_fit trains on (ds, or its part when validation_fraction holds some out) and
 * the validation set (st->val). */
static clg_status fit_data(clg_dataset *ds, const clg_fit_options *o, fit_state *st,
                           clg_dataset **train)
{
    *train = ds;
    st->val = o->validation;
    if (o->validation_fraction == 0) return CLG_OK;
    clg_status s = ds->classes ? clg_dataset_split_stratified(ds, o->validation_fraction, o->seed,
                                                              &st->own_train, &st->own_val)
                               : clg_dataset_split(ds, o->validation_fraction, o->seed,
                                                   &st->own_train, &st->own_val);
    if (s != CLG_OK) return s;
    *train = st->own_train;
    st->val = st->own_val;
    return CLG_OK;
}

/* The groups' base rates (what the schedule scales; set back when clg_fit returns). */
static clg_status schedule_begin(const clg_optimizer *opt, fit_state *st)
{
    st->ngroups = opt->ngroups;
    st->base_lr = malloc(st->ngroups * sizeof *st->base_lr);
    if (!st->base_lr)
        return clg_fail(opt->model->ctx, CLG_ERR_HOST_MEMORY, "clg_fit: out of host memory");
    for (size_t g = 0; g < st->ngroups; g++) st->base_lr[g] = opt->groups[g].lr;
    return CLG_OK;
}

/* Sets each group's rate for epoch `epoch` (0-based, across resumed fits); base = 1 sets the
 * base rates back. */
static void schedule_set(clg_optimizer *opt, const clg_fit_options *o, fit_state *st,
                         uint64_t epoch, int base)
{
    const clg_schedule *sc = &o->schedule;
    if (!st->base_lr || (sc->kind == CLG_SCHEDULE_CONSTANT && !sc->warmup)) return;
    size_t total = (size_t)(o->first_epoch + o->epochs);
    for (size_t g = 0; g < st->ngroups && g < opt->ngroups; g++)
        opt->groups[g].lr = base ? st->base_lr[g]
                                 : (float)clg_schedule_lr(sc, st->base_lr[g], (size_t)epoch, total);
    st->lr = opt->groups[0].lr;
}

/* After epoch e (of this call) with the model at that epoch: the validation loss to
 * on_validation, the best epoch's parameters kept, and *stop = 1 when early stopping ends
 * the fit. */
static clg_status validate_epoch(clg_model *m, const clg_fit_options *o, fit_state *st, size_t e,
                                 int *stop)
{
    clg_eval_result res;
    clg_status s = clg_evaluate(m, st->val, o->loss, &res);
    if (s != CLG_OK) return s;
    e += (size_t)o->first_epoch;
    if (o->on_validation) o->on_validation(e, res.loss, res.accuracy, o->user);
    clg_validation_result *r = &st->vr;
    if (r->best_epoch == 0 || isnan(r->best_loss) || res.loss < r->best_loss) {
        r->best_epoch = e;
        r->best_loss = res.loss;
        r->best_accuracy = res.accuracy;
        if (!st->best) return params_create(m, st, "best parameters", &st->best);
        return copy_params(m, st, st->best, 0, NULL);
    }
    if (o->early_stop && e - r->best_epoch >= o->early_stop) *stop = r->stopped_early = 1;
    return CLG_OK;
}

/* Epoch e's loss in order (with epoch_loss), its report and validation; then keeps the
 * parameters as the last good ones. */
static clg_status finish_epoch(clg_model *m, const clg_fit_options *o, fit_state *st,
                               clg_fit_report *r, size_t e, size_t count, int *stop)
{
    double loss = NAN;
    clg_status s = CLG_OK;
    if (o->epoch_loss) {
        s = full_loss(m, st, o->loss, count, &loss);
    } else if (e == o->epochs) {
        s = clg_context_finish(m->ctx);
    }
    if (s == CLG_OK) s = report_epoch(m, o, st, r, e, loss);
    if (s == CLG_OK && st->val) s = validate_epoch(m, o, st, e, stop);
    /* a later epoch may fail */
    if (s == CLG_OK && o->epoch_loss && e < o->epochs && !*stop) s = copy_good(m, st, 0, NULL);
    return epoch_sync(m, st, s, stop);
}

/* How a fit ends. With a validated epoch: back to the best one, whatever ended the fit (a
 * cancel or divergence keeps its status, its message saying so). Otherwise after a
 * divergence: back to the last epoch whose loss passed (the initial model if none did;
 * epochs enqueued after it are undone; the message stays the divergence's). */
static clg_status fit_end(clg_model *m, fit_state *st, clg_status s)
{
    const int diverged = s == CLG_ERR_NONFINITE || s == CLG_ERR_DIVERGED;
    const int best = st->best && (s == CLG_OK || s == CLG_ERR_CANCELLED || diverged);
    if (!best && !diverged) return s;
    char msg[CLG_MSG_LEN], why[CLG_MSG_LEN];
    snprintf(msg, sizeof msg, "%s", m->ctx->err);
    if (copy_params(m, st, best ? st->best : st->good, 1, NULL) != CLG_OK ||
        clg_context_finish(m->ctx) != CLG_OK) {
        snprintf(why, sizeof why, "%s", m->ctx->err);
        return clg_fail(m->ctx, CLG_ERR_OPENCL, "%s%srestoring the parameters failed: %s",
                        s == CLG_OK ? "" : msg, s == CLG_OK ? "" : "; ", why);
    }
    if (best && s != CLG_OK)
        s = clg_fail(m->ctx, s, "%s; with validation, it holds the best epoch's instead: %zu", msg,
                     st->vr.best_epoch);
    return s;
}

/* Loaders, the optimizer (opt's, or one made here), buffers and the data parts of a fit. */
static clg_status fit_setup(clg_model *m, clg_dataset **ds, const clg_fit_options *o,
                            clg_optimizer **opt, fit_state *st)
{
    clg_status s = fit_data(*ds, o, st, ds);
    if (s != CLG_OK) return s;
    clg_loader_options lo = clg_loader_defaults();
    lo.batch_size = o->batch_size;
    lo.shuffle = o->shuffle;
    lo.drop_last = o->drop_last;
    lo.seed = o->seed;
    lo.first_epoch = o->first_epoch;
    if (o->comm && ((*ds)->parts || o->average_every)) {
        /* a shard, or a rank's block: its share of each batch; a shard its own order */
        const size_t P = (size_t)o->comm->size, r = (size_t)o->comm->rank;
        lo.batch_size = clg_part_size(o->batch_size, r, P);
        if ((*ds)->parts) lo.seed = o->seed + 0x9e3779b97f4a7c15ULL * r; /* rank 0: one process's */
        if (!lo.batch_size) lo.batch_size = 1; /* refused with its reason in dist_begin */
    }
    /* A batch never holds more rows than the dataset, whatever batch_size says. */
    size_t cap = lo.batch_size < (*ds)->n ? lo.batch_size : (*ds)->n;
    s = clg_loader_create(*ds, &lo, &st->train);
    if (s == CLG_OK && o->epoch_loss) s = eval_loader(*ds, &st->eval);
    if (s == CLG_OK && !*opt &&
        (s = clg_optimizer_create(m, &o->optimizer, &st->own_opt)) == CLG_OK)
        *opt = st->own_opt;
    if (s == CLG_OK) st->lr = (*opt)->groups[0].lr;
    if (s == CLG_OK) s = schedule_begin(*opt, st);
    if (s == CLG_OK) s = clg_tensor_create(m->ctx, cap, clg_model_outputs(m), &st->grad);
    if (s == CLG_OK) s = clg_tensor_create(m->ctx, 1, 1, &st->acc);
    if (s == CLG_OK && o->epoch_loss) s = params_create(m, st, "last good parameters", &st->good);
    return s;
}

/* The caller's communicator, read even from options that fail their checks: a rank whose
 * arguments are wrong must still tell the others. */
static const clg_comm *fit_comm(const clg_fit_options *opts)
{
    const size_t end = offsetof(clg_fit_options, comm) + sizeof opts->comm;
    return opts && opts->struct_size >= end ? opts->comm : NULL;
}

/* What a shard asks of the fit (docs/distributed.md): to be this rank's part; and a
 * model-averaging fit, rows for each rank's share of a batch. */
static clg_status shard_check(const clg_context *ctx, const clg_dataset *ds,
                              const clg_fit_options *o, const clg_comm *comm)
{
    if (o->average_every && o->batch_size < (size_t)comm->size)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: batch_size %zu is below the %d ranks: with average_every each "
                        "rank steps on its share of a batch, which would be empty",
                        o->batch_size, comm->size);
    if (!ds->parts) return CLG_OK;
    if (o->validation_fraction != 0)
        return clg_fail(ctx, CLG_ERR_UNSUPPORTED,
                        "clg_fit: validation_fraction on a shard would hold out other rows on "
                        "each rank; give a validation set (whole on every rank) instead");
    if (ds->parts != (size_t)comm->size || ds->part != (size_t)comm->rank)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: the dataset is part %zu of %zu of its file, but this rank is %d "
                        "of %d (open part = rank, parts = size)",
                        ds->part, ds->parts, comm->rank, comm->size);
    if (o->batch_size < ds->parts)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fit: batch_size %zu is below the %zu ranks: each rank's share of a "
                        "batch would be empty",
                        o->batch_size, ds->parts);
    if (o->validation && o->validation->parts)
        return clg_fail(ctx, CLG_ERR_UNSUPPORTED,
                        "clg_fit: the validation set is a shard; every rank evaluates the whole "
                        "validation set, so give it whole");
    return CLG_OK;
}

/* What must be the same on every rank beyond the shapes, as three hashes: the initial
 * parameters (downloaded), the optimizer's groups, and the schedule with the validation
 * options. A failed download is *s. */
static void fit_hashes(clg_model *m, const clg_optimizer *opt, const clg_fit_options *o,
                       uint64_t h[3], clg_status *s)
{
    h[0] = h[1] = h[2] = CLG_HASH_SEED;
    for (size_t i = 0; *s == CLG_OK && i < clg_model_param_count(m); i++) {
        clg_param_ref ref;
        float *v = NULL;
        *s = clg_model_param_ref(m, i, &ref);
        if (*s == CLG_OK && !(v = malloc(ref.count * sizeof *v)))
            *s = clg_fail(m->ctx, CLG_ERR_HOST_MEMORY, "clg_fit: out of host memory");
        cl_int err = *s != CLG_OK ? CL_SUCCESS
                                  : clEnqueueReadBuffer(m->ctx->queue, ref.value, CL_TRUE, 0,
                                                        ref.count * sizeof *v, v, 0, NULL, NULL);
        if (err != CL_SUCCESS) *s = clg_fail_cl(m->ctx, err, "clEnqueueReadBuffer(parameters)");
        if (*s == CLG_OK) h[0] = clg_hash64(v, ref.count * sizeof *v, h[0]);
        free(v);
    }
    h[1] = clg_hash64(opt->groups, opt->ngroups * sizeof *opt->groups, h[1]); /* no padding */
    h[1] = clg_hash64(opt->group_of, opt->nparams * sizeof *opt->group_of, h[1]);
    const clg_schedule *sc = &o->schedule;
    const double reals[] = {sc->gamma, sc->eta_min, sc->warmup_start, o->validation_fraction};
    const uint64_t ints[] = {(uint64_t)sc->kind, sc->step_size, sc->t_max, sc->warmup,
                             o->early_stop};
    h[2] = clg_hash64(reals, sizeof reals, h[2]);
    h[2] = clg_hash64(ints, sizeof ints, h[2]);
}

/* A distributed fit's start: the ranks agree that they fit the same thing (and learn of any
 * rank whose setup failed) and on the steps of an epoch; then, with the same data on every
 * rank, each takes its share of every batch; with a shard, its shard's batches. */
static clg_status dist_begin(clg_model *m, const clg_dataset *given, const clg_dataset *ds,
                             const clg_fit_options *o, const clg_optimizer *opt,
                             const clg_comm *comm, fit_state *st, clg_status s)
{
    const clg_context *ctx = m ? m->ctx : NULL;
    if (s == CLG_OK) s = shard_check(ctx, given, o, comm);
    if (s == CLG_OK) s = clg_dist_create(comm, m, opt, o->average_every, &st->dist);
    uint64_t h[3] = {0, 0, 0};
    if (s == CLG_OK) fit_hashes(m, opt, o, h, &s);
    static const char *const names[] = {"the training rows",
                                        "features",
                                        "targets",
                                        "classes",
                                        "sharded",
                                        "the CSV file's bytes",
                                        "batch_size",
                                        "epochs",
                                        "first_epoch",
                                        "seed",
                                        "shuffle",
                                        "drop_last",
                                        "loss",
                                        "reduction",
                                        "epoch_loss",
                                        "diverge_factor",
                                        "average_every",
                                        "the parameters' floats",
                                        "the initial parameters (a hash)",
                                        "the optimizer's options (a hash)",
                                        "the schedule and validation options (a hash)"};
    uint64_t v[sizeof names / sizeof *names] = {0};
    if (s == CLG_OK) {
        double df = o->diverge_factor;
        uint64_t dbits;
        memcpy(&dbits, &df, sizeof dbits);
        uint64_t w[] = {ds->parts ? ds->file_rows : ds->n,
                        ds->d,
                        ds->q,
                        ds->classes,
                        ds->parts != 0,
                        ds->file_bytes,
                        o->batch_size,
                        o->epochs,
                        o->first_epoch,
                        o->seed,
                        (uint64_t)o->shuffle,
                        (uint64_t)o->drop_last,
                        (uint64_t)o->loss,
                        (uint64_t)o->reduction,
                        (uint64_t)o->epoch_loss,
                        dbits,
                        o->average_every,
                        st->dist->floats,
                        h[0],
                        h[1],
                        h[2]};
        memcpy(v, w, sizeof v);
    }
    s = clg_dist_agree(comm, ctx, v, names, sizeof names / sizeof *names, s, "clg_fit");
    if (s != CLG_OK) return s;
    clg_dist *d = st->dist;
    const unsigned r = (unsigned)comm->rank, P = (unsigned)comm->size;
    if (!ds->parts) { /* the same rows everywhere: each rank its part of every epoch */
        if (st->eval) clg_loader_set_part(st->eval, r, P);
        if (!d->every)
            clg_loader_set_part(st->train, r, P); /* of every batch */
        else
            s = clg_loader_set_block(st->train, r, P); /* its block of the order */
    }
    /* The steps: the gradient sum runs as many as the rank with the most batches (the same
     * on every rank without shards), averaging falls below the fewest; and the rows, summed
     * over the shards (sharded or not is agreed above, so every rank makes this exchange or
     * none). */
    size_t lo = 0, hi = 0, sum = 0;
    s = clg_dist_range(d, ctx, clg_loader_batches(st->train), s, &lo, &hi, &sum);
    if (s == CLG_OK) d->steps = d->every ? lo : hi;
    d->rows = ds->n;
    if (ds->parts) s = clg_dist_range(d, ctx, ds->n, s, &lo, &hi, &sum);
    if (s == CLG_OK && ds->parts) d->rows = sum;
    return s;
}

clg_status clg_fit(clg_model *m, clg_dataset *ds, const clg_fit_options *opts, clg_optimizer *opt,
                   clg_fit_report *report)
{
    clg_fit_options o;
    const clg_comm *comm = fit_comm(opts);
    if (comm) {
        clg_status s = clg_dist_comm_valid(comm, m ? m->ctx : NULL, "clg_fit");
        if (s != CLG_OK) return s;
    }
    clg_status s = fit_arguments(m, ds, opts, opt, &o);
    if (s != CLG_OK && !comm) return s;
    fit_state st = {0};
    st.initial = NAN;
    clg_dataset *given = ds;
    if (s == CLG_OK) s = fit_setup(m, &ds, &o, &opt, &st);
    if (comm) s = dist_begin(m, given, ds, &o, opt, comm, &st, s);
    if (s != CLG_OK && !m) return s;
    size_t count = s == CLG_OK ? loss_count(ds, o.loss) : 1;
    if (s == CLG_OK && st.dist && ds->parts) /* the ranks sum their shards' passes */
        count = count / ds->n * st.dist->rows;
    clg_fit_report r = {0};
    st.vr.best_loss = NAN;
    st.vr.best_accuracy = -1;
    clg_epoch_loss *ov = NULL; /* the overlapped loss, where the setup allows it */
    if (s == CLG_OK && o.epoch_loss && !st.dist && callback_allows_overlap(m->ctx, &o))
        s = clg_epoch_loss_create(m, ds, o.loss, &ov);
    /* The initial model's loss: overlapped with epoch 1 where possible. */
    int initial_pending = 0;
    if (s == CLG_OK && ov && o.diverge_factor > 0) {
        s = clg_epoch_loss_start(ov, &initial_pending);
        if (s == CLG_OK && !initial_pending) {
            clg_epoch_loss_destroy(ov); /* declined (e.g. W beyond local memory): in order */
            ov = NULL;
        }
    }
    if (s == CLG_OK && o.epoch_loss && o.diverge_factor > 0 && !initial_pending)
        s = full_loss(m, &st, o.loss, count, &st.initial);
    size_t whole = 0;                  /* epochs enqueued in full */
    int stop = 0, undo = 0, early = 0; /* cancelled; during an epoch; early stopping */
    for (size_t e = 1; s == CLG_OK && e <= o.epochs; e++) {
        if (cancelled(&o) && !st.dist) { /* a distributed fit's steps exchange it */
            stop = 1;
            break;
        }
        schedule_set(opt, &o, &st, o.first_epoch + e - 1, 0);
        s = run_epoch(m, opt, &o, &st, (size_t)o.first_epoch + e, &r.steps);
        s = epoch_sync(m, &st, s, &early); /* a failure in the last step reaches every rank */
        /* The steps took their rates when enqueued: the callbacks (which may save the
         * optimizer) see the base rates, which a resumed fit schedules from. */
        schedule_set(opt, &o, &st, 0, 1);
        if (s == CLG_ERR_CANCELLED) {
            s = CLG_OK;
            stop = undo = 1;
            break;
        }
        whole = e;
        if (s != CLG_OK) break;
        if (ov) {
            /* Epoch e is enqueued: now wait for the loss of epoch e-1, which ran meanwhile. */
            if (clg_epoch_loss_pending(ov)) {
                double loss = NAN;
                s = clg_epoch_loss_collect(ov, count, &loss);
                if (s == CLG_OK && e == 1)
                    st.initial = loss;
                else if (s == CLG_OK)
                    s = report_epoch(m, &o, &st, &r, e - 1, loss);
                cl_mem snap[2];
                clg_epoch_loss_snapshot(ov, snap);
                if (s == CLG_OK && e > 1) s = copy_good(m, &st, 0, snap);
                if (s != CLG_OK) break;
            }
            int handled = 0;
            s = clg_epoch_loss_start(ov, &handled);
            if (s != CLG_OK) break;
            if (handled) continue;
            clg_epoch_loss_destroy(ov); /* declined (e.g. W beyond local memory): in order */
            ov = NULL;
        }
        s = finish_epoch(m, &o, &st, &r, e, count, &early);
        if (early) break;
    }
    if (s == CLG_OK && clg_epoch_loss_pending(ov)) { /* the loss of epoch `whole` */
        double loss = NAN;
        s = clg_epoch_loss_collect(ov, count, &loss);
        if (s == CLG_OK && whole == 0)
            st.initial = loss; /* cancelled before epoch 1 */
        else if (s == CLG_OK)
            s = report_epoch(m, &o, &st, &r, whole, loss);
        cl_mem snap[2];
        clg_epoch_loss_snapshot(ov, snap);
        if (s == CLG_OK && undo && whole) s = copy_good(m, &st, 0, snap);
    }
    clg_epoch_loss_destroy(ov);
    if (s == CLG_OK && stop) s = fit_cancelled(m, &o, &st, whole, undo);
    s = fit_end(m, &st, s);
    if (opt) schedule_set(opt, &o, &st, 0, 1);
    if (o.validation_result && st.val) *o.validation_result = st.vr;
    fit_state_free(&st);
    if (report) *report = r;
    return s;
}
