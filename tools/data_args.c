/* --data / --synthetic handling shared by the commands that need a dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_args.h"

void data_args_init(data_args *a)
{
    memset(a, 0, sizeof *a);
    a->label_column = -1;
    a->header = -1;
    a->n = 1000;
    a->d = 2;
    a->noise = 0.01f;
    a->seed = 42;
    a->true_b = 4.2f;
}

void data_args_usage(void)
{
    fprintf(stderr,
            "data: --data FILE.csv [--label-column K] [--header|--no-header]\n"
            "   or --synthetic N[xD] [--noise S] (y = Xw + 4.2 + noise, w = [2, -3.4, 0.5, ...])\n"
            "      --seed S\n");
}

static int parse_num(const char *opt, const char *v, double *out)
{
    char *end;
    if (!v) {
        fprintf(stderr, "clgrad: %s needs a value\n", opt);
        return -1;
    }
    *out = strtod(v, &end);
    if (end == v || *end) {
        fprintf(stderr, "clgrad: %s: '%s' is not a number\n", opt, v);
        return -1;
    }
    return 0;
}

int data_args_parse(data_args *a, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    double x;
    if (!strcmp(opt, "--header")) { a->header = 1; return 1; }
    if (!strcmp(opt, "--no-header")) { a->header = 0; return 1; }
    if (!strcmp(opt, "--data")) {
        if (!val) { fprintf(stderr, "clgrad: --data needs a file\n"); return -1; }
        a->csv = val;
    } else if (!strcmp(opt, "--synthetic")) {
        unsigned long n = 0, d = 2;
        char tail;
        int k = val ? sscanf(val, "%lux%lu%c", &n, &d, &tail) : 0;
        if ((k != 1 && k != 2) || n == 0 || d == 0 || d > 4096) {
            fprintf(stderr, "clgrad: --synthetic wants N or NxD (1 <= D <= 4096), got '%s'\n",
                    val ? val : "");
            return -1;
        }
        a->n = n;
        a->d = d;
    } else if (!strcmp(opt, "--label-column")) {
        if (parse_num(opt, val, &x)) return -1;
        a->label_column = (long)x;
    } else if (!strcmp(opt, "--noise")) {
        if (parse_num(opt, val, &x) || x < 0) return -1;
        a->noise = (float)x;
    } else if (!strcmp(opt, "--seed")) {
        if (parse_num(opt, val, &x) || x < 0) return -1;
        a->seed = (uint64_t)x;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

clg_dataset *data_args_load(data_args *a, clg_context *ctx)
{
    clg_dataset *ds = NULL;
    clg_status s;
    if (a->csv) {
        clg_csv_options co = clg_csv_defaults();
        co.header = a->header;
        co.label_column = a->label_column;
        s = clg_dataset_from_csv(ctx, a->csv, &co, &ds);
    } else {
        for (size_t j = 0; j < a->d; j++) a->true_w[j] = j == 0 ? 2.0f : j == 1 ? -3.4f : 0.5f;
        s = clg_dataset_synthetic_linear(ctx, a->n, a->true_w, a->d, a->true_b, a->noise, a->seed, &ds);
    }
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(ctx));
        return NULL;
    }
    return ds;
}
