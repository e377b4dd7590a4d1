/* Program build, in-memory kernel store and the on-disk binary cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#define CACHE_MAGIC "CLGRADPB"
#define CACHE_FORMAT 1u
#define CACHE_HEADER 40 /* magic 8, format 4, reserved 4, key 8, length 8, payload hash 8 */

/* -w: POCL's compiler prints "N warnings generated." to stderr otherwise. */
const char *clg_program_options(const clg_context *ctx)
{
    return ctx->cfg.build_warnings ? "-cl-std=CL1.2" : "-cl-std=CL1.2 -w";
}

static const char *find_source(const char *name)
{
    for (size_t i = 0; i < clg_kernel_source_count; i++)
        if (!strcmp(clg_kernel_sources[i].name, name)) return clg_kernel_sources[i].text;
    return NULL;
}

/* Every program is cl/common.cl followed by its own file. */
static char *program_source(const char *name)
{
    const char *common = find_source("common");
    const char *own = find_source(name);
    if (!own || !common) return NULL;
    size_t a = strlen(common), b = strlen(own);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, common, a);
    s[a] = '\n';
    memcpy(s + a + 1, own, b + 1);
    return s;
}

static uint64_t cache_key(const clg_context *ctx, const char *src)
{
    const clg_device_info *in = &ctx->info;
    uint64_t h = clg_hash64("clgrad-program-cache-1", 22, CLG_HASH_SEED);
    const char *parts[] = {in->platform_name,  in->device_name,          in->driver_version,
                           in->opencl_version, clg_program_options(ctx), src};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        h = clg_hash64(parts[i], strlen(parts[i]) + 1, h);
    return h;
}

static void cache_path(const clg_context *ctx, const char *name, uint64_t key, char *out, size_t n)
{
    snprintf(out, n, "%s/%s-%016llx.bin", ctx->cache_dir, name, (unsigned long long)key);
}

/* Returns a malloc'd payload when the file exists and is a valid binary for
 * this key; sets *rejected when a file existed but was not usable. */
static unsigned char *cache_read(const char *path, uint64_t key, size_t *len, int *rejected)
{
    *rejected = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char hdr[CACHE_HEADER];
    unsigned char *payload = NULL;
    *rejected = 1;
    if (fread(hdr, 1, CACHE_HEADER, f) != CACHE_HEADER) goto out;
    if (memcmp(hdr, CACHE_MAGIC, 8) || hdr[8] != CACHE_FORMAT || hdr[9] || hdr[10] || hdr[11])
        goto out;
    if (clg_get_le64(hdr + 16) != key) goto out;
    uint64_t n = clg_get_le64(hdr + 24);
    if (n == 0 || n > (1ull << 30)) goto out;
    payload = malloc((size_t)n + 1);
    if (!payload) goto out;
    if (fread(payload, 1, (size_t)n, f) != n || fgetc(f) != EOF ||
        clg_hash64(payload, (size_t)n, CLG_HASH_SEED) != clg_get_le64(hdr + 32)) {
        free(payload);
        payload = NULL;
        goto out;
    }
    *len = (size_t)n;
    *rejected = 0;
out:
    fclose(f);
    return payload;
}

/* Header + binary, written whole or not at all: a reader sees the old file or the new one. */
static int cache_write(const char *dir, const char *path, uint64_t key, const unsigned char *bin,
                       size_t len)
{
    if (clg_mkdir_p(dir)) return -1;
    unsigned char *file = malloc(CACHE_HEADER + len);
    if (!file) return -1;
    memset(file, 0, CACHE_HEADER);
    memcpy(file, CACHE_MAGIC, 8);
    file[8] = CACHE_FORMAT;
    clg_put_le64(file + 16, key);
    clg_put_le64(file + 24, len);
    clg_put_le64(file + 32, clg_hash64(bin, len, CLG_HASH_SEED));
    memcpy(file + CACHE_HEADER, bin, len);
    char msg[256]; /* a failed store is counted, not reported */
    int rc = clg_file_write_atomic("program cache", path, file, CACHE_HEADER + len, msg, sizeof msg)
                 ? -1
                 : 0;
    free(file);
    return rc;
}

static void keep_build_log(clg_context *ctx, cl_program prog)
{
    size_t n = 0;
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    free(ctx->build_log);
    ctx->build_log = malloc(n + 1);
    if (!ctx->build_log) return;
    ctx->build_log[0] = '\0';
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, ctx->build_log, NULL);
    ctx->build_log[n] = '\0';
}

static cl_program from_binary(clg_context *ctx, const unsigned char *bin, size_t len)
{
    cl_int err, bstatus;
    cl_program p = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, &bin, &bstatus, &err);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS) {
        if (p) clReleaseProgram(p);
        return NULL;
    }
    if (clBuildProgram(p, 1, &ctx->device, clg_program_options(ctx), NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

static clg_status build_program(clg_context *ctx, const char *name, cl_program *out)
{
    char *src = program_source(name);
    if (!src)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "no embedded kernel source named '%s'",
                        name);
    uint64_t key = cache_key(ctx, src);
    char path[1200];
    cache_path(ctx, name, key, path, sizeof path);
    if (ctx->cache_on && ctx->cache_binary) {
        size_t len = 0;
        int rejected = 0;
        unsigned char *bin = cache_read(path, key, &len, &rejected);
        cl_program p = bin ? from_binary(ctx, bin, len) : NULL;
        free(bin);
        if (p) {
            free(src);
            ctx->stats.programs_from_cache++;
            *out = p;
            return CLG_OK;
        }
        if (rejected || bin) ctx->stats.cache_rejected++;
    }
    cl_int err;
    const char *srcs[1] = {src};
    if (ctx->cfg.on_build) ctx->cfg.on_build(name, ctx->info.device_name, ctx->cfg.on_build_user);
    cl_program p = clCreateProgramWithSource(ctx->cl, 1, srcs, NULL, &err);
    free(src);
    if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(p, 1, &ctx->device, clg_program_options(ctx), NULL, NULL);
    if (err != CL_SUCCESS) {
        keep_build_log(ctx, p);
        clReleaseProgram(p);
        const char *log = ctx->build_log ? ctx->build_log : "";
        return clg_fail(ctx, CLG_ERR_BUILD, "clBuildProgram(%s): %s; build log: %.600s", name,
                        clg_cl_error_name(err), log);
    }
    ctx->stats.programs_built++;
    if (ctx->cache_on && ctx->cache_binary) {
        size_t len = 0;
        unsigned char *bin = NULL;
        int ok =
            clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) == CL_SUCCESS &&
            len > 0 && (bin = malloc(len)) != NULL &&
            clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS &&
            cache_write(ctx->cache_dir, path, key, bin, len) == 0;
        if (!ok) ctx->stats.cache_write_failures++;
        free(bin);
    }
    *out = p;
    return CLG_OK;
}

static clg_status get_program(clg_context *ctx, const char *name, cl_program *out)
{
    for (size_t i = 0; i < ctx->program_count; i++)
        if (!strcmp(ctx->programs[i].name, name)) {
            *out = ctx->programs[i].program;
            return CLG_OK;
        }
    if (ctx->program_count == CLG_MAX_PROGRAMS)
        return clg_fail(ctx, CLG_ERR_STATE, "too many programs in one context");
    clg_status s = build_program(ctx, name, out);
    if (s != CLG_OK) return s;
    ctx->programs[ctx->program_count].name = name;
    ctx->programs[ctx->program_count++].program = *out;
    return CLG_OK;
}

clg_status clg_kernel_get(clg_context *ctx, const char *program, const char *kernel, cl_kernel *out)
{
    for (size_t i = 0; i < ctx->kernel_count; i++)
        if (!strcmp(ctx->kernels[i].name, kernel)) {
            *out = ctx->kernels[i].kernel;
            return CLG_OK;
        }
    if (ctx->kernel_count == CLG_MAX_KERNELS)
        return clg_fail(ctx, CLG_ERR_STATE, "too many kernels in one context");
    cl_program p = NULL; /* quiets -Wmaybe-uninitialized in the TSan build */
    clg_status s = get_program(ctx, program, &p);
    if (s != CLG_OK) return s;
    cl_int err;
    cl_kernel k = clCreateKernel(p, kernel, &err);
    if (err != CL_SUCCESS) {
        char op[160];
        snprintf(op, sizeof op, "clCreateKernel(%s)", kernel);
        return clg_fail_cl(ctx, err, op);
    }
    ctx->kernels[ctx->kernel_count].name = kernel;
    ctx->kernels[ctx->kernel_count++].kernel = k;
    *out = k;
    return CLG_OK;
}

void clg_programs_release(clg_context *ctx)
{
    for (size_t i = 0; i < ctx->kernel_count; i++) clReleaseKernel(ctx->kernels[i].kernel);
    for (size_t i = 0; i < ctx->program_count; i++) clReleaseProgram(ctx->programs[i].program);
    ctx->kernel_count = ctx->program_count = 0;
}

size_t clg_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

clg_status clg_launch(clg_context *ctx, const char *program, const char *kernel, cl_uint dims,
                      const size_t *global, const size_t *local, size_t nargs, const clg_arg *args)
{
    return clg_launch_on(ctx, ctx->queue, program, kernel, dims, global, local, nargs, args);
}

clg_status clg_launch_on(clg_context *ctx, cl_command_queue queue, const char *program,
                         const char *kernel, cl_uint dims, const size_t *global,
                         const size_t *local, size_t nargs, const clg_arg *args)
{
    cl_kernel k;
    clg_status s = clg_kernel_get(ctx, program, kernel, &k);
    if (s != CLG_OK) return s;
    char op[160];
    for (size_t i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            snprintf(op, sizeof op, "clSetKernelArg(%s, %zu)", kernel, i);
            return clg_fail_cl(ctx, err, op);
        }
    }
    cl_int err = clEnqueueNDRangeKernel(queue, k, dims, NULL, global, local, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        snprintf(op, sizeof op, "clEnqueueNDRangeKernel(%s)", kernel);
        return clg_fail_cl(ctx, err, op);
    }
    ctx->stats.kernels_enqueued++;
    return CLG_OK;
}
