/* Model: parameter order and names, round trips, initialisation, forward growth, errors. */
#include <sys/resource.h>

#include "ref.h"

static clg_model *mlp(clg_context *ctx)
{
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 3, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 2, NULL));
    return m;
}

Test(model, param_info_names_and_order)
{
    clg_context *ctx = test_context();
    clg_model *m = mlp(ctx);
    cr_assert_eq(clg_model_inputs(m), 4);
    cr_assert_eq(clg_model_outputs(m), 2);
    cr_assert_eq(clg_model_param_count(m), 4);
    const char *names[4] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    const size_t rows[4] = {4, 1, 3, 1}, cols[4] = {3, 3, 2, 2}, layer[4] = {0, 0, 2, 2};
    for (size_t i = 0; i < 4; i++) {
        clg_param_info info;
        CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, i, &info));
        cr_expect_str_eq(info.name, names[i], "parameter %zu", i);
        cr_expect_eq(info.rows, rows[i], "parameter %zu rows", i);
        cr_expect_eq(info.cols, cols[i], "parameter %zu cols", i);
        cr_expect_eq(info.layer, layer[i], "parameter %zu layer", i);
        cr_expect_eq(info.is_bias, (int)(i % 2), "parameter %zu is_bias", i);
    }
    clg_param_info info;
    cr_expect_eq(clg_model_param_info(m, 4, &info), CLG_ERR_INVALID_ARGUMENT);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(model, get_set_round_trip_is_exact)
{
    clg_context *ctx = test_context();
    clg_model *m = mlp(ctx);
    uint64_t seed = 5;
    for (size_t i = 0; i < 4; i++) {
        clg_param_info info;
        CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, i, &info));
        size_t n = info.rows * info.cols;
        float *v = ref_random(&seed, n, -3, 3), *back = malloc(n * sizeof *back);
        CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, i, v, n));
        v[0] += 1.0f; /* set_param copied the values: changing them now must not matter */
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, i, back, n));
        v[0] -= 1.0f;
        cr_expect_arr_eq(v, back, n * sizeof *v, "%s round trip", info.name);
        cr_expect_eq(clg_model_set_param(m, i, v, n + 1), CLG_ERR_SHAPE);
        cr_expect_eq(clg_model_get_param(m, i, back, n - 1 + 2), CLG_ERR_SHAPE);
        cr_expect_eq(clg_model_get_grad(m, i, back, n + 3), CLG_ERR_SHAPE);
        cr_expect_eq(clg_model_get_param(m, i, NULL, n), CLG_ERR_INVALID_ARGUMENT);
        /* Before any backward the gradient reads as zeros. */
        CLG_OK_OR_FAIL(ctx, clg_model_get_grad(m, i, back, n));
        for (size_t k = 0; k < n; k++)
            cr_expect_eq(back[k], 0.0f, "%s grad[%zu] before backward", info.name, k);
        free(v);
        free(back);
    }
    float x;
    cr_expect_eq(clg_model_get_param(m, 9, &x, 1), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_set_param(m, 4, &x, 1), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(clg_last_error(ctx), "4"), "%s", clg_last_error(ctx));
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(model, default_init_statistics_and_seeding)
{
    clg_context *ctx = test_context();
    clg_linear_init d = clg_linear_init_defaults();
    cr_assert(d.weight_std == 0.01f && d.seed == 0 && !d.weight && !d.bias,
              "defaults 0.01, 0, NULL, NULL");
    clg_model *m, *m2;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 256, 10, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 10, 10, NULL));
    const size_t n = 2560;
    float *W = malloc(n * sizeof *W), *want = malloc(n * sizeof *want), b[10], W1[100];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W, n));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b, 10));
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += W[i];
    double mean = s / n;
    for (size_t i = 0; i < n; i++) ss += (W[i] - mean) * (W[i] - mean);
    double sd = sqrt(ss / (n - 1));
    /* Sample sd of 2560 normals has relative spread 1/sqrt(2n) = 1.4%: allow 5 spreads (7%). */
    cr_expect(fabs(sd - 0.01) <= 0.07 * 0.01, "weight sd %.6f, want 0.01 +- 7%%", sd);
    /* Mean spread 0.01/sqrt(n) = 2e-4: allow 5 spreads. */
    cr_expect(fabs(mean) <= 1e-3, "weight mean %.3g, want |mean| <= 1e-3", mean);
    for (int j = 0; j < 10; j++) cr_expect_eq(b[j], 0.0f, "bias[%d] exactly 0", j);
    /* Layer i draws from seed + i: exactly the host Philox normal stream. */
    clg_philox_normal(0, CLG_STREAM_INIT, 0.01f, want, n);
    cr_expect_arr_eq(W, want, n * sizeof *W, "layer 0 = clg_philox_normal(seed 0, init stream)");
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 2, W1, 100));
    clg_philox_normal(1, CLG_STREAM_INIT, 0.01f, want, 100);
    cr_expect_arr_eq(W1, want, 100 * sizeof *W1,
                     "layer 1 = clg_philox_normal(seed 1, init stream)");
    cr_expect(memcmp(W1, W, 100 * sizeof *W1) != 0, "layers draw different numbers");
    /* Another seed and std. */
    clg_linear_init init = {.struct_size = sizeof(clg_linear_init), .weight_std = 0.5f, .seed = 42};
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m2));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m2, 256, 10, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m2, 0, W, n));
    clg_philox_normal(42, CLG_STREAM_INIT, 0.5f, want, n);
    cr_expect_arr_eq(W, want, n * sizeof *W, "seed 42, std 0.5");
    clg_model_destroy(m);
    clg_model_destroy(m2);
    free(W);
    free(want);
    clg_context_destroy(ctx);
}

Test(model, given_init_values_are_copied)
{
    clg_context *ctx = test_context();
    float w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, 0.5f, 7}, gw[6], gb[3];
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = w;
    init.bias = b;
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 3, &init));
    w[0] = b[0] = 99; /* the model holds its own copy */
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, gw, 6));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, gb, 3));
    const float ww[6] = {1, 2, 3, 4, 5, 6}, wb[3] = {-1, 0.5f, 7};
    cr_expect_arr_eq(gw, ww, sizeof ww, "weight copied exactly");
    cr_expect_arr_eq(gb, wb, sizeof wb, "bias copied exactly");
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* Forward of Linear(3→4)·ReLU·Linear(4→2) on B rows against a double reference (tol 1e-5). */
static void check_forward(clg_context *ctx, clg_model *m, size_t B, uint64_t seed)
{
    float W1[12], b1[4], W2[8], b2[2];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W1, 12));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 1, b1, 4));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 2, W2, 8));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 3, b2, 2));
    float *X = ref_random(&seed, B * 3, -1, 1), *Y = malloc(B * 2 * sizeof *Y);
    clg_tensor *tX;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, B, 3, &tX));
    const clg_tensor *out;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tX, &out));
    cr_assert_eq(clg_tensor_rows(out), B, "output rows follow the batch");
    cr_assert_eq(clg_tensor_cols(out), 2);
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(out, Y, B, 2));
    char what[64];
    for (size_t r = 0; r < B; r++) {
        double h[4];
        for (int j = 0; j < 4; j++) {
            h[j] = b1[j];
            for (int k = 0; k < 3; k++) h[j] += (double)X[r * 3 + k] * W1[k * 4 + j];
            h[j] = h[j] > 0 ? h[j] : 0;
        }
        for (int j = 0; j < 2; j++) {
            double y = b2[j];
            for (int k = 0; k < 4; k++) y += h[k] * W2[k * 2 + j];
            snprintf(what, sizeof what, "B=%zu Y[%zu][%d]", B, r, j);
            EXPECT_CLOSE(Y[r * 2 + j], y, 1e-5, what);
        }
    }
    clg_tensor_destroy(tX);
    free(X);
    free(Y);
}

Test(model, forward_grows_and_shrinks_with_the_batch)
{
    clg_context *ctx = test_context();
    clg_model *m;
    clg_linear_init init = {.struct_size = sizeof(clg_linear_init), .weight_std = 0.7f, .seed = 3};
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 4, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 2, &init));
    const float b1[4] = {0.1f, -0.1f, 0.2f, 0}, b2[2] = {0.3f, -0.3f};
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 1, b1, 4));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 3, b2, 2));
    check_forward(ctx, m, 5, 1);
    check_forward(ctx, m, 300, 2);
    check_forward(ctx, m, 1, 3);
    check_forward(ctx, m, 13, 4);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(model, shape_and_state_errors)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_tensor *X, *dY, *dYbad;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 6, 4, &X));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 6, 2, &dY));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 5, 2, &dYbad));
    const clg_tensor *out = NULL;
    const char *msg = clg_last_error(ctx);
    cr_expect_eq(clg_model_forward(m, X, &out), CLG_ERR_STATE, "empty model");
    cr_expect_eq(clg_model_add_relu(m), CLG_ERR_STATE, "ReLU first has no width");
    cr_expect_eq(clg_model_add_linear(m, 0, 3, NULL), CLG_ERR_SHAPE);
    clg_linear_init bad = {.struct_size = sizeof(clg_linear_init), .weight_std = -1.0f};
    cr_expect_eq(clg_model_add_linear(m, 4, 3, &bad), CLG_ERR_INVALID_ARGUMENT, "negative std");
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 3, NULL));
    cr_expect_eq(clg_model_add_linear(m, 4, 2, NULL), CLG_ERR_SHAPE,
                 "4 inputs after a 3-wide layer");
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 2, NULL));
    cr_expect_eq(clg_model_backward(m, dY), CLG_ERR_STATE, "backward before forward");
    cr_expect_eq(clg_model_forward(m, X, &out), CLG_ERR_SHAPE, "X has 4 columns, model takes 3");
    cr_expect(strstr(msg, "6x4") && strstr(msg, "3"), "message names shapes: %s", msg);
    clg_tensor *X3;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 6, 3, &X3));
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, X3, &out));
    cr_expect_eq(clg_model_backward(m, dYbad), CLG_ERR_SHAPE, "dY rows 5 vs forward rows 6");
    cr_expect(strstr(msg, "5x2") && strstr(msg, "6x2"), "message names shapes: %s", msg);
    cr_expect_eq(clg_model_backward(m, X3), CLG_ERR_SHAPE, "dY 6x3 vs 6x2");
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, dY));
    cr_expect_eq(clg_model_forward(m, NULL, &out), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_backward(m, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_create(NULL, &m), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_param_count(NULL), 0);
    clg_model_destroy(m);
    clg_model_destroy(NULL);
    clg_tensor_destroy(X);
    clg_tensor_destroy(X3);
    clg_tensor_destroy(dY);
    clg_tensor_destroy(dYbad);
    clg_context_destroy(ctx);
}

Test(model, too_many_layers_is_an_error)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 2, NULL));
    for (int i = 1; i < CLG_MAX_LAYERS; i++) CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    cr_expect_eq(clg_model_add_relu(m), CLG_ERR_INVALID_ARGUMENT, "layer %d", CLG_MAX_LAYERS + 1);
    cr_expect_eq(clg_model_add_linear(m, 2, 2, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* Regression: a layer beyond the device's limits used to allocate and draw its whole
 * host copy first (131073 -> 4096: 2 GiB of RAM and 39 s on POCL before the refusal).
 * Now it is refused from its shape: the process grows by less than 16 MiB. */
Test(model, a_layer_beyond_the_device_is_refused_before_any_work)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    const size_t out = 4096, in = (size_t)(ctx->info.max_alloc_size / sizeof(float) / out) + 1;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, in, out, NULL), CLG_ERR_DEVICE_MEMORY,
                   "CL_DEVICE_MAX_MEM_ALLOC_SIZE",
                   "Linear layer one row beyond the largest allocation");
    /* Within one allocation but not twice over the global memory (W and its gradient). */
    const size_t in2 = (size_t)(ctx->info.global_mem_size / 2 / sizeof(float) / out) + 1;
    if (in2 * out * sizeof(float) <= ctx->info.max_alloc_size)
        EXPECT_REFUSED(ctx, clg_model_add_linear(m, in2, out, NULL), CLG_ERR_DEVICE_MEMORY,
                       "CL_DEVICE_GLOBAL_MEM_SIZE",
                       "Linear layer whose W and gradient exceed the device");
    getrusage(RUSAGE_SELF, &after);
    cr_assert_lt(after.ru_maxrss - before.ru_maxrss, 16 * 1024, "grew by %ld KiB",
                 after.ru_maxrss - before.ru_maxrss);
    cr_assert_eq(clg_model_param_count(m), 0, "nothing added");
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}
