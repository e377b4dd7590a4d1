/* Data options shared by clgrad train and clgrad solve. */
#ifndef CLGRAD_DATA_ARGS_H
#define CLGRAD_DATA_ARGS_H
#include <stddef.h>
#include <stdint.h>

#include "clgrad.h"

typedef struct data_args {
    const char *csv;    /* --data FILE (.csv, .npy or IDX), or NULL for synthetic data */
    const char *labels; /* --labels FILE: the y / label file of an .npy or IDX --data */
    long label_column;  /* --label-column K (default: last) */
    int header;         /* --header / --no-header (default: auto) */
    size_t n, d;        /* --synthetic N[xD] (default 1000x2) */
    float noise;        /* --noise S (default 0.01) */
    uint64_t seed;      /* --seed S (default 42) */
    float true_w[4096];
    float true_b;
} data_args;

void data_args_init(data_args *a);
/* Consumes one data option at argv[*i] (advancing *i past its value);
 * returns 1 if it was one, 0 if not, -1 on a malformed value (printed). */
int data_args_parse(data_args *a, int argc, char **argv, int *i);
/* Builds the dataset the options describe; prints the failure and returns NULL.
 * classes: 0 for regression data; otherwise the data are class ids and the
 * dataset gets max(classes, largest id + 1) classes (classes = 1: infer). */
clg_dataset *data_args_load(data_args *a, clg_context *ctx, size_t classes);
/* Loads a file the same way (a --test file and its labels). */
clg_dataset *data_file_load(clg_context *ctx, const char *path, const char *labels,
                            const data_args *fmt, size_t classes);
void data_args_usage(void);
#endif
