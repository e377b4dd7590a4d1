/* Ops of the PHM layer (cl/phm.cl): building its weight from the factors, and reducing the
 * weight's gradient to theirs. The Linear product itself is clg_op_linear_forward/backward. */
#include "ops.h"

#define MAX_REDUCE 256
#define ELEMENTWISE_GROUP 64

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

clg_status clg_op_phm_build(clg_context *ctx, cl_mem A, cl_mem S, cl_mem W, size_t d, size_t q,
                            size_t n)
{
    cl_uint nd = (cl_uint)d, nq = (cl_uint)q, nn = (cl_uint)n;
    cl_uint dn = (cl_uint)ceil_div(d, n), qn = (cl_uint)ceil_div(q, n);
    clg_arg args[] = {CLG_ARG(A),  CLG_ARG(S),  CLG_ARG(W),  CLG_ARG(nd),
                      CLG_ARG(nq), CLG_ARG(nn), CLG_ARG(dn), CLG_ARG(qn)};
    size_t global = clg_round_up(d * q, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "phm", "phm_build", 1, &global, NULL, 8, args);
}

clg_status clg_op_phm_grad(clg_context *ctx, cl_mem A, cl_mem S, cl_mem dW, cl_mem dA, cl_mem dS,
                           size_t d, size_t q, size_t n)
{
    const size_t dn = ceil_div(d, n), qn = ceil_div(q, n);
    cl_uint nd = (cl_uint)d, nq = (cl_uint)q, nn = (cl_uint)n, udn = (cl_uint)dn, uqn = (cl_uint)qn;
    /* dA: one group per element, as wide as the block (dn·qn terms) needs. */
    size_t group, local_free;
    clg_status s = clg_kernel_limits(ctx, "phm", "phm_grad_a", &group, NULL, &local_free);
    if (s != CLG_OK) return s;
    size_t L = clg_pow2_floor(group < MAX_REDUCE ? group : MAX_REDUCE);
    while (L > 1 && (L / 2 >= dn * qn || L * sizeof(float) > local_free)) L /= 2;
    clg_arg ga[] = {CLG_ARG(S),   CLG_ARG(dW),  CLG_ARG(dA),
                    CLG_ARG(nd),  CLG_ARG(nq),  CLG_ARG(nn),
                    CLG_ARG(udn), CLG_ARG(uqn), CLG_LOCAL(L * sizeof(float))};
    size_t global = n * n * n * L;
    s = clg_launch(ctx, "phm", "phm_grad_a", 1, &global, &L, 9, ga);
    if (s != CLG_OK) return s;
    clg_arg gs[] = {CLG_ARG(A),  CLG_ARG(dW), CLG_ARG(dS),  CLG_ARG(nd),
                    CLG_ARG(nq), CLG_ARG(nn), CLG_ARG(udn), CLG_ARG(uqn)};
    global = clg_round_up(n * dn * qn, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "phm", "phm_grad_s", 1, &global, NULL, 8, gs);
}
