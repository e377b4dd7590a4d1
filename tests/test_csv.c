/* CSV reader: files the test writes itself, valid (header or not, label anywhere, CRLF,
 * spaces, quotes, tabs) and malformed (every error status, with the line in the message,
 * and nothing returned). */
#include <errno.h>
#include <unistd.h>

#include "helpers.h"

static char path_buf[256];

static const char *write_file(const char *name, const char *text)
{
    static char *dir;
    if (!dir) dir = test_tmpdir();
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    FILE *fp = fopen(path_buf, "wb");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path_buf;
}

/* Reads text as a CSV and expects X = [[1,2],[4,5]] (row-major) and y = [3, 6]. */
static void expect_standard(const char *text, const clg_csv_options *o)
{
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    const char *p = write_file("ok.csv", text);
    clg_status s = clg_csv_read(p, o, &X, &y, &n, &d);
    cr_assert_eq(s, CLG_OK, "%s: %s for:\n%s", clg_status_string(s), clg_last_error(NULL), text);
    cr_assert(n == 2 && d == 2, "n=%zu d=%zu for:\n%s", n, d, text);
    const float Xe[4] = {1, 2, 4, 5}, ye[2] = {3, 6};
    cr_expect_arr_eq(X, Xe, sizeof Xe, "X for:\n%s", text);
    cr_expect_arr_eq(y, ye, sizeof ye, "y for:\n%s", text);
    free(X);
    free(y);
}

Test(csv, valid_files)
{
    clg_csv_options o = clg_csv_defaults();
    cr_expect(o.header == -1 && o.label_column == -1 && o.delimiter == ',');
    expect_standard("x1,x2,y\n1,2,3\n4,5,6\n", NULL);       /* header auto-detected */
    expect_standard("1,2,3\n4,5,6", &o);                    /* no header, no final newline */
    expect_standard("x1,x2,y\r\n1,2,3\r\n4,5,6\r\n", &o);   /* CRLF */
    expect_standard("  1 ,2,  3\t\n\n 4, 5 ,6 \n\n\n", &o); /* spaces, blank lines */
    expect_standard("\"x1\",\"x2\",\"y\"\n\"1\", \" 2 \",3\n4,5,\"6\"\n", &o); /* quotes */
    o.label_column = 0;
    expect_standard("y,a,b\n3,1,2\n6,4,5\n", &o); /* label first */
    o.label_column = 1;
    expect_standard("1,3,2\n4,6,5\n", &o); /* label in the middle */
    o.label_column = -2;
    expect_standard("1,3,2\n4,6,5\n", &o); /* counted from the end */
    o.label_column = -1;
    o.header = 1;
    expect_standard("7,8,9\n1,2,3\n4,5,6\n", &o); /* a numeric line declared a header */
    o.header = -1;
    o.delimiter = '\t';
    expect_standard("a\tb\tc\n1\t 2\t3\n4\t5\t6\n", &o);
    o.delimiter = ';';
    expect_standard("1;2;3\n4.0;5e0;0.6e1\n", &o);
}

/* text must fail with status `want` and a message containing both needles. */
static void expect_error(const char *text, const clg_csv_options *o, clg_status want,
                         const char *needle1, const char *needle2)
{
    float *X = (float *)1, *y = (float *)1;
    size_t n = 99, d = 99;
    const char *p = text ? write_file("bad.csv", text) : "/nonexistent/clgrad/missing.csv";
    clg_status s = clg_csv_read(p, o, &X, &y, &n, &d);
    const char *msg = clg_last_error(NULL);
    cr_expect_eq(s, want, "got %s (%s) for:\n%s", clg_status_string(s), msg, text ? text : p);
    cr_expect(strstr(msg, needle1) && strstr(msg, needle2), "message \"%s\" lacks \"%s\"/\"%s\"",
              msg, needle1, needle2);
    cr_expect(X == NULL && y == NULL && n == 0 && d == 0, "partial result on error");
    char input[96] = "CSV ";
    size_t k = strlen(input);
    for (const char *c = text ? text : "(missing file)"; *c && k < sizeof input - 4; c++)
        k += (size_t)snprintf(input + k, sizeof input - k, "%s",
                              *c == '\n' ? "⏎" : (char[2]){*c, 0});
    if (s == want) bad_input_record(input, clg_status_string(s), msg);
}

Test(csv, malformed_files)
{
    expect_error("a,b,c\n1,2,3\n4,x5,6\n", NULL, CLG_ERR_FORMAT, "line 3", "column 2");
    expect_error("1,2,3\n4,,6\n", NULL, CLG_ERR_FORMAT, "line 2", "column 2");
    expect_error("1,2,3\n4,5\n", NULL, CLG_ERR_FORMAT, "line 2", "expected 3");
    expect_error("1,2,3\n\n4,5,6,7\n", NULL, CLG_ERR_FORMAT, "line 3", "4 fields");
    expect_error("", NULL, CLG_ERR_FORMAT, "empty", "bad.csv");
    expect_error("\n \r\n\n", NULL, CLG_ERR_FORMAT, "empty", "bad.csv");
    expect_error("x1,x2,y\n", NULL, CLG_ERR_FORMAT, "line 1", "no data");
    expect_error("1,2,3\n4,nan,6\n", NULL, CLG_ERR_NONFINITE, "line 2", "column 2");
    expect_error("1,2,3\n4,5,-inf\n", NULL, CLG_ERR_NONFINITE, "line 2", "column 3");
    expect_error("1,2,3\n4,5,1e39\n", NULL, CLG_ERR_NONFINITE, "line 2", "float32");
    expect_error("1,\"2,3\n", NULL, CLG_ERR_FORMAT, "line 1", "quote");
    expect_error("1\n2\n", NULL, CLG_ERR_FORMAT, "line 1", "at least 2");
    expect_error(NULL, NULL, CLG_ERR_IO, "missing.csv", "cannot open");

    clg_csv_options o = clg_csv_defaults();
    o.header = 0;
    expect_error("a,b,c\n1,2,3\n", &o, CLG_ERR_FORMAT, "line 1", "not a number");
    o.header = 2;
    expect_error("1,2,3\n", &o, CLG_ERR_INVALID_ARGUMENT, "header", "2");
    o = clg_csv_defaults();
    o.label_column = 3;
    expect_error("1,2,3\n", &o, CLG_ERR_INVALID_ARGUMENT, "label_column 3", "3 columns");
    o.label_column = -4;
    expect_error("1,2,3\n", &o, CLG_ERR_INVALID_ARGUMENT, "label_column -4", "3 columns");
    o = clg_csv_defaults();
    o.delimiter = '"';
    expect_error("1,2,3\n", &o, CLG_ERR_INVALID_ARGUMENT, "delimiter", "0x22");

    float *X, *y;
    size_t n, d;
    cr_expect_eq(clg_csv_read(NULL, NULL, &X, &y, &n, &d), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_csv_read("x.csv", NULL, NULL, &y, &n, &d), CLG_ERR_INVALID_ARGUMENT);
    cr_expect_eq(clg_csv_read("x.csv", NULL, &X, &y, &n, NULL), CLG_ERR_INVALID_ARGUMENT);
}

Test(csv, larger_file_round_trips_exactly)
{
    /* 1003 rows × 4 columns of values exactly representable in float and in %g. */
    const size_t rows = 1003, cols = 4;
    size_t cap = rows * cols * 16 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "a,b,label,c\n");
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            len += (size_t)snprintf(text + len, cap - len, "%g%c",
                                    (double)r * 0.25 - (double)c * 1.5, c + 1 < cols ? ',' : '\n');
    clg_csv_options o = clg_csv_defaults();
    o.label_column = 2;
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    CLG_OK_OR_FAIL(NULL, clg_csv_read(write_file("big.csv", text), &o, &X, &y, &n, &d));
    cr_assert(n == rows && d == 3, "n=%zu d=%zu", n, d);
    for (size_t r = 0; r < rows; r++) {
        cr_assert_eq(y[r], (float)((double)r * 0.25 - 3.0), "y[%zu]", r);
        cr_assert_eq(X[r * 3 + 0], (float)((double)r * 0.25), "X[%zu][0]", r);
        cr_assert_eq(X[r * 3 + 2], (float)((double)r * 0.25 - 4.5), "X[%zu][2]", r);
    }
    free(X);
    free(y);
    free(text);
}

Test(csv, dataset_from_csv)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = NULL;
    CLG_OK_OR_FAIL(
        ctx, clg_dataset_from_csv(ctx, write_file("ds.csv", "p,q,t\n1,2,3\n4,5,6\n"), NULL, &ds));
    cr_assert(clg_dataset_size(ds) == 2 && clg_dataset_features(ds) == 2 &&
              clg_dataset_targets(ds) == 1);
    float X[4], Y[2];
    const float Xe[4] = {1, 2, 4, 5}, Ye[2] = {3, 6};
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, Y));
    cr_expect_arr_eq(X, Xe, sizeof Xe);
    cr_expect_arr_eq(Y, Ye, sizeof Ye);
    clg_dataset_destroy(ds);

    ds = (clg_dataset *)1;
    cr_expect_eq(clg_dataset_from_csv(ctx, write_file("ds.csv", "1,2,3\n4,z,6\n"), NULL, &ds),
                 CLG_ERR_FORMAT);
    cr_expect_null(ds);
    cr_expect(strstr(clg_last_error(ctx), "line 2"), "context message: %s", clg_last_error(ctx));
    cr_expect_eq(clg_dataset_from_csv(NULL, "x.csv", NULL, &ds), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}

/* Issue 9: a one-line 2 GB file was read whole (getline) before the line error. Lines are
 * capped at 16 MiB; the file here is sparse (its tail reads as NUL bytes, no disk used). */
Test(csv, a_line_beyond_the_limit_is_refused_after_the_limit)
{
    const char *p = write_file("long.csv", "");
    cr_assert_eq(truncate(p, (off_t)2 << 30), 0, "truncate: %s", strerror(errno));
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    EXPECT_REFUSED(NULL, clg_csv_read(p, NULL, &X, &y, &n, &d), CLG_ERR_FORMAT,
                   "line 1 is longer than the limit of 16777216 bytes", "CSV of one 2 GB line");
    cr_expect(X == NULL && y == NULL && n == 0, "partial result on error");

    /* The line number counts the good lines before it. */
    p = write_file("long3.csv", "1,2,3\n4,5,6\n7,");
    cr_assert_eq(truncate(p, (off_t)1 << 30), 0, "truncate: %s", strerror(errno));
    EXPECT_REFUSED(NULL, clg_csv_read(p, NULL, &X, &y, &n, &d), CLG_ERR_FORMAT,
                   "line 3 is longer than the limit of 16777216 bytes",
                   "CSV whose third line has 1 GB");

    /* A line of exactly the limit is still read (it then fails as a one-column line). */
    p = write_file("limit.csv", "");
    cr_assert_eq(truncate(p, (off_t)16 << 20), 0);
    EXPECT_REFUSED(NULL, clg_csv_read(p, NULL, &X, &y, &n, &d), CLG_ERR_FORMAT,
                   "line 1 has 1 column", "CSV of one line of exactly 16 MiB");
}
