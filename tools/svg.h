/* SVG primitives shared by clgrad train --plot (history.c) and clgrad plot (cmd_plot.c):
 * axes with "nice" ticks, a light grid, series broken at NaN, dots, a legend, escaping. */
#ifndef CLGRAD_SVG_H
#define CLGRAD_SVG_H
#include <stddef.h>
#include <stdio.h>

/* An axis from lo to hi with a tick every step; with log set, lo, hi and step are
 * exponents of ten (ticks at 10^lo, 10^(lo+step), ...). */
typedef struct svg_axis {
    double lo, hi, step;
    int log;
} svg_axis;

/* The plot area, in pixels, of the picture being written to f. */
typedef struct svg_frame {
    FILE *f;
    double x, y, w, h;
} svg_frame;

/* One series: its id in the SVG, legend label, colour and stroke-dasharray ("" for
 * solid; NULL for dots, which svg_series does not take). */
typedef struct svg_style {
    const char *id, *label, *color, *dash;
} svg_style;

/* 1 when path ends with ".svg" (any case); otherwise prints
 * "clgrad CMD: OPT: 'path' ..." and returns 0. */
int svg_path_ok(const char *cmd, const char *opt, const char *path);
/* Widens [*min, *max] to the finite values of v[0..n) (start from INFINITY, -INFINITY);
 * returns how many there were. */
size_t svg_range(const double *v, size_t n, double *min, double *max);
/* A nice axis (1-2-5 steps, about 5 to 8 ticks) from at or below min to at or above max;
 * integer: whole-number steps (epochs); allow_log: log scale when min > 0 and
 * max / min > 1000. A constant or empty range still gets a non-zero span. */
void svg_axis_fit(svg_axis *a, double min, double max, int integer, int allow_log);
/* The pixel of v along an axis of the given length (from 0 at lo); NaN when v cannot
 * be drawn there (not finite, or <= 0 on a log axis). */
double svg_axis_px(const svg_axis *a, double v, double length);

/* Opens / closes the picture (width × height, white background). */
void svg_begin(FILE *f, int width, int height);
void svg_end(FILE *f);
/* Writes s with &, <, >, " and ' escaped. */
void svg_escape(FILE *f, const char *s);
/* <text> at (x, y); anchor start|middle|end; rotate: degrees around (x, y). */
void svg_text(FILE *f, double x, double y, const char *anchor, double rotate, const char *text);

/* The bottom axis: ticks, labels, vertical grid lines and a title. */
void svg_xaxis(const svg_frame *fr, const svg_axis *a, const char *title);
/* A left (name "y", with horizontal grid lines) or right axis (no grid: the left one's
 * grid is the picture's); its ticks are <g class="tick NAME">. */
void svg_yaxis(const svg_frame *fr, const svg_axis *a, const char *name, const char *title,
               int right);
/* A line through (x[i], y[i]) (x NULL: x[i] = i + 1), broken where a point cannot be
 * drawn; points with no neighbour to join are drawn as dots. */
void svg_series(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
                const double *y, size_t n, const svg_style *st);
/* A dot at each drawable (x[i], y[i]), in a <g id=...>. */
void svg_dots(const svg_frame *fr, const svg_axis *xa, const svg_axis *ya, const double *x,
              const double *y, size_t n, const svg_style *st);
/* One row of legend entries above the plot area. */
void svg_legend(const svg_frame *fr, const svg_style *st, size_t n);
#endif
