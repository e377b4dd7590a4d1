/* --log (CSV) and --plot (SVG, like d2l's Animator: loss per epoch, test accuracy on a second axis). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
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
    fprintf(h->log, "epoch,train_loss,test_loss,test_accuracy,seconds%s\n",
            h->validating ? ",val_loss,val_accuracy" : "");
    if (fflush(h->log) == 0) return 0;
    fprintf(stderr, "clgrad: writing %s failed: %s\n", path, strerror(errno));
    return -1;
}

/* Row i of the log, flushed: a run killed later leaves it whole. */
static int log_row(const history *h, size_t i)
{
    FILE *f = h->log;
    const history_row *r = &h->row[i];
    fprintf(f, "%zu,%.9g,", h->first + i + 1, r->train_loss);
    if (!isnan(r->test_loss)) fprintf(f, "%.9g", r->test_loss);
    fputc(',', f);
    if (!isnan(r->test_acc)) fprintf(f, "%.6f", r->test_acc);
    fprintf(f, ",%.4f", r->seconds);
    if (h->validating) {
        fprintf(f, ",%.9g,", r->val_loss);
        if (!isnan(r->val_acc)) fprintf(f, "%.6f", r->val_acc);
    }
    fputc('\n', f);
    if (fflush(f) == 0 && !ferror(f)) return 0;
    fprintf(stderr, "clgrad: writing %s failed: %s\n", h->log_path, strerror(errno));
    return -1;
}

int history_add(history *h, const history_row *row)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        history_row *p = realloc(h->row, cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "clgrad: out of memory for the history of the run\n");
            return -1;
        }
        h->row = p;
        h->cap = cap;
    }
    h->row[h->count++] = *row;
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
    free(h->row);
    memset(h, 0, sizeof *h);
}

/* Column k of the rows (as offsetof a history_row member) into a malloc'd array. */
static double *column(const history *h, size_t off)
{
    double *a = malloc((h->count ? h->count : 1) * sizeof *a);
    for (size_t i = 0; a && i < h->count; i++)
        memcpy(&a[i], (const char *)&h->row[i] + off, sizeof *a);
    return a;
}

static int write_svg(const history *h, FILE *f, double *const *c);

/* 720 × 420: the loss axis on the left, test accuracy (0..1) on the right, the legend above. */
int history_write_svg(const history *h, const char *path)
{
    const size_t offs[4] = {offsetof(history_row, train_loss), offsetof(history_row, test_loss),
                            offsetof(history_row, test_acc), offsetof(history_row, val_loss)};
    double *c[4];
    int ok = 1;
    for (int k = 0; k < 4; k++) ok &= (c[k] = column(h, offs[k])) != NULL;
    FILE *f = ok ? open_out(path) : NULL;
    if (!ok) fprintf(stderr, "clgrad: out of memory for the plot\n");
    int rc = f ? write_svg(h, f, c) : -1;
    for (int k = 0; k < 4; k++) free(c[k]);
    return f ? (close_out(f, path) || rc ? -1 : 0) : -1;
}

/* c: train loss, test loss, test accuracy, validation loss per epoch. */
static int write_svg(const history *h, FILE *f, double *const *c)
{
    svg_frame fr = {f, 90, 50, 550, 300};
    double lo = INFINITY, hi = -INFINITY, alo = INFINITY, ahi = -INFINITY;
    svg_range(c[0], h->count, &lo, &hi);
    int test = svg_range(c[1], h->count, &lo, &hi) > 0;
    int acc = svg_range(c[2], h->count, &alo, &ahi) > 0;
    int val = svg_range(c[3], h->count, &lo, &hi) > 0;
    svg_axis xa, ya, aa = {0, 1, 0.2, 0};
    svg_axis_fit(&xa, (double)h->first + 1, (double)(h->first + h->count), 1, 0);
    /* The same rule for regression and classification: from a nice value at or below the
     * smallest loss to one at or above the largest (decades when they span over 1000×). */
    svg_axis_fit(&ya, lo, hi, 0, 1);
    svg_begin(f, 720, 420);
    svg_xaxis(&fr, &xa, "epoch");
    svg_yaxis(&fr, &ya, "y", ya.log ? "loss (log scale)" : "loss", 0);
    if (acc) svg_yaxis(&fr, &aa, "acc", "test accuracy", 1);
    svg_style st[4] = {{"train-loss", "train loss", "#1f77b4", ""}};
    size_t k = 1, kt = 0, kv = 0, ka = 0;
    if (test) st[kt = k++] = (svg_style){"test-loss", "test loss", "#ff7f0e", "6 3"};
    if (val) st[kv = k++] = (svg_style){"val-loss", "validation loss", "#9467bd", "8 2 2 2"};
    if (acc) st[ka = k++] = (svg_style){"test-acc", "test accuracy", "#2ca02c", "2 3"};
    double *x = malloc((h->count ? h->count : 1) * sizeof *x);
    if (!x) return -1;
    for (size_t i = 0; i < h->count; i++) x[i] = (double)(h->first + i + 1);
    svg_series(&fr, &xa, &ya, x, c[0], h->count, &st[0]);
    if (test) svg_series(&fr, &xa, &ya, x, c[1], h->count, &st[kt]);
    if (val) svg_series(&fr, &xa, &ya, x, c[3], h->count, &st[kv]);
    if (acc) svg_series(&fr, &xa, &aa, x, c[2], h->count, &st[ka]);
    free(x);
    svg_legend(&fr, st, k);
    svg_end(f);
    return 0;
}
