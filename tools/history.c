/* --log (CSV) and --plot (SVG, like d2l's Animator: loss per epoch, test accuracy on a second axis). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "svg.h"

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "clgrad: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path)
{
    if (fclose(f) != 0) {
        fprintf(stderr, "clgrad: writing %s failed: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int history_log_open(history *h, const char *path)
{
    h->log = open_out(path);
    if (!h->log) return -1;
    h->log_path = path;
    fprintf(h->log, "epoch,train_loss,test_loss,test_accuracy,seconds\n");
    if (fflush(h->log) == 0) return 0;
    fprintf(stderr, "clgrad: writing %s failed: %s\n", path, strerror(errno));
    return -1;
}

/* Row i of the log, flushed: a run killed later leaves it whole. */
static int log_row(const history *h, size_t i)
{
    FILE *f = h->log;
    fprintf(f, "%zu,%.9g,", i + 1, h->train_loss[i]);
    if (!isnan(h->test_loss[i])) fprintf(f, "%.9g", h->test_loss[i]);
    fputc(',', f);
    if (!isnan(h->test_acc[i])) fprintf(f, "%.6f", h->test_acc[i]);
    fprintf(f, ",%.4f\n", h->seconds[i]);
    if (fflush(f) == 0 && !ferror(f)) return 0;
    fprintf(stderr, "clgrad: writing %s failed: %s\n", h->log_path, strerror(errno));
    return -1;
}

int history_add(history *h, double train_loss, double test_loss, double test_acc, double seconds)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        double **a[4] = {&h->train_loss, &h->test_loss, &h->test_acc, &h->seconds};
        for (int k = 0; k < 4; k++) {
            double *p = realloc(*a[k], cap * sizeof *p);
            if (!p) { /* the arrays grown so far stay valid */
                fprintf(stderr, "clgrad: out of memory for the history of the run\n");
                return -1;
            }
            *a[k] = p;
        }
        h->cap = cap;
    }
    h->train_loss[h->count] = train_loss;
    h->test_loss[h->count] = test_loss;
    h->test_acc[h->count] = test_acc;
    h->seconds[h->count] = seconds;
    h->count++;
    return h->log ? log_row(h, h->count - 1) : 0;
}

int history_log_close(history *h)
{
    FILE *f = h->log;
    h->log = NULL;
    return f ? close_out(f, h->log_path) : 0;
}

void history_free(history *h)
{
    if (h->log) fclose(h->log);
    free(h->train_loss);
    free(h->test_loss);
    free(h->test_acc);
    free(h->seconds);
    memset(h, 0, sizeof *h);
}

/* 720 × 420: the loss axis on the left, test accuracy (0..1) on the right, the legend above. */
int history_write_svg(const history *h, const char *path)
{
    FILE *f = open_out(path);
    if (!f) return -1;
    svg_frame fr = {f, 90, 50, 550, 300};
    double lo = INFINITY, hi = -INFINITY, alo = INFINITY, ahi = -INFINITY;
    svg_range(h->train_loss, h->count, &lo, &hi);
    int test = svg_range(h->test_loss, h->count, &lo, &hi) > 0;
    int acc = svg_range(h->test_acc, h->count, &alo, &ahi) > 0;
    svg_axis xa, ya, aa = {0, 1, 0.2, 0};
    svg_axis_fit(&xa, 1, (double)h->count, 1, 0);
    /* The same rule for regression and classification: from a nice value at or below the
     * smallest loss to one at or above the largest (decades when they span over 1000×). */
    svg_axis_fit(&ya, lo, hi, 0, 1);
    svg_begin(f, 720, 420);
    svg_xaxis(&fr, &xa, "epoch");
    svg_yaxis(&fr, &ya, "y", ya.log ? "loss (log scale)" : "loss", 0);
    if (acc) svg_yaxis(&fr, &aa, "acc", "test accuracy", 1);
    svg_style st[3] = {{"train-loss", "train loss", "#1f77b4", ""}};
    size_t k = 1;
    if (test) st[k++] = (svg_style){"test-loss", "test loss", "#ff7f0e", "6 3"};
    if (acc) st[k++] = (svg_style){"test-acc", "test accuracy", "#2ca02c", "2 3"};
    svg_series(&fr, &xa, &ya, NULL, h->train_loss, h->count, &st[0]);
    if (test) svg_series(&fr, &xa, &ya, NULL, h->test_loss, h->count, &st[1]);
    if (acc) svg_series(&fr, &xa, &aa, NULL, h->test_acc, h->count, &st[k - 1]);
    svg_legend(&fr, st, k);
    svg_end(f);
    return close_out(f, path);
}
