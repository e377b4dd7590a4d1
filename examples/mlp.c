/* An MLP (2 → 64 → 64 → 2, ReLU) on two interleaved spirals, which no linear
 * classifier separates: trained with clg_fit and softmax cross-entropy, then
 * compared with softmax regression (one Linear(2, 2)) on the same data. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "clgrad.h"

#define N 1000 /* points, half per spiral */
#define PI 3.14159265358979323846

/* Spiral k (0 or 1): radius t, angle 3πt + kπ for t in (0.1, 1], plus a little
 * jitter from a small LCG so the example needs nothing but clgrad. */
static void make_spirals(float *X, int32_t *labels)
{
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        int k = (int)(i & 1);
        double t = 0.1 + 0.9 * (double)(i / 2) / (N / 2 - 1);
        double a = 3.0 * PI * t + k * PI;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double jx = ((double)(s >> 40) / 16777216.0 - 0.5) * 0.04;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double jy = ((double)(s >> 40) / 16777216.0 - 0.5) * 0.04;
        X[2 * i] = (float)(t * cos(a) + jx);
        X[2 * i + 1] = (float)(t * sin(a) + jy);
        labels[i] = k;
    }
}

static clg_status train(clg_model *m, clg_dataset *ds, size_t epochs, float lr, int verbose,
                        clg_eval_result *res)
{
    clg_fit_options o = clg_fit_defaults();
    o.loss = CLG_LOSS_SOFTMAX_XENT; /* nn.CrossEntropyLoss(): mean over the batch */
    o.epochs = epochs;
    o.batch_size = 32;
    o.seed = 7;
    o.optimizer.lr = lr;
    o.optimizer.momentum = 0.9f;
    o.on_epoch = verbose ? clg_print_epoch : NULL;
    clg_status s = clg_fit(m, ds, &o, NULL, NULL);
    if (s == CLG_OK) s = clg_evaluate(m, ds, CLG_LOSS_SOFTMAX_XENT, res);
    return s;
}

int main(void)
{
    static float X[N * 2];
    static int32_t labels[N];
    make_spirals(X, labels);
    clg_context *ctx = NULL;
    clg_dataset *data = NULL;
    clg_model *mlp = NULL, *linear = NULL;
    clg_eval_result mr = {0}, lr = {0};
    clg_status s = clg_context_create(&ctx, NULL);
    if (s == CLG_OK) s = clg_dataset_from_host_labels(ctx, X, labels, N, 2, 2, &data);

    /* He-style initialisation: std ≈ sqrt(2 / fan_in). */
    clg_linear_init init = clg_linear_init_defaults();
    if (s == CLG_OK) s = clg_model_create(ctx, &mlp);
    init.weight_std = 1.0f;
    init.seed = 1;
    if (s == CLG_OK) s = clg_model_add_linear(mlp, 2, 64, &init);
    if (s == CLG_OK) s = clg_model_add_relu(mlp);
    init.weight_std = 0.18f;
    init.seed = 2;
    if (s == CLG_OK) s = clg_model_add_linear(mlp, 64, 64, &init);
    if (s == CLG_OK) s = clg_model_add_relu(mlp);
    init.seed = 3;
    if (s == CLG_OK) s = clg_model_add_linear(mlp, 64, 2, &init);
    if (s == CLG_OK) printf("MLP 2 -> 64 -> 64 -> 2 on two spirals (%d points)\n", N);
    if (s == CLG_OK) s = train(mlp, data, 60, 0.05f, 1, &mr);

    if (s == CLG_OK) s = clg_model_create(ctx, &linear);
    if (s == CLG_OK) s = clg_model_add_linear(linear, 2, 2, NULL);
    if (s == CLG_OK) s = train(linear, data, 60, 0.05f, 0, &lr);

    if (s == CLG_OK) {
        printf("MLP:                train loss %.4f, accuracy %.4f\n", mr.loss, mr.accuracy);
        printf("softmax regression: train loss %.4f, accuracy %.4f\n", lr.loss, lr.accuracy);
    } else {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(ctx));
    }
    clg_model_destroy(mlp);
    clg_model_destroy(linear);
    clg_dataset_destroy(data);
    clg_context_destroy(ctx);
    return s == CLG_OK ? 0 : 1;
}
