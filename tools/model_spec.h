/* --model linear|softmax|mlp:H1[,H2...]|phm:N[:H1[,H2...]], --init, and the checkpoint
 * meta text that records them. */
#ifndef CLGRAD_MODEL_SPEC_H
#define CLGRAD_MODEL_SPEC_H
#include "cli_opt.h"
#include "clgrad.h"

typedef struct model_spec {
    char text[128]; /* as given: "mlp:256,64" */
    int classify;   /* softmax, mlp and phm: class ids, cross-entropy */
    size_t hidden[8];
    size_t nhidden;
    size_t phm_n;       /* phm:N...: every layer is PHM with this n (0: Linear layers) */
    clg_init_kind init; /* --init, for every layer (model_spec_read leaves it normal) */
} model_spec;

/* 0 on success, -1 otherwise (tests/fuzz/fuzz_cli.c). */
int model_spec_read(const char *text, model_spec *spec);

/* train's model options: --model SPEC and --loss (model_options, a table for cli_parse
 * over a model_args; the default loss depends on the model: train sets it when --loss
 * is not given). */
typedef struct model_args {
    model_spec spec;
    clg_loss_kind loss;
} model_args;
extern const cli_opt model_options[];
/* spec "linear", loss squared. */
void model_args_init(model_args *m);
/* Linear layers, or PHM layers of n spec->phm_n (ReLU between them), from d inputs to
 * `outputs`, each drawn as spec->init says. */
clg_status model_spec_build(const model_spec *spec, clg_context *ctx, size_t d, size_t outputs,
                            uint64_t seed, clg_model **out);
const char *loss_name(clg_loss_kind k);
int loss_parse(const char *text, clg_loss_kind *k);
/* Checkpoint meta: "model=...\nloss=...\n", then "init=...\n" unless --init was normal;
 * parse returns -1 when absent. */
void meta_write(char *buf, size_t n, const model_spec *spec, clg_loss_kind loss);
int meta_loss(const char *meta, clg_loss_kind *loss);
#endif
