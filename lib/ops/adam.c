/* Host wrappers of cl/adam.cl: one Adam/AdamW or RMSprop step on n elements. The bias
 * corrections and the constants of the rule are computed here in double, once per launch,
 * as PyTorch computes them in Python floats. */
#include <math.h>

#include "ops.h"

#define ELEMENTWISE_GROUP 64

clg_status clg_op_adam_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem exp_avg,
                              cl_mem exp_avg_sq, cl_mem max_exp_avg_sq, size_t n,
                              const clg_optimizer_options *o, int decoupled, float grad_scale,
                              uint64_t step, unsigned fresh)
{
    const double t = (double)step, lr = o->lr, wd = o->weight_decay;
    const double b1 = o->beta1, b2 = o->beta2;
    cl_uint nn = (cl_uint)n;
    cl_int dec = decoupled != 0, fr = (cl_int)(fresh & 7u);
    float omb1 = (float)(1.0 - b1), beta2 = o->beta2, omb2 = (float)(1.0 - b2), eps = o->eps;
    float l2 = dec ? 0.0f : o->weight_decay, decay = (float)(1.0 - lr * wd);
    float step_size = (float)(lr / (1.0 - pow(b1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    clg_arg args[] = {CLG_ARG(p),
                      CLG_ARG(g),
                      CLG_ARG(exp_avg),
                      CLG_ARG(exp_avg_sq),
                      CLG_ARG(max_exp_avg_sq),
                      CLG_ARG(nn),
                      CLG_ARG(omb1),
                      CLG_ARG(beta2),
                      CLG_ARG(omb2),
                      CLG_ARG(eps),
                      CLG_ARG(l2),
                      CLG_ARG(dec),
                      CLG_ARG(decay),
                      CLG_ARG(step_size),
                      CLG_ARG(bc2_sqrt),
                      CLG_ARG(grad_scale),
                      CLG_ARG(fr)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "adam", "adam_update", 1, &global, NULL, sizeof args / sizeof *args,
                      args);
}

clg_status clg_op_rmsprop_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem square_avg,
                                 cl_mem momentum_buffer, cl_mem grad_avg, size_t n,
                                 const clg_optimizer_options *o, float grad_scale, unsigned fresh)
{
    cl_uint nn = (cl_uint)n;
    cl_int fr = (cl_int)(fresh & 7u);
    float lr = o->lr, alpha = o->alpha, oma = (float)(1.0 - (double)o->alpha), eps = o->eps;
    float wd = o->weight_decay, momentum = o->momentum;
    clg_arg args[] = {
        CLG_ARG(p),          CLG_ARG(g),   CLG_ARG(square_avg), CLG_ARG(momentum_buffer),
        CLG_ARG(grad_avg),   CLG_ARG(nn),  CLG_ARG(lr),         CLG_ARG(alpha),
        CLG_ARG(oma),        CLG_ARG(eps), CLG_ARG(wd),         CLG_ARG(momentum),
        CLG_ARG(grad_scale), CLG_ARG(fr)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "adam", "rmsprop_update", 1, &global, NULL, sizeof args / sizeof *args,
                      args);
}
