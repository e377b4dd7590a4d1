/* File-streamed datasets from .npy files: each file's header checked by io_npy.c's parser,
 * the file mapped read-only (a shared, clean file mapping: page cache, which the kernel
 * drops under pressure, not the process's private memory), one validation pass over the
 * mapping at open (non-finite values; class ids and their count), and chunks converted
 * from the mapping straight into the caller's buffers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data.h"

/* Elements converted per step of the validation pass (a scratch of 64 KiB). */
#define CHECK_STEP 16384

typedef struct npy_file {
    char *path;
    FILE *fp;
    struct stat at_open;
    clg_npy_layout layout;
    const unsigned char *map; /* the whole file */
    size_t map_len;
} npy_file;

typedef struct npy_src {
    npy_file x, y;
    size_t d, q;
    size_t base, n; /* the rows read: [base, base + n) of the files' (a shard's) */
} npy_src;

static void file_close(npy_file *f)
{
    if (f->map) munmap((void *)f->map, f->map_len);
    if (f->fp) fclose(f->fp);
    free(f->path);
    memset(f, 0, sizeof *f);
}

static void src_close(void *p)
{
    npy_src *src = p;
    if (!src) return;
    file_close(&src->x);
    file_close(&src->y);
    free(src);
}

/* Opens and maps path, its header checked as clg_npy_read checks it. */
static clg_status file_open(const char *path, npy_file *f)
{
    f->path = strdup(path);
    if (!f->path) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", path);
    f->fp = fopen(path, "rb");
    if (!f->fp) return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    clg_status s = clg_npy_read_layout(f->fp, path, &f->layout);
    if (s != CLG_OK) return s;
    if (fstat(fileno(f->fp), &f->at_open) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    f->map_len = (size_t)f->at_open.st_size;
    void *m = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, fileno(f->fp), 0);
    if (m == MAP_FAILED)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot map the file: %s", path, strerror(errno));
    f->map = m;
    return CLG_OK;
}

/* Elements first .. first+m-1 of f's payload into out. */
static clg_status convert(const npy_file *f, size_t first, size_t m, float *out)
{
    const unsigned char *p = f->map + f->layout.offset + first * f->layout.elem_size;
    return clg_npy_convert(f->path, &f->layout, p, m, first, out);
}

static clg_status src_read(void *p, size_t k, size_t first, size_t rows, float *X, float *Y)
{
    (void)k;
    npy_src *src = p;
    clg_status s = clg_stream_check_unchanged(fileno(src->x.fp), src->x.path, &src->x.at_open);
    if (s == CLG_OK)
        s = clg_stream_check_unchanged(fileno(src->y.fp), src->y.path, &src->y.at_open);
    first += src->base;
    if (s == CLG_OK) s = convert(&src->x, first * src->d, rows * src->d, X);
    if (s == CLG_OK) s = convert(&src->y, first * src->q, rows * src->q, Y);
    return s;
}

static const clg_stream_format npy_format = {"npy", src_read, src_close};

/* The validation pass over the rows read: every element of X finite (convert refuses
 * others), and of y too, or (classification) a class id, as clg_dataset_from_npy checks
 * them; *classes = want, or else the largest id + 1, at least 2. */
static clg_status check_data(clg_context *ctx, const npy_src *src, int classification, size_t want,
                             size_t *classes)
{
    float *buf = malloc(CHECK_STEP * sizeof *buf);
    if (!buf) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_dataset_stream_npy: out of memory");
    const npy_file *files[2] = {&src->x, &src->y};
    float top = 0;
    for (int f = 0; f < 2; f++) {
        const size_t width = f ? src->q : src->d;
        const size_t begin = src->base * width, count = begin + src->n * width;
        for (size_t e = begin; e < count; e += CHECK_STEP) {
            const size_t m = count - e < CHECK_STEP ? count - e : CHECK_STEP;
            clg_status s = convert(files[f], e, m, buf);
            if (s != CLG_OK) {
                free(buf);
                return clg_fail(ctx, s, "%s", clg_last_error(NULL));
            }
            for (size_t i = 0; f == 1 && classification && i < m; i++) {
                const float v = buf[i];
                if (v < 0 || v >= 16777216.0f || v != floorf(v)) {
                    free(buf);
                    return clg_fail(ctx, CLG_ERR_FORMAT,
                                    "%s: label %zu is %g; class ids must be integers in [0, 2^24)",
                                    src->y.path, e + i, (double)v);
                }
                if (want && v >= (float)want) {
                    free(buf);
                    return clg_fail(ctx, CLG_ERR_FORMAT,
                                    "%s: label %zu is %g, but the options say %zu classes "
                                    "(ids 0 .. %zu)",
                                    src->y.path, e + i, (double)v, want, want - 1);
                }
                if (v > top) top = v;
            }
        }
    }
    free(buf);
    *classes = !classification ? 0 : want ? want : (size_t)top + 1 < 2 ? 2 : (size_t)top + 1;
    return CLG_OK;
}

/* Shapes as clg_dataset_from_npy requires them, with its messages. */
static clg_status check_shapes(clg_context *ctx, const npy_src *src, int classification,
                               const char *X_path, const char *y_path, size_t *n, size_t *d,
                               size_t *q)
{
    const clg_npy *X = &src->x.layout.array, *Y = &src->y.layout.array;
    *n = X->ndim ? X->shape[0] : 0;
    *d = X->ndim == 2 ? X->shape[1] : 1;
    *q = Y->ndim == 2 ? Y->shape[1] : 1;
    if (X->ndim != 1 && X->ndim != 2)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: features must be 1-D or 2-D (n×d), the array has %zu dimensions",
                        X_path, X->ndim);
    if (Y->ndim != 1 && Y->ndim != 2)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: targets must be 1-D or 2-D (n×q), the array has %zu dimensions",
                        y_path, Y->ndim);
    if (Y->shape[0] != *n)
        return clg_fail(ctx, CLG_ERR_SHAPE, "%s has %zu rows but %s has %zu", X_path, *n, y_path,
                        Y->shape[0]);
    if (classification && *q != 1)
        return clg_fail(ctx, CLG_ERR_SHAPE,
                        "%s: class labels must be one column (n or n×1), the array is %zu×%zu",
                        y_path, *n, *q);
    return CLG_OK;
}

clg_status clg_dataset_stream_npy(clg_context *ctx, const char *X_path, const char *y_path,
                                  int classification, const clg_stream_options *opts,
                                  clg_dataset **out)
{
    const char *op = "clg_dataset_stream_npy";
    if (out) *out = NULL;
    if (!ctx || !X_path || !y_path || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: NULL argument", op);
    clg_stream_options o;
    clg_status s = clg_stream_options_of(ctx, op, opts, &o);
    if (s != CLG_OK) return s;
    npy_src *src = calloc(1, sizeof *src);
    if (!src) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "%s: out of host memory", op);
    s = file_open(X_path, &src->x);
    if (s == CLG_OK) s = file_open(y_path, &src->y);
    if (s != CLG_OK) {
        src_close(src);
        return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    }
    size_t n, classes = 0;
    s = check_shapes(ctx, src, classification, X_path, y_path, &n, &src->d, &src->q);
    if (s == CLG_OK && o.classes && !classification)
        s = clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "%s: classes %zu without classification", op,
                     o.classes);
    const size_t parts = o.parts ? o.parts : 1;
    src->base = clg_part_start(n, o.part, parts);
    src->n = clg_part_size(n, o.part, parts);
    if (s == CLG_OK && !src->n)
        s = clg_fail(ctx, CLG_ERR_SHAPE, "%s: part %zu of %zu of the %zu rows of %s holds none", op,
                     o.part, parts, n, X_path);
    if (s == CLG_OK) s = check_data(ctx, src, classification, o.classes, &classes);
    if (s != CLG_OK) {
        src_close(src);
        return s;
    }
    s = clg_dataset_from_stream(ctx, op, src->n, src->d, src->q, classes, &npy_format, src, &o,
                                out);
    if (s == CLG_OK && o.parts) {
        (*out)->part = o.part;
        (*out)->parts = o.parts;
        (*out)->file_rows = n;
    }
    return s;
}
