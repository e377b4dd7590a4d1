/* Shared by the tests: a context on $CLGRAD_DEVICE (POCL in CI) and temp dirs. */
#ifndef CLGRAD_TEST_HELPERS_H
#define CLGRAD_TEST_HELPERS_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clgrad.h"

static inline clg_context *test_context(void)
{
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    cr_assert_eq(s, CLG_OK, "clg_context_create: %s: %s", clg_status_string(s),
                 clg_last_error(NULL));
    return ctx;
}

#define CLG_OK_OR_FAIL(ctx, call)                                                                  \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        cr_assert_eq(s_, CLG_OK, "%s -> %s: %s", #call, clg_status_string(s_),                     \
                     clg_last_error(ctx));                                                         \
    } while (0)

/* Bad inputs and their messages: every refusal a test checks through EXPECT_REFUSED (or
 * bad_input_record for the CLI's) is appended, when $CLGRAD_BAD_INPUTS names a file, as one
 * line "input<TAB>status<TAB>message"; tools/bad-inputs turns the lines into
 * docs/bad-inputs.md, so the table says what the tests saw. */
static inline void bad_input_record(const char *input, const char *status, const char *message)
{
    const char *path = getenv("CLGRAD_BAD_INPUTS");
    if (!path || !path[0]) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fputs(input, f);
    fputc('\t', f);
    fputs(status, f);
    fputc('\t', f);
    for (const char *c = message; *c; c++) fputc(*c == '\n' || *c == '\t' ? ' ' : *c, f);
    fputc('\n', f);
    fclose(f);
}

/* Asserts that `call` returns `want` with a message containing `needle`, and records it. */
#define EXPECT_REFUSED(ctx, call, want, needle, input)                                             \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        const char *m_ = clg_last_error(ctx);                                                      \
        cr_assert_eq(s_, (want), "%s: %s -> %s (%s), wanted %s", (input), #call,                   \
                     clg_status_string(s_), m_, clg_status_string(want));                          \
        cr_assert(strstr(m_, (needle)) != NULL, "%s: message \"%s\" lacks \"%s\"", (input), m_,    \
                  (needle));                                                                       \
        bad_input_record((input), clg_status_string(s_), m_);                                      \
    } while (0)

/* Sets (value NULL: unsets) a CLGRAD_* variable that the Oclgrind kernel log reads as a
 * label, once ctx's queue is idle: POCL's worker threads call getenv when they start a
 * kernel, and setenv racing with getenv is undefined (seen as a SEGV in getenv under ASan).
 * Returns setenv's result. */
static inline int test_label(clg_context *ctx, const char *name, const char *value)
{
    if (ctx) clg_context_finish(ctx);
    if (!value) return unsetenv(name);
    return setenv(name, value, 1);
}

/* Runs "cd BIN_DIR && <cmd>" with stderr merged into out (n bytes); returns the exit status.
 * BIN_DIR is the build directory ($CLGRAD_TEST_BIN_DIR, set by ctest). */
static inline int run_in_build(const char *cmd, char *out, size_t n)
{
    const char *bin = getenv("CLGRAD_TEST_BIN_DIR");
    cr_assert_not_null(bin, "CLGRAD_TEST_BIN_DIR must name the build directory (ctest sets it)");
    char line[4096];
    snprintf(line, sizeof line, "cd %s && %s 2>&1", bin, cmd);
    FILE *p = popen(line, "r");
    cr_assert_not_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Caps this test process's address space at its current size plus extra bytes, so that
 * reading a sparse file whole fails instead of succeeding slowly (Criterion runs each test
 * in a process of its own). Not under sanitizers, whose shadow memory needs the room. */
static inline void cap_address_space(size_t extra)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    unsigned long pages = 0;
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_AS, &rl), 0);
    rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
#else
    (void)extra;
#endif
}

/* A fresh directory under /tmp; the caller may leave it (tests run in /tmp). */
static inline char *test_tmpdir(void)
{
    static char dir[64];
    strcpy(dir, "/tmp/clgrad-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

/* 1 when the tests run under a simulator (Oclgrind: CLGRAD_TEST_SMALL=1, set by the
 * oclgrind_* entries of tests/CMakeLists.txt): tests that train for long then use fewer
 * rows and epochs, keeping what they check and their assertions (docs/oclgrind.md). */
static inline int test_small(void)
{
    const char *v = getenv("CLGRAD_TEST_SMALL");
    return v && v[0] && strcmp(v, "0") != 0;
}

/* Every parameter of models a and b is bit-identical (tol 0), or within tol. */
static inline void expect_models_equal(const clg_model *a, const clg_model *b, float tol,
                                       const char *what)
{
    size_t np = clg_model_param_count(a);
    cr_assert_eq(np, clg_model_param_count(b));
    for (size_t p = 0; p < np; p++) {
        clg_param_info info;
        CLG_OK_OR_FAIL(NULL, clg_model_param_info(a, p, &info));
        size_t c = info.rows * info.cols;
        float *x = malloc(c * sizeof *x), *y = malloc(c * sizeof *y);
        CLG_OK_OR_FAIL(NULL, clg_model_get_param(a, p, x, c));
        CLG_OK_OR_FAIL(NULL, clg_model_get_param(b, p, y, c));
        for (size_t i = 0; i < c; i++) {
            if (tol == 0.0f)
                cr_assert_eq(memcmp(&x[i], &y[i], sizeof(float)), 0,
                             "%s: param %zu[%zu] %.9g vs %.9g not bit-identical", what, p, i,
                             (double)x[i], (double)y[i]);
            else
                cr_assert(fabsf(x[i] - y[i]) <= tol, "%s: param %zu[%zu] %.9g vs %.9g (tol %g)",
                          what, p, i, (double)x[i], (double)y[i], (double)tol);
        }
        free(x);
        free(y);
    }
}

#endif
