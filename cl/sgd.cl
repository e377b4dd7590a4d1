/* PyTorch's SGD step on n elements. mom is NULL when momentum is 0; on the
 * first step with momentum the buffer starts as g itself (no dampening). */
#include "sgd_rule.h"

__kernel void sgd_update(__global float *p, const __global float *grad, __global float *mom,
                         const uint n, const float lr, const float momentum,
                         const float dampening, const float weight_decay, const int nesterov,
                         const float grad_scale, const int first_step)
{
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const int use = mom != 0;
    float buf = use && !first_step ? mom[i] : 0.0f;
    p[i] = sgd_rule(grad[i] * grad_scale, p[i], &buf, use, first_step,
                    (float4)(lr, momentum, dampening, weight_decay), nesterov);
    if (use) mom[i] = buf;
}
