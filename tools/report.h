/* Printing learned linear-regression parameters and their errors. */
#ifndef CLGRAD_REPORT_H
#define CLGRAD_REPORT_H
#include "data_args.h"
/* w: d values, b: one (the first 8 weights, then "..."). With synthetic data also prints
 * the errors against the truth. */
void report_linear(const data_args *a, const float *w, size_t d, float b);
/* clgrad solve's solution, every coefficient: w is d×q row-major (Linear's weight), b has
 * q values. One output: "w: [...]" and "b: B" (and the errors, as report_linear); several:
 * "w (output k): [...]" per output and "b: [...]". */
void report_solution(const data_args *a, const float *w, size_t d, size_t q, const float *b);
/* The largest |true w - w| and |true b - b| of synthetic data (one output). */
void report_errors(const data_args *a, const float *w, size_t d, float b, float *max_w,
                   float *err_b);
#endif
