/* nn: layers and the model. Sees ops and below. */
#ifndef CLGRAD_NN_H
#define CLGRAD_NN_H
#include "ops.h"
#include "layer.h"

/* --------------------------------------------------------------- model layer */

/* Checkpoint kind codes of the built-in kinds (clg_layer_type.code); behaviour is in the
 * table of layer.h, not in switches on these. */
typedef enum clg_layer_kind { CLG_LAYER_LINEAR = 0, CLG_LAYER_RELU = 1 } clg_layer_kind;

struct clg_layer {
    const clg_layer_type *type; /* the kind's entry in the table (layer.h) */
    clg_layer_kind kind;        /* type->code */
    size_t in, out;
    cl_mem W, b;    /* linear only: in×out and 1×out */
    cl_mem dW, db;  /* gradients, same shapes */
    clg_tensor *Y;  /* output activations, capacity rows × out */
    clg_tensor *dX; /* gradient w.r.t. the input, capacity rows × in */
};

/* linear.c: whether L is a Linear layer (the fused paths of lib/train take a single one). */
int clg_layer_is_linear(const clg_layer *L);
/* linear.c: the buffers and shape of a model that is one Linear layer, for the fused paths;
 * 0 (v untouched) for any other model. */
typedef struct clg_linear_view {
    cl_mem W, b, dW, db;
    size_t in, out;
} clg_linear_view;
int clg_model_linear_view(const clg_model *m, clg_linear_view *v);

#define CLG_MAX_LAYERS 32

struct clg_model {
    clg_context *ctx;
    clg_layer layers[CLG_MAX_LAYERS];
    size_t nlayers;
    size_t capacity;     /* rows the activation buffers hold */
    const clg_tensor *X; /* input of the last forward (borrowed) */
    size_t rows;         /* rows of the last forward */
};

/* Parameter index i → its buffers and size. */
typedef struct clg_param_ref {
    cl_mem value, grad;
    size_t count;
} clg_param_ref;
clg_status clg_model_param_ref(const clg_model *m, size_t index, clg_param_ref *ref);

#endif
