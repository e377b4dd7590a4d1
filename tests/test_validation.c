/* Validation during clg_fit: the stratified split, the per-epoch validation loss against
 * clg_evaluate, the best epoch's parameters kept, early stopping, and refusals. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* n rows of 2 features, row i = (i, class-dependent value), labels by `counts`. */
static clg_dataset *classes_data(clg_context *ctx, const size_t *counts, size_t classes)
{
    size_t n = 0;
    for (size_t c = 0; c < classes; c++) n += counts[c];
    float *X = malloc(n * 2 * sizeof *X);
    int32_t *y = malloc(n * sizeof *y);
    cr_assert(X && y);
    size_t i = 0;
    for (size_t c = 0; c < classes; c++)
        for (size_t k = 0; k < counts[c]; k++, i++) {
            X[2 * i] = (float)i;
            X[2 * i + 1] = (float)c - 1.0f + 0.01f * (float)(k % 7);
            y[i] = (int32_t)c;
        }
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, y, n, 2, classes, &ds));
    free(X);
    free(y);
    return ds;
}

/* The rows (feature 0) and per-class counts of a part. */
static void part_rows(const clg_dataset *p, int *seen, size_t *per_class)
{
    size_t n = clg_dataset_size(p);
    float *X = malloc(n * 2 * sizeof *X), *Y = malloc(n * sizeof *Y);
    CLG_OK_OR_FAIL(NULL, clg_dataset_download(p, X, Y));
    for (size_t i = 0; i < n; i++) {
        seen[(size_t)X[2 * i]]++;
        per_class[(size_t)Y[i]]++;
    }
    free(X);
    free(Y);
}

Test(validation, stratified_split_keeps_each_class_share)
{
    clg_context *ctx = test_context();
    const size_t counts[3] = {50, 30, 21}; /* n = 101: test part round(20.2) = 20 */
    clg_dataset *ds = classes_data(ctx, counts, 3), *tr, *te, *tr2, *te2;
    CLG_OK_OR_FAIL(ctx, clg_dataset_split_stratified(ds, 0.2, 5, &tr, &te));
    cr_expect_eq(clg_dataset_size(te), 20);
    cr_expect_eq(clg_dataset_size(tr), 81);
    cr_expect_eq(clg_dataset_classes(te), 3);
    int seen[101] = {0};
    size_t ctr[3] = {0}, cte[3] = {0};
    part_rows(tr, seen, ctr);
    part_rows(te, seen, cte);
    for (int i = 0; i < 101; i++) cr_expect_eq(seen[i], 1, "row %d in %d parts", i, seen[i]);
    /* floor(50·0.2) = 10, floor(6.0) = 6, floor(4.2) = 4: already 20, no remainder rows */
    cr_expect(cte[0] == 10 && cte[1] == 6 && cte[2] == 4, "test part per class %zu %zu %zu", cte[0],
              cte[1], cte[2]);
    cr_expect(ctr[0] == 40 && ctr[1] == 24 && ctr[2] == 17);
    /* Same seed, same parts; the plain split's shares drift (checked over seeds below). */
    CLG_OK_OR_FAIL(ctx, clg_dataset_split_stratified(ds, 0.2, 5, &tr2, &te2));
    float a[40], b[40];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(te, a, NULL));
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(te2, b, NULL));
    cr_expect(memcmp(a, b, sizeof a) == 0, "same seed, other test part");
    clg_dataset_destroy(tr2);
    clg_dataset_destroy(te2);
    /* Remainders: 3 classes of 10 rows at 0.25 → 2.5 each, round(7.5) = 8 rows: the two
     * lowest class ids get the extra row. */
    const size_t even[3] = {10, 10, 10};
    clg_dataset *ev = classes_data(ctx, even, 3);
    CLG_OK_OR_FAIL(ctx, clg_dataset_split_stratified(ev, 0.25, 1, &tr2, &te2));
    int seen2[30] = {0};
    size_t c2[3] = {0}, t2[3] = {0};
    part_rows(te2, seen2, c2);
    part_rows(tr2, seen2, t2);
    cr_expect(c2[0] == 3 && c2[1] == 3 && c2[2] == 2, "remainders: %zu %zu %zu", c2[0], c2[1],
              c2[2]);
    clg_dataset_destroy(tr2);
    clg_dataset_destroy(te2);
    clg_dataset_destroy(ev);
    static const float w[1] = {1.0f};
    clg_dataset *reg;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 20, w, 1, 0.0f, 0.1f, 1, &reg));
    EXPECT_REFUSED(ctx, clg_dataset_split_stratified(reg, 0.2, 1, &tr2, &te2),
                   CLG_ERR_INVALID_ARGUMENT, "stratifying needs class ids",
                   "stratified split of regression data");
    clg_dataset_destroy(reg);
    clg_dataset_destroy(tr);
    clg_dataset_destroy(te);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Per-epoch records of the callbacks: validation losses and the model's parameters. */
typedef struct record {
    clg_model *m;
    size_t epochs[32], nval;
    double val[32], acc[32];
    float w[16][4];
    size_t cancel_at; /* sets cancel after validating this epoch (0: never) */
    volatile sig_atomic_t cancel;
} record;

static void on_epoch(size_t epoch, double loss, void *user)
{
    (void)loss;
    record *r = user;
    cr_assert(epoch >= 1 && epoch <= 16);
    float wb[4] = {0};
    CLG_OK_OR_FAIL(NULL, clg_model_get_param(r->m, 0, wb, 2));
    CLG_OK_OR_FAIL(NULL, clg_model_get_param(r->m, 1, wb + 2, 1));
    memcpy(r->w[epoch - 1], wb, sizeof wb);
}

static void on_validation(size_t epoch, double loss, double acc, void *user)
{
    record *r = user;
    cr_assert(r->nval < 32);
    r->epochs[r->nval] = epoch;
    r->val[r->nval] = loss;
    r->acc[r->nval++] = acc;
    if (r->cancel_at && epoch == r->cancel_at) r->cancel = 1;
}

/* Training data y = 2·x1 − x2 + 1 (300 rows), a validation set of 20 rows whose targets are
 * all 0, and a Linear(2 → 1) model. */
static clg_model *zero_target_setup(clg_context *ctx, clg_dataset **ds, clg_dataset **val)
{
    static const float w[2] = {2.0f, -1.0f};
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 300, w, 2, 1.0f, 0.01f, 9, ds));
    float Xv[40], Yv[20] = {0};
    for (int i = 0; i < 40; i++) Xv[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, Xv, Yv, 20, 2, 1, val));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 1, NULL));
    return m;
}

/* Training data y = 2·x1 − x2 + 1; a validation set whose targets are all 0, so the
 * validation loss is lowest near the initial (tiny) weights and grows as the fit learns:
 * the best epoch is the first, and early stopping ends the fit `patience` epochs later. */
Test(validation, best_epoch_is_kept_and_early_stopping_stops)
{
    clg_context *ctx = test_context();
    clg_dataset *ds, *val;
    clg_model *m = zero_target_setup(ctx, &ds, &val);
    record rec = {.m = m};
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 10;
    o.optimizer.lr = 0.01f;
    o.on_epoch = on_epoch;
    o.on_validation = on_validation;
    o.user = &rec;
    o.validation = val;
    o.early_stop = 3;
    clg_validation_result vr;
    o.validation_result = &vr;
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep));
    cr_expect_eq(rec.nval, 4, "validated epochs: %zu", rec.nval);
    for (size_t i = 1; i < rec.nval; i++)
        cr_expect(rec.val[i] > rec.val[0], "epoch %zu's validation loss %g beats epoch 1's %g",
                  i + 1, rec.val[i], rec.val[0]);
    cr_expect_eq(rep.epochs_run, 4);
    cr_expect_eq(vr.best_epoch, 1);
    cr_expect(vr.stopped_early);
    cr_expect_eq(vr.best_loss, rec.val[0]);
    cr_expect_eq(vr.best_accuracy, -1.0);
    /* The model holds epoch 1's parameters, and its validation loss is the one reported. */
    float now[4] = {0};
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, now, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, now + 2, 1));
    cr_expect(memcmp(now, rec.w[0], sizeof now) == 0, "the model is not epoch 1's");
    clg_eval_result ev;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, val, CLG_LOSS_SQUARED, &ev));
    cr_expect_eq(ev.loss, vr.best_loss);
    /* Without early stopping all 10 epochs run; the model is still epoch 1's. */
    record rec2 = {.m = m};
    o.user = &rec2;
    o.early_stop = 0;
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 0, (float[2]){0.01f, -0.02f}, 2));
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep));
    cr_expect_eq(rec2.nval, 10);
    cr_expect_eq(rep.epochs_run, 10);
    cr_expect(!vr.stopped_early);
    cr_expect_eq(vr.best_epoch, 1);
    clg_model_destroy(m);
    clg_dataset_destroy(val);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* validation_fraction: a stratified hold-out of the training data; the model trains on
 * the rest (steps per epoch from its size) and the validation accuracy is reported. */
Test(validation, fraction_holds_out_a_stratified_part)
{
    clg_context *ctx = test_context();
    const size_t counts[3] = {40, 40, 40};
    clg_dataset *ds = classes_data(ctx, counts, 3);
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 3, NULL));
    CLG_OK_OR_FAIL(ctx,
                   clg_dataset_standardize(ds, (float[2]){60.0f, 0.0f}, (float[2]){35.0f, 1.0f}));
    record rec = {.m = NULL};
    clg_fit_options o = clg_fit_defaults();
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.epochs = 20;
    o.batch_size = 8;
    o.optimizer.lr = 0.5f;
    o.on_epoch = NULL;
    o.on_validation = on_validation;
    o.user = &rec;
    o.validation_fraction = 0.25;
    clg_validation_result vr;
    o.validation_result = &vr;
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &o, NULL, &rep));
    cr_expect_eq(rep.steps, 20 * 12, "90 training rows in batches of 8: %zu steps", rep.steps);
    cr_expect_eq(rec.nval, 20);
    cr_expect(vr.best_accuracy >= 0.9, "validation accuracy %g", vr.best_accuracy);
    size_t best = 0;
    for (size_t i = 1; i < rec.nval; i++)
        if (rec.val[i] < rec.val[best]) best = i;
    cr_expect_eq(vr.best_epoch, best + 1);
    cr_expect_eq(vr.best_loss, rec.val[best]);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(validation, bad_options_are_refused)
{
    clg_context *ctx = test_context();
    static const float w[2] = {2.0f, -1.0f};
    clg_dataset *ds, *other;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 50, w, 2, 1.0f, 0.01f, 9, &ds));
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 1, 1.0f, 0.01f, 9, &other));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 1, NULL));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.early_stop = 2;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "early_stop needs validation data", "early_stop without validation");
    o.early_stop = 0;
    o.validation_fraction = 1.0;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "validation_fraction 1 is not in (0, 1)", "validation_fraction 1");
    o.validation_fraction = 0.2;
    o.validation = ds;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT, "not both",
                   "a validation set and a validation_fraction");
    o.validation_fraction = 0;
    o.validation = other;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_SHAPE,
                   "clg_fit (validation set): the model maps 2 inputs",
                   "a validation set with 1 feature for a 2-feature model");
    clg_model_destroy(m);
    clg_dataset_destroy(other);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* A cancel (or a divergence) after the best epoch: the model still ends on the best epoch's
 * parameters, and the message says which. Same data as above: the best epoch is the first. */
Test(validation, a_cancelled_fit_keeps_the_best_epoch)
{
    clg_context *ctx = test_context();
    clg_dataset *ds, *val;
    clg_model *m = zero_target_setup(ctx, &ds, &val);
    record rec = {.m = m, .cancel_at = 3};
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 10;
    o.optimizer.lr = 0.01f;
    o.on_epoch = on_epoch;
    o.on_validation = on_validation;
    o.user = &rec;
    o.validation = val;
    o.cancel = &rec.cancel;
    clg_validation_result vr;
    o.validation_result = &vr;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_CANCELLED,
                   "with validation, it holds the best epoch's instead: 1",
                   "clg_fit cancelled after the best validation epoch");
    cr_expect_eq(rec.nval, 3);
    cr_expect_eq(vr.best_epoch, 1);
    float now[4] = {0};
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, now, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, now + 2, 1));
    cr_expect(memcmp(now, rec.w[0], sizeof now) == 0, "the model is not epoch 1's");
    clg_model_destroy(m);
    clg_dataset_destroy(val);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
