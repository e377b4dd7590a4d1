/* Host memory read bandwidth: the bound the fused paths are compared with.
 * Sums a buffer of MB megabytes (default 256, well past the caches) with T threads
 * (default 1 and 2), 16 independent float sums per thread so the adds do not limit it;
 * prints the median of 5 passes in GB/s.  Usage: bench_readbw [MB]  */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct part {
    const float *p;
    size_t n;
    float sum;
} part;

static void *sum_part(void *arg)
{
    part *w = arg;
    float a[16] = {0};
    size_t i = 0;
    for (; i + 16 <= w->n; i += 16)
        for (int l = 0; l < 16; l++) a[l] += w->p[i + l];
    float s = 0;
    for (int l = 0; l < 16; l++) s += a[l];
    for (; i < w->n; i++) s += w->p[i];
    w->sum = s;
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t n = mb * 1024 * 1024 / sizeof(float);
    float *buf = malloc(n * sizeof *buf);
    if (!buf) return 1;
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023) * 1e-3f;
    float keep = 0;
    for (int threads = 1; threads <= 2; threads++) {
        double gbs[5];
        for (int r = 0; r < 5; r++) {
            pthread_t th[2];
            part w[2];
            double t0 = now_s();
            for (int t = 0; t < threads; t++) {
                w[t].p = buf + n / threads * t;
                w[t].n = t + 1 == threads ? n - n / threads * t : n / threads;
                pthread_create(&th[t], NULL, sum_part, &w[t]);
            }
            for (int t = 0; t < threads; t++) {
                pthread_join(th[t], NULL);
                keep += w[t].sum;
            }
            gbs[r] = (double)n * sizeof(float) / (now_s() - t0) / 1e9;
        }
        qsort(gbs, 5, sizeof *gbs, cmp);
        printf("read_gbs_%dthread %.2f\n", threads, gbs[2]);
    }
    printf("checksum %g\n", (double)keep);
    free(buf);
    return 0;
}
