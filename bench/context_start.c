/* Times what a new process pays before its first result: context creation,
 * program build or cache load, first kernel, read back. Prints microseconds. */
#include <stdio.h>
#include <time.h>

#include "clgrad.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void)
{
    double t0 = now_us();
    clg_context *ctx = NULL;
    clg_tensor *t = NULL;
    float v[4];
    if (clg_context_create(&ctx, NULL) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_last_error(NULL));
        return 1;
    }
    double t1 = now_us();
    if (clg_tensor_create(ctx, 1, 4, &t) != CLG_OK || clg_tensor_fill(t, 2.0f) != CLG_OK ||
        clg_tensor_download(t, v, 1, 4) != CLG_OK || v[3] != 2.0f) {
        fprintf(stderr, "%s\n", clg_last_error(ctx));
        return 1;
    }
    double t2 = now_us();
    clg_context_stats st;
    clg_context_get_stats(ctx, &st);
    printf("context_us %.0f first_kernel_us %.0f total_us %.0f built %u from_cache %u\n", t1 - t0,
           t2 - t1, t2 - t0, st.programs_built, st.programs_from_cache);
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
    return 0;
}
