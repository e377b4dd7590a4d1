/* Fused training epochs for a single Linear layer (kernels: cl/fused.cl).
 *
 * Eligible: the model is one Linear(d -> q) layer, its optimizer is the model's and of
 * a kind the kernels run (SGD: any options, per-group options for the weight and the
 * bias), the loss is
 * squared or MSE (regression data) or softmax cross-entropy (class ids, q = classes)
 * with MEAN or SUM reduction, and one work-group can hold
 * W, b, their momentum buffers, one batch's loss gradient (batch x q) and row
 * indices (batch) in local memory. Anything else is left to the unfused path.
 *
 * Paths:
 *   "epoch"     fused_sgd_epoch, one work-group: one launch walks every minibatch of
 *               the epoch (b);
 *   "minibatch" the same kernel, one launch per minibatch (a);
 *   "pipeline"  two multi-work-group launches per minibatch (c): fused_mb_forward
 *               (groups of FUSED_PIPE_ROWS batch rows) and fused_mb_backward (one
 *               work-item per 32 entries of a column of W, SGD in place);
 *   "split"     one launch per minibatch over several work-groups, each a share of
 *               the batch rows, the partial gradients summed by the next launch
 *               (fused_split.c).
 * They compute the unfused path's mathematics; the sums may associate differently
 * (the q = 1 forward sums along d in float16 lanes, the bias sum is sequential, the
 * split step adds per-group partial sums), always in a fixed order, so each path is
 * deterministic and the tests hold them to the unfused result within 1e-5.
 * Rule (CLGRAD_FUSED unset or "auto"): on a device other than a CPU with >= 2 compute
 * units and a batch of >= 2 * FUSED_SPLIT_MIN_ROWS rows, "split" (a GPU would leave all
 * but one compute unit idle in the epoch kernel; not measured: no GPU was at hand);
 * on a CPU, "pipeline" when it has >= 2 compute units, q >= 8 and a batch
 * fills >= 2 forward groups (measured on POCL, 2 cores: softmax 784x10 batch 256
 * trains ~13% faster than with "epoch"); else "epoch" when the epoch's work n*d*q is at
 * most FUSED_EPOCH_MAX_WORK multiply-adds (bounds the time of one launch, so that no
 * GPU watchdog kills it); "minibatch" otherwise. On POCL (2 cores) the split step
 * trains linear regression 100000x256 about 40% slower than "epoch": every launch over
 * two groups pays 10-20 us to wake the second worker thread, more than half a step.
 * CLGRAD_FUSED=0 forces the unfused path, =minibatch, =epoch, =pipeline or =split
 * that path when the setup is eligible (an ineligible setup always falls back).
 *
 * clg_fused_epoch calls clg_loader_start_epoch itself when it handles the epoch
 * (so the permutation is the loader's, drawn from (seed, epoch) as always) and
 * leaves the loader untouched when it does not, so the caller then runs its
 * unfused epoch, starting the loader's epoch as before. */
#include <stdlib.h>
#include <string.h>

#include "fused.h"

#define FUSED_EPOCH_MAX_WORK ((size_t)1 << 30)
#define FUSED_SPLIT_MIN_ROWS 32 /* as SPLIT_MIN_ROWS in fused_split.c */

typedef enum fused_mode {
    FUSED_OFF,
    FUSED_AUTO,
    FUSED_MINIBATCH,
    FUSED_EPOCH,
    FUSED_PIPELINE,
    FUSED_SPLIT
} fused_mode;

/* The context's setting (validated when it was created, runtime/config.c). */
static fused_mode read_mode(const clg_context *ctx)
{
    switch (ctx->cfg.fused) {
    case CLG_FUSED_OFF:
        return FUSED_OFF;
    case CLG_FUSED_MINIBATCH:
        return FUSED_MINIBATCH;
    case CLG_FUSED_EPOCH:
        return FUSED_EPOCH;
    case CLG_FUSED_PIPELINE:
        return FUSED_PIPELINE;
    case CLG_FUSED_SPLIT:
        return FUSED_SPLIT;
    default:
        return FUSED_AUTO;
    }
}

size_t clg_fused_forward_units(size_t rows, size_t q)
{
    if (q >= FUSED_LANES)
        return (rows + FUSED_OROWS - 1) / FUSED_OROWS * ((q + FUSED_OL - 1) / FUSED_OL);
    if (q == 1) return (rows + FUSED_DROWS - 1) / FUSED_DROWS;
    return (rows + FUSED_ROWS - 1) / FUSED_ROWS * q;
}

size_t clg_fused_backward_units(size_t d, size_t q)
{
    const size_t KU = FUSED_LANES * FUSED_KB;
    return (d + KU - 1) / KU * q + q;
}

/* Local memory fused_sgd_epoch needs for a batch capacity cap, in bytes. */
static size_t local_bytes(const clg_fused_job *j)
{
    const size_t d = j->d, q = j->q, cap = j->cap;
    size_t floats = d * q + FUSED_OL + q + cap * q; /* W is padded by FUSED_OL */
    if (j->hyper[0].s[1] != 0.0f) floats += d * q;
    if (j->hyper[1].s[1] != 0.0f) floats += q;
    return floats * sizeof(float) + cap * sizeof(cl_uint);
}

/* The loss suits the fused kernels and the data: their kind code, or -1. */
static int loss_code(clg_loss_kind loss, const clg_dataset_view *v, size_t in, size_t out)
{
    if (v->d != in) return -1;
    if (loss == CLG_LOSS_SOFTMAX_XENT) /* Y: n x 1 class ids, one output per class */
        return v->classes && v->q == 1 && out == v->classes ? 2 : -1;
    if (loss != CLG_LOSS_SQUARED && loss != CLG_LOSS_MSE) return -1;
    if (v->classes || v->q != out) return -1;
    return loss == CLG_LOSS_MSE ? 1 : 0;
}

static int fits_u32(const clg_dataset_view *v)
{
    return v->n <= UINT32_MAX && v->n * v->d <= UINT32_MAX && v->n * v->q <= UINT32_MAX;
}

/* (lr, momentum, dampening, weight_decay) as the fused kernels take them. */
static cl_float4 hyper(const clg_optimizer_options *o)
{
    cl_float4 h;
    h.s[0] = o->lr;
    h.s[1] = o->momentum;
    h.s[2] = o->dampening;
    h.s[3] = o->weight_decay;
    return h;
}

/* Fills j from the views when the setup is eligible; 0 when it is not. */
static int plan(clg_model *m, const clg_optimizer *opt, const clg_loader *ld,
                const clg_fit_options *o, size_t report_every, clg_fused_job *j)
{
    memset(j, 0, sizeof *j);
    if (!clg_model_linear_view(m, &j->lin) || !clg_loader_view_of(ld, &j->ld)) return 0;
    if (!opt || opt->model != m || !opt->impl->fused_sgd || opt->nparams != 2) return 0;
    if (o->reduction != CLG_REDUCE_MEAN && o->reduction != CLG_REDUCE_SUM) return 0;
    int code = loss_code(o->loss, &j->ld.data, j->lin.in, j->lin.out);
    if (code < 0 || !fits_u32(&j->ld.data)) return 0;
    j->ctx = m->ctx;
    j->kind = code;
    j->n = j->ld.rows; /* the epoch's rows: all, or a rank's block */
    j->d = j->ld.data.d;
    j->q = j->lin.out;
    j->bs = j->ld.batch_size;
    j->cap = j->bs < j->n ? j->bs : j->n;
    for (size_t i = 0; i < 2; i++) {
        const clg_optimizer_options *g = clg_optim_param_options(opt, i);
        j->hyper[i] = hyper(g);
        j->nesterov[i] = g->nesterov != 0;
    }
    /* Exactly the host expressions of clg_op_loss_grad and run_epoch (cross-entropy's
     * MEAN divides by the batch's rows, the regression losses' by its elements). */
    const size_t nb = j->ld.batches, rest = j->n - (nb - 1) * j->bs;
    const size_t last = rest < j->bs ? rest : j->bs, per_row = code == 2 ? 1 : j->q;
    const int sum = o->reduction == CLG_REDUCE_SUM;
    j->scales.s[0] = sum ? 1.0f : 1.0f / (float)(j->bs * per_row);
    j->scales.s[1] = sum ? 1.0f / (float)j->bs : 1.0f;
    j->scales.s[2] = sum ? 1.0f : 1.0f / (float)(last * per_row);
    j->scales.s[3] = sum ? 1.0f / (float)last : 1.0f;
    j->report_every = report_every;
    return 1;
}

/* The path the automatic setting takes for an eligible setup (docs/performance.md has the
 * measurements behind each rule). */
static fused_mode auto_mode(const clg_fused_job *j, size_t local_free, int split_ok)
{
    const clg_context *ctx = j->ctx;
    const size_t cus = ctx->info.compute_units ? ctx->info.compute_units : 1;
    if (split_ok && ctx->info.type != CLG_DEVICE_CPU && cus >= 2 &&
        j->cap >= 2 * FUSED_SPLIT_MIN_ROWS &&
        clg_fused_split_local_bytes(ctx, j->d, j->q, j->cap) <= local_free)
        return FUSED_SPLIT; /* a GPU: every step over many compute units, one launch */
    if (cus >= 2 && j->q >= FUSED_LANES && j->cap >= 2 * FUSED_PIPE_ROWS)
        return FUSED_PIPELINE; /* wide outputs, >= 2 forward groups: use every unit */
    return j->n * j->d * j->q <= FUSED_EPOCH_MAX_WORK ? FUSED_EPOCH : FUSED_MINIBATCH;
}

/* Work-group of the epoch kernel: a power of two, no wider than the widest phase needs
 * (the forward takes FUSED_OROWS rows x FUSED_OL outputs (q >= 8) or FUSED_ROWS rows x 1
 * output per work-item, the backward 32 entries of a column of W, the cross-entropy
 * gradient a row), within the kernel's and the device's limits. */
static size_t group_size(size_t group, size_t items0, const clg_fused_job *j)
{
    size_t fwd = clg_fused_forward_units(j->cap, j->q);
    size_t widest = clg_fused_backward_units(j->d, j->q), L = 1;
    if (fwd > widest) widest = fwd;
    if (j->kind == 2 && j->cap > widest) widest = j->cap;
    size_t limit = group < items0 ? group : items0;
    if (limit > FUSED_MAX_GROUP) limit = FUSED_MAX_GROUP;
    while (L < widest && L * 2 <= limit) L *= 2;
    return L;
}

/* (a), (b): fused_sgd_epoch, one launch for the epoch or per minibatch; with progress
 * reports, the batches between two reports in one launch. */
static clg_status run_epoch_kernel(const clg_fused_job *j, size_t L, size_t chunk)
{
    const size_t d = j->d, q = j->q, cap = j->cap, nb = j->ld.batches;
    cl_uint un = (cl_uint)j->n, ud = (cl_uint)d, uq = (cl_uint)q, ubs = (cl_uint)j->bs;
    cl_uint ulast = (cl_uint)(nb - 1), first_batch = 0, count = (cl_uint)nb;
    cl_int first_step = j->first_step;
    size_t mW = j->mom[0] ? d * q * sizeof(float) : sizeof(float);
    size_t mb = j->mom[1] ? q * sizeof(float) : sizeof(float);
    clg_arg args[] = {CLG_ARG(j->ld.data.X),
                      CLG_ARG(j->ld.data.Y),
                      CLG_ARG(j->ld.order),
                      CLG_ARG(j->lin.W),
                      CLG_ARG(j->lin.b),
                      CLG_ARG(j->mom[0]),
                      CLG_ARG(j->mom[1]),
                      CLG_ARG(j->lin.dW),
                      CLG_ARG(j->lin.db),
                      CLG_ARG(un),
                      CLG_ARG(ud),
                      CLG_ARG(uq),
                      CLG_ARG(ubs),
                      CLG_ARG(first_batch),
                      CLG_ARG(count),
                      CLG_ARG(ulast),
                      CLG_ARG(j->kind),
                      CLG_ARG(j->scales),
                      CLG_ARG(j->hyper[0]),
                      CLG_ARG(j->hyper[1]),
                      CLG_ARG(j->nesterov[0]),
                      CLG_ARG(j->nesterov[1]),
                      CLG_ARG(first_step),
                      CLG_LOCAL((d * q + FUSED_OL) * sizeof(float)),
                      CLG_LOCAL(q * sizeof(float)),
                      CLG_LOCAL(mW),
                      CLG_LOCAL(mb),
                      CLG_LOCAL(cap * q * sizeof(float)),
                      CLG_LOCAL(cap * sizeof(cl_uint))};
    if (j->report_every && j->report_every < chunk) chunk = j->report_every;
    clg_status s = CLG_OK;
    for (size_t t = 0; s == CLG_OK && t < nb; t += chunk) {
        first_batch = (cl_uint)t;
        count = (cl_uint)(nb - t < chunk ? nb - t : chunk);
        if (t) first_step = 0;
        s = clg_launch(j->ctx, "fused", "fused_sgd_epoch", 1, &L, &L, sizeof args / sizeof *args,
                       args);
        if (s == CLG_OK) s = j->progress(j->user, t + count, nb);
    }
    return s;
}

/* Makes the momentum buffers the groups use; a new one is flagged in first_step. */
static clg_status momentum_buffers(clg_optimizer *opt, clg_fused_job *j)
{
    clg_status s = CLG_OK;
    const size_t count[2] = {j->d * j->q, j->q};
    for (size_t i = 0; i < 2 && s == CLG_OK; i++) {
        int made = 0;
        s = clg_optim_state_ensure(opt, i, 0, count[i], &made);
        if (made) j->first_step |= (cl_int)(1u << i);
        j->mom[i] = j->hyper[i].s[1] != 0.0f ? clg_optim_state(opt, i, 0) : NULL;
    }
    return s;
}

/* A momentum buffer nothing has run with yet must start over (first step) next time. */
static void drop_new_momentum(clg_optimizer *opt, cl_int first_bits)
{
    for (size_t i = 0; i < 2; i++)
        if ((first_bits >> i) & 1) clg_optim_state_drop(opt, i, 0);
}

clg_status clg_fused_epoch(clg_model *m, clg_optimizer *opt, clg_loader *ld,
                           const clg_fit_options *o, const clg_fused_reports *rep, int *handled,
                           size_t *steps)
{
    *handled = 0;
    fused_mode mode = read_mode(m->ctx);
    clg_fused_job job;
    if (mode == FUSED_OFF || !plan(m, opt, ld, o, rep->every, &job)) return CLG_OK;
    /* The split step applies a batch's update in the next batch's launch, into buffers of its
     * own: between its steps the model's parameters are not the current ones. */
    const int split_ok = !rep->whole || rep->every >= job.ld.batches;
    if (mode == FUSED_SPLIT && !split_ok) return CLG_OK;
    job.progress = rep->progress;
    job.user = rep->user;
    size_t group, items[2], local_free;
    clg_status s =
        clg_kernel_limits(m->ctx, "fused", "fused_sgd_epoch", &group, items, &local_free);
    if (s != CLG_OK) return s;
    if (local_bytes(&job) > local_free) return CLG_OK; /* does not fit: unfused */
    if (mode == FUSED_SPLIT &&
        clg_fused_split_local_bytes(m->ctx, job.d, job.q, job.cap) > local_free)
        return CLG_OK;
    if (mode == FUSED_AUTO) mode = auto_mode(&job, local_free, split_ok);

    s = momentum_buffers(opt, &job);
    if (s == CLG_OK) s = clg_loader_start_epoch(ld);
    /* the order buffer is the loader's; it may only now exist */
    if (s == CLG_OK) clg_loader_view_of(ld, &job.ld);
    if (s == CLG_OK) {
        if (mode == FUSED_SPLIT)
            s = clg_fused_split(&job);
        else if (mode == FUSED_PIPELINE)
            s = clg_fused_pipeline(&job);
        else
            s = run_epoch_kernel(&job, group_size(group, items[0], &job),
                                 mode == FUSED_EPOCH ? job.ld.batches : 1);
    }
    if (s != CLG_OK) {
        drop_new_momentum(opt, job.first_step);
        return s;
    }
    clg_loader_consume_epoch(ld);
    clg_optim_count_steps(opt, job.ld.batches);
    *steps += job.ld.batches;
    *handled = 1;
    return CLG_OK;
}
/* Groups of the full-set loss: enough to keep every compute unit busy, each a
 * contiguous chunk of rows. */
#define FUSED_LOSS_GROUPS_PER_CU 4
#define FUSED_LOSS_GROUP 64

clg_status clg_fused_full_loss(clg_model *m, const clg_dataset *ds, clg_loss_kind kind, cl_mem W,
                               cl_mem b, clg_tensor *acc, cl_command_queue queue, int *handled)
{
    *handled = 0;
    clg_context *ctx = m->ctx;
    clg_linear_view lin;
    clg_dataset_view v;
    if (read_mode(ctx) == FUSED_OFF || !clg_model_linear_view(m, &lin) ||
        !clg_dataset_view_of(ds, &v))
        return CLG_OK;
    if (loss_code(kind, &v, lin.in, lin.out) < 0 || !fits_u32(&v)) return CLG_OK;
    const size_t n = v.n, d = v.d, q = lin.out;
    size_t group, local_free;
    clg_status s = clg_kernel_limits(ctx, "fused", "fused_loss_partial", &group, NULL, &local_free);
    if (s != CLG_OK) return s;
    size_t L = clg_pow2_floor(group < FUSED_LOSS_GROUP ? group : FUSED_LOSS_GROUP);
    /* red (L floats), the outputs of each work-item's row block (L x FUSED_ROWS x q)
     * and W (d*q + FUSED_OL floats) */
    const size_t wbytes = (d * q + FUSED_OL) * sizeof(float);
    while (L > 1 && L * (1 + FUSED_ROWS * q) * sizeof(float) + wbytes > local_free) L /= 2;
    if (L * (1 + FUSED_ROWS * q) * sizeof(float) + wbytes > local_free) return CLG_OK;
    size_t groups =
        (ctx->info.compute_units ? ctx->info.compute_units : 1) * FUSED_LOSS_GROUPS_PER_CU;
    size_t chunk = (n + groups - 1) / groups;
    groups = (n + chunk - 1) / chunk;
    /* Released right after the enqueues: OpenCL frees it once they have run. */
    cl_mem part = NULL;
    s = clg_buffer_create(ctx, groups * sizeof(float), "loss partial sums", &part);
    if (s != CLG_OK) return s;
    cl_uint un = (cl_uint)n, ud = (cl_uint)d, uq = (cl_uint)q, uc = (cl_uint)chunk,
            ug = (cl_uint)groups;
    cl_int k = (cl_int)kind;
    if (!W) W = lin.W;
    if (!b) b = lin.b;
    clg_arg a[] = {CLG_ARG(v.X),
                   CLG_ARG(v.Y),
                   CLG_ARG(W),
                   CLG_ARG(b),
                   CLG_ARG(part),
                   CLG_ARG(un),
                   CLG_ARG(ud),
                   CLG_ARG(uq),
                   CLG_ARG(uc),
                   CLG_ARG(k),
                   CLG_LOCAL(L * sizeof(float)),
                   CLG_LOCAL(L * FUSED_ROWS * q * sizeof(float)),
                   CLG_LOCAL(wbytes)};
    size_t global = groups * L;
    s = clg_launch_on(ctx, queue, "fused", "fused_loss_partial", 1, &global, &L, 13, a);
    clg_arg f[] = {CLG_ARG(part), CLG_ARG(acc->mem), CLG_ARG(ug)};
    size_t one = 1;
    if (s == CLG_OK)
        s = clg_launch_on(ctx, queue, "fused", "fused_loss_finish", 1, &one, &one, 3, f);
    clReleaseMemObject(part);
    if (s == CLG_OK) *handled = 1;
    return s;
}
