/* Squared, MSE and softmax cross-entropy losses, accuracy: ops (cl/loss.cl) and the
 * public forward/backward. For every op, B x q is the shape of pred; the target is
 * B x q for the regression losses and B x 1 (class ids) for cross-entropy. */
#include <stdint.h>

#include "ops.h"

#define MAX_REDUCE 256
#define ELEMENTWISE_GROUP 64

/* Work-group size of a single-group reduction over n items of `kernel`. */
static clg_status reduce_size(clg_context *ctx, const char *kernel, size_t n, size_t *L_out)
{
    size_t group, local_free;
    clg_status s = clg_kernel_limits(ctx, "loss", kernel, &group, NULL, &local_free);
    if (s != CLG_OK) return s;
    size_t L = clg_pow2_floor(group < MAX_REDUCE ? group : MAX_REDUCE);
    while (L > 1 && (L / 2 >= n || L * sizeof(float) > local_free)) L /= 2;
    *L_out = L;
    return CLG_OK;
}

static clg_status reduce(clg_context *ctx, clg_loss_kind kind, cl_mem pred, cl_mem target,
                         cl_mem out, size_t n, float divisor, int accumulate)
{
    size_t L;
    clg_status s = reduce_size(ctx, "loss_reduce", n, &L);
    if (s != CLG_OK) return s;
    cl_uint nn = (cl_uint)n;
    cl_int k = (cl_int)kind, acc = accumulate;
    clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target),  CLG_ARG(out), CLG_ARG(nn),
                      CLG_ARG(k),    CLG_ARG(divisor), CLG_ARG(acc), CLG_LOCAL(L * sizeof(float))};
    return clg_launch(ctx, "loss", "loss_reduce", 1, &L, &L, 8, args);
}

/* Cross-entropy summed over B rows of C logits: out[0] = sum/divisor or += sum. */
static clg_status xent_reduce(clg_context *ctx, cl_mem pred, cl_mem target, cl_mem out, size_t B,
                              size_t C, float divisor, int accumulate)
{
    size_t L;
    clg_status s = reduce_size(ctx, "xent_reduce", B, &L);
    if (s != CLG_OK) return s;
    cl_uint bb = (cl_uint)B, cc = (cl_uint)C;
    cl_int acc = accumulate;
    clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target),  CLG_ARG(out), CLG_ARG(bb),
                      CLG_ARG(cc),   CLG_ARG(divisor), CLG_ARG(acc), CLG_LOCAL(L * sizeof(float))};
    return clg_launch(ctx, "loss", "xent_reduce", 1, &L, &L, 8, args);
}

clg_status clg_op_loss_value(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                             cl_mem target, cl_mem out, size_t B, size_t q)
{
    size_t n = B * q;
    if (kind == CLG_LOSS_SOFTMAX_XENT) {
        cl_uint bb = (cl_uint)B, cc = (cl_uint)q;
        if (red != CLG_REDUCE_NONE)
            return xent_reduce(ctx, pred, target, out, B, q,
                               red == CLG_REDUCE_MEAN ? (float)B : 1.0f, 0);
        clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target), CLG_ARG(out), CLG_ARG(bb), CLG_ARG(cc)};
        size_t global = clg_round_up(B, ELEMENTWISE_GROUP);
        return clg_launch(ctx, "loss", "xent_rows", 1, &global, NULL, 5, args);
    }
    if (red != CLG_REDUCE_NONE)
        return reduce(ctx, kind, pred, target, out, n, red == CLG_REDUCE_MEAN ? (float)n : 1.0f, 0);
    cl_uint nn = (cl_uint)n;
    cl_int k = (cl_int)kind;
    clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target), CLG_ARG(out), CLG_ARG(nn), CLG_ARG(k)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "loss", "loss_elementwise", 1, &global, NULL, 5, args);
}

clg_status clg_op_loss_grad(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                            cl_mem target, cl_mem grad, size_t B, size_t q)
{
    size_t n = B * q;
    if (kind == CLG_LOSS_SOFTMAX_XENT) {
        cl_uint bb = (cl_uint)B, cc = (cl_uint)q;
        float scale = red == CLG_REDUCE_MEAN ? 1.0f / (float)B : 1.0f;
        clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target), CLG_ARG(grad),
                          CLG_ARG(bb),   CLG_ARG(cc),     CLG_ARG(scale)};
        size_t global = clg_round_up(B, ELEMENTWISE_GROUP);
        return clg_launch(ctx, "loss", "xent_gradient", 1, &global, NULL, 6, args);
    }
    cl_uint nn = (cl_uint)n;
    cl_int k = (cl_int)kind;
    float scale = red == CLG_REDUCE_MEAN ? 1.0f / (float)n : 1.0f;
    clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target), CLG_ARG(grad),
                      CLG_ARG(nn),   CLG_ARG(k),      CLG_ARG(scale)};
    size_t global = clg_round_up(n, ELEMENTWISE_GROUP);
    return clg_launch(ctx, "loss", "loss_gradient", 1, &global, NULL, 6, args);
}

clg_status clg_op_loss_accumulate(clg_context *ctx, clg_loss_kind kind, cl_mem pred, cl_mem target,
                                  cl_mem acc, size_t B, size_t q)
{
    if (kind == CLG_LOSS_SOFTMAX_XENT) return xent_reduce(ctx, pred, target, acc, B, q, 1.0f, 1);
    return reduce(ctx, kind, pred, target, acc, B * q, 1.0f, 1);
}

clg_status clg_op_accuracy_accumulate(clg_context *ctx, cl_mem pred, cl_mem target, cl_mem acc,
                                      size_t B, size_t C)
{
    size_t L;
    clg_status s = reduce_size(ctx, "accuracy_reduce", B, &L);
    if (s != CLG_OK) return s;
    cl_uint bb = (cl_uint)B, cc = (cl_uint)C;
    clg_arg args[] = {CLG_ARG(pred), CLG_ARG(target), CLG_ARG(acc),
                      CLG_ARG(bb),   CLG_ARG(cc),     CLG_LOCAL(L * sizeof(float))};
    return clg_launch(ctx, "loss", "accuracy_reduce", 1, &L, &L, 6, args);
}

static clg_status check_args(clg_context *ctx, const char *op, clg_loss_kind kind,
                             clg_reduction red, const clg_tensor *pred, const clg_tensor *target,
                             const clg_tensor *out, int backward)
{
    if (!ctx || !pred || !target || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    if (kind != CLG_LOSS_SQUARED && kind != CLG_LOSS_MSE && kind != CLG_LOSS_SOFTMAX_XENT)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: unknown loss kind %d", op, (int)kind);
    if (red != CLG_REDUCE_MEAN && red != CLG_REDUCE_SUM && red != CLG_REDUCE_NONE)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: unknown reduction %d", op, (int)red);
    int xent = kind == CLG_LOSS_SOFTMAX_XENT;
    if (xent && (target->rows != pred->rows || target->cols != 1))
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: cross-entropy needs a %zux1 target of class ids for logits %zux%zu, "
                        "got %zux%zu",
                        op, pred->rows, pred->rows, pred->cols, target->rows, target->cols);
    if (!xent && (pred->rows != target->rows || pred->cols != target->cols))
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: pred is %zux%zu but target is %zux%zu", op,
                        pred->rows, pred->cols, target->rows, target->cols);
    /* backward: B x q; forward NONE: B x q (B x 1 for cross-entropy); else 1 x 1. */
    size_t out_rows = 1, out_cols = 1;
    if (backward) {
        out_rows = pred->rows;
        out_cols = pred->cols;
    } else if (red == CLG_REDUCE_NONE) {
        out_rows = pred->rows;
        out_cols = xent ? 1 : pred->cols;
    }
    if (out->rows != out_rows || out->cols != out_cols)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: output is %zux%zu but must be %zux%zu for pred %zux%zu", op, out->rows,
                        out->cols, out_rows, out_cols, pred->rows, pred->cols);
    if (pred->rows * pred->cols > UINT32_MAX)
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s: %zux%zu has more than 2^32-1 elements", op,
                        pred->rows, pred->cols);
    if (pred->ctx != ctx || target->ctx != ctx || out->ctx != ctx)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: tensors of another context", op);
    return CLG_OK;
}

clg_status clg_loss_forward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                            const clg_tensor *pred, const clg_tensor *target, clg_tensor *out)
{
    clg_status s = check_args(ctx, "clg_loss_forward", kind, red, pred, target, out, 0);
    if (s != CLG_OK) return s;
    return clg_op_loss_value(ctx, kind, red, pred->mem, target->mem, out->mem, pred->rows,
                             pred->cols);
}

clg_status clg_loss_backward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                             const clg_tensor *pred, const clg_tensor *target, clg_tensor *grad)
{
    clg_status s = check_args(ctx, "clg_loss_backward", kind, red, pred, target, grad, 1);
    if (s != CLG_OK) return s;
    return clg_op_loss_grad(ctx, kind, red, pred->mem, target->mem, grad->mem, pred->rows,
                            pred->cols);
}

const char *clg_loss_describe(clg_loss_kind kind)
{
    switch (kind) {
    case CLG_LOSS_SQUARED:
        return "SquaredLoss()";
    case CLG_LOSS_MSE:
        return "MSELoss()";
    case CLG_LOSS_SOFTMAX_XENT:
        return "CrossEntropyLoss()";
    }
    return "?";
}
