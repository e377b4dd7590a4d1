/* Adam and AdamW with PyTorch's semantics (kernel wrapper: ops/adam.c, cl/adam.cl). Three
 * state buffers, PyTorch's state_dict names: exp_avg, exp_avg_sq and, with amsgrad,
 * max_exp_avg_sq. The two kinds differ only in the weight decay: Adam adds it to the
 * gradient (L2), AdamW multiplies the parameter by 1 − lr·weight_decay (decoupled). */
#include <math.h>
#include <stdio.h>

#include "optim.h"

static clg_optimizer_options defaults_adam(void)
{
    clg_optimizer_options o = {
        .kind = CLG_OPTIMIZER_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    return o;
}

static clg_optimizer_options defaults_adamw(void)
{
    clg_optimizer_options o = defaults_adam();
    o.kind = CLG_OPTIMIZER_ADAMW;
    o.weight_decay = 1e-2f;
    return o;
}

/* PyTorch's constructor checks (torch.optim.Adam, AdamW), plus finiteness. */
static const char *invalid(const clg_optimizer_options *o)
{
    if (!isfinite(o->lr)) return "non-finite option lr";
    if (!isfinite(o->beta1)) return "non-finite option beta1";
    if (!isfinite(o->beta2)) return "non-finite option beta2";
    if (!isfinite(o->eps)) return "non-finite option eps";
    if (!isfinite(o->weight_decay)) return "non-finite option weight_decay";
    if (o->lr < 0.0f) return "invalid learning rate (lr < 0)";
    if (o->eps < 0.0f) return "invalid eps (eps < 0)";
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f)) return "invalid beta1 (0 <= beta1 < 1)";
    if (!(o->beta2 >= 0.0f && o->beta2 < 1.0f)) return "invalid beta2 (0 <= beta2 < 1)";
    if (o->weight_decay < 0.0f) return "invalid weight_decay (weight_decay < 0)";
    if (o->amsgrad != 0 && o->amsgrad != 1) return "amsgrad must be 0 or 1";
    return NULL;
}

static int uses_state(const clg_optimizer_options *o, unsigned slot)
{
    return slot < 2 || (slot == 2 && o->amsgrad);
}

static clg_status update(clg_context *ctx, const clg_param_ref *ref, const cl_mem *state,
                         const int *fresh, const clg_optimizer_options *o, float grad_scale,
                         uint64_t step)
{
    unsigned bits = 0;
    for (unsigned k = 0; k < 3; k++)
        if (fresh[k]) bits |= 1u << k;
    return clg_op_adam_update(ctx, ref->value, ref->grad, state[0], state[1], state[2], ref->count,
                              o, o->kind == CLG_OPTIMIZER_ADAMW, grad_scale, step, bits);
}

/* PyTorch's sorted keys, of those this library has (no capturable, differentiable, foreach,
 * fused: as SGD's description). */
static size_t describe(const clg_optimizer_options *o, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "    amsgrad: %s\n    betas: (%g, %g)\n    eps: %g\n    lr: %g\n"
                     "    maximize: False\n    weight_decay: %g\n",
                     o->amsgrad ? "True" : "False", (double)o->beta1, (double)o->beta2,
                     (double)o->eps, (double)o->lr, (double)o->weight_decay);
    return n > 0 ? (size_t)n : 0;
}

const clg_optim_impl clg_optim_adam = {
    .kind = CLG_OPTIMIZER_ADAM,
    .name = "Adam",
    .nstate = 3,
    .state_names = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    .fused_sgd = 0,
    .reads = CLG_OPT_BETAS | CLG_OPT_EPS | CLG_OPT_AMSGRAD,
    .defaults = defaults_adam,
    .invalid = invalid,
    .uses_state = uses_state,
    .update = update,
    .describe = describe,
};

const clg_optim_impl clg_optim_adamw = {
    .kind = CLG_OPTIMIZER_ADAMW,
    .name = "AdamW",
    .nstate = 3,
    .state_names = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    .fused_sgd = 0,
    .reads = CLG_OPT_BETAS | CLG_OPT_EPS | CLG_OPT_AMSGRAD,
    .defaults = defaults_adamw,
    .invalid = invalid,
    .uses_state = uses_state,
    .update = update,
    .describe = describe,
};
