/* The adaptive optimizers' steps on n elements, PyTorch's rules (include/clgrad/optim.h,
 * docs/optimizers.md): Adam and AdamW (adam_update), RMSprop (rmsprop_update). The host
 * wrapper (lib/ops/adam.c) computes the bias corrections in double. A state buffer whose
 * bit is set in `fresh` was just made: it is read as zeros (PyTorch's zeros_like). An
 * optional buffer is NULL when the group does not use it. */

/* torch.lerp: a + w·(b − a), from the far end when w >= 0.5 (exact at w = 1). */
inline float lerp_torch(const float a, const float b, const float w)
{
    return fabs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

/* g = grad·grad_scale; L2: g += weight_decay·p (weight_decay 0 for AdamW), decoupled:
 * p ← p·decay (decay = 1 − lr·weight_decay); m ← lerp(m, g, 1 − beta1);
 * v ← beta2·v + (1 − beta2)·g²; amsgrad (vmax not NULL): vmax ← max(vmax, v) is used for v;
 * p ← p − step_size · m / (√v / bc2_sqrt + eps), step_size = lr / (1 − beta1ᵗ),
 * bc2_sqrt = √(1 − beta2ᵗ). fresh: bit 0 m, bit 1 v, bit 2 vmax. */
__kernel void adam_update(__global float *p, const __global float *grad, __global float *exp_avg,
                          __global float *exp_avg_sq, __global float *max_exp_avg_sq,
                          const uint n, const float one_minus_beta1, const float beta2,
                          const float one_minus_beta2, const float eps, const float weight_decay,
                          const int decoupled, const float decay, const float step_size,
                          const float bc2_sqrt, const float grad_scale, const int fresh)
{
    const size_t i = get_global_id(0);
    if (i >= n) return;
    float x = p[i], g = grad[i] * grad_scale;
    if (decoupled)
        x *= decay;
    else if (weight_decay != 0.0f)
        g += weight_decay * x;
    float m = (fresh & 1) ? 0.0f : exp_avg[i];
    float v = (fresh & 2) ? 0.0f : exp_avg_sq[i];
    m = lerp_torch(m, g, one_minus_beta1);
    v = v * beta2 + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    if (max_exp_avg_sq) {
        const float vmax = fmax((fresh & 4) ? 0.0f : max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = vmax;
        v = vmax;
    }
    const float denom = sqrt(v) / bc2_sqrt + eps;
    p[i] = x - step_size * (m / denom);
}

/* g = grad·grad_scale + weight_decay·p; v ← alpha·v + (1 − alpha)·g²; centered (grad_avg not
 * NULL): a ← lerp(a, g, 1 − alpha), d = √(v − a²) + eps, else d = √v + eps; momentum
 * (momentum_buffer not NULL): buf ← momentum·buf + g/d, p ← p − lr·buf; else p ← p − lr·g/d.
 * fresh: bit 0 v, bit 1 buf, bit 2 a. */
__kernel void rmsprop_update(__global float *p, const __global float *grad,
                             __global float *square_avg, __global float *momentum_buffer,
                             __global float *grad_avg, const uint n, const float lr,
                             const float alpha, const float one_minus_alpha, const float eps,
                             const float weight_decay, const float momentum,
                             const float grad_scale, const int fresh)
{
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const float x = p[i];
    float g = grad[i] * grad_scale;
    if (weight_decay != 0.0f) g += weight_decay * x;
    float v = (fresh & 1) ? 0.0f : square_avg[i];
    v = v * alpha + one_minus_alpha * g * g;
    square_avg[i] = v;
    float d;
    if (grad_avg) {
        float a = (fresh & 4) ? 0.0f : grad_avg[i];
        a = lerp_torch(a, g, one_minus_alpha);
        grad_avg[i] = a;
        d = sqrt(v - a * a);
    } else {
        d = sqrt(v);
    }
    d += eps;
    if (momentum_buffer) {
        float b = (fresh & 2) ? 0.0f : momentum_buffer[i];
        b = b * momentum + g / d;
        momentum_buffer[i] = b;
        p[i] = x - lr * b;
    } else {
        p[i] = x - lr * (g / d);
    }
}
