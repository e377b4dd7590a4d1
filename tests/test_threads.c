/* Separate contexts are independent (README "Using the library"): two threads each make
 * a context and train at the same time while a third lists the devices, and every
 * thread gets what a run alone gets, bit for bit. Before platform and device enumeration
 * was serialised this crashed in clGetDeviceInfo (POCL initialises its devices lazily on
 * the first queries); ThreadSanitizer (tools/dev test --tsan) also checks the CLBlast
 * parameter overrides every context creation makes. Each Criterion test runs in a fresh
 * process, so its first OpenCL calls are the concurrent ones. */
#include <pthread.h>

#ifdef CLGRAD_TEST_PLAIN
/* TSan builds: Criterion's runner cannot start under ThreadSanitizer ("Could not initialize
 * inheritable arena": boxfort maps its arena where TSan keeps its shadow), so the test is
 * a plain program there, with these stand-ins for the assertions it uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgrad.h"

static void plain_check(int ok, const char *what, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void plain_check(int ok, const char *what, const char *file, int line, const char *fmt, ...)
{
    if (ok) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: assertion failed: %s: ", file, line, what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}
#define cr_assert(cond, ...) plain_check(!!(cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
#define cr_assert_eq(a, b, ...)                                                                    \
    plain_check((a) == (b), #a " == " #b, __FILE__, __LINE__, __VA_ARGS__)
#define Test(suite, name, ...)                                                                     \
    static void suite##_##name(void);                                                              \
    int main(void)                                                                                 \
    {                                                                                              \
        suite##_##name();                                                                          \
        puts(#suite "::" #name ": passed");                                                        \
        return 0;                                                                                  \
    }                                                                                              \
    static void suite##_##name(void)
#else
#include "helpers.h"
#endif

#define N_ROWS 256
#define D_IN 64
#define HIDDEN 32
#define Q_OUT 4
#define MAX_PARAMS (D_IN * HIDDEN)
#define LIST_ROUNDS 20

typedef struct run_result {
    clg_status status;
    char where[160];
    char message[512];
    double final_loss;
    size_t nparams;
    size_t count[4];
    float params[4][MAX_PARAMS];
} run_result;

static void fail_at(run_result *r, clg_status s, const char *where, const clg_context *ctx)
{
    r->status = s;
    snprintf(r->where, sizeof r->where, "%s", where);
    snprintf(r->message, sizeof r->message, "%s", clg_last_error(ctx));
}

#define RUN_STEP(r, ctx, call)                                                                     \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fail_at((r), s_, #call, (ctx));                                                        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Deterministic host data: X uniform in [-0.5, 0.5), Y a fixed linear function of X. */
static void make_data(float *X, float *Y)
{
    uint32_t s = 12345u;
    for (size_t i = 0; i < (size_t)N_ROWS * D_IN; i++) {
        s = s * 1664525u + 1013904223u;
        X[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (size_t r = 0; r < N_ROWS; r++)
        for (size_t j = 0; j < Q_OUT; j++) {
            float acc = 0.1f * (float)j;
            for (size_t k = 0; k < D_IN; k++) acc += X[r * D_IN + k] * (float)((k + j) % 5) * 0.05f;
            Y[r * Q_OUT + j] = acc;
        }
}

/* One whole run in its own context: an MLP 64→32→4 whose 64×64×32 products go through
 * CLBlast's SGEMM (lib/gemm.c rule), then the seeds' single Linear layer (fused path). */
static void train_run(run_result *r)
{
    memset(r, 0, sizeof *r);
    clg_context *ctx = NULL;
    clg_dataset *ds = NULL, *lin = NULL;
    clg_model *m = NULL, *seeds = NULL;
    float *X = malloc(sizeof(float) * N_ROWS * D_IN), *Y = malloc(sizeof(float) * N_ROWS * Q_OUT);
    if (!X || !Y) {
        r->status = CLG_ERR_HOST_MEMORY;
        goto out;
    }
    make_data(X, Y);
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        fail_at(r, s, "clg_context_create", NULL);
        goto out;
    }
    RUN_STEP(r, ctx, clg_dataset_from_host(ctx, X, Y, N_ROWS, D_IN, Q_OUT, &ds));
    RUN_STEP(r, ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 7;
    init.weight_std = 0.1f;
    RUN_STEP(r, ctx, clg_model_add_linear(m, D_IN, HIDDEN, &init));
    RUN_STEP(r, ctx, clg_model_add_relu(m));
    RUN_STEP(r, ctx, clg_model_add_linear(m, HIDDEN, Q_OUT, &init));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.batch_size = 64;
    o.epochs = 3;
    o.seed = 3;
    o.loss = CLG_LOSS_MSE;
    o.optimizer.lr = 0.05f;
    clg_fit_report rep;
    RUN_STEP(r, ctx, clg_fit(m, ds, &o, NULL, &rep));
    r->final_loss = rep.final_loss;
    r->nparams = clg_model_param_count(m);
    for (size_t i = 0; i < r->nparams && i < 4; i++) {
        clg_param_info pi;
        RUN_STEP(r, ctx, clg_model_param_info(m, i, &pi));
        r->count[i] = pi.rows * pi.cols;
        RUN_STEP(r, ctx, clg_model_get_param(m, i, r->params[i], r->count[i]));
    }

    const float w[2] = {2.0f, -3.4f};
    RUN_STEP(r, ctx, clg_dataset_synthetic_linear(ctx, 1000, w, 2, 4.2f, 0.01f, 42, &lin));
    RUN_STEP(r, ctx, clg_model_create(ctx, &seeds));
    RUN_STEP(r, ctx, clg_model_add_linear(seeds, 2, 1, NULL));
    clg_fit_options so = clg_fit_defaults();
    so.on_epoch = NULL;
    RUN_STEP(r, ctx, clg_fit(seeds, lin, &so, NULL, &rep));
    r->final_loss += rep.final_loss;
out:
    clg_model_destroy(seeds);
    clg_dataset_destroy(lin);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    free(X);
    free(Y);
}

static pthread_barrier_t start_line;

static void *trainer(void *arg)
{
    pthread_barrier_wait(&start_line);
    train_run(arg);
    return NULL;
}

typedef struct list_result {
    clg_status status;
    char message[512];
    size_t count;
} list_result;

static void *lister(void *arg)
{
    list_result *r = arg;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < LIST_ROUNDS && r->status == CLG_OK; i++) {
        clg_device_info info[8];
        r->status = clg_device_list(info, 8, &r->count);
        if (r->status != CLG_OK)
            snprintf(r->message, sizeof r->message, "%s", clg_last_error(NULL));
        else if (r->count == 0 || !info[0].device_name[0])
            r->status = CLG_ERR_NO_DEVICE;
    }
    return NULL;
}

static void expect_same(const run_result *got, const run_result *want, const char *who)
{
    cr_assert_eq(got->status, CLG_OK, "%s: %s failed: %s: %s", who, got->where,
                 clg_status_string(got->status), got->message);
    cr_assert_eq(got->nparams, want->nparams, "%s: %zu parameters, alone %zu", who, got->nparams,
                 want->nparams);
    cr_assert_eq(memcmp(&got->final_loss, &want->final_loss, sizeof(double)), 0,
                 "%s: final losses %.9g, alone %.9g", who, got->final_loss, want->final_loss);
    for (size_t i = 0; i < want->nparams; i++) {
        cr_assert_eq(got->count[i], want->count[i], "%s: parameter %zu has %zu values, alone %zu",
                     who, i, got->count[i], want->count[i]);
        for (size_t k = 0; k < want->count[i]; k++)
            cr_assert_eq(memcmp(&got->params[i][k], &want->params[i][k], sizeof(float)), 0,
                         "%s: parameter %zu[%zu] = %.9g, alone %.9g", who, i, k, got->params[i][k],
                         want->params[i][k]);
    }
}

Test(threads, two_contexts_train_at_once_as_alone, .timeout = 500)
{
    static run_result a, b, alone;
    list_result lr = {CLG_OK, "", 0};
    pthread_t ta, tb, tl;
    cr_assert_eq(pthread_barrier_init(&start_line, NULL, 3), 0, "pthread_barrier_init");
    cr_assert_eq(pthread_create(&ta, NULL, trainer, &a), 0, "pthread_create");
    cr_assert_eq(pthread_create(&tb, NULL, trainer, &b), 0, "pthread_create");
    cr_assert_eq(pthread_create(&tl, NULL, lister, &lr), 0, "pthread_create");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tl, NULL);
    pthread_barrier_destroy(&start_line);
    cr_assert_eq(lr.status, CLG_OK, "clg_device_list beside two trainings: %s: %s",
                 clg_status_string(lr.status), lr.message);

    train_run(&alone); /* after the threads, so that theirs were the process's first calls */
    cr_assert_eq(alone.status, CLG_OK, "alone: %s failed: %s: %s", alone.where,
                 clg_status_string(alone.status), alone.message);
    cr_assert(alone.final_loss > 0 && alone.final_loss < 1.0, "alone: final losses sum %g",
              alone.final_loss);
    expect_same(&a, &alone, "thread A");
    expect_same(&b, &alone, "thread B");
}
