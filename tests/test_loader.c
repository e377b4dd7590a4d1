/* Loader: every sample once per epoch, gathered rows match the order, seeded
 * reproducibility, batch counts, uniformity of the shuffle, non-blocking calls, errors. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "helpers.h"
#include "internal.h"

enum { D = 2, Q = 2 };

/* Row i is recognisable: X = (i, -i - 0.5), Y = (2i + 1, i/4); exact in float. */
static clg_dataset *index_dataset(clg_context *ctx, size_t n)
{
    float *X = malloc(n * D * sizeof *X), *Y = malloc(n * Q * sizeof *Y);
    for (size_t i = 0; i < n; i++) {
        X[i * D] = (float)i;
        X[i * D + 1] = -(float)i - 0.5f;
        Y[i * Q] = 2.0f * (float)i + 1.0f;
        Y[i * Q + 1] = (float)i * 0.25f;
    }
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_host(ctx, X, Y, n, D, Q, &ds));
    free(X);
    free(Y);
    return ds;
}

static clg_loader *make_loader(clg_dataset *ds, size_t B, int shuffle, int drop_last, uint64_t seed)
{
    clg_loader_options o = clg_loader_defaults();
    o.batch_size = B;
    o.shuffle = shuffle;
    o.drop_last = drop_last;
    o.seed = seed;
    clg_loader *ld = NULL;
    CLG_OK_OR_FAIL(ds->ctx, clg_loader_create(ds, &o, &ld));
    return ld;
}

/* Runs one epoch, downloads every batch and checks each row against its index.
 * seq gets the gathered indices in batch order; returns how many. */
static size_t run_epoch(clg_loader *ld, size_t n, size_t B, uint32_t *seq)
{
    clg_context *ctx = ld->ds->ctx;
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
    float *X = malloc(B * D * sizeof *X), *Y = malloc(B * Q * sizeof *Y);
    size_t got = 0, k = 0;
    clg_batch b;
    int has = 0;
    for (;;) {
        CLG_OK_OR_FAIL(ctx, clg_loader_next(ld, &b, &has));
        if (!has) break;
        size_t want_rows = n - got < B ? n - got : B;
        cr_assert_eq(b.index, k, "batch index %zu, want %zu", b.index, k);
        cr_assert_eq(b.rows, want_rows, "batch %zu has %zu rows, want %zu", k, b.rows, want_rows);
        cr_assert_eq(clg_tensor_rows(b.X), b.rows);
        cr_assert_eq(clg_tensor_rows(b.Y), b.rows);
        cr_assert_eq(clg_tensor_cols(b.X), (size_t)D);
        cr_assert_eq(clg_tensor_cols(b.Y), (size_t)Q);
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.X, X, b.rows, D));
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.Y, Y, b.rows, Q));
        for (size_t r = 0; r < b.rows; r++) {
            float fi = X[r * D];
            cr_assert(fi >= 0.0f && fi < (float)n && fi == (float)(uint32_t)fi,
                      "batch %zu row %zu: X[0] = %g is not a sample index", k, r, (double)fi);
            uint32_t i = (uint32_t)fi;
            cr_assert_eq(X[r * D + 1], -(float)i - 0.5f, "batch %zu row %zu: X[1] of sample %u", k,
                         r, i);
            cr_assert_eq(Y[r * Q], 2.0f * (float)i + 1.0f, "batch %zu row %zu: Y[0] of sample %u",
                         k, r, i);
            cr_assert_eq(Y[r * Q + 1], (float)i * 0.25f, "batch %zu row %zu: Y[1] of sample %u", k,
                         r, i);
            seq[got++] = i;
        }
        k++;
    }
    cr_assert_eq(k, clg_loader_batches(ld), "epoch yielded %zu batches, loader says %zu", k,
                 clg_loader_batches(ld));
    /* Past the end it keeps saying so. */
    CLG_OK_OR_FAIL(ctx, clg_loader_next(ld, &b, &has));
    cr_assert_eq(has, 0);
    free(X);
    free(Y);
    return got;
}

static void expect_permutation(const uint32_t *seq, size_t count, size_t n)
{
    unsigned char *seen = calloc(n, 1);
    for (size_t k = 0; k < count; k++) {
        cr_assert(seq[k] < n);
        cr_assert(!seen[seq[k]], "sample %u gathered twice", seq[k]);
        seen[seq[k]] = 1;
    }
    cr_assert_eq(count, n, "%zu of %zu samples gathered", count, n);
    free(seen);
}

static size_t same_positions(const uint32_t *a, const uint32_t *b, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] == b[i];
    return s;
}

Test(loader, every_sample_once_per_epoch_and_order_matches_gather)
{
    clg_context *ctx = test_context();
    const size_t n = 1003, B = 10;
    clg_dataset *ds = index_dataset(ctx, n);
    clg_loader *ld = make_loader(ds, B, 1, 0, 2024);
    cr_assert_eq(clg_loader_batches(ld), 101u);
    uint32_t seq[3][1003], order[1003];
    uint32_t identity[1003];
    for (size_t i = 0; i < n; i++) identity[i] = (uint32_t)i;
    for (int e = 0; e < 3; e++) {
        size_t got = run_epoch(ld, n, B, seq[e]);
        expect_permutation(seq[e], got, n);
        CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, order, n));
        cr_assert_arr_eq(order, seq[e], sizeof order,
                         "epoch %d: clg_loader_order must equal the gathered sequence", e);
        /* A uniform permutation has about 1 fixed point; 20 would be absurd. */
        cr_expect(same_positions(seq[e], identity, n) < 20, "epoch %d is barely shuffled", e);
    }
    cr_expect(same_positions(seq[0], seq[1], n) < 20, "epochs 0 and 1 share %zu positions",
              same_positions(seq[0], seq[1], n));
    cr_expect(same_positions(seq[1], seq[2], n) < 20, "epochs 1 and 2 share %zu positions",
              same_positions(seq[1], seq[2], n));
    clg_loader_destroy(ld);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(loader, fixed_seed_reproduces_epochs_other_seed_differs)
{
    clg_context *ctx = test_context();
    const size_t n = 500;
    clg_dataset *ds = index_dataset(ctx, n);
    clg_loader *a = make_loader(ds, 64, 1, 0, 77), *b = make_loader(ds, 64, 1, 0, 77);
    clg_loader *c = make_loader(ds, 64, 1, 0, 78);
    static uint32_t sa[500], sb[500], oc[500];
    for (int e = 0; e < 3; e++) {
        expect_permutation(sa, run_epoch(a, n, 64, sa), n);
        expect_permutation(sb, run_epoch(b, n, 64, sb), n);
        cr_assert_arr_eq(sa, sb, sizeof sa, "epoch %d: same seed must give the same order", e);
        CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(c));
        CLG_OK_OR_FAIL(ctx, clg_loader_order(c, oc, n));
        cr_expect(same_positions(sa, oc, n) < 20, "epoch %d: seeds 77 and 78 share %zu positions",
                  e, same_positions(sa, oc, n));
    }
    clg_loader_destroy(a);
    clg_loader_destroy(b);
    clg_loader_destroy(c);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(loader, no_shuffle_is_identity)
{
    clg_context *ctx = test_context();
    const size_t n = 1003;
    clg_dataset *ds = index_dataset(ctx, n);
    clg_loader *ld = make_loader(ds, 10, 0, 1, 5);
    cr_assert_eq(clg_loader_batches(ld), 100u, "drop_last: floor(1003/10)");
    static uint32_t seq[1003], order[1003];
    for (int e = 0; e < 2; e++) {
        size_t got = run_epoch(ld, n, 10, seq);
        cr_assert_eq(got, 1000u, "drop_last drops the 3 trailing samples");
        for (size_t i = 0; i < got; i++) cr_assert_eq(seq[i], i, "epoch %d position %zu", e, i);
        CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, order, n));
        for (size_t i = 0; i < n; i++) cr_assert_eq(order[i], i, "order[%zu]", i);
    }
    clg_loader_destroy(ld);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(loader, batch_counts_and_sizes)
{
    clg_context *ctx = test_context();
    static uint32_t seq[1003];
    clg_dataset *d1000 = index_dataset(ctx, 1000);
    clg_loader *ld = make_loader(d1000, 10, 1, 0, 1);
    cr_expect_eq(clg_loader_batches(ld), 100u, "1000/10");
    expect_permutation(seq, run_epoch(ld, 1000, 10, seq), 1000);
    clg_loader_destroy(ld);
    ld = make_loader(d1000, 10, 1, 1, 1);
    cr_expect_eq(clg_loader_batches(ld), 100u, "1000/10 with drop_last");
    clg_loader_destroy(ld);
    clg_dataset_destroy(d1000);

    clg_dataset *d1003 = index_dataset(ctx, 1003);
    ld = make_loader(d1003, 10, 1, 0, 1);
    cr_expect_eq(clg_loader_batches(ld), 101u, "ceil(1003/10)");
    expect_permutation(seq, run_epoch(ld, 1003, 10, seq), 1003); /* checks last has 3 rows */
    clg_loader_destroy(ld);
    ld = make_loader(d1003, 10, 1, 1, 1);
    cr_expect_eq(clg_loader_batches(ld), 100u, "floor(1003/10)");
    size_t got = run_epoch(ld, 1003, 10, seq);
    cr_expect_eq(got, 1000u);
    clg_loader_destroy(ld);
    clg_dataset_destroy(d1003);

    clg_dataset *d7 = index_dataset(ctx, 7);
    ld = make_loader(d7, 1, 1, 0, 3);
    cr_expect_eq(clg_loader_batches(ld), 7u, "batch size 1");
    expect_permutation(seq, run_epoch(ld, 7, 1, seq), 7);
    clg_loader_destroy(ld);
    ld = make_loader(d7, 8, 1, 0, 3);
    cr_expect_eq(clg_loader_batches(ld), 1u, "B > n: one partial batch");
    expect_permutation(seq, run_epoch(ld, 7, 8, seq), 7);
    clg_loader_destroy(ld);
    ld = make_loader(d7, 7, 1, 1, 3);
    cr_expect_eq(clg_loader_batches(ld), 1u, "B = n with drop_last: one full batch");
    clg_loader_destroy(ld);
    clg_loader_options o = clg_loader_defaults();
    o.batch_size = 8;
    o.drop_last = 1;
    ld = (clg_loader *)&o;
    cr_expect_eq(clg_loader_create(d7, &o, &ld), CLG_ERR_SHAPE, "B > n with drop_last: no batch");
    cr_expect_null(ld);
    cr_expect(strstr(clg_last_error(ctx), "drop_last"), "message: %s", clg_last_error(ctx));
    clg_dataset_destroy(d7);
    clg_context_destroy(ctx);
}

/* All 24 orders of 4 samples over 2400 epochs: 100 each expected, s.d. about 9.8;
 * allow 5 s.d. A biased or Sattolo shuffle (only 6 cyclic orders) fails this. */
Test(loader, shuffle_is_uniform_over_permutations)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = index_dataset(ctx, 4);
    clg_loader *ld = make_loader(ds, 2, 1, 0, 31337);
    unsigned counts[256] = {0};
    uint32_t o[4];
    for (int e = 0; e < 2400; e++) {
        CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
        CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, o, 4));
        counts[o[0] | o[1] << 2 | o[2] << 4 | o[3] << 6]++;
    }
    unsigned distinct = 0;
    for (unsigned k = 0; k < 256; k++) {
        if (!counts[k]) continue;
        distinct++;
        cr_expect(counts[k] >= 51 && counts[k] <= 149, "order 0x%02x drawn %u times of 2400", k,
                  counts[k]);
    }
    cr_expect_eq(distinct, 24u, "all 24 orders of 4 samples occur");
    clg_loader_destroy(ld);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* Releases the gate after a few seconds, so a loader that blocks fails instead of hanging. */
typedef struct gate {
    cl_event ev;
    atomic_int opened;
} gate;

static void *gate_watchdog(void *p)
{
    gate *g = p;
    for (int k = 0; k < 300 && !atomic_load(&g->opened); k++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!atomic_exchange(&g->opened, 1)) clSetUserEventStatus(g->ev, CL_COMPLETE);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The queue is held shut by a user event; start_epoch and next must return while
 * their commands are still queued behind it. */
Test(loader, start_epoch_and_next_do_not_wait_for_the_device)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = index_dataset(ctx, 1000);
    clg_loader *ld = make_loader(ds, 100, 1, 0, 9);
    cl_int err;
    gate g = {.ev = clCreateUserEvent(ctx->cl, &err)};
    atomic_init(&g.opened, 0);
    cr_assert_eq(err, CL_SUCCESS);
    cr_assert_eq(clEnqueueMarkerWithWaitList(ctx->queue, 1, &g.ev, NULL), CL_SUCCESS);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, gate_watchdog, &g), 0);
    double t0 = now_s();
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
    clg_batch b;
    int has = 0;
    size_t k = 0;
    clg_status s = CLG_OK;
    while ((s = clg_loader_next(ld, &b, &has)) == CLG_OK && has) k++;
    double dt = now_s() - t0;
    cl_int st = CL_COMPLETE;
    clGetEventInfo(ld->order_written, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    int closed = !atomic_exchange(&g.opened, 1);
    if (closed) clSetUserEventStatus(g.ev, CL_COMPLETE);
    pthread_join(th, NULL);
    cr_expect(closed, "the loader calls took %.2f s: they waited for the gated queue", dt);
    cr_expect_neq(st, CL_COMPLETE, "the order upload completed while the queue was gated");
    cr_expect_eq(s, CLG_OK, "clg_loader_next: %s", clg_last_error(ctx));
    cr_expect_eq(k, 10u);
    /* Once the gate opens, the last batch holds real rows (b was zeroed at the end). */
    float X[100 * D];
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(ld->Xb, X, 100, D));
    uint32_t order[1000];
    CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, order, 1000));
    for (size_t r = 0; r < 100; r++)
        cr_assert_eq(X[r * D], (float)order[900 + r], "last batch row %zu", r);
    clReleaseEvent(g.ev);
    clg_loader_destroy(ld);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

Test(loader, defaults_and_errors)
{
    clg_loader_options o = clg_loader_defaults();
    cr_expect_eq(o.batch_size, 32u);
    cr_expect_eq(o.shuffle, 1);
    cr_expect_eq(o.drop_last, 0);
    cr_expect_eq(o.seed, 0u);

    clg_context *ctx = test_context();
    clg_dataset *ds = index_dataset(ctx, 100);
    clg_loader *ld = (clg_loader *)&o;
    o.batch_size = 0;
    cr_expect_eq(clg_loader_create(ds, &o, &ld), CLG_ERR_INVALID_ARGUMENT, "batch_size 0");
    cr_expect_null(ld);
    cr_expect(strstr(clg_last_error(ctx), "batch_size"), "message: %s", clg_last_error(ctx));
    cr_expect_eq(clg_loader_create(NULL, NULL, &ld), CLG_ERR_INVALID_ARGUMENT, "NULL dataset");
    cr_expect(clg_last_error(NULL)[0] != '\0');
    cr_expect_eq(clg_loader_create(ds, NULL, NULL), CLG_ERR_INVALID_ARGUMENT, "NULL out");

    CLG_OK_OR_FAIL(ctx, clg_loader_create(ds, NULL, &ld)); /* NULL options: defaults */
    cr_expect_eq(clg_loader_batches(ld), 4u, "ceil(100/32) with the default batch size");
    clg_batch b;
    int has = 7;
    cr_expect_eq(clg_loader_next(ld, &b, &has), CLG_ERR_STATE, "next before start_epoch");
    cr_expect_eq(has, 0);
    cr_expect(strstr(clg_last_error(ctx), "clg_loader_start_epoch"), "message: %s",
              clg_last_error(ctx));
    uint32_t order[100];
    cr_expect_eq(clg_loader_order(ld, order, 100), CLG_ERR_STATE, "order before start_epoch");
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
    cr_expect_eq(clg_loader_order(ld, order, 99), CLG_ERR_SHAPE, "order with the wrong n");
    cr_expect(strstr(clg_last_error(ctx), "99"), "message: %s", clg_last_error(ctx));
    cr_expect_eq(clg_loader_order(ld, NULL, 100), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_next(ld, NULL, &has), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_next(ld, &b, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_next(NULL, &b, &has), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_start_epoch(NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_order(NULL, order, 100), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_loader_batches(NULL), 0u);
    /* The failed calls left the epoch intact. */
    CLG_OK_OR_FAIL(ctx, clg_loader_next(ld, &b, &has));
    cr_expect_eq(has, 1);
    cr_expect_eq(b.index, 0u);
    cr_expect_eq(b.rows, 32u);
    clg_loader_destroy(ld);
    clg_loader_destroy(NULL);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}
