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

/* Records a refusal for docs/bad-inputs.md: the input on one line (⏎ line break, ⇥ tab). */
static void record(const char *prefix, const char *text, clg_status s, const char *msg)
{
    char input[96];
    size_t k = (size_t)snprintf(input, sizeof input, "%s", prefix);
    for (const char *c = text; *c && k < sizeof input - 4; c++)
        k += (size_t)snprintf(input + k, sizeof input - k, "%s",
                              *c == '\n'   ? "⏎"
                              : *c == '\t' ? "⇥"
                                           : (char[2]){*c, 0});
    bad_input_record(input, clg_status_string(s), msg);
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
    if (s == want) record("CSV ", text ? text : "(missing file)", s, msg);
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

/* ---- delimiters: the option, and the hint when a file fails with the wrong one */

Test(csv, semicolon_and_tab_files_with_the_delimiter_option)
{
    clg_csv_options o = clg_csv_defaults();
    o.delimiter = ';';
    expect_standard("alcohol;malic_acid;target\n1;2;3\n4;5;6\n", &o);
    expect_standard("\"1\";2;3\r\n4; 5 ;6\r\n", &o);
    o.delimiter = '\t';
    expect_standard("alcohol\tmalic_acid\ttarget\n1\t2\t3\n4\t5\t6\n", &o);
    /* A decimal comma is no number, even with ';' (numbers are read in the C locale). */
    o.delimiter = ';';
    expect_error("1,5;2;3\n", &o, CLG_ERR_FORMAT, "line 1, column 1", "\"1,5\" is not a number");
}

Test(csv, a_file_that_fails_on_the_delimiter_names_the_one_it_splits_on)
{
    /* Without the option: the message says how line 1 splits and which option to give. */
    expect_error("alcohol;malic_acid;ash;target\n1;2;3;0\n", NULL, CLG_ERR_FORMAT,
                 "line 1 has 1 column", "splits into 4 fields on ';' but 1 on ','");
    expect_error("alcohol;malic_acid;ash;target\n1;2;3;0\n", NULL, CLG_ERR_FORMAT,
                 "set the delimiter to ';'", "clgrad --delimiter ';'");
    expect_error("1\t2\t3\n4\t5\t6\n", NULL, CLG_ERR_FORMAT, "splits into 3 fields on tab",
                 "clgrad --delimiter tab");
    clg_csv_options o = clg_csv_defaults();
    o.delimiter = ';';
    expect_error("a,b,c\n1,2,3\n", &o, CLG_ERR_FORMAT, "on ',' but 1 on ';'",
                 "clgrad --delimiter ,");
    /* No hint when another delimiter does not split line 1 into more fields. */
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    const char *p = write_file("nohint.csv", "a,b;c,d\n1,2;3,4\n");
    cr_expect_eq(clg_csv_read(p, NULL, &X, &y, &n, &d), CLG_ERR_FORMAT);
    cr_expect(strstr(clg_last_error(NULL), "\"2;3\" is not a number") &&
                  !strstr(clg_last_error(NULL), "delimiter"),
              "%s", clg_last_error(NULL));
    p = write_file("nohint2.csv", "1,2,3\n4,x,6\n");
    cr_expect_eq(clg_csv_read(p, NULL, &X, &y, &n, &d), CLG_ERR_FORMAT);
    cr_expect(!strstr(clg_last_error(NULL), "delimiter"), "%s", clg_last_error(NULL));
}

/* ---- skip_columns */

Test(csv, skip_columns_by_index_name_and_from_the_end)
{
    clg_csv_options o = clg_csv_defaults();
    o.skip_columns = "0";
    expect_standard("id,x1,x2,y\np-17,1,2,3\n\"p,18\",4,5,6\n", &o); /* IDs are not parsed */
    o.skip_columns = "id";
    expect_standard("id,x1,x2,y\np-17,1,2,3\np-18,4,5,6\n", &o);
    o.skip_columns = " id , note ";
    expect_standard("id,x1,note,x2,y\n7,1,ok,2,3\n8,4,,5,6\n", &o);
    o.skip_columns = "-2";
    expect_standard("1,2,99,3\n4,5,98,6\n", &o);
    o.skip_columns = "3,0,3"; /* repeated: once */
    o.label_column = 2;
    expect_standard("9,1,3,8,2\n9,4,6,8,5\n", &o);
    /* A pandas index column: an empty header name, numbers below it. */
    o = clg_csv_defaults();
    o.skip_columns = "0";
    expect_standard(",x1,x2,y\n0,1,2,3\n1,4,5,6\n", &o);
    o.skip_columns = "";
    expect_standard("1,2,3\n4,5,6\n", &o);
}

Test(csv, bad_skip_columns_are_refused)
{
    clg_csv_options o = clg_csv_defaults();
    o.skip_columns = "4";
    expect_error("a,b,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "column 4 is out of range",
                 "4 columns of line 1");
    o.skip_columns = "-5";
    expect_error("a,b,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "column -5 is out of range",
                 "skip_columns");
    o.skip_columns = "ID";
    expect_error("id,b,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "no column named \"ID\"",
                 "line 1");
    o.skip_columns = "y";
    expect_error("a,b,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "column 3 is the label",
                 "skip_columns");
    o.skip_columns = "a,,b";
    expect_error("a,b,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "entry 2 is empty", "a,,b");
    o.skip_columns = "x";
    expect_error("x,x,c,y\n1,2,3,4\n", &o, CLG_ERR_INVALID_ARGUMENT, "two columns named \"x\"",
                 "index");
    o.skip_columns = "a,b";
    expect_error("a,b,y\n1,2,3\n", &o, CLG_ERR_FORMAT, "no feature column left", "2 of them");
    o.header = 0;
    o.skip_columns = "a";
    expect_error("a,b,y\n1,2,3\n", &o, CLG_ERR_INVALID_ARGUMENT, "\"a\"", "header = 0");
}

/* ---- header detection (header = -1) */

Test(csv, header_rule_never_takes_a_malformed_data_row_for_a_header)
{
    /* A typo in the first data row of a headerless file: an error naming line and column. */
    expect_error("13.2,2x5,0\n1,2,0\n", NULL, CLG_ERR_FORMAT, "line 1, column 2: \"2x5\"",
                 "clgrad --header");
    expect_error("1,,3\n4,5,6\n", NULL, CLG_ERR_FORMAT, "line 1, column 2", "neither a header");
    expect_error("\n\nx1,2,y\n4,5,6\n", NULL, CLG_ERR_FORMAT, "line 3, column 1: \"x1\"",
                 "column 2 (\"2\")");
    /* A real header: no field is a number. A numeric first line is data. */
    expect_standard("alcohol,malic_acid,target\n1,2,3\n4,5,6\n", NULL);
    expect_standard("1,2,3\n4,5,6\n", NULL);
    /* A header with a numeric name needs header = 1. */
    clg_csv_options o = clg_csv_defaults();
    o.header = 1;
    expect_standard("x,2020,y\n1,2,3\n4,5,6\n", &o);
    /* Skipped columns do not count. */
    o = clg_csv_defaults();
    o.skip_columns = "0";
    expect_standard("id,1,2,3\n9,4,5,6\n", &o); /* line 1 is data: "id" is skipped */
}

Test(csv, no_label_column_reads_every_column_as_a_feature)
{
    clg_csv_options o = clg_csv_defaults();
    o.label_column = CLG_CSV_NO_LABEL;
    o.skip_columns = "-1";
    float *X = NULL, *y = (float *)1;
    size_t n = 0, d = 0;
    CLG_OK_OR_FAIL(NULL, clg_csv_read(write_file("nolabel.csv", "a,b,c\n1,2,setosa\n4,5,x\n"), &o,
                                      &X, &y, &n, &d));
    cr_assert(n == 2 && d == 2 && y == NULL, "n=%zu d=%zu y=%p", n, d, (void *)y);
    const float Xe[4] = {1, 2, 4, 5};
    cr_expect_arr_eq(X, Xe, sizeof Xe);
    free(X);
    o.skip_columns = NULL;
    CLG_OK_OR_FAIL(NULL, clg_csv_read(write_file("nolabel1.csv", "7\n8\n"), &o, &X, &y, &n, &d));
    cr_expect(n == 2 && d == 1 && X[0] == 7 && X[1] == 8 && y == NULL);
    free(X);
}

Test(csv, a_non_numeric_label_in_a_regression_file_points_to_class_labels)
{
    expect_error("x1,x2,species\n1,2,setosa\n", NULL, CLG_ERR_FORMAT,
                 "line 2, column 3: label \"setosa\" is not a number",
                 "clg_dataset_from_csv_classes");
}

/* ---- class labels */

typedef struct classes_read {
    clg_status s;
    float *X;
    int32_t *ids;
    size_t n, d, classes;
    clg_class_names names;
} classes_read;

static classes_read read_classes(const char *text, const clg_csv_options *o)
{
    classes_read r;
    memset(&r, 0xAB, sizeof r); /* every output must be written */
    r.s = clg_csv_read_classes(write_file("classes.csv", text), o, &r.X, &r.ids, &r.n, &r.d,
                               &r.classes, &r.names);
    return r;
}

static void free_classes(classes_read *r)
{
    free(r->X);
    free(r->ids);
    clg_class_names_free(&r->names);
    cr_expect(r->names.count == 0 && r->names.names == NULL);
}

Test(csv, class_names_become_sorted_ids)
{
    classes_read r = read_classes("sepal,petal,species\n1,2,versicolor\n3,4,setosa\n"
                                  "5,6,\"virginica\"\n7,8, setosa \n",
                                  NULL);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_assert(r.n == 4 && r.d == 2 && r.classes == 3, "n=%zu d=%zu classes=%zu", r.n, r.d,
              r.classes);
    const int32_t ids[4] = {1, 0, 2, 0};
    const float X[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_expect_arr_eq(r.ids, ids, sizeof ids);
    cr_expect_arr_eq(r.X, X, sizeof X);
    cr_assert_eq(r.names.count, 3);
    cr_expect_str_eq(r.names.names[0], "setosa");
    cr_expect_str_eq(r.names.names[1], "versicolor");
    cr_expect_str_eq(r.names.names[2], "virginica");
    free_classes(&r);

    /* No header (the label column does not count for the rule), label first, byte order:
     * upper case before lower case, as sorted() and LabelEncoder do. */
    clg_csv_options o = clg_csv_defaults();
    o.label_column = 0;
    r = read_classes("b,1,2\nB,3,4\na,5,6\nb,7,8\n", &o);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    const int32_t ids2[4] = {2, 0, 1, 2};
    cr_expect_arr_eq(r.ids, ids2, sizeof ids2);
    cr_assert_eq(r.names.count, 3);
    cr_expect(!strcmp(r.names.names[0], "B") && !strcmp(r.names.names[1], "a") &&
              !strcmp(r.names.names[2], "b"));
    cr_expect(r.n == 4 && r.d == 2 && r.X[0] == 1 && r.X[7] == 8);
    free_classes(&r);

    /* Names not wanted: NULL is fine. */
    float *X2;
    int32_t *ids3;
    size_t n, d, classes;
    CLG_OK_OR_FAIL(NULL, clg_csv_read_classes(write_file("c.csv", "1,x\n2,y\n"), NULL, &X2, &ids3,
                                              &n, &d, &classes, NULL));
    cr_expect(classes == 2 && ids3[0] == 0 && ids3[1] == 1);
    free(X2);
    free(ids3);
}

Test(csv, class_ids_give_max_plus_one_classes)
{
    classes_read r = read_classes("a,b,target\n1,2,0\n3,4,2\n5,6,2\n", NULL);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    const int32_t ids[3] = {0, 2, 2};
    cr_expect_arr_eq(r.ids, ids, sizeof ids);
    cr_expect(r.classes == 3 && r.names.count == 0 && r.names.names == NULL);
    free_classes(&r);
    r = read_classes("1,2,0\n3,4,0.0\n", NULL); /* all 0: still 2 classes */
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect(r.classes == 2 && r.ids[0] == 0 && r.ids[1] == 0);
    free_classes(&r);
    r = read_classes("1,2,16777215\n", NULL); /* the largest id */
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect(r.classes == 16777216 && r.ids[0] == 16777215);
    free_classes(&r);
    clg_csv_options o = clg_csv_defaults();
    o.classes = 5; /* a model's outputs: the count is given */
    r = read_classes("1,2,1\n3,4,0\n", &o);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect_eq(r.classes, 5);
    free_classes(&r);
}

/* A class-label file that must fail with `want` and a message with both needles. */
static void expect_classes_error(const char *text, const clg_csv_options *o, clg_status want,
                                 const char *needle1, const char *needle2)
{
    classes_read r = read_classes(text, o);
    const char *msg = clg_last_error(NULL);
    cr_expect_eq(r.s, want, "got %s (%s) for:\n%s", clg_status_string(r.s), msg, text);
    cr_expect(strstr(msg, needle1) && strstr(msg, needle2), "message \"%s\" lacks \"%s\"/\"%s\"",
              msg, needle1, needle2);
    cr_expect(r.X == NULL && r.ids == NULL && r.n == 0 && r.d == 0 && r.classes == 0 &&
                  r.names.count == 0 && r.names.names == NULL,
              "partial result on error for:\n%s", text);
    if (r.s == want) record("CSV classes ", text, r.s, msg);
}

Test(csv, bad_class_labels_name_line_column_and_row)
{
    expect_classes_error("a,b,c\n1,2,0\n3,4,-1\n", NULL, CLG_ERR_FORMAT,
                         "line 3, column 3, row 2: label -1 is not a class id",
                         "(an integer in 0..16777215)");
    expect_classes_error("1,2,0\n3,4,1.5\n", NULL, CLG_ERR_FORMAT, "row 2: label 1.5 is not",
                         "line 2");
    expect_classes_error("1,2,1.00000001\n", NULL, CLG_ERR_FORMAT,
                         "label 1.00000001 is not a class id", "row 1"); /* 1 in float */
    expect_classes_error("1,2,3e9\n", NULL, CLG_ERR_FORMAT, "label 3e+09 is not a class id",
                         "row 1");
    expect_classes_error("1,2,16777216\n", NULL, CLG_ERR_FORMAT, "label 1.67772e+07 is not",
                         "0..16777215");
    expect_classes_error("1,2,nan\n", NULL, CLG_ERR_FORMAT, "label nan is not a class id", "row 1");
    expect_classes_error("1,2,a\n3,4,\n", NULL, CLG_ERR_FORMAT, "line 2, column 3, row 2",
                         "label is empty");
    /* Ids and names mixed: a typo in an id column is not taken for a name. */
    expect_classes_error("1,2,0\n3,4,1\n5,6,1x\n", NULL, CLG_ERR_FORMAT,
                         "line 3, column 3: label \"1x\" is not a number",
                         "first label (line 1: \"0\") is a class id");
    expect_classes_error("x,y,c\n1,2,setosa\n5,6,2\n", NULL, CLG_ERR_FORMAT,
                         "line 3, column 3: label \"2\" is a number",
                         "(line 2: \"setosa\") is a name");
    expect_classes_error("1,2,setosa\n3,4,setosa\n", NULL, CLG_ERR_FORMAT,
                         "every label is \"setosa\"", "at least 2 classes");
    clg_csv_options o = clg_csv_defaults();
    o.max_classes = 10;
    expect_classes_error("1,2,10\n", &o, CLG_ERR_FORMAT, "label 10 is not a class id",
                         "(an integer in 0..9)");
    o.max_classes = 2;
    expect_classes_error("1,2,a\n1,2,b\n1,2,c\n", &o, CLG_ERR_FORMAT, "line 3",
                         "\"c\" is one class name too many: the limit is 2 classes");
    o = clg_csv_defaults();
    o.classes = 3;
    expect_classes_error("1,2,0\n1,2,3\n", &o, CLG_ERR_FORMAT, "label 3 is not a class id",
                         "(an integer in 0..2)");
    expect_classes_error("1,2,a\n1,2,b\n", &o, CLG_ERR_FORMAT, "2 class names but classes is 3",
                         "sorted order");
    /* Bad options. */
    o.classes = 1;
    expect_classes_error("1,2,0\n", &o, CLG_ERR_INVALID_ARGUMENT, "classes 1", "2..16777216");
    o = clg_csv_defaults();
    o.max_classes = (size_t)1 << 25;
    expect_classes_error("1,2,0\n", &o, CLG_ERR_INVALID_ARGUMENT, "max_classes 33554432", "2^24");
    o = clg_csv_defaults();
    o.label_column = CLG_CSV_NO_LABEL;
    expect_classes_error("1,2,0\n", &o, CLG_ERR_INVALID_ARGUMENT, "need a label column",
                         "clg_csv_read_classes");
}

Test(csv, class_names_of_a_training_set_map_a_test_set)
{
    char *train_names[3] = {"setosa", "versicolor", "virginica"};
    clg_class_names given = {3, train_names};
    clg_csv_options o = clg_csv_defaults();
    o.class_names = &given;
    /* The test set lacks versicolor: its own sorted order would make virginica 1. */
    classes_read r = read_classes("a,b,species\n1,2,virginica\n3,4,setosa\n", &o);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect(r.classes == 3 && r.ids[0] == 2 && r.ids[1] == 0, "classes %zu ids %d %d", r.classes,
              r.ids[0], r.ids[1]);
    cr_assert_eq(r.names.count, 3); /* a copy */
    cr_expect(r.names.names != train_names && !strcmp(r.names.names[2], "virginica"));
    free_classes(&r);
    /* Numbers are names here too. */
    expect_classes_error("a,b,species\n1,2,setosa\n3,4,0\n", &o, CLG_ERR_FORMAT,
                         "line 3, column 3, row 2: label \"0\" is not one of the 3 class names",
                         "(\"setosa\", \"versicolor\", \"virginica\")");
    o.classes = 4;
    expect_classes_error("1,2,setosa\n", &o, CLG_ERR_INVALID_ARGUMENT, "class_names has 3 names",
                         "classes 0 or the same");
    o.classes = 0;
    char *dup[3] = {"a", "b", "a"};
    clg_class_names twice = {3, dup};
    o.class_names = &twice;
    expect_classes_error("1,2,a\n", &o, CLG_ERR_INVALID_ARGUMENT, "\"a\" occurs twice",
                         "class_names");
    /* The output may not be the input. */
    o.class_names = &given;
    float *X;
    int32_t *ids;
    size_t n, d, classes;
    cr_expect_eq(clg_csv_read_classes("x.csv", &o, &X, &ids, &n, &d, &classes, &given),
                 CLG_ERR_INVALID_ARGUMENT);
    cr_expect(given.count == 3 && given.names == train_names, "the input is untouched");
}

Test(csv, header_rule_with_class_names)
{
    /* The label column does not count: a data row with a name label is data... */
    classes_read r = read_classes("1,2,setosa\n3,4,virginica\n", NULL);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect(r.n == 2 && r.ids[0] == 0 && r.ids[1] == 1);
    free_classes(&r);
    /* ...a header is a header, and a typo in the first data row is still an error. */
    r = read_classes("alcohol,malic_acid,target\n1,2,class_1\n3,4,class_0\n", NULL);
    cr_assert_eq(r.s, CLG_OK, "%s", clg_last_error(NULL));
    cr_expect(r.n == 2 && r.ids[0] == 1 && r.ids[1] == 0 && r.X[0] == 1);
    free_classes(&r);
    expect_classes_error("1,2x,setosa\n3,4,virginica\n", NULL, CLG_ERR_FORMAT,
                         "line 1, column 2: \"2x\" is not a number", "neither a header");
}

Test(csv, dataset_from_csv_classes)
{
    clg_context *ctx = test_context();
    clg_dataset *ds = NULL;
    clg_class_names names = {0};
    CLG_OK_OR_FAIL(ctx, clg_dataset_from_csv_classes(
                            ctx,
                            write_file("dsc.csv", "id;x1;x2;wine\nA;1;2;class_2\nB;3;4;class_0\n"
                                                  "C;5;6;class_1\n"),
                            &(clg_csv_options){.struct_size = sizeof(clg_csv_options),
                                               .header = -1,
                                               .label_column = -1,
                                               .delimiter = ';',
                                               .skip_columns = "id"},
                            &ds, &names));
    cr_assert(clg_dataset_size(ds) == 3 && clg_dataset_features(ds) == 2 &&
              clg_dataset_targets(ds) == 1 && clg_dataset_classes(ds) == 3);
    float X[6], Y[3];
    const float Xe[6] = {1, 2, 3, 4, 5, 6}, Ye[3] = {2, 0, 1};
    CLG_OK_OR_FAIL(ctx, clg_dataset_download(ds, X, Y));
    cr_expect_arr_eq(X, Xe, sizeof Xe);
    cr_expect_arr_eq(Y, Ye, sizeof Ye);
    cr_assert_eq(names.count, 3);
    cr_expect_str_eq(names.names[0], "class_0");
    cr_expect_str_eq(names.names[2], "class_2");
    clg_dataset_destroy(ds);
    clg_class_names_free(&names);
    clg_class_names_free(&names); /* twice, and NULL, are fine */
    clg_class_names_free(NULL);

    /* Errors go to the context; nothing comes back. */
    ds = (clg_dataset *)1;
    names.count = 7;
    cr_expect_eq(clg_dataset_from_csv_classes(ctx, write_file("dsc.csv", "1,2,0\n3,4,-2\n"), NULL,
                                              &ds, &names),
                 CLG_ERR_FORMAT);
    cr_expect(ds == NULL && names.count == 0 && names.names == NULL);
    cr_expect(strstr(clg_last_error(ctx), "row 2: label -2 is not a class id"), "%s",
              clg_last_error(ctx));
    cr_expect_eq(clg_dataset_from_csv_classes(NULL, "x.csv", NULL, &ds, NULL),
                 CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}
