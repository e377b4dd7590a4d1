/* clgrad: data-parallel training over a communicator (docs/distributed.md). Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_DIST_H
#define CLGRAD_API_DIST_H

#include "clgrad/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A group of processes (ranks) that train one model together, as clg_fit sees it: its
 * rank, its size and an allreduce. clgrad itself calls no MPI: <clgrad_mpi.h> makes one
 * over an MPI communicator (libclgrad_mpi, built where CMake finds MPI), and any transport
 * with a sum-allreduce can fill one. Every rank must call allreduce_sum with the same n,
 * in the same sequence; clg_fit does so a fixed number of times per step and per epoch
 * whatever happens on the rank, which is how a failure reaches every rank. */
typedef struct clg_comm {
    size_t struct_size; /* sizeof(clg_comm) of the caller's header (ABI) */
    int rank;           /* this process, 0 .. size - 1 */
    int size;           /* processes, >= 1 */
    /* Sums buf[0 .. n) elementwise over every rank, in place, leaving the same floats on
     * every rank (MPI_Allreduce with MPI_SUM). 0 on success, else the transport's code. */
    int (*allreduce_sum)(float *buf, size_t n, void *user);
    void *user;
} clg_comm;

/* Every rank says how it is doing, and learns how the others are: a collective (each rank
 * calls it at the same point, with its own status `mine`). CLG_OK when every rank's is
 * CLG_OK. Else: on a failing rank, `mine` (its message kept); on the others,
 * CLG_ERR_CANCELLED when a rank was cancelled and none failed, otherwise CLG_ERR_COMM with a
 * message naming the first failing rank and its status, after "what". A failed allreduce is
 * CLG_ERR_COMM on every rank that sees it. Errors go to ctx (NULL: the thread's). */
CLG_API clg_status clg_comm_check(const clg_comm *comm, const clg_context *ctx, clg_status mine,
                                  const char *what);

#ifdef __cplusplus
}
#endif
#endif
