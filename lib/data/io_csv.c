/* Numeric CSV files → host arrays (and datasets). Line-based: quoted fields may not
 * span lines, which a numeric file never needs. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

clg_csv_options clg_csv_defaults(void)
{
    clg_csv_options o = {.header = -1, .label_column = -1, .delimiter = ','};
    return o;
}

typedef struct field {
    char *text; /* NUL-terminated in place in the line buffer */
    size_t len;
} field;

typedef struct reader {
    const char *path;
    char delim;
    field *fields;
    size_t cap;
} reader;

static int is_blank(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

/* Splits line[0..len) into r->fields; returns the count, or 0 with *bad set to the
 * 1-based column of a malformed quote. */
static size_t split(reader *r, char *line, size_t len, size_t *bad, clg_status *s)
{
    size_t count = 0, i = 0;
    *s = CLG_OK;
    for (;;) {
        if (count == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 16;
            field *f = realloc(r->fields, cap * sizeof *f);
            if (!f) {
                *s = CLG_ERR_HOST_MEMORY;
                return 0;
            }
            r->fields = f;
            r->cap = cap;
        }
        while (i < len && is_blank(line[i], r->delim)) i++;
        size_t start = i, end;
        if (i < len && line[i] == '"') {
            start = ++i;
            for (;; i++) {
                if (i >= len) {
                    *bad = count + 1;
                    *s = CLG_ERR_FORMAT;
                    return 0;
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        i++;
                        continue;
                    }
                    break;
                }
            }
            end = i++;
            while (i < len && is_blank(line[i], r->delim)) i++;
            if (i < len && line[i] != r->delim) {
                *bad = count + 1;
                *s = CLG_ERR_FORMAT;
                return 0;
            }
            /* Spaces inside the quotes are tolerated too. */
            while (start < end && is_blank(line[start], r->delim)) start++;
        } else {
            while (i < len && line[i] != r->delim) i++;
            end = i;
        }
        while (end > start && is_blank(line[end - 1], r->delim)) end--;
        int last = i >= len;
        line[end] = '\0'; /* end <= i: overwrites the delimiter, a quote or the line end */
        r->fields[count].text = line + start;
        r->fields[count].len = end - start;
        count++;
        if (last) return count;
        i++; /* past the delimiter */
    }
}

/* Longest line read, in bytes without its newline: a file without newlines (a binary
 * file, /dev/zero) is refused after this much rather than read whole into memory. */
#define CSV_MAX_LINE ((size_t)16 << 20)

enum { LINE_END = -1, LINE_TOO_LONG = -2, LINE_NO_MEMORY = -3 };

/* Reads one line into *buf (NUL-terminated, without its '\n'); returns its length or a
 * LINE_* code. */
static ssize_t next_line(FILE *fp, char **buf, size_t *cap)
{
    size_t len = 0;
    int c;
    for (;;) {
        c = getc_unlocked(fp);
        if (c == EOF || c == '\n') break;
        if (len == CSV_MAX_LINE) return LINE_TOO_LONG;
        if (len + 1 >= *cap) {
            size_t ncap = *cap ? 2 * *cap : 256;
            if (ncap > CSV_MAX_LINE + 1) ncap = CSV_MAX_LINE + 1;
            char *nb = realloc(*buf, ncap);
            if (!nb) return LINE_NO_MEMORY;
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[len++] = (char)c;
    }
    if (c == EOF && len == 0) return LINE_END;
    if (!*buf) { /* an empty first line */
        *buf = malloc(256);
        if (!*buf) return LINE_NO_MEMORY;
        *cap = 256;
    }
    (*buf)[len] = '\0';
    return (ssize_t)len;
}

enum { NUM_OK, NUM_NOT_A_NUMBER, NUM_NONFINITE };

static int parse_number(const field *f, float *out)
{
    if (f->len == 0) return NUM_NOT_A_NUMBER;
    char *end;
    errno = 0;
    double v = strtod(f->text, &end);
    if (end != f->text + f->len) return NUM_NOT_A_NUMBER;
    *out = (float)v;
    return isfinite(*out) ? NUM_OK : NUM_NONFINITE;
}

/* The rows read so far: rows × cols floats in vals (capacity cap rows). */
typedef struct table {
    float *vals;
    size_t rows, cols, cap;
    size_t label;      /* the label column */
    size_t first_line; /* the line that fixed cols */
} table;

/* The first non-blank line (count fields) fixes the column count and the label column;
 * *header = 1 when it is a header (given, or detected: a field that is not a number). */
static clg_status first_line(const reader *r, const char *path, const clg_csv_options *o,
                             size_t count, size_t lineno, table *t, int *header)
{
    t->cols = count;
    t->first_line = lineno;
    if (count < 2)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: line %zu has %zu column; need at least 2 (features and a label)", path,
                        lineno, count);
    long lc = o->label_column < 0 ? (long)count + o->label_column : o->label_column;
    if (lc < 0 || lc >= (long)count)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: label_column %ld is out of range for %zu columns", path,
                        o->label_column, count);
    t->label = (size_t)lc;
    *header = o->header == 1;
    if (o->header == -1) {
        float tmp;
        for (size_t c = 0; c < count && !*header; c++)
            *header = parse_number(&r->fields[c], &tmp) == NUM_NOT_A_NUMBER;
    }
    return CLG_OK;
}

/* Appends the line's fields (t->cols of them) as one row of numbers. */
static clg_status append_row(const reader *r, const char *path, size_t lineno, table *t)
{
    const size_t cols = t->cols;
    if (t->rows == t->cap) {
        /* 64 rows first, fewer when rows are wide: one 16 MiB line of "1,1,..." must
         * not cost 64 rows of 8 M values before its second line is seen. */
        size_t ncap = t->cap ? 2 * t->cap : cols <= 1024 ? 64 : 65536 / cols + 1;
        if (ncap > SIZE_MAX / sizeof(float) / cols)
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: too many rows", path);
        float *nv = realloc(t->vals, ncap * cols * sizeof *nv);
        if (!nv)
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at line %zu", path,
                            lineno);
        t->vals = nv;
        t->cap = ncap;
    }
    for (size_t c = 0; c < cols; c++) {
        const field *f = &r->fields[c];
        int st = parse_number(f, &t->vals[t->rows * cols + c]);
        if (st == NUM_NOT_A_NUMBER)
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: line %zu, column %zu: \"%.40s\" is not a number", path, lineno,
                            c + 1, f->text);
        if (st == NUM_NONFINITE)
            return clg_fail(NULL, CLG_ERR_NONFINITE,
                            "%s: line %zu, column %zu: \"%.40s\" is not finite in float32", path,
                            lineno, c + 1, f->text);
    }
    t->rows++;
    return CLG_OK;
}

/* One line: its fields into r, then the first line's rules or one more row. */
static clg_status read_line(reader *r, const char *path, const clg_csv_options *o, char *p,
                            size_t len, size_t lineno, table *t)
{
    if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3, len -= 3;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    size_t k = 0;
    while (k < len && (p[k] == ' ' || p[k] == '\t')) k++;
    if (k == len) return CLG_OK; /* blank line */
    clg_status s = CLG_OK;
    size_t bad = 0;
    size_t count = split(r, p, len, &bad, &s);
    if (s == CLG_ERR_HOST_MEMORY) return clg_fail(NULL, s, "%s: out of host memory", path);
    if (s != CLG_OK)
        return clg_fail(NULL, s, "%s: line %zu, column %zu: unbalanced or misplaced quote", path,
                        lineno, bad);
    if (t->cols == 0) {
        int header = 0;
        s = first_line(r, path, o, count, lineno, t, &header);
        if (s != CLG_OK || header) return s;
    } else if (count != t->cols) {
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: line %zu has %zu fields, expected %zu (as on line %zu)", path, lineno,
                        count, t->cols, t->first_line);
    }
    return append_row(r, path, lineno, t);
}

static clg_status read_rows(FILE *fp, const char *path, const clg_csv_options *o, float **vals_out,
                            size_t *rows_out, size_t *cols_out, size_t *label_out)
{
    reader r = {.path = path, .delim = o->delimiter};
    table t = {0};
    char *line = NULL;
    size_t linecap = 0, lineno = 0;
    clg_status s = CLG_OK;
    ssize_t got;

    flockfile(fp); /* for getc_unlocked */
    while (s == CLG_OK && (got = next_line(fp, &line, &linecap)) != LINE_END) {
        lineno++;
        if (got == LINE_TOO_LONG)
            s = clg_fail(NULL, CLG_ERR_FORMAT,
                         "%s: line %zu is longer than the limit of %zu bytes (no newline within "
                         "it: not a CSV file?)",
                         path, lineno, CSV_MAX_LINE);
        else if (got == LINE_NO_MEMORY)
            s = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at line %zu", path,
                         lineno);
        else
            s = read_line(&r, path, o, line, (size_t)got, lineno, &t);
    }
    if (s == CLG_OK && ferror(fp))
        s = clg_fail(NULL, CLG_ERR_IO, "%s: read error after line %zu: %s", path, lineno,
                     strerror(errno));
    else if (s == CLG_OK && t.cols == 0)
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: the file is empty", path);
    else if (s == CLG_OK && t.rows == 0)
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: line %zu is a header and no data rows follow", path,
                     t.first_line);
    funlockfile(fp);
    free(line);
    free(r.fields);
    if (s != CLG_OK) {
        free(t.vals);
        return s;
    }
    *vals_out = t.vals;
    *rows_out = t.rows;
    *cols_out = t.cols;
    *label_out = t.label;
    return CLG_OK;
}

clg_status clg_csv_read(const char *path, const clg_csv_options *opts, float **X, float **y,
                        size_t *n, size_t *d)
{
    if (X) *X = NULL;
    if (y) *y = NULL;
    if (n) *n = 0;
    if (d) *d = 0;
    if (!path || !X || !y || !n || !d)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_csv_read: NULL argument");
    clg_csv_options o = opts ? *opts : clg_csv_defaults();
    if (o.header < -1 || o.header > 1)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_csv_read: header must be -1, 0 or 1, got %d", o.header);
    if (o.delimiter == '\0' || strchr(" \"\r\n", o.delimiter))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_csv_read: delimiter 0x%02x is not allowed",
                        (unsigned char)o.delimiter);

    FILE *fp = fopen(path, "r");
    if (!fp) return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    /* strtod follows LC_NUMERIC; a file's "1.5" must not depend on the caller's locale. */
    locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    float *vals = NULL;
    size_t rows = 0, cols = 0, label = 0;
    clg_status s = read_rows(fp, path, &o, &vals, &rows, &cols, &label);
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    }
    fclose(fp);
    if (s != CLG_OK) return s;

    const size_t nd = cols - 1;
    float *Xo = malloc(rows * nd * sizeof *Xo), *yo = malloc(rows * sizeof *yo);
    if (!Xo || !yo) {
        free(Xo);
        free(yo);
        free(vals);
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", path);
    }
    for (size_t r = 0; r < rows; r++) {
        const float *row = vals + r * cols;
        float *xr = Xo + r * nd;
        for (size_t c = 0, j = 0; c < cols; c++) {
            if (c == label)
                yo[r] = row[c];
            else
                xr[j++] = row[c];
        }
    }
    free(vals);
    *X = Xo;
    *y = yo;
    *n = rows;
    *d = nd;
    return CLG_OK;
}

clg_status clg_dataset_from_csv(clg_context *ctx, const char *path, const clg_csv_options *opts,
                                clg_dataset **out)
{
    if (!ctx || !out)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_dataset_from_csv: NULL argument");
    *out = NULL;
    float *X, *y;
    size_t n, d;
    clg_status s = clg_csv_read(path, opts, &X, &y, &n, &d);
    if (s != CLG_OK) return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    s = clg_dataset_from_host(ctx, X, y, n, d, 1, out);
    free(X);
    free(y);
    return s;
}
