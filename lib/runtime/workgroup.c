/* Work-group limits per kernel: local sizes come from the device, never assumed. */
#include "runtime.h"

size_t clg_pow2_floor(size_t n)
{
    size_t p = 1;
    while (p <= n / 2) p *= 2;
    return p;
}

clg_status clg_kernel_limits(clg_context *ctx, const char *program, const char *kernel,
                             size_t *group, size_t items[2], size_t *local_free)
{
    cl_kernel k;
    clg_status s = clg_kernel_get(ctx, program, kernel, &k);
    if (s != CLG_OK) return s;
    size_t wg = 0, dev_items[3] = {0, 0, 0};
    cl_ulong kernel_local = 0;
    cl_int err =
        clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_LOCAL_MEM_SIZE,
                                       sizeof kernel_local, &kernel_local, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof dev_items,
                              dev_items, NULL);
    if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clGetKernelWorkGroupInfo");
    if (ctx->info.max_work_group_size && wg > ctx->info.max_work_group_size)
        wg = ctx->info.max_work_group_size;
    *group = wg ? wg : 1;
    if (items) {
        items[0] = dev_items[0] ? dev_items[0] : 1;
        items[1] = dev_items[1] ? dev_items[1] : 1;
    }
    if (local_free) {
        uint64_t total = ctx->info.local_mem_size;
        *local_free = total > kernel_local ? (size_t)(total - kernel_local) : 0;
    }
    return CLG_OK;
}
