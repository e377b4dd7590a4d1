/* Per-epoch figures of a training run, written as CSV (--log, a row as each epoch ends)
 * and SVG (--plot). */
#ifndef CLGRAD_HISTORY_H
#define CLGRAD_HISTORY_H
#include <stddef.h>
#include <stdio.h>

/* One epoch's figures; test_* are NaN without a test set, val_* without validation. */
typedef struct history_row {
    double train_loss, test_loss, test_acc, val_loss, val_acc, seconds;
} history_row;

typedef struct history {
    size_t count, cap;
    size_t first;   /* the number of the first epoch recorded, less 1 (--resume) */
    int validating; /* set before history_log_open: the log and plot have val_* */
    history_row *row;
    FILE *log; /* history_log_open's file, or NULL */
    const char *log_path;
} history;

/* Creates (truncates) path and writes the CSV header; later history_add calls append
 * their epoch's row and flush it, so an interrupted run leaves the epochs done. 0, or
 * -1 after printing why. */
int history_log_open(history *h, const char *path);
/* Records an epoch (and writes its row to the log); -1 after printing why it failed. */
int history_add(history *h, const history_row *row);
/* Closes the log: 0, or -1 after printing why. */
int history_log_close(history *h);
void history_free(history *h);
/* 0, or prints why it failed and returns -1. */
int history_write_svg(const history *h, const char *path);
#endif
