/* clgrad train's training options: the optimizer and its options, the learning-rate
 * schedule, validation and early stopping, over a clg_fit_options. */
#ifndef CLGRAD_FIT_ARGS_H
#define CLGRAD_FIT_ARGS_H
#include "cli_opt.h"
#include "clgrad.h"

typedef struct fit_args {
    clg_fit_options fit; /* clg_fit_defaults(), then the options */
    float betas[2];      /* --betas B1,B2 */
} fit_args;

/* A fit_args with clg_fit_defaults() (the help shows its values as the defaults). */
void fit_args_init(fit_args *f);
/* The option group ("training") filling f. */
cli_group fit_args_group(fit_args *f);
/* After cli_parse: the chosen optimizer's PyTorch defaults, then the options given, with
 * --lr's default lr_default for SGD (d2l's rates: the model decides). CLI_RUN, or 2 after a
 * usage error (an option the optimizer does not take). */
int fit_args_resolve(const cli_command *c, fit_args *f, float lr_default);
/* "sgd", "adam", "adamw", "rmsprop" (the --optimizer words) */
const char *fit_optimizer_word(clg_optimizer_kind k);
#endif
