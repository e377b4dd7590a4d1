/* Elementwise helpers on whole buffers. */

__kernel void tensor_fill(__global float *x, const uint n, const float value)
{
    size_t i = get_global_id(0);
    if (i < n) x[i] = value;
}
