/* Multilayer perceptrons with softmax cross-entropy: gradients through
 * Linear→ReLU→Linear against double backprop and finite differences, and an
 * MLP learning a task a linear classifier cannot. */
#include "ref.h"

enum { D = 3, H = 5, K = 4, NB = 6 }; /* inputs, hidden units, classes, batch */

typedef struct mlp_ref {
    double W1[D * H], b1[H], W2[H * K], b2[K];
} mlp_ref;

/* Mean CE of the double MLP on X (NB×D), labels t; hidden pre-activations to pre
 * (NB×H) when not NULL; gradients into g when not NULL. */
static double ref_mlp(const mlp_ref *p, const float *X, const float *t, double *pre, mlp_ref *g)
{
    double a[NB * H], h[NB * H], z[NB * K], dz[NB * K], loss = 0;
    for (size_t i = 0; i < NB; i++) {
        for (size_t j = 0; j < H; j++) {
            double s = p->b1[j];
            for (size_t k = 0; k < D; k++) s += (double)X[i * D + k] * p->W1[k * H + j];
            a[i * H + j] = s;
            h[i * H + j] = s > 0 ? s : 0;
        }
        double m = -INFINITY, se = 0;
        for (size_t c = 0; c < K; c++) {
            double s = p->b2[c];
            for (size_t j = 0; j < H; j++) s += h[i * H + j] * p->W2[j * K + c];
            z[i * K + c] = s;
            m = fmax(m, s);
        }
        for (size_t c = 0; c < K; c++) se += exp(z[i * K + c] - m);
        size_t lab = (size_t)t[i];
        loss += log(se) + m - z[i * K + lab];
        for (size_t c = 0; c < K; c++)
            dz[i * K + c] = (exp(z[i * K + c] - m) / se - (c == lab)) / NB;
    }
    if (pre) memcpy(pre, a, sizeof a);
    if (g) {
        memset(g, 0, sizeof *g);
        for (size_t i = 0; i < NB; i++) {
            double dh[H];
            for (size_t c = 0; c < K; c++) g->b2[c] += dz[i * K + c];
            for (size_t j = 0; j < H; j++) {
                dh[j] = 0;
                for (size_t c = 0; c < K; c++) {
                    g->W2[j * K + c] += h[i * H + j] * dz[i * K + c];
                    dh[j] += p->W2[j * K + c] * dz[i * K + c];
                }
                double da = a[i * H + j] > 0 ? dh[j] : 0;
                g->b1[j] += da;
                for (size_t k = 0; k < D; k++) g->W1[k * H + j] += (double)X[i * D + k] * da;
            }
        }
    }
    return loss / NB;
}

static double *ref_param(mlp_ref *p, size_t index)
{
    double *ptr[4] = {p->W1, p->b1, p->W2, p->b2};
    return ptr[index];
}

Test(mlp, gradients_match_double_backprop_and_finite_differences)
{
    clg_context *ctx = test_context();
    uint64_t seed = 5;
    float *W1 = ref_random(&seed, D * H, -1, 1), *b1 = ref_random(&seed, H, -0.5f, 0.5f);
    float *W2 = ref_random(&seed, H * K, -1, 1), *b2 = ref_random(&seed, K, -0.5f, 0.5f);
    float *X = ref_random(&seed, NB * D, -2, 2), t[NB];
    for (size_t i = 0; i < NB; i++) t[i] = (float)(i % K);
    float *host[4] = {W1, b1, W2, b2};
    const size_t count[4] = {D * H, H, H * K, K};
    mlp_ref p;
    for (size_t q = 0; q < 4; q++)
        for (size_t i = 0; i < count[q]; i++) ref_param(&p, q)[i] = host[q][i];

    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init i1 = clg_linear_init_defaults(), i2 = clg_linear_init_defaults();
    i1.weight = W1;
    i1.bias = b1;
    i2.weight = W2;
    i2.bias = b2;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, H, &i1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, H, K, &i2));
    cr_assert_eq(clg_model_param_count(m), 4);
    clg_tensor *tx, *tt, *dY, *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, NB, D, &tx));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, t, NB, 1, &tt));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, NB, K, &dY));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));

    const clg_tensor *pred;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, one));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, dY));
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, dY));
    mlp_ref g;
    double pre0[NB * H];
    double loss_ref = ref_mlp(&p, X, t, pre0, &g);
    float loss;
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &loss, 1, 1));
    EXPECT_CLOSE(loss, loss_ref, 1e-5 * (1 + loss_ref), "MLP CE mean (tol 1e-5*(1+l))");
    size_t active = 0;
    for (size_t i = 0; i < NB * H; i++) active += pre0[i] > 0;
    cr_assert(active > 3 && active < NB * H - 3,
              "both sides of the ReLU must be exercised (%zu of %d active)", active, NB * H);

    char what[128];
    const float eps = 1e-2f;
    size_t checked = 0, skipped = 0;
    for (size_t q = 0; q < 4; q++) {
        float dev[D * H > H * K ? D * H : H * K];
        CLG_OK_OR_FAIL(ctx, clg_model_get_grad(m, q, dev, count[q]));
        for (size_t i = 0; i < count[q]; i++) {
            double want = ref_param(&g, q)[i];
            snprintf(what, sizeof what, "param %zu [%zu] vs double backprop (tol 2e-5 + 1e-4*|g|)",
                     q, i);
            EXPECT_CLOSE(dev[i], want, 2e-5 + 1e-4 * fabs(want), what);
        }
        /* Finite differences of the device loss, skipping points where a hidden
         * pre-activation changes sign inside [p − eps, p + eps] (the ReLU kink). */
        for (size_t i = 0; i < count[q]; i++) {
            double keep = ref_param(&p, q)[i];
            double pre_p[NB * H], pre_m[NB * H];
            ref_param(&p, q)[i] = keep + eps;
            double lp_ref = ref_mlp(&p, X, t, pre_p, NULL);
            ref_param(&p, q)[i] = keep - eps;
            double lm_ref = ref_mlp(&p, X, t, pre_m, NULL);
            ref_param(&p, q)[i] = keep;
            int kink = 0;
            for (size_t k = 0; k < NB * H; k++)
                kink |= (pre_p[k] > 0) != (pre_m[k] > 0) || (pre0[k] > 0) != (pre_p[k] > 0);
            if (kink) {
                skipped++;
                continue;
            }
            float lp, lm;
            float *v = host[q];
            v[i] = (float)keep + eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, q, v, count[q]));
            CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
            CLG_OK_OR_FAIL(
                ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lp, 1, 1));
            v[i] = (float)keep - eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, q, v, count[q]));
            CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
            CLG_OK_OR_FAIL(
                ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lm, 1, 1));
            v[i] = (float)keep;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, q, v, count[q]));
            double fd = ((double)lp - lm) / (2.0 * eps);
            double fd_ref = (lp_ref - lm_ref) / (2.0 * eps);
            /* Device FD: float loss rounding ~1e-7/eps plus truncation O(eps²):
             * tol 5e-4 + 1e-2·|g|. Double FD: truncation only: tol 1e-4 + 1e-3·|g|. */
            snprintf(what, sizeof what,
                     "param %zu [%zu]: device grad vs device FD (tol 5e-4 + 1e-2*|g|)", q, i);
            EXPECT_CLOSE(dev[i], fd, 5e-4 + 1e-2 * fabs(fd), what);
            snprintf(what, sizeof what,
                     "param %zu [%zu]: device grad vs double FD (tol 1e-4 + 1e-3*|g|)", q, i);
            EXPECT_CLOSE(dev[i], fd_ref, 1e-4 + 1e-3 * fabs(fd_ref), what);
            checked++;
        }
    }
    cr_expect_gt(checked, 30, "most parameters must be FD-checked (%zu checked, %zu at kinks)",
                 checked, skipped);
    clg_tensor_destroy(tx);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(dY);
    clg_tensor_destroy(one);
    clg_model_destroy(m);
    free(W1);
    free(b1);
    free(W2);
    free(b2);
    free(X);
    clg_context_destroy(ctx);
}

/* Two concentric rings: class 0 at radius in [0, 1], class 1 in [1.3, 1.8], each
 * point with its mirror (−x, −y). The CE optimum of a linear model is then near
 * w = 0 (chance); even the best half-plane scores only about 0.5 + arccos(1/1.55)/2π
 * ≈ 0.64. Fit seeds 0, 1, 3, 7, 11 gave softmax regression 0.48–0.58 here. */
static void make_rings(size_t n, float *X, int32_t *labels)
{
    uint64_t seed = 2024;
    for (size_t i = 0; i < n; i += 2) {
        int c = (int)((i / 2) % 2);
        float r = c ? ref_uniform(&seed, 1.3f, 1.8f) : ref_uniform(&seed, 0.0f, 1.0f);
        float a = ref_uniform(&seed, 0.0f, 6.2831853f);
        X[2 * i] = r * cosf(a);
        X[2 * i + 1] = r * sinf(a);
        X[2 * i + 2] = -X[2 * i];
        X[2 * i + 3] = -X[2 * i + 1];
        labels[i] = labels[i + 1] = c;
    }
}

/* Accuracy of m on host rows from clg_predict and a host argmax (first maximum). */
static double host_accuracy(clg_context *ctx, clg_model *m, const float *X, const int32_t *lab,
                            size_t n, size_t C)
{
    float *out = malloc(n * C * sizeof *out);
    CLG_OK_OR_FAIL(ctx, clg_predict(m, X, n, out));
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        size_t arg = 0;
        for (size_t j = 1; j < C; j++)
            if (out[i * C + j] > out[i * C + arg]) arg = j;
        ok += (int32_t)arg == lab[i];
    }
    free(out);
    return (double)ok / (double)n;
}

Test(mlp, learns_rings_where_softmax_regression_cannot, .timeout = 120)
{
    clg_context *ctx = test_context();
    enum { N = 800 };
    float *X = malloc(N * 2 * sizeof *X);
    int32_t *lab = malloc(N * sizeof *lab);
    make_rings(N, X, lab);
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, N, 2, 2, &ds));

    clg_fit_options o = clg_fit_defaults();
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.on_epoch = NULL;
    o.epochs = 40;
    o.batch_size = 32;
    o.seed = 3;
    o.optimizer.lr = 0.05f;
    o.optimizer.momentum = 0.9f;

    /* MLP 2 → 32 → 32 → 2, He-like initialisation. */
    clg_model *mlp;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &mlp));
    clg_linear_init init = clg_linear_init_defaults();
    init.weight_std = 1.0f;
    init.seed = 1;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(mlp, 2, 32, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(mlp));
    init.weight_std = 0.25f;
    init.seed = 2;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(mlp, 32, 32, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(mlp));
    init.seed = 3;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(mlp, 32, 2, &init));
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(mlp, ds, &o, NULL, &rep));
    clg_eval_result ev;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(mlp, ds, CLG_LOSS_SOFTMAX_XENT, &ev));
    cr_expect_gt(ev.accuracy, 0.95, "MLP training accuracy %.4f must exceed 0.95 (loss %.4f)",
                 ev.accuracy, ev.loss);
    EXPECT_CLOSE(ev.loss, rep.final_loss, 1e-6 * (1 + ev.loss),
                 "evaluate repeats fit's last loss (tol 1e-6 relative)");
    double host_acc = host_accuracy(ctx, mlp, X, lab, N, 2);
    EXPECT_CLOSE(
        ev.accuracy, host_acc, 0.5 / N,
        "device accuracy equals the host argmax of clg_predict (exact: tol half a sample)");

    /* Softmax regression, same data and schedule. */
    clg_model *lin;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &lin));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(lin, 2, 2, NULL));
    CLG_OK_OR_FAIL(ctx, clg_fit(lin, ds, &o, NULL, NULL));
    clg_eval_result lev;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(lin, ds, CLG_LOSS_SOFTMAX_XENT, &lev));
    cr_expect_lt(lev.accuracy, 0.65,
                 "softmax regression must stay near chance (< 0.65) on rings, got %.4f",
                 lev.accuracy);
    cr_expect_gt(lev.loss, 0.6, "its CE stays near log 2 = 0.693 (> 0.6), got %.4f", lev.loss);
    cr_expect_lt(ev.loss, 0.2, "the MLP's CE must fall well below log 2 (< 0.2), got %.4f",
                 ev.loss);

    clg_model_destroy(mlp);
    clg_model_destroy(lin);
    clg_dataset_destroy(ds);
    free(X);
    free(lab);
    clg_context_destroy(ctx);
}
