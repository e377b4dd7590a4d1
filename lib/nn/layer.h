/* nn: the table of layer kinds. Each kind is one file (linear.c, relu.c, phm.c) defining one
 * clg_layer_type; layers.c lists them. model.c and lib/serial/checkpoint.c reach a layer's
 * behaviour only through its entry, so a new kind is a new file plus one line in layers.c
 * (and its public constructor). In the spirit of kann's kad_op_list and ggml's backend
 * interface: a struct of function pointers per kind. */
#ifndef CLGRAD_NN_LAYER_H
#define CLGRAD_NN_LAYER_H
#include <stdint.h>

#include "ops.h"

typedef struct clg_layer clg_layer;

#define CLG_LAYER_MAX_PARAMS 3 /* parameter tensors of one layer, at most */

/* Every hook below that takes the shape (in, out) also takes arg, the layer's one
 * hyperparameter (clg_layer.arg: PHM's n; 0 for the kinds without one). A checkpoint keeps
 * it in the high 16 bits of the record's kind word, so it is below 2^16. */
#define CLG_LAYER_ARG_MAX 0xFFFFu

typedef struct clg_layer_type {
    const char *name; /* "Linear", "ReLU", "PHM" */
    uint32_t code;    /* kind code in checkpoint records (never reused; below 2^16) */
    size_t nparams;   /* parameter tensors (Linear: weight, bias; ReLU: none; PHM: A, S, bias) */
    const char *param_names[CLG_LAYER_MAX_PARAMS]; /* "weight", "bias" (PyTorch's naming) */
    /* Shape of parameter k of a layer in → out, as rows × cols. */
    void (*param_shape)(uint64_t in, uint64_t out, uint32_t arg, size_t k, size_t *rows,
                        size_t *cols);
    /* The value (grad 0) or gradient (grad 1) buffer of parameter k, in place. */
    cl_mem *(*param)(clg_layer *L, size_t k, int grad);
    /* Y = f(in) on rows rows into L->Y. */
    clg_status (*forward)(clg_context *ctx, clg_layer *L, cl_mem in, size_t rows);
    /* Gradients of the parameters from in (the forward's input) and dY; dX when dx is not
     * NULL (it is NULL when no parameterised layer comes before this one). */
    clg_status (*backward)(clg_context *ctx, clg_layer *L, cl_mem in, cl_mem dy, cl_mem dx,
                           size_t rows);
    /* Releases what the kind owns (parameters and their gradients), not Y/dX. */
    void (*release)(clg_layer *L);
    /* PyTorch-like text: "Linear(in_features=2, out_features=1, bias=True)", "ReLU()". */
    int (*describe)(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg);
    /* Short form used in messages: "Linear(3→4)", "ReLU(4)", "PHM(64→10, n=4)". */
    int (*sketch)(char *buf, size_t len, uint64_t in, uint64_t out, uint32_t arg);
    /* Checkpoint record: the kind's own rule on shape and argument beyond the common ones
     * (non-zero, in·out below 2^32, input = previous output); NULL when valid, else why
     * ("changes width", "a ReLU takes none"). */
    const char *(*check_record)(uint64_t in, uint64_t out, uint32_t arg);
    /* Appends a layer in → out to m with the record's parameter values (nparams arrays,
     * each of the count param_shape gives), as clg_model_load does. */
    clg_status (*append)(clg_model *m, uint64_t in, uint64_t out, uint32_t arg,
                         const float *const *values);
} clg_layer_type;

/* layers.c: the registry. */
extern const clg_layer_type clg_layer_linear, clg_layer_relu, clg_layer_phm;
size_t clg_layer_type_count(void);
const clg_layer_type *clg_layer_type_at(size_t i);              /* NULL past the end */
const clg_layer_type *clg_layer_type_by_code(uint32_t code);    /* NULL: unknown */
const clg_layer_type *clg_layer_type_by_name(const char *name); /* NULL: unknown */

/* model.c: what the kinds' files need from the model. */
clg_status clg_nn_check_room(clg_model *m, const char *op);
/* Appends L (its type set) and drops the activation buffers; cannot fail. */
void clg_nn_append(clg_model *m, const clg_layer *L);
clg_status clg_nn_buffer_from_host(clg_context *ctx, const float *host, size_t count,
                                   const char *what, cl_mem *out);
clg_status clg_nn_zero_buffer(clg_context *ctx, size_t count, const char *what, cl_mem *out);

#endif
