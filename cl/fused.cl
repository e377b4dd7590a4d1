/* Fused training of one Linear(d -> q) layer with a squared, MSE or softmax
 * cross-entropy loss and SGD (lib/fused.c). Same arithmetic, in the same order, as
 * the unfused path gather -> linear_forward -> loss gradient -> linear_grad_weight/
 * bias -> sgd_update:
 *   yhat[i][j] = (sum_k X[r_i][k] W[k][j], k increasing) + b[j]
 *   kind 0/1:  g[i][j] = (kind 0: e, kind 1: 2e) * lscale, e = yhat - y,
 *              lscale = 1/(B*q) for MEAN
 *   kind 2:    g[i][j] = (softmax(yhat_i)_j - [j == label_i]) * lscale, lscale = 1/B
 *              for MEAN; m = max_j, s = sum_j exp(yhat - m) (j increasing), as
 *              xent_gradient; Y is n x 1 class ids
 *   dW[k][j]   = sum_i X[r_i][k] g[i][j] (i increasing); db[j] = sum_i g[i][j]
 *   SGD (PyTorch): u = grad*gscale + wd*p; buf = first ? u : mu*buf + (1-damp)*u;
 *                  u = nesterov ? u + mu*buf : buf; p -= lr*u
 * where r_i = order[batch*bs + i]. Only the bias sum differs in order (sequential
 * here, a tree there). hyper = (lr, momentum, dampening, weight_decay).
 *
 * Vector lanes never change an order: the forward pass gives each work-item a block
 * of FUSED_LANES rows (one lane per row, each lane its own sequential sum over k) and
 * one output j; the backward pass gives each work-item FUSED_LANES consecutive
 * entries k of one column j of W (contiguous loads along d), each lane summing over
 * the batch rows in order. Explicit float8 maps straight onto CPU SIMD (POCL) and is
 * harmless on GPUs. */

#define FUSED_LANES 8

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

inline int fused_label(const float t, const uint C)
{
    if (!(t >= 0.0f && t < (float)C) || t != floor(t)) return -1;
    return (int)t;
}

/* Sequential dots sum_k x_l[k] W[k*q + j] (k increasing) of up to 8 rows, one per
 * lane; rows past the block's end repeat its last row. */
inline float8 fused_dot8(const __global float *x0, const __global float *x1,
                         const __global float *x2, const __global float *x3,
                         const __global float *x4, const __global float *x5,
                         const __global float *x6, const __global float *x7,
                         const uint d, const __local float *W, const uint q, const uint j)
{
    float8 acc = (float8)(0.0f);
    for (uint k = 0; k < d; k++) {
        const float8 xv = (float8)(x0[k], x1[k], x2[k], x3[k], x4[k], x5[k], x6[k], x7[k]);
        acc += xv * W[k * q + j];
    }
    return acc;
}

inline float fused_lane(const float8 v, const uint l)
{
    switch (l) {
    case 0: return v.s0;
    case 1: return v.s1;
    case 2: return v.s2;
    case 3: return v.s3;
    case 4: return v.s4;
    case 5: return v.s5;
    case 6: return v.s6;
    default: return v.s7;
    }
}

/* In-place softmax cross-entropy gradient of one row of C logits z. */
inline void fused_xent_row(__local float *z, const float t, const uint C, const float scale)
{
    const int lab = fused_label(t, C);
    if (lab < 0) {
        for (uint j = 0; j < C; j++) z[j] = NAN;
        return;
    }
    float m = z[0];
    for (uint j = 1; j < C; j++) m = fmax(m, z[j]);
    float s = 0.0f;
    for (uint j = 0; j < C; j++) s += exp(z[j] - m);
    for (uint j = 0; j < C; j++) {
        const float p = exp(z[j] - m) / s;
        z[j] = ((int)j == lab ? p - 1.0f : p) * scale;
    }
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
    const uint dq = d * q;
    const uint kblocks = (d + FUSED_LANES - 1) / FUSED_LANES, nw = kblocks * q;
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
        /* forward (+ regression loss gradient): with q >= FUSED_LANES one row x
         * FUSED_LANES outputs per work-item (Wl is padded by FUSED_LANES floats, the
         * lanes past q are discarded), else FUSED_LANES rows x one output */
        const uint rblocks = (cnt + FUSED_LANES - 1) / FUSED_LANES;
        const uint jblocks = (q + FUSED_LANES - 1) / FUSED_LANES;
        for (uint e = lid; q >= FUSED_LANES && e < cnt * jblocks; e += L) {
            const uint i = e / jblocks, j0 = (e - i * jblocks) * FUSED_LANES;
            const __global float *x = X + (size_t)rows[i] * d;
            float8 acc = (float8)(0.0f);
            for (uint k = 0; k < d; k++) acc += x[k] * vload8(0, Wl + k * q + j0);
            const uint lanes = min((uint)FUSED_LANES, q - j0);
            for (uint l = 0; l < lanes; l++) {
                const uint j = j0 + l;
                const float z = fused_lane(acc, l) + bl[j];
                if (kind == 2) {
                    gl[i * q + j] = z;
                } else {
                    const float err = z - Y[(size_t)rows[i] * q + j];
                    gl[i * q + j] = (kind == 0 ? err : 2.0f * err) * lscale;
                }
            }
        }
        for (uint e = lid; q < FUSED_LANES && e < rblocks * q; e += L) {
            const uint blk = e / q, j = e - blk * q, i0 = blk * FUSED_LANES;
            const uint last = cnt - 1;
            const float8 acc = fused_dot8(
                X + (size_t)rows[min(i0, last)] * d, X + (size_t)rows[min(i0 + 1, last)] * d,
                X + (size_t)rows[min(i0 + 2, last)] * d, X + (size_t)rows[min(i0 + 3, last)] * d,
                X + (size_t)rows[min(i0 + 4, last)] * d, X + (size_t)rows[min(i0 + 5, last)] * d,
                X + (size_t)rows[min(i0 + 6, last)] * d, X + (size_t)rows[min(i0 + 7, last)] * d,
                d, Wl, q, j);
            const uint lanes = min((uint)FUSED_LANES, cnt - i0);
            for (uint l = 0; l < lanes; l++) {
                const uint i = i0 + l;
                const float z = fused_lane(acc, l) + bl[j];
                if (kind == 2) {
                    gl[i * q + j] = z;
                } else {
                    const float err = z - Y[(size_t)rows[i] * q + j];
                    gl[i * q + j] = (kind == 0 ? err : 2.0f * err) * lscale;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (kind == 2) { /* logits -> cross-entropy gradient, one row per work-item */
            for (uint i = lid; i < cnt; i += L) fused_xent_row(gl + i * q, Y[rows[i]], q, lscale);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        /* backward + SGD: FUSED_LANES consecutive entries of one column of W, or one bias */
        const int keep = t + 1 == nbatches;
        for (uint p = lid; p < nw + q; p += L) {
            if (p < nw) {
                const uint kb = p / q, j = p - kb * q, k0 = kb * FUSED_LANES;
                float8 acc = (float8)(0.0f);
                if (k0 + FUSED_LANES <= d) {
                    for (uint i = 0; i < cnt; i++)
                        acc += vload8(0, X + (size_t)rows[i] * d + k0) * gl[i * q + j];
                } else {
                    for (uint i = 0; i < cnt; i++) {
                        const __global float *x = X + (size_t)rows[i] * d;
                        float8 xv = (float8)(0.0f);
                        xv.s0 = x[k0];
                        if (k0 + 1 < d) xv.s1 = x[k0 + 1];
                        if (k0 + 2 < d) xv.s2 = x[k0 + 2];
                        if (k0 + 3 < d) xv.s3 = x[k0 + 3];
                        if (k0 + 4 < d) xv.s4 = x[k0 + 4];
                        if (k0 + 5 < d) xv.s5 = x[k0 + 5];
                        if (k0 + 6 < d) xv.s6 = x[k0 + 6];
                        acc += xv * gl[i * q + j];
                    }
                }
                const uint lanes = min((uint)FUSED_LANES, d - k0);
                for (uint l = 0; l < lanes; l++) {
                    const uint w = (k0 + l) * q + j;
                    const float s = fused_lane(acc, l);
                    if (keep) dW[w] = s;
                    Wl[w] = fused_sgd_elem(s * gscale, Wl[w], useW ? mWl + w : mWl, useW, firstW,
                                           hw, nestW);
                }
            } else {
                const uint j = p - nw;
                float s = 0.0f;
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

/* Full-set loss of a single Linear layer without gathering: group g sums the loss
 * of rows g*chunk .. (g+1)*chunk-1 into part[g]: per element for kinds 0/1, per
 * row (cross-entropy, Y = class ids) for kind 2. Each work-item takes blocks of
 * FUSED_LANES rows in turn (strided), computes their q outputs into its slice of z
 * (local, FUSED_LANES*q floats per work-item), then the per-row losses; then a tree
 * (power-of-two local size). Fixed order, no atomics. */
__kernel void fused_loss_partial(const __global float *X, const __global float *Y,
                                 const __global float *W, const __global float *b,
                                 __global float *part, const uint n, const uint d,
                                 const uint q, const uint chunk, const int kind,
                                 __local float *red, __local float *zs)
{
    const uint lid = get_local_id(0), L = get_local_size(0), g = get_group_id(0);
    const uint lo = g * chunk, hi = min(n, lo + chunk);
    __local float *z = zs + lid * FUSED_LANES * q;
    float s = 0.0f;
    for (uint i0 = lo + lid * FUSED_LANES; i0 < hi; i0 += L * FUSED_LANES) {
        const uint last = hi - 1, lanes = min((uint)FUSED_LANES, hi - i0);
        for (uint l = 0; q >= FUSED_LANES && l < lanes; l++) { /* outputs in lanes */
            const __global float *x = X + (size_t)(i0 + l) * d;
            for (uint j0 = 0; j0 < q; j0 += FUSED_LANES) {
                float8 acc = (float8)(0.0f);
                if (j0 + FUSED_LANES <= q)
                    for (uint k = 0; k < d; k++) acc += x[k] * vload8(0, W + k * q + j0);
                else /* the last block: lanes past q read nothing */
                    for (uint k = 0; k < d; k++) {
                        const __global float *w = W + k * q + j0;
                        float8 wv = (float8)(0.0f);
                        wv.s0 = w[0];
                        if (j0 + 1 < q) wv.s1 = w[1];
                        if (j0 + 2 < q) wv.s2 = w[2];
                        if (j0 + 3 < q) wv.s3 = w[3];
                        if (j0 + 4 < q) wv.s4 = w[4];
                        if (j0 + 5 < q) wv.s5 = w[5];
                        if (j0 + 6 < q) wv.s6 = w[6];
                        acc += x[k] * wv;
                    }
                for (uint m = 0; m < FUSED_LANES && j0 + m < q; m++)
                    z[l * q + j0 + m] = fused_lane(acc, m) + b[j0 + m];
            }
        }
        for (uint j = 0; q < FUSED_LANES && j < q; j++) {
            float8 acc = (float8)(0.0f);
            const __global float *x0 = X + (size_t)min(i0, last) * d, *x1 = X + (size_t)min(i0 + 1, last) * d,
                                 *x2 = X + (size_t)min(i0 + 2, last) * d, *x3 = X + (size_t)min(i0 + 3, last) * d,
                                 *x4 = X + (size_t)min(i0 + 4, last) * d, *x5 = X + (size_t)min(i0 + 5, last) * d,
                                 *x6 = X + (size_t)min(i0 + 6, last) * d, *x7 = X + (size_t)min(i0 + 7, last) * d;
            for (uint k = 0; k < d; k++) {
                const float8 xv = (float8)(x0[k], x1[k], x2[k], x3[k], x4[k], x5[k], x6[k], x7[k]);
                acc += xv * W[k * q + j];
            }
            for (uint l = 0; l < lanes; l++) z[l * q + j] = fused_lane(acc, l) + b[j];
        }
        for (uint l = 0; l < lanes; l++) {
            const uint i = i0 + l;
            __local float *zr = z + l * q;
            if (kind == 2) {
                const int lab = fused_label(Y[i], q);
                if (lab < 0) {
                    s += NAN;
                    continue;
                }
                float m = zr[0];
                for (uint j = 1; j < q; j++) m = fmax(m, zr[j]);
                float se = 0.0f;
                for (uint j = 0; j < q; j++) se += exp(zr[j] - m);
                s += log(se) + (m - zr[lab]);
            } else {
                for (uint j = 0; j < q; j++) {
                    const float err = zr[j] - Y[(size_t)i * q + j];
                    s += kind == 0 ? 0.5f * err * err : err * err;
                }
            }
        }
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
