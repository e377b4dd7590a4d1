/* clgrad tune: searches CLBlast's SGEMM parameters for the chosen device, stores and applies them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgrad.h"
#include "cli.h"
#include "cli_num.h"

static void print_values(const size_t *v)
{
    for (size_t i = 0; i < CLG_TUNE_PARAMS; i++)
        printf("%s%s=%zu", i ? " " : "", clg_tune_param_name(i), v[i]);
}

static void on_candidate(const clg_tune_candidate *c, void *user)
{
    (void)user;
    printf("  #%-3u ", c->index);
    print_values(c->values);
    if (c->blas_status)
        printf("  rejected (CLBlast status %d)\n", c->blas_status);
    else
        printf("  %.1f GFLOP/s\n", c->gflops);
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: clgrad tune [--seconds N] [--size N] [--max-candidates N] [--no-store]\n"
            "  searches CLBlast's Xgemm parameters (default budget 120 s, size 1024),\n"
            "  stores the best in the cache directory and applies it to later contexts\n");
    return 2;
}

/* Prints why a value was refused, then the usage. */
static int refused(const char *opt, const char *why)
{
    fprintf(stderr, "clgrad tune: %s: %s\n", opt, why);
    return usage();
}

int cmd_tune(int argc, char **argv)
{
    clg_tune_options o = clg_tune_defaults();
    o.on_candidate = on_candidate;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        char why[256];
        double v = 0;
        long long k = 0;
        if (!strcmp(opt, "--seconds") && i + 1 < argc) {
            if (cli_real(argv[++i], 1, 86400, &v, why, sizeof why)) return refused(opt, why);
            o.max_seconds = v;
        } else if (!strcmp(opt, "--size") && i + 1 < argc) {
            if (cli_int(argv[++i], 64, 8192, &k, why, sizeof why)) return refused(opt, why);
            o.size = (size_t)k;
        } else if (!strcmp(opt, "--max-candidates") && i + 1 < argc) {
            if (cli_int(argv[++i], 0, 100000, &k, why, sizeof why)) return refused(opt, why);
            o.max_candidates = (unsigned)k;
        } else if (!strcmp(argv[i], "--no-store")) {
            o.store = 0;
        } else {
            return usage();
        }
    }
    /* The baseline is CLBlast's own parameters, not an earlier stored tuning. */
    setenv("CLGRAD_NO_TUNE", "1", 1);
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(NULL));
        return 1;
    }
    clg_device_info info;
    clg_context_device(ctx, &info);
    printf("device: %s / %s (driver %s)\n", info.platform_name, info.device_name,
           info.driver_version);
    printf("searching Xgemm parameters for up to %.0f s (screening on %zu^3, finals on %zu^3%s)\n",
           o.max_seconds, o.size >= 512 ? o.size / 2 : o.size, o.size,
           o.mlp_shapes ? ", 256x256x784, 784x256x256" : "");
    fflush(stdout);
    clg_tune_report r;
    s = clg_tune_sgemm(ctx, &o, &r);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(ctx));
        clg_context_destroy(ctx);
        return 1;
    }
    printf("candidates: %u tried, %u rejected by CLBlast, %.1f s\n", r.candidates_tried,
           r.candidates_failed, r.seconds);
    printf("best: ");
    print_values(r.best);
    printf("\n");
    for (size_t i = 0; i < r.shape_count; i++)
        printf(
            "sgemm %zux%zux%zu: untuned %.1f GFLOP/s, tuned %.1f GFLOP/s (x%.2f)\n", r.shapes[i].m,
            r.shapes[i].n, r.shapes[i].k, r.shapes[i].gflops_untuned, r.shapes[i].gflops_tuned,
            r.shapes[i].gflops_untuned > 0 ? r.shapes[i].gflops_tuned / r.shapes[i].gflops_untuned
                                           : 0.0);
    printf("max relative difference tuned vs untuned: %.2e (tolerance %.0e)\n", r.max_rel_error,
           CLG_TUNE_VERIFY_TOL);
    if (r.stored)
        printf("stored: %s\n", r.path);
    else
        printf("not stored: %s\n", r.note[0] ? r.note : "(no reason given)");
    clg_context_destroy(ctx);
    return r.improved ? 0 : 1;
}
