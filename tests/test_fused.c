/* Fused training (lib/fused.c, cl/fused.cl): on the same data, seed and options,
 * the unfused path and every fused path (one launch per epoch, one per minibatch, the
 * two-launch pipeline, the split step over several work-groups) end with the same
 * parameters after 3 epochs, within TOL (absolute, on
 * parameters of magnitude <= 4.2: float rounding of a few hundred steps, and the
 * bias sum's order, which is sequential fused and a tree unfused). Kernel counts
 * show which path ran; ineligible setups fall back and still train. */
#include <math.h>

#include "helpers.h"
#include "internal.h"

#define TOL 1e-5

typedef struct setup {
    size_t n, d, q, batch, epochs;
    int drop_last;
    clg_loss_kind loss;
    clg_reduction red;
    clg_optimizer_options optimizer;
    int bias_group; /* biases get their own options: bias_sgd */
    clg_optimizer_options bias_sgd;
    int xent; /* softmax cross-entropy on class ids: q = classes */
} setup;

static setup base(void)
{
    setup s = {1000,
               2,
               1,
               10,
               3,
               0,
               CLG_LOSS_SQUARED,
               CLG_REDUCE_SUM,
               clg_optimizer_defaults(CLG_OPTIMIZER_SGD),
               0,
               clg_optimizer_defaults(CLG_OPTIMIZER_SGD),
               0};
    return s;
}

/* y = X·W* + b* + noise, W* = [2, -3.4, 0.5, ...] per output shifted, made on the host. */
/* Class ids: argmax over q of X·V + N(0, 0.5²)-like noise (LCG), X uniform in [-1, 1). */
static clg_dataset *make_labels(clg_context *ctx, const setup *st)
{
    size_t n = st->n, d = st->d, q = st->q;
    float *X = malloc(n * d * sizeof *X);
    int32_t *lab = malloc(n * sizeof *lab);
    cr_assert(X && lab);
    uint32_t u = 777;
    for (size_t i = 0; i < n * d; i++) {
        u = u * 1664525u + 1013904223u;
        X[i] = (float)((u >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    for (size_t i = 0; i < n; i++) {
        double best = -1e300;
        for (size_t j = 0; j < q; j++) {
            u = u * 1664525u + 1013904223u;
            double z = ((u >> 8) / 16777216.0 - 0.5);
            for (size_t k = 0; k < d; k++)
                z += X[i * d + k] * (0.3 * (double)((3 * k + j) % 7) - 0.9);
            if (z > best) best = z, lab[i] = (int32_t)j;
        }
    }
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, n, d, q, &ds));
    free(X);
    free(lab);
    return ds;
}

static clg_dataset *make_data(clg_context *ctx, const setup *st)
{
    if (st->xent) return make_labels(ctx, st);
    if (st->q == 1) {
        float w[64];
        for (size_t j = 0; j < st->d; j++) w[j] = j == 0 ? 2.0f : j == 1 ? -3.4f : 0.5f;
        clg_dataset *ds;
        CLG_OK_OR_FAIL(ctx,
                       clg_dataset_synthetic_linear(ctx, st->n, w, st->d, 4.2f, 0.01f, 42, &ds));
        return ds;
    }
    size_t n = st->n, d = st->d, q = st->q;
    float *X = malloc(n * d * sizeof *X), *Y = malloc(n * q * sizeof *Y);
    cr_assert(X && Y);
    uint32_t u = 12345;
    for (size_t i = 0; i < n * d; i++) {
        u = u * 1664525u + 1013904223u;
        X[i] = (float)((u >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < q; j++) {
            double y = 1.0 + (double)j;
            for (size_t k = 0; k < d; k++) y += X[i * d + k] * (0.3 * (double)((k + j) % 5) - 0.6);
            Y[i * q + j] = (float)y;
        }
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, d, q, &ds));
    free(X);
    free(Y);
    return ds;
}

/* Trains a fresh Linear(d→q) (same seeded init) under CLGRAD_FUSED=mode; returns
 * W then b in out (d*q + q) and the kernels enqueued during the fit. */
static unsigned train(clg_context *ctx, clg_dataset *ds, const setup *st, const char *mode,
                      float *out, clg_fit_report *rep)
{
    cr_assert_eq(test_label(ctx, "CLGRAD_FUSED", mode), 0); /* Oclgrind kernel log */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", mode));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 7;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, st->d, st->q, &init));
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &st->optimizer, &opt));
    if (st->bias_group) CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &st->bias_sgd));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = st->epochs;
    o.batch_size = st->batch;
    o.drop_last = st->drop_last;
    o.seed = 3;
    o.loss = st->loss;
    o.reduction = st->red;
    clg_context_stats before, after;
    CLG_OK_OR_FAIL(ctx, clg_context_get_stats(ctx, &before));
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, opt, rep));
    CLG_OK_OR_FAIL(ctx, clg_context_get_stats(ctx, &after));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, out, st->d * st->q));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, out + st->d * st->q, st->q));
    cr_expect_eq(opt->steps, rep->steps, "optimizer steps %llu, fit steps %zu", opt->steps,
                 rep->steps);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    test_label(ctx, "CLGRAD_FUSED",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    return after.kernels_enqueued - before.kernels_enqueued;
}

/* Under Oclgrind (test_small()), a simulator some thousand times slower than POCL, a setup
 * keeps what it tests (its shape and batch, the partial last batch n mod batch, drop_last,
 * an epoch boundary) on fewer full batches (at most SMALL_BATCHES, fewer while they hold
 * more than SMALL_WORK multiply-adds, at least one) for 2 epochs. */
#define SMALL_BATCHES 4
#define SMALL_WORK 16384
static setup shrink(setup s)
{
    if (!test_small()) return s;
    size_t full = s.n / s.batch, keep = SMALL_BATCHES;
    while (keep > 1 && keep * s.batch * s.d * s.q > SMALL_WORK) keep--;
    if (full > keep) s.n = keep * s.batch + s.n % s.batch;
    if (s.epochs > 2) s.epochs = 2;
    return s;
}

/* The three paths agree within TOL and each ran as it should. */
static void check_paths(const setup *st0)
{
    const setup small = shrink(*st0), *st = &small;
    clg_context *ctx = test_context();
    clg_dataset *ds = make_data(ctx, st);
    size_t np = st->d * st->q + st->q;
    float *ref = malloc(np * sizeof *ref), *got = malloc(np * sizeof *got);
    clg_fit_report r0, r;
    unsigned k0 = train(ctx, ds, st, "0", ref, &r0);
    size_t per_epoch = st->drop_last ? st->n / st->batch : (st->n + st->batch - 1) / st->batch;
    cr_assert_eq(r0.steps, st->epochs * per_epoch);
    cr_expect_geq(k0, 5 * r0.steps, "unfused: %u kernels for %zu steps", k0, r0.steps);
    const char *modes[] = {"epoch", "minibatch", "pipeline", "split", "auto"};
    unsigned k_epoch = 0, k_pipe = 0, k_split = 0;
    for (size_t mi = 0; mi < 5; mi++) {
        unsigned k = train(ctx, ds, st, modes[mi], got, &r);
        cr_expect_eq(r.steps, r0.steps);
        if (mi == 0) { /* one fused launch per epoch, plus the evaluation's kernels */
            k_epoch = k;
            cr_expect(k < k0 - 4 * r.steps, "epoch: %u kernels (unfused %u) for %zu steps", k, k0,
                      r.steps);
        } else if (mi == 1) { /* one per step instead of one per epoch */
            cr_expect_eq(k, k_epoch - st->epochs + r.steps,
                         "minibatch: %u kernels, epoch %u, %zu steps", k, k_epoch, r.steps);
        } else if (mi == 2) { /* two per step (forward, backward + SGD) */
            k_pipe = k;
            cr_expect_eq(k, k_epoch - st->epochs + 2 * r.steps,
                         "pipeline: %u kernels, epoch %u, %zu steps", k, k_epoch, r.steps);
        } else if (mi == 3) { /* one per step and a final update per epoch */
            k_split = k;
            cr_expect_eq(k, k_epoch + r.steps, "split: %u kernels, epoch %u, %zu steps", k, k_epoch,
                         r.steps);
        } else {
            cr_expect(k == k_epoch || k == k_pipe || k == k_split,
                      "auto: %u kernels: not epoch (%u), pipeline (%u) or split (%u)", k, k_epoch,
                      k_pipe, k_split);
        }
        double worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < np; i++) {
            double e = fabs((double)got[i] - (double)ref[i]);
            if (!(e <= worst)) worst = e, at = i;
        }
        cr_expect_leq(worst, TOL, "%s vs unfused: |diff| %g at parameter element %zu (%g vs %g)",
                      modes[mi], worst, at, (double)got[at], (double)ref[at]);
        cr_expect(fabs(r.final_loss - r0.final_loss) <= 1e-4 * r0.final_loss + 1e-9,
                  "%s: final loss %g vs unfused %g", modes[mi], r.final_loss, r0.final_loss);
    }
    free(ref);
    free(got);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(fused, seeds_setting)
{
    setup s = base();
    check_paths(&s);
}

/* Softmax regression: the fused kernels compute the cross-entropy gradient in place. */
static setup xent_base(void)
{
    setup s = base();
    s.xent = 1;
    s.loss = CLG_LOSS_SOFTMAX_XENT;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.lr = 0.1f;
    s.n = 1003; /* a partial last batch */
    s.d = 20;   /* two full lane blocks of 8 and a partial one */
    s.q = 10;
    s.batch = 128; /* auto: the pipeline on a device with >= 2 compute units */
    return s;
}

Test(fused, xent_softmax_mean)
{
    setup s = xent_base();
    check_paths(&s);
}

Test(fused, xent_sum_momentum_wd)
{
    setup s = xent_base();
    s.red = CLG_REDUCE_SUM;
    s.optimizer.lr = 0.05f;
    s.optimizer.momentum = 0.9f;
    s.optimizer.weight_decay = 0.001f;
    check_paths(&s);
}

Test(fused, xent_wide_two_classes)
{
    setup s = xent_base();
    s.d = 784; /* Fashion-MNIST width */
    s.q = 2;
    s.n = 600;
    s.batch = 256;
    s.optimizer.lr = 0.02f;
    s.drop_last = 1;
    check_paths(&s);
}

Test(fused, partial_last_batch_mean)
{
    setup s = base();
    s.n = 1003; /* 100 full batches and one of 3 */
    s.red = CLG_REDUCE_MEAN;
    check_paths(&s);
}

Test(fused, partial_last_batch_sum)
{
    setup s = base();
    s.n = 1003;
    check_paths(&s);
}

Test(fused, drop_last)
{
    setup s = base();
    s.n = 1003;
    s.drop_last = 1;
    check_paths(&s);
}

Test(fused, batch_one)
{
    setup s = base();
    s.n = 300;
    s.batch = 1;
    s.optimizer.lr = 0.01f;
    check_paths(&s);
}

Test(fused, mse_mean)
{
    setup s = base();
    s.loss = CLG_LOSS_MSE;
    s.red = CLG_REDUCE_MEAN;
    check_paths(&s);
}

Test(fused, weight_decay_and_momentum)
{
    setup s = base();
    s.optimizer.weight_decay = 0.01f;
    s.optimizer.momentum = 0.9f;
    s.optimizer.dampening = 0.1f;
    s.optimizer.lr = 0.01f;
    check_paths(&s);
}

Test(fused, nesterov_and_bias_group)
{
    setup s = base();
    s.n = 1003;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.momentum = 0.5f;
    s.optimizer.nesterov = 1;
    s.optimizer.weight_decay = 0.001f;
    s.bias_group = 1; /* biases: no decay, no momentum, own lr */
    s.bias_sgd.lr = 0.05f;
    check_paths(&s);
}

/* q = 1 with rows wider than a float16 block (the row-dot forward and its tail), a
 * batch the split step shares among groups, and a last batch that needs fewer groups
 * (1003 = 10 x 96 + 43): the next launch must sum only the partials that were written. */
Test(fused, q1_wide_rows_split_groups)
{
    setup s = base();
    s.d = 37;
    s.n = 1003;
    s.batch = 96;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.momentum = 0.9f;
    s.optimizer.weight_decay = 0.001f;
    s.optimizer.lr = 0.01f;
    check_paths(&s);
}

Test(fused, d17_q3)
{
    setup s = base();
    s.d = 17;
    s.q = 3;
    s.n = 1003;
    s.batch = 16;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.momentum = 0.9f;
    s.optimizer.lr = 0.01f;
    check_paths(&s);
}

Test(fused, d13_q9_outputs_in_lanes) /* q >= 8: the forward puts outputs in lanes */
{
    setup s = base();
    s.d = 13;
    s.q = 9;
    s.n = 1003;
    s.batch = 32;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.lr = 0.02f;
    check_paths(&s);
}

Test(fused, larger_batch_than_group)
{
    setup s = base(); /* 300 rows x 3 outputs per batch: more pairs than work-items */
    s.d = 40;
    s.q = 3;
    s.n = 1000;
    s.batch = 300;
    s.red = CLG_REDUCE_MEAN;
    s.optimizer.lr = 0.05f;
    check_paths(&s);
}

/* A two-layer model is not eligible: CLGRAD_FUSED=epoch falls back and it trains. */
Test(fused, ineligible_model_falls_back)
{
    clg_context *ctx = test_context();
    setup st = base();
    clg_dataset *ds = make_data(ctx, &st);
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 4, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 1, NULL));
    cr_assert_eq(test_label(ctx, "CLGRAD_FUSED", "epoch"), 0); /* Oclgrind kernel log */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", "epoch"));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.optimizer.lr = 0.01f;
    clg_context_stats before, after;
    CLG_OK_OR_FAIL(ctx, clg_context_get_stats(ctx, &before));
    clg_fit_report rep;
    double start;
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(m, ds, CLG_LOSS_SQUARED, &start));
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep));
    CLG_OK_OR_FAIL(ctx, clg_context_get_stats(ctx, &after));
    cr_expect_eq(rep.steps, 300);
    cr_expect_geq(after.kernels_enqueued - before.kernels_enqueued, 5 * rep.steps,
                  "the unfused path runs several kernels per step");
    cr_expect_lt(rep.final_loss, 0.01 * start, "loss %g from %g: must fall 100x", rep.final_loss,
                 start);
    test_label(ctx, "CLGRAD_FUSED",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* A bad CLGRAD_FUSED is refused when the context is created (before runtime/config.c it
 * was at the first fit), with the variable named; the test setter refuses it too. */
Test(fused, bad_mode_is_an_error)
{
    cr_assert_eq(setenv("CLGRAD_FUSED", "sometimes", 1), 0); /* no context exists */
    clg_context *ctx = NULL;
    cr_expect_eq(clg_context_create(&ctx, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_null(ctx);
    cr_expect(strstr(clg_last_error(NULL), "CLGRAD_FUSED") != NULL, "message: %s",
              clg_last_error(NULL));
    unsetenv("CLGRAD_FUSED");
    ctx = test_context();
    cr_expect_eq(clg_config_set(ctx, "CLGRAD_FUSED", "sometimes"), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(clg_last_error(ctx), "CLGRAD_FUSED") != NULL, "message: %s",
              clg_last_error(ctx));
    clg_context_destroy(ctx);
}

/* Progress reports on the fused paths: every 7 batches and at the last, in order, with
 * the same parameters bit for bit as without them (the epoch kernel then runs 7
 * batches per launch). 1003 rows, batch 64: 16 batches an epoch, 2 epochs. */
typedef struct progress_log {
    size_t n, epoch[64], done[64], total[64];
} progress_log;

static void log_progress(size_t epoch, size_t done, size_t total, void *user)
{
    progress_log *p = user;
    if (p->n < 64) p->epoch[p->n] = epoch, p->done[p->n] = done, p->total[p->n] = total;
    p->n++;
}

Test(fused, progress_reports_on_every_path)
{
    clg_context *ctx = test_context();
    setup st = base();
    st.n = 1003, st.d = 37, st.batch = 64, st.epochs = 2;
    st.optimizer.momentum = 0.9f, st.optimizer.lr = 0.01f;
    clg_dataset *ds = make_data(ctx, &st);
    const char *modes[] = {"epoch", "minibatch", "pipeline", "split"};
    const size_t np = st.d + 1;
    float plain[64], with[64];
    for (size_t mi = 0; mi < 4; mi++) {
        for (int report = 0; report < 2; report++) {
            cr_assert_eq(test_label(ctx, "CLGRAD_FUSED", modes[mi]), 0); /* Oclgrind kernel log */
            CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", modes[mi]));
            clg_model *m;
            CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
            clg_linear_init init = clg_linear_init_defaults();
            init.seed = 7;
            CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, st.d, 1, &init));
            clg_fit_options o = clg_fit_defaults();
            o.on_epoch = NULL;
            o.epochs = st.epochs;
            o.batch_size = st.batch;
            o.optimizer = st.optimizer;
            o.reduction = CLG_REDUCE_SUM;
            progress_log log = {0};
            if (report) {
                o.on_progress = log_progress;
                o.progress_every = 7;
                o.user = &log;
            }
            clg_fit_report r;
            CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &r));
            float *out = report ? with : plain;
            CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, out, st.d));
            CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, out + st.d, 1));
            clg_model_destroy(m);
            if (!report) continue;
            const size_t want[] = {7, 14, 16};
            cr_assert_eq(log.n, 6, "%s: %zu reports, want 3 per epoch", modes[mi], log.n);
            for (size_t k = 0; k < 6; k++) {
                cr_expect_eq(log.epoch[k], 1 + k / 3, "%s report %zu epoch", modes[mi], k);
                cr_expect_eq(log.done[k], want[k % 3], "%s report %zu: done %zu", modes[mi], k,
                             log.done[k]);
                cr_expect_eq(log.total[k], 16, "%s report %zu total", modes[mi], k);
            }
        }
        cr_expect_arr_eq(plain, with, np * sizeof *plain, "%s: progress reports change nothing",
                         modes[mi]);
    }
    test_label(ctx, "CLGRAD_FUSED",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
