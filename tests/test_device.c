/* Device enumeration and selection: default order, each override form, invalid ones. */
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "helpers.h"

static clg_device_info devs[64];
static size_t ndev;

static void list_devices(void)
{
    unsetenv("CLGRAD_DEVICE");
    clg_status s = clg_device_list(devs, 64, &ndev);
    cr_assert_eq(s, CLG_OK, "%s", clg_last_error(NULL));
    cr_assert_gt(ndev, 0);
}

TestSuite(device, .init = list_devices);

static size_t first_of(clg_device_type t)
{
    for (size_t i = 0; i < ndev; i++)
        if (devs[i].type == t) return i;
    return SIZE_MAX;
}

Test(device, list_reports_sane_info)
{
    for (size_t i = 0; i < ndev; i++) {
        cr_expect_gt(strlen(devs[i].device_name), 0);
        cr_expect_gt(strlen(devs[i].platform_name), 0);
        cr_expect_gt(devs[i].compute_units, 0);
        cr_expect_gt(devs[i].global_mem_size, 0);
        cr_expect_gt(devs[i].max_alloc_size, 0);
        cr_expect_leq(devs[i].max_alloc_size, devs[i].global_mem_size);
    }
    size_t n2 = 0;
    cr_assert_eq(clg_device_list(NULL, 0, &n2), CLG_OK);
    cr_expect_eq(n2, ndev, "count without storage must equal the full listing");
    cr_expect_eq(clg_device_list(NULL, 3, &n2), CLG_ERR_INVALID_ARGUMENT);
}

Test(device, default_is_gpu_then_accelerator_then_cpu)
{
    size_t want = first_of(CLG_DEVICE_GPU);
    if (want == SIZE_MAX) want = first_of(CLG_DEVICE_ACCELERATOR);
    if (want == SIZE_MAX) want = first_of(CLG_DEVICE_CPU);
    if (want == SIZE_MAX) want = 0;
    size_t got = 99;
    cr_assert_eq(clg_device_select(NULL, &got), CLG_OK, "%s", clg_last_error(NULL));
    cr_expect_eq(got, want);
    cr_assert_eq(clg_device_select("default", &got), CLG_OK);
    cr_expect_eq(got, want);
}

Test(device, type_words)
{
    static const struct {
        const char *w;
        clg_device_type t;
    } kinds[] = {
        {"gpu", CLG_DEVICE_GPU}, {"CPU", CLG_DEVICE_CPU}, {"accelerator", CLG_DEVICE_ACCELERATOR}};
    for (size_t k = 0; k < 3; k++) {
        size_t want = first_of(kinds[k].t), got = 99;
        clg_status s = clg_device_select(kinds[k].w, &got);
        if (want == SIZE_MAX) {
            cr_expect_eq(s, CLG_ERR_NO_DEVICE, "%s with no such device must fail", kinds[k].w);
            cr_expect(strstr(clg_last_error(NULL), "devices:") != NULL);
        } else {
            cr_expect_eq(s, CLG_OK, "%s: %s", kinds[k].w, clg_last_error(NULL));
            cr_expect_eq(got, want);
        }
    }
}

Test(device, platform_colon_device)
{
    for (size_t i = 0; i < ndev; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", devs[i].platform_index, devs[i].device_index);
        size_t got = 99;
        cr_assert_eq(clg_device_select(spec, &got), CLG_OK, "%s", clg_last_error(NULL));
        cr_expect_eq(got, i);
    }
}

Test(device, name_substring_case_insensitive)
{
    size_t last = ndev - 1, got = 99;
    char spec[16];
    /* the device name's last characters, upper-cased, must find that device or an earlier
     * one with the same text */
    const char *name = devs[last].device_name;
    size_t len = strlen(name);
    snprintf(spec, sizeof spec, "%s", name + (len > 6 ? len - 6 : 0));
    for (char *p = spec; *p; p++) *p = (char)toupper((unsigned char)*p);
    cr_assert_eq(clg_device_select(spec, &got), CLG_OK, "%s", clg_last_error(NULL));
    char both[300];
    snprintf(both, sizeof both, "%s %s", devs[got].platform_name, devs[got].device_name);
    for (char *p = both; *p; p++) *p = (char)toupper((unsigned char)*p);
    cr_expect(strstr(both, spec) != NULL, "'%s' selected '%s'", spec, both);
}

static void expect_no_device(const char *spec)
{
    size_t got = 99;
    clg_status s = clg_device_select(spec, &got);
    cr_expect_eq(s, CLG_ERR_NO_DEVICE, "'%s' must be rejected, got %s", spec, clg_status_string(s));
    const char *msg = clg_last_error(NULL);
    cr_expect(strstr(msg, "devices:") != NULL, "message must list devices: %s", msg);
    cr_expect(strstr(msg, devs[0].device_name) != NULL, "message must name the devices: %s", msg);
    cr_expect_eq(got, 99, "index untouched on failure");
}

Test(device, invalid_selections_fail_listing_devices)
{
    expect_no_device("9:9");
    expect_no_device("nosuchdevice");
    expect_no_device("");
}

Test(device, env_override_and_empty_env)
{
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", devs[ndev - 1].platform_index,
             devs[ndev - 1].device_index);
    setenv("CLGRAD_DEVICE", spec, 1);
    size_t got = 99;
    cr_assert_eq(clg_device_select(NULL, &got), CLG_OK);
    cr_expect_eq(got, ndev - 1);
    setenv("CLGRAD_DEVICE", "nosuchdevice", 1);
    cr_expect_eq(clg_device_select(NULL, &got), CLG_ERR_NO_DEVICE);
    cr_expect(strstr(clg_last_error(NULL), "CLGRAD_DEVICE") != NULL);
    setenv("CLGRAD_DEVICE", "", 1);
    cr_expect_eq(clg_device_select(NULL, &got), CLG_ERR_NO_DEVICE);
    clg_context *ctx = (clg_context *)1;
    cr_expect_eq(clg_context_create(&ctx, NULL), CLG_ERR_NO_DEVICE);
    cr_expect_null(ctx, "no context on failure");
    unsetenv("CLGRAD_DEVICE");
}

Test(device, context_on_selected_device)
{
    clg_context *ctx = NULL;
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", devs[0].platform_index, devs[0].device_index);
    cr_assert_eq(clg_context_create(&ctx, spec), CLG_OK, "%s", clg_last_error(NULL));
    clg_device_info info;
    cr_assert_eq(clg_context_device(ctx, &info), CLG_OK);
    cr_expect_str_eq(info.device_name, devs[0].device_name);
    clg_context_destroy(ctx);
    clg_context_destroy(NULL);
}

/* Criterion runs each test in its own process, so the ICD loader here has not
 * looked for platforms yet when we point it at an empty vendor directory. */
Test(no_platform, names_the_pocl_package)
{
    char *dir = test_tmpdir();
    setenv("OCL_ICD_VENDORS", dir, 1);
    size_t n = 5;
    clg_status s = clg_device_list(NULL, 0, &n);
    cr_expect_eq(s, CLG_ERR_NO_PLATFORM, "got %s", clg_status_string(s));
    cr_expect_eq(n, 0);
    cr_expect(strstr(clg_last_error(NULL), "pocl-opencl-icd") != NULL, "%s", clg_last_error(NULL));
    clg_context *ctx = NULL;
    cr_expect_eq(clg_context_create(&ctx, NULL), CLG_ERR_NO_PLATFORM);
    rmdir(dir);
}
