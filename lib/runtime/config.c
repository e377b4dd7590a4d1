/* Configuration in one place: clg_context_options, the CLGRAD_* variables (read here
 * only, once per context creation) and their validation. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime.h"

/* The size of the first published clg_context_options: callers built against it pass
 * at least this much. Later fields are appended after `tune`. */
#define OPTIONS_V1_SIZE (offsetof(clg_context_options, tune) + sizeof(clg_setting))

clg_context_options clg_context_options_defaults(void)
{
    clg_context_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

/* One accepted spelling of a variable and the value it stands for. */
typedef struct word {
    const char *text;
    int value;
} word;

static const word fused_words[] = {{"auto", CLG_FUSED_AUTO},
                                   {"1", CLG_FUSED_AUTO},
                                   {"0", CLG_FUSED_OFF},
                                   {"off", CLG_FUSED_OFF},
                                   {"minibatch", CLG_FUSED_MINIBATCH},
                                   {"epoch", CLG_FUSED_EPOCH},
                                   {"pipeline", CLG_FUSED_PIPELINE},
                                   {"split", CLG_FUSED_SPLIT},
                                   {NULL, 0}};
static const word gemm_words[] = {{"auto", CLG_PRODUCT_AUTO},
                                  {"own", CLG_PRODUCT_OWN},
                                  {"clblast", CLG_PRODUCT_CLBLAST},
                                  {NULL, 0}};
static const word stream_words[] = {{"auto", CLG_SETTING_AUTO}, {"1", CLG_SETTING_ON},
                                    {"on", CLG_SETTING_ON},     {"0", CLG_SETTING_OFF},
                                    {"off", CLG_SETTING_OFF},   {NULL, 0}};
static const word mode_words[] = {
    {"binary", CLG_CACHE_BINARY}, {"source", CLG_CACHE_SOURCE}, {NULL, 0}};

/* value NULL or "": *out untouched (not set). Matching is case-sensitive as before,
 * except CLGRAD_CACHE_MODE, which always ignored case. */
static clg_status parse(const clg_context *ctx, const char *var, const char *value,
                        const word *words, int nocase, const char *expected, int *out)
{
    if (!value || !value[0]) return CLG_OK;
    for (const word *w = words; w->text; w++) {
        if (nocase ? !strcasecmp(value, w->text) : !strcmp(value, w->text)) {
            *out = w->value;
            return CLG_OK;
        }
    }
    return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s=%s: expected %s", var, value, expected);
}

#define FUSED_EXPECTED "0, auto, minibatch, epoch, pipeline or split"
#define GEMM_EXPECTED "auto, own or clblast"
#define STREAM_EXPECTED "0, 1 or auto"
#define MODE_EXPECTED "binary or source"

/* Set and not "0" (CLGRAD_NO_CACHE, CLGRAD_NO_TUNE, CLGRAD_BUILD_WARNINGS). */
static int env_set(const char *var)
{
    const char *v = getenv(var);
    return v && v[0] && strcmp(v, "0");
}

static clg_status check_options(const clg_context_options *o)
{
    const char *fn = "clg_context_create_with";
    if (o->struct_size < OPTIONS_V1_SIZE)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: options.struct_size %zu: start from clg_context_options_defaults()",
                        fn, o->struct_size);
    if ((unsigned)o->fused > CLG_FUSED_SPLIT || (unsigned)o->product > CLG_PRODUCT_CLBLAST ||
        (unsigned)o->cache > CLG_SETTING_OFF || (unsigned)o->cache_mode > CLG_CACHE_SOURCE ||
        (unsigned)o->stream > CLG_SETTING_OFF || (unsigned)o->tune > CLG_SETTING_OFF ||
        (o->struct_size >= offsetof(clg_context_options, build_warnings) + sizeof(clg_setting) &&
         (unsigned)o->build_warnings > CLG_SETTING_OFF))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: an options field is out of range", fn);
    if (o->device && !o->device[0])
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: options.device is empty (NULL selects the default)", fn);
    return CLG_OK;
}

static void choose_cache_dir(clg_context *ctx, const clg_context_options *o)
{
    ctx->cache_on =
        o->cache == CLG_SETTING_DEFAULT ? !env_set("CLGRAD_NO_CACHE") : o->cache != CLG_SETTING_OFF;
    const char *dir = o->cache_dir ? o->cache_dir : getenv("CLGRAD_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (dir && dir[0])
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s", dir);
    else if (xdg && xdg[0])
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s/clgrad", xdg);
    else if (home && home[0])
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s/.cache/clgrad", home);
    else
        ctx->cache_on = 0;
    if (!ctx->cache_on) ctx->cache_dir[0] = '\0';
}

clg_status clg_options_copy(const clg_context *ctx, const char *op, const char *defaults, void *dst,
                            size_t size, const void *src, size_t v1_size)
{
    size_t n;
    memcpy(&n, src, sizeof n);
    if (n < v1_size)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: options.struct_size %zu: start from %s()", op, n, defaults);
    memcpy(dst, src, n < size ? n : size);
    memcpy(dst, &size, sizeof size);
    return CLG_OK;
}

clg_status clg_config_resolve(clg_context *ctx, const clg_context_options *opts,
                              const char **device, const char **origin)
{
    clg_context_options o = clg_context_options_defaults();
    if (opts) {
        /* check_options refuses a struct_size below the first version's first, with its
         * message; a shorter (older) struct leaves the newer fields unset. */
        clg_status s = check_options(opts);
        if (s == CLG_OK)
            s = clg_options_copy(NULL, "clg_context_create_with", "clg_context_options_defaults",
                                 &o, sizeof o, opts, OPTIONS_V1_SIZE);
        if (s != CLG_OK) return s;
    }
    /* Environment first (every variable validated, even one an option overrides, so a
     * typo is never silently ignored), then the explicit fields. */
    int fused = CLG_FUSED_AUTO, product = CLG_PRODUCT_AUTO, stream = CLG_SETTING_AUTO,
        mode = CLG_CACHE_BINARY;
    clg_status s =
        parse(NULL, "CLGRAD_FUSED", getenv("CLGRAD_FUSED"), fused_words, 0, FUSED_EXPECTED, &fused);
    if (s == CLG_OK)
        s = parse(NULL, "CLGRAD_GEMM", getenv("CLGRAD_GEMM"), gemm_words, 0, GEMM_EXPECTED,
                  &product);
    if (s == CLG_OK)
        s = parse(NULL, "CLGRAD_STREAM", getenv("CLGRAD_STREAM"), stream_words, 0, STREAM_EXPECTED,
                  &stream);
    if (s == CLG_OK)
        s = parse(NULL, "CLGRAD_CACHE_MODE", getenv("CLGRAD_CACHE_MODE"), mode_words, 1,
                  MODE_EXPECTED, &mode);
    if (s != CLG_OK) return s;

    clg_config *c = &ctx->cfg;
    c->fused = o.fused != CLG_FUSED_DEFAULT ? o.fused : (clg_fused_path)fused;
    c->product = o.product != CLG_PRODUCT_DEFAULT ? o.product : (clg_product_impl)product;
    c->stream = o.stream != CLG_SETTING_DEFAULT ? o.stream : (clg_setting)stream;
    c->tune =
        o.tune == CLG_SETTING_DEFAULT ? !env_set("CLGRAD_NO_TUNE") : o.tune != CLG_SETTING_OFF;
    c->build_warnings = o.build_warnings == CLG_SETTING_DEFAULT
                            ? env_set("CLGRAD_BUILD_WARNINGS")
                            : o.build_warnings == CLG_SETTING_ON;
    c->on_build = o.on_build;
    c->on_build_user = o.on_build_user;
    c->epoch_loss_overlap = 1;
    c->synthetic_chunk_bytes = (size_t)32 << 20;
    c->solve_chunk_bytes = (size_t)32 << 20;
    choose_cache_dir(ctx, &o);
    /* Our stored binary is the default everywhere: on POCL 3.1 loading it was
     * measured faster (28 ms to a first result) than a source build served by
     * POCL's own kernel cache (68 ms); docs/guide.md "Program cache" has the figures.
     * CLGRAD_CACHE_MODE=source makes the driver's cache the only one. */
    ctx->cache_binary =
        (o.cache_mode != CLG_CACHE_DEFAULT ? (int)o.cache_mode : mode) != CLG_CACHE_SOURCE;

    *device = o.device;
    *origin = "device selection";
    if (!o.device) {
        *device = getenv("CLGRAD_DEVICE");
        if (*device) *origin = "CLGRAD_DEVICE";
    }
    return CLG_OK;
}

clg_status clg_config_set(clg_context *ctx, const char *var, const char *value)
{
    if (!ctx || !var)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_config_set: NULL argument");
    int v;
    clg_status s;
    if (!strcmp(var, "CLGRAD_FUSED")) {
        v = CLG_FUSED_AUTO;
        s = parse(ctx, var, value, fused_words, 0, FUSED_EXPECTED, &v);
        if (s == CLG_OK) ctx->cfg.fused = (clg_fused_path)v;
    } else if (!strcmp(var, "CLGRAD_GEMM")) {
        v = CLG_PRODUCT_AUTO;
        s = parse(ctx, var, value, gemm_words, 0, GEMM_EXPECTED, &v);
        if (s == CLG_OK) ctx->cfg.product = (clg_product_impl)v;
    } else if (!strcmp(var, "CLGRAD_STREAM")) {
        v = CLG_SETTING_AUTO;
        s = parse(ctx, var, value, stream_words, 0, STREAM_EXPECTED, &v);
        if (s == CLG_OK) ctx->cfg.stream = (clg_setting)v;
    } else {
        s = clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                     "clg_config_set: %s is not a run-time setting (CLGRAD_FUSED, CLGRAD_GEMM or "
                     "CLGRAD_STREAM)",
                     var);
    }
    return s;
}

const char *clg_config_device_env(void) { return getenv("CLGRAD_DEVICE"); }
