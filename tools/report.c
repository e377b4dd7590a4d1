/* Learned parameters, as d2l prints them. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_num.h"
#include "report.h"

/* "label: [v0, v1, ...]": n values stride apart, at most limit of them (then "..."). */
static void print_vec(const char *label, const float *v, size_t n, size_t stride, size_t limit)
{
    char fig[32];
    printf("%s: [", label);
    for (size_t i = 0; i < n && i < limit; i++)
        printf("%s%s", i ? ", " : "", cli_figure(v[i * stride], fig, sizeof fig));
    printf("%s]\n", n > limit ? ", ..." : "");
}

void report_errors(const data_args *a, const float *w, size_t d, float b, float *max_w,
                   float *err_b)
{
    *max_w = 0;
    for (size_t i = 0; i < d; i++)
        if (fabsf(a->true_w[i] - w[i]) > *max_w) *max_w = fabsf(a->true_w[i] - w[i]);
    *err_b = fabsf(a->true_b - b);
}

/* With synthetic data: the errors of w and b against the truth. */
static void print_errors(const data_args *a, const float *w, size_t d, float b, size_t limit)
{
    if (a->csv) return;
    float err[4096], maxerr, berr;
    char fig[32];
    for (size_t i = 0; i < d; i++) err[i] = a->true_w[i] - w[i];
    report_errors(a, w, d, b, &maxerr, &berr);
    print_vec("w error", err, d, 1, limit);
    printf("b error: %s\n", cli_figure(a->true_b - b, fig, sizeof fig));
    printf("max |w error| %g, |b error| %g\n", maxerr, berr);
}

void report_linear(const data_args *a, const float *w, size_t d, float b)
{
    print_vec("w", w, d, 1, 8);
    char fig[32];
    printf("b: %s\n", cli_figure(b, fig, sizeof fig));
    print_errors(a, w, d, b, 8);
}

void report_solution(const data_args *a, const float *w, size_t d, size_t q, const float *b)
{
    char fig[32];
    if (q == 1) {
        print_vec("w", w, d, 1, SIZE_MAX);
        printf("b: %s\n", cli_figure(b[0], fig, sizeof fig));
        print_errors(a, w, d, b[0], SIZE_MAX);
        return;
    }
    for (size_t k = 0; k < q; k++) {
        char label[48];
        snprintf(label, sizeof label, "w (output %zu)", k);
        print_vec(label, w + k, d, q, SIZE_MAX);
    }
    print_vec("b", b, q, 1, SIZE_MAX);
}
