/* File-streamed datasets (lib/data/stream_*.c, docs/streaming.md): .npy and CSV files read
 * chunk by chunk. Without shuffling, batches and fits are bit-identical to the in-memory
 * path's (regression and classes, drop_last, batch sizes that do and do not divide n);
 * shuffled orders are permutations that follow the documented chunk rule (checked against
 * a re-implementation here), repeat for a seed and honour first_epoch; malformed files are
 * refused at open with the in-memory readers' messages; the other dataset functions work
 * on such datasets; and a file larger than a process's memory limit trains where the
 * in-memory path fails (RLIMIT_DATA, in a child process). Shards: test_stream_shards.c. */
#include <math.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "stream_files.h"

/* --------------------------------------------------------------- fixtures */

/* The kinds of file a test runs over: (format, labels). */
enum { NPY_REG, NPY_CLS, CSV_REG, CSV_IDS, CSV_NAMES, KINDS };
static const char *const kind_name[KINDS] = {"npy regression", "npy classes", "csv regression",
                                             "csv class ids", "csv class names"};

/* The in-memory dataset of a kind and its file-streamed twin. */
static void open_pair(clg_context *ctx, const files *f, int kind, const clg_stream_options *so,
                      clg_dataset **mem, clg_dataset **file)
{
    clg_csv_options co = clg_csv_defaults();
    const int cls = kind != NPY_REG && kind != CSV_REG;
    if (kind == NPY_REG || kind == NPY_CLS) {
        const char *y = cls ? f->npy_labels : f->npy_y;
        CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, f->npy_X, y, cls, mem));
        CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f->npy_X, y, cls, so, file));
    } else if (!cls) {
        CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv(ctx, f->csv, &co, mem));
        CLG_OK_OR_FAIL(ctx, clg_dataset_stream_csv(ctx, f->csv, &co, 0, so, file, NULL));
    } else {
        const char *p = kind == CSV_IDS ? f->csv_classes : f->csv_names;
        clg_class_names a = {0}, b = {0};
        CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv_classes(ctx, p, &co, mem, &a));
        CLG_OK_OR_FAIL(ctx, clg_dataset_stream_csv(ctx, p, &co, 1, so, file, &b));
        cr_assert_eq(a.count, b.count);
        for (size_t i = 0; i < a.count; i++) cr_assert_str_eq(a.names[i], b.names[i]);
        if (kind == CSV_NAMES) cr_assert_eq(b.count, (size_t)CL);
        clg_class_names_free(&a);
        clg_class_names_free(&b);
    }
    cr_assert_eq(clg_dataset_storage(*file), CLG_STORAGE_FILE);
    cr_assert_eq(clg_dataset_streamed(*file), 1);
    cr_assert_null(clg_dataset_X(*file));
    cr_assert_eq(clg_dataset_size(*file), clg_dataset_size(*mem));
    cr_assert_eq(clg_dataset_features(*file), clg_dataset_features(*mem));
    cr_assert_eq(clg_dataset_targets(*file), clg_dataset_targets(*mem));
    cr_assert_eq(clg_dataset_classes(*file), clg_dataset_classes(*mem), "%s: classes %zu vs %zu",
                 kind_name[kind], clg_dataset_classes(*file), clg_dataset_classes(*mem));
}

/* ------------------------------------------------------------- read back */

/* Every kind reads back the in-memory rows, whole (download) and in ranges that start and
 * end inside chunks (chunk_rows 10: 11 chunks, the last of 3 rows); the auto chunk size. */
Test(stream_file, rows_read_back)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    clg_stream_options so = stream_opts(10, 4);
    for (int kind = 0; kind < KINDS; kind++) {
        clg_dataset *mem, *file;
        open_pair(ctx, &f, kind, &so, &mem, &file);
        cr_assert_eq(clg_dataset_chunk_rows(file), 10u);
        cr_assert_eq(clg_dataset_chunk_rows(mem), 0u);
        float *mx, *my, *fx, *fy;
        download(ctx, mem, &mx, &my);
        download(ctx, file, &fx, &fy);
        const size_t q = clg_dataset_targets(mem);
        expect_same_floats(mx, fx, N * D, kind_name[kind]);
        expect_same_floats(my, fy, N * q, kind_name[kind]);
        float rx[N * D], ry[N * 2];
        const size_t ranges[][2] = {{0, 1}, {7, 13}, {10, 10}, {95, 8}, {102, 1}, {3, 0}};
        for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
            CLG_OK_OR_FAIL(ctx, clg_dataset_read_rows(file, ranges[r][0], ranges[r][1], rx, ry));
            expect_same_floats(mx + ranges[r][0] * D, rx, ranges[r][1] * D, "range X");
            expect_same_floats(my + ranges[r][0] * q, ry, ranges[r][1] * q, "range Y");
            CLG_OK_OR_FAIL(ctx, clg_dataset_read_rows(file, ranges[r][0], ranges[r][1], NULL, ry));
        }
        CLG_OK_OR_FAIL(ctx, clg_dataset_download(file, NULL, fy));
        expect_same_floats(my, fy, N * q, "Y alone");
        free(mx), free(my), free(fx), free(fy);
        clg_dataset_destroy(mem);
        clg_dataset_destroy(file);
    }
    /* chunk_rows 0: 4 MiB of float32 rows of d + q = 4 floats (262144 rows), at most n. */
    clg_dataset *ds;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_y, 0, NULL, &ds));
    cr_expect_eq(clg_dataset_chunk_rows(ds), (size_t)N);
    cr_expect_eq(clg_stream_auto_chunk_rows(65), 16131u, "d = 64, q = 1");
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------- unshuffled: bit-identical */

/* Unshuffled batches of the file-streamed dataset are the in-memory loader's (same rows,
 * same floats, same count), for batch sizes 1, 7, 10 (the chunk), 32, 102, 103 and 200,
 * with and without drop_last, chunk_rows 10 and buffer_chunks 1 or 4. */
Test(stream_file, unshuffled_batches_equal_in_memory)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    const size_t sizes[] = {1, 7, 10, 32, 102, 103, 200};
    for (int kind = 0; kind < KINDS; kind++) {
        clg_stream_options so = stream_opts(10, kind % 2 ? 1 : 4);
        clg_dataset *mem, *file;
        open_pair(ctx, &f, kind, &so, &mem, &file);
        const size_t q = clg_dataset_targets(mem);
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (int drop = 0; drop < 2; drop++) {
                if (drop && sizes[si] > N) continue;
                clg_loader_options o = clg_loader_defaults();
                o.batch_size = sizes[si];
                o.shuffle = 0;
                o.drop_last = drop;
                clg_loader *a, *b;
                CLG_OK_OR_FAIL(ctx, clg_loader_create(mem, &o, &a));
                CLG_OK_OR_FAIL(ctx, clg_loader_create(file, &o, &b));
                cr_assert_eq(clg_loader_batches(a), clg_loader_batches(b));
                for (int epoch = 0; epoch < 2; epoch++) {
                    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(a));
                    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(b));
                    uint32_t order[N];
                    CLG_OK_OR_FAIL(ctx, clg_loader_order(b, order, N));
                    for (size_t i = 0; i < N; i++) cr_assert_eq(order[i], i);
                    size_t seen = 0;
                    for (;;) {
                        clg_batch ba, bb;
                        int more_a, more_b;
                        CLG_OK_OR_FAIL(ctx, clg_loader_next(a, &ba, &more_a));
                        CLG_OK_OR_FAIL(ctx, clg_loader_next(b, &bb, &more_b));
                        cr_assert_eq(more_a, more_b);
                        if (!more_a) break;
                        cr_assert_eq(ba.rows, bb.rows);
                        float xa[N * D], xb[N * D], ya[N * 2], yb[N * 2];
                        CLG_OK_OR_FAIL(ctx, clg_tensor_download(ba.X, xa, ba.rows, D));
                        CLG_OK_OR_FAIL(ctx, clg_tensor_download(bb.X, xb, bb.rows, D));
                        CLG_OK_OR_FAIL(ctx, clg_tensor_download(ba.Y, ya, ba.rows, q));
                        CLG_OK_OR_FAIL(ctx, clg_tensor_download(bb.Y, yb, bb.rows, q));
                        expect_same_floats(xa, xb, ba.rows * D, kind_name[kind]);
                        expect_same_floats(ya, yb, ba.rows * q, kind_name[kind]);
                        seen += ba.rows;
                    }
                    cr_assert_eq(seen, drop ? N / sizes[si] * sizes[si] : (size_t)N,
                                 "%s: B %zu drop %d: %zu rows", kind_name[kind], sizes[si], drop,
                                 seen);
                }
                clg_loader_destroy(a);
                clg_loader_destroy(b);
            }
        clg_dataset_destroy(mem);
        clg_dataset_destroy(file);
    }
    clg_context_destroy(ctx);
}

/* Linear and softmax regression, 2 epochs without shuffling: every kind of file, batch
 * sizes 8 (the last batch of 7 rows) and 103, with and without drop_last: bit-identical
 * to the in-memory fit. Shuffling with the whole file in one shuffle buffer (3 chunks of
 * 40, buffer_chunks 4) is bit-identical too: that order is the in-memory loader's. */
Test(stream_file, fits_bit_identical_to_in_memory, .timeout = 120)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    const size_t sizes[] = {8, 103};
    for (int kind = 0; kind < KINDS; kind++) {
        clg_stream_options so = stream_opts(kind % 2 ? 16 : 40, 4);
        clg_dataset *mem, *file;
        open_pair(ctx, &f, kind, &so, &mem, &file);
        for (size_t si = 0; si < 2; si++)
            for (int drop = 0; drop < 2; drop++)
                for (int shuffle = 0; shuffle < 2; shuffle++) {
                    if (shuffle && (kind % 2 || drop)) continue; /* one window: chunk_rows 40 */
                    clg_fit_options o = clg_fit_defaults();
                    o.epochs = 2;
                    o.batch_size = sizes[si];
                    o.drop_last = drop;
                    o.shuffle = shuffle;
                    o.seed = 21;
                    o.optimizer.lr = 0.02f;
                    o.loss = clg_dataset_classes(mem) ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
                    o.on_epoch = NULL;
                    char what[96];
                    snprintf(what, sizeof what, "%s, B %zu, drop_last %d, shuffle %d",
                             kind_name[kind], sizes[si], drop, shuffle);
                    fit_pair(ctx, mem, file, &o, what);
                }
        clg_dataset_destroy(mem);
        clg_dataset_destroy(file);
    }
    clg_context_destroy(ctx);
}

/* ------------------------------------------------------------ shuffled order */

#define TAG_SHUF 0x53485546u
#define TAG_CHNK 0x43484E4Bu
#define TAG_WIND 0x57494E44u

/* docs/streaming.md's order rule, written out plainly: epoch e of n rows in chunks of C,
 * b chunks per shuffle buffer. */
static void ref_order(size_t n, size_t C, size_t b, uint64_t seed, uint64_t e, uint32_t *out)
{
    const size_t K = (n + C - 1) / C;
    if (K <= b) {
        clg_philox_permutation(out, n, seed, e, TAG_SHUF);
        return;
    }
    uint32_t *P = malloc(K * sizeof *P), *list = malloc(b * C * sizeof *list),
             *pi = malloc(b * C * sizeof *pi);
    clg_philox_permutation(P, K, seed, e, TAG_CHNK);
    size_t at = 0;
    for (size_t w = 0; w * b < K; w++) {
        size_t m = 0;
        for (size_t i = w * b; i < (w + 1) * b && i < K; i++)
            for (size_t r = P[i] * C; r < (P[i] + 1) * C && r < n; r++) list[m++] = (uint32_t)r;
        clg_philox_permutation(pi, m, seed, (uint64_t)w << 32 | (uint32_t)e, TAG_WIND);
        for (size_t i = 0; i < m; i++) out[at + i] = list[pi[i]];
        at += m;
    }
    cr_assert_eq(at, n);
    free(P), free(list), free(pi);
}

/* A dataset whose row i holds (i, -i - 0.5, i/8) and y = 2i + 1: a batch names its rows. */
static void index_file(const char *X_path, const char *y_path, size_t n)
{
    float *X = malloc(n * 3 * sizeof *X), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        X[i * 3] = (float)i;
        X[i * 3 + 1] = -(float)i - 0.5f;
        X[i * 3 + 2] = (float)i * 0.125f;
        y[i] = 2.0f * (float)i + 1.0f;
    }
    write_npy(X_path, X, n, 3, 0);
    write_npy(y_path, y, n, 0, 0);
    free(X);
    free(y);
}

/* The rows a loader's epoch hands out, batch after batch, from the batches' floats. */
static size_t batch_rows(clg_context *ctx, clg_loader *ld, uint32_t *rows, size_t n)
{
    size_t at = 0;
    clg_batch b;
    int more;
    while (clg_loader_next(ld, &b, &more) == CLG_OK && more) {
        float X[64 * 3], Y[64];
        cr_assert(b.rows <= 64);
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.X, X, b.rows, 3));
        CLG_OK_OR_FAIL(ctx, clg_tensor_download(b.Y, Y, b.rows, 1));
        for (size_t r = 0; r < b.rows; r++) {
            cr_assert(at < n);
            uint32_t i = (uint32_t)X[r * 3];
            cr_assert_eq(X[r * 3 + 1], -(float)i - 0.5f);
            cr_assert_eq(X[r * 3 + 2], (float)i * 0.125f);
            cr_assert_eq(Y[r], 2.0f * (float)i + 1.0f, "row %u's target", i);
            rows[at++] = i;
        }
    }
    return at;
}

/* 1000 rows, chunks of 64 (16 chunks, the last of 40), buffers of 3 chunks (6 windows, the
 * last of one chunk): each epoch is a permutation equal to the rule's, batches (of 48,
 * across windows) hold the rows of clg_loader_order in that order, epochs differ, a second
 * loader with the same seed repeats them, first_epoch = 2 starts at epoch 2's order, and
 * a window mixes only its own chunks. Also 2 buffers of 3 chunks of 400 (the last of 200). */
Test(stream_file, shuffled_order_follows_the_chunk_rule)
{
    clg_context *ctx = test_context();
    enum { NR = 1000 };
    const char *Xp = tmp_path("idx_X.npy"), *yp = tmp_path("idx_y.npy");
    index_file(Xp, yp, NR);
    const size_t geometry[][2] = {{64, 3}, {400, 2}, {1, 7}};
    for (size_t g = 0; g < 3; g++) {
        const size_t C = geometry[g][0], b = geometry[g][1], K = (NR + C - 1) / C;
        clg_stream_options so = stream_opts(C, b);
        clg_dataset *ds;
        CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, Xp, yp, 0, &so, &ds));
        clg_loader_options o = clg_loader_defaults();
        o.batch_size = 48;
        o.seed = 77;
        clg_loader *ld, *again, *late;
        CLG_OK_OR_FAIL(ctx, clg_loader_create(ds, &o, &ld));
        CLG_OK_OR_FAIL(ctx, clg_loader_create(ds, &o, &again));
        o.first_epoch = 2;
        CLG_OK_OR_FAIL(ctx, clg_loader_create(ds, &o, &late));
        uint32_t order[NR], ref[NR], rows[NR], prev[NR], late_order[NR];
        for (uint64_t e = 0; e < 3; e++) {
            CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(ld));
            CLG_OK_OR_FAIL(ctx, clg_loader_order(ld, order, NR));
            ref_order(NR, C, b, 77, e, ref);
            cr_assert_eq(memcmp(order, ref, sizeof order), 0, "C %zu b %zu epoch %llu: the rule", C,
                         b, (unsigned long long)e);
            unsigned char seen[NR] = {0};
            for (size_t i = 0; i < NR; i++) {
                cr_assert(order[i] < NR && !seen[order[i]], "not a permutation at %zu", i);
                seen[order[i]] = 1;
            }
            cr_assert_eq(batch_rows(ctx, ld, rows, NR), (size_t)NR);
            cr_assert_eq(memcmp(rows, order, sizeof rows), 0, "batches follow the order");
            /* Window w (the rows of chunks P[w·b .. w·b+b-1]) mixes only its own chunks. */
            uint32_t *P = malloc(K * sizeof *P);
            clg_philox_permutation(P, K, 77, e, TAG_CHNK);
            for (size_t w = 0, at = 0; K > b && w * b < K; w++) {
                size_t m = 0;
                for (size_t i = w * b; i < (w + 1) * b && i < K; i++)
                    m += P[i] == K - 1 ? NR - (K - 1) * C : C;
                for (size_t i = at; i < at + m; i++) {
                    int in = 0;
                    for (size_t k = w * b; k < (w + 1) * b && k < K; k++)
                        in |= order[i] / C == P[k];
                    cr_assert(in, "row %u of window %zu is from another chunk", order[i], w);
                }
                at += m;
            }
            free(P);
            if (e) cr_assert_neq(memcmp(order, prev, sizeof order), 0, "epochs differ");
            memcpy(prev, order, sizeof prev);
            CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(again));
            CLG_OK_OR_FAIL(ctx, clg_loader_order(again, rows, NR));
            cr_assert_eq(memcmp(rows, order, sizeof rows), 0, "same seed, same order");
            if (e == 2) {
                CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(late));
                CLG_OK_OR_FAIL(ctx, clg_loader_order(late, late_order, NR));
                cr_assert_eq(memcmp(late_order, order, sizeof order), 0, "first_epoch 2");
                cr_assert_eq(batch_rows(ctx, late, rows, NR), (size_t)NR);
                cr_assert_eq(memcmp(rows, order, sizeof rows), 0);
            }
        }
        clg_loader_destroy(ld);
        clg_loader_destroy(again);
        clg_loader_destroy(late);
        clg_dataset_destroy(ds);
    }
    /* One buffer holds the file (4 chunks of 250, buffer_chunks 4): the in-memory order. */
    clg_stream_options so = stream_opts(250, 4);
    clg_dataset *file, *mem;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, Xp, yp, 0, &so, &file));
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, Xp, yp, 0, &mem));
    clg_loader_options o = clg_loader_defaults();
    o.seed = 5;
    o.first_epoch = 4;
    clg_loader *a, *b;
    CLG_OK_OR_FAIL(ctx, clg_loader_create(file, &o, &a));
    CLG_OK_OR_FAIL(ctx, clg_loader_create(mem, &o, &b));
    uint32_t oa[NR], ob[NR];
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(a));
    CLG_OK_OR_FAIL(ctx, clg_loader_start_epoch(b));
    CLG_OK_OR_FAIL(ctx, clg_loader_order(a, oa, NR));
    CLG_OK_OR_FAIL(ctx, clg_loader_order(b, ob, NR));
    cr_expect_eq(memcmp(oa, ob, sizeof oa), 0, "one buffer: the in-memory loader's order");
    clg_loader_destroy(a);
    clg_loader_destroy(b);
    clg_dataset_destroy(file);
    clg_dataset_destroy(mem);
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- refusals */

/* The in-memory reader and the streamed one refuse a file with the same status and the
 * same message; recorded for docs/bad-inputs.md. */
static void expect_same_refusal(clg_context *ctx, clg_status mem_s, const char *mem_msg,
                                clg_status file_s, clg_dataset *file, const char *input,
                                clg_status want, const char *needle)
{
    cr_assert_null(file, "%s: a dataset came back", input);
    cr_assert_eq(mem_s, want, "%s: in-memory %s (%s), wanted %s", input, clg_status_string(mem_s),
                 mem_msg, clg_status_string(want));
    EXPECT_REFUSED(ctx, file_s, want, needle, input);
    cr_assert_str_eq(clg_last_error(ctx), mem_msg, "%s: the streamed message differs", input);
}

static void npy_case(clg_context *ctx, const char *X, const char *y, int cls, const char *input,
                     clg_status want, const char *needle)
{
    clg_dataset *mem = NULL, *file = NULL;
    clg_status ms = clg_dataset_from_npy(ctx, X, y, cls, &mem);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", clg_last_error(ctx));
    cr_assert_null(mem, "%s", input);
    clg_stream_options so = stream_opts(4, 2);
    clg_status fs = clg_dataset_stream_npy(ctx, X, y, cls, &so, &file);
    expect_same_refusal(ctx, ms, msg, fs, file, input, want, needle);
}

static void csv_case(clg_context *ctx, const char *text, const clg_csv_options *co, int cls,
                     const char *input, clg_status want, const char *needle)
{
    const char *p = tmp_path("bad.csv");
    write_text(p, text);
    clg_dataset *mem = NULL, *file = NULL;
    clg_status ms = cls ? clg_dataset_from_csv_classes(ctx, p, co, &mem, NULL)
                        : clg_dataset_from_csv(ctx, p, co, &mem);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", clg_last_error(ctx));
    cr_assert_null(mem, "%s", input);
    clg_stream_options so = stream_opts(2, 2);
    clg_status fs = clg_dataset_stream_csv(ctx, p, co, cls, &so, &file, NULL);
    expect_same_refusal(ctx, ms, msg, fs, file, input, want, needle);
}

Test(stream_file, malformed_npy_refused_as_in_memory)
{
    clg_context *ctx = test_context();
    float v[40];
    for (int i = 0; i < 40; i++) v[i] = (float)i * 0.5f;
    const char *X = tmp_path("bx.npy"), *y = tmp_path("by.npy"), *y3 = tmp_path("by3.npy");
    write_npy(y, v, 10, 0, 0);
    write_npy(X, v, 10, 3, -2);
    npy_case(ctx, X, y, 0, "npy stream: X payload 2 elements short", CLG_ERR_FORMAT, "truncated");
    write_npy(X, v, 10, 3, 3);
    npy_case(ctx, X, y, 0, "npy stream: 3 bytes after the payload", CLG_ERR_FORMAT, "trailing");
    write_text(X, "not an npy file");
    npy_case(ctx, X, y, 0, "npy stream: X is text", CLG_ERR_FORMAT, "bad magic");
    npy_case(ctx, tmp_path("absent.npy"), y, 0, "npy stream: X missing", CLG_ERR_IO, "cannot open");
    write_npy(X, v, 10, 3, 0);
    write_npy(y3, v, 9, 0, 0);
    npy_case(ctx, X, y3, 0, "npy stream: 10 rows of X, 9 targets", CLG_ERR_SHAPE, "has 10 rows");
    write_npy(y3, v, 10, 2, 0);
    npy_case(ctx, X, y3, 1, "npy stream: class labels in 2 columns", CLG_ERR_SHAPE, "one column");
    v[7] = NAN;
    write_npy(X, v, 10, 3, 0);
    npy_case(ctx, X, y, 0, "npy stream: NaN in X (element 7)", CLG_ERR_NONFINITE, "element 7");
    v[7] = 3.5f;
    write_npy(X, v, 10, 3, 0);
    v[4] = INFINITY;
    write_npy(y3, v, 10, 0, 0);
    npy_case(ctx, X, y3, 0, "npy stream: Inf in y", CLG_ERR_NONFINITE, "not finite");
    float lab[10] = {0, 1, 2, 1, 0, 2.5f, 1, 0, 1, 2};
    write_npy(y3, lab, 10, 0, 0);
    npy_case(ctx, X, y3, 1, "npy stream: label 2.5", CLG_ERR_FORMAT, "label 5 is 2.5");
    lab[5] = -1;
    write_npy(y3, lab, 10, 0, 0);
    npy_case(ctx, X, y3, 1, "npy stream: label -1", CLG_ERR_FORMAT, "class ids must be");
    /* A big-endian dtype, checked by the shared header parser. */
    FILE *fp = fopen(X, "wb");
    npy_header(fp, ">f4", 10, 3);
    fwrite(v, 4, 30, fp);
    fclose(fp);
    npy_case(ctx, X, y, 0, "npy stream: big-endian X", CLG_ERR_UNSUPPORTED, "big-endian");
    /* Options and arguments. */
    clg_dataset *ds = NULL;
    write_npy(X, v, 10, 3, 0);
    clg_stream_options so = clg_stream_defaults();
    so.buffer_chunks = 0;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, X, y, 0, &so, &ds), CLG_ERR_INVALID_ARGUMENT,
                   "buffer_chunks must be >= 1", "clg_stream_options.buffer_chunks 0");
    so = clg_stream_defaults();
    so.struct_size = 0;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, X, y, 0, &so, &ds), CLG_ERR_INVALID_ARGUMENT,
                   "clg_stream_defaults", "clg_stream_options.struct_size 0");
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, NULL, y, 0, NULL, &ds),
                   CLG_ERR_INVALID_ARGUMENT, "NULL", "clg_dataset_stream_npy: NULL path");
    cr_assert_null(ds);
    clg_context_destroy(ctx);
}

Test(stream_file, malformed_csv_refused_as_in_memory)
{
    clg_context *ctx = test_context();
    clg_csv_options co = clg_csv_defaults();
    csv_case(ctx, "a,b,y\n1,2,3\n4,5\n6,7,8\n", &co, 0, "csv stream: ragged row 3", CLG_ERR_FORMAT,
             "line 3 has 2 fields");
    csv_case(ctx, "1,2,3\n4,5,6\n7,x8,9\n1,1,1\n", &co, 0, "csv stream: \"x8\" in row 3",
             CLG_ERR_FORMAT, "is not a number");
    csv_case(ctx, "1,2,3\n4,5,6\n7,8,9\n1,nan,1\n", &co, 0, "csv stream: nan in row 4",
             CLG_ERR_NONFINITE, "not finite");
    csv_case(ctx, "", &co, 0, "csv stream: empty file", CLG_ERR_FORMAT, "empty");
    csv_case(ctx, "a,b,y\n", &co, 0, "csv stream: header only", CLG_ERR_FORMAT,
             "no data rows follow");
    csv_case(ctx, "1,2,cat\n", &co, 0, "csv stream: a class name as regression target",
             CLG_ERR_FORMAT, "is not a number");
    csv_case(ctx, "1;2;3\n4;5;6\n", &co, 0, "csv stream: ';' file read with ','", CLG_ERR_FORMAT,
             "set the delimiter");
    csv_case(ctx, "1,2,0\n3,4,1\n5,6,cat\n", &co, 1, "csv stream: ids then a name", CLG_ERR_FORMAT,
             "not both");
    clg_csv_options c3 = co;
    c3.classes = 3;
    csv_case(ctx, "1,2,0\n3,4,1\n5,6,2\n7,8,5\n", &c3, 1, "csv stream: class id 5 of 3",
             CLG_ERR_FORMAT, "is not a class id");
    clg_csv_options sk = co;
    sk.skip_columns = "id";
    csv_case(ctx, "a,b,y\n1,2,3\n", &sk, 0, "csv stream: skip_columns names no column",
             CLG_ERR_INVALID_ARGUMENT, "no column named");
    const char *p = tmp_path("ok.csv");
    write_text(p, "1,2,3\n4,5,6\n");
    clg_csv_options nl = co;
    nl.label_column = CLG_CSV_NO_LABEL;
    clg_dataset *ds = NULL;
    EXPECT_REFUSED(ctx, clg_dataset_stream_csv(ctx, p, &nl, 0, NULL, &ds, NULL),
                   CLG_ERR_INVALID_ARGUMENT, "label_column is CLG_CSV_NO_LABEL",
                   "clg_dataset_stream_csv: no label column");
    EXPECT_REFUSED(ctx, clg_dataset_stream_csv(ctx, "/", &co, 0, NULL, &ds, NULL), CLG_ERR_IO, "/",
                   "clg_dataset_stream_csv: a directory");
    cr_assert_null(ds);
    clg_context_destroy(ctx);
}

/* A file changed under an open streamed dataset: the next chunk read says so. */
Test(stream_file, changed_file_refused)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    clg_stream_options so = stream_opts(10, 2);
    clg_dataset *a, *b;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_y, 0, &so, &a));
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_csv(ctx, f.csv, NULL, 0, &so, &b, NULL));
    FILE *fp = fopen(f.npy_X, "ab");
    fputs("xx", fp);
    fclose(fp);
    fp = fopen(f.csv, "a");
    fputs("1,2,3,4\n", fp);
    fclose(fp);
    float X[N * D];
    EXPECT_REFUSED(ctx, clg_dataset_download(a, X, NULL), CLG_ERR_IO, "changed since",
                   "streamed npy file grown after opening");
    EXPECT_REFUSED(ctx, clg_dataset_download(b, X, NULL), CLG_ERR_IO, "changed since",
                   "streamed CSV file grown after opening");
    clg_dataset_destroy(a);
    clg_dataset_destroy(b);
    clg_context_destroy(ctx);
}

/* ----------------------------------------------- the other dataset functions */

/* Feature statistics equal the in-memory ones; standardization is applied to the rows as
 * they are read (twice: in order), equal to the host-streamed path's; a fit on the
 * standardized file equals the in-memory one; split is refused; set_streaming(0) loads
 * the file onto the device (rows and scaling kept), set_streaming(1) leaves it as it is,
 * and a loader keeps it from changing. */
Test(stream_file, dataset_functions)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    clg_stream_options so = stream_opts(10, 3);
    const int kinds[] = {NPY_REG, NPY_CLS, CSV_REG, CSV_NAMES};
    for (size_t ki = 0; ki < 4; ki++) {
        const int kind = kinds[ki];
        clg_dataset *mem, *file, *host; /* host: a second in-memory copy, made host-resident */
        open_pair(ctx, &f, kind, &so, &mem, &file);
        clg_csv_options co = clg_csv_defaults();
        if (kind == NPY_REG || kind == NPY_CLS)
            CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, f.npy_X,
                                                     kind == NPY_CLS ? f.npy_labels : f.npy_y,
                                                     kind == NPY_CLS, &host));
        else if (kind == CSV_REG)
            CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv(ctx, f.csv, &co, &host));
        else
            CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv_classes(ctx, f.csv_names, &co, &host, NULL));
        CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(host, 1));
        cr_assert_eq(clg_dataset_storage(host), CLG_STORAGE_HOST);
        float mm[D], ms[D], fm[D], fs[D];
        CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(mem, mm, ms));
        CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(file, fm, fs));
        expect_same_floats(mm, fm, D, "mean");
        expect_same_floats(ms, fs, D, "scale");
        const float m2[D] = {0.25f, -1.0f, 3.0f}, s2[D] = {3.0f, 0.5f, 7.0f};
        CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(host, mm, ms));
        CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(host, m2, s2));
        CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(file, fm, fs));
        CLG_OK_OR_FAIL(ctx, clg_dataset_standardize(file, m2, s2));
        float *hx, *hy, *fx, *fy;
        download(ctx, host, &hx, &hy);
        download(ctx, file, &fx, &fy);
        expect_same_floats(hx, fx, N * D, "standardized X");
        expect_same_floats(hy, fy, N, "Y after standardizing");
        CLG_OK_OR_FAIL(ctx, clg_dataset_feature_stats(file, fm, fs));
        clg_fit_options o = clg_fit_defaults();
        o.epochs = 1;
        o.shuffle = 0;
        o.loss = clg_dataset_classes(mem) ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
        o.on_epoch = NULL;
        CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(host, 0)); /* the device twin */
        fit_pair(ctx, host, file, &o, "standardized");
        clg_dataset *tr = NULL, *te = NULL;
        EXPECT_REFUSED(ctx, clg_dataset_split(file, 0.25, 1, &tr, &te), CLG_ERR_UNSUPPORTED,
                       "streamed from a file", "clg_dataset_split of a file-streamed dataset");
        cr_assert_null(tr);
        CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(file, 1));
        cr_assert_eq(clg_dataset_storage(file), CLG_STORAGE_FILE);
        clg_loader *ld;
        CLG_OK_OR_FAIL(ctx, clg_loader_create(file, NULL, &ld));
        EXPECT_REFUSED(ctx, clg_dataset_set_streaming(file, 0), CLG_ERR_STATE, "loader",
                       "clg_dataset_set_streaming(0) of a file-streamed dataset with a loader");
        clg_loader_destroy(ld);
        CLG_OK_OR_FAIL(ctx, clg_dataset_set_streaming(file, 0));
        cr_assert_eq(clg_dataset_storage(file), CLG_STORAGE_DEVICE);
        cr_assert_not_null(clg_dataset_X(file));
        cr_assert_eq(clg_dataset_chunk_rows(file), 0u);
        float *dx, *dy;
        download(ctx, file, &dx, &dy);
        expect_same_floats(hx, dx, N * D, "loaded X");
        expect_same_floats(hy, dy, N, "loaded Y");
        CLG_OK_OR_FAIL(ctx, clg_dataset_split(file, 0.25, 1, &tr, &te));
        clg_dataset_destroy(tr);
        clg_dataset_destroy(te);
        free(hx), free(hy), free(fx), free(fy), free(dx), free(dy);
        clg_dataset_destroy(mem);
        clg_dataset_destroy(file);
        clg_dataset_destroy(host);
    }
    cr_assert_eq(clg_dataset_storage(NULL), CLG_STORAGE_DEVICE);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------- beyond the memory limit */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STREAM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STREAM_SANITIZED 1
#endif
#endif

#ifndef STREAM_SANITIZED
enum { BIG_N = 1 << 20, BIG_D = 64 };

/* y = X·w + 0.5 with w_j = (j mod 8 − 3.5) / 8, X ~ U(-1, 1) in steps of 2^-15. */
static void big_rows(size_t first, size_t n, uint64_t *u, float *X, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float t = 0.5f;
        for (size_t j = 0; j < BIG_D; j++) {
            float x = (float)((long)(lcg(u) & 0xFFFF) - 32768) / 32768.0f;
            X[i * BIG_D + j] = x;
            t += x * ((float)(j % 8) - 3.5f) / 8.0f;
        }
        y[i] = t;
    }
    (void)first;
}

/* X (BIG_N × BIG_D float32: 256 MiB) and y, written 4096 rows at a time. */
static void write_big(const char *X_path, const char *y_path, size_t n)
{
    FILE *fx = fopen(X_path, "wb"), *fy = fopen(y_path, "wb");
    cr_assert(fx && fy);
    npy_header(fx, "<f4", n, BIG_D);
    npy_header(fy, "<f4", n, 0);
    enum { STEP = 4096 };
    float *X = malloc(STEP * BIG_D * sizeof *X), *y = malloc(STEP * sizeof *y);
    uint64_t u = 99;
    for (size_t r = 0; r < n; r += STEP) {
        big_rows(r, STEP, &u, X, y);
        cr_assert_eq(fwrite(X, sizeof *X, STEP * BIG_D, fx), (size_t)STEP * BIG_D);
        cr_assert_eq(fwrite(y, sizeof *y, STEP, fy), (size_t)STEP);
    }
    free(X);
    free(y);
    cr_assert_eq(fclose(fx), 0);
    cr_assert_eq(fclose(fy), 0);
}

/* VmData of this process in bytes: what RLIMIT_DATA counts (private writable mappings,
 * heap), not file mappings. */
static size_t vm_data(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

static clg_fit_options big_fit_options(void)
{
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 1;
    o.batch_size = 256;
    o.seed = 1;
    o.optimizer.lr = 0.1f;
    o.on_epoch = NULL;
    return o;
}

#define MARGIN ((size_t)96 << 20)

/* The child: a context, a small streamed fit (programs built before the limit), then
 * RLIMIT_DATA at its data size + MARGIN; the in-memory reader must fail with a status and
 * the streamed fit must learn. Reports one line on fd; exit status 0 when both held. */
static int limited_child(int fd, const char *X, const char *y, const char *sx, const char *sy)
{
    clg_context *ctx = NULL;
    clg_model *m = NULL;
    clg_dataset *ds = NULL;
    char msg[1024] = "";
    int ok = 0;
    clg_fit_options o = big_fit_options();
    clg_fit_report r;
    if (clg_context_create(&ctx, NULL) != CLG_OK) {
        dprintf(fd, "no context: %s", clg_last_error(NULL));
        return 2;
    }
    if (clg_dataset_stream_npy(ctx, sx, sy, 0, NULL, &ds) != CLG_OK ||
        clg_model_create(ctx, &m) != CLG_OK || clg_model_add_linear(m, BIG_D, 1, NULL) != CLG_OK ||
        clg_fit(m, ds, &o, NULL, &r) != CLG_OK) {
        dprintf(fd, "warm-up fit: %s", clg_last_error(ctx));
        return 2;
    }
    clg_dataset_destroy(ds);
    clg_model_destroy(m);
    ds = NULL;
    m = NULL;
    const size_t before = vm_data();
    struct rlimit rl;
    getrlimit(RLIMIT_DATA, &rl);
    rl.rlim_cur = (rlim_t)(before + MARGIN);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max) rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_DATA, &rl) != 0) {
        dprintf(fd, "setrlimit failed");
        return 2;
    }
    clg_status mem_s = clg_dataset_from_npy(ctx, X, y, 0, &ds);
    snprintf(msg, sizeof msg, "%s", clg_last_error(ctx));
    if (mem_s == CLG_OK) clg_dataset_destroy(ds);
    ds = NULL;
    clg_status s = clg_dataset_stream_npy(ctx, X, y, 0, NULL, &ds);
    if (s == CLG_OK) s = clg_model_create(ctx, &m);
    if (s == CLG_OK) s = clg_model_add_linear(m, BIG_D, 1, NULL);
    if (s == CLG_OK) s = clg_fit(m, ds, &o, NULL, &r);
    const size_t after = vm_data();
    ok = mem_s == CLG_ERR_HOST_MEMORY && s == CLG_OK && r.final_loss < 1e-4;
    dprintf(fd,
            "VmData %.1f MiB, RLIMIT_DATA %.1f MiB; in-memory: %s (%s); streamed: %s%s%s, %zu "
            "steps, loss %.3g, VmData after %.1f MiB",
            before / 1048576.0, (before + MARGIN) / 1048576.0, clg_status_string(mem_s), msg,
            clg_status_string(s), s == CLG_OK ? "" : ": ", s == CLG_OK ? "" : clg_last_error(ctx),
            s == CLG_OK ? r.steps : 0, s == CLG_OK ? r.final_loss : NAN, after / 1048576.0);
    clg_model_destroy(m);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    return ok ? 0 : 1;
}

#endif

/* A 256 MiB training file (2^20 rows × 64 float32 and its targets) under an RLIMIT_DATA of
 * the process's data size + 96 MiB: the in-memory reader fails cleanly
 * (CLG_ERR_HOST_MEMORY), the streamed dataset trains one epoch (4096 batches of 256,
 * shuffled) to a loss below 1e-4. RLIMIT_DATA counts malloc and private writable mappings,
 * not the read-only file mapping the stream reads through. In a forked child (the limit
 * stays there). Skipped under ASan/TSan, whose shadow memory RLIMIT_DATA counts. */
Test(stream_file, trains_beyond_the_memory_limit, .timeout = 300)
{
#ifdef STREAM_SANITIZED
    cr_skip_test("RLIMIT_DATA: the sanitizer's shadow memory is counted as data");
#else
    const char *X = tmp_path("big_X.npy"), *y = tmp_path("big_y.npy");
    const char *sx = tmp_path("small_X.npy"), *sy = tmp_path("small_y.npy");
    const size_t n = BIG_N;
    write_big(X, y, n);
    write_big(sx, sy, 4096);
    struct stat st;
    cr_assert_eq(stat(X, &st), 0);
    cr_log_info("training file %s: %lld bytes", X, (long long)st.st_size);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(limited_child(p[1], X, y, sx, sy));
    }
    close(p[1]);
    char out[4096];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof out - 1 && (k = read(p[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)k;
    out[len] = '\0';
    close(p[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    unlink(X), unlink(y), unlink(sx), unlink(sy);
    cr_log_info("%s", out);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (status %d): %s", status, out);
    cr_assert((size_t)st.st_size > 2 * MARGIN, "the file (%lld bytes) exceeds the margin",
              (long long)st.st_size);
#endif
}
