/* clgrad devices: what OpenCL offers here, and which device clgrad would use. */
#include <stdio.h>
#include <stdlib.h>

#include "clgrad.h"
#include "cli.h"
#include "cli_opt.h"

int cmd_devices(int argc, char **argv)
{
    static const cli_opt none[] = {CLI_END};
    cli_group groups[] = {{"options", none, NULL, NULL, NULL}};
    cli_command c = {
        .name = "devices",
        .summary = "Lists the OpenCL platforms and devices, marking (*) the one clgrad uses now.",
        CLI_GROUPS(groups),
        .notes = "CLGRAD_DEVICE selects the device: gpu, cpu, accelerator, P:D or part of a name."};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    size_t n = 0;
    clg_status s = clg_device_list(NULL, 0, &n);
    if (s != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), clg_last_error(NULL));
        return 1;
    }
    clg_device_info *devs = calloc(n, sizeof *devs);
    if (!devs || clg_device_list(devs, n, &n) != CLG_OK) {
        fprintf(stderr, "clgrad: %s\n", clg_last_error(NULL));
        free(devs);
        return 1;
    }
    size_t chosen = 0;
    clg_status sel = clg_device_select(NULL, &chosen);
    unsigned last_platform = (unsigned)-1;
    for (size_t i = 0; i < n; i++) {
        const clg_device_info *d = &devs[i];
        if (d->platform_index != last_platform) {
            printf("platform %u: %s\n", d->platform_index, d->platform_name);
            last_platform = d->platform_index;
        }
        printf("%s %u:%u %s\n", sel == CLG_OK && i == chosen ? "*" : " ", d->platform_index,
               d->device_index, d->device_name);
        printf("      type %s, %u compute units, %.1f GiB global memory (max alloc %.1f GiB), "
               "%llu KiB local memory\n",
               clg_device_type_string(d->type), d->compute_units, d->global_mem_size / 1073741824.0,
               d->max_alloc_size / 1073741824.0, (unsigned long long)(d->local_mem_size / 1024));
        printf("      %s, driver %s\n", d->opencl_version, d->driver_version);
    }
    free(devs);
    if (sel != CLG_OK) {
        fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(sel), clg_last_error(NULL));
        return 1;
    }
    printf("* = device chosen now (%s)\n",
           getenv("CLGRAD_DEVICE") ? "CLGRAD_DEVICE" : "default order: GPU, accelerator, CPU");
    return 0;
}
