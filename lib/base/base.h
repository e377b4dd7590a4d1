/* base: pure C helpers every layer may use (hashes, Philox); no OpenCL, no context. */
#ifndef CLGRAD_BASE_H
#define CLGRAD_BASE_H
#include <stddef.h>
#include <stdint.h>

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

#endif
