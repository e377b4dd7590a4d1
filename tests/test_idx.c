/* IDX reader: files the test writes itself, plain and gzip, of every dtype (values checked
 * exactly), and malformed ones (every field, truncation at many offsets, corrupt gzip,
 * trailing data, count mismatches): status, a message naming the file and the problem,
 * and nothing returned. */
#include <float.h>
#include <math.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

static void write_bytes(const char *path, const unsigned char *b, size_t n, int gzip)
{
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        cr_assert_not_null(gz);
        if (n) cr_assert_eq(gzwrite(gz, b, (unsigned)n), (int)n);
        cr_assert_eq(gzclose(gz), Z_OK);
    } else {
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(b, 1, n, fp), n);
        fclose(fp);
    }
}

static size_t read_bytes(const char *path, unsigned char *b, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    size_t n = fread(b, 1, cap, fp);
    fclose(fp);
    return n;
}

static size_t type_size(unsigned code)
{
    switch (code) {
    case 0x08:
    case 0x09:
        return 1;
    case 0x0B:
        return 2;
    case 0x0C:
    case 0x0D:
        return 4;
    case 0x0E:
        return 8;
    default:
        return 1;
    }
}

static void put_be(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

/* Encodes an IDX file: header, dims, then vals[count] in the dtype, big-endian.
 * Returns its length (buf must be large enough). */
static size_t encode(unsigned char *buf, unsigned dtype, unsigned ndim, const uint32_t *dims,
                     const double *vals, size_t count)
{
    size_t k = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = (unsigned char)dtype;
    buf[k++] = (unsigned char)ndim;
    for (unsigned i = 0; i < ndim; i++, k += 4) put_be(buf + k, dims[i], 4);
    const size_t sz = type_size(dtype);
    for (size_t i = 0; i < count; i++, k += sz) {
        uint64_t bits;
        if (dtype == 0x0D) {
            float f = (float)vals[i];
            uint32_t u;
            memcpy(&u, &f, 4);
            bits = u;
        } else if (dtype == 0x0E) {
            memcpy(&bits, &vals[i], 8);
        } else {
            bits = (uint64_t)(int64_t)vals[i];
        }
        put_be(buf + k, bits, sz);
    }
    return k;
}

static float expected_float(unsigned dtype, double v)
{
    return dtype == 0x0C ? (float)(int32_t)v : (float)v;
}

typedef struct case_t {
    unsigned dtype;
    double vals[6];
} case_t;

static const case_t cases[] = {
    {0x08, {0, 1, 127, 128, 254, 255}},
    {0x09, {-128, -1, 0, 1, 126, 127}},
    {0x0B, {-32768, -1, 0, 1, 300, 32767}},
    {0x0C, {-2147483648.0, -1, 0, 16777217, 16777216, 2147483647}},
    {0x0D, {-1.5, 0, 1e-30, 3.25, FLT_MAX, -FLT_MAX}},
    {0x0E, {0.1, -2.5, 1e30, 3, 1e-300, -7}},
};

Test(idx, every_dtype_plain_and_gzip)
{
    unsigned char buf[256];
    for (int gz = 0; gz < 2; gz++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const uint32_t shapes[3][4] = {{6}, {2, 3}, {1, 3, 2, 1}};
            const unsigned ndims[3] = {1, 2, 4};
            for (int sh = 0; sh < 3; sh++) {
                size_t len = encode(buf, cases[c].dtype, ndims[sh], shapes[sh], cases[c].vals, 6);
                const char *p = tmp_path(gz ? "ok.idx.gz" : "ok.idx");
                write_bytes(p, buf, len, gz);
                clg_idx m;
                CLG_OK_OR_FAIL(NULL, clg_idx_read(p, &m));
                cr_assert_eq(m.dtype, cases[c].dtype);
                cr_assert_eq(m.ndim, ndims[sh]);
                for (unsigned i = 0; i < 4; i++)
                    cr_assert_eq(m.dims[i], i < ndims[sh] ? shapes[sh][i] : 0u, "dims[%u]", i);
                cr_assert_eq(m.count, 6u);
                for (size_t i = 0; i < 6; i++)
                    cr_assert_eq(m.data[i], expected_float(cases[c].dtype, cases[c].vals[i]),
                                 "dtype 0x%02x gzip %d element %zu: %.9g", cases[c].dtype, gz, i,
                                 (double)m.data[i]);
                clg_idx_free(&m);
                cr_assert(m.data == NULL && m.count == 0 && m.ndim == 0);
            }
        }
    clg_idx_free(NULL);
}

Test(idx, large_file_crosses_chunk_boundaries)
{
    /* 300 images of 28×28 ubyte (235200 bytes: several 64 KiB chunks and output growth). */
    const size_t n = 300, count = n * 28 * 28;
    unsigned char *buf = malloc(16 + count);
    double *vals = malloc(count * sizeof *vals);
    for (size_t i = 0; i < count; i++) vals[i] = (double)((i * 7 + i / 784) % 256);
    const uint32_t dims[3] = {(uint32_t)n, 28, 28};
    size_t len = encode(buf, 0x08, 3, dims, vals, count);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp_path("big.idx");
        write_bytes(p, buf, len, gz);
        clg_idx m;
        CLG_OK_OR_FAIL(NULL, clg_idx_read(p, &m));
        cr_assert_eq(m.count, count);
        for (size_t i = 0; i < count; i++)
            cr_assert_eq(m.data[i], (float)vals[i], "element %zu", i);
        clg_idx_free(&m);
    }
    free(buf);
    free(vals);
}

/* The file must fail with status want and a message naming the file and both needles. */
static void expect_error(const char *path, clg_status want, const char *needle1,
                         const char *needle2)
{
    clg_idx m;
    memset(&m, 0xAB, sizeof m);
    clg_status s = clg_idx_read(path, &m);
    const char *msg = clg_last_error(NULL);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    cr_expect_eq(s, want, "%s: got %s (%s)", path, clg_status_string(s), msg);
    cr_expect(strstr(msg, base) && strstr(msg, needle1) && strstr(msg, needle2),
              "message \"%s\" lacks \"%s\"/\"%s\"/\"%s\"", msg, base, needle1, needle2);
    cr_expect(m.data == NULL && m.count == 0 && m.ndim == 0 && m.dtype == 0 && m.dims[0] == 0,
              "partial result on error");
    char input[160];
    snprintf(input, sizeof input, "IDX file%s: %s, %s", strstr(path, ".gz") ? " (gzip)" : "",
             needle1, needle2);
    if (s == want) bad_input_record(input, clg_status_string(s), msg);
}

static void expect_bytes_error(const unsigned char *b, size_t n, int gz, clg_status want,
                               const char *needle1, const char *needle2)
{
    const char *p = tmp_path(gz ? "bad.idx.gz" : "bad.idx");
    write_bytes(p, b, n, gz);
    expect_error(p, want, needle1, needle2);
}

Test(idx, malformed_fields)
{
    unsigned char buf[512];
    const double v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const uint32_t dims[3] = {2, 2, 3};
    for (int gz = 0; gz < 2; gz++) {
        size_t len = encode(buf, 0x08, 3, dims, v, 12);
        buf[0] = 0x01;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "magic", "0x01 0x00");
        buf[0] = 0;
        buf[2] = 0x0A;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "dtype", "0x0a");
        buf[2] = 0x07;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "dtype", "0x07");
        buf[2] = 0x08;
        buf[3] = 0;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "ndim", "0 dimensions");
        buf[3] = 5;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "ndim", "5 dimensions");
        buf[3] = 3;
        const uint32_t zero[3] = {2, 0, 3};
        len = encode(buf, 0x08, 3, zero, v, 0);
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "dims[1]", "is 0");
        const uint32_t huge[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
        len = encode(buf, 0x08, 4, huge, v, 0);
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "dims", "overflows");
        const uint32_t big[2] = {65536, 65536}; /* 2^32 elements: beyond the 2^31-1 cap */
        len = encode(buf, 0x0D, 2, big, v, 12);
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "dims[1]", "overflows");
        /* trailing data after a complete payload */
        len = encode(buf, 0x08, 3, dims, v, 12);
        buf[len++] = 0x42;
        expect_bytes_error(buf, len, gz, CLG_ERR_FORMAT, "trailing", "1 extra byte");
        /* empty file */
        expect_bytes_error(buf, 0, gz, CLG_ERR_FORMAT, "magic", "0 bytes");
    }
    expect_error("/nonexistent/clgrad/missing.idx", CLG_ERR_IO, "cannot open", "No such file");

    clg_idx m;
    cr_expect_eq(clg_idx_read(NULL, &m), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_idx_read("x.idx", NULL), CLG_ERR_INVALID_ARGUMENT);
}

Test(idx, truncated_at_every_offset)
{
    unsigned char buf[512];
    const double v[6] = {1.5, -2, 3, 4, 5, 6};
    const uint32_t dims[2] = {2, 3};
    const size_t len = encode(buf, 0x0E, 2, dims, v, 6); /* 12 + 48 bytes */
    for (int gz = 0; gz < 2; gz++)
        for (size_t cut = 0; cut < len; cut++) {
            const char *need = cut < 4 ? "magic" : cut < 12 ? "dims" : "payload";
            const char *need2 = cut < 4 ? "too short" : "truncated";
            expect_bytes_error(buf, cut, gz, CLG_ERR_FORMAT, need, need2);
        }
    /* the payload message says how much was there */
    expect_bytes_error(buf, 12 + 20, 0, CLG_ERR_FORMAT, "need 48 bytes", "has 20");
}

Test(idx, corrupt_and_cut_gzip_streams)
{
    unsigned char buf[512], gzb[1024];
    const double v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const uint32_t dims[3] = {2, 2, 3};
    size_t len = encode(buf, 0x0C, 3, dims, v, 12);
    const char *p = tmp_path("stream.idx.gz");
    write_bytes(p, buf, len, 1);
    const size_t glen = read_bytes(p, gzb, sizeof gzb);
    cr_assert_gt(glen, 20u);
    /* a compressed file cut anywhere after the gzip header: truncated, never a crash */
    for (size_t cut = 10; cut < glen; cut++) {
        write_bytes(p, gzb, cut, 0);
        clg_idx m;
        memset(&m, 0xAB, sizeof m);
        clg_status s = clg_idx_read(p, &m);
        cr_expect_eq(s, CLG_ERR_FORMAT, "cut at %zu/%zu: %s (%s)", cut, glen, clg_status_string(s),
                     clg_last_error(NULL));
        cr_expect(strstr(clg_last_error(NULL), "truncated") ||
                      strstr(clg_last_error(NULL), "corrupt"),
                  "cut at %zu: %s", cut, clg_last_error(NULL));
        cr_expect(m.data == NULL && m.count == 0);
    }
    /* the CRC-32 trailer no longer matches */
    unsigned char bad[1024];
    memcpy(bad, gzb, glen);
    bad[glen - 8] ^= 0xFF;
    write_bytes(p, bad, glen, 0);
    expect_error(p, CLG_ERR_FORMAT, "gzip", "corrupt");
    /* the deflate data itself is damaged */
    memcpy(bad, gzb, glen);
    for (size_t i = 10; i < glen - 8; i++) bad[i] ^= 0x5A;
    write_bytes(p, bad, glen, 0);
    clg_idx m;
    clg_status s = clg_idx_read(p, &m);
    cr_expect_eq(s, CLG_ERR_FORMAT, "%s", clg_last_error(NULL));
    cr_expect_null(m.data);
}

Test(idx, non_finite_values)
{
    unsigned char buf[256];
    const uint32_t dims[1] = {3};
    const double nanv[3] = {1, NAN, 3}, infv[3] = {1, 2, -INFINITY}, big[3] = {1, 1e39, 3};
    size_t len = encode(buf, 0x0D, 1, dims, nanv, 3);
    expect_bytes_error(buf, len, 1, CLG_ERR_NONFINITE, "element 1", "not finite");
    len = encode(buf, 0x0E, 1, dims, infv, 3);
    expect_bytes_error(buf, len, 0, CLG_ERR_NONFINITE, "element 2", "not finite");
    len = encode(buf, 0x0E, 1, dims, big, 3);
    expect_bytes_error(buf, len, 0, CLG_ERR_NONFINITE, "element 1", "float32");
}

static void write_idx(const char *path, unsigned dtype, unsigned ndim, const uint32_t *dims,
                      const double *vals, size_t count, int gz)
{
    unsigned char *buf = malloc(16 + count * 8);
    size_t len = encode(buf, dtype, ndim, dims, vals, count);
    write_bytes(path, buf, len, gz);
    free(buf);
}

Test(idx, image_label_pairs)
{
    const double px[12] = {0, 255, 51, 102, 1, 2, 3, 4, 254, 128, 17, 200};
    const uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    const double lab[3] = {9, 0, 4};
    for (int gz = 0; gz < 2; gz++) {
        const char *ip = tmp_path("img"), *lp = tmp_path("lab");
        write_idx(ip, 0x08, 3, idims, px, 12, gz);
        write_idx(lp, 0x08, 1, ldims, lab, 3, !gz);
        float *X = NULL;
        int32_t *y = NULL;
        size_t n = 0, d = 0;
        CLG_OK_OR_FAIL(NULL, clg_idx_read_pair(ip, lp, &X, &y, &n, &d));
        cr_assert(n == 3 && d == 4, "n=%zu d=%zu", n, d);
        for (size_t i = 0; i < 12; i++) {
            cr_assert_eq(X[i], (float)px[i] / 255.0f, "X[%zu] = %.9g", i, (double)X[i]);
            cr_assert(X[i] >= 0.0f && X[i] <= 1.0f);
        }
        cr_assert(y[0] == 9 && y[1] == 0 && y[2] == 4);
        free(X);
        free(y);
    }
    /* float images are not scaled; int32 labels */
    const double fx[6] = {-1.5, 2.25, 300, 0, 1, 2};
    const uint32_t fdims[2] = {2, 3}, l2[1] = {2};
    const double lab2[2] = {1, 70000};
    const char *ip = tmp_path("fimg"), *lp = tmp_path("flab");
    write_idx(ip, 0x0D, 2, fdims, fx, 6, 0);
    write_idx(lp, 0x0C, 1, l2, lab2, 2, 0);
    float *X;
    int32_t *y;
    size_t n, d;
    CLG_OK_OR_FAIL(NULL, clg_idx_read_pair(ip, lp, &X, &y, &n, &d));
    cr_assert(n == 2 && d == 3);
    for (size_t i = 0; i < 6; i++) cr_assert_eq(X[i], (float)fx[i]);
    cr_assert(y[0] == 1 && y[1] == 70000);
    free(X);
    free(y);
}

static void expect_pair_error(const char *ip, const char *lp, clg_status want, const char *needle1,
                              const char *needle2)
{
    float *X = (float *)1;
    int32_t *y = (int32_t *)1;
    size_t n = 99, d = 99;
    clg_status s = clg_idx_read_pair(ip, lp, &X, &y, &n, &d);
    const char *msg = clg_last_error(NULL);
    cr_expect_eq(s, want, "got %s (%s)", clg_status_string(s), msg);
    cr_expect(strstr(msg, needle1) && strstr(msg, needle2), "message \"%s\" lacks \"%s\"/\"%s\"",
              msg, needle1, needle2);
    cr_expect(X == NULL && y == NULL && n == 0 && d == 0, "partial result on error");
}

Test(idx, image_label_pair_errors)
{
    const double px[12] = {0};
    const uint32_t idims[3] = {3, 2, 2}, l3[1] = {3}, l2[1] = {2}, l2d[2] = {3, 1};
    const double lab[3] = {1, 2, 0}, neg[3] = {1, -1, 0}, frac[3] = {1, 1.5, 0};
    const char *img = tmp_path("p_img"), *lab3 = tmp_path("p_lab3"), *lab2 = tmp_path("p_lab2");
    const char *lab2d = tmp_path("p_lab2d"), *labneg = tmp_path("p_labneg");
    const char *labfrac = tmp_path("p_labfrac"), *trunc = tmp_path("p_trunc");
    write_idx(img, 0x08, 3, idims, px, 12, 1);
    write_idx(lab3, 0x08, 1, l3, lab, 3, 1);
    write_idx(lab2, 0x08, 1, l2, lab, 2, 1);
    write_idx(lab2d, 0x08, 2, l2d, lab, 3, 0);
    write_idx(labneg, 0x09, 1, l3, neg, 3, 0);
    write_idx(labfrac, 0x0D, 1, l3, frac, 3, 0);
    write_idx(trunc, 0x08, 1, l3, lab, 2, 0); /* claims 3 labels, holds 2 */

    expect_pair_error(img, lab2, CLG_ERR_SHAPE, "3 images", "2 labels");
    expect_pair_error(img, lab2d, CLG_ERR_SHAPE, "p_lab2d", "must be 1-D");
    expect_pair_error(lab3, img, CLG_ERR_SHAPE, "p_lab3", "swapped");
    expect_pair_error(img, labneg, CLG_ERR_FORMAT, "label 1 is -1", "p_labneg");
    expect_pair_error(img, labfrac, CLG_ERR_FORMAT, "label 1 is 1.5", "integers");
    expect_pair_error(img, trunc, CLG_ERR_FORMAT, "p_trunc", "truncated");
    expect_pair_error(img, "/nonexistent/l.idx", CLG_ERR_IO, "l.idx", "cannot open");
    expect_pair_error("/nonexistent/i.idx", lab3, CLG_ERR_IO, "i.idx", "cannot open");
    expect_pair_error(NULL, lab3, CLG_ERR_INVALID_ARGUMENT, "NULL", "read_pair");
}

/* Issue 9: a header whose payload exceeds the file is refused before any allocation, with
 * the figures. A plain file must hold the payload (here a 4 GiB sparse file under a 17 GB
 * claim, which was read whole before); a gzip file cannot expand more than 1032:1. */
Test(idx, declared_payload_beyond_the_file_is_refused_before_reading_it)
{
    unsigned char buf[64];
    const uint32_t dims[2] = {46341, 46340}; /* 2147441940 float64: 17179535520 bytes */
    size_t len = encode(buf, 0x0E, 2, dims, NULL, 0);
    const char *p = tmp_path("huge.idx");
    write_bytes(p, buf, len, 0);
    cr_assert_eq(truncate(p, (off_t)4 << 30), 0, "truncate: %s", strerror(errno));
    cap_address_space((size_t)256 << 20);
    clg_idx m;
    EXPECT_REFUSED(NULL, clg_idx_read(p, &m), CLG_ERR_FORMAT,
                   "payload: truncated: 2147441940 elements of float64 need 17179535520 bytes, "
                   "the file has 4294967284",
                   "IDX header claiming 17 GB in a 4 GiB file");
    cr_expect_null(m.data);

    p = tmp_path("huge.idx.gz");
    write_bytes(p, buf, len, 1);
    char needle[160];
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    snprintf(needle, sizeof needle,
             "2147441940 elements of float64 need 17179535520 bytes, more than a %lld-byte gzip "
             "file can hold",
             (long long)sb.st_size);
    EXPECT_REFUSED(NULL, clg_idx_read(p, &m), CLG_ERR_FORMAT, needle,
                   "gzip IDX header claiming more than deflate can expand to");
}
