/* Fused training of one Linear(d -> q) layer with a squared or MSE loss and SGD
 * (lib/fused.c). Same arithmetic, in the same order, as the unfused path
 * gather -> linear_forward -> loss_gradient -> linear_grad_weight/bias -> sgd_update:
 *   yhat[i][j] = (sum_k X[r_i][k] W[k][j], k increasing) + b[j]
 *   g[i][j]    = (kind 0: e, kind 1: 2e) * lscale, e = yhat - y, lscale = 1/(B*q) for MEAN
 *   dW[k][j]   = sum_i X[r_i][k] g[i][j] (i increasing); db[j] = sum_i g[i][j]
 *   SGD (PyTorch): u = grad*gscale + wd*p; buf = first ? u : mu*buf + (1-damp)*u;
 *                  u = nesterov ? u + mu*buf : buf; p -= lr*u
 * where r_i = order[batch*bs + i]. Only the bias sum differs in order (sequential
 * here, a tree there). hyper = (lr, momentum, dampening, weight_decay). */

inline float fused_sgd_elem(const float grad, const float p, __local float *m,
                            const int use_mom, const int first, const float4 h,
                            const int nesterov)
{
    float u = grad + h.w * p;
    if (use_mom) {
        const float buf = first ? u : h.y * m[0] + (1.0f - h.z) * u;
        m[0] = buf;
        u = nesterov ? u + h.y * buf : buf;
    }
    return p - h.x * u;
}

/* (a) and (b): a single work-group runs batches first_batch .. first_batch+nbatches-1
 * of the epoch in order, keeping W, b (and momentum) in local memory between them.
 * One launch per minibatch (nbatches = 1) or one per epoch. The gradients of the
 * last batch are left in dW, db, as the unfused backward leaves them.
 * scales = (lscale, gscale) of a full batch, then of the last (partial) one. */
__kernel void fused_sgd_epoch(const __global float *X, const __global float *Y,
                              const __global uint *order, __global float *W,
                              __global float *b, __global float *momW, __global float *momb,
                              __global float *dW, __global float *db, const uint n,
                              const uint d, const uint q, const uint bs,
                              const uint first_batch, const uint nbatches,
                              const uint last_batch, const int kind, const float4 scales,
                              const float4 hw, const float4 hb, const int nestW,
                              const int nestb, const int first_step, __local float *Wl,
                              __local float *bl, __local float *mWl, __local float *mbl,
                              __local float *gl, __local uint *rows)
{
    const uint lid = get_local_id(0), L = get_local_size(0);
    const uint dq = d * q, np = dq + q;
    const int useW = momW != 0, useb = momb != 0;
    for (uint p = lid; p < dq; p += L) {
        Wl[p] = W[p];
        if (useW) mWl[p] = momW[p];
    }
    for (uint j = lid; j < q; j += L) {
        bl[j] = b[j];
        if (useb) mbl[j] = momb[j];
    }
    for (uint t = 0; t < nbatches; t++) {
        const uint batch = first_batch + t;
        const uint off = batch * bs;
        const uint cnt = min(bs, n - off);
        const int partial = batch == last_batch;
        const float lscale = partial ? scales.z : scales.x;
        const float gscale = partial ? scales.w : scales.y;
        const int firstW = (first_step & 1) && t == 0, firstb = (first_step & 2) && t == 0;
        for (uint i = lid; i < cnt; i += L) rows[i] = order[off + i];
        barrier(CLK_LOCAL_MEM_FENCE);
        /* forward + loss gradient, one (row, output) pair per work-item */
        for (uint e = lid; e < cnt * q; e += L) {
            const uint i = e / q, j = e - i * q;
            const __global float *x = X + (size_t)rows[i] * d;
            float acc = 0.0f;
            for (uint k = 0; k < d; k++) acc += x[k] * Wl[k * q + j];
            const float err = (acc + bl[j]) - Y[(size_t)rows[i] * q + j];
            gl[e] = (kind == 0 ? err : 2.0f * err) * lscale;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* backward + SGD, one parameter element per work-item */
        const int keep = t + 1 == nbatches;
        for (uint p = lid; p < np; p += L) {
            float s = 0.0f;
            if (p < dq) {
                const uint k = p / q, j = p - k * q;
                for (uint i = 0; i < cnt; i++) s += X[(size_t)rows[i] * d + k] * gl[i * q + j];
                if (keep) dW[p] = s;
                Wl[p] = fused_sgd_elem(s * gscale, Wl[p], useW ? mWl + p : mWl, useW, firstW, hw, nestW);
            } else {
                const uint j = p - dq;
                for (uint i = 0; i < cnt; i++) s += gl[i * q + j];
                if (keep) db[j] = s;
                bl[j] = fused_sgd_elem(s * gscale, bl[j], useb ? mbl + j : mbl, useb, firstb, hb, nestb);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (uint p = lid; p < dq; p += L) {
        W[p] = Wl[p];
        if (useW) momW[p] = mWl[p];
    }
    for (uint j = lid; j < q; j += L) {
        b[j] = bl[j];
        if (useb) momb[j] = mbl[j];
    }
}

/* Full-set loss of a single Linear layer without gathering: group g sums the
 * per-element loss of rows g*chunk .. (g+1)*chunk-1 (strided partial sums, then a
 * tree; power-of-two local size) into part[g]. Fixed order, no atomics. */
__kernel void fused_loss_partial(const __global float *X, const __global float *Y,
                                 const __global float *W, const __global float *b,
                                 __global float *part, const uint n, const uint d,
                                 const uint q, const uint chunk, const int kind,
                                 __local float *red)
{
    const uint lid = get_local_id(0), L = get_local_size(0), g = get_group_id(0);
    const uint lo = g * chunk, hi = min(n, lo + chunk);
    float s = 0.0f;
    for (uint e = lo * q + lid; e < hi * q; e += L) {
        const uint i = e / q, j = e - i * q;
        const __global float *x = X + (size_t)i * d;
        float acc = 0.0f;
        for (uint k = 0; k < d; k++) acc += x[k] * W[k * q + j];
        const float err = (acc + b[j]) - Y[e];
        s += kind == 0 ? 0.5f * err * err : err * err;
    }
    red[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (lid < h) red[lid] += red[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) part[g] = red[0];
}

/* acc[0] += part[0] + part[1] + ... (in order). */
__kernel void fused_loss_finish(const __global float *part, __global float *acc, const uint groups)
{
    if (get_global_id(0) != 0) return;
    float s = 0.0f;
    for (uint g = 0; g < groups; g++) s += part[g];
    acc[0] += s;
}
