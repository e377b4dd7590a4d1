/* clgrad eval, predict, solve and info on real files (user report "The command line on
 * real data"): class names and probabilities out of predict, regression and classification
 * metrics out of eval against references computed here, --json parsed by python3, the
 * checkpoint inspector, solve's coefficients, test loss and saved model. The JSON writer
 * (tools/json.c) is compiled in for its own tests. */
#include <math.h>
#include <stdarg.h>

#include "helpers.h"

#include "../tools/json.c"

static char out[1 << 17];

/* Runs "tools/clgrad ARGS" in the build directory, stdout and stderr in out. */
static int clgrad(const char *fmt, ...)
{
    char args[3000], cmd[3100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "timeout 120 tools/clgrad %s", args);
    return run_in_build(cmd, out, sizeof out);
}

/* The same with stdout to the file `to` (stderr in out). */
static int clgrad_to(const char *to, const char *fmt, ...)
{
    char args[3000], cmd[3400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "(timeout 120 tools/clgrad %s >%s)", args, to);
    return run_in_build(cmd, out, sizeof out);
}

/* python3 reads `file` as one JSON value d (json.load: anything else on stdout fails it)
 * and prints json.dumps of each of the comma-separated Python expressions `exprs`, a line
 * each, into buf. */
static void json_query(const char *file, const char *exprs, char *buf, size_t n)
{
    char cmd[3500];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys\nd=json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
             "for v in (%s,): print(json.dumps(v))' %s",
             exprs, file);
    int rc = run_in_build(cmd, buf, n);
    cr_assert_eq(rc, 0, "python3 could not read %s as JSON (%s):\n%s", file, exprs, buf);
}

/* Line k (from 0) of text. */
static const char *line_at(const char *text, size_t k, char *buf, size_t n)
{
    for (; k > 0 && text; k--) text = strchr(text, '\n'), text = text ? text + 1 : NULL;
    cr_assert_not_null(text, "no line %zu", k);
    snprintf(buf, n, "%.*s", (int)strcspn(text, "\n"), text);
    return buf;
}

static double num_at(const char *text, size_t k)
{
    char buf[256];
    return strtod(line_at(text, k, buf, sizeof buf), NULL);
}

/* The number after the first "key" in text. */
static double after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "'%s' missing from:\n%s", key, text);
    return strtod(p + strlen(key), NULL);
}

static int close_to(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fmax(1.0, fabs(want));
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* ---------------------------------------------------------------- the JSON writer */

Test(cli_eval, json_writer_escapes_and_nests)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    json_writer j;
    json_init(&j, f);
    json_object_begin(&j);
    json_field_str(&j, "s", "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xff end \xe2\x82");
    json_field_num(&j, "x", 0.1);
    json_field_num(&j, "nan", NAN);
    json_field_num(&j, "inf", -INFINITY);
    json_field_num(&j, "f", 3.4028234663852886e38);
    json_field_int(&j, "big", 4611686018427387904LL);
    json_field_bool(&j, "t", 1);
    json_field_str(&j, "none", NULL);
    json_key(&j, "a");
    json_array_begin(&j);
    json_array_begin(&j);
    json_array_end(&j);
    json_object_begin(&j);
    json_object_end(&j);
    json_int(&j, -3);
    json_array_end(&j);
    json_object_end(&j);
    json_array_begin(&j); /* a second value: a line of its own */
    json_array_end(&j);
    cr_expect_eq(json_failed(&j), 0);
    fclose(f);
    cr_expect_str_eq(text, "{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001 \xc3\xa9 bad\\ufffd end "
                           "\\ufffd\\ufffd\",\"x\":0.1,\"nan\":null,\"inf\":null,"
                           "\"f\":3.40282347e+38,\"big\":4611686018427387904,\"t\":true,"
                           "\"none\":null,\"a\":[[],{},-3]}\n[]\n");
    free(text);

    /* misuse: a value without its key, an end that does not match, too deep */
    static const int cases = 4;
    for (int k = 0; k < cases; k++) {
        f = open_memstream(&text, &len);
        json_init(&j, f);
        if (k == 0) {
            json_object_begin(&j);
            json_int(&j, 1);
        } else if (k == 1) {
            json_array_begin(&j);
            json_object_end(&j);
        } else if (k == 2) {
            for (int i = 0; i <= JSON_MAX_DEPTH; i++) json_array_begin(&j);
        } else {
            json_array_begin(&j);
            json_key(&j, "k");
        }
        cr_expect_eq(json_failed(&j), 1, "misuse %d not caught", k);
        fclose(f);
        free(text);
    }
}

/* ---------------------------------------------------------------- models written here */

static const char *const species[3] = {"setosa", "versicolor", "virginica"};

/* Three separable blobs: id, x1, x2, class (names[c] quoted, or the id c when names is
 * NULL); row i is blob c = i % 3, skipping the blobs not in `keep` (a bit mask). */
static void write_blobs(const char *path, int n, const char *const *names, unsigned keep)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "id,x1,x2,species\n");
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        if (!(keep >> c & 1)) continue;
        double a = sin(i * 12.9898) * 0.9, b = cos(i * 78.233) * 0.9;
        double cx[3] = {2, 0, -2}, cy[3] = {-1, 2, -1};
        fprintf(f, "s%d,%.5f,%.5f,", i, cx[c] + a, cy[c] + b);
        if (names)
            fprintf(f, "\"%s\"\n", names[c]);
        else
            fprintf(f, "%d\n", c);
    }
    fclose(f);
}

/* The checkpoint at path, with the class names `species` set and saved when it has none
 * (until train stores them); returns it loaded. */
static clg_model *with_names(clg_context *ctx, const char *path)
{
    clg_model *m = NULL;
    char meta[512];
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &m, meta, sizeof meta));
    if (!clg_model_class_name(m, 0)) {
        CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, species, 3));
        CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, meta, path));
    }
    for (size_t k = 0; k < 3; k++) cr_assert_str_eq(clg_model_class_name(m, k), species[k]);
    return m;
}

/* The features of a blobs file as clgrad reads them (id and the label skipped). */
static float *blob_features(const char *path, size_t *n)
{
    clg_csv_options co = clg_csv_defaults();
    co.skip_columns = "id,species";
    co.label_column = CLG_CSV_NO_LABEL;
    float *X = NULL, *y = NULL;
    size_t d = 0;
    cr_assert_eq(clg_csv_read(path, &co, &X, &y, n, &d), CLG_OK, "%s", clg_last_error(NULL));
    cr_assert_eq(d, 2);
    free(y);
    return X;
}

static size_t first_max(const float *row, size_t q)
{
    size_t best = 0;
    for (size_t j = 1; j < q; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

/* Issue item 1: predict prints class names, --proba the softmax per class, --output a CSV
 * with a header; the model is trained here by clgrad train on a file of names. */
Test(cli_eval, predict_names_probabilities_and_output_file)
{
    char *dir = test_tmpdir();
    char tr[256], model[256], csv[256];
    snprintf(tr, sizeof tr, "%s/train.csv", dir);
    snprintf(model, sizeof model, "%s/m.clg", dir);
    snprintf(csv, sizeof csv, "%s/pred.csv", dir);
    write_blobs(tr, 90, species, 7);
    cr_assert_eq(clgrad("train --data %s --skip-columns id --model softmax --epochs 5 --batch 16 "
                        "--save %s --no-progress",
                        tr, model),
                 0, "%s", out);
    clg_context *ctx = test_context();
    clg_model *m = with_names(ctx, model);
    size_t n = 0;
    float *X = blob_features(tr, &n), *logits = malloc(n * 3 * sizeof *logits);
    CLG_OK_OR_FAIL(ctx, clg_predict(m, X, n, logits));

    /* one name per row: the first maximum of the model's logits */
    cr_assert_eq(clgrad("predict --model %s --data %s --skip-columns id", model, tr), 0, "%s", out);
    char line[512];
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        const char *want = species[first_max(logits + 3 * i, 3)];
        cr_expect_str_eq(line_at(out, i, line, sizeof line), want, "row %zu:\n%s", i, out);
        right += !strcmp(want, species[i % 3]);
    }
    cr_expect_gt(right, 80, "the model learned the blobs: %zu of %zu", right, n);

    /* --proba --output: a header of the class names, then the name and the softmax */
    cr_assert_eq(clgrad("predict --model %s --data %s --skip-columns id --proba --output %s", model,
                        tr, csv),
                 0, "%s", out);
    char want_msg[400];
    snprintf(want_msg, sizeof want_msg, "%zu predictions written to %s\n", n, csv);
    cr_expect(strstr(out, want_msg), "%s", out);
    const char *file = slurp(csv);
    cr_expect_str_eq(line_at(file, 0, line, sizeof line), "predicted,setosa,versicolor,virginica");
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + 3 * i;
        double top = fmax(z[0], fmax(z[1], z[2])), e[3], sum = 0;
        for (int k = 0; k < 3; k++) sum += e[k] = exp((double)z[k] - top);
        line_at(file, i + 1, line, sizeof line);
        char *comma = strchr(line, ',');
        cr_assert_not_null(comma, "row %zu: %s", i, line);
        *comma = '\0';
        cr_expect_str_eq(line, species[first_max(z, 3)], "row %zu", i);
        char *p = comma + 1;
        for (int k = 0; k < 3; k++) {
            double got = strtod(p, &p), want = e[k] / sum;
            cr_expect(fabs(got - want) < 1e-6, "row %zu class %d: %g, softmax %g", i, k, got, want);
            p += *p == ',';
        }
        cr_expect_eq(*p, '\0', "row %zu has 4 fields", i);
    }
    line_at(file, n + 1, line, sizeof line);
    cr_expect_str_eq(line, "", "%zu rows and the header", n);

    /* --proba on stdout has the header too */
    cr_assert_eq(
        clgrad("predict --model %s --data %s --skip-columns id --proba 2>/dev/null", model, tr), 0,
        "%s", out);
    cr_expect_str_eq(line_at(out, 0, line, sizeof line), "predicted,setosa,versicolor,virginica");
    cr_expect(strncmp(line_at(out, 1, line, sizeof line), species[first_max(logits, 3)],
                      strlen(species[first_max(logits, 3)])) == 0,
              "%s", out);

    /* --output is checked before anything runs: not the data, not a missing directory */
    cr_expect_eq(
        clgrad("predict --model %s --data %s --skip-columns id --output %s", model, tr, tr), 2,
        "%s", out);
    cr_expect(strstr(out, "clgrad predict: --output: ") && strstr(out, "is the --data file"), "%s",
              out);
    cr_expect(strstr(slurp(tr), "s0,"), "the data file is untouched");
    cr_expect_eq(clgrad("predict --model %s --data %s --output /nonexistent/dir/p.csv", model, tr),
                 2, "%s", out);
    cr_expect(strstr(out, "--output: directory '/nonexistent/dir' does not exist"), "%s", out);
    free(X);
    free(logits);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* A Linear model with the given parameters (and input scaling when mean is not NULL),
 * saved with meta; returned. */
static clg_model *saved_linear(clg_context *ctx, const char *path, size_t d, size_t q,
                               const float *w, const float *b, const float *mean,
                               const float *scale, const char *meta)
{
    clg_model *m = NULL;
    clg_linear_init init = clg_linear_init_defaults();
    init.weight = w;
    init.bias = b;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, d, q, &init));
    if (mean) CLG_OK_OR_FAIL(ctx, clg_model_set_input_scaling(m, mean, scale, d));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, meta, path));
    return m;
}

/* Issue item 2 (regression): MSE, RMSE and R² against a double reference of a model with
 * set parameters and input scaling, which eval must not apply a second time. */
Test(cli_eval, eval_regression_metrics_against_a_double_reference)
{
    char *dir = test_tmpdir();
    char data[256], model[256], json[256];
    snprintf(data, sizeof data, "%s/reg.csv", dir);
    snprintf(model, sizeof model, "%s/lin.clg", dir);
    snprintf(json, sizeof json, "%s/eval.json", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fprintf(f, "a,b,c,target\n");
    for (int i = 0; i < 64; i++) {
        double x1 = sin(i * 0.9) * 3 + 1, x2 = cos(i * 1.7) - 2, x3 = sin(i * 0.37) * 5;
        fprintf(f, "%.4f,%.4f,%.4f,%.4f\n", x1, x2, x3, 0.25 * x1 - x2 + 0.5 * x3 + sin(i * 2.3));
    }
    fclose(f);
    const float w[3] = {0.5f, -0.5f, 2.0f}, b = 2.25f, mean[3] = {1, -2, 0.5f},
                scale[3] = {2, 0.5f, 4};
    clg_context *ctx = test_context();
    clg_model *m =
        saved_linear(ctx, model, 3, 1, w, &b, mean, scale, "model=linear\nloss=squared\n");

    clg_csv_options co = clg_csv_defaults();
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    CLG_OK_OR_FAIL(NULL, clg_csv_read(data, &co, &X, &y, &n, &d));
    double sse = 0, ybar = 0, tot = 0;
    for (size_t i = 0; i < n; i++) ybar += y[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        double p = b;
        for (size_t j = 0; j < 3; j++) p += ((double)X[i * 3 + j] - mean[j]) / scale[j] * w[j];
        sse += (p - y[i]) * (p - y[i]);
        tot += (y[i] - ybar) * (y[i] - ybar);
    }
    double mse = sse / (double)n, rmse = sqrt(mse), r2 = 1 - sse / tot;
    cr_assert(r2 > 0.1 && r2 < 0.99 && mse > 0.1, "a reference worth checking: mse %g r2 %g", mse,
              r2);

    cr_assert_eq(clgrad("eval --model %s --data %s", model, data), 0, "%s", out);
    cr_expect(strstr(out, "samples 64\nloss (squared) "), "%s", out);
    cr_expect(strstr(out, " (half the MSE)\n"), "%s", out);
    cr_expect_lt(fabs(after(out, "loss (squared) ") - mse / 2), 2e-6, "%s", out);
    cr_expect_lt(fabs(after(out, "\nmse ") - mse), 2e-6, "mse %.9g:\n%s", mse, out);
    cr_expect_lt(fabs(after(out, "\nrmse ") - rmse), 2e-6, "rmse %.9g:\n%s", rmse, out);
    cr_expect_lt(fabs(after(out, "\nr2 ") - r2), 2e-6, "r2 %.9g:\n%s", r2, out);
    cr_expect(!strstr(out, "accuracy") && !strstr(out, "confusion"), "%s", out);

    cr_assert_eq(clgrad_to(json, "eval --json --model %s --data %s", model, data), 0, "%s", out);
    char q[4096];
    json_query(json,
               "d[\"command\"], d[\"task\"], d[\"samples\"], d[\"loss_kind\"], d[\"outputs\"], "
               "d[\"loss\"], d[\"mse\"], d[\"rmse\"], d[\"r2\"], d[\"r2_per_output\"][0]",
               q, sizeof q);
    char line[256];
    cr_expect_str_eq(line_at(q, 0, line, sizeof line), "\"eval\"");
    cr_expect_str_eq(line_at(q, 1, line, sizeof line), "\"regression\"");
    cr_expect_eq(num_at(q, 2), 64.0);
    cr_expect_str_eq(line_at(q, 3, line, sizeof line), "\"squared\"");
    cr_expect_eq(num_at(q, 4), 1.0);
    cr_expect(close_to(num_at(q, 5), mse / 2, 1e-5), "loss %g, mse/2 %g", num_at(q, 5), mse / 2);
    cr_expect(close_to(num_at(q, 6), mse, 1e-6), "mse %.9g, reference %.9g", num_at(q, 6), mse);
    cr_expect(close_to(num_at(q, 7), rmse, 1e-6), "rmse %.9g, reference %.9g", num_at(q, 7), rmse);
    cr_expect(close_to(num_at(q, 8), r2, 1e-6), "r2 %.9g, reference %.9g", num_at(q, 8), r2);
    cr_expect_eq(num_at(q, 9), num_at(q, 8));

    /* The same model stored with the MSE loss: its loss is the MSE. */
    clg_model_destroy(m);
    m = saved_linear(ctx, model, 3, 1, w, &b, mean, scale, "model=linear\nloss=mse\n");
    cr_assert_eq(clgrad("eval --model %s --data %s", model, data), 0, "%s", out);
    cr_expect_lt(fabs(after(out, "loss (mse) ") - mse), 2e-6, "%s", out);
    cr_expect(strstr(out, " (the MSE)\n"), "%s", out);
    free(X);
    free(y);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* The confusion matrix of a 3-class Linear model with set weights on a blobs file, from
 * double logits (labels mapped onto `names`), and the mean cross-entropy. */
static void reference_confusion(const char *path, const float *W, const float *bias,
                                const char *const *names, size_t conf[3][3], double *xent,
                                size_t *n)
{
    clg_class_names given = {3, (char **)names};
    clg_csv_options co = clg_csv_defaults();
    co.skip_columns = "id";
    co.class_names = &given;
    float *X = NULL;
    int32_t *labels = NULL;
    size_t d = 0, classes = 0;
    cr_assert_eq(clg_csv_read_classes(path, &co, &X, &labels, n, &d, &classes, NULL), CLG_OK, "%s",
                 clg_last_error(NULL));
    memset(conf, 0, 9 * sizeof conf[0][0]);
    *xent = 0;
    for (size_t i = 0; i < *n; i++) {
        double z[3], top = -INFINITY, sum = 0;
        for (size_t k = 0; k < 3; k++) {
            z[k] = bias[k] + (double)X[i * 2] * W[k] + (double)X[i * 2 + 1] * W[3 + k];
            top = fmax(top, z[k]);
        }
        size_t best = 0;
        for (size_t k = 0; k < 3; k++) {
            sum += exp(z[k] - top);
            if (z[k] > z[best]) best = k;
        }
        conf[labels[i]][best]++;
        *xent += (log(sum) + top - z[labels[i]]) / (double)*n;
    }
    free(X);
    free(labels);
}

/* eval --json's confusion matrix and accuracy against the reference. */
static void expect_confusion(const char *json, size_t conf[3][3], size_t n, double xent,
                             const char *what)
{
    char q[4096], want[256];
    json_query(json,
               "d[\"task\"], d[\"classes\"], d[\"class_names\"], d[\"confusion_matrix\"], "
               "d[\"accuracy\"], d[\"samples\"], d[\"loss\"]",
               q, sizeof q);
    char line[512];
    cr_expect_str_eq(line_at(q, 0, line, sizeof line), "\"classification\"", "%s", what);
    cr_expect_eq(num_at(q, 1), 3.0, "%s", what);
    cr_expect_str_eq(line_at(q, 2, line, sizeof line), "[\"cat\", \"dog, eel\", \"emu\"]", "%s",
                     what);
    snprintf(want, sizeof want, "[[%zu, %zu, %zu], [%zu, %zu, %zu], [%zu, %zu, %zu]]", conf[0][0],
             conf[0][1], conf[0][2], conf[1][0], conf[1][1], conf[1][2], conf[2][0], conf[2][1],
             conf[2][2]);
    cr_expect_str_eq(line_at(q, 3, line, sizeof line), want, "%s", what);
    double acc = (double)(conf[0][0] + conf[1][1] + conf[2][2]) / (double)n;
    cr_expect(close_to(num_at(q, 4), acc, 1e-9), "%s: accuracy %g, reference %g", what,
              num_at(q, 4), acc);
    cr_expect_eq(num_at(q, 5), (double)n, "%s", what);
    cr_expect(close_to(num_at(q, 6), xent, 1e-5), "%s: loss %.9g, reference %.9g", what,
              num_at(q, 6), xent);
}

/* Issue item 2 (classification): accuracy, loss and the confusion matrix (rows true,
 * columns predicted, class names) against a reference; a file of some of the names is
 * read onto the model's names, one with an unknown name is refused, class ids work. */
Test(cli_eval, eval_confusion_matrix_with_class_names)
{
    char *dir = test_tmpdir();
    char model[256], json[256], files[4][256];
    snprintf(model, sizeof model, "%s/cls.clg", dir);
    snprintf(json, sizeof json, "%s/eval.json", dir);
    static const char *const names[3] = {"cat", "dog, eel", "emu"};
    /* blobs at (2,-1), (0,2), (-2,-1) with labels named after the model's classes (a name
     * with a comma and a space); the weights favour class 0 so that some rows are wrong */
    const float W[6] = {1.5f, 0.2f, -1.0f, -0.3f, 1.0f, -0.6f}, bias[3] = {1.5f, 0, 0};
    clg_context *ctx = test_context();
    clg_model *m =
        saved_linear(ctx, model, 2, 3, W, bias, NULL, NULL, "model=softmax\nloss=xent\n");
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, names, 3));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, "model=softmax\nloss=xent\n", model));
    for (int k = 0; k < 4; k++) {
        snprintf(files[k], sizeof files[k], "%s/f%d.csv", dir, k);
        /* 1: no "dog, eel" rows; 3: class ids */
        write_blobs(files[k], 150, k == 3 ? NULL : names, k == 1 ? 5 : 7);
    }
    FILE *f = fopen(files[2], "a"); /* a name the model does not know */
    fprintf(f, "s999,0.5,0.5,fox\n");
    fclose(f);

    size_t conf[3][3], n;
    double xent;
    reference_confusion(files[0], W, bias, names, conf, &xent, &n);
    size_t wrong = n - conf[0][0] - conf[1][1] - conf[2][2];
    cr_assert(conf[0][0] && conf[1][1] && conf[2][2] && wrong > 3,
              "the reference has right and wrong rows: %zu wrong", wrong);
    cr_assert_eq(
        clgrad_to(json, "eval --json --model %s --data %s --skip-columns id", model, files[0]), 0,
        "%s", out);
    expect_confusion(json, conf, n, xent, "every class");

    /* the text: accuracy, then the matrix with the names on both sides */
    cr_assert_eq(clgrad("eval --model %s --data %s --skip-columns id", model, files[0]), 0, "%s",
                 out);
    double acc = (double)(conf[0][0] + conf[1][1] + conf[2][2]) / (double)n;
    cr_expect_lt(fabs(after(out, "\naccuracy ") - acc), 1e-4, "%s", out);
    const char *head = strstr(out, "confusion matrix (rows: true class, columns: predicted "
                                   "class):\n");
    cr_assert_not_null(head, "%s", out);
    char line[256];
    line_at(head, 1, line, sizeof line);
    cr_expect(strstr(line, " cat") && strstr(line, " dog, eel") && strstr(line, " emu"), "%s", out);
    for (size_t t = 0; t < 3; t++) {
        line_at(head, 2 + t, line, sizeof line);
        cr_expect(!strncmp(line, names[t], strlen(names[t])), "row %zu: %s", t, line);
        char *p = line + strlen(names[t]);
        for (size_t c = 0; c < 3; c++)
            cr_expect_eq(strtoul(p, &p, 10), conf[t][c], "[%zu][%zu]:\n%s", t, c, out);
    }

    /* a file without "dog, eel" rows: numbered by the model's names, not its own */
    reference_confusion(files[1], W, bias, names, conf, &xent, &n);
    cr_expect_eq(conf[1][0] + conf[1][1] + conf[1][2], 0);
    cr_assert_eq(
        clgrad_to(json, "eval --json --model %s --data %s --skip-columns id", model, files[1]), 0,
        "%s", out);
    expect_confusion(json, conf, n, xent, "two of the classes");

    /* class ids: read as ids (the same rows as file 0) */
    reference_confusion(files[0], W, bias, names, conf, &xent, &n);
    cr_assert_eq(
        clgrad_to(json, "eval --json --model %s --data %s --skip-columns id", model, files[3]), 0,
        "%s", out);
    expect_confusion(json, conf, n, xent, "class ids");

    /* a name the model does not have */
    cr_expect_eq(clgrad("eval --model %s --data %s --skip-columns id", model, files[2]), 1, "%s",
                 out);
    cr_expect(strstr(out, "CLG_ERR_FORMAT") &&
                  strstr(out, "label \"fox\" is not one of the 3 class names"),
              "%s", out);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- info */

/* Issue item 4: an MLP with input scaling, class names and a meta text with characters
 * JSON must escape; a version 1 file; a file that is no checkpoint. */
Test(cli_eval, info_text_json_and_refusals)
{
    char *dir = test_tmpdir();
    char model[256], json[256], metafile[256], other[256];
    snprintf(model, sizeof model, "%s/mlp.clg", dir);
    snprintf(json, sizeof json, "%s/info.json", dir);
    snprintf(metafile, sizeof metafile, "%s/meta.txt", dir);
    snprintf(other, sizeof other, "%s/data.csv", dir);
    static const char *const names[2] = {"left", "right \"R\"\\"};
    const char *meta = "model=mlp:4\nloss=xent\nnote=tab\there \"q\" \\ \xc3\xa9\n";
    const float mean[3] = {0.5f, -2, 1.25f}, scale[3] = {2, 0.25f, 3};
    clg_context *ctx = test_context();
    clg_model *m = NULL;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, 4, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 2, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_set_input_scaling(m, mean, scale, 3));
    CLG_OK_OR_FAIL(ctx, clg_model_set_class_names(m, names, 2));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, meta, model));
    FILE *f = fopen(metafile, "w");
    fputs(meta, f);
    fclose(f);

    cr_assert_eq(clgrad("info %s", model), 0, "%s", out);
    static const char *const lines[] = {
        "format version: 2\n",
        "model: Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n  (2): Linear(in_features=4, out_features=2, bias=True)\n)\n",
        "inputs: 3\noutputs: 2\nparameters: 26\n",
        "  0.weight     3x4\n",
        "  2.bias       1x2\n",
        "input scaling: yes",
        "class names: 2: 0 left, 1 right \"R\"\\\n",
        "optimizer state: none\n",
        "meta:\n  model=mlp:4\n  loss=xent\n  note=tab\there \"q\" \\ \xc3\xa9\n"};
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
        cr_expect(strstr(out, lines[k]), "wanted \"%s\" in:\n%s", lines[k], out);
    cr_assert_eq(clgrad("info --model=%s", model), 0, "%s", out);
    cr_expect(strstr(out, lines[1]), "--model FILE is the same:\n%s", out);

    cr_assert_eq(clgrad_to(json, "info --json %s", model), 0, "%s", out);
    char q[4096], line[512];
    json_query(json,
               "d[\"command\"], d[\"format_version\"], d[\"parameters\"], d[\"inputs\"], "
               "d[\"outputs\"], [l[\"type\"] for l in d[\"layers\"]], d[\"layers\"][2][\"repr\"], "
               "d[\"layers\"][0][\"in_features\"], d[\"input_scaling\"][\"mean\"], "
               "d[\"input_scaling\"][\"scale\"], d[\"class_names\"], d[\"loss\"], "
               "d[\"optimizer_state\"], d[\"meta\"] == open(sys.argv[1][:-9] + \"meta.txt\", "
               "encoding=\"utf-8\").read(), "
               "d[\"tensors\"][1]",
               q, sizeof q);
    static const char *const want[] = {"\"info\"",
                                       "2",
                                       "26",
                                       "3",
                                       "2",
                                       "[\"Linear\", \"ReLU\", \"Linear\"]",
                                       "\"Linear(in_features=4, out_features=2, bias=True)\"",
                                       "3",
                                       "[0.5, -2, 1.25]",
                                       "[2, 0.25, 3]",
                                       "[\"left\", \"right \\\"R\\\"\\\\\"]",
                                       "\"xent\"",
                                       "false",
                                       "true",
                                       "{\"name\": \"0.bias\", \"shape\": [1, 4]}"};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++)
        cr_expect_str_eq(line_at(q, k, line, sizeof line), want[k], "field %zu:\n%s", k, q);

    /* a version 1 checkpoint (with optimizer state) */
    cr_assert_eq(clgrad_to(json, "info --json %s/v1_sgd.ckpt", CLGRAD_TEST_DATA), 0, "%s", out);
    json_query(json, "d[\"format_version\"], d[\"optimizer_state\"], d[\"class_names\"]", q,
               sizeof q);
    cr_expect_str_eq(q, "1\ntrue\nnull\n");

    /* not a checkpoint: the library's message, exit 1, nothing on stdout */
    f = fopen(other, "w");
    fputs("x,y\n1,2\n", f);
    fclose(f);
    clg_model *none = NULL;
    cr_assert_eq(clg_model_load(ctx, other, &none, NULL, 0), CLG_ERR_FORMAT);
    char msg[512];
    snprintf(msg, sizeof msg, "clgrad: CLG_ERR_FORMAT: %s\n",
             clg_last_error(ctx)[0] ? clg_last_error(ctx) : clg_last_error(NULL));
    cr_expect_eq(clgrad("info %s", other), 1, "%s", out);
    cr_expect(strstr(out, msg), "wanted \"%s\":\n%s", msg, out);
    cr_expect_eq(clgrad_to(json, "info --json %s", other), 1, "%s", out);
    cr_expect_str_eq(slurp(json), "", "stdout of a refusal: %s", out);
    cr_expect_eq(clgrad("info"), 2, "%s", out);
    cr_expect(strstr(out, "clgrad info: --model is required"), "%s", out);
    cr_expect_eq(clgrad("info %s %s", model, model), 2, "%s", out);
    cr_expect(strstr(out, "unexpected argument"), "%s", out);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- solve */

/* y = Σ c_j x_j + 0.5 + a small non-linear term, 12 features. */
static void write_wide(const char *path, int n, int shift)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int j = 0; j < 12; j++) fprintf(f, "x%d,", j);
    fprintf(f, "y\n");
    for (int i = 0; i < n; i++) {
        double y = 0.5;
        for (int j = 0; j < 12; j++) {
            double x = sin((i + shift) * (0.31 + 0.17 * j) + j);
            fprintf(f, "%.5f,", x);
            y += (j - 5.5) * 0.3 * x;
        }
        fprintf(f, "%.5f\n", y + 0.05 * sin((i + shift) * 2.9));
    }
    fclose(f);
}

/* Issue item 5: every coefficient, --output, --save (a model eval and predict agree with),
 * --test and --json. */
Test(cli_eval, solve_coefficients_saved_model_and_test_loss)
{
    char *dir = test_tmpdir();
    char data[256], test[256], model[256], coef[256], json[256], json2[256];
    snprintf(data, sizeof data, "%s/wide.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(model, sizeof model, "%s/solved.clg", dir);
    snprintf(coef, sizeof coef, "%s/coef.csv", dir);
    snprintf(json, sizeof json, "%s/solve.json", dir);
    snprintf(json2, sizeof json2, "%s/eval.json", dir);
    write_wide(data, 150, 0);
    write_wide(test, 40, 1000);

    cr_assert_eq(clgrad("solve --data %s --save %s --output %s", data, model, coef), 0, "%s", out);
    static char text[sizeof out];
    snprintf(text, sizeof text, "%s", out);
    const char *w = strstr(text, "w: [");
    cr_assert_not_null(w, "%s", text);
    size_t len = strcspn(w, "\n"), count = 1;
    for (size_t i = 0; i < len; i++) count += w[i] == ',';
    cr_expect_eq(count, 12, "every coefficient: %.*s", (int)len, w);
    cr_expect(!strstr(text, "..."), "%s", text);
    const char *loss_line = strstr(text, "loss (squared) ");
    cr_assert_not_null(loss_line, "%s", text);

    cr_assert_eq(clgrad_to(json, "solve --json --data %s --test %s", data, test), 0, "%s", out);
    char q[8192], line[1024];
    json_query(json,
               "d[\"command\"], d[\"samples\"], d[\"features\"], d[\"outputs\"], d[\"loss_kind\"], "
               "d[\"loss\"], d[\"bias\"], d[\"test\"][\"samples\"], d[\"test\"][\"loss\"], "
               "d[\"synthetic\"], *d[\"weights\"]",
               q, sizeof q);
    cr_expect_str_eq(line_at(q, 0, line, sizeof line), "\"solve\"");
    cr_expect_eq(num_at(q, 1), 150.0);
    cr_expect_eq(num_at(q, 2), 12.0);
    cr_expect_eq(num_at(q, 3), 1.0);
    cr_expect_str_eq(line_at(q, 4, line, sizeof line), "\"squared\"");
    double loss = num_at(q, 5), b = num_at(q, 6), test_loss = num_at(q, 8), wj[12];
    cr_expect_eq(num_at(q, 7), 40.0);
    cr_expect_str_eq(line_at(q, 9, line, sizeof line), "null");
    for (size_t j = 0; j < 12; j++) {
        wj[j] = num_at(q, 10 + j);
        cr_expect(close_to(wj[j], (j - 5.5) * 0.3, 0.02), "w%zu = %g", j, wj[j]);
    }
    cr_expect_lt(fabs(after(text, "b: ") - b), 1e-6, "text b vs JSON %.9g:\n%s", b, text);
    cr_expect_lt(fabs(strtod(loss_line + 15, NULL) - loss), 1e-6, "%s", text);
    cr_expect(loss > 1e-4 && test_loss > 1e-4, "losses %g %g", loss, test_loss);

    /* --output: name,value rows w0..w11, b, as %.9g */
    const char *csv = slurp(coef);
    cr_expect_str_eq(line_at(csv, 0, line, sizeof line), "name,value");
    for (size_t j = 0; j <= 12; j++) {
        char name[8] = "b,";
        if (j < 12) snprintf(name, sizeof name, "w%zu,", j);
        line_at(csv, j + 1, line, sizeof line);
        cr_expect(!strncmp(line, name, strlen(name)), "row %zu: %s", j, line);
        double v = strtod(line + strlen(name), NULL);
        cr_expect(close_to(v, j < 12 ? wj[j] : b, 1e-6), "row %zu: %s", j, line);
    }

    /* --save: eval on the training data reports the loss solve printed; on the test file
     * solve's test loss */
    cr_assert_eq(clgrad("eval --model %s --data %s", model, data), 0, "%s", out);
    char want[64];
    snprintf(want, sizeof want, "%.*s", (int)strcspn(loss_line, "\n"), loss_line);
    cr_expect(strstr(out, want), "solve printed \"%s\"; eval:\n%s", want, out);
    cr_assert_eq(clgrad_to(json2, "eval --json --model %s --data %s", model, test), 0, "%s", out);
    json_query(json2, "d[\"loss\"], d[\"samples\"]", q, sizeof q);
    cr_expect(close_to(num_at(q, 0), test_loss, 1e-6), "eval %.9g, solve --test %.9g", num_at(q, 0),
              test_loss);

    /* predict: X·w + b */
    cr_assert_eq(clgrad("predict --model %s --data %s 2>/dev/null", model, data), 0, "%s", out);
    clg_csv_options co = clg_csv_defaults();
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    CLG_OK_OR_FAIL(NULL, clg_csv_read(data, &co, &X, &y, &n, &d));
    cr_assert_eq(n, 150);
    for (size_t i = 0; i < n; i++) {
        double p = b;
        for (size_t j = 0; j < 12; j++) p += wj[j] * X[i * 12 + j];
        cr_expect(close_to(num_at(out, i), p, 1e-5), "row %zu: %g, X.w+b %g", i, num_at(out, i), p);
    }
    free(X);
    free(y);
    cr_assert_eq(clgrad_to(json2, "info --json %s", model), 0, "%s", out);
    json_query(json2, "d[\"layers\"][0][\"repr\"], d[\"loss\"]", q, sizeof q);
    cr_expect_str_eq(q, "\"Linear(in_features=12, out_features=1, bias=True)\"\n\"squared\"\n");

    /* --proba needs a classifier */
    cr_expect_eq(clgrad("predict --model %s --data %s --proba", model, data), 1, "%s", out);
    cr_expect(strstr(out, "--proba: ") && strstr(out, "is a regression model (loss squared)"), "%s",
              out);

    /* outputs are checked before the data is read */
    cr_expect_eq(clgrad("solve --data %s --save /nonexistent/dir/m.clg", data), 2, "%s", out);
    cr_expect(strstr(out, "clgrad solve: --save: directory '/nonexistent/dir' does not exist"),
              "%s", out);
    cr_expect_eq(clgrad("solve --data %s --output %s", data, data), 2, "%s", out);
    cr_expect(strstr(out, "--output: ") && strstr(out, "is an input file"), "%s", out);
    cr_expect_eq(clgrad("solve --data %s --test-labels %s", data, data), 2, "%s", out);
    cr_expect(strstr(out, "--test-labels needs --test FILE"), "%s", out);
}

/* Synthetic data through --json: the truth and the errors. */
Test(cli_eval, solve_json_on_synthetic_data)
{
    char *dir = test_tmpdir();
    char json[256], q[2048];
    snprintf(json, sizeof json, "%s/s.json", dir);
    cr_assert_eq(clgrad_to(json, "solve --json --synthetic 500x3"), 0, "%s", out);
    json_query(json,
               "d[\"data\"], d[\"synthetic\"][\"true_weights\"], d[\"synthetic\"][\"true_bias\"], "
               "d[\"synthetic\"][\"max_weight_error\"] < 1e-2, len(d[\"weights\"])",
               q, sizeof q);
    cr_expect_str_eq(q, "null\n[2, -3.4000001, 0.5]\n4.19999981\ntrue\n3\n");
}
