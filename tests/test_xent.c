/* Softmax cross-entropy (values, gradients, extremes, FD) and the accuracy op,
 * against plain-C double references. */
#include "ref.h"

/* Per-row values: float log/exp of a few ulps each, so 1e-5·(1 + |ref|).
 * Reduced values: float sums of B terms: 1e-5·Σ|terms| + 1e-6.
 * Gradients: |softmax − onehot| ≤ 1, a few ulps: 2e-6·scale + 1e-5·|ref|. */
#define ROW_TOL(ref) (1e-5 * (1.0 + fabs(ref)))
#define SUM_TOL(abs_sum) (1e-5 * (abs_sum) + 1e-6)
#define GRAD_TOL(ref, scale) (2e-6 * (scale) + 1e-5 * fabs(ref))

typedef struct shape {
    size_t B, C;
} shape;
static const shape shapes[] = {{13, 7}, {1, 2}, {300, 10}};
#define NSHAPES (sizeof shapes / sizeof *shapes)

/* −log softmax(z)[label] in double with the max subtracted. */
static double ref_row_loss(const float *z, size_t C, size_t label)
{
    double m = z[0], s = 0;
    for (size_t j = 1; j < C; j++) m = fmax(m, z[j]);
    for (size_t j = 0; j < C; j++) s += exp((double)z[j] - m);
    return log(s) + (m - (double)z[label]);
}

static void ref_row_grad(const float *z, size_t C, size_t label, double scale, double *g)
{
    double m = z[0], s = 0;
    for (size_t j = 1; j < C; j++) m = fmax(m, z[j]);
    for (size_t j = 0; j < C; j++) s += exp((double)z[j] - m);
    for (size_t j = 0; j < C; j++) g[j] = (exp((double)z[j] - m) / s - (j == label)) * scale;
}

static clg_tensor *upload(clg_context *ctx, const float *a, size_t r, size_t c)
{
    clg_tensor *t;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, a, r, c, &t));
    return t;
}

static float *random_labels(uint64_t *seed, size_t B, size_t C)
{
    float *t = malloc(B * sizeof *t);
    for (size_t i = 0; i < B; i++) {
        size_t l = (size_t)ref_uniform(seed, 0, (float)C);
        t[i] = (float)(l < C ? l : C - 1);
    }
    return t;
}

Test(xent, values_match_reference_for_each_reduction)
{
    clg_context *ctx = test_context();
    char what[128];
    for (size_t k = 0; k < NSHAPES; k++) {
        size_t B = shapes[k].B, C = shapes[k].C;
        uint64_t seed = 100 + k;
        float *z = ref_random(&seed, B * C, -4, 4), *t = random_labels(&seed, B, C);
        double sum = 0, abs_sum = 0;
        double *row = malloc(B * sizeof *row);
        for (size_t i = 0; i < B; i++) {
            row[i] = ref_row_loss(z + i * C, C, (size_t)t[i]);
            sum += row[i];
            abs_sum += fabs(row[i]);
        }
        clg_tensor *tz = upload(ctx, z, B, C), *tt = upload(ctx, t, B, 1), *one;
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
        float got;
        CLG_OK_OR_FAIL(ctx,
                       clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_SUM, tz, tt, one));
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &got, 1, 1));
        snprintf(what, sizeof what, "CE SUM B=%zu C=%zu (tol 1e-5*sum|l|+1e-6)", B, C);
        EXPECT_CLOSE(got, sum, SUM_TOL(abs_sum), what);
        CLG_OK_OR_FAIL(ctx,
                       clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, tz, tt, one));
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &got, 1, 1));
        snprintf(what, sizeof what, "CE MEAN over B=%zu samples, C=%zu (tol 1e-5*mean|l|+1e-6)", B,
                 C);
        EXPECT_CLOSE(got, sum / (double)B, SUM_TOL(abs_sum / (double)B), what);
        /* NONE: B×1, written through the op into a guarded buffer. */
        cl_mem out = ref_buffer(ctx, NULL, B);
        CLG_OK_OR_FAIL(ctx, clg_op_loss_value(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_NONE, tz->mem,
                                              tt->mem, out, B, C));
        float *v = malloc(B * sizeof *v);
        ref_read(ctx, out, v, B, "CE NONE");
        for (size_t i = 0; i < B; i++) {
            snprintf(what, sizeof what, "CE NONE B=%zu C=%zu row %zu (tol 1e-5*(1+|l|))", B, C, i);
            EXPECT_CLOSE(v[i], row[i], ROW_TOL(row[i]), what);
        }
        /* The accumulate op adds the summed per-sample loss to acc[0]. */
        const float start = 2.5f;
        cl_mem acc = ref_buffer(ctx, &start, 1);
        CLG_OK_OR_FAIL(
            ctx, clg_op_loss_accumulate(ctx, CLG_LOSS_SOFTMAX_XENT, tz->mem, tt->mem, acc, B, C));
        CLG_OK_OR_FAIL(
            ctx, clg_op_loss_accumulate(ctx, CLG_LOSS_SOFTMAX_XENT, tz->mem, tt->mem, acc, B, C));
        ref_read(ctx, acc, &got, 1, "CE accumulate");
        snprintf(what, sizeof what, "2.5 + 2 x CE sum, B=%zu C=%zu (tol 2e-5*sum|l|+1e-6)", B, C);
        EXPECT_CLOSE(got, 2.5 + 2 * sum, 2 * SUM_TOL(abs_sum), what);
        clReleaseMemObject(out);
        clReleaseMemObject(acc);
        clg_tensor_destroy(tz);
        clg_tensor_destroy(tt);
        clg_tensor_destroy(one);
        free(z);
        free(t);
        free(v);
        free(row);
    }
    clg_context_destroy(ctx);
}

Test(xent, gradient_matches_reference_for_each_reduction)
{
    clg_context *ctx = test_context();
    char what[192]; /* room for every %zu at full width (-Wformat-truncation at -O2) */
    const clg_reduction reds[3] = {CLG_REDUCE_MEAN, CLG_REDUCE_SUM, CLG_REDUCE_NONE};
    for (size_t k = 0; k < NSHAPES; k++) {
        size_t B = shapes[k].B, C = shapes[k].C;
        uint64_t seed = 200 + k;
        float *z = ref_random(&seed, B * C, -4, 4), *t = random_labels(&seed, B, C);
        float *g = malloc(B * C * sizeof *g);
        double *want = malloc(C * sizeof *want);
        clg_tensor *tz = upload(ctx, z, B, C), *tt = upload(ctx, t, B, 1), *tg;
        CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, C, &tg));
        for (int r = 0; r < 3; r++) {
            double scale = reds[r] == CLG_REDUCE_MEAN ? 1.0 / (double)B : 1.0;
            CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, reds[r], tz, tt, tg));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(tg, g, B, C));
            for (size_t i = 0; i < B; i++) {
                ref_row_grad(z + i * C, C, (size_t)t[i], scale, want);
                double row_sum = 0;
                for (size_t j = 0; j < C; j++) {
                    snprintf(what, sizeof what,
                             "CE grad red %d B=%zu C=%zu [%zu,%zu] (tol 2e-6*scale+1e-5*|g|)", r, B,
                             C, i, j);
                    EXPECT_CLOSE(g[i * C + j], want[j], GRAD_TOL(want[j], scale), what);
                    row_sum += g[i * C + j];
                }
                /* softmax sums to 1 and the onehot to 1: each row sums to 0. */
                snprintf(what, sizeof what, "CE grad row %zu sums to 0 (tol C*2e-6*scale)", i);
                EXPECT_CLOSE(row_sum, 0.0, (double)C * 2e-6 * scale, what);
            }
        }
        clg_tensor_destroy(tz);
        clg_tensor_destroy(tt);
        clg_tensor_destroy(tg);
        free(z);
        free(t);
        free(g);
        free(want);
    }
    clg_context_destroy(ctx);
}

/* Logits of ±1e4 would overflow exp() without the max subtracted. */
Test(xent, extreme_logits_stay_finite_and_correct)
{
    clg_context *ctx = test_context();
    enum { B = 8, C = 4 };
    const float z[B * C] = {
        1e4f,  1e4f,  1e4f,  1e4f,  /* all equal, huge: log 4 */
        -1e4f, -1e4f, -1e4f, -1e4f, /* all equal, very negative: log 4 */
        0,     0,     0,     0,     /* all equal: log 4 */
        1e4f,  0,     0,     -1e4f, /* one huge, label on it: ~0 */
        1e4f,  0,     0,     -1e4f, /* label on a 0: 1e4 */
        1e4f,  0,     0,     -1e4f, /* label on -1e4: 2e4 */
        -1e4f, 1e4f,  -1e4f, 1e4f,  /* two tied maxima, label on a min: 2e4 + log 2 */
        -1e4f, 1e4f,  -1e4f, 1e4f,  /* label on a max: log 2 */
    };
    const float t[B] = {2, 0, 3, 0, 1, 3, 0, 3};
    clg_tensor *tz = upload(ctx, z, B, C), *tt = upload(ctx, t, B, 1), *rows, *tg, *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, 1, &rows));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, C, &tg));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_NONE, tz, tt, rows));
    CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_SUM, tz, tt, tg));
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, tz, tt, one));
    float v[B], g[B * C], mean;
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(rows, v, B, 1));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(tg, g, B, C));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &mean, 1, 1));
    const double want[B] = {log(4.0), log(4.0), log(4.0), 0.0, 1e4, 2e4, 2e4 + log(2.0), log(2.0)};
    char what[128];
    double sum = 0;
    for (size_t i = 0; i < B; i++) {
        /* Cross-check the closed forms with the double reference. */
        double ref = ref_row_loss(z + i * C, C, (size_t)t[i]);
        snprintf(what, sizeof what, "closed form vs double reference, row %zu (tol 1e-9*(1+|l|))",
                 i);
        EXPECT_CLOSE(ref, want[i], 1e-9 * (1 + fabs(want[i])), what);
        cr_assert(isfinite(v[i]), "row %zu loss must be finite, got %g", i, (double)v[i]);
        snprintf(what, sizeof what, "extreme row %zu loss (tol 1e-6*|l| + 1e-6)", i);
        EXPECT_CLOSE(v[i], want[i], 1e-6 * fabs(want[i]) + 1e-6, what);
        sum += want[i];
        double gw[C];
        ref_row_grad(z + i * C, C, (size_t)t[i], 1.0, gw);
        for (size_t j = 0; j < C; j++) {
            cr_assert(isfinite(g[i * C + j]), "grad [%zu,%zu] must be finite, got %g", i, j,
                      (double)g[i * C + j]);
            snprintf(what, sizeof what, "extreme row %zu grad [%zu] (tol 1e-6)", i, j);
            EXPECT_CLOSE(g[i * C + j], gw[j], 1e-6, what);
        }
    }
    EXPECT_CLOSE(mean, sum / B, 1e-6 * sum / B, "extreme MEAN (tol 1e-6 relative)");
    clg_tensor_destroy(tz);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(rows);
    clg_tensor_destroy(tg);
    clg_tensor_destroy(one);
    clg_context_destroy(ctx);
}

/* Labels out of [0, C), fractional or NaN in device data: NaN loss and gradient for
 * that row only (so clg_fit stops with CLG_ERR_NONFINITE). */
Test(xent, bad_label_in_device_data_gives_nan_for_its_row)
{
    clg_context *ctx = test_context();
    enum { B = 6, C = 3 };
    float z[B * C];
    for (size_t i = 0; i < B * C; i++) z[i] = (float)(i % 5) * 0.5f - 1.0f;
    const float t[B] = {0, 3, -1, 1.5f, NAN, 2};
    const int bad[B] = {0, 1, 1, 1, 1, 0};
    clg_tensor *tz = upload(ctx, z, B, C), *tt = upload(ctx, t, B, 1), *rows, *tg, *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, 1, &rows));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, C, &tg));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_NONE, tz, tt, rows));
    CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, tz, tt, tg));
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, tz, tt, one));
    float v[B], g[B * C], mean;
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(rows, v, B, 1));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(tg, g, B, C));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &mean, 1, 1));
    char what[96];
    for (size_t i = 0; i < B; i++) {
        if (bad[i]) {
            cr_expect(isnan(v[i]), "row %zu has label %g: loss must be NaN, got %g", i,
                      (double)t[i], (double)v[i]);
            for (size_t j = 0; j < C; j++)
                cr_expect(isnan(g[i * C + j]), "row %zu label %g: grad must be NaN", i,
                          (double)t[i]);
        } else {
            double ref = ref_row_loss(z + i * C, C, (size_t)t[i]);
            snprintf(what, sizeof what, "good row %zu (tol 1e-5*(1+|l|))", i);
            EXPECT_CLOSE(v[i], ref, ROW_TOL(ref), what);
        }
    }
    cr_expect(isnan(mean), "the mean over rows with bad labels must be NaN, got %g", (double)mean);
    clg_tensor_destroy(tz);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(rows);
    clg_tensor_destroy(tg);
    clg_tensor_destroy(one);
    clg_context_destroy(ctx);
}

/* Central differences of the device's reduced loss against the device gradient. */
Test(xent, gradient_matches_finite_differences)
{
    clg_context *ctx = test_context();
    enum { B = 5, C = 4 };
    uint64_t seed = 77;
    float *z = ref_random(&seed, B * C, -2, 2), *t = random_labels(&seed, B, C);
    clg_tensor *tz = upload(ctx, z, B, C), *tt = upload(ctx, t, B, 1), *tg, *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, B, C, &tg));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    const clg_reduction reds[2] = {CLG_REDUCE_MEAN, CLG_REDUCE_SUM};
    const float eps = 1e-2f;
    char what[128];
    for (int r = 0; r < 2; r++) {
        float g[B * C];
        CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, reds[r], tz, tt, tg));
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(tg, g, B, C));
        for (size_t i = 0; i < B * C; i++) {
            float keep = z[i], lp, lm;
            z[i] = keep + eps;
            CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tz, z, B, C));
            CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, reds[r], tz, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lp, 1, 1));
            z[i] = keep - eps;
            CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tz, z, B, C));
            CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, reds[r], tz, tt, one));
            CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &lm, 1, 1));
            z[i] = keep;
            CLG_OK_OR_FAIL(ctx, clg_tensor_upload(tz, z, B, C));
            double fd = ((double)lp - lm) / (2.0 * eps);
            /* Truncation ~eps²/6·|f'''| ≤ 2e-5 and float rounding of the loss
             * ~1e-6/eps: tolerance 5e-4 + 1e-2·|g|. */
            snprintf(what, sizeof what, "CE FD red %d element %zu (tol 5e-4 + 1e-2*|g|)", r, i);
            EXPECT_CLOSE(g[i], fd, 5e-4 + 1e-2 * fabs(fd), what);
        }
    }
    clg_tensor_destroy(tz);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(tg);
    clg_tensor_destroy(one);
    free(z);
    free(t);
    clg_context_destroy(ctx);
}

static size_t ref_correct(const float *z, const float *t, size_t B, size_t C)
{
    size_t n = 0;
    for (size_t i = 0; i < B; i++) {
        size_t arg = 0;
        for (size_t j = 1; j < C; j++)
            if (z[i * C + j] > z[i * C + arg]) arg = j; /* strict: the first maximum wins */
        n += (float)arg == t[i];
    }
    return n;
}

Test(xent, accuracy_op_matches_reference_with_ties)
{
    clg_context *ctx = test_context();
    char what[128];
    for (size_t k = 0; k < NSHAPES; k++) {
        size_t B = shapes[k].B, C = shapes[k].C;
        uint64_t seed = 300 + k;
        /* Logits from {0, 1, 2}: most rows have tied maxima. */
        float *z = ref_random(&seed, B * C, 0, 3), *t = random_labels(&seed, B, C);
        for (size_t i = 0; i < B * C; i++) z[i] = floorf(z[i]);
        /* Put every other label on the row's last maximum, so ties decide. */
        size_t ties = 0;
        for (size_t i = 0; i < B; i += 2) {
            size_t first = 0, last = 0;
            for (size_t j = 1; j < C; j++) {
                if (z[i * C + j] > z[i * C + first])
                    first = last = j;
                else if (z[i * C + j] == z[i * C + first])
                    last = j;
            }
            t[i] = (float)last;
            ties += last != first;
        }
        cl_mem pz = ref_buffer(ctx, z, B * C), pt = ref_buffer(ctx, t, B);
        const float start = 3.0f;
        cl_mem acc = ref_buffer(ctx, &start, 1);
        CLG_OK_OR_FAIL(ctx, clg_op_accuracy_accumulate(ctx, pz, pt, acc, B, C));
        float got;
        ref_read(ctx, acc, &got, 1, "accuracy accumulator");
        size_t want = ref_correct(z, t, B, C);
        snprintf(what, sizeof what, "3 + correct count B=%zu C=%zu (%zu tied rows), exact", B, C,
                 ties);
        EXPECT_CLOSE(got, 3.0 + (double)want, 0.0, what);
        if (B >= 100) cr_expect_gt(ties, 10, "the test must exercise ties (%zu)", ties);
        clReleaseMemObject(pz);
        clReleaseMemObject(pt);
        clReleaseMemObject(acc);
        free(z);
        free(t);
    }
    /* Known rows: [1, 5, 5] → argmax 1 (first of the tied 5s); label 2 does not count. */
    const float z[9] = {1, 5, 5, 7, 7, 7, -1, -2, -3};
    const float t1[3] = {1, 0, 0}, t2[3] = {2, 1, 1};
    cl_mem pz = ref_buffer(ctx, z, 9), p1 = ref_buffer(ctx, t1, 3), p2 = ref_buffer(ctx, t2, 3);
    const float zero = 0;
    cl_mem acc = ref_buffer(ctx, &zero, 1);
    float got;
    CLG_OK_OR_FAIL(ctx, clg_op_accuracy_accumulate(ctx, pz, p1, acc, 3, 3));
    ref_read(ctx, acc, &got, 1, "accuracy");
    cr_expect_eq(got, 3.0f, "first maximum wins: all three rows correct, got %g", (double)got);
    CLG_OK_OR_FAIL(ctx, clg_op_accuracy_accumulate(ctx, pz, p2, acc, 3, 3));
    ref_read(ctx, acc, &got, 1, "accuracy");
    cr_expect_eq(got, 3.0f, "labels on later tied maxima count as wrong: still 3, got %g",
                 (double)got);
    clReleaseMemObject(pz);
    clReleaseMemObject(p1);
    clReleaseMemObject(p2);
    clReleaseMemObject(acc);
    clg_context_destroy(ctx);
}

Test(xent, shape_errors)
{
    clg_context *ctx = test_context();
    clg_tensor *z43, *t41, *t42, *t51, *one, *o41, *o43;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 4, 3, &z43));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 4, 1, &t41));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 4, 2, &t42));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 5, 1, &t51));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 1, 1, &one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 4, 1, &o41));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 4, 3, &o43));
    const char *msg = clg_last_error(ctx);
    const clg_loss_kind X = CLG_LOSS_SOFTMAX_XENT;
    cr_expect_eq(clg_loss_forward(ctx, X, CLG_REDUCE_MEAN, z43, t42, one), CLG_ERR_SHAPE);
    cr_expect(strstr(msg, "4x1") && strstr(msg, "4x2"), "message names wanted and given target: %s",
              msg);
    cr_expect_eq(clg_loss_forward(ctx, X, CLG_REDUCE_MEAN, z43, z43, one), CLG_ERR_SHAPE,
                 "a B×C target (one-hot) is not accepted");
    cr_expect_eq(clg_loss_forward(ctx, X, CLG_REDUCE_SUM, z43, t51, one), CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_forward(ctx, X, CLG_REDUCE_NONE, z43, t41, o43), CLG_ERR_SHAPE,
                 "NONE gives one loss per sample: B×1");
    cr_expect(strstr(msg, "4x1"), "%s", msg);
    cr_expect_eq(clg_loss_forward(ctx, X, CLG_REDUCE_MEAN, z43, t41, o41), CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_backward(ctx, X, CLG_REDUCE_MEAN, z43, t41, o41), CLG_ERR_SHAPE,
                 "the gradient is B×C");
    cr_expect_eq(clg_loss_backward(ctx, X, CLG_REDUCE_MEAN, z43, t42, o43), CLG_ERR_SHAPE);
    cr_expect_eq(clg_loss_backward(ctx, X, CLG_REDUCE_MEAN, z43, t41, NULL),
                 CLG_ERR_INVALID_ARGUMENT);
    /* The right shapes pass. */
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, X, CLG_REDUCE_NONE, z43, t41, o41));
    CLG_OK_OR_FAIL(ctx, clg_loss_forward(ctx, X, CLG_REDUCE_MEAN, z43, t41, one));
    CLG_OK_OR_FAIL(ctx, clg_loss_backward(ctx, X, CLG_REDUCE_NONE, z43, t41, o43));
    float l;
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &l, 1, 1));
    EXPECT_CLOSE(l, log(3.0), 1e-6, "zero logits, 3 classes: log 3 (tol 1e-6)");
    clg_tensor *all[] = {z43, t41, t42, t51, one, o41, o43};
    for (size_t i = 0; i < 7; i++) clg_tensor_destroy(all[i]);
    clg_context_destroy(ctx);
}
