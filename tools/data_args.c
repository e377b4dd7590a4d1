/* --data / --synthetic handling shared by the commands that need a dataset. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_num.h"
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
            "   or --data X.npy --labels y.npy, or --data IMAGES-idx3-ubyte[.gz] --labels "
            "LABELS-idx1-ubyte[.gz]\n"
            "   or --synthetic N[xD] [--noise S] (y = Xw + 4.2 + noise, w = [2, -3.4, 0.5, ...])\n"
            "      --seed S\n");
}

/* Prints why a value was refused; returns -1. */
static int refused(const char *opt, const char *why)
{
    fprintf(stderr, "clgrad: %s: %s\n", opt, why);
    return -1;
}

int data_args_parse(data_args *a, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    char why[256];
    if (!strcmp(opt, "--header")) {
        a->header = 1;
        return 1;
    }
    if (!strcmp(opt, "--no-header")) {
        a->header = 0;
        return 1;
    }
    if (!strcmp(opt, "--data") || !strcmp(opt, "--labels")) {
        if (!val) {
            fprintf(stderr, "clgrad: %s needs a file\n", opt);
            return -1;
        }
        *(opt[2] == 'd' ? &a->csv : &a->labels) = val;
    } else if (!strcmp(opt, "--synthetic")) {
        if (cli_synthetic(val, &a->n, &a->d, why, sizeof why)) return refused(opt, why);
    } else if (!strcmp(opt, "--label-column")) {
        long long k;
        if (cli_int(val, -2147483647LL - 1, 2147483647LL, &k, why, sizeof why))
            return refused(opt, why);
        a->label_column = (long)k;
    } else if (!strcmp(opt, "--noise")) {
        double x;
        if (cli_real(val, 0, FLT_MAX, &x, why, sizeof why)) return refused(opt, why);
        a->noise = (float)x;
    } else if (!strcmp(opt, "--seed")) {
        if (cli_u64(val, UINT64_MAX, &a->seed, why, sizeof why)) return refused(opt, why);
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* CSV with an integral label column → a classification dataset. */
/* Errors found here (not by the library) are described in why. */
static clg_status csv_labels(clg_context *ctx, const char *path, const data_args *fmt,
                             size_t classes, clg_dataset **out, char *why, size_t whylen)
{
    clg_csv_options co = clg_csv_defaults();
    co.header = fmt->header;
    co.label_column = fmt->label_column;
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    clg_status s = clg_csv_read(path, &co, &X, &y, &n, &d);
    if (s != CLG_OK) return s;
    int32_t *ids = malloc(n * sizeof *ids);
    size_t top = 0;
    if (!ids) {
        snprintf(why, whylen, "%s: out of host memory for %zu labels", path, n);
        s = CLG_ERR_HOST_MEMORY;
    }
    for (size_t i = 0; s == CLG_OK && i < n; i++) {
        char bad[128];
        if (cli_class_id(y[i], &ids[i], bad, sizeof bad)) { /* range-checked before the cast */
            snprintf(why, whylen, "%s: row %zu: %s", path, i + 1, bad);
            s = CLG_ERR_FORMAT;
            break;
        }
        if ((size_t)ids[i] + 1 > top) top = (size_t)ids[i] + 1;
    }
    if (s == CLG_OK)
        s = clg_dataset_from_host_labels(ctx, X, ids, n, d, top > classes ? top : classes, out);
    free(ids);
    free(X);
    free(y);
    return s;
}

clg_dataset *data_file_load(clg_context *ctx, const char *path, const char *labels,
                            const data_args *fmt, size_t classes)
{
    clg_dataset *ds = NULL;
    clg_status s;
    char why[512] = "";
    int idx = strstr(path, "ubyte") || strstr(path, "idx");
    if (ends_with(path, ".npy") || idx) {
        if (!labels) {
            fprintf(stderr, "clgrad: %s needs its label file (--labels / --test-labels)\n", path);
            return NULL;
        }
        if (idx && !classes) {
            fprintf(stderr, "clgrad: %s is IDX classification data: use --model softmax or mlp:H\n",
                    path);
            return NULL;
        }
        s = idx ? clg_dataset_from_idx(ctx, path, labels, &ds)
                : clg_dataset_from_npy(ctx, path, labels, classes != 0, &ds);
    } else if (classes) {
        s = csv_labels(ctx, path, fmt, classes, &ds, why, sizeof why);
    } else {
        clg_csv_options co = clg_csv_defaults();
        co.header = fmt->header;
        co.label_column = fmt->label_column;
        s = clg_dataset_from_csv(ctx, path, &co, &ds);
    }
    if (s != CLG_OK) {
        const char *msg = why[0]                   ? why
                          : clg_last_error(ctx)[0] ? clg_last_error(ctx)
                                                   : clg_last_error(NULL);
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), msg);
        return NULL;
    }
    return ds;
}

clg_dataset *data_args_load(data_args *a, clg_context *ctx, size_t classes)
{
    if (a->csv) return data_file_load(ctx, a->csv, a->labels, a, classes);
    if (classes) {
        fprintf(
            stderr,
            "clgrad: synthetic data is for linear regression; give --data for classification\n");
        return NULL;
    }
    for (size_t j = 0; j < a->d; j++) a->true_w[j] = j == 0 ? 2.0f : j == 1 ? -3.4f : 0.5f;
    clg_dataset *ds = NULL;
    clg_status s =
        clg_dataset_synthetic_linear(ctx, a->n, a->true_w, a->d, a->true_b, a->noise, a->seed, &ds);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(ctx));
        return NULL;
    }
    return ds;
}
