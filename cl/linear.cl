/* Linear layer and ReLU. The three products share one tiled loop: a square
 * tsxts work-group stages tsxts tiles of op(A) and op(B) in local memory and
 * each work-item sums its output element over k in increasing order, so a
 * result does not depend on the tile size's scheduling (no atomics). */

/* Element (m, n) of op(A)*op(B) for an MxK op(A) and KxN op(B). ta: A is
 * stored KxM; tb: B is stored NxK. Every work-item of the group must call it. */
inline float tile_dot(const __global float *A, const __global float *B, const uint M,
                      const uint N, const uint K, const int ta, const int tb,
                      __local float *As, __local float *Bs)
{
    const uint ts = get_local_size(0);
    const uint lr = get_local_id(1), lc = get_local_id(0);
    const uint m = get_group_id(1) * ts + lr, n = get_group_id(0) * ts + lc;
    float acc = 0.0f;
    for (uint k0 = 0; k0 < K; k0 += ts) {
        const uint ka = k0 + lc, kb = k0 + lr;
        As[lr * ts + lc] = (m < M && ka < K) ? (ta ? A[ka * M + m] : A[m * K + ka]) : 0.0f;
        Bs[lr * ts + lc] = (kb < K && n < N) ? (tb ? B[n * K + kb] : B[kb * N + n]) : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint kend = min(ts, K - k0);
        for (uint k = 0; k < kend; k++) acc += As[lr * ts + k] * Bs[k * ts + lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return acc;
}

/* Y (Bxq) = X (Bxd) * W (dxq) + b. */
__kernel void linear_forward(const __global float *X, const __global float *W,
                             const __global float *b, __global float *Y, const uint B,
                             const uint d, const uint q, __local float *As, __local float *Bs)
{
    const float acc = tile_dot(X, W, B, q, d, 0, 0, As, Bs);
    const uint m = get_global_id(1), n = get_global_id(0);
    if (m < B && n < q) Y[m * q + n] = acc + b[n];
}

/* Y[i][j] = b[j]: the bias rows that CLBlast's SGEMM then adds X*W to (beta = 1). */
__kernel void linear_bias_rows(const __global float *b, __global float *Y, const uint B,
                               const uint q)
{
    const size_t p = get_global_id(0);
    if (p < (size_t)B * q) Y[p] = b[p % q];
}

/* dW (dxq) = X^T * dY. */
__kernel void linear_grad_weight(const __global float *X, const __global float *dY,
                                 __global float *dW, const uint B, const uint d, const uint q,
                                 __local float *As, __local float *Bs)
{
    const float acc = tile_dot(X, dY, d, q, B, 1, 0, As, Bs);
    const uint m = get_global_id(1), n = get_global_id(0);
    if (m < d && n < q) dW[m * q + n] = acc;
}

/* dX (Bxd) = dY (Bxq) * W^T. */
__kernel void linear_grad_input(const __global float *dY, const __global float *W,
                                __global float *dX, const uint B, const uint d, const uint q,
                                __local float *As, __local float *Bs)
{
    const float acc = tile_dot(dY, W, B, d, q, 0, 1, As, Bs);
    const uint m = get_global_id(1), n = get_global_id(0);
    if (m < B && n < d) dX[m * d + n] = acc;
}

/* db[j] = sum_i dY[i][j]: one work-group per column, strided partial sums then a
 * tree; the local size is a power of two. */
__kernel void linear_grad_bias(const __global float *dY, __global float *db, const uint B,
                               const uint q, __local float *part)
{
    const uint j = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    float s = 0.0f;
    for (uint i = lid; i < B; i += L) s += dY[i * q + j];
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) db[j] = part[0];
}

/* Written so that NaN passes through, as in PyTorch: divergence stays visible. */
__kernel void relu_forward(const __global float *X, __global float *Y, const uint n)
{
    const size_t i = get_global_id(0);
    if (i < n) Y[i] = X[i] < 0.0f ? 0.0f : X[i];
}

/* X is the ReLU's input; the kink (X == 0) gets gradient 0, as in PyTorch. */
__kernel void relu_backward(const __global float *X, const __global float *dY,
                            __global float *dX, const uint n)
{
    const size_t i = get_global_id(0);
    if (i < n) dX[i] = X[i] > 0.0f ? dY[i] : 0.0f;
}
