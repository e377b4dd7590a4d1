/* Per-epoch figures of a training run, written as CSV (--log, a row as each epoch ends)
 * and SVG (--plot). */
#ifndef CLGRAD_HISTORY_H
#define CLGRAD_HISTORY_H
#include <stddef.h>
#include <stdio.h>

typedef struct history {
    size_t count, cap;
    double *train_loss, *test_loss, *test_acc, *seconds; /* test_* are NaN without a test set */
    FILE *log;                                           /* history_log_open's file, or NULL */
    const char *log_path;
} history;

/* Creates (truncates) path and writes the CSV header; later history_add calls append
 * their epoch's row and flush it, so an interrupted run leaves the epochs done. 0, or
 * -1 after printing why. */
int history_log_open(history *h, const char *path);
/* Records an epoch (and writes its row to the log); -1 after printing why it failed. */
int history_add(history *h, double train_loss, double test_loss, double test_acc, double seconds);
/* Closes the log: 0, or -1 after printing why. */
int history_log_close(history *h);
void history_free(history *h);
/* 0, or prints why it failed and returns -1. */
int history_write_svg(const history *h, const char *path);
#endif
