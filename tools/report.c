/* Learned parameters, as d2l prints them. */
#include <math.h>
#include <stdio.h>

#include "cli_num.h"
#include "report.h"

static void print_vec(const char *label, const float *v, size_t n)
{
    char fig[32];
    printf("%s: [", label);
    for (size_t i = 0; i < n && i < 8; i++)
        printf("%s%s", i ? ", " : "", cli_figure(v[i], fig, sizeof fig));
    printf("%s]\n", n > 8 ? ", ..." : "");
}

void report_linear(const data_args *a, const float *w, size_t d, float b)
{
    print_vec("w", w, d);
    char fig[32];
    printf("b: %s\n", cli_figure(b, fig, sizeof fig));
    if (a->csv) return;
    float err[4096], maxerr = 0;
    for (size_t i = 0; i < d; i++) {
        err[i] = a->true_w[i] - w[i];
        if (fabsf(err[i]) > maxerr) maxerr = fabsf(err[i]);
    }
    print_vec("w error", err, d);
    printf("b error: %s\n", cli_figure(a->true_b - b, fig, sizeof fig));
    printf("max |w error| %g, |b error| %g\n", maxerr, fabsf(a->true_b - b));
}
