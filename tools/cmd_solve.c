/* clgrad solve: the closed-form least-squares solution on the same data as train. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_opt.h"
#include "data_args.h"
#include "report.h"

typedef struct solve_args {
    data_args data;
    double ridge;
} solve_args;

static const cli_opt solve_options[] = {CLI_REAL("--ridge", "LAMBDA", solve_args, ridge, 0, DBL_MAX,
                                                 NULL,
                                                 "L2 penalty: solves (X'X + LAMBDA I) w = X'y"),
                                        CLI_END};

int cmd_solve(int argc, char **argv)
{
    solve_args a = {.ridge = 0};
    data_args_init(&a.data);
    cli_group groups[] = {{"options", solve_options, &a, NULL, NULL},
                          data_file_group(&a.data),
                          data_synthetic_group(&a.data)};
    cli_command c = {
        .name = "solve",
        .summary = "Closed-form least squares (normal equations, Cholesky) on regression data.",
        CLI_GROUPS(groups)};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_dataset *ds = data_args_load(&a.data, ctx, 0);
    if (!ds) {
        clg_context_destroy(ctx);
        return 1;
    }
    size_t d = clg_dataset_features(ds), q = clg_dataset_targets(ds);
    float *w = malloc(d * q * sizeof *w), *b = malloc(q * sizeof *b);
    clg_status s = w && b ? clg_solve_normal(ctx, ds, a.ridge, w, b) : CLG_ERR_HOST_MEMORY;
    if (s == CLG_OK && q == 1) report_linear(&a.data, w, d, b[0]);
    if (s != CLG_OK) cli_fail(ctx, s);
    free(w);
    free(b);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return s == CLG_OK ? 0 : 1;
}
