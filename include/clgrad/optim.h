/* clgrad: optimizers behind one interface (SGD, Adam, AdamW, RMSprop), with parameter groups.
 * Part of <clgrad.h>, which includes every topic. docs/optimizers.md has the rules. */
#ifndef CLGRAD_API_OPTIM_H
#define CLGRAD_API_OPTIM_H

#include "clgrad/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds; the value is stored in checkpoints and never reused. */
typedef enum clg_optimizer_kind {
    CLG_OPTIMIZER_SGD = 0,    /* PyTorch's torch.optim.SGD */
    CLG_OPTIMIZER_ADAM = 1,   /* torch.optim.Adam */
    CLG_OPTIMIZER_ADAMW = 2,  /* torch.optim.AdamW */
    CLG_OPTIMIZER_RMSPROP = 3 /* torch.optim.RMSprop */
} clg_optimizer_kind;

/* Options of one parameter group (PyTorch's param_groups), with PyTorch's update rules.
 * Every rule starts from g = grad·grad_scale; "step" t counts from 1 (the step being taken).
 *  SGD:     g ← g + weight_decay·p; with momentum: buf ← momentum·buf + (1 − dampening)·g
 *           (buf ← g on the first step), g ← nesterov ? g + momentum·buf : buf;
 *           then p ← p − lr·g.
 *  Adam:    g ← g + weight_decay·p (L2 in the gradient); AdamW instead p ← p·(1 − lr·weight_decay)
 *           (decoupled); then m ← beta1·m + (1 − beta1)·g, v ← beta2·v + (1 − beta2)·g²,
 *           with amsgrad v̂ ← max(v̂, v) used in place of v; p ← p − lr/(1 − beta1ᵗ) ·
 *           m / (√v / √(1 − beta2ᵗ) + eps). m, v, v̂ start at 0.
 *  RMSprop: g ← g + weight_decay·p; v ← alpha·v + (1 − alpha)·g²; centered: a ← alpha·a +
 *           (1 − alpha)·g, d = √(v − a²) + eps, else d = √v + eps; with momentum
 *           buf ← momentum·buf + g/d, p ← p − lr·buf, else p ← p − lr·g/d. v, a, buf start at 0.
 * A field that a kind does not read must be 0 (as clg_optimizer_defaults leaves it), like the
 * reserved words: a kind's options are refused otherwise, naming the field.
 * ABI: the struct has a fixed size (64 bytes, one 32-bit word per field); later kinds' options
 * take words of `reserved`, which must stay zero (start from clg_optimizer_defaults). */
typedef struct clg_optimizer_options {
    clg_optimizer_kind kind; /* default CLG_OPTIMIZER_SGD */
    float lr;                /* all; SGD 0.03 (d2l), Adam, AdamW 1e-3, RMSprop 1e-2; >= 0 */
    float momentum;          /* SGD, RMSprop; default 0; >= 0 */
    float dampening;         /* SGD; default 0 */
    float weight_decay;      /* all; default 0 (AdamW 1e-2); >= 0 */
    int nesterov;            /* SGD; 0 or 1, default 0 */
    float beta1;             /* Adam, AdamW: default 0.9; 0 <= beta1 < 1 */
    float beta2;             /* Adam, AdamW: default 0.999; 0 <= beta2 < 1 */
    float eps;               /* Adam, AdamW, RMSprop: default 1e-8; >= 0 */
    float alpha;             /* RMSprop: smoothing constant, default 0.99; >= 0 */
    int amsgrad;             /* Adam, AdamW: 0 or 1, default 0 */
    int centered;            /* RMSprop: 0 or 1, default 0 */
    uint32_t reserved[4];
} clg_optimizer_options;
#ifdef __cplusplus
static_assert(sizeof(clg_optimizer_options) == 64, "clg_optimizer_options is 64 bytes (ABI)");
#else
_Static_assert(sizeof(clg_optimizer_options) == 64, "clg_optimizer_options is 64 bytes (ABI)");
#endif
/* PyTorch's defaults of the kind (SGD: lr 0.03, d2l's); an unknown kind gives zeros with that
 * kind, which clg_optimizer_create refuses. */
CLG_API clg_optimizer_options clg_optimizer_defaults(clg_optimizer_kind kind);
/* "SGD", "Adam", "AdamW", "RMSprop"; NULL for an unknown kind. */
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
/* Learning rate of group g, for schedules: changes nothing else (state buffers and the step
 * count stay). */
CLG_API clg_status clg_optimizer_get_lr(const clg_optimizer *opt, size_t group, float *lr);
CLG_API clg_status clg_optimizer_set_lr(clg_optimizer *opt, size_t group, float lr);
/* Steps taken (also restored from a checkpoint); the next step is number steps + 1 in
 * Adam's bias correction. */
CLG_API uint64_t clg_optimizer_steps(const clg_optimizer *opt);
/* PyTorch's print(optimizer): "SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.03\n...",
 * "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n..." (the keys
 * this library reads, sorted, and maximize: False for Adam, AdamW and RMSprop)
 * into buf (cut to len, NUL-terminated when len > 0); returns the full length, as snprintf. */
CLG_API size_t clg_optimizer_describe(const clg_optimizer *opt, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
