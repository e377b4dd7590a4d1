/* Numbers on the command line (cli_num.h): checked before they are cast. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_num.h"

static int fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The whole text as a finite double. Messages quote at most 40 bytes of it. */
static int whole_double(const char *text, double *out, char *why, size_t n)
{
    if (!text) return fail(why, n, "needs a value");
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end) return fail(why, n, "'%.40s' is not a number", text);
    if (!isfinite(v)) return fail(why, n, "'%.40s' is not a finite number", text);
    *out = v;
    return 0;
}

/* An optional sign, then one or more decimal digits, nothing else. */
static int plain_integer(const char *t, int allow_minus)
{
    if (*t == '+' || (allow_minus && *t == '-')) t++;
    if (!*t) return 0;
    for (; *t; t++)
        if (*t < '0' || *t > '9') return 0;
    return 1;
}

int cli_real(const char *text, double min, double max, double *out, char *why, size_t n)
{
    double v = 0;
    if (whole_double(text, &v, why, n)) return -1;
    if (!(v >= min)) return fail(why, n, "'%.40s' is below the minimum %g", text, min);
    if (!(v <= max)) return fail(why, n, "'%.40s' is above the limit %g", text, max);
    *out = v;
    return 0;
}

int cli_int(const char *text, long long min, long long max, long long *out, char *why, size_t n)
{
    if (!text) return fail(why, n, "needs a value");
    long long v;
    if (plain_integer(text, 1)) { /* exact, whatever its size */
        errno = 0;
        v = strtoll(text, NULL, 10);
        if (errno == ERANGE)
            return text[0] == '-' ? fail(why, n, "'%.40s' is below the minimum %lld", text, min)
                                  : fail(why, n, "'%.40s' is above the limit %lld", text, max);
    } else {
        double x = 0;
        if (whole_double(text, &x, why, n)) return -1;
        if (x != floor(x)) return fail(why, n, "'%.40s' is not an integer", text);
        if (!(x >= (double)min))
            return fail(why, n, "'%.40s' is below the minimum %lld", text, min);
        /* (double)max may round up to 2^63, which no long long holds. */
        if (!(x <= (double)max) || x >= 0x1p63)
            return fail(why, n, "'%.40s' is above the limit %lld", text, max);
        v = (long long)x;
    }
    if (v < min) return fail(why, n, "'%.40s' is below the minimum %lld", text, min);
    if (v > max) return fail(why, n, "'%.40s' is above the limit %lld", text, max);
    *out = v;
    return 0;
}

int cli_u64(const char *text, uint64_t max, uint64_t *out, char *why, size_t n)
{
    if (!text) return fail(why, n, "needs a value");
    unsigned long long v;
    if (plain_integer(text, 0)) { /* no '-': strtoull would wrap it around */
        errno = 0;
        v = strtoull(text, NULL, 10);
        if (errno == ERANGE)
            return fail(why, n, "'%.40s' is above the limit %llu", text, (unsigned long long)max);
    } else {
        double x = 0;
        if (whole_double(text, &x, why, n)) return -1;
        if (x != floor(x)) return fail(why, n, "'%.40s' is not an integer", text);
        if (!(x >= 0)) return fail(why, n, "'%.40s' is below the minimum 0", text);
        if (!(x < 0x1p64))
            return fail(why, n, "'%.40s' is above the limit %llu", text, (unsigned long long)max);
        v = (unsigned long long)x;
    }
    if (v > max)
        return fail(why, n, "'%.40s' is above the limit %llu", text, (unsigned long long)max);
    *out = (uint64_t)v;
    return 0;
}

int cli_synthetic(const char *text, size_t *rows, size_t *cols, char *why, size_t n)
{
    if (!text) return fail(why, n, "needs a value (N or NxD)");
    const char *x = strchr(text, 'x');
    char head[64], sub[160];
    size_t len = x ? (size_t)(x - text) : strlen(text);
    if (len >= sizeof head) return fail(why, n, "'%.40s' is not N or NxD", text);
    memcpy(head, text, len);
    head[len] = '\0';
    long long r, c = 2;
    if (cli_int(head, 1, CLI_MAX_ROWS, &r, sub, sizeof sub))
        return fail(why, n, "N: %s (N or NxD)", sub);
    if (x && cli_int(x + 1, 1, CLI_MAX_FEATURES, &c, sub, sizeof sub))
        return fail(why, n, "D: %s (N or NxD)", sub);
    *rows = (size_t)r;
    *cols = (size_t)c;
    return 0;
}

int cli_class_id(float v, int32_t *out, char *why, size_t n)
{
    if (!(v >= 0.0f && v <= (float)CLI_MAX_CLASS_ID) || v != floorf(v))
        return fail(why, n, "label %g is not a class id (an integer in 0..%d)", (double)v,
                    CLI_MAX_CLASS_ID);
    *out = (int32_t)v;
    return 0;
}

const char *cli_figure(double x, char *buf, size_t n)
{
    double a = fabs(x);
    if (x == 0 || (a >= 1e-5 && a < 1e6))
        snprintf(buf, n, "%f", x);
    else
        snprintf(buf, n, "%g", x);
    return buf;
}
