/* SGEMM through CLBlast on the clgrad device: untuned (CLBlast's own parameters)
 * vs the stored tuning of `clgrad tune`, median of several runs each.
 * Usage: bench_sgemm [size=1024] [runs=7]. Prints key/value pairs. */
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of runs SGEMMs after one warm-up; negative on failure. */
static double time_sgemm(clg_context *ctx, cl_mem A, cl_mem B, cl_mem C, size_t n, int runs)
{
    double t[64];
    for (int r = 0; r <= runs; r++) {
        double t0 = now_s();
        CLBlastStatusCode st =
            CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, n, n, n,
                         1.0f, A, 0, n, B, 0, n, 0.0f, C, 0, n, &ctx->queue, NULL);
        if (st != CLBlastSuccess || clFinish(ctx->queue) != CL_SUCCESS) {
            fprintf(stderr, "bench_sgemm: CLBlastSgemm failed with status %d\n", (int)st);
            return -1;
        }
        if (r > 0) t[r - 1] = now_s() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    return runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (n < 16 || n > 8192 || runs < 1 || runs > 64) {
        fprintf(stderr, "usage: bench_sgemm [size 16..8192] [runs 1..64]\n");
        return 2;
    }
    setenv("CLGRAD_NO_TUNE", "1", 1); /* the context starts on CLBlast's own parameters */
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_last_error(NULL));
        return 1;
    }
    float *h = malloc(n * n * sizeof *h), *c0 = malloc(n * n * sizeof *c0),
          *c1 = malloc(n * n * sizeof *c1);
    clg_tensor *A = NULL, *B = NULL, *C = NULL;
    srand(1);
    for (size_t i = 0; i < n * n; i++) h[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    if (!h || !c0 || !c1 || clg_tensor_from_host(ctx, h, n, n, &A) != CLG_OK ||
        clg_tensor_from_host(ctx, h, n, n, &B) != CLG_OK ||
        clg_tensor_zeros(ctx, n, n, &C) != CLG_OK) {
        fprintf(stderr, "bench_sgemm: setup: %s\n", clg_last_error(ctx));
        return 1;
    }
    const double flop = 2.0 * (double)n * (double)n * (double)n;
    double tu = time_sgemm(ctx, A->mem, B->mem, C->mem, n, runs);
    if (tu < 0 || clg_tensor_download(C, c0, n, n) != CLG_OK) return 1;
    printf("size %zu runs %d untuned_gflops %.1f", n, runs, flop / tu * 1e-9);

    clg_status s = clg_tune_apply(ctx);
    int applied = 0;
    const char *note = "";
    clg_context_tuning(ctx, &applied, NULL, &note);
    if (s != CLG_OK || !applied) {
        printf(" tuned_gflops n/a\n");
        fprintf(stderr, "bench_sgemm: no tuning applied (%s); run `clgrad tune` first\n", note);
        return 1;
    }
    double tt = time_sgemm(ctx, A->mem, B->mem, C->mem, n, runs);
    if (tt < 0 || clg_tensor_download(C, c1, n, n) != CLG_OK) return 1;
    double dmax = 0, rmax = 0;
    for (size_t i = 0; i < n * n; i++) {
        double d = fabs((double)c1[i] - c0[i]);
        if (!(d <= dmax)) dmax = d;
        if (fabs((double)c0[i]) > rmax) rmax = fabs((double)c0[i]);
    }
    printf(" tuned_gflops %.1f ratio %.2f max_rel_diff %.2e\n", flop / tt * 1e-9, tu / tt,
           rmax > 0 ? dmax / rmax : dmax);
    clg_tensor_destroy(A);
    clg_tensor_destroy(B);
    clg_tensor_destroy(C);
    clg_context_destroy(ctx);
    free(h);
    free(c0);
    free(c1);
    return 0;
}
