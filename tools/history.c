/* --log (CSV) and --plot (SVG, like d2l's Animator: loss per epoch, test accuracy on a second axis). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

int history_add(history *h, double train_loss, double test_loss, double test_acc, double seconds)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        double *a[4] = {h->train_loss, h->test_loss, h->test_acc, h->seconds};
        for (int k = 0; k < 4; k++) {
            double *p = realloc(a[k], cap * sizeof *p);
            if (!p) return -1;
            a[k] = p;
        }
        h->train_loss = a[0], h->test_loss = a[1], h->test_acc = a[2], h->seconds = a[3];
        h->cap = cap;
    }
    h->train_loss[h->count] = train_loss;
    h->test_loss[h->count] = test_loss;
    h->test_acc[h->count] = test_acc;
    h->seconds[h->count] = seconds;
    h->count++;
    return 0;
}

void history_free(history *h)
{
    free(h->train_loss);
    free(h->test_loss);
    free(h->test_acc);
    free(h->seconds);
    memset(h, 0, sizeof *h);
}

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

int history_write_csv(const history *h, const char *path)
{
    FILE *f = open_out(path);
    if (!f) return -1;
    fprintf(f, "epoch,train_loss,test_loss,test_accuracy,seconds\n");
    for (size_t i = 0; i < h->count; i++) {
        fprintf(f, "%zu,%.9g,", i + 1, h->train_loss[i]);
        if (!isnan(h->test_loss[i])) fprintf(f, "%.9g", h->test_loss[i]);
        fputc(',', f);
        if (!isnan(h->test_acc[i])) fprintf(f, "%.6f", h->test_acc[i]);
        fprintf(f, ",%.4f\n", h->seconds[i]);
    }
    return close_out(f, path);
}

static void polyline(FILE *f, const double *v, size_t n, double lo, double hi, const char *color,
                     const char *dash)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
    for (size_t i = 0; i < n; i++) {
        double x = 60 + (n > 1 ? 480.0 * i / (n - 1) : 240.0);
        double y = 330 - 300 * (hi > lo ? (v[i] - lo) / (hi - lo) : 0.5);
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fprintf(f, "\"/>\n");
}

int history_write_svg(const history *h, const char *path)
{
    FILE *f = open_out(path);
    if (!f) return -1;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < h->count; i++) {
        lo = fmin(lo, h->train_loss[i]);
        hi = fmax(hi, h->train_loss[i]);
    }
    if (!(hi >= lo)) lo = 0, hi = 1;
    if (lo > 0 && hi < 2 * lo) lo = 0;
    int acc = h->count && !isnan(h->test_acc[0]);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"380\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"640\" height=\"380\" fill=\"white\"/>\n"
               "<path d=\"M60 30 V330 H540\" stroke=\"black\" fill=\"none\"/>\n");
    fprintf(f, "<text x=\"300\" y=\"365\" text-anchor=\"middle\">epoch (1 to %zu)</text>\n",
            h->count);
    fprintf(f, "<text x=\"55\" y=\"34\" text-anchor=\"end\">%.3g</text>\n", hi);
    fprintf(f, "<text x=\"55\" y=\"334\" text-anchor=\"end\">%.3g</text>\n", lo);
    fprintf(f, "<text x=\"70\" y=\"22\" fill=\"#1f77b4\">train loss</text>\n");
    polyline(f, h->train_loss, h->count, lo, hi, "#1f77b4", "");
    if (acc) {
        fprintf(f, "<path d=\"M540 30 V330\" stroke=\"black\"/>\n"
                   "<text x=\"545\" y=\"34\">1.0</text><text x=\"545\" y=\"334\">0.0</text>\n"
                   "<text x=\"440\" y=\"22\" fill=\"#2ca02c\">test accuracy</text>\n");
        polyline(f, h->test_acc, h->count, 0, 1, "#2ca02c", " stroke-dasharray=\"6 3\"");
    }
    fprintf(f, "</svg>\n");
    return close_out(f, path);
}
