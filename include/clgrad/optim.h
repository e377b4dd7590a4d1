/* clgrad: optimizers: SGD with parameter groups. Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_OPTIM_H
#define CLGRAD_API_OPTIM_H

#include "clgrad/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------------- SGD */

/* PyTorch's SGD: g ← grad·grad_scale + weight_decay·p;
 * with momentum: buf ← momentum·buf + (1 − dampening)·g (buf ← g on the first
 * step), g ← nesterov ? g + momentum·buf : buf; then p ← p − lr·g. */
typedef struct clg_sgd_options {
    float lr;           /* default 0.03 */
    float momentum;     /* default 0 */
    float dampening;    /* default 0 */
    float weight_decay; /* default 0 */
    int nesterov;       /* default 0 */
} clg_sgd_options;
CLG_API clg_sgd_options clg_sgd_defaults(void);

typedef struct clg_optimizer clg_optimizer;

/* Every parameter of m starts in the default group with `opts`. m must
 * outlive the optimizer. */
CLG_API clg_status clg_sgd_create(clg_model *m, const clg_sgd_options *opts, clg_optimizer **out);
CLG_API void clg_sgd_destroy(clg_optimizer *opt);
/* Moves parameters (indices as in clg_model_param_info) into a group of their own
 * options, like PyTorch's param_groups. */
CLG_API clg_status clg_sgd_add_group(clg_optimizer *opt, const size_t *params, size_t count,
                                     const clg_sgd_options *opts);
/* Selects every weight (biases = 0) or every bias (biases = 1) into a group. */
CLG_API clg_status clg_sgd_add_group_by_kind(clg_optimizer *opt, int biases,
                                             const clg_sgd_options *opts);
/* One update of every parameter from its gradient times grad_scale (1/|B| for
 * d2l's from-scratch sgd on a summed loss, 1 for a mean loss). Enqueued. */
CLG_API clg_status clg_sgd_step(clg_optimizer *opt, float grad_scale);

#ifdef __cplusplus
}
#endif
#endif
