/* The optimizer interface (include/clgrad/optim.h, lib/optim/optimizer.c): kinds, groups,
 * learning rates per group for schedules, the description, steps, option checks, and
 * clg_fit taking the optimizer's options. The SGD arithmetic itself is test_sgd.c's. */
#include "ref.h"

static const float W0[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
static const float B0[2] = {0.1f, -0.2f};

Test(optim, kinds_defaults_and_names)
{
    cr_expect_str_eq(clg_optimizer_kind_name(CLG_OPTIMIZER_SGD), "SGD");
    cr_expect_null(clg_optimizer_kind_name((clg_optimizer_kind)77), "unknown kind");
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    cr_expect(o.kind == CLG_OPTIMIZER_SGD && o.lr == 0.03f && o.momentum == 0.0f &&
                  o.dampening == 0.0f && o.weight_decay == 0.0f && o.nesterov == 0,
              "SGD defaults: d2l's lr 0.03, PyTorch's zeros");
    for (size_t i = 0; i < sizeof o.reserved / sizeof *o.reserved; i++)
        cr_expect_eq(o.reserved[i], 0u, "reserved word %zu zero", i);
    cr_expect_eq(sizeof(clg_optimizer_options), 64u, "fixed size: room to grow in reserved");
    clg_fit_options f = clg_fit_defaults();
    cr_expect_eq(f.struct_size, sizeof f);
    cr_expect(f.optimizer.kind == CLG_OPTIMIZER_SGD && f.optimizer.lr == 0.03f,
              "fit defaults carry SGD's defaults");
}

Test(optim, bad_kinds_and_options_are_refused_with_a_message)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt = NULL;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.kind = (clg_optimizer_kind)77;
    EXPECT_REFUSED(ctx, clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT,
                   "unknown optimizer kind", "optimizer kind 77");
    cr_expect_null(opt);
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.reserved[3] = 1;
    EXPECT_REFUSED(ctx, clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT,
                   "reserved option words must be zero", "optimizer option reserved[3] = 1");
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.nesterov = 2;
    EXPECT_REFUSED(ctx, clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT,
                   "nesterov must be 0 or 1", "SGD nesterov = 2");
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, NULL, &opt));
    o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.kind = (clg_optimizer_kind)77;
    const size_t one = 1;
    cr_expect_eq(clg_optimizer_add_group(opt, &one, 1, &o), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_optimizer_group_count(opt), 1u, "a refused group is not added");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(optim, groups_and_their_options)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD), b = o, got;
    o.momentum = 0.9f;
    b.lr = 0.5f;
    b.weight_decay = 0.25f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    cr_expect_eq(clg_optimizer_get_kind(opt), CLG_OPTIMIZER_SGD);
    cr_expect_eq(clg_optimizer_group_count(opt), 1u);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &b));
    cr_expect_eq(clg_optimizer_group_count(opt), 2u);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_group(opt, 0, &got));
    cr_expect(got.lr == 0.03f && got.momentum == 0.9f, "group 0 as given");
    CLG_OK_OR_FAIL(ctx, clg_optimizer_group(opt, 1, &got));
    cr_expect(got.lr == 0.5f && got.weight_decay == 0.25f && got.momentum == 0.0f,
              "group 1 as given");
    EXPECT_REFUSED(ctx, clg_optimizer_group(opt, 2, &got), CLG_ERR_INVALID_ARGUMENT, "group 2 of 2",
                   "optimizer group 2 of 2");
    float lr;
    cr_expect_eq(clg_optimizer_get_lr(opt, 5, &lr), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_optimizer_get_lr(NULL, 0, &lr), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_optimizer_group_count(NULL), 0u);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* A schedule changes a group's learning rate between steps; the momentum buffer carries
 * over. Against PyTorch's rule in double: buf1 = g1, p1 = p0 - lr1·buf1;
 * buf2 = μ·buf1 + g2, p2 = p1 - lr2·buf2. */
Test(optim, set_lr_between_steps_keeps_momentum)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.lr = 0.1f;
    o.momentum = 0.5f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const float g1[6] = {1, 2, 3, 4, 5, 6}, g2[6] = {-2, 1, 0.5f, 0, 3, -1};
    const float gb1[2] = {1, -1}, gb2[2] = {0.5f, 2};
    ref_set_linear_grads(m, g1, gb1);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_set_lr(opt, 0, 0.01f));
    float lr;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_get_lr(opt, 0, &lr));
    cr_expect_eq(lr, 0.01f, "the new learning rate reads back");
    ref_set_linear_grads(m, g2, gb2);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    cr_expect_eq(clg_optimizer_steps(opt), 2u);
    float W[6], b[2];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W, 6));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b, 2));
    for (int i = 0; i < 8; i++) {
        double p0 = i < 6 ? W0[i] : B0[i - 6], a = i < 6 ? g1[i] : gb1[i - 6];
        double c = i < 6 ? g2[i] : gb2[i - 6];
        double buf = a, p = p0 - 0.1 * buf;
        buf = 0.5 * buf + c;
        p -= (double)0.01f * buf;
        float got = i < 6 ? W[i] : b[i - 6];
        EXPECT_CLOSE(got, p, 2e-6 * (1 + fabs(p)), "param after a learning-rate change");
    }
    EXPECT_REFUSED(ctx, clg_optimizer_set_lr(opt, 0, -1.0f), CLG_ERR_INVALID_ARGUMENT,
                   "invalid learning rate", "set_lr(-1)");
    EXPECT_REFUSED(ctx, clg_optimizer_set_lr(opt, 0, NAN), CLG_ERR_INVALID_ARGUMENT, "non-finite",
                   "set_lr(NaN)");
    CLG_OK_OR_FAIL(ctx, clg_optimizer_get_lr(opt, 0, &lr));
    cr_expect_eq(lr, 0.01f, "a refused learning rate changes nothing");
    cr_expect_eq(clg_optimizer_set_lr(opt, 1, 0.1f), CLG_ERR_INVALID_ARGUMENT, "no group 1");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(optim, describe_prints_like_pytorch_and_truncates_like_snprintf)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD), b = o;
    o.momentum = 0.9f;
    o.nesterov = 1;
    b.lr = 0.5f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &b));
    const char *want = "SGD (\n"
                       "Parameter Group 0\n"
                       "    dampening: 0\n"
                       "    lr: 0.03\n"
                       "    momentum: 0.9\n"
                       "    nesterov: True\n"
                       "    weight_decay: 0\n"
                       "Parameter Group 1\n"
                       "    dampening: 0\n"
                       "    lr: 0.5\n"
                       "    momentum: 0\n"
                       "    nesterov: False\n"
                       "    weight_decay: 0\n"
                       ")";
    char buf[512];
    size_t n = clg_optimizer_describe(opt, buf, sizeof buf);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(n, strlen(want), "returns the full length");
    char small[10];
    memset(small, 'x', sizeof small);
    n = clg_optimizer_describe(opt, small, sizeof small);
    cr_expect_eq(n, strlen(want), "the full length even when cut");
    cr_expect_str_eq(small, "SGD (\nPar", "cut to 9 characters and a NUL");
    cr_expect_eq(clg_optimizer_describe(opt, NULL, 0), strlen(want), "length only");
    cr_expect_eq(clg_optimizer_describe(NULL, buf, sizeof buf), 0u);
    cr_expect_str_eq(buf, "", "NULL optimizer: empty text");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* clg_fit without an optimizer makes one of fit_options.optimizer: the same result as
 * passing an optimizer made with those options. */
Test(optim, fit_uses_the_options_optimizer_when_none_is_given)
{
    clg_context *ctx = test_context();
    clg_dataset *ds;
    const float w[2] = {2.0f, -3.4f};
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, 200, w, 2, 4.2f, 0.01f, 5, &ds));
    clg_fit_options fo = clg_fit_defaults();
    fo.on_epoch = NULL;
    fo.epochs = 2;
    fo.optimizer.lr = 0.05f;
    fo.optimizer.momentum = 0.5f;
    float a[2], b[2];
    clg_model *m1, *m2;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m1, 2, 1, NULL));
    CLG_OK_OR_FAIL(ctx, clg_fit(m1, ds, &fo, NULL, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m2));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m2, 2, 1, NULL));
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m2, &fo.optimizer, &opt));
    CLG_OK_OR_FAIL(ctx, clg_fit(m2, ds, &fo, opt, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m1, 0, a, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m2, 0, b, 2));
    cr_expect_arr_eq(a, b, sizeof a, "same weights either way");
    cr_expect_eq(clg_optimizer_steps(opt), 40u, "2 epochs of 20 batches");
    /* Options from before struct_size existed, or not from the defaults, are refused. */
    fo.struct_size = 0;
    EXPECT_REFUSED(ctx, clg_fit(m1, ds, &fo, NULL, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "start from clg_fit_defaults()", "fit options with struct_size 0");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m1);
    clg_model_destroy(m2);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* A group whose momentum is 0 steps as plain SGD even when its parameters already have a
 * momentum buffer (made while they were in a group with momentum): the buffer is not used.
 * p1 = p0 - 0.1·g (momentum's first step: buf = g); p2 = p1 - 0.1·g. */
Test(optim, a_group_without_momentum_ignores_an_existing_buffer)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD), plain = o;
    o.lr = 0.1f;
    o.momentum = 0.9f;
    plain.lr = 0.1f;
    plain.dampening = 0.5f; /* would scale the step by 0.5 if the buffer were used */
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const float gW[6] = {1, 1, 1, 1, 1, 1}, gb[2] = {1, 1};
    ref_set_linear_grads(m, gW, gb);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    const size_t bias = 1;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group(opt, &bias, 1, &plain));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    float b[2];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b, 2));
    for (int j = 0; j < 2; j++)
        EXPECT_CLOSE(b[j], (double)B0[j] - 0.2, 2e-6, "two plain steps of 0.1 on the bias");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}
