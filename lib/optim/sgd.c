/* SGD with PyTorch's semantics and parameter groups (kernel wrapper: ops/sgd.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "optim.h"

clg_sgd_options clg_sgd_defaults(void)
{
    clg_sgd_options o = {0.03f, 0.0f, 0.0f, 0.0f, 0};
    return o;
}

/* PyTorch's constructor checks, plus finiteness. */
static clg_status check_options(const clg_context *ctx, const char *op, const clg_sgd_options *o)
{
    if (!isfinite(o->lr) || !isfinite(o->momentum) || !isfinite(o->dampening) ||
        !isfinite(o->weight_decay))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: non-finite option (lr %g, momentum %g, "
                        "dampening %g, weight_decay %g)",
                        op, (double)o->lr, (double)o->momentum, (double)o->dampening,
                        (double)o->weight_decay);
    if (o->lr < 0.0f)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: invalid learning rate %g", op,
                        (double)o->lr);
    if (o->momentum < 0.0f || o->weight_decay < 0.0f)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: momentum %g and weight_decay %g must "
                        "be >= 0",
                        op, (double)o->momentum, (double)o->weight_decay);
    if (o->nesterov && (o->momentum <= 0.0f || o->dampening != 0.0f))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: nesterov needs momentum > 0 and dampening 0 (got %g, %g)", op,
                        (double)o->momentum, (double)o->dampening);
    return CLG_OK;
}

clg_status clg_sgd_create(clg_model *m, const clg_sgd_options *opts, clg_optimizer **out)
{
    clg_context *ctx = m ? m->ctx : NULL;
    if (!m || !out) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_sgd_create: NULL argument");
    *out = NULL;
    clg_sgd_options o = opts ? *opts : clg_sgd_defaults();
    clg_status s = check_options(ctx, "clg_sgd_create", &o);
    if (s != CLG_OK) return s;
    size_t n = clg_model_param_count(m);
    if (n == 0) return clg_fail(ctx, CLG_ERR_STATE, "clg_sgd_create: the model has no parameters");
    clg_optimizer *opt = calloc(1, sizeof *opt);
    if (opt) {
        opt->group_of = calloc(n, sizeof *opt->group_of);
        opt->momentum = calloc(n, sizeof *opt->momentum);
        opt->groups = malloc(sizeof *opt->groups);
    }
    if (!opt || !opt->group_of || !opt->momentum || !opt->groups) {
        clg_sgd_destroy(opt);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_sgd_create: out of host memory");
    }
    opt->model = m;
    opt->nparams = n;
    opt->groups[0].opts = o;
    opt->ngroups = 1;
    *out = opt;
    return CLG_OK;
}

void clg_sgd_destroy(clg_optimizer *opt)
{
    if (!opt) return;
    if (opt->momentum)
        for (size_t i = 0; i < opt->nparams; i++)
            if (opt->momentum[i]) clReleaseMemObject(opt->momentum[i]);
    free(opt->momentum);
    free(opt->group_of);
    free(opt->groups);
    free(opt);
}

clg_status clg_sgd_add_group(clg_optimizer *opt, const size_t *params, size_t count,
                             const clg_sgd_options *opts)
{
    clg_context *ctx = opt ? opt->model->ctx : NULL;
    if (!opt || !opts || (count && !params))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_sgd_add_group: NULL argument");
    clg_status s = check_options(ctx, "clg_sgd_add_group", opts);
    if (s != CLG_OK) return s;
    for (size_t i = 0; i < count; i++)
        if (params[i] >= opt->nparams)
            return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "clg_sgd_add_group: parameter index %zu out of range (model has %zu)",
                            params[i], opt->nparams);
    clg_sgd_group *g = realloc(opt->groups, (opt->ngroups + 1) * sizeof *g);
    if (!g) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_sgd_add_group: out of host memory");
    opt->groups = g;
    opt->groups[opt->ngroups].opts = *opts;
    for (size_t i = 0; i < count; i++) opt->group_of[params[i]] = opt->ngroups;
    opt->ngroups++;
    return CLG_OK;
}

clg_status clg_sgd_add_group_by_kind(clg_optimizer *opt, int biases, const clg_sgd_options *opts)
{
    if (!opt) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_sgd_add_group_by_kind: NULL");
    size_t *idx = malloc(opt->nparams * sizeof *idx), n = 0;
    if (!idx)
        return clg_fail(opt->model->ctx, CLG_ERR_HOST_MEMORY,
                        "clg_sgd_add_group_by_kind: out of host memory");
    for (size_t i = 0; i < opt->nparams; i++) {
        clg_param_info info;
        if (clg_model_param_info(opt->model, i, &info) == CLG_OK &&
            (info.is_bias != 0) == (biases != 0))
            idx[n++] = i;
    }
    clg_status s = clg_sgd_add_group(opt, idx, n, opts);
    free(idx);
    return s;
}

clg_status clg_sgd_step(clg_optimizer *opt, float grad_scale)
{
    if (!opt) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_sgd_step: NULL optimizer");
    clg_context *ctx = opt->model->ctx;
    if (!isfinite(grad_scale))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_sgd_step: non-finite grad_scale %g",
                        (double)grad_scale);
    if (clg_model_param_count(opt->model) != opt->nparams)
        return clg_fail(ctx, CLG_ERR_STATE,
                        "clg_sgd_step: the model had %zu parameters when the "
                        "optimizer was made and has %zu now",
                        opt->nparams, clg_model_param_count(opt->model));
    for (size_t i = 0; i < opt->nparams; i++) {
        const clg_sgd_options *o = &opt->groups[opt->group_of[i]].opts;
        clg_param_ref ref;
        clg_status s = clg_model_param_ref(opt->model, i, &ref);
        if (s != CLG_OK) return s;
        int first = 0;
        if (o->momentum != 0.0f && !opt->momentum[i]) {
            s = clg_buffer_create(ctx, ref.count * sizeof(float), "momentum buffer",
                                  &opt->momentum[i]);
            if (s != CLG_OK) return s;
            first = 1;
        }
        cl_mem mom = o->momentum != 0.0f ? opt->momentum[i] : NULL;
        s = clg_op_sgd_update(ctx, ref.value, ref.grad, mom, ref.count, o, grad_scale, first);
        if (s != CLG_OK) {
            /* A buffer that never got its first value must start over next time. */
            if (first) {
                clReleaseMemObject(opt->momentum[i]);
                opt->momentum[i] = NULL;
            }
            return s;
        }
    }
    opt->steps++;
    return CLG_OK;
}
