/* The split-step path of the fused single-Linear fit (cl/fused.cl fused_split_step):
 * one launch per minibatch over G work-groups plus a final one, parameters in
 * ping-pong [W | b] buffers so that no launch reads what its groups write. Each group
 * takes a contiguous share of the batch rows and writes a partial gradient; the next
 * launch sums the G partials in group order (deterministic, independent of scheduling)
 * and applies the SGD step. It spreads a step over every compute unit without the two
 * launches per step of the pipeline or any communication inside a launch. */
#include "fused.h"

#define SPLIT_MAX_GROUP 256
#define SPLIT_MIN_ROWS 32 /* fewer batch rows per group than this is not worth a group */

/* Groups per step: one per compute unit, fewer when the batch is small. */
static size_t split_groups(const clg_context *ctx, size_t cap)
{
    size_t cus = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t g = cap / SPLIT_MIN_ROWS;
    if (g > cus) g = cus;
    return g ? g : 1;
}

size_t clg_fused_split_local_bytes(const clg_context *ctx, size_t d, size_t q, size_t cap)
{
    size_t G = split_groups(ctx, cap), rg = (cap + G - 1) / G;
    return (d * q + FUSED_OL + q + rg * q) * sizeof(float) + rg * sizeof(cl_uint);
}

static clg_status copy(clg_context *ctx, cl_mem src, size_t soff, cl_mem dst, size_t doff,
                       size_t floats)
{
    cl_int err = clEnqueueCopyBuffer(ctx->queue, src, dst, soff * sizeof(float),
                                     doff * sizeof(float), floats * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? CLG_OK
                             : clg_fail_cl(ctx, err, "clEnqueueCopyBuffer(fused split parameters)");
}

clg_status clg_fused_split(const clg_fused_job *j)
{
    clg_context *ctx = j->ctx;
    const size_t n = j->n, d = j->d, q = j->q, bs = j->bs, cap = j->cap;
    const size_t dq = d * q, stride = dq + q;
    const size_t G = split_groups(ctx, cap), rg = (cap + G - 1) / G;
    const cl_int use_mW = j->mom[0] != NULL, use_mb = j->mom[1] != NULL, kind = j->kind;

    size_t group, items[2], local_free;
    clg_status s = clg_kernel_limits(ctx, "fused", "fused_split_step", &group, items, &local_free);
    if (s != CLG_OK) return s;
    size_t limit = group < items[0] ? group : items[0];
    if (limit > SPLIT_MAX_GROUP) limit = SPLIT_MAX_GROUP;
    size_t fwd = clg_fused_forward_units(rg, q), widest = clg_fused_backward_units(d, q), L = 1;
    if (fwd > widest) widest = fwd;
    if (kind == 2 && rg > widest) widest = rg;
    while (L < widest && L * 2 <= limit) L *= 2;

    cl_mem P[2] = {NULL, NULL}, M[2] = {NULL, NULL}, part[2] = {NULL, NULL};
    for (int i = 0; i < 2 && s == CLG_OK; i++) {
        s = clg_buffer_create(ctx, stride * sizeof(float), "fused split parameters", &P[i]);
        if (s == CLG_OK && (use_mW || use_mb))
            s = clg_buffer_create(ctx, stride * sizeof(float), "fused split momentum", &M[i]);
        if (s == CLG_OK)
            s = clg_buffer_create(ctx, G * stride * sizeof(float), "fused split partial gradients",
                                  &part[i]);
    }
    if (s == CLG_OK) s = copy(ctx, j->lin.W, 0, P[0], 0, dq);
    if (s == CLG_OK) s = copy(ctx, j->lin.b, 0, P[0], dq, q);
    if (s == CLG_OK && use_mW) s = copy(ctx, j->mom[0], 0, M[0], 0, dq);
    if (s == CLG_OK && use_mb) s = copy(ctx, j->mom[1], 0, M[0], dq, q);

    cl_uint ud = (cl_uint)d, uq = (cl_uint)q, urg = (cl_uint)rg;
    const size_t nb = j->ld.batches;
    size_t launched = 0; /* groups of the previous launch: the partials to sum */
    for (size_t t = 0; s == CLG_OK && t <= nb; t++) {
        const int final = t == nb;
        const size_t cnt = final ? 0 : (n - t * bs < bs ? n - t * bs : bs);
        cl_uint uoff = (cl_uint)(t * bs), ucnt = (cl_uint)cnt, gprev = (cl_uint)launched;
        /* lscale of this batch, gscale of the previous one (whose update runs here) */
        float lscale = t + 1 == nb ? j->scales.s[2] : j->scales.s[0];
        float gscale = final ? j->scales.s[3] : j->scales.s[1];
        cl_int first = t == 1 ? j->first_step : 0;
        cl_mem mS = M[t % 2], mD = M[(t + 1) % 2];
        clg_arg a[] = {CLG_ARG(j->ld.data.X),
                       CLG_ARG(j->ld.data.Y),
                       CLG_ARG(j->ld.order),
                       CLG_ARG(P[t % 2]),
                       CLG_ARG(P[(t + 1) % 2]),
                       CLG_ARG(mS),
                       CLG_ARG(mD),
                       CLG_ARG(part[(t + 1) % 2]),
                       CLG_ARG(part[t % 2]),
                       CLG_ARG(j->lin.dW),
                       CLG_ARG(j->lin.db),
                       CLG_ARG(ud),
                       CLG_ARG(uq),
                       CLG_ARG(uoff),
                       CLG_ARG(ucnt),
                       CLG_ARG(urg),
                       CLG_ARG(gprev),
                       CLG_ARG(kind),
                       CLG_ARG(lscale),
                       CLG_ARG(gscale),
                       CLG_ARG(j->hyper[0]),
                       CLG_ARG(j->hyper[1]),
                       CLG_ARG(j->nesterov[0]),
                       CLG_ARG(j->nesterov[1]),
                       CLG_ARG(first),
                       CLG_ARG(use_mW),
                       CLG_ARG(use_mb),
                       CLG_LOCAL((dq + FUSED_OL + q) * sizeof(float)),
                       CLG_LOCAL(rg * q * sizeof(float)),
                       CLG_LOCAL(rg * sizeof(cl_uint))};
        launched = final ? 1 : (cnt + rg - 1) / rg;
        size_t global = launched * L;
        s = clg_launch(ctx, "fused", "fused_split_step", 1, &global, &L, sizeof a / sizeof a[0], a);
        /* batch t's update is applied by launch t+1: report it from there */
        if (s == CLG_OK && t && j->report_every) s = j->progress(j->user, t, nb);
    }
    const cl_mem out = P[(nb + 1) % 2], mout = M[(nb + 1) % 2];
    if (s == CLG_OK) s = copy(ctx, out, 0, j->lin.W, 0, dq);
    if (s == CLG_OK) s = copy(ctx, out, dq, j->lin.b, 0, q);
    if (s == CLG_OK && use_mW) s = copy(ctx, mout, 0, j->mom[0], 0, dq);
    if (s == CLG_OK && use_mb) s = copy(ctx, mout, dq, j->mom[1], 0, q);
    /* Released now, freed by OpenCL once the enqueued commands have run. */
    for (int i = 0; i < 2; i++) {
        if (P[i]) clReleaseMemObject(P[i]);
        if (M[i]) clReleaseMemObject(M[i]);
        if (part[i]) clReleaseMemObject(part[i]);
    }
    return s;
}
