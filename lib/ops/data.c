/* Host wrappers of cl/data.cl: the synthetic-data draw, the row gather, column scaling. */
#include <stdint.h>

#include "ops.h"

#define DATA_WG 64

clg_status clg_op_synthetic_linear(clg_context *ctx, cl_mem X, cl_mem y, cl_mem w, float b,
                                   float noise, size_t row0, size_t n, size_t d, uint64_t seed)
{
    cl_uint un = (cl_uint)n, ud = (cl_uint)d;
    cl_uint key_lo = (cl_uint)seed, key_hi = (cl_uint)(seed >> 32);
    cl_ulong r0 = (cl_ulong)row0;
    size_t global = clg_round_up(n, DATA_WG);
    clg_arg args[] = {CLG_ARG(X),  CLG_ARG(y),  CLG_ARG(w),      CLG_ARG(b),      CLG_ARG(noise),
                      CLG_ARG(un), CLG_ARG(ud), CLG_ARG(key_lo), CLG_ARG(key_hi), CLG_ARG(r0)};
    return clg_launch(ctx, "data", "synthetic_linear", 1, &global, NULL, 10, args);
}

clg_status clg_op_gather_rows(clg_context *ctx, cl_mem src, cl_mem order, size_t offset,
                              size_t count, size_t cols, cl_mem dst)
{
    cl_uint uo = (cl_uint)offset, uc = (cl_uint)count, ucols = (cl_uint)cols;
    size_t global = clg_round_up(count * cols, DATA_WG);
    clg_arg args[] = {CLG_ARG(dst), CLG_ARG(src), CLG_ARG(order),
                      CLG_ARG(uo),  CLG_ARG(uc),  CLG_ARG(ucols)};
    return clg_launch(ctx, "data", "gather_rows", 1, &global, NULL, 6, args);
}

clg_status clg_op_scale_columns(clg_context *ctx, cl_mem src, cl_mem mean, cl_mem scale,
                                size_t rows, size_t cols, cl_mem dst)
{
    cl_uint ur = (cl_uint)rows, uc = (cl_uint)cols;
    size_t global = clg_round_up(rows * cols, DATA_WG);
    clg_arg args[] = {CLG_ARG(dst),   CLG_ARG(src), CLG_ARG(mean),
                      CLG_ARG(scale), CLG_ARG(ur),  CLG_ARG(uc)};
    return clg_launch(ctx, "data", "scale_columns", 1, &global, NULL, 6, args);
}
