/* Checkpoints: bit-exact round trips, resumed training, corruption, truncation,
 * architecture mismatch, failed and concurrent saves. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ref.h"

#define NPARAM_FLOATS (12 + 4 + 8 + 2) /* Linear(3→4) · ReLU · Linear(4→2) */
#define HEADER 24
#define LAYERS 3
#define ROWS 7

/* ------------------------------------------------------------------ helpers */

/* Bitwise CRC-32 (IEEE), written independently of the library's table version. */
static uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes the trailing CRC after an edit, so only the edited field is wrong. */
static void fix_crc(unsigned char *b, size_t n) { le32(b + n - 4, crc32_bitwise(b, n - 4)); }

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "create %s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static char *join(const char *dir, const char *name)
{
    static char buf[8][512];
    static int k;
    char d[256]; /* dir may be an earlier result of join */
    snprintf(d, sizeof d, "%s", dir);
    char *p = buf[k++ % 8];
    cr_assert_lt(snprintf(p, 512, "%s/%s", d, name), 512);
    return p;
}

/* Linear(3→4) · ReLU · Linear(4→2) with seeded weights and non-zero biases. */
static clg_model *mlp(clg_context *ctx, uint64_t seed, size_t hidden)
{
    clg_model *m;
    clg_linear_init init = {
        .struct_size = sizeof(clg_linear_init), .weight_std = 0.7f, .seed = seed};
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 3, hidden, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, hidden, 2, &init));
    float b1[8], b2[2] = {0.25f + (float)seed, -0.125f};
    for (size_t j = 0; j < hidden; j++) b1[j] = 0.1f * (float)j - 0.15f + 0.01f * (float)seed;
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 1, b1, hidden));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 3, b2, 2));
    return m;
}

/* All parameters of the 3→4→2 model, concatenated in parameter order. */
static void params(clg_model *m, float out[NPARAM_FLOATS])
{
    const size_t n[4] = {12, 4, 8, 2};
    for (size_t i = 0, off = 0; i < 4; off += n[i], i++)
        CLG_OK_OR_FAIL(m->ctx, clg_model_get_param(m, i, out + off, n[i]));
}

static void predict(clg_model *m, const clg_tensor *X, float out[ROWS * 2])
{
    const clg_tensor *Y;
    CLG_OK_OR_FAIL(m->ctx, clg_model_forward(m, X, &Y));
    CLG_OK_OR_FAIL(m->ctx, clg_tensor_download(Y, out, ROWS, 2));
}

static clg_tensor *inputs(clg_context *ctx, uint64_t seed, size_t cols)
{
    float *h = ref_random(&seed, ROWS * cols, -1, 1);
    clg_tensor *t;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, h, ROWS, cols, &t));
    free(h);
    return t;
}

/* One real training step: forward, squared-loss gradient, backward, SGD. */
static void train_step(clg_model *m, clg_optimizer *opt, const clg_tensor *X, const clg_tensor *Y,
                       clg_tensor *dY)
{
    const clg_tensor *out;
    CLG_OK_OR_FAIL(m->ctx, clg_model_forward(m, X, &out));
    CLG_OK_OR_FAIL(m->ctx,
                   clg_loss_backward(m->ctx, CLG_LOSS_SQUARED, CLG_REDUCE_MEAN, out, Y, dY));
    CLG_OK_OR_FAIL(m->ctx, clg_model_backward(m, dY));
    CLG_OK_OR_FAIL(m->ctx, clg_optimizer_step(opt, 1.0f));
}

static size_t count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Saves the standard model (no optimizer) with meta "m" into dir/name. */
static unsigned char *saved_bytes(clg_context *ctx, const char *path, size_t *len)
{
    clg_model *m = mlp(ctx, 3, 4);
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, "m", path));
    clg_model_destroy(m);
    return slurp(path, len);
}

/* load and load_into of bytes b must both fail with `want` (message containing
 * `needle` when not NULL) and leave the model untouched. */
static void expect_rejected(clg_context *ctx, const char *dir, const unsigned char *b, size_t n,
                            clg_status want, const char *needle, const char *what)
{
    const char *path = join(dir, "bad.ckpt");
    spit(path, b, n);
    clg_model *out = (clg_model *)(uintptr_t)1;
    char meta[16] = "untouched";
    clg_status s = clg_model_load(ctx, path, &out, meta, sizeof meta);
    cr_expect_eq(s, want, "%s: load gave %s (%s)", what, clg_status_string(s), clg_last_error(ctx));
    cr_expect_null(out, "%s: no model on error", what);
    cr_expect_str_eq(meta, "untouched", "%s: meta not written on error", what);
    if (needle)
        cr_expect(strstr(clg_last_error(ctx), needle), "%s: message '%s' should name '%s'", what,
                  clg_last_error(ctx), needle);
    char input[160];
    snprintf(input, sizeof input, "checkpoint: %s", what);
    if (s == want) bad_input_record(input, clg_status_string(s), clg_last_error(ctx));
    clg_model *m = mlp(ctx, 11, 4);
    float before[NPARAM_FLOATS], after[NPARAM_FLOATS];
    params(m, before);
    s = clg_model_load_into(m, NULL, path);
    cr_expect_eq(s, want, "%s: load_into gave %s (%s)", what, clg_status_string(s),
                 clg_last_error(ctx));
    params(m, after);
    cr_expect_arr_eq(before, after, sizeof before, "%s: load_into changed the model", what);
    clg_model_destroy(m);
}

/* -------------------------------------------------------------------- tests */

Test(checkpoint, crc32_matches_zlib)
{
    cr_expect_eq(clg_crc32(0, "123456789", 9), 0xCBF43926u, "standard check value");
    cr_expect_eq(clg_crc32(0, "", 0), 0u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    cr_expect_eq(clg_crc32(0, fox, strlen(fox)), 0x414FA339u, "zlib's crc32 of the fox");
    cr_expect_eq(clg_crc32(clg_crc32(0, fox, 10), fox + 10, strlen(fox) - 10), 0x414FA339u,
                 "continuation");
    unsigned char all[1000];
    for (int i = 0; i < 1000; i++) all[i] = (unsigned char)(i * 37 + 11);
    cr_expect_eq(clg_crc32(0, all, sizeof all), crc32_bitwise(all, sizeof all), "table = bitwise");
}

Test(checkpoint, round_trip_is_bit_exact_and_layout_is_as_documented)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "net.ckpt");
    clg_model *m = mlp(ctx, 1, 4);
    const char *meta = "epoch 3, loss 0.000051";
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, meta, path));
    cr_expect_eq(count_temp_files(dir), 0, "no temporary file left");

    /* The bytes are the documented layout. */
    size_t n;
    unsigned char *b = slurp(path, &n);
    size_t metalen = strlen(meta),
           want_len = HEADER + 20 * LAYERS + metalen + 4 * NPARAM_FLOATS + 4;
    cr_assert_eq(n, want_len, "file length %zu, want %zu", n, want_len);
    cr_expect(memcmp(b, "CLGRADCK", 8) == 0, "magic");
    cr_expect_eq(rd32(b + 8), 2u, "version 2");
    cr_expect_eq(rd32(b + 12), 0u, "no optimizer flag");
    cr_expect_eq(rd32(b + 16), 3u, "3 layers");
    cr_expect_eq(rd32(b + 20), (uint32_t)metalen, "meta length");
    const uint32_t kinds[3] = {0, 1, 0}, ins[3] = {3, 4, 4}, outs[3] = {4, 4, 2};
    for (int i = 0; i < 3; i++) {
        const unsigned char *L = b + HEADER + 20 * i;
        cr_expect_eq(rd32(L), kinds[i], "layer %d kind", i);
        cr_expect(rd32(L + 4) == ins[i] && rd32(L + 8) == 0, "layer %d in (u64)", i);
        cr_expect(rd32(L + 12) == outs[i] && rd32(L + 16) == 0, "layer %d out (u64)", i);
    }
    cr_expect(memcmp(b + HEADER + 60, meta, metalen) == 0, "meta bytes follow the layers");
    float p[NPARAM_FLOATS], filep[NPARAM_FLOATS];
    params(m, p);
    const unsigned char *payload = b + HEADER + 60 + metalen;
    for (int i = 0; i < NPARAM_FLOATS; i++) {
        uint32_t u = rd32(payload + 4 * i);
        memcpy(&filep[i], &u, 4);
    }
    cr_expect_arr_eq(filep, p, sizeof p, "payload = parameters in order, f32 little-endian");
    cr_expect_eq(rd32(b + n - 4), crc32_bitwise(b, n - 4), "trailing CRC over everything before");
    free(b);

    /* Load: same architecture, same bits, same predictions, meta back. */
    clg_model *l;
    char got[64];
    memset(got, 'x', sizeof got);
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &l, got, sizeof got));
    cr_expect_str_eq(got, meta, "meta round trip");
    cr_expect_eq(clg_model_inputs(l), 3);
    cr_expect_eq(clg_model_outputs(l), 2);
    cr_expect_eq(clg_model_param_count(l), 4);
    cr_expect_eq(l->nlayers, 3);
    cr_expect_eq(l->layers[1].kind, CLG_LAYER_RELU, "layer 1 is the ReLU");
    float q[NPARAM_FLOATS];
    params(l, q);
    cr_expect_arr_eq(q, p, sizeof p, "parameters bit for bit");
    clg_tensor *X = inputs(ctx, 9, 3);
    float ya[ROWS * 2], yb[ROWS * 2];
    predict(m, X, ya);
    predict(l, X, yb);
    cr_expect_arr_eq(ya, yb, sizeof ya, "predictions bit for bit");
    int nonzero = 0;
    for (int i = 0; i < ROWS * 2; i++) nonzero += ya[i] != 0.0f;
    cr_expect_gt(nonzero, 0, "the predictions are not trivially zero");

    /* meta cut to metalen (NUL included); NULL meta saves as empty. */
    char small[6];
    clg_model *l2;
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &l2, small, sizeof small));
    cr_expect_str_eq(small, "epoch", "cut to 5 chars + NUL");
    clg_model_destroy(l2);
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, NULL, path));
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &l2, got, sizeof got));
    cr_expect_str_eq(got, "", "NULL meta loads as empty");
    clg_model_destroy(l2);
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &l2, NULL, 0));
    clg_model_destroy(l2);

    /* load_into a model of the same architecture with other values. */
    clg_model *o = mlp(ctx, 5, 4);
    float r[NPARAM_FLOATS];
    params(o, r);
    cr_expect(memcmp(r, p, sizeof p) != 0, "a different model to start with");
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(o, NULL, path));
    params(o, r);
    cr_expect_arr_eq(r, p, sizeof p, "load_into: parameters bit for bit");
    predict(o, X, yb);
    cr_expect_arr_eq(ya, yb, sizeof ya, "load_into: predictions bit for bit");

    clg_tensor_destroy(X);
    clg_model_destroy(o);
    clg_model_destroy(l);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(checkpoint, optimizer_state_resumes_training_bit_exactly)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "train.ckpt");
    clg_model *m = mlp(ctx, 2, 4);
    clg_optimizer *opt;
    clg_optimizer_options ow = {.kind = CLG_OPTIMIZER_SGD,
                                .lr = 0.05f,
                                .momentum = 0.9f,
                                .dampening = 0.1f},
                          ob = {.kind = CLG_OPTIMIZER_SGD,
                                .lr = 0.04f,
                                .momentum = 0.5f,
                                .weight_decay = 0.01f,
                                .nesterov = 1},
                          plain = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.02f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &ow, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &ob));
    const size_t w2[1] = {2};
    CLG_OK_OR_FAIL(ctx,
                   clg_optimizer_add_group(opt, w2, 1, &plain)); /* 2.weight: no momentum buffer */
    clg_tensor *X = inputs(ctx, 21, 3), *Y = inputs(ctx, 22, 2), *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, ROWS, 2, &dY));
    for (int s = 0; s < 3; s++) train_step(m, opt, X, Y, dY);
    cr_assert_not_null(clg_optim_state(opt, 0, 0));
    cr_assert_null(clg_optim_state(opt, 2, 0), "group without momentum keeps no buffer");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, "after 3 steps", path));
    size_t n;
    unsigned char *b = slurp(path, &n);
    cr_expect_eq(rd32(b + 12), 1u, "optimizer flag set");
    /* header + layers + meta + params + kind, S, G + 3 groups of 60 bytes + 4 indices + steps
     * + 4 flags + 3 buffers + CRC */
    size_t want =
        HEADER + 60 + 13 + 4 * NPARAM_FLOATS + 12 + 180 + 16 + 8 + 4 + 4 * (12 + 4 + 2) + 4;
    cr_expect_eq(n, want, "file length with optimizer state %zu, want %zu", n, want);
    free(b);

    for (int s = 0; s < 2; s++) train_step(m, opt, X, Y, dY);
    float A[NPARAM_FLOATS];
    params(m, A);

    /* A fresh model and a fresh default optimizer, restored from the file. */
    clg_model *m2 = mlp(ctx, 7, 4);
    clg_optimizer *opt2;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m2, NULL, &opt2));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(m2, opt2, path));
    cr_expect_eq(opt2->steps, 3, "steps restored");
    cr_assert_eq(opt2->ngroups, 3, "groups restored");
    cr_expect(opt2->groups[1].nesterov == 1 && opt2->groups[1].lr == 0.04f &&
                  opt2->groups[1].weight_decay == 0.01f,
              "group 1 options");
    cr_expect(opt2->groups[0].momentum == 0.9f && opt2->groups[0].dampening == 0.1f,
              "group 0 options");
    const size_t want_group[4] = {0, 1, 2, 1};
    for (int i = 0; i < 4; i++) cr_expect_eq(opt2->group_of[i], want_group[i], "param %d group", i);
    cr_expect_null(clg_optim_state(opt2, 2, 0), "no buffer where the file has none");
    for (int s = 0; s < 2; s++) train_step(m2, opt2, X, Y, dY);
    float B[NPARAM_FLOATS];
    params(m2, B);
    cr_expect_arr_eq(A, B, sizeof A, "resumed training is bit-identical");
    cr_expect_eq(opt2->steps, 5);

    /* Without the optimizer state the momentum restarts: the result differs
     * (shows the state really matters). */
    clg_model *m3 = mlp(ctx, 7, 4);
    clg_optimizer *opt3;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m3, &ow, &opt3));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(m3, NULL, path));
    for (int s = 0; s < 2; s++) train_step(m3, opt3, X, Y, dY);
    float C[NPARAM_FLOATS];
    params(m3, C);
    cr_expect(memcmp(A, C, sizeof A) != 0, "a fresh optimizer gives other parameters");

    /* clg_model_load reads the same file (optimizer section skipped). */
    clg_model *l;
    char meta[32];
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, path, &l, meta, sizeof meta));
    cr_expect_str_eq(meta, "after 3 steps");

    /* The optimizer must belong to the model. */
    cr_expect_eq(clg_model_load_into(m3, opt2, path), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_save(m3, opt2, NULL, path), CLG_ERR_INVALID_ARGUMENT);

    clg_model_destroy(l);
    clg_optimizer_destroy(opt3);
    clg_model_destroy(m3);
    clg_optimizer_destroy(opt2);
    clg_model_destroy(m2);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(checkpoint, load_into_without_state_in_file_leaves_optimizer)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "p.ckpt");
    size_t n;
    free(saved_bytes(ctx, path, &n));
    clg_model *m = mlp(ctx, 4, 4);
    clg_optimizer *opt;
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    clg_tensor *X = inputs(ctx, 1, 3), *Y = inputs(ctx, 2, 2), *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, ROWS, 2, &dY));
    train_step(m, opt, X, Y, dY);
    cl_mem mom0 = clg_optim_state(opt, 0, 0);
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(m, opt, path));
    cr_expect_eq(opt->steps, 1, "steps kept");
    cr_expect_eq(clg_optim_state(opt, 0, 0), mom0, "momentum kept");
    cr_expect_eq(opt->ngroups, 1);
    clg_model *ref = mlp(ctx, 3, 4);
    float a[NPARAM_FLOATS], b[NPARAM_FLOATS];
    params(m, a);
    params(ref, b);
    cr_expect_arr_eq(a, b, sizeof a, "parameters from the file");
    clg_model_destroy(ref);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(checkpoint, flipped_bytes_are_format_errors)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "good.ckpt");
    size_t n;
    unsigned char *good = saved_bytes(ctx, path, &n);
    size_t payload = HEADER + 60 + 1;
    const size_t offsets[] = {0,
                              7,
                              8,
                              11,
                              12,
                              16,
                              20,
                              HEADER,
                              HEADER + 4,
                              HEADER + 12,
                              HEADER + 24,
                              HEADER + 40 + 4,
                              HEADER + 60,
                              payload,
                              payload + 17,
                              payload + 4 * NPARAM_FLOATS - 1,
                              n - 4,
                              n - 1};
    for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++) {
        for (int bit = 0; bit < 8; bit += 7) {
            unsigned char *b = malloc(n);
            memcpy(b, good, n);
            b[offsets[k]] ^= (unsigned char)(1u << bit);
            char what[64];
            snprintf(what, sizeof what, "bit %d of byte %zu flipped", bit, offsets[k]);
            expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, NULL, what);
            free(b);
        }
    }
    /* The payload and CRC flips are caught by the CRC. */
    unsigned char *b = malloc(n);
    memcpy(b, good, n);
    b[payload + 17] ^= 0x10;
    expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, "CRC32", "payload flip");
    memcpy(b, good, n);
    b[n - 2] ^= 0x01;
    expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, "CRC32", "CRC flip");
    free(b);
    free(good);
    clg_context_destroy(ctx);
}

Test(checkpoint, truncated_and_extended_files_are_format_errors)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "good.ckpt");
    size_t n;
    unsigned char *good = saved_bytes(ctx, path, &n);
    const size_t lens[] = {0,           1,
                           7,           8,
                           11,          12,
                           HEADER - 1,  HEADER,
                           HEADER + 3,  HEADER + 60 - 1,
                           HEADER + 60, HEADER + 61 + 2 * NPARAM_FLOATS,
                           n - 5,       n - 4,
                           n - 1};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", lens[k], n);
        expect_rejected(ctx, dir, good, lens[k], CLG_ERR_FORMAT, NULL, what);
    }
    expect_rejected(ctx, dir, good, HEADER + 61 + 2 * NPARAM_FLOATS, CLG_ERR_FORMAT, "truncated",
                    "message says truncated");
    unsigned char *b = malloc(n + 1);
    memcpy(b, good, n);
    b[n] = 0;
    expect_rejected(ctx, dir, b, n + 1, CLG_ERR_FORMAT, "trailing", "one trailing byte");
    free(b);

    /* With optimizer state, cuts inside that section too. */
    clg_model *m = mlp(ctx, 1, 4);
    clg_optimizer *opt;
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    clg_tensor *X = inputs(ctx, 1, 3), *Y = inputs(ctx, 2, 2), *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, ROWS, 2, &dY));
    train_step(m, opt, X, Y, dY);
    const char *opath = join(dir, "opt.ckpt");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, NULL, opath));
    size_t on;
    unsigned char *ob = slurp(opath, &on);
    size_t sect = HEADER + 60 + 4 * NPARAM_FLOATS;
    const size_t olens[] = {
        sect + 2, sect + 4 + 10, sect + 24 + 9, sect + 24 + 16 + 4, sect + 24 + 16 + 8 + 1 + 20,
        on - 5};
    for (size_t k = 0; k < sizeof olens / sizeof *olens; k++) {
        char what[64];
        snprintf(what, sizeof what, "optimizer file truncated to %zu of %zu", olens[k], on);
        expect_rejected(ctx, dir, ob, olens[k], CLG_ERR_FORMAT, NULL, what);
    }
    free(ob);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    free(good);
    clg_context_destroy(ctx);
}

Test(checkpoint, bad_fields_with_valid_crc_are_named)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "good.ckpt");
    size_t n;
    unsigned char *good = saved_bytes(ctx, path, &n);
    unsigned char *b = malloc(n);
    struct {
        size_t off;
        uint64_t value;
        int wide;
        const char *needle;
    } cases[] = {
        {8, 3, 0, "version 3 not supported"},
        {8, 0, 0, "version 0 not supported"},
        {12, 8, 0, "unknown flags 0x8"},
        {16, 0, 0, "layer count 0"},
        {16, 1000, 0, "layer count 1000"},
        {20, 1u << 20, 0, "meta length"},
        {HEADER, 7, 0, "unknown kind 7"},
        {HEADER, 1, 0, "first layer must be Linear"},
        {HEADER + 20, 0, 0, "truncated"},    /* layer 1 becomes Linear(4→4): 20 more floats */
        {HEADER + 24, 5, 1, "ReLU(5→4)"},    /* ReLU changing width */
        {HEADER + 4, 0, 1, "invalid shape"}, /* zero width */
        {HEADER + 4, 1ull << 40, 1, "invalid shape"},
        {HEADER + 40 + 4, 5, 1, "input width 5"}, /* layer 2 does not chain */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(b, good, n);
        if (cases[k].wide)
            le64(b + cases[k].off, cases[k].value);
        else
            le32(b + cases[k].off, (uint32_t)cases[k].value);
        fix_crc(b, n);
        char what[96];
        snprintf(what, sizeof what, "field at %zu set to %llu", cases[k].off,
                 (unsigned long long)cases[k].value);
        expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, cases[k].needle, what);
    }
    memcpy(b, good, n);
    memcpy(b, "CLGRADCX", 8);
    expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, "magic", "wrong magic");
    memcpy(b, "PK\x03\x04", 4);
    expect_rejected(ctx, dir, b, n, CLG_ERR_FORMAT, "not a clgrad checkpoint", "a zip file");
    free(b);
    free(good);
    clg_context_destroy(ctx);
}

Test(checkpoint, architecture_mismatch_is_shape_error_and_changes_nothing)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "a.ckpt");
    clg_model *src = mlp(ctx, 1, 4);
    clg_optimizer *sopt;
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(src, &o, &sopt));
    clg_tensor *X = inputs(ctx, 1, 3), *Y = inputs(ctx, 2, 2), *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, ROWS, 2, &dY));
    train_step(src, sopt, X, Y, dY);
    CLG_OK_OR_FAIL(ctx, clg_model_save(src, sopt, NULL, path));

    /* Hidden width 5 instead of 4. */
    clg_model *m = mlp(ctx, 8, 5);
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, NULL, &opt));
    float before[15 + 5 + 10 + 2], after[15 + 5 + 10 + 2];
    const size_t cnt[4] = {15, 5, 10, 2};
    for (size_t i = 0, off = 0; i < 4; off += cnt[i], i++)
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, i, before + off, cnt[i]));
    cl_mem W0 = m->layers[0].W;
    cr_expect_eq(clg_model_load_into(m, opt, path), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "layer 0: file has Linear(3→4), model has Linear(3→5)"),
              "message: %s", clg_last_error(ctx));
    for (size_t i = 0, off = 0; i < 4; off += cnt[i], i++)
        CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, i, after + off, cnt[i]));
    cr_expect_arr_eq(before, after, sizeof before, "parameters unchanged");
    cr_expect_eq(m->layers[0].W, W0, "buffers not replaced");
    cr_expect_eq(opt->steps, 0, "optimizer steps unchanged");
    cr_expect_eq(opt->ngroups, 1, "optimizer groups unchanged");
    cr_expect(opt->groups[0].lr == 0.03f && opt->groups[0].momentum == 0.0f,
              "optimizer options unchanged");
    for (int i = 0; i < 4; i++)
        cr_expect_null(clg_optim_state(opt, i, 0), "no momentum buffer %d", i);

    /* Fewer layers: the layer count is the first difference. */
    clg_model *one;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &one));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(one, 3, 4, NULL));
    cr_expect_eq(clg_model_load_into(one, NULL, path), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "file has 3 layers, model has 1"), "message: %s",
              clg_last_error(ctx));
    /* Same widths, ReLU missing: Linear(3→4)·Linear(4→2) differs at layer 1. */
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(one, 4, 2, NULL));
    cr_expect_eq(clg_model_load_into(one, NULL, path), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "layer 1: file has ReLU(4), model has Linear(4→2)"),
              "message: %s", clg_last_error(ctx));

    clg_model_destroy(one);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(sopt);
    clg_model_destroy(src);
    clg_context_destroy(ctx);
}

Test(checkpoint, missing_or_unreadable_file_is_io_error)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "nope.ckpt");
    clg_model *out = (clg_model *)(uintptr_t)1;
    cr_expect_eq(clg_model_load(ctx, path, &out, NULL, 0), CLG_ERR_IO);
    cr_expect_null(out);
    cr_expect(strstr(clg_last_error(ctx), path) && strstr(clg_last_error(ctx), "No such file"),
              "message names path and reason: %s", clg_last_error(ctx));
    cr_expect_eq(clg_model_load(ctx, dir, &out, NULL, 0), CLG_ERR_IO, "a directory");
    cr_expect(strstr(clg_last_error(ctx), "directory"), "%s", clg_last_error(ctx));
    clg_model *m = mlp(ctx, 1, 4);
    cr_expect_eq(clg_model_load_into(m, NULL, path), CLG_ERR_IO);
    cr_expect_eq(clg_model_load(NULL, path, &out, NULL, 0), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_load(ctx, NULL, &out, NULL, 0), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_load(ctx, path, NULL, NULL, 0), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_load_into(NULL, NULL, path), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_load_into(m, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(checkpoint, failed_saves_leave_earlier_files_and_no_temporaries)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir();
    clg_model *m = mlp(ctx, 1, 4), *other = mlp(ctx, 2, 4);
    const char *keep = join(dir, "keep.ckpt");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, NULL, "keep", keep));
    size_t kn;
    unsigned char *kb = slurp(keep, &kn);

    /* Parent is a regular file. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/x.ckpt", keep);
    cr_expect_eq(clg_model_save(other, NULL, NULL, bad), CLG_ERR_IO);
    cr_expect(strstr(clg_last_error(ctx), "Not a directory") && strstr(clg_last_error(ctx), bad),
              "reason and path: %s", clg_last_error(ctx));

    /* Target is an existing non-empty directory: refused before anything is written. */
    const char *target = join(dir, "target");
    cr_assert_eq(mkdir(target, 0755), 0);
    spit(join(target, "inside"), (const unsigned char *)"x", 1);
    cr_expect_eq(clg_model_save(other, NULL, NULL, target), CLG_ERR_IO);
    cr_expect(strstr(clg_last_error(ctx), "is a directory") && strstr(clg_last_error(ctx), target),
              "message: %s", clg_last_error(ctx));
    struct stat st;
    cr_expect(stat(target, &st) == 0 && S_ISDIR(st.st_mode), "the directory is still there");
    cr_expect_eq(access(join(target, "inside"), F_OK), 0, "with its content");
    /* An empty directory as well. */
    const char *empty = join(dir, "emptydir");
    cr_assert_eq(mkdir(empty, 0755), 0);
    cr_expect_eq(clg_model_save(other, NULL, NULL, empty), CLG_ERR_IO);
    cr_expect_eq(count_temp_files(dir), 0, "no temporary file left behind");
    cr_expect_eq(count_temp_files(target), 0);

    /* Directory that does not exist. */
    cr_expect_eq(clg_model_save(other, NULL, NULL, join(dir, "no/such/dir.ckpt")), CLG_ERR_IO);
    cr_expect(strstr(clg_last_error(ctx), "No such file"), "%s", clg_last_error(ctx));

    /* Argument errors write nothing. */
    const char *arg = join(dir, "arg.ckpt");
    size_t big = 64 * 1024 + 1;
    char *meta = malloc(big + 1);
    memset(meta, 'a', big);
    meta[big] = '\0';
    cr_expect_eq(clg_model_save(other, NULL, meta, arg), CLG_ERR_INVALID_ARGUMENT, "meta > 64 KiB");
    cr_expect(strstr(clg_last_error(ctx), "65537"), "%s", clg_last_error(ctx));
    cr_expect_eq(access(arg, F_OK), -1, "nothing written");
    meta[big - 1] = '\0'; /* exactly 64 KiB is allowed and round trips */
    CLG_OK_OR_FAIL(ctx, clg_model_save(other, NULL, meta, arg));
    char *back = malloc(big + 1);
    clg_model *l;
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, arg, &l, back, big + 1));
    cr_expect_eq(strlen(back), big - 1);
    cr_expect_str_eq(back, meta);
    clg_model_destroy(l);
    free(back);
    free(meta);
    cr_expect_eq(clg_model_save(NULL, NULL, NULL, arg), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_save(other, NULL, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_model_save(other, NULL, NULL, ""), CLG_ERR_INVALID_ARGUMENT);
    clg_model *none;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &none));
    cr_expect_eq(clg_model_save(none, NULL, NULL, arg), CLG_ERR_STATE, "empty model");
    clg_model_destroy(none);

    size_t kn2;
    unsigned char *kb2 = slurp(keep, &kn2);
    cr_expect(kn2 == kn && memcmp(kb, kb2, kn) == 0, "earlier checkpoint untouched");
    cr_expect_eq(count_temp_files(dir), 0);
    free(kb);
    free(kb2);
    clg_model_destroy(m);
    clg_model_destroy(other);
    clg_context_destroy(ctx);
}

/* A reader that keeps reading the file while it is overwritten: each read must
 * be exactly the old or the new bytes. */
typedef struct reader {
    const char *path;
    const unsigned char *a, *b;
    size_t na, nb;
    atomic_int stop;
    atomic_long reads, torn, seen_a, seen_b;
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    size_t cap = (r->na > r->nb ? r->na : r->nb) + 16;
    unsigned char *buf = malloc(cap);
    while (!atomic_load(&r->stop)) {
        FILE *f = fopen(r->path, "rb");
        if (!f) {
            atomic_fetch_add(&r->torn, 1); /* the path must always exist */
            continue;
        }
        size_t n = fread(buf, 1, cap, f);
        fclose(f);
        if (n == r->na && memcmp(buf, r->a, n) == 0)
            atomic_fetch_add(&r->seen_a, 1);
        else if (n == r->nb && memcmp(buf, r->b, n) == 0)
            atomic_fetch_add(&r->seen_b, 1);
        else
            atomic_fetch_add(&r->torn, 1);
        atomic_fetch_add(&r->reads, 1);
    }
    free(buf);
    return NULL;
}

Test(checkpoint, overwrite_is_atomic_for_concurrent_readers)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir();
    /* A larger model so a non-atomic write would be visible half-done. */
    clg_model *ma, *mb;
    clg_linear_init ia = {.struct_size = sizeof(clg_linear_init), .weight_std = 0.5f, .seed = 1},
                    ib = {.struct_size = sizeof(clg_linear_init), .weight_std = 0.5f, .seed = 2};
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &ma));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(ma, 256, 256, &ia));
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &mb));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(mb, 256, 256, &ib));
    const char *pa = join(dir, "a.ref"), *pb = join(dir, "b.ref"), *path = join(dir, "live.ckpt");
    CLG_OK_OR_FAIL(ctx, clg_model_save(ma, NULL, "A", pa));
    CLG_OK_OR_FAIL(ctx, clg_model_save(mb, NULL, "B", pb));
    reader r = {.path = path};
    r.a = slurp(pa, &r.na);
    r.b = slurp(pb, &r.nb);
    cr_assert_gt(r.na, 256 * 256 * 4, "file of %zu bytes", r.na);
    cr_assert(memcmp(r.a, r.b, r.na) != 0);
    CLG_OK_OR_FAIL(ctx, clg_model_save(ma, NULL, "A", path));
    size_t n;
    unsigned char *first = slurp(path, &n);
    cr_expect(n == r.na && memcmp(first, r.a, n) == 0, "saving is deterministic");
    free(first);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, read_loop, &r), 0);
    int saves = 0;
    while (saves < 400 && (saves < 20 || atomic_load(&r.reads) < 200)) {
        CLG_OK_OR_FAIL(ctx, clg_model_save(saves % 2 ? ma : mb, NULL, saves % 2 ? "A" : "B", path));
        saves++;
    }
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    cr_expect_eq(atomic_load(&r.torn), 0, "%ld of %ld reads were neither the old nor the new file",
                 atomic_load(&r.torn), atomic_load(&r.reads));
    cr_expect_gt(atomic_load(&r.reads), 0, "the reader ran (%d saves)", saves);
    /* Save i wrote A when i is odd, B when even: the last one stays. */
    unsigned char *last = slurp(path, &n);
    const unsigned char *want = (saves - 1) % 2 ? r.a : r.b;
    size_t wn = (saves - 1) % 2 ? r.na : r.nb;
    cr_expect(n == wn && memcmp(last, want, n) == 0, "the file is exactly the last save");
    cr_expect_eq(count_temp_files(dir), 0, "no temporaries left");
    free(last);
    free((void *)r.a);
    free((void *)r.b);
    clg_model_destroy(ma);
    clg_model_destroy(mb);
    clg_context_destroy(ctx);
}

/* Issue 9: a 2 GB file given as a checkpoint was read whole before "bad magic". The head
 * (magic, version, layer table) and the length the layout allows are checked first; the
 * files are sparse (no disk). */
Test(checkpoint, oversized_files_are_refused_from_their_header)
{
    clg_context *ctx = test_context();
    const char *dir = test_tmpdir(), *path = join(dir, "good.ckpt");
    size_t n;
    unsigned char *good = saved_bytes(ctx, path, &n);
    clg_model *m = mlp(ctx, 11, 4), *out = NULL;
    clg_optimizer *opt;
    clg_optimizer_options o = {.kind = CLG_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0.9f};
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    const char *opath = join(dir, "opt.ckpt");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, NULL, opath));
    float before[NPARAM_FLOATS], after[NPARAM_FLOATS];
    params(m, before);
    cap_address_space((size_t)512 << 20);
    const off_t big = (off_t)2 << 30;

    const char *junk = join(dir, "junk.bin");
    spit(junk, (const unsigned char *)"", 0);
    cr_assert_eq(truncate(junk, big), 0, "truncate: %s", strerror(errno));
    EXPECT_REFUSED(ctx, clg_model_load(ctx, junk, &out, NULL, 0), CLG_ERR_FORMAT,
                   "not a clgrad checkpoint (bad magic)", "2 GB file that is not a checkpoint");
    cr_expect_null(out);

    cr_assert_eq(truncate(path, big), 0);
    char needle[160];
    snprintf(needle, sizeof needle, "file length %lld, the layout needs %zu (%lld trailing bytes)",
             (long long)big, n, (long long)big - (long long)n);
    EXPECT_REFUSED(ctx, clg_model_load(ctx, path, &out, NULL, 0), CLG_ERR_FORMAT, needle,
                   "checkpoint followed by 2 GB of zeros");
    EXPECT_REFUSED(ctx, clg_model_load_into(m, NULL, path), CLG_ERR_FORMAT, needle,
                   "checkpoint followed by 2 GB of zeros (load into a model)");

    /* With optimizer state the most the layout can take: 1 group, every momentum buffer. */
    cr_assert_eq(truncate(opath, big), 0);
    const size_t most =
        HEADER + 20 * LAYERS + 4 * NPARAM_FLOATS + 12 + 60 + 4 * 4 + 8 + 4 + 4 * NPARAM_FLOATS + 4;
    snprintf(needle, sizeof needle,
             "file length %lld, the layout needs at most %zu (1 optimizer groups)", (long long)big,
             most);
    EXPECT_REFUSED(ctx, clg_model_load_into(m, opt, opath), CLG_ERR_FORMAT, needle,
                   "checkpoint with optimizer state followed by 2 GB of zeros");
    params(m, after);
    cr_expect_arr_eq(before, after, sizeof before, "a refused load changed the model");

    /* 1 TB: the head is all that is read (an allocation of the file would fail). */
    cr_assert_eq(truncate(junk, (off_t)1 << 40), 0, "truncate: %s", strerror(errno));
    EXPECT_REFUSED(ctx, clg_model_load(ctx, junk, &out, NULL, 0), CLG_ERR_FORMAT, "bad magic",
                   "1 TB sparse file given as a checkpoint");
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    free(good);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------------ optimizer block, version 1 */

/* The rows the v1 fixtures were trained on (tests/data/README.md). */
static const float V1_X[7 * 3] = {0.5f, -0.25f, 1.0f,  -1.0f, 0.75f, 0.125f, 0.3f,
                                  0.6f, -0.9f,  0.0f,  1.0f,  -0.5f, 0.8f,   -0.7f,
                                  0.2f, -0.4f,  -0.1f, 0.9f,  0.65f, 0.35f,  -0.55f};
static const float V1_Y[7 * 2] = {0.1f,  -0.2f, 0.3f,  0.4f,   -0.5f, 0.6f,  0.7f,
                                  -0.8f, 0.9f,  0.05f, -0.15f, 0.25f, 0.35f, -0.45f};

/* Layout of the optimizer block after the parameters of a 3→4→2 model saved with meta "m":
 * kind, state count, group count, G × 60-byte records, 4 group indices, steps, 4 × state. */
#define OPT_BLOCK(metalen) (HEADER + 20 * LAYERS + (metalen) + 4 * NPARAM_FLOATS)

Test(checkpoint, optimizer_block_layout_is_as_documented)
{
    clg_context *ctx = test_context();
    const char *path = join(test_tmpdir(), "opt.ckpt");
    clg_model *m = mlp(ctx, 4, 4);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD), ob = o;
    o.lr = 0.05f;
    o.momentum = 0.9f;
    ob.lr = 0.25f;
    ob.weight_decay = 0.5f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_add_group_by_kind(opt, 1, &ob));
    clg_tensor *X, *Y, *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, V1_X, ROWS, 3, &X));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, V1_Y, ROWS, 2, &Y));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, ROWS, 2, &dY));
    train_step(m, opt, X, Y, dY);
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, "m", path));
    size_t n;
    unsigned char *b = slurp(path, &n);
    const unsigned char *q = b + OPT_BLOCK(1);
    cr_expect_eq(rd32(b + 12), 1u, "optimizer flag");
    cr_expect_eq(rd32(q), 0u, "kind SGD");
    cr_expect_eq(rd32(q + 4), 1u, "one state buffer per parameter");
    cr_expect_eq(rd32(q + 8), 2u, "two groups");
    float lr0, lr1, wd1;
    uint32_t u = rd32(q + 12);
    memcpy(&lr0, &u, 4);
    u = rd32(q + 12 + 60);
    memcpy(&lr1, &u, 4);
    u = rd32(q + 12 + 60 + 12);
    memcpy(&wd1, &u, 4);
    cr_expect(lr0 == 0.05f && lr1 == 0.25f && wd1 == 0.5f, "group records: %g %g %g", lr0, lr1,
              wd1);
    for (int w = 5; w < 15; w++) cr_expect_eq(rd32(q + 12 + 4 * w), 0u, "reserved word %d", w);
    const unsigned char *g = q + 12 + 120;
    const uint32_t groups[4] = {0, 1, 0, 1};
    for (int i = 0; i < 4; i++) cr_expect_eq(rd32(g + 4 * i), groups[i], "param %d group", i);
    cr_expect_eq(rd32(g + 16), 1u, "one step");
    /* weights have momentum (12 and 8 floats), biases none */
    const unsigned char *st = g + 24;
    cr_expect_eq(st[0], 1, "W1 momentum present");
    cr_expect_eq(st[1 + 48], 0, "b1 none");
    cr_expect_eq(st[2 + 48], 1, "W2 momentum present");
    cr_expect_eq(st[3 + 48 + 32], 0, "b2 none");
    cr_expect_eq((size_t)(st + 4 + 48 + 32 + 4 - b), n, "then the CRC");
    free(b);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

Test(checkpoint, bad_optimizer_fields_are_named)
{
    clg_context *ctx = test_context();
    const char *path = join(test_tmpdir(), "opt.ckpt");
    clg_model *m = mlp(ctx, 4, 4);
    clg_optimizer *opt;
    clg_optimizer_options o = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    o.momentum = 0.9f;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, &o, &opt));
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, "m", path));
    size_t n;
    unsigned char *good = slurp(path, &n), *b = malloc(n);
    const size_t q = OPT_BLOCK(1);
    struct {
        size_t off;
        uint32_t value;
        const char *needle;
    } cases[] = {
        {q, 9, "optimizer kind 9 unknown"},
        {q + 4, 2, "2 state buffers per parameter"},
        {q + 8, 0, "group count 0"},
        {q + 12, 0xff800000u, "non-finite"},                 /* lr = -inf */
        {q + 12 + 16, 2, "nesterov"},                        /* nesterov word */
        {q + 12 + 20, 1, "reserved option words"},           /* first reserved word */
        {q + 12 + 60, 1, "parameter 0 in group 1 of 1"},     /* group index */
        {q + 12 + 60 + 16 + 8, 7, "momentum_buffer flag 7"}, /* first state flag */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(b, good, n);
        if (cases[k].off == q + 12 + 60 + 16 + 8)
            b[cases[k].off] = (unsigned char)cases[k].value; /* a byte */
        else
            le32(b + cases[k].off, cases[k].value);
        fix_crc(b, n);
        spit(path, b, n);
        cr_expect_eq(clg_checkpoint_check(path), CLG_ERR_FORMAT, "case %zu", k);
        cr_expect(strstr(clg_last_error(NULL), cases[k].needle), "case %zu: '%s' should name '%s'",
                  k, clg_last_error(NULL), cases[k].needle);
    }
    free(b);
    free(good);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* tests/data/v1_sgd.ckpt: a 3→4→2 model, SGD with two groups (weights: lr 0.05, momentum
 * 0.9, dampening 0.1; biases: lr 0.04, momentum 0.5, weight_decay 0.01, nesterov) after 3
 * steps, written by commit 890c036 (format version 1); v1_sgd_next.ckpt: the same model
 * after a 4th step taken by that commit. */
Test(checkpoint, version_1_files_load_and_resume_training)
{
    clg_context *ctx = test_context();
    const char *v1 = CLGRAD_TEST_DATA "/v1_sgd.ckpt", *next = CLGRAD_TEST_DATA "/v1_sgd_next.ckpt";
    size_t n;
    unsigned char *b = slurp(v1, &n);
    cr_assert_eq(rd32(b + 8), 1u, "the fixture is a version 1 file");
    free(b);
    char meta[64];
    clg_model *m, *want;
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, v1, &m, meta, sizeof meta));
    cr_expect_str_eq(meta, "v1 fixture: 3 steps");
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, next, &want, NULL, 0));
    clg_optimizer *opt;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_create(m, NULL, &opt));
    CLG_OK_OR_FAIL(ctx, clg_model_load_into(m, opt, v1));
    cr_expect_eq(clg_optimizer_steps(opt), 3u, "steps restored");
    cr_assert_eq(clg_optimizer_group_count(opt), 2u, "groups restored");
    clg_optimizer_options g0, g1;
    CLG_OK_OR_FAIL(ctx, clg_optimizer_group(opt, 0, &g0));
    CLG_OK_OR_FAIL(ctx, clg_optimizer_group(opt, 1, &g1));
    cr_expect(g0.kind == CLG_OPTIMIZER_SGD && g0.lr == 0.05f && g0.momentum == 0.9f &&
                  g0.dampening == 0.1f && g0.weight_decay == 0.0f && !g0.nesterov,
              "group 0 options");
    cr_expect(g1.lr == 0.04f && g1.momentum == 0.5f && g1.dampening == 0.0f &&
                  g1.weight_decay == 0.01f && g1.nesterov == 1,
              "group 1 options");
    for (size_t i = 0; i < 4; i++)
        cr_expect_not_null(clg_optim_state(opt, i, 0), "momentum %zu", i);
    /* The 4th step from the restored state matches the one the old library took. */
    clg_tensor *X, *Y, *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, V1_X, ROWS, 3, &X));
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, V1_Y, ROWS, 2, &Y));
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, ROWS, 2, &dY));
    train_step(m, opt, X, Y, dY);
    float got[NPARAM_FLOATS], exp[NPARAM_FLOATS];
    params(m, got);
    params(want, exp);
    for (int i = 0; i < NPARAM_FLOATS; i++)
        cr_expect(fabsf(got[i] - exp[i]) <= 1e-6f * (1.0f + fabsf(exp[i])),
                  "param float %d: %.9g, the old library %.9g", i, got[i], exp[i]);
    /* Saved again, it is a version 2 file with the same state. */
    const char *path = join(test_tmpdir(), "v2.ckpt");
    CLG_OK_OR_FAIL(ctx, clg_model_save(m, opt, NULL, path));
    b = slurp(path, &n);
    cr_expect_eq(rd32(b + 8), 2u, "written as version 2");
    free(b);
    clg_tensor_destroy(X);
    clg_tensor_destroy(Y);
    clg_tensor_destroy(dY);
    clg_optimizer_destroy(opt);
    clg_model_destroy(m);
    clg_model_destroy(want);
    clg_context_destroy(ctx);
}

/* clg_checkpoint_inspect: the version and the optimizer's kind, groups and steps, without a
 * context; a v1 file reports version 1. */
Test(checkpoint, inspect_reports_version_and_optimizer_state)
{
    clg_checkpoint_info info;
    CLG_OK_OR_FAIL(NULL, clg_checkpoint_inspect(CLGRAD_TEST_DATA "/v1_sgd.ckpt", &info));
    cr_expect(info.version == 1 && info.has_optimizer && info.optimizer == CLG_OPTIMIZER_SGD &&
                  info.optimizer_groups == 2 && info.optimizer_steps == 3,
              "v1 fixture: version %u, optimizer %d, %zu groups, %llu steps", info.version,
              info.has_optimizer, info.optimizer_groups, (unsigned long long)info.optimizer_steps);
    CLG_OK_OR_FAIL(NULL, clg_checkpoint_inspect(CLGRAD_TEST_DATA "/v1_sgd_next.ckpt", &info));
    cr_expect(info.version == 1 && !info.has_optimizer, "model only");
    cr_expect_eq(clg_checkpoint_inspect(CLGRAD_TEST_DATA "/../test_checkpoint.c", &info),
                 CLG_ERR_FORMAT, "not a checkpoint");
}
