/* Data options shared by clgrad train and clgrad solve. */
#ifndef CLGRAD_DATA_ARGS_H
#define CLGRAD_DATA_ARGS_H
#include <stddef.h>
#include <stdint.h>

#include "clgrad.h"

typedef struct data_args {
    const char *csv;       /* --data FILE, or NULL for synthetic data */
    long label_column;     /* --label-column K (default: last) */
    int header;            /* --header / --no-header (default: auto) */
    size_t n, d;           /* --synthetic N[xD] (default 1000x2) */
    float noise;           /* --noise S (default 0.01) */
    uint64_t seed;         /* --seed S (default 42) */
    float true_w[4096];
    float true_b;
} data_args;

void data_args_init(data_args *a);
/* Consumes one data option at argv[*i] (advancing *i past its value);
 * returns 1 if it was one, 0 if not, -1 on a malformed value (printed). */
int data_args_parse(data_args *a, int argc, char **argv, int *i);
/* Builds the dataset the options describe; prints the failure and returns NULL. */
clg_dataset *data_args_load(data_args *a, clg_context *ctx);
void data_args_usage(void);
#endif
