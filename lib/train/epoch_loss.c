/* clg_fit's per-epoch full-set loss, overlapped with the next epoch's training where
 * that is possible: a single-Linear model whose loss the fused kernel computes, on a
 * device-resident dataset. At the end of epoch e the parameters are copied (in the
 * main queue, after the epoch's steps) into a snapshot; the loss of the snapshot runs
 * in the context's second in-order queue, which waits for the copy only, and its one
 * float comes back by a non-blocking read. clg_fit then enqueues epoch e+1 and only
 * afterwards waits for loss e, so the loss pass runs while epoch e+1 trains: on POCL
 * the epoch kernel keeps one core busy and the loss takes the other one.
 *
 * The losses are the same floats as without overlap (the same kernel on the same
 * parameters); they reach on_epoch one epoch's enqueue later. The snapshot is reused
 * only after the host has collected the loss that read it. */
#include <math.h>
#include <stdlib.h>

#include "train.h"

/* Below this many multiply-adds a loss pass is shorter than what the snapshot and the
 * second queue's synchronisation cost (the d2l seeds' 1000×2 fit: 1.1 µs a step in
 * order, 1.6 overlapped, on POCL). */
#define EPOCH_LOSS_MIN_WORK ((size_t)1 << 20)

struct clg_epoch_loss {
    clg_model *m;
    const clg_dataset *ds;
    clg_loss_kind kind;
    cl_mem W, b;     /* snapshot of the parameters at the end of the pending epoch */
    clg_tensor *acc; /* the loss sum, written in the second queue */
    float sum;       /* host copy of acc, valid once `done` completed */
    cl_event done;   /* the read of acc; NULL when nothing is pending */
};

static clg_status aux_queue(clg_context *ctx, cl_command_queue *out)
{
    if (!ctx->aux_queue) {
        cl_int err;
        ctx->aux_queue = clCreateCommandQueue(ctx->cl, ctx->device, 0, &err);
        if (err != CL_SUCCESS) {
            ctx->aux_queue = NULL;
            return clg_fail_cl(ctx, err, "clCreateCommandQueue(second queue)");
        }
    }
    *out = ctx->aux_queue;
    return CLG_OK;
}

clg_status clg_epoch_loss_create(clg_model *m, const clg_dataset *ds, clg_loss_kind kind,
                                 clg_epoch_loss **out)
{
    *out = NULL;
    const int overlap = m->ctx->cfg.epoch_loss_overlap; /* a testing knob, default 1 */
    if (!overlap) return CLG_OK;
    clg_linear_view lin;
    clg_dataset_view v;
    if (!clg_dataset_view_of(ds, &v) || !clg_model_linear_view(m, &lin)) return CLG_OK;
    if (overlap == 1 && v.n * v.d * lin.out < EPOCH_LOSS_MIN_WORK) return CLG_OK;
    clg_epoch_loss *el = calloc(1, sizeof *el);
    if (!el) return clg_fail(m->ctx, CLG_ERR_HOST_MEMORY, "clg_fit: out of host memory");
    el->m = m;
    el->ds = ds;
    el->kind = kind;
    cl_command_queue unused;
    clg_status s = aux_queue(m->ctx, &unused); /* made now, so that start cannot fail on it */
    if (s == CLG_OK)
        s = clg_buffer_create(m->ctx, lin.in * lin.out * sizeof(float), "loss snapshot W", &el->W);
    if (s == CLG_OK)
        s = clg_buffer_create(m->ctx, lin.out * sizeof(float), "loss snapshot b", &el->b);
    if (s == CLG_OK) s = clg_tensor_create(m->ctx, 1, 1, &el->acc);
    if (s != CLG_OK) {
        clg_epoch_loss_destroy(el);
        return s;
    }
    *out = el;
    return CLG_OK;
}

clg_status clg_epoch_loss_start(clg_epoch_loss *el, int *handled)
{
    *handled = 0;
    clg_context *ctx = el->m->ctx;
    clg_linear_view lin;
    clg_model_linear_view(el->m, &lin); /* create checked the model */
    cl_event copied = NULL;
    cl_int err = clEnqueueCopyBuffer(ctx->queue, lin.W, el->W, 0, 0,
                                     lin.in * lin.out * sizeof(float), 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueCopyBuffer(ctx->queue, lin.b, el->b, 0, 0, lin.out * sizeof(float), 0, NULL,
                                  &copied);
    if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clEnqueueCopyBuffer(loss snapshot)");
    /* Everything below runs in the second queue, after the copy only. */
    cl_command_queue aux = ctx->aux_queue;
    err = clEnqueueBarrierWithWaitList(aux, 1, &copied, NULL);
    clReleaseEvent(copied);
    const float zero = 0.0f;
    if (err == CL_SUCCESS)
        err = clEnqueueFillBuffer(aux, el->acc->mem, &zero, sizeof zero, 0, sizeof zero, 0, NULL,
                                  NULL);
    if (err != CL_SUCCESS)
        return clg_fail_cl(ctx, err, "clEnqueueBarrierWithWaitList/FillBuffer(epoch loss)");
    clg_status s =
        clg_fused_full_loss(el->m, el->ds, el->kind, el->W, el->b, el->acc, aux, handled);
    if (s != CLG_OK || !*handled) return s;
    err = clEnqueueReadBuffer(aux, el->acc->mem, CL_FALSE, 0, sizeof(float), &el->sum, 0, NULL,
                              &el->done);
    if (err != CL_SUCCESS) {
        el->done = NULL;
        return clg_fail_cl(ctx, err, "clEnqueueReadBuffer(epoch loss)");
    }
    clFlush(aux);
    return CLG_OK;
}

int clg_epoch_loss_pending(const clg_epoch_loss *el) { return el && el->done; }

clg_status clg_epoch_loss_collect(clg_epoch_loss *el, size_t count, double *loss)
{
    cl_int err = clWaitForEvents(1, &el->done);
    cl_int st = CL_COMPLETE;
    if (err == CL_SUCCESS)
        err = clGetEventInfo(el->done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    clReleaseEvent(el->done);
    el->done = NULL;
    if (err == CL_SUCCESS && st < 0) err = st;
    if (err != CL_SUCCESS) return clg_fail_cl(el->m->ctx, err, "clWaitForEvents(epoch loss)");
    *loss = (double)el->sum / (double)count;
    return CLG_OK;
}

void clg_epoch_loss_snapshot(const clg_epoch_loss *el, cl_mem out[2])
{
    out[0] = el->W;
    out[1] = el->b;
}

void clg_epoch_loss_destroy(clg_epoch_loss *el)
{
    if (!el) return;
    if (el->done) { /* the read still targets el->sum */
        clWaitForEvents(1, &el->done);
        clReleaseEvent(el->done);
    }
    if (el->m->ctx->aux_queue) clFinish(el->m->ctx->aux_queue);
    if (el->W) clReleaseMemObject(el->W);
    if (el->b) clReleaseMemObject(el->b);
    clg_tensor_destroy(el->acc);
    free(el);
}
