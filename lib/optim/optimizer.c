/* The optimizer interface: groups, state buffers and steps for every kind; the kind's
 * entry (optim.h) does the checks, the update and its part of the description. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"

static const clg_optim_impl *const kinds[] = {
    &clg_optim_sgd,
    &clg_optim_adam,
    &clg_optim_adamw,
    &clg_optim_rmsprop,
};

/* The fields some kinds do not read; such a field must be 0 (its word all zero bits), as a
 * reserved word must, so that an option of another kind is refused instead of ignored. */
#define UNREAD_WHY                                                                                 \
    " is not an option of this kind: it must be 0, as the reserved option words (start from "      \
    "clg_optimizer_defaults)"
#define UNREAD(f, bit)                                                                             \
    {                                                                                              \
        offsetof(clg_optimizer_options, f), bit, #f UNREAD_WHY                                     \
    }
static const struct {
    size_t offset;
    unsigned bit;
    const char *why;
} fields[] = {
    UNREAD(momentum, CLG_OPT_MOMENTUM), UNREAD(dampening, CLG_OPT_DAMPENING),
    UNREAD(nesterov, CLG_OPT_NESTEROV), UNREAD(beta1, CLG_OPT_BETAS),
    UNREAD(beta2, CLG_OPT_BETAS),       UNREAD(eps, CLG_OPT_EPS),
    UNREAD(alpha, CLG_OPT_ALPHA),       UNREAD(amsgrad, CLG_OPT_AMSGRAD),
    UNREAD(centered, CLG_OPT_CENTERED),
};

const clg_optim_impl *clg_optim_impl_of(clg_optimizer_kind kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i]->kind == kind) return kinds[i];
    return NULL;
}

clg_optimizer_options clg_optimizer_defaults(clg_optimizer_kind kind)
{
    const clg_optim_impl *impl = clg_optim_impl_of(kind);
    if (impl) return impl->defaults();
    clg_optimizer_options o;
    memset(&o, 0, sizeof o);
    o.kind = kind; /* refused by clg_optimizer_create */
    return o;
}

const char *clg_optimizer_kind_name(clg_optimizer_kind kind)
{
    const clg_optim_impl *impl = clg_optim_impl_of(kind);
    return impl ? impl->name : NULL;
}

const char *clg_optim_invalid(const clg_optimizer_options *o)
{
    const clg_optim_impl *impl = clg_optim_impl_of(o->kind);
    if (!impl) return "unknown optimizer kind";
    for (size_t i = 0; i < sizeof o->reserved / sizeof *o->reserved; i++)
        if (o->reserved[i])
            return "reserved option words must be zero (start from clg_optimizer_defaults)";
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        uint32_t word;
        memcpy(&word, (const char *)o + fields[i].offset, sizeof word);
        if (!(impl->reads & fields[i].bit) && word) return fields[i].why;
    }
    return impl->invalid(o);
}

/* Options valid, and of impl's kind when impl is not NULL. */
static clg_status check_options(const clg_context *ctx, const char *op, const clg_optim_impl *impl,
                                const clg_optimizer_options *o)
{
    const char *why = clg_optim_invalid(o);
    const clg_optim_impl *own = clg_optim_impl_of(o->kind);
    if (why)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: %s (kind %d)", op, why, (int)o->kind);
    if (impl && own != impl)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: a %s group in a %s optimizer (one kind per optimizer)", op, own->name,
                        impl->name);
    return CLG_OK;
}

clg_status clg_optimizer_create(clg_model *m, const clg_optimizer_options *opts,
                                clg_optimizer **out)
{
    const char *op = "clg_optimizer_create";
    clg_context *ctx = m ? m->ctx : NULL;
    if (!m || !out) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    *out = NULL;
    clg_optimizer_options o = opts ? *opts : clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    clg_status s = check_options(ctx, op, NULL, &o);
    if (s != CLG_OK) return s;
    const clg_optim_impl *impl = clg_optim_impl_of(o.kind);
    size_t n = clg_model_param_count(m);
    if (n == 0) return clg_fail(ctx, CLG_ERR_STATE, "%s: the model has no parameters", op);
    clg_optimizer *opt = calloc(1, sizeof *opt);
    if (opt) {
        opt->impl = impl;
        opt->nparams = n;
        opt->group_of = calloc(n, sizeof *opt->group_of);
        opt->state = calloc(n * (impl->nstate ? impl->nstate : 1), sizeof *opt->state);
        opt->groups = malloc(sizeof *opt->groups);
    }
    if (!opt || !opt->group_of || !opt->state || !opt->groups) {
        clg_optimizer_destroy(opt);
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    }
    opt->model = m;
    opt->groups[0] = o;
    opt->ngroups = 1;
    *out = opt;
    return CLG_OK;
}

static void release_state(cl_mem *state, size_t count)
{
    for (size_t i = 0; state && i < count; i++)
        if (state[i]) clReleaseMemObject(state[i]);
}

void clg_optimizer_destroy(clg_optimizer *opt)
{
    if (!opt) return;
    release_state(opt->state, opt->nparams * opt->impl->nstate);
    free(opt->state);
    free(opt->group_of);
    free(opt->groups);
    free(opt);
}

clg_status clg_optimizer_add_group(clg_optimizer *opt, const size_t *params, size_t count,
                                   const clg_optimizer_options *opts)
{
    const char *op = "clg_optimizer_add_group";
    clg_context *ctx = opt ? opt->model->ctx : NULL;
    if (!opt || !opts || (count && !params))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    clg_status s = check_options(ctx, op, opt->impl, opts);
    if (s != CLG_OK) return s;
    for (size_t i = 0; i < count; i++)
        if (params[i] >= opt->nparams)
            return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "%s: parameter index %zu out of range (model has %zu)", op, params[i],
                            opt->nparams);
    clg_optimizer_options *g = realloc(opt->groups, (opt->ngroups + 1) * sizeof *g);
    if (!g) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    opt->groups = g;
    opt->groups[opt->ngroups] = *opts;
    for (size_t i = 0; i < count; i++) opt->group_of[params[i]] = opt->ngroups;
    opt->ngroups++;
    return CLG_OK;
}

clg_status clg_optimizer_add_group_by_kind(clg_optimizer *opt, int biases,
                                           const clg_optimizer_options *opts)
{
    const char *op = "clg_optimizer_add_group_by_kind";
    if (!opt) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL optimizer", op);
    size_t *idx = malloc(opt->nparams * sizeof *idx), n = 0;
    if (!idx) return clg_fail(opt->model->ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    for (size_t i = 0; i < opt->nparams; i++) {
        clg_param_info info;
        if (clg_model_param_info(opt->model, i, &info) == CLG_OK &&
            (info.is_bias != 0) == (biases != 0))
            idx[n++] = i;
    }
    clg_status s = clg_optimizer_add_group(opt, idx, n, opts);
    free(idx);
    return s;
}

const clg_optimizer_options *clg_optim_param_options(const clg_optimizer *opt, size_t param)
{
    return &opt->groups[opt->group_of[param]];
}

cl_mem clg_optim_state(const clg_optimizer *opt, size_t param, unsigned slot)
{
    return opt->state[param * opt->impl->nstate + slot];
}

clg_status clg_optim_state_ensure(clg_optimizer *opt, size_t param, unsigned slot, size_t count,
                                  int *made)
{
    *made = 0;
    cl_mem *p = &opt->state[param * opt->impl->nstate + slot];
    if (*p || !opt->impl->uses_state(clg_optim_param_options(opt, param), slot)) return CLG_OK;
    clg_status s =
        clg_buffer_create(opt->model->ctx, count * sizeof(float), opt->impl->state_names[slot], p);
    if (s == CLG_OK) *made = 1;
    return s;
}

void clg_optim_state_drop(clg_optimizer *opt, size_t param, unsigned slot)
{
    cl_mem *p = &opt->state[param * opt->impl->nstate + slot];
    if (*p) clReleaseMemObject(*p);
    *p = NULL;
}

void clg_optim_replace(clg_optimizer *opt, clg_optimizer_options *groups, size_t ngroups,
                       size_t *group_of, cl_mem *state, uint64_t steps)
{
    release_state(opt->state, opt->nparams * opt->impl->nstate);
    free(opt->state);
    free(opt->groups);
    free(opt->group_of);
    opt->groups = groups;
    opt->ngroups = ngroups;
    opt->group_of = group_of;
    opt->state = state;
    opt->steps = steps;
}

void clg_optim_count_steps(clg_optimizer *opt, uint64_t steps) { opt->steps += steps; }

/* One parameter's update; a buffer made for it that never got its first value is
 * dropped again when the update fails. */
static clg_status step_param(clg_optimizer *opt, size_t i, float grad_scale)
{
    clg_context *ctx = opt->model->ctx;
    const unsigned ns = opt->impl->nstate;
    clg_param_ref ref;
    clg_status s = clg_model_param_ref(opt->model, i, &ref);
    int fresh[CLG_OPTIM_MAX_STATE] = {0};
    cl_mem used[CLG_OPTIM_MAX_STATE] = {NULL};
    const clg_optimizer_options *o = clg_optim_param_options(opt, i);
    for (unsigned k = 0; k < ns && s == CLG_OK; k++) {
        s = clg_optim_state_ensure(opt, i, k, ref.count, &fresh[k]);
        /* A buffer the group does not use now (its momentum set to 0 later, or one a
         * checkpoint brought) is not handed to the update: NULL means unused. */
        if (opt->impl->uses_state(o, k)) used[k] = clg_optim_state(opt, i, k);
    }
    if (s == CLG_OK) s = opt->impl->update(ctx, &ref, used, fresh, o, grad_scale, opt->steps + 1);
    if (s != CLG_OK)
        for (unsigned k = 0; k < ns; k++)
            if (fresh[k]) clg_optim_state_drop(opt, i, k);
    return s;
}

clg_status clg_optimizer_step(clg_optimizer *opt, float grad_scale)
{
    const char *op = "clg_optimizer_step";
    if (!opt) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL optimizer", op);
    clg_context *ctx = opt->model->ctx;
    if (!isfinite(grad_scale))
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: non-finite grad_scale %g", op,
                        (double)grad_scale);
    if (clg_model_param_count(opt->model) != opt->nparams)
        return clg_fail(ctx, CLG_ERR_STATE,
                        "%s: the model had %zu parameters when the optimizer was made and has "
                        "%zu now",
                        op, opt->nparams, clg_model_param_count(opt->model));
    for (size_t i = 0; i < opt->nparams; i++) {
        clg_status s = step_param(opt, i, grad_scale);
        if (s != CLG_OK) return s;
    }
    opt->steps++;
    return CLG_OK;
}

clg_optimizer_kind clg_optimizer_get_kind(const clg_optimizer *opt)
{
    return opt ? opt->impl->kind : CLG_OPTIMIZER_SGD;
}

size_t clg_optimizer_group_count(const clg_optimizer *opt) { return opt ? opt->ngroups : 0; }

static clg_status check_group(const clg_optimizer *opt, size_t group, const char *op)
{
    if (!opt) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: NULL optimizer", op);
    if (group >= opt->ngroups)
        return clg_fail(opt->model->ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: group %zu of %zu (groups count from 0)", op, group, opt->ngroups);
    return CLG_OK;
}

clg_status clg_optimizer_group(const clg_optimizer *opt, size_t group, clg_optimizer_options *out)
{
    clg_status s = check_group(opt, group, "clg_optimizer_group");
    if (s == CLG_OK && !out)
        s = clg_fail(opt->model->ctx, CLG_ERR_INVALID_ARGUMENT, "clg_optimizer_group: NULL out");
    if (s == CLG_OK) *out = opt->groups[group];
    return s;
}

clg_status clg_optimizer_get_lr(const clg_optimizer *opt, size_t group, float *lr)
{
    clg_status s = check_group(opt, group, "clg_optimizer_get_lr");
    if (s == CLG_OK && !lr)
        s = clg_fail(opt->model->ctx, CLG_ERR_INVALID_ARGUMENT, "clg_optimizer_get_lr: NULL lr");
    if (s == CLG_OK) *lr = opt->groups[group].lr;
    return s;
}

clg_status clg_optimizer_set_lr(clg_optimizer *opt, size_t group, float lr)
{
    const char *op = "clg_optimizer_set_lr";
    clg_status s = check_group(opt, group, op);
    if (s != CLG_OK) return s;
    clg_optimizer_options o = opt->groups[group];
    o.lr = lr;
    s = check_options(opt->model->ctx, op, opt->impl, &o);
    if (s == CLG_OK) opt->groups[group].lr = lr;
    return s;
}

uint64_t clg_optimizer_steps(const clg_optimizer *opt) { return opt ? opt->steps : 0; }

size_t clg_optimizer_describe(const clg_optimizer *opt, char *buf, size_t len)
{
    char dummy[1];
    if (!buf || !len) {
        buf = dummy;
        len = 1;
    }
    buf[0] = '\0';
    if (!opt) return 0;
    size_t used = 0;
    clg_text_advance(&buf, &len, &used, snprintf(buf, len, "%s (\n", opt->impl->name));
    for (size_t g = 0; g < opt->ngroups; g++) {
        clg_text_advance(&buf, &len, &used, snprintf(buf, len, "Parameter Group %zu\n", g));
        clg_text_advance(&buf, &len, &used, (int)opt->impl->describe(&opt->groups[g], buf, len));
    }
    clg_text_advance(&buf, &len, &used, snprintf(buf, len, ")"));
    return used;
}
