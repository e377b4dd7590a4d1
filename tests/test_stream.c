/* Streamed (host-resident) datasets: the size rule, forced streaming via the API and
 * CLGRAD_STREAM, double-buffered batches equal to the device gather (same rows, same
 * order, same floats), bit-identical fits and evaluations, split, download, errors.
 * No test allocates more than a few MB: data beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE is
 * covered by the rule's unit test plus the forced upload path. */
#include <math.h>
#include <stdint.h>

#include "helpers.h"
#include "internal.h"

enum { D = 3, Q = 2 };

/* Row i is recognisable: X = (i, -i - 0.5, i/8), Y = (2i + 1, i/4); exact in float. */
static void index_rows(size_t n, float *X, float *Y)
{
    for (size_t i = 0; i < n; i++) {
        X[i * D] = (float)i;
        X[i * D + 1] = -(float)i - 0.5f;
        X[i * D + 2] = (float)i * 0.125f;
        Y[i * Q] = 2.0f * (float)i + 1.0f;
        Y[i * Q + 1] = (float)i * 0.25f;
    }
}

/* A device dataset and a streamed twin (clg_dataset_set_streaming) of the same rows. */
static void index_pair(clg_context *ctx, size_t n, clg_dataset **dev, clg_dataset **str)
{
    float *X = malloc(n * D * sizeof *X), *Y = malloc(n * Q * sizeof *Y);
    index_rows(n, X, Y);
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, D, Q, dev));
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, D, Q, str));
    CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(*str, 1));
    cr_assert_eq(clg_dataset_streamed(*dev), 0);
    cr_assert_eq(clg_dataset_streamed(*str), 1);
    free(X);
    free(Y);
}

static clg_loader *make_loader(clg_dataset *ds, size_t B, int shuffle, uint64_t seed)
{
    clg_loader_options o = clg_loader_defaults();
    o.batch_size = B;
    o.shuffle = shuffle;
    o.seed = seed;
    clg_loader *ld = NULL;
    CLG_OK_OR_FAIL(ds->ctx, clg_loader_create(ds, &o, &ld));
    return ld;
}

Test(stream, size_rule)
{
    clg_context *ctx = test_context();
    const unsigned long long ma = ctx->info.max_alloc_size, gm = ctx->info.global_mem_size;
    cr_log_info("max alloc %llu, global %llu bytes", ma, gm);
    cr_assert(ma >= 4096 && gm >= ma, "device limits %llu / %llu", ma, gm);
    cr_expect_eq(clg_dataset_needs_streaming(ctx, 1000, 10, 1), 0, "40 KB fits");
    /* X exactly at the allocation limit (d = 1024), Y 1/1024 of it: fits when X+Y is
     * within half of global memory; one row more puts X beyond the limit. */
    size_t n = (size_t)(ma / 4096);
    if ((unsigned long long)n * 4096 == ma && ma + ma / 1024 <= gm / 2)
        cr_expect_eq(clg_dataset_needs_streaming(ctx, n, 1024, 1), 0, "X = max alloc fits");
    cr_expect_eq(clg_dataset_needs_streaming(ctx, n + 1, 1024, 1), 1, "X > max alloc streams");
    /* Y beyond the limit while X is half of it. */
    cr_expect_eq(clg_dataset_needs_streaming(ctx, (size_t)(ma / 8) + 1, 1, 2), 1,
                 "Y > max alloc streams");
    /* X = Y = global/4 each (within max alloc, which OpenCL makes >= global/4): the sum is
     * exactly half of global memory and fits; 4 bytes more each and it streams. */
    size_t h = (size_t)(gm / 16);
    if ((unsigned long long)h * 16 == gm) {
        cr_expect_eq(clg_dataset_needs_streaming(ctx, h, 1, 1), 0, "X+Y = global/2 fits");
        if ((unsigned long long)(h + 1) * 4 <= ma)
            cr_expect_eq(clg_dataset_needs_streaming(ctx, h + 1, 1, 1), 1,
                         "X+Y > global/2 streams though each fits one allocation");
    }
    cr_expect_eq(clg_dataset_needs_streaming(ctx, SIZE_MAX / 2, 4, 1), 1,
                 "size_t overflow streams");
    clg_context_destroy(ctx);
}

/* Streamed and device loaders yield the same batches: same rows in the same order
 * (so each sample exactly once per epoch), bit-equal floats, the same shapes and a
 * partial last batch; and a streamed batch stays valid while the next one is
 * fetched (two buffers alternate). */
Test(stream, batches_equal_device_gather)
{
    clg_context *ctx = test_context();
    const size_t n = 100, B = 7; /* 15 batches, the last of 2 rows */
    clg_dataset *dev, *str;
    index_pair(ctx, n, &dev, &str);
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        clg_loader *ld = make_loader(dev, B, shuffle, 42), *ls = make_loader(str, B, shuffle, 42);
        cr_assert_eq(clg_loader_batches(ls), 15u);
        cr_log_info("staging buffers: %s",
                    ls->stage_mem[0] ? "pinned (CL_MEM_ALLOC_HOST_PTR)" : "malloc");
        cr_assert_not_null(ls->stage[0]);
        cr_assert_not_null(ls->stage[1]);
        cr_assert_null(ls->order_dev, "a streamed loader keeps no device permutation");
        float *X = malloc(B * D * sizeof *X), *Y = malloc(B * Q * sizeof *Y);
        float *Xs = malloc(B * D * sizeof *Xs), *Ys = malloc(B * Q * sizeof *Ys);
        float *Xp = malloc(B * D * sizeof *Xp);
        for (int epoch = 0; epoch < 2; epoch++) {
            CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
            CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ls));
            uint32_t order[100], order_s[100];
            CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, order, n));
            CLG_OK_OR_FAIL(ctx, clg_loader_order(ls, order_s, n));
            cr_assert_eq(memcmp(order, order_s, sizeof order), 0, "same permutation");
            unsigned char seen[100] = {0};
            size_t k = 0, got = 0;
            clg_batch b, bs, prev = {0};
            float first_prev = -1;
            for (;;) {
                int has = 0, has_s = 0;
                CLG_OK_OR_FAIL(ctx, clg_loader_next(ld, &b, &has));
                CLG_OK_OR_FAIL(ctx, clg_loader_next(ls, &bs, &has_s));
                cr_assert_eq(has, has_s, "epoch %d batch %zu: both loaders end together", epoch, k);
                if (!has) break;
                size_t want = n - got < B ? n - got : B;
                cr_assert_eq(bs.rows, want, "batch %zu rows %zu, want %zu", k, bs.rows, want);
                cr_assert_eq(bs.index, k);
                cr_assert_eq(clg_tensor_rows(bs.X), want);
                cr_assert_eq(clg_tensor_rows(bs.Y), want);
                cr_assert_eq(clg_tensor_cols(bs.X), (size_t)D);
                cr_assert_eq(clg_tensor_cols(bs.Y), (size_t)Q);
                if (k > 0) {
                    /* The previous streamed batch is still intact in the other buffer. */
                    cr_assert_neq(prev.X, bs.X, "consecutive batches use different buffers");
                    CLG_OK_OR_FAIL(ctx, clg_tensor_download(prev.X, Xp, prev.rows, D));
                    cr_assert_eq(Xp[0], first_prev, "batch %zu unchanged after fetching %zu", k - 1,
                                 k);
                }
                CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.X, X, b.rows, D));
                CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.Y, Y, b.rows, Q));
                CLG_OK_OR_FAIL(ctx, clg_tensor_download(bs.X, Xs, bs.rows, D));
                CLG_OK_OR_FAIL(ctx, clg_tensor_download(bs.Y, Ys, bs.rows, Q));
                cr_assert_eq(memcmp(X, Xs, want * D * sizeof *X), 0,
                             "epoch %d batch %zu X bit-equal", epoch, k);
                cr_assert_eq(memcmp(Y, Ys, want * Q * sizeof *Y), 0,
                             "epoch %d batch %zu Y bit-equal", epoch, k);
                for (size_t r = 0; r < want; r++) {
                    uint32_t i = order[got + r];
                    cr_assert_eq(Xs[r * D], (float)i, "row %zu of batch %zu is sample %u", r, k, i);
                    cr_assert_eq(Ys[r * Q + 1], (float)i * 0.25f);
                    cr_assert_eq(seen[i], 0, "sample %u twice in epoch %d", i, epoch);
                    seen[i] = 1;
                }
                got += want;
                prev = bs;
                first_prev = Xs[0];
                k++;
            }
            cr_assert_eq(got, n, "epoch %d covered %zu of %zu samples", epoch, got, n);
            for (size_t i = 0; i < n; i++) cr_assert_eq(seen[i], 1, "sample %zu missing", i);
            if (!shuffle)
                for (size_t i = 0; i < n; i++) cr_assert_eq(order[i], (uint32_t)i, "unshuffled");
        }
        free(X), free(Y), free(Xs), free(Ys), free(Xp);
        clg_loader_destroy(ld);
        clg_loader_destroy(ls);
    }
    /* A batch larger than the dataset: one batch of all n rows. */
    clg_loader *big = make_loader(str, 1000, 1, 3);
    cr_assert_eq(clg_loader_batches(big), 1u);
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(big));
    clg_batch b;
    int has;
    CLG_OK_OR_FAIL(ctx, clg_loader_next(big, &b, &has));
    cr_assert(has && b.rows == n);
    CLG_OK_OR_FAIL(ctx, clg_loader_next(big, &b, &has));
    cr_assert_eq(has, 0);
    clg_loader_destroy(big);
    clg_dataset_destroy(dev);
    clg_dataset_destroy(str);
    clg_context_destroy(ctx);
}

/* A destroyed loader leaves nothing pending: destroying right after enqueueing
 * uploads (no wait in between) is safe, and the dataset can change mode again. */
Test(stream, destroy_with_uploads_in_flight)
{
    clg_context *ctx = test_context();
    clg_dataset *dev, *str;
    index_pair(ctx, 50, &dev, &str);
    clg_loader *ls = make_loader(str, 4, 1, 9);
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ls));
    clg_batch b;
    int has;
    for (int i = 0; i < 5; i++) CLG_OK_OR_FAIL(ctx, clg_loader_next(ls, &b, &has));
    cr_expect_eq(clg_dataset_set_streaming(str, 0), CLG_ERR_STATE, "a loader still borrows it");
    cr_expect(strstr(clg_last_error(ctx), "loader") != NULL, "message: %s", clg_last_error(ctx));
    cr_expect_eq(clg_dataset_streamed(str), 1, "unchanged after the refusal");
    clg_loader_destroy(ls);
    /* Back to the device: same data as the device twin. */
    CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(str, 0));
    cr_expect_eq(clg_dataset_streamed(str), 0);
    cr_expect_not_null(clg_dataset_X(str));
    float X1[50 * D], Y1[50 * Q], X2[50 * D], Y2[50 * Q];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(dev, X1, Y1));
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(str, X2, Y2));
    cr_expect_eq(memcmp(X1, X2, sizeof X1), 0);
    cr_expect_eq(memcmp(Y1, Y2, sizeof Y1), 0);
    cr_expect_eq(clg_dataset_set_streaming(NULL, 1), CLG_ERR_INVALID_ARGUMENT);
    clg_dataset_destroy(dev);
    clg_dataset_destroy(str);
    clg_context_destroy(ctx);
}

/* CLGRAD_STREAM=1 streams what clg_dataset_from_host(_labels) make; 0 and auto keep
 * small data on the device; another value is an error with a message. */
Test(stream, environment_variable)
{
    clg_context *ctx = test_context();
    float X[4 * D], Y[4 * Q], Xd[4 * D], Yd[4 * Q];
    index_rows(4, X, Y);
    int32_t lab[4] = {0, 1, 2, 1};
    clg_dataset *ds = NULL, *dl = NULL;
    test_label(ctx, "CLGRAD_STREAM",
               "1"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", "1"));
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 4, D, Q, &ds));
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, 4, D, 3, &dl));
    cr_expect_eq(clg_dataset_streamed(ds), 1);
    cr_expect_eq(clg_dataset_streamed(dl), 1);
    cr_expect_null(clg_dataset_X(ds), "no device tensors for a streamed dataset");
    cr_expect_null(clg_dataset_Y(ds));
    cr_expect_eq(clg_dataset_size(ds), 4u);
    cr_expect_eq(clg_dataset_classes(dl), 3u);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, Xd, Yd));
    cr_expect_eq(memcmp(X, Xd, sizeof X), 0, "download returns the host copy");
    cr_expect_eq(memcmp(Y, Yd, sizeof Y), 0);
    float ld[4];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(dl, NULL, ld));
    for (int i = 0; i < 4; i++) cr_expect_eq(ld[i], (float)lab[i], "label %d", i);
    /* Input errors are still checked first. */
    float bad[4 * D];
    memcpy(bad, X, sizeof bad);
    bad[5] = NAN;
    clg_dataset *no = NULL;
    cr_expect_eq(clg_dataset_from_host(ctx, bad, Y, 4, D, Q, &no), CLG_ERR_NONFINITE);
    cr_expect_null(no);
    cr_expect_eq(clg_dataset_from_host(ctx, X, Y, 0, D, Q, &no), CLG_ERR_SHAPE);
    clg_dataset_destroy(ds);
    clg_dataset_destroy(dl);
    const char *keep[] = {"0", "auto", ""};
    for (int i = 0; i < 3; i++) {
        test_label(ctx, "CLGRAD_STREAM",
                   keep[i]); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", keep[i]));
        CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, 4, D, Q, &ds));
        cr_expect_eq(clg_dataset_streamed(ds), 0, "CLGRAD_STREAM=%s keeps 48 bytes on the device",
                     keep[i]);
        cr_expect_not_null(clg_dataset_X(ds));
        clg_dataset_destroy(ds);
    }
    test_label(ctx, "CLGRAD_STREAM",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", NULL));
    clg_context_destroy(ctx);
    /* A bad value is refused when the context is created (runtime/config.c), naming it. */
    setenv("CLGRAD_STREAM", "yes please", 1);
    clg_context *refused = NULL;
    cr_expect_eq(clg_context_create(&refused, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_null(refused);
    cr_expect(strstr(clg_last_error(NULL), "CLGRAD_STREAM") != NULL, "message: %s",
              clg_last_error(NULL));
    unsetenv("CLGRAD_STREAM");
}

static clg_model *linear_model(clg_context *ctx, size_t in, size_t out, uint64_t seed)
{
    clg_model *m = NULL;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = seed;
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, in, out, &init));
    return m;
}

/* Linear regression, 2 epochs, partial last batch: the streamed fit equals the
 * unfused device fit bit for bit (params, per-epoch loss, evaluate, predict), and
 * the default (fused) device fit to 1e-5. The data is synthetic (device) moved to
 * the host with clg_dataset_set_streaming. */
Test(stream, linear_fit_bit_identical)
{
    clg_context *ctx = test_context();
    const size_t n = 1003, d = 4;
    const float w[4] = {2.0f, -3.4f, 0.5f, 1.0f};
    clg_dataset *dev, *str;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 0.01f, 7, &dev));
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 0.01f, 7, &str));
    CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(str, 1));
    cr_assert_null(clg_dataset_X(str));
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 2;
    o.batch_size = 10; /* 101 batches, the last of 3 rows */
    o.seed = 5;
    o.optimizer.lr = 0.03f;
    o.on_epoch = NULL;
    clg_model *md = linear_model(ctx, d, 1, 1), *ms = linear_model(ctx, d, 1, 1),
              *mf = linear_model(ctx, d, 1, 1);
    clg_fit_report rd, rs, rf;
    test_label(ctx, "CLGRAD_FUSED",
               "0"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED",
                                       "0")); /* the device path the loader runs, unfused */
    CLG_OK_OR_FAIL(ctx, clg_fit(md, dev, &o, NULL, &rd));
    test_label(ctx, "CLGRAD_FUSED",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    CLG_OK_OR_FAIL(ctx, clg_fit(ms, str, &o, NULL, &rs));
    CLG_OK_OR_FAIL(ctx, clg_fit(mf, dev, &o, NULL, &rf));
    cr_assert_eq(rs.epochs_run, 2u);
    cr_assert_eq(rs.steps, rd.steps);
    cr_assert_eq(rs.steps, 2u * 101u);
    cr_expect_eq(rs.final_loss, rd.final_loss, "final loss %.12g vs %.12g", rs.final_loss,
                 rd.final_loss);
    cr_expect(rs.final_loss < 0.01, "learned: loss %g", rs.final_loss);
    expect_models_equal(md, ms, 0.0f, "streamed vs unfused device fit");
    expect_models_equal(mf, ms, 1e-5f, "streamed vs fused device fit");
    clg_eval_result ed, es;
    CLG_OK_OR_FAIL(ctx, clg_evaluate(md, dev, CLG_LOSS_SQUARED, &ed));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(md, str, CLG_LOSS_SQUARED, &es));
    cr_expect_eq(es.n, n);
    cr_expect_eq(es.accuracy, -1.0);
    /* The device dataset may take the fused full-loss kernel: same sum, other order. */
    cr_expect(fabs(es.loss - ed.loss) <= 1e-6 * fabs(ed.loss) + 1e-9, "evaluate %.12g vs %.12g",
              es.loss, ed.loss);
    test_label(ctx, "CLGRAD_FUSED",
               "0"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", "0"));
    CLG_OK_OR_FAIL(ctx, clg_evaluate(md, dev, CLG_LOSS_SQUARED, &ed));
    test_label(ctx, "CLGRAD_FUSED",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
    cr_expect_eq(es.loss, ed.loss, "unfused evaluate bit-equal: %.12g vs %.12g", es.loss, ed.loss);
    /* Predictions of the two trained models on the host copy of the data. */
    float *X = malloc(n * d * sizeof *X), *pd = malloc(n * sizeof *pd),
          *ps = malloc(n * sizeof *ps);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(str, X, NULL));
    CLG_OK_OR_FAIL(ctx, clg_predict(md, X, n, pd));
    CLG_OK_OR_FAIL(ctx, clg_predict(ms, X, n, ps));
    cr_expect_eq(memcmp(pd, ps, n * sizeof *pd), 0, "predictions bit-equal");
    /* The closed form of the streamed copy: rows centred on the host and sent in chunks
     * (51 rows of 5 floats each here, 20 chunks) agree with the device's one pass within
     * float rounding (1e-5), and both recover the true parameters (noise 0.01) to 1e-3. */
    float ws[4], bs, wd[4], bd;
    CLG_OK_OR_FAIL(ctx, clg_solve_normal(ctx, dev, 0.0, wd, &bd));
    size_t keep = ctx->cfg.solve_chunk_bytes;
    ctx->cfg.solve_chunk_bytes = 51 * 5 * sizeof(float);
    clg_status ss = clg_solve_normal(ctx, str, 0.0, ws, &bs);
    ctx->cfg.solve_chunk_bytes = keep;
    CLG_OK_OR_FAIL(ctx, ss);
    for (size_t j = 0; j < d; j++) {
        cr_expect(fabsf(ws[j] - wd[j]) <= 1e-5f, "w[%zu]: streamed %.8g, device %.8g", j, ws[j],
                  wd[j]);
        cr_expect(fabsf(ws[j] - w[j]) <= 1e-3f, "w[%zu]: %.6g vs true %.6g", j, ws[j], w[j]);
    }
    cr_expect(fabsf(bs - bd) <= 1e-5f, "b: streamed %.8g, device %.8g", bs, bd);
    cr_expect(fabsf(bs - 4.2f) <= 1e-3f, "b: %.6g vs true 4.2", bs);
    free(X), free(pd), free(ps);
    clg_model_destroy(md), clg_model_destroy(ms), clg_model_destroy(mf);
    clg_dataset_destroy(dev);
    clg_dataset_destroy(str);
    clg_context_destroy(ctx);
}

/* Softmax regression and an MLP on class labels (streamed via CLGRAD_STREAM=1):
 * parameters, losses, accuracy bit-identical to the device path; a split of the
 * streamed dataset is streamed and holds the same rows as the device split. */
Test(stream, softmax_and_mlp_bit_identical)
{
    clg_context *ctx = test_context();
    enum { N = 301, DF = 4, C = 3 };
    float *X = malloc(N * DF * sizeof *X);
    int32_t lab[N];
    uint32_t ctr[4] = {0, 0, 0, 77}, key[2] = {1, 2}, r[4];
    for (size_t i = 0; i < N; i++) {
        ctr[0] = (uint32_t)i;
        clg_philox4x32(ctr, key, r);
        lab[i] = (int32_t)(r[0] % C);
        for (size_t j = 0; j < DF; j++)
            X[i * DF + j] =
                clg_philox_u01(r[j]) * 2.0f - 1.0f + (j == (size_t)lab[i] ? 1.5f : 0.0f);
    }
    clg_dataset *dev, *str;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, N, DF, C, &dev));
    test_label(ctx, "CLGRAD_STREAM",
               "1"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", "1"));
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host_labels(ctx, X, lab, N, DF, C, &str));
    test_label(ctx, "CLGRAD_STREAM",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", NULL));
    cr_assert_eq(clg_dataset_streamed(str), 1);
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 2;
    o.batch_size = 16; /* 19 batches, the last of 13 rows */
    o.seed = 11;
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.optimizer.lr = 0.1f;
    o.on_epoch = NULL;
    for (int mlp = 0; mlp <= 1; mlp++) {
        clg_model *m[2];
        for (int k = 0; k < 2; k++) {
            if (!mlp) {
                m[k] = linear_model(ctx, DF, C, 3);
            } else {
                m[k] = linear_model(ctx, DF, 8, 3);
                CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m[k]));
                clg_linear_init i2 = clg_linear_init_defaults();
                i2.seed = 4;
                i2.weight_std = 0.1f;
                CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m[k], 8, C, &i2));
            }
        }
        clg_fit_report rd, rs;
        /* Bit-identical to the unfused device fit; softmax regression on a device
         * dataset is fused by default (lib/fused.c), which agrees to 1e-5 (below). */
        test_label(ctx, "CLGRAD_FUSED",
                   "0"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", "0"));
        CLG_OK_OR_FAIL(ctx, clg_fit(m[0], dev, &o, NULL, &rd));
        test_label(ctx, "CLGRAD_FUSED",
                   NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
        CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_FUSED", NULL));
        CLG_OK_OR_FAIL(ctx, clg_fit(m[1], str, &o, NULL, &rs));
        if (!mlp) {
            clg_model *mf = linear_model(ctx, DF, C, 3);
            CLG_OK_OR_FAIL(ctx, clg_fit(mf, dev, &o, NULL, NULL));
            expect_models_equal(mf, m[1], 1e-5f, "softmax, fused device fit");
            clg_model_destroy(mf);
        }
        cr_expect_eq(rs.steps, 38u);
        cr_expect_eq(rs.final_loss, rd.final_loss, "%s: loss %.12g vs %.12g",
                     mlp ? "mlp" : "softmax", rs.final_loss, rd.final_loss);
        expect_models_equal(m[0], m[1], 0.0f, mlp ? "mlp" : "softmax");
        clg_eval_result ed, es;
        CLG_OK_OR_FAIL(ctx, clg_evaluate(m[0], dev, CLG_LOSS_SOFTMAX_XENT, &ed));
        CLG_OK_OR_FAIL(ctx, clg_evaluate(m[1], str, CLG_LOSS_SOFTMAX_XENT, &es));
        cr_expect_eq(es.loss, ed.loss, "evaluate loss %.12g vs %.12g", es.loss, ed.loss);
        cr_expect_eq(es.accuracy, ed.accuracy, "accuracy %g vs %g", es.accuracy, ed.accuracy);
        cr_expect(es.accuracy > 0.45, "%s learned something: accuracy %g (chance 1/3)",
                  mlp ? "mlp" : "softmax", es.accuracy);
        clg_model_destroy(m[0]);
        clg_model_destroy(m[1]);
    }
    clg_dataset *dtr, *dte, *str_tr, *str_te;
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(dev, 0.25, 9, &dtr, &dte));
    CLG_OK_OR_FAIL(ctx, clg_dataset_split(str, 0.25, 9, &str_tr, &str_te));
    cr_expect_eq(clg_dataset_streamed(str_tr), 1);
    cr_expect_eq(clg_dataset_streamed(str_te), 1);
    cr_expect_eq(clg_dataset_classes(str_te), (size_t)C);
    clg_dataset *parts[2][2] = {{dtr, str_tr}, {dte, str_te}};
    for (int p = 0; p < 2; p++) {
        size_t np = clg_dataset_size(parts[p][0]);
        cr_assert_eq(clg_dataset_size(parts[p][1]), np);
        float *a = malloc(np * DF * sizeof *a), *b = malloc(np * DF * sizeof *b);
        float ya[N], yb[N];
        CLG_OK_OR_FAIL(ctx, clg_dataset_download(parts[p][0], a, ya));
        CLG_OK_OR_FAIL(ctx, clg_dataset_download(parts[p][1], b, yb));
        cr_expect_eq(memcmp(a, b, np * DF * sizeof *a), 0, "split part %d X", p);
        cr_expect_eq(memcmp(ya, yb, np * sizeof *ya), 0, "split part %d labels", p);
        free(a);
        free(b);
    }
    clg_dataset_destroy(dtr), clg_dataset_destroy(dte);
    clg_dataset_destroy(str_tr), clg_dataset_destroy(str_te);
    clg_dataset_destroy(dev);
    clg_dataset_destroy(str);
    free(X);
    clg_context_destroy(ctx);
}

/* A synthetic dataset that is streamed (CLGRAD_STREAM=1 here; in use, one too large for
 * the device) is drawn on the device in chunks (7 rows each here, a partial last one)
 * and holds exactly the floats of the one-piece device dataset of the same seed. */
Test(stream, synthetic_streamed_in_chunks_is_bit_identical)
{
    clg_context *ctx = test_context();
    const size_t n = 1003, d = 5;
    const float w[5] = {2.0f, -3.4f, 0.5f, 1.0f, -1.0f};
    clg_dataset *dev, *str;
    CLG_OK_OR_FAIL(ctx, clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 0.01f, 9, &dev));
    size_t keep = ctx->cfg.synthetic_chunk_bytes;
    ctx->cfg.synthetic_chunk_bytes = 7 * (d + 1) * sizeof(float);
    test_label(ctx, "CLGRAD_STREAM",
               "1"); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", "1"));
    clg_status s = clg_dataset_synthetic_linear(ctx, n, w, d, 4.2f, 0.01f, 9, &str);
    test_label(ctx, "CLGRAD_STREAM",
               NULL); /* for the Oclgrind kernel log (tests/oclgrind/kernel_log.c) */
    CLG_OK_OR_FAIL(ctx, clg_config_set(ctx, "CLGRAD_STREAM", NULL));
    ctx->cfg.synthetic_chunk_bytes = keep;
    CLG_OK_OR_FAIL(ctx, s);
    cr_assert(clg_dataset_streamed(str) && !clg_dataset_streamed(dev));
    float *Xd = malloc(n * d * sizeof *Xd), *Yd = malloc(n * sizeof *Yd);
    float *Xs = malloc(n * d * sizeof *Xs), *Ys = malloc(n * sizeof *Ys);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(dev, Xd, Yd));
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(str, Xs, Ys));
    cr_expect_eq(memcmp(Xd, Xs, n * d * sizeof *Xd), 0, "X bit-identical");
    cr_expect_eq(memcmp(Yd, Ys, n * sizeof *Yd), 0, "y bit-identical");
    double var = 0;
    for (size_t i = 0; i < n * d; i++) var += (double)Xs[i] * Xs[i];
    cr_expect(fabs(var / (double)(n * d) - 1.0) < 0.1, "X ~ N(0, 1): mean square %g",
              var / (double)(n * d));
    free(Xd), free(Yd), free(Xs), free(Ys);
    clg_dataset_destroy(dev);
    clg_dataset_destroy(str);
    clg_context_destroy(ctx);
}
