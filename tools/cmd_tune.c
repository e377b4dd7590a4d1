/* clgrad tune: searches CLBlast's SGEMM parameters for the chosen device, stores and applies them. */
#include <stdio.h>
#include <stdlib.h>

#include "clgrad.h"
#include "cli.h"
#include "cli_opt.h"

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

static const cli_opt tune_options[] = {
    CLI_REAL("--seconds", "S", clg_tune_options, max_seconds, 1, 86400, NULL,
             "time budget: no candidate starts after it"),
    CLI_INT("--size", "N", clg_tune_options, size, 64, 8192, NULL, "the square SGEMM timed"),
    CLI_INT("--max-candidates", "N", clg_tune_options, max_candidates, 0, 100000, "0, no limit",
            "stop after N candidates"),
    CLI_FLAG("--no-store", clg_tune_options, store, 0,
             "do not store the result in the cache directory"),
    CLI_END};

int cmd_tune(int argc, char **argv)
{
    clg_tune_options o = clg_tune_defaults();
    o.on_candidate = on_candidate;
    cli_group groups[] = {{"options", tune_options, &o, NULL, NULL}};
    cli_command c = {
        .name = "tune",
        .summary = "Searches CLBlast's Xgemm parameters for the chosen device, stores the best\n"
                   "in the cache directory and applies it to later contexts.",
        CLI_GROUPS(groups)};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
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
