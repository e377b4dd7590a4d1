/* PHM layer (lib/nn/phm.c, docs/layers.md): its d×q weight W is the top-left block of
 * sum_i A_i (x) S_i, built here before the Linear product of cl/linear.cl (or CLBlast) runs
 * on it; the backward reduces that product's dW to dA and dS. A holds A_0..A_{n-1} (n×n
 * each) stacked, n·n×n; S holds S_0..S_{n-1} (dn×qn each) stacked, n·dn×qn, with
 * dn = ceil(d/n), qn = ceil(q/n). Every sum runs in a fixed order (no atomics). */

/* W[j][k] = sum_i A_i[j/dn][k/qn] * S_i[j%dn][k%qn]; one work-item per element. */
__kernel void phm_build(const __global float *A, const __global float *S, __global float *W,
                        const uint d, const uint q, const uint n, const uint dn, const uint qn)
{
    const size_t p = get_global_id(0);
    if (p >= (size_t)d * q) return;
    const uint j = (uint)(p / q), k = (uint)(p % q);
    const uint r = j / dn, a = j % dn, c = k / qn, b = k % qn;
    float acc = 0.0f;
    for (uint i = 0; i < n; i++) acc += A[(i * n + r) * n + c] * S[(i * dn + a) * qn + b];
    W[p] = acc;
}

/* dA_i[r][c] = sum over the block (r, c) of dW of S_i[a][b] * dW[r·dn+a][c·qn+b] (its
 * elements inside d×q only): one work-group per element of dA, strided partial sums over
 * the block then a tree; the local size is a power of two. */
__kernel void phm_grad_a(const __global float *S, const __global float *dW, __global float *dA,
                         const uint d, const uint q, const uint n, const uint dn, const uint qn,
                         __local float *part)
{
    const uint e = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    const uint i = e / (n * n), r = (e / n) % n, c = e % n;
    const uint rows = min(dn, d - min(d, r * dn)), cols = min(qn, q - min(q, c * qn));
    float s = 0.0f;
    for (uint t = lid; t < rows * cols; t += L) {
        const uint a = t / cols, b = t % cols;
        s += S[(i * dn + a) * qn + b] * dW[(r * dn + a) * q + c * qn + b];
    }
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) dA[e] = part[0];
}

/* dS_i[a][b] = sum_{r, c} A_i[r][c] * dW[r·dn+a][c·qn+b] over the blocks where that element
 * lies inside d×q; one work-item per element of dS. */
__kernel void phm_grad_s(const __global float *A, const __global float *dW, __global float *dS,
                         const uint d, const uint q, const uint n, const uint dn, const uint qn)
{
    const size_t p = get_global_id(0);
    if (p >= (size_t)n * dn * qn) return;
    const uint i = (uint)(p / ((size_t)dn * qn)), a = (uint)(p / qn % dn), b = (uint)(p % qn);
    float acc = 0.0f;
    for (uint r = 0; r < n && r * dn + a < d; r++)
        for (uint c = 0; c < n && c * qn + b < q; c++)
            acc += A[(i * n + r) * n + c] * dW[(r * dn + a) * q + c * qn + b];
    dS[p] = acc;
}
