/* Times softmax regression or an MLP on Fashion-MNIST-shaped synthetic data, like
 * shared/anchors/torch_softmax.py: X ~ N(0,1) n×d, labels = argmax(X·Wt + N(0,1)).
 * Usage: bench_classify N D Q BATCH EPOCHS [HIDDEN]   (HIDDEN > 0: Linear-ReLU-Linear)
 * lr 0.1, cross-entropy mean; program builds excluded by a warm-up epoch. As in the
 * torch references, the timed fit computes no per-epoch loss (epoch_loss = 0); the
 * accuracy on the training set is measured once, after it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clgrad.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng = 0x853c49e6748fea9bULL;
static double gauss(void) /* Box–Muller on xorshift64* */
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        u[k] = ((rng * 2685821657736338717ULL >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fprintf(stderr, "%s: %s: %s\n", #call, clg_status_string(s_), clg_last_error(ctx));    \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static clg_status build(clg_context *ctx, size_t d, size_t q, size_t hidden, clg_model **m)
{
    clg_status s = clg_model_create(ctx, m);
    if (s == CLG_OK && hidden) {
        s = clg_model_add_linear(*m, d, hidden, NULL);
        if (s == CLG_OK) s = clg_model_add_relu(*m);
        d = hidden;
    }
    return s == CLG_OK ? clg_model_add_linear(*m, d, q, NULL) : s;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_classify N D Q BATCH EPOCHS [HIDDEN]\n");
        return 2;
    }
    size_t n = strtoul(argv[1], NULL, 10), d = strtoul(argv[2], NULL, 10),
           q = strtoul(argv[3], NULL, 10);
    size_t bs = strtoul(argv[4], NULL, 10), epochs = strtoul(argv[5], NULL, 10);
    size_t hidden = argc > 6 ? strtoul(argv[6], NULL, 10) : 0;
    float *X = malloc(n * d * sizeof *X), *Wt = malloc(d * q * sizeof *Wt);
    int32_t *y = malloc(n * sizeof *y);
    double *z = malloc(q * sizeof *z);
    for (size_t i = 0; i < d * q; i++) Wt[i] = (float)gauss();
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)gauss();
        for (size_t c = 0; c < q; c++) z[c] = gauss();
        for (size_t j = 0; j < d; j++)
            for (size_t c = 0; c < q; c++) z[c] += (double)X[i * d + j] * Wt[j * q + c];
        size_t best = 0;
        for (size_t c = 1; c < q; c++) best = z[c] > z[best] ? c : best;
        y[i] = (int32_t)best;
    }
    clg_context *ctx = NULL;
    CHECK(clg_context_create(&ctx, NULL));
    clg_dataset *ds;
    CHECK(clg_dataset_from_host_labels(ctx, X, y, n, d, q, &ds));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epoch_loss = 0; /* like the torch references: accuracy once, after the timed fit */
    o.batch_size = bs;
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.optimizer.lr = 0.1f;
    clg_model *warm, *net;
    CHECK(build(ctx, d, q, hidden, &warm));
    o.epochs = 1;
    CHECK(clg_fit(warm, ds, &o, NULL, NULL));
    CHECK(build(ctx, d, q, hidden, &net));
    CHECK(clg_context_finish(ctx));
    o.epochs = epochs;
    clg_fit_report rep;
    double t0 = now_s();
    CHECK(clg_fit(net, ds, &o, NULL, &rep));
    double t = now_s() - t0;
    clg_eval_result res;
    CHECK(clg_evaluate(net, ds, CLG_LOSS_SOFTMAX_XENT, &res));
    printf("time_s %.3f acc %.4f loss %.5g samples_per_s %.0f us_per_step %.1f\n", t, res.accuracy,
           res.loss, (double)n * epochs / t, t * 1e6 / (double)rep.steps);
    clg_model_destroy(warm);
    clg_model_destroy(net);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    free(X), free(Wt), free(y), free(z);
    return 0;
}
