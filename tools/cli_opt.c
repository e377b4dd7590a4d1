/* The option parser of the clgrad CLI (cli_opt.h): tables in, values and help out. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_num.h"
#include "cli_opt.h"

/* ---------------------------------------------------------------- members */

static void *member(const cli_group *g, const cli_opt *o) { return (char *)g->base + o->offset; }

/* The integers a member of type t holds (within long long). */
static void type_range(cli_type t, long long *lo, long long *hi)
{
    switch (t) {
    case CLI_T_INT:
        *lo = INT_MIN, *hi = INT_MAX;
        break;
    case CLI_T_UINT:
        *lo = 0, *hi = UINT_MAX;
        break;
    case CLI_T_LONG:
        *lo = LONG_MIN, *hi = LONG_MAX;
        break;
    case CLI_T_ULONG:
    case CLI_T_ULLONG:
        *lo = 0, *hi = LLONG_MAX;
        break;
    case CLI_T_LLONG:
        *lo = LLONG_MIN, *hi = LLONG_MAX;
        break;
    default:
        *lo = 1, *hi = 0; /* nothing: a table error */
    }
}

static void store_int(void *p, cli_type t, long long v)
{
    switch (t) {
    case CLI_T_INT:
        *(int *)p = (int)v;
        break;
    case CLI_T_UINT:
        *(unsigned *)p = (unsigned)v;
        break;
    case CLI_T_LONG:
        *(long *)p = (long)v;
        break;
    case CLI_T_ULONG:
        *(unsigned long *)p = (unsigned long)v;
        break;
    case CLI_T_LLONG:
        *(long long *)p = v;
        break;
    case CLI_T_ULLONG:
        *(unsigned long long *)p = (unsigned long long)v;
        break;
    default:
        break;
    }
}

/* The member's value as text (the default the help shows); 0 when it has none. */
static int member_text(const cli_group *g, const cli_opt *o, char *buf, size_t n)
{
    const void *p = member(g, o);
    switch (o->type) {
    case CLI_T_INT:
        snprintf(buf, n, "%d", *(const int *)p);
        break;
    case CLI_T_UINT:
        snprintf(buf, n, "%u", *(const unsigned *)p);
        break;
    case CLI_T_LONG:
        snprintf(buf, n, "%ld", *(const long *)p);
        break;
    case CLI_T_ULONG:
        snprintf(buf, n, "%lu", *(const unsigned long *)p);
        break;
    case CLI_T_LLONG:
        snprintf(buf, n, "%lld", *(const long long *)p);
        break;
    case CLI_T_ULLONG:
        snprintf(buf, n, "%llu", *(const unsigned long long *)p);
        break;
    case CLI_T_FLOAT:
        snprintf(buf, n, "%g", (double)*(const float *)p);
        break;
    case CLI_T_DOUBLE:
        snprintf(buf, n, "%g", *(const double *)p);
        break;
    case CLI_T_STR:
        if (!*(const char *const *)p) return 0;
        snprintf(buf, n, "%s", *(const char *const *)p);
        break;
    default:
        return 0;
    }
    if (o->kind != CLI_K_ENUM) return 1;
    long long v = strtoll(buf, NULL, 10);
    for (const cli_word *w = o->words; w->word; w++)
        if (w->value == v) return snprintf(buf, n, "%s", w->word), 1;
    return 0;
}

/* ---------------------------------------------------------------- values */

/* "a, b or c" of an enum's words. */
static void word_list(const cli_opt *o, const char *sep, const char *last, char *buf, size_t n)
{
    size_t len = 0, count = 0;
    buf[0] = '\0';
    while (o->words[count].word) count++;
    for (size_t i = 0; i < count && len < n; i++) {
        const char *s = i == 0 ? "" : i + 1 == count ? last : sep;
        len += (size_t)snprintf(buf + len, n - len, "%s%s", s, o->words[i].word);
    }
}

static int parse_enum(const cli_opt *o, const char *text, void *p, char *why, size_t n)
{
    for (const cli_word *w = o->words; w->word; w++) {
        if (strcmp(text, w->word)) continue;
        store_int(p, o->type, w->value);
        return 0;
    }
    char words[256];
    word_list(o, ", ", " or ", words, sizeof words);
    snprintf(why, n, "'%.40s' is not %s", text, words);
    return -1;
}

static int parse_int(const cli_opt *o, const char *text, void *p, char *why, size_t n)
{
    long long lo, hi, v;
    type_range(o->type, &lo, &hi);
    if (o->lo > lo) lo = o->lo;
    if (o->hi < hi) hi = o->hi;
    if (cli_int(text, lo, hi, &v, why, n)) return -1;
    store_int(p, o->type, v);
    return 0;
}

static int parse_real(const cli_opt *o, const char *text, void *p, char *why, size_t n)
{
    int single = o->type == CLI_T_FLOAT;
    double lo = o->rlo, hi = o->rhi, v;
    if (single && lo < -FLT_MAX) lo = -FLT_MAX; /* finite as a float too */
    if (single && hi > FLT_MAX) hi = FLT_MAX;
    if (cli_real(text, lo, hi, &v, why, n)) return -1;
    if (single)
        *(float *)p = (float)v;
    else
        *(double *)p = v;
    return 0;
}

/* Reads text into the option's member; -1 with the reason in why. */
static int parse_value(const cli_group *g, const cli_opt *o, const char *text, char *why, size_t n)
{
    void *p = member(g, o);
    uint64_t u;
    switch (o->kind) {
    case CLI_K_FLAG:
        store_int(p, o->type, o->lo);
        return 0;
    case CLI_K_INT:
        return parse_int(o, text, p, why, n);
    case CLI_K_REAL:
        return parse_real(o, text, p, why, n);
    case CLI_K_U64:
        if (cli_u64(text, o->umax, &u, why, n)) return -1;
        if (o->type == CLI_T_ULONG)
            *(unsigned long *)p = (unsigned long)u;
        else
            *(unsigned long long *)p = u;
        return 0;
    case CLI_K_STR:
        *(const char **)p = text;
        return 0;
    case CLI_K_ENUM:
        return parse_enum(o, text, p, why, n);
    case CLI_K_CUSTOM:
        return o->parse(text, p, why, n);
    default:
        snprintf(why, n, "is not a known kind of option");
        return -1;
    }
}

/* ---------------------------------------------------------------- help */

/* "--epochs N", "--loss squared|mse|xent", "--no-shuffle". */
static void left_column(const cli_opt *o, char *buf, size_t n)
{
    if (o->kind == CLI_K_FLAG) {
        snprintf(buf, n, "%s", o->name);
    } else if (o->kind == CLI_K_ENUM && !o->meta) {
        char words[200];
        word_list(o, "|", "|", words, sizeof words);
        snprintf(buf, n, "%s %s", o->name, words);
    } else {
        snprintf(buf, n, "%s %s", o->name, o->meta ? o->meta : "VALUE");
    }
}

/* " (1..1000000, default 3)": the range of a number and the default, when there are. */
static void suffix(const cli_group *g, const cli_opt *o, char *buf, size_t n)
{
    char range[80] = "", def[200] = "";
    if (o->kind == CLI_K_INT && o->lo >= 0)
        snprintf(range, sizeof range, "%lld..%lld", o->lo, o->hi);
    if (o->kind == CLI_K_REAL && o->rhi >= FLT_MAX)
        snprintf(range, sizeof range, ">= %g", o->rlo);
    else if (o->kind == CLI_K_REAL)
        snprintf(range, sizeof range, "%g..%g", o->rlo, o->rhi);
    if (o->def)
        snprintf(def, sizeof def, "%s", o->def);
    else if (!member_text(g, o, def, sizeof def))
        def[0] = '\0';
    const char *sep = range[0] && def[0] ? ", " : "";
    if (range[0] || def[0])
        snprintf(buf, n, " (%s%s%s%s)", range, sep, def[0] ? "default " : "", def);
    else
        buf[0] = '\0';
}

/* Notes: each line indented by `indent` spaces. */
static void print_notes(const char *notes, int indent)
{
    for (const char *p = notes; p && *p;) {
        size_t len = strcspn(p, "\n");
        printf("%*s%.*s\n", indent, "", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* "usage: clgrad eval --model FILE --data FILE [options]" */
static void synopsis(const cli_command *c, FILE *f)
{
    fprintf(f, "usage: clgrad %s", c->name);
    int any = 0;
    for (size_t i = 0; i < c->ngroups; i++) any |= c->groups[i].opts[0].kind != CLI_K_END;
    for (const char *const *r = c->required; r && *r; r++) {
        const char *meta = "VALUE";
        for (size_t i = 0; i < c->ngroups; i++)
            for (const cli_opt *o = c->groups[i].opts; o->kind != CLI_K_END; o++)
                if (!strcmp(o->name, *r) && o->meta) meta = o->meta;
        fprintf(f, " %s %s", *r, meta);
    }
    fprintf(f, "%s", any ? " [options]" : "");
}

void cli_help(const cli_command *c)
{
    int width = 12;
    char left[256], tail[300];
    for (size_t i = 0; i < c->ngroups; i++)
        for (const cli_opt *o = c->groups[i].opts; o->kind != CLI_K_END; o++) {
            left_column(o, left, sizeof left);
            if ((int)strlen(left) > width && strlen(left) <= 26) width = (int)strlen(left);
        }
    synopsis(c, stdout);
    printf("\n%s\n", c->summary);
    for (size_t i = 0; i < c->ngroups; i++) {
        const cli_group *g = &c->groups[i];
        if (g->opts[0].kind == CLI_K_END) continue;
        printf("\n%s:\n", g->title);
        for (const cli_opt *o = g->opts; o->kind != CLI_K_END; o++) {
            left_column(o, left, sizeof left);
            suffix(g, o, tail, sizeof tail);
            if ((int)strlen(left) > width)
                printf("  %s\n  %*s", left, width, "");
            else
                printf("  %-*s", width, left);
            /* A line over 100 columns: the range and default on the next one. */
            if (4 + width + strlen(o->help) + strlen(tail) > 100 && tail[0])
                printf("  %s\n  %*s  %s\n", o->help, width, "", tail + 1);
            else
                printf("  %s%s\n", o->help, tail);
        }
        print_notes(g->notes, 2);
    }
    printf("\n  %-*s  print this help and exit\n", width, "-h, --help");
    if (c->notes) printf("\n");
    print_notes(c->notes, 0);
}

int cli_usage_error(const cli_command *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clgrad %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    synopsis(c, stderr);
    fprintf(stderr, " (see clgrad %s --help)\n", c->name);
    return 2;
}

/* ---------------------------------------------------------------- parsing */

/* The option named name[0..len), its group and flat index; NULL if none. */
static const cli_opt *find(const cli_command *c, const char *name, size_t len, const cli_group **g,
                           size_t *index)
{
    size_t k = 0;
    for (size_t i = 0; i < c->ngroups; i++)
        for (const cli_opt *o = c->groups[i].opts; o->kind != CLI_K_END; o++, k++) {
            if (strlen(o->name) != len || strncmp(o->name, name, len)) continue;
            *g = &c->groups[i];
            *index = k;
            return o;
        }
    return NULL;
}

static int unknown(const cli_command *c, const char *arg, size_t len)
{
    const char *names[CLI_MAX_OPTS + 1] = {"--help"};
    size_t n = 1;
    for (size_t i = 0; i < c->ngroups; i++)
        for (const cli_opt *o = c->groups[i].opts; o->kind != CLI_K_END && n <= CLI_MAX_OPTS; o++)
            names[n++] = o->name;
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), arg);
    const char *near = cli_suggest(word, names, n);
    fprintf(stderr, "clgrad %s: unknown option %.*s%s%s%s (see clgrad %s --help)\n", c->name,
            (int)(len < 200 ? len : 200), arg, near ? "; did you mean " : "", near ? near : "",
            near ? "?" : "", c->name);
    return 2;
}

/* Records and reads the value of option o (flat index k); 2 after a usage error. */
static int take(cli_command *c, const cli_group *g, const cli_opt *o, size_t k, const char *text)
{
    if (c->given[k] && o->kind != CLI_K_FLAG)
        return cli_usage_error(c, "%s given twice ('%.40s', then '%.40s')", o->name, c->given[k],
                               text);
    for (const cli_opt *p = g->opts; p->kind != CLI_K_END; p++)
        if (p != o && p->offset == o->offset && cli_given(c, p->name))
            return cli_usage_error(c, "%s contradicts %s", o->name, p->name);
    if (o->kind != CLI_K_FLAG && !text[0])
        return cli_usage_error(c, "%s needs a value (%s)", o->name, o->meta ? o->meta : "VALUE");
    char why[512];
    if (parse_value(g, o, text, why, sizeof why)) return cli_usage_error(c, "%s: %s", o->name, why);
    c->given[k] = text;
    return 0;
}

/* After the last argument: options that exclude each other, and the required ones. */
static int finish(cli_command *c)
{
    for (size_t i = 0; i < c->ngroups; i++)
        for (const char *const *x = c->groups[i].exclusive; x && x[0] && x[1]; x += 2)
            if (cli_given(c, x[0]) && cli_given(c, x[1]))
                return cli_usage_error(c, "%s and %s exclude each other", x[0], x[1]);
    for (const char *const *r = c->required; r && *r; r++)
        if (!cli_given(c, *r)) return cli_usage_error(c, "%s is required", *r);
    return CLI_RUN;
}

/* 1 when o's member type suits its kind (a table error is a bug: cli_parse aborts). */
static int member_fits(const cli_opt *o)
{
    int integer = o->type >= CLI_T_INT && o->type <= CLI_T_ULLONG;
    switch (o->kind) {
    case CLI_K_FLAG:
    case CLI_K_INT:
    case CLI_K_ENUM:
        return integer;
    case CLI_K_U64:
        return (o->type == CLI_T_ULONG && sizeof(unsigned long) == 8) || o->type == CLI_T_ULLONG;
    case CLI_K_REAL:
        return o->type == CLI_T_FLOAT || o->type == CLI_T_DOUBLE;
    case CLI_K_STR:
        return o->type == CLI_T_STR;
    case CLI_K_CUSTOM:
        return o->parse != NULL;
    default:
        return 0;
    }
}

static void check_tables(const cli_command *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->ngroups; i++)
        for (const cli_opt *o = c->groups[i].opts; o->kind != CLI_K_END; o++, k++)
            if (!member_fits(o) || k >= CLI_MAX_OPTS || strncmp(o->name, "--", 2)) {
                fprintf(stderr, "clgrad %s: option table error at %s\n", c->name, o->name);
                abort();
            }
}

int cli_parse(cli_command *c, int argc, char **argv)
{
    check_tables(c);
    memset(c->given, 0, sizeof c->given);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg), k = 0;
        if (!strcmp(arg, "-h") || (len == 6 && !strncmp(arg, "--help", 6))) {
            cli_help(c);
            return 0;
        }
        if (strncmp(arg, "--", 2) || len == 2)
            return cli_usage_error(c, "unexpected argument '%.80s' (options start with --)", arg);
        const cli_group *g = NULL;
        const cli_opt *o = find(c, arg, len, &g, &k);
        if (!o) return unknown(c, arg, len);
        const char *text = eq ? eq + 1 : NULL;
        if (o->kind == CLI_K_FLAG && text)
            return cli_usage_error(c, "%s takes no value (got '%.80s')", o->name, arg);
        if (o->kind == CLI_K_FLAG) text = "";
        if (!text && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))
            return cli_usage_error(c, "%s needs a value (%s)", o->name,
                                   o->meta ? o->meta : "VALUE");
        if (!text) text = argv[++i];
        if (take(c, g, o, k, text)) return 2;
    }
    return finish(c);
}

const char *cli_given(const cli_command *c, const char *name)
{
    const cli_group *g;
    size_t k;
    return find(c, name, strlen(name), &g, &k) ? c->given[k] : NULL;
}

/* ---------------------------------------------------------------- the rest */

/* Levenshtein distance of a and b (each cut to 63 characters). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a) < 63 ? strlen(a) : 63, lb = strlen(b) < 63 ? strlen(b) : 63;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3, wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, names[i]);
        if (wl >= 4 && !strncmp(names[i], word, wl)) d = 1; /* a word it starts */
        if (d < best_d) best = names[i], best_d = d;
    }
    return best;
}

int cli_output_check(const char *path, int replace, char *why, size_t n)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) return snprintf(why, n, "'%.200s' is a directory", path), -1;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0)
        return snprintf(why, n, "directory '%.200s' %s", dir,
                        errno == ENOENT ? "does not exist" : strerror(errno)),
               -1;
    if (!S_ISDIR(st.st_mode)) return snprintf(why, n, "'%.200s' is not a directory", dir), -1;
    if (exists && !replace) {
        if (access(path, W_OK) != 0) return snprintf(why, n, "'%.200s' is not writable", path), -1;
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0)
        return snprintf(why, n, "directory '%.200s' is not writable", dir), -1;
    return 0;
}
