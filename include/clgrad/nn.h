/* clgrad: models (Linear, ReLU, PHM layers) and losses. Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_NN_H
#define CLGRAD_API_NN_H

#include "clgrad/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------- model */

/* A sequence of layers. Linear(d → q) holds W (d×q) and b (1×q). */
typedef struct clg_model clg_model;

/* How a layer's weights are drawn (docs/layers.md "Initialisers"), with fan_in = d and
 * fan_out = q of a layer d → q. Biases are zero except for CLG_INIT_TORCH. */
typedef enum clg_init_kind {
    CLG_INIT_NORMAL = 0,          /* W ~ N(0, weight_std²): d2l's, the default */
    CLG_INIT_TORCH = 1,           /* W, b ~ U(−1/√d, 1/√d): PyTorch's nn.Linear default
                                     (kaiming_uniform_ with a = √5) */
    CLG_INIT_XAVIER_UNIFORM = 2,  /* W ~ U(−a, a), a = √(6/(d+q)) (Glorot) */
    CLG_INIT_XAVIER_NORMAL = 3,   /* W ~ N(0, 2/(d+q)) */
    CLG_INIT_KAIMING_UNIFORM = 4, /* W ~ U(−a, a), a = √(6/d) (He: fan_in, gain √2) */
    CLG_INIT_KAIMING_NORMAL = 5   /* W ~ N(0, 2/d) */
} clg_init_kind;

/* Per layer: each clg_model_add_linear / clg_model_add_phm call takes its own. Layer i of
 * a model draws from the Philox stream of seed + i (the same seed gives the same model). */
typedef struct clg_linear_init {
    size_t struct_size;  /* sizeof(clg_linear_init) of the caller's header (ABI) */
    float weight_std;    /* default 0.01: W ~ N(0, std²) (CLG_INIT_NORMAL only) */
    uint64_t seed;       /* default 0 */
    const float *weight; /* d*q values to copy instead (NULL: random; Linear only) */
    const float *bias;   /* q values to copy instead (NULL: as kind says; Linear only) */
    clg_init_kind kind;  /* default CLG_INIT_NORMAL */
} clg_linear_init;
CLG_API clg_linear_init clg_linear_init_defaults(void);

CLG_API clg_status clg_model_create(clg_context *ctx, clg_model **out);
CLG_API void clg_model_destroy(clg_model *m);
/* Appends Linear(in → out); in must equal the previous layer's output width.
 * init NULL means clg_linear_init_defaults(). */
CLG_API clg_status clg_model_add_linear(clg_model *m, size_t in, size_t out,
                                        const clg_linear_init *init);
/* Appends max(0, x). */
CLG_API clg_status clg_model_add_relu(clg_model *m);

/* PHM (parameterized hypercomplex multiplication, Zhang et al., ICLR 2021): a Linear
 * layer in → out whose d×q weight is built from n factors (docs/layers.md "PHM"). With
 * dn = ceil(in/n), qn = ceil(out/n):
 *     Ŵ = Σ_{i<n} A_i ⊗ S_i   (n·dn × n·qn; A_i n×n, S_i dn×qn),   W = Ŵ[0:in, 0:out],
 *     W[j][k] = Σ_i A_i[j / dn][k / qn] · S_i[j % dn][k % qn],      Y = X·W + b,
 * i.e. inputs zero-padded to n·dn and outputs cut to out. Parameters, as
 * clg_model_param_info names them: "L.A" (n·n × n: A_0 .. A_{n-1} stacked, A_i[r][c] at
 * (i·n + r)·n + c), "L.S" (n·dn × qn: S_0 .. S_{n-1} stacked) and "L.bias" (1 × out):
 * n³ + n·dn·qn + out values. W here is the transpose of PyTorch's weight, so A_i and S_i
 * are the transposes of the paper's. 1 <= n <= CLG_PHM_MAX_N and n <= max(in, out);
 * n = 1 is a Linear layer times a scalar. init as for clg_model_add_linear (NULL: the
 * defaults), scaled so that W has the variance of a Linear layer's W; its weight and bias
 * copies must be NULL (set "L.A", "L.S", "L.bias" with clg_model_set_param instead). */
#define CLG_PHM_MAX_N 16
CLG_API clg_status clg_model_add_phm(clg_model *m, size_t in, size_t out, size_t n,
                                     const clg_linear_init *init);
CLG_API size_t clg_model_inputs(const clg_model *m);
CLG_API size_t clg_model_outputs(const clg_model *m);

/* Layer i as PyTorch prints it. */
typedef struct clg_layer_info {
    char type[32];  /* "Linear", "ReLU", "PHM" */
    size_t in, out; /* widths */
    size_t params;  /* its parameter tensors (Linear: 2, ReLU: 0, PHM: 3) */
    char repr[128]; /* "Linear(in_features=2, out_features=1, bias=True)", "ReLU()",
                       "PHM(in_features=64, out_features=10, n=4, bias=True)" */
} clg_layer_info;
CLG_API size_t clg_model_layer_count(const clg_model *m);
CLG_API clg_status clg_model_layer_info(const clg_model *m, size_t i, clg_layer_info *info);
/* PyTorch's print(net) into buf (cut to len, NUL-terminated when len > 0; returns the full
 * length, as snprintf): "Sequential(\n  (0): Linear(in_features=2, out_features=1, bias=True)\n)". */
CLG_API size_t clg_model_describe(const clg_model *m, char *buf, size_t len);

/* Parameters are numbered in layer order: layer 0 weight, layer 0 bias, ... (a PHM
 * layer's are A, S, bias). */
typedef struct clg_param_info {
    size_t layer;
    int is_bias;
    size_t rows, cols;
    char name[32]; /* "0.weight", "0.bias" (PyTorch's naming); PHM: "0.A", "0.S", "0.bias" */
} clg_param_info;
CLG_API size_t clg_model_param_count(const clg_model *m);
CLG_API clg_status clg_model_param_info(const clg_model *m, size_t index, clg_param_info *info);
/* count must equal rows*cols of the parameter (CLG_ERR_SHAPE otherwise). */
CLG_API clg_status clg_model_get_param(const clg_model *m, size_t index, float *host, size_t count);
CLG_API clg_status clg_model_set_param(clg_model *m, size_t index, const float *host, size_t count);
/* Gradient of the last backward pass. */
CLG_API clg_status clg_model_get_grad(const clg_model *m, size_t index, float *host, size_t count);

/* Forward pass of X (B×in). *out (B×outputs) is owned by the model and valid
 * until the next forward. Enqueued; no wait. */
CLG_API clg_status clg_model_forward(clg_model *m, const clg_tensor *X, const clg_tensor **out);
/* Backward pass of the last forward: dY (B×outputs) is dL/dŶ. Overwrites
 * (does not accumulate) every parameter's gradient. */
CLG_API clg_status clg_model_backward(clg_model *m, const clg_tensor *dY);

/* -------------------------------------------------- input scaling, class names */

/* Input scaling kept with the model, sklearn's StandardScaler in front of it: every forward
 * (so clg_fit, clg_evaluate, clg_predict) feeds (x − mean) / scale to the first layer.
 * d must equal the model's inputs; mean finite, scale finite and > 0. mean NULL removes it.
 * Checkpoints keep it. The fused training paths read rows as stored and do not take such
 * a model: for fast training, standardize the data (clg_dataset_standardize), train, then
 * set the scaling so the model takes raw rows, as `clgrad train --standardize` does. */
CLG_API clg_status clg_model_set_input_scaling(clg_model *m, const float *mean, const float *scale,
                                               size_t d);
/* 1 when the model has input scaling, with its first d values copied to mean and scale
 * (either may be NULL); 0 when it has none. */
CLG_API int clg_model_input_scaling(const clg_model *m, float *mean, float *scale, size_t d);
/* Names of a classifier's classes, output k's name names[k] (count = outputs; each 1..255
 * bytes without line breaks; copied). Checkpoints keep them. names NULL removes them, and so
 * does appending a layer that changes the outputs. */
CLG_API clg_status clg_model_set_class_names(clg_model *m, const char *const *names, size_t count);
/* Output k's class name, or NULL when the model has none. */
CLG_API const char *clg_model_class_name(const clg_model *m, size_t k);

/* ------------------------------------------------------------------ losses */

typedef enum clg_loss_kind {
    CLG_LOSS_SQUARED = 0,     /* (ŷ − y)² / 2, d2l's squared_loss */
    CLG_LOSS_MSE = 1,         /* (ŷ − y)², PyTorch's MSELoss */
    CLG_LOSS_SOFTMAX_XENT = 2 /* −log softmax(ŷ)[label], computed with log-sum-exp;
                                 pred is B×C logits, target B×1 class ids */
} clg_loss_kind;

/* The loss as PyTorch would print it: "SquaredLoss()" (d2l's squared_loss, half of
 * "MSELoss()"), "MSELoss()", "CrossEntropyLoss()"; "?" for an unknown kind. */
CLG_API const char *clg_loss_describe(clg_loss_kind kind);

typedef enum clg_reduction {
    CLG_REDUCE_MEAN = 0, /* mean over all B·q elements (over the B samples for SOFTMAX_XENT) */
    CLG_REDUCE_SUM = 1,
    CLG_REDUCE_NONE = 2 /* one value per element */
} clg_reduction;

/* Loss of pred against target (both B×q). out is 1×1 for MEAN/SUM, B×q for NONE.
 * SOFTMAX_XENT: pred is B×C logits and target B×1 class ids (CLG_ERR_SHAPE
 * otherwise); out is B×1 for NONE (one loss per sample), MEAN divides by B. A
 * class id that is not an integer in [0, C) gives a NaN loss for its row (so
 * clg_fit stops with CLG_ERR_NONFINITE). */
CLG_API clg_status clg_loss_forward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                                    const clg_tensor *pred, const clg_tensor *target,
                                    clg_tensor *out);
/* dL/dpred of the reduced loss (for NONE: of the sum of the elements), B×q.
 * SOFTMAX_XENT: softmax(pred) − onehot(label), times 1/B for MEAN. */
CLG_API clg_status clg_loss_backward(clg_context *ctx, clg_loss_kind kind, clg_reduction red,
                                     const clg_tensor *pred, const clg_tensor *target,
                                     clg_tensor *grad);

#ifdef __cplusplus
}
#endif
#endif
