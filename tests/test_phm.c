/* The PHM layer (lib/nn/phm.c, lib/ops/phm.c, cl/phm.cl): forward against a double
 * reference that builds W by the Kronecker formulation, gradients of A, S, the bias and
 * the input inside an MLP against double backprop and central finite differences,
 * divisible and padded shapes, n = 1, 2, 4, checkpoints (the argument in the kind word),
 * refused arguments, and a short training run on the wine data. */
#include "ref.h"

#define U32_EPS 5.96e-8 /* unit roundoff of float */

typedef struct phm_shape {
    size_t d, q, n, dn, qn;
} phm_shape;

static phm_shape shape_of(size_t d, size_t q, size_t n)
{
    phm_shape s = {d, q, n, (d + n - 1) / n, (q + n - 1) / n};
    return s;
}

static size_t count_a(const phm_shape *s) { return s->n * s->n * s->n; }
static size_t count_s(const phm_shape *s) { return s->n * s->dn * s->qn; }

/* W (d×q) = top-left block of Σ_i kron(A_i, S_i), the Kronecker product written out on the
 * padded n·dn × n·qn grid; absW (may be NULL) gets Σ_i |A_i ⊗ S_i| for error bounds. */
static void ref_build(const phm_shape *s, const double *A, const double *S, double *W, double *absW)
{
    const size_t R = s->n * s->dn, C = s->n * s->qn;
    double *K = calloc(R * C, sizeof *K), *Ka = calloc(R * C, sizeof *Ka);
    cr_assert(K && Ka);
    for (size_t i = 0; i < s->n; i++) {
        const double *Ai = A + i * s->n * s->n, *Si = S + i * s->dn * s->qn;
        for (size_t r = 0; r < s->n; r++)
            for (size_t c = 0; c < s->n; c++)
                for (size_t a = 0; a < s->dn; a++)
                    for (size_t b = 0; b < s->qn; b++) {
                        double v = Ai[r * s->n + c] * Si[a * s->qn + b];
                        K[(r * s->dn + a) * C + c * s->qn + b] += v;
                        Ka[(r * s->dn + a) * C + c * s->qn + b] += fabs(v);
                    }
    }
    for (size_t j = 0; j < s->d; j++)
        for (size_t k = 0; k < s->q; k++) {
            W[j * s->q + k] = K[j * C + k];
            if (absW) absW[j * s->q + k] = Ka[j * C + k];
        }
    free(K);
    free(Ka);
}

/* dA, dS from dW (d×q) by the chain rule through the padded grid (dW zero outside d×q). */
static void ref_factor_grads(const phm_shape *s, const double *A, const double *S, const double *dW,
                             double *dA, double *dS)
{
    const size_t n = s->n;
    memset(dA, 0, count_a(s) * sizeof *dA);
    memset(dS, 0, count_s(s) * sizeof *dS);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < n; c++)
                for (size_t a = 0; a < s->dn; a++)
                    for (size_t b = 0; b < s->qn; b++) {
                        size_t j = r * s->dn + a, k = c * s->qn + b;
                        if (j >= s->d || k >= s->q) continue;
                        double g = dW[j * s->q + k];
                        dA[(i * n + r) * n + c] += S[(i * s->dn + a) * s->qn + b] * g;
                        dS[(i * s->dn + a) * s->qn + b] += A[(i * n + r) * n + c] * g;
                    }
}

static void to_double(const float *f, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = f[i];
}

/* A model of one PHM(d→q, n) layer with A, S, b set from host. */
static clg_model *phm_model(clg_context *ctx, const phm_shape *s, const float *A, const float *S,
                            const float *b)
{
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, s->d, s->q, s->n, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 0, A, count_a(s)));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 1, S, count_s(s)));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 2, b, s->q));
    return m;
}

/* Forward on divisible and padded shapes: Y against X·W + b with W from ref_build.
 * Tolerance: the float error bound of the two sums, (d + n + 1)·u·Σ|x|·|A⊗S| + |b|·u,
 * doubled. Output buffer guarded (ref_read). */
Test(phm, forward_matches_kronecker_reference)
{
    const size_t shapes[][3] = {
        {8, 6, 2},   /* divisible */
        {7, 5, 1},   /* n = 1: a Linear times a scalar */
        {13, 3, 4},  /* wine: inputs padded to 16, outputs to 4 */
        {64, 10, 4}, /* digits: outputs padded to 12 */
        {10, 7, 4},  /* both padded, a whole block row of padding (rows 10, 11) */
        {3, 9, 4},   /* n > in */
    };
    enum { B = 9 };
    clg_context *ctx = test_context();
    uint64_t seed = 17;
    char what[160];
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        phm_shape s = shape_of(shapes[t][0], shapes[t][1], shapes[t][2]);
        float *A = ref_random(&seed, count_a(&s), -1, 1),
              *S = ref_random(&seed, count_s(&s), -1, 1);
        float *b = ref_random(&seed, s.q, -0.5f, 0.5f), *X = ref_random(&seed, B * s.d, -1, 1);
        clg_model *m = phm_model(ctx, &s, A, S, b);
        clg_tensor *tX;
        CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, B, s.d, &tX));
        const clg_tensor *out;
        CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tX, &out));
        float *Y = malloc(B * s.q * sizeof *Y);
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(out, Y, B, s.q));
        double *Ad = malloc(count_a(&s) * sizeof *Ad), *Sd = malloc(count_s(&s) * sizeof *Sd);
        double *W = malloc(s.d * s.q * sizeof *W), *absW = malloc(s.d * s.q * sizeof *W);
        to_double(A, Ad, count_a(&s));
        to_double(S, Sd, count_s(&s));
        ref_build(&s, Ad, Sd, W, absW);
        for (size_t r = 0; r < B; r++)
            for (size_t k = 0; k < s.q; k++) {
                double y = b[k], bound = fabs(b[k]);
                for (size_t j = 0; j < s.d; j++) {
                    y += (double)X[r * s.d + j] * W[j * s.q + k];
                    bound += fabs(X[r * s.d + j]) * absW[j * s.q + k];
                }
                double tol = 2.0 * (double)(s.d + s.n + 1) * U32_EPS * bound;
                snprintf(what, sizeof what, "PHM(%zu→%zu, n=%zu) Y[%zu][%zu] (tol %.2g)", s.d, s.q,
                         s.n, r, k, tol);
                EXPECT_CLOSE(Y[r * s.q + k], y, tol, what);
            }
        clg_tensor_destroy(tX);
        clg_model_destroy(m);
        free(A);
        free(S);
        free(b);
        free(X);
        free(Y);
        free(Ad);
        free(Sd);
        free(W);
        free(absW);
    }
    clg_context_destroy(ctx);
}

/* The kernels alone, with guard zones after every output: phm_build writes d·q values,
 * the gradient kernels n³ and n·dn·qn (tolerances as in the forward test). */
Test(phm, kernels_stay_in_bounds_and_match_reference)
{
    clg_context *ctx = test_context();
    uint64_t seed = 99;
    phm_shape s = shape_of(10, 7, 4);
    const size_t nA = count_a(&s), nS = count_s(&s), dq = s.d * s.q;
    float *A = ref_random(&seed, nA, -1, 1), *S = ref_random(&seed, nS, -1, 1);
    float *dW = ref_random(&seed, dq, -1, 1);
    cl_mem mA = ref_buffer(ctx, A, nA), mS = ref_buffer(ctx, S, nS), mdW = ref_buffer(ctx, dW, dq);
    cl_mem mW = ref_buffer(ctx, NULL, dq), mdA = ref_buffer(ctx, NULL, nA),
           mdS = ref_buffer(ctx, NULL, nS);
    CLG_OK_OR_FAIL(ctx, clg_op_phm_build(ctx, mA, mS, mW, s.d, s.q, s.n));
    CLG_OK_OR_FAIL(ctx, clg_op_phm_grad(ctx, mA, mS, mdW, mdA, mdS, s.d, s.q, s.n));
    float *W = malloc(dq * sizeof *W), *gA = malloc(nA * sizeof *gA), *gS = malloc(nS * sizeof *gS);
    ref_read(ctx, mW, W, dq, "phm_build W");
    ref_read(ctx, mdA, gA, nA, "phm_grad_a dA");
    ref_read(ctx, mdS, gS, nS, "phm_grad_s dS");
    double *Ad = malloc(nA * sizeof *Ad), *Sd = malloc(nS * sizeof *Sd), *dWd = malloc(dq * 8);
    double *Wr = malloc(dq * 8), *absW = malloc(dq * 8), *rA = malloc(nA * 8), *rS = malloc(nS * 8);
    to_double(A, Ad, nA);
    to_double(S, Sd, nS);
    to_double(dW, dWd, dq);
    ref_build(&s, Ad, Sd, Wr, absW);
    ref_factor_grads(&s, Ad, Sd, dWd, rA, rS);
    char what[96];
    for (size_t i = 0; i < dq; i++) {
        snprintf(what, sizeof what, "W[%zu] (tol %d·u·Σ|A⊗S|)", i, 2 * 5);
        EXPECT_CLOSE(W[i], Wr[i], 10 * U32_EPS * absW[i] + 1e-12, what);
    }
    /* dA sums dn·qn = 4 terms, dS n² = 16: relative 1e-5 of the terms' magnitude (≤ 1). */
    for (size_t i = 0; i < nA; i++) {
        snprintf(what, sizeof what, "dA[%zu] (tol 1e-5)", i);
        EXPECT_CLOSE(gA[i], rA[i], 1e-5, what);
    }
    for (size_t i = 0; i < nS; i++) {
        snprintf(what, sizeof what, "dS[%zu] (tol 1e-5)", i);
        EXPECT_CLOSE(gS[i], rS[i], 1e-5, what);
    }
    /* PHM(5→4, n=4): dn = 2, so block row 3 (padded rows 6, 7) lies wholly in the padding:
     * its A entries never reach W and get gradient 0. */
    phm_shape p = shape_of(5, 4, 4);
    cr_assert_eq(p.dn * 3, 6u);
    cl_mem pA = ref_buffer(ctx, A, count_a(&p)), pS = ref_buffer(ctx, S, count_s(&p));
    cl_mem pdW = ref_buffer(ctx, dW, p.d * p.q), pdA = ref_buffer(ctx, NULL, count_a(&p)),
           pdS = ref_buffer(ctx, NULL, count_s(&p));
    CLG_OK_OR_FAIL(ctx, clg_op_phm_grad(ctx, pA, pS, pdW, pdA, pdS, p.d, p.q, p.n));
    float pgA[64];
    ref_read(ctx, pdA, pgA, count_a(&p), "phm_grad_a dA (5→4, n=4)");
    ref_read(ctx, pdS, NULL, count_s(&p), "phm_grad_s dS (5→4, n=4)");
    for (size_t i = 0; i < p.n; i++)
        for (size_t c = 0; c < p.n; c++)
            cr_expect_eq(pgA[(i * p.n + 3) * p.n + c], 0.0f, "A_%zu[3][%zu] lies in the padding", i,
                         c);
    cl_mem all[] = {mA, mS, mdW, mW, mdA, mdS, pA, pS, pdW, pdA, pdS};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clReleaseMemObject(all[i]);
    free(A);
    free(S);
    free(dW);
    free(W);
    free(gA);
    free(gS);
    free(Ad);
    free(Sd);
    free(dWd);
    free(Wr);
    free(absW);
    free(rA);
    free(rS);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------------------ gradients */

/* Linear(D→H1) · ReLU · PHM(H1→H2, n) · ReLU · Linear(H2→K), mean softmax cross-entropy:
 * the PHM layer in the middle, padded on both sides for n = 2 and 4. */
enum { D = 3, H1 = 7, H2 = 5, K = 4, NB = 6, NPARAM = 7 };
#define MAX_A 64
#define MAX_S 35

typedef struct net {
    phm_shape s;
    double W1[D * H1], b1[H1], A[MAX_A], S[MAX_S], bp[H2], W2[H2 * K], b2[K];
} net;

static double *net_param(net *p, size_t k)
{
    double *ptr[NPARAM] = {p->W1, p->b1, p->A, p->S, p->bp, p->W2, p->b2};
    return ptr[k];
}

static size_t net_count(const net *p, size_t k)
{
    const size_t c[NPARAM] = {D * H1, H1, count_a(&p->s), count_s(&p->s), H2, H2 * K, K};
    return c[k];
}

/* Mean CE on X (NB×D), labels t; pre-activations of both ReLUs to pre1, pre2 (NULL: not
 * wanted); gradients into g and the PHM layer's input gradient into dh1 when not NULL. */
static double ref_net(const net *p, const float *X, const float *t, double *pre1, double *pre2,
                      net *g, double *dh1)
{
    const phm_shape *s = &p->s;
    double Wp[H1 * H2], a1[NB * H1], h1[NB * H1], a2[NB * H2], h2[NB * H2], dz[NB * K];
    double loss = 0;
    ref_build(s, p->A, p->S, Wp, NULL);
    for (size_t i = 0; i < NB; i++) {
        for (size_t j = 0; j < H1; j++) {
            double v = p->b1[j];
            for (size_t k = 0; k < D; k++) v += (double)X[i * D + k] * p->W1[k * H1 + j];
            a1[i * H1 + j] = v;
            h1[i * H1 + j] = v > 0 ? v : 0;
        }
        for (size_t j = 0; j < H2; j++) {
            double v = p->bp[j];
            for (size_t k = 0; k < H1; k++) v += h1[i * H1 + k] * Wp[k * H2 + j];
            a2[i * H2 + j] = v;
            h2[i * H2 + j] = v > 0 ? v : 0;
        }
        double z[K], mx = -INFINITY, se = 0;
        for (size_t c = 0; c < K; c++) {
            z[c] = p->b2[c];
            for (size_t j = 0; j < H2; j++) z[c] += h2[i * H2 + j] * p->W2[j * K + c];
            mx = fmax(mx, z[c]);
        }
        for (size_t c = 0; c < K; c++) se += exp(z[c] - mx);
        size_t lab = (size_t)t[i];
        loss += log(se) + mx - z[lab];
        for (size_t c = 0; c < K; c++) dz[i * K + c] = (exp(z[c] - mx) / se - (c == lab)) / NB;
    }
    if (pre1) memcpy(pre1, a1, sizeof a1);
    if (pre2) memcpy(pre2, a2, sizeof a2);
    if (!g) return loss / NB;
    double dWp[H1 * H2] = {0}, dx[NB * H1] = {0};
    memset(g, 0, sizeof *g);
    g->s = *s;
    for (size_t i = 0; i < NB; i++) {
        double da2[H2];
        for (size_t c = 0; c < K; c++) g->b2[c] += dz[i * K + c];
        for (size_t j = 0; j < H2; j++) {
            double dh2 = 0;
            for (size_t c = 0; c < K; c++) {
                g->W2[j * K + c] += h2[i * H2 + j] * dz[i * K + c];
                dh2 += p->W2[j * K + c] * dz[i * K + c];
            }
            da2[j] = a2[i * H2 + j] > 0 ? dh2 : 0;
            g->bp[j] += da2[j];
        }
        for (size_t k = 0; k < H1; k++) {
            for (size_t j = 0; j < H2; j++) {
                dWp[k * H2 + j] += h1[i * H1 + k] * da2[j];
                dx[i * H1 + k] += Wp[k * H2 + j] * da2[j];
            }
            double da1 = a1[i * H1 + k] > 0 ? dx[i * H1 + k] : 0;
            g->b1[k] += da1;
            for (size_t m = 0; m < D; m++) g->W1[m * H1 + k] += (double)X[i * D + m] * da1;
        }
    }
    ref_factor_grads(s, p->A, p->S, dWp, g->A, g->S);
    if (dh1) memcpy(dh1, dx, sizeof dx);
    return loss / NB;
}

static float device_loss(clg_context *ctx, clg_model *m, const clg_tensor *tx, const clg_tensor *tt,
                         clg_tensor *one)
{
    const clg_tensor *pred;
    float l;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_forward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, one));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(one, &l, 1, 1));
    return l;
}

/* Linear(D→H1) → ReLU → PHM(H1→H2, n) → ReLU → Linear(H2→K) holding the values host[k]. */
static clg_model *build_net(clg_context *ctx, const net *p, float *const *host, size_t n)
{
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init i1 = clg_linear_init_defaults(), i2 = clg_linear_init_defaults();
    i1.weight = host[0];
    i1.bias = host[1];
    i2.weight = host[5];
    i2.bias = host[6];
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, H1, &i1));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, H1, H2, n, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, H2, K, &i2));
    cr_assert_eq(clg_model_param_count(m), NPARAM);
    for (size_t k = 2; k <= 4; k++)
        CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, k, host[k], net_count(p, k)));
    return m;
}

/* Device gradients of every parameter and of the PHM layer's input against double backprop
 * (tol 2e-5 + 1e-4·|g|); the PHM's A, S and bias and the first layer's W (reached through
 * the PHM's input gradient) also against central differences (eps 1e-2) of the device loss
 * (tol 5e-4 + 1e-2·|g|: float loss rounding over eps) and of the double loss (tol 1e-4 +
 * 1e-3·|g|: truncation only), skipping points where a ReLU input changes sign. */
static void check_gradients(size_t n)
{
    clg_context *ctx = test_context();
    net p = {.s = shape_of(H1, H2, n)};
    uint64_t seed = 5 + n;
    float *host[NPARAM];
    const float lo[NPARAM] = {-1, -0.5f, -1, -1, -0.5f, -1, -0.5f};
    for (size_t k = 0; k < NPARAM; k++) {
        /* A of variance ~1/n so that W keeps the scale of S whatever n */
        float scale = k == 2 ? 1.0f / sqrtf((float)n) : 1.0f;
        host[k] = ref_random(&seed, net_count(&p, k), lo[k] * scale, -lo[k] * scale);
        for (size_t i = 0; i < net_count(&p, k); i++) net_param(&p, k)[i] = host[k][i];
    }
    float *X = ref_random(&seed, NB * D, -2, 2), t[NB];
    for (size_t i = 0; i < NB; i++) t[i] = (float)(i % K);

    clg_model *m = build_net(ctx, &p, host, n);

    clg_tensor *tx, *tt, *dY, *one;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, NB, D, &tx));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, t, NB, 1, &tt));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, NB, K, &dY));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 1, &one));
    const clg_tensor *pred;
    float loss = device_loss(ctx, m, tx, tt, one);
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, dY));
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, dY));
    net g;
    double pre1[NB * H1], pre2[NB * H2], dh1[NB * H1];
    double loss_ref = ref_net(&p, X, t, pre1, pre2, &g, dh1);
    char what[160];
    snprintf(what, sizeof what, "n=%zu: CE mean (tol 1e-5·(1+l))", n);
    EXPECT_CLOSE(loss, loss_ref, 1e-5 * (1 + loss_ref), what);
    size_t active1 = 0, active2 = 0;
    for (size_t i = 0; i < NB * H1; i++) active1 += pre1[i] > 0;
    for (size_t i = 0; i < NB * H2; i++) active2 += pre2[i] > 0;
    cr_assert(active1 > 3 && active1 < NB * H1 - 3 && active2 > 3 && active2 < NB * H2 - 3,
              "n=%zu: both sides of both ReLUs exercised (%zu/%d, %zu/%d active)", n, active1,
              NB * H1, active2, NB * H2);

    /* The PHM layer's input gradient (layer 2's dX), read from the model. */
    float dx[NB * H1];
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(m->layers[2].dX, dx, NB, H1));
    for (size_t i = 0; i < NB * H1; i++) {
        snprintf(what, sizeof what, "n=%zu: PHM dX[%zu] vs double backprop (tol 2e-5 + 1e-4|g|)", n,
                 i);
        EXPECT_CLOSE(dx[i], dh1[i], 2e-5 + 1e-4 * fabs(dh1[i]), what);
    }

    const float eps = 1e-2f;
    size_t checked = 0, skipped = 0;
    const int small = test_small();
    for (size_t k = 0; k < NPARAM; k++) {
        const size_t cnt = net_count(&p, k);
        float dev[MAX_A > D * H1 ? MAX_A : D * H1];
        CLG_OK_OR_FAIL(ctx, clg_model_get_grad(m, k, dev, cnt));
        for (size_t i = 0; i < cnt; i++) {
            double want = net_param(&g, k)[i];
            snprintf(what, sizeof what,
                     "n=%zu: param %zu [%zu] vs double backprop (tol 2e-5 + 1e-4|g|)", n, k, i);
            EXPECT_CLOSE(dev[i], want, 2e-5 + 1e-4 * fabs(want), what);
        }
        if (k != 0 && (k < 2 || k > 4)) continue; /* FD: W1, A, S, bias of the PHM */
        for (size_t i = 0; i < cnt; i += small ? 3 : 1) {
            double keep = net_param(&p, k)[i];
            double p1p[NB * H1], p1m[NB * H1], p2p[NB * H2], p2m[NB * H2];
            net_param(&p, k)[i] = keep + eps;
            double lp_ref = ref_net(&p, X, t, p1p, p2p, NULL, NULL);
            net_param(&p, k)[i] = keep - eps;
            double lm_ref = ref_net(&p, X, t, p1m, p2m, NULL, NULL);
            net_param(&p, k)[i] = keep;
            int kink = 0;
            for (size_t j = 0; j < NB * H1; j++)
                kink |= (p1p[j] > 0) != (p1m[j] > 0) || (pre1[j] > 0) != (p1p[j] > 0);
            for (size_t j = 0; j < NB * H2; j++)
                kink |= (p2p[j] > 0) != (p2m[j] > 0) || (pre2[j] > 0) != (p2p[j] > 0);
            if (kink) {
                skipped++;
                continue;
            }
            float *v = host[k];
            v[i] = (float)keep + eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, k, v, cnt));
            float lp = device_loss(ctx, m, tx, tt, one);
            v[i] = (float)keep - eps;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, k, v, cnt));
            float lm = device_loss(ctx, m, tx, tt, one);
            v[i] = (float)keep;
            CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, k, v, cnt));
            double fd = ((double)lp - lm) / (2.0 * eps), fd_ref = (lp_ref - lm_ref) / (2.0 * eps);
            snprintf(what, sizeof what,
                     "n=%zu: param %zu [%zu]: device grad vs device FD (tol 5e-4 + 1e-2|g|)", n, k,
                     i);
            EXPECT_CLOSE(dev[i], fd, 5e-4 + 1e-2 * fabs(fd), what);
            snprintf(what, sizeof what,
                     "n=%zu: param %zu [%zu]: device grad vs double FD (tol 1e-4 + 1e-3|g|)", n, k,
                     i);
            EXPECT_CLOSE(dev[i], fd_ref, 1e-4 + 1e-3 * fabs(fd_ref), what);
            checked++;
        }
    }
    cr_expect_gt(checked, small ? 10 : 30,
                 "n=%zu: most parameters FD-checked (%zu checked, %zu at kinks)", n, checked,
                 skipped);
    clg_tensor_destroy(tx);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(dY);
    clg_tensor_destroy(one);
    clg_model_destroy(m);
    for (size_t k = 0; k < NPARAM; k++) free(host[k]);
    free(X);
    clg_context_destroy(ctx);
}

Test(phm, gradients_n1) { check_gradients(1); }
Test(phm, gradients_n2_padded) { check_gradients(2); }
Test(phm, gradients_n4_padded) { check_gradients(4); }

/* ------------------------------------------------------ description, checkpoints */

Test(phm, parameters_names_shapes_and_description)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 13, 3, 4, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 3, 2, 2, NULL));
    cr_assert_eq(clg_model_param_count(m), 6, "A, S, bias per PHM layer");
    const char *names[6] = {"0.A", "0.S", "0.bias", "2.A", "2.S", "2.bias"};
    /* 13→3, n=4: dn 4, qn 1; 3→2, n=2: dn 2, qn 1. */
    const size_t rows[6] = {16, 16, 1, 4, 4, 1}, cols[6] = {4, 1, 3, 2, 1, 2};
    size_t total = 0;
    for (size_t i = 0; i < 6; i++) {
        clg_param_info info;
        CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, i, &info));
        cr_expect_str_eq(info.name, names[i]);
        cr_expect(info.rows == rows[i] && info.cols == cols[i], "%s is %zux%zu, got %zux%zu",
                  names[i], rows[i], cols[i], info.rows, info.cols);
        cr_expect_eq(info.is_bias, i % 3 == 2, "%s is_bias", names[i]);
        total += info.rows * info.cols;
    }
    /* n³ + n·ceil(d/n)·ceil(q/n) + q per layer: 64 + 16 + 3, 8 + 4 + 2. */
    cr_expect_eq(total, 83u + 14u, "scalar parameters");
    char buf[512];
    clg_model_describe(m, buf, sizeof buf);
    cr_expect_str_eq(buf, "Sequential(\n"
                          "  (0): PHM(in_features=13, out_features=3, n=4, bias=True)\n"
                          "  (1): ReLU()\n"
                          "  (2): PHM(in_features=3, out_features=2, n=2, bias=True)\n"
                          ")");
    clg_layer_info L;
    CLG_OK_OR_FAIL(ctx, clg_model_layer_info(m, 0, &L));
    cr_expect(!strcmp(L.type, "PHM") && L.in == 13 && L.out == 3 && L.params == 3, "layer 0");
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* Bytes of a file, whole. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* A copy of data with layer record i's kind word set to word and the CRC made good. */
static void write_with_kind(const char *path, const unsigned char *data, size_t len, size_t i,
                            uint32_t word)
{
    unsigned char *b = malloc(len);
    memcpy(b, data, len);
    clg_put_le32(b + 24 + 20 * i, word);
    clg_put_le32(b + len - 4, clg_crc32(0, b, len - 4));
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    fclose(f);
    free(b);
}

enum { N = 8 };

/* PHM(10→7, n=4) → ReLU → Linear(7→3) after one SGD-momentum step on N rows, saved to
 * path; *X (N×10) is the rows, owned by the caller as the model and optimizer. */
static clg_model *stepped_model(clg_context *ctx, const char *path, clg_optimizer **out_opt,
                                float **out_X)
{
    clg_linear_init init = clg_linear_init_defaults();
    init.kind = CLG_INIT_XAVIER_UNIFORM;
    init.seed = 3;
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 10, 7, 4, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 7, 3, &init));
    clg_optimizer_options oo = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    oo.lr = 0.1f;
    oo.momentum = 0.9f;
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &oo, &opt));
    uint64_t seed = 4;
    float *X = ref_random(&seed, N * 10, -1, 1), t[N];
    for (size_t i = 0; i < N; i++) t[i] = (float)(i % 3);
    clg_tensor *tx, *tt, *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, N, 10, &tx));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, t, N, 1, &tt));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, N, 3, &dY));
    const clg_tensor *pred;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tx, &pred));
    CLG_OK_OR_FAIL(ctx,
                   clg_loss_backward(ctx, CLG_LOSS_SOFTMAX_XENT, CLG_REDUCE_MEAN, pred, tt, dY));
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, dY));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_step(opt, 1.0f));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, "phm test", path));
    clg_tensor_destroy(tx);
    clg_tensor_destroy(tt);
    clg_tensor_destroy(dY);
    *out_opt = opt;
    *out_X = X;
    return m;
}

/* Save (with SGD momentum state after a step) and load: bit-identical parameters,
 * predictions and state; the record's kind word holds n in its high 16 bits; records with
 * a bad argument are refused naming it; load_into refuses another n. */
Test(phm, checkpoint_round_trip_and_kind_word)
{
    clg_context *ctx = test_context();
    char *dir = test_tmpdir(), path[128], bad[128];
    snprintf(path, sizeof path, "%s/phm.clg", dir);
    snprintf(bad, sizeof bad, "%s/bad.clg", dir);
    clg_optimizer *opt;
    float *X;
    clg_model *m = stepped_model(ctx, path, &opt, &X);
    clg_optimizer_options oo = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    oo.lr = 0.1f;
    oo.momentum = 0.9f;

    size_t len;
    unsigned char *data = slurp(path, &len);
    cr_expect_eq(clg_get_le32(data + 24), 2u | 4u << 16, "PHM record: code 2, n 4 in bits 16..31");
    cr_expect_eq(clg_get_le32(data + 44), 1u, "ReLU record: code 1, no argument");
    cr_expect_eq(clg_get_le32(data + 64), 0u, "Linear record: code 0, no argument");

    clg_model *m2;
    char meta[32];
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &m2, meta, sizeof meta));
    cr_expect_str_eq(meta, "phm test");
    char d1[512], d2[512];
    clg_model_describe(m, d1, sizeof d1);
    clg_model_describe(m2, d2, sizeof d2);
    cr_expect_str_eq(d2, d1, "the loaded model prints the same");
    cr_assert_eq(clg_model_param_count(m2), 5);
    expect_models_equal(m, m2, 0.0f, "after loading");
    float y1[N * 3], y2[N * 3];
    CLG_OK_OR_FAIL(ctx, clg_predict(m, X, N, y1));
    CLG_OK_OR_FAIL(ctx, clg_predict(m2, X, N, y2));
    cr_expect_eq(memcmp(y1, y2, sizeof y1), 0, "predictions bit-identical");

    /* load_into: the same architecture takes the file (optimizer state too) ... */
    clg_model *m3;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m3));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m3, 10, 7, 4, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m3));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m3, 7, 3, NULL));
    clg_optimizer *opt3;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m3, &oo, &opt3));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(m3, opt3, path));
    cr_expect_eq(clg_optimizer_steps(opt3), 1u);
    float y3[N * 3];
    CLG_OK_OR_FAIL(ctx, clg_predict(m3, X, N, y3));
    cr_expect_eq(memcmp(y1, y3, sizeof y1), 0, "load_into: predictions bit-identical");
    /* ... another n does not. */
    clg_model *m4;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m4));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m4, 10, 7, 2, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m4));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m4, 7, 3, NULL));
    EXPECT_REFUSED(ctx, clg_model_load_into(m4, NULL, path), CLG_ERR_SHAPE,
                   "file has PHM(10→7, n=4), model has PHM(10→7, n=2)",
                   "load_into a PHM model of another n");

    free(data);
    free(X);
    clg_optimizer_destroy(opt);
    clg_optimizer_destroy(opt3);
    clg_model_destroy(m);
    clg_model_destroy(m2);
    clg_model_destroy(m3);
    clg_model_destroy(m4);
    clg_context_destroy(ctx);
}

/* Records with a bad argument (CRC made good, so the record itself is judged). */
Test(phm, checkpoint_records_with_a_bad_argument_are_refused)
{
    clg_context *ctx = test_context();
    char *dir = test_tmpdir(), path[128], bad[128];
    snprintf(path, sizeof path, "%s/phm.clg", dir);
    snprintf(bad, sizeof bad, "%s/bad.clg", dir);
    clg_optimizer *opt;
    float *X;
    clg_model *m = stepped_model(ctx, path, &opt, &X);
    size_t len;
    unsigned char *data = slurp(path, &len);
    clg_model *none = NULL;
    write_with_kind(bad, data, len, 0, 2u);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "layer 0: PHM(10→7) needs n in 1..16", "checkpoint PHM record with n 0");
    write_with_kind(bad, data, len, 0, 2u | 17u << 16);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "PHM(10→7) with argument 17: needs n in 1..16",
                   "checkpoint PHM record with n 17");
    write_with_kind(bad, data, len, 0, 2u | 11u << 16);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "with argument 11: has n above max(in, out)",
                   "checkpoint PHM(10→7) record with n 11");
    write_with_kind(bad, data, len, 2, 0u | 1u << 16);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "layer 2: Linear(7→3) with argument 1: a Linear layer takes none",
                   "checkpoint Linear record with an argument");
    write_with_kind(bad, data, len, 1, 1u | 2u << 16);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "a ReLU takes none", "checkpoint ReLU record with an argument");
    write_with_kind(bad, data, len, 0, 3u | 4u << 16);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT,
                   "layer 0: unknown kind 3", "checkpoint record of kind code 3");
    /* n = 2 is a valid record, but the file's A then has the wrong length. */
    write_with_kind(bad, data, len, 0, 2u | 2u << 16);
    cr_expect_eq(clg_model_load(ctx, bad, &none, NULL, 0), CLG_ERR_FORMAT, "%s",
                 clg_last_error(ctx));
    cr_expect_null(none);

    free(data);
    free(X);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* --------------------------------------------------------------- refusals */

Test(phm, refuses_bad_arguments)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    EXPECT_REFUSED(NULL, clg_model_add_phm(NULL, 4, 4, 2, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "NULL model", "clg_model_add_phm without a model");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 8, 4, 0, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "n 0: must be 1..16", "PHM with n 0");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 64, 64, 17, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "n 17: must be 1..16", "PHM with n 17");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 3, 2, 4, NULL), CLG_ERR_INVALID_ARGUMENT,
                   "n 4 exceeds max(in, out) = 3", "PHM(3→2) with n 4");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 0, 4, 2, NULL), CLG_ERR_SHAPE, "invalid shape 0 -> 4",
                   "PHM with 0 inputs");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 65536, 65537, 2, NULL), CLG_ERR_SHAPE,
                   "invalid shape 65536 -> 65537", "PHM of 2^32 weights or more");
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 1, 4294967295u, 16, NULL), CLG_ERR_SHAPE,
                   "the factor S would have 4294967296 elements",
                   "PHM(1→2^32-1) with n 16: S of 2^32 elements");
    clg_linear_init init = clg_linear_init_defaults();
    float w[16] = {0};
    init.weight = w;
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 4, 4, 2, &init), CLG_ERR_INVALID_ARGUMENT,
                   "init.weight and init.bias are for Linear layers", "PHM given a weight copy");
    init = clg_linear_init_defaults();
    init.kind = (clg_init_kind)6;
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 4, 4, 2, &init), CLG_ERR_INVALID_ARGUMENT,
                   "unknown init kind", "PHM with init kind 6");
    init = clg_linear_init_defaults();
    init.struct_size = 0;
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 4, 4, 2, &init), CLG_ERR_INVALID_ARGUMENT,
                   "options.struct_size 0", "PHM init not from clg_linear_init_defaults");
    cr_expect_eq(clg_model_layer_count(m), 0u, "nothing was added");
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 4, 6, 2, NULL));
    EXPECT_REFUSED(ctx, clg_model_add_phm(m, 4, 2, 2, NULL), CLG_ERR_SHAPE,
                   "input width 4 but the previous layer gives 6", "PHM after a wider layer");
    /* The largest n allowed: n = max(in, out) and n = 16; n = 1. */
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 6, 3, 6, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 3, 16, 16, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, 16, 2, 1, NULL));
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* -------------------------------------------------------------- training */

/* PHM(13→3, n=2) softmax regression on the wine data of examples/data (standardized by the
 * training set's statistics), SGD lr 0.1, batch 10: the CLI's phm:2 run reaches 0.97 test
 * accuracy in 30 epochs; asserted: test accuracy >= 0.9 (>= 0.85 after the 10 epochs of a
 * simulator run) and a falling loss. */
Test(phm, fit_softmax_on_wine)
{
    clg_context *ctx = test_context();
    const char *dir = CLGRAD_TEST_DATA "/../../examples/data";
    char tr[256], te[256];
    snprintf(tr, sizeof tr, "%s/wine_train.csv", dir);
    snprintf(te, sizeof te, "%s/wine_test.csv", dir);
    clg_csv_options o = clg_csv_defaults();
    clg_class_names names;
    clg_dataset *train, *test;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv_classes(ctx, tr, &o, &train, &names));
    o.class_names = &names;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv_classes(ctx, te, &o, &test, NULL));
    const size_t d = clg_dataset_features(train);
    cr_assert_eq(d, 13u);
    float mean[13], scale[13];
    CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(train, mean, scale));
    CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(train, mean, scale));
    CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(test, mean, scale));
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_phm(m, d, 3, 2, NULL));
    clg_eval_result before, after;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, train, CLG_LOSS_SOFTMAX_XENT, &before));
    clg_fit_options fo = clg_fit_defaults();
    fo.loss = CLG_LOSS_SOFTMAX_XENT;
    fo.epochs = test_small() ? 10 : 30;
    fo.batch_size = 10;
    fo.seed = 42;
    fo.optimizer.lr = 0.1f;
    fo.on_epoch = NULL;
    CLG_OK_OR_FAIL(ctx, clg_fit(m, train, &fo, NULL, NULL));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, test, CLG_LOSS_SOFTMAX_XENT, &after));
    clg_eval_result trained;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(m, train, CLG_LOSS_SOFTMAX_XENT, &trained));
    cr_expect_lt(trained.loss, 0.5 * before.loss, "train CE falls: %g then %g", before.loss,
                 trained.loss);
    const double want = test_small() ? 0.85 : 0.9;
    cr_expect_geq(after.accuracy, want, "test accuracy %g >= %g (%zu rows)", after.accuracy, want,
                  after.n);
    clg_class_names_free(&names);
    clg_model_destroy(m);
    clg_dataset_destroy(train);
    clg_dataset_destroy(test);
    clg_context_destroy(ctx);
}
