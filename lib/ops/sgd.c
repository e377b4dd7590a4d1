/* Host wrapper of cl/sgd.cl: one SGD step on n elements. */
#include "ops.h"

#define ELEMENTWISE_GROUP 64

clg_status clg_op_sgd_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem mom, size_t n,
                             const clg_optimizer_options *o, float grad_scale, int first_step)
{
    cl_uint nn = (cl_uint)n;
    cl_int nesterov = o->nesterov != 0, first = first_step != 0;
    float lr = o->lr, momentum = o->momentum, damp = o->dampening, wd = o->weight_decay;
    clg_arg args[] = {CLG_ARG(p),        CLG_ARG(g),          CLG_ARG(mom),  CLG_ARG(nn),
                      CLG_ARG(lr),       CLG_ARG(momentum),   CLG_ARG(damp), CLG_ARG(wd),
                      CLG_ARG(nesterov), CLG_ARG(grad_scale), CLG_ARG(first)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "sgd", "sgd_update", 1, &global, NULL, 11, args);
}
