/* Context: OpenCL context + in-order queue + program store + cache settings. */
#include <clblast_c.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static pthread_mutex_t process_mutex = PTHREAD_MUTEX_INITIALIZER;
static size_t live_contexts; /* guarded by process_mutex */

void clg_process_lock(void) { pthread_mutex_lock(&process_mutex); }
void clg_process_unlock(void) { pthread_mutex_unlock(&process_mutex); }

clg_status clg_context_create(clg_context **out, const char *device)
{
    clg_context_options o = clg_context_options_defaults();
    o.device = device;
    return clg_context_create_with(out, &o);
}

clg_status clg_context_create_with(clg_context **out, const clg_context_options *opts)
{
    if (!out) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_context_create: NULL out");
    *out = NULL;
    clg_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "clg_context_create: out of host memory");
    const char *device, *origin;
    clg_status s = clg_config_resolve(ctx, opts, &device, &origin);
    clg_device_handle h;
    if (s == CLG_OK) s = clg_device_resolve(device, origin, &h, &ctx->info);
    if (s != CLG_OK) {
        free(ctx);
        return s;
    }
    ctx->platform = h.platform;
    ctx->device = h.device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)h.platform, 0};
    cl_int err;
    ctx->cl = clCreateContext(props, 1, &h.device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        free(ctx);
        return clg_fail_cl(NULL, err, "clCreateContext");
    }
    ctx->queue = clCreateCommandQueue(ctx->cl, h.device, 0, &err);
    if (err != CL_SUCCESS) {
        clReleaseContext(ctx->cl);
        free(ctx);
        return clg_fail_cl(NULL, err, "clCreateCommandQueue");
    }
    clg_tune_on_create(ctx);
    clg_gemm_on_create(ctx);
    clg_process_lock();
    live_contexts++;
    clg_process_unlock();
    *out = ctx;
    return CLG_OK;
}

void clg_context_destroy(clg_context *ctx)
{
    if (!ctx) return;
    clFinish(ctx->queue);
    if (ctx->aux_queue) {
        clFinish(ctx->aux_queue);
        clReleaseCommandQueue(ctx->aux_queue);
    }
    clg_programs_release(ctx);
    clg_tune_release(ctx);
    clg_gemm_release(ctx);
    clReleaseCommandQueue(ctx->queue);
    clReleaseContext(ctx->cl);
    free(ctx->build_log);
    free(ctx);
    /* CLBlast caches programs per process and would release them in its static
     * destructors, after some drivers (Oclgrind) have torn down: clear its caches when
     * the last context goes. A later context rebuilds what it needs. */
    clg_process_lock();
    if (--live_contexts == 0) CLBlastClearCache();
    clg_process_unlock();
}

clg_status clg_context_device(const clg_context *ctx, clg_device_info *info)
{
    if (!ctx || !info)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_context_device: NULL argument");
    *info = ctx->info;
    return CLG_OK;
}

clg_status clg_context_finish(clg_context *ctx)
{
    if (!ctx) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_context_finish: NULL context");
    cl_int err = clFinish(ctx->queue);
    if (err == CL_SUCCESS && ctx->aux_queue) err = clFinish(ctx->aux_queue);
    return err == CL_SUCCESS ? CLG_OK : clg_fail_cl(ctx, err, "clFinish");
}

clg_status clg_context_get_stats(const clg_context *ctx, clg_context_stats *stats)
{
    if (!ctx || !stats)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_context_get_stats: NULL argument");
    *stats = ctx->stats;
    return CLG_OK;
}

const char *clg_context_cache_dir(const clg_context *ctx) { return ctx ? ctx->cache_dir : ""; }
