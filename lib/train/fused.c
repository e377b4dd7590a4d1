/* Fused training epochs for a single Linear layer (kernels: cl/fused.cl).
 *
 * Eligible: the model is one Linear(d -> q) layer, its optimizer is the model's
 * SGD (any options, per-group options for the weight and the bias), the loss is
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

#include "train.h"

#define FUSED_MAX_GROUP 256
/* As in cl/fused.cl: float8 lanes; rows per work-item of the forward for q >= 8 and
 * q < 8; float8 blocks along d per work-item of the backward. */
#define FUSED_LANES 8
#define FUSED_OROWS 4
#define FUSED_ROWS 16
#define FUSED_KB 4
#define FUSED_OL CLG_FUSED_W_PAD /* output lanes of the q >= 8 forward = W's padding */
#define FUSED_DROWS 4            /* rows per work-item of the q = 1 forward */
#define FUSED_PIPE_ROWS 64       /* batch rows per group of fused_mb_forward */
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

static clg_status read_mode(const clg_context *ctx, fused_mode *mode)
{
    /* Validated when the context was created (runtime/config.c). */
    switch (ctx->cfg.fused) {
    case CLG_FUSED_OFF:
        *mode = FUSED_OFF;
        break;
    case CLG_FUSED_MINIBATCH:
        *mode = FUSED_MINIBATCH;
        break;
    case CLG_FUSED_EPOCH:
        *mode = FUSED_EPOCH;
        break;
    case CLG_FUSED_PIPELINE:
        *mode = FUSED_PIPELINE;
        break;
    case CLG_FUSED_SPLIT:
        *mode = FUSED_SPLIT;
        break;
    default:
        *mode = FUSED_AUTO;
        break;
    }
    return CLG_OK;
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

static float sgd_opt_momentum(const clg_optimizer *opt, size_t i)
{
    return opt->groups[opt->group_of[i]].opts.momentum;
}

/* Local memory fused_sgd_epoch needs for a batch capacity cap, in bytes. */
static size_t local_bytes(const clg_optimizer *opt, size_t d, size_t q, size_t cap)
{
    size_t floats = d * q + FUSED_OL + q + cap * q; /* W is padded by FUSED_OL */
    if (sgd_opt_momentum(opt, 0) != 0.0f) floats += d * q;
    if (sgd_opt_momentum(opt, 1) != 0.0f) floats += q;
    return floats * sizeof(float) + cap * sizeof(cl_uint);
}

static int shape_eligible(const clg_model *m, const clg_optimizer *opt, const clg_loader *ld,
                          const clg_fit_options *o)
{
    if (m->nlayers != 1 || !clg_layer_is_linear(&m->layers[0])) return 0;
    if (!opt || opt->model != m || opt->nparams != 2 || clg_model_param_count(m) != 2) return 0;
    if (o->reduction != CLG_REDUCE_MEAN && o->reduction != CLG_REDUCE_SUM) return 0;
    const clg_dataset *ds = ld->ds;
    if (ds->d != m->layers[0].in) return 0;
    if (o->loss == CLG_LOSS_SOFTMAX_XENT) { /* Y: n x 1 class ids, one output per class */
        if (!ds->classes || ds->q != 1 || m->layers[0].out != ds->classes) return 0;
    } else if (o->loss == CLG_LOSS_SQUARED || o->loss == CLG_LOSS_MSE) {
        if (ds->classes || ds->q != m->layers[0].out) return 0;
    } else {
        return 0;
    }
    if (ds->n > UINT32_MAX || ds->n * ds->d > UINT32_MAX || ds->n * ds->q > UINT32_MAX) return 0;
    return 1;
}

static clg_status ensure_momentum(clg_optimizer *opt, size_t i, size_t count, int *first)
{
    *first = 0;
    if (sgd_opt_momentum(opt, i) == 0.0f || opt->momentum[i]) return CLG_OK;
    clg_status s = clg_buffer_create(opt->model->ctx, count * sizeof(float), "momentum buffer",
                                     &opt->momentum[i]);
    if (s == CLG_OK) *first = 1;
    return s;
}

/* A momentum buffer nothing has run with yet must start over (first step) next time. */
static void release_new_momentum(clg_optimizer *opt, cl_int first_bits)
{
    for (size_t i = 0; i < 2; i++)
        if ((first_bits >> i) & 1 && opt->momentum[i]) {
            clReleaseMemObject(opt->momentum[i]);
            opt->momentum[i] = NULL;
        }
}

cl_float4 clg_fused_hyper(const clg_sgd_options *o)
{
    cl_float4 h;
    h.s[0] = o->lr;
    h.s[1] = o->momentum;
    h.s[2] = o->dampening;
    h.s[3] = o->weight_decay;
    return h;
}

/* (c) The multi-work-group pipeline: per minibatch fused_mb_forward over groups of
 * FUSED_PIPE_ROWS rows, then fused_mb_backward over the entries of W; G holds the
 * batch's loss gradient in between. Same arithmetic and order as the epoch kernel. */
static clg_status run_pipeline(clg_model *m, clg_optimizer *opt, clg_loader *ld, cl_int kind,
                               cl_float4 scales, cl_int first_step, const clg_fit_options *o,
                               size_t epoch)
{
    clg_context *ctx = m->ctx;
    const clg_dataset *ds = ld->ds;
    const clg_layer *Lr = &m->layers[0];
    const size_t n = ds->n, d = ds->d, q = Lr->out, bs = ld->opts.batch_size;
    const size_t cap = bs < n ? bs : n, rg = cap < FUSED_PIPE_ROWS ? cap : FUSED_PIPE_ROWS;
    size_t group, items[2], local_free;
    clg_status s = clg_kernel_limits(ctx, "fused", "fused_mb_forward", &group, items, &local_free);
    if (s != CLG_OK) return s;
    size_t limit = group < items[0] ? group : items[0];
    size_t Lf = clg_fused_forward_units(rg, q);
    if (Lf > limit) Lf = limit;
    if (Lf > FUSED_MAX_GROUP) Lf = FUSED_MAX_GROUP;
    size_t gb, gitems[2], gfree;
    s = clg_kernel_limits(ctx, "fused", "fused_mb_backward", &gb, gitems, &gfree);
    if (s != CLG_OK) return s;
    const size_t units = clg_fused_backward_units(d, q);
    /* At least two groups per compute unit for the backward, at most 64 work-items each. */
    size_t cus = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t Lb = units / (2 * cus);
    Lb = clg_pow2_floor(Lb < 1 ? 1 : Lb > 64 ? 64 : Lb);
    while (Lb > 1 && (Lb > gb || Lb > gitems[0])) Lb /= 2;
    const size_t gback = clg_round_up(units, Lb);
    cl_mem G = NULL;
    s = clg_buffer_create(ctx, cap * q * sizeof(float), "fused batch gradient", &G);
    if (s != CLG_OK) return s;
    const clg_sgd_options *ow = &opt->groups[opt->group_of[0]].opts;
    const clg_sgd_options *ob = &opt->groups[opt->group_of[1]].opts;
    cl_mem momW = ow->momentum != 0.0f ? opt->momentum[0] : NULL;
    cl_mem momb = ob->momentum != 0.0f ? opt->momentum[1] : NULL;
    cl_float4 hw = clg_fused_hyper(ow), hb = clg_fused_hyper(ob);
    cl_int nestW = ow->nesterov != 0, nestb = ob->nesterov != 0;
    cl_uint ud = (cl_uint)d, uq = (cl_uint)q, urg = (cl_uint)rg;
    const size_t nb = ld->batches;
    for (size_t t = 0; s == CLG_OK && t < nb; t++) {
        const size_t cnt = n - t * bs < bs ? n - t * bs : bs;
        cl_uint uoff = (cl_uint)(t * bs), ucnt = (cl_uint)cnt;
        float lscale = t + 1 == nb ? scales.s[2] : scales.s[0];
        float gscale = t + 1 == nb ? scales.s[3] : scales.s[1];
        cl_int first = t ? 0 : first_step;
        clg_arg fa[] = {CLG_ARG(ds->X->mem),
                        CLG_ARG(ds->Y->mem),
                        CLG_ARG(ld->order_dev),
                        CLG_ARG(Lr->W),
                        CLG_ARG(Lr->b),
                        CLG_ARG(G),
                        CLG_ARG(ud),
                        CLG_ARG(uq),
                        CLG_ARG(uoff),
                        CLG_ARG(ucnt),
                        CLG_ARG(urg),
                        CLG_ARG(kind),
                        CLG_ARG(lscale),
                        CLG_LOCAL((d * q + FUSED_OL + q) * sizeof(float)), /* W, padding, b */
                        CLG_LOCAL(rg * q * sizeof(float)),
                        CLG_LOCAL(rg * sizeof(cl_uint))};
        size_t gf = (cnt + rg - 1) / rg * Lf;
        s = clg_launch(ctx, "fused", "fused_mb_forward", 1, &gf, &Lf, sizeof fa / sizeof fa[0], fa);
        clg_arg ba[] = {CLG_ARG(ds->X->mem), CLG_ARG(ld->order_dev),
                        CLG_ARG(G),          CLG_ARG(Lr->W),
                        CLG_ARG(Lr->b),      CLG_ARG(momW),
                        CLG_ARG(momb),       CLG_ARG(Lr->dW),
                        CLG_ARG(Lr->db),     CLG_ARG(ud),
                        CLG_ARG(uq),         CLG_ARG(uoff),
                        CLG_ARG(ucnt),       CLG_ARG(gscale),
                        CLG_ARG(hw),         CLG_ARG(hb),
                        CLG_ARG(nestW),      CLG_ARG(nestb),
                        CLG_ARG(first)};
        size_t gbk = gback;
        if (s == CLG_OK)
            s = clg_launch(ctx, "fused", "fused_mb_backward", 1, &gbk, &Lb,
                           sizeof ba / sizeof ba[0], ba);
        if (s == CLG_OK) s = clg_fit_progress(ctx, o, epoch, t + 1, nb);
    }
    clReleaseMemObject(G); /* freed once the enqueued launches have run */
    return s;
}

/* The path CLGRAD_FUSED=auto takes for an eligible setup (docs/performance.md has the
 * measurements behind each rule). */
static fused_mode auto_mode(const clg_context *ctx, size_t n, size_t d, size_t q, size_t cap,
                            size_t local_free)
{
    const size_t cus = ctx->info.compute_units ? ctx->info.compute_units : 1;
    if (ctx->info.type != CLG_DEVICE_CPU && cus >= 2 && cap >= 2 * FUSED_SPLIT_MIN_ROWS &&
        clg_fused_split_local_bytes(ctx, d, q, cap) <= local_free)
        return FUSED_SPLIT; /* a GPU: every step over many compute units, one launch */
    if (cus >= 2 && q >= FUSED_LANES && cap >= 2 * FUSED_PIPE_ROWS)
        return FUSED_PIPELINE; /* wide outputs, >= 2 forward groups: use every unit */
    return n * d * q <= FUSED_EPOCH_MAX_WORK ? FUSED_EPOCH : FUSED_MINIBATCH;
}

/* Work-group of the epoch kernel: a power of two, no wider than the widest phase needs
 * (the forward takes FUSED_OROWS rows x FUSED_OL outputs (q >= 8) or FUSED_ROWS rows x 1
 * output per work-item, the backward 32 entries of a column of W, the cross-entropy
 * gradient a row), within the kernel's and the device's limits. */
static size_t group_size(size_t group, size_t items0, size_t cap, size_t d, size_t q, int xent)
{
    size_t fwd = clg_fused_forward_units(cap, q), widest = clg_fused_backward_units(d, q), L = 1;
    if (fwd > widest) widest = fwd;
    if (xent && cap > widest) widest = cap;
    size_t limit = group < items0 ? group : items0;
    if (limit > FUSED_MAX_GROUP) limit = FUSED_MAX_GROUP;
    while (L < widest && L * 2 <= limit) L *= 2;
    return L;
}

clg_status clg_fused_epoch(clg_model *m, clg_optimizer *opt, clg_loader *ld,
                           const clg_fit_options *o, size_t epoch, int *handled, size_t *steps)
{
    if (!handled) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_fused_epoch: NULL handled");
    *handled = 0;
    if (!m || !ld || !o || !steps)
        return clg_fail(m ? m->ctx : NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_fused_epoch: NULL argument");
    clg_context *ctx = m->ctx;
    fused_mode mode;
    clg_status s = read_mode(ctx, &mode);
    if (s != CLG_OK || mode == FUSED_OFF || !shape_eligible(m, opt, ld, o)) return s;

    const clg_dataset *ds = ld->ds;
    const int xent = o->loss == CLG_LOSS_SOFTMAX_XENT;
    const size_t n = ds->n, d = ds->d, q = m->layers[0].out, bs = ld->opts.batch_size;
    const size_t cap = bs < n ? bs : n;
    size_t group, items[2], local_free;
    s = clg_kernel_limits(ctx, "fused", "fused_sgd_epoch", &group, items, &local_free);
    if (s != CLG_OK) return s;
    if (local_bytes(opt, d, q, cap) > local_free) return CLG_OK; /* does not fit: unfused */
    if (mode == FUSED_SPLIT && clg_fused_split_local_bytes(ctx, d, q, cap) > local_free)
        return CLG_OK;
    if (mode == FUSED_AUTO) mode = auto_mode(ctx, n, d, q, cap, local_free);
    size_t L = group_size(group, items[0], cap, d, q, xent);

    int firstW = 0, firstb = 0;
    s = ensure_momentum(opt, 0, d * q, &firstW);
    if (s == CLG_OK) s = ensure_momentum(opt, 1, q, &firstb);
    /* bit 0: W's momentum buffer is new (its first step sets buf = u); bit 1: b's. */
    cl_int first_step = (firstW ? 1 : 0) | (firstb ? 2 : 0);
    if (s == CLG_OK) s = clg_loader_start_epoch(ld);
    if (s != CLG_OK) {
        release_new_momentum(opt, first_step);
        return s;
    }

    const clg_layer *Lr = &m->layers[0];
    const clg_sgd_options *ow = &opt->groups[opt->group_of[0]].opts;
    const clg_sgd_options *ob = &opt->groups[opt->group_of[1]].opts;
    const size_t nb = ld->batches, rest = n - (nb - 1) * bs, last_rows = rest < bs ? rest : bs;
    cl_mem momW = ow->momentum != 0.0f ? opt->momentum[0] : NULL;
    cl_mem momb = ob->momentum != 0.0f ? opt->momentum[1] : NULL;
    const int sum = o->reduction == CLG_REDUCE_SUM;
    cl_float4 scales, hw = clg_fused_hyper(ow), hb = clg_fused_hyper(ob);
    /* Exactly the host expressions of clg_op_loss_grad and run_epoch (cross-entropy's
     * MEAN divides by the batch's rows, the regression losses' by its elements). */
    const size_t per_row = xent ? 1 : q;
    scales.s[0] = sum ? 1.0f : 1.0f / (float)(bs * per_row);
    scales.s[1] = sum ? 1.0f / (float)bs : 1.0f;
    scales.s[2] = sum ? 1.0f : 1.0f / (float)(last_rows * per_row);
    scales.s[3] = sum ? 1.0f / (float)last_rows : 1.0f;
    cl_uint un = (cl_uint)n, ud = (cl_uint)d, uq = (cl_uint)q, ubs = (cl_uint)bs;
    cl_uint ulast = (cl_uint)(nb - 1), first_batch = 0, count = (cl_uint)nb;
    cl_int kind = (cl_int)o->loss, nestW = ow->nesterov != 0, nestb = ob->nesterov != 0;
    size_t mW = momW ? d * q * sizeof(float) : sizeof(float);
    size_t mb = momb ? q * sizeof(float) : sizeof(float);
    clg_arg args[] = {CLG_ARG(ds->X->mem),
                      CLG_ARG(ds->Y->mem),
                      CLG_ARG(ld->order_dev),
                      CLG_ARG(Lr->W),
                      CLG_ARG(Lr->b),
                      CLG_ARG(momW),
                      CLG_ARG(momb),
                      CLG_ARG(Lr->dW),
                      CLG_ARG(Lr->db),
                      CLG_ARG(un),
                      CLG_ARG(ud),
                      CLG_ARG(uq),
                      CLG_ARG(ubs),
                      CLG_ARG(first_batch),
                      CLG_ARG(count),
                      CLG_ARG(ulast),
                      CLG_ARG(kind),
                      CLG_ARG(scales),
                      CLG_ARG(hw),
                      CLG_ARG(hb),
                      CLG_ARG(nestW),
                      CLG_ARG(nestb),
                      CLG_ARG(first_step),
                      CLG_LOCAL((d * q + FUSED_OL) * sizeof(float)),
                      CLG_LOCAL(q * sizeof(float)),
                      CLG_LOCAL(mW),
                      CLG_LOCAL(mb),
                      CLG_LOCAL(cap * q * sizeof(float)),
                      CLG_LOCAL(cap * sizeof(cl_uint))};
    const size_t nargs = sizeof args / sizeof args[0];
    const cl_int first_bits = first_step;
    if (mode == FUSED_SPLIT) {
        s = clg_fused_split(m, opt, ld, xent ? 2 : (int)o->loss, scales, first_step, o, epoch);
    } else if (mode == FUSED_PIPELINE) {
        s = run_pipeline(m, opt, ld, xent ? 2 : (int)o->loss, scales, first_step, o, epoch);
    } else {
        /* One launch for the epoch, or per minibatch; with progress reports, the epoch
         * kernel runs the batches between two reports in one launch. */
        size_t chunk = mode == FUSED_EPOCH ? nb : 1;
        if (o->on_progress && o->progress_every && o->progress_every < chunk)
            chunk = o->progress_every;
        for (size_t t = 0; s == CLG_OK && t < nb; t += chunk) {
            first_batch = (cl_uint)t;
            count = (cl_uint)(nb - t < chunk ? nb - t : chunk);
            if (t) first_step = 0;
            s = clg_launch(ctx, "fused", "fused_sgd_epoch", 1, &L, &L, nargs, args);
            if (s == CLG_OK) s = clg_fit_progress(ctx, o, epoch, t + count, nb);
        }
    }
    if (s != CLG_OK) {
        release_new_momentum(opt, first_bits);
        return s;
    }
    ld->next = nb; /* the epoch's batches are consumed */
    opt->steps += nb;
    *steps += nb;
    *handled = 1;
    return CLG_OK;
}

/* Groups of the full-set loss: enough to keep every compute unit busy, each a
 * contiguous chunk of rows. */
#define FUSED_LOSS_GROUPS_PER_CU 4
#define FUSED_LOSS_GROUP 64

clg_status clg_fused_full_loss(clg_model *m, const clg_dataset *ds, clg_loss_kind kind, cl_mem W,
                               cl_mem b, clg_tensor *acc, int *handled)
{
    *handled = 0;
    clg_context *ctx = m->ctx;
    fused_mode mode;
    clg_status s = read_mode(ctx, &mode);
    if (s != CLG_OK || mode == FUSED_OFF) return s;
    if (m->nlayers != 1 || !clg_layer_is_linear(&m->layers[0])) return CLG_OK;
    if (kind == CLG_LOSS_SOFTMAX_XENT) {
        if (!ds->classes || ds->q != 1 || m->layers[0].out != ds->classes) return CLG_OK;
    } else if (kind != CLG_LOSS_SQUARED && kind != CLG_LOSS_MSE) {
        return CLG_OK;
    } else if (ds->classes || ds->q != m->layers[0].out) {
        return CLG_OK;
    }
    const size_t n = ds->n, d = ds->d, q = m->layers[0].out;
    if (n * d > UINT32_MAX || n * q > UINT32_MAX || d != m->layers[0].in) return CLG_OK;
    size_t group, local_free;
    s = clg_kernel_limits(ctx, "fused", "fused_loss_partial", &group, NULL, &local_free);
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
    if (!W) W = m->layers[0].W;
    if (!b) b = m->layers[0].b;
    clg_arg a[] = {CLG_ARG(ds->X->mem),
                   CLG_ARG(ds->Y->mem),
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
    s = clg_launch(ctx, "fused", "fused_loss_partial", 1, &global, &L, 13, a);
    clg_arg f[] = {CLG_ARG(part), CLG_ARG(acc->mem), CLG_ARG(ug)};
    size_t one = 1;
    if (s == CLG_OK) s = clg_launch(ctx, "fused", "fused_loss_finish", 1, &one, &one, 3, f);
    clReleaseMemObject(part);
    if (s == CLG_OK) *handled = 1;
    return s;
}
