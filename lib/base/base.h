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
/* Fills out[n] with uniform samples lo + (hi − lo)·u in (lo, hi], u = clg_philox_u01 of
 * word i % 4 of the block of counter (lo32(i/4), stream, hi32(i/4), 0): one word a sample,
 * computed in double and rounded once (layer initialisers, lib/nn/init.c). */
void clg_philox_uniform(uint64_t seed, uint32_t stream, float lo, float hi, float *out, size_t n);
/* Writes a uniform permutation of 0..n-1 (n <= 2^32) to order: Fisher–Yates with unbiased
 * picks (Lemire's multiply-shift with rejection) from the words of Philox blocks with counter
 * (block, lo32(stream), hi32(stream), tag) and key (lo32(seed), hi32(seed)). The loader
 * (stream = epoch) and the split draw their orders here, each with its own tag. */
void clg_philox_permutation(uint32_t *order, size_t n, uint64_t seed, uint64_t stream,
                            uint32_t tag);

/* part.c: floor(total·r / parts) for r <= parts, exactly (no overflow): where part r of
 * total split into parts near-equal parts starts. Part r holds clg_part_size of them: the
 * sizes differ by one at most and sum to total. */
uint64_t clg_part_start(uint64_t total, uint64_t r, uint64_t parts);
static inline uint64_t clg_part_size(uint64_t total, uint64_t r, uint64_t parts)
{
    return clg_part_start(total, r + 1, parts) - clg_part_start(total, r, parts);
}

/* Text built piece by piece with snprintf's contract (NUL-terminated within the buffer,
 * the full length counted): after a piece of n characters (snprintf's return) was written at
 * *buf, moves past what fitted (keeping room for the NUL) and adds n to *used. *len >= 1. */
static inline void clg_text_advance(char **buf, size_t *len, size_t *used, int n)
{
    size_t k = n > 0 ? (size_t)n : 0, step = k < *len ? k : *len - 1;
    *buf += step;
    *len -= step;
    *used += k;
}

/* Little-endian byte codecs for the file formats (checkpoint, program cache). */
static inline void clg_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void clg_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t clg_get_le(const unsigned char *p, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;) v = v << 8 | p[i];
    return v;
}
static inline uint32_t clg_get_le32(const unsigned char *p) { return (uint32_t)clg_get_le(p, 4); }
static inline uint64_t clg_get_le64(const unsigned char *p) { return clg_get_le(p, 8); }

/* file.c: writes buf to path whole or not at all (temporary + fsync + rename + directory
 * fsync); follows symlinks, refuses non-regular files, removes temporaries that dead
 * processes left for the same path. A failure is CLG_ERR_IO (or CLG_ERR_HOST_MEMORY) with
 * the message, starting with op, in msg; no context, so the caller reports it. */
clg_status clg_file_write_atomic(const char *op, const char *path, const void *buf, size_t len,
                                 char *msg, size_t msglen);
int clg_mkdir_p(const char *dir);                          /* 0 or -1 with errno */
const char *clg_os_reason(int err, char *buf, size_t len); /* strerror_r into buf */
#endif
