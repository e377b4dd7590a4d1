/* Per-epoch figures of a training run, written as CSV (--log) or SVG (--plot). */
#ifndef CLGRAD_HISTORY_H
#define CLGRAD_HISTORY_H
#include <stddef.h>

typedef struct history {
    size_t count, cap;
    double *train_loss, *test_loss, *test_acc, *seconds; /* test_* are NaN without a test set */
} history;

int history_add(history *h, double train_loss, double test_loss, double test_acc, double seconds);
void history_free(history *h);
/* Both return 0 or print why they failed and return -1. */
int history_write_csv(const history *h, const char *path);
int history_write_svg(const history *h, const char *path);
#endif
