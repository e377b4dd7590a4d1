/* Printing learned linear-regression parameters and their errors. */
#ifndef CLGRAD_REPORT_H
#define CLGRAD_REPORT_H
#include "data_args.h"
/* w: d values, b: one. With synthetic data also prints the errors against the truth. */
void report_linear(const data_args *a, const float *w, size_t d, float b);
#endif
