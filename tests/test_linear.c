/* Linear and ReLU kernels against double references, finite differences and guard zones.
 * Tolerance for a sum of products: 1e-5 * sum|terms| + 1e-6 (float32 accumulation).
 * The products run on both implementations (CLGRAD_GEMM=own: clgrad's tiled kernel,
 * =clblast: CLBlast's SGEMM, including shapes it must pad) and on the auto rule. */
#include "ref.h"

static const char *const gemm_modes[] = {"own", "clblast", "auto"};
#define NMODES (sizeof gemm_modes / sizeof *gemm_modes)

typedef struct shape {
    size_t B, d, q;
} shape;
static const shape shapes[] = {{1, 1, 1},      {10, 2, 1},    {13, 7, 3},   {1, 300, 10},
                               {257, 300, 10}, {33, 17, 129}, {70, 45, 33}, {128, 64, 96}};
#define NSHAPES (sizeof shapes / sizeof *shapes)
/* Under Oclgrind (test_small()) the two largest shapes are left out: the others still
 * cover every kernel, CLBlast's padded shapes and the auto rule's both sides. */
#define SMALL_MAX_WORK 200000
static int skip_shape(shape s) { return test_small() && s.B * s.d * s.q > SMALL_MAX_WORK; }
#define REL 1e-5
#define ABS 1e-6

static void check_forward(clg_context *ctx, shape s, uint64_t seed)
{
    size_t B = s.B, d = s.d, q = s.q;
    float *X = ref_random(&seed, B * d, -1, 1), *W = ref_random(&seed, d * q, -0.5f, 0.5f);
    float *b = ref_random(&seed, q, -1, 1), *Y = malloc(B * q * sizeof *Y);
    cl_mem mX = ref_buffer(ctx, X, B * d), mW = ref_buffer(ctx, W, d * q);
    cl_mem mb = ref_buffer(ctx, b, q), mY = ref_buffer(ctx, NULL, B * q);
    CLG_OK_OR_FAIL(ctx, clg_op_linear_forward(ctx, mX, mW, mb, mY, B, d, q));
    char what[96];
    snprintf(what, sizeof what, "forward Y B=%zu d=%zu q=%zu CLGRAD_GEMM=%s", B, d, q,
             getenv("CLGRAD_GEMM"));
    ref_read(ctx, mY, Y, B * q, what);
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < q; j++) {
            double acc = b[j], mag = fabs(b[j]);
            for (size_t k = 0; k < d; k++) {
                acc += (double)X[i * d + k] * W[k * q + j];
                mag += fabs((double)X[i * d + k] * W[k * q + j]);
            }
            EXPECT_CLOSE(Y[i * q + j], acc, REL * mag + ABS, what);
        }
    clReleaseMemObject(mX);
    clReleaseMemObject(mW);
    clReleaseMemObject(mb);
    clReleaseMemObject(mY);
    free(X);
    free(W);
    free(b);
    free(Y);
}

Test(linear, forward_matches_double_reference_with_guards)
{
    clg_context *ctx = test_context();
    for (size_t m = 0; m < NMODES; m++) {
        test_label(ctx, "CLGRAD_GEMM",
                   gemm_modes[m]); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_GEMM", gemm_modes[m]));
        for (size_t i = 0; i < NSHAPES; i++)
            if (!skip_shape(shapes[i])) check_forward(ctx, shapes[i], 100 + i);
    }
    clg_context_destroy(ctx);
}

static void check_backward(clg_context *ctx, shape s, uint64_t seed, int with_dx)
{
    size_t B = s.B, d = s.d, q = s.q;
    float *X = ref_random(&seed, B * d, -1, 1), *W = ref_random(&seed, d * q, -0.5f, 0.5f);
    float *dY = ref_random(&seed, B * q, -1, 1);
    float *dW = malloc(d * q * sizeof *dW), *db = malloc(q * sizeof *db),
          *dX = malloc(B * d * sizeof *dX);
    cl_mem mX = ref_buffer(ctx, X, B * d), mW = ref_buffer(ctx, W, d * q),
           mdY = ref_buffer(ctx, dY, B * q);
    cl_mem mdW = ref_buffer(ctx, NULL, d * q), mdb = ref_buffer(ctx, NULL, q),
           mdX = ref_buffer(ctx, NULL, B * d);
    CLG_OK_OR_FAIL(
        ctx, clg_op_linear_backward(ctx, mX, mW, mdY, mdW, mdb, with_dx ? mdX : NULL, B, d, q));
    char what[96];
    snprintf(what, sizeof what, "backward B=%zu d=%zu q=%zu dX=%d CLGRAD_GEMM=%s", B, d, q, with_dx,
             getenv("CLGRAD_GEMM"));
    ref_read(ctx, mdW, dW, d * q, what);
    ref_read(ctx, mdb, db, q, what);
    ref_read(ctx, mdX, dX, B * d, what);
    for (size_t k = 0; k < d; k++)
        for (size_t j = 0; j < q; j++) {
            double acc = 0, mag = 0;
            for (size_t i = 0; i < B; i++) {
                acc += (double)X[i * d + k] * dY[i * q + j];
                mag += fabs((double)X[i * d + k] * dY[i * q + j]);
            }
            EXPECT_CLOSE(dW[k * q + j], acc, REL * mag + ABS, what);
        }
    for (size_t j = 0; j < q; j++) {
        double acc = 0, mag = 0;
        for (size_t i = 0; i < B; i++) {
            acc += dY[i * q + j];
            mag += fabs(dY[i * q + j]);
        }
        EXPECT_CLOSE(db[j], acc, REL * mag + ABS, what);
    }
    for (size_t i = 0; i < B; i++)
        for (size_t k = 0; k < d; k++) {
            if (!with_dx) {
                cr_assert_eq(dX[i * d + k], SENTINEL, "%s: dX written although NULL was passed",
                             what);
                continue;
            }
            double acc = 0, mag = 0;
            for (size_t j = 0; j < q; j++) {
                acc += (double)dY[i * q + j] * W[k * q + j];
                mag += fabs((double)dY[i * q + j] * W[k * q + j]);
            }
            EXPECT_CLOSE(dX[i * d + k], acc, REL * mag + ABS, what);
        }
    clReleaseMemObject(mX);
    clReleaseMemObject(mW);
    clReleaseMemObject(mdY);
    clReleaseMemObject(mdW);
    clReleaseMemObject(mdb);
    clReleaseMemObject(mdX);
    free(X);
    free(W);
    free(dY);
    free(dW);
    free(db);
    free(dX);
}

Test(linear, backward_matches_double_reference_with_guards)
{
    clg_context *ctx = test_context();
    for (size_t m = 0; m < NMODES; m++) {
        test_label(ctx, "CLGRAD_GEMM",
                   gemm_modes[m]); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_GEMM", gemm_modes[m]));
        for (size_t i = 0; i < NSHAPES; i++) {
            if (skip_shape(shapes[i])) continue;
            check_backward(ctx, shapes[i], 200 + i, 1);
            check_backward(ctx, shapes[i], 300 + i, 0);
        }
    }
    clg_context_destroy(ctx);
}

Test(linear, relu_forward_backward_with_guards)
{
    clg_context *ctx = test_context();
    const size_t n = 1031;
    uint64_t seed = 7;
    float *X = ref_random(&seed, n, -1, 1), *dY = ref_random(&seed, n, -1, 1);
    X[0] = 0.0f;
    X[1] = NAN;
    float *Y = malloc(n * sizeof *Y), *dX = malloc(n * sizeof *dX);
    cl_mem mX = ref_buffer(ctx, X, n), mY = ref_buffer(ctx, NULL, n);
    cl_mem mdY = ref_buffer(ctx, dY, n), mdX = ref_buffer(ctx, NULL, n);
    CLG_OK_OR_FAIL(ctx, clg_op_relu_forward(ctx, mX, mY, n));
    CLG_OK_OR_FAIL(ctx, clg_op_relu_backward(ctx, mX, mdY, mdX, n));
    ref_read(ctx, mY, Y, n, "relu forward");
    ref_read(ctx, mdX, dX, n, "relu backward");
    cr_assert(isnan(Y[1]), "relu passes NaN through (got %g)", (double)Y[1]);
    cr_assert_eq(dX[0], 0.0f, "gradient at the kink is 0");
    for (size_t i = 2; i < n; i++) {
        cr_assert_eq(Y[i], X[i] > 0 ? X[i] : 0.0f, "relu(%g) exact, element %zu", (double)X[i], i);
        cr_assert_eq(dX[i], X[i] > 0 ? dY[i] : 0.0f, "relu grad exact, element %zu", i);
    }
    clReleaseMemObject(mX);
    clReleaseMemObject(mY);
    clReleaseMemObject(mdY);
    clReleaseMemObject(mdX);
    free(X);
    free(dY);
    free(Y);
    free(dX);
    clg_context_destroy(ctx);
}

Test(linear, forward_is_deterministic_bitwise)
{
    clg_context *ctx = test_context();
    size_t B = test_small() ? 65 : 257, d = test_small() ? 120 : 300, q = 10;
    uint64_t seed = 9;
    float *X = ref_random(&seed, B * d, -1, 1), *W = ref_random(&seed, d * q, -1, 1);
    float *b = ref_random(&seed, q, -1, 1), *Y1 = malloc(B * q * 4), *Y2 = malloc(B * q * 4);
    cl_mem mX = ref_buffer(ctx, X, B * d), mW = ref_buffer(ctx, W, d * q),
           mb = ref_buffer(ctx, b, q);
    cl_mem mY = ref_buffer(ctx, NULL, B * q), mdW = ref_buffer(ctx, NULL, d * q);
    CLG_OK_OR_FAIL(ctx, clg_op_linear_forward(ctx, mX, mW, mb, mY, B, d, q));
    ref_read(ctx, mY, Y1, B * q, "run 1");
    CLG_OK_OR_FAIL(ctx, clg_op_linear_forward(ctx, mX, mW, mb, mY, B, d, q));
    ref_read(ctx, mY, Y2, B * q, "run 2");
    cr_assert_arr_eq(Y1, Y2, B * q * sizeof *Y1, "two forward runs must agree bit for bit");
    clReleaseMemObject(mX);
    clReleaseMemObject(mW);
    clReleaseMemObject(mb);
    clReleaseMemObject(mY);
    clReleaseMemObject(mdW);
    free(X);
    free(W);
    free(b);
    free(Y1);
    free(Y2);
    clg_context_destroy(ctx);
}

/* loss = sum(Y ⊙ R) in double from a device forward of host X, W, b. */
static double linear_loss(clg_context *ctx, const float *X, const float *W, const float *b,
                          const float *R, shape s)
{
    size_t B = s.B, d = s.d, q = s.q;
    cl_mem mX = ref_buffer(ctx, X, B * d), mW = ref_buffer(ctx, W, d * q);
    cl_mem mb = ref_buffer(ctx, b, q), mY = ref_buffer(ctx, NULL, B * q);
    float *Y = malloc(B * q * sizeof *Y);
    CLG_OK_OR_FAIL(ctx, clg_op_linear_forward(ctx, mX, mW, mb, mY, B, d, q));
    ref_read(ctx, mY, Y, B * q, "fd forward");
    double L = 0;
    for (size_t i = 0; i < B * q; i++) L += (double)Y[i] * R[i];
    clReleaseMemObject(mX);
    clReleaseMemObject(mW);
    clReleaseMemObject(mb);
    clReleaseMemObject(mY);
    free(Y);
    return L;
}

/* Central difference of linear_loss in one element of arr (X, W or b). */
static double fd(clg_context *ctx, float *X, float *W, float *b, const float *R, shape s,
                 float *arr, size_t idx, float eps)
{
    float keep = arr[idx];
    arr[idx] = keep + eps;
    double lp = linear_loss(ctx, X, W, b, R, s);
    arr[idx] = keep - eps;
    double lm = linear_loss(ctx, X, W, b, R, s);
    arr[idx] = keep;
    return (lp - lm) / (2.0 * (double)eps);
}

/* FD tolerance: the loss is linear in each input, so the error is float rounding of
 * the forward, about 1e-6·Σ|Y·R| / eps; 2e-3 covers these shapes. */
#define FD_TOL 2e-3

Test(linear, gradients_match_finite_differences)
{
    clg_context *ctx = test_context();
    const shape fs[] = {{1, 1, 1}, {10, 2, 1}, {13, 7, 3}};
    const float eps = 1e-2f;
    for (size_t t = 0; t < 2 * sizeof fs / sizeof *fs; t++) {
        shape s = fs[t / 2];
        test_label(
            ctx, "CLGRAD_GEMM",
            gemm_modes[t % 2]); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_GEMM", gemm_modes[t % 2]));
        size_t B = s.B, d = s.d, q = s.q;
        uint64_t seed = 40 + t;
        float *X = ref_random(&seed, B * d, -1, 1), *W = ref_random(&seed, d * q, -1, 1);
        float *b = ref_random(&seed, q, -1, 1), *R = ref_random(&seed, B * q, -1, 1);
        float *dW = malloc(d * q * 4), *db = malloc(q * 4), *dX = malloc(B * d * 4);
        cl_mem mX = ref_buffer(ctx, X, B * d), mW = ref_buffer(ctx, W, d * q),
               mR = ref_buffer(ctx, R, B * q);
        cl_mem mdW = ref_buffer(ctx, NULL, d * q), mdb = ref_buffer(ctx, NULL, q),
               mdX = ref_buffer(ctx, NULL, B * d);
        CLG_OK_OR_FAIL(ctx, clg_op_linear_backward(ctx, mX, mW, mR, mdW, mdb, mdX, B, d, q));
        ref_read(ctx, mdW, dW, d * q, "dW");
        ref_read(ctx, mdb, db, q, "db");
        ref_read(ctx, mdX, dX, B * d, "dX");
        char what[96];
        for (size_t i = 0; i < d * q; i++) {
            snprintf(what, sizeof what, "FD dW[%zu] B=%zu d=%zu q=%zu eps=%g %s", i, B, d, q, eps,
                     gemm_modes[t % 2]);
            EXPECT_CLOSE(dW[i], fd(ctx, X, W, b, R, s, W, i, eps), FD_TOL * (1 + fabs(dW[i])),
                         what);
        }
        for (size_t i = 0; i < q; i++) {
            snprintf(what, sizeof what, "FD db[%zu] B=%zu d=%zu q=%zu %s", i, B, d, q,
                     gemm_modes[t % 2]);
            EXPECT_CLOSE(db[i], fd(ctx, X, W, b, R, s, b, i, eps), FD_TOL * (1 + fabs(db[i])),
                         what);
        }
        for (size_t i = 0; i < B * d; i += 3) {
            snprintf(what, sizeof what, "FD dX[%zu] B=%zu d=%zu q=%zu %s", i, B, d, q,
                     gemm_modes[t % 2]);
            EXPECT_CLOSE(dX[i], fd(ctx, X, W, b, R, s, X, i, eps), FD_TOL * (1 + fabs(dX[i])),
                         what);
        }
        clReleaseMemObject(mX);
        clReleaseMemObject(mW);
        clReleaseMemObject(mR);
        clReleaseMemObject(mdW);
        clReleaseMemObject(mdb);
        clReleaseMemObject(mdX);
        free(X);
        free(W);
        free(b);
        free(R);
        free(dW);
        free(db);
        free(dX);
    }
    clg_context_destroy(ctx);
}

/* sum(Y ⊙ R) of the model's forward on X, in double. */
static double model_loss(clg_model *m, const clg_tensor *X, const float *R, size_t n)
{
    const clg_tensor *Y;
    float *y = malloc(n * sizeof *y);
    CLG_OK_OR_FAIL(NULL, clg_model_forward(m, X, &Y));
    CLG_OK_OR_FAIL(NULL, clg_tensor_download(Y, y, clg_tensor_rows(Y), clg_tensor_cols(Y)));
    double L = 0;
    for (size_t i = 0; i < n; i++) L += (double)y[i] * R[i];
    free(y);
    return L;
}

Test(linear, two_layer_relu_model_gradients_match_finite_differences)
{
    clg_context *ctx = test_context();
    const size_t B = 11, d = 5, h = 8, q = 3;
    const float eps = 1e-2f;
    uint64_t seed = 77;
    float *X = ref_random(&seed, B * d, -1, 1), *R = ref_random(&seed, B * q, -1, 1);
    float *W1 = ref_random(&seed, d * h, -1, 1), *b1 = ref_random(&seed, h, -0.5f, 0.5f);
    float *W2 = ref_random(&seed, h * q, -1, 1), *b2 = ref_random(&seed, q, -1, 1);
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init i1 = clg_linear_init_defaults(), i2 = i1;
    i1.weight = W1;
    i1.bias = b1;
    i2.weight = W2;
    i2.bias = b2;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, h, &i1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, h, q, &i2));
    clg_tensor *tX, *tR;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, B, d, &tX));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, R, B, q, &tR));
    const clg_tensor *Y;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tX, &Y));
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, tR));

    /* Hidden pre-activations in double, to skip points whose ± eps step crosses the kink. */
    double *H = malloc(B * h * sizeof *H);
    size_t live = 0;
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < h; j++) {
            H[r * h + j] = b1[j];
            for (size_t k = 0; k < d; k++) H[r * h + j] += (double)X[r * d + k] * W1[k * h + j];
            live += H[r * h + j] > 0;
        }
    cr_assert(live > B * h / 4 && live < B * h, "both ReLU branches exercised (%zu of %zu live)",
              live, B * h);
    size_t checked = 0, skipped = 0;
    char what[96];
    for (size_t p = 0; p < 4; p++) {
        clg_param_info info;
        CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, p, &info));
        size_t n = info.rows * info.cols;
        float *v = malloc(n * 4), *g = malloc(n * 4);
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, p, v, n));
        CLG_OK_OR_FAIL(ctx, clg_model_get_grad(m, p, g, n));
        for (size_t e = 0; e < n; e++) {
            if (p < 2) { /* first layer: unit j = e % h, input k = e / h (or bias) */
                size_t j = e % h, k = p == 0 ? e / h : 0;
                int near = 0;
                for (size_t r = 0; r < B; r++) {
                    double step = p == 0 ? fabs((double)X[r * d + k]) * eps : eps;
                    near |= fabs(H[r * h + j]) <= 2 * step;
                }
                if (near) {
                    skipped++;
                    continue;
                }
            }
            float keep = v[e];
            v[e] = keep + eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, p, v, n));
            double lp = model_loss(m, tX, R, B * q);
            v[e] = keep - eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, p, v, n));
            double lm = model_loss(m, tX, R, B * q);
            v[e] = keep;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, p, v, n));
            snprintf(what, sizeof what, "FD %s[%zu], eps %g", info.name, e, eps);
            EXPECT_CLOSE(g[e], (lp - lm) / (2.0 * eps), FD_TOL * (1 + fabs(g[e])), what);
            checked++;
        }
        free(v);
        free(g);
    }
    cr_assert(checked >= 4 * skipped && checked > 50,
              "checked %zu points, skipped %zu near the kink", checked, skipped);
    clg_tensor_destroy(tX);
    clg_tensor_destroy(tR);
    clg_model_destroy(m);
    free(X);
    free(R);
    free(W1);
    free(b1);
    free(W2);
    free(b2);
    free(H);
    clg_context_destroy(ctx);
}

Test(linear, gemm_choice_rule_and_bad_setting)
{
    /* auto: thin products (q = 1, or any side below 8) and small ones stay on the tiled
     * kernel; the MLP's wide ones go to CLBlast. */
    cr_assert(!clg_gemm_wide(CLG_GEMM_AUTO, 256, 1, 256), "linear regression forward: own kernel");
    cr_assert(!clg_gemm_wide(CLG_GEMM_AUTO, 10, 2, 1), "seeds' shapes: own kernel");
    cr_assert(!clg_gemm_wide(CLG_GEMM_AUTO, 16, 16, 16), "4096 multiply-adds: own kernel");
    cr_assert(clg_gemm_wide(CLG_GEMM_AUTO, 256, 256, 784), "MLP first layer: CLBlast");
    cr_assert(clg_gemm_wide(CLG_GEMM_AUTO, 784, 256, 256), "MLP weight gradient: CLBlast");
    cr_assert(clg_gemm_wide(CLG_GEMM_CLBLAST, 1, 1, 1) &&
                  !clg_gemm_wide(CLG_GEMM_OWN, 999, 999, 999),
              "forced settings win");

    /* A bad value is refused when the context is created (runtime/config.c). */
    setenv("CLGRAD_GEMM", "fastest", 1); /* no context exists */
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    unsetenv("CLGRAD_GEMM");
    cr_assert_eq(s, CLG_ERR_INVALID_ARGUMENT, "CLGRAD_GEMM=fastest must be refused, got %s",
                 clg_status_string(s));
    cr_assert(strstr(clg_last_error(NULL), "CLGRAD_GEMM=fastest"), "message names the setting: %s",
              clg_last_error(NULL));
}
