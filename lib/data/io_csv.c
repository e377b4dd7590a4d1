/* CSV files → host arrays (and datasets): numeric features and a label that is a number
 * (regression) or a class, given as an integer id or as a name. Line-based: quoted fields
 * may not span lines, which these files never need.
 *
 * File-streamed datasets (stream_file.c) use the same reader twice: a first pass validates
 * every line, counts the rows and notes where each chunk of rows starts (clg_csv_stream_open,
 * keeping one row at a time), and a chunk is read later by seeking there and parsing its
 * rows into a buffer of one chunk (clg_csv_stream_read). Same code, same messages.
 *
 * A part of a streamed file (clg_stream_options.part, parts) is the lines that start in its
 * byte range. Because the reader is line-based, every '\n' ends a line (none hides inside
 * quotes), so a part finds its first line from the byte before its range alone, and the
 * parts of a file partition its lines without reading each other's bytes. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"

/* Every class id below it is exact in the float column a dataset keeps them in. */
#define CSV_MAX_CLASSES ((size_t)1 << 24)

clg_csv_options clg_csv_defaults(void)
{
    clg_csv_options o = {
        .struct_size = sizeof o, .header = -1, .label_column = -1, .delimiter = ','};
    return o;
}

void clg_class_names_free(clg_class_names *names)
{
    if (!names) return;
    for (size_t i = 0; names->names && i < names->count; i++) free(names->names[i]);
    free(names->names);
    names->names = NULL;
    names->count = 0;
}

typedef struct field {
    char *text; /* NUL-terminated in place in the line buffer */
    size_t len;
} field;

typedef struct reader {
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

/* ------------------------------------------------------------ skip_columns */

/* skip_columns parsed: indices (0-based, negative from the end) and header names
 * (pointing into buf). */
typedef struct skip_list {
    char *buf;
    long *index;
    const char **name;
    size_t nindex, nname;
} skip_list;

static void skip_free(skip_list *k)
{
    free(k->buf);
    free(k->index);
    free(k->name);
}

static clg_status skip_parse(const char *fn, const char *spec, skip_list *k)
{
    memset(k, 0, sizeof *k);
    if (!spec || !spec[0]) return CLG_OK;
    size_t len = strlen(spec), entries = 1;
    for (size_t i = 0; i < len; i++) entries += spec[i] == ',';
    k->buf = malloc(len + 1);
    k->index = malloc(entries * sizeof *k->index);
    k->name = malloc(entries * sizeof *k->name);
    if (!k->buf || !k->index || !k->name)
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", fn);
    memcpy(k->buf, spec, len + 1);
    char *p = k->buf;
    for (size_t e = 1; e <= entries; e++) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        else
            end = p + strlen(p);
        while (*p == ' ' || *p == '\t') p++;
        for (char *q = end; q > p && (q[-1] == ' ' || q[-1] == '\t');) *--q = '\0';
        if (!*p)
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: skip_columns \"%.200s\": entry %zu is empty", fn, spec, e);
        size_t digits = strspn(p + (*p == '-'), "0123456789");
        if (!digits || p[(*p == '-') + digits]) {
            k->name[k->nname++] = p;
        } else if (digits > 9) {
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: skip_columns: column %.40s is out of range", fn, p);
        } else {
            k->index[k->nindex++] = strtol(p, NULL, 10);
        }
        p = end + 1;
    }
    return CLG_OK;
}

/* ------------------------------------------------------------- class names */

/* Names in order of first appearance, with an open-addressing index. */
typedef struct name_table {
    char **names;
    size_t count, cap;
    size_t *slot; /* nslot entries: a name's index + 1, or 0 */
    size_t nslot; /* a power of two above twice count */
} name_table;

static void names_free(name_table *t)
{
    for (size_t i = 0; i < t->count; i++) free(t->names[i]);
    free(t->names);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* The slot of name s, or the empty slot where it would go. */
static size_t names_slot(const name_table *t, const char *s)
{
    size_t mask = t->nslot - 1, h = (size_t)clg_hash64(s, strlen(s), CLG_HASH_SEED) & mask;
    while (t->slot[h] && strcmp(t->names[t->slot[h] - 1], s) != 0) h = (h + 1) & mask;
    return h;
}

/* The index of s, or t->count when absent. */
static size_t names_find(const name_table *t, const char *s)
{
    if (!t->nslot) return t->count;
    size_t e = t->slot[names_slot(t, s)];
    return e ? e - 1 : t->count;
}

/* Appends s (absent from t) as name t->count; 0 or -1 when out of memory. */
static int names_add(name_table *t, const char *s)
{
    if (2 * (t->count + 1) >= t->nslot) {
        size_t n = t->nslot ? 2 * t->nslot : 64;
        size_t *slot = calloc(n, sizeof *slot);
        if (!slot) return -1;
        free(t->slot);
        t->slot = slot;
        t->nslot = n;
        for (size_t i = 0; i < t->count; i++) t->slot[names_slot(t, t->names[i])] = i + 1;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **nn = realloc(t->names, cap * sizeof *nn);
        if (!nn) return -1;
        t->names = nn;
        t->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy) return -1;
    t->slot[names_slot(t, s)] = t->count + 1;
    t->names[t->count++] = copy;
    return 0;
}

/* ------------------------------------------------------------------ reading */

enum { LABEL_IDS = 1, LABEL_NAMES = 2 };

/* The rows read so far and what the first line fixed. */
typedef struct table {
    size_t cols, d, label; /* fields per line, feature columns, the label's field */
    size_t first_line;     /* the line that fixed cols */
    unsigned char *skip;   /* cols flags: 1 = left out */
    float *X, *y;          /* features and numeric labels (regression) of rows base.. */
    int32_t *ids;          /* class ids (names: numbered by first appearance), the same rows */
    size_t rows, cap;      /* rows read (all of them: numbering for messages); cap rows of room */
    size_t base;           /* rows before the one at X[0]: 0 unless csv.window is set */
    int kind;              /* the labels so far: 0 (none yet), LABEL_IDS or LABEL_NAMES */
    size_t kind_line;      /* the line of the first label, */
    uint64_t kind_pos;     /* its byte offset */
    char kind_text[48];    /* and its text */
    size_t limit;          /* class ids must be below it */
    size_t top;            /* largest id + 1 */
    name_table names;      /* the names seen, or the given class_names */
    int given;             /* names holds opts->class_names */
    char *line1;           /* a copy of the first non-blank line, */
    size_t line1_len;      /* its length, */
    uint64_t first_pos;    /* its byte offset */
    int header;            /* 1: that line is a header (given, or by header_rule) */
} table;

/* Where each chunk of chunk_rows rows starts (a streamed file's first pass). */
typedef struct csv_index {
    size_t chunk_rows; /* 0 until the first row: then sized from d (clg_stream_auto_chunk_rows) */
    uint64_t *offset;  /* byte offset of the line of chunk k's first row */
    size_t *line;      /* and its line number */
    size_t count, cap;
} csv_index;

typedef struct csv {
    const char *path;
    const clg_csv_options *o;
    int classes; /* labels are class ids or names (clg_csv_read_classes) */
    skip_list skip;
    reader r;
    table t;
    /* Streaming only (all 0 for clg_csv_read): */
    size_t window;    /* > 0: X holds this many rows and is reused once full */
    csv_index *index; /* the first pass: notes where chunks start */
    uint64_t pos;     /* byte offset of the line being read */
    size_t line0;     /* lines before the position reading starts at */
    size_t stop;      /* > 0: reading ends once t.rows reaches it (a chunk read) */
    int layout;       /* 1: read up to the first non-blank line, which fixes the columns and
                         is no row here (a part's first step: every part needs the layout) */
    const struct csv_part *part; /* a part of the file is read (NULL: all of it) */
} csv;

/* A part of a streamed file: the lines that start in bytes [begin, end). Its lines are
 * counted from its first: their numbers in the file are unknown without the bytes before. */
typedef struct csv_part {
    size_t part, parts;
    uint64_t begin, end, size; /* the range, and the file's size */
} csv_part;

/* A line as messages name it: "line 12" in a whole file; in a part, which does not read
 * the bytes before it, "part 2 of 4, its line 12 (byte 123456)" (pos: the line's offset).
 * Returned by value: the array lives until the end of the caller's full expression. */
typedef struct line_name {
    char s[112];
} line_name;

static line_name name_line(const csv *c, size_t lineno, uint64_t pos)
{
    line_name n;
    if (c->part)
        snprintf(n.s, sizeof n.s, "part %zu of %zu, its line %zu (byte %llu)", c->part->part,
                 c->part->parts, lineno, (unsigned long long)pos);
    else
        snprintf(n.s, sizeof n.s, "line %zu", lineno);
    return n;
}

/* Marks the skipped columns of a first line of count fields; *skipped is how many. */
static clg_status mark_skipped(csv *c, size_t lineno, size_t *skipped)
{
    table *t = &c->t;
    const skip_list *k = &c->skip;
    for (size_t i = 0; i < k->nindex; i++) {
        long j = k->index[i] < 0 ? (long)t->cols + k->index[i] : k->index[i];
        if (j < 0 || j >= (long)t->cols)
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: skip_columns: column %ld is out of range for the %zu columns of "
                            "line %zu",
                            c->path, k->index[i], t->cols, lineno);
        t->skip[j] = 1;
    }
    if (k->nname && c->o->header == 0)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: skip_columns names column \"%.100s\", but header = 0 (no header to "
                        "find it in)",
                        c->path, k->name[0]);
    for (size_t i = 0; i < k->nname; i++) {
        size_t at = t->cols;
        for (size_t j = 0; j < t->cols; j++) {
            if (strcmp(c->r.fields[j].text, k->name[i]) != 0) continue;
            if (at < t->cols)
                return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                                "%s: skip_columns: line %zu has two columns named \"%.100s\" (%zu "
                                "and %zu); give the 0-based index",
                                c->path, lineno, k->name[i], at, j);
            at = j;
        }
        if (at == t->cols)
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: skip_columns: no column named \"%.100s\" on line %zu (the header)",
                            c->path, k->name[i], lineno);
        t->skip[at] = 1;
    }
    if (t->label < t->cols && t->skip[t->label])
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: skip_columns: column %zu is the label column", c->path, t->label);
    *skipped = 0;
    for (size_t j = 0; j < t->cols; j++) *skipped += t->skip[j];
    return CLG_OK;
}

/* header = -1: the first line is a header when none of its fields is a number, a data row
 * when all are; a mix is an error. Skipped columns do not count, nor (for class labels,
 * which may be names) the label column. */
static clg_status header_rule(csv *c, size_t lineno, int *header)
{
    const table *t = &c->t;
    *header = c->o->header == 1;
    if (c->o->header != -1) return CLG_OK;
    size_t nums = 0, texts = 0, num_col = 0, text_col = 0;
    for (size_t j = 0; j < t->cols; j++) {
        if (t->skip[j] || (c->classes && j == t->label)) continue;
        float v;
        if (parse_number(&c->r.fields[j], &v) == NUM_NOT_A_NUMBER) {
            if (!texts++) text_col = j;
        } else if (!nums++) {
            num_col = j;
        }
    }
    if (nums && texts)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: line %zu, column %zu: \"%.40s\" is not a number while column %zu "
                        "(\"%.40s\") is, so line %zu is neither a header (no field a number) nor "
                        "a data row (if it is a header, set header = 1: clgrad --header)",
                        c->path, lineno, text_col + 1, c->r.fields[text_col].text, num_col + 1,
                        c->r.fields[num_col].text, lineno);
    *header = texts > 0;
    if (!*header && c->skip.nname)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: skip_columns names column \"%.100s\", but line %zu is not a header "
                        "(its fields are numbers)",
                        c->path, c->skip.name[0], lineno);
    return CLG_OK;
}

/* The first non-blank line (count fields) fixes the columns: the label, the skipped ones,
 * the features; *header = 1 when it is a header (given, or by header_rule). */
static clg_status first_line(csv *c, size_t count, size_t lineno, int *header)
{
    table *t = &c->t;
    const clg_csv_options *o = c->o;
    const int labelled = o->label_column != CLG_CSV_NO_LABEL;
    t->cols = count;
    t->first_line = lineno;
    if (labelled && count < 2)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: line %zu has %zu column; need at least 2 (features and a label)",
                        c->path, lineno, count);
    long lc = o->label_column < 0 ? (long)count + o->label_column : o->label_column;
    if (labelled && (lc < 0 || lc >= (long)count))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: label_column %ld is out of range for %zu columns", c->path,
                        o->label_column, count);
    t->label = labelled ? (size_t)lc : SIZE_MAX;
    t->skip = calloc(count, 1);
    if (!t->skip) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->path);
    size_t skipped = 0;
    clg_status s = mark_skipped(c, lineno, &skipped);
    if (s != CLG_OK) return s;
    t->d = count - (size_t)labelled - skipped;
    if (t->d == 0)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: no feature column left: line %zu has %zu columns, %zu of them "
                        "skipped%s",
                        c->path, lineno, count, skipped, labelled ? " and the label" : "");
    return header_rule(c, lineno, header);
}

/* Room for one more row. */
static clg_status grow(csv *c, size_t lineno)
{
    table *t = &c->t;
    const size_t width = t->d + 1;
    /* 64 rows first, fewer when rows are wide: one 16 MiB line of "1,1,..." must not
     * cost 64 rows of 8 M values before its second line is seen. */
    size_t ncap = c->window       ? c->window
                  : t->cap        ? 2 * t->cap
                  : width <= 1024 ? 64
                                  : 65536 / width + 1;
    if (ncap > SIZE_MAX / sizeof(float) / width)
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: too many rows", c->path);
    float *X = realloc(t->X, ncap * t->d * sizeof *X);
    if (X) t->X = X;
    void *lab = !X                     ? NULL
                : c->classes           ? (void *)realloc(t->ids, ncap * sizeof *t->ids)
                : t->label == SIZE_MAX ? X /* no label column */
                                       : (void *)realloc(t->y, ncap * sizeof *t->y);
    if (!lab)
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at %s", c->path,
                        name_line(c, lineno, c->pos).s);
    if (c->classes)
        t->ids = lab;
    else if (t->label != SIZE_MAX)
        t->y = lab;
    t->cap = ncap;
    return CLG_OK;
}

/* A feature, or a regression label, as a finite float. */
static clg_status number(const csv *c, const field *f, size_t lineno, size_t col, float *out)
{
    int st = parse_number(f, out);
    if (st == NUM_NOT_A_NUMBER && col == c->t.label)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: %s, column %zu: label \"%.40s\" is not a number (class names as "
                        "labels: clg_dataset_from_csv_classes; clgrad --model softmax or mlp)",
                        c->path, name_line(c, lineno, c->pos).s, col + 1, f->text);
    if (st == NUM_NOT_A_NUMBER)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: %s, column %zu: \"%.40s\" is not a number",
                        c->path, name_line(c, lineno, c->pos).s, col + 1, f->text);
    if (st == NUM_NONFINITE)
        return clg_fail(NULL, CLG_ERR_NONFINITE,
                        "%s: %s, column %zu: \"%.40s\" is not finite in float32", c->path,
                        name_line(c, lineno, c->pos).s, col + 1, f->text);
    return CLG_OK;
}

/* Class labels are all ids or all names: the first label fixes which. */
static clg_status label_kind(csv *c, int kind, const field *f, size_t lineno, size_t col)
{
    table *t = &c->t;
    if (!t->kind) {
        t->kind = kind;
        t->kind_line = lineno;
        t->kind_pos = c->pos;
        snprintf(t->kind_text, sizeof t->kind_text, "%s", f->text);
        return CLG_OK;
    }
    if (t->kind == kind) return CLG_OK;
    return clg_fail(NULL, CLG_ERR_FORMAT,
                    "%s: %s, column %zu: label \"%.40s\" is %s, but the first label (%s: "
                    "\"%s\") is %s: a label column holds class ids (integers) or class names, not "
                    "both",
                    c->path, name_line(c, lineno, c->pos).s, col + 1, f->text,
                    kind == LABEL_IDS ? "a number" : "not a number",
                    name_line(c, t->kind_line, t->kind_pos).s, t->kind_text,
                    kind == LABEL_IDS ? "a name" : "a class id");
}

/* "a, b, c, ..." : the first names of t, for a message. */
static const char *some_names(const name_table *t, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->count && i < 8 && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s\"%.40s\"", i ? ", " : "", t->names[i]);
    if (t->count > 8 && k < len) snprintf(buf + k, len - k, ", ...");
    return buf;
}

/* A class label: an integer id below the limit, or a name (numbered by first appearance
 * here, sorted at the end; or looked up in the given class_names). */
static clg_status class_label(csv *c, const field *f, size_t lineno, size_t col, int32_t *id)
{
    table *t = &c->t;
    const size_t row = t->rows + 1;
    if (f->len == 0)
        return clg_fail(NULL, CLG_ERR_FORMAT, "%s: %s, column %zu, row %zu: the label is empty",
                        c->path, name_line(c, lineno, c->pos).s, col + 1, row);
    size_t k;
    if (t->given) {
        char list[512];
        if ((k = names_find(&t->names, f->text)) == t->names.count)
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: %s, column %zu, row %zu: label \"%.40s\" is not one of the %zu "
                            "class names (%s)",
                            c->path, name_line(c, lineno, c->pos).s, col + 1, row, f->text,
                            t->names.count, some_names(&t->names, list, sizeof list));
        *id = (int32_t)k;
        return CLG_OK;
    }
    char *end;
    double v = strtod(f->text, &end);
    int numeric = end == f->text + f->len;
    clg_status s = label_kind(c, numeric ? LABEL_IDS : LABEL_NAMES, f, lineno, col);
    if (s != CLG_OK) return s;
    if (!numeric && c->part)
        return clg_fail(NULL, CLG_ERR_UNSUPPORTED,
                        "%s: %s, column %zu: label \"%.40s\" is a class name, but the parts of a "
                        "file cannot agree on class names (ids follow the sorted order of all the "
                        "names, and a part sees only its own): write class ids (integers) in the "
                        "file, give every name as class_names, or convert the file to .npy",
                        c->path, name_line(c, lineno, c->pos).s, col + 1, f->text);
    if (numeric) {
        int in_range = v >= 0 && v < (double)t->limit;
        if (!in_range || v != floor(v)) {
            char shown[48]; /* %g; the text where %g could round a fraction to an integer */
            if (in_range)
                snprintf(shown, sizeof shown, "%.40s", f->text);
            else
                snprintf(shown, sizeof shown, "%g", v);
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: %s, column %zu, row %zu: label %s is not a class id (an integer "
                            "in 0..%zu)",
                            c->path, name_line(c, lineno, c->pos).s, col + 1, row, shown,
                            t->limit - 1);
        }
        k = (size_t)v;
        if (k + 1 > t->top) t->top = k + 1;
    } else if ((k = names_find(&t->names, f->text)) == t->names.count) {
        if (k == t->limit)
            return clg_fail(NULL, CLG_ERR_FORMAT,
                            "%s: %s, column %zu, row %zu: label \"%.40s\" is one class name too "
                            "many: the limit is %zu classes",
                            c->path, name_line(c, lineno, c->pos).s, col + 1, row, f->text,
                            t->limit);
        if (names_add(&t->names, f->text))
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->path);
    }
    *id = (int32_t)k;
    return CLG_OK;
}

/* A streamed file's first pass: notes where a chunk starts when this row begins one. */
static clg_status index_row(csv *c, size_t lineno)
{
    csv_index *ix = c->index;
    if (!ix->chunk_rows) ix->chunk_rows = clg_stream_auto_chunk_rows(c->t.d + 1);
    if (c->t.rows % ix->chunk_rows) return CLG_OK;
    if (ix->count == ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 64;
        uint64_t *off = realloc(ix->offset, cap * sizeof *off);
        if (off) ix->offset = off;
        size_t *line = off ? realloc(ix->line, cap * sizeof *line) : NULL;
        if (!line) return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->path);
        ix->line = line;
        ix->cap = cap;
    }
    ix->offset[ix->count] = c->pos;
    ix->line[ix->count++] = lineno;
    return CLG_OK;
}

/* Appends the line's fields (t->cols of them) as one row. */
static clg_status append_row(csv *c, size_t lineno)
{
    table *t = &c->t;
    clg_status s = CLG_OK;
    if (c->index && (s = index_row(c, lineno)) != CLG_OK) return s;
    if (t->rows - t->base == t->cap) {
        if (c->window && t->cap)
            t->base = t->rows; /* a window: its rows were taken (or are not wanted) */
        else if ((s = grow(c, lineno)) != CLG_OK)
            return s;
    }
    const size_t at = t->rows - t->base;
    float *x = t->X + at * t->d;
    for (size_t j = 0, k = 0; j < t->cols && s == CLG_OK; j++) {
        const field *f = &c->r.fields[j];
        if (t->skip[j]) continue;
        if (j != t->label)
            s = number(c, f, lineno, j, &x[k++]);
        else if (c->classes)
            s = class_label(c, f, lineno, j, &t->ids[at]);
        else
            s = number(c, f, lineno, j, &t->y[at]);
    }
    if (s == CLG_OK) t->rows++;
    return s;
}

/* One line: its fields into c->r, then the first line's rules or one more row. */
static clg_status read_line(csv *c, char *p, size_t len, size_t lineno)
{
    table *t = &c->t;
    /* A part that holds the header line meets it again after its layout step: no row. */
    if (c->part && t->header && c->pos == t->first_pos) return CLG_OK;
    if (c->pos == 0 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3, len -= 3;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    size_t k = 0;
    while (k < len && (p[k] == ' ' || p[k] == '\t')) k++;
    if (k == len) return CLG_OK; /* blank line */
    if (t->cols == 0 && !t->line1) {
        t->line1 = malloc(len + 1);
        if (!t->line1)
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->path);
        memcpy(t->line1, p, len);
        t->line1[len] = '\0';
        t->line1_len = len;
        t->first_line = lineno;
        t->first_pos = c->pos;
    }
    clg_status s = CLG_OK;
    size_t bad = 0;
    size_t count = split(&c->r, p, len, &bad, &s);
    if (s == CLG_ERR_HOST_MEMORY) return clg_fail(NULL, s, "%s: out of host memory", c->path);
    if (s != CLG_OK)
        return clg_fail(NULL, s, "%s: %s, column %zu: unbalanced or misplaced quote", c->path,
                        name_line(c, lineno, c->pos).s, bad);
    if (t->cols == 0) {
        s = first_line(c, count, lineno, &t->header);
        if (s != CLG_OK || t->header || c->layout) return s;
    } else if (count != t->cols) {
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: %s has %zu fields, expected %zu (as on line %zu)", c->path,
                        name_line(c, lineno, c->pos).s, count, t->cols, t->first_line);
    }
    return append_row(c, lineno);
}

/* Fields of line[0..len) split on delim (0 when it does not split cleanly). */
static size_t count_fields(const char *line, size_t len, char delim)
{
    char *copy = malloc(len + 1);
    if (!copy) return 0;
    memcpy(copy, line, len + 1);
    reader r = {.delim = delim};
    size_t bad = 0;
    clg_status s;
    size_t n = split(&r, copy, len, &bad, &s);
    free(r.fields);
    free(copy);
    return s == CLG_OK ? n : 0;
}

static const char *delim_name(char d) { return d == '\t' ? "tab" : d == ';' ? "';'" : "','"; }

/* After a format error: when the first line splits into more fields (at least 2) on
 * another of , ; and tab than on the delimiter used, the message says so. */
static void delimiter_hint(const csv *c, clg_status s)
{
    const table *t = &c->t;
    if ((s != CLG_ERR_FORMAT && s != CLG_ERR_INVALID_ARGUMENT) || !t->line1) return;
    const char delim = c->o->delimiter;
    size_t used = count_fields(t->line1, t->line1_len, delim), best = 0;
    char alt = 0;
    for (const char *a = ",;\t"; *a; a++) {
        size_t k = *a == delim ? 0 : count_fields(t->line1, t->line1_len, *a);
        if (k >= 2 && k > used && k > best) best = k, alt = *a;
    }
    if (!alt) return;
    char msg[CLG_MSG_LEN];
    snprintf(msg, sizeof msg, "%s", clg_last_error(NULL));
    clg_fail(NULL, s,
             "%s (line %zu splits into %zu fields on %s but %zu on %s: set the delimiter to %s; "
             "clgrad --delimiter %s)",
             msg, t->first_line, best, delim_name(alt), used, delim_name(delim), delim_name(alt),
             alt == '\t'  ? "tab"
             : alt == ';' ? "';'"
                          : ",");
}

/* Whether reading goes on to the line at byte pos: not past a chunk's rows, a part's range
 * or (layout) the first non-blank line. */
static int reads_on(const csv *c, uint64_t pos)
{
    if (c->stop && c->t.rows >= c->stop) return 0;
    if (c->part && pos >= c->part->end) return 0;
    return !(c->layout && c->t.cols);
}

static clg_status read_rows(FILE *fp, csv *c)
{
    char *line = NULL;
    size_t linecap = 0, lineno = c->line0;
    uint64_t pos = c->pos;
    clg_status s = CLG_OK;
    ssize_t got;

    flockfile(fp); /* for getc_unlocked */
    while (s == CLG_OK && reads_on(c, pos) && (got = next_line(fp, &line, &linecap)) != LINE_END) {
        lineno++;
        c->pos = pos;
        if (got >= 0) pos += (uint64_t)got + 1; /* the next line's offset (after a '\n') */
        if (got == LINE_TOO_LONG)
            s = clg_fail(NULL, CLG_ERR_FORMAT,
                         "%s: %s is longer than the limit of %zu bytes (no newline within it: "
                         "not a CSV file?)",
                         c->path, name_line(c, lineno, c->pos).s, CSV_MAX_LINE);
        else if (got == LINE_NO_MEMORY)
            s = clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory at %s", c->path,
                         name_line(c, lineno, c->pos).s);
        else
            s = read_line(c, line, (size_t)got, lineno);
    }
    const int read_errno = errno; /* before name_line's snprintf may change it */
    if (s == CLG_OK && ferror(fp))
        s = clg_fail(NULL, CLG_ERR_IO, "%s: read error after %s: %s", c->path,
                     name_line(c, lineno, c->pos).s, strerror(read_errno));
    else if (s == CLG_OK && !c->stop && c->t.cols == 0)
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: the file is empty", c->path);
    else if (s == CLG_OK && !c->stop && !c->layout && !c->part && c->t.rows == 0)
        s = clg_fail(NULL, CLG_ERR_FORMAT, "%s: line %zu is a header and no data rows follow",
                     c->path, c->t.first_line);
    funlockfile(fp);
    free(line);
    delimiter_hint(c, s);
    return s;
}

/* ----------------------------------------------------------------- options */

static clg_status check_class_options(const char *fn, const clg_csv_options *o, table *t)
{
    size_t max = o->max_classes ? o->max_classes : CSV_MAX_CLASSES;
    if (max < 2 || max > CSV_MAX_CLASSES)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: max_classes %zu is not 0 (2^24) or in 2..2^24", fn, o->max_classes);
    if (o->classes == 1 || o->classes > max)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: classes %zu is not 0 (inferred) or in 2..%zu", fn, o->classes, max);
    t->limit = o->classes ? o->classes : max;
    const clg_class_names *g = o->class_names;
    if (!g || g->count == 0) return CLG_OK;
    if (g->count < 2 || g->count > max || !g->names || (o->classes && o->classes != g->count))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "%s: class_names has %zu names; need 2..%zu (and classes 0 or the same)",
                        fn, g->count, max);
    t->given = 1;
    for (size_t i = 0; i < g->count; i++) {
        if (!g->names[i] || !g->names[i][0])
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: class_names: name %zu is NULL or empty", fn, i);
        if (names_find(&t->names, g->names[i]) < t->names.count)
            return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                            "%s: class_names: \"%.40s\" occurs twice", fn, g->names[i]);
        if (names_add(&t->names, g->names[i]))
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", fn);
    }
    return CLG_OK;
}

static clg_status check_options(const char *fn, csv *c)
{
    const clg_csv_options *o = c->o;
    if (o->header < -1 || o->header > 1)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: header must be -1, 0 or 1, got %d", fn,
                        o->header);
    if (o->delimiter == '\0' || strchr(" \"\r\n", o->delimiter))
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: delimiter 0x%02x is not allowed", fn,
                        (unsigned char)o->delimiter);
    clg_status s = skip_parse(fn, o->skip_columns, &c->skip);
    if (s == CLG_OK && c->classes && o->label_column == CLG_CSV_NO_LABEL)
        s = clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "%s: class labels need a label column", fn);
    if (s == CLG_OK && c->classes) s = check_class_options(fn, o, &c->t);
    return s;
}

static void csv_free(csv *c)
{
    skip_free(&c->skip);
    free(c->r.fields);
    free(c->t.skip);
    free(c->t.X);
    free(c->t.y);
    free(c->t.ids);
    free(c->t.line1);
    names_free(&c->t.names);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Class names: sorted (strcmp, i.e. by code point for UTF-8), the ids renumbered to match;
 * the class count; the names handed to *names (when not NULL). */
static clg_status finish_classes(csv *c, size_t *classes, clg_class_names *names)
{
    table *t = &c->t;
    name_table *nt = &t->names;
    if (t->kind == LABEL_IDS) {
        *classes = c->o->classes ? c->o->classes : t->top < 2 ? 2 : t->top;
        return CLG_OK;
    }
    if (!t->given && c->o->classes && nt->count != c->o->classes)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: the labels have %zu class names but classes is %zu; names are "
                        "numbered in sorted order, so every class must occur (or give the "
                        "training set's names as class_names)",
                        c->path, nt->count, c->o->classes);
    if (nt->count < 2)
        return clg_fail(NULL, CLG_ERR_FORMAT,
                        "%s: every label is \"%.40s\": classification needs at least 2 classes",
                        c->path, nt->names[0]);
    if (!t->given) {
        char **sorted = malloc(nt->count * sizeof *sorted);
        size_t *rank = malloc(nt->count * sizeof *rank);
        if (!sorted || !rank) {
            free(sorted);
            free(rank);
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", c->path);
        }
        memcpy(sorted, nt->names, nt->count * sizeof *sorted);
        qsort(sorted, nt->count, sizeof *sorted, cmp_names);
        for (size_t i = 0; i < nt->count; i++) rank[names_find(nt, sorted[i])] = i;
        for (size_t r = 0; r < t->rows - t->base; r++) t->ids[r] = (int32_t)rank[t->ids[r]];
        memcpy(nt->names, sorted, nt->count * sizeof *sorted); /* the index is stale now */
        free(sorted);
        free(rank);
    }
    *classes = nt->count;
    if (names) {
        names->names = nt->names;
        names->count = nt->count;
        free(nt->slot);
        memset(nt, 0, sizeof *nt);
    }
    return CLG_OK;
}

/* read_rows with numbers read in the C locale: strtod follows LC_NUMERIC, and a file's
 * "1.5" must not depend on the caller's locale. */
static clg_status read_rows_c_locale(FILE *fp, csv *c)
{
    locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    clg_status s = read_rows(fp, c);
    if (c_loc) {
        uselocale(old);
        freelocale(c_loc);
    }
    return s;
}

/* Reads path into c->t (c->o and c->classes set by the caller). */
static clg_status csv_load(const char *fn, const char *path, csv *c)
{
    c->path = path;
    clg_status s = check_options(fn, c);
    if (s != CLG_OK) return s;
    c->r.delim = c->o->delimiter;
    FILE *fp = fopen(path, "r");
    if (!fp) return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    s = read_rows_c_locale(fp, c);
    fclose(fp);
    return s;
}

/* The features, shrunk to the rows read (handed over: c no longer owns them). */
static float *take_features(csv *c)
{
    float *X = c->t.X, *fit = realloc(X, c->t.rows * c->t.d * sizeof *X);
    c->t.X = NULL;
    return fit ? fit : X;
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
    clg_csv_options o = clg_csv_defaults();
    if (opts && clg_options_copy(NULL, "clg_csv_read", "clg_csv_defaults", &o, sizeof o, opts,
                                 sizeof o) != CLG_OK)
        return CLG_ERR_INVALID_ARGUMENT;
    csv c = {.o = &o};
    clg_status s = csv_load("clg_csv_read", path, &c);
    if (s == CLG_OK) {
        *n = c.t.rows;
        *d = c.t.d;
        *X = take_features(&c);
        *y = c.t.y;
        c.t.y = NULL;
    }
    csv_free(&c);
    return s;
}

clg_status clg_csv_read_classes(const char *path, const clg_csv_options *opts, float **X,
                                int32_t **labels, size_t *n, size_t *d, size_t *classes,
                                clg_class_names *names)
{
    if (X) *X = NULL;
    if (labels) *labels = NULL;
    if (n) *n = 0;
    if (d) *d = 0;
    if (classes) *classes = 0;
    if (names && opts && names == opts->class_names)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT,
                        "clg_csv_read_classes: names must not be opts->class_names");
    if (names) memset(names, 0, sizeof *names);
    if (!path || !X || !labels || !n || !d || !classes)
        return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_csv_read_classes: NULL argument");
    clg_csv_options o = clg_csv_defaults();
    if (opts && clg_options_copy(NULL, "clg_csv_read_classes", "clg_csv_defaults", &o, sizeof o,
                                 opts, sizeof o) != CLG_OK)
        return CLG_ERR_INVALID_ARGUMENT;
    csv c = {.o = &o, .classes = 1};
    clg_status s = csv_load("clg_csv_read_classes", path, &c);
    if (s == CLG_OK) s = finish_classes(&c, classes, names);
    if (s == CLG_OK) {
        *n = c.t.rows;
        *d = c.t.d;
        *X = take_features(&c);
        *labels = c.t.ids;
        c.t.ids = NULL;
    } else {
        *classes = 0;
    }
    csv_free(&c);
    return s;
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

clg_status clg_dataset_from_csv_classes(clg_context *ctx, const char *path,
                                        const clg_csv_options *opts, clg_dataset **out,
                                        clg_class_names *names)
{
    if (out) *out = NULL;
    if (!ctx || !out) {
        if (names && (!opts || names != opts->class_names)) memset(names, 0, sizeof *names);
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_dataset_from_csv_classes: NULL argument");
    }
    float *X;
    int32_t *ids;
    size_t n, d, classes;
    clg_status s = clg_csv_read_classes(path, opts, &X, &ids, &n, &d, &classes, names);
    if (s != CLG_OK) return clg_fail(ctx, s, "%s", clg_last_error(NULL));
    s = clg_dataset_from_host_labels(ctx, X, ids, n, d, classes, out);
    free(X);
    free(ids);
    if (s != CLG_OK) clg_class_names_free(names);
    return s;
}

/* --------------------------------------------------------------- streaming */

struct clg_csv_stream {
    csv c;
    clg_csv_options o; /* c.o: the options (their pointers cleared once the first pass ends) */
    char *path;        /* c.path */
    FILE *fp;
    struct stat at_open;
    csv_index index;
    csv_part part; /* parts 0: the whole file */
    size_t n;
};

void clg_csv_stream_close(clg_csv_stream *cs)
{
    if (!cs) return;
    csv_free(&cs->c);
    free(cs->index.offset);
    free(cs->index.line);
    if (cs->fp) fclose(cs->fp);
    free(cs->path);
    free(cs);
}

/* After the first pass: the class names (sorted, or the given ones) become the table chunk
 * reads look labels up in, as clg_csv_read_classes does with given class_names. */
static clg_status names_for_reads(clg_csv_stream *cs, const clg_class_names *names)
{
    table *t = &cs->c.t;
    names_free(&t->names);
    for (size_t i = 0; i < names->count; i++)
        if (names_add(&t->names, names->names[i]))
            return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", cs->path);
    t->given = 1;
    return CLG_OK;
}

/* The offset of the first line that starts at or after byte b, fp left there: lines start
 * at 0 and after each '\n', so when the byte before b is no newline, the line it is in is
 * skipped (its start lies before b: another part's line). The file's size when none does. */
static clg_status seek_line_start(clg_csv_stream *cs, uint64_t b, uint64_t *start)
{
    *start = b;
    if (fseeko(cs->fp, (off_t)(b ? b - 1 : 0), SEEK_SET) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot seek to byte %llu: %s", cs->path,
                        (unsigned long long)b, strerror(errno));
    if (b == 0) return CLG_OK;
    int ch;
    uint64_t at = b - 1; /* the byte ch was read from */
    while ((ch = getc(cs->fp)) != EOF && ch != '\n') at++;
    if (ferror(cs->fp))
        return clg_fail(NULL, CLG_ERR_IO, "%s: read error after byte %llu: %s", cs->path,
                        (unsigned long long)at, strerror(errno));
    *start = ch == EOF ? cs->part.size : at + 1;
    return CLG_OK;
}

/* A part's first pass. Every part reads the file's first non-blank line, which fixes the
 * layout (the header's names, the column count, header or data): the one line outside its
 * range it reads. Then the lines that start in its range, counted from its first; the
 * header line, wherever it lies, is no row. */
static clg_status part_first_pass(const char *fn, clg_csv_stream *cs)
{
    csv *c = &cs->c;
    csv_part *p = &cs->part;
    p->size = (uint64_t)cs->at_open.st_size;
    p->begin = clg_part_start(p->size, p->part, p->parts);
    p->end = clg_part_start(p->size, p->part + 1, p->parts);
    c->layout = 1;
    clg_status s = read_rows_c_locale(cs->fp, c);
    c->layout = 0;
    uint64_t start = 0;
    if (s == CLG_OK) s = seek_line_start(cs, p->begin, &start);
    if (s != CLG_OK) return s;
    c->part = p;
    c->pos = start;
    c->line0 = 0;
    s = read_rows_c_locale(cs->fp, c);
    if (s == CLG_OK && c->t.rows == 0)
        return clg_fail(NULL, CLG_ERR_SHAPE,
                        "%s: part %zu of %zu of %s holds no row: no data line starts in its bytes "
                        "[%llu, %llu) of %llu (more parts than lines?)",
                        fn, p->part, p->parts, cs->path, (unsigned long long)p->begin,
                        (unsigned long long)p->end, (unsigned long long)p->size);
    return s;
}

/* The first pass; on success cs is ready for chunk reads. */
static clg_status stream_first_pass(const char *fn, clg_csv_stream *cs, size_t *classes,
                                    clg_class_names *names)
{
    csv *c = &cs->c;
    clg_status s = check_options(fn, c);
    if (s != CLG_OK) return s;
    c->r.delim = cs->o.delimiter;
    cs->fp = fopen(cs->path, "r");
    if (!cs->fp)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot open: %s", cs->path, strerror(errno));
    if (fstat(fileno(cs->fp), &cs->at_open) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot stat: %s", cs->path, strerror(errno));
    if (!S_ISREG(cs->at_open.st_mode))
        return clg_fail(NULL, CLG_ERR_IO,
                        "%s: not a regular file (a streamed CSV file is read again chunk by "
                        "chunk)",
                        cs->path);
    c->window = 1; /* validate every row, keep none */
    c->index = &cs->index;
    s = cs->part.parts ? part_first_pass(fn, cs) : read_rows_c_locale(cs->fp, c);
    c->index = NULL;
    clg_class_names found = {0};
    if (s == CLG_OK && c->classes) s = finish_classes(c, classes, &found);
    if (s == CLG_OK && found.count) s = names_for_reads(cs, &found);
    if (s == CLG_OK && names)
        *names = found;
    else
        clg_class_names_free(&found);
    return s;
}

clg_status clg_csv_stream_open(const char *fn, const char *path, const clg_csv_options *opts,
                               int classes, const clg_stream_options *so, clg_csv_stream **out,
                               size_t *n, size_t *d, size_t *nclasses, clg_class_names *names)
{
    *out = NULL;
    *n = *d = *nclasses = 0;
    if (names) memset(names, 0, sizeof *names);
    clg_csv_stream *cs = calloc(1, sizeof *cs);
    if (cs) cs->path = strdup(path);
    if (!cs || !cs->path) {
        free(cs);
        return clg_fail(NULL, CLG_ERR_HOST_MEMORY, "%s: out of host memory", fn);
    }
    cs->o = *opts;
    cs->c.o = &cs->o;
    cs->c.path = cs->path;
    cs->c.classes = classes != 0;
    cs->index.chunk_rows = so->chunk_rows;
    cs->part.part = so->part;
    cs->part.parts = so->parts;
    clg_status s = stream_first_pass(fn, cs, nclasses, names);
    if (s != CLG_OK) {
        clg_csv_stream_close(cs);
        *nclasses = 0;
        return s;
    }
    table *t = &cs->c.t;
    free(t->X); /* the one-row window of the first pass; chunk reads take a chunk's */
    free(t->y);
    free(t->ids);
    t->X = t->y = NULL;
    t->ids = NULL;
    t->cap = 0;
    /* rows a chunk read holds: no more than the file has, whatever chunk_rows asked */
    cs->c.window = cs->index.chunk_rows < t->rows ? cs->index.chunk_rows : t->rows;
    cs->o.skip_columns = NULL; /* parsed already; the caller's memory need not outlive us */
    cs->o.class_names = NULL;
    cs->n = t->rows;
    *n = t->rows;
    *d = t->d;
    *out = cs;
    return CLG_OK;
}

size_t clg_csv_stream_chunk_rows(const clg_csv_stream *cs) { return cs->index.chunk_rows; }

uint64_t clg_csv_stream_file_bytes(const clg_csv_stream *cs)
{
    return (uint64_t)cs->at_open.st_size;
}

clg_status clg_csv_stream_read(clg_csv_stream *cs, size_t k, float *X, float *Y, size_t *rows)
{
    csv *c = &cs->c;
    table *t = &c->t;
    const size_t C = cs->index.chunk_rows, first = k * C;
    const size_t want = cs->n - first < C ? cs->n - first : C;
    clg_status s = clg_stream_check_unchanged(fileno(cs->fp), cs->path, &cs->at_open);
    if (s != CLG_OK) return s;
    if (fseeko(cs->fp, (off_t)cs->index.offset[k], SEEK_SET) != 0)
        return clg_fail(NULL, CLG_ERR_IO, "%s: cannot seek to chunk %zu: %s", cs->path, k,
                        strerror(errno));
    c->pos = cs->index.offset[k];
    c->line0 = cs->index.line[k] - 1;
    t->rows = t->base = first;
    c->stop = first + want;
    s = read_rows_c_locale(cs->fp, c);
    c->stop = 0;
    if (s == CLG_OK && t->rows != first + want)
        s = clg_fail(NULL, CLG_ERR_IO,
                     "%s: the file changed since it was opened: chunk %zu (from %s) has %zu "
                     "rows, not %zu",
                     cs->path, k, name_line(c, cs->index.line[k], cs->index.offset[k]).s,
                     t->rows - first, want);
    if (s != CLG_OK) return s;
    memcpy(X, t->X, want * t->d * sizeof *X);
    for (size_t i = 0; i < want; i++) Y[i] = c->classes ? (float)t->ids[i] : t->y[i];
    *rows = want;
    return CLG_OK;
}
