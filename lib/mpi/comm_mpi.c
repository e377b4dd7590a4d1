/* clg_comm over MPI (include/clgrad_mpi.h): the one file of clgrad that calls MPI. */
#include <stdlib.h>

#include "clgrad_mpi.h"

typedef struct comm_mpi {
    clg_comm comm; /* first: a clg_comm * is a comm_mpi * */
    MPI_Comm mpi;
} comm_mpi;

static int allreduce_sum(float *buf, size_t n, void *user)
{
    MPI_Comm c = ((comm_mpi *)user)->mpi;
    /* MPI counts are int: large buffers go in slices, the same on every rank */
    const size_t slice = (size_t)1 << 30;
    for (size_t off = 0; off < n; off += slice) {
        int count = (int)(n - off < slice ? n - off : slice);
        int err = MPI_Allreduce(MPI_IN_PLACE, buf + off, count, MPI_FLOAT, MPI_SUM, c);
        if (err != MPI_SUCCESS) return err;
    }
    return 0;
}

clg_status clg_comm_mpi_create(MPI_Comm comm, clg_comm **out)
{
    if (!out) return clg_set_error(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_comm_mpi_create: NULL out");
    *out = NULL;
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (!inited || finalized)
        return clg_set_error(NULL, CLG_ERR_COMM,
                             "clg_comm_mpi_create: MPI is %s (call MPI_Init first)",
                             finalized ? "finalised" : "not initialised");
    comm_mpi *c = calloc(1, sizeof *c);
    if (!c)
        return clg_set_error(NULL, CLG_ERR_HOST_MEMORY, "clg_comm_mpi_create: out of host memory");
    c->mpi = MPI_COMM_NULL;
    int err = MPI_Comm_dup(comm, &c->mpi);
    if (err == MPI_SUCCESS) err = MPI_Comm_set_errhandler(c->mpi, MPI_ERRORS_RETURN);
    if (err == MPI_SUCCESS) err = MPI_Comm_rank(c->mpi, &c->comm.rank);
    if (err == MPI_SUCCESS) err = MPI_Comm_size(c->mpi, &c->comm.size);
    if (err != MPI_SUCCESS) {
        char why[MPI_MAX_ERROR_STRING] = "";
        int len = 0;
        MPI_Error_string(err, why, &len);
        if (c->mpi != MPI_COMM_NULL) MPI_Comm_free(&c->mpi);
        free(c);
        return clg_set_error(NULL, CLG_ERR_COMM, "clg_comm_mpi_create: %s", why);
    }
    c->comm.struct_size = sizeof c->comm;
    c->comm.allreduce_sum = allreduce_sum;
    c->comm.user = c;
    *out = &c->comm;
    return CLG_OK;
}

void clg_comm_mpi_destroy(clg_comm *comm)
{
    if (!comm) return;
    comm_mpi *c = (comm_mpi *)comm;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&c->mpi);
    free(c);
}

int clg_comm_mpi_local_rank(const clg_comm *comm, int *local_size)
{
    if (!comm) return -1;
    MPI_Comm node;
    int rank = -1, size = 0;
    if (MPI_Comm_split_type(((const comm_mpi *)comm)->mpi, MPI_COMM_TYPE_SHARED, comm->rank,
                            MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return -1;
    if (MPI_Comm_rank(node, &rank) != MPI_SUCCESS || MPI_Comm_size(node, &size) != MPI_SUCCESS)
        rank = -1;
    MPI_Comm_free(&node);
    if (local_size) *local_size = size;
    return rank;
}

static int initialised_here; /* clg_comm_mpi_world called MPI_Init_thread */

clg_status clg_comm_mpi_world(clg_comm **out)
{
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (!inited && !finalized) {
        int provided = 0;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return clg_set_error(NULL, CLG_ERR_COMM, "clg_comm_mpi_world: MPI_Init_thread failed");
        initialised_here = 1;
    }
    return clg_comm_mpi_create(MPI_COMM_WORLD, out);
}

void clg_comm_mpi_world_end(clg_comm *c)
{
    clg_comm_mpi_destroy(c);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (initialised_here && !finalized) MPI_Finalize();
    initialised_here = 0;
}
