/* Data options shared by the commands that read a dataset (train, eval, solve, plot). */
#ifndef CLGRAD_DATA_ARGS_H
#define CLGRAD_DATA_ARGS_H
#include <stddef.h>
#include <stdint.h>

#include "cli_opt.h"
#include "clgrad.h"

typedef struct data_args {
    const char *csv;              /* --data FILE (.csv, .npy or IDX), or NULL for synthetic data */
    const char *labels;           /* --labels FILE: the y / label file of an .npy or IDX --data */
    long label_column;            /* --label-column K (default: last) */
    int header;                   /* --header / --no-header (default: auto) */
    char delimiter;               /* --delimiter C: ',' (default), ';' or tab */
    const char *skip_columns;     /* --skip-columns LIST (default: none) */
    int stream;                   /* --stream: a .csv or .npy file read from disk chunk by
                                     chunk (clg_dataset_stream_csv / _npy), --test too */
    size_t chunk_rows;            /* --chunk-rows N (with --stream; default 0: sized by the
                                     library, 4 MiB of rows) */
    size_t part, parts;           /* clgrad train --shard: the --data file's part to read
                                     (clg_stream_options.part, parts; 0 and 0: all of it) */
    size_t classes;               /* and its class count (clg_stream_options.classes; 0: its
                                     own largest id + 1) */
    const clg_class_names *names; /* set by data_args_load: the class names of a CSV
                                     label column of names (a --test file maps onto them) */
    struct data_shape {
        size_t n, d; /* --synthetic N[xD] (default 1000x2) */
    } synthetic;
    float noise;   /* --noise S (default 0.01) */
    uint64_t seed; /* --seed S (default 42) */
    float true_w[4096];
    float true_b;
} data_args;

void data_args_init(data_args *a);
/* The data options, groups of a command's options that fill a (initialized by
 * data_args_init: the help shows its values as the defaults): --data and the CSV options,
 * and --synthetic, --noise, --seed (--synthetic and --noise exclude --data). */
cli_group data_file_group(data_args *a);
cli_group data_synthetic_group(data_args *a);
/* Builds the dataset the options describe; prints the failure and returns NULL.
 * classes: 0 for regression data; otherwise the labels are classes (ids or names,
 * clg_dataset_from_csv_classes for a CSV file): 1 infers their number, more is the
 * exact number (a model's outputs). A CSV file's class names are kept (a->names) and
 * listed on stderr. */
clg_dataset *data_args_load(data_args *a, clg_context *ctx, size_t classes);
/* Loads a file the same way (a --test file and its labels); a CSV file's class names
 * map onto fmt->names when data_args_load found names. */
clg_dataset *data_file_load(clg_context *ctx, const char *path, const char *labels,
                            const data_args *fmt, size_t classes);
/* 1 when data_file_load reads path as CSV (not .npy, not IDX). */
int data_file_is_csv(const char *path);
/* The CSV options the data options describe. */
clg_csv_options data_csv_options(const data_args *a);
#endif
