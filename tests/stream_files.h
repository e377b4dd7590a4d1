/* Shared by test_stream_file.c and test_stream_shards.c: file writers, fixtures, fit checks. */
#ifndef CLGRAD_TEST_STREAM_FILES_H
#define CLGRAD_TEST_STREAM_FILES_H
#include <math.h>
#include <stdint.h>

#include "helpers.h"

static inline const char *tmp_path(const char *name)
{
    static char *dir;
    static char buf[16][256];
    static int next;
    if (!dir) dir = test_tmpdir();
    char *p = buf[next++ % 16];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* ----------------------------------------------------------------- writers */

/* A version 1.0 .npy header for descr and shape "(rows, cols)" or "(rows,)" (cols 0). */
static inline void npy_header(FILE *fp, const char *descr, size_t rows, size_t cols)
{
    char dict[256];
    if (cols)
        snprintf(dict, sizeof dict,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr, rows,
                 cols);
    else
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                 descr, rows);
    size_t hlen = strlen(dict) + 1;
    while ((10 + hlen) % 64) hlen++;
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hlen, (unsigned char)(hlen >> 8)};
    cr_assert_eq(fwrite(pre, 1, 10, fp), 10u);
    fputs(dict, fp);
    for (size_t i = strlen(dict) + 1; i < hlen; i++) fputc(' ', fp);
    fputc('\n', fp);
}

/* rows×cols float32 (cols 0: 1-D), then `extra` trailing bytes (or, negative, fewer). */
static inline void write_npy(const char *path, const float *v, size_t rows, size_t cols, long extra)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp, "%s", path);
    npy_header(fp, "<f4", rows, cols);
    size_t count = rows * (cols ? cols : 1);
    if (extra < 0) count -= (size_t)-extra;
    cr_assert_eq(fwrite(v, sizeof *v, count, fp), count);
    for (long i = 0; i < extra; i++) fputc(0, fp);
    fclose(fp);
}

/* A CSV file of X (n×d) and a label column: y as numbers (%.9g: read back exactly), or with
 * names (non-NULL) names[y]. */
static inline void write_csv(const char *path, const float *X, const float *y, size_t n, size_t d,
                             int header, const char *const *names)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    if (header) {
        for (size_t j = 0; j < d; j++) fprintf(fp, "f%zu,", j);
        fputs("label\n", fp);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) fprintf(fp, "%.9g,", (double)X[i * d + j]);
        if (names)
            fprintf(fp, "%s\n", names[(size_t)y[i]]);
        else
            fprintf(fp, "%.9g\n", (double)y[i]);
    }
    fclose(fp);
}

static inline void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static inline uint64_t lcg(uint64_t *u)
{
    *u = *u * 6364136223846793005ULL + 1442695040888963407ULL;
    return *u >> 33;
}

/* Rows: X in multiples of 1/256 in [-4, 4] (exact in float and in text); y = X·w + 0.5
 * (regression) or a class in 0..classes-1 that the features reveal (feature class + 2). */
static inline void make_rows(size_t n, size_t d, size_t classes, uint64_t seed, float *X, float *y)
{
    uint64_t u = seed;
    for (size_t i = 0; i < n; i++) {
        size_t c = classes ? (size_t)(lcg(&u) % classes) : 0;
        float t = 0.5f;
        for (size_t j = 0; j < d; j++) {
            float x = (float)((long)(lcg(&u) % 2049) - 1024) / 256.0f;
            if (classes && j == c % d) x += 2.0f;
            X[i * d + j] = x;
            t += x * ((float)j / (float)d - 0.5f);
        }
        y[i] = classes ? (float)c : t;
    }
}

/* --------------------------------------------------------------- fixtures */

enum { N = 103, D = 3, CL = 3 }; /* 103 rows: prime, so no batch size but 1 and 103 divides */

typedef struct files {
    const char *csv, *csv_classes, *csv_names, *npy_X, *npy_y, *npy_labels;
    float X[N * D], y[N], labels[N];
} files;

static const char *const class_names[CL] = {"ant", "bee", "cat"}; /* sorted: ids kept */

static inline void make_files(files *f)
{
    make_rows(N, D, 0, 11, f->X, f->y);
    f->csv = tmp_path("reg.csv");
    write_csv(f->csv, f->X, f->y, N, D, 1, NULL);
    f->npy_X = tmp_path("X.npy");
    f->npy_y = tmp_path("y.npy");
    write_npy(f->npy_X, f->X, N, D, 0);
    write_npy(f->npy_y, f->y, N, 0, 0);
    /* The classification files share X with the regression ones: only the labels differ. */
    float Xc[N * D];
    make_rows(N, D, CL, 12, Xc, f->labels);
    f->csv_classes = tmp_path("ids.csv");
    write_csv(f->csv_classes, f->X, f->labels, N, D, 0, NULL);
    f->csv_names = tmp_path("names.csv");
    write_csv(f->csv_names, f->X, f->labels, N, D, 1, class_names);
    f->npy_labels = tmp_path("labels.npy");
    write_npy(f->npy_labels, f->labels, N, 0, 0);
}

static inline clg_stream_options stream_opts(size_t chunk_rows, size_t buffer_chunks)
{
    clg_stream_options so = clg_stream_defaults();
    so.chunk_rows = chunk_rows;
    so.buffer_chunks = buffer_chunks;
    return so;
}

/* X and Y of a dataset, malloc'd. */
static inline void download(clg_context *ctx, const clg_dataset *ds, float **X, float **Y)
{
    size_t n = clg_dataset_size(ds);
    *X = malloc(n * clg_dataset_features(ds) * sizeof **X);
    *Y = malloc(n * clg_dataset_targets(ds) * sizeof **Y);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, *X, *Y));
}

static inline void expect_same_floats(const float *a, const float *b, size_t count,
                                      const char *what)
{
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(memcmp(&a[i], &b[i], sizeof *a), 0, "%s: [%zu] %.9g vs %.9g", what, i,
                     (double)a[i], (double)b[i]);
}

/* -------------------------------------------------------------- fit checks */

static inline clg_model *linear_model(clg_context *ctx, size_t in, size_t out)
{
    clg_model *m = NULL;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 3;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, in, out, &init));
    return m;
}

/* Fits m_mem on mem and m_file on file with the same options: same parameters, losses and
 * steps, bit for bit. The in-memory dataset is on the device: its unfused path (the fused
 * kernels sum in another order; the streamed path never takes them). */
static inline void fit_pair(clg_context *ctx, clg_dataset *mem, clg_dataset *file,
                            const clg_fit_options *o, const char *what)
{
    const size_t classes = clg_dataset_classes(mem), out = classes ? classes : 1;
    clg_model *a = linear_model(ctx, D, out), *b = linear_model(ctx, D, out);
    clg_fit_report ra, rb;
    test_label(ctx, "CLGRAD_FUSED", "0"); /* for the Oclgrind kernel log */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", "0"));
    CLG_OK_OR_FAIL(ctx, clg_fit(a, mem, o, NULL, &ra));
    test_label(ctx, "CLGRAD_FUSED", NULL);
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    CLG_OK_OR_FAIL(ctx, clg_fit(b, file, o, NULL, &rb));
    cr_assert_eq(ra.steps, rb.steps, "%s: steps", what);
    cr_assert_eq(memcmp(&ra.final_loss, &rb.final_loss, sizeof ra.final_loss), 0,
                 "%s: final loss %.12g vs %.12g", what, ra.final_loss, rb.final_loss);
    cr_assert(isfinite(rb.final_loss), "%s: loss %g", what, rb.final_loss);
    expect_models_equal(a, b, 0.0f, what);
    clg_eval_result ea, eb;
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", "0"));
    clg_loss_kind loss = classes ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(a, mem, loss, &ea));
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(b, file, loss, &eb));
    cr_assert_eq(memcmp(&ea.loss, &eb.loss, sizeof ea.loss), 0, "%s: evaluate %.12g vs %.12g", what,
                 ea.loss, eb.loss);
    cr_assert_eq(memcmp(&ea.accuracy, &eb.accuracy, sizeof ea.accuracy), 0, "%s: accuracy", what);
    clg_model_destroy(a);
    clg_model_destroy(b);
}
#endif
