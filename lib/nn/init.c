/* Weight initialisers (clg_init_kind, docs/layers.md "Initialisers"): one variance and one
 * family (uniform or normal) per kind, from the layer's fan_in d and fan_out q. Each layer
 * draws from its own Philox stream, so a seed gives the same model on every host. */
#include <math.h>
#include <stdlib.h>

#include "nn.h"

const char *clg_nn_init_invalid(const clg_linear_init *init)
{
    if ((unsigned)init->kind > (unsigned)CLG_INIT_KAIMING_NORMAL)
        return "unknown init kind (clg_init_kind: 0 normal .. 5 kaiming normal)";
    if (!isfinite(init->weight_std) || init->weight_std < 0.0f)
        return "weight_std must be finite and >= 0";
    return NULL;
}

/* The variance of a weight of a layer in → out, and whether the kind draws uniformly. */
static double variance(const clg_linear_init *init, size_t in, size_t out, int *uniform)
{
    const double d = (double)in, q = (double)out;
    *uniform = init->kind == CLG_INIT_TORCH || init->kind == CLG_INIT_XAVIER_UNIFORM ||
               init->kind == CLG_INIT_KAIMING_UNIFORM;
    switch (init->kind) {
    case CLG_INIT_TORCH:
        return 1.0 / (3.0 * d); /* U(±1/√d) */
    case CLG_INIT_XAVIER_UNIFORM:
    case CLG_INIT_XAVIER_NORMAL:
        return 2.0 / (d + q);
    case CLG_INIT_KAIMING_UNIFORM:
    case CLG_INIT_KAIMING_NORMAL:
        return 2.0 / d;
    default:
        return (double)init->weight_std * (double)init->weight_std;
    }
}

/* total standard samples of the layer's stream: U(−1, 1] or N(0, 1). */
static float *standard(const clg_linear_init *init, size_t layer, int uniform, size_t total)
{
    float *v = malloc((total ? total : 1) * sizeof *v);
    if (!v) return NULL;
    if (uniform)
        clg_philox_uniform(init->seed + layer, CLG_STREAM_INIT, -1.0f, 1.0f, v, total);
    else
        clg_philox_normal(init->seed + layer, CLG_STREAM_INIT, 1.0f, v, total);
    return v;
}

/* dst[i] = v[i]·scale, where scale turns a standard sample into one of variance var. */
static void scaled(float *dst, const float *v, size_t n, int uniform, double var)
{
    const double scale = uniform ? sqrt(3.0 * var) : sqrt(var);
    for (size_t i = 0; i < n; i++) dst[i] = (float)((double)v[i] * scale);
}

/* b after `used` samples: U(±1/√in) for CLG_INIT_TORCH, else zeros. */
static void bias(const clg_linear_init *init, const float *v, size_t used, size_t in, size_t out,
                 float *b)
{
    for (size_t k = 0; k < out; k++)
        b[k] = init->kind == CLG_INIT_TORCH ? (float)((double)v[used + k] / sqrt((double)in)) : 0;
}

int clg_nn_init_linear(const clg_linear_init *init, size_t layer, size_t in, size_t out, float *W,
                       float *b)
{
    if (init->kind == CLG_INIT_NORMAL) { /* bit for bit what clgrad drew before the kinds */
        clg_philox_normal(init->seed + layer, CLG_STREAM_INIT, init->weight_std, W, in * out);
        for (size_t k = 0; k < out; k++) b[k] = 0;
        return 0;
    }
    int uniform = 0;
    const double var = variance(init, in, out, &uniform);
    const size_t extra = init->kind == CLG_INIT_TORCH ? out : 0;
    float *v = standard(init, layer, uniform, in * out + extra);
    if (!v) return -1;
    scaled(W, v, in * out, uniform, var);
    bias(init, v, in * out, in, out, b);
    free(v);
    return 0;
}

/* Var(W) = Σ_i Var(A_i)·Var(S_i) = n · (1/n) · var: the Linear's variance whatever n. The
 * paper's code and its PyTorch ports draw each factor Glorot-style, which leaves W's
 * variance depending on n; here the product, not each factor, matches a Linear layer
 * (docs/layers.md). */
int clg_nn_init_phm(const clg_linear_init *init, size_t layer, size_t in, size_t out, size_t n,
                    float *A, size_t nA, float *S, size_t nS, float *b)
{
    int uniform = 0;
    const double var = variance(init, in, out, &uniform);
    const size_t extra = init->kind == CLG_INIT_TORCH ? out : 0;
    float *v = standard(init, layer, uniform, nA + nS + extra);
    if (!v) return -1;
    scaled(A, v, nA, uniform, 1.0 / (double)n);
    scaled(S, v + nA, nS, uniform, var);
    bias(init, v, nA + nS, in, out, b);
    free(v);
    return 0;
}
