/* data: datasets, loaders, synthetic data, file readers. Sees ops and below. */
#ifndef CLGRAD_DATA_H
#define CLGRAD_DATA_H
#include <stdio.h>
#include <sys/stat.h>

#include "ops.h"

/* ---------------------------------------------------------------- data layer */

struct clg_dataset {
    clg_context *ctx;
    size_t n, d, q;
    size_t classes; /* 0: regression; else Y is n×1 float class ids */
    clg_tensor *X;  /* n×d; NULL when streamed */
    clg_tensor *Y;  /* n×q; NULL when streamed */
    int streamed;   /* 1: X and Y live in host memory (hX, hY), or in a file (file); loaders
                       upload batches */
    float *hX, *hY; /* host copies (n×d, n×q) of a streamed dataset, else NULL */
    struct clg_stream_file *file; /* file-streamed (stream_file.c): rows stay in the file and
                                     are read chunk by chunk; streamed = 1, hX = hY = NULL */
    size_t loaders; /* live loaders borrowing ds (clg_dataset_set_streaming refuses then) */
    size_t part, parts, file_rows; /* a shard of a file (clg_stream_options.parts > 0); */
    uint64_t file_bytes;           /* a CSV shard: the file's size (its rows are unknown) */
};

struct clg_loader {
    clg_dataset *ds;
    clg_loader_options opts;
    uint64_t epoch;         /* epochs started so far */
    size_t next;            /* next batch index within the epoch */
    size_t batches;         /* per epoch */
    uint32_t *order;        /* host copy of this epoch's permutation (n) */
    cl_mem order_dev;       /* device copy (n uint32) */
    cl_event order_written; /* host order may be rewritten once this completed */
    clg_tensor *Xb, *Yb;    /* batch_size rows of capacity; rows set per batch */
    /* Streamed datasets only (ds->streamed): rows are gathered on the host into
     * stage[slot] (cap·d floats of X, then cap·q of Y), uploaded without blocking
     * into the slot's device tensors (slot 0: Xb/Yb, slot 1: Xb2/Yb2), and the
     * slot alternates per batch. upload[slot] are the two writes' events: the
     * staging buffer is refilled only once they completed. order_dev is unused. */
    clg_tensor *Xb2, *Yb2;
    cl_mem stage_mem[2]; /* pinned (CL_MEM_ALLOC_HOST_PTR) staging, mapped; NULL if malloc'd */
    float *stage[2];
    cl_event upload[2][2];
    unsigned slot; /* slot of the next batch (alternates across epochs too) */
    /* File-streamed datasets only (ds->file): the epoch's order comes from the cursor
     * (stream_order.c), which reads chunks into its shuffle buffer; order is NULL. */
    struct clg_stream_cursor *cursor;
    /* A rank of a distributed fit (clg_loader_set_part): each batch yields only this
     * part's contiguous share of the rows. */
    unsigned part, parts;
    /* The rows an epoch walks: the permutation's positions [start, start + rows), all n
     * unless clg_loader_set_block took a rank's block; order_dev holds them from 0. */
    size_t start, rows;
};

/* Loader's permutation tag in Philox counter word 3 ("SHUF"): the order of an epoch of a
 * file-streamed dataset that fits one shuffle buffer is the loader's own permutation. */
#define CLG_SHUFFLE_TAG 0x53485546u

/* Narrow views for the fused paths of lib/train, which read data and order directly. */
typedef struct clg_dataset_view {
    cl_mem X, Y; /* n×d and n×q on the device */
    size_t n, d, q, classes;
} clg_dataset_view;
/* data.c: fills v; 0 (v untouched) for a streamed (host-resident) dataset. */
int clg_dataset_view_of(const clg_dataset *ds, clg_dataset_view *v);
typedef struct clg_loader_view {
    clg_dataset_view data;
    cl_mem order; /* the epoch's rows on the device (rows uint32 indices into data) */
    size_t rows;  /* of an epoch: data.n, or a rank's block (clg_loader_set_block) */
    size_t batch_size, batches;
} clg_loader_view;
/* loader.c: as clg_dataset_view_of, for the loader's dataset and order. */
int clg_loader_view_of(const clg_loader *ld, clg_loader_view *v);
/* loader.c: marks the started epoch's batches consumed (a fused epoch ran them). */
void clg_loader_consume_epoch(clg_loader *ld);
/* From now on each batch of ld (the same global batch on every rank, same order) yields
 * rows [c·part/parts, c·(part+1)/parts) of its c rows: this rank's contiguous share, which
 * may be empty (batch.rows 0, X and Y unset). */
void clg_loader_set_part(clg_loader *ld, unsigned part, unsigned parts);
/* From now on each epoch of ld walks only block `part` of `parts` of the epoch's permutation
 * (the same on every rank): positions [n·part/parts, n·(part+1)/parts), in batches of its
 * batch_size; a rank's rows of a model-averaging fit. CLG_ERR_UNSUPPORTED for a
 * file-streamed dataset (its order is the cursor's), CLG_ERR_SHAPE for an empty block. */
clg_status clg_loader_set_block(clg_loader *ld, unsigned part, unsigned parts);

/* scaling.c: why mean and scale (d floats each) are no standardization, or NULL. */
const char *clg_scaling_invalid(const float *mean, const float *scale, size_t d);

/* data.c: a dataset with uninitialised n×d and n×q device tensors. */
clg_status clg_dataset_alloc(clg_context *ctx, size_t n, size_t d, size_t q, clg_dataset **out);
/* data.c: a streamed dataset with uninitialised host arrays hX (n×d), hY (n×q). */
clg_status clg_dataset_alloc_host(clg_context *ctx, size_t n, size_t d, size_t q,
                                  clg_dataset **out);
/* data.c: *stream = 1 when a new n×d, n×q dataset is to be streamed (CLGRAD_STREAM, else
 * clg_dataset_needs_streaming). */
clg_status clg_dataset_decide_streaming(const clg_context *ctx, size_t n, size_t d, size_t q,
                                        int *stream);
/* data.c: CLG_ERR_SHAPE (message in ctx) when n, d or q is 0 or n exceeds 2^32-1. */
clg_status clg_dataset_check_dims(const clg_context *ctx, size_t n, size_t d, size_t q);

/* ------------------------------------------------------ file-streamed datasets */

/* io_npy.c: a .npy header validated as clg_npy_read validates it (magic, version, dict,
 * dtype, shape, the file's size against the shape); the payload of array.count elements
 * of elem_size bytes starts at byte offset. array.data is NULL. */
typedef struct clg_npy_layout {
    clg_npy array;
    size_t elem_size;
    unsigned type; /* io_npy.c's dtype entry */
    uint64_t offset;
} clg_npy_layout;
/* io_npy.c: reads and checks the header of fp (at its start); messages as clg_npy_read's,
 * through clg_last_error(NULL). On error *out is zeroed. */
clg_status clg_npy_read_layout(FILE *fp, const char *path, clg_npy_layout *out);
/* io_npy.c: m payload elements at in → float (element index first, for messages);
 * CLG_ERR_NONFINITE with clg_npy_read's message. */
clg_status clg_npy_convert(const char *path, const clg_npy_layout *layout, const void *in, size_t m,
                           size_t first, float *out);

/* io_csv.c: a CSV file read chunk by chunk. Open makes the first pass: every line checked
 * as clg_csv_read(_classes) checks it (the same messages, through clg_last_error(NULL);
 * fn names the caller in option errors), rows counted, classes and class names fixed
 * (names: as clg_csv_read_classes gives them; NULL: not wanted), and the byte offset and
 * line of every chunk_rows-th row noted (so->chunk_rows 0: clg_stream_auto_chunk_rows(d + 1)).
 * so->parts > 0: only part so->part, the lines that start in bytes [S·part/parts,
 * S·(part+1)/parts) of the file's S, plus its first non-blank line for the layout; its
 * messages name "part p of P, its line i (byte b)"; class names (not given ones) are
 * CLG_ERR_UNSUPPORTED; no row is CLG_ERR_SHAPE. opts: a full clg_csv_options (the caller
 * copied it); its pointers need not outlive the call. Memory: one row, the chunk offsets,
 * the class names; then one chunk. */
typedef struct clg_csv_stream clg_csv_stream;
clg_status clg_csv_stream_open(const char *fn, const char *path, const clg_csv_options *opts,
                               int classes, const clg_stream_options *so, clg_csv_stream **out,
                               size_t *n, size_t *d, size_t *nclasses, clg_class_names *names);
size_t clg_csv_stream_chunk_rows(const clg_csv_stream *cs);
/* io_csv.c: the file's size when it was opened (what a part's byte ranges divide). */
uint64_t clg_csv_stream_file_bytes(const clg_csv_stream *cs);
/* Parses chunk k: X (rows×d), Y (rows labels, or class ids as floats). CLG_ERR_IO when the
 * file changed since it was opened. */
clg_status clg_csv_stream_read(clg_csv_stream *cs, size_t k, float *X, float *Y, size_t *rows);
void clg_csv_stream_close(clg_csv_stream *cs);

/* stream_file.c: one file format of file-streamed datasets (stream_npy.c, stream_csv.c). */
typedef struct clg_stream_format {
    const char *name;
    /* Rows first .. first+rows-1, which are chunk k, into X (rows×d) and Y (rows×q);
     * message through clg_last_error(NULL). */
    clg_status (*read)(void *src, size_t k, size_t first, size_t rows, float *X, float *Y);
    void (*close)(void *src);
} clg_stream_format;

typedef struct clg_stream_file {
    const clg_stream_format *format;
    void *src;
    size_t chunk_rows;    /* rows per chunk (the last chunk may have fewer) */
    size_t chunks;        /* ceil(n / chunk_rows) */
    size_t buffer_chunks; /* chunks per shuffle buffer */
    size_t nscale;        /* standardizations recorded (clg_dataset_standardize), */
    float *scaling;       /* nscale × (mean[d], scale[d]), applied in order to rows read */
} clg_stream_file;

/* stream_file.c: rows per chunk when chunk_rows is 0: CLG_STREAM_CHUNK_BYTES of float32 rows
 * of `floats` values each, at least 1. */
#define CLG_STREAM_CHUNK_BYTES ((size_t)4 << 20)
size_t clg_stream_auto_chunk_rows(size_t floats);
/* stream_file.c: CLG_OK when fd's file has the size and modification time it had when
 * opened, else CLG_ERR_IO (message through clg_last_error(NULL)). */
clg_status clg_stream_check_unchanged(int fd, const char *path, const struct stat *at_open);
/* stream_file.c: the options of a constructor (NULL: defaults); errors go to ctx. */
clg_status clg_stream_options_of(clg_context *ctx, const char *op, const clg_stream_options *opts,
                                 clg_stream_options *o);
/* stream_file.c: a file-streamed dataset over src (taken: closed on error too); chunk_rows 0
 * is sized from d + q. Errors go to ctx. */
clg_status clg_dataset_from_stream(clg_context *ctx, const char *op, size_t n, size_t d, size_t q,
                                   size_t classes, const clg_stream_format *format, void *src,
                                   const clg_stream_options *o, clg_dataset **out);
/* stream_file.c: chunk k of a file-streamed dataset into X (rows×d), Y (rows×q), with the
 * recorded standardizations applied; errors go to ds->ctx. */
clg_status clg_stream_read_chunk(const clg_dataset *ds, size_t k, float *X, float *Y, size_t *rows);
/* stream_file.c: rows first .. first+count-1 of any dataset (device, host or file) into X
 * (count×d) and Y (count×q), either may be NULL; a file is read chunk by chunk. */
clg_status clg_dataset_read_rows(const clg_dataset *ds, size_t first, size_t count, float *X,
                                 float *Y);
/* stream_file.c: records a standardization of a file-streamed dataset (checked already). */
clg_status clg_stream_standardize(clg_dataset *ds, const float *mean, const float *scale);
/* stream_file.c: a file-streamed dataset loaded onto the device (CLG_ERR_DEVICE_MEMORY,
 * ds unchanged, when it does not fit). */
clg_status clg_stream_to_device(clg_dataset *ds);
void clg_stream_file_free(clg_stream_file *f);

/* stream_order.c: the order rule of docs/streaming.md for a loader. The cursor reads chunks
 * into its shuffle buffer (buffer_chunks chunks, 1 without shuffling) as the epoch needs
 * them and hands rows out in the epoch's order. */
typedef struct clg_stream_cursor clg_stream_cursor;
clg_status clg_stream_cursor_create(const clg_dataset *ds, int shuffle, uint64_t seed,
                                    clg_stream_cursor **out);
void clg_stream_cursor_destroy(clg_stream_cursor *c);
/* Starts epoch e: its chunk order. */
void clg_stream_cursor_start(clg_stream_cursor *c, uint64_t epoch);
/* The epoch's next `count` rows into X (count×d) and Y (count×q). */
clg_status clg_stream_cursor_take(clg_stream_cursor *c, size_t count, float *X, float *Y);
/* Epoch e's whole order (n row indices) into order, as the cursor hands the rows out;
 * CLG_ERR_HOST_MEMORY (message in ds->ctx) when a window's scratch cannot be had. */
clg_status clg_stream_order(const clg_dataset *ds, int shuffle, uint64_t seed, uint64_t epoch,
                            uint32_t *order);

/* synthetic.c: rows per chunk of a streamed synthetic dataset × (d+1) floats are
 * ctx->cfg.synthetic_chunk_bytes (32 MiB; tests lower it). */
/* data.c: 1 when a dataset of n×d features and n×q targets does not fit the device
 * and clg_dataset_from_host(_labels) keeps it on the host: X or Y beyond
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, X+Y beyond half of CL_DEVICE_GLOBAL_MEM_SIZE
 * (the other half is left to batches, model and activations), or a byte count
 * that overflows size_t. */
int clg_dataset_needs_streaming(const clg_context *ctx, size_t n, size_t d, size_t q);

#endif
