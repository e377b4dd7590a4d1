/* CLBlast SGEMM tuning: the stored file round-trips and is applied by a new context,
 * corrupt or foreign files are ignored, an unwritable cache does not fail tuning, and
 * a tuned SGEMM matches a double host reference. Real CLBlast on the real device;
 * a tiny budget (1-2 candidates, 128³) keeps it fast. */
#include <clblast_c.h>
#include <float.h>
#include <math.h>
#include <sys/stat.h>

#include "helpers.h"
#include "internal.h"

static clg_tune_options tiny(void)
{
    clg_tune_options o = clg_tune_defaults();
    o.max_seconds = 60;
    o.max_candidates = 2;
    o.size = 128;
    o.mlp_shapes = 0;
    o.runs = 1;
    o.force = 1; /* timings at 128³ are noise: keep the best verified candidate */
    return o;
}

static clg_context *context_with_cache(const char *dir)
{
    setenv("CLGRAD_CACHE_DIR", dir, 1);
    unsetenv("CLGRAD_NO_CACHE");
    unsetenv("CLGRAD_NO_TUNE");
    return test_context();
}

/* The tune file path of this device, from the note of a context that found none. */
static void tune_path_of(clg_context *ctx, char *path, size_t n)
{
    int applied = 1;
    const char *note = NULL;
    CLG_OK_OR_FAIL(ctx, clg_context_tuning(ctx, &applied, NULL, &note));
    cr_assert_eq(applied, 0);
    const char *p = strstr(note, "no stored tuning at ");
    cr_assert_not_null(p, "note: %s", note);
    snprintf(path, n, "%s", p + strlen("no stored tuning at "));
    cr_assert(strstr(path, "/clblast-") && strstr(path, ".tune"), "%s", path);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A well-formed tune file with the given key and checksum over the rest. */
static void make_file(char *out, size_t n, const char *key, const size_t *v)
{
    int len = snprintf(out, n,
                       "clgrad-clblast-tune 1\nkey %s\nplatform p\ndevice d\ndriver v\n"
                       "kernel Xgemm 32\n",
                       key);
    for (size_t i = 0; i < CLG_TUNE_PARAMS; i++)
        len += snprintf(out + len, n - (size_t)len, "%s %zu\n", clg_tune_param_name(i), v[i]);
    len += snprintf(out + len, n - (size_t)len, "gflops 1.00 2.00\n");
    snprintf(out + len, n - (size_t)len, "check %016llx\n",
             (unsigned long long)clg_hash64(out, (size_t)len, CLG_HASH_SEED));
}

static const size_t good[CLG_TUNE_PARAMS] = {0, 1, 32, 2, 8, 8, 64, 8, 8, 128, 0, 0, 0, 0, 8, 8};

static void keep_first(const clg_tune_candidate *c, void *user)
{
    clg_tune_candidate *first = user;
    if (c->index == 1) *first = *c;
}

Test(tune, stored_file_round_trips_and_is_applied_by_a_new_context)
{
    char *dir = test_tmpdir();
    clg_context *ctx = context_with_cache(dir);
    clg_tune_options o = tiny();
    clg_tune_report r;
    CLG_OK_OR_FAIL(ctx, clg_tune_sgemm(ctx, &o, &r));
    cr_assert_geq(r.candidates_tried, 1);
    cr_assert_eq(r.improved, 1, "note: %s", r.note);
    cr_assert_eq(r.stored, 1, "note: %s", r.note);
    cr_expect_gt(r.gflops_untuned, 0);
    cr_expect_gt(r.gflops_tuned, 0);
    cr_expect_leq(r.max_rel_error, CLG_TUNE_VERIFY_TOL, "tuned vs untuned %g", r.max_rel_error);
    cr_assert_eq(strncmp(r.path, dir, strlen(dir)), 0, "%s not under %s", r.path, dir);
    struct stat sb;
    cr_assert_eq(stat(r.path, &sb), 0, "%s", r.path);
    int applied = 0;
    size_t vals[CLG_TUNE_PARAMS];
    CLG_OK_OR_FAIL(ctx, clg_context_tuning(ctx, &applied, vals, NULL));
    cr_expect_eq(applied, 1);
    clg_context_destroy(ctx);

    clg_context *again = context_with_cache(dir);
    clg_context_stats st;
    CLG_OK_OR_FAIL(again, clg_context_get_stats(again, &st));
    cr_expect_eq(st.blas_tuned_from_cache, 1);
    cr_expect_eq(st.blas_tune_rejected, 0);
    const char *note = NULL;
    CLG_OK_OR_FAIL(again, clg_context_tuning(again, &applied, vals, &note));
    cr_assert_eq(applied, 1, "note: %s", note);
    for (size_t i = 0; i < CLG_TUNE_PARAMS; i++)
        cr_expect_eq(vals[i], r.best[i], "%s: %zu vs %zu", clg_tune_param_name(i), vals[i],
                     r.best[i]);
    cr_expect(strstr(note, "applied ") != NULL, "%s", note);
    /* A second search screens the stored result first (it climbs on from there). */
    clg_tune_candidate first = {0};
    o.max_candidates = 1;
    o.store = 0;
    o.on_candidate = keep_first;
    o.user = &first;
    clg_tune_report r2;
    CLG_OK_OR_FAIL(again, clg_tune_sgemm(again, &o, &r2));
    cr_assert_eq(first.index, 1);
    for (size_t i = 0; i < CLG_TUNE_PARAMS; i++)
        cr_expect_eq(first.values[i], r.best[i], "resumed %s: %zu vs %zu", clg_tune_param_name(i),
                     first.values[i], r.best[i]);
    clg_context_destroy(again);

    /* CLGRAD_NO_TUNE=1 skips the file. */
    setenv("CLGRAD_NO_TUNE", "1", 1);
    clg_context *off = test_context();
    CLG_OK_OR_FAIL(off, clg_context_get_stats(off, &st));
    cr_expect_eq(st.blas_tuned_from_cache, 0);
    clg_context_destroy(off);
    unsetenv("CLGRAD_NO_TUNE");
}

Test(tune, corrupt_foreign_and_truncated_files_are_ignored)
{
    char *dir = test_tmpdir();
    clg_context *ctx = context_with_cache(dir);
    char path[1200], text[4096];
    tune_path_of(ctx, path, sizeof path);
    clg_context_destroy(ctx);
    const char *slash = strrchr(path, '/');
    char key[17];
    snprintf(key, sizeof key, "%s", slash + strlen("/clblast-"));

    /* A hand-made valid file for this device is applied (the format is what docs/performance.md "Tuning CLBlast" says). */
    make_file(text, sizeof text, key, good);
    write_text(path, text);
    clg_context *ok = test_context();
    clg_context_stats st;
    CLG_OK_OR_FAIL(ok, clg_context_get_stats(ok, &st));
    cr_expect_eq(st.blas_tuned_from_cache, 1);
    cr_expect_eq(st.blas_tune_rejected, 0);
    clg_context_destroy(ok);

    char flipped[4096];
    snprintf(flipped, sizeof flipped, "%s", text);
    char *kwg = strstr(flipped, "KWG 32");
    cr_assert_not_null(kwg);
    kwg[4] = '1'; /* KWG 12: checksum no longer matches */
    char truncated[4096];
    snprintf(truncated, sizeof truncated, "%.*s", (int)(strlen(text) / 2), text);
    char foreign[4096];
    make_file(foreign, sizeof foreign, "0123456789abcdef", good);
    size_t bad[CLG_TUNE_PARAMS];
    memcpy(bad, good, sizeof bad);
    bad[6] = 48; /* MWG 48: not a power of two */
    char invalid[4096];
    make_file(invalid, sizeof invalid, key, bad);
    const struct {
        const char *text, *why;
    } cases[] = {
        {flipped, "checksum"},
        {truncated, "truncated"},
        {foreign, "another device"},
        {invalid, "invalid"},
        {"\x7f"
         "ELF\x02\x01garbage\n",
         "checksum"},
        {"", "truncated"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_text(path, cases[c].text);
        clg_context *x = test_context();
        CLG_OK_OR_FAIL(x, clg_context_get_stats(x, &st));
        cr_expect_eq(st.blas_tuned_from_cache, 0, "case %zu", c);
        cr_expect_eq(st.blas_tune_rejected, 1, "case %zu", c);
        int applied = 1;
        const char *note = NULL;
        CLG_OK_OR_FAIL(x, clg_context_tuning(x, &applied, NULL, &note));
        cr_expect_eq(applied, 0, "case %zu", c);
        cr_expect(strstr(note, "ignored ") && strstr(note, cases[c].why), "case %zu: %s", c, note);
        /* Calling it explicitly reports the rejection as a status with a message. */
        cr_expect_eq(clg_tune_apply(x), CLG_ERR_FORMAT, "case %zu", c);
        cr_expect(strstr(clg_last_error(x), cases[c].why) != NULL, "case %zu: %s", c,
                  clg_last_error(x));
        clg_context_destroy(x);
    }
}

Test(tune, unwritable_cache_dir_does_not_fail_tuning)
{
    char *dir = test_tmpdir();
    char file[256], sub[300];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    write_text(file, "not a directory\n");
    snprintf(sub, sizeof sub, "%s/cache", file); /* mkdir fails: a path component is a file */
    clg_context *ctx = context_with_cache(sub);
    clg_tune_options o = tiny();
    o.max_candidates = 1;
    clg_tune_report r;
    CLG_OK_OR_FAIL(ctx, clg_tune_sgemm(ctx, &o, &r));
    cr_expect_eq(r.improved, 1, "%s", r.note);
    cr_expect_eq(r.stored, 0);
    cr_expect(strstr(r.note, "not stored") != NULL, "%s", r.note);
    int applied = 0;
    CLG_OK_OR_FAIL(ctx, clg_context_tuning(ctx, &applied, NULL, NULL));
    cr_expect_eq(applied, 1, "applied in this process even though it could not be stored");
    clg_context_destroy(ctx);
}

Test(tune, bad_options_are_rejected)
{
    clg_context *ctx = context_with_cache(test_tmpdir());
    clg_tune_options o = tiny();
    clg_tune_report r;
    o.size = 8;
    cr_expect_eq(clg_tune_sgemm(ctx, &o, &r), CLG_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(clg_last_error(ctx), "size") != NULL, "%s", clg_last_error(ctx));
    o = tiny();
    o.max_seconds = NAN;
    cr_expect_eq(clg_tune_sgemm(ctx, &o, &r), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_tune_sgemm(ctx, &o, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_tune_apply(NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_null(clg_tune_param_name(CLG_TUNE_PARAMS));
    cr_expect_str_eq(clg_tune_param_name(0), "GEMMK");
    clg_context_destroy(ctx);
}

/* With a tuning applied, CLBlast's SGEMM on an awkward shape (padding path) stays within
 * the float32 bound |c − ref| <= K·FLT_EPSILON·Σ|a||b| of a double host reference. */
Test(tune, tuned_sgemm_matches_double_reference)
{
    char *dir = test_tmpdir();
    clg_context *ctx = context_with_cache(dir);
    char path[1200], text[4096];
    tune_path_of(ctx, path, sizeof path);
    clg_context_destroy(ctx);
    const char *slash = strrchr(path, '/');
    char key[17];
    snprintf(key, sizeof key, "%s", slash + strlen("/clblast-"));
    make_file(text, sizeof text, key, good);
    write_text(path, text);
    ctx = test_context();
    int applied = 0;
    CLG_OK_OR_FAIL(ctx, clg_context_tuning(ctx, &applied, NULL, NULL));
    cr_assert_eq(applied, 1);

    const size_t M = 520, N = 530, K = 515;
    float *a = malloc(M * K * sizeof *a), *b = malloc(K * N * sizeof *b),
          *c = malloc(M * N * sizeof *c);
    cr_assert(a && b && c);
    uint32_t ctr[4] = {0, 0, 0, 0}, key2[2] = {7, 9}, out4[4];
    for (size_t i = 0; i < M * K + K * N; i++) {
        if (i % 4 == 0) {
            ctr[0] = (uint32_t)(i / 4);
            clg_philox4x32(ctr, key2, out4);
        }
        float v = (float)(out4[i % 4] >> 8) * 0x1p-24f * 2.0f - 1.0f;
        if (i < M * K)
            a[i] = v;
        else
            b[i - M * K] = v;
    }
    clg_tensor *A, *B, *C;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, a, M, K, &A));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, b, K, N, &B));
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, M, N, &C));
    cl_command_queue q = ctx->queue;
    CLBlastStatusCode bs =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, K, 1.0f,
                     A->mem, 0, K, B->mem, 0, N, 0.0f, C->mem, 0, N, &q, NULL);
    cr_assert_eq(bs, CLBlastSuccess, "CLBlastSgemm status %d", (int)bs);
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(C, c, M, N));
    double worst = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (size_t k = 0; k < K; k++) {
                s += (double)a[i * K + k] * b[k * N + j];
                sa += fabs((double)a[i * K + k] * b[k * N + j]);
            }
            double ratio = fabs(c[i * N + j] - s) / (K * FLT_EPSILON * sa + 1e-30);
            if (!(ratio <= worst)) worst = ratio;
        }
    cr_expect_leq(worst, 1.0, "error / (K·eps·Σ|a||b|) reached %g", worst);
    clg_tensor_destroy(A);
    clg_tensor_destroy(B);
    clg_tensor_destroy(C);
    free(a);
    free(b);
    free(c);
    clg_context_destroy(ctx);
}
