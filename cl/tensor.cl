/* Elementwise helpers on whole buffers. */

__kernel void tensor_fill(__global float *x, const uint n, const float value)
{
    size_t i = get_global_id(0);
    if (i < n) x[i] = value;
}

__kernel void tensor_scale_add(__global float *y, __global const float *x, const uint n,
                               const float alpha, const float beta)
{
    size_t i = get_global_id(0);
    if (i < n) y[i] = alpha * x[i] + beta * y[i];
}
