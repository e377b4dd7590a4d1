/* optim: the optimizer interface and its kinds (SGD, Adam, AdamW, RMSprop). Sees nn and below.
 * A kind is one clg_optim_impl (like ggml's backend interface): the generic code of
 * optimizer.c keeps groups, per-parameter state buffers and the step count, and calls
 * the kind for what differs. A new kind: a file defining its entry, one line in the
 * table of optimizer.c, its value in clg_optimizer_kind and its options' fields. */
#ifndef CLGRAD_OPTIM_H
#define CLGRAD_OPTIM_H
#include "nn.h"

#define CLG_OPTIM_MAX_STATE 3 /* state buffers per parameter, any kind (Adam + amsgrad) */

/* The option fields after lr and weight_decay (which every kind reads), as bits of
 * clg_optim_impl.reads: a field the kind does not read must be 0. */
enum {
    CLG_OPT_MOMENTUM = 1u << 0,
    CLG_OPT_DAMPENING = 1u << 1,
    CLG_OPT_NESTEROV = 1u << 2,
    CLG_OPT_BETAS = 1u << 3, /* beta1, beta2 */
    CLG_OPT_EPS = 1u << 4,
    CLG_OPT_ALPHA = 1u << 5,
    CLG_OPT_AMSGRAD = 1u << 6,
    CLG_OPT_CENTERED = 1u << 7
};

typedef struct clg_optim_impl {
    clg_optimizer_kind kind;
    const char *name;                             /* "SGD" */
    unsigned nstate;                              /* state buffers per parameter */
    const char *state_names[CLG_OPTIM_MAX_STATE]; /* "momentum_buffer" */
    int fused_sgd;                                /* the fused paths of lib/train run it */
    unsigned reads;                               /* CLG_OPT_* bits of the fields it reads */
    clg_optimizer_options (*defaults)(void);
    /* Why opts are not valid for the kind (PyTorch's checks), or NULL. */
    const char *(*invalid)(const clg_optimizer_options *o);
    /* Whether a parameter of a group with options o uses state buffer `slot`. */
    int (*uses_state)(const clg_optimizer_options *o, unsigned slot);
    /* Enqueues one update of a parameter; state[k] is NULL when unused; fresh[k] says that
     * buffer k was just made (holds no value yet: the kind takes it as zeros or as its first
     * value). step counts from 1: the step being taken. */
    clg_status (*update)(clg_context *ctx, const clg_param_ref *ref, const cl_mem *state,
                         const int *fresh, const clg_optimizer_options *o, float grad_scale,
                         uint64_t step);
    /* Appends the group's options as PyTorch prints them ("    lr: 0.03\n", sorted). */
    size_t (*describe)(const clg_optimizer_options *o, char *buf, size_t len);
} clg_optim_impl;

extern const clg_optim_impl clg_optim_sgd;
extern const clg_optim_impl clg_optim_adam;    /* adam.c */
extern const clg_optim_impl clg_optim_adamw;   /* adam.c */
extern const clg_optim_impl clg_optim_rmsprop; /* rmsprop.c */
/* optimizer.c: the kind's entry, or NULL. */
const clg_optim_impl *clg_optim_impl_of(clg_optimizer_kind kind);
/* optimizer.c: why o is not valid (unknown kind, reserved words not zero, the kind's own
 * checks), or NULL. */
const char *clg_optim_invalid(const clg_optimizer_options *o);

struct clg_optimizer {
    const clg_optim_impl *impl;
    clg_model *model;
    size_t nparams;
    size_t *group_of;              /* per parameter: index into groups */
    clg_optimizer_options *groups; /* groups[0] is the default group */
    size_t ngroups;
    cl_mem *state; /* nparams × impl->nstate, each made on first use (NULL until then) */
    uint64_t steps;
};

/* For the fused paths and checkpoints (narrow access to one parameter). */
const clg_optimizer_options *clg_optim_param_options(const clg_optimizer *opt, size_t param);
/* The state buffer slot of a parameter; NULL when not made (yet). */
cl_mem clg_optim_state(const clg_optimizer *opt, size_t param, unsigned slot);
/* Makes the buffer (count floats) when the parameter's group uses it and it does not exist;
 * *made = 1 then. clg_optim_state_drop releases it again (a buffer whose first step failed
 * must start over). */
clg_status clg_optim_state_ensure(clg_optimizer *opt, size_t param, unsigned slot, size_t count,
                                  int *made);
void clg_optim_state_drop(clg_optimizer *opt, size_t param, unsigned slot);
/* Replaces the groups, the parameters' group indices, every state buffer and the step count
 * (checkpoint loading; takes ownership; cannot fail). */
void clg_optim_replace(clg_optimizer *opt, clg_optimizer_options *groups, size_t ngroups,
                       size_t *group_of, cl_mem *state, uint64_t steps);
void clg_optim_count_steps(clg_optimizer *opt, uint64_t steps);

#endif
