/* Loss values, gradients and the accumulator against double references and FD. */
#include "ref.h"

typedef struct shape {
    size_t B, q;
} shape;
static const shape shapes[] = {{1, 1}, {10, 1}, {13, 3}, {257, 10}, {1, 300}};
#define NSHAPES (sizeof shapes / sizeof *shapes)
/* Reduced values: float partial sums, relative 1e-5 of Σ|terms|. Elementwise: 1e-6 relative. */
#define REL_SUM 1e-5
#define REL_ELEM 1e-6

static double elem(clg_loss_kind k, double p, double t)
{
    double e = p - t;
    return k == CLG_LOSS_SQUARED ? 0.5 * e * e : e * e;
}

static clg_tensor *upload(clg_context *ctx, const float *a, size_t r, size_t c)
{
    clg_tensor *t;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, a, r, c, &t));
    return t;
}

Test(loss, values_match_reference_for_each_kind_and_reduction)
{
    clg_context *ctx = test_context();
    char what[96];
    for (size_t s = 0; s < NSHAPES; s++) {
        size_t B = shapes[s].B, q = shapes[s].q, n = B * q;
        uint64_t seed = 10 + s;
        float *p = ref_random(&seed, n, -2, 2), *t = ref_random(&seed, n, -2, 2);
        float *v = malloc(n * sizeof *v);
        clg_tensor *tp = upload(ctx, p, B, q), *tt = upload(ctx, t, B, q), *one, *all;
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, q, &all));
        for (int k = 0; k < 2; k++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++) sum += elem(k, p[i], t[i]);
            float got;
            CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, k, CLG_REDUCE_SUM, tp, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &got, 1, 1));
            snprintf(what, sizeof what, "kind %d SUM B=%zu q=%zu", k, B, q);
            EXPECT_CLOSE(got, sum, REL_SUM * sum + 1e-7, what);
            CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, k, CLG_REDUCE_MEAN, tp, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &got, 1, 1));
            snprintf(what, sizeof what, "kind %d MEAN B=%zu q=%zu", k, B, q);
            EXPECT_CLOSE(got, sum / (double)n, REL_SUM * sum / (double)n + 1e-7, what);
            CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, k, CLG_REDUCE_NONE, tp, tt, all));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(all, v, B, q));
            for (size_t i = 0; i < n; i++) {
                double want = elem(k, p[i], t[i]);
                snprintf(what, sizeof what, "kind %d NONE B=%zu q=%zu element %zu", k, B, q, i);
                EXPECT_CLOSE(v[i], want, REL_ELEM * want + 1e-7, what);
            }
        }
        clg_tensor_destroy(tp);
        clg_tensor_destroy(tt);
        clg_tensor_destroy(one);
        clg_tensor_destroy(all);
        free(p);
        free(t);
        free(v);
    }
    clg_context_destroy(ctx);
}

Test(loss, squared_is_half_of_mse_exactly_on_known_values)
{
    clg_context *ctx = test_context();
    const float p[4] = {1, 2, 3, 4}, t[4] = {0, 0, 5, 4};
    clg_tensor *tp = upload(ctx, p, 2, 2), *tt = upload(ctx, t, 2, 2), *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    float v;
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_SQUARED, CLG_REDUCE_SUM, tp, tt, one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &v, 1, 1));
    cr_assert_eq(v, 4.5f, "squared sum of errors 1,2,-2,0 is (1+4+4)/2 = 4.5 exactly, got %g",
                 (double)v);
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, tp, tt, one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &v, 1, 1));
    cr_assert_eq(v, 2.25f, "MSE mean is 9/4 exactly, got %g", (double)v);
    clg_tensor_destroy(tp);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(one);
    clg_context_destroy(ctx);
}

Test(loss, gradient_matches_reference_and_finite_differences)
{
    clg_context *ctx = test_context();
    char what[96];
    const clg_reduction reds[3] = {CLG_REDUCE_MEAN, CLG_REDUCE_SUM, CLG_REDUCE_NONE};
    for (size_t s = 0; s < NSHAPES; s++) {
        size_t B = shapes[s].B, q = shapes[s].q, n = B * q;
        uint64_t seed = 50 + s;
        float *p = ref_random(&seed, n, -2, 2), *t = ref_random(&seed, n, -2, 2);
        float *g = malloc(n * sizeof *g);
        clg_tensor *tp = upload(ctx, p, B, q), *tt = upload(ctx, t, B, q), *tg, *one;
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, q, &tg));
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
        for (int k = 0; k < 2; k++)
            for (int r = 0; r < 3; r++) {
                CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, k, reds[r], tp, tt, tg));
                CLG_OK_OR_FAIL(ctx, clg_tensor_download(tg, g, B, q));
                double scale = reds[r] == CLG_REDUCE_MEAN ? 1.0 / (double)n : 1.0;
                for (size_t i = 0; i < n; i++) {
                    double e = (double)p[i] - t[i];
                    double want = (k == CLG_LOSS_SQUARED ? e : 2 * e) * scale;
                    snprintf(what, sizeof what, "grad kind %d red %d B=%zu q=%zu [%zu]", k, r, B, q,
                             i);
                    EXPECT_CLOSE(g[i], want, REL_ELEM * fabs(want) + 1e-9, what);
                }
                /* FD through the device's reduced value (NONE: its gradient is that of SUM).
                 * The loss is quadratic, so central differences are exact up to float
                 * rounding of the sum: tolerance 2e-3·(1 + |g|). */
                if (n > 40) continue;
                clg_reduction fr = reds[r] == CLG_REDUCE_NONE ? CLG_REDUCE_SUM : reds[r];
                const float eps = 1e-2f;
                for (size_t i = 0; i < n; i++) {
                    float keep = p[i], lp, lm;
                    p[i] = keep + eps;
                    CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tp, p, B, q));
                    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, k, fr, tp, tt, one));
                    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lp, 1, 1));
                    p[i] = keep - eps;
                    CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tp, p, B, q));
                    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, k, fr, tp, tt, one));
                    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lm, 1, 1));
                    p[i] = keep;
                    CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tp, p, B, q));
                    snprintf(what, sizeof what, "FD kind %d red %d B=%zu q=%zu [%zu] eps %g", k, r,
                             B, q, i, eps);
                    EXPECT_CLOSE(g[i], ((double)lp - lm) / (2.0 * eps), 2e-3 * (1 + fabs(g[i])),
                                 what);
                }
            }
        clg_tensor_destroy(tp);
        clg_tensor_destroy(tt);
        clg_tensor_destroy(tg);
        clg_tensor_destroy(one);
        free(p);
        free(t);
        free(g);
    }
    clg_context_destroy(ctx);
}

Test(loss, accumulate_adds_sums_over_several_calls)
{
    clg_context *ctx = test_context();
    const float start = 0.5f;
    cl_mem acc = ref_buffer(ctx, &start, 1);
    double want = start;
    for (int call = 0; call < 4; call++) {
        size_t B = 13 + 100 * (size_t)call, q = 3;
        uint64_t seed = 90 + (uint64_t)call;
        float *p = ref_random(&seed, B * q, -1, 1), *t = ref_random(&seed, B * q, -1, 1);
        cl_mem mp = ref_buffer(ctx, p, B * q), mt = ref_buffer(ctx, t, B * q);
        clg_loss_kind k = call % 2 ? CLG_LOSS_MSE : CLG_LOSS_SQUARED;
        CLG_OK_OR_FAIL(ctx, clg_op_loss_accumulate(ctx, k, mp, mt, acc, B, q));
        for (size_t i = 0; i < B * q; i++) want += elem(k, p[i], t[i]);
        clReleaseMemObject(mp);
        clReleaseMemObject(mt);
        free(p);
        free(t);
    }
    float got;
    ref_read(ctx, acc, &got, 1, "accumulator");
    EXPECT_CLOSE(got, want, REL_SUM * want, "acc after 4 calls, rel tol 1e-5");
    clReleaseMemObject(acc);
    clg_context_destroy(ctx);
}

Test(loss, reductions_are_deterministic_bitwise)
{
    clg_context *ctx = test_context();
    size_t B = 1000, q = 7;
    uint64_t seed = 3;
    float *p = ref_random(&seed, B * q, -3, 3), *t = ref_random(&seed, B * q, -3, 3), a, b;
    clg_tensor *tp = upload(ctx, p, B, q), *tt = upload(ctx, t, B, q), *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, tp, tt, one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &a, 1, 1));
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, tp, tt, one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &b, 1, 1));
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "same input, same bits: %.9g vs %.9g", (double)a,
                 (double)b);
    clg_tensor_destroy(tp);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(one);
    free(p);
    free(t);
    clg_context_destroy(ctx);
}

Test(loss, shape_and_argument_errors)
{
    clg_context *ctx = test_context();
    clg_tensor *p32, *p23, *one, *two, *g32;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 3, 2, &p32));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 2, 3, &p23));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 1, 1, &one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 2, 1, &two));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 3, 2, &g32));
    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, p32, p23, one),
                 CLG_ERR_SHAPE);
    cr_expect(strstr(msg, "3x2") && strstr(msg, "2x3"), "message names both shapes: %s", msg);
    cr_expect_eq(clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_SUM, p32, g32, two), CLG_ERR_SHAPE);
    cr_expect(strstr(msg, "2x1") && strstr(msg, "1x1"), "message names out and expected: %s", msg);
    cr_expect_eq(clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_NONE, p32, g32, one),
                 CLG_ERR_SHAPE);
    cr_expect(strstr(msg, "1x1") && strstr(msg, "3x2"), "%s", msg);
    cr_expect_eq(clg_loss_backward(ctx, CLG_LOSS_SQUARED, CLG_REDUCE_MEAN, p32, g32, p23),
                 CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_backward(ctx, CLG_LOSS_SQUARED, CLG_REDUCE_MEAN, p32, p23, g32),
                 CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_forward(ctx, (clg_loss_kind)7, CLG_REDUCE_MEAN, p32, g32, one),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loss_forward(ctx, CLG_LOSS_MSE, (clg_reduction)-1, p32, g32, one),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loss_backward(ctx, (clg_loss_kind)3, CLG_REDUCE_SUM, p32, g32, g32),
                 CLG_ERR_INVALID_ARGUMENT);
    /* Cross-entropy wants a B×1 target of class ids (tests/test_xent.c covers it fully). */
    cr_expect_eq(clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_SUM, p32, g32, g32),
                 CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_forward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, NULL, g32, one),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loss_backward(ctx, CLG_LOSS_MSE, CLG_REDUCE_MEAN, p32, g32, NULL),
                 CLG_ERR_INVALID_ARGUMENT);
    clg_tensor *all[] = {p32, p23, one, two, g32};
    for (size_t i = 0; i < 5; i++) clg_tensor_destroy(all[i]);
    clg_context_destroy(ctx);
}
