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
    a->delimiter = ',';
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
            "      [--delimiter ,|';'|tab] [--skip-columns LIST (0-based or header names)]\n"
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

/* --delimiter: ',' ';' or tab, as the character or its name. */
static int parse_delimiter(const char *v, char *out)
{
    static const struct {
        const char *text;
        char c;
    } names[] = {{",", ','},   {"comma", ','}, {";", ';'},   {"semicolon", ';'},
                 {"\t", '\t'}, {"\\t", '\t'},  {"tab", '\t'}};
    for (size_t k = 0; v && k < sizeof names / sizeof *names; k++) {
        if (strcmp(v, names[k].text)) continue;
        *out = names[k].c;
        return 0;
    }
    if (!v) return refused("--delimiter", "needs a value: ',' ';' or tab");
    fprintf(stderr, "clgrad: --delimiter: '%.40s' is not ',' ';' or tab (or comma, semicolon)\n",
            v);
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
    } else if (!strcmp(opt, "--delimiter")) {
        if (parse_delimiter(val, &a->delimiter)) return -1;
    } else if (!strcmp(opt, "--skip-columns")) {
        if (!val || !val[0]) return refused(opt, "needs a list of columns (0-based or names)");
        a->skip_columns = val;
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

int data_file_is_csv(const char *path)
{
    if (ends_with(path, ".csv")) return 1;
    return !ends_with(path, ".npy") && !strstr(path, "ubyte") && !strstr(path, "idx");
}

clg_csv_options data_csv_options(const data_args *a)
{
    clg_csv_options co = clg_csv_defaults();
    co.header = a->header;
    co.label_column = a->label_column;
    co.delimiter = a->delimiter;
    co.skip_columns = a->skip_columns;
    return co;
}

/* A CSV file's classes: ids or names (onto fmt->names when set); names receives them. */
static clg_status csv_classes(clg_context *ctx, const char *path, const data_args *fmt,
                              size_t classes, clg_dataset **ds, clg_class_names *names)
{
    clg_csv_options co = data_csv_options(fmt);
    co.max_classes = CLI_MAX_CLASS_ID + 1;
    if (classes > 1) {
        co.classes = classes;
        co.max_classes = 0; /* the limit is classes */
    }
    if (fmt->names && fmt->names->count) co.class_names = fmt->names;
    return clg_dataset_from_csv_classes(ctx, path, &co, ds, names);
}

static clg_dataset *load_file(clg_context *ctx, const char *path, const char *labels,
                              const data_args *fmt, size_t classes, clg_class_names *names)
{
    clg_dataset *ds = NULL;
    clg_status s;
    int csv = data_file_is_csv(path), idx = !csv && !ends_with(path, ".npy");
    if (!csv) {
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
        s = csv_classes(ctx, path, fmt, classes, &ds, names);
    } else {
        clg_csv_options co = data_csv_options(fmt);
        s = clg_dataset_from_csv(ctx, path, &co, &ds);
    }
    if (s != CLG_OK) { /* each loader above leaves its message in ctx */
        const char *msg = clg_last_error(ctx)[0] ? clg_last_error(ctx) : clg_last_error(NULL);
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), msg);
        return NULL;
    }
    return ds;
}

clg_dataset *data_file_load(clg_context *ctx, const char *path, const char *labels,
                            const data_args *fmt, size_t classes)
{
    return load_file(ctx, path, labels, fmt, classes, NULL);
}

/* The class names of the last CSV data_args_load read (static: reachable until exit). */
static clg_class_names loaded_names;

static void print_names(const char *path, const clg_class_names *names)
{
    fprintf(stderr, "clgrad: %s: %zu class names, ids in sorted order:", path, names->count);
    for (size_t i = 0; i < names->count && i < 20; i++)
        fprintf(stderr, "%s %zu %s", i ? "," : "", i, names->names[i]);
    fprintf(stderr, "%s\n", names->count > 20 ? ", ..." : "");
}

clg_dataset *data_args_load(data_args *a, clg_context *ctx, size_t classes)
{
    if (a->csv) {
        clg_class_names_free(&loaded_names);
        a->names = NULL;
        clg_dataset *ds = load_file(ctx, a->csv, a->labels, a, classes, &loaded_names);
        if (ds && loaded_names.count) {
            a->names = &loaded_names;
            print_names(a->csv, &loaded_names);
        }
        return ds;
    }
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
