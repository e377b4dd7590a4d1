/* Numbers on the command line: every option value the CLI turns into a number goes
 * through here. Values are range-checked as doubles (or read as integers) before any
 * cast, and NaN and infinities are refused. The functions print nothing: they return 0,
 * or -1 with the reason in why ("'1e15' is above the limit 1000000"), so that
 * tests/fuzz/fuzz_cli.c can call them. */
#ifndef CLGRAD_CLI_NUM_H
#define CLGRAD_CLI_NUM_H
#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_EPOCHS 1000000    /* a sane bound: 1e15 epochs would run until killed */
#define CLI_MAX_BATCH 2147483647  /* 2^31 - 1 */
#define CLI_MAX_ROWS 2147483647   /* --synthetic N */
#define CLI_MAX_FEATURES 4096     /* --synthetic NxD (true_w has 4096 entries) */
#define CLI_MAX_CLASS_ID 10000000 /* a CSV label used as a class id */

/* A finite number in [min, max]. */
int cli_real(const char *text, double min, double max, double *out, char *why, size_t n);
/* An integer in [min, max]: digits with an optional sign, or a number with an integral
 * value (1e3). */
int cli_int(const char *text, long long min, long long max, long long *out, char *why, size_t n);
/* The same for unsigned 64-bit values (a seed): 0..max. */
int cli_u64(const char *text, uint64_t max, uint64_t *out, char *why, size_t n);
/* --synthetic N or NxD: 1 <= N <= CLI_MAX_ROWS, 1 <= D <= CLI_MAX_FEATURES (D = 2 when absent). */
int cli_synthetic(const char *text, size_t *rows, size_t *cols, char *why, size_t n);
/* A label read as a float that must be a class id: an integer in 0..CLI_MAX_CLASS_ID. */
int cli_class_id(float v, int32_t *out, char *why, size_t n);
/* x as the CLI prints a figure (a loss, a weight): "%f" (six decimals, d2l's "loss
 * 0.000203") while that shows two significant digits and at most six before the point
 * (1e-5 <= |x| < 1e6, or 0), else "%g" (1.5e+24, 3e-08, nan, inf): never thirty digits.
 * Returns buf. */
const char *cli_figure(double x, char *buf, size_t n);
#endif
