/* clgrad solve: the closed-form least-squares solution on the same data as train. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_num.h"
#include "data_args.h"
#include "report.h"

int cmd_solve(int argc, char **argv)
{
    data_args da;
    data_args_init(&da);
    double ridge = 0;
    for (int i = 1; i < argc; i++) {
        int r = data_args_parse(&da, argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        if (!strcmp(argv[i], "--ridge") && i + 1 < argc) {
            char why[256];
            if (cli_real(argv[++i], 0, DBL_MAX, &ridge, why, sizeof why) == 0) continue;
            fprintf(stderr, "clgrad solve: --ridge: %s\n", why);
        }
        fprintf(stderr, "usage: clgrad solve [data options] [--ridge LAMBDA>=0]\n");
        data_args_usage();
        return 2;
    }
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_dataset *ds = data_args_load(&da, ctx, 0);
    if (!ds) {
        clg_context_destroy(ctx);
        return 1;
    }
    size_t d = clg_dataset_features(ds), q = clg_dataset_targets(ds);
    float *w = malloc(d * q * sizeof *w), *b = malloc(q * sizeof *b);
    clg_status s = w && b ? clg_solve_normal(ctx, ds, ridge, w, b) : CLG_ERR_HOST_MEMORY;
    if (s == CLG_OK && q == 1) report_linear(&da, w, d, b[0]);
    if (s != CLG_OK) cli_fail(ctx, s);
    free(w);
    free(b);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return s == CLG_OK ? 0 : 1;
}
