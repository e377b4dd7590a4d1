/* Device enumeration and selection (CLGRAD_DEVICE). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

typedef struct device_table {
    size_t count;
    clg_device_handle handle[MAX_DEVICES];
    clg_device_info info[MAX_DEVICES];
} device_table;

static clg_device_type map_type(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return CLG_DEVICE_GPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return CLG_DEVICE_ACCELERATOR;
    if (t & CL_DEVICE_TYPE_CPU) return CLG_DEVICE_CPU;
    return CLG_DEVICE_OTHER;
}

const char *clg_device_type_string(clg_device_type t)
{
    switch (t) {
    case CLG_DEVICE_GPU:
        return "GPU";
    case CLG_DEVICE_ACCELERATOR:
        return "accelerator";
    case CLG_DEVICE_CPU:
        return "CPU";
    default:
        return "other";
    }
}

/* Strings longer than the field are cut, not lost (the query fails on a short buffer). */
static void device_str(cl_device_id d, cl_device_info what, char *out, size_t n)
{
    char buf[1024] = "";
    clGetDeviceInfo(d, what, sizeof buf - 1, buf, NULL);
    snprintf(out, n, "%s", buf);
}

static void fill_info(cl_platform_id p, cl_device_id d, clg_device_info *info)
{
    char pname[1024] = "";
    cl_device_type t = 0;
    cl_uint cu = 0;
    cl_ulong gm = 0, ma = 0, lm = 0;
    size_t wg = 0;
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
    /* cut to the field (as the device strings are): said so, no truncation warning */
    snprintf(info->platform_name, sizeof info->platform_name, "%.*s",
             (int)sizeof info->platform_name - 1, pname);
    device_str(d, CL_DEVICE_NAME, info->device_name, sizeof info->device_name);
    device_str(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_str(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    device_str(d, CL_DEVICE_VERSION, info->opencl_version, sizeof info->opencl_version);
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gm, &gm, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ma, &ma, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lm, &lm, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    info->type = map_type(t);
    info->compute_units = cu;
    info->global_mem_size = gm;
    info->max_alloc_size = ma;
    info->local_mem_size = lm;
    info->max_work_group_size = wg;
}

static clg_status enumerate_locked(device_table *tab);

/* Platform and device queries run one thread at a time: POCL initialises its devices
 * lazily on the first queries, and two threads doing so at once crashed in
 * clGetDeviceInfo (tests/test_threads.c). */
static clg_status enumerate(device_table *tab)
{
    clg_process_lock();
    clg_status s = enumerate_locked(tab);
    clg_process_unlock();
    return s;
}

static clg_status enumerate_locked(device_table *tab)
{
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    memset(tab, 0, sizeof *tab);
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0))
        return clg_fail(NULL, CLG_ERR_NO_PLATFORM,
                        "no OpenCL platform is installed (the ICD loader found no vendor file in "
                        "/etc/OpenCL/vendors); for a CPU device install the Debian package "
                        "pocl-opencl-icd");
    if (err != CL_SUCCESS) return clg_fail_cl(NULL, err, "clGetPlatformIDs");
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
            continue; /* a platform without devices is not an error */
        if (nd > MAX_DEVICES) nd = MAX_DEVICES;
        for (cl_uint d = 0; d < nd && tab->count < MAX_DEVICES; d++) {
            size_t i = tab->count++;
            tab->handle[i].platform = plats[p];
            tab->handle[i].device = devs[d];
            tab->info[i].platform_index = p;
            tab->info[i].device_index = d;
            fill_info(plats[p], devs[d], &tab->info[i]);
        }
    }
    if (tab->count == 0)
        return clg_fail(NULL, CLG_ERR_NO_PLATFORM,
                        "OpenCL platforms are installed but expose no device; for a CPU device "
                        "install the Debian package pocl-opencl-icd");
    return CLG_OK;
}

clg_status clg_device_list(clg_device_info *out, size_t capacity, size_t *count)
{
    if (!count || (capacity && !out))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_device_list: NULL argument");
    device_table *tab = malloc(sizeof *tab);
    if (!tab) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "clg_device_list: out of host memory");
    clg_status s = enumerate(tab);
    *count = s == CLG_OK ? tab->count : 0;
    for (size_t i = 0; s == CLG_OK && i < tab->count && i < capacity; i++) out[i] = tab->info[i];
    free(tab);
    return s;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

static size_t first_of_type(const device_table *tab, clg_device_type t)
{
    for (size_t i = 0; i < tab->count; i++)
        if (tab->info[i].type == t) return i;
    return SIZE_MAX;
}

static size_t default_device(const device_table *tab)
{
    static const clg_device_type order[] = {CLG_DEVICE_GPU, CLG_DEVICE_ACCELERATOR, CLG_DEVICE_CPU};
    for (size_t k = 0; k < 3; k++) {
        size_t i = first_of_type(tab, order[k]);
        if (i != SIZE_MAX) return i;
    }
    return 0;
}

static clg_status no_match(const device_table *tab, const char *origin, const char *spec,
                           const char *why)
{
    char list[CLG_MSG_LEN / 2];
    size_t off = 0;
    list[0] = '\0';
    for (size_t i = 0; i < tab->count && off < sizeof list; i++) {
        int w = snprintf(list + off, sizeof list - off, "%s%u:%u %s / %s (%s)", i ? "; " : "",
                         tab->info[i].platform_index, tab->info[i].device_index,
                         tab->info[i].platform_name, tab->info[i].device_name,
                         clg_device_type_string(tab->info[i].type));
        if (w < 0) break;
        off += (size_t)w;
    }
    return clg_fail(NULL, CLG_ERR_NO_DEVICE,
                    "%s '%s' %s; valid forms: gpu, cpu, accelerator, P:D, or part of a platform "
                    "or device name; devices: %s",
                    origin, spec, why, list);
}

/* spec NULL: the default device; origin names spec in messages. */
static clg_status select_in(const device_table *tab, const char *spec, const char *origin,
                            size_t *index)
{
    if (!spec) {
        *index = default_device(tab);
        return CLG_OK;
    }
    if (spec[0] == '\0') return no_match(tab, origin, spec, "is empty");
    if (!strcasecmp(spec, "default")) {
        *index = default_device(tab);
        return CLG_OK;
    }
    static const struct {
        const char *word;
        clg_device_type t;
    } kinds[] = {
        {"gpu", CLG_DEVICE_GPU}, {"cpu", CLG_DEVICE_CPU}, {"accelerator", CLG_DEVICE_ACCELERATOR}};
    for (size_t k = 0; k < 3; k++) {
        if (!strcasecmp(spec, kinds[k].word)) {
            size_t i = first_of_type(tab, kinds[k].t);
            if (i == SIZE_MAX) return no_match(tab, origin, spec, "matches no device of that type");
            *index = i;
            return CLG_OK;
        }
    }
    unsigned p, d;
    char tail;
    if (sscanf(spec, "%u:%u%c", &p, &d, &tail) == 2) {
        for (size_t i = 0; i < tab->count; i++)
            if (tab->info[i].platform_index == p && tab->info[i].device_index == d) {
                *index = i;
                return CLG_OK;
            }
        return no_match(tab, origin, spec, "names no existing platform:device pair");
    }
    for (size_t i = 0; i < tab->count; i++) {
        char both[300];
        snprintf(both, sizeof both, "%s %s", tab->info[i].platform_name, tab->info[i].device_name);
        if (ci_contains(both, spec)) {
            *index = i;
            return CLG_OK;
        }
    }
    return no_match(tab, origin, spec, "matches no platform or device name");
}

clg_status clg_device_select(const char *spec, size_t *index)
{
    if (!index) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_device_select: NULL index");
    device_table *tab = malloc(sizeof *tab);
    if (!tab) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "clg_device_select: out of host memory");
    clg_status s = enumerate(tab);
    const char *origin = "device selection";
    if (!spec && (spec = clg_config_device_env())) origin = "CLGRAD_DEVICE";
    if (s == CLG_OK) s = select_in(tab, spec, origin, index);
    free(tab);
    return s;
}

clg_status clg_device_resolve(const char *spec, const char *origin, clg_device_handle *h,
                              clg_device_info *info)
{
    device_table *tab = malloc(sizeof *tab);
    if (!tab) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "out of host memory");
    size_t i = 0;
    clg_status s = enumerate(tab);
    if (s == CLG_OK) s = select_in(tab, spec, origin, &i);
    if (s == CLG_OK) {
        *h = tab->handle[i];
        *info = tab->info[i];
    }
    free(tab);
    return s;
}
