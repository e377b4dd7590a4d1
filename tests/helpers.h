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

/* A fresh directory under /tmp; the caller may leave it (tests run in /tmp). */
static inline char *test_tmpdir(void)
{
    static char dir[64];
    strcpy(dir, "/tmp/clgrad-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}
#endif
