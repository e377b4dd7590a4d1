/* RMSprop with PyTorch's semantics (kernel wrapper: ops/adam.c, cl/adam.cl). Three state
 * buffers, PyTorch's state_dict names: square_avg, momentum_buffer (momentum > 0) and
 * grad_avg (centered). */
#include <math.h>
#include <stdio.h>

#include "optim.h"

static clg_optimizer_options defaults(void)
{
    clg_optimizer_options o = {
        .kind = CLG_OPTIMIZER_RMSPROP, .lr = 1e-2f, .alpha = 0.99f, .eps = 1e-8f};
    return o;
}

/* PyTorch's constructor checks (torch.optim.RMSprop: alpha >= 0, not bounded above), plus
 * finiteness. */
static const char *invalid(const clg_optimizer_options *o)
{
    if (!isfinite(o->lr)) return "non-finite option lr";
    if (!isfinite(o->alpha)) return "non-finite option alpha";
    if (!isfinite(o->eps)) return "non-finite option eps";
    if (!isfinite(o->momentum)) return "non-finite option momentum";
    if (!isfinite(o->weight_decay)) return "non-finite option weight_decay";
    if (o->lr < 0.0f) return "invalid learning rate (lr < 0)";
    if (o->eps < 0.0f) return "invalid eps (eps < 0)";
    if (o->momentum < 0.0f) return "invalid momentum (momentum < 0)";
    if (o->weight_decay < 0.0f) return "invalid weight_decay (weight_decay < 0)";
    if (o->alpha < 0.0f) return "invalid alpha (alpha < 0)";
    if (o->centered != 0 && o->centered != 1) return "centered must be 0 or 1";
    return NULL;
}

static int uses_state(const clg_optimizer_options *o, unsigned slot)
{
    return slot == 0 || (slot == 1 && o->momentum > 0.0f) || (slot == 2 && o->centered);
}

static clg_status update(clg_context *ctx, const clg_param_ref *ref, const cl_mem *state,
                         const int *fresh, const clg_optimizer_options *o, float grad_scale,
                         uint64_t step)
{
    (void)step; /* no bias correction */
    unsigned bits = 0;
    for (unsigned k = 0; k < 3; k++)
        if (fresh[k]) bits |= 1u << k;
    return clg_op_rmsprop_update(ctx, ref->value, ref->grad, state[0], state[1], state[2],
                                 ref->count, o, grad_scale, bits);
}

/* PyTorch's sorted keys, of those this library has (no capturable, differentiable,
 * foreach: as SGD's description). */
static size_t describe(const clg_optimizer_options *o, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "    alpha: %g\n    centered: %s\n    eps: %g\n    lr: %g\n"
                     "    maximize: False\n    momentum: %g\n    weight_decay: %g\n",
                     (double)o->alpha, o->centered ? "True" : "False", (double)o->eps,
                     (double)o->lr, (double)o->momentum, (double)o->weight_decay);
    return n > 0 ? (size_t)n : 0;
}

const clg_optim_impl clg_optim_rmsprop = {
    .kind = CLG_OPTIMIZER_RMSPROP,
    .name = "RMSprop",
    .nstate = 3,
    .state_names = {"square_avg", "momentum_buffer", "grad_avg"},
    .fused_sgd = 0,
    .reads = CLG_OPT_MOMENTUM | CLG_OPT_EPS | CLG_OPT_ALPHA | CLG_OPT_CENTERED,
    .defaults = defaults,
    .invalid = invalid,
    .uses_state = uses_state,
    .update = update,
    .describe = describe,
};
