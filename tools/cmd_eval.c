/* clgrad eval / clgrad predict: a saved model on a data file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "data_args.h"
#include "model_spec.h"

typedef struct eval_args {
    data_args data;
    const char *model;
} eval_args;

static const cli_opt eval_options[] = {
    CLI_STR("--model", "FILE", eval_args, model, "a checkpoint written by clgrad train --save"),
    CLI_END};

static const char *const eval_required[] = {"--model", "--data", NULL};

/* Returns CLI_RUN or the exit status (0 after --help, 2 after a usage error). */
static int parse(eval_args *a, int argc, char **argv, const char *cmd, const char *summary)
{
    data_args_init(&a->data);
    a->model = NULL;
    cli_group groups[] = {{"options", eval_options, a, NULL, NULL}, data_file_group(&a->data)};
    cli_command c = {
        .name = cmd, .summary = summary, CLI_GROUPS(groups), .required = eval_required};
    return cli_parse(&c, argc, argv);
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

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse(&a, argc, argv, "eval",
                   "Loss (and accuracy) of a saved model on a data file, in the model's loss.");
    if (rc != CLI_RUN) return rc;
    clg_context *ctx;
    clg_model *m;
    clg_loss_kind loss;
    if (!open_model(a.model, &ctx, &m, &loss)) return 1;
    clg_status s;
    size_t classes = loss == CLG_LOSS_SOFTMAX_XENT ? clg_model_outputs(m) : 0;
    clg_dataset *ds = data_args_load(&a.data, ctx, classes);
    clg_eval_result res;
    char fig[32];
    rc = 1;
    if (ds && (s = clg_evaluate(m, ds, loss, &res)) == CLG_OK) {
        printf("samples %zu\nloss (%s) %s\n", res.n, loss_name(loss),
               cli_figure(res.loss, fig, sizeof fig));
        if (res.accuracy >= 0) printf("accuracy %.4f\n", res.accuracy);
        rc = 0;
    } else if (ds) {
        cli_fail(ctx, s);
    }
    clg_dataset_destroy(ds);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return rc;
}

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

int cmd_predict(int argc, char **argv)
{
    eval_args a;
    int rc = parse(&a, argc, argv, "predict",
                   "Outputs of a saved model for each row of a data file: one line per row, the\n"
                   "class id for a classifier, else the outputs separated by commas. A CSV file\n"
                   "with exactly the model's inputs as columns is read as features only.");
    if (rc != CLI_RUN) return rc;
    clg_context *ctx;
    clg_model *m;
    clg_loss_kind loss;
    if (!open_model(a.model, &ctx, &m, &loss)) return 1;
    clg_status s;
    size_t q = clg_model_outputs(m), n = 0;
    int classify = loss == CLG_LOSS_SOFTMAX_XENT;
    float *X = predict_rows(&a, ctx, clg_model_inputs(m), classify ? q : 0, &n);
    float *out = X ? malloc(n * q * sizeof *out) : NULL;
    rc = 1;
    if (out && (s = clg_predict(m, X, n, out)) == CLG_OK) {
        for (size_t i = 0; i < n; i++) {
            const float *row = out + i * q;
            if (classify) {
                size_t best = 0;
                for (size_t j = 1; j < q; j++)
                    if (row[j] > row[best]) best = j;
                printf("%zu\n", best);
            } else {
                for (size_t j = 0; j < q; j++) printf("%s%.7g", j ? "," : "", row[j]);
                printf("\n");
            }
        }
        rc = 0;
    } else if (out) {
        cli_fail(ctx, s);
    }
    free(X);
    free(out);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return rc;
}
