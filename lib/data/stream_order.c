/* The order a loader hands out the rows of a file-streamed dataset in (docs/streaming.md,
 * "Order"). With n rows in K chunks of C rows (the last may be shorter) and b chunks per
 * shuffle buffer (buffer_chunks; 1 without shuffling), epoch e:
 *  - without shuffling: the rows in file order;
 *  - shuffling, K <= b: the permutation the loader draws for any dataset (Philox, seed, e,
 *    tag "SHUF"): the whole file is one buffer, and the order is the in-memory one;
 *  - shuffling, K > b: the chunks in the order of a permutation P (seed, e, tag "CHNK");
 *    window w takes chunks P[w·b .. w·b+b-1] (the last window fewer), its m rows listed
 *    chunk after chunk, each chunk's rows ascending, and hands them out in the order of a
 *    permutation π of m (seed, stream (w << 32) | (e mod 2^32), tag "WIND"): row π[i] of
 *    the list is the i-th. Windows follow each other; batches are consecutive rows of the
 *    result, across windows.
 * The cursor keeps one window of rows in memory (b·C rows, X then Y) and its π. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define CHUNK_TAG 0x43484E4Bu  /* "CHNK" */
#define WINDOW_TAG 0x57494E44u /* "WIND" */

struct clg_stream_cursor {
    const clg_dataset *ds;
    int shuffle;
    uint64_t seed, epoch;
    size_t b;          /* chunks per window */
    uint32_t *chunks;  /* the epoch's chunk order (K) */
    float *wX, *wY;    /* the window's rows (b·C of room) */
    uint32_t *perm;    /* their order (b·C); unused without shuffling */
    size_t w;          /* the next window to read */
    size_t rows, next; /* rows in the window read, the next to hand out */
};

/* Chunks per window: buffer_chunks when shuffling (and at most K), else 1. */
static size_t window_chunks(const clg_stream_file *f, int shuffle)
{
    if (!shuffle) return 1;
    return f->buffer_chunks < f->chunks ? f->buffer_chunks : f->chunks;
}

/* The epoch's chunk order: P when shuffling across windows, else file order. */
static void chunk_order(const clg_stream_file *f, int shuffle, size_t b, uint64_t seed,
                        uint64_t epoch, uint32_t *chunks)
{
    if (shuffle && f->chunks > b) {
        clg_philox_permutation(chunks, f->chunks, seed, epoch, CHUNK_TAG);
        return;
    }
    for (size_t k = 0; k < f->chunks; k++) chunks[k] = (uint32_t)k;
}

/* π of window w (m rows): the loader's own permutation when one window holds the file. */
static void window_order(const clg_stream_file *f, size_t b, uint64_t seed, uint64_t epoch,
                         size_t w, uint32_t *perm, size_t m)
{
    if (f->chunks <= b) {
        clg_philox_permutation(perm, m, seed, epoch, CLG_SHUFFLE_TAG);
        return;
    }
    const uint64_t stream = (uint64_t)w << 32 | (uint32_t)epoch;
    clg_philox_permutation(perm, m, seed, stream, WINDOW_TAG);
}

static size_t chunk_len(const clg_dataset *ds, size_t k)
{
    const size_t C = ds->file->chunk_rows, c0 = k * C;
    return ds->n - c0 < C ? ds->n - c0 : C;
}

void clg_stream_cursor_destroy(clg_stream_cursor *c)
{
    if (!c) return;
    free(c->chunks);
    free(c->wX);
    free(c->wY);
    free(c->perm);
    free(c);
}

clg_status clg_stream_cursor_create(const clg_dataset *ds, int shuffle, uint64_t seed,
                                    clg_stream_cursor **out)
{
    const clg_stream_file *f = ds->file;
    *out = NULL;
    clg_stream_cursor *c = calloc(1, sizeof *c);
    if (!c) return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY, "clg_loader_create: out of host memory");
    c->ds = ds;
    c->shuffle = shuffle != 0;
    c->seed = seed;
    c->b = window_chunks(f, c->shuffle);
    const size_t cap = c->b * f->chunk_rows;
    c->chunks = malloc(f->chunks * sizeof *c->chunks);
    c->wX = malloc(cap * ds->d * sizeof *c->wX);
    c->wY = malloc(cap * ds->q * sizeof *c->wY);
    c->perm = c->shuffle ? malloc(cap * sizeof *c->perm) : NULL;
    if (!c->chunks || !c->wX || !c->wY || (c->shuffle && !c->perm)) {
        const size_t b = c->b;
        clg_stream_cursor_destroy(c);
        return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY,
                        "clg_loader_create: out of host memory for a shuffle buffer of %zu rows "
                        "(%zu chunks of %zu; see clg_stream_options)",
                        cap, b, f->chunk_rows);
    }
    *out = c;
    return CLG_OK;
}

void clg_stream_cursor_start(clg_stream_cursor *c, uint64_t epoch)
{
    c->epoch = epoch;
    chunk_order(c->ds->file, c->shuffle, c->b, c->seed, epoch, c->chunks);
    c->w = 0;
    c->rows = c->next = 0;
}

/* Reads window c->w into the buffer and draws its order. */
static clg_status read_window(clg_stream_cursor *c)
{
    const clg_dataset *ds = c->ds;
    const clg_stream_file *f = ds->file;
    const size_t first = c->w * c->b;
    size_t m = 0;
    for (size_t i = first; i < first + c->b && i < f->chunks; i++) {
        size_t got;
        clg_status s =
            clg_stream_read_chunk(ds, c->chunks[i], c->wX + m * ds->d, c->wY + m * ds->q, &got);
        if (s != CLG_OK) return s;
        m += got;
    }
    if (c->shuffle) window_order(f, c->b, c->seed, c->epoch, c->w, c->perm, m);
    c->w++;
    c->rows = m;
    c->next = 0;
    return CLG_OK;
}

clg_status clg_stream_cursor_take(clg_stream_cursor *c, size_t count, float *X, float *Y)
{
    const size_t d = c->ds->d, q = c->ds->q;
    while (count) {
        if (c->next == c->rows) {
            clg_status s = read_window(c);
            if (s != CLG_OK) return s;
            if (!c->rows)
                return clg_fail(c->ds->ctx, CLG_ERR_STATE,
                                "clg_loader_next: the streamed epoch has no rows left");
        }
        size_t k = c->rows - c->next < count ? c->rows - c->next : count;
        if (!c->shuffle) {
            memcpy(X, c->wX + c->next * d, k * d * sizeof *X);
            memcpy(Y, c->wY + c->next * q, k * q * sizeof *Y);
        } else {
            for (size_t i = 0; i < k; i++) {
                const size_t r = c->perm[c->next + i];
                memcpy(X + i * d, c->wX + r * d, d * sizeof *X);
                memcpy(Y + i * q, c->wY + r * q, q * sizeof *Y);
            }
        }
        c->next += k;
        X += k * d;
        Y += k * q;
        count -= k;
    }
    return CLG_OK;
}

clg_status clg_stream_order(const clg_dataset *ds, int shuffle, uint64_t seed, uint64_t epoch,
                            uint32_t *order)
{
    const clg_stream_file *f = ds->file;
    const size_t b = window_chunks(f, shuffle != 0);
    uint32_t *chunks = malloc(f->chunks * sizeof *chunks);
    size_t *start = malloc((b + 1) * sizeof *start); /* list position of each chunk's rows */
    if (!chunks || !start) {
        free(chunks);
        free(start);
        return clg_fail(ds->ctx, CLG_ERR_HOST_MEMORY, "clg_loader_order: out of host memory");
    }
    chunk_order(f, shuffle != 0, b, seed, epoch, chunks);
    size_t at = 0;
    for (size_t w = 0; w * b < f->chunks; w++) {
        size_t nk = 0;
        start[0] = 0;
        for (size_t i = w * b; i < w * b + b && i < f->chunks; i++, nk++)
            start[nk + 1] = start[nk] + chunk_len(ds, chunks[i]);
        const size_t m = start[nk];
        if (!shuffle) {
            for (size_t i = 0; i < m; i++) order[at + i] = (uint32_t)(at + i);
        } else {
            window_order(f, b, seed, epoch, w, order + at, m);
            for (size_t i = 0; i < m; i++) {
                size_t j = order[at + i], lo = 0, hi = nk; /* the chunk j is in: binary search */
                while (hi - lo > 1) {
                    size_t mid = (lo + hi) / 2;
                    if (start[mid] <= j)
                        lo = mid;
                    else
                        hi = mid;
                }
                order[at + i] =
                    (uint32_t)((size_t)chunks[w * b + lo] * f->chunk_rows + (j - start[lo]));
            }
        }
        at += m;
    }
    free(chunks);
    free(start);
    return CLG_OK;
}
