/* Learning-rate schedules against PyTorch's schedulers (rates printed by torch 1.13's
 * StepLR, CosineAnnealingLR and SequentialLR(LinearLR, CosineAnnealingLR), to 1e-12), and
 * clg_fit's use of them: per epoch, the same as setting the rate by hand, the base rates
 * back afterwards, and a fit resumed from a checkpoint bit-identical to one that never
 * stopped. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void expect_rates(const clg_schedule *s, size_t total, const double *want, size_t n,
                         const char *what)
{
    for (size_t e = 0; e < n; e++) {
        double lr = clg_schedule_lr(s, 0.1, e, total);
        cr_expect(fabs(lr - want[e]) <= 1e-12, "%s: epoch %zu: %.17g, PyTorch %.17g", what, e, lr,
                  want[e]);
    }
}

Test(schedule, rates_match_pytorch)
{
    clg_schedule s = clg_schedule_defaults();
    const double constant[3] = {0.1, 0.1, 0.1};
    expect_rates(&s, 3, constant, 3, "constant");
    s.kind = CLG_SCHEDULE_STEP;
    s.step_size = 2;
    s.gamma = 0.5; /* StepLR(opt, 2, 0.5) */
    const double step[6] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
    expect_rates(&s, 6, step, 6, "step");
    s = clg_schedule_defaults();
    s.kind = CLG_SCHEDULE_COSINE;
    s.t_max = 4;
    s.eta_min = 0.01; /* CosineAnnealingLR(opt, 4, 0.01) */
    const double cosine[5] = {0.1, 0.08681980515339464, 0.05500000000000001, 0.023180194846605363,
                              0.01};
    expect_rates(&s, 9, cosine, 5, "cosine");
    /* Past t_max the rate stays at eta_min (PyTorch's would rise again). */
    cr_expect(fabs(clg_schedule_lr(&s, 0.1, 7, 9) - 0.01) <= 1e-12);
    /* SequentialLR([LinearLR(1/3, total_iters=3), CosineAnnealingLR(5)], milestones=[3]);
     * t_max 0: the fit's 8 epochs less the warm-up. */
    s = clg_schedule_defaults();
    s.kind = CLG_SCHEDULE_COSINE;
    s.warmup = 3;
    const double warm[9] = {
        0.03333333333333333, 0.05555555555555556, 0.07777777777777778,  0.1, 0.09045084971874738,
        0.06545084971874737, 0.03454915028125263, 0.009549150281252633, 0.0};
    expect_rates(&s, 8, warm, 9, "warm-up then cosine");
    s.warmup_start = 0;
    cr_expect(isnan(clg_schedule_lr(&s, 0.1, 0, 8)), "an invalid schedule gives NaN");
}

static clg_model *linear_model(clg_context *ctx, size_t d, size_t hidden)
{
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 7;
    init.weight_std = 0.3f;
    if (hidden) {
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, hidden, &init));
        CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
        d = hidden;
    }
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, 1, &init));
    return m;
}

/* Every parameter of m, concatenated, into out (room for cap floats); returns the count. */
static size_t params_of(clg_model *m, float *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < clg_model_param_count(m); i++) {
        clg_param_info pi;
        CLG_OK_OR_FAIL(NULL, clg_model_param_info(m, i, &pi));
        cr_assert(k + pi.rows * pi.cols <= cap);
        CLG_OK_OR_FAIL(NULL, clg_model_get_param(m, i, out + k, pi.rows * pi.cols));
        k += pi.rows * pi.cols;
    }
    return k;
}

static clg_dataset *data(clg_context *ctx)
{
    static const float w[3] = {2.0f, -3.4f, 0.5f};
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 200, w, 3, 4.2f, 0.01f, 3, &ds));
    return ds;
}

static clg_fit_options fit_options(size_t epochs)
{
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = epochs;
    o.batch_size = 16;
    o.seed = 11;
    o.optimizer.lr = 0.05f;
    o.optimizer.momentum = 0.9f;
    return o;
}

/* A step schedule through clg_fit equals one-epoch fits with the rate set by hand, and the
 * optimizer has its base rate back afterwards. Single Linear (the fused paths) and an MLP. */
static void schedule_by_hand(size_t hidden)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = data(ctx);
    clg_model *a = linear_model(ctx, 3, hidden), *b = linear_model(ctx, 3, hidden);
    clg_fit_options o = fit_options(5);
    o.schedule.kind = CLG_SCHEDULE_STEP;
    o.schedule.step_size = 2;
    o.schedule.gamma = 0.5;
    clg_optimizer *oa, *ob;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(a, &o.optimizer, &oa));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(b, &o.optimizer, &ob));
    CLG_OK_OR_FAIL(ctx, clg_fit(a, ds, &o, oa, NULL));
    float lr = 0;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_get_lr(oa, 0, &lr));
    cr_expect_eq(lr, 0.05f, "the base rate is back after the fit: %g", (double)lr);
    clg_fit_options one = fit_options(1);
    for (size_t e = 0; e < 5; e++) {
        CLG_OK_OR_FAIL(ctx, clg_optimizer_set_lr(ob, 0, 0.05f * (float)pow(0.5, (double)(e / 2))));
        one.first_epoch = e;
        CLG_OK_OR_FAIL(ctx, clg_fit(b, ds, &one, ob, NULL));
    }
    float pa[64], pb[64];
    size_t n = params_of(a, pa, 64);
    cr_assert_eq(params_of(b, pb, 64), n);
    cr_expect(memcmp(pa, pb, n * sizeof *pa) == 0, "scheduled fit != rates set by hand");
    clg_optimizer_destroy(oa);
    clg_optimizer_destroy(ob);
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(schedule, fit_sets_the_rate_per_epoch_linear) { schedule_by_hand(0); }
Test(schedule, fit_sets_the_rate_per_epoch_mlp) { schedule_by_hand(8); }

/* 4 epochs in one fit == 2 epochs, a checkpoint with the optimizer, a fresh model and
 * optimizer loaded from it, and 2 more epochs with first_epoch = 2: bit for bit, with
 * shuffling, momentum and a warm-up + cosine schedule. */
static void resume(size_t hidden, clg_optimizer_kind kind)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = data(ctx);
    clg_fit_options o = fit_options(4);
    float lr = o.optimizer.lr;
    o.optimizer = clg_optimizer_defaults(kind);
    o.optimizer.lr = kind == CLG_OPTIMIZER_SGD ? lr : 0.01f;
    if (kind == CLG_OPTIMIZER_SGD) o.optimizer.momentum = 0.9f;
    o.schedule.kind = CLG_SCHEDULE_COSINE;
    o.schedule.warmup = 1;
    o.schedule.t_max = 3;
    clg_model *whole = linear_model(ctx, 3, hidden);
    CLG_OK_OR_FAIL(ctx, clg_fit(whole, ds, &o, NULL, NULL));

    clg_model *first = linear_model(ctx, 3, hidden), *second;
    clg_optimizer *o1, *o2;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(first, &o.optimizer, &o1));
    o.epochs = 2;
    CLG_OK_OR_FAIL(ctx, clg_fit(first, ds, &o, o1, NULL));
    char path[512];
    snprintf(path, sizeof path, "%s/resume.clg", test_tmpdir());
    CLG_OK_OR_FAIL(ctx, clg_model_save(first, o1, "resume", path));
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &second, NULL, 0));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(second, &o.optimizer, &o2));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(second, o2, path));
    o.first_epoch = 2;
    CLG_OK_OR_FAIL(ctx, clg_fit(second, ds, &o, o2, NULL));
    remove(path);

    float pa[64], pb[64];
    size_t n = params_of(whole, pa, 64);
    cr_assert_eq(params_of(second, pb, 64), n);
    for (size_t i = 0; i < n; i++)
        cr_expect(memcmp(&pa[i], &pb[i], sizeof *pa) == 0,
                  "%s, parameter %zu: %.9g resumed, %.9g whole", clg_optimizer_kind_name(kind), i,
                  (double)pb[i], (double)pa[i]);
    clg_optimizer_destroy(o1);
    clg_optimizer_destroy(o2);
    clg_model_destroy(whole);
    clg_model_destroy(first);
    clg_model_destroy(second);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(schedule, resumed_fit_is_bit_identical_sgd_linear) { resume(0, CLG_OPTIMIZER_SGD); }
Test(schedule, resumed_fit_is_bit_identical_sgd_mlp) { resume(8, CLG_OPTIMIZER_SGD); }

Test(schedule, invalid_schedules_are_refused)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = data(ctx);
    clg_model *m = linear_model(ctx, 3, 0);
    clg_fit_options o = fit_options(1);
    o.schedule.kind = CLG_SCHEDULE_STEP;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "step_size must be >= 1", "schedule step with step_size 0");
    o.schedule.step_size = 1;
    o.schedule.gamma = 1.5;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "gamma must be in (0, 1]", "schedule step with gamma 1.5");
    o.schedule = clg_schedule_defaults();
    o.schedule.kind = CLG_SCHEDULE_COSINE;
    o.schedule.eta_min = -1;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "eta_min must be finite and >= 0", "cosine schedule with eta_min -1");
    o.schedule = clg_schedule_defaults();
    o.schedule.warmup = 2;
    o.schedule.warmup_start = 0;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "warmup_start must be in (0, 1]", "warm-up starting at 0");
    o.schedule = clg_schedule_defaults();
    o.schedule.kind = (clg_schedule_kind)7;
    EXPECT_REFUSED(ctx, clg_fit(m, ds, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "unknown schedule kind", "schedule kind 7");
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
Test(schedule, resumed_fit_is_bit_identical_adam_linear) { resume(0, CLG_OPTIMIZER_ADAM); }
Test(schedule, resumed_fit_is_bit_identical_adamw_mlp) { resume(8, CLG_OPTIMIZER_ADAMW); }
Test(schedule, resumed_fit_is_bit_identical_rmsprop_mlp) { resume(8, CLG_OPTIMIZER_RMSPROP); }

/* A checkpoint saved by on_epoch in the middle of a scheduled fit holds the base rates
 * (the scheduled ones apply only while an epoch's steps are enqueued), so resuming from it
 * gives the bits of the fit that never stopped; and on_epoch sees the base rate. */
typedef struct saver {
    clg_model *m;
    clg_optimizer *opt;
    const char *path;
    float lr_seen;
} saver;

static void save_at_2(size_t epoch, double loss, void *user)
{
    (void)loss;
    saver *s = user;
    CLG_OK_OR_FAIL(NULL, clg_optimizer_get_lr(s->opt, 0, &s->lr_seen));
    if (epoch == 2) CLG_OK_OR_FAIL(NULL, clg_model_save(s->m, s->opt, "mid", s->path));
}

Test(schedule, checkpoint_from_a_callback_resumes_exactly)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = data(ctx);
    clg_fit_options o = fit_options(4);
    o.schedule.kind = CLG_SCHEDULE_STEP;
    o.schedule.step_size = 1;
    o.schedule.gamma = 0.5;
    char path[512];
    snprintf(path, sizeof path, "%s/mid.clg", test_tmpdir());
    clg_model *whole = linear_model(ctx, 3, 8), *resumed;
    clg_optimizer *ow, * or ;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(whole, &o.optimizer, &ow));
    saver sv = {whole, ow, path, 0};
    o.on_epoch = save_at_2;
    o.user = &sv;
    CLG_OK_OR_FAIL(ctx, clg_fit(whole, ds, &o, ow, NULL));
    cr_expect_eq(sv.lr_seen, o.optimizer.lr, "on_epoch saw rate %g, the base is %g",
                 (double)sv.lr_seen, (double)o.optimizer.lr);
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &resumed, NULL, 0));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(resumed, &o.optimizer, & or));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(resumed, or, path));
    o.on_epoch = NULL;
    o.first_epoch = 2;
    o.epochs = 2;
    CLG_OK_OR_FAIL(ctx, clg_fit(resumed, ds, &o, or, NULL));
    remove(path);
    float pa[64], pb[64];
    size_t n = params_of(whole, pa, 64);
    cr_assert_eq(params_of(resumed, pb, 64), n);
    cr_expect(memcmp(pa, pb, n * sizeof *pa) == 0, "resumed from epoch 2's checkpoint != whole");
    clg_optimizer_destroy(ow);
    clg_optimizer_destroy(or);
    clg_model_destroy(whole);
    clg_model_destroy(resumed);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
