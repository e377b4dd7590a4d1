/* clgrad train / eval / predict end to end on files the test writes: CSV
 * classification and regression, a gzip'd IDX set, checkpoints, logs, plots. */
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

static char out[1 << 17];

static int run(const char *fmt, ...)
{
    const char *bin = getenv("CLGRAD_TEST_BIN_DIR");
    cr_assert_not_null(bin, "CLGRAD_TEST_BIN_DIR must name the build directory (ctest sets it)");
    char cmd[2048], line[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s/tools/clgrad %s 2>&1", bin, cmd);
    FILE *p = popen(line, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number after the last occurrence of key (the last epoch's figure). */
static double after(const char *key)
{
    const char *p = NULL;
    for (const char *q = strstr(out, key); q; q = strstr(q + 1, key)) p = q;
    cr_assert_not_null(p, "'%s' missing from:\n%s", key, out);
    return strtod(p + strlen(key), NULL);
}

/* Three Gaussian-ish blobs in 2-D, class = blob; deterministic. */
static void write_blobs(const char *path, int n, int with_label, int seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, with_label ? "x1,x2,class\n" : "x1,x2\n");
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        double a = sin(i * 12.9898 + seed) * 0.6, b = cos(i * 78.233 + seed) * 0.6;
        double cx[3] = {-2, 2, 0}, cy[3] = {-1, -1, 2};
        fprintf(f, "%.5f,%.5f", cx[c] + a, cy[c] + b);
        if (with_label) fprintf(f, ",%d", c);
        fprintf(f, "\n");
    }
    fclose(f);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

Test(cli_models, softmax_csv_train_save_eval_predict_log_plot)
{
    char *d = test_tmpdir();
    char tr[256], te[256], feats[256];
    snprintf(tr, sizeof tr, "%s/train.csv", d);
    snprintf(te, sizeof te, "%s/test.csv", d);
    snprintf(feats, sizeof feats, "%s/features.csv", d);
    write_blobs(tr, 600, 1, 0);
    write_blobs(te, 150, 1, 7);
    write_blobs(feats, 30, 0, 3);
    cr_assert_eq(
        run("train --data %s --test %s --model softmax --epochs 8 --batch 16 --save %s/m.clg "
            "--log %s/log.csv --plot %s/curve.svg",
            tr, te, d, d, d),
        0, "%s", out);
    cr_expect_gt(after("epoch 8, loss "), 0.0);
    cr_expect_gt(after("test acc "), 0.95, "%s", out);
    cr_expect_gt(after("train accuracy "), 0.95, "%s", out);

    char path[300];
    snprintf(path, sizeof path, "%s/log.csv", d);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    cr_expect_eq(count_lines(buf), 9, "header + 8 epochs:\n%s", buf);
    cr_expect(strncmp(buf, "epoch,train_loss,test_loss,test_accuracy,seconds\n", 49) == 0, "%s",
              buf);
    snprintf(path, sizeof path, "%s/curve.svg", d);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    cr_expect(strstr(buf, "<svg") && strstr(buf, "test accuracy") && strstr(buf, "<polyline"), "%s",
              buf);

    cr_assert_eq(run("eval --model %s/m.clg --data %s", d, te), 0, "%s", out);
    cr_expect_gt(after("accuracy "), 0.95, "%s", out);
    cr_expect_eq((size_t)after("samples "), 150);

    cr_assert_eq(run("predict --model %s/m.clg --data %s", d, te), 0, "%s", out);
    cr_expect_eq(count_lines(out), 150);
    size_t right = 0, i = 0;
    for (char *p = out; *p && i < 150; i++) {
        right += strtol(p, &p, 10) == (long)(i % 3);
        while (*p == '\n') p++;
    }
    cr_expect_gt(right, 142, "predicted classes: %zu of 150 right", right);
    cr_assert_eq(run("predict --model %s/m.clg --data %s", d, feats), 0, "%s", out);
    cr_expect_eq(count_lines(out), 30, "a features-only CSV predicts every row:\n%s", out);
}

Test(cli_models, linear_regression_checkpoint_round_trip)
{
    char *d = test_tmpdir();
    char tr[256];
    snprintf(tr, sizeof tr, "%s/reg.csv", d);
    FILE *f = fopen(tr, "w");
    for (int i = 0; i < 400; i++) {
        double a = sin(i * 0.37) * 2, b = cos(i * 0.91) * 2;
        fprintf(f, "%.6f,%.6f,%.6f\n", a, b, 3 * a - b + 0.5);
    }
    fclose(f);
    cr_assert_eq(run("train --data %s --epochs 20 --lr 0.05 --save %s/r.clg", tr, d), 0, "%s", out);
    cr_assert_eq(run("eval --model %s/r.clg --data %s", d, tr), 0, "%s", out);
    cr_expect_lt(after("loss (squared) "), 1e-4, "%s", out);
    cr_assert_eq(run("predict --model %s/r.clg --data %s", d, tr), 0, "%s", out);
    double first = strtod(out, NULL), want = 3 * sin(0.0) * 2 - cos(0.0) * 2 + 0.5;
    cr_expect_lt(fabs(first - want), 0.02, "first prediction %g, target %g", first, want);
}

static void put_be32(FILE *f, unsigned v)
{
    fputc(v >> 24, f), fputc(v >> 16 & 255, f), fputc(v >> 8 & 255, f), fputc(v & 255, f);
}

/* An IDX pair of n 8×8 images: class c lights row band c (of 3), plus speckle. */
static void write_idx(const char *dir, const char *name, int n, int seed)
{
    char path[300], cmd[400];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, name);
    FILE *f = fopen(path, "wb");
    put_be32(f, 0x00000803), put_be32(f, n), put_be32(f, 8), put_be32(f, 8);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < 64; p++) {
            int band = (p / 8) * 3 / 8;
            int speck = (int)(fabs(sin((i * 64 + p) * 3.1 + seed)) * 90);
            fputc(band == i % 3 ? 160 + speck : speck, f);
        }
    fclose(f);
    snprintf(cmd, sizeof cmd, "gzip -f %s", path);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, name);
    f = fopen(path, "wb");
    put_be32(f, 0x00000801), put_be32(f, n);
    for (int i = 0; i < n; i++) fputc(i % 3, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "gzip -f %s", path);
    cr_assert_eq(system(cmd), 0);
}

Test(cli_models, mlp_on_gzipped_idx)
{
    char *d = test_tmpdir();
    write_idx(d, "train", 450, 1);
    write_idx(d, "t10k", 90, 2);
    cr_assert_eq(
        run("train --data %s/train-images-idx3-ubyte.gz --labels %s/train-labels-idx1-ubyte.gz "
            "--test %s/t10k-images-idx3-ubyte.gz --test-labels %s/t10k-labels-idx1-ubyte.gz "
            "--model mlp:16 --epochs 6 --batch 32 --save %s/mlp.clg",
            d, d, d, d, d),
        0, "%s", out);
    cr_expect_gt(after("test acc "), 0.9, "%s", out);
    cr_assert_eq(run("eval --model %s/mlp.clg --data %s/t10k-images-idx3-ubyte.gz --labels "
                     "%s/t10k-labels-idx1-ubyte.gz",
                     d, d, d),
                 0, "%s", out);
    cr_expect_gt(after("accuracy "), 0.9, "%s", out);
}

Test(cli_models, bad_models_and_options)
{
    char *d = test_tmpdir();
    char tr[256], bad[256];
    snprintf(tr, sizeof tr, "%s/train.csv", d);
    write_blobs(tr, 60, 1, 0);
    cr_expect_eq(run("train --data %s --model mlp:", tr), 2, "%s", out);
    cr_expect_eq(run("train --data %s --model mlp:0", tr), 2, "%s", out);
    cr_expect_eq(run("train --data %s --model linear --loss xent", tr), 2, "%s", out);
    cr_expect_eq(run("eval --data %s", tr), 2, "%s", out);
    snprintf(bad, sizeof bad, "%s/bad.clg", d);
    FILE *f = fopen(bad, "wb");
    fputs("CLGRADCK but not really a checkpoint", f);
    fclose(f);
    cr_expect_eq(run("eval --model %s --data %s", bad, tr), 1, "%s", out);
    cr_expect(strstr(out, "CLG_ERR_FORMAT") != NULL, "%s", out);
    cr_expect_eq(run("eval --model %s/none.clg --data %s", d, tr), 1, "%s", out);
    cr_expect(strstr(out, "CLG_ERR_IO") != NULL, "%s", out);
    /* Refused before the data is read (tests/test_cli_train.c has the other reasons). */
    cr_expect_eq(run("train --data %s --model softmax --save /proc/forbidden/m.clg --epochs 1", tr),
                 2, "%s", out);
    cr_expect(strstr(out, "clgrad train: --save: directory '/proc/forbidden' does not exist"), "%s",
              out);
    cr_expect(strstr(out, "epoch") == NULL, "%s", out);
}

/* Issue 9: a CSV label of 3e9 with --model softmax was cast to int32_t before its range
 * was checked (undefined behaviour). It is refused, naming the row and the limit. */
Test(cli_models, class_labels_are_range_checked_before_the_cast)
{
    const char *d = test_tmpdir();
    static const struct {
        const char *label, *needle;
    } cases[] = {
        {"3e9", "row 2: label 3e+09 is not a class id (an integer in 0..10000000)"},
        {"-1", "row 2: label -1 is not a class id (an integer in 0..10000000)"},
        {"1.5", "row 2: label 1.5 is not a class id (an integer in 0..10000000)"},
        {"10000001", "row 2: label 1e+07 is not a class id (an integer in 0..10000000)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char path[300];
        snprintf(path, sizeof path, "%s/labels%zu.csv", d, k);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fprintf(f, "x1,x2,class\n0.1,0.2,0\n0.3,0.4,%s\n", cases[k].label);
        fclose(f);
        cr_expect_eq(run("train --data %s --model softmax --epochs 1", path), 1, "%s", out);
        const char *line = strstr(out, cases[k].needle);
        cr_expect(line != NULL, "label %s: output lacks \"%s\":\n%s", cases[k].label,
                  cases[k].needle, out);
        if (!line) continue;
        cr_expect(strstr(out, ": \n") == NULL, "label %s: no line without its message:\n%s",
                  cases[k].label, out);
        char input[64], msg[256];
        snprintf(input, sizeof input, "CSV class label %s (--model softmax)", cases[k].label);
        snprintf(msg, sizeof msg, "%.*s", (int)strcspn(line, "\n"), line);
        bad_input_record(input, "exit 1", msg);
    }
}

/* PHM models (docs/layers.md) on the wine data of examples/data: phm:2 is softmax regression
 * on one PHM(13→3, n=2) layer, 8 + 2·7·2 + 3 = 39 parameters (a Linear has 42); info shows
 * the layer and that count, eval and predict read the file back; --init is recorded. */
Test(cli_models, phm_on_wine_train_info_eval_predict)
{
    const char *d = test_tmpdir();
    const char *tr = CLGRAD_TEST_DATA "/../../examples/data/wine_train.csv",
               *te = CLGRAD_TEST_DATA "/../../examples/data/wine_test.csv";
    cr_assert_eq(run("train --data %s --test %s --standardize --model phm:2 --epochs 30 --lr 0.1 "
                     "--save %s/phm.clg",
                     tr, te, d),
                 0, "%s", out);
    cr_expect_geq(after("test acc "), 0.9, "%s", out);
    cr_assert_eq(run("info %s/phm.clg", d), 0, "%s", out);
    cr_expect(strstr(out, "(0): PHM(in_features=13, out_features=3, n=2, bias=True)"), "%s", out);
    cr_expect(strstr(out, "parameters: 39\n"), "%s", out);
    cr_expect(strstr(out, "0.A          4x2\n") && strstr(out, "0.S          14x2\n") &&
                  strstr(out, "0.bias       1x3\n"),
              "%s", out);
    cr_expect(strstr(out, "model=phm:2\n") && !strstr(out, "init="), "%s", out);
    cr_assert_eq(run("info --json %s/phm.clg", d), 0, "%s", out);
    cr_expect(strstr(out, "\"parameters\":39") && strstr(out, "\"type\":\"PHM\""), "%s", out);
    cr_assert_eq(run("eval --model %s/phm.clg --data %s", d, te), 0, "%s", out);
    cr_expect_geq(after("accuracy "), 0.9, "%s", out);
    cr_expect_eq((size_t)after("samples "), 35);
    cr_assert_eq(run("predict --model %s/phm.clg --data %s", d, te), 0, "%s", out);
    cr_expect_eq(count_lines(out), 35, "%s", out);
    cr_expect(strstr(out, "class_") != NULL, "class names predicted:\n%s", out);

    /* phm:N:H: every Linear of mlp:H a PHM layer; --init given before --model holds. */
    cr_assert_eq(run("train --data %s --standardize --init xavier --model phm:4:8 --epochs 20 "
                     "--lr 0.1 --save %s/phm-mlp.clg",
                     tr, d),
                 0, "%s", out);
    cr_expect_geq(after("train accuracy "), 0.9, "%s", out);
    cr_assert_eq(run("info %s/phm-mlp.clg", d), 0, "%s", out);
    cr_expect(strstr(out, "(0): PHM(in_features=13, out_features=8, n=4, bias=True)\n"
                          "  (1): ReLU()\n"
                          "  (2): PHM(in_features=8, out_features=3, n=4, bias=True)"),
              "%s", out);
    /* 64 + 4·4·2 + 8, then 64 + 4·2·1 + 3 */
    cr_expect(strstr(out, "parameters: 179\n"), "%s", out);
    cr_expect(strstr(out, "init=xavier"), "%s", out);
}

Test(cli_models, phm_and_init_refusals)
{
    const char *tr = CLGRAD_TEST_DATA "/../../examples/data/wine_train.csv";
    static const char *const specs[] = {"phm:0", "phm:17",  "phm:",    "phm:2:",   "phm:2:0",
                                        "phm:x", "phm:2,4", "phm:02x", "phm:2:4:8"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cr_expect_eq(run("train --data %s --model %s --epochs 1", tr, specs[i]), 2, "%s: %s",
                     specs[i], out);
        cr_expect(strstr(out, "phm:N or phm:N:H1[,H2...] (n of 1..16"), "%s: %s", specs[i], out);
    }
    char input[64], msg[512];
    snprintf(msg, sizeof msg, "%.*s", (int)strcspn(out, "\n"), out);
    bad_input_record("--model phm:2:4:8", "exit 2", msg);
    cr_expect_eq(run("train --data %s --model phm:2 --init he --epochs 1", tr), 2, "%s", out);
    cr_expect(strstr(out, "'he' is not normal, torch, xavier, xavier-normal, kaiming or "
                          "kaiming-normal"),
              "%s", out);
    snprintf(msg, sizeof msg, "%.*s", (int)strcspn(out, "\n"), out);
    bad_input_record("--init he", "exit 2", msg);
    /* n = 16 above max(13, 3): refused by the library when the model is built. */
    cr_expect_eq(run("train --data %s --model phm:16 --epochs 1", tr), 1, "%s", out);
    const char *line = strstr(out, "clgrad: CLG_ERR_INVALID_ARGUMENT: clg_model_add_phm: n 16 "
                                   "exceeds max(in, out) = 13");
    cr_assert(line != NULL, "%s", out);
    snprintf(input, sizeof input, "--model phm:16 on 13 features");
    snprintf(msg, sizeof msg, "%.*s", (int)strcspn(line, "\n"), line);
    bad_input_record(input, "exit 1", msg);
}
