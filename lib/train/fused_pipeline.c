/* (c) The multi-work-group pipeline of the fused single-Linear fit: per minibatch
 * fused_mb_forward over groups of FUSED_PIPE_ROWS rows, then fused_mb_backward over the
 * entries of W (SGD in place); G holds the batch's loss gradient in between. Same
 * arithmetic and order as the epoch kernel (fused.c has the rule that picks it). */
#include "fused.h"

/* Work-group sizes of the two kernels: the forward covers one group of rows, the backward
 * gives at least two groups per compute unit, at most 64 work-items each. */
static clg_status group_sizes(const clg_fused_job *j, size_t rg, size_t *Lf, size_t *Lb)
{
    size_t group, items[2], local_free;
    clg_status s =
        clg_kernel_limits(j->ctx, "fused", "fused_mb_forward", &group, items, &local_free);
    if (s != CLG_OK) return s;
    size_t limit = group < items[0] ? group : items[0];
    *Lf = clg_fused_forward_units(rg, j->q);
    if (*Lf > limit) *Lf = limit;
    if (*Lf > FUSED_MAX_GROUP) *Lf = FUSED_MAX_GROUP;
    size_t gb, gitems[2], gfree;
    s = clg_kernel_limits(j->ctx, "fused", "fused_mb_backward", &gb, gitems, &gfree);
    if (s != CLG_OK) return s;
    const size_t units = clg_fused_backward_units(j->d, j->q);
    size_t cus = j->ctx->info.compute_units ? j->ctx->info.compute_units : 1;
    size_t L = units / (2 * cus);
    L = clg_pow2_floor(L < 1 ? 1 : L > 64 ? 64 : L);
    while (L > 1 && (L > gb || L > gitems[0])) L /= 2;
    *Lb = L;
    return CLG_OK;
}

clg_status clg_fused_pipeline(const clg_fused_job *j)
{
    clg_context *ctx = j->ctx;
    const size_t n = j->n, d = j->d, q = j->q, bs = j->bs, cap = j->cap;
    const size_t rg = cap < FUSED_PIPE_ROWS ? cap : FUSED_PIPE_ROWS;
    size_t Lf, Lb;
    clg_status s = group_sizes(j, rg, &Lf, &Lb);
    if (s != CLG_OK) return s;
    const size_t gback = clg_round_up(clg_fused_backward_units(d, q), Lb);
    cl_mem G = NULL;
    s = clg_buffer_create(ctx, cap * q * sizeof(float), "fused batch gradient", &G);
    if (s != CLG_OK) return s;
    cl_uint ud = (cl_uint)d, uq = (cl_uint)q, urg = (cl_uint)rg;
    const size_t nb = j->ld.batches;
    for (size_t t = 0; s == CLG_OK && t < nb; t++) {
        const size_t cnt = n - t * bs < bs ? n - t * bs : bs;
        cl_uint uoff = (cl_uint)(t * bs), ucnt = (cl_uint)cnt;
        float lscale = t + 1 == nb ? j->scales.s[2] : j->scales.s[0];
        float gscale = t + 1 == nb ? j->scales.s[3] : j->scales.s[1];
        cl_int first = t ? 0 : j->first_step;
        clg_arg fa[] = {CLG_ARG(j->ld.data.X),
                        CLG_ARG(j->ld.data.Y),
                        CLG_ARG(j->ld.order),
                        CLG_ARG(j->lin.W),
                        CLG_ARG(j->lin.b),
                        CLG_ARG(G),
                        CLG_ARG(ud),
                        CLG_ARG(uq),
                        CLG_ARG(uoff),
                        CLG_ARG(ucnt),
                        CLG_ARG(urg),
                        CLG_ARG(j->kind),
                        CLG_ARG(lscale),
                        CLG_LOCAL((d * q + FUSED_OL + q) * sizeof(float)), /* W, padding, b */
                        CLG_LOCAL(rg * q * sizeof(float)),
                        CLG_LOCAL(rg * sizeof(cl_uint))};
        size_t gf = (cnt + rg - 1) / rg * Lf;
        s = clg_launch(ctx, "fused", "fused_mb_forward", 1, &gf, &Lf, sizeof fa / sizeof fa[0], fa);
        clg_arg ba[] = {CLG_ARG(j->ld.data.X),
                        CLG_ARG(j->ld.order),
                        CLG_ARG(G),
                        CLG_ARG(j->lin.W),
                        CLG_ARG(j->lin.b),
                        CLG_ARG(j->mom[0]),
                        CLG_ARG(j->mom[1]),
                        CLG_ARG(j->lin.dW),
                        CLG_ARG(j->lin.db),
                        CLG_ARG(ud),
                        CLG_ARG(uq),
                        CLG_ARG(uoff),
                        CLG_ARG(ucnt),
                        CLG_ARG(gscale),
                        CLG_ARG(j->hyper[0]),
                        CLG_ARG(j->hyper[1]),
                        CLG_ARG(j->nesterov[0]),
                        CLG_ARG(j->nesterov[1]),
                        CLG_ARG(first)};
        size_t gbk = gback;
        if (s == CLG_OK)
            s = clg_launch(ctx, "fused", "fused_mb_backward", 1, &gbk, &Lb,
                           sizeof ba / sizeof ba[0], ba);
        if (s == CLG_OK && j->report_every) s = j->progress(j->user, t + 1, nb);
    }
    clReleaseMemObject(G); /* freed once the enqueued launches have run */
    return s;
}
