/* SGD against hand computations (PyTorch's update rule, in double). Tolerance 2e-6·(1+|p|). */
#include "ref.h"

#define TOL 2e-6
static const float W0[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
static const float B0[2] = {0.1f, -0.2f};

/* PyTorch's step on one element; buf/has_buf are the momentum state. */
typedef struct ref_opt {
    double lr, mom, damp, wd;
    int nesterov;
} ref_opt;
static double ref_update(double p, double grad, double scale, const ref_opt *o, double *buf,
                         int *has_buf)
{
    double g = grad * scale + o->wd * p;
    if (o->mom != 0) {
        *buf = *has_buf ? o->mom * *buf + (1 - o->damp) * g : g;
        *has_buf = 1;
        g = o->nesterov ? g + o->mom * *buf : *buf;
    }
    return p - o->lr * g;
}

static void expect_params(clg_model *m, const double *wantW, const double *wantb, const char *what)
{
    float W[6], b[2];
    CLG_OK_OR_FAIL(m->ctx, clg_model_get_param(m, 0, W, 6));
    CLG_OK_OR_FAIL(m->ctx, clg_model_get_param(m, 1, b, 2));
    char msg[96];
    for (int i = 0; i < 6; i++) {
        snprintf(msg, sizeof msg, "%s W[%d]", what, i);
        EXPECT_CLOSE(W[i], wantW[i], TOL * (1 + fabs(wantW[i])), msg);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(msg, sizeof msg, "%s b[%d]", what, i);
        EXPECT_CLOSE(b[i], wantb[i], TOL * (1 + fabs(wantb[i])), msg);
    }
}

/* Runs `steps` steps with gradient sets g1, g2 on a fresh model and compares. */
static void run_case(clg_optimizer_options o, float scale, int steps, const char *what)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const float g[2][8] = {{0.3f, -0.6f, 1.2f, 0.05f, -2.0f, 0.7f, 0.4f, -0.9f},
                           {-0.1f, 0.8f, 0.2f, -1.5f, 0.6f, 0.3f, -0.2f, 1.1f}};
    double p[8], buf[8] = {0};
    int has[8] = {0};
    for (int i = 0; i < 6; i++) p[i] = W0[i];
    for (int i = 0; i < 2; i++) p[6 + i] = B0[i];
    ref_opt r = {o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov};
    for (int s = 0; s < steps; s++) {
        ref_set_linear_grads(m, g[s], g[s] + 6);
        CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, scale));
        for (int i = 0; i < 8; i++) p[i] = ref_update(p[i], g[s][i], scale, &r, &buf[i], &has[i]);
        char msg[96];
        snprintf(msg, sizeof msg, "%s, after step %d", what, s + 1);
        expect_params(m, p, p + 6, msg);
    }
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(sgd, defaults_are_pytorch_and_d2l)
{
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    cr_assert(o.lr == 0.03f && o.momentum == 0 && o.dampening == 0 && o.weight_decay == 0 &&
                  o.nesterov == 0,
              "lr 0.03, everything else 0");
}

Test(sgd, plain_step_by_hand)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.lr = 0.5f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const float gW[6] = {1, 2, 3, 4, 5, 6}, gb[2] = {-1, 0.5f};
    ref_set_linear_grads(m, gW, gb);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    /* p - 0.5 g, written out by hand. */
    const double W[6] = {0.0, -2.0, -1.25, 0.0, -3.25, -1.5}, b[2] = {0.6, -0.45};
    expect_params(m, W, b, "plain lr 0.5");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(sgd, weight_decay)
{
    run_case((clg_optimizer_options){.lr = 0.1f, .weight_decay = 0.05f}, 1.0f, 2, "wd 0.05");
}
Test(sgd, momentum_first_step_sets_buffer)
{
    run_case((clg_optimizer_options){.lr = 0.1f, .momentum = 0.9f}, 1.0f, 2, "momentum 0.9");
}
Test(sgd, dampening)
{
    run_case(
        (clg_optimizer_options){
            .lr = 0.1f, .momentum = 0.9f, .dampening = 0.3f, .weight_decay = 0.01f},
        1.0f, 2, "damp 0.3");
}
Test(sgd, nesterov)
{
    run_case(
        (clg_optimizer_options){.lr = 0.1f, .momentum = 0.8f, .weight_decay = 0.02f, .nesterov = 1},
        1.0f, 2, "nesterov");
}
Test(sgd, grad_scale)
{
    run_case((clg_optimizer_options){.lr = 0.03f}, 1.0f / 10.0f, 2, "scale 1/10");
}
Test(sgd, grad_scale_with_momentum_and_decay)
{
    run_case(
        (clg_optimizer_options){
            .lr = 0.05f, .momentum = 0.5f, .dampening = 0.1f, .weight_decay = 0.01f},
        1.0f / 3.0f, 2, "scale 1/3 all options");
}

Test(sgd, momentum_first_step_literal)
{
    /* buf = g on step 1 (no dampening applied): p = 0.5 - 0.1*0.3 = 0.47 exactly in reals. */
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = {
        .kind = CLG_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const float gW[6] = {0.3f, 0, 0, 0, 0, 0}, gb[2] = {0, 0};
    ref_set_linear_grads(m, gW, gb);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    float W[6];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W, 6));
    EXPECT_CLOSE(W[0], 0.47, TOL, "first momentum step ignores dampening");
    /* Step 2 with zero gradient: buf = 0.9*0.3 = 0.27, p = 0.47 - 0.027 = 0.443. */
    const float z[6] = {0};
    ref_set_linear_grads(m, z, gb);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W, 6));
    EXPECT_CLOSE(W[0], 0.443, TOL, "second step decays the buffer by momentum");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(sgd, two_groups_weights_decay_biases_do_not)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options ow = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.03f, .weight_decay = 0.01f},
                          ob = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.03f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &ow, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &ob));
    const float gW[6] = {1, -1, 0.5f, 0, 2, -2}, gb[2] = {0.25f, -4};
    ref_set_linear_grads(m, gW, gb);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    double W[6], b[2];
    for (int i = 0; i < 6; i++) W[i] = W0[i] - 0.03 * (gW[i] + 0.01 * W0[i]);
    for (int i = 0; i < 2; i++) b[i] = B0[i] - 0.03 * gb[i];
    expect_params(m, W, b, "weights wd 0.01, biases wd 0");
    /* Explicit indices: the weight alone into a group with lr 0. */
    clg_optimizer_options frozen = {.kind = CLG_OPTIMIZER_SGD};
    const size_t idx[1] = {0};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group(opt, idx, 1, &frozen));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    for (int i = 0; i < 2; i++) b[i] -= 0.03 * gb[i];
    expect_params(m, W, b, "weight frozen by lr 0, biases move again");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(sgd, error_statuses)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0), *empty;
    clg_optimizer *opt = NULL;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.lr = -0.1f;
    cr_expect_eq(clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT, "lr < 0");
    cr_expect_null(opt);
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.momentum = NAN;
    cr_expect_eq(clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT, "NaN momentum");
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.weight_decay = INFINITY;
    cr_expect_eq(clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT, "Inf weight decay");
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.nesterov = 1;
    cr_expect_eq(clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT,
                 "nesterov without momentum");
    cr_expect_eq(clg_optimizer_create(NULL, NULL, &opt), CLG_ERR_INVALID_ARGUMENT);
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &empty));
    cr_expect_eq(clg_optimizer_create(empty, NULL, &opt), CLG_ERR_STATE,
                 "model without parameters");
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, NULL, &opt));
    const size_t bad[2] = {1, 2};
    clg_optimizer_options ok = clg_optimizer_defaults(CLG_OPTIMIZER_SGD), neg = {.lr = NAN};
    cr_expect_eq(clg_optimizer_add_group(opt, bad, 2, &ok), CLG_ERR_INVALID_ARGUMENT,
                 "index 2 of 2");
    cr_expect(strstr(clg_last_error(ctx), "2"), "%s", clg_last_error(ctx));
    cr_expect_eq(clg_optimizer_add_group(opt, bad, 1, &neg), CLG_ERR_INVALID_ARGUMENT,
                 "NaN lr in group");
    cr_expect_eq(clg_optimizer_add_group(opt, NULL, 1, &ok), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_optimizer_add_group_by_kind(opt, 0, &neg), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_optimizer_step(opt, NAN), CLG_ERR_INVALID_ARGUMENT, "NaN grad_scale");
    cr_expect_eq(clg_optimizer_step(NULL, 1.0f), CLG_ERR_INVALID_ARGUMENT);
    /* A rejected group changes nothing: the step still uses the defaults. */
    float before[2], after[2];
    const float gW[6] = {0}, gb[2] = {1, 1};
    ref_set_linear_grads(m, gW, gb);
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, before, 2));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, after, 2));
    EXPECT_CLOSE(after[0], before[0] - 0.03, TOL, "default lr after rejected groups");
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 1, NULL));
    cr_expect_eq(clg_optimizer_step(opt, 1.0f), CLG_ERR_STATE,
                 "parameters added after the optimizer");
    clg_optimizer_destroy(opt);
    clg_optimizer_destroy(NULL);
    clg_model_destroy(m);
    clg_model_destroy(empty);
    clg_context_destroy(ctx);
}
