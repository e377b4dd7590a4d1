/* clgrad solve: the closed-form least-squares solution on the same data as train, its
 * loss (and a test file's), the coefficients as CSV, the solution as a Linear model. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "data_args.h"
#include "json.h"
#include "model_spec.h"
#include "report.h"

typedef struct solve_args {
    data_args data;
    double ridge;
    const char *test, *test_labels, *output, *save;
    int json;
} solve_args;

static const cli_opt solve_options[] = {
    CLI_REAL("--ridge", "LAMBDA", solve_args, ridge, 0, DBL_MAX, NULL,
             "L2 penalty: solves (X'X + LAMBDA I) w = X'y"),
    CLI_STR("--test", "FILE", solve_args, test, "a test set: its loss under the solution"),
    CLI_STR("--test-labels", "FILE", solve_args, test_labels, "the labels of an .npy --test file"),
    CLI_STR("--output", "FILE", solve_args, output, "the coefficients as CSV (name,value rows)"),
    CLI_STR("--save", "FILE", solve_args, save,
            "the solution as a Linear model checkpoint (for eval, predict, plot)"),
    CLI_FLAG("--json", solve_args, json, 1, "one JSON object on stdout instead of the text"),
    CLI_END};

/* A solution and what it scores. */
typedef struct solution {
    size_t n, d, q;
    float *w, *b; /* d×q row-major, q */
    clg_model *model;
    double loss;      /* squared loss on the data */
    size_t test_n;    /* --test */
    double test_loss; /* NaN without --test */
} solution;

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b) return 0;
    if (!strcmp(a, b)) return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* --output and --save: writable, different, and none of the input files. */
static int check_outputs(cli_command *c, const solve_args *a)
{
    const char *names[2] = {"--output", "--save"}, *paths[2] = {a->output, a->save};
    const char *inputs[3] = {a->data.csv, a->data.labels, a->test};
    char why[512];
    if (a->test_labels && !a->test) return cli_usage_error(c, "--test-labels needs --test FILE");
    for (int i = 0; i < 2; i++) {
        if (!paths[i]) continue;
        if (cli_output_check(paths[i], i == 1, why, sizeof why))
            return cli_usage_error(c, "%s: %s", names[i], why);
        for (int k = 0; k < 3; k++)
            if (same_file(paths[i], inputs[k]))
                return cli_usage_error(c, "%s: '%.200s' is an input file", names[i], paths[i]);
    }
    if (same_file(a->output, a->save))
        return cli_usage_error(c, "--output and --save name the same file");
    return CLI_RUN;
}

/* A Linear(d → q) holding the solution. */
static clg_status make_model(clg_context *ctx, solution *s)
{
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = s->w;
    init.bias = s->b;
    clg_status st = clg_model_create(ctx, &s->model);
    if (st == CLG_OK) st = clg_model_add_linear(s->model, s->d, s->q, &init);
    return st;
}

/* The test file's squared loss; 1 after printing why it has none. */
static int test_loss(clg_context *ctx, solve_args *a, solution *s)
{
    clg_dataset *ds = data_file_load(ctx, a->test, a->test_labels, &a->data, 0);
    if (!ds) return 1;
    clg_eval_result res;
    clg_status st = CLG_OK;
    int rc = 1;
    if (clg_dataset_features(ds) != s->d || clg_dataset_targets(ds) != s->q)
        fprintf(stderr, "clgrad: %s has %zu features and %zu targets, the data %zu and %zu\n",
                a->test, clg_dataset_features(ds), clg_dataset_targets(ds), s->d, s->q);
    else if ((st = clg_evaluate(s->model, ds, CLG_LOSS_SQUARED, &res)) != CLG_OK)
        cli_fail(ctx, st);
    else {
        s->test_n = res.n;
        s->test_loss = res.loss;
        rc = 0;
    }
    clg_dataset_destroy(ds);
    return rc;
}

/* The coefficients as CSV: "name,value" (one column per output: value_0, ...), rows w0..,
 * then b. */
static int write_coefficients(const char *path, const solution *s)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clgrad: CLG_ERR_IO: %s: cannot be written\n", path);
        return 1;
    }
    fputs("name", f);
    for (size_t k = 0; k < s->q; k++) {
        if (s->q == 1)
            fputs(",value", f);
        else
            fprintf(f, ",value_%zu", k);
    }
    fputc('\n', f);
    for (size_t i = 0; i <= s->d; i++) {
        const float *row = i < s->d ? s->w + i * s->q : s->b;
        if (i < s->d)
            fprintf(f, "w%zu", i);
        else
            fputs("b", f);
        for (size_t k = 0; k < s->q; k++) fprintf(f, ",%.9g", row[k]);
        fputc('\n', f);
    }
    int bad = ferror(f) | fclose(f);
    if (bad) fprintf(stderr, "clgrad: CLG_ERR_IO: writing %s failed\n", path);
    return bad ? 1 : 0;
}

static void json_coefficients(json_writer *j, const solution *s)
{
    json_key(j, "weights"); /* one output: [w0, ...]; several: [[w0 of each output], ...] */
    json_array_begin(j);
    for (size_t i = 0; i < s->d; i++) {
        if (s->q > 1) json_array_begin(j);
        for (size_t k = 0; k < s->q; k++) json_number(j, s->w[i * s->q + k]);
        if (s->q > 1) json_array_end(j);
    }
    json_array_end(j);
    json_key(j, "bias");
    if (s->q > 1) json_array_begin(j);
    for (size_t k = 0; k < s->q; k++) json_number(j, s->b[k]);
    if (s->q > 1) json_array_end(j);
}

static int print_json(const solve_args *a, const solution *s)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "solve");
    json_field_str(&j, "data", a->data.csv);
    json_field_int(&j, "samples", (long long)s->n);
    json_field_int(&j, "features", (long long)s->d);
    json_field_int(&j, "outputs", (long long)s->q);
    json_field_num(&j, "ridge", a->ridge);
    json_coefficients(&j, s);
    json_field_str(&j, "loss_kind", "squared");
    json_field_num(&j, "loss", s->loss);
    json_key(&j, "test");
    if (a->test) {
        json_object_begin(&j);
        json_field_str(&j, "data", a->test);
        json_field_int(&j, "samples", (long long)s->test_n);
        json_field_num(&j, "loss", s->test_loss);
        json_object_end(&j);
    } else {
        json_null(&j);
    }
    json_key(&j, "synthetic"); /* the truth and the errors against it */
    if (!a->data.csv && s->q == 1) {
        float max_w, err_b;
        report_errors(&a->data, s->w, s->d, s->b[0], &max_w, &err_b);
        json_object_begin(&j);
        json_key(&j, "true_weights");
        json_array_begin(&j);
        for (size_t i = 0; i < s->d; i++) json_number(&j, a->data.true_w[i]);
        json_array_end(&j);
        json_field_num(&j, "true_bias", a->data.true_b);
        json_field_num(&j, "max_weight_error", max_w);
        json_field_num(&j, "bias_error", err_b);
        json_object_end(&j);
    } else {
        json_null(&j);
    }
    json_field_str(&j, "output", a->output);
    json_field_str(&j, "saved", a->save);
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

static void print_text(const solve_args *a, const solution *s)
{
    char fig[32];
    report_solution(&a->data, s->w, s->d, s->q, s->b);
    printf("loss (squared) %s\n", cli_figure(s->loss, fig, sizeof fig));
    if (a->test)
        printf("test loss (squared) %s (%zu samples)\n", cli_figure(s->test_loss, fig, sizeof fig),
               s->test_n);
    if (a->output) printf("coefficients written to %s\n", a->output);
    if (a->save) printf("model saved to %s\n", a->save);
}

/* Solves, scores, writes; the exit status. */
static int run(clg_context *ctx, clg_dataset *ds, solve_args *a)
{
    solution s = {.n = clg_dataset_size(ds),
                  .d = clg_dataset_features(ds),
                  .q = clg_dataset_targets(ds),
                  .test_loss = NAN};
    s.w = malloc(s.d * s.q * sizeof *s.w), s.b = malloc(s.q * sizeof *s.b);
    clg_status st =
        s.w && s.b ? clg_solve_normal(ctx, ds, a->ridge, s.w, s.b) : CLG_ERR_HOST_MEMORY;
    clg_eval_result res;
    if (st == CLG_OK) st = make_model(ctx, &s);
    if (st == CLG_OK) st = clg_evaluate(s.model, ds, CLG_LOSS_SQUARED, &res);
    if (st == CLG_OK) s.loss = res.loss;
    int rc = st != CLG_OK ? cli_fail(ctx, st) : 0;
    if (!rc && a->test) rc = test_loss(ctx, a, &s);
    if (!rc && a->save) {
        char meta[256];
        model_spec spec;
        model_spec_read("linear", &spec);
        meta_write(meta, sizeof meta, &spec, CLG_LOSS_SQUARED);
        st = clg_model_save(s.model, NULL, meta, a->save);
        if (st != CLG_OK) rc = cli_fail(ctx, st);
    }
    if (!rc && a->output) rc = write_coefficients(a->output, &s);
    if (!rc && a->json) rc = print_json(a, &s);
    if (!rc && !a->json) print_text(a, &s);
    clg_model_destroy(s.model);
    free(s.w);
    free(s.b);
    return rc;
}

int cmd_solve(int argc, char **argv)
{
    solve_args a = {.ridge = 0};
    data_args_init(&a.data);
    cli_group groups[] = {{"options", solve_options, &a, NULL, NULL},
                          data_file_group(&a.data),
                          data_synthetic_group(&a.data)};
    cli_command c = {
        .name = "solve",
        .summary = "Closed-form least squares (normal equations, Cholesky) on regression data:\n"
                   "every coefficient and the squared loss (half the MSE) of the solution.",
        CLI_GROUPS(groups)};
    int rc = cli_parse(&c, argc, argv);
    if (rc == CLI_RUN) rc = check_outputs(&c, &a);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_dataset *ds = data_args_load(&a.data, ctx, 0);
    rc = ds ? run(ctx, ds, &a) : 1;
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return rc;
}
