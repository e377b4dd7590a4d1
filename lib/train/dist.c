/* clg_fit's side of a communicator (docs/distributed.md): the status exchange that every
 * collective carries, the agreement check at the start of a fit, and the per-step sum of
 * the gradients. Every function here is a collective: each rank calls it at the same point
 * of the fit whatever its own state, passing its status instead of returning early, so that
 * a rank that fails never leaves the others waiting in an allreduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* Values travel in 16-bit pieces, exact in a float (allgather). */
#define PIECES 4
/* Up to these sizes the exchanges made before clg_fit has its buffer use the stack: a rank
 * out of host memory must still take part (the others wait in the allreduce), carrying
 * CLG_ERR_HOST_MEMORY. clg_fit agrees on 21 values. */
#define STACK_VALUES 24
#define STACK_RANKS 16

clg_status clg_dist_comm_valid(const clg_comm *c, const clg_context *ctx, const char *op)
{
    if (c->struct_size < offsetof(clg_comm, user) + sizeof c->user)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: comm->struct_size %zu is too small (set it to sizeof(clg_comm))", op,
                        c->struct_size);
    if (c->size < 1 || c->rank < 0 || c->rank >= c->size || !c->allreduce_sum)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "%s: comm has rank %d of size %d%s (need 0 <= rank < size and an "
                        "allreduce_sum)",
                        op, c->rank, c->size, c->allreduce_sum ? "" : " and no allreduce_sum");
    return CLG_OK;
}

/* buf[0 .. n) is summed over the ranks; buf[n .. n + size) carries each rank's status. */
clg_status clg_dist_exchange(const clg_comm *c, const clg_context *ctx, float *buf, size_t n,
                             clg_status mine, const char *what)
{
    float *st = buf + n;
    for (int r = 0; r < c->size; r++) st[r] = 0.0f;
    st[c->rank] = (float)mine;
    int err = c->allreduce_sum(buf, n + (size_t)c->size, c->user);
    if (err)
        return clg_fail(ctx, CLG_ERR_COMM, "%s: the communicator's allreduce failed (code %d)",
                        what, err);
    if (mine != CLG_OK) return mine;
    int cancelled = -1;
    for (int r = 0; r < c->size; r++) {
        int s = (int)st[r];
        if (s == CLG_OK) continue;
        if (s == CLG_ERR_CANCELLED) {
            if (cancelled < 0) cancelled = r;
            continue;
        }
        return clg_fail(ctx, CLG_ERR_COMM,
                        "%s: rank %d of %d failed with %s (its message is in "
                        "its own output); every rank stops",
                        what, r, c->size, clg_status_string((clg_status)s));
    }
    if (cancelled >= 0)
        return clg_fail(ctx, CLG_ERR_CANCELLED, "%s: rank %d of %d was cancelled; every rank stops",
                        what, cancelled, c->size);
    return CLG_OK;
}

clg_status clg_comm_check(const clg_comm *comm, const clg_context *ctx, clg_status mine,
                          const char *what)
{
    if (!comm) return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_comm_check: NULL comm");
    clg_status s = clg_dist_comm_valid(comm, ctx, "clg_comm_check");
    if (s != CLG_OK) return s;
    float stack_buf[STACK_VALUES * PIECES * STACK_RANKS]; /* see STACK_RANKS */
    const size_t P = (size_t)comm->size, small = P <= sizeof stack_buf / sizeof *stack_buf;
    float *buf = small ? stack_buf : calloc(P, sizeof *buf);
    if (!buf) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_comm_check: out of host memory");
    s = clg_dist_exchange(comm, ctx, buf, 0, mine, what ? what : "clg_comm_check");
    if (!small) free(buf);
    return s;
}

/* Each value split into 16-bit pieces, one slot per rank: exact in float whatever the
 * value, so every rank learns every rank's values. buf holds k·PIECES·P + P floats; out
 * (k·P) gets value i of rank r at i·P + r. */
static clg_status allgather(const clg_comm *c, const clg_context *ctx, float *buf,
                            const uint64_t *v, size_t k, uint64_t *out, clg_status mine,
                            const char *what)
{
    const size_t P = (size_t)c->size, n = k * PIECES * P;
    memset(buf, 0, n * sizeof *buf);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < PIECES; j++)
            buf[(i * PIECES + j) * P + (size_t)c->rank] = (float)((v[i] >> (16 * j)) & 0xffffu);
    clg_status s = clg_dist_exchange(c, ctx, buf, n, mine, what);
    for (size_t i = 0; s == CLG_OK && i < k; i++)
        for (size_t r = 0; r < P; r++) {
            uint64_t x = 0;
            for (size_t j = 0; j < PIECES; j++)
                x |= (uint64_t)buf[(i * PIECES + j) * P + r] << (16 * j);
            out[i * P + r] = x;
        }
    return s;
}

clg_status clg_dist_agree(const clg_comm *c, const clg_context *ctx, const uint64_t *v,
                          const char *const *names, size_t k, clg_status mine, const char *what)
{
    const size_t P = (size_t)c->size;
    float stack_buf[STACK_VALUES * PIECES * STACK_RANKS + STACK_RANKS];
    uint64_t stack_all[STACK_VALUES * STACK_RANKS];
    const int small = k <= STACK_VALUES && P <= STACK_RANKS;
    float *buf = small ? stack_buf : calloc(k * PIECES * P + P, sizeof *buf);
    uint64_t *all = small ? stack_all : calloc(k * P, sizeof *all);
    if (!buf || !all) mine = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", what);
    clg_status s = buf && all ? allgather(c, ctx, buf, v, k, all, mine, what) : mine;
    for (size_t i = 0; s == CLG_OK && i < k; i++)
        for (size_t r = 1; s == CLG_OK && r < P; r++)
            if (all[i * P + r] != all[i * P])
                s = clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                             "%s: the ranks disagree: %s is %llu on rank 0 but %llu on rank %zu "
                             "(every rank must fit the same data, model and options)",
                             what, names[i], (unsigned long long)all[i * P],
                             (unsigned long long)all[i * P + r], r);
    if (!small) {
        free(buf);
        free(all);
    }
    return s;
}

/* The floats of the optimizer's state buffers that a model-averaging fit averages: every
 * slot a parameter's group uses, in parameter then slot order. */
static size_t state_floats(clg_model *m, const clg_optimizer *opt)
{
    size_t total = 0;
    for (size_t i = 0; i < opt->nparams; i++) {
        clg_param_ref ref;
        const clg_optimizer_options *g = clg_optim_param_options(opt, i);
        if (clg_model_param_ref(m, i, &ref) != CLG_OK) continue;
        for (unsigned k = 0; k < opt->impl->nstate; k++)
            if (opt->impl->uses_state(g, k)) total += ref.count;
    }
    return total;
}

clg_status clg_dist_create(const clg_comm *c, clg_model *m, const clg_optimizer *opt, size_t every,
                           clg_dist **out)
{
    *out = NULL;
    size_t total = 0, np = clg_model_param_count(m);
    for (size_t i = 0; i < np; i++) {
        clg_param_ref ref;
        clg_status s = clg_model_param_ref(m, i, &ref);
        if (s != CLG_OK) return s;
        total += ref.count;
    }
    clg_dist *d = calloc(1, sizeof *d);
    /* every collective of a fit uses it: the gradients and the rows, or the parameters,
     * the optimizer's state and the step counts (PIECES a rank), or PIECES values a rank
     * (clg_dist_range); then the statuses */
    const size_t P = (size_t)c->size, state = every ? state_floats(m, opt) : 0;
    size_t values = total + 1;
    if (every && values < total + state + PIECES * P) values = total + state + PIECES * P;
    if (values < PIECES * P) values = PIECES * P;
    if (d) d->buf = malloc((values + P) * sizeof *d->buf);
    if (d) d->gathered = malloc(P * sizeof *d->gathered);
    if (!d || !d->buf || !d->gathered) {
        if (d) free(d->buf);
        free(d);
        return clg_fail(m->ctx, CLG_ERR_HOST_MEMORY,
                        "clg_fit: out of host memory for the %zu-float exchange buffer", values);
    }
    d->comm = c;
    d->floats = total;
    d->state_floats = state;
    d->every = every;
    *out = d;
    return CLG_OK;
}

void clg_dist_destroy(clg_dist *d)
{
    if (!d) return;
    free(d->buf);
    free(d->gathered);
    free(d);
}

/* Reads (to_host) or writes n floats of a buffer at host; the first failure is *s. */
static void transfer(clg_context *ctx, cl_mem mem, float *host, size_t n, int to_host,
                     clg_status *s)
{
    if (*s != CLG_OK) return;
    cl_int err = to_host ? clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, n * sizeof *host, host,
                                               0, NULL, NULL)
                         : clEnqueueWriteBuffer(ctx->queue, mem, CL_TRUE, 0, n * sizeof *host, host,
                                                0, NULL, NULL);
    if (err != CL_SUCCESS)
        *s = clg_fail_cl(
            ctx, err, to_host ? "clEnqueueReadBuffer(exchange)" : "clEnqueueWriteBuffer(exchange)");
}

/* Every parameter's values (grads: its gradients) in parameter order, to or from d->buf;
 * the floats moved are d->floats. */
static void move_params(clg_dist *d, clg_model *m, int grads, int to_host, clg_status *s)
{
    size_t off = 0, np = clg_model_param_count(m);
    for (size_t i = 0; *s == CLG_OK && i < np; i++) {
        clg_param_ref ref;
        *s = clg_model_param_ref(m, i, &ref);
        transfer(m->ctx, grads ? ref.grad : ref.value, d->buf + off, ref.count, to_host, s);
        off += ref.count;
    }
}

/* Every parameter's gradient, in parameter order, into one buffer, summed over the ranks
 * with the step's rows; clg_dist_put_grads puts the sums back into the gradient buffers. */
clg_status clg_dist_sum_grads(clg_dist *d, clg_model *m, clg_status mine, int zeros, float *rows)
{
    if (!zeros) move_params(d, m, 1, 1, &mine);
    if (zeros || mine != CLG_OK) memset(d->buf, 0, d->floats * sizeof *d->buf);
    d->buf[d->floats] = mine == CLG_OK ? *rows : 0.0f;
    clg_status s = clg_dist_exchange(d->comm, m->ctx, d->buf, d->floats + 1, mine, "clg_fit");
    if (s == CLG_OK) *rows = d->buf[d->floats];
    return s;
}

clg_status clg_dist_put_grads(clg_dist *d, clg_model *m)
{
    clg_status s = CLG_OK;
    move_params(d, m, 1, 0, &s);
    return s;
}

clg_status clg_dist_range(clg_dist *d, const clg_context *ctx, size_t mine, clg_status s,
                          size_t *min, size_t *max, size_t *sum)
{
    const size_t P = (size_t)d->comm->size;
    uint64_t v = mine, *all = d->gathered;
    s = allgather(d->comm, ctx, d->buf, &v, 1, all, s, "clg_fit");
    for (size_t r = 0; s == CLG_OK && r < P; r++) {
        if (r == 0 || all[r] < *min) *min = (size_t)all[r];
        if (r == 0 || all[r] > *max) *max = (size_t)all[r];
        *sum = (r ? *sum : 0) + (size_t)all[r];
    }
    return s;
}

/* The parameters (and, with state, the optimizer's state buffers) to or from d->buf. */
static void move_all(clg_dist *d, clg_model *m, clg_optimizer *opt, int state, int to_host,
                     clg_status *s)
{
    size_t off = d->floats, np = clg_model_param_count(m);
    move_params(d, m, 0, to_host, s);
    for (size_t i = 0; state && *s == CLG_OK && i < np; i++) {
        clg_param_ref ref;
        const clg_optimizer_options *g = clg_optim_param_options(opt, i);
        *s = clg_model_param_ref(m, i, &ref);
        for (unsigned k = 0; *s == CLG_OK && k < opt->impl->nstate; k++) {
            if (!opt->impl->uses_state(g, k)) continue;
            cl_mem buf = clg_optim_state(opt, i, k);
            if (!buf) /* every rank has stepped before it averages */
                *s = clg_fail(m->ctx, CLG_ERR_STATE,
                              "clg_fit: an optimizer state buffer to average does not exist");
            transfer(m->ctx, buf, d->buf + off, ref.count, to_host, s);
            off += ref.count;
        }
    }
}

clg_status clg_dist_average(clg_dist *d, clg_model *m, clg_optimizer *opt, clg_status mine,
                            int state)
{
    const size_t P = (size_t)d->comm->size, r = (size_t)d->comm->rank;
    const size_t n = d->floats + (state ? d->state_floats : 0);
    float *steps = d->buf + n; /* the optimizer's step count, PIECES slots a rank */
    move_all(d, m, opt, state, 1, &mine);
    if (mine != CLG_OK) memset(d->buf, 0, n * sizeof *d->buf);
    const size_t extra = state ? PIECES * P : 0;
    memset(steps, 0, extra * sizeof *steps);
    for (size_t j = 0; j < PIECES && state; j++)
        steps[j * P + r] = (float)((opt->steps >> (16 * j)) & 0xffffu);
    if (d->pending) d->pending--;
    clg_status s = clg_dist_exchange(d->comm, m->ctx, d->buf, n + extra, mine, "clg_fit");
    if (s != CLG_OK) {
        d->failed = 1;
        return s;
    }
    const float inv = 1.0f / (float)P;
    for (size_t i = 0; i < n; i++) d->buf[i] *= inv;
    move_all(d, m, opt, state, 0, &s);
    for (size_t q = 0; s == CLG_OK && q < P && state; q++) { /* the most steps any rank took */
        uint64_t x = 0;
        for (size_t j = 0; j < PIECES; j++) x |= (uint64_t)steps[j * P + q] << (16 * j);
        if (x > opt->steps) opt->steps = x;
    }
    return s; /* a local failure from here goes into the next exchange */
}

/* A sum of one float over the ranks (a loss), with the rank's status. */
clg_status clg_dist_sum(clg_dist *d, const clg_context *ctx, float *x, clg_status mine,
                        const char *what)
{
    d->buf[0] = mine == CLG_OK ? *x : 0.0f;
    clg_status s = clg_dist_exchange(d->comm, ctx, d->buf, 1, mine, what);
    if (s == CLG_OK) *x = d->buf[0];
    return s;
}
