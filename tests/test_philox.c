/* Philox4x32-10: Random123's known answers, host vs device agreement through the
 * synthetic_linear kernel, and the statistics of the normal sampler. */
#include <math.h>

#include "helpers.h"
#include "internal.h"

static void expect_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4])
{
    uint32_t got[4];
    clg_philox4x32(ctr, key, got);
    for (int k = 0; k < 4; k++)
        cr_expect_eq(got[k], want[k], "word %d: got 0x%08x, Random123 says 0x%08x", k, got[k],
                     want[k]);
}

Test(philox, random123_known_answers)
{
    const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    const uint32_t w0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    expect_kat(c0, k0, w0);
    const uint32_t c1[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t k1[2] = {0xffffffff, 0xffffffff};
    const uint32_t w1[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    expect_kat(c1, k1, w1);
    const uint32_t c2[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t k2[2] = {0xa4093822, 0x299f31d0};
    const uint32_t w2[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    expect_kat(c2, k2, w2);
}

Test(philox, u01_is_open_interval_and_exact)
{
    cr_expect_eq(clg_philox_u01(0u), 0x1p-25f, "u01(0) = 2^-25");
    cr_expect_eq(clg_philox_u01(0x7fffffffu), 0.5f - 0x1p-25f, "u01(2^31-1) = 1/2 - 2^-25");
    /* From 1/2 up the float cannot hold the + 1/2 cell offset: ties go to even, so
     * the top value is 1 (harmless: log(1) = 0, cos(2pi) = 1). */
    cr_expect_eq(clg_philox_u01(0x80000000u), 0.5f, "u01(2^31) = 1/2 (tie to even)");
    cr_expect_eq(clg_philox_u01(0x80000100u), 0.5f + 0x1p-23f, "u01(2^31+2^8) (tie to even)");
    cr_expect_eq(clg_philox_u01(0xffffffffu), 1.0f, "u01(max) rounds to 1");
    for (uint32_t k = 1; k < 2000; k++) {
        uint32_t u = k * 2147483u + 12345u;
        float v = clg_philox_u01(u);
        cr_assert(v > 0.0f && fabs(v - ((u >> 8) + 0.5) / 16777216.0) <= 0x1p-25,
                  "u01(0x%08x) = %.9g is within half a cell of its cell's centre", u, (double)v);
    }
    cr_expect_eq(clg_philox_u01(0x000000ffu), 0x1p-25f, "low 8 bits are dropped");
}

/* Independent double reference of sample i of (seed, stream): see lib/philox.c. */
static double ref_normal(uint64_t seed, uint32_t stream, uint64_t i)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint64_t blk = i / 4;
    const uint32_t ctr[4] = {(uint32_t)blk, stream, (uint32_t)(blk >> 32), 0};
    uint32_t w[4];
    clg_philox4x32(ctr, key, w);
    unsigned p = (unsigned)(i % 4) / 2;
    /* The float formula of clg_u01, whose + 0.5f rounds for the top half. */
    double u1 = (double)(((float)(w[2 * p] >> 8) + 0.5f) * 0x1p-24f);
    double u2 = (double)(((float)(w[2 * p + 1] >> 8) + 0.5f) * 0x1p-24f);
    double r = sqrt(-2.0 * log(u1)), t = 6.283185307179586477 * u2;
    return i % 2 == 0 ? r * cos(t) : r * sin(t);
}

#define REL_TOL 1e-5
#define ABS_FLOOR 1e-6

Test(philox, host_normal_matches_reference)
{
    const size_t n = 1003; /* not a multiple of 4: the tail block is partial */
    float *z = malloc(n * sizeof *z);
    clg_philox_normal(0x0123456789abcdefULL, 7u, 2.5f, z, n);
    for (size_t i = 0; i < n; i++) {
        double ref = 2.5 * ref_normal(0x0123456789abcdefULL, 7u, i);
        cr_assert(fabs(z[i] - ref) <= 1e-6 * fabs(ref) + 1e-7,
                  "sample %zu: %.9g vs reference %.9g (tolerance 1e-6 rel + 1e-7 abs: one float "
                  "rounding)",
                  i, (double)z[i], ref);
    }
    free(z);
}

/* synthetic_linear with noise 0 writes the device's stream-0 normals into X. */
Test(philox, device_normals_match_host_reference)
{
    clg_context *ctx = test_context();
    const size_t n = 4099, d = 3; /* n*d = 12297: rows straddle Philox blocks */
    const uint64_t seed = 0xfedcba9876543210ULL;
    const float w[3] = {1.0f, -2.0f, 0.5f};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, 0.0f, 0.0f, seed, &ds));
    float *X = malloc(n * d * sizeof *X);
    float *h = malloc(n * d * sizeof *h);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, NULL));
    clg_philox_normal(seed, 0u, 1.0f, h, n * d);
    double worst = 0.0;
    size_t bit_equal = 0;
    for (size_t e = 0; e < n * d; e++) {
        double ref = ref_normal(seed, 0u, e);
        double err = fabs((double)X[e] - ref);
        cr_assert(err <= REL_TOL * fabs(ref) + ABS_FLOOR,
                  "X element %zu: device %.9g vs host reference %.9g (tolerance %g rel + %g abs)",
                  e, (double)X[e], ref, REL_TOL, ABS_FLOOR);
        cr_assert(fabs((double)X[e] - h[e]) <= REL_TOL * fabs(ref) + ABS_FLOOR,
                  "X element %zu: device %.9g vs clg_philox_normal %.9g", e, (double)X[e],
                  (double)h[e]);
        if (err > worst) worst = err;
        bit_equal += X[e] == h[e];
    }
    /* Same integers, float log/cos: most samples round to the same float. */
    cr_expect(bit_equal > n * d / 4, "only %zu of %zu samples bit-equal to the host's", bit_equal,
              n * d);
    cr_log_info("device vs host normals: max abs error %.3g over %zu samples, %zu bit-equal", worst,
                n * d, bit_equal);
    free(X);
    free(h);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

static void moments(const float *z, size_t n, double *mean, double *var)
{
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) s += z[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) ss += (z[i] - *mean) * (z[i] - *mean);
    *var = ss / (double)(n - 1);
}

/* 5 standard errors: mean of N(0, s²) has s.e. s/sqrt(n), variance has s²·sqrt(2/(n-1)). */
Test(philox, normal_moments_within_five_standard_errors)
{
    const size_t n = 400000;
    float *z = malloc(n * sizeof *z);
    const float stds[2] = {1.0f, 3.0f};
    for (int k = 0; k < 2; k++) {
        double s = stds[k], mean, var;
        clg_philox_normal(42u + (uint64_t)k, 0u, stds[k], z, n);
        moments(z, n, &mean, &var);
        double mean_bound = 5.0 * s / sqrt((double)n);
        double var_bound = 5.0 * s * s * sqrt(2.0 / (double)(n - 1));
        cr_expect(fabs(mean) < mean_bound, "std %g: mean %.5f, bound +-%.5f", s, mean, mean_bound);
        cr_expect(fabs(var - s * s) < var_bound, "std %g: variance %.5f vs %.5f, bound +-%.5f", s,
                  var, s * s, var_bound);
        /* Tails: P(|z| > 3s) = 0.0027, binomial s.e. sqrt(p(1-p)/n). */
        size_t beyond = 0;
        for (size_t i = 0; i < n; i++) beyond += fabs(z[i]) > 3.0 * s;
        double p = (double)beyond / (double)n, p_bound = 5.0 * sqrt(0.0027 * 0.9973 / (double)n);
        cr_expect(fabs(p - 0.0026998) < p_bound, "std %g: P(|z|>3s) = %.5f, want 0.0027 +- %.5f", s,
                  p, p_bound);
    }
    free(z);
}

Test(philox, device_normal_moments_within_five_standard_errors)
{
    clg_context *ctx = test_context();
    const size_t n = 100000, d = 2;
    const float w[2] = {2.0f, -3.4f};
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 1.0f, 7u, &ds));
    float *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, y));
    double mean, var;
    moments(X, n * d, &mean, &var);
    double mb = 5.0 / sqrt((double)(n * d)), vb = 5.0 * sqrt(2.0 / (double)(n * d - 1));
    cr_expect(fabs(mean) < mb, "device X mean %.5f, bound +-%.5f", mean, mb);
    cr_expect(fabs(var - 1.0) < vb, "device X variance %.5f, bound 1 +- %.5f", var, vb);
    /* Residual y - X*w - b is the noise draw: N(0, 1) here. */
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(y[i] - (X[2 * i] * 2.0 - X[2 * i + 1] * 3.4 + 4.2));
    moments(y, n, &mean, &var);
    mb = 5.0 / sqrt((double)n);
    vb = 5.0 * sqrt(2.0 / (double)(n - 1));
    cr_expect(fabs(mean) < mb, "noise mean %.5f, bound +-%.5f", mean, mb);
    cr_expect(fabs(var - 1.0) < vb, "noise variance %.5f, bound 1 +- %.5f", var, vb);
    free(X);
    free(y);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
