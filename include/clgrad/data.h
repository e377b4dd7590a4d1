/* clgrad: datasets, loaders and data files (CSV, IDX, .npy). Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_DATA_H
#define CLGRAD_API_DATA_H

#include <limits.h>

#include "clgrad/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- dataset */

/* Features X (n×d) and targets Y (n×q, float) resident on the device, or
 * "streamed": kept in host memory, with loaders uploading each batch
 * (double-buffered) — see clg_dataset_set_streaming. */
typedef struct clg_dataset clg_dataset;

/* Copies host arrays X[n*d] and Y[n*q] to the device. NaN or Inf anywhere is
 * CLG_ERR_NONFINITE (the message names row and column); n, d or q of 0 is
 * CLG_ERR_SHAPE. Data that does not fit the device (X or Y beyond
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE, or X+Y beyond half of CL_DEVICE_GLOBAL_MEM_SIZE)
 * is copied to host memory instead and streamed. The environment variable
 * CLGRAD_STREAM=1 streams every dataset made here, CLGRAD_STREAM=0 none (too
 * large is then CLG_ERR_DEVICE_MEMORY); unset or "auto" decides by size; another
 * value is CLG_ERR_INVALID_ARGUMENT. The same holds for
 * clg_dataset_from_host_labels (and so for the CSV, IDX and npy readers). */
CLG_API clg_status clg_dataset_from_host(clg_context *ctx, const float *X, const float *Y, size_t n,
                                         size_t d, size_t q, clg_dataset **out);

/* d2l's synthetic_data: X ~ N(0, 1) of n×d, y = X·w + b + N(0, noise²), q = 1.
 * Generated on the device from `seed` with Philox + Box–Muller, so a seed
 * gives the same data on every device and every run (to float rounding of
 * log/cos). w has d entries. Streamed by the rule of clg_dataset_from_host
 * (drawn on the device in chunks, kept in host memory) when too large. */
CLG_API clg_status clg_dataset_synthetic_linear(clg_context *ctx, size_t n, const float *w,
                                                size_t d, float b, float noise, uint64_t seed,
                                                clg_dataset **out);
/* Per-feature mean and population standard deviation (sklearn's StandardScaler.fit; a
 * constant feature gets scale 1) of X, each d floats; accumulated in double. */
CLG_API clg_status clg_dataset_feature_stats(const clg_dataset *ds, float *mean, float *scale);
/* X ← (X − mean) / scale in place, per feature (StandardScaler.transform): use the training
 * set's statistics for the test set too. mean finite, scale finite and > 0. Enqueued. */
CLG_API clg_status clg_dataset_standardize(clg_dataset *ds, const float *mean, const float *scale);
CLG_API void clg_dataset_destroy(clg_dataset *ds);
CLG_API size_t clg_dataset_size(const clg_dataset *ds);     /* n */
CLG_API size_t clg_dataset_features(const clg_dataset *ds); /* d */
CLG_API size_t clg_dataset_targets(const clg_dataset *ds);  /* q */

/* Classification data: labels[n] are class ids in [0, classes). They are kept
 * on the device as one float column (exact below 2^24), so the dataset has
 * q = 1 and clg_dataset_classes() = classes. An id out of range is
 * CLG_ERR_INVALID_ARGUMENT naming the row; so is classes < 2 or > 2^24. NaN or
 * Inf in X is CLG_ERR_NONFINITE; n or d of 0 is CLG_ERR_SHAPE. */
CLG_API clg_status clg_dataset_from_host_labels(clg_context *ctx, const float *X,
                                                const int32_t *labels, size_t n, size_t d,
                                                size_t classes, clg_dataset **out);
/* Number of classes, or 0 for a regression dataset. */
CLG_API size_t clg_dataset_classes(const clg_dataset *ds);
/* Splits ds into a shuffled (seeded) train part and a test part of
 * round(n·test_fraction) samples (0 < test_fraction < 1, both parts non-empty,
 * CLG_ERR_INVALID_ARGUMENT otherwise). The permutation is a Philox Fisher–Yates
 * shuffle of the indices (same seed, same parts on every device); rows are
 * gathered on the device into two new datasets, which keep the classes. */
CLG_API clg_status clg_dataset_split(const clg_dataset *ds, double test_fraction, uint64_t seed,
                                     clg_dataset **train, clg_dataset **test);
/* clg_dataset_split for classification data that keeps each class's share in both parts
 * (sklearn's stratified split): class c puts floor(n_c·test_fraction) rows, plus one for
 * the classes with the largest remainders until the test part has round(n·test_fraction)
 * rows, into the test part, drawn by a seeded Philox shuffle of its rows; both parts are then
 * shuffled. Real-valued targets are CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_dataset_split_stratified(const clg_dataset *ds, double test_fraction,
                                                uint64_t seed, clg_dataset **train,
                                                clg_dataset **test);
/* Copies the dataset to the host; X (n*d) or Y (n*q) may be NULL to skip it. */
CLG_API clg_status clg_dataset_download(const clg_dataset *ds, float *X, float *Y);
/* The device tensors (borrowed; owned by the dataset); NULL for a streamed
 * dataset, which has none (use clg_dataset_download or a loader). */
CLG_API const clg_tensor *clg_dataset_X(const clg_dataset *ds);
CLG_API const clg_tensor *clg_dataset_Y(const clg_dataset *ds);
/* 1 when ds is streamed (host-resident), 0 otherwise (and for NULL). */
CLG_API int clg_dataset_streamed(const clg_dataset *ds);
/* Moves ds to host memory (on != 0: streamed from then on, which any dataset,
 * synthetic or split ones included, can be) or back to the device (on = 0:
 * CLG_ERR_DEVICE_MEMORY, dataset unchanged, when it does not fit). Training on
 * a streamed dataset gives the same floats as on the device. CLG_ERR_STATE
 * while a loader borrows ds. A split of a streamed dataset is streamed. */
CLG_API clg_status clg_dataset_set_streaming(clg_dataset *ds, int on);

/* ------------------------------------------------------------------ loader */

typedef struct clg_loader_options {
    size_t struct_size; /* sizeof(clg_loader_options) of the caller's header (ABI) */
    size_t batch_size;  /* default 32 */
    int shuffle;        /* default 1: a fresh seeded permutation each epoch */
    int drop_last;      /* default 0: the last batch may be partial */
    uint64_t seed;      /* default 0 */
    /* Default 0. Epochs already run: the first clg_loader_start_epoch draws the order of
     * epoch first_epoch, so a resumed fit (clg_fit_options.first_epoch) sees the same
     * orders as one that never stopped. */
    uint64_t first_epoch;
} clg_loader_options;
CLG_API clg_loader_options clg_loader_defaults(void);

/* Yields minibatches of a dataset; batches are gathered on the device, or for
 * a streamed dataset gathered on the host and uploaded, double-buffered. */
typedef struct clg_loader clg_loader;

/* A minibatch: X (rows×d) and Y (rows×q) are owned by the loader and
 * overwritten by the next clg_loader_next (for a streamed dataset, by the one
 * after it: two batch buffers alternate). */
typedef struct clg_batch {
    const clg_tensor *X;
    const clg_tensor *Y;
    size_t rows;  /* batch size; smaller for a partial last batch */
    size_t index; /* 0-based within the epoch */
} clg_batch;

/* The loader borrows ds, which must outlive it. batch_size 0 is an error. */
CLG_API clg_status clg_loader_create(clg_dataset *ds, const clg_loader_options *opts,
                                     clg_loader **out);
CLG_API void clg_loader_destroy(clg_loader *ld);
/* Batches per epoch: ceil(n/B), or floor(n/B) with drop_last. */
CLG_API size_t clg_loader_batches(const clg_loader *ld);
/* Starts the next epoch: draws its permutation (epoch e uses seed and e) and
 * uploads it without waiting. */
CLG_API clg_status clg_loader_start_epoch(clg_loader *ld);
/* Enqueues the gather of the next batch; *has_batch = 0 at the end of the epoch. */
CLG_API clg_status clg_loader_next(clg_loader *ld, clg_batch *batch, int *has_batch);
/* The current epoch's order of sample indices (n entries), for inspection. */
CLG_API clg_status clg_loader_order(const clg_loader *ld, uint32_t *order, size_t n);

/* ------------------------------------------------------------------- files */

/* The names of the classes of a CSV label column that holds names: names[i] is the name
 * of class i. Filled by clg_csv_read_classes / clg_dataset_from_csv_classes, which malloc
 * the array and each name; release with clg_class_names_free. A caller may also fill one
 * (its own memory) to pass as clg_csv_options.class_names. */
typedef struct clg_class_names {
    size_t count; /* 0 when the labels were numeric class ids (names is then NULL) */
    char **names; /* count NUL-terminated names */
} clg_class_names;
/* Frees what the library filled in and zeroes *names; accepts NULL and a zeroed struct. */
CLG_API void clg_class_names_free(clg_class_names *names);

/* clg_csv_options.label_column: no label column; every column (less skip_columns) is a
 * feature and clg_csv_read returns *y = NULL (the classes readers refuse it). */
#define CLG_CSV_NO_LABEL LONG_MIN

/* Start from clg_csv_defaults(): fields are only ever added at the end. */
typedef struct clg_csv_options {
    size_t struct_size; /* sizeof(clg_csv_options) of the caller's header (ABI) */
    int header;         /* -1 (default): detected (below); 0: no header; 1: the first line is one */
    long label_column;  /* default -1 = last; 0-based, negative counts from the end;
                          CLG_CSV_NO_LABEL: none */
    char delimiter;     /* default ','; not a space, quote or line break */
    /* Columns left out (neither features nor label, not parsed: an ID column may hold
     * anything): NULL or "" (default) for none, else a comma-separated list of indices
     * (0-based, negative from the end: digits with an optional '-') and/or names from the
     * header line, e.g. "0" or "id,batch". */
    const char *skip_columns;
    /* Class labels (clg_csv_read_classes / clg_dataset_from_csv_classes; others ignore them): */
    size_t classes;     /* 0 (default): inferred; else exactly this many, every id below it */
    size_t max_classes; /* 0 (default): 2^24; a larger id, or more names, is an error */
    const clg_class_names *class_names; /* NULL (default), or the names to map labels onto */
} clg_csv_options;
CLG_API clg_csv_options clg_csv_defaults(void);

/* Reads a numeric CSV file on the host (no context needed): the label column
 * becomes y (n×1), the other columns (less skip_columns) X (n×d), row-major.
 * *X and *y are malloc'd; the caller frees them with free(). Tolerates CRLF,
 * a UTF-8 BOM, blank lines, spaces around fields and double-quoted fields.
 * Header (header = -1): the first non-blank line is a header when none of its
 * fields is a number, a data row when all are; a mix (a typo such as "2x5" in
 * the first data row) is CLG_ERR_FORMAT naming the line and column. Skipped
 * columns do not count, nor, for class labels, the label column. Errors
 * (message through clg_last_error(NULL), naming the line and column):
 * CLG_ERR_IO (unreadable), CLG_ERR_FORMAT (non-numeric field, ragged row,
 * empty file, header only, fewer than two columns, no feature column left),
 * CLG_ERR_NONFINITE (NaN, Inf, beyond float range), CLG_ERR_INVALID_ARGUMENT
 * (NULL, bad option, a skip_columns entry out of range, not in the header or
 * naming the label column). When a file fails and its first line splits into
 * more fields (at least 2) on another of ',' ';' and tab than on the
 * delimiter, the message says so and names that delimiter; nothing is
 * guessed. On error *X and *y are NULL and *n, *d are 0. opts NULL means
 * clg_csv_defaults(). Numbers are read in the C locale whatever the
 * program's locale. */
CLG_API clg_status clg_csv_read(const char *path, const clg_csv_options *opts, float **X, float **y,
                                size_t *n, size_t *d);

/* clg_csv_read, then clg_dataset_from_host with q = 1; errors go to ctx. */
CLG_API clg_status clg_dataset_from_csv(clg_context *ctx, const char *path,
                                        const clg_csv_options *opts, clg_dataset **out);

/* Reads a CSV file whose label column holds classes, as clg_csv_read reads
 * features, into *X (n×d) and *labels (n class ids), both malloc'd (free()).
 * The labels are either all class ids or all names (a mix is CLG_ERR_FORMAT
 * naming the line, so a typo in an id column is not taken for a name):
 *  - ids: integers in 0..limit-1, where limit is opts->classes when set, else
 *    max_classes (default 2^24); anything else (negative, fractional, too
 *    large, NaN) is CLG_ERR_FORMAT naming the line, column and data row.
 *    *classes = opts->classes, else the largest id + 1 (at least 2);
 *    names->count = 0.
 *  - names (any other text; empty labels are refused): class ids in sorted
 *    order of the names (strcmp: byte order, code points for UTF-8), as
 *    sklearn's LabelEncoder does; *classes = the number of distinct names (at
 *    least 2; with opts->classes set it must be exactly that, since a missing
 *    name would shift the ids); the names come back in *names.
 *  - opts->class_names (count > 0): every label must be one of those names
 *    (CLG_ERR_FORMAT otherwise) and gets its index; *classes = their count.
 *    This reads a test set with its training set's names. *names gets a copy.
 * names may be NULL (not wanted); it must not be opts->class_names. On error
 * every output is NULL / 0 and *names is zeroed (nothing to free). */
CLG_API clg_status clg_csv_read_classes(const char *path, const clg_csv_options *opts, float **X,
                                        int32_t **labels, size_t *n, size_t *d, size_t *classes,
                                        clg_class_names *names);

/* clg_csv_read_classes, then clg_dataset_from_host_labels: a classification
 * dataset (clg_dataset_classes() = *classes above). names (NULL: not wanted)
 * receives the class names as clg_csv_read_classes says; free them with
 * clg_class_names_free. Errors go to ctx; on error *out is NULL and *names
 * is zeroed. */
CLG_API clg_status clg_dataset_from_csv_classes(clg_context *ctx, const char *path,
                                                const clg_csv_options *opts, clg_dataset **out,
                                                clg_class_names *names);

/* IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed (told apart by the
 * gzip magic; both are read through zlib). Layout: two zero bytes, a dtype code
 * (0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
 * ndim (1..4), ndim big-endian uint32 dims (each > 0), then the big-endian
 * payload and nothing after it (for gzip: nothing after it in the decompressed
 * data; zlib ignores non-gzip bytes after the compressed stream). At most 2^31-1
 * elements. */
typedef struct clg_idx {
    uint8_t dtype;    /* the dtype code above */
    uint8_t ndim;     /* 1..4 */
    uint32_t dims[4]; /* dims[ndim..3] are 0 */
    size_t count;     /* product of the dims */
    float *data;      /* count values converted to float (ubyte NOT scaled);
                          int32 beyond 2^24 rounds to the nearest float */
} clg_idx;

/* Reads an IDX file on the host. Errors (message through clg_last_error(NULL),
 * naming the path and the field): CLG_ERR_IO (cannot open or read),
 * CLG_ERR_FORMAT (magic, dtype, ndim, a zero dim, element count beyond the
 * limit, truncated header or payload, corrupt gzip stream, trailing data),
 * CLG_ERR_NONFINITE (NaN/Inf, or a float64 beyond float32 range),
 * CLG_ERR_INVALID_ARGUMENT (NULL). On error *out is zeroed. Free with clg_idx_free. */
CLG_API clg_status clg_idx_read(const char *path, clg_idx *out);
/* Frees out->data and zeroes *out; accepts NULL and a zeroed struct. */
CLG_API void clg_idx_free(clg_idx *idx);

/* Reads an image file (n × ... , at least 2-D) and a label file (1-D, n
 * entries) as classification data: *X (n×d, d = product of the other dims,
 * row-major) with ubyte pixels scaled to [0, 1] (x/255; other dtypes kept as
 * they are), *y (n) class ids. Labels must be integers in [0, 2^24). Errors as
 * clg_idx_read, plus CLG_ERR_SHAPE (image and label counts differ, labels not
 * 1-D, images 1-D) and CLG_ERR_FORMAT (a label negative, fractional or too large).
 * *X and *y are malloc'd (free()); on error they are NULL and *n, *d are 0. */
CLG_API clg_status clg_idx_read_pair(const char *images, const char *labels, float **X, int32_t **y,
                                     size_t *n, size_t *d);

/* clg_idx_read_pair, then clg_dataset_from_host_labels with classes = the
 * largest label + 1 (at least 2); errors go to ctx. */
CLG_API clg_status clg_dataset_from_idx(clg_context *ctx, const char *images, const char *labels,
                                        clg_dataset **out);

/* NumPy .npy files, format versions 1.0, 2.0 and 3.0, C order. dtypes: <f4,
 * <f8, |u1, |i1, <i2, <u2, <i4, <u4, <i8, <u8 (little-endian); values are
 * converted to float (64-bit and 32-bit integers beyond 2^24 round to the
 * nearest float). Shapes of 0 to 8 dims; () is a scalar (count 1). */
typedef struct clg_npy {
    size_t ndim;     /* 0..8 */
    size_t shape[8]; /* shape[ndim..7] are 0 */
    size_t count;    /* product of the shape (1 for a scalar) */
    float *data;     /* count values, C order */
} clg_npy;

/* Reads a .npy file on the host. The header dict must have exactly the keys
 * 'descr', 'fortran_order' and 'shape'. Errors (message through
 * clg_last_error(NULL), naming the path and the problem): CLG_ERR_IO,
 * CLG_ERR_FORMAT (magic, header length, header dict syntax, missing/unknown/
 * repeated key, shape overflow, data shorter or longer than the shape says),
 * CLG_ERR_UNSUPPORTED (fortran_order True, big-endian or other dtypes,
 * structured dtypes, an unknown format version, more than 8 dims, a zero in
 * the shape), CLG_ERR_NONFINITE (NaN/Inf, or a float64 beyond float32 range),
 * CLG_ERR_INVALID_ARGUMENT (NULL). On error *out is zeroed. */
CLG_API clg_status clg_npy_read(const char *path, clg_npy *out);
/* Frees npy->data and zeroes *npy; accepts NULL and a zeroed struct. */
CLG_API void clg_npy_free(clg_npy *npy);

/* Features from X_path (2-D n×d; 1-D is n×1) and targets from y_path (1-D n,
 * or 2-D n×q). classification != 0: y must hold one integer class id >= 0 per
 * row (1-D or n×1, below 2^24) and the dataset is made with
 * clg_dataset_from_host_labels (classes = largest id + 1, at least 2);
 * otherwise clg_dataset_from_host. Shape disagreements are CLG_ERR_SHAPE,
 * non-integral or negative labels CLG_ERR_FORMAT; errors go to ctx. */
CLG_API clg_status clg_dataset_from_npy(clg_context *ctx, const char *X_path, const char *y_path,
                                        int classification, clg_dataset **out);

/* ------------------------------------------------------ file-streamed datasets */

/* Datasets larger than host memory (docs/streaming.md): the rows stay in the file, and
 * loaders read them chunk by chunk (chunks of chunk_rows consecutive rows), so host memory
 * holds a bounded number of rows whatever the file's size. Start from
 * clg_stream_defaults(): fields are only ever added at the end. */
typedef struct clg_stream_options {
    size_t struct_size; /* sizeof(clg_stream_options) of the caller's header (ABI) */
    /* Rows per chunk. Default 0: as many rows as fill 4 MiB as float32 (d + q floats a row;
     * 16131 rows for d = 64, q = 1), at least 1 and at most n. A CSV file's first pass notes
     * where every chunk starts. */
    size_t chunk_rows;
    /* Default 4: a shuffling loader reads this many chunks, drawn at random, into its
     * shuffle buffer and shuffles their rows together (docs/streaming.md, "Order"). >= 1. */
    size_t buffer_chunks;
    /* Default 0 and 0: the whole file. parts >= 1: only part `part` (0-based) of the file cut
     * into `parts` contiguous pieces of near-equal size: one rank's shard of a distributed
     * fit, which then reads no other row (docs/distributed.md). .npy: rows [N·part/parts,
     * N·(part+1)/parts) of its N. CSV: the lines that start in bytes [S·part/parts,
     * S·(part+1)/parts) of its S bytes (and the first non-blank line, for the layout; a
     * header is no row); class names are refused there (docs/streaming.md, "CSV parts"). */
    size_t part, parts;
    /* Default 0: classes = the largest class id + 1 (at least 2). k >= 2: exactly k classes,
     * a larger id being CLG_ERR_FORMAT; a shard may lack the largest id, so ranks give k.
     * Classification only; for CSV the same as clg_csv_options.classes (give either, or both
     * equal). */
    size_t classes;
} clg_stream_options;
CLG_API clg_stream_options clg_stream_defaults(void);

/* A file-streamed dataset from .npy files: X_path (2-D n×d, or 1-D n×1) and y_path (1-D n,
 * or 2-D n×q; classification != 0: one integer class id >= 0 per row, classes = largest
 * id + 1, at least 2), the dtypes of clg_npy_read. Both files are mapped read-only (mmap)
 * and read in place: page cache, not the process's memory. Checked whole at open, in
 * O(1) memory, with the messages of clg_dataset_from_npy: headers, shapes and sizes, then
 * one pass over the data (NaN or Inf is CLG_ERR_NONFINITE; a label that is not a class id
 * CLG_ERR_FORMAT). The files must not change while the dataset lives (a chunk read of a
 * file whose size or modification time changed is CLG_ERR_IO). opts NULL: defaults.
 * Errors go to ctx. */
CLG_API clg_status clg_dataset_stream_npy(clg_context *ctx, const char *X_path, const char *y_path,
                                          int classification, const clg_stream_options *opts,
                                          clg_dataset **out);

/* A file-streamed dataset from a CSV file, read as clg_dataset_from_csv (classification 0)
 * or clg_dataset_from_csv_classes (classification != 0; names as it says, NULL: not
 * wanted) read it: a first pass checks every line with the same messages, counts rows,
 * fixes the classes and notes where each chunk starts (O(rows / chunk_rows) memory); a
 * chunk is read by seeking there and parsing its rows. A file without a label column
 * (CLG_CSV_NO_LABEL) is CLG_ERR_INVALID_ARGUMENT. The file must stay unchanged, as above.
 * A part (opts->parts): only its byte range is checked and read; messages name its lines
 * "part p of P, its line i (byte b)"; class names, unless given as csv->class_names, are
 * CLG_ERR_UNSUPPORTED; a part of no row is CLG_ERR_SHAPE. csv or opts NULL: defaults.
 * Errors go to ctx; on error *out is NULL, *names zeroed. */
CLG_API clg_status clg_dataset_stream_csv(clg_context *ctx, const char *path,
                                          const clg_csv_options *csv, int classification,
                                          const clg_stream_options *opts, clg_dataset **out,
                                          clg_class_names *names);

/* A shard (clg_stream_options.part, parts): parts, *part its index and *file_rows the rows of
 * the whole file, or 0 for a CSV shard ("unknown": counting them would read the whole file);
 * a dataset that is no shard: 0 (and *part 0, *file_rows its rows). Either pointer may be
 * NULL. */
CLG_API size_t clg_dataset_parts(const clg_dataset *ds, size_t *part, size_t *file_rows);

/* Where a dataset's rows are: on the device, in host memory (streamed), or in a file
 * (file-streamed: clg_dataset_streamed() is 1 too). */
typedef enum clg_storage { CLG_STORAGE_DEVICE, CLG_STORAGE_HOST, CLG_STORAGE_FILE } clg_storage;
CLG_API clg_storage clg_dataset_storage(const clg_dataset *ds); /* NULL: CLG_STORAGE_DEVICE */
/* Rows per chunk of a file-streamed dataset (the options' chunk_rows, or the one sized for
 * it), 0 for the others. */
CLG_API size_t clg_dataset_chunk_rows(const clg_dataset *ds);
/* The other dataset functions on a file-streamed dataset: clg_dataset_download reads the
 * file chunk by chunk into the caller's arrays; clg_dataset_feature_stats makes two passes
 * over it (the in-memory sums, in the same order); clg_dataset_standardize records the
 * scaling and applies it to each chunk as it is read (calls apply in order);
 * clg_dataset_set_streaming(ds, 0) loads it onto the device (CLG_ERR_DEVICE_MEMORY, ds
 * unchanged, when it does not fit), (ds, 1) leaves it as it is; clg_dataset_split and
 * clg_dataset_split_stratified are CLG_ERR_UNSUPPORTED (split the file, or load the dataset
 * first). Loaders, hence clg_fit and clg_evaluate, read it in the order docs/streaming.md
 * states: file order without shuffling (the in-memory path's floats, bit for bit), else
 * chunks drawn at random, buffer_chunks at a time, their rows shuffled together. */

#ifdef __cplusplus
}
#endif
#endif
