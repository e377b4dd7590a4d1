/* Configuration in one place (lib/runtime/config.c): clg_context_options, the CLGRAD_*
 * variables read once at context creation, bad values refused with the variable named. */
#include <stddef.h>

#include "helpers.h"
#include "internal.h"

static void clear_env(void)
{
    const char *vars[] = {"CLGRAD_FUSED",    "CLGRAD_GEMM",       "CLGRAD_STREAM",
                          "CLGRAD_NO_TUNE",  "CLGRAD_CACHE_MODE", "CLGRAD_NO_CACHE",
                          "CLGRAD_CACHE_DIR"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
}

static clg_context *create_with(const clg_context_options *o)
{
    clg_context *ctx = NULL;
    clg_status s = clg_context_create_with(&ctx, o);
    cr_assert_eq(s, CLG_OK, "clg_context_create_with: %s: %s", clg_status_string(s),
                 clg_last_error(NULL));
    return ctx;
}

Test(config, defaults_defer_to_the_environment)
{
    clear_env();
    clg_context_options o = clg_context_options_defaults();
    cr_expect_eq(o.struct_size, sizeof o);
    cr_expect_null(o.device);
    cr_expect_null(o.cache_dir);
    cr_expect(o.fused == CLG_FUSED_DEFAULT && o.product == CLG_PRODUCT_DEFAULT &&
              o.cache == CLG_SETTING_DEFAULT && o.cache_mode == CLG_CACHE_DEFAULT &&
              o.stream == CLG_SETTING_DEFAULT && o.tune == CLG_SETTING_DEFAULT);
    clg_context *ctx = create_with(NULL);
    cr_expect_eq(ctx->cfg.fused, CLG_FUSED_AUTO);
    cr_expect_eq(ctx->cfg.product, CLG_PRODUCT_AUTO);
    cr_expect_eq(ctx->cfg.stream, CLG_SETTING_AUTO);
    cr_expect_eq(ctx->cfg.tune, 1);
    cr_expect_eq(ctx->cache_binary, 1);
    cr_expect_eq(ctx->cfg.epoch_loss_overlap, 1);
    cr_expect_eq(ctx->cfg.synthetic_chunk_bytes, (size_t)32 << 20);
    cr_expect_eq(ctx->cfg.solve_chunk_bytes, (size_t)32 << 20);
    clg_context_destroy(ctx);
}

Test(config, environment_is_read_once_at_creation)
{
    clear_env();
    const char *dir = test_tmpdir();
    setenv("CLGRAD_FUSED", "pipeline", 1);
    setenv("CLGRAD_GEMM", "own", 1);
    setenv("CLGRAD_STREAM", "on", 1);
    setenv("CLGRAD_NO_TUNE", "1", 1);
    setenv("CLGRAD_CACHE_MODE", "SOURCE", 1);
    setenv("CLGRAD_CACHE_DIR", dir, 1);
    clg_context *ctx = test_context();
    /* Changing the environment now changes nothing in this context. */
    setenv("CLGRAD_FUSED", "split", 1);
    setenv("CLGRAD_GEMM", "clblast", 1);
    setenv("CLGRAD_STREAM", "0", 1);
    setenv("CLGRAD_NO_CACHE", "1", 1);
    cr_expect_eq(ctx->cfg.fused, CLG_FUSED_PIPELINE);
    cr_expect_eq(ctx->cfg.product, CLG_PRODUCT_OWN);
    cr_expect_eq(ctx->cfg.stream, CLG_SETTING_ON);
    cr_expect_eq(ctx->cfg.tune, 0);
    cr_expect_eq(ctx->cache_binary, 0);
    cr_expect_str_eq(clg_context_cache_dir(ctx), dir);
    float X[4] = {1, 2, 3, 4}, Y[2] = {1, 2};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 2, 2, 1, &ds));
    cr_expect_eq(clg_dataset_streamed(ds), 1, "CLGRAD_STREAM=on as at creation");
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    /* A new context sees the new values. */
    ctx = test_context();
    cr_expect_eq(ctx->cfg.fused, CLG_FUSED_SPLIT);
    cr_expect_eq(ctx->cfg.product, CLG_PRODUCT_CLBLAST);
    cr_expect_eq(ctx->cfg.stream, CLG_SETTING_OFF);
    cr_expect_str_eq(clg_context_cache_dir(ctx), "", "CLGRAD_NO_CACHE=1: cache off");
    clg_context_destroy(ctx);
    clear_env();
}

Test(config, bad_values_are_refused_naming_the_variable)
{
    clear_env();
    const struct {
        const char *var, *value, *accepted;
    } bad[] = {
        {"CLGRAD_FUSED", "sometimes", "minibatch"},
        {"CLGRAD_GEMM", "fastest", "clblast"},
        {"CLGRAD_STREAM", "yes please", "auto"},
        {"CLGRAD_CACHE_MODE", "both", "binary or source"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv(bad[i].var, bad[i].value, 1);
        char input[96], needle[96];
        snprintf(input, sizeof input, "%s=%s", bad[i].var, bad[i].value);
        snprintf(needle, sizeof needle, "%s=%s: expected", bad[i].var, bad[i].value);
        clg_context *ctx = NULL;
        EXPECT_REFUSED(NULL, clg_context_create(&ctx, NULL), CLG_ERR_INVALID_ARGUMENT, needle,
                       input);
        cr_expect(strstr(clg_last_error(NULL), bad[i].accepted) != NULL, "%s: accepted values: %s",
                  input, clg_last_error(NULL));
        cr_expect_null(ctx);
        /* An explicit option does not hide a typo in the environment. */
        clg_context_options o = clg_context_options_defaults();
        o.fused = CLG_FUSED_OFF, o.product = CLG_PRODUCT_OWN, o.stream = CLG_SETTING_OFF;
        o.cache_mode = CLG_CACHE_BINARY;
        EXPECT_REFUSED(NULL, clg_context_create_with(&ctx, &o), CLG_ERR_INVALID_ARGUMENT, needle,
                       input);
        unsetenv(bad[i].var);
    }
    clg_context_options o = clg_context_options_defaults();
    clg_context *ctx = NULL;
    o.struct_size = 0;
    EXPECT_REFUSED(NULL, clg_context_create_with(&ctx, &o), CLG_ERR_INVALID_ARGUMENT,
                   "clg_context_options_defaults", "options.struct_size 0");
    o = clg_context_options_defaults();
    o.fused = (clg_fused_path)99;
    EXPECT_REFUSED(NULL, clg_context_create_with(&ctx, &o), CLG_ERR_INVALID_ARGUMENT,
                   "out of range", "options.fused 99");
    o = clg_context_options_defaults();
    o.device = "";
    EXPECT_REFUSED(NULL, clg_context_create_with(&ctx, &o), CLG_ERR_INVALID_ARGUMENT,
                   "options.device is empty", "options.device \"\"");
    EXPECT_REFUSED(NULL, clg_context_create_with(NULL, NULL), CLG_ERR_INVALID_ARGUMENT, "NULL out",
                   "clg_context_create_with(NULL)");
    /* The test setter validates as creation does. */
    ctx = test_context();
    EXPECT_REFUSED(ctx, clg_config_set(ctx, "CLGRAD_GEMM", "fastest"), CLG_ERR_INVALID_ARGUMENT,
                   "CLGRAD_GEMM=fastest", "clg_config_set CLGRAD_GEMM=fastest");
    EXPECT_REFUSED(ctx, clg_config_set(ctx, "CLGRAD_DEVICE", "cpu"), CLG_ERR_INVALID_ARGUMENT,
                   "not a run-time setting", "clg_config_set CLGRAD_DEVICE");
    clg_context_destroy(ctx);
}

Test(config, explicit_options_win_over_the_environment)
{
    clear_env();
    setenv("CLGRAD_FUSED", "epoch", 1);
    setenv("CLGRAD_GEMM", "clblast", 1);
    setenv("CLGRAD_STREAM", "1", 1);
    setenv("CLGRAD_NO_TUNE", "1", 1);
    setenv("CLGRAD_NO_CACHE", "1", 1);
    setenv("CLGRAD_CACHE_MODE", "source", 1);
    const char *dir = test_tmpdir();
    clg_context_options o = clg_context_options_defaults();
    o.fused = CLG_FUSED_MINIBATCH;
    o.product = CLG_PRODUCT_OWN;
    o.stream = CLG_SETTING_AUTO; /* AUTO: the library's rule, whatever the environment says */
    o.tune = CLG_SETTING_ON;
    o.cache = CLG_SETTING_ON;
    o.cache_dir = dir;
    o.cache_mode = CLG_CACHE_BINARY;
    clg_context *ctx = create_with(&o);
    cr_expect_eq(ctx->cfg.fused, CLG_FUSED_MINIBATCH);
    cr_expect_eq(ctx->cfg.product, CLG_PRODUCT_OWN);
    cr_expect_eq(ctx->cfg.stream, CLG_SETTING_AUTO);
    cr_expect_eq(ctx->cfg.tune, 1);
    cr_expect_eq(ctx->cache_binary, 1);
    cr_expect_str_eq(clg_context_cache_dir(ctx), dir);
    clg_context_destroy(ctx);
    clear_env();
    /* Explicit OFF with nothing in the environment. */
    o = clg_context_options_defaults();
    o.cache = CLG_SETTING_OFF;
    o.fused = CLG_FUSED_OFF;
    o.stream = CLG_SETTING_OFF;
    ctx = create_with(&o);
    cr_expect_str_eq(clg_context_cache_dir(ctx), "");
    cr_expect_eq(ctx->cfg.fused, CLG_FUSED_OFF);
    cr_expect_eq(ctx->cfg.stream, CLG_SETTING_OFF);
    clg_context_destroy(ctx);
    /* clg_context_create(out, device) is the defaults with the device: same device. */
    clg_device_info a, b;
    ctx = test_context();
    CLG_OK_OR_FAIL(ctx, clg_context_device(ctx, &a));
    clg_context_destroy(ctx);
    o = clg_context_options_defaults();
    o.device = "default";
    ctx = create_with(&o);
    CLG_OK_OR_FAIL(ctx, clg_context_device(ctx, &b));
    clg_context_destroy(ctx);
    cr_expect_str_eq(a.device_name, b.device_name);
}

/* Every option struct starts with struct_size, which its defaults function sets: a struct
 * not made from the defaults (struct_size 0) is refused naming the function to use, before
 * anything happens. */
Test(config, option_structs_not_from_their_defaults_are_refused)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    cr_expect_eq(init.struct_size, sizeof init);
    init.struct_size = 0;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, 2, 1, &init), CLG_ERR_INVALID_ARGUMENT,
                   "start from clg_linear_init_defaults()", "clg_linear_init with struct_size 0");
    cr_expect_eq(clg_model_param_count(m), 0u, "no layer added");
    const float X[4] = {1, 2, 3, 4}, Y[2] = {0, 1};
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 2, 2, 1, &ds));
    clg_loader_options lo = clg_loader_defaults();
    cr_expect_eq(lo.struct_size, sizeof lo);
    lo.struct_size = 0;
    clg_loader *ld = NULL;
    EXPECT_REFUSED(ctx, clg_loader_create(ds, &lo, &ld), CLG_ERR_INVALID_ARGUMENT,
                   "start from clg_loader_defaults()", "clg_loader_options with struct_size 0");
    cr_expect_null(ld);
    clg_csv_options co = clg_csv_defaults();
    cr_expect_eq(co.struct_size, sizeof co);
    co.struct_size = 0;
    float *hx = NULL, *hy = NULL;
    size_t n = 0, d = 0;
    EXPECT_REFUSED(NULL, clg_csv_read("/nonexistent.csv", &co, &hx, &hy, &n, &d),
                   CLG_ERR_INVALID_ARGUMENT, "start from clg_csv_defaults()",
                   "clg_csv_options with struct_size 0");
    clg_tune_options to = clg_tune_defaults();
    cr_expect_eq(to.struct_size, sizeof to);
    to.struct_size = 0;
    clg_tune_report rep;
    EXPECT_REFUSED(ctx, clg_tune_sgemm(ctx, &to, &rep), CLG_ERR_INVALID_ARGUMENT,
                   "start from clg_tune_defaults()", "clg_tune_options with struct_size 0");
    clg_dataset_destroy(ds);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}
