/* clgrad train --distributed (docs/distributed.md): MPI's start and end, each rank's device,
 * and who writes what. Built with MPI only where CMake found it (CLGRAD_HAVE_MPI); else
 * cli_dist_start says so and fails. */
#ifndef CLGRAD_DIST_CLI_H
#define CLGRAD_DIST_CLI_H
#include <stdio.h>

#include "clgrad.h"

typedef struct cli_dist {
    clg_comm *comm; /* NULL: not distributed */
    int rank, size, local_rank, local_size;
    char device[160]; /* the device spec this rank takes ("" : the default) */
} cli_dist;

/* MPI_Init, the communicator, this rank's place on its node and its device: an element of a
 * comma list in CLGRAD_DEVICE (local rank modulo its length), else CLGRAD_DEVICE, else the
 * node's GPU of index local rank (modulo their number), else the default. Ranks other than
 * 0 print nothing on stdout from here on. 0, or 1 after printing why. */
int cli_dist_start(cli_dist *d, int *argc, char ***argv);
/* Rank 0 prints one line per rank: its node-local rank and device (a collective). */
void cli_dist_devices(const cli_dist *d, const clg_context *ctx, FILE *out);
/* Every rank's status of a step the CLI took alone (loading the data): CLG_OK when all
 * passed, else the status, printed with whose it was (a collective; comm NULL: mine). */
clg_status cli_dist_check(const clg_comm *comm, const clg_context *ctx, clg_status mine,
                          const char *what);
/* The largest of the ranks' values (a collective). */
size_t cli_dist_max(const cli_dist *d, size_t mine);
/* The communicator freed, MPI_Finalize. */
void cli_dist_end(cli_dist *d);
#endif
