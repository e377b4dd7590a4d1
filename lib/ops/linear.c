/* Ops of the Linear layer and ReLU: work sizes and enqueues (cl/linear.cl). */
#include "ops.h"

#define MAX_TILE 16
#define MAX_REDUCE 256
#define ELEMENTWISE_GROUP 64

/* Largest square tile the kernel may use on this device (ts² work-items, two
 * ts² float tiles of local memory), no wider than the thinner side of the
 * output: for q = 1 a wide tile would leave most work-items idle. */
static clg_status tile_size(clg_context *ctx, const char *kernel, size_t rows, size_t cols,
                            size_t *ts)
{
    size_t group, items[2], local_free;
    clg_status s = clg_kernel_limits(ctx, "linear", kernel, &group, items, &local_free);
    if (s != CLG_OK) return s;
    size_t thin = rows < cols ? rows : cols, t = 1;
    while (t < thin && t < MAX_TILE) t *= 2;
    while (t > 1 && (t * t > group || t > items[0] || t > items[1] ||
                     2 * t * t * sizeof(float) > local_free))
        t /= 2;
    *ts = t;
    return CLG_OK;
}

static clg_status launch_tiled(clg_context *ctx, const char *kernel, size_t rows, size_t cols,
                               clg_arg *args, size_t nargs)
{
    size_t ts;
    clg_status s = tile_size(ctx, kernel, rows, cols, &ts);
    if (s != CLG_OK) return s;
    args[nargs - 2] = CLG_LOCAL(ts * ts * sizeof(float));
    args[nargs - 1] = CLG_LOCAL(ts * ts * sizeof(float));
    size_t global[2] = {clg_round_up(cols, ts), clg_round_up(rows, ts)};
    size_t local[2] = {ts, ts};
    return clg_launch(ctx, "linear", kernel, 2, global, local, nargs, args);
}

clg_status clg_op_linear_forward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem b, cl_mem Y, size_t B,
                                 size_t d, size_t q)
{
    cl_uint nb = (cl_uint)B, nd = (cl_uint)d, nq = (cl_uint)q;
    clg_gemm_choice mode;
    clg_status s = clg_gemm_mode(ctx, &mode);
    if (s != CLG_OK) return s;
    if (clg_gemm_wide(mode, B, q, d)) { /* Y = b (broadcast), then Y += X·W */
        clg_arg ba[] = {CLG_ARG(b), CLG_ARG(Y), CLG_ARG(nb), CLG_ARG(nq)};
        size_t global = clg_round_up(B * q, ELEMENTWISE_GROUP);
        s = clg_launch(ctx, "linear", "linear_bias_rows", 1, &global, NULL, 4, ba);
        if (s != CLG_OK) return s;
        return clg_gemm_clblast(ctx, 0, 0, B, q, d, X, d, W, q, 1.0f, Y, q, "linear forward");
    }
    clg_arg args[] = {CLG_ARG(X),  CLG_ARG(W),  CLG_ARG(b),   CLG_ARG(Y),  CLG_ARG(nb),
                      CLG_ARG(nd), CLG_ARG(nq), CLG_LOCAL(4), CLG_LOCAL(4)};
    return launch_tiled(ctx, "linear_forward", B, q, args, 9);
}

static clg_status bias_grad(clg_context *ctx, cl_mem dY, cl_mem db, size_t B, size_t q)
{
    size_t group, local_free;
    clg_status s = clg_kernel_limits(ctx, "linear", "linear_grad_bias", &group, NULL, &local_free);
    if (s != CLG_OK) return s;
    size_t L = clg_pow2_floor(group < MAX_REDUCE ? group : MAX_REDUCE);
    while (L > 1 && (L / 2 >= B || L * sizeof(float) > local_free)) L /= 2;
    cl_uint nb = (cl_uint)B, nq = (cl_uint)q;
    clg_arg args[] = {CLG_ARG(dY), CLG_ARG(db), CLG_ARG(nb), CLG_ARG(nq),
                      CLG_LOCAL(L * sizeof(float))};
    size_t global = q * L;
    return clg_launch(ctx, "linear", "linear_grad_bias", 1, &global, &L, 5, args);
}

clg_status clg_op_linear_backward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem dY, cl_mem dW,
                                  cl_mem db, cl_mem dX, size_t B, size_t d, size_t q)
{
    cl_uint nb = (cl_uint)B, nd = (cl_uint)d, nq = (cl_uint)q;
    clg_gemm_choice mode;
    clg_status s = clg_gemm_mode(ctx, &mode);
    if (s != CLG_OK) return s;
    if (clg_gemm_wide(mode, d, q, B)) {
        s = clg_gemm_clblast(ctx, 1, 0, d, q, B, X, d, dY, q, 0.0f, dW, q,
                             "linear weight gradient");
    } else {
        clg_arg gw[] = {CLG_ARG(X),  CLG_ARG(dY), CLG_ARG(dW),  CLG_ARG(nb),
                        CLG_ARG(nd), CLG_ARG(nq), CLG_LOCAL(4), CLG_LOCAL(4)};
        s = launch_tiled(ctx, "linear_grad_weight", d, q, gw, 8);
    }
    if (s == CLG_OK) s = bias_grad(ctx, dY, db, B, q);
    if (s != CLG_OK || !dX) return s;
    if (clg_gemm_wide(mode, B, d, q))
        return clg_gemm_clblast(ctx, 0, 1, B, d, q, dY, q, W, q, 0.0f, dX, d,
                                "linear input gradient");
    clg_arg gx[] = {CLG_ARG(dY), CLG_ARG(W),  CLG_ARG(dX),  CLG_ARG(nb),
                    CLG_ARG(nd), CLG_ARG(nq), CLG_LOCAL(4), CLG_LOCAL(4)};
    return launch_tiled(ctx, "linear_grad_input", B, d, gx, 8);
}

clg_status clg_op_relu_forward(clg_context *ctx, cl_mem X, cl_mem Y, size_t n)
{
    cl_uint nn = (cl_uint)n;
    clg_arg args[] = {CLG_ARG(X), CLG_ARG(Y), CLG_ARG(nn)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "linear", "relu_forward", 1, &global, NULL, 3, args);
}

clg_status clg_op_relu_backward(clg_context *ctx, cl_mem X, cl_mem dY, cl_mem dX, size_t n)
{
    cl_uint nn = (cl_uint)n;
    clg_arg args[] = {CLG_ARG(X), CLG_ARG(dY), CLG_ARG(dX), CLG_ARG(nn)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "linear", "relu_backward", 1, &global, NULL, 4, args);
}
