/* Adam, AdamW and RMSprop (lib/optim/adam.c, rmsprop.c, lib/ops/adam.c, cl/adam.cl) against
 * PyTorch's update rules computed here in double: every variant for 6 steps with fresh
 * gradients each step, per-group options, learning-rate changes that keep the state, the
 * option checks, the description, checkpoints (resume bit for bit) and clg_fit (the unfused
 * path whatever CLGRAD_FUSED says). Parameters within TOL·(1 + |p|), TOL = 2e-6. */
#include "ref.h"

#define TOL 2e-6
#define NP 8 /* Linear(3→2): W (6) then b (2) */
static const float W0[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
static const float B0[2] = {0.1f, -0.2f};

/* ------------------------------------------------------------ the reference */

/* One element's state, PyTorch's names: exp_avg, exp_avg_sq, max_exp_avg_sq (Adam);
 * square_avg, momentum_buffer, grad_avg (RMSprop). All start at 0. */
typedef struct ref_elem {
    double exp_avg, exp_avg_sq, max_exp_avg_sq;
    double square_avg, momentum_buffer, grad_avg;
} ref_elem;

/* PyTorch's step t (from 1) on one element, in double from the float options. */
static double ref_update(const clg_optimizer_options *o, double p, double grad, double scale,
                         ref_elem *e, uint64_t t)
{
    const double lr = o->lr, wd = o->weight_decay, eps = o->eps;
    double g = grad * scale;
    if (o->kind == CLG_OPTIMIZER_RMSPROP) {
        const double alpha = o->alpha;
        if (wd != 0) g += wd * p;
        e->square_avg = alpha * e->square_avg + (1 - alpha) * g * g;
        double avg = e->square_avg;
        if (o->centered) {
            e->grad_avg = alpha * e->grad_avg + (1 - alpha) * g;
            avg -= e->grad_avg * e->grad_avg;
        }
        avg = sqrt(avg) + eps;
        if (o->momentum > 0) {
            e->momentum_buffer = o->momentum * e->momentum_buffer + g / avg;
            return p - lr * e->momentum_buffer;
        }
        return p - lr * g / avg;
    }
    const double b1 = o->beta1, b2 = o->beta2;
    if (o->kind == CLG_OPTIMIZER_ADAMW)
        p *= 1 - lr * wd;
    else if (wd != 0)
        g += wd * p;
    e->exp_avg = b1 * e->exp_avg + (1 - b1) * g;
    e->exp_avg_sq = b2 * e->exp_avg_sq + (1 - b2) * g * g;
    double v = e->exp_avg_sq;
    if (o->amsgrad) {
        e->max_exp_avg_sq = fmax(e->max_exp_avg_sq, e->exp_avg_sq);
        v = e->max_exp_avg_sq;
    }
    const double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    return p - lr / bc1 * e->exp_avg / (sqrt(v) / sqrt(bc2) + eps);
}

/* Gradients of step s (W then b), reproducible, in [-2, 2). */
static void step_grads(int s, float *g)
{
    uint64_t st = 0x5DEECE66DULL + 977ULL * (uint64_t)s;
    for (int i = 0; i < NP; i++) g[i] = ref_uniform(&st, -2.0f, 2.0f);
}

static void params(clg_model *m, float *p)
{
    CLG_OK_OR_FAIL(m->ctx, clg_model_get_param(m, 0, p, 6));
    CLG_OK_OR_FAIL(m->ctx, clg_model_get_param(m, 1, p + 6, 2));
}

static void expect_params(clg_model *m, const double *want, const char *what, int step)
{
    float got[NP];
    params(m, got);
    char msg[160];
    for (int i = 0; i < NP; i++) {
        snprintf(msg, sizeof msg, "%s, step %d, %s[%d] (tol %g·(1+|p|))", what, step,
                 i < 6 ? "W" : "b", i < 6 ? i : i - 6, TOL);
        EXPECT_CLOSE(got[i], want[i], TOL * (1 + fabs(want[i])), msg);
    }
}

/* A case: group 0 (every parameter, or the weights when `biases` is set) and the biases'
 * group; at step lr_at (0: never) group 0's learning rate becomes new_lr. */
typedef struct ref_case {
    clg_optimizer_options o, biases;
    int has_biases;
    float scale;
    int steps, lr_at;
    float new_lr;
} ref_case;

/* Runs the case on a fresh Linear(3→2) and checks every parameter after every step;
 * returns the final parameters in out (may be NULL). */
static void run_case(const ref_case *c, const char *what, double *out)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &c->o, &opt));
    if (c->has_biases) CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &c->biases));
    clg_optimizer_options group[NP];
    for (int i = 0; i < NP; i++) group[i] = i >= 6 && c->has_biases ? c->biases : c->o;
    double p[NP];
    ref_elem e[NP];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 6; i++) p[i] = W0[i];
    for (int i = 0; i < 2; i++) p[6 + i] = B0[i];
    for (int s = 1; s <= c->steps; s++) {
        if (s == c->lr_at) {
            CLG_OK_OR_FAIL(ctx, clg_optimizer_set_lr(opt, 0, c->new_lr));
            for (int i = 0; i < NP; i++)
                if (!(i >= 6 && c->has_biases)) group[i].lr = c->new_lr;
        }
        float g[NP];
        step_grads(s, g);
        ref_set_linear_grads(m, g, g + 6);
        CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, c->scale));
        for (int i = 0; i < NP; i++)
            p[i] = ref_update(&group[i], p[i], g[i], c->scale, &e[i], (uint64_t)s);
        expect_params(m, p, what, s);
    }
    cr_expect_eq(clg_optimizer_steps(opt), (uint64_t)c->steps, "%s: steps counted", what);
    if (out) memcpy(out, p, sizeof p);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

static ref_case one_group(clg_optimizer_options o)
{
    ref_case c = {.o = o, .scale = 1.0f, .steps = 6};
    return c;
}

static clg_optimizer_options adam(float lr)
{
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_ADAM);
    o.lr = lr;
    return o;
}

static clg_optimizer_options rmsprop(float lr)
{
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_RMSPROP);
    o.lr = lr;
    return o;
}

/* ------------------------------------------------------------ kinds and defaults */

Test(adam, kinds_names_and_pytorch_defaults)
{
    cr_expect_str_eq(clg_optimizer_kind_name(CLG_OPTIMIZER_ADAM), "Adam");
    cr_expect_str_eq(clg_optimizer_kind_name(CLG_OPTIMIZER_ADAMW), "AdamW");
    cr_expect_str_eq(clg_optimizer_kind_name(CLG_OPTIMIZER_RMSPROP), "RMSprop");
    cr_expect_eq(CLG_OPTIMIZER_ADAM, 1);
    cr_expect_eq(CLG_OPTIMIZER_ADAMW, 2);
    cr_expect_eq(CLG_OPTIMIZER_RMSPROP, 3);
    cr_expect_eq(sizeof(clg_optimizer_options), 64u);
    /* torch.optim.Adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad False */
    clg_optimizer_options a = clg_optimizer_defaults(CLG_OPTIMIZER_ADAM);
    cr_expect(a.kind == CLG_OPTIMIZER_ADAM && a.lr == 1e-3f && a.beta1 == 0.9f &&
                  a.beta2 == 0.999f && a.eps == 1e-8f && a.weight_decay == 0.0f && a.amsgrad == 0 &&
                  a.momentum == 0.0f && a.alpha == 0.0f,
              "Adam's defaults");
    /* torch.optim.AdamW: the same but weight_decay 1e-2 */
    clg_optimizer_options w = clg_optimizer_defaults(CLG_OPTIMIZER_ADAMW);
    cr_expect(w.kind == CLG_OPTIMIZER_ADAMW && w.lr == 1e-3f && w.beta1 == 0.9f &&
                  w.beta2 == 0.999f && w.eps == 1e-8f && w.weight_decay == 1e-2f && w.amsgrad == 0,
              "AdamW's defaults");
    /* torch.optim.RMSprop: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0,
     * centered False */
    clg_optimizer_options r = clg_optimizer_defaults(CLG_OPTIMIZER_RMSPROP);
    cr_expect(r.kind == CLG_OPTIMIZER_RMSPROP && r.lr == 1e-2f && r.alpha == 0.99f &&
                  r.eps == 1e-8f && r.weight_decay == 0.0f && r.momentum == 0.0f &&
                  r.centered == 0 && r.beta1 == 0.0f,
              "RMSprop's defaults");
    const clg_optimizer_options *all[3] = {&a, &w, &r};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof a.reserved / sizeof *a.reserved; i++)
            cr_expect_eq(all[k]->reserved[i], 0u, "kind %d reserved word %zu", k, i);
    /* State buffers carry PyTorch's state_dict keys (checkpoints and messages show them). */
    const clg_optim_impl *ia = clg_optim_impl_of(CLG_OPTIMIZER_ADAM);
    const clg_optim_impl *iw = clg_optim_impl_of(CLG_OPTIMIZER_ADAMW);
    const clg_optim_impl *ir = clg_optim_impl_of(CLG_OPTIMIZER_RMSPROP);
    cr_assert(ia && iw && ir && ia->nstate == 3 && iw->nstate == 3 && ir->nstate == 3);
    cr_expect_str_eq(ia->state_names[0], "exp_avg");
    cr_expect_str_eq(ia->state_names[1], "exp_avg_sq");
    cr_expect_str_eq(ia->state_names[2], "max_exp_avg_sq");
    cr_expect_str_eq(iw->state_names[2], "max_exp_avg_sq");
    cr_expect_str_eq(ir->state_names[0], "square_avg");
    cr_expect_str_eq(ir->state_names[1], "momentum_buffer");
    cr_expect_str_eq(ir->state_names[2], "grad_avg");
    cr_expect(!ia->fused_sgd && !iw->fused_sgd && !ir->fused_sgd, "the fused kernels run SGD only");
}

/* ------------------------------------------------------------ update rules */

Test(adam, adam_defaults)
{
    run_case(&(ref_case){.o = adam(1e-3f), .scale = 1, .steps = 6}, "Adam defaults", NULL);
}

Test(adam, adam_large_lr_and_betas)
{
    clg_optimizer_options o = adam(0.05f);
    o.beta1 = 0.5f;
    o.beta2 = 0.9f;
    o.eps = 1e-3f;
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6}, "Adam lr 0.05 betas (0.5, 0.9) eps 1e-3",
             NULL);
}

Test(adam, adam_beta1_zero_and_grad_scale)
{
    clg_optimizer_options o = adam(0.02f);
    o.beta1 = 0.0f;
    ref_case c = one_group(o);
    c.scale = 0.25f;
    run_case(&c, "Adam beta1 0, grad_scale 1/4", NULL);
}

Test(adam, adam_amsgrad)
{
    clg_optimizer_options o = adam(0.01f);
    o.amsgrad = 1;
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6}, "Adam amsgrad", NULL);
}

/* Adam's weight decay is L2 in the gradient, AdamW's multiplies the parameter: the same
 * options give two different trajectories, each PyTorch's. */
Test(adam, weight_decay_adam_l2_vs_adamw_decoupled)
{
    clg_optimizer_options o = adam(0.02f), w = clg_optimizer_defaults(CLG_OPTIMIZER_ADAMW);
    o.weight_decay = 0.5f;
    w.lr = 0.02f;
    w.weight_decay = 0.5f;
    double pa[NP], pw[NP];
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6}, "Adam weight_decay 0.5", pa);
    run_case(&(ref_case){.o = w, .scale = 1, .steps = 6}, "AdamW weight_decay 0.5", pw);
    double most = 0;
    for (int i = 0; i < NP; i++) most = fmax(most, fabs(pa[i] - pw[i]));
    cr_expect_gt(most, 1e-3, "L2 and decoupled decay differ (max |diff| %g)", most);
}

Test(adam, adamw_defaults_and_amsgrad_with_scale)
{
    clg_optimizer_options w = clg_optimizer_defaults(CLG_OPTIMIZER_ADAMW);
    run_case(&(ref_case){.o = w, .scale = 1, .steps = 6}, "AdamW defaults", NULL);
    w.lr = 0.03f;
    w.amsgrad = 1;
    w.weight_decay = 0.1f;
    run_case(&(ref_case){.o = w, .scale = 0.5f, .steps = 6}, "AdamW amsgrad wd 0.1 scale 1/2",
             NULL);
}

Test(adam, rmsprop_defaults)
{
    run_case(&(ref_case){.o = rmsprop(1e-2f), .scale = 1, .steps = 6}, "RMSprop defaults", NULL);
}

Test(adam, rmsprop_centered)
{
    clg_optimizer_options o = rmsprop(0.01f);
    o.centered = 1;
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6}, "RMSprop centered", NULL);
}

Test(adam, rmsprop_momentum)
{
    clg_optimizer_options o = rmsprop(0.005f);
    o.momentum = 0.9f;
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6}, "RMSprop momentum 0.9", NULL);
}

Test(adam, rmsprop_centered_momentum_decay_alpha_scale)
{
    clg_optimizer_options o = rmsprop(0.002f);
    o.centered = 1;
    o.momentum = 0.5f;
    o.weight_decay = 0.05f;
    o.alpha = 0.9f;
    o.eps = 1e-4f;
    run_case(&(ref_case){.o = o, .scale = 1.0f / 3.0f, .steps = 6},
             "RMSprop centered momentum 0.5 wd 0.05 alpha 0.9 scale 1/3", NULL);
}

/* ------------------------------------------------------------ groups and schedules */

Test(adam, groups_with_their_own_options)
{
    clg_optimizer_options w = adam(0.01f), b = adam(0.05f);
    w.beta1 = 0.8f;
    w.beta2 = 0.99f;
    b.amsgrad = 1;
    b.weight_decay = 0.1f;
    run_case(&(ref_case){.o = w, .biases = b, .has_biases = 1, .scale = 1, .steps = 6},
             "Adam weights lr 0.01 betas (0.8, 0.99), biases lr 0.05 amsgrad wd 0.1", NULL);
    clg_optimizer_options rw = rmsprop(0.01f), rb = rmsprop(0.001f);
    rw.centered = 1;
    rb.momentum = 0.7f;
    run_case(&(ref_case){.o = rw, .biases = rb, .has_biases = 1, .scale = 1, .steps = 6},
             "RMSprop weights centered, biases lr 1e-3 momentum 0.7", NULL);
}

/* The buffers a group uses exist after a step; the others are never made. */
Test(adam, state_buffers_only_where_used)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options w = adam(0.01f), b = w;
    b.amsgrad = 1;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &w, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &b));
    float g[NP];
    step_grads(1, g);
    ref_set_linear_grads(m, g, g + 6);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    cr_expect(clg_optim_state(opt, 0, 0) && clg_optim_state(opt, 0, 1), "W: exp_avg, exp_avg_sq");
    cr_expect_null(clg_optim_state(opt, 0, 2), "W: no max_exp_avg_sq without amsgrad");
    cr_expect_not_null(clg_optim_state(opt, 1, 2), "b: max_exp_avg_sq with amsgrad");
    clg_optimizer_destroy(opt);
    clg_optimizer_options r = rmsprop(0.01f), rc = r;
    rc.centered = 1;
    rc.momentum = 0.9f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &r, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &rc));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    cr_expect_not_null(clg_optim_state(opt, 0, 0), "W: square_avg");
    cr_expect(!clg_optim_state(opt, 0, 1) && !clg_optim_state(opt, 0, 2),
              "W: no momentum_buffer, no grad_avg");
    cr_expect(clg_optim_state(opt, 1, 0) && clg_optim_state(opt, 1, 1) &&
                  clg_optim_state(opt, 1, 2),
              "b: all three");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* A schedule's set_lr between steps keeps exp_avg, exp_avg_sq and the step count (bias
 * correction goes on with t = 3, 4, ...), and RMSprop's buffers. */
Test(adam, set_lr_between_steps_keeps_the_state)
{
    clg_optimizer_options o = adam(0.05f);
    o.amsgrad = 1;
    run_case(&(ref_case){.o = o, .scale = 1, .steps = 6, .lr_at = 3, .new_lr = 0.005f},
             "Adam lr 0.05 then 0.005 from step 3", NULL);
    clg_optimizer_options w = clg_optimizer_defaults(CLG_OPTIMIZER_ADAMW);
    w.lr = 0.05f;
    run_case(&(ref_case){.o = w, .scale = 1, .steps = 6, .lr_at = 4, .new_lr = 0.2f},
             "AdamW lr 0.05 then 0.2 from step 4 (decay uses the new lr)", NULL);
    clg_optimizer_options r = rmsprop(0.01f);
    r.momentum = 0.9f;
    r.centered = 1;
    run_case(&(ref_case){.o = r,
                         .biases = rmsprop(0.003f),
                         .has_biases = 1,
                         .scale = 1,
                         .steps = 6,
                         .lr_at = 2,
                         .new_lr = 0.001f},
             "RMSprop lr 0.01 then 0.001 from step 2", NULL);
}

/* ------------------------------------------------------------ refusals */

typedef struct refusal {
    clg_optimizer_kind kind;
    void (*set)(clg_optimizer_options *o);
    const char *needle, *input;
} refusal;

#define SET(name, body)                                                                            \
    static void name(clg_optimizer_options *o) { body; }
SET(lr_neg, o->lr = -1e-3f)
SET(lr_nan, o->lr = NAN)
SET(beta1_one, o->beta1 = 1.0f)
SET(beta1_neg, o->beta1 = -0.1f)
SET(beta2_one, o->beta2 = 1.0f)
SET(beta2_inf, o->beta2 = INFINITY)
SET(eps_neg, o->eps = -1e-8f)
SET(eps_nan, o->eps = NAN)
SET(wd_neg, o->weight_decay = -0.01f)
SET(wd_inf, o->weight_decay = INFINITY)
SET(amsgrad_two, o->amsgrad = 2)
SET(momentum_set, o->momentum = 0.9f)
SET(nesterov_set, o->nesterov = 1)
SET(dampening_set, o->dampening = 0.1f)
SET(alpha_set, o->alpha = 0.99f)
SET(centered_set, o->centered = 1)
SET(alpha_neg, o->alpha = -0.5f)
SET(alpha_nan, o->alpha = NAN)
SET(momentum_neg, o->momentum = -0.9f)
SET(centered_two, o->centered = 2)
SET(beta1_set, o->beta1 = 0.9f)
SET(amsgrad_set, o->amsgrad = 1)
SET(eps_set, o->eps = 1e-8f)
SET(reserved_set, o->reserved[0] = 1)

static const refusal refusals[] = {
    {CLG_OPTIMIZER_ADAM, lr_neg, "invalid learning rate", "Adam lr = -1e-3"},
    {CLG_OPTIMIZER_ADAM, lr_nan, "non-finite option lr", "Adam lr = NaN"},
    {CLG_OPTIMIZER_ADAM, beta1_one, "invalid beta1 (0 <= beta1 < 1)", "Adam beta1 = 1"},
    {CLG_OPTIMIZER_ADAM, beta1_neg, "invalid beta1", "Adam beta1 = -0.1"},
    {CLG_OPTIMIZER_ADAMW, beta2_one, "invalid beta2 (0 <= beta2 < 1)", "AdamW beta2 = 1"},
    {CLG_OPTIMIZER_ADAM, beta2_inf, "non-finite option beta2", "Adam beta2 = inf"},
    {CLG_OPTIMIZER_ADAM, eps_neg, "invalid eps (eps < 0)", "Adam eps = -1e-8"},
    {CLG_OPTIMIZER_ADAMW, eps_nan, "non-finite option eps", "AdamW eps = NaN"},
    {CLG_OPTIMIZER_ADAMW, wd_neg, "invalid weight_decay", "AdamW weight_decay = -0.01"},
    {CLG_OPTIMIZER_ADAM, wd_inf, "non-finite option weight_decay", "Adam weight_decay = inf"},
    {CLG_OPTIMIZER_ADAM, amsgrad_two, "amsgrad must be 0 or 1", "Adam amsgrad = 2"},
    {CLG_OPTIMIZER_ADAM, momentum_set, "momentum is not an option of this kind",
     "Adam momentum = 0.9"},
    {CLG_OPTIMIZER_ADAMW, nesterov_set, "nesterov is not an option", "AdamW nesterov = 1"},
    {CLG_OPTIMIZER_ADAM, dampening_set, "dampening is not an option", "Adam dampening = 0.1"},
    {CLG_OPTIMIZER_ADAM, alpha_set, "alpha is not an option", "Adam alpha = 0.99"},
    {CLG_OPTIMIZER_ADAMW, centered_set, "centered is not an option", "AdamW centered = 1"},
    {CLG_OPTIMIZER_ADAM, reserved_set, "reserved option words must be zero",
     "Adam reserved[0] = 1"},
    {CLG_OPTIMIZER_RMSPROP, lr_neg, "invalid learning rate", "RMSprop lr = -1e-3"},
    {CLG_OPTIMIZER_RMSPROP, alpha_neg, "invalid alpha (alpha < 0)", "RMSprop alpha = -0.5"},
    {CLG_OPTIMIZER_RMSPROP, alpha_nan, "non-finite option alpha", "RMSprop alpha = NaN"},
    {CLG_OPTIMIZER_RMSPROP, eps_neg, "invalid eps", "RMSprop eps = -1e-8"},
    {CLG_OPTIMIZER_RMSPROP, momentum_neg, "invalid momentum (momentum < 0)",
     "RMSprop momentum = -0.9"},
    {CLG_OPTIMIZER_RMSPROP, wd_neg, "invalid weight_decay", "RMSprop weight_decay = -0.01"},
    {CLG_OPTIMIZER_RMSPROP, centered_two, "centered must be 0 or 1", "RMSprop centered = 2"},
    {CLG_OPTIMIZER_RMSPROP, beta1_set, "beta1 is not an option", "RMSprop beta1 = 0.9"},
    {CLG_OPTIMIZER_RMSPROP, amsgrad_set, "amsgrad is not an option", "RMSprop amsgrad = 1"},
    {CLG_OPTIMIZER_RMSPROP, nesterov_set, "nesterov is not an option", "RMSprop nesterov = 1"},
    {CLG_OPTIMIZER_SGD, eps_set, "eps is not an option", "SGD eps = 1e-8"},
    {CLG_OPTIMIZER_SGD, beta1_set, "beta1 is not an option", "SGD beta1 = 0.9"},
};

Test(adam, bad_options_are_refused_naming_the_option)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    for (size_t k = 0; k < sizeof refusals / sizeof *refusals; k++) {
        const refusal *r = &refusals[k];
        clg_optimizer_options o = clg_optimizer_defaults(r->kind);
        r->set(&o);
        clg_optimizer *opt = NULL;
        EXPECT_REFUSED(ctx, clg_optimizer_create(m, &o, &opt), CLG_ERR_INVALID_ARGUMENT, r->needle,
                       r->input);
        cr_expect_null(opt, "%s: no optimizer", r->input);
    }
    /* The edges PyTorch accepts: beta 0, eps 0, lr 0, alpha 0 and alpha above 1. */
    clg_optimizer_options o = adam(0.0f);
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.eps = 0.0f;
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    clg_optimizer_destroy(opt);
    clg_optimizer_options r = rmsprop(0.01f);
    r.alpha = 1.5f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &r, &opt));
    /* A group of another kind, and a learning rate refused by set_lr. */
    clg_optimizer_options a = adam(0.01f);
    EXPECT_REFUSED(ctx, clg_optimizer_add_group_by_kind(opt, 1, &a), CLG_ERR_INVALID_ARGUMENT,
                   "a Adam group in a RMSprop optimizer", "Adam group in an RMSprop optimizer");
    r.centered = 3;
    EXPECT_REFUSED(ctx, clg_optimizer_add_group_by_kind(opt, 1, &r), CLG_ERR_INVALID_ARGUMENT,
                   "centered must be 0 or 1", "RMSprop group with centered = 3");
    cr_expect_eq(clg_optimizer_group_count(opt), 1u, "refused groups are not added");
    EXPECT_REFUSED(ctx, clg_optimizer_set_lr(opt, 0, -0.5f), CLG_ERR_INVALID_ARGUMENT,
                   "invalid learning rate", "RMSprop set_lr(-0.5)");
    EXPECT_REFUSED(ctx, clg_optimizer_set_lr(opt, 0, INFINITY), CLG_ERR_INVALID_ARGUMENT,
                   "non-finite option lr", "RMSprop set_lr(inf)");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------------------ description */

static void expect_description(clg_optimizer_kind kind, const clg_optimizer_options *g1,
                               const char *want)
{
    clg_context *ctx = test_context();
    clg_model *m = ref_linear_model(ctx, 3, 2, W0, B0);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(kind);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    if (g1) CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, g1));
    char buf[1024];
    size_t n = clg_optimizer_describe(opt, buf, sizeof buf);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(n, strlen(want), "the full length");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* PyTorch 2.x's print(optimizer), less the keys this library has no counterpart for
 * (capturable, differentiable, foreach, fused, decoupled_weight_decay), as SGD's. */
Test(adam, describe_prints_like_pytorch)
{
    clg_optimizer_options b = adam(0.01f);
    b.beta1 = 0.8f;
    b.beta2 = 0.99f;
    b.eps = 1e-6f;
    b.weight_decay = 0.1f;
    b.amsgrad = 1;
    expect_description(CLG_OPTIMIZER_ADAM, &b,
                       "Adam (\n"
                       "Parameter Group 0\n"
                       "    amsgrad: False\n"
                       "    betas: (0.9, 0.999)\n"
                       "    eps: 1e-08\n"
                       "    lr: 0.001\n"
                       "    maximize: False\n"
                       "    weight_decay: 0\n"
                       "Parameter Group 1\n"
                       "    amsgrad: True\n"
                       "    betas: (0.8, 0.99)\n"
                       "    eps: 1e-06\n"
                       "    lr: 0.01\n"
                       "    maximize: False\n"
                       "    weight_decay: 0.1\n"
                       ")");
    expect_description(CLG_OPTIMIZER_ADAMW, NULL,
                       "AdamW (\n"
                       "Parameter Group 0\n"
                       "    amsgrad: False\n"
                       "    betas: (0.9, 0.999)\n"
                       "    eps: 1e-08\n"
                       "    lr: 0.001\n"
                       "    maximize: False\n"
                       "    weight_decay: 0.01\n"
                       ")");
    clg_optimizer_options r = rmsprop(0.005f);
    r.alpha = 0.9f;
    r.centered = 1;
    r.momentum = 0.5f;
    r.weight_decay = 0.001f;
    expect_description(CLG_OPTIMIZER_RMSPROP, &r,
                       "RMSprop (\n"
                       "Parameter Group 0\n"
                       "    alpha: 0.99\n"
                       "    centered: False\n"
                       "    eps: 1e-08\n"
                       "    lr: 0.01\n"
                       "    maximize: False\n"
                       "    momentum: 0\n"
                       "    weight_decay: 0\n"
                       "Parameter Group 1\n"
                       "    alpha: 0.9\n"
                       "    centered: True\n"
                       "    eps: 1e-08\n"
                       "    lr: 0.005\n"
                       "    maximize: False\n"
                       "    momentum: 0.5\n"
                       "    weight_decay: 0.001\n"
                       ")");
}

/* ------------------------------------------------------------ checkpoints */

/* 3 steps, save with the optimizer, load into a fresh model and optimizer, 2 more steps on
 * both with the same gradients: the parameters and every state buffer agree bit for bit.
 * An optimizer of another kind does not take the file's state. */
static void round_trip(const clg_optimizer_options *o, const clg_optimizer_options *biases,
                       const char *what)
{
    clg_context *ctx = test_context();
    clg_model *a = ref_linear_model(ctx, 3, 2, W0, B0);
    const float zW[6] = {0}, zb[2] = {0};
    clg_model *b = ref_linear_model(ctx, 3, 2, zW, zb);
    clg_optimizer *oa, *ob;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(a, o, &oa));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(oa, 1, biases));
    clg_optimizer_options fresh = clg_optimizer_defaults(o->kind);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(b, &fresh, &ob));
    float g[NP];
    for (int s = 1; s <= 3; s++) {
        step_grads(s, g);
        ref_set_linear_grads(a, g, g + 6);
        CLG_OK_OR_FAIL(ctx, clg_optimizer_step(oa, 1.0f));
    }
    char path[128];
    snprintf(path, sizeof path, "%s/adam.ckpt", test_tmpdir());
    CLG_OK_OR_FAIL(ctx, clg_model_save(a, oa, "adam round trip", path));
    clg_optimizer *other;
    clg_optimizer_options sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(b, &sgd, &other));
    EXPECT_REFUSED(ctx, clg_model_load_into(b, other, path), CLG_ERR_SHAPE,
                   "optimizer state, the optimizer is SGD", "Adam/RMSprop checkpoint into SGD");
    clg_optimizer_destroy(other);
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(b, ob, path));
    cr_expect_eq(clg_optimizer_steps(ob), 3u, "%s: the step count comes back", what);
    cr_expect_eq(clg_optimizer_group_count(ob), 2u, "%s: both groups come back", what);
    clg_optimizer_options got;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_group(ob, 1, &got));
    cr_expect(memcmp(&got, biases, sizeof got) == 0, "%s: group 1's options come back", what);
    for (int s = 4; s <= 5; s++) {
        step_grads(s, g);
        ref_set_linear_grads(a, g, g + 6);
        ref_set_linear_grads(b, g, g + 6);
        CLG_OK_OR_FAIL(ctx, clg_optimizer_step(oa, 1.0f));
        CLG_OK_OR_FAIL(ctx, clg_optimizer_step(ob, 1.0f));
    }
    cr_expect_eq(clg_optimizer_steps(ob), 5u);
    float pa[NP], pb[NP];
    params(a, pa);
    params(b, pb);
    cr_expect(memcmp(pa, pb, sizeof pa) == 0, "%s: parameters bit-identical after resuming", what);
    for (size_t i = 0; i < 2; i++)
        for (unsigned k = 0; k < 3; k++) {
            cl_mem sa = clg_optim_state(oa, i, k), sb = clg_optim_state(ob, i, k);
            cr_expect_eq(sa == NULL, sb == NULL, "%s: param %zu %s present in both", what, i,
                         oa->impl->state_names[k]);
            if (!sa || !sb) continue;
            const size_t n = i == 0 ? 6 : 2;
            float ha[6], hb[6];
            cl_int e1 = clEnqueueReadBuffer(ctx->queue, sa, CL_TRUE, 0, n * 4, ha, 0, NULL, NULL);
            cl_int e2 = clEnqueueReadBuffer(ctx->queue, sb, CL_TRUE, 0, n * 4, hb, 0, NULL, NULL);
            cr_assert(e1 == CL_SUCCESS && e2 == CL_SUCCESS);
            cr_expect(memcmp(ha, hb, n * 4) == 0, "%s: param %zu %s bit-identical", what, i,
                      oa->impl->state_names[k]);
        }
    clg_optimizer_destroy(oa);
    clg_optimizer_destroy(ob);
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_context_destroy(ctx);
}

Test(adam, checkpoint_round_trip_is_bit_identical)
{
    clg_optimizer_options o = adam(0.02f), b = o;
    b.amsgrad = 1;
    b.weight_decay = 0.01f;
    round_trip(&o, &b, "Adam (biases amsgrad)");
    clg_optimizer_options w = clg_optimizer_defaults(CLG_OPTIMIZER_ADAMW), wb = w;
    wb.weight_decay = 0.0f;
    round_trip(&w, &wb, "AdamW (biases without decay)");
    clg_optimizer_options r = rmsprop(0.01f), rb = r;
    r.centered = 1;
    rb.momentum = 0.9f;
    rb.centered = 1;
    round_trip(&r, &rb, "RMSprop (centered; biases with momentum)");
}

/* ------------------------------------------------------------ clg_fit */

static clg_dataset *regression(clg_context *ctx, size_t n)
{
    clg_dataset *ds;
    const float w[2] = {2.0f, -3.4f};
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, 2, 4.2f, 0.01f, 5, &ds));
    return ds;
}

/* Linear(2→1) (seeded init) fitted with the optimizer o under CLGRAD_FUSED=mode (NULL:
 * unset); W then b into out. */
static double fit(clg_context *ctx, clg_dataset *ds, const clg_optimizer_options *o,
                  const char *mode, size_t epochs, float *out)
{
    cr_assert_eq(test_label(ctx, "CLGRAD_FUSED", mode), 0); /* Oclgrind kernel log */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", mode));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 1, NULL));
    clg_fit_options fo = clg_fit_defaults();
    fo.on_epoch = NULL;
    fo.epochs = epochs;
    fo.optimizer = *o;
    clg_fit_report rep;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, ds, &fo, NULL, &rep));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, out, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, out + 2, 1));
    clg_model_destroy(m);
    test_label(ctx, "CLGRAD_FUSED", NULL);
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    return rep.final_loss;
}

/* The fused kernels run SGD only: with Adam, clg_fit takes the unfused path whatever
 * CLGRAD_FUSED says (the same bits as CLGRAD_FUSED=off), and its trajectory is not SGD's. */
Test(adam, fit_steps_aside_from_the_fused_paths)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = regression(ctx, test_small() ? 60 : 200);
    clg_optimizer_options o = adam(0.05f), sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    sgd.lr = 0.05f;
    float off[3], dflt[3], epoch[3], split[3], s[3];
    fit(ctx, ds, &o, "off", 2, off);
    fit(ctx, ds, &o, NULL, 2, dflt);
    fit(ctx, ds, &o, "epoch", 2, epoch);
    fit(ctx, ds, &o, "split", 2, split);
    cr_expect(memcmp(off, dflt, sizeof off) == 0, "CLGRAD_FUSED unset: the unfused path's bits");
    cr_expect(memcmp(off, epoch, sizeof off) == 0, "CLGRAD_FUSED=epoch: the unfused path's bits");
    cr_expect(memcmp(off, split, sizeof off) == 0, "CLGRAD_FUSED=split: the unfused path's bits");
    fit(ctx, ds, &sgd, "off", 2, s);
    double most = 0;
    for (int i = 0; i < 3; i++) most = fmax(most, fabs((double)off[i] - s[i]));
    cr_expect_gt(most, 1e-3, "Adam's weights are not SGD's (max |diff| %g)", most);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Real training: Adam (lr 0.1) on y = 2·x1 − 3.4·x2 + 4.2 + N(0, 0.01²) from the seeded init
 * reaches a full-set squared loss (½ (y − ŷ)², mean) below 2e-4, four times the noise floor
 * (5e-5; it ends near 5.3e-5). */
Test(adam, fit_with_adam_learns_a_linear_regression)
{
    clg_context *ctx = test_context();
    const int small = test_small();
    clg_dataset *ds = regression(ctx, small ? 200 : 1000);
    clg_optimizer_options o = adam(0.1f);
    float p[3];
    double loss = fit(ctx, ds, &o, NULL, small ? 8 : 5, p);
    cr_expect_lt(loss, 2e-4, "final loss %g < 2e-4 (W %g %g, b %g)", loss, p[0], p[1], p[2]);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
