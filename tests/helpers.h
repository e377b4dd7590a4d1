/* Shared by the tests: a context on $CLGRAD_DEVICE (POCL in CI) and temp dirs. */
#ifndef CLGRAD_TEST_HELPERS_H
#define CLGRAD_TEST_HELPERS_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgrad.h"

static inline clg_context *test_context(void)
{
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    cr_assert_eq(s, CLG_OK, "clg_context_create: %s: %s", clg_status_string(s),
                 clg_last_error(NULL));
    return ctx;
}

#define CLG_OK_OR_FAIL(ctx, call)                                                              \
    do {                                                                                       \
        clg_status s_ = (call);                                                                \
        cr_assert_eq(s_, CLG_OK, "%s -> %s: %s", #call, clg_status_string(s_),                 \
                     clg_last_error(ctx));                                                     \
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
#define EXPECT_REFUSED(ctx, call, want, needle, input)                                         \
    do {                                                                                       \
        clg_status s_ = (call);                                                                \
        const char *m_ = clg_last_error(ctx);                                                  \
        cr_assert_eq(s_, (want), "%s: %s -> %s (%s), wanted %s", (input), #call,               \
                     clg_status_string(s_), m_, clg_status_string(want));                      \
        cr_assert(strstr(m_, (needle)) != NULL, "%s: message \"%s\" lacks \"%s\"", (input), m_, \
                  (needle));                                                                   \
        bad_input_record((input), clg_status_string(s_), m_);                                  \
    } while (0)

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
#endif
