/* clgrad train / eval --stream (tools/data_args.c, docs/streaming.md): a CSV or .npy file
 * read from disk chunk by chunk. Without shuffling the streamed run saves the same
 * checkpoint, byte for byte, as the in-memory run (CSV regression with --standardize and a
 * streamed --test file, .npy softmax); a shuffled streamed run learns; eval --stream gives
 * the in-memory figures; misuse is refused with a message. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>

#include "helpers.h"

static char out[1 << 16];

/* Runs "tools/clgrad ARGS" in the build directory (env first, e.g. "CLGRAD_FUSED=0"),
 * stdout and stderr in out. */
static int clgrad(const char *env, const char *fmt, ...)
{
    char args[3000], cmd[3200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s timeout 120 tools/clgrad %s", env, args);
    return run_in_build(cmd, out, sizeof out);
}

static uint64_t lcg(uint64_t *u)
{
    *u = *u * 6364136223846793005ULL + 1442695040888963407ULL;
    return *u >> 11;
}

/* A CSV of n rows with a header: d features in [0, 10) (far from unit scale) and
 * y = sum_j (j/d - 0.5) x_j + 0.5. */
static void write_regression(const char *path, size_t n, size_t d, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t j = 0; j < d; j++) fprintf(f, "x%zu,", j);
    fputs("y\n", f);
    for (size_t i = 0; i < n; i++) {
        double y = 0.5;
        for (size_t j = 0; j < d; j++) {
            double x = (double)(lcg(&seed) % 10000) / 1000.0;
            y += ((double)j / (double)d - 0.5) * x;
            fprintf(f, "%.3f,", x);
        }
        fprintf(f, "%.6f\n", y);
    }
    fclose(f);
}

static void npy_header(FILE *fp, const char *descr, const char *shape)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
             shape);
    size_t hlen = strlen(dict) + 1;
    while ((10 + hlen) % 64) hlen++;
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hlen, (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, fp);
    fputs(dict, fp);
    for (size_t i = strlen(dict) + 1; i < hlen; i++) fputc(' ', fp);
    fputc('\n', fp);
}

/* X (n×4 float32) and int64 labels of 3 classes, each revealed by one feature. */
static void write_classes(const char *X_path, const char *y_path, size_t n)
{
    FILE *fx = fopen(X_path, "wb"), *fy = fopen(y_path, "wb");
    cr_assert(fx && fy);
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, 4)", n);
    npy_header(fx, "<f4", shape);
    snprintf(shape, sizeof shape, "(%zu,)", n);
    npy_header(fy, "<i8", shape);
    uint64_t u = 8;
    for (size_t i = 0; i < n; i++) {
        int64_t c = (int64_t)(lcg(&u) % 3);
        for (int j = 0; j < 4; j++) {
            float x = (float)(lcg(&u) % 2000) / 1000.0f - 1.0f + (j == c ? 2.0f : 0.0f);
            fwrite(&x, sizeof x, 1, fx);
        }
        fwrite(&c, sizeof c, 1, fy);
    }
    fclose(fx);
    fclose(fy);
}

/* The bytes of a file, malloc'd. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len ? *len : 1);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void expect_same_file(const char *a, const char *b, const char *what)
{
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    cr_expect(la == lb && memcmp(x, y, la) == 0, "%s: %s and %s differ (%zu and %zu bytes)", what,
              a, b, la, lb);
    free(x);
    free(y);
}

/* out without the " ..., N samples/s" parts: the lines two runs must share. */
static void strip_rates(char *text)
{
    char *p;
    while ((p = strstr(text, " samples/s"))) {
        char *start = p;
        while (start > text && start[-1] != ',') start--;
        memmove(start > text ? start - 1 : start, p + 10, strlen(p + 10) + 1);
    }
}

/* Unshuffled, the streamed runs save the in-memory runs' checkpoints byte for byte and
 * print the same losses: CSV regression with --standardize and a --test file (both read
 * in chunks of 37 rows), and .npy softmax with chunks of 64. The in-memory runs take the
 * unfused path (CLGRAD_FUSED=0): the fused kernels sum in another order. */
Test(cli_stream, unshuffled_streamed_runs_save_the_in_memory_model, .timeout = 180)
{
    char *dir = test_tmpdir();
    char train[256], test[256], a[256], b[256], X[256], y[256], text[sizeof out];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(a, sizeof a, "%s/a.clg", dir);
    snprintf(b, sizeof b, "%s/b.clg", dir);
    write_regression(train, 1000, 5, 1);
    write_regression(test, 300, 5, 2);
    const char *common = "--no-shuffle --epochs 3 --batch 24 --standardize --no-progress";
    cr_assert_eq(
        clgrad("CLGRAD_FUSED=0", "train --data %s --test %s %s --save %s", train, test, common, a),
        0, "%s", out);
    strip_rates(out);
    snprintf(text, sizeof text, "%s", out);
    cr_assert_eq(clgrad("", "train --data %s --test %s %s --save %s --stream --chunk-rows 37",
                        train, test, common, b),
                 0, "%s", out);
    strip_rates(out);
    cr_expect_str_eq(out, text, "CSV: streamed output differs");
    cr_assert(strstr(out, "test loss") != NULL, "%s", out);
    expect_same_file(a, b, "CSV regression");

    snprintf(X, sizeof X, "%s/X.npy", dir);
    snprintf(y, sizeof y, "%s/y.npy", dir);
    write_classes(X, y, 700);
    common = "--model softmax --no-shuffle --epochs 2 --batch 32 --no-progress";
    cr_assert_eq(
        clgrad("CLGRAD_FUSED=0", "train --data %s --labels %s %s --save %s", X, y, common, a), 0,
        "%s", out);
    strip_rates(out);
    snprintf(text, sizeof text, "%s", out);
    cr_assert_eq(clgrad("", "train --data %s --labels %s %s --save %s --stream --chunk-rows 64", X,
                        y, common, b),
                 0, "%s", out);
    strip_rates(out);
    cr_expect_str_eq(out, text, ".npy: streamed output differs");
    expect_same_file(a, b, ".npy softmax");
    /* eval of that model: the streamed file gives the in-memory figures. */
    cr_assert_eq(clgrad("CLGRAD_FUSED=0", "eval --model %s --data %s --labels %s", b, X, y), 0,
                 "%s", out);
    snprintf(text, sizeof text, "%s", out);
    cr_assert_eq(
        clgrad("", "eval --model %s --data %s --labels %s --stream --chunk-rows 50", b, X, y), 0,
        "%s", out);
    cr_expect_str_eq(out, text, "eval --stream");
}

/* The default order (shuffled: chunks of 100 drawn at random, 4 at a time) learns. */
Test(cli_stream, shuffled_streamed_run_learns, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    write_regression(train, 2000, 3, 3);
    cr_assert_eq(clgrad("",
                        "train --data %s --stream --chunk-rows 100 --epochs 5 --batch 16 "
                        "--standardize --no-progress --json",
                        train),
                 0, "%s", out);
    const char *first = strstr(out, "\"train_loss\":"), *last = strstr(out, "\"final_loss\":");
    cr_assert(first && last, "%s", out);
    double l1 = strtod(first + 13, NULL), l5 = strtod(last + 13, NULL);
    cr_expect(l5 < 0.1 * l1 && l5 < 1e-3, "loss %g after epoch 1, %g at the end", l1, l5);
}

/* Misuse: each refused with a message that names the problem. */
Test(cli_stream, misuse_is_refused)
{
    char *dir = test_tmpdir();
    char train[256], idx[256], X[256], y[256];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(idx, sizeof idx, "%s/train-images-idx3-ubyte", dir);
    snprintf(X, sizeof X, "%s/X.npy", dir);
    snprintf(y, sizeof y, "%s/y.npy", dir);
    write_regression(train, 50, 2, 4);
    write_classes(X, y, 20);
    FILE *f = fopen(idx, "wb");
    fclose(f);
    struct {
        char args[1024];
        int status;
        const char *needle, *input;
    } cases[] = {
        {"", 1, "--chunk-rows is for --stream", "clgrad train --chunk-rows without --stream"},
        {"", 1, "synthetic data is generated", "clgrad train --stream with synthetic data"},
        {"", 1, "is IDX, which is read whole", "clgrad train --stream on an IDX file"},
        {"", 1, "needs its label file", "clgrad train --stream on an .npy file without --labels"},
        {"", 2, "--chunk-rows", "clgrad train --stream --chunk-rows 0"},
        {"", 1, "not finite", "clgrad train --stream on a CSV with a NaN"},
    };
    snprintf(cases[0].args, sizeof cases[0].args, "train --data %s --chunk-rows 10", train);
    snprintf(cases[1].args, sizeof cases[1].args, "train --synthetic 100 --stream");
    snprintf(cases[2].args, sizeof cases[2].args,
             "train --data %s --labels %s --model softmax --stream", idx, idx);
    snprintf(cases[3].args, sizeof cases[3].args, "train --data %s --stream", X);
    snprintf(cases[4].args, sizeof cases[4].args, "train --data %s --stream --chunk-rows 0", train);
    char bad[256];
    snprintf(bad, sizeof bad, "%s/nan.csv", dir);
    f = fopen(bad, "w");
    fputs("a,b,y\n1,2,3\n4,nan,6\n", f);
    fclose(f);
    snprintf(cases[5].args, sizeof cases[5].args, "train --data %s --stream", bad);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int st = clgrad("", "%s --no-progress", cases[k].args);
        cr_expect_eq(st, cases[k].status, "%s: exit %d:\n%s", cases[k].args, st, out);
        cr_expect(strstr(out, cases[k].needle) != NULL, "%s: \"%s\" missing:\n%s", cases[k].args,
                  cases[k].needle, out);
        char status[16];
        snprintf(status, sizeof status, "exit %d", st);
        bad_input_record(cases[k].input, status, out);
    }
}
