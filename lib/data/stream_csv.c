/* File-streamed datasets from CSV files: io_csv.c's reader makes a first pass (every line
 * checked, chunk offsets noted) and parses one chunk when a loader needs it. A part of the
 * file (clg_stream_options.part, parts) is a byte range of it: io_csv.c reads only that. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static clg_status src_read(void *src, size_t k, size_t first, size_t rows, float *X, float *Y)
{
    (void)first;
    size_t got = 0;
    clg_status s = clg_csv_stream_read(src, k, X, Y, &got);
    (void)rows; /* clg_csv_stream_read checks the count against the first pass's */
    return s;
}

static void src_close(void *src) { clg_csv_stream_close(src); }

static const clg_stream_format csv_format = {"csv", src_read, src_close};

clg_status clg_dataset_stream_csv(clg_context *ctx, const char *path, const clg_csv_options *csv,
                                  int classification, const clg_stream_options *opts,
                                  clg_dataset **out, clg_class_names *names)
{
    const char *op = "clg_dataset_stream_csv";
    if (out) *out = NULL;
    const int names_are_given = names && csv && names == csv->class_names;
    if (names && !names_are_given) memset(names, 0, sizeof *names);
    if (!ctx || !path || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    if (names_are_given)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: names must not be csv->class_names",
                        op);
    clg_csv_options co = clg_csv_defaults();
    if (csv &&
        clg_options_copy(ctx, op, "clg_csv_defaults", &co, sizeof co, csv, sizeof co) != CLG_OK)
        return CLG_ERR_INVALID_ARGUMENT;
    if (co.label_column == CLG_CSV_NO_LABEL)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: a dataset needs targets: label_column is CLG_CSV_NO_LABEL", op);
    clg_stream_options o;
    clg_status s = clg_stream_options_of(ctx, op, opts, &o);
    if (s != CLG_OK) return s;
    /* The options' classes (which ranks give, as for .npy) are the CSV reader's. */
    if (o.classes && !classification)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: classes %zu without classification", op,
                        o.classes);
    if (o.classes && co.classes && co.classes != o.classes)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: classes %zu of clg_stream_options and %zu of clg_csv_options differ",
                        op, o.classes, co.classes);
    if (o.classes) co.classes = o.classes;
    clg_csv_stream *cs = NULL;
    size_t n = 0, d = 0, classes = 0;
    s = clg_csv_stream_open(op, path, &co, classification, &o, &cs, &n, &d, &classes,
                            classification ? names : NULL);
    if (s != CLG_OK) return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    /* The first pass sized the chunks when chunk_rows was 0; the dataset takes its size. */
    o.chunk_rows = clg_csv_stream_chunk_rows(cs);
    s = clg_dataset_from_stream(ctx, op, n, d, 1, classes, &csv_format, cs, &o, out);
    if (s == CLG_OK && o.parts) { /* the file's rows are unknown: only the part was read */
        (*out)->part = o.part;
        (*out)->parts = o.parts;
        (*out)->file_rows = 0;
        (*out)->file_bytes = clg_csv_stream_file_bytes(cs);
    }
    if (s != CLG_OK) clg_class_names_free(names);
    return s;
}
