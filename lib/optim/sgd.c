/* SGD with PyTorch's semantics (kernel wrapper: ops/sgd.c; the fused paths of lib/train
 * run the same rule, cl/sgd_rule.h). One state buffer: the momentum. */
#include <math.h>
#include <stdio.h>

#include "optim.h"

static clg_optimizer_options defaults(void)
{
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.03f};
    return o;
}

/* PyTorch's constructor checks, plus finiteness. */
static const char *invalid(const clg_optimizer_options *o)
{
    if (!isfinite(o->lr) || !isfinite(o->momentum) || !isfinite(o->dampening) ||
        !isfinite(o->weight_decay))
        return "non-finite option";
    if (o->lr < 0.0f) return "invalid learning rate (lr < 0)";
    if (o->momentum < 0.0f || o->weight_decay < 0.0f)
        return "momentum and weight_decay must be >= 0";
    if (o->nesterov != 0 && o->nesterov != 1) return "nesterov must be 0 or 1";
    if (o->nesterov && (o->momentum <= 0.0f || o->dampening != 0.0f))
        return "nesterov needs momentum > 0 and dampening 0";
    return NULL;
}

static int uses_state(const clg_optimizer_options *o, unsigned slot)
{
    return slot == 0 && o->momentum != 0.0f;
}

static clg_status update(clg_context *ctx, const clg_param_ref *ref, const cl_mem *state,
                         const int *fresh, const clg_optimizer_options *o, float grad_scale,
                         uint64_t step)
{
    (void)step;
    return clg_op_sgd_update(ctx, ref->value, ref->grad, state[0], ref->count, o, grad_scale,
                             fresh[0]);
}

static size_t describe(const clg_optimizer_options *o, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "    dampening: %g\n    lr: %g\n    momentum: %g\n    nesterov: %s\n"
                     "    weight_decay: %g\n",
                     (double)o->dampening, (double)o->lr, (double)o->momentum,
                     o->nesterov ? "True" : "False", (double)o->weight_decay);
    return n > 0 ? (size_t)n : 0;
}

const clg_optim_impl clg_optim_sgd = {
    .kind = CLG_OPTIMIZER_SGD,
    .name = "SGD",
    .nstate = 1,
    .state_names = {"momentum_buffer"},
    .fused_sgd = 1,
    .reads = CLG_OPT_MOMENTUM | CLG_OPT_DAMPENING | CLG_OPT_NESTEROV,
    .defaults = defaults,
    .invalid = invalid,
    .uses_state = uses_state,
    .update = update,
    .describe = describe,
};
