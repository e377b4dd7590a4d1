/* clgrad eval / clgrad predict: a saved model on a data file. */
#include <errno.h>
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

/* The largest confusion matrix eval computes (classes²) and prints as text. */
#define EVAL_MAX_CONFUSION 1000
#define EVAL_MAX_CONFUSION_TEXT 30

typedef struct eval_args {
    data_args data;
    const char *model;
    int json;           /* eval --json */
    int proba;          /* predict --proba */
    const char *output; /* predict --output */
} eval_args;

static const cli_opt eval_options[] = {
    CLI_STR("--model", "FILE", eval_args, model, "a checkpoint written by clgrad train --save"),
    CLI_FLAG("--json", eval_args, json, 1, "one JSON object on stdout instead of the text"),
    CLI_END};

static const cli_opt predict_options[] = {
    CLI_STR("--model", "FILE", eval_args, model, "a checkpoint written by clgrad train --save"),
    CLI_FLAG("--proba", eval_args, proba, 1,
             "a classifier's softmax probabilities too, a column per class"),
    CLI_STR("--output", "FILE", eval_args, output,
            "write the predictions to FILE as CSV with a header (default: stdout)"),
    CLI_END};

static const char *const eval_required[] = {"--model", "--data", NULL};

/* 1 when a and b are the same existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* predict --output: writable, and neither the data nor the model. */
static int check_output(cli_command *c, const eval_args *a)
{
    char why[512];
    if (!a->output) return CLI_RUN;
    if (cli_output_check(a->output, 0, why, sizeof why))
        return cli_usage_error(c, "--output: %s", why);
    if (same_file(a->output, a->data.csv) || same_file(a->output, a->model))
        return cli_usage_error(c, "--output: '%.200s' is the %s file", a->output,
                               same_file(a->output, a->model) ? "--model" : "--data");
    return CLI_RUN;
}

/* Returns CLI_RUN or the exit status (0 after --help, 2 after a usage error). */
static int parse(eval_args *a, int argc, char **argv, const char *cmd, const char *summary,
                 const cli_opt *opts)
{
    data_args_init(&a->data);
    a->model = a->output = NULL;
    a->json = a->proba = 0;
    cli_group groups[] = {{"options", opts, a, NULL, NULL}, data_file_group(&a->data)};
    cli_command c = {
        .name = cmd, .summary = summary, CLI_GROUPS(groups), .required = eval_required};
    int rc = cli_parse(&c, argc, argv);
    return rc == CLI_RUN ? check_output(&c, a) : rc;
}

/* Loads the checkpoint; *loss from its meta (squared when it has none). */
static clg_status load(clg_context *ctx, const char *path, clg_model **m, clg_loss_kind *loss)
{
    char meta[512] = "";
    clg_status s = clg_model_load(ctx, path, m, meta, sizeof meta);
    if (s != CLG_OK) return s;
    if (meta_loss(meta, loss)) *loss = CLG_LOSS_SQUARED;
    return CLG_OK;
}

/* Context + model from the checkpoint, or 0 after printing why. */
static int open_model(const char *path, clg_context **ctx, clg_model **m, clg_loss_kind *loss)
{
    *m = NULL;
    *ctx = cli_context();
    if (!*ctx) return 0;
    clg_status s = load(*ctx, path, m, loss);
    if (s == CLG_OK) return 1;
    cli_fail(*ctx, s);
    clg_context_destroy(*ctx);
    return 0;
}

/* ---------------------------------------------------------------- eval */

/* A CSV file of class names read for a model that keeps its class names: each label gets
 * the model's id of its name (a file lacking a class, or listing them in another order,
 * is numbered as the model was trained). A file of class ids is read as ids. NULL after
 * printing why. */
static clg_dataset *load_onto_model_names(clg_context *ctx, const eval_args *a, const clg_model *m)
{
    size_t classes = clg_model_outputs(m);
    char **names = malloc(classes * sizeof *names), why[1024] = "";
    if (!names) {
        cli_fail(ctx, CLG_ERR_HOST_MEMORY);
        return NULL;
    }
    for (size_t k = 0; k < classes; k++) names[k] = (char *)clg_model_class_name(m, k);
    clg_class_names given = {classes, names}, own = {0, NULL};
    clg_csv_options co = data_csv_options(&a->data);
    co.class_names = &given;
    clg_dataset *ds = NULL;
    clg_status s = clg_dataset_from_csv_classes(ctx, a->data.csv, &co, &ds, NULL);
    if (s != CLG_OK) {
        const char *msg = clg_last_error(ctx)[0] ? clg_last_error(ctx) : clg_last_error(NULL);
        snprintf(why, sizeof why, "clgrad: %s: %s", clg_status_string(s), msg);
        co.class_names = NULL; /* ids? */
        co.classes = classes;
        if (clg_dataset_from_csv_classes(ctx, a->data.csv, &co, &ds, &own) == CLG_OK && own.count) {
            clg_dataset_destroy(ds); /* names, but not the model's: the first message */
            ds = NULL;
        }
        clg_class_names_free(&own);
        if (!ds) fprintf(stderr, "%s\n", why);
    }
    free(names);
    return ds;
}

/* What eval computes on the host from the model's outputs (eval_outputs). */
typedef struct eval_metrics {
    size_t n, q, classes;
    double mse, rmse, r2; /* regression; r2: the mean over the outputs */
    double *r2_out;       /* q values; NaN for a constant target */
    size_t *confusion;    /* classes² counts, [true][predicted]; NULL beyond EVAL_MAX_CONFUSION */
} eval_metrics;

static size_t argmax(const float *row, size_t q)
{
    size_t best = 0;
    for (size_t j = 1; j < q; j++)
        if (row[j] > row[best]) best = j; /* the first maximum, as clg_evaluate */
    return best;
}

static void regression_metrics(eval_metrics *e, const float *Y, const float *P)
{
    size_t n = e->n, q = e->q;
    double sse = 0, r2 = 0;
    for (size_t c = 0; c < q; c++) {
        double mean = 0, tot = 0, res = 0;
        for (size_t i = 0; i < n; i++) mean += Y[i * q + c];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double y = Y[i * q + c], dy = (double)P[i * q + c] - y;
            tot += (y - mean) * (y - mean);
            res += dy * dy;
        }
        e->r2_out[c] = tot > 0 ? 1 - res / tot : NAN;
        r2 += e->r2_out[c];
        sse += res;
    }
    e->mse = sse / ((double)n * (double)q);
    e->rmse = sqrt(e->mse);
    e->r2 = r2 / (double)q;
}

/* The model's outputs for the rows of ds, and from them the metrics. */
static clg_status eval_outputs(clg_model *m, const clg_dataset *ds, eval_metrics *e)
{
    size_t n = clg_dataset_size(ds), d = clg_dataset_features(ds), q = clg_dataset_targets(ds);
    size_t k = clg_model_outputs(m), C = clg_dataset_classes(ds);
    memset(e, 0, sizeof *e);
    e->n = n, e->q = q, e->classes = C;
    float *X = malloc(n * d * sizeof *X), *Y = malloc(n * q * sizeof *Y);
    float *P = malloc(n * k * sizeof *P);
    int ok = X && Y && P;
    if (C && C <= EVAL_MAX_CONFUSION) ok = ok && (e->confusion = calloc(C * C, sizeof(size_t)));
    if (!C) ok = ok && (e->r2_out = malloc(q * sizeof *e->r2_out));
    clg_status s = ok ? clg_dataset_download(ds, X, Y) : CLG_ERR_HOST_MEMORY;
    if (s == CLG_OK) s = clg_predict(m, X, n, P); /* the model scales its inputs itself */
    if (s == CLG_OK && !C) regression_metrics(e, Y, P);
    for (size_t i = 0; s == CLG_OK && e->confusion && i < n; i++)
        e->confusion[(size_t)Y[i] * C + argmax(P + i * k, k)]++;
    free(X);
    free(Y);
    free(P);
    return s;
}

/* Class k's name: the model's, else the data file's (ids numbered by the sorted names),
 * else NULL. */
static const char *class_name(const clg_model *m, const data_args *a, size_t k)
{
    const char *name = clg_model_class_name(m, k);
    if (name) return name;
    return a->names && k < a->names->count ? a->names->names[k] : NULL;
}

/* A name for a column of the text table: at most 20 bytes, cut at a character. */
static const char *cell_name(const clg_model *m, const data_args *a, size_t k, char *buf)
{
    const char *name = class_name(m, a, k);
    if (!name) {
        snprintf(buf, 24, "%zu", k);
        return buf;
    }
    size_t len = strlen(name);
    if (len > 20)
        for (len = 20; len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80;) len--;
    snprintf(buf, 24, "%.*s", (int)len, name);
    return buf;
}

static void print_confusion(const eval_metrics *e, const clg_model *m, const data_args *a)
{
    size_t C = e->classes;
    if (!e->confusion || C > EVAL_MAX_CONFUSION_TEXT) {
        printf("confusion matrix: %zu classes, %s\n", C,
               e->confusion ? "too many to print (see --json)" : "not computed (over 1000)");
        return;
    }
    char buf[24], num[24];
    int first = 4, width = 1;
    for (size_t k = 0; k < C; k++) {
        int len = (int)strlen(cell_name(m, a, k, buf));
        if (len > first) first = len;
        if (len > width) width = len;
    }
    for (size_t i = 0; i < C * C; i++)
        if ((int)snprintf(num, sizeof num, "%zu", e->confusion[i]) > width)
            width = (int)strlen(num);
    printf("confusion matrix (rows: true class, columns: predicted class):\n%*s", first, "");
    for (size_t k = 0; k < C; k++) printf(" %*s", width, cell_name(m, a, k, buf));
    printf("\n");
    for (size_t t = 0; t < C; t++) {
        printf("%-*s", first, cell_name(m, a, t, buf));
        for (size_t p = 0; p < C; p++) printf(" %*zu", width, e->confusion[t * C + p]);
        printf("\n");
    }
}

static void print_eval_text(const clg_eval_result *res, clg_loss_kind loss, const eval_metrics *e,
                            const clg_model *m, const data_args *a)
{
    char fig[32];
    printf("samples %zu\nloss (%s) %s%s\n", res->n, loss_name(loss),
           cli_figure(res->loss, fig, sizeof fig),
           loss == CLG_LOSS_SQUARED ? " (half the MSE)"
           : loss == CLG_LOSS_MSE   ? " (the MSE)"
                                    : "");
    if (res->accuracy >= 0) {
        printf("accuracy %.4f\n", res->accuracy);
        print_confusion(e, m, a);
        return;
    }
    printf("mse %s\n", cli_figure(e->mse, fig, sizeof fig));
    printf("rmse %s\n", cli_figure(e->rmse, fig, sizeof fig));
    printf("r2 %s%s\n", cli_figure(e->r2, fig, sizeof fig),
           e->q > 1       ? " (the mean over the outputs)"
           : isnan(e->r2) ? " (a constant target)"
                          : "");
}

static int print_eval_json(const clg_eval_result *res, clg_loss_kind loss, const eval_metrics *e,
                           const clg_model *m, const eval_args *a)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "eval");
    json_field_str(&j, "model", a->model);
    json_field_str(&j, "data", a->data.csv);
    json_field_str(&j, "task", e->classes ? "classification" : "regression");
    json_field_int(&j, "samples", (long long)res->n);
    json_field_str(&j, "loss_kind", loss_name(loss));
    json_field_num(&j, "loss", res->loss);
    if (e->classes) {
        json_field_num(&j, "accuracy", res->accuracy);
        json_field_int(&j, "classes", (long long)e->classes);
        json_key(&j, "class_names");
        if (class_name(m, &a->data, 0)) {
            json_array_begin(&j);
            for (size_t k = 0; k < e->classes; k++) json_string(&j, class_name(m, &a->data, k));
            json_array_end(&j);
        } else {
            json_null(&j);
        }
        json_key(&j, "confusion_matrix"); /* rows: true class, columns: predicted */
        if (e->confusion) {
            json_array_begin(&j);
            for (size_t t = 0; t < e->classes; t++) {
                json_array_begin(&j);
                for (size_t p = 0; p < e->classes; p++)
                    json_int(&j, (long long)e->confusion[t * e->classes + p]);
                json_array_end(&j);
            }
            json_array_end(&j);
        } else {
            json_null(&j);
        }
    } else {
        json_field_int(&j, "outputs", (long long)e->q);
        json_field_num(&j, "mse", e->mse);
        json_field_num(&j, "rmse", e->rmse);
        json_field_num(&j, "r2", e->r2);
        json_key(&j, "r2_per_output");
        json_array_begin(&j);
        for (size_t c = 0; c < e->q; c++) json_number(&j, e->r2_out[c]);
        json_array_end(&j);
    }
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc =
        parse(&a, argc, argv, "eval",
              "Loss of a saved model on a data file, in the model's loss; for regression also\n"
              "the MSE, RMSE and R², for classification the accuracy and the confusion matrix.",
              eval_options);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx;
    clg_model *m;
    clg_loss_kind loss;
    if (!open_model(a.model, &ctx, &m, &loss)) return 1;
    clg_status s = CLG_OK;
    size_t classes = loss == CLG_LOSS_SOFTMAX_XENT ? clg_model_outputs(m) : 0;
    clg_dataset *ds = classes && clg_model_class_name(m, 0) && data_file_is_csv(a.data.csv)
                          ? load_onto_model_names(ctx, &a, m)
                          : data_args_load(&a.data, ctx, classes);
    clg_eval_result res;
    eval_metrics e = {0};
    rc = 1;
    if (ds && (s = clg_evaluate(m, ds, loss, &res)) == CLG_OK &&
        (s = eval_outputs(m, ds, &e)) == CLG_OK) {
        rc = 0;
        if (a.json)
            rc = print_eval_json(&res, loss, &e, m, &a);
        else
            print_eval_text(&res, loss, &e, m, &a.data);
    } else if (ds) {
        cli_fail(ctx, s);
    }
    free(e.r2_out);
    free(e.confusion);
    clg_dataset_destroy(ds);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return rc;
}

/* ---------------------------------------------------------------- predict */

/* The features of a CSV file for a model of `inputs` inputs: the columns besides the
 * label (and --skip-columns), or every column when the file has exactly `inputs` of them
 * (no label column; not with --label-column). The label column is skipped, never read,
 * so a file of the wrong width is told as such, whatever its labels. */
static float *predict_csv(const eval_args *a, size_t inputs, size_t *n)
{
    const char *p = a->data.csv, *user = a->data.skip_columns ? a->data.skip_columns : "";
    clg_csv_options co = data_csv_options(&a->data);
    size_t len = strlen(user) + 32, d = 0;
    char *skip = malloc(len), why[2048] = "";
    if (!skip) return NULL;
    snprintf(skip, len, "%s%s%ld", user, user[0] ? "," : "", co.label_column);
    co.skip_columns = skip;
    co.label_column = CLG_CSV_NO_LABEL;
    float *X = NULL, *y = NULL;
    clg_status s = clg_csv_read(p, &co, &X, &y, n, &d);
    if ((s != CLG_OK || d + 1 == inputs) && a->data.label_column == -1) { /* no label column? */
        snprintf(why, sizeof why, "%s", clg_last_error(NULL));
        co.skip_columns = a->data.skip_columns;
        float *Xall = NULL;
        size_t nall = 0, dall = 0;
        if (clg_csv_read(p, &co, &Xall, &y, &nall, &dall) == CLG_OK && dall == inputs) {
            free(X);
            X = Xall, *n = nall, d = dall, s = CLG_OK;
        } else {
            free(Xall);
        }
    }
    free(skip);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s),
                why[0] ? why : clg_last_error(NULL));
        return NULL;
    }
    if (d != inputs) {
        fprintf(stderr,
                "clgrad: the model takes %zu features, %s has %zu columns besides the label%s\n",
                inputs, p, d, user[0] ? " and the skipped ones" : "");
        free(X);
        return NULL;
    }
    return X;
}

/* Rows to predict: a CSV file's features (predict_csv), or a dataset's. */
static float *predict_rows(eval_args *a, clg_context *ctx, size_t inputs, size_t classes, size_t *n)
{
    const char *p = a->data.csv;
    if (data_file_is_csv(p)) return predict_csv(a, inputs, n);
    clg_dataset *ds = data_args_load(&a->data, ctx, classes);
    if (!ds) return NULL;
    *n = clg_dataset_size(ds);
    float *X = malloc(*n * clg_dataset_features(ds) * sizeof *X);
    if (clg_dataset_features(ds) != inputs || !X || clg_dataset_download(ds, X, NULL) != CLG_OK) {
        fprintf(stderr, "clgrad: %s has %zu features per row, the model takes %zu\n", p,
                clg_dataset_features(ds), inputs);
        free(X);
        X = NULL;
    }
    clg_dataset_destroy(ds);
    return X;
}

/* A CSV field: quoted (quotes doubled) when it holds a separator, a quote or spaces at
 * either end. */
static void csv_field(FILE *f, const char *s)
{
    size_t len = strlen(s);
    if (!strpbrk(s, ",;\t\"") && len && s[0] != ' ' && s[len - 1] != ' ') {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Class k's name, else its id. */
static void class_field(FILE *f, const clg_model *m, size_t k)
{
    const char *name = clg_model_class_name(m, k);
    if (name)
        csv_field(f, name);
    else
        fprintf(f, "%zu", k);
}

/* The header: predicted class and, with --proba, a column per class (its name, else
 * p0, p1...); for regression "prediction" (prediction_0, ... for several outputs). */
static void predict_header(FILE *f, const clg_model *m, int classify, int proba)
{
    size_t q = clg_model_outputs(m);
    if (classify) {
        fputs("predicted", f);
        for (size_t k = 0; proba && k < q; k++) {
            fputc(',', f);
            if (clg_model_class_name(m, k))
                csv_field(f, clg_model_class_name(m, k));
            else
                fprintf(f, "p%zu", k);
        }
    } else if (q == 1) {
        fputs("prediction", f);
    } else {
        for (size_t k = 0; k < q; k++) fprintf(f, "%sprediction_%zu", k ? "," : "", k);
    }
    fputc('\n', f);
}

static void predict_row(FILE *f, const clg_model *m, const float *row, int classify, int proba)
{
    size_t q = clg_model_outputs(m);
    if (!classify) {
        for (size_t j = 0; j < q; j++) fprintf(f, "%s%.7g", j ? "," : "", row[j]);
        fputc('\n', f);
        return;
    }
    size_t best = argmax(row, q);
    class_field(f, m, best);
    double sum = 0;
    for (size_t j = 0; proba && j < q; j++) sum += exp((double)row[j] - row[best]);
    for (size_t j = 0; proba && j < q; j++)
        fprintf(f, ",%.7g", exp((double)row[j] - row[best]) / sum); /* softmax */
    fputc('\n', f);
}

/* The rows' predictions to --output (with a header) or stdout (a header with --proba). */
static int write_predictions(const eval_args *a, const clg_model *m, const float *out, size_t n,
                             int classify)
{
    FILE *f = a->output ? fopen(a->output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "clgrad: CLG_ERR_IO: %s: %s\n", a->output, strerror(errno));
        return 1;
    }
    if (a->output || a->proba) predict_header(f, m, classify, a->proba);
    for (size_t i = 0; i < n; i++)
        predict_row(f, m, out + i * clg_model_outputs(m), classify, a->proba);
    int bad = ferror(f) | fflush(f);
    if (a->output) bad |= fclose(f);
    if (bad) {
        fprintf(stderr, "clgrad: CLG_ERR_IO: writing %s failed\n",
                a->output ? a->output : "stdout");
        return 1;
    }
    if (a->output) printf("%zu predictions written to %s\n", n, a->output);
    return 0;
}

int cmd_predict(int argc, char **argv)
{
    eval_args a;
    int rc = parse(&a, argc, argv, "predict",
                   "Outputs of a saved model for each row of a data file: one line per row, the\n"
                   "class (its name when the model keeps class names, else its id) for a\n"
                   "classifier, else the outputs separated by commas. A CSV file with exactly the\n"
                   "model's inputs as columns is read as features only.",
                   predict_options);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx;
    clg_model *m;
    clg_loss_kind loss;
    if (!open_model(a.model, &ctx, &m, &loss)) return 1;
    clg_status s;
    size_t q = clg_model_outputs(m), n = 0;
    int classify = loss == CLG_LOSS_SOFTMAX_XENT;
    if (a.proba && !classify) {
        fprintf(stderr, "clgrad: --proba: %s is a regression model (loss %s), without classes\n",
                a.model, loss_name(loss));
        clg_model_destroy(m);
        clg_context_destroy(ctx);
        return 1;
    }
    float *X = predict_rows(&a, ctx, clg_model_inputs(m), classify ? q : 0, &n);
    float *out = X ? malloc(n * q * sizeof *out) : NULL;
    rc = 1;
    if (out && (s = clg_predict(m, X, n, out)) == CLG_OK)
        rc = write_predictions(&a, m, out, n, classify);
    else if (out)
        cli_fail(ctx, s);
    free(X);
    free(out);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return rc;
}
