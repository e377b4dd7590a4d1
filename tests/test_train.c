/* The training loop end to end: the seeds' convergence, the two d2l formulations
 * agreeing, per-epoch reports, evaluation against a double reference, bad input. */
#include <math.h>

#include "helpers.h"
#include "internal.h"

static const float true_w[2] = {2.0f, -3.4f};
static const float true_b = 4.2f;

typedef struct epochs_seen {
    size_t count;
    size_t last_epoch;
    double loss[16];
} epochs_seen;

static void on_epoch(size_t epoch, double loss, void *user)
{
    epochs_seen *e = user;
    e->last_epoch = epoch;
    if (e->count < 16) e->loss[e->count] = loss;
    e->count++;
}

static void make_seeds(clg_context *ctx, clg_dataset **ds, clg_model **m)
{
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 1000, true_w, 2, true_b, 0.01f, 42, ds));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(*m, 2, 1, NULL));
}

Test(train, seeds_setting_converges)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    clg_model *m;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    epochs_seen seen = {0};
    o.on_epoch = on_epoch;
    o.user = &seen;
    o.reduction = CLG_REDUCE_SUM; /* d2l from scratch: l.sum().backward(); p -= lr*grad/B */
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep));
    cr_expect_eq(seen.count, 3);
    cr_expect_eq(seen.last_epoch, 3);
    cr_expect_eq(rep.steps, 300);
    cr_expect_eq(rep.epochs_run, 3);
    cr_expect(seen.loss[0] > seen.loss[2], "loss must fall: %g then %g", seen.loss[0],
              seen.loss[2]);
    cr_expect_lt(rep.final_loss, 2e-4, "final loss %g (want < 2e-4)", rep.final_loss);
    float w[2], b;
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, &b, 1));
    cr_expect_lt(fabsf(w[0] - true_w[0]), 0.01f, "w[0] = %f", w[0]);
    cr_expect_lt(fabsf(w[1] - true_w[1]), 0.01f, "w[1] = %f", w[1]);
    cr_expect_lt(fabsf(b - true_b), 0.01f, "b = %f", b);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Summed squared loss with lr/|B| and mean squared loss with lr are the same
 * update; both runs see the same permutations, so parameters agree closely. */
Test(train, summed_and_mean_formulations_agree)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    clg_model *a, *b;
    make_seeds(ctx, &ds, &a);
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &b));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(b, 2, 1, NULL));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.batch_size = 7; /* 1000 = 142·7 + 6: a partial last batch each epoch */
    o.reduction = CLG_REDUCE_SUM;
    CLG_OK_OR_FAIL(ctx, clg_fit(a, ds, &o, NULL, NULL));
    o.reduction = CLG_REDUCE_MEAN;
    CLG_OK_OR_FAIL(ctx, clg_fit(b, ds, &o, NULL, NULL));
    float wa[2], wb[2], ba, bb;
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(a, 0, wa, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(b, 0, wb, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(a, 1, &ba, 1));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(b, 1, &bb, 1));
    for (int i = 0; i < 2; i++)
        cr_expect_lt(fabsf(wa[i] - wb[i]), 1e-5f, "w[%d]: %f vs %f", i, wa[i], wb[i]);
    cr_expect_lt(fabsf(ba - bb), 1e-5f, "b: %f vs %f", ba, bb);
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(train, evaluate_matches_double_reference)
{
    clg_context *ctx = test_context();
    const size_t n = 4999, d = 3; /* more rows than one evaluation chunk */
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)sin((double)(i * d + j));
        y[i] = (float)cos((double)i);
    }
    const float W[3] = {0.5f, -1.0f, 0.25f}, bias = 0.1f;
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = W;
    init.bias = &bias;
    clg_dataset *ds;
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, y, n, d, 1, &ds));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, 1, &init));
    double ref = 0;
    for (size_t i = 0; i < n; i++) {
        double p = bias;
        for (size_t j = 0; j < d; j++) p += (double)X[i * d + j] * W[j];
        ref += (p - y[i]) * (p - y[i]);
    }
    ref /= (double)n;
    double got;
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(m, ds, CLG_LOSS_MSE, &got));
    cr_expect_lt(fabs(got - ref) / ref, 1e-5, "MSE %.9g vs reference %.9g (rel tol 1e-5)", got,
                 ref);
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(m, ds, CLG_LOSS_SQUARED, &got));
    cr_expect_lt(fabs(got - ref / 2) / ref, 1e-5, "squared %.9g vs %.9g", got, ref / 2);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    free(X);
    free(y);
    clg_context_destroy(ctx);
}

Test(train, bad_input_statuses)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    clg_model *m, *wrong;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.batch_size = 0;
    cr_expect_eq(clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(clg_last_error(ctx), "batch") != NULL, "%s", clg_last_error(ctx));
    o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = 0;
    cr_expect_eq(clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    o.epochs = 1;
    o.reduction = CLG_REDUCE_NONE;
    cr_expect_eq(clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    o.reduction = CLG_REDUCE_MEAN;
    o.loss = (clg_loss_kind)42;
    cr_expect_eq(clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &wrong));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(wrong, 3, 1, NULL));
    cr_expect_eq(clg_fit(wrong, ds, NULL, NULL, NULL), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "3 inputs") != NULL, "%s", clg_last_error(ctx));
    double l;
    cr_expect_eq(clg_evaluate_loss(wrong, ds, CLG_LOSS_MSE, &l), CLG_ERR_SHAPE);
    clg_model *empty;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &empty));
    cr_expect_eq(clg_fit(empty, ds, NULL, NULL, NULL), CLG_ERR_STATE);
    cr_expect_eq(clg_fit(NULL, ds, NULL, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    float X[4] = {1, 2, NAN, 4}, y[2] = {1, 2};
    clg_dataset *bad = (clg_dataset *)1;
    cr_expect_eq(clg_dataset_from_host(ctx, X, y, 2, 2, 1, &bad), CLG_ERR_NONFINITE);
    cr_expect_null(bad);
    cr_expect(strstr(clg_last_error(ctx), "row 1") != NULL, "%s", clg_last_error(ctx));
    cr_expect_eq(clg_dataset_from_host(ctx, X, y, 0, 2, 1, &bad), CLG_ERR_SHAPE);
    clg_model_destroy(empty);
    clg_model_destroy(wrong);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(train, divergence_is_reported_not_silent)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    clg_model *m;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    epochs_seen seen = {0};
    o.on_epoch = on_epoch;
    o.user = &seen;
    o.optimizer.lr = 50.0f;
    o.epochs = 10;
    clg_fit_report rep;
    cr_expect_eq(clg_fit(m, ds, &o, NULL, &rep), CLG_ERR_NONFINITE);
    cr_expect(strstr(clg_last_error(ctx), "learning rate") != NULL, "%s", clg_last_error(ctx));
    cr_expect_lt(seen.count, 10, "no callback after the loss became non-finite");
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* epoch_loss = 0 skips the per-epoch full-set pass only: the same parameters, bit for
 * bit, on_epoch still called (with NaN), final_loss NaN. Fused and unfused paths. */
Test(train, epoch_loss_off_trains_identically)
{
    const char *paths[] = {"0", "auto"};
    for (size_t p = 0; p < 2; p++) {
        setenv("CLGRAD_FUSED", paths[p], 1);
        clg_context *ctx = test_context();
        float w[2][2], b[2];
        for (int off = 0; off < 2; off++) {
            clg_dataset *ds;
            clg_model *m;
            make_seeds(ctx, &ds, &m);
            clg_fit_options o = clg_fit_defaults();
            epochs_seen seen = {0};
            o.on_epoch = on_epoch;
            o.user = &seen;
            o.epoch_loss = !off;
            clg_fit_report r;
            CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &r));
            cr_assert_eq(seen.count, 3, "CLGRAD_FUSED=%s epoch_loss=%d: on_epoch calls", paths[p],
                         !off);
            cr_assert_eq(r.epochs_run, 3);
            if (off) {
                cr_assert(isnan(seen.loss[2]) && isnan(r.final_loss),
                          "no loss computed: NaN reported");
            } else {
                cr_assert(seen.loss[2] < 1e-3, "epoch 3 loss %g", seen.loss[2]);
            }
            CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w[off], 2));
            CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, &b[off], 1));
            clg_model_destroy(m);
            clg_dataset_destroy(ds);
        }
        cr_assert_arr_eq(w[0], w[1], sizeof w[0],
                         "CLGRAD_FUSED=%s: same weights with and without the pass", paths[p]);
        cr_assert_eq(b[0], b[1], "same bias");
        clg_context_destroy(ctx);
    }
}

/* The overlapped per-epoch loss (lib/epoch_loss.c: a snapshot's loss in the second
 * queue while the next epoch trains) reports the same floats as the in-order pass,
 * bit for bit, on a model it applies to (Linear 64 -> 1, batch 100). */
static void fit_losses(clg_context *ctx, int overlap, double *losses, float *params, size_t d)
{
    ctx->cfg.epoch_loss_overlap = overlap;
    float w[64];
    for (size_t j = 0; j < d; j++) w[j] = (float)j / 32.0f - 1.0f;
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 3000, w, d, 0.5f, 0.01f, 11, &ds));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, 1, NULL));
    clg_fit_options o = clg_fit_defaults();
    epochs_seen seen = {0};
    o.on_epoch = on_epoch;
    o.user = &seen;
    o.epochs = 4;
    o.batch_size = 100;
    o.optimizer.lr = 0.01f;
    clg_fit_report r;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &r));
    cr_assert_eq(seen.count, 4, "overlap=%d: on_epoch calls", overlap);
    for (size_t e = 0; e < 4; e++) {
        cr_assert_eq(seen.loss[e] == seen.loss[e], 1, "epoch %zu loss is a number", e + 1);
        losses[e] = seen.loss[e];
    }
    cr_assert_eq(r.final_loss, seen.loss[3]);
    double now;
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(m, ds, CLG_LOSS_SQUARED, &now));
    cr_assert_eq(now, r.final_loss,
                 "overlap=%d: the last reported loss is the model's: %.12g vs %.12g", overlap, now,
                 r.final_loss);
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, params, d));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
}

Test(train, overlapped_epoch_loss_is_bit_identical)
{
    clg_context *ctx = test_context();
    double a[4], b[4];
    float pa[64], pb[64];
    cr_assert_null(ctx->aux_queue);
    fit_losses(ctx, 2, a, pa, 64);
    cr_assert_not_null(ctx->aux_queue, "the overlapped loss ran in the second queue");
    fit_losses(ctx, 0, b, pb, 64);
    for (size_t e = 0; e < 4; e++)
        cr_expect_eq(a[e], b[e], "epoch %zu: overlapped %.12g vs in order %.12g", e + 1, a[e],
                     b[e]);
    cr_expect_arr_eq(pa, pb, sizeof pa, "the same training either way");
    clg_context_destroy(ctx);
}

/* Divergence with the overlapped loss: epoch k+1 may have run when the loss of epoch k
 * turns out bad; the model must hold the parameters of epoch k-1, the last whose loss
 * passed, as a fit of exactly k-1 epochs leaves them. */
Test(train, divergence_restores_the_last_passing_epoch)
{
    clg_context *ctx = test_context();
    float w[2][2], b[2];
    size_t ran = 0;
    ctx->cfg.epoch_loss_overlap = 2; /* the seeds' data is below the size where it pays */
    for (int run = 0; run < 2; run++) {
        clg_dataset *ds;
        clg_model *m;
        make_seeds(ctx, &ds, &m);
        clg_fit_options o = clg_fit_defaults();
        o.on_epoch = NULL;
        o.optimizer.lr = 1.85f; /* diverges after a few epochs (8 on POCL), not in the first */
        o.epochs = run == 0 ? 50 : ran - 1;
        clg_fit_report rep;
        clg_status s = clg_fit(m, ds, &o, NULL, &rep);
        if (run == 0) {
            cr_assert(s == CLG_ERR_NONFINITE || s == CLG_ERR_DIVERGED, "run 0 diverges: %s",
                      clg_status_string(s));
            ran = rep.epochs_run;
        } else {
            cr_assert_eq(s, CLG_OK, "%zu epochs pass: %s", ran - 1, clg_last_error(ctx));
        }
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w[run], 2));
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, &b[run], 1));
        clg_model_destroy(m);
        clg_dataset_destroy(ds);
    }
    cr_assert(ran >= 3 && ran < 50, "diverged in epoch %zu", ran);
    cr_assert_eq(memcmp(w[0], w[1], sizeof w[0]), 0, "weights of epoch %zu: %g %g vs %g %g",
                 ran - 1, (double)w[0][0], (double)w[0][1], (double)w[1][0], (double)w[1][1]);
    cr_assert_eq(memcmp(&b[0], &b[1], sizeof b[0]), 0, "bias of epoch %zu", ran - 1);
    clg_context_destroy(ctx);
}

/* A single Linear layer whose W does not fit the fused loss kernel's local memory
 * (1024 x 600 floats = 2.4 MB here; POCL has 2 MiB): the overlapped loss declines on
 * the first epoch and the fit goes on in order, with the same losses as without it. */
Test(train, overlap_declines_for_a_layer_beyond_local_memory)
{
    clg_context *ctx = test_context();
    const size_t n = 64, d = 1024, q = 600;
    const size_t local = (size_t)ctx->info.local_mem_size;
    if (d * q * sizeof(float) <= local) {
        cr_skip("this device's local memory (%zu bytes) holds W", local);
        clg_context_destroy(ctx);
        return;
    }
    uint64_t u = 5;
    float *X = malloc(n * d * sizeof *X), *Y = malloc(n * q * sizeof *Y);
    for (size_t i = 0; i < n * d; i++)
        X[i] = (float)((u = u * 6364136223846793005ULL + 1) >> 40) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < n * q; i++) Y[i] = (float)(i % 7) * 0.1f;
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, d, q, &ds));
    double losses[2][2];
    for (int ov = 0; ov < 2; ov++) {
        ctx->cfg.epoch_loss_overlap = ov ? 1 : 0;
        clg_model *m;
        CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
        clg_linear_init init = clg_linear_init_defaults();
        init.seed = 3;
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, q, &init));
        clg_fit_options o = clg_fit_defaults();
        epochs_seen seen = {0};
        o.on_epoch = on_epoch;
        o.user = &seen;
        o.epochs = 2;
        o.batch_size = 32;
        CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, NULL));
        cr_assert_eq(seen.count, 2);
        losses[ov][0] = seen.loss[0], losses[ov][1] = seen.loss[1];
        clg_model_destroy(m);
    }
    cr_expect_eq(losses[1][0], losses[0][0], "epoch 1: %.12g vs %.12g", losses[1][0], losses[0][0]);
    cr_expect_eq(losses[1][1], losses[0][1], "epoch 2: %.12g vs %.12g", losses[1][1], losses[0][1]);
    cr_expect(losses[1][1] < losses[1][0], "it trains: %g then %g", losses[1][0], losses[1][1]);
    free(X), free(Y);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Data where the overlapped loss pays (n·d·q = 2^20): a callback that evaluates the
 * model must see the epoch it reports. Slow learning, so consecutive epochs differ. */
#define REP_N 8192
#define REP_D 128
#define REP_E 3
typedef struct model_seen {
    clg_model *m;
    clg_dataset *test;
    size_t count;
    double test_loss[REP_E];
    float w[REP_E][REP_D];
} model_seen;

static void on_epoch_evaluate(size_t epoch, double loss, void *user)
{
    (void)loss;
    model_seen *s = user;
    cr_assert_eq(epoch, s->count + 1, "epochs in order");
    CLG_OK_OR_FAIL(NULL,
                   clg_evaluate_loss(s->m, s->test, CLG_LOSS_SQUARED, &s->test_loss[s->count]));
    CLG_OK_OR_FAIL(NULL, clg_model_get_param(s->m, 0, s->w[s->count], REP_D));
    s->count++;
}

static void fit_reported(clg_context *ctx, size_t epochs, clg_epoch_callback cb, model_seen *seen,
                         float *w_final)
{
    float w[REP_D];
    for (size_t j = 0; j < REP_D; j++) w[j] = (float)(j % 9) / 4.0f - 1.0f;
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, REP_N, w, REP_D, 0.5f, 0.01f, 7, &ds));
    CLG_OK_OR_FAIL(ctx,
                   clg_dataset_synthetic_linear(ctx, 1000, w, REP_D, 0.5f, 0.01f, 8, &seen->test));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &seen->m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(seen->m, REP_D, 1, NULL));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = cb;
    o.user = seen;
    o.epochs = epochs;
    o.batch_size = 256;
    o.optimizer.lr = 0.002f;
    CLG_OK_OR_FAIL(ctx, clg_fit(seen->m, ds, &o, NULL, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(seen->m, 0, w_final, REP_D));
    clg_model_destroy(seen->m);
    clg_dataset_destroy(seen->test);
    clg_dataset_destroy(ds);
}

/* Regression (issue: per-epoch figures one epoch late): on_epoch(e) used to run once
 * epoch e+1 was enqueued, so an evaluation in it saw epoch e+1 and the last two epochs
 * reported the same test loss. Checked three ways: against fits of exactly e epochs
 * (bit for bit), against the unfused path (CLGRAD_FUSED=0, tolerance 1e-5), and the
 * reported test losses all differ. */
Test(train, callback_sees_the_epoch_it_reports)
{
    model_seen seen[2] = {{0}};
    float w_end[REP_D];
    const char *paths[2] = {"auto", "0"};
    for (int p = 0; p < 2; p++) {
        setenv("CLGRAD_FUSED", paths[p], 1);
        clg_context *ctx = test_context();
        fit_reported(ctx, REP_E, on_epoch_evaluate, &seen[p], w_end);
        cr_assert_eq(seen[p].count, REP_E);
        if (p == 0) {
            for (size_t e = 1; e <= REP_E; e++) {
                model_seen quiet = {0};
                float w_e[REP_D];
                fit_reported(ctx, e, clg_print_epoch, &quiet, w_e);
                cr_assert_eq(memcmp(w_e, seen[0].w[e - 1], sizeof w_e), 0,
                             "on_epoch(%zu) saw the weights of a %zu-epoch fit (w[0] %.9g vs %.9g)",
                             e, e, (double)seen[0].w[e - 1][0], (double)w_e[0]);
            }
        }
        clg_context_destroy(ctx);
    }
    unsetenv("CLGRAD_FUSED");
    for (size_t e = 0; e < REP_E; e++) {
        for (size_t j = 0; j < REP_D; j++)
            cr_assert_lt(fabsf(seen[0].w[e][j] - seen[1].w[e][j]), 1e-5f,
                         "epoch %zu w[%zu]: fused %.9g vs unfused %.9g (tolerance 1e-5)", e + 1, j,
                         (double)seen[0].w[e][j], (double)seen[1].w[e][j]);
        cr_assert_lt(fabs(seen[0].test_loss[e] - seen[1].test_loss[e]), 1e-5 * seen[1].test_loss[e],
                     "epoch %zu test loss: fused %.9g vs unfused %.9g", e + 1, seen[0].test_loss[e],
                     seen[1].test_loss[e]);
        if (e)
            cr_assert_lt(seen[0].test_loss[e], 0.95 * seen[0].test_loss[e - 1],
                         "epoch %zu's test loss %.9g is below epoch %zu's %.9g", e + 1,
                         seen[0].test_loss[e], e, seen[0].test_loss[e - 1]);
    }
}

/* A learning rate that blows up within the first epoch: the model keeps its initial
 * parameters (it used to be left NaN), on the in-order and the overlapped loss. */
Test(train, first_epoch_divergence_keeps_the_initial_model)
{
    clg_context *ctx = test_context();
    for (int ov = 0; ov < 2; ov++) {
        ctx->cfg.epoch_loss_overlap = ov ? 2 : 0;
        clg_dataset *ds;
        clg_model *m;
        make_seeds(ctx, &ds, &m);
        float w0[2], b0, w[2], b;
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w0, 2));
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, &b0, 1));
        clg_fit_options o = clg_fit_defaults();
        o.on_epoch = NULL;
        o.optimizer.lr = 1e4f;
        clg_fit_report rep;
        clg_status s = clg_fit(m, ds, &o, NULL, &rep);
        cr_assert(s == CLG_ERR_NONFINITE || s == CLG_ERR_DIVERGED, "overlap %d: %s", ov,
                  clg_status_string(s));
        cr_assert_eq(rep.epochs_run, 1);
        cr_assert(strstr(clg_last_error(ctx), "parameters of epoch 0") != NULL, "%s",
                  clg_last_error(ctx));
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w, 2));
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, &b, 1));
        cr_assert(memcmp(w, w0, sizeof w) == 0 && b == b0,
                  "overlap %d: initial model kept: w %g %g b %g", ov, (double)w[0], (double)w[1],
                  (double)b);
        clg_model_destroy(m);
        clg_dataset_destroy(ds);
    }
    clg_context_destroy(ctx);
}

/* A finite blow-up (softmax regression with a huge learning rate reaches losses in the
 * thousands without NaN) stops the fit with CLG_ERR_DIVERGED; it used to return OK. */
Test(train, finite_blow_up_is_divergence)
{
    clg_context *ctx = test_context();
    enum { N = 600, D = 8, C = 3 };
    float X[N * D];
    int32_t lab[N];
    uint64_t u = 9;
    for (size_t i = 0; i < N; i++) { /* random labels: nothing to separate, so it cannot fit */
        for (size_t j = 0; j < D; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            X[i * D + j] = (float)((u >> 40) / 16777216.0) - 0.5f;
        }
        lab[i] = (int32_t)((u >> 20) % C);
    }
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, N, D, C, &ds));
    for (int run = 0; run < 2; run++) {
        clg_model *m;
        CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, C, NULL));
        clg_fit_options o = clg_fit_defaults();
        o.on_epoch = NULL;
        o.loss = CLG_LOSS_SOFTMAX_XENT;
        o.optimizer.lr = 1e6f;
        o.epochs = 2;
        o.diverge_factor = run ? 0 : 1e4;
        clg_fit_report rep;
        if (run == 0) {
            EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, &rep), CLG_ERR_DIVERGED, "initial model",
                           "fit whose loss grows 1e4-fold (finite)");
            cr_assert(isfinite(rep.final_loss), "finite: %g", rep.final_loss);
        } else {
            CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep)); /* the check is off */
            cr_assert_gt(rep.final_loss, 1e4 * log(3.0), "it did blow up: %g", rep.final_loss);
        }
        clg_model_destroy(m);
    }
    clg_fit_options o = clg_fit_defaults();
    o.diverge_factor = -1;
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, C, NULL));
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT, "diverge_factor",
                   "clg_fit with diverge_factor -1");
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Regression: a batch larger than the dataset used to size the gradient buffer by the
 * batch ("tensor needs 4000000000000 bytes"); it is one batch of all rows, the same
 * fit as batch = n, bit for bit, on every path. */
Test(train, batch_beyond_the_dataset_is_one_batch)
{
    const char *paths[] = {"0", "auto", "epoch", "minibatch", "pipeline", "split"};
    for (size_t p = 0; p < 6; p++) {
        setenv("CLGRAD_FUSED", paths[p], 1);
        clg_context *ctx = test_context();
        float w[2][2];
        for (int big = 0; big < 2; big++) {
            clg_dataset *ds;
            clg_model *m;
            make_seeds(ctx, &ds, &m);
            clg_fit_options o = clg_fit_defaults();
            o.on_epoch = NULL;
            o.batch_size = big ? (size_t)1e12 : 1000;
            o.optimizer.lr = 0.5f;
            clg_fit_report r;
            CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &r));
            cr_assert_eq(r.steps, 3, "CLGRAD_FUSED=%s: one step an epoch", paths[p]);
            CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w[big], 2));
            clg_model_destroy(m);
            clg_dataset_destroy(ds);
        }
        cr_assert_eq(memcmp(w[0], w[1], sizeof w[0]), 0, "CLGRAD_FUSED=%s: %g %g vs %g %g",
                     paths[p], (double)w[0][0], (double)w[0][1], (double)w[1][0], (double)w[1][1]);
        clg_context_destroy(ctx);
    }
    unsetenv("CLGRAD_FUSED");
}

/* ---------------------------------------------------------------- cancel */

typedef struct cancel_at {
    volatile sig_atomic_t flag;
    size_t epoch, batch; /* set the flag after this epoch's report, or at this batch */
    size_t reports;
} cancel_at;

static void cancel_on_epoch(size_t epoch, double loss, void *user)
{
    (void)loss;
    cancel_at *c = user;
    c->reports = epoch;
    if (epoch == c->epoch) c->flag = 1;
}

static void cancel_on_progress(size_t epoch, size_t batch, size_t batches, void *user)
{
    (void)batches;
    cancel_at *c = user;
    if (epoch == c->epoch && batch == c->batch) c->flag = 1;
}

/* The parameters after exactly `epochs` uninterrupted epochs. */
static void params_after(clg_context *ctx, size_t epochs, float w[2], float *b)
{
    clg_dataset *ds;
    clg_model *m;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = epochs;
    if (epochs) CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b, 1));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
}

/* Cancelled fit of the seeds with the flag set as c says; returns the status. */
static clg_status cancelled_fit(clg_context *ctx, cancel_at *c, int progress, float w[2], float *b,
                                clg_fit_report *rep)
{
    clg_dataset *ds;
    clg_model *m;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 6;
    o.on_epoch = cancel_on_epoch;
    o.user = c;
    o.cancel = &c->flag;
    if (progress) {
        o.on_progress = cancel_on_progress;
        o.progress_every = 1;
    }
    clg_status s = clg_fit(m, ds, &o, NULL, rep);
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b, 1));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    return s;
}

/* A flag set after epoch 2's report stops the fit before epoch 3: the model is exactly a
 * 2-epoch fit's, on the fused path and the unfused one. With the overlapped loss, epoch 3
 * is already enqueued when epoch 2 is reported: it runs, is reported, and the model is a
 * 3-epoch fit's. */
Test(train, cancel_between_epochs_keeps_the_last_whole_epoch)
{
    clg_context *ctx = test_context();
    for (int mode = 0; mode < 3; mode++) {
        ctx->cfg.fused = mode == 1 ? CLG_FUSED_OFF : CLG_FUSED_AUTO;
        ctx->cfg.epoch_loss_overlap = mode == 2 ? 2 : 0;
        const size_t held = mode == 2 ? 3 : 2;
        float want_w[2], want_b, w[2], b;
        params_after(ctx, held, want_w, &want_b);
        cancel_at c = {0, 2, 0, 0};
        clg_fit_report rep;
        clg_status s = cancelled_fit(ctx, &c, 0, w, &b, &rep);
        cr_assert_eq(s, CLG_ERR_CANCELLED, "mode %d: %s", mode, clg_status_string(s));
        cr_expect_eq(rep.epochs_run, held, "mode %d: whole epochs", mode);
        cr_expect_eq(c.reports, held, "mode %d: the next epoch never reported", mode);
        char before[48], holds[48];
        snprintf(before, sizeof before, "cancelled before epoch %zu", held + 1);
        snprintf(holds, sizeof holds, "parameters of epoch %zu", held);
        cr_expect(strstr(clg_last_error(ctx), before) && strstr(clg_last_error(ctx), holds),
                  "mode %d: %s", mode, clg_last_error(ctx));
        cr_expect(memcmp(w, want_w, sizeof w) == 0 && b == want_b,
                  "mode %d: model of epoch %zu: %g %g %g vs %g %g %g", mode, held, (double)w[0],
                  (double)w[1], (double)b, (double)want_w[0], (double)want_w[1], (double)want_b);
    }
    clg_context_destroy(ctx);
}

/* A flag set at batch 40 of epoch 3 (unfused: checked between minibatches) undoes the
 * epoch: the model is the 2-epoch fit's; set before the fit, nothing trains. */
Test(train, cancel_during_an_epoch_undoes_it)
{
    clg_context *ctx = test_context();
    ctx->cfg.fused = CLG_FUSED_OFF;
    float want_w[2], want_b, w[2], b;
    params_after(ctx, 2, want_w, &want_b);
    cancel_at c = {0, 3, 40, 0};
    clg_fit_report rep;
    clg_status s = cancelled_fit(ctx, &c, 1, w, &b, &rep);
    cr_assert_eq(s, CLG_ERR_CANCELLED, "%s", clg_status_string(s));
    cr_expect_eq(rep.epochs_run, 2u);
    cr_expect(strstr(clg_last_error(ctx), "cancelled during epoch 3") &&
                  strstr(clg_last_error(ctx), "parameters of epoch 2"),
              "%s", clg_last_error(ctx));
    cr_expect(memcmp(w, want_w, sizeof w) == 0 && b == want_b, "epoch 3 undone");
    params_after(ctx, 0, want_w, &want_b);
    cancel_at before = {1, 99, 0, 0};
    s = cancelled_fit(ctx, &before, 0, w, &b, &rep);
    cr_assert_eq(s, CLG_ERR_CANCELLED);
    cr_expect_eq(rep.epochs_run, 0u);
    cr_expect(memcmp(w, want_w, sizeof w) == 0 && b == want_b, "initial model kept");
    clg_context_destroy(ctx);
}

/* clg_record_epoch, and a callback flagged on_epoch_records_only, let the next epoch run
 * while the loss is computed (the overlapped loss, where it pays: the default setting), as
 * the printer does; a plain callback does not. The losses are the same floats either way,
 * and the recorder keeps what fits its array, counting the rest. */
Test(train, recorder_and_records_only_callbacks_overlap, .timeout = 120)
{
    enum { D = 64, N = 20000, EPOCHS = 4 }; /* N·D above the size where the overlap pays */
    double losses[3][EPOCHS];
    for (int mode = 0; mode < 3; mode++) { /* recorder, records-only callback, plain callback */
        clg_context *ctx = test_context();
        float w[D];
        for (size_t j = 0; j < D; j++) w[j] = (float)j / 32.0f - 1.0f;
        clg_dataset *ds;
        CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, N, w, D, 0.5f, 0.01f, 11, &ds));
        clg_model *m;
        CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, 1, NULL));
        clg_fit_options o = clg_fit_defaults();
        o.epochs = EPOCHS;
        o.batch_size = 100;
        o.optimizer.lr = 0.01f;
        double kept[2];
        clg_epoch_log log = {kept, 2, 0, 0, 0};
        epochs_seen seen = {0};
        o.on_epoch = mode == 0 ? clg_record_epoch : on_epoch;
        o.user = mode == 0 ? (void *)&log : (void *)&seen;
        o.on_epoch_records_only = mode == 1;
        CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, NULL));
        if (mode == 0) {
            cr_assert(log.count == 2 && log.dropped == EPOCHS - 2 && log.last == EPOCHS,
                      "recorded %zu, dropped %zu, last %zu", log.count, log.dropped, log.last);
            losses[0][0] = kept[0], losses[0][1] = kept[1];
        } else {
            cr_assert_eq(seen.count, EPOCHS);
            for (size_t e = 0; e < EPOCHS; e++) losses[mode][e] = seen.loss[e];
        }
        cr_assert_eq(ctx->aux_queue != NULL, mode != 2, "mode %d: the loss overlapped: %d", mode,
                     ctx->aux_queue != NULL);
        clg_model_destroy(m);
        clg_dataset_destroy(ds);
        clg_context_destroy(ctx);
    }
    for (size_t e = 0; e < EPOCHS; e++) {
        cr_expect_eq(losses[1][e], losses[2][e], "epoch %zu", e + 1);
        if (e < 2) cr_expect_eq(losses[0][e], losses[2][e], "recorded epoch %zu", e + 1);
    }
}

static int never_called(float *buf, size_t n, void *user)
{
    (void)buf, (void)n, (void)user;
    cr_assert_fail("a communicator clg_fit refuses is never called");
    return 1;
}

/* A communicator clg_fit cannot use is refused before any collective (no MPI here: the
 * allreduce must not be reached), clg_comm_check without one, and model averaging without
 * one. */
Test(train, bad_communicators_refused)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    clg_model *m;
    make_seeds(ctx, &ds, &m);
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    const struct {
        clg_comm c;
        const char *needle, *input;
    } cases[] = {
        {{sizeof(clg_comm), 0, 0, never_called, NULL}, "rank 0 of size 0", "comm of size 0"},
        {{sizeof(clg_comm), 2, 2, never_called, NULL}, "rank 2 of size 2", "comm rank 2 of 2"},
        {{sizeof(clg_comm), -1, 2, never_called, NULL}, "rank -1", "comm rank -1"},
        {{sizeof(clg_comm), 0, 1, NULL, NULL}, "no allreduce_sum", "comm without an allreduce"},
        {{8, 0, 1, never_called, NULL}, "struct_size 8 is too small", "comm struct_size 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        o.comm = &cases[i].c;
        EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                       cases[i].needle, cases[i].input);
    }
    EXPECT_REFUSED(NULL, clg_comm_check(NULL, NULL, CLG_OK, "x"), CLG_ERR_INVALID_ARGUMENT,
                   "NULL comm", "clg_comm_check without a communicator");
    o.comm = NULL;
    o.average_every = 2;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "average_every 2 needs a communicator", "average_every without comm");
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
