/* Fused training of one Linear(d -> q) layer with a squared, MSE or softmax
 * cross-entropy loss and SGD (lib/fused.c). The unfused path's arithmetic (gather ->
 * linear_forward -> loss gradient -> linear_grad_weight/bias -> sgd_update):
 *   yhat[i][j] = (sum_k X[r_i][k] W[k][j], k increasing) + b[j]
 *   kind 0/1:  g[i][j] = (kind 0: e, kind 1: 2e) * lscale, e = yhat - y,
 *              lscale = 1/(B*q) for MEAN
 *   kind 2:    g[i][j] = (softmax(yhat_i)_j - [j == label_i]) * lscale, lscale = 1/B
 *              for MEAN; m = max_j, s = sum_j exp(yhat - m) (j increasing), as
 *              xent_gradient; Y is n x 1 class ids
 *   dW[k][j]   = sum_i X[r_i][k] g[i][j] (i increasing); db[j] = sum_i g[i][j]
 *   SGD (PyTorch): u = grad*gscale + wd*p; buf = first ? u : mu*buf + (1-damp)*u;
 *                  u = nesterov ? u + mu*buf : buf; p -= lr*u
 * where r_i = order[batch*bs + i], in the same order except the bias sum (sequential
 * here, a tree there), the q = 1 forward and the split step's per-group partial sums.
 * hyper = (lr, momentum, dampening, weight_decay).
 *
 * Vector lanes change no order except in the q = 1 forward (fused_dot_rows: a row's
 * sum along d in float16 lanes, then a fixed tree); elsewhere every lane is one
 * output's own sequential sum.
 * Forward, q >= 8: a work-item takes FUSED_OROWS rows x 16 outputs (one float16
 * chain per row, W loaded along j); q = 1: FUSED_DROWS rows (fused_dot_rows);
 * 1 < q < 8: FUSED_ROWS rows x 1 output (two float8
 * chains, one lane per row, the rows' values loaded 8 along d at a time and
 * transposed in registers). Backward: a work-item takes 8*FUSED_KB = 32 consecutive
 * entries k of one column j of W (two float16 chains, contiguous loads along d),
 * each lane summing over the batch rows in order. Several independent chains per
 * work-item hide the add latency; explicit vectors map straight onto CPU SIMD (POCL)
 * and are harmless on GPUs. */

#include "fused_shape.h"
#include "sgd_rule.h"

/* sgd_rule on an element whose momentum lives in local memory at m. */
inline float fused_sgd_elem(const float grad, const float p, __local float *m,
                            const int use_mom, const int first, const float4 h,
                            const int nesterov)
{
    float buf = use_mom && !first ? m[0] : 0.0f;
    const float r = sgd_rule(grad, p, &buf, use_mom, first, h, nesterov);
    if (use_mom) m[0] = buf;
    return r;
}

inline int fused_label(const float t, const uint C)
{
    if (!(t >= 0.0f && t < (float)C) || t != floor(t)) return -1;
    return (int)t;
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

/* 8 floats of x from k on; entries at or past d read as 0. */
inline float fused_lane16(const float16 v, const uint l)
{
    return l < 8 ? fused_lane(v.lo, l) : fused_lane(v.hi, l - 8);
}

inline float8 fused_load8m(const __global float *x, const uint k, const uint d)
{
    if (k + 8 <= d) return vload8(0, x + k);
    float8 v = (float8)(0.0f);
    if (k < d) v.s0 = x[k];
    if (k + 1 < d) v.s1 = x[k + 1];
    if (k + 2 < d) v.s2 = x[k + 2];
    if (k + 3 < d) v.s3 = x[k + 3];
    if (k + 4 < d) v.s4 = x[k + 4];
    if (k + 5 < d) v.s5 = x[k + 5];
    if (k + 6 < d) v.s6 = x[k + 6];
    return v;
}

/* acc (lane t = row t) += r[t][kk] * w[kk*q], kk = 0..7 in order. */
#define FUSED_T8(acc, r, w, q)                                                                  \
    do {                                                                                       \
        acc += (float8)(r[0].s0, r[1].s0, r[2].s0, r[3].s0, r[4].s0, r[5].s0, r[6].s0, r[7].s0) * (w)[0];         \
        acc += (float8)(r[0].s1, r[1].s1, r[2].s1, r[3].s1, r[4].s1, r[5].s1, r[6].s1, r[7].s1) * (w)[(q)];       \
        acc += (float8)(r[0].s2, r[1].s2, r[2].s2, r[3].s2, r[4].s2, r[5].s2, r[6].s2, r[7].s2) * (w)[2 * (q)];   \
        acc += (float8)(r[0].s3, r[1].s3, r[2].s3, r[3].s3, r[4].s3, r[5].s3, r[6].s3, r[7].s3) * (w)[3 * (q)];   \
        acc += (float8)(r[0].s4, r[1].s4, r[2].s4, r[3].s4, r[4].s4, r[5].s4, r[6].s4, r[7].s4) * (w)[4 * (q)];   \
        acc += (float8)(r[0].s5, r[1].s5, r[2].s5, r[3].s5, r[4].s5, r[5].s5, r[6].s5, r[7].s5) * (w)[5 * (q)];   \
        acc += (float8)(r[0].s6, r[1].s6, r[2].s6, r[3].s6, r[4].s6, r[5].s6, r[6].s6, r[7].s6) * (w)[6 * (q)];   \
        acc += (float8)(r[0].s7, r[1].s7, r[2].s7, r[3].s7, r[4].s7, r[5].s7, r[6].s7, r[7].s7) * (w)[7 * (q)];   \
    } while (0)

/* Dots of 16 rows x[t] with column j of W (k increasing, one lane per row):
 * rows 0..7 in *lo, 8..15 in *hi. */
inline void fused_rows16(const __global float **x, const uint d, const __local float *W,
                         const uint q, const uint j, float8 *lo, float8 *hi)
{
    float8 a = (float8)(0.0f), c = (float8)(0.0f);
    uint k = 0;
    for (; k + 8 <= d; k += 8) {
        float8 r[8], u[8];
        for (int t = 0; t < 8; t++) {
            r[t] = vload8(0, x[t] + k);
            u[t] = vload8(0, x[t + 8] + k);
        }
        const __local float *w = W + k * q + j;
        FUSED_T8(a, r, w, q);
        FUSED_T8(c, u, w, q);
    }
    for (; k < d; k++) {
        const float w = W[k * q + j];
        a += (float8)(x[0][k], x[1][k], x[2][k], x[3][k], x[4][k], x[5][k], x[6][k], x[7][k]) * w;
        c += (float8)(x[8][k], x[9][k], x[10][k], x[11][k], x[12][k], x[13][k], x[14][k], x[15][k]) * w;
    }
    *lo = a;
    *hi = c;
}

/* Dots of 4 rows x[t] with columns j0..j0+15 of W (k increasing, one lane per output);
 * W must be readable FUSED_OL floats past its end (lanes past q are garbage). */
inline void fused_outs4(const __global float **x, const uint d, const __local float *W,
                        const uint q, const uint j0, float16 *o)
{
    float16 a0 = (float16)(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (uint k = 0; k < d; k++) {
        const float16 w = vload16(0, W + k * q + j0);
        a0 += x[0][k] * w;
        a1 += x[1][k] * w;
        a2 += x[2][k] * w;
        a3 += x[3][k] * w;
    }
    o[0] = a0;
    o[1] = a1;
    o[2] = a2;
    o[3] = a3;
}

/* Horizontal sum of a float16 in a fixed tree (16 -> 8 -> 4 -> 2 -> 1). */
inline float fused_hsum16(const float16 a)
{
    const float8 s8 = a.lo + a.hi;
    const float4 s4 = s8.lo + s8.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

/* Dots of FUSED_DROWS rows x[r] with w (d floats) for q = 1, the d2l linear-regression
 * case: one float16 chain per row along d (the rows' loads interleave, so several
 * rows stream from memory at once), each reduced by fused_hsum16, then the tail in
 * order. Contiguous loads, no transposition. */
inline void fused_dot_rows(const __global float **x, const __local float *w, const uint d,
                           float *out)
{
    float16 a[FUSED_DROWS];
    for (uint r = 0; r < FUSED_DROWS; r++) a[r] = (float16)(0.0f);
    uint k = 0;
    for (; k + 16 <= d; k += 16) {
        const float16 wv = vload16(0, w + k);
        for (uint r = 0; r < FUSED_DROWS; r++) a[r] += vload16(0, x[r] + k) * wv;
    }
    for (uint r = 0; r < FUSED_DROWS; r++) {
        float t = fused_hsum16(a[r]);
        for (uint kk = k; kk < d; kk++) t += x[r][kk] * w[kk];
        out[r] = t;
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

/* Output z = logit (i, j) of the batch: kept for cross-entropy, else turned into the
 * regression loss gradient. */
inline void fused_emit(__local float *gl, const __global float *Y, const uint row, const uint i,
                       const uint j, const uint q, const int kind, const float z,
                       const float lscale)
{
    if (kind == 2) {
        gl[i * q + j] = z;
    } else {
        const float err = z - Y[(size_t)row * q + j];
        gl[i * q + j] = (kind == 0 ? err : 2.0f * err) * lscale;
    }
}

/* Column sums of the backward: a[c/8] lane c%8 = sum over the cnt batch rows (in order)
 * of X[rows[i]][k0 + c] * g[i][j], c < 8*FUSED_KB (entries at or past d read as 0). */
inline void fused_col_block(const __global float *X, const __local uint *rows,
                            const __local float *gl, const uint cnt, const uint d, const uint q,
                            const uint j, const uint k0, float8 *a)
{
    float8 a0 = (float8)(0.0f), a1 = a0, a2 = a0, a3 = a0;
    if (k0 + FUSED_LANES * FUSED_KB <= d) {
        float16 b0 = (float16)(0.0f), b1 = b0;
        for (uint i = 0; i < cnt; i++) {
            const __global float *x = X + (size_t)rows[i] * d + k0;
            const float g = gl[i * q + j];
            b0 += vload16(0, x) * g;
            b1 += vload16(1, x) * g;
        }
        a0 = b0.lo, a1 = b0.hi, a2 = b1.lo, a3 = b1.hi;
    } else {
        for (uint i = 0; i < cnt; i++) {
            const __global float *x = X + (size_t)rows[i] * d;
            const float g = gl[i * q + j];
            a0 += fused_load8m(x, k0, d) * g;
            a1 += fused_load8m(x, k0 + 8, d) * g;
            a2 += fused_load8m(x, k0 + 16, d) * g;
            a3 += fused_load8m(x, k0 + 24, d) * g;
        }
    }
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
}

/* (a) and (b): a single work-group runs batches first_batch .. first_batch+nbatches-1
 * of the epoch in order, keeping W, b (and momentum) in local memory between them.
 * One launch per minibatch (nbatches = 1) or one per epoch. The gradients of the
 * last batch are left in dW, db, as the unfused backward leaves them.
 * scales = (lscale, gscale) of a full batch, then of the last (partial) one.
 * Wl holds d*q + FUSED_OL floats (the padding is read by the q >= 8 forward, never used). */
/* Forward of cnt rows (read through rows[]) into the loss-gradient buffer gl, shared by
 * the epoch kernel and the pipeline's forward: the same units, chains and order. */
inline void fused_forward(const __global float *X, const __global float *Y, const uint d,
                          const uint q, const __local float *Wl, const __local float *bl,
                          const __local uint *rows, const uint cnt, __local float *gl,
                          const int kind, const float lscale, const uint lid, const uint L)
{
    const uint jblocks = (q + FUSED_OL - 1) / FUSED_OL, last = cnt - 1;
    if (q == 1) { /* FUSED_DROWS rows per work-item */
        const uint units = (cnt + FUSED_DROWS - 1) / FUSED_DROWS;
        for (uint e = lid; e < units; e += L) {
            const uint i0 = e * FUSED_DROWS;
            const __global float *x[FUSED_DROWS];
            float z[FUSED_DROWS];
            for (uint r = 0; r < FUSED_DROWS; r++) x[r] = X + (size_t)rows[min(i0 + r, last)] * d;
            fused_dot_rows(x, Wl, d, z);
            for (uint r = 0; r < FUSED_DROWS && i0 + r < cnt; r++)
                fused_emit(gl, Y, rows[i0 + r], i0 + r, 0, 1, kind, z[r] + bl[0], lscale);
        }
    } else if (q >= FUSED_LANES) {
        const uint units = (cnt + FUSED_OROWS - 1) / FUSED_OROWS * jblocks;
        for (uint e = lid; e < units; e += L) {
            const uint blk = e / jblocks, j0 = (e - blk * jblocks) * FUSED_OL;
            const uint i0 = blk * FUSED_OROWS;
            const __global float *x[FUSED_OROWS];
            for (uint r = 0; r < FUSED_OROWS; r++) x[r] = X + (size_t)rows[min(i0 + r, last)] * d;
            float16 o[FUSED_OROWS];
            fused_outs4(x, d, Wl, q, j0, o);
            for (uint r = 0; r < FUSED_OROWS && i0 + r < cnt; r++)
                for (uint l = 0; l < FUSED_OL && j0 + l < q; l++)
                    fused_emit(gl, Y, rows[i0 + r], i0 + r, j0 + l, q, kind,
                               fused_lane16(o[r], l) + bl[j0 + l], lscale);
        }
    } else {
        const uint units = (cnt + FUSED_ROWS - 1) / FUSED_ROWS * q;
        for (uint e = lid; e < units; e += L) {
            const uint blk = e / q, j = e - blk * q, i0 = blk * FUSED_ROWS;
            const __global float *x[FUSED_ROWS];
            for (uint r = 0; r < FUSED_ROWS; r++) x[r] = X + (size_t)rows[min(i0 + r, last)] * d;
            float8 lo, hi;
            fused_rows16(x, d, Wl, q, j, &lo, &hi);
            for (uint r = 0; r < FUSED_ROWS && i0 + r < cnt; r++)
                fused_emit(gl, Y, rows[i0 + r], i0 + r, j, q, kind,
                           fused_lane(r < FUSED_LANES ? lo : hi, r % FUSED_LANES) + bl[j], lscale);
        }
    }
}

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
    const uint KU = FUSED_LANES * FUSED_KB, kunits = (d + KU - 1) / KU, nw = kunits * q;
    const int useW = momW != 0, useb = momb != 0;
    for (uint p = lid; p < dq; p += L) {
        Wl[p] = W[p];
        if (useW) mWl[p] = momW[p];
    }
    for (uint p = dq + lid; p < dq + FUSED_OL; p += L) Wl[p] = 0.0f;
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
        if (t + 1 < nbatches) { /* the next batch's rows are random: ask for them early */
            const uint noff = off + bs, ncnt = min(bs, n - noff);
            for (uint i = lid; i < ncnt; i += L) prefetch(X + (size_t)order[noff + i] * d, d);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* forward (+ regression loss gradient) */
        fused_forward(X, Y, d, q, Wl, bl, rows, cnt, gl, kind, lscale, lid, L);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (kind == 2) { /* logits -> cross-entropy gradient, one row per work-item */
            for (uint i = lid; i < cnt; i += L) fused_xent_row(gl + i * q, Y[rows[i]], q, lscale);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        /* backward + SGD: 8*FUSED_KB consecutive entries of one column of W, or one bias */
        const int keep = t + 1 == nbatches;
        for (uint p = lid; p < nw + q; p += L) {
            if (p < nw) {
                const uint ku = p / q, j = p - ku * q, k0 = ku * KU;
                float8 a[FUSED_KB];
                fused_col_block(X, rows, gl, cnt, d, q, j, k0, a);
                for (uint c = 0; c < KU && k0 + c < d; c++) {
                    const uint w = (k0 + c) * q + j, l = c % FUSED_LANES;
                    const float s = fused_lane(a[c / FUSED_LANES], l);
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

/* (c) the multi-work-group minibatch pipeline: two launches per minibatch.
 * fused_mb_forward: group g takes the batch rows g*rg .. g*rg+rg-1 (read through the
 * permutation, no gather copy), stages W in local memory, computes their outputs with
 * the epoch kernel's helpers (same order), the loss gradient (for cross-entropy the
 * group holds whole rows, so the softmax pass follows a barrier) and writes it to
 * G (cnt x q). Wl holds W, its FUSED_OL padding and b. Local size: the forward units of rg rows. */
__kernel void fused_mb_forward(const __global float *X, const __global float *Y,
                               const __global uint *order, const __global float *W,
                               const __global float *b, __global float *G, const uint d,
                               const uint q, const uint off, const uint cnt, const uint rg,
                               const int kind, const float lscale, __local float *Wl,
                               __local float *gl, __local uint *rows)
{
    const uint lid = get_local_id(0), L = get_local_size(0), g0 = get_group_id(0) * rg;
    const uint dq = d * q;
    if (g0 >= cnt) return; /* uniform over the group */
    const uint gc = min(rg, cnt - g0);
    __local float *bl = Wl + dq + FUSED_OL; /* b staged after W and its padding */
    for (uint p = lid; p < dq; p += L) Wl[p] = W[p];
    for (uint p = dq + lid; p < dq + FUSED_OL; p += L) Wl[p] = 0.0f;
    for (uint j = lid; j < q; j += L) bl[j] = b[j];
    for (uint i = lid; i < gc; i += L) rows[i] = order[off + g0 + i];
    barrier(CLK_LOCAL_MEM_FENCE);
    fused_forward(X, Y, d, q, Wl, bl, rows, gc, gl, kind, lscale, lid, L);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (kind == 2) {
        for (uint i = lid; i < gc; i += L) fused_xent_row(gl + i * q, Y[rows[i]], q, lscale);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (uint p = lid; p < gc * q; p += L) G[(size_t)g0 * q + p] = gl[p];
}

/* The same with the momentum in global memory. */
inline float fused_sgd_elem_g(const float grad, const float p, __global float *m,
                              const int use_mom, const int first, const float4 h,
                              const int nesterov)
{
    float buf = use_mom && !first ? m[0] : 0.0f;
    const float r = sgd_rule(grad, p, &buf, use_mom, first, h, nesterov);
    if (use_mom) m[0] = buf;
    return r;
}

/* fused_mb_backward: one work-item per 8*FUSED_KB consecutive entries of a column of W
 * (or per bias), over as many groups as the device likes: sums over the batch rows in
 * order (the epoch kernel's arithmetic), writes dW/db and applies the SGD step in
 * place. first_step: bit 0 W's momentum buffer is new, bit 1 b's. */
__kernel void fused_mb_backward(const __global float *X, const __global uint *order,
                                const __global float *G, __global float *W,
                                __global float *b, __global float *momW, __global float *momb,
                                __global float *dW, __global float *db, const uint d,
                                const uint q, const uint off, const uint cnt,
                                const float gscale, const float4 hw, const float4 hb,
                                const int nestW, const int nestb, const int first_step)
{
    const uint p = get_global_id(0);
    const uint KU = FUSED_LANES * FUSED_KB, nw = (d + KU - 1) / KU * q;
    const int useW = momW != 0, useb = momb != 0;
    const __global uint *rows = order + off;
    if (p < nw) {
        const uint ku = p / q, j = p - ku * q, k0 = ku * KU;
        float8 a0 = (float8)(0.0f), a1 = a0, a2 = a0, a3 = a0;
        if (k0 + KU <= d) {
            float16 b0 = (float16)(0.0f), b1 = b0;
            for (uint i = 0; i < cnt; i++) {
                const __global float *x = X + (size_t)rows[i] * d + k0;
                const float g = G[i * q + j];
                b0 += vload16(0, x) * g;
                b1 += vload16(1, x) * g;
            }
            a0 = b0.lo, a1 = b0.hi, a2 = b1.lo, a3 = b1.hi;
        } else {
            for (uint i = 0; i < cnt; i++) {
                const __global float *x = X + (size_t)rows[i] * d;
                const float g = G[i * q + j];
                a0 += fused_load8m(x, k0, d) * g;
                a1 += fused_load8m(x, k0 + 8, d) * g;
                a2 += fused_load8m(x, k0 + 16, d) * g;
                a3 += fused_load8m(x, k0 + 24, d) * g;
            }
        }
        for (uint c = 0; c < KU && k0 + c < d; c++) {
            const uint w = (k0 + c) * q + j, l = c % FUSED_LANES;
            const float s = fused_lane(c < 8 ? a0 : c < 16 ? a1 : c < 24 ? a2 : a3, l);
            dW[w] = s;
            W[w] = fused_sgd_elem_g(s * gscale, W[w], useW ? momW + w : momW, useW,
                                    first_step & 1, hw, nestW);
        }
    } else if (p < nw + q) {
        const uint j = p - nw;
        float s = 0.0f;
        for (uint i = 0; i < cnt; i++) s += G[i * q + j];
        db[j] = s;
        b[j] = fused_sgd_elem_g(s * gscale, b[j], useb ? momb + j : momb, useb,
                                (first_step & 2) != 0, hb, nestb);
    }
}

/* Full-set loss of a single Linear layer without gathering: group g sums the loss
 * of rows g*chunk .. (g+1)*chunk-1 into part[g]: per element for kinds 0/1, per
 * row (cross-entropy, Y = class ids) for kind 2. W is staged in local memory (Wl,
 * d*q + FUSED_OL floats); each work-item takes blocks of rows in turn (strided; FUSED_OROWS
 * rows for q >= 8, else FUSED_ROWS), computes their q outputs with the forward's
 * helpers into its slice of zs (FUSED_ROWS*q floats per work-item), then the
 * per-row losses; then a tree (power-of-two local size). Fixed order, no atomics. */
__kernel void fused_loss_partial(const __global float *X, const __global float *Y,
                                 const __global float *W, const __global float *b,
                                 __global float *part, const uint n, const uint d,
                                 const uint q, const uint chunk, const int kind,
                                 __local float *red, __local float *zs, __local float *Wl)
{
    const uint lid = get_local_id(0), L = get_local_size(0), g = get_group_id(0);
    const uint lo = g * chunk, hi = min(n, lo + chunk);
    for (uint p = lid; p < d * q; p += L) Wl[p] = W[p];
    for (uint p = d * q + lid; p < d * q + FUSED_OL; p += L) Wl[p] = 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float *z = zs + lid * FUSED_ROWS * q;
    const uint rb = q >= FUSED_LANES ? FUSED_OROWS : FUSED_ROWS;
    float s = 0.0f;
    const int dotrows = q == 1 && kind != 2;
    if (dotrows) { /* a contiguous run of rows per work-item, one dot each */
        const uint per = (hi - lo + L - 1) / L, a = min(hi, lo + lid * per), e = min(hi, a + per);
        for (uint i = a; i < e; i += FUSED_DROWS) {
            const __global float *x[FUSED_DROWS];
            float z[FUSED_DROWS];
            for (uint r = 0; r < FUSED_DROWS; r++) x[r] = X + (size_t)min(i + r, e - 1) * d;
            fused_dot_rows(x, Wl, d, z);
            for (uint r = 0; r < FUSED_DROWS && i + r < e; r++) {
                const float err = z[r] + b[0] - Y[i + r];
                s += kind == 0 ? 0.5f * err * err : err * err;
            }
        }
    }
    for (uint i0 = lo + lid * rb; !dotrows && i0 < hi; i0 += L * rb) {
        const uint last = hi - 1, lanes = min(rb, hi - i0);
        if (q >= FUSED_LANES) {
            const __global float *x[FUSED_OROWS];
            for (uint r = 0; r < FUSED_OROWS; r++) x[r] = X + (size_t)min(i0 + r, last) * d;
            for (uint j0 = 0; j0 < q; j0 += FUSED_OL) {
                float16 o[FUSED_OROWS];
                fused_outs4(x, d, Wl, q, j0, o);
                for (uint r = 0; r < lanes; r++)
                    for (uint l = 0; l < FUSED_OL && j0 + l < q; l++)
                        z[r * q + j0 + l] = fused_lane16(o[r], l) + b[j0 + l];
            }
        } else {
            const __global float *x[FUSED_ROWS];
            for (uint r = 0; r < FUSED_ROWS; r++) x[r] = X + (size_t)min(i0 + r, last) * d;
            for (uint j = 0; j < q; j++) {
                float8 a, c;
                fused_rows16(x, d, Wl, q, j, &a, &c);
                for (uint r = 0; r < lanes; r++)
                    z[r * q + j] = fused_lane(r < FUSED_LANES ? a : c, r % FUSED_LANES) + b[j];
            }
        }
        for (uint r = 0; r < lanes; r++) {
            const uint i = i0 + r;
            __local float *zr = z + r * q;
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

/* (d) the split step: one launch per minibatch over G groups, with no communication
 * between the groups of a launch (OpenCL 1.2 orders work-groups only at kernel
 * boundaries). Launch t (0..nb) first applies the update of batch t-1: every group sums
 * the G partial gradients of part_prev in group order (the same fixed order in every
 * group, so all groups hold the same W_t) and steps W_{t-1} (Wsrc, momentum msrc) into
 * local memory; group 0 writes W_t to Wdst (ping-pong buffers: no launch reads what it
 * writes, except the single-group final launch, element by element). Then (t < nb)
 * group g computes the loss gradient of batch rows g*rg .. g*rg+rg-1 at W_t with the
 * epoch kernel's forward and writes its partial dW|db (d*q + q floats) to part_cur[g].
 * The final launch (t = nb, one group) leaves the last batch's gradients in dW, db.
 * hyper, scales, first_step: as fused_sgd_epoch (first_step: of the update applied
 * here). The host copies W, b (and the momentum) into [W | b] ping-pong buffers
 * before the first launch and back after the last. Work-group: a power of two
 * covering the widest phase. */
inline float fused_sgd_elem_pp(const float grad, const float p, const __global float *msrc,
                               __global float *mdst, const int use_mom, const int first,
                               const float4 h, const int nesterov)
{
    float buf = use_mom && !first ? msrc[0] : 0.0f;
    const float r = sgd_rule(grad, p, &buf, use_mom, first, h, nesterov);
    if (use_mom && mdst) mdst[0] = buf;
    return r;
}

__kernel void fused_split_step(const __global float *X, const __global float *Y,
                               const __global uint *order, const __global float *Wsrc,
                               __global float *Wdst, const __global float *msrc,
                               __global float *mdst, const __global float *part_prev,
                               __global float *part_cur, __global float *dW, __global float *db,
                               const uint d, const uint q, const uint off, const uint cnt,
                               const uint rg, const uint gprev, const int kind,
                               const float lscale, const float gscale, const float4 hw,
                               const float4 hb, const int nestW, const int nestb,
                               const int first_step, const int use_mW, const int use_mb,
                               __local float *Wl, __local float *gl, __local uint *rows)
{
    const uint lid = get_local_id(0), L = get_local_size(0), g = get_group_id(0);
    const uint dq = d * q, stride = dq + q;
    const int writer = g == 0, final = cnt == 0;
    __local float *bl = Wl + dq + FUSED_OL; /* b after W and its padding */
    /* W, b live in Wsrc/Wdst as [W (dq) | b (q)]; momentum likewise in msrc/mdst. */
    for (uint p = lid; p < stride; p += L) {
        float v = Wsrc[p];
        if (gprev) {
            float s = 0.0f;
            for (uint h = 0; h < gprev; h++) s += part_prev[h * stride + p];
            const int isW = p < dq;
            const int use = isW ? use_mW : use_mb;
            v = fused_sgd_elem_pp(s * gscale, v, msrc + p, writer ? mdst + p : 0, use,
                                  isW ? (first_step & 1) : (first_step & 2) != 0,
                                  isW ? hw : hb, isW ? nestW : nestb);
            if (final) {
                if (isW) dW[p] = s;
                else db[p - dq] = s;
            }
        } else if (writer && (p < dq ? use_mW : use_mb)) {
            mdst[p] = msrc[p]; /* no update yet: carry the momentum over */
        }
        if (writer) Wdst[p] = v;
        if (p < dq) Wl[p] = v;
        else bl[p - dq] = v;
    }
    if (final) return; /* uniform: the final launch has one group and no batch */
    for (uint p = dq + lid; p < dq + FUSED_OL; p += L) Wl[p] = 0.0f;
    const uint g0 = g * rg;
    const uint gc = g0 < cnt ? min(rg, cnt - g0) : 0;
    for (uint i = lid; i < gc; i += L) rows[i] = order[off + g0 + i];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (gc) fused_forward(X, Y, d, q, Wl, bl, rows, gc, gl, kind, lscale, lid, L);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (kind == 2) {
        for (uint i = lid; i < gc; i += L) fused_xent_row(gl + i * q, Y[rows[i]], q, lscale);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    /* partial dW (8*FUSED_KB consecutive entries of a column per work-item) and db */
    const uint KU = FUSED_LANES * FUSED_KB, nw = (d + KU - 1) / KU * q;
    __global float *out = part_cur + g * stride;
    for (uint p = lid; p < nw + q; p += L) {
        if (p < nw) {
            const uint ku = p / q, j = p - ku * q, k0 = ku * KU;
            float8 a[FUSED_KB];
            fused_col_block(X, rows, gl, gc, d, q, j, k0, a);
            for (uint c = 0; c < KU && k0 + c < d; c++)
                out[(k0 + c) * q + j] = fused_lane(a[c / FUSED_LANES], c % FUSED_LANES);
        } else {
            const uint j = p - nw;
            float s = 0.0f;
            for (uint i = 0; i < gc; i++) s += gl[i * q + j];
            out[dq + j] = s;
        }
    }
}
