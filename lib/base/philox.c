/* Host Philox4x32-10 and the samplers built on it; the device twin is cl/common.cl
 * (philox4x32_10, clg_u01) and cl/data.cl (Box–Muller). Both must agree bit for bit
 * on the integers, so the same seed gives the same numbers on host and device. */
#include <math.h>
#include <stdint.h>

#include "base.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void clg_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Top 24 bits, centred in their cell; never 0 (log stays finite). From 1/2 up the
 * + 0.5f rounds to even, so the largest value is exactly 1 (harmless for Box–Muller).
 * The formula is cl/common.cl's clg_u01, rounding included. */
float clg_philox_u01(uint32_t u) { return ((float)(u >> 8) + 0.5f) * (1.0f / 16777216.0f); }

/* Layout (shared with cl/data.cl): sample i of (seed, stream) comes from
 * philox(counter = {lo32(i/4), stream, hi32(i/4), 0}, key = {lo32(seed), hi32(seed)}).
 * Words (w0, w1) give samples 4k, 4k+1 and (w2, w3) give 4k+2, 4k+3 by Box–Muller:
 * r = sqrt(-2 ln u01(w_even)), z = r cos(2π u01(w_odd)), r sin(2π u01(w_odd)).
 * Computed in double here, rounded once to float. */
void clg_philox_normal(uint64_t seed, uint32_t stream, float std, float *out, size_t n)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t base = 0; base < n; base += 4) {
        uint64_t blk = (uint64_t)base / 4;
        const uint32_t ctr[4] = {(uint32_t)blk, stream, (uint32_t)(blk >> 32), 0};
        uint32_t w[4];
        clg_philox4x32(ctr, key, w);
        double z[4];
        for (int p = 0; p < 2; p++) {
            double r = sqrt(-2.0 * log((double)clg_philox_u01(w[2 * p])));
            double t = two_pi * (double)clg_philox_u01(w[2 * p + 1]);
            z[2 * p] = r * cos(t);
            z[2 * p + 1] = r * sin(t);
        }
        for (size_t k = 0; k < 4 && base + k < n; k++) out[base + k] = (float)((double)std * z[k]);
    }
}

void clg_philox_uniform(uint64_t seed, uint32_t stream, float lo, float hi, float *out, size_t n)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (size_t base = 0; base < n; base += 4) {
        uint64_t blk = (uint64_t)base / 4;
        const uint32_t ctr[4] = {(uint32_t)blk, stream, (uint32_t)(blk >> 32), 0};
        uint32_t w[4];
        clg_philox4x32(ctr, key, w);
        for (size_t k = 0; k < 4 && base + k < n; k++)
            out[base + k] =
                (float)((double)lo + ((double)hi - (double)lo) * (double)clg_philox_u01(w[k]));
    }
}

typedef struct word_stream {
    uint32_t ctr[4], key[2], buf[4];
    unsigned used;
} word_stream;

static uint32_t next_word(word_stream *ws)
{
    if (ws->used == 4) {
        clg_philox4x32(ws->ctr, ws->key, ws->buf);
        ws->ctr[0]++; /* n <= 2^32 needs far fewer than 2^32 blocks */
        ws->used = 0;
    }
    return ws->buf[ws->used++];
}

/* Uniform in [0, range), unbiased. */
static uint32_t uniform_below(word_stream *ws, uint32_t range)
{
    uint64_t m = (uint64_t)next_word(ws) * range;
    if ((uint32_t)m < range) {
        uint32_t threshold = (uint32_t)(-range) % range;
        while ((uint32_t)m < threshold) m = (uint64_t)next_word(ws) * range;
    }
    return (uint32_t)(m >> 32);
}

void clg_philox_permutation(uint32_t *order, size_t n, uint64_t seed, uint64_t stream, uint32_t tag)
{
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    word_stream ws = {.ctr = {0, (uint32_t)stream, (uint32_t)(stream >> 32), tag},
                      .key = {(uint32_t)seed, (uint32_t)(seed >> 32)},
                      .used = 4};
    /* Position i takes a uniform pick among the i+1 not yet placed. */
    for (size_t i = n ? n - 1 : 0; i > 0; i--) {
        uint32_t j = uniform_below(&ws, (uint32_t)(i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}
