/* base: pure C helpers every layer may use (hashes, Philox); no OpenCL, no context. */
#ifndef CLGRAD_BASE_H
#define CLGRAD_BASE_H
#include <stddef.h>
#include <stdint.h>

#include "clgrad.h" /* clg_status */

/* hash.c: FNV-1a 64 over len bytes, continuing from h (CLG_HASH_SEED to start). */
uint64_t clg_hash64(const void *data, size_t len, uint64_t h);
#define CLG_HASH_SEED 0xcbf29ce484222325ULL

/* hash.c: CRC-32 (IEEE 802.3, same values as zlib's crc32); crc 0 to start,
 * or a previous result to continue. */
uint32_t clg_crc32(uint32_t crc, const void *data, size_t len);

/* Philox streams: 0 and 1 are synthetic_linear's X and noise; layer init draws from
 * its own stream so the same seed never makes weights equal to data. */
#define CLG_STREAM_INIT 2u

/* philox.c: host helpers on the Philox stream (same as cl/common.cl). */
float clg_philox_u01(uint32_t u);
/* Fills out[n] with N(0, std²) samples from (seed, stream); index i uses counter
 * (lo32(i/4), stream, hi32(i/4), 0) words by Box–Muller pairs, as cl/data.cl does.
 * Streams 0 (X) and 1 (noise) are synthetic_linear's; the loader tags word 3. */
void clg_philox_normal(uint64_t seed, uint32_t stream, float std, float *out, size_t n);

/* file.c: writes buf to path whole or not at all (temporary + fsync + rename + directory
 * fsync); follows symlinks, refuses non-regular files, removes temporaries that dead
 * processes left for the same path. A failure is CLG_ERR_IO (or CLG_ERR_HOST_MEMORY) with
 * the message, starting with op, in msg; no context, so the caller reports it. */
clg_status clg_file_write_atomic(const char *op, const char *path, const void *buf, size_t len,
                                 char *msg, size_t msglen);
int clg_mkdir_p(const char *dir);                          /* 0 or -1 with errno */
const char *clg_os_reason(int err, char *buf, size_t len); /* strerror_r into buf */
#endif
