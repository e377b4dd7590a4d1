/* Times d2l linear regression on the default device, like
 * shared/anchors/torch_linreg.py: true w = [2, -3.4, 0.5, ...], b = 4.2, lr 0.03.
 * Usage: bench_linreg scratch|concise N D BATCH EPOCHS [FITS]
 * scratch: squared loss summed, p -= lr·grad/|B|; concise: MSE mean, lr. FITS > 1: the
 * timed fit runs FITS times, each on a fresh model, and the median counts (a fit of a few
 * ms varies 2-3x between single runs on a shared host; bench/py_fit.py --fits likewise).
 * Program builds are excluded (a warm-up fit runs first); data generation too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clgrad.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fprintf(stderr, "%s: %s: %s\n", #call, clg_status_string(s_), clg_last_error(ctx));    \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_linreg scratch|concise N D BATCH EPOCHS [FITS]\n");
        return 2;
    }
    size_t fits = argc == 7 ? strtoul(argv[6], NULL, 10) : 1;
    if (fits < 1 || fits > 10000) fits = 1;
    int concise = !strcmp(argv[1], "concise");
    size_t n = strtoul(argv[2], NULL, 10), d = strtoul(argv[3], NULL, 10);
    size_t bs = strtoul(argv[4], NULL, 10), epochs = strtoul(argv[5], NULL, 10);
    float *w = malloc(d * sizeof *w), *learned = malloc(d * sizeof *learned), b;
    for (size_t j = 0; j < d; j++) w[j] = j == 0 ? 2.0f : j == 1 ? -3.4f : 0.5f;

    clg_context *ctx = NULL;
    CHECK(clg_context_create(&ctx, NULL));
    clg_dataset *ds;
    CHECK(clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 0.01f, 0, &ds));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.batch_size = bs;
    o.optimizer.lr = 0.03f;
    o.loss = concise ? CLG_LOSS_MSE : CLG_LOSS_SQUARED;
    o.reduction = concise ? CLG_REDUCE_MEAN : CLG_REDUCE_SUM;

    clg_model *warm, *net;
    CHECK(clg_model_create(ctx, &warm));
    CHECK(clg_model_add_linear(warm, d, 1, NULL));
    o.epochs = 1;
    CHECK(clg_fit(warm, ds, &o, NULL, NULL)); /* builds every program */
    CHECK(clg_model_create(ctx, &net));
    CHECK(clg_model_add_linear(net, d, 1, NULL));
    CHECK(clg_context_finish(ctx));

    o.epochs = epochs;
    clg_fit_report rep;
    double *times = malloc(fits * sizeof *times);
    for (size_t k = 0; k < fits; k++) {
        if (k) { /* a fresh model, made outside the timing */
            clg_model_destroy(net);
            CHECK(clg_model_create(ctx, &net));
            CHECK(clg_model_add_linear(net, d, 1, NULL));
            CHECK(clg_context_finish(ctx));
        }
        double t0 = now_s();
        CHECK(clg_fit(net, ds, &o, NULL, &rep));
        times[k] = now_s() - t0;
    }
    qsort(times, fits, sizeof *times, cmp_double);
    double t = times[fits / 2];
    free(times);

    CHECK(clg_model_get_param(net, 0, learned, d));
    CHECK(clg_model_get_param(net, 1, &b, 1));
    double werr = 0;
    for (size_t j = 0; j < d; j++) werr = fmax(werr, fabs(learned[j] - w[j]));
    double loss =
        concise ? rep.final_loss / 2 : rep.final_loss; /* report (ŷ−y)²/2 like the anchor */
    printf("time_s %.4f loss %.6g werr %.4g berr %.4g steps %zu us_per_step %.2f\n", t, loss, werr,
           fabs(b - 4.2), rep.steps, t * 1e6 / (double)rep.steps);
    clg_model_destroy(warm);
    clg_model_destroy(net);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    free(w);
    free(learned);
    return 0;
}
