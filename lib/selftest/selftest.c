/* clg_selftest: each kernel family on the context's device against a plain-C
 * double reference (the Linear products on both clgrad's kernel and CLBlast, and an
 * epoch of every fused path against the host's SGD trajectory). Errors are
 * max |device − reference| / max(1, |reference|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct st_run {
    clg_context *ctx;
    clg_selftest_result *res;
    size_t cap, count;
    uint64_t rng;
} st_run;

static float rnd(st_run *r) /* uniform in [-1, 1), xorshift64* */
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (float)((r->rng * 2685821657736338717ULL) >> 40) / 8388608.0f - 1.0f;
}

static void record(st_run *r, const char *name, double err, double tol)
{
    if (r->count < r->cap) {
        clg_selftest_result *x = &r->res[r->count];
        snprintf(x->kernel, sizeof x->kernel, "%s", name);
        x->max_error = err;
        x->tolerance = tol;
        x->passed = err <= tol; /* NaN fails */
    }
    r->count++;
}

static double max_err(const float *got, const double *ref, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]) / fmax(1.0, fabs(ref[i]));
        if (!(d <= e)) e = d; /* keeps NaN */
    }
    return e;
}

/* Host buffers of one check; freed together. */
typedef struct st_bufs {
    clg_tensor *t[8];
    float *h[8];
    double *ref[4];
} st_bufs;

static void bufs_free(st_bufs *b)
{
    for (int i = 0; i < 8; i++) {
        clg_tensor_destroy(b->t[i]);
        free(b->h[i]);
    }
    for (int i = 0; i < 4; i++) free(b->ref[i]);
    memset(b, 0, sizeof *b);
}

/* Random host matrix uploaded to slot k. */
static clg_status rand_tensor(st_run *r, st_bufs *b, int k, size_t rows, size_t cols)
{
    b->h[k] = malloc(rows * cols * sizeof(float));
    if (!b->h[k]) return clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    for (size_t i = 0; i < rows * cols; i++) b->h[k][i] = rnd(r);
    return clg_tensor_from_host(r->ctx, b->h[k], rows, cols, &b->t[k]);
}

static clg_status out_tensor(st_run *r, st_bufs *b, int k, size_t rows, size_t cols)
{
    b->h[k] = malloc(rows * cols * sizeof(float));
    if (!b->h[k]) return clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    return clg_tensor_zeros(r->ctx, rows, cols, &b->t[k]);
}

static clg_status fetch(st_bufs *b, int k)
{
    return clg_tensor_download(b->t[k], b->h[k], b->t[k]->rows, b->t[k]->cols);
}

static double *ref_alloc(st_bufs *b, int k, size_t n)
{
    b->ref[k] = calloc(n, sizeof(double));
    return b->ref[k];
}

static clg_status check_fill_gather(st_run *r)
{
    st_bufs b = {0};
    const size_t n = 37, d = 5;
    uint32_t order[37];
    clg_status s = rand_tensor(r, &b, 0, n, d);
    if (s == CLG_OK) s = out_tensor(r, &b, 1, 17, d);
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)((i * 11 + 3) % n);
    cl_mem ord = NULL;
    if (s == CLG_OK) s = clg_buffer_create(r->ctx, sizeof order, "selftest order", &ord);
    if (s == CLG_OK) {
        cl_int err = clEnqueueWriteBuffer(r->ctx->queue, ord, CL_TRUE, 0, sizeof order, order, 0,
                                          NULL, NULL);
        if (err != CL_SUCCESS) s = clg_fail_cl(r->ctx, err, "clEnqueueWriteBuffer(selftest)");
    }
    if (s == CLG_OK) s = clg_op_gather_rows(r->ctx, b.t[0]->mem, ord, 5, 17, d, b.t[1]->mem);
    if (s == CLG_OK) s = fetch(&b, 1);
    double *ref = s == CLG_OK ? ref_alloc(&b, 0, 17 * d) : NULL;
    if (ref) {
        for (size_t i = 0; i < 17; i++)
            for (size_t j = 0; j < d; j++) ref[i * d + j] = b.h[0][order[5 + i] * d + j];
        record(r, "gather_rows", max_err(b.h[1], ref, 17 * d), 0.0);
    }
    if (s == CLG_OK && (s = clg_tensor_fill(b.t[1], 0.625f)) == CLG_OK &&
        (s = fetch(&b, 1)) == CLG_OK) {
        for (size_t i = 0; i < 17 * d; i++) ref[i] = 0.625;
        record(r, "tensor_fill", max_err(b.h[1], ref, 17 * d), 0.0);
    }
    if (ord) clReleaseMemObject(ord);
    bufs_free(&b);
    return s;
}

/* The Linear products on one implementation (gemm: "own" or "clblast", see gemm.c);
 * the sizes make CLBlast pad every side. */
static clg_status check_linear(st_run *r, const char *gemm)
{
    const size_t B = 37, d = 19, q = 12;
    const clg_product_impl keep = r->ctx->cfg.product;
    st_bufs b = {0};
    clg_status s = clg_config_set(r->ctx, "CLGRAD_GEMM", gemm);
    if (s == CLG_OK) s = rand_tensor(r, &b, 0, B, d); /* X */
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, d, q); /* W */
    if (s == CLG_OK) s = rand_tensor(r, &b, 2, 1, q); /* b */
    if (s == CLG_OK) s = rand_tensor(r, &b, 3, B, q); /* dY */
    if (s == CLG_OK) s = out_tensor(r, &b, 4, B, q);  /* Y */
    if (s == CLG_OK) s = out_tensor(r, &b, 5, d, q);  /* dW */
    if (s == CLG_OK) s = out_tensor(r, &b, 6, 1, q);  /* db */
    if (s == CLG_OK) s = out_tensor(r, &b, 7, B, d);  /* dX */
    if (s == CLG_OK)
        s = clg_op_linear_forward(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[2]->mem, b.t[4]->mem, B, d,
                                  q);
    if (s == CLG_OK)
        s = clg_op_linear_backward(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[3]->mem, b.t[5]->mem,
                                   b.t[6]->mem, b.t[7]->mem, B, d, q);
    r->ctx->cfg.product = keep;
    for (int k = 4; s == CLG_OK && k < 8; k++) s = fetch(&b, k);
    if (s != CLG_OK) {
        bufs_free(&b);
        return s;
    }
    const float *X = b.h[0], *W = b.h[1], *bias = b.h[2], *dY = b.h[3];
    double *Y = ref_alloc(&b, 0, B * q), *dW = ref_alloc(&b, 1, d * q), *db = ref_alloc(&b, 2, q),
           *dX = ref_alloc(&b, 3, B * d);
    if (!Y || !dW || !db || !dX) {
        bufs_free(&b);
        return clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    }
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < q; j++) {
            double acc = bias[j];
            for (size_t k = 0; k < d; k++) acc += (double)X[i * d + k] * W[k * q + j];
            Y[i * q + j] = acc;
            db[j] += dY[i * q + j];
            for (size_t k = 0; k < d; k++) {
                dW[k * q + j] += (double)X[i * d + k] * dY[i * q + j];
                dX[i * d + k] += (double)dY[i * q + j] * W[k * q + j];
            }
        }
    char name[48];
    const char *on = strcmp(gemm, "own") ? " (CLBlast)" : "";
    snprintf(name, sizeof name, "linear_forward%s", on);
    record(r, name, max_err(b.h[4], Y, B * q), 1e-5);
    snprintf(name, sizeof name, "linear_backward dW%s", on);
    record(r, name, max_err(b.h[5], dW, d * q), 1e-5);
    snprintf(name, sizeof name, "linear_backward db");
    if (!*on) record(r, name, max_err(b.h[6], db, q), 1e-5);
    snprintf(name, sizeof name, "linear_backward dX%s", on);
    record(r, name, max_err(b.h[7], dX, B * d), 1e-5);
    bufs_free(&b);
    return CLG_OK;
}

static clg_status check_relu(st_run *r)
{
    const size_t n = 1001;
    st_bufs b = {0};
    clg_status s = rand_tensor(r, &b, 0, 1, n);
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, 1, n);
    if (s == CLG_OK) s = out_tensor(r, &b, 2, 1, n);
    if (s == CLG_OK) s = out_tensor(r, &b, 3, 1, n);
    if (s == CLG_OK) s = clg_op_relu_forward(r->ctx, b.t[0]->mem, b.t[2]->mem, n);
    if (s == CLG_OK) s = clg_op_relu_backward(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[3]->mem, n);
    if (s == CLG_OK) s = fetch(&b, 2);
    if (s == CLG_OK) s = fetch(&b, 3);
    double *y = s == CLG_OK ? ref_alloc(&b, 0, n) : NULL, *dx = y ? ref_alloc(&b, 1, n) : NULL;
    if (dx) {
        for (size_t i = 0; i < n; i++) {
            y[i] = b.h[0][i] > 0 ? b.h[0][i] : 0;
            dx[i] = b.h[0][i] > 0 ? b.h[1][i] : 0;
        }
        record(r, "relu_forward", max_err(b.h[2], y, n), 0.0);
        record(r, "relu_backward", max_err(b.h[3], dx, n), 0.0);
    }
    bufs_free(&b);
    return s;
}

/* The PHM layer's kernels on a padded shape (13→10, n = 4: a 16×12 Kronecker grid): W, the
 * top-left block of Σ_i A_i ⊗ S_i, and dA, dS from a dW (lib/nn/phm.c's layout). */
static clg_status check_phm(st_run *r)
{
    const size_t d = 13, q = 10, n = 4, dn = 4, qn = 3, nA = n * n * n, nS = n * dn * qn;
    st_bufs b = {0};
    clg_status s = rand_tensor(r, &b, 0, n * n, n);         /* A */
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, n * dn, qn); /* S */
    if (s == CLG_OK) s = rand_tensor(r, &b, 2, d, q);       /* dW */
    if (s == CLG_OK) s = out_tensor(r, &b, 3, d, q);        /* W */
    if (s == CLG_OK) s = out_tensor(r, &b, 4, n * n, n);    /* dA */
    if (s == CLG_OK) s = out_tensor(r, &b, 5, n * dn, qn);  /* dS */
    if (s == CLG_OK) s = clg_op_phm_build(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[3]->mem, d, q, n);
    if (s == CLG_OK)
        s = clg_op_phm_grad(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[2]->mem, b.t[4]->mem, b.t[5]->mem,
                            d, q, n);
    for (int k = 3; s == CLG_OK && k < 6; k++) s = fetch(&b, k);
    double *W = s == CLG_OK ? ref_alloc(&b, 0, d * q) : NULL;
    double *dA = W ? ref_alloc(&b, 1, nA) : NULL, *dS = dA ? ref_alloc(&b, 2, nS) : NULL;
    if (s == CLG_OK && !dS)
        s = clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    if (s != CLG_OK) {
        bufs_free(&b);
        return s;
    }
    const float *A = b.h[0], *S = b.h[1], *dW = b.h[2];
    /* The Kronecker products on the padded grid, cut to d×q. */
    for (size_t i = 0; i < n; i++)
        for (size_t rr = 0; rr < n; rr++)
            for (size_t c = 0; c < n; c++)
                for (size_t a = 0; a < dn; a++)
                    for (size_t bb = 0; bb < qn; bb++) {
                        size_t j = rr * dn + a, k = c * qn + bb;
                        if (j >= d || k >= q) continue;
                        double av = A[(i * n + rr) * n + c], sv = S[(i * dn + a) * qn + bb];
                        W[j * q + k] += av * sv;
                        dA[(i * n + rr) * n + c] += sv * dW[j * q + k];
                        dS[(i * dn + a) * qn + bb] += av * dW[j * q + k];
                    }
    record(r, "phm_build", max_err(b.h[3], W, d * q), 1e-5);
    record(r, "phm_grad dA", max_err(b.h[4], dA, nA), 1e-5);
    record(r, "phm_grad dS", max_err(b.h[5], dS, nS), 1e-5);
    bufs_free(&b);
    return CLG_OK;
}

static clg_status check_loss(st_run *r, clg_loss_kind kind)
{
    const size_t B = 29, q = 3, n = B * q;
    const double c = kind == CLG_LOSS_SQUARED ? 0.5 : 1.0;
    const char *kname = kind == CLG_LOSS_SQUARED ? "squared" : "mse";
    st_bufs b = {0};
    clg_status s = rand_tensor(r, &b, 0, B, q);
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, B, q);
    if (s == CLG_OK) s = out_tensor(r, &b, 2, B, q);
    if (s == CLG_OK) s = out_tensor(r, &b, 3, B, q);
    if (s == CLG_OK) s = out_tensor(r, &b, 4, 1, 1);
    double *ref = s == CLG_OK ? ref_alloc(&b, 0, n) : NULL;
    if (!ref) {
        bufs_free(&b);
        return s == CLG_OK ? clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory")
                           : s;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)b.h[0][i] - b.h[1][i];
        sum += c * e * e;
    }
    static const clg_reduction reds[] = {CLG_REDUCE_MEAN, CLG_REDUCE_SUM, CLG_REDUCE_NONE};
    static const char *rnames[] = {"mean", "sum", "none"};
    char name[48];
    for (int k = 0; s == CLG_OK && k < 3; k++) {
        clg_reduction red = reds[k];
        double scale = red == CLG_REDUCE_MEAN ? 1.0 / n : 1.0;
        cl_mem out = red == CLG_REDUCE_NONE ? b.t[2]->mem : b.t[4]->mem;
        s = clg_op_loss_value(r->ctx, kind, red, b.t[0]->mem, b.t[1]->mem, out, B, q);
        if (s == CLG_OK) s = fetch(&b, red == CLG_REDUCE_NONE ? 2 : 4);
        if (s != CLG_OK) break;
        if (red == CLG_REDUCE_NONE) {
            for (size_t i = 0; i < n; i++) {
                double e = (double)b.h[0][i] - b.h[1][i];
                ref[i] = c * e * e;
            }
            snprintf(name, sizeof name, "loss_%s_%s", kname, rnames[k]);
            record(r, name, max_err(b.h[2], ref, n), 1e-6);
        } else {
            double v = sum * scale;
            snprintf(name, sizeof name, "loss_%s_%s", kname, rnames[k]);
            record(r, name, max_err(b.h[4], &v, 1), 1e-5);
        }
        s = clg_op_loss_grad(r->ctx, kind, red, b.t[0]->mem, b.t[1]->mem, b.t[3]->mem, B, q);
        if (s == CLG_OK) s = fetch(&b, 3);
        if (s != CLG_OK) break;
        for (size_t i = 0; i < n; i++) ref[i] = 2 * c * ((double)b.h[0][i] - b.h[1][i]) * scale;
        snprintf(name, sizeof name, "loss_%s_%s_grad", kname, rnames[k]);
        record(r, name, max_err(b.h[3], ref, n), 1e-6);
    }
    if (s == CLG_OK && (s = clg_tensor_fill(b.t[4], 1.5f)) == CLG_OK &&
        (s = clg_op_loss_accumulate(r->ctx, kind, b.t[0]->mem, b.t[1]->mem, b.t[4]->mem, B, q)) ==
            CLG_OK &&
        (s = fetch(&b, 4)) == CLG_OK) {
        double v = 1.5 + sum;
        snprintf(name, sizeof name, "loss_%s_accumulate", kname);
        record(r, name, max_err(b.h[4], &v, 1), 1e-5);
    }
    bufs_free(&b);
    return s;
}

/* Softmax cross-entropy (mean), its gradient and the accuracy count. */
static clg_status check_xent(st_run *r)
{
    const size_t B = 29, C = 7;
    st_bufs b = {0};
    clg_status s = rand_tensor(r, &b, 0, B, C);      /* logits */
    if (s == CLG_OK) s = out_tensor(r, &b, 1, B, 1); /* labels */
    if (s == CLG_OK) s = out_tensor(r, &b, 2, B, C); /* gradient */
    if (s == CLG_OK) s = out_tensor(r, &b, 3, 1, 1); /* loss */
    if (s == CLG_OK) s = out_tensor(r, &b, 4, 1, 1); /* correct count */
    double *grad = s == CLG_OK ? ref_alloc(&b, 0, B * C) : NULL;
    if (!grad) {
        bufs_free(&b);
        return s == CLG_OK ? clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory")
                           : s;
    }
    for (size_t i = 0; i < B * C; i++) b.h[0][i] *= 40.0f; /* large logits exercise log-sum-exp */
    for (size_t i = 0; i < B; i++) b.h[1][i] = (float)((i * 5 + 1) % C);
    s = clg_tensor_upload(b.t[0], b.h[0], B, C);
    if (s == CLG_OK) s = clg_tensor_upload(b.t[1], b.h[1], B, 1);
    double loss = 0, correct = 0;
    for (size_t i = 0; i < B; i++) {
        const float *z = b.h[0] + i * C;
        size_t y = (size_t)b.h[1][i], best = 0;
        double mx = z[0], sum = 0;
        for (size_t c = 1; c < C; c++) {
            if (z[c] > mx) mx = z[c];
            if (z[c] > z[best]) best = c;
        }
        for (size_t c = 0; c < C; c++) sum += exp(z[c] - mx);
        loss += (log(sum) + mx - z[y]) / B;
        for (size_t c = 0; c < C; c++) grad[i * C + c] = (exp(z[c] - mx) / sum - (c == y)) / B;
        correct += best == y;
    }
    cl_mem lg = b.t[0]->mem, lb = b.t[1]->mem;
    if (s == CLG_OK)
        s = clg_op_loss_value(r->ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, lg, lb, b.t[3]->mem,
                              B, C);
    if (s == CLG_OK)
        s = clg_op_loss_grad(r->ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, lg, lb, b.t[2]->mem, B,
                             C);
    if (s == CLG_OK) s = clg_op_accuracy_accumulate(r->ctx, lg, lb, b.t[4]->mem, B, C);
    for (int k = 2; s == CLG_OK && k < 5; k++) s = fetch(&b, k);
    if (s == CLG_OK) {
        record(r, "softmax_xent_mean", max_err(b.h[3], &loss, 1), 1e-5);
        record(r, "softmax_xent_grad", max_err(b.h[2], grad, B * C), 1e-6);
        record(r, "accuracy_count", max_err(b.h[4], &correct, 1), 0.0);
    }
    bufs_free(&b);
    return s;
}

/* scale_columns: (x - mean) / scale per column, the standardization of inputs. */
static clg_status check_scale(st_run *r)
{
    const size_t rows = 37, d = 11;
    st_bufs b = {0};
    clg_status s = rand_tensor(r, &b, 0, rows, d);    /* X */
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, 1, d); /* mean */
    if (s == CLG_OK) s = rand_tensor(r, &b, 2, 1, d); /* scale: made > 0 below */
    if (s == CLG_OK) s = out_tensor(r, &b, 3, rows, d);
    for (size_t j = 0; s == CLG_OK && j < d; j++) b.h[2][j] = 0.25f + fabsf(b.h[2][j]);
    if (s == CLG_OK) s = clg_tensor_upload(b.t[2], b.h[2], 1, d);
    if (s == CLG_OK)
        s = clg_op_scale_columns(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[2]->mem, rows, d,
                                 b.t[3]->mem);
    if (s == CLG_OK) s = fetch(&b, 3);
    double *ref = s == CLG_OK ? ref_alloc(&b, 0, rows * d) : NULL;
    if (ref) {
        for (size_t i = 0; i < rows * d; i++)
            ref[i] = ((double)b.h[0][i] - b.h[1][i % d]) / b.h[2][i % d];
        record(r, "scale_columns", max_err(b.h[3], ref, rows * d), 2e-6);
    }
    bufs_free(&b);
    return s;
}

static clg_status check_sgd(st_run *r)
{
    const size_t n = 300;
    st_bufs b = {0};
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD,
                               .lr = 0.1f,
                               .momentum = 0.9f,
                               .dampening = 0.1f,
                               .weight_decay = 0.01f,
                               .nesterov = 1};
    clg_status s = rand_tensor(r, &b, 0, 1, n);       /* p */
    if (s == CLG_OK) s = rand_tensor(r, &b, 1, 1, n); /* g */
    if (s == CLG_OK) s = rand_tensor(r, &b, 2, 1, n); /* momentum buffer */
    double *p = s == CLG_OK ? ref_alloc(&b, 0, n) : NULL, *buf = p ? ref_alloc(&b, 1, n) : NULL;
    if (!buf) {
        bufs_free(&b);
        return s == CLG_OK ? clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory")
                           : s;
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = b.h[0][i];
        buf[i] = b.h[2][i];
    }
    for (int step = 0; step < 2 && s == CLG_OK; step++) {
        s = clg_op_sgd_update(r->ctx, b.t[0]->mem, b.t[1]->mem, b.t[2]->mem, n, &o, 0.25f,
                              step == 0);
        for (size_t i = 0; i < n; i++) {
            double g = b.h[1][i] * 0.25 + o.weight_decay * p[i];
            buf[i] = step == 0 ? g : o.momentum * buf[i] + (1.0 - o.dampening) * g;
            p[i] -= o.lr * (g + o.momentum * buf[i]);
        }
    }
    if (s == CLG_OK) s = fetch(&b, 0);
    if (s == CLG_OK) record(r, "sgd_update momentum+wd", max_err(b.h[0], p, n), 1e-6);
    bufs_free(&b);
    return s;
}

/* An optimizer check's buffers: tensors 0 (the parameter p), 1 and 2 (two gradients taking
 * turns), 3..5 (the kind's three state buffers), all 1×n, and the double references of p
 * (ref[0], from tensor 0) and of the three state buffers (ref[1..3], zeros). */
static clg_status optim_bufs(st_run *r, st_bufs *b, size_t n, double *ref[4])
{
    clg_status s = CLG_OK;
    for (int k = 0; k < 3 && s == CLG_OK; k++) s = rand_tensor(r, b, k, 1, n);
    for (int k = 3; k < 6 && s == CLG_OK; k++) s = out_tensor(r, b, k, 1, n);
    for (int k = 0; k < 4 && s == CLG_OK; k++)
        if (!(ref[k] = ref_alloc(b, k, n)))
            s = clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    for (size_t i = 0; i < n && s == CLG_OK; i++) ref[0][i] = b->h[0][i];
    return s;
}

/* Three steps of Adam (decoupled 0: L2 weight decay) or AdamW (1), amsgrad on, with two
 * gradients taking turns (so max_exp_avg_sq keeps an earlier, larger value), against
 * PyTorch's rule in double; the buffers start "fresh" (read as zeros). */
static clg_status check_adam(st_run *r, int decoupled)
{
    const size_t n = 300;
    st_bufs b = {0};
    clg_optimizer_options o =
        clg_optimizer_defaults(decoupled ? CLG_OPTIMIZER_ADAMW : CLG_OPTIMIZER_ADAM);
    o.lr = 0.01f;
    o.beta1 = 0.8f;
    o.beta2 = 0.95f;
    o.eps = 1e-6f;
    o.weight_decay = 0.1f;
    o.amsgrad = 1;
    double *ref[4] = {0};
    clg_status s = optim_bufs(r, &b, n, ref);
    double *p = ref[0], *m = ref[1], *v = ref[2], *vmax = ref[3]; /* exp_avg, _sq, max_ */
    for (int step = 1; step <= 3 && s == CLG_OK; step++) {
        const int k = step == 2 ? 2 : 1;
        s = clg_op_adam_update(r->ctx, b.t[0]->mem, b.t[k]->mem, b.t[3]->mem, b.t[4]->mem,
                               b.t[5]->mem, n, &o, decoupled, 0.5f, (uint64_t)step,
                               step == 1 ? 7u : 0u);
        const double lr = o.lr, wd = o.weight_decay, b1 = o.beta1, b2 = o.beta2;
        for (size_t i = 0; i < n; i++) {
            double g = b.h[k][i] * 0.5;
            if (decoupled)
                p[i] *= 1 - lr * wd;
            else
                g += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            vmax[i] = fmax(vmax[i], v[i]);
            p[i] -=
                lr / (1 - pow(b1, step)) * m[i] / (sqrt(vmax[i]) / sqrt(1 - pow(b2, step)) + o.eps);
        }
    }
    if (s == CLG_OK) s = fetch(&b, 0);
    if (s == CLG_OK)
        record(r, decoupled ? "adam_update AdamW amsgrad" : "adam_update amsgrad+wd",
               max_err(b.h[0], p, n), 2e-6);
    bufs_free(&b);
    return s;
}

/* Three steps of RMSprop, centered with momentum and weight decay, two gradients taking
 * turns, against PyTorch's rule in double; the buffers start "fresh" (read as zeros). */
static clg_status check_rmsprop(st_run *r)
{
    const size_t n = 300;
    st_bufs b = {0};
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_RMSPROP);
    o.alpha = 0.9f;
    o.eps = 1e-6f;
    o.momentum = 0.5f;
    o.weight_decay = 0.05f;
    o.centered = 1;
    double *ref[4] = {0};
    clg_status s = optim_bufs(r, &b, n, ref);
    double *p = ref[0], *v = ref[1], *buf = ref[2], *a = ref[3]; /* square_avg, momentum, avg */
    for (int step = 1; step <= 3 && s == CLG_OK; step++) {
        const int k = step == 2 ? 2 : 1;
        s = clg_op_rmsprop_update(r->ctx, b.t[0]->mem, b.t[k]->mem, b.t[3]->mem, b.t[4]->mem,
                                  b.t[5]->mem, n, &o, 0.5f, step == 1 ? 7u : 0u);
        const double al = o.alpha;
        for (size_t i = 0; i < n; i++) {
            const double g = b.h[k][i] * 0.5 + o.weight_decay * p[i];
            v[i] = al * v[i] + (1 - al) * g * g;
            a[i] = al * a[i] + (1 - al) * g;
            buf[i] = o.momentum * buf[i] + g / (sqrt(v[i] - a[i] * a[i]) + o.eps);
            p[i] -= o.lr * buf[i];
        }
    }
    if (s == CLG_OK) s = fetch(&b, 0);
    if (s == CLG_OK) record(r, "rmsprop_update centered+mom", max_err(b.h[0], p, n), 2e-6);
    bufs_free(&b);
    return s;
}

static clg_status check_synthetic(st_run *r)
{
    const size_t n = 4099, d = 3;
    const float w[3] = {2.0f, -3.4f, 0.5f};
    clg_dataset *ds = NULL;
    clg_status s = clg_dataset_synthetic_linear(r->ctx, n, w, d, 4.2f, 0.0f, 7, &ds);
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    if (s == CLG_OK && (!X || !y || !ref))
        s = clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    if (s == CLG_OK) s = clg_dataset_download(ds, X, y);
    if (s == CLG_OK) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < n * d; i++) mean += X[i];
        mean /= (double)(n * d);
        for (size_t i = 0; i < n * d; i++) var += (X[i] - mean) * (X[i] - mean);
        var /= (double)(n * d);
        for (size_t i = 0; i < n; i++)
            ref[i] = 4.2 + (double)X[i * d] * w[0] + (double)X[i * d + 1] * w[1] +
                     (double)X[i * d + 2] * w[2];
        record(r, "synthetic_linear y=Xw+b", max_err(y, ref, n), 2e-6);
        /* N(0,1) over 12297 samples: standard errors 0.009 (mean), 0.013 (variance); 5 of them */
        record(r, "synthetic N(0,1) moments", fmax(fabs(mean), fabs(var - 1.0)), 0.064);
    }
    free(X);
    free(y);
    free(ref);
    clg_dataset_destroy(ds);
    return s;
}

/* Closed form on an exactly linear system: the solution is known. */
static clg_status check_solve(st_run *r)
{
    const size_t n = 203, d = 4;
    const double wt[4] = {1.5, -2.0, 0.25, 3.0}, bt = -0.75;
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    if (!X || !y) {
        free(X);
        free(y);
        return clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
    }
    for (size_t i = 0; i < n; i++) {
        double acc = bt;
        for (size_t j = 0; j < d; j++) {
            X[i * d + j] = rnd(r);
            acc += X[i * d + j] * wt[j];
        }
        y[i] = (float)acc;
    }
    clg_dataset *ds = NULL;
    float w[4], b;
    clg_status s = clg_dataset_from_host(r->ctx, X, y, n, d, 1, &ds);
    if (s == CLG_OK) s = clg_solve_normal(r->ctx, ds, 0.0, w, &b);
    if (s == CLG_OK) {
        double ref[5] = {wt[0], wt[1], wt[2], wt[3], bt};
        float got[5] = {w[0], w[1], w[2], w[3], b};
        record(r, "solve_normal", max_err(got, ref, 5), 1e-4);
    }
    clg_dataset_destroy(ds);
    free(X);
    free(y);
    return s;
}

/* One epoch of clg_fit on a single Linear layer under each fused path (forced),
 * against the same SGD trajectory in double on the host: rows in order (no
 * shuffle), batches of 64 (the split step shares them between groups; the last
 * batch of 11 rows is partial). xent = 0: linear regression, squared loss summed
 * with lr/|B| and momentum 0.9 (d2l scratch + momentum); 1: softmax regression over
 * 3 classes, mean cross-entropy. Error: max over W and b; tolerance 1e-5 (float
 * rounding over 4 steps measured ~6e-8 on POCL). */
static clg_status check_fused(st_run *r, int xent)
{
    const size_t n = 203, d = 19, q = xent ? 3 : 1, bs = 64;
    const double lr = xent ? 0.5 : 0.05, mu = xent ? 0.0 : 0.9;
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    int32_t *lab = malloc(n * sizeof *lab);
    float *W0 = malloc(d * q * sizeof *W0), *got = malloc((d * q + q) * sizeof *got);
    double *ref = malloc((d * q + q) * sizeof *ref), *mom = calloc(d * q + q, sizeof *mom);
    double *g = malloc((d * q + q) * sizeof *g);
    clg_status s = CLG_OK;
    if (!X || !y || !lab || !W0 || !got || !ref || !mom || !g) {
        s = clg_fail(r->ctx, CLG_ERR_HOST_MEMORY, "selftest: out of host memory");
        goto done;
    }
    for (size_t i = 0; i < n * d; i++) X[i] = rnd(r);
    for (size_t i = 0; i < d * q; i++) W0[i] = 0.1f * rnd(r);
    for (size_t i = 0; i < n; i++) {
        double z[3] = {0.5, 0, 0};
        for (size_t k = 0; k < d; k++)
            for (size_t j = 0; j < (xent ? 3 : 1); j++)
                z[j] += X[i * d + k] * (double)((int)((k + 2 * j) % 5) - 2);
        y[i] = (float)z[0];
        lab[i] = z[1] > z[0] ? (z[2] > z[1] ? 2 : 1) : (z[2] > z[0] ? 2 : 0);
    }
    /* The host trajectory: parameters [W | b] in double. */
    for (size_t i = 0; i < d * q; i++) ref[i] = W0[i];
    for (size_t j = 0; j < q; j++) ref[d * q + j] = 0.0;
    for (size_t off = 0, step = 0; off < n; off += bs, step++) {
        const size_t rows = n - off < bs ? n - off : bs;
        for (size_t p = 0; p < d * q + q; p++) g[p] = 0.0;
        for (size_t i = off; i < off + rows; i++) {
            double z[3], e[3];
            for (size_t j = 0; j < q; j++) {
                z[j] = ref[d * q + j];
                for (size_t k = 0; k < d; k++) z[j] += X[i * d + k] * ref[k * q + j];
            }
            if (xent) { /* softmax − onehot, mean over the batch */
                double m = fmax(z[0], fmax(z[1], z[2])), sum = 0;
                for (size_t j = 0; j < 3; j++) sum += exp(z[j] - m);
                for (size_t j = 0; j < 3; j++)
                    e[j] = (exp(z[j] - m) / sum - ((int)j == lab[i])) / rows;
            } else { /* summed squared loss; the step divides by |B| */
                e[0] = (z[0] - y[i]) / rows;
            }
            for (size_t j = 0; j < q; j++) {
                g[d * q + j] += e[j];
                for (size_t k = 0; k < d; k++) g[k * q + j] += X[i * d + k] * e[j];
            }
        }
        for (size_t p = 0; p < d * q + q; p++) {
            mom[p] = step ? mu * mom[p] + g[p] : g[p];
            ref[p] -= lr * (mu != 0.0 ? mom[p] : g[p]);
        }
    }
    clg_dataset *ds = NULL;
    s = xent ? clg_dataset_from_host_labels(r->ctx, X, lab, n, d, q, &ds)
             : clg_dataset_from_host(r->ctx, X, y, n, d, 1, &ds);
    static const char *const modes[] = {"epoch", "minibatch", "pipeline", "split"};
    for (size_t mi = 0; s == CLG_OK && mi < 4; mi++) {
        clg_model *m = NULL;
        clg_linear_init init = clg_linear_init_defaults();
        init.weight = W0;
        s = clg_model_create(r->ctx, &m);
        if (s == CLG_OK) s = clg_model_add_linear(m, d, q, &init);
        clg_fit_options o = clg_fit_defaults();
        o.epochs = 1;
        o.batch_size = bs;
        o.shuffle = 0;
        o.on_epoch = NULL;
        o.epoch_loss = 0;
        o.loss = xent ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
        o.reduction = xent ? CLG_REDUCE_MEAN : CLG_REDUCE_SUM;
        o.optimizer.lr = (float)lr;
        o.optimizer.momentum = (float)mu;
        clg_context_stats before, after;
        const clg_fused_path keep = r->ctx->cfg.fused;
        if (s == CLG_OK) s = clg_config_set(r->ctx, "CLGRAD_FUSED", modes[mi]);
        if (s == CLG_OK) s = clg_context_get_stats(r->ctx, &before);
        if (s == CLG_OK) s = clg_fit(m, ds, &o, NULL, NULL);
        r->ctx->cfg.fused = keep;
        if (s == CLG_OK) s = clg_context_get_stats(r->ctx, &after);
        if (s == CLG_OK) s = clg_model_get_param(m, 0, got, d * q);
        if (s == CLG_OK) s = clg_model_get_param(m, 1, got + d * q, q);
        if (s == CLG_OK) {
            char name[48];
            snprintf(name, sizeof name, "fused %s (%s)", modes[mi], xent ? "softmax" : "linreg");
            /* 4 steps: far fewer launches than the ~8 per step of the unfused path,
             * or that path ran instead and this line would not test the fused one. */
            double err = max_err(got, ref, d * q + q);
            if (after.kernels_enqueued - before.kernels_enqueued > 12) err = INFINITY;
            record(r, name, err, 1e-5);
        }
        clg_model_destroy(m);
    }
    clg_dataset_destroy(ds);
done:
    free(X), free(y), free(lab), free(W0), free(got), free(ref), free(mom), free(g);
    return s;
}

clg_status clg_selftest(clg_context *ctx, clg_selftest_result *results, size_t capacity,
                        size_t *count)
{
    if (!ctx || !count || (capacity && !results))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_selftest: NULL argument");
    st_run r = {ctx, results, capacity, 0, 0x9E3779B97F4A7C15ULL};
    clg_status s = check_fill_gather(&r);
    if (s == CLG_OK) s = check_synthetic(&r);
    if (s == CLG_OK) s = check_linear(&r, "own");
    if (s == CLG_OK) s = check_linear(&r, "clblast");
    if (s == CLG_OK) s = check_relu(&r);
    if (s == CLG_OK) s = check_phm(&r);
    if (s == CLG_OK) s = check_loss(&r, CLG_LOSS_SQUARED);
    if (s == CLG_OK) s = check_loss(&r, CLG_LOSS_MSE);
    if (s == CLG_OK) s = check_xent(&r);
    if (s == CLG_OK) s = check_sgd(&r);
    if (s == CLG_OK) s = check_adam(&r, 0);
    if (s == CLG_OK) s = check_adam(&r, 1);
    if (s == CLG_OK) s = check_rmsprop(&r);
    if (s == CLG_OK) s = check_scale(&r);
    if (s == CLG_OK) s = check_solve(&r);
    if (s == CLG_OK) s = check_fused(&r, 0);
    if (s == CLG_OK) s = check_fused(&r, 1);
    *count = r.count;
    return s;
}
