/* Classification data, splits, evaluation, prediction and fit with softmax
 * cross-entropy, against plain-C double references. */
#include "ref.h"

static clg_dataset *labelled(clg_context *ctx, const float *X, const int32_t *lab, size_t n,
                             size_t d, size_t C)
{
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, n, d, C, &ds));
    return ds;
}

Test(classify, from_host_labels_stores_float_ids_and_rejects_bad_input)
{
    clg_context *ctx = test_context();
    const float X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int32_t lab[4] = {0, 2, 1, 2};
    clg_dataset *ds = labelled(ctx, X, lab, 4, 2, 3);
    cr_expect_eq(clg_dataset_classes(ds), 3);
    cr_expect_eq(clg_dataset_size(ds), 4);
    cr_expect_eq(clg_dataset_features(ds), 2);
    cr_expect_eq(clg_dataset_targets(ds), 1, "labels are one float column");
    float Xd[8], Yd[4];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, Xd, Yd));
    for (size_t i = 0; i < 8; i++) cr_expect_eq(Xd[i], X[i], "X[%zu] copied exactly", i);
    for (size_t i = 0; i < 4; i++)
        cr_expect_eq(Yd[i], (float)lab[i], "label %zu stored exactly as a float", i);
    clg_dataset_destroy(ds);

    clg_dataset *regression;
    const float y[4] = {1, 2, 3, 4};
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, y, 4, 2, 1, &regression));
    cr_expect_eq(clg_dataset_classes(regression), 0, "a regression dataset has 0 classes");
    clg_dataset_destroy(regression);
    cr_expect_eq(clg_dataset_classes(NULL), 0);

    const char *msg = clg_last_error(ctx);
    clg_dataset *out = (clg_dataset *)1;
    const int32_t high[4] = {0, 1, 3, 0}, neg[4] = {0, -1, 1, 0};
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, high, 4, 2, 3, &out),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect_null(out, "no dataset on failure");
    cr_expect(strstr(msg, "row 2") && strstr(msg, "3"), "message names the row and label: %s", msg);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, neg, 4, 2, 3, &out),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "row 1") && strstr(msg, "-1"), "%s", msg);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, lab, 4, 2, 1, &out),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "classes"), "classes < 2 is explained: %s", msg);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, lab, 4, 2, 0, &out),
                 CLG_ERR_INVALID_ARGUMENT);
    float Xnan[8] = {0, 1, 2, 3, 4, NAN, 6, 7};
    cr_expect_eq(clg_dataset_from_host_labels(ctx, Xnan, lab, 4, 2, 3, &out), CLG_ERR_NONFINITE);
    cr_expect(strstr(msg, "row 2") && strstr(msg, "column 1"), "names row and column: %s", msg);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, NULL, 4, 2, 3, &out),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, lab, 0, 2, 3, &out), CLG_ERR_SHAPE);
    cr_expect_eq(clg_dataset_from_host_labels(ctx, X, lab, 4, 0, 3, &out), CLG_ERR_SHAPE);
    clg_context_destroy(ctx);
}

/* Row i of the source is (i, −2i) with label i % 5, so every row names itself. */
static clg_dataset *indexed(clg_context *ctx, size_t n)
{
    float *X = malloc(n * 2 * sizeof *X);
    int32_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = (float)i;
        X[2 * i + 1] = -2.0f * (float)i;
        lab[i] = (int32_t)(i % 5);
    }
    clg_dataset *ds = labelled(ctx, X, lab, n, 2, 5);
    free(X);
    free(lab);
    return ds;
}

/* Downloads a part and marks its rows in seen[]; returns the order of source rows. */
static size_t *check_part(clg_context *ctx, const clg_dataset *part, size_t n_src, int *seen)
{
    size_t n = clg_dataset_size(part);
    float *X = malloc(n * 2 * sizeof *X), *Y = malloc(n * sizeof *Y);
    size_t *rows = malloc(n * sizeof *rows);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(part, X, Y));
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)X[2 * r];
        cr_assert(i < n_src && X[2 * r] == (float)i, "row %zu holds a source row: %g", r,
                  (double)X[2 * r]);
        cr_assert_eq(X[2 * r + 1], -2.0f * (float)i, "row %zu keeps its columns together", r);
        cr_assert_eq(Y[r], (float)(i % 5), "row %zu keeps its label", r);
        seen[i]++;
        rows[r] = i;
    }
    free(X);
    free(Y);
    return rows;
}

Test(classify, split_sizes_disjoint_complete_and_reproducible)
{
    clg_context *ctx = test_context();
    const size_t n = 103;
    clg_dataset *ds = indexed(ctx, n), *train, *test, *train2, *test2, *train3, *test3;
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(ds, 0.25, 9, &train, &test));
    cr_expect_eq(clg_dataset_size(test), 26, "round(103 * 0.25) = 26 test samples");
    cr_expect_eq(clg_dataset_size(train), 77);
    cr_expect_eq(clg_dataset_classes(train), 5, "the split keeps the classes");
    cr_expect_eq(clg_dataset_classes(test), 5);
    cr_expect_eq(clg_dataset_features(test), 2);
    int *seen = calloc(n, sizeof *seen);
    size_t *a = check_part(ctx, train, n, seen), *b = check_part(ctx, test, n, seen);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(seen[i], 1, "source row %zu appears exactly once (got %d)", i, seen[i]);
    size_t in_place = 0;
    for (size_t r = 0; r < 77; r++) in_place += a[r] == r;
    cr_expect_lt(in_place, 20, "the split is shuffled (%zu of 77 train rows in place)", in_place);

    /* Same seed: the same parts; another seed: another order. */
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(ds, 0.25, 9, &train2, &test2));
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(ds, 0.25, 10, &train3, &test3));
    memset(seen, 0, n * sizeof *seen);
    size_t *a2 = check_part(ctx, train2, n, seen), *b2 = check_part(ctx, test2, n, seen);
    memset(seen, 0, n * sizeof *seen);
    size_t *a3 = check_part(ctx, train3, n, seen), *b3 = check_part(ctx, test3, n, seen);
    size_t differ = 0;
    for (size_t r = 0; r < 77; r++) {
        cr_expect_eq(a2[r], a[r], "seed 9 twice: train row %zu", r);
        differ += a3[r] != a[r];
    }
    for (size_t r = 0; r < 26; r++) cr_expect_eq(b2[r], b[r], "seed 9 twice: test row %zu", r);
    cr_expect_gt(differ, 50, "seed 10 gives another order (%zu of 77 rows differ)", differ);

    /* Errors: no part may be empty; fractions outside (0, 1). */
    clg_dataset *x = (clg_dataset *)1, *y = (clg_dataset *)1;
    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_dataset_split(ds, 0.0, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(x == NULL && y == NULL, "outputs are NULL on failure");
    cr_expect_eq(clg_dataset_split(ds, 1.0, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_dataset_split(ds, NAN, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_dataset_split(ds, 0.004, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "empty"), "explains the empty part: %s", msg);
    cr_expect_eq(clg_dataset_split(ds, 0.996, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_dataset_split(NULL, 0.5, 1, &x, &y), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_dataset_split(ds, 0.5, 1, &x, NULL), CLG_ERR_INVALID_ARGUMENT);

    /* A regression dataset splits too and stays regression. */
    const float w[2] = {1, 2};
    clg_dataset *reg, *rt, *rs;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 10, w, 2, 0.5f, 0.0f, 1, &reg));
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(reg, 0.3, 2, &rt, &rs));
    cr_expect_eq(clg_dataset_size(rs), 3);
    cr_expect_eq(clg_dataset_classes(rt), 0);
    float Xr[6], Yr[3];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(rs, Xr, Yr));
    for (size_t r = 0; r < 3; r++)
        EXPECT_CLOSE(Yr[r], Xr[2 * r] + 2.0 * Xr[2 * r + 1] + 0.5, 1e-5,
                     "noise-free regression rows keep y = Xw + b (tol 1e-5)");

    clg_dataset *all[] = {ds, train, test, train2, test2, train3, test3, reg, rt, rs};
    for (size_t i = 0; i < 10; i++) clg_dataset_destroy(all[i]);
    free(seen);
    free(a);
    free(b);
    free(a2);
    free(b2);
    free(a3);
    free(b3);
    clg_context_destroy(ctx);
}

/* Double forward of a Linear(d→C) softmax regression; returns accuracy and CE mean,
 * counting rows whose top two logits are within 1e-4 as ambiguous. */
static void ref_linear_eval(const float *X, const int32_t *lab, size_t n, size_t d, size_t C,
                            const float *W, const float *b, double *acc, double *loss,
                            size_t *ambiguous)
{
    size_t ok = 0;
    double sum = 0;
    double *z = malloc(C * sizeof *z);
    *ambiguous = 0;
    for (size_t i = 0; i < n; i++) {
        double m = -INFINITY, s = 0;
        size_t arg = 0;
        for (size_t c = 0; c < C; c++) {
            z[c] = b[c];
            for (size_t k = 0; k < d; k++) z[c] += (double)X[i * d + k] * W[k * C + c];
            if (z[c] > m) {
                m = z[c];
                arg = c;
            }
        }
        for (size_t c = 0; c < C; c++) {
            s += exp(z[c] - m);
            if (c != arg && m - z[c] < 1e-4) ++*ambiguous;
        }
        sum += log(s) + m - z[lab[i]];
        ok += (int32_t)arg == lab[i];
    }
    *acc = (double)ok / (double)n;
    *loss = sum / (double)n;
    free(z);
}

Test(classify, evaluate_matches_host_reference_over_several_chunks)
{
    clg_context *ctx = test_context();
    enum { N = 5000, D = 4, C = 6 }; /* more rows than one evaluation chunk (4096) */
    uint64_t seed = 31;
    float *X = ref_random(&seed, N * D, -2, 2), *W = ref_random(&seed, D * C, -1, 1);
    float *b = ref_random(&seed, C, -0.5f, 0.5f);
    int32_t *lab = malloc(N * sizeof *lab);
    for (size_t i = 0; i < N; i++) lab[i] = (int32_t)(ref_uniform(&seed, 0, C)) % C;
    clg_dataset *ds = labelled(ctx, X, lab, N, D, C);
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = W;
    init.bias = b;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, C, &init));
    clg_eval_result r;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, ds, CLG_LOSS_SOFTMAX_XENT, &r));
    double acc, loss;
    size_t amb;
    ref_linear_eval(X, lab, N, D, C, W, b, &acc, &loss, &amb);
    cr_expect_eq(r.n, N);
    char what[128];
    snprintf(what, sizeof what, "accuracy vs double argmax (tol (%zu near-ties + 0.5)/N)", amb);
    EXPECT_CLOSE(r.accuracy, acc, ((double)amb + 0.5) / N, what);
    cr_expect(acc > 0.05 && acc < 0.5, "the reference accuracy %g is a non-trivial count", acc);
    EXPECT_CLOSE(r.loss, loss, 1e-5 * loss, "CE mean per sample vs double (tol 1e-5 relative)");
    double l2;
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(m, ds, CLG_LOSS_SOFTMAX_XENT, &l2));
    cr_expect_eq(l2, r.loss, "clg_evaluate_loss is clg_evaluate's loss");

    /* Regression data: accuracy −1, loss as clg_evaluate_loss. */
    const float w[2] = {2, -3.4f};
    clg_dataset *reg;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 300, w, 2, 4.2f, 0.01f, 5, &reg));
    clg_model *lin;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &lin));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(lin, 2, 1, NULL));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(lin, reg, CLG_LOSS_MSE, &r));
    cr_expect_eq(r.accuracy, -1.0, "no accuracy for regression data");
    CLG_OK_OR_FAIL(ctx, clg_evaluate_loss(lin, reg, CLG_LOSS_MSE, &l2));
    cr_expect_eq(r.loss, l2);
    cr_expect_gt(r.loss, 1.0, "an untrained model has a large MSE (%g)", r.loss);

    /* Loss and data must agree. */
    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_evaluate(lin, reg, CLG_LOSS_SOFTMAX_XENT, &r), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "classification"), "CE on regression data is explained: %s", msg);
    cr_expect_eq(clg_evaluate(m, ds, CLG_LOSS_SQUARED, &r), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "SOFTMAX_XENT"), "squared loss on class ids is explained: %s", msg);
    cr_expect_eq(clg_evaluate(m, ds, CLG_LOSS_SOFTMAX_XENT, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_evaluate(m, reg, CLG_LOSS_MSE, &r), CLG_ERR_SHAPE);

    clg_model_destroy(m);
    clg_model_destroy(lin);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(reg);
    free(X);
    free(W);
    free(b);
    free(lab);
    clg_context_destroy(ctx);
}

Test(classify, predict_matches_host_forward)
{
    clg_context *ctx = test_context();
    enum { N = 4100, D = 3, H = 8, C = 5 }; /* two prediction chunks */
    uint64_t seed = 41;
    float *X = ref_random(&seed, N * D, -2, 2);
    float *W1 = ref_random(&seed, D * H, -1, 1), *b1 = ref_random(&seed, H, -0.3f, 0.3f);
    float *W2 = ref_random(&seed, H * C, -1, 1), *b2 = ref_random(&seed, C, -0.3f, 0.3f);
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init i1 = clg_linear_init_defaults(), i2 = clg_linear_init_defaults();
    i1.weight = W1;
    i1.bias = b1;
    i2.weight = W2;
    i2.bias = b2;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, H, &i1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, H, C, &i2));
    float *out = malloc(N * C * sizeof *out);
    for (size_t i = 0; i < N * C; i++) out[i] = SENTINEL;
    CLG_OK_OR_FAIL(ctx, clg_predict(m, X, N, out));
    char what[96];
    for (size_t i = 0; i < N; i++) {
        double h[H];
        for (size_t j = 0; j < H; j++) {
            double s = b1[j];
            for (size_t k = 0; k < D; k++) s += (double)X[i * D + k] * W1[k * H + j];
            h[j] = s > 0 ? s : 0;
        }
        for (size_t c = 0; c < C; c++) {
            double s = b2[c];
            for (size_t j = 0; j < H; j++) s += h[j] * W2[j * C + c];
            snprintf(what, sizeof what, "predict row %zu col %zu (tol 1e-5*(1+|y|))", i, c);
            EXPECT_CLOSE(out[i * C + c], s, 1e-5 * (1 + fabs(s)), what);
        }
    }
    /* One row works too, and predict leaves nothing to backpropagate. */
    float one[C];
    CLG_OK_OR_FAIL(ctx, clg_predict(m, X + 7 * D, 1, one));
    for (size_t c = 0; c < C; c++)
        cr_expect_eq(one[c], out[7 * C + c], "row 7 alone = row 7 in a batch");
    clg_tensor *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 1, C, &dY));
    cr_expect_eq(clg_model_backward(m, dY), CLG_ERR_STATE,
                 "no forward to differentiate after predict");
    clg_tensor_destroy(dY);

    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_predict(m, NULL, N, out), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_predict(m, X, 0, out), CLG_ERR_SHAPE);
    float bad[2 * D] = {0, 1, 2, 3, INFINITY, 5};
    cr_expect_eq(clg_predict(m, bad, 2, out), CLG_ERR_NONFINITE);
    cr_expect(strstr(msg, "row 1") && strstr(msg, "column 1"), "names row and column: %s", msg);
    clg_model_destroy(m);
    free(X);
    free(W1);
    free(b1);
    free(W2);
    free(b2);
    free(out);
    clg_context_destroy(ctx);
}

typedef struct losses {
    size_t count;
    double v[32];
} losses;
static void keep_loss(size_t epoch, double loss, void *user)
{
    losses *l = user;
    (void)epoch;
    if (l->count < 32) l->v[l->count++] = loss;
}

/* Three well separated Gaussian blobs: softmax regression separates them. */
Test(classify, fit_softmax_regression_on_separable_blobs)
{
    clg_context *ctx = test_context();
    enum { N = 600, C = 3 };
    const float centre[C][2] = {{-3, 0}, {3, 0}, {0, 4}};
    float X[N * 2];
    int32_t lab[N];
    float noise[N * 2];
    clg_philox_normal(8, 0, 0.6f, noise, N * 2);
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % C);
        X[2 * i] = centre[lab[i]][0] + noise[2 * i];
        X[2 * i + 1] = centre[lab[i]][1] + noise[2 * i + 1];
    }
    clg_dataset *ds = labelled(ctx, X, lab, N, 2, C), *train, *test;
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(ds, 0.2, 4, &train, &test));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, C, NULL));
    clg_fit_options o = clg_fit_defaults();
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.epochs = 5;
    o.batch_size = 16;
    o.optimizer.lr = 0.1f;
    losses seen = {0};
    o.on_epoch = keep_loss;
    o.user = &seen;
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, train, &o, NULL, &rep));
    cr_expect_eq(seen.count, 5);
    cr_expect_lt(seen.v[4], seen.v[0], "CE falls: %g then %g", seen.v[0], seen.v[4]);
    cr_expect_lt(seen.v[0], log(3.0), "after one epoch the CE is below chance log 3 (%g)",
                 seen.v[0]);
    clg_eval_result tr, te;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, train, CLG_LOSS_SOFTMAX_XENT, &tr));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, test, CLG_LOSS_SOFTMAX_XENT, &te));
    EXPECT_CLOSE(tr.loss, rep.final_loss, 1e-6 * tr.loss,
                 "fit reports the per-sample mean CE (tol 1e-6 relative)");
    cr_expect_gt(tr.accuracy, 0.98, "train accuracy %g > 0.98 on separable blobs", tr.accuracy);
    cr_expect_gt(te.accuracy, 0.97, "test accuracy %g > 0.97", te.accuracy);
    cr_expect_eq(te.n, 120);

    /* SUM reduction with grad_scale 1/|B| takes the same steps as MEAN. */
    clg_model *m2;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m2));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m2, 2, C, NULL));
    o.reduction = CLG_REDUCE_SUM;
    o.on_epoch = NULL;
    CLG_OK_OR_FAIL(ctx, clg_fit(m2, train, &o, NULL, NULL));
    float w1[2 * C], w2[2 * C];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, w1, 2 * C));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m2, 0, w2, 2 * C));
    for (size_t i = 0; i < 2 * C; i++)
        EXPECT_CLOSE(w2[i], w1[i], 1e-4 * (1 + fabs(w1[i])),
                     "SUM/|B| and MEAN agree (tol 1e-4 relative)");

    clg_model_destroy(m);
    clg_model_destroy(m2);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(train);
    clg_dataset_destroy(test);
    clg_context_destroy(ctx);
}

Test(classify, fit_rejects_mismatched_models_and_losses)
{
    clg_context *ctx = test_context();
    const float X[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int32_t lab[4] = {0, 1, 2, 1};
    clg_dataset *ds = labelled(ctx, X, lab, 4, 2, 3);
    clg_model *m2, *m3;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m2));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m2, 2, 2, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m3));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m3, 2, 3, NULL));
    clg_fit_options o = clg_fit_defaults();
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.on_epoch = NULL;
    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_fit(m2, ds, &o, NULL, NULL), CLG_ERR_SHAPE, "2 outputs for 3 classes");
    cr_expect(strstr(msg, "3 classes") && strstr(msg, "2 outputs"), "%s", msg);
    o.loss = CLG_LOSS_SQUARED;
    cr_expect_eq(clg_fit(m3, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                 "squared loss on class ids");
    cr_expect(strstr(msg, "SOFTMAX_XENT"), "%s", msg);
    o.loss = (clg_loss_kind)9;
    cr_expect_eq(clg_fit(m3, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    const float y[4] = {1, 2, 3, 4};
    clg_dataset *reg;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, y, 4, 2, 1, &reg));
    clg_model *m1;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m1, 2, 1, NULL));
    o.loss = CLG_LOSS_MSE;
    cr_expect_eq(clg_fit(m1, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                 "a regression loss on class ids is the wrong loss, whatever the model's outputs");
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    cr_expect_eq(clg_fit(m1, reg, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                 "CE on regression data");
    cr_expect(strstr(msg, "classification"), "%s", msg);

    /* A class id out of range in device data (written behind the API's back):
     * the row's loss is NaN, so fit stops with CLG_ERR_NONFINITE. */
    const float bad_ids[4] = {0, 1, 3, 1};
    CLG_OK_OR_FAIL(ctx, clg_tensor_upload(ds->Y, bad_ids, 4, 1));
    clg_fit_report rep;
    cr_expect_eq(clg_fit(m3, ds, &o, NULL, &rep), CLG_ERR_NONFINITE);
    cr_expect(isnan(rep.final_loss), "the reported loss is NaN, got %g", rep.final_loss);
    clg_model_destroy(m1);
    clg_model_destroy(m2);
    clg_model_destroy(m3);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(reg);
    clg_context_destroy(ctx);
}
