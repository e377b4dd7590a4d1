/* clgrad train --plot and clgrad plot, as a user looks at them: the SVG is parsed by a real
 * XML parser (xmllint, libxml2-utils) and rendered once (rsvg-convert, librsvg2-bin), and
 * what is drawn is read back in data units through the tick labels: every series must sit
 * at the figures the run printed, on nice ticks, over a grid. */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"

static char out[1 << 16];

/* An element by name whatever its namespace (SVG's default one hides it from XPath). */
#define EL(name) "*[local-name()='" name "']"

/* xmllint's answer for an XPath expression (trailing white space cut); its exit status. */
static int xpath(const char *file, const char *expr, char *buf, size_t n)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "xmllint --xpath \"%s\" '%s' 2>/dev/null", expr, file);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t len = fread(buf, 1, n - 1, p);
    buf[len] = '\0';
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int xcount(const char *file, const char *nodes)
{
    char expr[1024], buf[64];
    snprintf(expr, sizeof expr, "count(%s)", nodes);
    cr_assert_eq(xpath(file, expr, buf, sizeof buf), 0, "xmllint --xpath '%s' failed", expr);
    return atoi(buf);
}

static void xstring(const char *file, const char *nodes, char *buf, size_t n)
{
    char expr[1024];
    snprintf(expr, sizeof expr, "string(%s)", nodes);
    cr_assert_eq(xpath(file, expr, buf, n), 0, "xmllint --xpath '%s' failed", expr);
}

/* Every value of attribute `name` over the nodes `expr` selects, in document order. */
static size_t xattrs(const char *file, const char *expr, const char *name, double *v, size_t max)
{
    static char buf[1 << 20];
    char key[32];
    cr_assert_eq(xpath(file, expr, buf, sizeof buf), 0, "xmllint --xpath '%s' failed", expr);
    snprintf(key, sizeof key, "%s=\"", name);
    size_t k = 0;
    for (const char *p = strstr(buf, key); p && k < max; p = strstr(p + 1, key))
        v[k++] = strtod(p + strlen(key), NULL);
    return k;
}

/* Fails the test unless file is well-formed XML. */
static void well_formed(const char *file)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", file);
    cr_assert_eq(system("command -v xmllint >/dev/null"), 0,
                 "xmllint is missing: apt-get install libxml2-utils (tools/dev test does)");
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s is not well-formed XML:\n%s", file,
                 out);
}

/* An axis read back from the picture: its tick positions and labels, checked to be 4 to 12
 * evenly spaced ticks on 1-2-5 steps (whole decades on a log axis). */
typedef struct axis {
    int n, log, vertical;
    double px[16], val[16];
} axis;

static void read_axis(const char *file, const char *name, int log, axis *a)
{
    char sel[256], buf[256];
    snprintf(sel, sizeof sel, "//" EL("g") "[@class='tick %s']", name);
    a->n = xcount(file, sel);
    a->log = log;
    a->vertical = strcmp(name, "x") != 0;
    cr_assert(a->n >= 4 && a->n <= 12, "%s: %d ticks on axis %s", file, a->n, name);
    for (int i = 0; i < a->n; i++) {
        char expr[512];
        snprintf(expr, sizeof expr, "(%s)[%d]/@transform", sel, i + 1);
        xstring(file, expr, buf, sizeof buf);
        double x, y;
        cr_assert_eq(sscanf(buf, "translate(%lf,%lf)", &x, &y), 2, "%s", buf);
        a->px[i] = a->vertical ? y : x;
        snprintf(expr, sizeof expr, "(%s)[%d]/" EL("text"), sel, i + 1);
        xstring(file, expr, buf, sizeof buf);
        char *end;
        a->val[i] = strtod(buf, &end);
        cr_assert(end != buf && *end == '\0', "tick label '%s' of axis %s", buf, name);
    }
    double step = 0, gap = a->px[1] - a->px[0];
    for (int i = 1; i < a->n; i++) {
        double d = log ? log10(a->val[i]) - log10(a->val[i - 1]) : a->val[i] - a->val[i - 1];
        if (i == 1) step = d;
        cr_assert(step > 0 && fabs(d - step) <= 1e-6 * step, "axis %s: uneven ticks", name);
        cr_assert(fabs(a->px[i] - a->px[i - 1] - gap) < 0.02, "axis %s: uneven spacing", name);
    }
    double m = step / pow(10, floor(log10(step) + 1e-9));
    int nice = log ? fabs(step - round(step)) < 1e-9
                   : fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6;
    cr_assert(nice, "axis %s: a tick every %g is not a 1-2-5 step", name, step);
}

/* The data value at pixel p along the axis. */
static double value_at(const axis *a, double p)
{
    double f = (p - a->px[0]) / (a->px[a->n - 1] - a->px[0]);
    if (a->log) return pow(10, log10(a->val[0]) + f * (log10(a->val[a->n - 1]) - log10(a->val[0])));
    return a->val[0] + f * (a->val[a->n - 1] - a->val[0]);
}

static double lowest(const axis *a) { return a->val[0]; }
static double highest(const axis *a) { return a->val[a->n - 1]; }

/* The points of series id (the vertices of its polylines, then its lone dots), in pixels. */
static size_t series_points(const char *file, const char *id, double *x, double *y, size_t max)
{
    static char buf[1 << 16];
    char expr[256];
    snprintf(expr, sizeof expr, "//" EL("g") "[@id='%s']", id);
    cr_assert_eq(xcount(file, expr), 1, "%s: no series '%s'", file, id);
    size_t k = 0;
    snprintf(expr, sizeof expr, "//" EL("g") "[@id='%s']/" EL("polyline"), id);
    if (xcount(file, expr) > 0) {
        snprintf(expr, sizeof expr, "//" EL("g") "[@id='%s']/" EL("polyline") "/@points", id);
        cr_assert_eq(xpath(file, expr, buf, sizeof buf), 0);
        for (char *p = strstr(buf, "points=\""); p; p = strstr(p, "points=\"")) {
            p += 8;
            size_t first = k;
            while (*p != '"' && k < max) {
                x[k] = strtod(p, &p);
                cr_assert_eq(*p, ',', "polyline points '%s'", buf);
                y[k++] = strtod(p + 1, &p);
                while (*p == ' ') p++;
            }
            cr_assert_geq(k - first, 2, "a polyline of one point in %s", id);
        }
    }
    snprintf(expr, sizeof expr, "//" EL("g") "[@id='%s']/" EL("circle"), id);
    size_t dots = (size_t)xcount(file, expr);
    if (dots == 0) return k;
    cr_assert_eq(xattrs(file, expr, "cx", x + k, max - k), dots);
    cr_assert_eq(xattrs(file, expr, "cy", y + k, max - k), dots);
    return k + dots;
}

/* Checks that series id has one point per epoch, at epoch i + 1 and value want[i]. */
static void series_is(const char *file, const char *id, const axis *xa, const axis *ya,
                      const double *want, size_t epochs)
{
    double x[64], y[64];
    size_t k = series_points(file, id, x, y, 64);
    cr_assert_eq(k, epochs, "%s: %zu points of %s for %zu epochs", file, k, id, epochs);
    double span = highest(ya) - lowest(ya);
    for (size_t i = 0; i < k; i++) {
        double e = value_at(xa, x[i]), v = value_at(ya, y[i]);
        cr_expect(fabs(e - (double)(i + 1)) < 0.01, "%s point %zu drawn at epoch %g", id, i, e);
        double tol = ya->log ? 0.01 * want[i] : 0.005 * span;
        cr_expect(fabs(v - want[i]) <= tol + 2e-6, "%s, epoch %zu: drawn at %g, printed %g", id,
                  i + 1, v, want[i]);
        cr_expect(v >= lowest(ya) - tol && v <= highest(ya) + tol, "%s off the axis", id);
    }
}

/* The figure after `key` ("loss ", "test loss ", "test acc ") on each epoch line. */
static size_t printed(const char *text, const char *key, double *v, size_t max)
{
    size_t k = 0;
    for (const char *line = strstr(text, "epoch "); line && k < max;
         line = strstr(line + 1, "\nepoch ")) {
        const char *end = strchr(line + 1, '\n'), *p = strstr(line, key);
        if (!p || (end && p > end)) break;
        v[k++] = strtod(p + strlen(key), NULL);
    }
    return k;
}

static void grid_matches(const char *file, const axis *a, const char *name)
{
    char sel[256];
    snprintf(sel, sizeof sel, "//" EL("g") "[@class='grid %s']/" EL("line"), name);
    cr_expect_eq(xcount(file, sel), a->n, "%s: %d grid lines for %d ticks of axis %s", file,
                 xcount(file, sel), a->n, name);
}

static int has_text(const char *file, const char *text)
{
    char sel[256];
    snprintf(sel, sizeof sel, "//" EL("text") "[.='%s']", text);
    return xcount(file, sel) > 0;
}

static int y_is_log(const char *file) { return has_text(file, "loss (log scale)"); }

/* Noisy regression rows (the loss stays well above 0): d features ~ U(-1, 1). */
static void write_regression(const char *path, size_t n, size_t d, uint64_t u)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++) {
        double y = 0.5;
        for (size_t j = 0; j <= d; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            double x = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
            if (j == d) {
                fprintf(f, "%.6f\n", y + 0.3 * x);
                break;
            }
            y += (j + 1.0) * x;
            fprintf(f, "%.6f,", x);
        }
    }
    fclose(f);
}

/* Three overlapping blobs of 2-D points, labels 0..2. */
static void write_blobs(const char *path, size_t n, uint64_t u)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        double x[2];
        for (int j = 0; j < 2; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (double)(u >> 11) / 9007199254740992.0 * 3 - 1.5;
        }
        fprintf(f, "%.5f,%.5f,%d\n", x[0] + 1.5 * (c == 1), x[1] + 1.5 * (c == 2), c);
    }
    fclose(f);
}

/* Renders the SVG to a PNG and checks the PNG: its signature, size as in the SVG, content. */
static void renders(const char *svg, int width, int height)
{
    char png[300], cmd[1024];
    cr_assert_eq(system("command -v rsvg-convert >/dev/null"), 0,
                 "rsvg-convert is missing: apt-get install librsvg2-bin (tools/dev test does)");
    snprintf(png, sizeof png, "%s.png", svg);
    snprintf(cmd, sizeof cmd, "rsvg-convert '%s' -o '%s'", svg, png);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "rsvg-convert: %s", out);
    FILE *f = fopen(png, "rb");
    cr_assert_not_null(f);
    unsigned char h[24];
    cr_assert_eq(fread(h, 1, 24, f), 24);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    cr_assert(!memcmp(h, "\x89PNG\r\n\x1a\n", 8), "not a PNG");
    int w = h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
    int ht = h[20] << 24 | h[21] << 16 | h[22] << 8 | h[23];
    cr_expect(w == width && ht == height, "PNG of %dx%d", w, ht);
    cr_expect_gt(size, 4000, "a %ld-byte PNG: nearly blank", size); /* a blank one is ~2 KB */
}

/* Regression (user report): two tick labels per axis, no grid, no test loss. Now: nice
 * ticks on both axes, a grid line per tick, train and test loss at the printed figures,
 * and a file named .Svg (any case) accepted. */
Test(cli_plot, regression_plot_has_ticks_grid_and_both_losses, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256], test[256], svg[256], cmd[1024];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(svg, sizeof svg, "%s/curve.Svg", dir);
    write_regression(train, 600, 4, 1);
    write_regression(test, 200, 4, 2);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --test %s --epochs 7 --lr 0.01 "
             "--no-progress --plot %s",
             train, test, svg);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double loss[16], tloss[16];
    cr_assert_eq(printed(out, "loss ", loss, 16), 7, "%s", out);
    cr_assert_eq(printed(out, "test loss ", tloss, 16), 7, "%s", out);
    well_formed(svg);
    axis xa, ya;
    read_axis(svg, "x", 0, &xa);
    read_axis(svg, "y", y_is_log(svg), &ya);
    grid_matches(svg, &xa, "x");
    grid_matches(svg, &ya, "y");
    cr_expect(lowest(&xa) <= 1 && highest(&xa) >= 7, "epochs 1..7 on an axis %g..%g", lowest(&xa),
              highest(&xa));
    series_is(svg, "train-loss", &xa, &ya, loss, 7);
    series_is(svg, "test-loss", &xa, &ya, tloss, 7);
    cr_expect_eq(xcount(svg, "//" EL("g") "[@id='test-acc']"), 0, "accuracy of a regression?");
    cr_expect_eq(xcount(svg, "//" EL("g") "[@class='tick acc']"), 0);
    cr_expect(has_text(svg, "epoch") && has_text(svg, ya.log ? "loss (log scale)" : "loss"),
              "axis titles");
    cr_expect(has_text(svg, "train loss") && has_text(svg, "test loss"), "legend");
    renders(svg, 720, 420);
}

/* Regression (user report): classification plots ran the loss axis from min to max, without
 * the test loss. Now: the loss axis from a tick at or below the smallest loss to one at or
 * above the largest, and test accuracy on a right axis of its own from 0 to 1. */
Test(cli_plot, classification_plot_draws_test_accuracy_on_its_own_axis, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256], test[256], svg[256], cmd[1024];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(svg, sizeof svg, "%s/curve.svg", dir);
    write_blobs(train, 600, 3);
    write_blobs(test, 150, 4);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --test %s --model softmax --epochs 5 "
             "--no-progress --plot %s",
             train, test, svg);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double loss[16], tloss[16], acc[16];
    cr_assert_eq(printed(out, "loss ", loss, 16), 5, "%s", out);
    cr_assert_eq(printed(out, "test loss ", tloss, 16), 5, "%s", out);
    cr_assert_eq(printed(out, "test acc ", acc, 16), 5, "%s", out);
    well_formed(svg);
    axis xa, ya, aa;
    read_axis(svg, "x", 0, &xa);
    read_axis(svg, "y", y_is_log(svg), &ya);
    read_axis(svg, "acc", 0, &aa);
    cr_expect(lowest(&aa) == 0 && highest(&aa) == 1, "accuracy axis %g..%g", lowest(&aa),
              highest(&aa));
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 5; i++) lo = fmin(lo, fmin(loss[i], tloss[i]));
    for (int i = 0; i < 5; i++) hi = fmax(hi, fmax(loss[i], tloss[i]));
    cr_expect(lowest(&ya) <= lo && highest(&ya) >= hi, "losses %g..%g on an axis %g..%g", lo, hi,
              lowest(&ya), highest(&ya));
    cr_expect(highest(&ya) - lowest(&ya) < 4 * (hi - lo) + 1e-9, "an axis far wider than the data");
    series_is(svg, "train-loss", &xa, &ya, loss, 5);
    series_is(svg, "test-loss", &xa, &ya, tloss, 5);
    series_is(svg, "test-acc", &xa, &aa, acc, 5);
    cr_expect(has_text(svg, "test accuracy"), "the right axis' title and legend");
}

/* One epoch: one value per series, which must still get a spread of ticks and a dot. */
Test(cli_plot, a_single_epoch_is_a_dot_on_a_real_axis, .timeout = 60)
{
    char *dir = test_tmpdir();
    char svg[256], cmd[1024];
    snprintf(svg, sizeof svg, "%s/one.svg", dir);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --synthetic 300x2 --epochs 1 --no-progress --plot %s", svg);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double loss[2];
    cr_assert_eq(printed(out, "loss ", loss, 2), 1, "%s", out);
    well_formed(svg);
    axis xa, ya;
    read_axis(svg, "x", 0, &xa);
    read_axis(svg, "y", 0, &ya);
    cr_expect_eq(xcount(svg, "//" EL("g") "[@id='train-loss']/" EL("circle")), 1);
    series_is(svg, "train-loss", &xa, &ya, loss, 1);
    cr_expect_eq(xcount(svg, "//" EL("g") "[@id='test-loss']"), 0, "no test set, no test loss");
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Regression (user report): --plot curve.png trained, then wrote SVG into a .png file.
 * Now refused at once, naming the option and the path: no epoch runs, no file. */
Test(cli_plot, a_png_name_is_refused_before_training, .timeout = 120)
{
    char *dir = test_tmpdir();
    const char *names[] = {"curve.png", "curve.svg.png", "svg", "curve.svgz"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[256], cmd[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        /* Hours of training, were it to start (cut at 20 s, which fails the test). */
        snprintf(cmd, sizeof cmd,
                 "timeout 20 tools/clgrad train --synthetic 1000000x32 --epochs 1000 --no-progress "
                 "--plot %s",
                 path);
        double t0 = seconds();
        int rc = run_in_build(cmd, out, sizeof out);
        double t = seconds() - t0;
        cr_expect_neq(rc, 0, "%s accepted", names[i]);
        cr_expect(strstr(out, "--plot") && strstr(out, path), "message: %s", out);
        cr_expect(strstr(out, "epoch") == NULL, "training ran: %s", out);
        cr_expect_lt(t, 5.0, "refused after %.1f s", t);
        cr_expect_neq(access(path, F_OK), 0, "%s was written", path);
        if (i == 0) {
            out[strcspn(out, "\n")] = '\0';
            bad_input_record("clgrad train --plot curve.png", "exit 2", out);
        }
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "tools/clgrad plot --synthetic 100x2 --output %s/s.png", dir);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--output") && strstr(out, "s.png"), "message: %s", out);
}

/* Least-squares slope and intercept of the (x, y) points. */
static void fit_line(const double *x, const double *y, size_t n, double *slope, double *at0)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) mx += x[i] / (double)n, my += y[i] / (double)n;
    for (size_t i = 0; i < n; i++)
        sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
    *slope = sxy / sxx;
    *at0 = my - *slope * mx;
}

/* d2l's scatter(features[:, 1], labels) of the synthetic data (y = 2 x0 - 3.4 x1 + 4.2):
 * the dots read back in data units must show the slope -3.4 of feature 1; with --model the
 * trained model's line must have that slope and pass through y = 4.2 at x1 = 0 (x0 at its
 * mean, about 0). */
Test(cli_plot, scatter_of_a_feature_against_the_target, .timeout = 120)
{
    char *dir = test_tmpdir();
    char svg[256], svg2[256], model[256], cmd[1024];
    snprintf(svg, sizeof svg, "%s/scatter.svg", dir);
    snprintf(svg2, sizeof svg2, "%s/line.svg", dir);
    snprintf(model, sizeof model, "%s/m.clg", dir);
    snprintf(cmd, sizeof cmd, "tools/clgrad plot --synthetic 500x2 --feature 1 --output %s", svg);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    well_formed(svg);
    axis xa, ya;
    read_axis(svg, "x", 0, &xa);
    read_axis(svg, "y", 0, &ya);
    grid_matches(svg, &xa, "x");
    grid_matches(svg, &ya, "y");
    static double x[600], y[600];
    const char *dots = "//" EL("g") "[@id='data']/" EL("circle");
    cr_assert_eq(xattrs(svg, dots, "cx", x, 600), 500);
    cr_assert_eq(xattrs(svg, dots, "cy", y, 600), 500);
    for (size_t i = 0; i < 500; i++) {
        x[i] = value_at(&xa, x[i]);
        y[i] = value_at(&ya, y[i]);
        cr_assert(x[i] >= lowest(&xa) && x[i] <= highest(&xa), "a dot off the x axis");
        cr_assert(y[i] >= lowest(&ya) && y[i] <= highest(&ya), "a dot off the y axis");
    }
    double slope, at0;
    fit_line(x, y, 500, &slope, &at0);
    cr_expect(fabs(slope + 3.4) < 0.5, "the dots' slope is %g, feature 1's weight -3.4", slope);
    cr_expect_eq(xcount(svg, "//*[@id='prediction']"), 0, "a line without --model");
    cr_expect(has_text(svg, "feature 1") && has_text(svg, "target"), "axis titles");
    renders(svg, 720, 420);

    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --synthetic 500x2 --epochs 5 --no-progress --save %s", model);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad plot --synthetic 500x2 --feature 1 --model %s --output %s", model, svg2);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    well_formed(svg2);
    read_axis(svg2, "x", 0, &xa);
    read_axis(svg2, "y", 0, &ya);
    size_t k = series_points(svg2, "prediction", x, y, 600);
    cr_assert_geq(k, 20, "%zu points on the model's line", k);
    for (size_t i = 0; i < k; i++) x[i] = value_at(&xa, x[i]), y[i] = value_at(&ya, y[i]);
    fit_line(x, y, k, &slope, &at0);
    cr_expect(fabs(slope + 3.4) < 0.1, "the model's line has slope %g, not -3.4", slope);
    cr_expect(fabs(at0 - 4.2) < 0.3, "the model's line is at %g at x1 = 0, not 4.2", at0);
    cr_expect_eq(xcount(svg2, "//" EL("g") "[@id='data']/" EL("circle")), 500);
    cr_expect(has_text(svg2, "model"), "legend");
}

/* A model with several outputs has no single line; a feature past the data's is refused. */
Test(cli_plot, scatter_refusals, .timeout = 60)
{
    char *dir = test_tmpdir();
    char data[256], model[256], svg[256], cmd[1024];
    snprintf(data, sizeof data, "%s/blobs.csv", dir);
    snprintf(model, sizeof model, "%s/softmax.clg", dir);
    snprintf(svg, sizeof svg, "%s/s.svg", dir);
    write_blobs(data, 90, 5);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --model softmax --epochs 1 --no-progress "
             "--save %s",
             data, model);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "tools/clgrad plot --data %s --no-header --model %s --output %s",
             data, model, svg);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "3 outputs") != NULL, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    bad_input_record("clgrad plot --model (a softmax model)", "exit 1", out);
    cr_expect_neq(access(svg, F_OK), 0, "a plot was written");
    snprintf(cmd, sizeof cmd, "tools/clgrad plot --data %s --no-header --feature 2 --output %s",
             data, svg);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "--feature 2") != NULL, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    bad_input_record("clgrad plot --feature 2 on 2 features", "exit 1", out);
    cr_expect_neq(access(svg, F_OK), 0, "a plot was written");
}

/* clgrad plot on the one option parser: --output is checked before any data is made
 * (2·10^6 synthetic rows would take a while), and every option takes the "=" form. */
Test(cli_plot, output_checked_first_and_the_equals_form, .timeout = 60)
{
    char *dir = test_tmpdir();
    char cmd[1024], want[600], svg[300];
    snprintf(cmd, sizeof cmd,
             "timeout 20 tools/clgrad plot --synthetic 2000000x2 --output %s/none/s.svg", dir);
    double t0 = seconds();
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 2, "%s", out);
    snprintf(want, sizeof want, "clgrad plot: --output: directory '%s/none' does not exist\n", dir);
    cr_expect(strstr(out, want) && strstr(out, "(see clgrad plot --help)"), "wanted \"%s\":\n%s",
              want, out);
    cr_expect_lt(seconds() - t0, 5.0, "refused after %.1f s", seconds() - t0);
    snprintf(svg, sizeof svg, "%s/sub.svg", dir);
    cr_assert_eq(mkdir(svg, 0755), 0);
    snprintf(cmd, sizeof cmd, "tools/clgrad plot --synthetic 100 --output %s", svg);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 2, "%s", out);
    snprintf(want, sizeof want, "clgrad plot: --output: '%s' is a directory\n", svg);
    cr_expect(strstr(out, want), "wanted \"%s\":\n%s", want, out);

    snprintf(svg, sizeof svg, "%s/s.svg", dir);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad plot --synthetic=300x3 --feature=2 --seed=3 --noise=0.5 --output=%s",
             svg);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(want, sizeof want, "wrote %s: feature 2 against the target, 300 of 300 rows\n", svg);
    cr_expect_str_eq(out, want);
    well_formed(svg);
    cr_expect(has_text(svg, "feature 2") && has_text(svg, "synthetic 300x3"), "%s", svg);
    cr_expect_eq(xcount(svg, "//" EL("g") "[@id='data']/" EL("circle")), 300);
}
