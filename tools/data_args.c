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
    a->synthetic.n = 1000;
    a->synthetic.d = 2;
    a->noise = 0.01f;
    a->seed = 42;
    a->true_b = 4.2f;
}

/* --delimiter: ',' ';' or tab, as the character or its name. */
static int parse_delimiter(const char *v, void *member, char *why, size_t n)
{
    static const struct {
        const char *text;
        char c;
    } names[] = {{",", ','},   {"comma", ','}, {";", ';'},   {"semicolon", ';'},
                 {"\t", '\t'}, {"\\t", '\t'},  {"tab", '\t'}};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        if (strcmp(v, names[k].text)) continue;
        *(char *)member = names[k].c;
        return 0;
    }
    snprintf(why, n, "'%.40s' is not ',' ';' or tab (or comma, semicolon)", v);
    return -1;
}

static int parse_synthetic(const char *v, void *member, char *why, size_t n)
{
    struct data_shape *s = member;
    return cli_synthetic(v, &s->n, &s->d, why, n);
}

static const cli_opt file_options[] = {
    CLI_STR("--data", "FILE", data_args, csv,
            "a .csv, an .npy (with --labels) or an IDX file (MNIST; .gz too)"),
    CLI_STR("--labels", "FILE", data_args, labels, "the labels of an .npy or IDX --data file"),
    CLI_INT("--label-column", "K", data_args, label_column, -2147483647LL - 1, 2147483647LL,
            "-1, the last", "the CSV column of the target or class (0-based, -1 from the end)"),
    CLI_FLAG("--header", data_args, header, 1, "line 1 of the CSV is a header"),
    CLI_FLAG("--no-header", data_args, header, 0,
             "line 1 is data (default: a header when no field is a number)"),
    CLI_CUSTOM("--delimiter", "C", data_args, delimiter, parse_delimiter, ",",
               "CSV field separator: ',' ';' or tab (or comma, semicolon, '\\t')"),
    CLI_STR("--skip-columns", "LIST", data_args, skip_columns,
            "CSV columns to leave out: 0-based indices, -1 from the end, or names"),
    CLI_FLAG("--stream", data_args, stream, 1,
             "read the .csv / .npy file from disk chunk by chunk (bounded memory)"),
    CLI_INT("--chunk-rows", "N", data_args, chunk_rows, 1, 4294967295LL, "4 MiB of rows",
            "rows per chunk of --stream (a shuffle mixes 4 chunks drawn at random)"),
    CLI_END};

static const cli_opt synthetic_options[] = {
    CLI_CUSTOM("--synthetic", "N[xD]", data_args, synthetic, parse_synthetic, "1000x2",
               "N rows of D features: y = Xw + 4.2 + noise, w = [2, -3.4, 0.5, ...]"),
    CLI_REAL("--noise", "S", data_args, noise, 0, FLT_MAX, NULL,
             "standard deviation of the noise of y"),
    CLI_U64("--seed", "S", data_args, seed, UINT64_MAX, NULL,
            "seeds the rows, and train's initial weights and shuffle (with --data too)"),
    CLI_END};

static const char *const synthetic_exclusive[] = {"--data",   "--synthetic", "--data", "--noise",
                                                  "--labels", "--synthetic", NULL};

cli_group data_file_group(data_args *a)
{
    return (cli_group){"data file", file_options, a, NULL, NULL};
}

cli_group data_synthetic_group(data_args *a)
{
    return (cli_group){"synthetic data (without --data)", synthetic_options, a, synthetic_exclusive,
                       NULL};
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

/* --stream: the file read chunk by chunk (a CSV file's classes as csv_classes reads them). */
static clg_status stream_file(clg_context *ctx, const char *path, const char *labels,
                              const data_args *fmt, size_t classes, clg_dataset **ds,
                              clg_class_names *names)
{
    clg_stream_options so = clg_stream_defaults();
    so.chunk_rows = fmt->chunk_rows;
    so.part = fmt->part;
    so.parts = fmt->parts;
    so.classes = classes ? fmt->classes : 0;
    if (!data_file_is_csv(path))
        return clg_dataset_stream_npy(ctx, path, labels, classes != 0, &so, ds);
    clg_csv_options co = data_csv_options(fmt);
    if (classes) {
        co.max_classes = CLI_MAX_CLASS_ID + 1;
        if (classes > 1) {
            co.classes = classes;
            co.max_classes = 0;
        }
        if (fmt->names && fmt->names->count) co.class_names = fmt->names;
    }
    return clg_dataset_stream_csv(ctx, path, &co, classes != 0, &so, ds, names);
}

static clg_dataset *load_file(clg_context *ctx, const char *path, const char *labels,
                              const data_args *fmt, size_t classes, clg_class_names *names)
{
    clg_dataset *ds = NULL;
    clg_status s;
    int csv = data_file_is_csv(path), idx = !csv && !ends_with(path, ".npy");
    if (fmt->chunk_rows && !fmt->stream) {
        fprintf(stderr, "clgrad: --chunk-rows is for --stream\n");
        return NULL;
    }
    if (fmt->stream && idx) {
        fprintf(stderr,
                "clgrad: --stream reads .csv and .npy files; %s is IDX, which is read whole "
                "(convert it to .npy to stream it)\n",
                path);
        return NULL;
    }
    if (fmt->stream && !csv && !labels) {
        fprintf(stderr, "clgrad: %s needs its label file (--labels / --test-labels)\n", path);
        return NULL;
    }
    if (fmt->stream) {
        s = stream_file(ctx, path, labels, fmt, classes, &ds, names);
    } else if (!csv) {
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
    if (a->stream || a->chunk_rows) {
        fprintf(stderr, "clgrad: --stream reads a --data file from disk; synthetic data is "
                        "generated (it is streamed from host memory when it does not fit the "
                        "device)\n");
        return NULL;
    }
    size_t n = a->synthetic.n, d = a->synthetic.d;
    for (size_t j = 0; j < d; j++) a->true_w[j] = j == 0 ? 2.0f : j == 1 ? -3.4f : 0.5f;
    clg_dataset *ds = NULL;
    clg_status s =
        clg_dataset_synthetic_linear(ctx, n, a->true_w, d, a->true_b, a->noise, a->seed, &ds);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(ctx));
        return NULL;
    }
    return ds;
}
