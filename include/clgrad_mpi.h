/* clgrad over MPI: a clg_comm (<clgrad/dist.h>) backed by an MPI communicator, for
 * data-parallel clg_fit (docs/distributed.md). In libclgrad_mpi, built where CMake finds
 * MPI; libclgrad itself never calls MPI. MPI must be initialised (MPI_Init) before
 * clg_comm_mpi_create and finalised after clg_comm_mpi_destroy. */
#ifndef CLGRAD_MPI_H
#define CLGRAD_MPI_H

#include <mpi.h>

#include "clgrad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A communicator over a duplicate of comm (MPI_Comm_dup, so that clgrad's collectives
 * never match the caller's messages), whose errors return codes (MPI_ERRORS_RETURN)
 * instead of aborting. CLG_ERR_COMM when MPI is not initialised or a call fails. */
CLG_API clg_status clg_comm_mpi_create(MPI_Comm comm, clg_comm **out);
CLG_API void clg_comm_mpi_destroy(clg_comm *c);
/* For callers that cannot name an MPI communicator (the Python binding, scripts in other
 * languages): MPI initialised here if it is not yet (MPI_Init_thread asking for
 * MPI_THREAD_SERIALIZED), and clg_comm_mpi_create over MPI_COMM_WORLD.
 * clg_comm_mpi_world_end destroys it and finalises MPI if clg_comm_mpi_world initialised
 * it. */
CLG_API clg_status clg_comm_mpi_world(clg_comm **out);
CLG_API void clg_comm_mpi_world_end(clg_comm *c);
/* This process's rank among those of its node (MPI_COMM_TYPE_SHARED), and their number:
 * which local device a rank takes. A collective: every rank calls it. -1 on error. */
CLG_API int clg_comm_mpi_local_rank(const clg_comm *c, int *local_size);

#ifdef __cplusplus
}
#endif
#endif
