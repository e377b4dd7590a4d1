/* clgrad train --distributed: the CLI's MPI glue (dist_cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist_cli.h"

#ifndef CLGRAD_HAVE_MPI
int cli_dist_start(cli_dist *d, int *argc, char ***argv)
{
    (void)argc, (void)argv;
    memset(d, 0, sizeof *d);
    fprintf(stderr, "clgrad train: --distributed: this clgrad was built without MPI (install "
                    "Debian's openmpi-bin and libopenmpi-dev, then rebuild)\n");
    return 1;
}
void cli_dist_devices(const cli_dist *d, const clg_context *ctx, FILE *out)
{
    (void)d, (void)ctx, (void)out;
}
clg_status cli_dist_check(const clg_comm *comm, const clg_context *ctx, clg_status mine,
                          const char *what)
{
    (void)comm, (void)ctx, (void)what;
    return mine;
}
size_t cli_dist_max(const cli_dist *d, size_t mine)
{
    (void)d;
    return mine;
}
void cli_dist_end(cli_dist *d) { (void)d; }
#else
#include "clgrad_mpi.h"

/* The spec of the local_rank-th GPU, "" when there is none. */
static void node_gpu(int local_rank, char *spec, size_t n)
{
    size_t count = 0, gpus = 0;
    spec[0] = '\0';
    if (clg_device_list(NULL, 0, &count) != CLG_OK || !count) return;
    clg_device_info *all = calloc(count, sizeof *all);
    if (all && clg_device_list(all, count, &count) == CLG_OK) {
        for (size_t i = 0; i < count; i++) gpus += all[i].type == CLG_DEVICE_GPU;
        size_t want = gpus ? (size_t)local_rank % gpus : 0;
        for (size_t i = 0; gpus && i < count; i++)
            if (all[i].type == CLG_DEVICE_GPU && want-- == 0) {
                snprintf(spec, n, "%u:%u", all[i].platform_index, all[i].device_index);
                break;
            }
    }
    free(all);
}

static void pick_device(cli_dist *d)
{
    const char *env = getenv("CLGRAD_DEVICE");
    d->device[0] = '\0';
    if (env && strchr(env, ',')) { /* a list: one element per local rank, round robin */
        size_t count = 1;
        for (const char *p = env; *p; p++) count += *p == ',';
        const char *p = env;
        for (size_t k = (size_t)d->local_rank % count; k; k--) p = strchr(p, ',') + 1;
        size_t len = strcspn(p, ",");
        snprintf(d->device, sizeof d->device, "%.*s", (int)len, p);
    } else if (!env || !env[0]) {
        node_gpu(d->local_rank, d->device, sizeof d->device);
    }
}

int cli_dist_start(cli_dist *d, int *argc, char ***argv)
{
    memset(d, 0, sizeof *d);
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "clgrad train: --distributed: MPI_Init failed\n");
        return 1;
    }
    clg_status s = clg_comm_mpi_create(MPI_COMM_WORLD, &d->comm);
    if (s == CLG_OK) d->local_rank = clg_comm_mpi_local_rank(d->comm, &d->local_size);
    if (s != CLG_OK || d->local_rank < 0) {
        if (s == CLG_OK) s = clg_set_error(NULL, CLG_ERR_COMM, "MPI_Comm_split_type failed");
        cli_fail(NULL, s);
        clg_comm_mpi_destroy(d->comm);
        d->comm = NULL;
        MPI_Finalize();
        return 1;
    }
    d->rank = d->comm->rank;
    d->size = d->comm->size;
    pick_device(d);
    /* rank 0 reports; should /dev/null fail, this rank's lines show too, no harm */
    if (d->rank && !freopen("/dev/null", "w", stdout)) clearerr(stdout);
    return 0;
}

void cli_dist_devices(const cli_dist *d, const clg_context *ctx, FILE *out)
{
    enum { LEN = 160 };
    char mine[LEN] = "?";
    clg_device_info di;
    if (ctx && clg_context_device(ctx, &di) == CLG_OK)
        snprintf(mine, sizeof mine, "%u:%u %s", di.platform_index, di.device_index, di.device_name);
    char *all = d->rank == 0 ? calloc((size_t)d->size, LEN) : NULL;
    int local[2] = {d->local_rank, d->local_size}, *locals = NULL;
    if (d->rank == 0) locals = calloc((size_t)d->size * 2, sizeof *locals);
    MPI_Gather(mine, LEN, MPI_CHAR, all, LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Gather(local, 2, MPI_INT, locals, 2, MPI_INT, 0, MPI_COMM_WORLD);
    for (int r = 0; all && locals && r < d->size; r++)
        fprintf(out, "rank %d of %d (local %d of %d): device %s\n", r, d->size, locals[2 * r],
                locals[2 * r + 1], all + (size_t)r * LEN);
    fflush(out);
    free(all);
    free(locals);
}

clg_status cli_dist_check(const clg_comm *comm, const clg_context *ctx, clg_status mine,
                          const char *what)
{
    if (!comm) return mine;
    clg_status s = clg_comm_check(comm, ctx, mine, what);
    if (s != CLG_OK && mine == CLG_OK) cli_fail(ctx, s); /* the failing rank said why */
    return s;
}

size_t cli_dist_max(const cli_dist *d, size_t mine)
{
    (void)d;
    unsigned long v = mine;
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void cli_dist_end(cli_dist *d)
{
    if (!d->comm) return;
    clg_comm_mpi_destroy(d->comm);
    d->comm = NULL;
    MPI_Finalize();
}
#endif
