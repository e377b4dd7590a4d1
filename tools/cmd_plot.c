/* clgrad plot: an SVG scatter of one feature against the target (d2l's
 * scatter(features[:, 1], labels)), with a saved model's prediction line over it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "data_args.h"
#include "svg.h"

#define PLOT_MAX_DOTS 10000 /* more rows: every k-th, so the file stays small */
#define PLOT_LINE_POINTS 101

typedef struct plot_args {
    data_args data;
    const char *model, *output;
    size_t feature;
} plot_args;

static const cli_opt plot_options[] = {
    CLI_INT("--feature", "K", plot_args, feature, 0, 1 << 30, NULL,
            "the feature (0-based) drawn against the target"),
    CLI_STR("--model", "FILE", plot_args, model,
            "a one-output checkpoint: its prediction along the feature, the others at their mean"),
    CLI_STR("--output", "FILE.svg", plot_args, output, "the SVG to write"), CLI_END};

static const char *const plot_required[] = {"--output", NULL};

/* Returns CLI_RUN or the exit status (0 after --help, 2 after a usage error). */
static int parse(plot_args *a, int argc, char **argv)
{
    cli_group groups[] = {{"options", plot_options, a, NULL, NULL},
                          data_file_group(&a->data),
                          data_synthetic_group(&a->data)};
    cli_command c = {
        .name = "plot",
        .summary = "SVG scatter of one feature against the target (d2l's scatter(features[:, 1],\n"
                   "labels)), with a saved model's prediction line over it.",
        CLI_GROUPS(groups),
        .required = plot_required,
        .notes = "Beyond 10000 rows every k-th row is drawn."};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    char why[600];
    if (!svg_path_ok("plot", "--output", a->output)) return 2;
    if (cli_output_check(a->output, 0, why, sizeof why))
        return cli_usage_error(&c, "--output: %s", why);
    return CLI_RUN;
}

/* The rows' feature column and targets, as doubles (every k-th row when there are many). */
typedef struct points {
    double *x, *y, *mean; /* mean: of each feature over all rows */
    float *X;             /* all rows, n × d */
    size_t n, d, drawn;
} points;

static void points_free(points *p)
{
    free(p->x);
    free(p->y);
    free(p->mean);
    free(p->X);
}

static int points_load(clg_context *ctx, clg_dataset *ds, size_t feature, points *p,
                       const char *src)
{
    p->n = clg_dataset_size(ds);
    p->d = clg_dataset_features(ds);
    if (clg_dataset_targets(ds) != 1 || feature >= p->d) {
        fprintf(stderr,
                "clgrad plot: %s has %zu feature(s) and %zu target(s): --feature %zu needs "
                "a feature below %zu and one target\n",
                src, p->d, clg_dataset_targets(ds), feature, p->d);
        return -1;
    }
    size_t stride = (p->n + PLOT_MAX_DOTS - 1) / PLOT_MAX_DOTS;
    float *Y = malloc(p->n * sizeof *Y);
    p->X = malloc(p->n * p->d * sizeof *p->X);
    p->x = malloc((p->n / stride + 1) * sizeof *p->x);
    p->y = malloc((p->n / stride + 1) * sizeof *p->y);
    p->mean = calloc(p->d, sizeof *p->mean);
    clg_status s = Y && p->X && p->x && p->y && p->mean ? clg_dataset_download(ds, p->X, Y)
                                                        : CLG_ERR_HOST_MEMORY;
    for (size_t i = 0; s == CLG_OK && i < p->n; i++) {
        for (size_t j = 0; j < p->d; j++) p->mean[j] += p->X[i * p->d + j] / (double)p->n;
        if (i % stride) continue;
        p->x[p->drawn] = p->X[i * p->d + feature];
        p->y[p->drawn++] = Y[i];
    }
    free(Y);
    if (s != CLG_OK) return cli_fail(ctx, s), -1;
    if (stride > 1)
        fprintf(stderr, "clgrad plot: %zu rows: drawing one in %zu (%zu dots)\n", p->n, stride,
                p->drawn);
    return 0;
}

/* The model's output along the feature's range, the other features at their mean. */
static int prediction(clg_context *ctx, clg_model *m, const points *p, size_t feature, double lo,
                      double hi, double *lx, double *ly)
{
    float *rows = malloc(PLOT_LINE_POINTS * p->d * sizeof *rows), out[PLOT_LINE_POINTS];
    if (!rows) return -1;
    for (size_t i = 0; i < PLOT_LINE_POINTS; i++) {
        lx[i] = lo + (hi - lo) * (double)i / (PLOT_LINE_POINTS - 1);
        for (size_t j = 0; j < p->d; j++) rows[i * p->d + j] = (float)p->mean[j];
        rows[i * p->d + feature] = (float)lx[i];
    }
    clg_status s = clg_predict(m, rows, PLOT_LINE_POINTS, out);
    free(rows);
    if (s != CLG_OK) return cli_fail(ctx, s), -1;
    for (size_t i = 0; i < PLOT_LINE_POINTS; i++) ly[i] = out[i];
    return 0;
}

static int write_scatter(const plot_args *a, const points *p, const double *lx, const double *ly)
{
    FILE *f = fopen(a->output, "w");
    if (!f) {
        perror(a->output);
        return -1;
    }
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    svg_range(p->x, p->drawn, &xmin, &xmax);
    svg_range(p->y, p->drawn, &ymin, &ymax);
    if (lx) svg_range(ly, PLOT_LINE_POINTS, &ymin, &ymax); /* the line stays inside the frame */
    svg_axis xa, ya;
    svg_axis_fit(&xa, xmin, xmax, 0, 0);
    svg_axis_fit(&ya, ymin, ymax, 0, 0);
    svg_frame fr = {f, 90, 50, 550, 300};
    char title[64], src[600];
    snprintf(title, sizeof title, "feature %zu", a->feature);
    if (a->data.csv)
        snprintf(src, sizeof src, "%s", a->data.csv);
    else
        snprintf(src, sizeof src, "synthetic %zux%zu", a->data.synthetic.n, a->data.synthetic.d);
    svg_begin(f, 720, 420);
    svg_text(f, fr.x + fr.w, 20, "end", 0, src);
    svg_xaxis(&fr, &xa, title);
    svg_yaxis(&fr, &ya, "y", "target", 0);
    svg_style st[2] = {{"data", "data", "#1f77b4", NULL}, {"prediction", "model", "#d62728", ""}};
    svg_dots(&fr, &xa, &ya, p->x, p->y, p->drawn, &st[0]);
    if (lx) svg_series(&fr, &xa, &ya, lx, ly, PLOT_LINE_POINTS, &st[1]);
    svg_legend(&fr, st, lx ? 2 : 1);
    svg_end(f);
    if (fclose(f) != 0) {
        perror(a->output);
        return -1;
    }
    return 0;
}

/* The checkpoint, if any: one output and the data's width. */
static clg_model *open_model(const plot_args *a, clg_context *ctx)
{
    clg_model *m = NULL;
    clg_status s = clg_model_load(ctx, a->model, &m, NULL, 0);
    if (s != CLG_OK) {
        cli_fail(ctx, s);
        return NULL;
    }
    if (clg_model_outputs(m) != 1) {
        fprintf(stderr, "clgrad plot: --model %s has %zu outputs: the line needs one\n", a->model,
                clg_model_outputs(m));
        clg_model_destroy(m);
        return NULL;
    }
    return m;
}

int cmd_plot(int argc, char **argv)
{
    plot_args a = {0};
    data_args_init(&a.data);
    int rc = parse(&a, argc, argv);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_model *m = a.model ? open_model(&a, ctx) : NULL;
    /* IDX files hold class ids, which load only as classification data. */
    const char *csv = a.data.csv;
    int idx = csv && !strstr(csv, ".csv") && !strstr(csv, ".npy") &&
              (strstr(csv, "ubyte") || strstr(csv, "idx"));
    clg_dataset *ds = !a.model || m ? data_args_load(&a.data, ctx, idx ? 1 : 0) : NULL;
    points p = {0};
    const char *src = csv ? csv : "the synthetic data";
    int ok = ds && points_load(ctx, ds, a.feature, &p, src) == 0;
    if (ok && m && clg_model_inputs(m) != p.d) {
        fprintf(stderr, "clgrad plot: --model %s takes %zu inputs, %s has %zu features\n", a.model,
                clg_model_inputs(m), src, p.d);
        ok = 0;
    }
    double lx[PLOT_LINE_POINTS], ly[PLOT_LINE_POINTS], lo = INFINITY, hi = -INFINITY;
    if (ok && m) {
        svg_range(p.x, p.drawn, &lo, &hi);
        ok = prediction(ctx, m, &p, a.feature, lo, hi, lx, ly) == 0;
    }
    if (ok) ok = write_scatter(&a, &p, m ? lx : NULL, ly) == 0;
    if (ok)
        printf("wrote %s: feature %zu against the target, %zu of %zu rows%s\n", a.output, a.feature,
               p.drawn, p.n, m ? ", with the model's prediction line" : "");
    points_free(&p);
    clg_dataset_destroy(ds);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return ok ? 0 : 1;
}
