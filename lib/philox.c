/* Host twin of cl/common.cl's Philox4x32-10, and normal samples by Box–Muller. */
#include <math.h>

#include "internal.h"

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

float clg_philox_u01(uint32_t u) { return ((float)(u >> 8) + 0.5f) * (1.0f / 16777216.0f); }

void clg_philox_normal(uint64_t seed, uint32_t stream, float std, float *out, size_t n)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t base = 0; base < n; base += 4) {
        uint32_t ctr[4] = {(uint32_t)(base / 4), stream, 0, 0}, u[4];
        clg_philox4x32(ctr, key, u);
        float z[4];
        for (int p = 0; p < 4; p += 2) {
            double r = sqrt(-2.0 * log((double)clg_philox_u01(u[p])));
            double a = two_pi * (double)clg_philox_u01(u[p + 1]);
            z[p] = (float)(r * cos(a));
            z[p + 1] = (float)(r * sin(a));
        }
        for (size_t j = 0; j < 4 && base + j < n; j++) out[base + j] = std * z[j];
    }
}
