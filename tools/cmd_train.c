/* clgrad train: linear regression by minibatch SGD on a CSV file or synthetic data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_args.h"
#include "report.h"

static void usage(void)
{
    fprintf(stderr, "usage: clgrad train [data options] [--lr 0.03] [--batch 10] [--epochs 3]\n"
                    "         [--wd 0] [--momentum 0] [--loss squared|mse] [--no-shuffle]\n");
    data_args_usage();
}

static int num(const char *opt, const char *v, double min, double *out)
{
    char *end;
    *out = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || !(*out >= min)) {
        fprintf(stderr, "clgrad train: %s wants a number >= %g, got '%s'\n", opt, min, v ? v : "");
        return -1;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    data_args da;
    data_args_init(&da);
    clg_fit_options fo = clg_fit_defaults();
    fo.seed = 42;
    for (int i = 1; i < argc; i++) {
        int r = data_args_parse(&da, argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (!strcmp(o, "--no-shuffle")) { fo.shuffle = 0; continue; }
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) { usage(); return 0; }
        if (!strcmp(o, "--lr")) { if (num(o, v, 0, &x)) return 2; fo.sgd.lr = (float)x; }
        else if (!strcmp(o, "--batch")) { if (num(o, v, 1, &x)) return 2; fo.batch_size = (size_t)x; }
        else if (!strcmp(o, "--epochs")) { if (num(o, v, 1, &x)) return 2; fo.epochs = (size_t)x; }
        else if (!strcmp(o, "--wd")) { if (num(o, v, 0, &x)) return 2; fo.sgd.weight_decay = (float)x; }
        else if (!strcmp(o, "--momentum")) { if (num(o, v, 0, &x)) return 2; fo.sgd.momentum = (float)x; }
        else if (!strcmp(o, "--loss") && v && (!strcmp(v, "squared") || !strcmp(v, "mse")))
            fo.loss = !strcmp(v, "mse") ? CLG_LOSS_MSE : CLG_LOSS_SQUARED;
        else {
            fprintf(stderr, "clgrad train: unknown or incomplete option '%s'\n", o);
            usage();
            return 2;
        }
        i++;
    }
    fo.seed = da.seed;
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(NULL));
        return 1;
    }
    clg_dataset *ds = data_args_load(&da, ctx);
    clg_model *m = NULL;
    size_t d = ds ? clg_dataset_features(ds) : 0;
    float *w = malloc((d ? d : 1) * sizeof *w), b = 0;
    s = ds ? CLG_OK : CLG_ERR_INVALID_ARGUMENT;
    if (s == CLG_OK) s = clg_model_create(ctx, &m);
    if (s == CLG_OK) s = clg_model_add_linear(m, d, clg_dataset_targets(ds), NULL);
    if (s == CLG_OK) s = clg_fit(m, ds, &fo, NULL, NULL);
    if (s == CLG_OK && clg_dataset_targets(ds) == 1) {
        s = clg_model_get_param(m, 0, w, d);
        if (s == CLG_OK) s = clg_model_get_param(m, 1, &b, 1);
        if (s == CLG_OK) report_linear(&da, w, d, b);
    }
    if (s != CLG_OK && ds) fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(ctx));
    free(w);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return s == CLG_OK ? 0 : 1;
}
