/* Data-parallel clg_fit over MPI (docs/distributed.md), run by ctest under
 * `mpirun --oversubscribe -np P` for P = 1, 2, 3 on the default device. A plain MPI
 * program (Criterion forks, which MPI does not survive); every rank checks, and the
 * exit status is 1 when any check failed on any rank.
 *  - Same mathematics as one process: for each setup (squared loss summed, MSE mean with
 *    momentum and weight decay, an MLP with Adam on class ids, a host-streamed and a
 *    file-streamed dataset, a validation fraction), n is chosen so that the last global
 *    batch is partial and, for P = 2 and 3, some ranks' share of it is empty. The
 *    parameters after training agree with a one-process fit at the same global batch within
 *    1e-5 (relative to max(1, |p|)), the per-epoch losses within 1e-4 relative (a float sum
 *    of about 1000 per-element losses, grouped otherwise), and every rank holds the same
 *    bits.
 *  - Failure: a rank with other data, a rank whose arguments are wrong, a rank cancelled
 *    in its second epoch, a rank whose device fails mid-epoch (faults/cl_faults.c): every
 *    rank returns within seconds, the failing one with its own status and message, the
 *    others with CLG_ERR_COMM (or CLG_ERR_CANCELLED) naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clgrad_mpi.h"
#include "faults/cl_faults.h"

static int rank, size, failures, checks;
static clg_context *ctx;
static clg_comm *comm;

/* EXPECT is cr_expect for an MPI program: a failed expectation prints its rank and line and
 * counts; main sums the failures over the ranks and exits 1 (ctest: failed) when any
 * rank had one. EXPECT_OK expects CLG_OK and leaves the function otherwise. */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "test_dist: rank %d of %d: line %d: ", rank, size, __LINE__);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define EXPECT_OK(call)                                                                            \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        EXPECT(s_ == CLG_OK, "%s: %s: %s", #call, clg_status_string(s_), clg_last_error(ctx));     \
        if (s_ != CLG_OK) return;                                                                  \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ data */

static uint64_t rng_state;
static double gauss(void)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
        u[k] = ((rng_state * 2685821657736338717ULL >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* n rows of 3 blobs in d dimensions; labels as int32 and as float. */
static void blobs(size_t n, size_t d, float *X, int32_t *y)
{
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(gauss() + (j % 3 == (size_t)y[i]));
    }
}

/* ------------------------------------------------------------------ setups */

/* FILE_SHARD: each rank opens only its part of the .npy files (clg_stream_options.parts) */
typedef enum data_kind { DEVICE, HOST_STREAMED, FILE_STREAMED, FILE_SHARD } data_kind;

typedef struct setup {
    const char *name;
    size_t n, batch, epochs;
    int classify, hidden; /* hidden > 0: Linear-ReLU-Linear */
    clg_loss_kind loss;
    clg_reduction reduction;
    clg_optimizer_options opt;
    data_kind data;
    double val_fraction;
    size_t every;   /* average_every: 0 for the gradient sum */
    int no_shuffle; /* file order (the averaging reference walks it) */
} setup;

#define MAX_EPOCHS 4
typedef struct run {
    double losses[MAX_EPOCHS + 1];
    size_t epochs;
    float params[4][64];
    size_t counts[4], nparams;
} run;

static void on_epoch(size_t epoch, double loss, void *user)
{
    run *r = user;
    if (epoch <= MAX_EPOCHS) r->losses[epoch] = loss;
    r->epochs = epoch;
}

static char npy_dir[64];

static void write_npy(const char *path, const char *descr, size_t rows, size_t cols,
                      const void *data, size_t bytes)
{
    char hdr[128];
    int len = cols ? snprintf(hdr, sizeof hdr,
                              "{'descr': '%s', 'fortran_order': False, "
                              "'shape': (%zu, %zu), }",
                              descr, rows, cols)
                   : snprintf(hdr, sizeof hdr,
                              "{'descr': '%s', 'fortran_order': False, "
                              "'shape': (%zu,), }",
                              descr, rows);
    int pad = 64 - (10 + len + 1) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hl, 2, 1, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, bytes, f);
    fclose(f);
}

/* Blobs, their labels and a regression target (a linear map plus noise). */
static void make_arrays(size_t n, size_t d, float *X, int32_t *y, float *t)
{
    blobs(n, d, X, y);
    for (size_t i = 0; i < n; i++)
        t[i] = 2.0f * X[i * d] - 3.4f * X[i * d + 1] + 4.2f + 0.01f * (float)gauss();
}

static clg_status make_data(const setup *su, size_t d, const clg_comm *c, clg_dataset **out)
{
    float *X = malloc(su->n * d * sizeof *X);
    int32_t *y = malloc(su->n * sizeof *y);
    float *t = malloc(su->n * sizeof *t);
    clg_status s = CLG_ERR_HOST_MEMORY;
    if (X && y && t) {
        make_arrays(su->n, d, X, y, t);
        if (su->data == FILE_STREAMED || su->data == FILE_SHARD) {
            char xp[96], yp[96];
            snprintf(xp, sizeof xp, "%s/X.npy", npy_dir);
            snprintf(yp, sizeof yp, "%s/y.npy", npy_dir);
            write_npy(xp, "<f4", su->n, d, X, su->n * d * sizeof *X);
            if (su->classify)
                write_npy(yp, "<i4", su->n, 0, y, su->n * sizeof *y);
            else
                write_npy(yp, "<f4", su->n, 0, t, su->n * sizeof *t);
            clg_stream_options so = clg_stream_defaults();
            so.chunk_rows = 97; /* chunks that do not line up with the batches */
            if (su->data == FILE_SHARD && c) {
                so.part = (size_t)c->rank;
                so.parts = (size_t)c->size;
                so.classes = su->classify ? 3 : 0; /* a shard might lack the largest id */
            }
            s = clg_dataset_stream_npy(ctx, xp, yp, su->classify, &so, out);
        } else if (su->classify) {
            s = clg_dataset_from_host_labels(ctx, X, y, su->n, d, 3, out);
        } else {
            s = clg_dataset_from_host(ctx, X, t, su->n, d, 1, out);
        }
        if (s == CLG_OK && su->data == HOST_STREAMED) s = clg_dataset_set_streaming(*out, 1);
    }
    free(X), free(y), free(t);
    return s;
}

static clg_status make_model(const setup *su, size_t d, clg_model **m)
{
    clg_status s = clg_model_create(ctx, m);
    size_t q = su->classify ? 3 : 1;
    if (s == CLG_OK && su->hidden) {
        clg_linear_init li = clg_linear_init_defaults();
        li.kind = CLG_INIT_KAIMING_UNIFORM;
        li.seed = 7;
        s = clg_model_add_linear(*m, d, (size_t)su->hidden, &li);
        if (s == CLG_OK) s = clg_model_add_relu(*m);
        d = (size_t)su->hidden;
    }
    return s == CLG_OK ? clg_model_add_linear(*m, d, q, NULL) : s;
}

static clg_status train(const setup *su, const clg_comm *c, run *r)
{
    const size_t d = 4;
    clg_dataset *ds = NULL;
    clg_model *m = NULL;
    memset(r, 0, sizeof *r);
    clg_status s = make_data(su, d, c, &ds);
    if (s == CLG_OK) s = make_model(su, d, &m);
    clg_fit_options o = clg_fit_defaults();
    o.epochs = su->epochs;
    o.batch_size = su->batch;
    o.seed = 11;
    o.loss = su->loss;
    o.reduction = su->reduction;
    o.optimizer = su->opt;
    o.on_epoch = on_epoch;
    o.on_validation = NULL;
    o.user = r;
    o.validation_fraction = su->val_fraction;
    o.comm = c;
    o.average_every = c ? su->every : 0;
    o.shuffle = !su->no_shuffle;
    if (s == CLG_OK) s = clg_fit(m, ds, &o, NULL, NULL);
    r->nparams = s == CLG_OK ? clg_model_param_count(m) : 0;
    for (size_t i = 0; i < r->nparams && s == CLG_OK; i++) {
        clg_param_info pi;
        s = clg_model_param_info(m, i, &pi);
        r->counts[i] = pi.rows * pi.cols;
        if (s == CLG_OK && r->counts[i] <= 64)
            s = clg_model_get_param(m, i, r->params[i], r->counts[i]);
    }
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    return s;
}

/* The largest parameter difference of a to b, relative to max(1, |b|). */
static double max_difference(const run *a, const run *b)
{
    double worst = 0;
    for (size_t i = 0; i < b->nparams; i++)
        for (size_t k = 0; k < b->counts[i] && k < 64; k++)
            worst = fmax(worst, fabs((double)a->params[i][k] - b->params[i][k]) /
                                    fmax(1.0, fabs(b->params[i][k])));
    return worst;
}

/* Every rank holds the same parameter bits: a hash's minimum and maximum over the ranks
 * agree (a collective). */
static int same_on_every_rank(const run *r)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < r->nparams; i++)
        for (size_t k = 0; k < r->counts[i] && k < 64; k++) {
            uint32_t bits;
            memcpy(&bits, &r->params[i][k], sizeof bits);
            h = (h ^ bits) * 1099511628211ULL;
        }
    unsigned long long lo = h, hi = h;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

static void same_math(const setup *su)
{
    run one, many;
    EXPECT_OK(train(su, NULL, &one));
    EXPECT_OK(train(su, comm, &many));
    EXPECT(many.epochs == su->epochs && one.epochs == su->epochs, "%s: epochs %zu and %zu",
           su->name, many.epochs, one.epochs);
    for (size_t e = 1; e <= su->epochs && e <= MAX_EPOCHS; e++)
        EXPECT(fabs(many.losses[e] - one.losses[e]) <= 1e-4 * fabs(one.losses[e]),
               "%s: epoch %zu loss %.9g with P=%d, %.9g in one process", su->name, e,
               many.losses[e], size, one.losses[e]);
    const double worst = max_difference(&many, &one);
    EXPECT(worst <= 1e-5, "%s: parameters differ from one process's by %.3g", su->name, worst);
    EXPECT(same_on_every_rank(&many), "%s: the ranks' parameters differ", su->name);
    if (rank == 0)
        printf("test_dist: P=%d %-34s max parameter difference to one process %.2g\n", size,
               su->name, worst);
}

/* The loss a distributed fit reported, lp, is the whole set's: its model evaluated in one
 * process on all rows gives it within 1e-5 relative. */
static void reported_loss_is_all_rows(const setup *su, const run *r, double lp)
{
    clg_dataset *all = NULL;
    clg_model *m = NULL;
    clg_eval_result ev;
    clg_status s = make_data(su, 4, NULL, &all);
    if (s == CLG_OK) s = make_model(su, 4, &m);
    for (size_t i = 0; s == CLG_OK && i < r->nparams; i++)
        s = clg_model_set_param(m, i, r->params[i], r->counts[i]);
    if (s == CLG_OK) s = clg_evaluate(m, all, su->loss, &ev);
    EXPECT(s == CLG_OK, "%s: evaluating on all rows: %s", su->name, clg_status_string(s));
    if (s == CLG_OK)
        EXPECT(fabs(ev.loss - lp) <= 1e-5 * lp,
               "%s: reported loss %.9g, the model's over all rows %.9g", su->name, lp, ev.loss);
    clg_model_destroy(m);
    clg_dataset_destroy(all);
}

/* Shards: each rank reads rows [N·r/P, N·(r+1)/P) of the files and trains on its shard's
 * batches of its share of the global batch. Not one process's order (but for P = 1, where
 * it is), so: every rank the same bits; the epoch losses reported are the whole file's
 * (the final one equals the model's loss over all rows, evaluated in one process, within
 * 1e-5 relative); the fit learns (its final loss within 5% + 0.002 of one process's: the
 * regression starts near 10 and ends near its noise, where orders differ by 1e-3). */
static void sharded(const setup *su)
{
    run one, many;
    EXPECT_OK(train(su, NULL, &one));
    EXPECT_OK(train(su, comm, &many));
    const double l1 = one.losses[su->epochs], lp = many.losses[su->epochs];
    EXPECT(many.epochs == su->epochs, "%s: %zu epochs", su->name, many.epochs);
    EXPECT(fabs(lp - l1) <= 0.05 * l1 + 2e-3,
           "%s: final loss %.6g with P=%d shards, %.6g in one process", su->name, lp, size, l1);
    reported_loss_is_all_rows(su, &many, lp);
    size_t part = 9, rows = 0, parts = 0;
    clg_dataset *shard = NULL;
    clg_stream_options so = clg_stream_defaults();
    so.part = (size_t)rank, so.parts = (size_t)size, so.classes = su->classify ? 3 : 0;
    char xp[96], yp[96];
    snprintf(xp, sizeof xp, "%s/X.npy", npy_dir);
    snprintf(yp, sizeof yp, "%s/y.npy", npy_dir);
    EXPECT_OK(clg_dataset_stream_npy(ctx, xp, yp, su->classify, &so, &shard));
    parts = clg_dataset_parts(shard, &part, &rows);
    const size_t lo = su->n * (size_t)rank / (size_t)size;
    const size_t hi = su->n * ((size_t)rank + 1) / (size_t)size;
    EXPECT(parts == (size_t)size && part == (size_t)rank && rows == su->n &&
               clg_dataset_size(shard) == hi - lo,
           "%s: the shard says part %zu of %zu of %zu rows, holding %zu", su->name, part, parts,
           rows, clg_dataset_size(shard));
    EXPECT(same_on_every_rank(&many), "%s: the ranks' parameters differ", su->name);
    if (size == 1)
        EXPECT(max_difference(&many, &one) <= 1e-5,
               "%s: one shard differs from one process by %.3g", su->name,
               max_difference(&many, &one));
    if (rank == 0)
        printf("test_dist: P=%d %-34s final loss %.6g, one process %.6g\n", size, su->name, lp, l1);
    clg_dataset_destroy(shard);
}

/* ------------------------------------------------------------------ model averaging */

/* The host reference of a model-averaging fit of Linear(d -> 1) with MSE (mean) and SGD with
 * momentum mu (PyTorch's rule: the first step sets the buffer), in double: with shuffle off
 * rank r of P walks rows [n·r/P, n·(r+1)/P) in order, in batches of its share of B; after
 * every K local steps below the fewest batches of any rank the ranks average w, and at each
 * epoch's end w and the momentum buffers. w (d + 1: weights, bias) starts as given; losses[e]
 * is the whole set's MSE after epoch e. */
static void averaged_reference(const float *X, const float *t, size_t n, size_t d, size_t B,
                               size_t K, size_t epochs, double lr, double mu, double *w,
                               double *losses)
{
    const size_t P = (size_t)size, D = d + 1;
    double *rw = calloc(P * D, sizeof *rw), *buf = calloc(P * D, sizeof *buf);
    double *g = calloc(D, sizeof *g);
    size_t lo[16], rows[16], b[16], nb[16], nb_min = SIZE_MAX, nb_max = 0;
    for (size_t r = 0; r < P; r++) {
        memcpy(rw + r * D, w, D * sizeof *w);
        lo[r] = n * r / P, rows[r] = n * (r + 1) / P - lo[r];
        b[r] = B * (r + 1) / P - B * r / P; /* the ranks' shares, as the rows' */
        nb[r] = (rows[r] + b[r] - 1) / b[r];
        nb_min = nb[r] < nb_min ? nb[r] : nb_min, nb_max = nb[r] > nb_max ? nb[r] : nb_max;
    }
    int first = 1;
    for (size_t e = 1; e <= epochs; e++) {
        for (size_t j = 0; j < nb_max; j++) {
            for (size_t r = 0; r < P; r++) {
                if (j >= nb[r]) continue;
                double *v = rw + r * D, *m = buf + r * D;
                size_t i0 = lo[r] + j * b[r],
                       cnt = rows[r] - j * b[r] < b[r] ? rows[r] - j * b[r] : b[r];
                memset(g, 0, D * sizeof *g);
                for (size_t i = i0; i < i0 + cnt; i++) {
                    double yh = v[d];
                    for (size_t k = 0; k < d; k++) yh += v[k] * X[i * d + k];
                    double e2 = 2.0 * (yh - t[i]) / (double)cnt;
                    for (size_t k = 0; k < d; k++) g[k] += e2 * X[i * d + k];
                    g[d] += e2;
                }
                for (size_t k = 0; k < D; k++) {
                    m[k] = first ? g[k] : mu * m[k] + g[k];
                    v[k] -= lr * (mu != 0 ? m[k] : g[k]);
                }
            }
            first = 0;
            const size_t done = j + 1;
            const int mid = done % K == 0 && done < nb_min, end = done == nb_max;
            for (size_t k = 0; (mid || end) && k < D; k++) {
                double sw = 0, sb = 0;
                for (size_t r = 0; r < P; r++) sw += rw[r * D + k], sb += buf[r * D + k];
                for (size_t r = 0; r < P; r++) {
                    rw[r * D + k] = sw / (double)P;
                    if (end) buf[r * D + k] = sb / (double)P;
                }
            }
        }
        double l = 0;
        for (size_t i = 0; i < n; i++) {
            double yh = rw[d];
            for (size_t k = 0; k < d; k++) yh += rw[k] * X[i * d + k];
            l += (yh - t[i]) * (yh - t[i]);
        }
        losses[e] = l / (double)n;
    }
    memcpy(w, rw, D * sizeof *w);
    free(rw), free(buf), free(g);
}

/* A model-averaging fit against averaged_reference: the parameters within 1e-5 (relative to
 * max(1, |p|)), the epoch losses within 1e-4 relative plus 1e-7 (near the noise floor, 2e-4,
 * rounding a float prediction of about 10 moves a squared residual by up to 3e-8), every rank
 * the same bits; on the fused path (the default for a single Linear layer with SGD) and on
 * the unfused one. */
static void averaged_math(size_t K, float mu, int unfused)
{
    const size_t d = 4, n = 1001, B = 32, epochs = 3;
    clg_optimizer_options sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    sgd.lr = 0.05f, sgd.momentum = mu;
    setup su = {"averaging",     n,   B,      epochs, 0, 0, CLG_LOSS_MSE,
                CLG_REDUCE_MEAN, sgd, DEVICE, 0,      K, 1};
    clg_context *shared = ctx, *own = NULL;
    if (unfused) {
        clg_context_options co = clg_context_options_defaults();
        co.fused = CLG_FUSED_OFF;
        EXPECT_OK(clg_context_create_with(&own, &co));
        ctx = own;
    }
    clg_model *m0 = NULL;
    run r;
    double w[5], losses[MAX_EPOCHS + 1];
    float *X = malloc(n * d * sizeof *X), *t = malloc(n * sizeof *t);
    int32_t *y = malloc(n * sizeof *y);
    clg_status s = make_model(&su, d, &m0);
    float init[5];
    clg_context_stats before, after;
    if (s == CLG_OK) s = clg_model_get_param(m0, 0, init, d);
    if (s == CLG_OK) s = clg_model_get_param(m0, 1, init + d, 1);
    if (s == CLG_OK) s = clg_context_get_stats(ctx, &before);
    if (s == CLG_OK) s = train(&su, comm, &r);
    if (s == CLG_OK) s = clg_context_get_stats(ctx, &after);
    ctx = shared;
    /* the fused path ran: about one launch per average (31 batches, 3 epochs), not ~8 per
     * step as the unfused one */
    static unsigned fused_kernels;
    const unsigned kernels = after.kernels_enqueued - before.kernels_enqueued;
    if (s == CLG_OK && !unfused) fused_kernels = kernels;
    if (s == CLG_OK && unfused)
        EXPECT(fused_kernels && fused_kernels * 4 < kernels,
               "averaging K=%zu: %u kernels fused, %u unfused: the fused path did not run", K,
               fused_kernels, kernels);
    EXPECT(s == CLG_OK, "averaging K=%zu: %s: %s", K, clg_status_string(s),
           clg_last_error(own ? own : ctx));
    if (s == CLG_OK) {
        make_arrays(n, d, X, y, t);
        for (size_t k = 0; k <= d; k++) w[k] = init[k];
        averaged_reference(X, t, n, d, B, K, epochs, 0.05, mu, w, losses);
        double worst = 0;
        for (size_t k = 0; k <= d; k++)
            worst = fmax(worst, fabs(((k < d ? r.params[0][k] : r.params[1][0]) - w[k])) /
                                    fmax(1.0, fabs(w[k])));
        EXPECT(worst <= 1e-5,
               "averaging K=%zu mu=%g%s: parameters differ from the reference by %.3g", K,
               (double)mu, unfused ? " unfused" : "", worst);
        for (size_t e = 1; e <= epochs; e++)
            EXPECT(fabs(r.losses[e] - losses[e]) <= 1e-4 * losses[e] + 1e-7,
                   "averaging K=%zu: epoch %zu loss %.9g, reference %.9g", K, e, r.losses[e],
                   losses[e]);
        EXPECT(same_on_every_rank(&r), "averaging K=%zu: the ranks' parameters differ", K);
        if (rank == 0)
            printf("test_dist: P=%d averaging K=%zu mu=%g %-9s difference to the reference %.2g\n",
                   size, K, (double)mu, unfused ? "unfused" : "fused", worst);
    }
    free(X), free(t), free(y);
    clg_model_destroy(m0);
    clg_context_destroy(own);
}

/* Model averaging learns what one process learns: on the same data everywhere (each rank its
 * block of the shared shuffle) and on shards, with SGD, momentum and Adam (whose state the
 * epoch's close averages), fused and not: the final loss within 15% + 0.01 of one process's
 * at the same global batch, the loss reported the final model's over all rows, and every
 * rank the same bits. */
static void averaged_learns(const setup *su)
{
    run one, many;
    EXPECT_OK(train(su, NULL, &one));
    EXPECT_OK(train(su, comm, &many));
    const double l1 = one.losses[su->epochs], lp = many.losses[su->epochs];
    EXPECT(many.epochs == su->epochs, "%s: %zu epochs", su->name, many.epochs);
    EXPECT(lp <= 1.15 * l1 + 0.01, "%s: final loss %.6g with P=%d, %.6g in one process", su->name,
           lp, size, l1);
    reported_loss_is_all_rows(su, &many, lp);
    EXPECT(same_on_every_rank(&many), "%s: the ranks' parameters differ", su->name);
    if (rank == 0)
        printf("test_dist: P=%d %-34s final loss %.6g, one process %.6g\n", size, su->name, lp, l1);
}

/* A model-averaging fit resumed from rank 0's checkpoint (parameters and optimizer state) on
 * every rank: 2 + 2 epochs give the bits of 4, SGD with momentum (the epoch's close averages
 * the buffers, so that every rank holds rank 0's state). */
static void averaged_resume(void)
{
    const size_t d = 4;
    clg_optimizer_options mom = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    mom.lr = 0.05f, mom.momentum = 0.9f;
    setup su = {"averaging resume", 1001, 32,     4, 0, 0, CLG_LOSS_MSE,
                CLG_REDUCE_MEAN,    mom,  DEVICE, 0, 3, 0};
    clg_dataset *ds = NULL;
    clg_model *a = NULL, *b = NULL;
    clg_optimizer *oa = NULL, *ob = NULL;
    EXPECT_OK(make_data(&su, d, NULL, &ds));
    EXPECT_OK(make_model(&su, d, &a));
    EXPECT_OK(make_model(&su, d, &b));
    EXPECT_OK(clg_optimizer_create(a, &mom, &oa));
    EXPECT_OK(clg_optimizer_create(b, &mom, &ob));
    clg_fit_options o = clg_fit_defaults();
    o.batch_size = su.batch, o.loss = su.loss, o.seed = 5, o.on_epoch = NULL;
    o.comm = comm, o.average_every = su.every;
    o.epochs = 4;
    EXPECT_OK(clg_fit(a, ds, &o, oa, NULL));
    o.epochs = 2;
    EXPECT_OK(clg_fit(b, ds, &o, ob, NULL));
    char path[96];
    snprintf(path, sizeof path, "/tmp/clgrad_test_dist_%d_resume.clg", (int)getppid());
    clg_status s = rank == 0 ? clg_model_save(b, ob, NULL, path) : CLG_OK;
    EXPECT_OK(clg_comm_check(comm, ctx, s, "save"));
    EXPECT_OK(clg_model_load_into(b, ob, path));
    o.first_epoch = 2;
    EXPECT_OK(clg_fit(b, ds, &o, ob, NULL));
    float pa[4], pb[4], ba, bb;
    EXPECT_OK(clg_model_get_param(a, 0, pa, d));
    EXPECT_OK(clg_model_get_param(b, 0, pb, d));
    EXPECT_OK(clg_model_get_param(a, 1, &ba, 1));
    EXPECT_OK(clg_model_get_param(b, 1, &bb, 1));
    EXPECT(!memcmp(pa, pb, sizeof pa) && !memcmp(&ba, &bb, sizeof ba),
           "averaging resumed: 2 + 2 epochs differ from 4 (w0 %.9g and %.9g)", (double)pb[0],
           (double)pa[0]);
    EXPECT_OK(clg_comm_check(comm, ctx, CLG_OK, "resume checked"));
    if (rank == 0) {
        remove(path);
        printf("test_dist: P=%d %-34s 2 + 2 epochs are 4, bit for bit\n", size,
               "averaging, resumed from rank 0");
    }
    clg_optimizer_destroy(oa), clg_optimizer_destroy(ob);
    clg_model_destroy(a), clg_model_destroy(b);
    clg_dataset_destroy(ds);
}

/* What a model-averaging fit refuses: a file-streamed dataset whole on every rank (its
 * chunk order cannot be split: shards instead), a batch smaller than the ranks. */
static void averaged_refusals(void)
{
    setup su = {"refusals",
                61,
                16,
                1,
                1,
                0,
                CLG_LOSS_SOFTMAX_XENT,
                CLG_REDUCE_MEAN,
                clg_optimizer_defaults(CLG_OPTIMIZER_SGD),
                FILE_STREAMED,
                0,
                2,
                0};
    run r;
    clg_status s = train(&su, comm, &r);
    EXPECT(s == CLG_ERR_UNSUPPORTED && strstr(clg_last_error(ctx), "shard"),
           "averaging a file-streamed dataset: %s: %s", clg_status_string(s), clg_last_error(ctx));
    if (size < 2) return;
    su.data = DEVICE, su.batch = (size_t)size - 1;
    s = train(&su, comm, &r);
    EXPECT(s == CLG_ERR_INVALID_ARGUMENT && strstr(clg_last_error(ctx), "batch_size"),
           "averaging with a batch below the ranks: %s: %s", clg_status_string(s),
           clg_last_error(ctx));
}

/* ------------------------------------------------------------------ failures */

static int fail_rank(void) { return size - 1; }

static volatile sig_atomic_t cancel_flag;
static void cancel_in_epoch_2(size_t epoch, double loss, void *user)
{
    (void)loss, (void)user;
    if (epoch == 1 && rank == fail_rank()) cancel_flag = 1;
}

typedef enum fault { OTHER_DATA, OTHER_INIT, OTHER_LR, BAD_ARGUMENT, CANCEL, DEVICE_FAILS } fault;
static const char *const fault_names[] = {"a rank with other data", "a rank with other parameters",
                                          "a rank with another lr", "a rank with bad arguments",
                                          "a rank cancelled",       "a rank whose device fails"};

static void failure(fault f, size_t every)
{
    if ((f == OTHER_DATA || f == OTHER_INIT || f == OTHER_LR) && size == 1) return;
    const size_t d = 4;
    setup su = {.n = 301,
                .batch = 16,
                .epochs = 3,
                .loss = CLG_LOSS_MSE,
                .opt = clg_optimizer_defaults(CLG_OPTIMIZER_SGD)};
    if (f == OTHER_DATA && rank == fail_rank()) su.n = 300;
    clg_dataset *ds = NULL;
    clg_model *m = NULL;
    EXPECT_OK(make_data(&su, d, NULL, &ds));
    EXPECT_OK(make_model(&su, d, &m));
    clg_fit_options o = clg_fit_defaults();
    o.epochs = su.epochs;
    o.batch_size = su.batch;
    o.loss = su.loss;
    o.on_epoch = f == CANCEL ? cancel_in_epoch_2 : NULL;
    o.comm = comm;
    o.average_every = every;
    cancel_flag = 0;
    o.cancel = &cancel_flag;
    int me = rank == fail_rank();
    if (f == OTHER_LR && me) o.optimizer.lr *= 2;
    const float one = 1.0f;
    if (f == OTHER_INIT && me) EXPECT_OK(clg_model_set_param(m, 1, &one, 1));
    if (f == DEVICE_FAILS && me) cl_faults_arm(CL_FAULT_ENQUEUE, 150); /* within epoch 1 */
    double t0 = now_s();
    clg_status s = clg_fit(m, f == BAD_ARGUMENT && me ? NULL : ds, &o, NULL, NULL);
    double took = now_s() - t0;
    cl_faults_disarm();
    const char *msg = clg_last_error(ctx);
    char want[64];
    snprintf(want, sizeof want, "rank %d of %d", fail_rank(), size);
    switch (f) {
    case OTHER_DATA:
    case OTHER_INIT:
    case OTHER_LR: {
        const char *what = f == OTHER_DATA   ? "the training rows"
                           : f == OTHER_INIT ? "the initial parameters"
                                             : "the optimizer's options";
        EXPECT(s == CLG_ERR_INVALID_ARGUMENT && strstr(msg, "disagree") && strstr(msg, what),
               "%s: %s: %s", fault_names[f], clg_status_string(s), msg);
        break;
    }
    case BAD_ARGUMENT:
        if (me)
            EXPECT(s == CLG_ERR_INVALID_ARGUMENT && strstr(msg, "NULL"), "%s: %s: %s",
                   fault_names[f], clg_status_string(s), msg);
        else
            EXPECT(s == CLG_ERR_COMM && strstr(msg, want) &&
                       strstr(msg, "CLG_ERR_INVALID_ARGUMENT"),
                   "%s: %s: %s", fault_names[f], clg_status_string(s), msg);
        break;
    case CANCEL:
        EXPECT(s == CLG_ERR_CANCELLED && strstr(msg, "cancelled"), "%s: %s: %s", fault_names[f],
               clg_status_string(s), msg);
        break;
    case DEVICE_FAILS:
        EXPECT(cl_faults_fired() == me, "%s: the fault fired %d", fault_names[f],
               cl_faults_fired());
        if (me)
            EXPECT(s == CLG_ERR_OPENCL, "%s: %s: %s", fault_names[f], clg_status_string(s), msg);
        else
            EXPECT(s == CLG_ERR_COMM && strstr(msg, want) && strstr(msg, "CLG_ERR_OPENCL"),
                   "%s: %s: %s", fault_names[f], clg_status_string(s), msg);
        break;
    }
    EXPECT(took < 20, "%s: clg_fit took %.1f s to stop", fault_names[f], took);
    if (rank == 0)
        printf("test_dist: P=%d %-34s stopped every rank%s: %s\n", size, fault_names[f],
               every ? " (averaging)" : "", clg_status_string(s));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
}

/* The failing rank's device fails at each of its OpenCL enqueues in turn (every one of a
 * small fit: gathers, kernels, the gradients' reads and writes, the epoch losses): whatever
 * fails where, every rank returns within seconds, all OK or none (a fault the library
 * absorbs is no failure), the failing rank with its own status, the others with
 * CLG_ERR_COMM naming it. Before, a failure after a step's exchange left the others waiting. */
static void device_fails_anywhere(size_t every)
{
    setup su = {.n = 61,
                .batch = 16,
                .epochs = 2,
                .loss = CLG_LOSS_MSE,
                .opt = clg_optimizer_defaults(CLG_OPTIMIZER_SGD)};
    clg_dataset *ds = NULL;
    EXPECT_OK(make_data(&su, 4, NULL, &ds));
    const int me = rank == fail_rank();
    long calls = 0, failed = 0;
    for (long nth = 1;; nth++) {
        clg_model *m = NULL;
        EXPECT_OK(make_model(&su, 4, &m));
        clg_fit_options o = clg_fit_defaults();
        o.epochs = su.epochs, o.batch_size = su.batch, o.loss = su.loss;
        o.on_epoch = NULL;
        o.comm = comm;
        o.average_every = every;
        if (me) cl_faults_arm(CL_FAULT_ENQUEUE, nth);
        double t0 = now_s();
        clg_status s = clg_fit(m, ds, &o, NULL, NULL);
        double took = now_s() - t0;
        int fired = me && cl_faults_fired();
        if (me) calls = cl_faults_calls(CL_FAULT_ENQUEUE);
        cl_faults_disarm();
        int any[2] = {fired, s != CLG_OK};
        MPI_Allreduce(MPI_IN_PLACE, any, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        const char *msg = clg_last_error(ctx);
        char want[64];
        snprintf(want, sizeof want, "rank %d of %d", fail_rank(), size);
        EXPECT(took < 20, "enqueue %ld failing: clg_fit took %.1f s", nth, took);
        if (any[1] && !me)
            EXPECT(s == CLG_ERR_COMM && strstr(msg, want), "enqueue %ld failing: %s: %s", nth,
                   clg_status_string(s), msg);
        if (any[1] && me) EXPECT(s != CLG_OK, "enqueue %ld failing: the failing rank passed", nth);
        if (!any[1]) EXPECT(s == CLG_OK, "enqueue %ld: %s", nth, clg_status_string(s));
        failed += any[1];
        clg_model_destroy(m);
        if (!any[0]) break; /* the fault no longer fires: every enqueue was walked */
    }
    EXPECT(failed > 10, "only %ld of the walked enqueues failed the fit", failed);
    if (rank == 0)
        printf("test_dist: P=%d %-34s %ld fits stopped every rank\n", size,
               every ? "a device failing anywhere, averaging" : "a device failing at each enqueue",
               failed);
    (void)calls;
    clg_dataset_destroy(ds);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    snprintf(npy_dir, sizeof npy_dir, "/tmp/clgrad_test_dist_%d_%d", (int)getppid(), rank);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", npy_dir);
    if (system(cmd) != 0) return 2;
    clg_status s = clg_comm_mpi_create(MPI_COMM_WORLD, &comm);
    if (s == CLG_OK) s = clg_context_create(&ctx, NULL);
    EXPECT(s == CLG_OK, "setup: %s: %s", clg_status_string(s), clg_last_error(ctx));
    if (s == CLG_OK) {
        EXPECT(comm->rank == rank && comm->size == size, "comm says rank %d of %d", comm->rank,
               comm->size);
        EXPECT(clg_comm_check(comm, ctx, CLG_OK, "setup") == CLG_OK, "clg_comm_check");
        clg_optimizer_options sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
        clg_optimizer_options mom = sgd;
        mom.lr = 0.05f, mom.momentum = 0.9f, mom.weight_decay = 1e-3f;
        clg_optimizer_options adam = clg_optimizer_defaults(CLG_OPTIMIZER_ADAM);
        adam.lr = 0.01f;
        /* n % batch leaves 1, 9, 52, 1, 5 and 7 rows in the last global batch */
        const setup setups[] = {
            {"squared sum (d2l scratch)", 1001, 10, 3, 0, 0, CLG_LOSS_SQUARED, CLG_REDUCE_SUM, sgd,
             DEVICE, 0, 0, 0},
            {"mse mean, momentum, decay", 1001, 32, 3, 0, 0, CLG_LOSS_MSE, CLG_REDUCE_MEAN, mom,
             DEVICE, 0, 0, 0},
            {"mlp 4-8-3, adam, class ids", 500, 64, 3, 1, 8, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN,
             adam, DEVICE, 0, 0, 0},
            {"softmax, host-streamed", 401, 16, 2, 1, 0, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN,
             sgd, HOST_STREAMED, 0, 0, 0},
            {"softmax, file-streamed (npy)", 405, 16, 2, 1, 0, CLG_LOSS_SOFTMAX_XENT,
             CLG_REDUCE_MEAN, sgd, FILE_STREAMED, 0, 0, 0},
            {"mse, validation fraction 0.2", 509, 25, 2, 0, 0, CLG_LOSS_MSE, CLG_REDUCE_MEAN, sgd,
             DEVICE, 0.2, 0, 0},
        };
        for (size_t i = 0; i < sizeof setups / sizeof *setups; i++) same_math(&setups[i]);
        const setup shards[] = {
            {"softmax, npy shards", 1003, 48, 3, 1, 0, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, sgd,
             FILE_SHARD, 0, 0, 0},
            {"mse, npy shards, momentum", 1001, 32, 3, 0, 0, CLG_LOSS_MSE, CLG_REDUCE_MEAN, mom,
             FILE_SHARD, 0, 0, 0},
        };
        for (size_t i = 0; i < sizeof shards / sizeof *shards; i++) sharded(&shards[i]);
        for (fault f = OTHER_DATA; f <= DEVICE_FAILS; f++) failure(f, 0);
        device_fails_anywhere(0);
        /* model averaging: against its reference, learning, resuming, failing */
        averaged_math(1, 0.0f, 0);
        averaged_math(3, 0.9f, 0);
        averaged_math(3, 0.9f, 1);
        const setup averaged[] = {
            {"avg K=4 softmax", 1003, 48, 3, 1, 0, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, sgd,
             DEVICE, 0, 4, 0},
            {"avg K=4 softmax, npy shards", 1003, 48, 3, 1, 0, CLG_LOSS_SOFTMAX_XENT,
             CLG_REDUCE_MEAN, sgd, FILE_SHARD, 0, 4, 0},
            {"avg K=2 mse, momentum, host-streamed", 1001, 32, 3, 0, 0, CLG_LOSS_MSE,
             CLG_REDUCE_MEAN, mom, HOST_STREAMED, 0, 2, 0},
            {"avg K=4 mlp 4-8-3, adam", 500, 64, 3, 1, 8, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN,
             adam, DEVICE, 0, 4, 0},
        };
        for (size_t i = 0; i < sizeof averaged / sizeof *averaged; i++)
            averaged_learns(&averaged[i]);
        averaged_resume();
        averaged_refusals();
        failure(CANCEL, 2);
        failure(DEVICE_FAILS, 2);
        device_fails_anywhere(2);
    }
    clg_context_destroy(ctx);
    clg_comm_mpi_destroy(comm);
    snprintf(cmd, sizeof cmd, "rm -rf %s", npy_dir);
    if (system(cmd) != 0) failures++;
    int all[2] = {failures, checks};
    MPI_Allreduce(MPI_IN_PLACE, all, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("test_dist: P=%d: %d of %d checks failed over all ranks\n", size, all[0], all[1]);
    MPI_Finalize();
    return all[0] ? 1 : 0;
}
