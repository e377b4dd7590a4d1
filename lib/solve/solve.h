/* solve: closed-form least squares. Sees data and below. */
#ifndef CLGRAD_SOLVE_H
#define CLGRAD_SOLVE_H
#include "data.h"

/* solve.c: bytes of [X | Y] rows per upload for a streamed dataset are
 * ctx->cfg.solve_chunk_bytes (32 MiB; tests lower it to cover several chunks). */

#endif
