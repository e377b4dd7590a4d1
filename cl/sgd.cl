/* PyTorch's SGD step on n elements. mom is NULL when momentum is 0; on the
 * first step with momentum the buffer starts as g itself (no dampening). */
__kernel void sgd_update(__global float *p, const __global float *grad, __global float *mom,
                         const uint n, const float lr, const float momentum,
                         const float dampening, const float weight_decay, const int nesterov,
                         const float grad_scale, const int first_step)
{
    const size_t i = get_global_id(0);
    if (i >= n) return;
    float g = grad[i] * grad_scale + weight_decay * p[i];
    if (mom) {
        const float buf = first_step ? g : momentum * mom[i] + (1.0f - dampening) * g;
        mom[i] = buf;
        g = nesterov ? g + momentum * buf : buf;
    }
    p[i] -= lr * g;
}
