/* Small SVG plots: the primitives of clgrad train --plot and clgrad plot. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "svg.h"

int svg_path_ok(const char *cmd, const char *opt, const char *path)
{
    size_t n = strlen(path);
    const char *ext = n >= 4 ? path + n - 4 : "";
    if (ext[0] == '.' && tolower((unsigned char)ext[1]) == 's' &&
        tolower((unsigned char)ext[2]) == 'v' && tolower((unsigned char)ext[3]) == 'g')
        return 1;
    /* Refused rather than written: an SVG under a .png name is not the file asked for. */
    fprintf(stderr, "clgrad %s: %s: '%s' does not end in .svg: the plot is written as SVG only\n",
            cmd, opt, path);
    return 0;
}

size_t svg_range(const double *v, size_t n, double *min, double *max)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        *min = fmin(*min, v[i]);
        *max = fmax(*max, v[i]);
        k++;
    }
    return k;
}

static int tick_count(const svg_axis *a) { return (int)lround((a->hi - a->lo) / a->step) + 1; }

/* lo and hi of a linear axis with this step, rounded outwards; the tick count. The small
 * slack keeps a value that is a multiple of step (to rounding) on its own tick. */
static int linear_ticks(svg_axis *a, double min, double max, double step)
{
    a->step = step;
    a->lo = floor(min / step + 1e-9) * step;
    a->hi = ceil(max / step - 1e-9) * step;
    return tick_count(a);
}

/* Decades: about 4 to 8 ticks, every decade or every few. */
static void log_fit(svg_axis *a, double min, double max)
{
    double l0 = floor(log10(min) + 1e-9), l1 = ceil(log10(max) - 1e-9);
    a->log = 1;
    a->step = fmax(1, ceil((l1 - l0) / 7));
    a->lo = floor(l0 / a->step) * a->step;
    a->hi = ceil(l1 / a->step) * a->step;
}

void svg_axis_fit(svg_axis *a, double min, double max, int integer, int allow_log)
{
    a->log = 0;
    if (!isfinite(min) || !isfinite(max) || min > max) min = 0, max = 1;
    if (allow_log && min > 0 && max / min > 1000) {
        log_fit(a, min, max);
        return;
    }
    /* A constant (or all but constant) series still needs a span to spread ticks over. */
    if (max - min <= 1e-9 * fmax(fabs(min), fabs(max))) {
        double pad = integer ? 1 : min != 0 ? 0.05 * fabs(min) : 0.5;
        min -= pad, max += pad;
    }
    /* The 1-2-5 step whose tick count is nearest 5..8 (then nearest 6). */
    static const double mant[3] = {1, 2, 5};
    int e0 = (int)floor(log10((max - min) / 6)), best_n = 0;
    double best = 0, best_score = INFINITY;
    for (int e = e0 - 1; e <= e0 + 1; e++)
        for (int m = 0; m < 3; m++) {
            double step = mant[m] * pow(10, e);
            if (integer && step < 1) continue;
            int n = linear_ticks(a, min, max, step);
            double score = (n < 5   ? 10.0 * (5 - n)
                            : n > 8 ? 10.0 * (n - 8)
                                    : 0) +
                           (n > 6 ? n - 6 : 6 - n);
            if (score < best_score) best = step, best_score = score, best_n = n;
        }
    linear_ticks(a, min, max, best);
    /* Few whole-number ticks (1 to 4 epochs): widen by a step, above then below, but never
     * below 0 for data that are not negative. */
    for (int k = 0; best_n < 5 && k < 8; k++) {
        if (k % 2 == 0 || (a->lo - a->step < 0 && min >= 0))
            a->hi += a->step;
        else
            a->lo -= a->step;
        best_n = tick_count(a);
    }
}

double svg_axis_px(const svg_axis *a, double v, double length)
{
    if (a->log) v = v > 0 ? log10(v) : NAN;
    if (!isfinite(v)) return NAN;
    return (v - a->lo) / (a->hi - a->lo) * length;
}

/* The label of tick t: as many digits as the step needs (the same on every tick), with an
 * exponent when large or tiny. */
static void tick_label(const svg_axis *a, double t, char *buf, size_t len)
{
    if (a->log) { /* 0.001 .. 10000 as such, otherwise all as 1eK */
        if (a->lo >= -3 && a->hi <= 4)
            snprintf(buf, len, "%g", pow(10, t));
        else
            snprintf(buf, len, "1e%d", (int)lround(t));
        return;
    }
    if (fabs(t) < 1e-6 * a->step) t = 0; /* not "-0.0" */
    double big = fmax(fabs(a->lo), fabs(a->hi));
    int step_e = (int)floor(log10(a->step) + 1e-9);
    if (big < 1e6 && step_e >= -4) {
        snprintf(buf, len, "%.*f", step_e < 0 ? -step_e : 0, t);
        return;
    }
    int digits = (int)floor(log10(big)) - step_e + 1;
    snprintf(buf, len, "%.*e", digits < 1 ? 0 : digits > 15 ? 14 : digits - 1, t);
}

void svg_begin(FILE *f, int width, int height)
{
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            width, height, width, height, width, height);
}

void svg_end(FILE *f) { fprintf(f, "</svg>\n"); }

void svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            /* Control characters other than tab and newline are not allowed in XML 1.0. */
            fputc((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' ? '?' : *s, f);
        }
}

void svg_text(FILE *f, double x, double y, const char *anchor, double rotate, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
    if (rotate != 0) fprintf(f, " transform=\"rotate(%g %.1f %.1f)\"", rotate, x, y);
    fputc('>', f);
    svg_escape(f, text);
    fprintf(f, "</text>\n");
}

void svg_xaxis(const svg_frame *fr, const svg_axis *a, const char *title)
{
    FILE *f = fr->f;
    int n = tick_count(a);
    double bottom = fr->y + fr->h;
    fprintf(f, "<g class=\"grid x\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (int i = 0; i < n; i++) {
        double px = fr->x + fr->w * i / (n - 1);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", px, fr->y, px,
                bottom);
    }
    fprintf(f, "</g>\n");
    for (int i = 0; i < n; i++) {
        char label[64];
        tick_label(a, a->lo + i * a->step, label, sizeof label);
        fprintf(f,
                "<g class=\"tick x\" transform=\"translate(%.2f,%.2f)\"><line y2=\"5\" "
                "stroke=\"black\"/><text y=\"18\" text-anchor=\"middle\">%s</text></g>\n",
                fr->x + fr->w * i / (n - 1), bottom, label);
    }
    fprintf(f, "<path class=\"axis x\" d=\"M%.2f %.2fH%.2f\" stroke=\"black\" fill=\"none\"/>\n",
            fr->x, bottom, fr->x + fr->w);
    svg_text(f, fr->x + fr->w / 2, bottom + 40, "middle", 0, title);
}

void svg_yaxis(const svg_frame *fr, const svg_axis *a, const char *name, const char *title,
               int right)
{
    FILE *f = fr->f;
    int n = tick_count(a);
    double side = right ? fr->x + fr->w : fr->x, bottom = fr->y + fr->h;
    if (!right) {
        fprintf(f, "<g class=\"grid %s\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n", name);
        for (int i = 0; i < n; i++) {
            double py = bottom - fr->h * i / (n - 1);
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", fr->x, py,
                    fr->x + fr->w, py);
        }
        fprintf(f, "</g>\n");
    }
    size_t widest = 0;
    for (int i = 0; i < n; i++) {
        char label[64];
        tick_label(a, a->lo + i * a->step, label, sizeof label);
        widest = strlen(label) > widest ? strlen(label) : widest;
        fprintf(f,
                "<g class=\"tick %s\" transform=\"translate(%.2f,%.2f)\"><line x2=\"%d\" "
                "stroke=\"black\"/><text x=\"%d\" y=\"4\" text-anchor=\"%s\">%s</text></g>\n",
                name, side, bottom - fr->h * i / (n - 1), right ? 5 : -5, right ? 8 : -8,
                right ? "start" : "end", label);
    }
    fprintf(f, "<path class=\"axis %s\" d=\"M%.2f %.2fV%.2f\" stroke=\"black\" fill=\"none\"/>\n",
            name, side, fr->y, bottom);
    /* The title clear of the widest label (about 7 px a character at 12 px). */
    double off = 8 + 7.0 * (double)widest + 12, ty = fr->y + fr->h / 2;
    double tx = right ? side + off : fmax(12, side - off);
    svg_text(f, tx, ty, "middle", right ? 90 : -90, title);
}

/* The pixel position of point i, or 0 when it cannot be drawn. */
static int point(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
                 const double *y, size_t i, double *px, double *py)
{
    *px = fr->x + svg_axis_px(xa, x ? x[i] : (double)(i + 1), fr->w);
    *py = fr->y + fr->h - svg_axis_px(ya, y[i], fr->h);
    return !isnan(*px) && !isnan(*py);
}

/* Whether point i has a drawable neighbour before it (bit 1) or after it (bit 2). */
static int neighbours(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
                      const double *y, size_t i, size_t n)
{
    double qx, qy;
    return (i > 0 && point(fr, xa, ya, x, y, i - 1, &qx, &qy)) |
           (i + 1 < n && point(fr, xa, ya, x, y, i + 1, &qx, &qy)) << 1;
}

void svg_series(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
                const double *y, size_t n, const svg_style *st)
{
    FILE *f = fr->f;
    double px, py;
    fprintf(f,
            "<g id=\"%s\" class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
            "stroke-linejoin=\"round\"",
            st->id, st->color);
    if (st->dash[0]) fprintf(f, " stroke-dasharray=\"%s\"", st->dash);
    fprintf(f, ">\n");
    /* One polyline per run of drawable points: a NaN breaks the line. A point with no drawn
     * neighbour (one epoch, or between NaNs) would be invisible as a line: a dot instead. */
    for (size_t i = 0; i < n; i++) {
        int nb = neighbours(fr, xa, ya, x, y, i, n);
        if (!point(fr, xa, ya, x, y, i, &px, &py)) continue;
        if (!nb)
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\" stroke=\"none\"/>\n",
                    px, py, st->color);
        else
            fprintf(f, "%s%.2f,%.2f%s", nb & 1 ? " " : "<polyline points=\"", px, py,
                    nb & 2 ? "" : "\"/>\n");
    }
    fprintf(f, "</g>\n");
}

void svg_dots(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
              const double *y, size_t n, const svg_style *st)
{
    FILE *f = fr->f;
    double px, py;
    fprintf(f, "<g id=\"%s\" fill=\"%s\" fill-opacity=\"0.6\">\n", st->id, st->color);
    for (size_t i = 0; i < n; i++)
        if (point(fr, xa, ya, x, y, i, &px, &py))
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2\"/>\n", px, py);
    fprintf(f, "</g>\n");
}

void svg_legend(const svg_frame *fr, const svg_style *st, size_t n)
{
    FILE *f = fr->f;
    double x = fr->x, y = fr->y - 18;
    fprintf(f, "<g class=\"legend\">\n");
    for (size_t i = 0; i < n; i++) {
        if (!st[i].dash)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 12, y,
                    st[i].color);
        else
            fprintf(f,
                    "<path d=\"M%.1f %.1fh24\" stroke=\"%s\" stroke-width=\"2\" "
                    "stroke-dasharray=\"%s\"/>\n",
                    x, y, st[i].color, st[i].dash[0] ? st[i].dash : "none");
        svg_text(f, x + 30, y + 4, "start", 0, st[i].label);
        x += 30 + 7.0 * (double)strlen(st[i].label) + 24;
    }
    fprintf(f, "</g>\n");
}
