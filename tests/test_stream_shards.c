/* Shards (parts) of file-streamed datasets (clg_stream_options.part/parts, docs/streaming.md,
 * docs/distributed.md): .npy files split by rows, CSV files by byte ranges. Parts partition
 * the rows, bit for bit, for many part counts and odd files; a bad line fails only its
 * part; class labels agree across parts; a part fits like the in-memory dataset. */
#include <stdint.h>
#include <sys/stat.h>

#include "internal.h"
#include "stream_files.h"

/* clg_stream_options.part/parts: a shard holds rows [N·p/P, N·(p+1)/P) and reads the
 * file's rows there (the same floats as the whole file's), says so (clg_dataset_parts),
 * and the options are checked; classes fixes the class count for shards that lack an id. */
Test(stream_shards, npy_shards)
{
    clg_context *ctx = test_context();
    files f;
    make_files(&f);
    float *X = NULL, *Y = NULL;
    clg_dataset *whole;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, NULL, &whole));
    download(ctx, whole, &X, &Y);
    size_t part = 7, rows = 0;
    cr_assert_eq(clg_dataset_parts(whole, &part, &rows), 0);
    cr_assert(part == 0 && rows == N);
    for (size_t P = 1; P <= 4; P++) {
        size_t total = 0;
        for (size_t p = 0; p < P; p++) {
            clg_stream_options so = stream_opts(7, 2);
            so.part = p, so.parts = P, so.classes = CL;
            clg_dataset *shard;
            CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &shard));
            const size_t lo = N * p / P, hi = N * (p + 1) / P;
            cr_assert_eq(clg_dataset_size(shard), hi - lo, "P=%zu p=%zu", P, p);
            cr_assert_eq(clg_dataset_parts(shard, &part, &rows), P);
            cr_assert(part == p && rows == N);
            cr_assert_eq(clg_dataset_classes(shard), (size_t)CL);
            float *sx, *sy;
            download(ctx, shard, &sx, &sy);
            expect_same_floats(sx, X + lo * D, (hi - lo) * D, "shard X");
            expect_same_floats(sy, Y + lo, hi - lo, "shard labels");
            free(sx), free(sy);
            total += clg_dataset_size(shard);
            clg_dataset_destroy(shard);
        }
        cr_assert_eq(total, (size_t)N);
    }
    /* a shard whose labels stop below the top id: classes from the options, or from its own */
    size_t low = 0;
    while (Y[low] == CL - 1) low++; /* the first row with a label below the top one */
    clg_stream_options so = stream_opts(0, 4);
    so.part = low, so.parts = N; /* one row */
    clg_dataset *one;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &one));
    cr_assert_lt(clg_dataset_classes(one), (size_t)CL);
    clg_dataset_destroy(one);
    clg_dataset *bad = NULL;
    so = stream_opts(0, 4);
    so.part = 2, so.parts = 2;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &bad),
                   CLG_ERR_INVALID_ARGUMENT, "need part < parts", "stream npy part 2 of 2 parts");
    so.part = 1, so.parts = 0;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &bad),
                   CLG_ERR_INVALID_ARGUMENT, "both 0", "stream npy part 1 of 0 parts");
    so.part = 0, so.parts = N + 1;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &bad),
                   CLG_ERR_SHAPE, "holds none", "stream npy: more parts than rows");
    so = stream_opts(0, 4);
    so.classes = 1;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &bad),
                   CLG_ERR_INVALID_ARGUMENT, "classes 1", "stream npy classes 1");
    so.classes = CL - 1;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_labels, 1, &so, &bad),
                   CLG_ERR_FORMAT, "the options say 2 classes",
                   "stream npy: a label beyond the classes option");
    so.classes = CL;
    EXPECT_REFUSED(ctx, clg_dataset_stream_npy(ctx, f.npy_X, f.npy_y, 0, &so, &bad),
                   CLG_ERR_INVALID_ARGUMENT, "without classification",
                   "stream npy: classes for regression data");
    cr_assert_null(bad);
    free(X), free(Y);
    clg_dataset_destroy(whole);
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- CSV parts */

/* A CSV file's part p of P is the lines that start in its bytes [S·p/P, S·(p+1)/P). */

static char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    struct stat st;
    cr_assert_eq(fstat(fileno(fp), &st), 0);
    *size = (size_t)st.st_size;
    char *buf = malloc(*size + 1);
    cr_assert_eq(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

/* The rule, re-implemented on the file's bytes: rows[p] counts the lines whose first byte
 * lies in part p's range, less blank lines and the header (the first non-blank line, when
 * header). */
static void ref_part_rows(const char *path, int header, size_t P, size_t *rows)
{
    size_t S;
    char *buf = slurp(path, &S);
    memset(rows, 0, P * sizeof *rows);
    int first = 1;
    for (size_t o = 0, e; o < S; o = e + 1) {
        int blank = 1;
        for (e = o; e < S && buf[e] != '\n'; e++)
            blank &= buf[e] == ' ' || buf[e] == '\t' || buf[e] == '\r';
        if (blank) continue;
        if (!(first && header)) {
            size_t p = 0;
            while ((uint64_t)S * (p + 1) / P <= o) p++;
            rows[p]++;
        }
        first = 0;
    }
    free(buf);
}

typedef struct csv_file {
    const char *path;
    int cls, header; /* class ids (else regression targets); a header line */
    size_t classes;  /* clg_stream_options.classes of its parts */
    float *X, *Y;    /* the in-memory reader's rows */
    size_t n;
} csv_file;

static void read_whole(csv_file *f)
{
    size_t d;
    if (!f->cls) {
        CLG_OK_OR_FAIL(NULL, clg_csv_read(f->path, NULL, &f->X, &f->Y, &f->n, &d));
    } else {
        int32_t *ids;
        size_t classes;
        CLG_OK_OR_FAIL(NULL,
                       clg_csv_read_classes(f->path, NULL, &f->X, &ids, &f->n, &d, &classes, NULL));
        f->Y = malloc(f->n * sizeof *f->Y);
        for (size_t i = 0; i < f->n; i++) f->Y[i] = (float)ids[i];
        free(ids);
    }
    cr_assert_eq(d, (size_t)D, "%s", f->path);
}

static clg_status open_part(clg_context *ctx, const csv_file *f, const clg_csv_options *co,
                            size_t p, size_t P, size_t chunk_rows, clg_dataset **ds)
{
    clg_stream_options so = stream_opts(chunk_rows, 2);
    so.part = p, so.parts = P, so.classes = f->classes;
    return clg_dataset_stream_csv(ctx, f->path, co, f->cls, &so, ds, NULL);
}

/* Parts 0..P-1 of f, each read back in two ranges (chunks of 4 rows): the rule's row counts,
 * and together the in-memory reader's rows bit for bit; a part without rows is refused. */
static void expect_parts_partition(clg_context *ctx, const csv_file *f, size_t P)
{
    size_t *rows = malloc(P * sizeof *rows), at = 0;
    ref_part_rows(f->path, f->header, P, rows);
    float *X = malloc(f->n * D * sizeof *X), *Y = malloc(f->n * sizeof *Y);
    for (size_t p = 0; p < P; p++) {
        char what[160];
        snprintf(what, sizeof what, "%s: part %zu of %zu", f->path, p, P);
        clg_dataset *ds = NULL;
        clg_status s = open_part(ctx, f, NULL, p, P, 4, &ds);
        if (!rows[p]) { /* the message: csv_part_refuses_only_its_bad_lines */
            cr_assert_eq(s, CLG_ERR_SHAPE, "%s: %s", what, clg_last_error(ctx));
            cr_assert_not_null(strstr(clg_last_error(ctx), "holds no row"), "%s", what);
            continue;
        }
        cr_assert_eq(s, CLG_OK, "%s: %s", what, clg_last_error(ctx));
        const size_t n = clg_dataset_size(ds), h = n / 2;
        cr_assert_eq(n, rows[p], "%s: %zu rows, the rule says %zu", what, n, rows[p]);
        cr_assert_leq(at + n, f->n, "%s", what);
        size_t part = 9, file_rows = 9;
        cr_assert_eq(clg_dataset_parts(ds, &part, &file_rows), P, "%s", what);
        cr_assert(part == p && file_rows == 0, "%s: part %zu, file_rows %zu", what, part,
                  file_rows);
        if (f->cls) cr_assert_eq(clg_dataset_classes(ds), f->classes, "%s", what);
        CLG_OK_OR_FAIL(ctx, clg_dataset_read_rows(ds, 0, h, X + at * D, Y + at));
        CLG_OK_OR_FAIL(ctx, clg_dataset_read_rows(ds, h, n - h, X + (at + h) * D, Y + at + h));
        at += n;
        clg_dataset_destroy(ds);
    }
    cr_assert_eq(at, f->n, "%s, %zu parts: %zu rows of %zu", f->path, P, at, f->n);
    expect_same_floats(X, f->X, f->n * D, f->path);
    expect_same_floats(Y, f->Y, f->n, f->path);
    free(X), free(Y), free(rows);
}

/* A file of what the reader allows: a BOM, CRLF, blank lines (also of spaces), quoted
 * fields, a last line without a newline. */
static void odd_csv(char *text, size_t cap)
{
    size_t k = (size_t)snprintf(text, cap,
                                "\xEF\xBB\xBF"
                                "a, \"b\" ,c,y\r\n");
    for (int i = 0; i < 30; i++) {
        if (i % 7 == 3) k += (size_t)snprintf(text + k, cap - k, i % 2 ? "\r\n" : "  \t\r\n");
        k += (size_t)snprintf(text + k, cap - k, "%d.5, \"%d\" ,%d.25,%d%s", i, -i, i * 3, i % 5,
                              i < 29 ? "\r\n" : "");
    }
}

/* Parts partition the rows: for many part counts (1 to more than the bytes), every part
 * holds the lines the byte rule gives it, and parts 0..P-1 read back the whole file's rows
 * in order, bit for bit: the regression and class-id fixtures, a file of CRLF lines with a
 * BOM, blank lines, quoted fields and no final newline, one whose header follows blank
 * lines (so that a later part holds it), and a file of three lines. */
Test(stream_shards, csv_parts_partition_the_rows, .timeout = 120)
{
    clg_context *ctx = test_context();
    files fx;
    make_files(&fx);
    char text[4096];
    const char *odd = tmp_path("odd.csv"), *lead = tmp_path("lead.csv"),
               *tiny = tmp_path("tiny.csv");
    odd_csv(text, sizeof text);
    /* 4 columns each: X is 3 wide, as the fixtures'; the label is the last column. */
    write_text(odd, text);
    write_text(lead, "\n\n  \n"
                     "x1,x2,x3,label\n"
                     "1,2,3,0\n4,5,6,1\n7,8,9,2\n1,1,1,1\n2,2,2,0\n3,3,3,2\n4,4,4,1\n");
    write_text(tiny, "1,2,3,4\r\n5,6,7,8\n9,10,11,12");
    csv_file files[] = {{.path = fx.csv, .header = 1},
                        {.path = fx.csv_classes, .cls = 1, .classes = CL},
                        {.path = odd, .header = 1},
                        {.path = lead, .cls = 1, .header = 1, .classes = 3},
                        {.path = tiny}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        csv_file *f = &files[i];
        read_whole(f);
        size_t S;
        free(slurp(f->path, &S));
        const size_t counts[] = {1, 2, 3, 4, 5, 7, 10, 16, 50, 103, 104, 200, S - 1, S, S + 3};
        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
            expect_parts_partition(ctx, f, counts[c]);
        free(f->X), free(f->Y);
    }
    clg_context_destroy(ctx);
}

/* The first pass covers the part's range only: a bad line in one part leaves the other
 * opening, and the part that holds it names the line by its own count and byte offset (a
 * part does not read the bytes before it); the whole file's messages are as before. Lines
 * of 6 bytes: the header at byte 0, file line k at byte 6(k-1); of 20 rows, part 1 of 2
 * starts at byte 63, so with file line 12 (byte 66). */
Test(stream_shards, csv_part_refuses_only_its_bad_lines)
{
    clg_context *ctx = test_context();
    char text[256], want[512];
    size_t k = (size_t)snprintf(text, sizeof text, "a,b,y\n");
    for (int i = 2; i <= 21; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%d,2,3\n", i % 10);
    memcpy(text + 12, "1,2,,\n", 6); /* line 3 */
    memcpy(text + 84, "1,x,3\n", 6); /* line 15 */
    const char *p = tmp_path("bad_parts.csv");
    write_text(p, text);
    csv_file f = {.path = p};
    clg_dataset *ds = NULL;
    clg_csv_options co = clg_csv_defaults();
    EXPECT_REFUSED(ctx, clg_dataset_stream_csv(ctx, p, &co, 0, NULL, &ds, NULL), CLG_ERR_FORMAT,
                   "line 3 has 4 fields", "stream csv: a ragged line 3, the whole file");
    snprintf(want, sizeof want, "%s: line 3 has 4 fields, expected 3 (as on line 1)", p);
    cr_assert_str_eq(clg_last_error(ctx), want);
    /* part 0 holds the ragged line 3, part 1 the "x" of line 15 */
    EXPECT_REFUSED(ctx, open_part(ctx, &f, &co, 0, 2, 0, &ds), CLG_ERR_FORMAT,
                   "part 0 of 2, its line 3 (byte 12) has 4 fields",
                   "stream csv part 0 of 2: a ragged line");
    snprintf(want, sizeof want,
             "%s: part 0 of 2, its line 3 (byte 12) has 4 fields, expected 3 (as on line 1)", p);
    cr_assert_str_eq(clg_last_error(ctx), want);
    EXPECT_REFUSED(ctx, open_part(ctx, &f, &co, 1, 2, 0, &ds), CLG_ERR_FORMAT,
                   "part 1 of 2, its line 4 (byte 84), column 2",
                   "stream csv part 1 of 2: \"x\" in a feature");
    snprintf(want, sizeof want,
             "%s: part 1 of 2, its line 4 (byte 84), column 2: \"x\" is not a number", p);
    cr_assert_str_eq(clg_last_error(ctx), want);
    /* mended one at a time, the other part opens: lines 2..11 and 12..21 */
    memcpy(text + 12, "1,2,3\n", 6);
    write_text(p, text);
    CLG_OK_OR_FAIL(ctx, open_part(ctx, &f, &co, 0, 2, 0, &ds));
    cr_assert_eq(clg_dataset_size(ds), 10u);
    clg_dataset_destroy(ds);
    memcpy(text + 12, "1,2,,\n", 6);
    memcpy(text + 84, "1,2,3\n", 6);
    write_text(p, text);
    CLG_OK_OR_FAIL(ctx, open_part(ctx, &f, &co, 1, 2, 0, &ds));
    cr_assert_eq(clg_dataset_size(ds), 10u);
    clg_dataset_destroy(ds);
    /* a part of no row: the tiny file's 3 lines in 20 parts */
    write_text(p, "1,2\n3,4\n5,6\n");
    EXPECT_REFUSED(ctx, open_part(ctx, &f, &co, 2, 20, 0, &ds), CLG_ERR_SHAPE, "holds no row",
                   "stream csv: part 2 of 20 of a 3-line file");
    snprintf(want, sizeof want,
             "clg_dataset_stream_csv: part 2 of 20 of %s holds no row: no data line starts in its "
             "bytes [1, 1) of 12 (more parts than lines?)",
             p);
    cr_assert_str_eq(clg_last_error(ctx), want);
    cr_assert_null(ds);
    clg_context_destroy(ctx);
}

/* Class labels of parts: ids work, and clg_stream_options.classes makes parts that lack
 * the largest id agree (as for .npy); names cannot agree across parts and are refused,
 * unless given (class_names fixes the ids); the options are checked. */
Test(stream_shards, csv_part_labels)
{
    clg_context *ctx = test_context();
    files fx;
    make_files(&fx);
    char want[768];
    clg_dataset *ds = NULL;
    clg_csv_options co = clg_csv_defaults();
    csv_file names = {.path = fx.csv_names, .cls = 1};
    EXPECT_REFUSED(ctx, open_part(ctx, &names, &co, 0, 2, 0, &ds), CLG_ERR_UNSUPPORTED,
                   "cannot agree on class names", "stream csv part 0 of 2: class names");
    /* "f0,f1,f2,label\n": the first row is part 0's line 2, at byte 15 */
    snprintf(want, sizeof want,
             "%s: part 0 of 2, its line 2 (byte 15), column 4: label \"%s\" is a class name, but "
             "the parts of a file cannot agree on class names (ids follow the sorted order of all "
             "the names, and a part sees only its own): write class ids (integers) in the file, "
             "give every name as class_names, or convert the file to .npy",
             fx.csv_names, class_names[(size_t)fx.labels[0]]);
    cr_assert_str_eq(clg_last_error(ctx), want);
    EXPECT_REFUSED(ctx, open_part(ctx, &names, &co, 1, 2, 0, &ds), CLG_ERR_UNSUPPORTED,
                   "part 1 of 2, its line 1", "stream csv part 1 of 2: class names");
    /* given names: the parts read the in-memory ids */
    clg_class_names given = {.count = CL, .names = (char **)class_names};
    co.class_names = &given;
    names.classes = CL;
    read_whole(&names);
    for (size_t P = 1; P <= 4; P++) {
        float *X = malloc(N * D * sizeof *X), *Y = malloc(N * sizeof *Y);
        size_t at = 0;
        for (size_t p = 0; p < P; p++) {
            CLG_OK_OR_FAIL(ctx, open_part(ctx, &names, &co, p, P, 16, &ds));
            const size_t n = clg_dataset_size(ds);
            cr_assert_eq(clg_dataset_classes(ds), (size_t)CL);
            CLG_OK_OR_FAIL(ctx, clg_dataset_read_rows(ds, 0, n, X + at * D, Y + at));
            at += n;
            clg_dataset_destroy(ds);
        }
        cr_assert_eq(at, (size_t)N);
        expect_same_floats(X, names.X, N * D, "given names: X");
        expect_same_floats(Y, names.Y, N, "given names: ids");
        free(X), free(Y);
    }
    free(names.X), free(names.Y);
    co = clg_csv_defaults();
    /* four lines of 6 bytes, ids 0 1 2 0: part 3 of 4 holds only id 0 */
    const char *p = tmp_path("ids4.csv");
    write_text(p, "0.5,0\n1.5,1\n2.5,2\n3.5,0\n");
    csv_file ids = {.path = p, .cls = 1};
    CLG_OK_OR_FAIL(ctx, open_part(ctx, &ids, &co, 3, 4, 0, &ds));
    cr_assert_eq(clg_dataset_classes(ds), 2u, "the part's own count: at least 2");
    clg_dataset_destroy(ds);
    ids.classes = 3;
    CLG_OK_OR_FAIL(ctx, open_part(ctx, &ids, &co, 3, 4, 0, &ds));
    cr_assert_eq(clg_dataset_classes(ds), 3u, "the options' count");
    clg_dataset_destroy(ds);
    co.classes = 3; /* both options, equal */
    CLG_OK_OR_FAIL(ctx, open_part(ctx, &ids, &co, 2, 4, 0, &ds));
    cr_assert_eq(clg_dataset_classes(ds), 3u);
    clg_dataset_destroy(ds);
    co.classes = 4;
    EXPECT_REFUSED(ctx, open_part(ctx, &ids, &co, 2, 4, 0, &ds), CLG_ERR_INVALID_ARGUMENT,
                   "classes 3 of clg_stream_options and 4 of clg_csv_options differ",
                   "stream csv: classes of the stream and CSV options differ");
    co.classes = 0;
    ids.classes = 2;
    EXPECT_REFUSED(ctx, open_part(ctx, &ids, &co, 2, 4, 0, &ds), CLG_ERR_FORMAT,
                   "is not a class id", "stream csv part 2 of 4: id 2 of 2 classes");
    snprintf(want, sizeof want,
             "%s: part 2 of 4, its line 1 (byte 12), column 2, row 1: label 2 is not a class id "
             "(an integer in 0..1)",
             p);
    cr_assert_str_eq(clg_last_error(ctx), want);
    ids.cls = 0, ids.classes = 3;
    EXPECT_REFUSED(ctx, open_part(ctx, &ids, &co, 0, 1, 0, &ds), CLG_ERR_INVALID_ARGUMENT,
                   "classes 3 without classification", "stream csv: classes for regression");
    /* the whole file takes the options' classes too */
    clg_stream_options so = clg_stream_defaults();
    so.classes = 5;
    CLG_OK_OR_FAIL(ctx, clg_dataset_stream_csv(ctx, p, &co, 1, &so, &ds, NULL));
    cr_assert_eq(clg_dataset_classes(ds), 5u);
    cr_assert_eq(clg_dataset_parts(ds, NULL, NULL), 0u);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
}

/* A part trains as the in-memory dataset of the same rows: 2 epochs of batches of 8 on each
 * part of 3, without shuffling and shuffled within one window (a part's ~34 rows in one
 * chunk of 40): the same parameters, losses and evaluation, bit for bit. */
Test(stream_shards, csv_part_fits_like_in_memory, .timeout = 120)
{
    clg_context *ctx = test_context();
    files fx;
    make_files(&fx);
    csv_file kinds[] = {{.path = fx.csv, .header = 1},
                        {.path = fx.csv_classes, .cls = 1, .classes = CL}};
    for (size_t i = 0; i < 2; i++) {
        csv_file *f = &kinds[i];
        read_whole(f);
        size_t at = 0;
        for (size_t p = 0; p < 3; p++) {
            clg_dataset *part, *mem;
            CLG_OK_OR_FAIL(ctx, open_part(ctx, f, NULL, p, 3, 40, &part));
            const size_t n = clg_dataset_size(part);
            if (f->cls) {
                int32_t ids[N];
                for (size_t r = 0; r < n; r++) ids[r] = (int32_t)f->Y[at + r];
                CLG_OK_OR_FAIL(
                    ctx, clg_dataset_from_host_labels(ctx, f->X + at * D, ids, n, D, CL, &mem));
            } else {
                CLG_OK_OR_FAIL(ctx,
                               clg_dataset_from_host(ctx, f->X + at * D, f->Y + at, n, D, 1, &mem));
            }
            for (int shuffle = 0; shuffle < 2; shuffle++) {
                clg_fit_options o = clg_fit_defaults();
                o.epochs = 2;
                o.batch_size = 8;
                o.shuffle = shuffle;
                o.seed = 21;
                o.optimizer.lr = 0.02f;
                o.loss = f->cls ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
                o.on_epoch = NULL;
                char what[96];
                snprintf(what, sizeof what, "csv %s part %zu of 3, shuffle %d",
                         f->cls ? "ids" : "regression", p, shuffle);
                fit_pair(ctx, mem, part, &o, what);
            }
            at += n;
            clg_dataset_destroy(part);
            clg_dataset_destroy(mem);
        }
        cr_assert_eq(at, (size_t)N);
        free(f->X), free(f->Y);
    }
    clg_context_destroy(ctx);
}
