/* Which code computes a product of the Linear layer: CLBlast's SGEMM for wide shapes,
 * clgrad's tiled kernel (cl/linear.cl) for thin ones, where CLBlast's fixed costs
 * (padding copies, a second kernel) outweigh its faster inner loop.
 *
 * Rule (CLGRAD_GEMM unset or "auto"): CLBlast when every side of the product is at
 * least GEMM_MIN_SIDE and it has at least GEMM_MIN_WORK multiply-adds. Measured on
 * POCL 3.1 (2 cores, each op with a wait): the MLP's 256x784x256 products take ~3 ms
 * with CLBlast against ~25 ms with the tiled kernel, its 256x256x10 ones 0.2-0.5 ms
 * against 0.6-1.3 ms; the tiled kernel wins for q = 1 (256x256x1: 0.07 against 0.23 ms)
 * and for the d2l seeds' shapes. CLGRAD_GEMM=own or =clblast forces one side (tests
 * compare both).
 *
 * CLBlast picks its direct kernel (no padding copies, but not tuned by clgrad tune) below
 * XGEMM_MIN_INDIRECT_SIZE³ multiply-adds. On a CPU device clg_gemm_on_create lowers that
 * to GEMM_CPU_MIN_INDIRECT: on POCL the 256x784x256 products ran 1.5-2.8x faster on the
 * indirect kernel, tuned or not. GPUs keep CLBlast's database values. */
#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define GEMM_MIN_SIDE 8
#define GEMM_MIN_WORK ((size_t)1 << 16)
#define GEMM_CPU_MIN_INDIRECT 64

void clg_gemm_on_create(clg_context *ctx)
{
    if (ctx->info.type != CLG_DEVICE_CPU) return;
    const char *names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t values[] = {GEMM_CPU_MIN_INDIRECT};
    /* Best effort: a refusal only leaves CLBlast's default. The overrides are CLBlast's
     * process-wide state: one thread at a time. */
    clg_process_lock();
    (void)CLBlastOverrideParameters(ctx->device, "GemmRoutine", CLBlastPrecisionSingle, 1, names,
                                    values);
    clg_process_unlock();
}

clg_status clg_gemm_mode(const clg_context *ctx, clg_gemm_choice *mode)
{
    /* Validated when the context was created (config.c). */
    *mode = ctx->cfg.product == CLG_PRODUCT_OWN       ? CLG_GEMM_OWN
            : ctx->cfg.product == CLG_PRODUCT_CLBLAST ? CLG_GEMM_CLBLAST
                                                      : CLG_GEMM_AUTO;
    return CLG_OK;
}

int clg_gemm_wide(clg_gemm_choice mode, size_t M, size_t N, size_t K)
{
    if (mode != CLG_GEMM_AUTO) return mode == CLG_GEMM_CLBLAST;
    if (M < GEMM_MIN_SIDE || N < GEMM_MIN_SIDE || K < GEMM_MIN_SIDE) return 0;
    return M * N * K >= GEMM_MIN_WORK;
}

/* One scratch buffer per context for CLBlast's padded copies: left to itself CLBlast
 * allocates and frees them on every call, and with hundreds of calls queued ahead
 * (one wait per epoch) POCL kept them all alive: the MLP bench ran at 12 ms a step
 * against 5 ms with a wait after each product. The in-order queue makes sharing safe;
 * a buffer replaced by a larger one is freed by the runtime once its users completed. */
static clg_status scratch(clg_context *ctx, int ta, int tb, size_t M, size_t N, size_t K,
                          size_t lda, size_t ldb, size_t c_off, size_t ldc, cl_mem *out)
{
    cl_command_queue queue = ctx->queue;
    size_t bytes = 0; /* in bytes (checked: 2x896x256 floats for a 784x256x256 AᵀB) */
    CLBlastStatusCode st = CLBlastSGemmTempBufferSize(
        CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        tb ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, 0, lda, 0, ldb, c_off, ldc, &queue,
        &bytes);
    if (st != CLBlastSuccess)
        return clg_fail(ctx, CLG_ERR_BLAS,
                        "CLBlastSGemmTempBufferSize %zux%zux%zu failed with CLBlast status %d", M,
                        N, K, (int)st);
    if (bytes > ctx->gemm_scratch_bytes || !ctx->gemm_scratch) {
        size_t want = bytes ? bytes : sizeof(float);
        cl_mem m;
        clg_status s = clg_buffer_create(ctx, want, "CLBlast GEMM scratch", &m);
        if (s != CLG_OK) return s;
        if (ctx->gemm_scratch) clReleaseMemObject(ctx->gemm_scratch);
        ctx->gemm_scratch = m;
        ctx->gemm_scratch_bytes = want;
    }
    *out = ctx->gemm_scratch;
    return CLG_OK;
}

void clg_gemm_release(clg_context *ctx)
{
    if (ctx->gemm_scratch) clReleaseMemObject(ctx->gemm_scratch);
    ctx->gemm_scratch = NULL;
    ctx->gemm_scratch_bytes = 0;
}

clg_status clg_gemm_clblast(clg_context *ctx, int ta, int tb, size_t M, size_t N, size_t K,
                            cl_mem A, size_t lda, cl_mem B, size_t ldb, float beta, cl_mem C,
                            size_t ldc, const char *what)
{
    return clg_gemm_clblast_at(ctx, ta, tb, M, N, K, A, lda, B, ldb, beta, C, 0, ldc, what);
}

clg_status clg_gemm_clblast_at(clg_context *ctx, int ta, int tb, size_t M, size_t N, size_t K,
                               cl_mem A, size_t lda, cl_mem B, size_t ldb, float beta, cl_mem C,
                               size_t c_off, size_t ldc, const char *what)
{
    cl_command_queue queue = ctx->queue;
    cl_mem tmp = NULL;
    clg_status s = scratch(ctx, ta, tb, M, N, K, lda, ldb, c_off, ldc, &tmp);
    if (s != CLG_OK) return s;
    CLBlastStatusCode st = CLBlastSgemmWithTempBuffer(
        CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        tb ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, 1.0f, A, 0, lda, B, 0, ldb, beta, C,
        c_off, ldc, &queue, NULL, tmp);
    if (st == CLBlastSuccess) return CLG_OK;
    if (st == CLBlastOpenCLOutOfResources || st == CLBlastOpenCLOutOfHostMemory ||
        st == CLBlastTempBufferAllocFailure)
        return clg_fail(ctx, CLG_ERR_DEVICE_MEMORY,
                        "%s: CLBlastSgemm %zux%zux%zu: out of device memory (CLBlast status %d)",
                        what, M, N, K, (int)st);
    return clg_fail(ctx, CLG_ERR_BLAS, "%s: CLBlastSgemm %zux%zux%zu failed with CLBlast status %d",
                    what, M, N, K, (int)st);
}
