/* ops: one host wrapper per kernel family of cl/. Sees runtime and base. */
#ifndef CLGRAD_OPS_H
#define CLGRAD_OPS_H
#include "runtime.h"

/* ---------------------------------------------------------------- ops layer
 * One host wrapper per kernel: argument checks are the caller's, these only
 * enqueue (no waits). Sizes are in elements. */

/* data.cl */
/* Rows row0 .. row0+n-1 of the synthetic dataset of that seed into X (n×d), y (n). */
clg_status clg_op_synthetic_linear(clg_context *ctx, cl_mem X, cl_mem y, cl_mem w, float b,
                                   float noise, size_t row0, size_t n, size_t d, uint64_t seed);
clg_status clg_op_gather_rows(clg_context *ctx, cl_mem src, cl_mem order, size_t offset,
                              size_t count, size_t cols, cl_mem dst);
/* dst = (src − mean) / scale per column (mean, scale: cols floats); dst may be src. */
clg_status clg_op_scale_columns(clg_context *ctx, cl_mem src, cl_mem mean, cl_mem scale,
                                size_t rows, size_t cols, cl_mem dst);
/* linear.cl: Y = X·W + b; dW = Xᵀ·dY, db = colsum(dY), dX = dY·Wᵀ (dX may be NULL). */
clg_status clg_op_linear_forward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem b, cl_mem Y, size_t B,
                                 size_t d, size_t q);
clg_status clg_op_linear_backward(clg_context *ctx, cl_mem X, cl_mem W, cl_mem dY, cl_mem dW,
                                  cl_mem db, cl_mem dX, size_t B, size_t d, size_t q);
clg_status clg_op_relu_forward(clg_context *ctx, cl_mem X, cl_mem Y, size_t n);
clg_status clg_op_relu_backward(clg_context *ctx, cl_mem X, cl_mem dY, cl_mem dX, size_t n);
/* loss.cl. B x q is the shape of pred; target is B x q for the regression losses
 * and B x 1 float class ids for CLG_LOSS_SOFTMAX_XENT (q = C classes), whose
 * MEAN divides by B (per sample) and whose NONE output is B x 1. A class id not
 * an integer in [0, C) makes that row's loss and gradient NaN. */
clg_status clg_op_loss_value(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                             cl_mem target, cl_mem out, size_t B, size_t q);
clg_status clg_op_loss_grad(clg_context *ctx, clg_loss_kind kind, clg_reduction red, cl_mem pred,
                            cl_mem target, cl_mem grad, size_t B, size_t q);
/* acc[0] += sum over the B×q elements of the per-element loss (for cross-entropy:
 * over the B per-sample losses), fixed order. */
clg_status clg_op_loss_accumulate(clg_context *ctx, clg_loss_kind kind, cl_mem pred, cl_mem target,
                                  cl_mem acc, size_t B, size_t q);
/* acc[0] += number of the B rows of pred (B×C) whose argmax equals the class id in
 * target (B×1); the first maximum wins (torch.argmax), a NaN counts as the largest,
 * a class id out of range never matches. Fixed order; exact below 2^24. */
clg_status clg_op_accuracy_accumulate(clg_context *ctx, cl_mem pred, cl_mem target, cl_mem acc,
                                      size_t B, size_t C);
/* sgd.cl: one step on n elements; mom NULL when momentum is 0. */
clg_status clg_op_sgd_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem mom, size_t n,
                             const clg_optimizer_options *o, float grad_scale, int first_step);

/* adam.cl: one step on n elements of Adam or AdamW (decoupled = 1: weight decay multiplies
 * p instead of adding to the gradient; max_exp_avg_sq NULL without amsgrad) and of RMSprop
 * (momentum_buffer NULL when momentum is 0, grad_avg NULL unless centered). step counts from
 * 1; fresh: bit k set when the k-th state buffer (in argument order) was just made and is
 * read as zeros. */
clg_status clg_op_adam_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem exp_avg,
                              cl_mem exp_avg_sq, cl_mem max_exp_avg_sq, size_t n,
                              const clg_optimizer_options *o, int decoupled, float grad_scale,
                              uint64_t step, unsigned fresh);
clg_status clg_op_rmsprop_update(clg_context *ctx, cl_mem p, cl_mem g, cl_mem square_avg,
                                 cl_mem momentum_buffer, cl_mem grad_avg, size_t n,
                                 const clg_optimizer_options *o, float grad_scale, unsigned fresh);

/* phm.cl: the PHM layer of n factors, d×q (dn = ceil(d/n), qn = ceil(q/n); A n·n×n, S
 * n·dn×qn, stacked as lib/nn/phm.c says). build: W (d×q) = top-left block of
 * Σ_i A_i ⊗ S_i. grad: dA and dS from dW (d×q, the gradient of that block). */
clg_status clg_op_phm_build(clg_context *ctx, cl_mem A, cl_mem S, cl_mem W, size_t d, size_t q,
                            size_t n);
clg_status clg_op_phm_grad(clg_context *ctx, cl_mem A, cl_mem S, cl_mem dW, cl_mem dA, cl_mem dS,
                           size_t d, size_t q, size_t n);

#endif
