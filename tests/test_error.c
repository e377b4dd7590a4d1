/* Every status has a distinct name; failing calls leave a message. */
#include "helpers.h"

Test(error, every_status_has_a_distinct_name)
{
    for (int i = 0; i < CLG_STATUS_COUNT; i++) {
        const char *a = clg_status_string((clg_status)i);
        cr_assert_not_null(a);
        cr_expect(strncmp(a, "CLG_", 4) == 0, "status %d: %s", i, a);
        cr_expect(strcmp(a, "CLG_ERR_UNKNOWN_STATUS") != 0, "status %d has no name", i);
        for (int j = 0; j < i; j++) cr_expect_str_neq(a, clg_status_string((clg_status)j));
    }
    cr_expect_str_eq(clg_status_string(CLG_STATUS_COUNT), "CLG_ERR_UNKNOWN_STATUS");
    cr_expect_str_eq(clg_status_string((clg_status)-3), "CLG_ERR_UNKNOWN_STATUS");
}

Test(error, failures_carry_messages)
{
    cr_expect_eq(clg_context_create(NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_gt(strlen(clg_last_error(NULL)), 10);
    clg_context *ctx = test_context();
    cr_expect_str_eq(clg_last_error(ctx), "");
    clg_tensor *t = NULL;
    cr_expect_eq(clg_tensor_create(ctx, 0, 4, &t), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "0x4") != NULL, "%s", clg_last_error(ctx));
    cr_expect_str_eq(clg_build_log(ctx), "");
    cr_expect_str_eq(clg_version(), CLGRAD_VERSION_STRING);
    clg_context_destroy(ctx);
}
