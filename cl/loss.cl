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
