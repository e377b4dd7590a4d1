/* clgrad selftest: every kernel on the chosen device against a double-precision reference. */
#include <stdio.h>

#include "clgrad.h"
#include "cli.h"
#include "cli_opt.h"

int cmd_selftest(int argc, char **argv)
{
    static const cli_opt none[] = {CLI_END};
    cli_group groups[] = {{"options", none, NULL, NULL, NULL}};
    cli_command c = {.name = "selftest",
                     .summary = "Runs every kernel on the chosen device against a double-precision "
                                "reference;\nexits 1 on any failure.",
                     CLI_GROUPS(groups),
                     .notes = "CLGRAD_DEVICE selects the device (clgrad devices lists them)."};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_status s = CLG_OK;
    clg_device_info info;
    clg_context_device(ctx, &info);
    printf("device: %s / %s (driver %s)\n", info.platform_name, info.device_name,
           info.driver_version);
    clg_selftest_result res[64];
    size_t n = 0, failed = 0;
    s = clg_selftest(ctx, res, 64, &n);
    for (size_t i = 0; i < n && i < 64; i++) {
        printf("%-4s %-28s max error %-10.3g tolerance %.3g\n", res[i].passed ? "ok" : "FAIL",
               res[i].kernel, res[i].max_error, res[i].tolerance);
        failed += !res[i].passed;
    }
    if (s != CLG_OK)
        cli_fail(ctx, s);
    else
        printf("%zu passed, %zu failed\n", n - failed, failed);
    clg_context_destroy(ctx);
    return s == CLG_OK && failed == 0 ? 0 : 1;
}
