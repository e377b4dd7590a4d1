/* A tiny JSON writer for the --json output of the CLI (eval, solve, info; train).
 *
 * It writes compact JSON to a FILE*, one top-level value per line (JSON Lines: a command
 * that reports several values, one per epoch say, writes one value per line). The writer
 * puts the commas and the colons; the caller says what comes next:
 *
 *     json_writer j;
 *     json_init(&j, stdout);
 *     json_object_begin(&j);
 *     json_field_str(&j, "command", "eval");
 *     json_field_num(&j, "loss", 0.25);           // "loss":0.25
 *     json_key(&j, "confusion");
 *     json_array_begin(&j);
 *     json_int(&j, 3);
 *     json_array_end(&j);
 *     json_object_end(&j);                        // ends the line: {"command":...}\n
 *     if (json_failed(&j)) ...                    // misuse, or the stream's error
 *
 * Strings are escaped as JSON needs (the quote, the backslash, control characters as \n or
 * \u00XX); bytes that are not valid UTF-8 become U+FFFD, so the output always parses.
 * Numbers are printed "%.9g" (a float round-trips); NaN and infinities, which JSON lacks,
 * are written null. Counts go through json_int (exact beyond 2^53 too). Nesting is limited
 * to JSON_MAX_DEPTH; a value where a key is needed (or the reverse), an end that does not
 * match its begin, or too deep a nesting is misuse: it marks the writer failed and writes
 * nothing more. Not thread-safe (one writer per stream). */
#ifndef CLGRAD_JSON_H
#define CLGRAD_JSON_H
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    FILE *f;
    int depth;                 /* open objects and arrays */
    char kind[JSON_MAX_DEPTH]; /* '{' or '[' at each depth */
    int count[JSON_MAX_DEPTH]; /* members written at each depth */
    int keyed;                 /* a key was written and awaits its value */
    int failed;                /* misuse (see above) */
} json_writer;

/* Starts a writer on f (stdout for --json). */
void json_init(json_writer *j, FILE *f);
void json_object_begin(json_writer *j);
/* Ends the object; at depth 0 also ends the line. */
void json_object_end(json_writer *j);
void json_array_begin(json_writer *j);
void json_array_end(json_writer *j);
/* The next member's name, inside an object. */
void json_key(json_writer *j, const char *key);
/* Values: a string (NULL is null), a number ("%.9g"; NaN, ±Inf: null), an integer, a
 * boolean (0: false, else true), null. A value at depth 0 ends the line. */
void json_string(json_writer *j, const char *s);
void json_number(json_writer *j, double x);
void json_int(json_writer *j, long long x);
void json_bool(json_writer *j, int b);
void json_null(json_writer *j);
/* json_key then the value. */
void json_field_str(json_writer *j, const char *key, const char *s);
void json_field_num(json_writer *j, const char *key, double x);
void json_field_int(json_writer *j, const char *key, long long x);
void json_field_bool(json_writer *j, const char *key, int b);
/* 1 after misuse or when the stream has an error (ferror), else 0. Flushes f. */
int json_failed(json_writer *j);
#endif
