/* nn: layers and the model. Sees data and below. */
#ifndef CLGRAD_NN_H
#define CLGRAD_NN_H
#include <stddef.h>

#include "data.h" /* clg_scaling_invalid */
#include "layer.h"

/* --------------------------------------------------------------- model layer */

/* Checkpoint kind codes of the built-in kinds (clg_layer_type.code); behaviour is in the
 * table of layer.h, not in switches on these. */
typedef enum clg_layer_kind {
    CLG_LAYER_LINEAR = 0,
    CLG_LAYER_RELU = 1,
    CLG_LAYER_PHM = 2
} clg_layer_kind;

struct clg_layer {
    const clg_layer_type *type; /* the kind's entry in the table (layer.h) */
    clg_layer_kind kind;        /* type->code */
    size_t in, out;
    uint32_t arg;   /* the kind's hyperparameter (PHM: n), 0 for Linear and ReLU */
    cl_mem W, b;    /* Linear: in×out and 1×out; PHM: W is built from A and S each forward */
    cl_mem dW, db;  /* gradients, same shapes (PHM: dW is the scratch reduced to dA, dS) */
    cl_mem A, S;    /* PHM only: the factors (n·n × n, n·dn × qn; phm.c) */
    cl_mem dA, dS;  /* PHM only: their gradients */
    clg_tensor *Y;  /* output activations, capacity rows × out */
    clg_tensor *dX; /* gradient w.r.t. the input, capacity rows × in */
};

/* sizeof(clg_linear_init) of the first release (up to bias), clg_options_copy's minimum:
 * callers built against it keep working, and the fields appended since (kind) keep their
 * defaults. */
#define CLG_LINEAR_INIT_V1_SIZE offsetof(clg_linear_init, kind)

/* init.c: the initialisers of clg_init_kind (docs/layers.md). Layer number `layer` of a
 * model draws from the Philox stream (init->seed + layer, CLG_STREAM_INIT), one sample per
 * value, in the order the values are listed; -1 when out of host memory, else 0.
 * clg_nn_init_invalid: why init's kind or weight_std is refused, or NULL. */
const char *clg_nn_init_invalid(const clg_linear_init *init);
/* W (in·out) then, for CLG_INIT_TORCH, b (out; zeros otherwise). CLG_INIT_NORMAL draws
 * exactly as clgrad always did (clg_philox_normal with weight_std). */
int clg_nn_init_linear(const clg_linear_init *init, size_t layer, size_t in, size_t out, float *W,
                       float *b);
/* A PHM layer in → out: A (nA values) with variance 1/n, then S (nS values) with the
 * variance the kind gives a Linear in → out, in the kind's family (uniform or normal), so
 * that each W = Σ_i A_i·S_i has the Linear's variance; then b as for a Linear. */
int clg_nn_init_phm(const clg_linear_init *init, size_t layer, size_t in, size_t out, size_t n,
                    float *A, size_t nA, float *S, size_t nS, float *b);

/* linear.c: whether L is a Linear layer (the fused paths of lib/train take a single one). */
int clg_layer_is_linear(const clg_layer *L);
/* linear.c: the buffers and shape of a model that is one Linear layer, for the fused paths;
 * 0 (v untouched) for any other model, or one with input scaling (the fused kernels read
 * the rows as stored). */
typedef struct clg_linear_view {
    cl_mem W, b, dW, db;
    size_t in, out;
} clg_linear_view;
int clg_model_linear_view(const clg_model *m, clg_linear_view *v);

#define CLG_MAX_LAYERS 32

/* What a model carries besides its layers (clg_model_set_input_scaling,
 * clg_model_set_class_names): host and device copies of the scaling's mean and scale
 * (inputs floats each; NULL: none) and the class names (outputs names; NULL: none). */
typedef struct clg_model_meta {
    float *mean, *scale;
    cl_mem mean_dev, scale_dev;
    char **names;
    size_t nnames;
} clg_model_meta;

struct clg_model {
    clg_context *ctx;
    clg_layer layers[CLG_MAX_LAYERS];
    size_t nlayers;
    size_t capacity;     /* rows the activation buffers hold */
    const clg_tensor *X; /* input of the last forward (borrowed, or Xs) */
    size_t rows;         /* rows of the last forward */
    clg_model_meta meta; /* input scaling and class names (model_meta.c) */
    clg_tensor *Xs;      /* the scaled rows the first layer reads */
};

/* model_meta.c: a meta from host values (mean NULL: no scaling; names NULL: no names),
 * checked and copied, or an error with *out empty; install gives it to m, whose old one
 * is freed, and cannot fail (checkpoint loading prepares first, then commits). */
clg_status clg_nn_meta_make(clg_context *ctx, const char *op, const float *mean, const float *scale,
                            size_t d, const char *const *names, size_t nnames, clg_model_meta *out);
void clg_nn_meta_install(clg_model *m, clg_model_meta *meta);
void clg_nn_meta_free(clg_model_meta *meta);
/* model_meta.c: forgets the class names (a layer appended changed the outputs). */
void clg_nn_meta_drop_names(clg_model_meta *meta);
/* model_meta.c: *in = X, or X scaled into m->Xs when the model has input scaling. */
clg_status clg_nn_scale_input(clg_model *m, const clg_tensor *X, const clg_tensor **in);
/* model_meta.c: why name (len bytes) is no class name, or NULL (checkpoints check with it). */
const char *clg_nn_class_name_invalid(const char *name, size_t len);

/* Parameter index i → its buffers and size. */
typedef struct clg_param_ref {
    cl_mem value, grad;
    size_t count;
} clg_param_ref;
clg_status clg_model_param_ref(const clg_model *m, size_t index, clg_param_ref *ref);

#endif
