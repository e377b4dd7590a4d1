/* clg_idx_read, plain and gzip. The first byte: bit 0 set gzips the rest first (so the
 * fuzzer works on the IDX structure inside the stream; the rest may also be a gzip stream
 * itself), bit 1 set reads the file as both images and labels of clg_idx_read_pair. */
#define _GNU_SOURCE
#include <math.h>
#include <zlib.h>

#include "clgrad.h"
#include "fuzz_file.h"

static uint8_t *gzip_bytes(const uint8_t *in, size_t n, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    uint8_t *out = malloc(cap);
    if (!out) abort();
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    const uint8_t mode = data[0];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    uint8_t *packed = NULL;
    if (mode & 1) body = packed = gzip_bytes(body, len, &len);
    const char *path = fuzz_file(body, len);
    if (mode & 2) {
        float *X = NULL;
        int32_t *y = NULL;
        size_t n = 0, d = 0;
        clg_status s = clg_idx_read_pair(path, path, &X, &y, &n, &d);
        if (s == CLG_OK) {
            FUZZ_CHECK(n >= 1 && d >= 1 && X && y);
            for (size_t i = 0; i < n; i++) FUZZ_CHECK(y[i] >= 0 && y[i] < (1 << 24));
        } else {
            FUZZ_CHECK(!X && !y && n == 0 && d == 0);
        }
        free(X);
        free(y);
    } else {
        clg_idx m;
        clg_status s = clg_idx_read(path, &m);
        if (s == CLG_OK) {
            size_t count = 1;
            for (unsigned i = 0; i < m.ndim; i++) count *= m.dims[i];
            FUZZ_CHECK(m.count == count && m.data && m.ndim >= 1 && m.ndim <= 4);
            for (size_t i = 0; i < m.count; i++) FUZZ_CHECK(isfinite(m.data[i]));
        } else {
            FUZZ_CHECK(!m.data && m.count == 0 && clg_last_error(NULL)[0]);
        }
        clg_idx_free(&m);
    }
    free(packed);
    return 0;
}
