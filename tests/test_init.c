/* Weight initialisers (clg_init_kind, lib/nn/init.c, clg_philox_uniform): each kind's sample
 * mean, variance and bounds against its formula on a large layer, PHM layers' W variance,
 * per-layer kinds, seed reproducibility, the old default kept bit for bit, refusals. */
#include "ref.h"

typedef struct moments {
    double mean, var, max_abs;
} moments;

static moments moments_of(const float *v, size_t n)
{
    moments m = {0, 0, 0};
    for (size_t i = 0; i < n; i++) m.mean += v[i];
    m.mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - m.mean;
        m.var += d * d;
        m.max_abs = fmax(m.max_abs, fabs(v[i]));
    }
    m.var /= (double)(n - 1);
    return m;
}

/* The kind's weight variance and family for a layer d → q (docs/layers.md). */
static double kind_var(clg_init_kind k, size_t d, size_t q, double std, int *uniform)
{
    *uniform = k == CLG_INIT_TORCH || k == CLG_INIT_XAVIER_UNIFORM || k == CLG_INIT_KAIMING_UNIFORM;
    switch (k) {
    case CLG_INIT_TORCH:
        return 1.0 / (3.0 * (double)d);
    case CLG_INIT_XAVIER_UNIFORM:
    case CLG_INIT_XAVIER_NORMAL:
        return 2.0 / (double)(d + q);
    case CLG_INIT_KAIMING_UNIFORM:
    case CLG_INIT_KAIMING_NORMAL:
        return 2.0 / (double)d;
    default:
        return std * std;
    }
}

static const char *const kind_names[] = {"normal",        "torch",           "xavier uniform",
                                         "xavier normal", "kaiming uniform", "kaiming normal"};

/* n samples of variance var: mean within 5·σ/√n, variance within 5 standard errors of the
 * sample variance (σ²·√(2/n) for a normal law, σ²·√(0.8/n) for a uniform one), and for a
 * uniform law every |w| <= a = √(3·var) (plus float rounding) with the largest above
 * a·(1 − 10/n). */
static void expect_law(const float *v, size_t n, double var, int uniform, const char *what)
{
    moments m = moments_of(v, n);
    const double sd = sqrt(var), mean_tol = 5 * sd / sqrt((double)n);
    const double var_tol = 5 * var * sqrt((uniform ? 0.8 : 2.0) / (double)n);
    cr_expect(fabs(m.mean) <= mean_tol, "%s: mean %.3g, want 0 (tol 5σ/√n = %.3g, n %zu)", what,
              m.mean, mean_tol, n);
    cr_expect(fabs(m.var - var) <= var_tol,
              "%s: variance %.6g, want %.6g (tol 5 standard errors = %.3g, n %zu)", what, m.var,
              var, var_tol, n);
    if (uniform) {
        const double a = sqrt(3 * var);
        cr_expect(m.max_abs <= a * (1 + 1e-6), "%s: max |w| %.9g beyond the bound %.9g", what,
                  m.max_abs, a);
        cr_expect(m.max_abs > a * (1 - 10.0 / (double)n),
                  "%s: max |w| %.6g, the bound %.6g is nearly reached (P(fail) = e^-10)", what,
                  m.max_abs, a);
    } else {
        cr_expect(m.max_abs > 3.5 * sd, "%s: a normal law has tails (max |w| %.3g, σ %.3g)", what,
                  m.max_abs, sd);
    }
}

static float *param_of(clg_context *ctx, const clg_model *m, size_t k, size_t *count)
{
    clg_param_info info;
    CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, k, &info));
    *count = info.rows * info.cols;
    float *v = malloc(*count * sizeof *v);
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, k, v, *count));
    return v;
}

/* Linear(400→300): 120000 weights of each kind; bias zero but for torch's U(±1/√400). */
Test(init, linear_kinds_follow_their_formulas)
{
    enum { DIN = 400, DOUT = 300 };
    clg_context *ctx = test_context();
    char what[128];
    for (int k = CLG_INIT_NORMAL; k <= CLG_INIT_KAIMING_NORMAL; k++) {
        clg_linear_init init = clg_linear_init_defaults();
        init.kind = (clg_init_kind)k;
        init.seed = 100 + (uint64_t)k;
        init.weight_std = 0.05f;
        clg_model *m;
        CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, DIN, DOUT, &init));
        size_t nw, nb;
        float *W = param_of(ctx, m, 0, &nw), *b = param_of(ctx, m, 1, &nb);
        int uniform;
        double var = kind_var(init.kind, DIN, DOUT, 0.05, &uniform);
        snprintf(what, sizeof what, "Linear(400→300) %s W", kind_names[k]);
        expect_law(W, nw, var, uniform, what);
        if (k == CLG_INIT_TORCH) {
            moments mb = moments_of(b, nb);
            const double bound = 1 / sqrt((double)DIN);
            cr_expect(mb.max_abs <= bound * (1 + 1e-6) && mb.max_abs > 0.9 * bound,
                      "torch bias within U(±1/√in) = ±%g: max %g", bound, mb.max_abs);
            cr_expect(fabs(mb.var - bound * bound / 3) <= 5 * bound * bound / 3 * sqrt(0.8 / nb),
                      "torch bias variance %g, want %g (5 standard errors, n 300)", mb.var,
                      bound * bound / 3);
        } else {
            for (size_t i = 0; i < nb; i++)
                cr_expect_eq(b[i], 0.0f, "%s: bias %zu is zero", kind_names[k], i);
        }
        free(W);
        free(b);
        clg_model_destroy(m);
    }
    clg_context_destroy(ctx);
}

/* The default kind draws exactly what clgrad drew before the kinds existed: layer i's W is
 * clg_philox_normal(seed + i, CLG_STREAM_INIT, weight_std), so existing seeds keep their
 * models. Each layer draws from seed + its index, whatever the kind. */
Test(init, normal_is_unchanged_and_layers_use_seed_plus_index)
{
    clg_context *ctx = test_context();
    clg_model *m, *one;
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = 5;
    init.weight_std = 0.3f;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 10, 12, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 12, 12, &init));
    size_t n;
    float *W0 = param_of(ctx, m, 0, &n), want[144];
    clg_philox_normal(5, CLG_STREAM_INIT, 0.3f, want, 120);
    cr_expect_eq(memcmp(W0, want, 120 * sizeof(float)), 0, "layer 0: philox_normal(seed 5)");
    float *W2 = param_of(ctx, m, 2, &n);
    clg_philox_normal(5 + 2, CLG_STREAM_INIT, 0.3f, want, 144);
    cr_expect_eq(memcmp(W2, want, 144 * sizeof(float)), 0, "layer 2: philox_normal(seed 5 + 2)");
    /* Layer 2 of seed 5 is layer 0 of seed 7, for another kind too. */
    init.kind = CLG_INIT_KAIMING_UNIFORM;
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 12, 12, &init)); /* layer 4: seed 9 */
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &one));
    init.seed = 9;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(one, 12, 12, &init));
    float *W4 = param_of(ctx, m, 4, &n), *Wone = param_of(ctx, one, 0, &n);
    cr_expect_eq(memcmp(W4, Wone, 144 * sizeof(float)), 0, "layer 4 of seed 5 = layer 0 of seed 9");
    free(W0);
    free(W2);
    free(W4);
    free(Wone);
    clg_model_destroy(m);
    clg_model_destroy(one);
    clg_context_destroy(ctx);
}

/* The same seed gives bit-identical parameters, another seed others, for every kind and
 * for PHM layers. */
Test(init, seeds_reproduce)
{
    clg_context *ctx = test_context();
    for (int k = CLG_INIT_NORMAL; k <= CLG_INIT_KAIMING_NORMAL; k++) {
        float *p[3][6];
        for (int r = 0; r < 3; r++) {
            clg_linear_init init = clg_linear_init_defaults();
            init.kind = (clg_init_kind)k;
            init.seed = r == 2 ? 12 : 11;
            clg_model *m;
            CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
            CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 20, 9, &init));
            CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 9, 6, 3, &init));
            for (size_t i = 0; i < 5; i++) {
                size_t n;
                p[r][i] = param_of(ctx, m, i, &n);
            }
            clg_model_destroy(m);
        }
        const size_t count[5] = {180, 9, 27, 18, 6};
        for (size_t i = 0; i < 5; i++) {
            cr_expect_eq(memcmp(p[0][i], p[1][i], count[i] * sizeof(float)), 0,
                         "%s: parameter %zu identical for the same seed", kind_names[k], i);
            int zero_bias = (i == 1 || i == 4) && k != CLG_INIT_TORCH;
            if (!zero_bias)
                cr_expect_neq(memcmp(p[0][i], p[2][i], count[i] * sizeof(float)), 0,
                              "%s: parameter %zu differs for another seed", kind_names[k], i);
        }
        for (int r = 0; r < 3; r++)
            for (size_t i = 0; i < 5; i++) free(p[r][i]);
    }
    clg_context_destroy(ctx);
}

/* W of a PHM layer = Σ_i A_i ⊗ S_i of n products: A has variance 1/n and S the Linear's,
 * so W has the Linear's variance. A has only n³ values, so one layer's sample variance of W
 * swings with them (≈ ±18% for n = 4): averaged over 64 seeds of PHM(64→48, n=4) (host
 * draws, lib/nn/init.c), the mean variance is within 5 standard errors (estimated from the
 * 64 values) of the formula. One large layer through clg_model_add_phm: S's variance
 * (12288 values, as in expect_law) and A's (64 values: tol 5·√(2/64)/n for the normal law,
 * 5·√(0.8/64)/n for the uniform one). */
Test(init, phm_weights_have_the_linear_variance)
{
    enum { DIN = 64, DOUT = 48, N = 4, SEEDS = 64 };
    const size_t nA = N * N * N, dn = DIN / N, qn = DOUT / N, nS = N * dn * qn;
    float A[64], S[4 * 16 * 12], b[DOUT];
    char what[128];
    for (int k = CLG_INIT_NORMAL; k <= CLG_INIT_KAIMING_NORMAL; k++) {
        clg_linear_init init = clg_linear_init_defaults();
        init.kind = (clg_init_kind)k;
        init.weight_std = 0.05f;
        int uniform;
        const double var = kind_var(init.kind, DIN, DOUT, 0.05, &uniform);
        double v[SEEDS], mean = 0, spread = 0;
        for (int s = 0; s < SEEDS; s++) {
            init.seed = 1000 * (uint64_t)s;
            cr_assert_eq(clg_nn_init_phm(&init, 0, DIN, DOUT, N, A, nA, S, nS, b), 0);
            float W[DIN * DOUT];
            for (size_t j = 0; j < DIN; j++)
                for (size_t c = 0; c < DOUT; c++) {
                    double w = 0;
                    for (size_t i = 0; i < N; i++)
                        w += (double)A[(i * N + j / dn) * N + c / qn] *
                             S[(i * dn + j % dn) * qn + c % qn];
                    W[j * DOUT + c] = (float)w;
                }
            v[s] = moments_of(W, DIN * DOUT).var;
            mean += v[s] / SEEDS;
        }
        for (int s = 0; s < SEEDS; s++) spread += (v[s] - mean) * (v[s] - mean) / (SEEDS - 1);
        const double tol = 5 * sqrt(spread / SEEDS);
        cr_expect(fabs(mean - var) <= tol,
                  "PHM(64→48, n=4) %s: mean Var(W) over %d seeds %.6g, want %.6g (tol %.3g)",
                  kind_names[k], SEEDS, mean, var, tol);
    }
    clg_context *ctx = test_context();
    for (int k = CLG_INIT_NORMAL; k <= CLG_INIT_KAIMING_NORMAL; k++) {
        clg_linear_init init = clg_linear_init_defaults();
        init.kind = (clg_init_kind)k;
        init.seed = 77;
        clg_model *m;
        CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
        CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 256, 192, N, &init));
        size_t na, ns, nb;
        float *pA = param_of(ctx, m, 0, &na), *pS = param_of(ctx, m, 1, &ns),
              *pb = param_of(ctx, m, 2, &nb);
        int uniform;
        const double var = kind_var(init.kind, 256, 192, 0.01, &uniform);
        snprintf(what, sizeof what, "PHM(256→192, n=4) %s S", kind_names[k]);
        expect_law(pS, ns, var, uniform, what);
        moments ma = moments_of(pA, na);
        const double atol = 5 * sqrt((uniform ? 0.8 : 2.0) / (double)na) / N;
        cr_expect(fabs(ma.var - 1.0 / N) <= atol, "%s A: variance %.4g, want 1/n = %.4g (tol %.3g)",
                  kind_names[k], ma.var, 1.0 / N, atol);
        if (uniform)
            cr_expect(ma.max_abs <= sqrt(3.0 / N) * (1 + 1e-6), "%s A within ±√(3/n)",
                      kind_names[k]);
        for (size_t i = 0; i < nb && k != CLG_INIT_TORCH; i++)
            cr_expect_eq(pb[i], 0.0f, "%s: PHM bias zero", kind_names[k]);
        if (k == CLG_INIT_TORCH)
            cr_expect(moments_of(pb, nb).max_abs <= 1 / sqrt(256.0) * (1 + 1e-6) &&
                          moments_of(pb, nb).var > 0,
                      "torch: PHM bias in U(±1/√in)");
        free(pA);
        free(pS);
        free(pb);
        clg_model_destroy(m);
    }
    clg_context_destroy(ctx);
}

/* Each add call takes its own init: Linear(300→200, kaiming normal) · ReLU ·
 * Linear(200→100, xavier uniform) · ReLU · Linear(100→10, torch), each layer following its
 * own formula (tolerances as in expect_law). */
Test(init, kinds_are_per_layer)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    const clg_init_kind kinds[3] = {CLG_INIT_KAIMING_NORMAL, CLG_INIT_XAVIER_UNIFORM,
                                    CLG_INIT_TORCH};
    const size_t width[4] = {300, 200, 100, 10};
    for (size_t l = 0; l < 3; l++) {
        clg_linear_init init = clg_linear_init_defaults();
        init.kind = kinds[l];
        init.seed = 8;
        if (l) CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
        CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, width[l], width[l + 1], &init));
    }
    char what[96];
    for (size_t l = 0; l < 3; l++) {
        size_t n;
        float *W = param_of(ctx, m, 2 * l, &n);
        int uniform;
        double var = kind_var(kinds[l], width[l], width[l + 1], 0, &uniform);
        snprintf(what, sizeof what, "layer %zu (%s, %zu→%zu)", 2 * l, kind_names[kinds[l]],
                 width[l], width[l + 1]);
        expect_law(W, n, var, uniform, what);
        free(W);
    }
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* clg_philox_uniform: values in (lo, hi], one word a sample (sample i+1 does not depend on
 * how many were asked), mean and variance of U(lo, hi) (tolerances as in expect_law). */
Test(init, philox_uniform)
{
    enum { N = 100000 };
    float *v = malloc(N * sizeof *v), w[7];
    clg_philox_uniform(3, CLG_STREAM_INIT, -2.0f, 6.0f, v, N);
    clg_philox_uniform(3, CLG_STREAM_INIT, -2.0f, 6.0f, w, 7);
    cr_expect_eq(memcmp(v, w, sizeof w), 0, "a prefix is the same draw");
    double lo = 1e9, hi = -1e9, mean = 0;
    for (size_t i = 0; i < N; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
        v[i] -= 2.0f; /* centred */
    }
    cr_expect(lo > -2.0 && hi <= 6.0, "in (-2, 6]: %g .. %g", lo, hi);
    cr_expect(lo < -1.99 && hi > 5.99, "both ends reached: %g .. %g", lo, hi);
    moments m = moments_of(v, N);
    mean = m.mean;
    cr_expect(fabs(mean) < 5 * sqrt(64.0 / 12 / N), "mean %g, want 2", mean + 2);
    cr_expect(fabs(m.var - 64.0 / 12) < 5 * 64.0 / 12 * sqrt(0.8 / N), "variance %g, want %g",
              m.var, 64.0 / 12);
    free(v);
}

/* Refused: an unknown kind, a bad weight_std, a struct not from the defaults; a caller
 * built against the first clg_linear_init (no kind field) still works and gets normal. */
Test(init, refusals_and_the_first_struct)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    cr_expect_eq(init.kind, CLG_INIT_NORMAL, "the default kind is normal");
    init.kind = (clg_init_kind)6;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, 4, 3, &init), CLG_ERR_INVALID_ARGUMENT,
                   "init kind 6: unknown init kind", "clg_linear_init.kind 6");
    init.kind = (clg_init_kind)-1;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, 4, 3, &init), CLG_ERR_INVALID_ARGUMENT,
                   "init kind -1: unknown init kind", "clg_linear_init.kind -1");
    init = clg_linear_init_defaults();
    init.weight_std = NAN;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, 4, 3, &init), CLG_ERR_INVALID_ARGUMENT,
                   "weight_std must be finite and >= 0", "clg_linear_init.weight_std NaN");
    init = clg_linear_init_defaults();
    init.kind = CLG_INIT_XAVIER_NORMAL;
    init.weight_std = -1.0f;
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 4, 3, 2, &init), CLG_ERR_INVALID_ARGUMENT,
                   "weight_std -1", "PHM clg_linear_init.weight_std -1");
    init = clg_linear_init_defaults();
    init.struct_size = 8;
    EXPECT_REFUSED(ctx, clg_model_add_linear(m, 4, 3, &init), CLG_ERR_INVALID_ARGUMENT,
                   "struct_size 8: start from clg_linear_init_defaults()",
                   "clg_linear_init.struct_size 8");
    cr_expect_eq(clg_model_layer_count(m), 0u);
    /* The first release's struct ends at bias: whatever lies after it is not read. */
    init = clg_linear_init_defaults();
    init.struct_size = offsetof(clg_linear_init, kind);
    init.kind = (clg_init_kind)99;
    init.seed = 4;
    init.weight_std = 0.2f;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 4, 3, &init));
    size_t n;
    float *W = param_of(ctx, m, 0, &n), want[12];
    clg_philox_normal(4, CLG_STREAM_INIT, 0.2f, want, 12);
    cr_expect_eq(memcmp(W, want, sizeof want), 0, "an old caller gets the normal kind");
    free(W);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}
