/* Data kernels: synthetic regression data and minibatch gathers.
 *
 * Normal sample i of (key, stream) uses philox4x32_10 with counter
 * (lo32(i/4), stream, hi32(i/4), 0): words (x, y) give samples 4k, 4k+1 and (z, w)
 * give 4k+2, 4k+3 by Box-Muller, as clg_philox_normal does on the host.
 * X element (row i, column j) is sample i*d + j of stream 0; the noise of row i is
 * sample i of stream 1. */

#define CLG_STREAM_X 0u
#define CLG_STREAM_NOISE 1u

/* The four normals of block blk. cospi/sinpi take 2*u exactly (no rounding of 2*pi*u). */
inline float4 normal4(ulong blk, uint stream, uint2 key)
{
    uint4 w = philox4x32_10((uint4)((uint)blk, stream, (uint)(blk >> 32), 0u), key);
    float r0 = sqrt(-2.0f * log(clg_u01(w.x))), t0 = 2.0f * clg_u01(w.y);
    float r1 = sqrt(-2.0f * log(clg_u01(w.z))), t1 = 2.0f * clg_u01(w.w);
    return (float4)(r0 * cospi(t0), r0 * sinpi(t0), r1 * cospi(t1), r1 * sinpi(t1));
}

inline float pick4(float4 v, uint k)
{
    return k == 0u ? v.x : k == 1u ? v.y : k == 2u ? v.z : v.w;
}

/* One work-item per row: X[i, :] ~ N(0, 1), y[i] = X[i, :]*w + b + noise*N(0, 1), for the
 * n rows row0 .. row0+n-1 of the dataset, written from X[0], y[0] (chunks of a dataset
 * too large for the device draw exactly the rows a one-piece dataset would hold). */
__kernel void synthetic_linear(__global float *X, __global float *y, __global const float *w,
                               const float b, const float noise, const uint n, const uint d,
                               const uint key_lo, const uint key_hi, const ulong row0)
{
    const size_t r = get_global_id(0);
    if (r >= n) return;
    const ulong i = row0 + r;
    uint2 key = (uint2)(key_lo, key_hi);
    ulong e = i * d;
    __global float *Xr = X + r * d;
    ulong blk = e >> 2;
    float4 z = normal4(blk, CLG_STREAM_X, key);
    float acc = 0.0f;
    for (uint j = 0; j < d; j++, e++) {
        if ((e >> 2) != blk) {
            blk = e >> 2;
            z = normal4(blk, CLG_STREAM_X, key);
        }
        float x = pick4(z, (uint)(e & 3u));
        Xr[j] = x;
        acc += x * w[j];
    }
    float eps = pick4(normal4(i >> 2, CLG_STREAM_NOISE, key), (uint)(i & 3u));
    y[r] = acc + b + noise * eps;
}

/* dst[r, :] = src[order[offset + r], :] for r < count; one work-item per element. */
__kernel void gather_rows(__global float *dst, __global const float *src,
                          __global const uint *order, const uint offset, const uint count,
                          const uint cols)
{
    size_t e = get_global_id(0);
    if (e >= (size_t)count * cols) return;
    size_t r = e / cols, c = e % cols;
    dst[e] = src[(size_t)order[offset + r] * cols + c];
}

/* dst[r, c] = (src[r, c] - mean[c]) / scale[c] for rows x cols elements (sklearn's
 * StandardScaler.transform); dst may be src. */
__kernel void scale_columns(__global float *dst, __global const float *src,
                            __global const float *mean, __global const float *scale,
                            const uint rows, const uint cols)
{
    size_t e = get_global_id(0);
    if (e >= (size_t)rows * cols) return;
    size_t c = e % cols;
    dst[e] = (src[e] - mean[c]) / scale[c];
}
