/* Linear regression in closed form (d2l 3.1/3.2 data): w* = (XᵀX)⁻¹Xᵀy, no training loop.
 * XᵀX and Xᵀy are computed on the OpenCL device; the small system is solved on the host. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clgrad.h"

/* A standard normal sample by Box–Muller from the C library's rand(). */
static double normal(void)
{
    double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int main(void)
{
    enum { N = 1000, D = 2 };
    const float true_w[D] = {2.0f, -3.4f}, true_b = 4.2f;
    static float X[N * D], y[N];

    /* d2l's synthetic_data: X ~ N(0, 1), y = X·w + b + N(0, 0.01²). */
    srand(0);
    for (int i = 0; i < N; i++) {
        y[i] = true_b + 0.01f * (float)normal();
        for (int j = 0; j < D; j++) {
            X[i * D + j] = (float)normal();
            y[i] += X[i * D + j] * true_w[j];
        }
    }

    clg_context *ctx = NULL;
    clg_dataset *ds = NULL;
    float w[D], b;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(NULL));
        return 1;
    }
    if ((s = clg_dataset_from_host(ctx, X, y, N, D, 1, &ds)) != CLG_OK ||
        (s = clg_solve_normal(ctx, ds, 0.0, w, &b)) != CLG_OK) {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(ctx));
        clg_dataset_destroy(ds);
        clg_context_destroy(ctx);
        return 1;
    }

    printf("w: [%.4f, %.4f]\n", w[0], w[1]);
    printf("b: %.4f\n", b);
    printf("w error: [%.6f, %.6f]\n", true_w[0] - w[0], true_w[1] - w[1]);
    printf("b error: %.6f\n", true_b - b);

    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return 0;
}
