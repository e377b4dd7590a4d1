/* The JSON writer of json.h. */
#include <math.h>
#include <string.h>

#include "json.h"

void json_init(json_writer *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Before a value: the comma after the previous member of an array; in an object the key
 * must have come. 0 when the value may not be written (misuse marks the writer). */
static int before_value(json_writer *j)
{
    if (j->failed) return 0;
    if (j->depth > 0 && j->kind[j->depth - 1] == '{') {
        if (!j->keyed) return j->failed = 1, 0;
        j->keyed = 0;
        return 1;
    }
    if (j->depth > 0 && j->count[j->depth - 1]++) fputc(',', j->f);
    return 1;
}

/* After a value: at depth 0 the value is whole; it ends its line. */
static void after_value(json_writer *j)
{
    if (j->depth == 0) fputc('\n', j->f);
}

static void container_begin(json_writer *j, char kind)
{
    if (!before_value(j)) return;
    if (j->depth == JSON_MAX_DEPTH) {
        j->failed = 1;
        return;
    }
    j->kind[j->depth] = kind;
    j->count[j->depth++] = 0;
    fputc(kind, j->f);
}

static void container_end(json_writer *j, char kind)
{
    if (j->failed) return;
    if (j->depth == 0 || j->kind[j->depth - 1] != kind || j->keyed) {
        j->failed = 1;
        return;
    }
    j->depth--;
    fputc(kind == '{' ? '}' : ']', j->f);
    after_value(j);
}

void json_object_begin(json_writer *j) { container_begin(j, '{'); }
void json_object_end(json_writer *j) { container_end(j, '{'); }
void json_array_begin(json_writer *j) { container_begin(j, '['); }
void json_array_end(json_writer *j) { container_end(j, '['); }

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when s[0] starts none. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return n;
}

static void write_string(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                                      : NULL;
        size_t n;
        if (esc) {
            fputs(esc, f);
            n = 1;
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
            n = 1;
        } else if ((n = utf8_length(s)) != 0) {
            fwrite(s, 1, n, f);
        } else {
            fputs("\\ufffd", f); /* not UTF-8: the replacement character */
            n = 1;
        }
        s += n;
    }
    fputc('"', f);
}

void json_key(json_writer *j, const char *key)
{
    if (j->failed) return;
    if (j->depth == 0 || j->kind[j->depth - 1] != '{' || j->keyed || !key) {
        j->failed = 1;
        return;
    }
    if (j->count[j->depth - 1]++) fputc(',', j->f);
    write_string(j->f, key);
    fputc(':', j->f);
    j->keyed = 1;
}

void json_string(json_writer *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    if (!before_value(j)) return;
    write_string(j->f, s);
    after_value(j);
}

void json_number(json_writer *j, double x)
{
    if (!isfinite(x)) {
        json_null(j);
        return;
    }
    if (!before_value(j)) return;
    fprintf(j->f, "%.9g", x);
    after_value(j);
}

void json_int(json_writer *j, long long x)
{
    if (!before_value(j)) return;
    fprintf(j->f, "%lld", x);
    after_value(j);
}

void json_bool(json_writer *j, int b)
{
    if (!before_value(j)) return;
    fputs(b ? "true" : "false", j->f);
    after_value(j);
}

void json_null(json_writer *j)
{
    if (!before_value(j)) return;
    fputs("null", j->f);
    after_value(j);
}

void json_field_str(json_writer *j, const char *key, const char *s)
{
    json_key(j, key);
    json_string(j, s);
}

void json_field_num(json_writer *j, const char *key, double x)
{
    json_key(j, key);
    json_number(j, x);
}

void json_field_int(json_writer *j, const char *key, long long x)
{
    json_key(j, key);
    json_int(j, x);
}

void json_field_bool(json_writer *j, const char *key, int b)
{
    json_key(j, key);
    json_bool(j, b);
}

int json_failed(json_writer *j)
{
    if (fflush(j->f) != 0 || ferror(j->f)) j->failed = 1;
    return j->failed;
}
