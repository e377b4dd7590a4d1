/* Regression losses. kind 0: squared (yhat-y)^2/2; kind 1: MSE element (yhat-y)^2. */

inline float loss_elem(const int kind, const float p, const float t)
{
    const float e = p - t;
    return kind == 0 ? 0.5f * e * e : e * e;
}

/* Per-element loss (reduction NONE). */
__kernel void loss_elementwise(const __global float *pred, const __global float *target,
                               __global float *out, const uint n, const int kind)
{
    const size_t i = get_global_id(0);
    if (i < n) out[i] = loss_elem(kind, pred[i], target[i]);
}

/* One work-group: strided partial sums, then a tree in local memory (power-of-two
 * local size), so the order is fixed. out[0] = sum/divisor, or out[0] += sum
 * when accumulate is set. */
__kernel void loss_reduce(const __global float *pred, const __global float *target,
                          __global float *out, const uint n, const int kind,
                          const float divisor, const int accumulate, __local float *part)
{
    const uint lid = get_local_id(0), L = get_local_size(0);
    float s = 0.0f;
    for (uint i = lid; i < n; i += L) s += loss_elem(kind, pred[i], target[i]);
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[0] = accumulate ? out[0] + part[0] : part[0] / divisor;
}

/* d loss / d pred, times scale (1/(B*q) for a mean). */
__kernel void loss_gradient(const __global float *pred, const __global float *target,
                            __global float *grad, const uint n, const int kind, const float scale)
{
    const size_t i = get_global_id(0);
    if (i < n) {
        const float e = pred[i] - target[i];
        grad[i] = (kind == 0 ? e : 2.0f * e) * scale;
    }
}

/* ---------------------------------------------------------------------------
 * Softmax cross-entropy (kind 2). pred is B x C logits, target B x 1 class ids
 * stored as floats. Row loss = log(sum_j exp(z_j - m)) + (m - z_label) with
 * m = max_j z_j, so no exp overflows and the loss stays finite for logits of
 * any finite size. A label that is not an integer in [0, C) (or NaN) gives a
 * NaN loss (and NaN gradient) for its row, so training stops with a
 * non-finite loss instead of reading out of bounds. */

inline int xent_label(const float t, const uint C)
{
    /* NaN fails every comparison. */
    if (!(t >= 0.0f && t < (float)C) || t != floor(t)) return -1;
    return (int)t;
}

/* Max of a row and the sum of exp(z - max), in a fixed order. */
inline float xent_row_max(const __global float *z, const uint C)
{
    float m = z[0];
    for (uint j = 1; j < C; j++) m = fmax(m, z[j]);
    return m;
}

inline float xent_row_sumexp(const __global float *z, const uint C, const float m)
{
    float s = 0.0f;
    for (uint j = 0; j < C; j++) s += exp(z[j] - m);
    return s;
}

inline float xent_row_loss(const __global float *z, const float t, const uint C)
{
    const int lab = xent_label(t, C);
    if (lab < 0) return NAN;
    const float m = xent_row_max(z, C);
    return log(xent_row_sumexp(z, C, m)) + (m - z[lab]);
}

/* Per-sample loss (reduction NONE): out is B x 1. */
__kernel void xent_rows(const __global float *pred, const __global float *target,
                        __global float *out, const uint B, const uint C)
{
    const size_t i = get_global_id(0);
    if (i < B) out[i] = xent_row_loss(pred + i * C, target[i], C);
}

/* One work-group, rows strided over the work-items, then a tree: fixed order.
 * out[0] = sum/divisor, or out[0] += sum when accumulate is set. */
__kernel void xent_reduce(const __global float *pred, const __global float *target,
                          __global float *out, const uint B, const uint C,
                          const float divisor, const int accumulate, __local float *part)
{
    const uint lid = get_local_id(0), L = get_local_size(0);
    float s = 0.0f;
    for (uint i = lid; i < B; i += L) s += xent_row_loss(pred + (size_t)i * C, target[i], C);
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[0] = accumulate ? out[0] + part[0] : part[0] / divisor;
}

/* d loss / d logits = (softmax(z) - onehot(label)) * scale; one work-item per row. */
__kernel void xent_gradient(const __global float *pred, const __global float *target,
                            __global float *grad, const uint B, const uint C, const float scale)
{
    const size_t i = get_global_id(0);
    if (i >= B) return;
    const __global float *z = pred + i * C;
    __global float *g = grad + i * C;
    const int lab = xent_label(target[i], C);
    if (lab < 0) {
        for (uint j = 0; j < C; j++) g[j] = NAN;
        return;
    }
    const float m = xent_row_max(z, C);
    const float s = xent_row_sumexp(z, C, m);
    for (uint j = 0; j < C; j++) {
        const float p = exp(z[j] - m) / s;
        g[j] = ((int)j == lab ? p - 1.0f : p) * scale;
    }
}

/* acc[0] += number of rows whose argmax equals the label. The first maximum
 * wins and a NaN counts as the largest value, as torch.argmax does. One
 * work-group, fixed order (counts are exact in float below 2^24). */
__kernel void accuracy_reduce(const __global float *pred, const __global float *target,
                              __global float *acc, const uint B, const uint C,
                              __local float *part)
{
    const uint lid = get_local_id(0), L = get_local_size(0);
    float s = 0.0f;
    for (uint i = lid; i < B; i += L) {
        const __global float *z = pred + (size_t)i * C;
        float best = z[0];
        uint arg = 0;
        for (uint j = 1; j < C; j++) {
            const float v = z[j];
            if (isnan(v) ? !isnan(best) : v > best) {
                best = v;
                arg = j;
            }
        }
        const int lab = xent_label(target[i], C);
        if (lab >= 0 && (uint)lab == arg) s += 1.0f;
    }
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) acc[0] += part[0];
}
