/* clgrad: optimizers behind one interface (SGD today), with parameter groups. Part of
 * <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_OPTIM_H
#define CLGRAD_API_OPTIM_H

#include "clgrad/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds; the value is stored in checkpoints and never reused. */
typedef enum clg_optimizer_kind {
    CLG_OPTIMIZER_SGD = 0 /* PyTorch's torch.optim.SGD */
} clg_optimizer_kind;

/* Options of one parameter group (PyTorch's param_groups). A kind reads the fields it
 * documents; the others are ignored. SGD: g ← grad·grad_scale + weight_decay·p; with
 * momentum: buf ← momentum·buf + (1 − dampening)·g (buf ← g on the first step),
 * g ← nesterov ? g + momentum·buf : buf; then p ← p − lr·g.
 * ABI: the struct has a fixed size; later kinds' options take words of `reserved`, which
 * must stay zero (start from clg_optimizer_defaults). */
typedef struct clg_optimizer_options {
    clg_optimizer_kind kind; /* default CLG_OPTIMIZER_SGD */
    float lr;                /* SGD default 0.03 (d2l's linear regression) */
    float momentum;          /* default 0 */
    float dampening;         /* default 0 */
    float weight_decay;      /* default 0 */
    int nesterov;            /* default 0 */
    uint32_t reserved[10];
} clg_optimizer_options;
CLG_API clg_optimizer_options clg_optimizer_defaults(clg_optimizer_kind kind);
/* "SGD"; NULL for an unknown kind. */
CLG_API const char *clg_optimizer_kind_name(clg_optimizer_kind kind);

typedef struct clg_optimizer clg_optimizer;

/* An optimizer of opts->kind over every parameter of m, all in group 0 with opts (NULL:
 * SGD's defaults). m must outlive the optimizer. Options are checked as PyTorch's
 * constructors do (CLG_ERR_INVALID_ARGUMENT naming the option). */
CLG_API clg_status clg_optimizer_create(clg_model *m, const clg_optimizer_options *opts,
                                        clg_optimizer **out);
CLG_API void clg_optimizer_destroy(clg_optimizer *opt);
/* Moves parameters (indices as in clg_model_param_info) into a new group with opts, of the
 * optimizer's kind. */
CLG_API clg_status clg_optimizer_add_group(clg_optimizer *opt, const size_t *params, size_t count,
                                           const clg_optimizer_options *opts);
/* Moves every weight (biases = 0) or every bias (biases = 1) into a new group. */
CLG_API clg_status clg_optimizer_add_group_by_kind(clg_optimizer *opt, int biases,
                                                   const clg_optimizer_options *opts);
/* One update of every parameter from its gradient times grad_scale (1/|B| for d2l's
 * from-scratch sgd on a summed loss, 1 for a mean loss). Enqueued. */
CLG_API clg_status clg_optimizer_step(clg_optimizer *opt, float grad_scale);

CLG_API clg_optimizer_kind clg_optimizer_get_kind(const clg_optimizer *opt);
CLG_API size_t clg_optimizer_group_count(const clg_optimizer *opt);
/* The options of group g (CLG_ERR_INVALID_ARGUMENT past the last group). */
CLG_API clg_status clg_optimizer_group(const clg_optimizer *opt, size_t group,
                                       clg_optimizer_options *out);
/* Learning rate of group g, for schedules: changes nothing else (momentum buffers stay). */
CLG_API clg_status clg_optimizer_get_lr(const clg_optimizer *opt, size_t group, float *lr);
CLG_API clg_status clg_optimizer_set_lr(clg_optimizer *opt, size_t group, float lr);
/* Steps taken (also restored from a checkpoint). */
CLG_API uint64_t clg_optimizer_steps(const clg_optimizer *opt);
/* PyTorch's print(optimizer): "SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.03\n..."
 * into buf (cut to len, NUL-terminated when len > 0); returns the full length, as snprintf. */
CLG_API size_t clg_optimizer_describe(const clg_optimizer *opt, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
