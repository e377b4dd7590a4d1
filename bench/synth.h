/* Fashion-MNIST-shaped synthetic classes for the benches, like shared/anchors/
 * torch_softmax.py: X ~ N(0,1) n×d, labels = argmax(X·Wt + N(0,1)), Wt ~ N(0,1) d×q.
 * One fixed xorshift64* stream: every process that calls it gets the same data. */
#ifndef CLGRAD_BENCH_SYNTH_H
#define CLGRAD_BENCH_SYNTH_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "clgrad.h"

static uint64_t synth_rng = 0x853c49e6748fea9bULL;
static double synth_gauss(void) /* Box–Muller on xorshift64* */
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        synth_rng ^= synth_rng >> 12, synth_rng ^= synth_rng << 25, synth_rng ^= synth_rng >> 27;
        u[k] = ((synth_rng * 2685821657736338717ULL >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* X (n×d) and y (n) filled; 0, or -1 when out of memory. */
static int synth_classes(size_t n, size_t d, size_t q, float *X, int32_t *y)
{
    float *Wt = malloc(d * q * sizeof *Wt);
    double *z = malloc(q * sizeof *z);
    if (!Wt || !z) {
        free(Wt), free(z);
        return -1;
    }
    for (size_t i = 0; i < d * q; i++) Wt[i] = (float)synth_gauss();
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)synth_gauss();
        for (size_t c = 0; c < q; c++) z[c] = synth_gauss();
        for (size_t j = 0; j < d; j++)
            for (size_t c = 0; c < q; c++) z[c] += (double)X[i * d + j] * Wt[j * q + c];
        size_t best = 0;
        for (size_t c = 1; c < q; c++) best = z[c] > z[best] ? c : best;
        y[i] = (int32_t)best;
    }
    free(Wt), free(z);
    return 0;
}

/* The benches' arguments N D Q BATCH EPOCHS [HIDDEN] and the data they ask for: 0, 2 for a
 * usage error, 1 when out of memory. */
typedef struct synth_case {
    size_t n, d, q, batch, epochs, hidden;
    float *X;   /* n×d */
    int32_t *y; /* n class ids */
} synth_case;
static int synth_case_read(int argc, char **argv, synth_case *c)
{
    if (argc < 6) return 2;
    size_t v[6] = {0};
    for (int i = 1; i < argc && i <= 6; i++) v[i - 1] = strtoul(argv[i], NULL, 10);
    c->n = v[0], c->d = v[1], c->q = v[2], c->batch = v[3], c->epochs = v[4], c->hidden = v[5];
    c->X = malloc(c->n * c->d * sizeof *c->X);
    c->y = malloc(c->n * sizeof *c->y);
    return !c->X || !c->y || synth_classes(c->n, c->d, c->q, c->X, c->y) ? 1 : 0;
}

static double synth_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Softmax regression d → q, or with hidden > 0 Linear-ReLU-Linear. */
static clg_status synth_model(clg_context *ctx, size_t d, size_t q, size_t hidden, clg_model **m)
{
    clg_status s = clg_model_create(ctx, m);
    if (s == CLG_OK && hidden) {
        s = clg_model_add_linear(*m, d, hidden, NULL);
        if (s == CLG_OK) s = clg_model_add_relu(*m);
        d = hidden;
    }
    return s == CLG_OK ? clg_model_add_linear(*m, d, q, NULL) : s;
}

/* The benches' timing: a warm-up fit of one epoch on a model of its own (it builds every
 * program), then o's fit on a fresh model *net, timed alone (*seconds); before(user), when
 * given, runs just before the clock starts. */
static clg_status synth_timed_fit(clg_context *ctx, clg_dataset *ds, clg_fit_options o, size_t d,
                                  size_t q, size_t hidden, void (*before)(void *), void *user,
                                  clg_model **net, clg_fit_report *rep, double *seconds)
{
    clg_model *warm = NULL;
    const size_t epochs = o.epochs;
    o.epochs = 1;
    clg_status s = synth_model(ctx, d, q, hidden, &warm);
    if (s == CLG_OK) s = clg_fit(warm, ds, &o, NULL, NULL);
    clg_model_destroy(warm);
    if (s == CLG_OK) s = synth_model(ctx, d, q, hidden, net);
    if (s == CLG_OK) s = clg_context_finish(ctx);
    if (s != CLG_OK) return s;
    if (before) before(user);
    o.epochs = epochs;
    double t0 = synth_now();
    s = clg_fit(*net, ds, &o, NULL, rep);
    *seconds = synth_now() - t0;
    return s;
}
#endif
