/* Injected OpenCL failures (faults/cl_faults.c, docs/sanitizers.md): for each kind
 * (allocation, enqueue, program build) the test walks N over every such call of a whole
 * small run — context, dataset, model, clg_fit with SGD (momentum), evaluate, checkpoint
 * save and load — and makes the N-th fail. Four runs:
 *  - mlp: an MLP on the unfused path, CLGRAD_GEMM=clblast (CLBlast's calls count too);
 *  - softmax: softmax regression on a split of labelled data (fused path, accuracy,
 *    clg_predict, clg_model_load_into with the momentum buffers);
 *  - linear: one Linear layer on the fused path with the overlapped epoch loss, then
 *    clg_solve_normal and clg_predict;
 *  - mlp streamed: the MLP on a streamed dataset (pinned staging, uploads per batch).
 * Builds are walked with the program cache off: a failed load of a cached binary is
 * absorbed by a rebuild from source.
 * Each failure must come back as a non-OK status with a message; a run the library
 * completes despite the fault must give the fault-free results bit for bit; after the
 * failure the context either trains again or says why not; once everything is destroyed
 * no reference to a cl_mem (nor to a program, kernel, event, queue or context) is left,
 * as the shim counts them for clgrad's and CLBlast's calls alike (LeakSanitizer's
 * suppressions of driver frames cannot hide these); under ASan, LeakSanitizer finds
 * nothing. Criterion's timeout catches a hang. CLGRAD_FAULTS_VERBOSE=1 names each N. */

#include "faults/cl_faults.h"
#include "helpers.h"
#include "internal.h"

#define N_ROWS 64
#define D_IN 8
#define HIDDEN 8
#define NPARAMS 4
#define MAX_PARAM (D_IN * HIDDEN)

typedef enum scenario { MLP, LINEAR_OVERLAP, MLP_STREAMED, SOFTMAX } scenario;
static const char *const scenario_names[] = {"mlp", "linear", "mlp streamed", "softmax"};
#define CLASSES 3

typedef struct outcome {
    clg_status status; /* first non-OK status, CLG_OK when every step passed */
    char step[48];     /* the step that failed */
    char message[2048];
    float params[NPARAMS][MAX_PARAM]; /* trained, then as loaded back from the checkpoint */
    double loss;
    float extra[N_ROWS * CLASSES]; /* predictions (linear, softmax), closed-form w and b */
    long live[CL_OBJECT_CLASSES];  /* OpenCL references held before the destroys */
    int recovered; /* after a failure: 1 the context trained again, 0 it said why not,
                          * -1 no context to try */
} outcome;

static char ckpt[256];

#define STEP(o, ctx, name, call)                                                                   \
    do {                                                                                           \
        if ((o)->status == CLG_OK) {                                                               \
            clg_status s_ = (call);                                                                \
            if (s_ != CLG_OK) {                                                                    \
                (o)->status = s_;                                                                  \
                snprintf((o)->step, sizeof(o)->step, "%s", (name));                                \
                snprintf((o)->message, sizeof(o)->message, "%s", clg_last_error(ctx));             \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* A fresh small fit in ctx with no fault armed: 1 it trained, 0 it failed with a message. */
static int context_still_trains(clg_context *ctx)
{
    const float w[1] = {1.5f};
    clg_dataset *ds = NULL;
    clg_model *m = NULL;
    clg_status s = clg_dataset_synthetic_linear(ctx, 20, w, 1, 0.5f, 0.01f, 5, &ds);
    if (s == CLG_OK) s = clg_model_create(ctx, &m);
    if (s == CLG_OK) s = clg_model_add_linear(m, 1, 1, NULL);
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = 1;
    if (s == CLG_OK) s = clg_fit(m, ds, &o, NULL, NULL);
    if (s != CLG_OK)
        cr_assert(clg_last_error(ctx)[0] != '\0', "recovery fit failed (%s) without a message",
                  clg_status_string(s));
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    return s == CLG_OK;
}

static void run(outcome *o, scenario sc)
{
    memset(o, 0, sizeof *o);
    o->recovered = -1;
    clg_context *ctx = NULL;
    clg_dataset *ds = NULL, *all = NULL, *test = NULL;
    clg_model *m = NULL, *back = NULL;
    clg_optimizer *opt = NULL, *opt2 = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        o->status = s;
        snprintf(o->step, sizeof o->step, "clg_context_create");
        snprintf(o->message, sizeof o->message, "%s", clg_last_error(NULL));
        return;
    }
    ctx->cfg.epoch_loss_overlap = sc == LINEAR_OVERLAP ? 2 : 0;
    const float w[D_IN] = {2.0f, -3.4f, 0.5f, 1.0f, -1.0f, 0.25f, 0.0f, 3.0f};
    float hX[N_ROWS * D_IN];
    if (sc == SOFTMAX) {
        /* Class = index of the largest of the first three features. */
        int32_t labels[N_ROWS];
        uint32_t r = 99u;
        for (size_t i = 0; i < N_ROWS * D_IN; i++) {
            r = r * 1664525u + 1013904223u;
            hX[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
        }
        for (size_t i = 0; i < N_ROWS; i++) {
            const float *x = hX + i * D_IN;
            labels[i] = x[1] > x[0] ? (x[2] > x[1] ? 2 : 1) : (x[2] > x[0] ? 2 : 0);
        }
        STEP(o, ctx, "from_host_labels",
             clg_dataset_from_host_labels(ctx, hX, labels, N_ROWS, D_IN, CLASSES, &all));
        STEP(o, ctx, "split", clg_dataset_split(all, 0.25, 3, &ds, &test));
    } else {
        STEP(o, ctx, "synthetic",
             clg_dataset_synthetic_linear(ctx, N_ROWS, w, D_IN, 4.2f, 0.01f, 42, &ds));
    }
    STEP(o, ctx, "model_create", clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.weight_std = 0.3f;
    init.seed = 9;
    if (sc == LINEAR_OVERLAP || sc == SOFTMAX) {
        size_t q = sc == SOFTMAX ? CLASSES : 1;
        STEP(o, ctx, "add_linear", clg_model_add_linear(m, D_IN, q, &init));
    } else {
        STEP(o, ctx, "add_linear 1", clg_model_add_linear(m, D_IN, HIDDEN, &init));
        STEP(o, ctx, "add_relu", clg_model_add_relu(m));
        STEP(o, ctx, "add_linear 2", clg_model_add_linear(m, HIDDEN, 1, &init));
    }
    clg_optimizer_options sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    sgd.lr = 0.02f;
    sgd.momentum = 0.9f;
    STEP(o, ctx, "sgd_create", clg_optimizer_create(m, &sgd, &opt));
    clg_fit_options fo = clg_fit_defaults();
    fo.on_epoch = NULL;
    fo.epochs = 2;
    fo.batch_size = 24; /* 64 rows: 24, 24 and a partial 16 */
    fo.seed = 1;
    clg_loss_kind loss = sc == SOFTMAX ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
    fo.loss = loss;
    STEP(o, ctx, "fit", clg_fit(m, ds, &fo, opt, NULL));
    clg_eval_result ev = {0};
    STEP(o, ctx, "evaluate", clg_evaluate(m, sc == SOFTMAX ? test : ds, loss, &ev));
    o->loss = ev.loss;
    if (sc == LINEAR_OVERLAP) {
        float pw[D_IN + 1];
        STEP(o, ctx, "solve_normal", clg_solve_normal(ctx, ds, 0.0, pw, pw + D_IN));
        if (o->status == CLG_OK) memcpy(o->extra, pw, sizeof pw);
        for (size_t i = 0; i < N_ROWS * D_IN; i++) hX[i] = (float)(i % 7) * 0.1f;
    }
    if (sc == LINEAR_OVERLAP || sc == SOFTMAX)
        STEP(o, ctx, "predict", clg_predict(m, hX, 16, o->extra + D_IN + 1));
    STEP(o, ctx, "save", clg_model_save(m, opt, "faults", ckpt));
    if (sc == SOFTMAX) {
        /* Into a model of the same shape, with the optimizer's momentum. */
        STEP(o, ctx, "model_create 2", clg_model_create(ctx, &back));
        STEP(o, ctx, "add_linear 2", clg_model_add_linear(back, D_IN, CLASSES, NULL));
        STEP(o, ctx, "sgd_create 2", clg_optimizer_create(back, &sgd, &opt2));
        STEP(o, ctx, "load_into", clg_model_load_into(back, opt2, ckpt));
    } else {
        STEP(o, ctx, "load", clg_model_load(ctx, ckpt, &back, NULL, 0));
    }
    for (size_t i = 0; o->status == CLG_OK && i < clg_model_param_count(m); i++) {
        clg_param_info pi;
        STEP(o, ctx, "param_info", clg_model_param_info(back, i, &pi));
        if (o->status == CLG_OK && pi.rows * pi.cols > MAX_PARAM) o->status = CLG_ERR_SHAPE;
        STEP(o, ctx, "get_param", clg_model_get_param(back, i, o->params[i], pi.rows * pi.cols));
    }
    for (int c = 0; c < CL_OBJECT_CLASSES; c++) o->live[c] = cl_faults_live((cl_object_class)c);
    int fired = cl_faults_fired();
    cl_faults_disarm();
    if (o->status != CLG_OK && fired) o->recovered = context_still_trains(ctx);
    clg_optimizer_destroy(opt2);
    clg_model_destroy(back);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_dataset_destroy(test);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(all);
    clg_context_destroy(ctx);
}

#define KIND cl_faults_kind_name(kind), sn

static void walk(cl_fault_kind kind, scenario sc)
{
    const char *sn = scenario_names[sc];
    snprintf(ckpt, sizeof ckpt, "%s/model.clg", test_tmpdir());
    cr_assert_eq(setenv("CLGRAD_STREAM", sc == MLP_STREAMED ? "1" : "0", 1), 0);
    cr_assert_eq(setenv("CLGRAD_GEMM", sc == MLP ? "clblast" : "auto", 1), 0);
    if (kind == CL_FAULT_BUILD) cr_assert_eq(setenv("CLGRAD_NO_CACHE", "1", 1), 0);
    static outcome ref, got;
    cl_faults_disarm();
    run(&ref, sc); /* fills the program cache, so that every later run makes the same calls */
    cl_faults_arm(kind, 0); /* counts only */
    run(&ref, sc);
    long total = cl_faults_calls(kind);
    cr_assert_eq(ref.status, CLG_OK, "fault-free run: %s: %s: %s", ref.step,
                 clg_status_string(ref.status), ref.message);
    cr_assert(ref.loss > 0 && ref.loss < 100, "fault-free loss %g", ref.loss);
    /* The counts see the objects (the run held some of each class but events, which
     * clgrad releases as it goes) ... */
    for (int c = 0; c < CL_OBJECT_CLASSES; c++)
        if (c != CL_OBJ_EVENT)
            cr_assert(ref.live[c] > 0, "the shim saw no live %s during the run",
                      cl_faults_class_name((cl_object_class)c));
    /* ... and all of them go with the destroys. */
    if (cl_faults_live_all()) cl_faults_print_live(stderr);
    cr_assert_eq(cl_faults_live_all(), 0, "fault-free run left %ld OpenCL references",
                 cl_faults_live_all());
    cr_assert(total > 0, "the run made no %s call (%s)", KIND);

    long failed = 0, completed = 0, recovered = 0, refused = 0;
    const char *verbose = getenv("CLGRAD_FAULTS_VERBOSE"); /* names each N before its run */
    for (long n = 1; n <= total; n++) {
        if (verbose) fprintf(stderr, "test_faults: %s fault (%s) %ld of %ld\n", KIND, n, total);
        cl_faults_arm(kind, n);
        run(&got, sc);
        const char *at = cl_faults_fired_at();
        if (verbose)
            fprintf(stderr, "test_faults:   %s failed -> %s at %s\n", at,
                    clg_status_string(got.status), got.status ? got.step : "the end");
        if (got.status != CLG_OK) {
            failed++;
            cr_assert(got.message[0] != '\0',
                      "%s fault (%s) %ld (%s): %s returned %s with no message", KIND, n, at,
                      got.step, clg_status_string(got.status));
            if (got.recovered == 1) recovered++;
            if (got.recovered == 0) refused++;
        } else {
            /* The library absorbed the fault (a cached binary rebuilt from source, ...):
             * then nothing may differ from the fault-free run. */
            completed++;
            cr_assert_eq(memcmp(got.extra, ref.extra, sizeof ref.extra), 0,
                         "%s fault (%s) %ld (%s): the run succeeded with other predictions", KIND,
                         n, at);
            cr_assert_eq(memcmp(got.params, ref.params, sizeof ref.params), 0,
                         "%s fault (%s) %ld (%s): the run succeeded with different parameters",
                         KIND, n, at);
            cr_assert_eq(memcmp(&got.loss, &ref.loss, sizeof ref.loss), 0,
                         "%s fault (%s) %ld (%s): the run succeeded with loss %.9g, not %.9g", KIND,
                         n, at, got.loss, ref.loss);
        }
        long live = cl_faults_live_all();
        if (live) cl_faults_print_live(stderr);
        cr_assert_eq(live, 0,
                     "%s fault (%s) %ld (%s, %s -> %s: %s): %ld OpenCL references leaked, "
                     "%ld of them cl_mem",
                     KIND, n, at, got.step, clg_status_string(got.status), got.message, live,
                     cl_faults_live_mem());
    }
    cl_faults_disarm();
    cr_assert(failed > 0, "no %s fault made the run fail (%s)", KIND);
    cr_log_info("%s faults, %s: %ld walked, %ld failed cleanly (context trained again after %ld, "
                "refused with a message after %ld), %ld absorbed with identical results",
                KIND, total, failed, recovered, refused, completed);
    fprintf(stderr,
            "test_faults: %s, %s: %ld walked, %ld failed cleanly (context trained again after %ld, "
            "refused with a message after %ld), %ld absorbed with identical results\n",
            KIND, total, failed, recovered, refused, completed);
}

Test(faults, every_allocation_mlp, .timeout = 500) { walk(CL_FAULT_ALLOC, MLP); }
Test(faults, every_enqueue_mlp, .timeout = 500) { walk(CL_FAULT_ENQUEUE, MLP); }
Test(faults, every_build_mlp, .timeout = 500) { walk(CL_FAULT_BUILD, MLP); }
Test(faults, every_allocation_linear, .timeout = 500) { walk(CL_FAULT_ALLOC, LINEAR_OVERLAP); }
Test(faults, every_enqueue_linear, .timeout = 500) { walk(CL_FAULT_ENQUEUE, LINEAR_OVERLAP); }
Test(faults, every_build_linear, .timeout = 500) { walk(CL_FAULT_BUILD, LINEAR_OVERLAP); }
Test(faults, every_allocation_streamed, .timeout = 500) { walk(CL_FAULT_ALLOC, MLP_STREAMED); }
Test(faults, every_enqueue_streamed, .timeout = 500) { walk(CL_FAULT_ENQUEUE, MLP_STREAMED); }
Test(faults, every_allocation_softmax, .timeout = 500) { walk(CL_FAULT_ALLOC, SOFTMAX); }
Test(faults, every_enqueue_softmax, .timeout = 500) { walk(CL_FAULT_ENQUEUE, SOFTMAX); }
Test(faults, every_build_softmax, .timeout = 500) { walk(CL_FAULT_BUILD, SOFTMAX); }
