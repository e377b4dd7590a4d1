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

static clg_status read_rows(FILE *fp, const char *path, const clg_csv_options *o, float **vals_out,
                            size_t *rows_out, size_t *cols_out, size_t *label_out)
{
    reader r = {.path = path, .delim = o->delimiter};
    char *line = NULL;
    size_t linecap = 0, lineno = 0, cols = 0, rows = 0, cap = 0, first_line = 0;
    size_t label = 0;
    int have_header = 0;
    float *vals = NULL;
    clg_status s = CLG_OK;
    ssize_t got;

    flockfile(fp); /* for getc_unlocked */
    while ((got = next_line(fp, &line, &linecap)) != LINE_END) {
        lineno++;
        if (got == LINE_TOO_LONG) {
            s = clg_fail(NULL, CLG_ERR_FORMAT,
                         "%s: line %zu is longer than the limit of %zu bytes (no newline within "
                         "it: not a CSV file?)",
                         path, lineno, CSV_MAX_LINE);
            goto done;
        }
        if (got == LINE_NO_MEMORY) {
            s = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at line %zu", path,
                         lineno);
            goto done;
        }
        size_t len = (size_t)got;
        char *p = line;
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3, len -= 3;
        while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t')) k++;
        if (k == len) continue; /* blank line */

        size_t bad = 0;
        size_t count = split(&r, p, len, &bad, &s);
        if (s == CLG_ERR_HOST_MEMORY) {
            s = clg_fail(NULL, s, "%s: out of host memory", path);
            goto done;
        }
        if (s != CLG_OK) {
            s = clg_fail(NULL, s, "%s: line %zu, column %zu: unbalanced or misplaced quote", path,
                         lineno, bad);
            goto done;
        }

        if (cols == 0) { /* the first non-blank line fixes the column count */
            cols = count;
            first_line = lineno;
            if (cols < 2) {
                s = clg_fail(NULL, CLG_ERR_FORMAT,
                             "%s: line %zu has %zu column; need at least 2 (features and a label)",
                             path, lineno, cols);
                goto done;
            }
            long lc = o->label_column < 0 ? (long)cols + o->label_column : o->label_column;
            if (lc < 0 || lc >= (long)cols) {
                s = clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                             "%s: label_column %ld is out of range for %zu columns", path,
                             o->label_column, cols);
                goto done;
            }
            label = (size_t)lc;
            have_header = o->header == 1;
            if (o->header == -1) {
                float tmp;
                for (size_t c = 0; c < count && !have_header; c++)
                    have_header = parse_number(&r.fields[c], &tmp) == NUM_NOT_A_NUMBER;
            }
            if (have_header) continue;
        } else if (count != cols) {
            s = clg_fail(NULL, CLG_ERR_FORMAT,
                         "%s: line %zu has %zu fields, expected %zu (as on line %zu)", path, lineno,
                         count, cols, first_line);
            goto done;
        }

        if (rows == cap) {
            /* 64 rows first, fewer when rows are wide: one 16 MiB line of "1,1,..." must
             * not cost 64 rows of 8 M values before its second line is seen. */
            size_t ncap = cap ? 2 * cap : cols <= 1024 ? 64 : 65536 / cols + 1;
            if (ncap > SIZE_MAX / sizeof(float) / cols) {
                s = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: too many rows", path);
                goto done;
            }
            float *nv = realloc(vals, ncap * cols * sizeof *nv);
            if (!nv) {
                s = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at line %zu", path,
                             lineno);
                goto done;
            }
            vals = nv;
            cap = ncap;
        }
        for (size_t c = 0; c < cols; c++) {
            const field *f = &r.fields[c];
            int st = parse_number(f, &vals[rows * cols + c]);
            if (st == NUM_NOT_A_NUMBER) {
                s = clg_fail(NULL, CLG_ERR_FORMAT,
                             "%s: line %zu, column %zu: \"%.40s\" is not a number", path, lineno,
                             c + 1, f->text);
                goto done;
            }
            if (st == NUM_NONFINITE) {
                s = clg_fail(NULL, CLG_ERR_NONFINITE,
                             "%s: line %zu, column %zu: \"%.40s\" is not finite in float32", path,
                             lineno, c + 1, f->text);
                goto done;
            }
        }
        rows++;
    }
    if (ferror(fp)) {
        s = clg_fail(NULL, CLG_ERR_IO, "%s: read error after line %zu: %s", path, lineno,
                     strerror(errno));
        goto done;
    }
    if (cols == 0) {
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: the file is empty", path);
        goto done;
    }
    if (rows == 0) {
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: line %zu is a header and no data rows follow", path,
                     first_line);
        goto done;
    }

done:
    funlockfile(fp);
    free(line);
    free(r.fields);
    if (s != CLG_OK) {
        free(vals);
        return s;
    }
    *vals_out = vals;
    *rows_out = rows;
    *cols_out = cols;
    *label_out = label;
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
