/* .npy reader: files the test writes itself (every dtype, format versions 1.0/2.0/3.0,
 * scalar, 1-D, 2-D, 3-D, header dict variants; values checked exactly) and malformed ones
 * (magic, version, header length, dict syntax, keys, shapes, truncation at many offsets,
 * trailing bytes, non-finite values): status, a message naming the problem, nothing
 * returned. Then clg_dataset_from_npy for regression data and its shape checks. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <unistd.h>

#include "helpers.h"

static const char *tmp_path(const char *name)
{
    static char *dir;
    static char buf[8][256];
    static int next;
    if (!dir) dir = test_tmpdir();
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

/* Builds a .npy file: magic, version major.0, header length, dict padded with spaces and
 * a newline to a multiple of 64 (as numpy writes it), then data. pad = 0 writes the dict
 * text exactly as given (for malformed headers). Returns the length. */
static size_t build(unsigned char *out, unsigned major, const char *dict, int pad, const void *data,
                    size_t nbytes)
{
    size_t k = 0;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    const size_t pre = major == 1 ? 10 : 12;
    size_t hlen = strlen(dict);
    if (pad) {
        hlen += 1;
        while ((pre + hlen) % 64) hlen++;
    }
    k = 8;
    for (size_t i = 0; i < pre - 8; i++) out[k++] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + k, dict, strlen(dict));
    if (pad) {
        memset(out + k + strlen(dict), ' ', hlen - strlen(dict) - 1);
        out[k + hlen - 1] = '\n';
    }
    k += hlen;
    if (nbytes) memcpy(out + k, data, nbytes);
    return k + nbytes;
}

/* Little-endian encoding of vals[count] in the dtype described by (size, is_float, is_signed). */
static size_t encode_le(unsigned char *out, const char *descr, const double *vals, size_t count)
{
    const size_t size = (size_t)(descr[2] - '0');
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        if (descr[1] == 'f' && size == 4) {
            float f = (float)vals[i];
            uint32_t u;
            memcpy(&u, &f, 4);
            bits = u;
        } else if (descr[1] == 'f') {
            memcpy(&bits, &vals[i], 8);
        } else if (descr[1] == 'u' && size == 8) {
            bits = (uint64_t)vals[i];
        } else {
            bits = (uint64_t)(int64_t)vals[i];
        }
        for (size_t b = 0; b < size; b++) out[i * size + b] = (unsigned char)(bits >> (8 * b));
    }
    return count * size;
}

typedef struct dcase {
    const char *descr;
    double vals[6];
} dcase;

static const dcase dcases[] = {
    {"<f4", {-1.5, 0, 1e-30, 3.25, FLT_MAX, -FLT_MAX}},
    {"<f8", {0.1, -2.5, 1e30, 3, 1e-300, -7}},
    {"|u1", {0, 1, 127, 128, 254, 255}},
    {"|i1", {-128, -1, 0, 1, 126, 127}},
    {"<i2", {-32768, -1, 0, 1, 300, 32767}},
    {"<u2", {0, 1, 65535, 256, 2, 40000}},
    {"<i4", {-2147483648.0, -1, 0, 16777217, 16777216, 2147483647}},
    {"<u4", {0, 4294967295.0, 1, 16777216, 3, 123456789}},
    {"<i8", {-9007199254740992.0, -1, 0, 1, 4611686018427387904.0, 42}},
    {"<u8", {0, 18446744073709549568.0, 1, 2, 16777217, 7}},
};

static float expected(const char *descr, double v)
{
    if (strcmp(descr, "<i4") == 0) return (float)(int32_t)v;
    if (strcmp(descr, "<u4") == 0) return (float)(uint32_t)v;
    if (strcmp(descr, "<i8") == 0) return (float)(int64_t)v;
    if (strcmp(descr, "<u8") == 0) return (float)(uint64_t)v;
    return (float)v;
}

Test(npy, every_dtype_version_and_shape)
{
    unsigned char file[1024], data[64];
    const char *shapes[4] = {"(6,)", "(2, 3)", "(1, 3, 2)", "(3,2,)"};
    const size_t nd[4] = {1, 2, 3, 2};
    const size_t sh[4][3] = {{6}, {2, 3}, {1, 3, 2}, {3, 2}};
    for (size_t c = 0; c < sizeof dcases / sizeof dcases[0]; c++)
        for (unsigned major = 1; major <= 3; major++)
            for (int s = 0; s < 4; s++) {
                char dict[160];
                snprintf(dict, sizeof dict,
                         "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dcases[c].descr,
                         shapes[s]);
                size_t nb = encode_le(data, dcases[c].descr, dcases[c].vals, 6);
                size_t len = build(file, major, dict, 1, data, nb);
                const char *p = tmp_path("ok.npy");
                write_bytes(p, file, len);
                clg_npy a;
                CLG_OK_OR_FAIL(NULL, clg_npy_read(p, &a));
                cr_assert_eq(a.ndim, nd[s], "%s", dict);
                for (size_t i = 0; i < 8; i++)
                    cr_assert_eq(a.shape[i], i < nd[s] ? sh[s][i] : 0u, "%s shape[%zu]", dict, i);
                cr_assert_eq(a.count, 6u);
                for (size_t i = 0; i < 6; i++)
                    cr_assert_eq(a.data[i], expected(dcases[c].descr, dcases[c].vals[i]),
                                 "%s v%u element %zu: %.9g", dcases[c].descr, major, i,
                                 (double)a.data[i]);
                clg_npy_free(&a);
                cr_assert(a.data == NULL && a.count == 0 && a.ndim == 0);
            }
    clg_npy_free(NULL);
}

static clg_npy read_ok(const char *dict, const void *data, size_t nbytes)
{
    unsigned char file[1024];
    size_t len = build(file, 1, dict, 1, data, nbytes);
    const char *p = tmp_path("v.npy");
    write_bytes(p, file, len);
    clg_npy a;
    clg_status s = clg_npy_read(p, &a);
    cr_assert_eq(s, CLG_OK, "%s: %s (%s)", dict, clg_status_string(s), clg_last_error(NULL));
    return a;
}

Test(npy, scalar_and_header_variants)
{
    const float one = 2.5f;
    clg_npy a = read_ok("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &one, 4);
    cr_assert(a.ndim == 0 && a.count == 1 && a.shape[0] == 0 && a.data[0] == 2.5f);
    clg_npy_free(&a);

    const float v[4] = {1, -2, 3, -4};
    const char *variants[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 2)}", /* double quotes */
        "{'shape':(2,2),'fortran_order':False,'descr':'<f4'}",               /* order, no spaces */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }",     /* Python 2 longs */
        "  { 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 2 , ) }",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        a = read_ok(variants[i], v, sizeof v);
        cr_assert(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 2 && a.count == 4, "%s",
                  variants[i]);
        cr_assert_arr_eq(a.data, v, sizeof v, "%s", variants[i]);
        clg_npy_free(&a);
    }

    /* a larger 2-D array crossing the 64 KiB read chunks */
    const size_t rows = 5000, cols = 7;
    double *big = malloc(rows * cols * sizeof *big);
    for (size_t i = 0; i < rows * cols; i++) big[i] = (double)i * 0.5 - 1000.0;
    unsigned char *file = malloc(128 + rows * cols * 8);
    size_t len = build(file, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (5000, 7), }", 1,
                       big, rows * cols * 8);
    const char *p = tmp_path("big.npy");
    write_bytes(p, file, len);
    CLG_OK_OR_FAIL(NULL, clg_npy_read(p, &a));
    cr_assert(a.ndim == 2 && a.shape[0] == rows && a.shape[1] == cols);
    for (size_t i = 0; i < rows * cols; i++)
        cr_assert_eq(a.data[i], (float)big[i], "element %zu", i);
    clg_npy_free(&a);
    free(big);
    free(file);
}

static void expect_file_error(const char *p, clg_status want, const char *needle1,
                              const char *needle2)
{
    clg_npy a;
    memset(&a, 0xAB, sizeof a);
    clg_status s = clg_npy_read(p, &a);
    const char *msg = clg_last_error(NULL);
    const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
    cr_expect_eq(s, want, "got %s (%s)", clg_status_string(s), msg);
    cr_expect(strstr(msg, base) && strstr(msg, needle1) && strstr(msg, needle2),
              "message \"%s\" lacks \"%s\"/\"%s\"/\"%s\"", msg, base, needle1, needle2);
    cr_expect(a.data == NULL && a.count == 0 && a.ndim == 0 && a.shape[0] == 0,
              "partial result on error");
    char input[160];
    snprintf(input, sizeof input, ".npy file: %s, %s", needle1, needle2);
    if (s == want) bad_input_record(input, clg_status_string(s), msg);
}

static void expect_error(const unsigned char *b, size_t n, clg_status want, const char *needle1,
                         const char *needle2)
{
    const char *p = tmp_path("bad.npy");
    write_bytes(p, b, n);
    expect_file_error(p, want, needle1, needle2);
}

/* A dict (padded like numpy) over 4 float32 values must fail. */
static void expect_dict_error(const char *dict, clg_status want, const char *needle1,
                              const char *needle2)
{
    unsigned char file[1024];
    const float v[4] = {1, 2, 3, 4};
    size_t len = build(file, 1, dict, 1, v, sizeof v);
    expect_error(file, len, want, needle1, needle2);
}

Test(npy, malformed_headers)
{
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    expect_dict_error("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                      CLG_ERR_UNSUPPORTED, "fortran_order True", "not supported");
    expect_dict_error("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
                      CLG_ERR_UNSUPPORTED, "'>f4'", "big-endian");
    expect_dict_error("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }",
                      CLG_ERR_UNSUPPORTED, "'<f2'", "not supported");
    expect_dict_error("{'descr': '<U1', 'fortran_order': False, 'shape': (4,), }",
                      CLG_ERR_UNSUPPORTED, "'<U1'", "not supported");
    expect_dict_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }",
                      CLG_ERR_UNSUPPORTED, "structured", "descr");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, }", CLG_ERR_FORMAT, "lacks the key",
                      "shape");
    expect_dict_error("{'shape': (4,), 'fortran_order': False}", CLG_ERR_FORMAT, "lacks the key",
                      "descr");
    expect_dict_error("{'descr': '<f4', 'shape': (4,)}", CLG_ERR_FORMAT, "lacks the key",
                      "fortran_order");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'foo': 1}",
                      CLG_ERR_FORMAT, "unknown key", "'foo'");
    expect_dict_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}",
                      CLG_ERR_FORMAT, "'descr'", "repeated");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4)}", CLG_ERR_FORMAT,
                      "not a tuple", "(n,)");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': [4]}", CLG_ERR_FORMAT,
                      "must be a tuple", "[4]");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", CLG_ERR_FORMAT,
                      "non-negative integer", "-4");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,,)}", CLG_ERR_FORMAT,
                      "non-negative integer", ",)");
    expect_dict_error("{'descr': '<f4', 'fortran_order': false, 'shape': (4,)}", CLG_ERR_FORMAT,
                      "True or False", "false");
    expect_dict_error("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (4,)}", CLG_ERR_FORMAT,
                      "True or False", "Falsey");
    expect_dict_error("{'descr' '<f4', 'fortran_order': False, 'shape': (4,)}", CLG_ERR_FORMAT,
                      "expected ':'", "header dict");
    expect_dict_error("{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}", CLG_ERR_FORMAT,
                      "expected ','", "fortran_order");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x}", CLG_ERR_FORMAT,
                      "unterminated string", "header dict");
    expect_dict_error("{'descr': '<f4' 'fortran_order': False, 'shape': (4,)}", CLG_ERR_FORMAT,
                      "expected ','", "header dict");
    expect_dict_error("'descr': '<f4', 'fortran_order': False, 'shape': (4,)", CLG_ERR_FORMAT,
                      "expected '{'", "header dict");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x", CLG_ERR_FORMAT,
                      "after the dict", "x");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", CLG_ERR_FORMAT,
                      "header dict", "expected");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4)}",
                      CLG_ERR_UNSUPPORTED, "dimension 0", "empty");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4)}",
                      CLG_ERR_UNSUPPORTED, "more than 8", "dimensions");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, "
                      "4294967296, 16)}",
                      CLG_ERR_FORMAT, "overflows", "dimension 1");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(99999999999999999999999,)}",
                      CLG_ERR_FORMAT, "overflows size_t", "dimension 0");

    unsigned char file[1024];
    const float v[4] = {1, 2, 3, 4};
    /* no final newline */
    size_t len =
        build(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", 0, v, 16);
    expect_error(file, len, CLG_ERR_FORMAT, "newline", ".npy header");
    /* bad magic */
    len = build(file, 1, ok, 1, v, 16);
    file[5] = 'X';
    expect_error(file, len, CLG_ERR_FORMAT, "bad magic", "not a .npy file");
    file[5] = 'Y';
    file[0] = 0x92;
    expect_error(file, len, CLG_ERR_FORMAT, "bad magic", "not a .npy file");
    /* versions */
    len = build(file, 4, ok, 1, v, 16);
    expect_error(file, len, CLG_ERR_UNSUPPORTED, "version 4.0", "not supported");
    len = build(file, 1, ok, 1, v, 16);
    file[7] = 1;
    expect_error(file, len, CLG_ERR_UNSUPPORTED, "version 1.1", "not supported");
    /* header lengths: 0, beyond the file, absurd */
    len = build(file, 1, ok, 1, v, 16);
    file[8] = file[9] = 0;
    expect_error(file, len, CLG_ERR_FORMAT, "header length 0", "out of range");
    len = build(file, 1, ok, 1, v, 16);
    file[8] = 0xF0;
    file[9] = 0x00;
    expect_error(file, 10 + 100, CLG_ERR_FORMAT, "truncated", "header needs 250 bytes");
    len = build(file, 2, ok, 1, v, 16);
    file[8] = file[9] = file[10] = file[11] = 0xFF;
    expect_error(file, len, CLG_ERR_FORMAT, "header length 4294967295", "out of range");
    /* a NUL byte inside the header */
    len = build(file, 1, ok, 1, v, 16);
    file[12] = '\0';
    expect_error(file, len, CLG_ERR_FORMAT, "NUL", ".npy header");
    /* trailing data after the array */
    len = build(file, 1, ok, 1, v, 16);
    file[len++] = 0;
    file[len++] = 0;
    expect_error(file, len, CLG_ERR_FORMAT, "2 trailing bytes", "16 bytes");

    expect_file_error("/nonexistent/clgrad/missing.npy", CLG_ERR_IO, "cannot open", "No such file");
    clg_npy a;
    cr_expect_eq(clg_npy_read(NULL, &a), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_npy_read("x.npy", NULL), CLG_ERR_INVALID_ARGUMENT);
    expect_file_error("/tmp", CLG_ERR_IO, "tmp", "not a regular file");
}

Test(npy, truncated_at_every_offset)
{
    unsigned char file[1024];
    const double v[3] = {1.5, -2.5, 8};
    for (unsigned major = 1; major <= 2; major++) {
        size_t len = build(file, major, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                           1, v, sizeof v);
        const size_t pre = major == 1 ? 10 : 12, data_off = len - sizeof v;
        for (size_t cut = 0; cut < len; cut++) {
            const char *n1 = cut < 8 ? "bad magic" : cut < pre ? "header length" : "truncated";
            const char *n2 = cut < 8          ? "not a .npy"
                             : cut < data_off ? "truncated"
                                              : "need 24 bytes";
            expect_error(file, cut, CLG_ERR_FORMAT, n1, n2);
        }
    }
}

Test(npy, non_finite_values)
{
    unsigned char file[256];
    const float f[3] = {1, NAN, 3};
    size_t len =
        build(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 1, f, sizeof f);
    expect_error(file, len, CLG_ERR_NONFINITE, "element 1", "not finite");
    const double d[3] = {1, 2, -INFINITY};
    len =
        build(file, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 1, d, sizeof d);
    expect_error(file, len, CLG_ERR_NONFINITE, "element 2", "not finite");
    const double big[2] = {-1e39, 0};
    len = build(file, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 1, big,
                sizeof big);
    expect_error(file, len, CLG_ERR_NONFINITE, "element 0", "float32");
}

static const char *write_npy(const char *name, const char *descr, const char *shape,
                             const double *vals, size_t count)
{
    unsigned char file[2048], data[1024];
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
             shape);
    size_t nb = encode_le(data, descr, vals, count);
    size_t len = build(file, 1, dict, 1, data, nb);
    const char *p = tmp_path(name);
    write_bytes(p, file, len);
    return p;
}

/* Regression data goes through clg_dataset_from_host (classification data needs
 * clg_dataset_from_host_labels and is tested where that lives). */
Test(npy, dataset_from_npy)
{
    clg_context *ctx = test_context();
    const double x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {0.5, -1, 2}, y2[6] = {1, 2, 3, 4, 5, 6};
    const char *X2 = write_npy("X2.npy", "<f8", "(3, 2)", x, 6);
    const char *X1 = write_npy("X1.npy", "|u1", "(6,)", x, 6);
    const char *Y1 = write_npy("Y1.npy", "<f4", "(3,)", y, 3);
    const char *Y2 = write_npy("Y2.npy", "<i4", "(3, 2)", y2, 6);
    const char *Y6 = write_npy("Y6.npy", "<f4", "(6,)", y2, 6);
    const char *X3 = write_npy("X3.npy", "<f4", "(1, 3, 2)", x, 6);
    const char *Yf = write_npy("Yf.npy", "<f4", "(3,)", (const double[3]){1, 0.5, 2}, 3);

    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, X2, Y1, 0, &ds));
    cr_assert(clg_dataset_size(ds) == 3 && clg_dataset_features(ds) == 2 &&
              clg_dataset_targets(ds) == 1);
    float Xd[6], Yd[6];
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, Xd, Yd));
    const float xe[6] = {1, 2, 3, 4, 5, 6}, ye[3] = {0.5f, -1, 2}, y2e[6] = {1, 2, 3, 4, 5, 6};
    cr_expect_arr_eq(Xd, xe, sizeof xe);
    cr_expect_arr_eq(Yd, ye, sizeof ye);
    clg_dataset_destroy(ds);

    CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, X2, Y2, 0, &ds)); /* q = 2 */
    cr_assert(clg_dataset_size(ds) == 3 && clg_dataset_features(ds) == 2 &&
              clg_dataset_targets(ds) == 2);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, Xd, Yd));
    cr_expect_arr_eq(Yd, y2e, sizeof y2e);
    clg_dataset_destroy(ds);

    CLG_OK_OR_FAIL(ctx, clg_dataset_from_npy(ctx, X1, Y6, 0, &ds)); /* 1-D X: n×1 */
    cr_assert(clg_dataset_size(ds) == 6 && clg_dataset_features(ds) == 1);
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, Xd, Yd));
    cr_expect_arr_eq(Xd, xe, sizeof xe);
    clg_dataset_destroy(ds);

    struct {
        const char *X, *Y;
        int cls;
        clg_status want;
        const char *needle;
    } bad[] = {
        {X2, Y6, 0, CLG_ERR_SHAPE, "has 3 rows but"},
        {X3, Y1, 0, CLG_ERR_SHAPE, "1-D or 2-D"},
        {X2, X3, 0, CLG_ERR_SHAPE, "targets must be"},
        {X2, Y2, 1, CLG_ERR_SHAPE, "one column"},
        {X2, Yf, 1, CLG_ERR_FORMAT, "label 1 is 0.5"},
        {X2, "/nonexistent/y.npy", 0, CLG_ERR_IO, "y.npy"},
        {"/nonexistent/x.npy", Y1, 0, CLG_ERR_IO, "x.npy"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ds = (clg_dataset *)1;
        clg_status s = clg_dataset_from_npy(ctx, bad[i].X, bad[i].Y, bad[i].cls, &ds);
        cr_expect_eq(s, bad[i].want, "case %zu: %s (%s)", i, clg_status_string(s),
                     clg_last_error(ctx));
        cr_expect(strstr(clg_last_error(ctx), bad[i].needle), "case %zu: %s", i,
                  clg_last_error(ctx));
        cr_expect_null(ds, "case %zu", i);
    }
    cr_expect_eq(clg_dataset_from_npy(NULL, X2, Y1, 0, &ds), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}

/* A dict text written exactly (it ends with its newline), padded with spaces after '{' to
 * 72 bytes: malloc(72) leaves no slack, so bytes past the header are the allocator's. */
static const char *exact_header_file(const char *name, const char *text)
{
    char dict[73];
    const size_t len = strlen(text);
    cr_assert(len <= 72 && text[0] == '{', "test header too long: %s", text);
    dict[0] = '{';
    memset(dict + 1, ' ', 72 - len);
    memcpy(dict + 1 + (72 - len), text + 1, len - 1);
    dict[72] = '\0';
    unsigned char file[256];
    const float v = 1;
    size_t n = build(file, 1, dict, 0, &v, sizeof v);
    const char *p = tmp_path(name);
    write_bytes(p, file, n);
    return p;
}

/* Issue 9: syntax() quoted "%.24s" of a header buffer with no NUL, printing heap bytes
 * past its end for errors within 24 bytes of it. The quote must stop at the header's end. */
Test(npy, syntax_errors_near_the_end_quote_only_the_header)
{
    static const struct {
        const char *text, *needle, *input;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }x\n",
         "unexpected text after the dict at \"x\n\"", "npy header with trailing garbage"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'a\n",
         "unterminated string at \"'a\n\"", "npy header with an unterminated key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 x\n",
         "expected ',' or ')' in 'shape' at \"x\n\"", "npy header with a bad shape tuple"},
        {"{'descr': '<f4', 'fortran_order': Fals\n",
         "'fortran_order' must be True or False at \"Fals\n\"", "npy header with a bad boolean"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr'\n",
         "expected ':' after a key at the end of the header", "npy header with a key and no value"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const char *p = exact_header_file("tail.npy", cases[k].text);
        clg_npy a;
        EXPECT_REFUSED(NULL, clg_npy_read(p, &a), CLG_ERR_FORMAT, cases[k].needle, cases[k].input);
        const char *msg = clg_last_error(NULL);
        /* Nothing after the quote: the needle ends the message. */
        cr_expect_str_eq(msg + strlen(msg) - strlen(cases[k].needle), cases[k].needle,
                         "%s: the message runs past the header: \"%s\"", cases[k].input, msg);
        cr_expect_null(a.data);
    }
}

/* Shapes whose byte count overflows, or exceeds the file, are refused before any allocation,
 * with the figures; the file is sparse (no disk). */
Test(npy, absurd_shapes_are_refused_with_their_figures)
{
    unsigned char file[256];
    size_t n = build(
        file, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 1,
        NULL, 0);
    const char *p = tmp_path("overflow.npy");
    write_bytes(p, file, n);
    clg_npy a;
    EXPECT_REFUSED(NULL, clg_npy_read(p, &a), CLG_ERR_FORMAT,
                   "element count overflows (dimension 0 = 4611686018427387904)",
                   "npy shape whose byte count overflows size_t");

    n = build(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", 1,
              NULL, 0);
    p = tmp_path("sparse.npy");
    write_bytes(p, file, n);
    cr_assert_eq(truncate(p, (off_t)1 << 30), 0, "truncate: %s", strerror(errno));
    char needle[160];
    snprintf(needle, sizeof needle,
             "1000000000000 elements of <f4 need 4000000000000 bytes, the file has %llu",
             (1ull << 30) - n);
    EXPECT_REFUSED(NULL, clg_npy_read(p, &a), CLG_ERR_FORMAT, needle,
                   "npy shape larger than its 1 GiB sparse file");
}
