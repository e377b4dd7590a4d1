/* optim: optimizers (SGD). Sees nn and below. */
#ifndef CLGRAD_OPTIM_H
#define CLGRAD_OPTIM_H
#include "nn.h"

typedef struct clg_sgd_group {
    clg_sgd_options opts;
} clg_sgd_group;

struct clg_optimizer {
    clg_model *model;
    size_t nparams;
    size_t *group_of;      /* per parameter: index into groups */
    clg_sgd_group *groups; /* groups[0] is the default group */
    size_t ngroups;
    cl_mem *momentum; /* per parameter, allocated on first use (NULL otherwise) */
    unsigned long long steps;
};

#endif
