/* Standardization (lib/data/scaling.c, cl/data.cl scale_columns) against a double reference,
 * a model's input scaling and class names (lib/nn/model_meta.c), and both in checkpoints.
 * Tolerances: statistics 1e-6 relative (double accumulation, one float rounding); scaled
 * values 2e-6 relative (one subtraction and one division in float). */
#include "ref.h"

#define N 257
#define D 5

/* Columns of very different scales and offsets, like raw wine features. */
static float *raw_rows(void)
{
    uint64_t seed = 7;
    float *X = ref_random(&seed, N * D, -1, 1);
    const float off[D] = {13.0f, -2.5f, 746.0f, 0.0f, 1e-3f},
                mul[D] = {0.8f, 1.1f, 315.0f, 1e-4f, 2.0f};
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) X[i * D + j] = off[j] + mul[j] * X[i * D + j];
    return X;
}

static void ref_stats(const float *X, double *mean, double *sd)
{
    for (size_t j = 0; j < D; j++) {
        double s = 0, q = 0;
        for (size_t i = 0; i < N; i++) s += X[i * D + j];
        mean[j] = s / N;
        for (size_t i = 0; i < N; i++) q += (X[i * D + j] - mean[j]) * (X[i * D + j] - mean[j]);
        sd[j] = sqrt(q / N);
    }
}

/* The dataset's rows as stored (device or host). */
static void rows_of(clg_dataset *ds, float *Z)
{
    if (ds->streamed) {
        memcpy(Z, ds->hX, ds->n * ds->d * sizeof *Z);
        return;
    }
    CLG_OK_OR_FAIL(ds->ctx, clg_tensor_download(ds->X, Z, ds->n, ds->d));
}

static clg_dataset *dataset(clg_context *ctx, const float *X, int streamed)
{
    float Y[N];
    for (size_t i = 0; i < N; i++) Y[i] = (float)i;
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, N, D, 1, &ds));
    if (streamed) CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(ds, 1));
    return ds;
}

Test(scaling, stats_and_standardize_match_a_double_reference)
{
    clg_context *ctx = test_context();
    float *X = raw_rows();
    double rm[D], rs[D];
    ref_stats(X, rm, rs);
    for (int streamed = 0; streamed < 2; streamed++) {
        clg_dataset *ds = dataset(ctx, X, streamed);
        float mean[D], scale[D];
        CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(ds, mean, scale));
        for (size_t j = 0; j < D; j++) {
            EXPECT_CLOSE(mean[j], rm[j], 1e-6 * (fabs(rm[j]) + rs[j]), "mean");
            EXPECT_CLOSE(scale[j], rs[j], 1e-6 * rs[j], "population standard deviation");
        }
        CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(ds, mean, scale));
        float *Z = malloc(N * D * sizeof *Z);
        rows_of(ds, Z);
        for (size_t i = 0; i < N * D; i++) {
            size_t j = i % D;
            double want = ((double)X[i] - mean[j]) / scale[j];
            EXPECT_CLOSE(Z[i], want, 2e-6 * (1 + fabs(want)), "standardized value");
        }
        CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(ds, mean, scale));
        for (size_t j = 0; j < D; j++) {
            EXPECT_CLOSE(mean[j], 0.0, 1e-5, "mean 0 after");
            EXPECT_CLOSE(scale[j], 1.0, 1e-5, "scale 1 after");
        }
        free(Z);
        clg_dataset_destroy(ds);
    }
    free(X);
    clg_context_destroy(ctx);
}

Test(scaling, a_constant_feature_gets_scale_one_and_bad_values_are_refused)
{
    clg_context *ctx = test_context();
    float *X = raw_rows();
    for (size_t i = 0; i < N; i++) X[i * D + 1] = 3.5f;
    clg_dataset *ds = dataset(ctx, X, 0);
    float mean[D], scale[D];
    CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(ds, mean, scale));
    cr_expect(mean[1] == 3.5f && scale[1] == 1.0f, "constant: mean %g scale %g", (double)mean[1],
              (double)scale[1]);
    scale[2] = 0.0f;
    EXPECT_REFUSED(ctx, clg_dataset_standardize(ds, mean, scale), CLG_ERR_INVALID_ARGUMENT,
                   "not > 0", "standardize with a scale of 0");
    scale[2] = 1.0f;
    mean[0] = NAN;
    EXPECT_REFUSED(ctx, clg_dataset_standardize(ds, mean, scale), CLG_ERR_INVALID_ARGUMENT,
                   "non-finite", "standardize with a NaN mean");
    clg_dataset_destroy(ds);
    free(X);
    clg_context_destroy(ctx);
}

/* A model with input scaling gives on raw rows what it gives without on standardized rows,
 * and trains the same (the fused paths decline it; the unfused path within 1e-5). */
Test(scaling, model_input_scaling_equals_standardized_data)
{
    clg_context *ctx = test_context();
    float *X = raw_rows();
    clg_dataset *raw = dataset(ctx, X, 0), *std = dataset(ctx, X, 0);
    float mean[D], scale[D];
    CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(raw, mean, scale));
    CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(std, mean, scale));
    clg_model *a, *b;
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 3;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &a));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(a, D, 1, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &b));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(b, D, 1, &init));
    cr_expect_eq(clg_model_input_scaling(a, NULL, NULL, 0), 0, "none yet");
    CLG_OK_OR_FAIL(ctx, clg_model_set_input_scaling(a, mean, scale, D));
    float got_m[D];
    cr_expect_eq(clg_model_input_scaling(a, got_m, NULL, D), 1);
    cr_expect_arr_eq(got_m, mean, sizeof mean);
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epochs = 2;
    o.optimizer.lr = 0.01f;
    CLG_OK_OR_FAIL(ctx, clg_fit(a, raw, &o, NULL, NULL));
    CLG_OK_OR_FAIL(ctx, clg_fit(b, std, &o, NULL, NULL));
    float wa[D], wb[D];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(a, 0, wa, D));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(b, 0, wb, D));
    for (size_t j = 0; j < D; j++) EXPECT_CLOSE(wa[j], wb[j], 1e-5 * (1 + fabs(wb[j])), "weight");
    float pa[N], pb[N], Z[N * D];
    rows_of(std, Z);
    CLG_OK_OR_FAIL(ctx, clg_predict(a, X, N, pa));
    CLG_OK_OR_FAIL(ctx, clg_predict(b, Z, N, pb));
    for (size_t i = 0; i < N; i++)
        EXPECT_CLOSE(pa[i], pb[i], 1e-4 * (1 + fabs(pb[i])), "prediction");
    EXPECT_REFUSED(ctx, clg_model_set_input_scaling(a, mean, scale, D - 1), CLG_ERR_SHAPE,
                   "4 values for a model of 5 inputs", "input scaling of the wrong width");
    CLG_OK_OR_FAIL(ctx, clg_model_set_input_scaling(a, NULL, NULL, 0));
    cr_expect_eq(clg_model_input_scaling(a, NULL, NULL, 0), 0, "removed");
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_dataset_destroy(raw);
    clg_dataset_destroy(std);
    free(X);
    clg_context_destroy(ctx);
}

Test(scaling, class_names_are_checked_and_copied)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 3, NULL));
    char a[8] = "setosa";
    const char *names[3] = {a, "versicolor", "virginica"};
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, names, 3));
    a[0] = 'X';
    cr_expect_str_eq(clg_model_class_name(m, 0), "setosa", "copied");
    cr_expect_str_eq(clg_model_class_name(m, 2), "virginica");
    cr_expect_null(clg_model_class_name(m, 3));
    EXPECT_REFUSED(ctx, clg_model_set_class_names(m, names, 2), CLG_ERR_SHAPE,
                   "2 names for a model of 3 outputs", "two class names for three outputs");
    const char *bad[3] = {"a", "b\nc", "d"}, *empty[3] = {"a", "", "d"};
    EXPECT_REFUSED(ctx, clg_model_set_class_names(m, bad, 3), CLG_ERR_INVALID_ARGUMENT,
                   "line break", "a class name with a newline");
    EXPECT_REFUSED(ctx, clg_model_set_class_names(m, empty, 3), CLG_ERR_INVALID_ARGUMENT,
                   "1 to 255 bytes", "an empty class name");
    cr_expect_str_eq(clg_model_class_name(m, 1), "versicolor", "a refused set changes nothing");
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, NULL, 0));
    cr_expect_null(clg_model_class_name(m, 0), "removed");
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* Scaling and names survive clg_model_save / load / load_into; a file's bad values are
 * CLG_ERR_FORMAT naming them. */
Test(scaling, checkpoints_keep_scaling_and_names)
{
    clg_context *ctx = test_context();
    char path[512];
    snprintf(path, sizeof path, "%s/meta.ckpt", test_tmpdir());
    clg_model *m, *back;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 3, NULL));
    const float mean[2] = {746.0f, -2.5f}, scale[2] = {315.0f, 0.125f};
    const char *names[3] = {"class_0", "class_1", "class_2"};
    CLG_OK_OR_FAIL(ctx, clg_model_set_input_scaling(m, mean, scale, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, names, 3));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, "m", path));
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &back, NULL, 0));
    float gm[2], gs[2];
    cr_assert_eq(clg_model_input_scaling(back, gm, gs, 2), 1, "scaling loaded");
    cr_expect(gm[0] == mean[0] && gm[1] == mean[1] && gs[0] == scale[0] && gs[1] == scale[1],
              "bit for bit");
    for (size_t k = 0; k < 3; k++) cr_expect_str_eq(clg_model_class_name(back, k), names[k]);
    /* load_into takes the file's: a model without them gets them. */
    clg_model *plain;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &plain));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(plain, 2, 3, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(plain, NULL, path));
    cr_expect_eq(clg_model_input_scaling(plain, NULL, NULL, 0), 1);
    cr_expect_str_eq(clg_model_class_name(plain, 1), "class_1");
    /* Bad values in the file (CRC fixed) are refused. */
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char b[1024];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    const size_t at = 24 + 20 + 1 + 4 * (6 + 3); /* after header, layer, meta, parameters */
    struct {
        size_t off;
        unsigned char byte;
        const char *needle;
    } cases[] = {{at, 3, "input scaling of 3 features"},
                 {at + 4 + 8 + 3, 0x80, "not > 0"}, /* scale[0] = -315 */
                 {at + 4 + 16, 2, "2 class names"},
                 {at + 4 + 16 + 4 + 4 + 3, '\n', "line break"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        unsigned char c[1024];
        memcpy(c, b, n);
        c[cases[k].off] = cases[k].byte;
        uint32_t crc = clg_crc32(0, c, n - 4);
        for (int i = 0; i < 4; i++) c[n - 4 + i] = (unsigned char)(crc >> (8 * i));
        char bad[600];
        snprintf(bad, sizeof bad, "%s.bad", path);
        f = fopen(bad, "wb");
        fwrite(c, 1, n, f);
        fclose(f);
        cr_expect_eq(clg_checkpoint_check(bad), CLG_ERR_FORMAT, "case %zu", k);
        cr_expect(strstr(clg_last_error(NULL), cases[k].needle), "case %zu: %s", k,
                  clg_last_error(NULL));
    }
    clg_model_destroy(m);
    clg_model_destroy(back);
    clg_model_destroy(plain);
    clg_context_destroy(ctx);
}

/* Names belong to the outputs: a layer appended that changes them drops the names, so a
 * save never writes names for outputs that are gone. */
Test(scaling, appending_a_layer_that_changes_the_outputs_drops_the_names)
{
    clg_context *ctx = test_context();
    char path[512];
    snprintf(path, sizeof path, "%s/grown.ckpt", test_tmpdir());
    clg_model *m, *back;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 2, 3, NULL));
    const char *names[3] = {"a", "b", "c"};
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, names, 3));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    cr_expect_str_eq(clg_model_class_name(m, 2), "c", "ReLU keeps the width and the names");
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 2, NULL));
    cr_expect_null(clg_model_class_name(m, 0), "3 names for 2 outputs are dropped");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, NULL, path));
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &back, NULL, 0));
    cr_expect_null(clg_model_class_name(back, 0));
    const float mean[2] = {0, 0}, tiny[2] = {1.0f, 1e-40f};
    EXPECT_REFUSED(ctx, clg_model_set_input_scaling(m, mean, tiny, 2), CLG_ERR_INVALID_ARGUMENT,
                   "below FLT_MIN", "a subnormal scale");
    clg_model_destroy(m);
    clg_model_destroy(back);
    clg_context_destroy(ctx);
}
