/* Time per step of data-parallel softmax regression or an MLP over MPI, and the share of
 * it spent in the allreduce (docs/distributed.md). Run under mpirun -np P; every rank builds
 * the data of bench_classify (synth.h) and trains with global batch BATCH, its share being
 * BATCH/P rows. A clg_comm wrapping the MPI one times each allreduce (waiting for the other
 * ranks included). Program builds are excluded by a warm-up epoch; no per-epoch loss.
 * CLGRAD_BENCH_AVERAGE=K: periodic model averaging every K local steps (average_every)
 * instead of the per-step gradient sum; each rank's steps then take BATCH/P rows of its own.
 * Usage: mpirun -np P bench_dist_step N D Q BATCH EPOCHS [HIDDEN]
 * Rank 0 prints: ranks average_every us_per_step allreduce_us_per_step allreduce_share
 * exchange_floats acc (exchange_floats: the largest exchange, the gradients or parameters
 * with the step's rows or the optimizer's state, and the statuses) */
#include <stdio.h>
#include <stdlib.h>

#include "clgrad_mpi.h"
#include "synth.h"

typedef struct timed {
    clg_comm comm; /* what clg_fit sees */
    const clg_comm *inner;
    double seconds;
    size_t calls, floats;
} timed;

static int timed_allreduce(float *buf, size_t n, void *user)
{
    timed *t = user;
    double t0 = synth_now();
    int err = t->inner->allreduce_sum(buf, n, t->inner->user);
    t->seconds += synth_now() - t0;
    t->calls++;
    if (n > t->floats) t->floats = n; /* the gradients, not an epoch's closing exchange */
    return err;
}

/* Right before the timed fit: every rank starts together, the allreduce clock from 0. */
static void start_timing(void *user)
{
    timed *t = user;
    MPI_Barrier(MPI_COMM_WORLD);
    t->seconds = 0, t->calls = 0;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fprintf(stderr, "%s: %s: %s\n", #call, clg_status_string(s_), clg_last_error(ctx));    \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                          \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    synth_case c = {0};
    int bad = synth_case_read(argc, argv, &c);
    if (bad == 2)
        fprintf(stderr, "usage: mpirun -np P bench_dist_step N D Q BATCH EPOCHS [HIDDEN]\n");
    if (bad) MPI_Abort(MPI_COMM_WORLD, bad);
    const size_t n = c.n, d = c.d, q = c.q, bs = c.batch, epochs = c.epochs, hidden = c.hidden;
    clg_context *ctx = NULL;
    clg_comm *mpi = NULL;
    CHECK(clg_comm_mpi_create(MPI_COMM_WORLD, &mpi));
    CHECK(clg_context_create(&ctx, NULL));
    timed t = {.comm = *mpi, .inner = mpi};
    t.comm.allreduce_sum = timed_allreduce;
    t.comm.user = &t;
    clg_dataset *ds;
    CHECK(clg_dataset_from_host_labels(ctx, c.X, c.y, n, d, q, &ds));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epoch_loss = 0;
    o.batch_size = bs;
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.optimizer.lr = 0.1f;
    o.comm = &t.comm;
    o.epochs = epochs;
    const char *avg = getenv("CLGRAD_BENCH_AVERAGE");
    o.average_every = avg ? strtoul(avg, NULL, 10) : 0;
    clg_model *net = NULL;
    clg_fit_report rep;
    double took = 0;
    CHECK(synth_timed_fit(ctx, ds, o, d, q, hidden, start_timing, &t, &net, &rep, &took));
    clg_eval_result res;
    CHECK(clg_evaluate(net, ds, CLG_LOSS_SOFTMAX_XENT, &res));
    if (mpi->rank == 0)
        printf("ranks %d average_every %zu us_per_step %.1f allreduce_us_per_step %.1f "
               "allreduce_share %.3f exchange_floats %zu acc %.4f\n",
               mpi->size, o.average_every, took * 1e6 / (double)rep.steps,
               t.seconds * 1e6 / (double)rep.steps, t.seconds / took, t.floats, res.accuracy);
    clg_model_destroy(net);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    clg_comm_mpi_destroy(mpi);
    free(c.X), free(c.y);
    MPI_Finalize();
    return 0;
}
