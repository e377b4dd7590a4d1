/* The one option parser of the clgrad CLI. A subcommand declares its options as static
 * tables of cli_opt: the name, the kind of value (flag, integer or real with a range,
 * string, word of a list, or a custom parser), a line of help and where the value goes
 * (a member of a struct, by offset). cli_parse reads argv against the tables of a
 * cli_command (each table with the struct it fills), accepting `--opt value` and
 * `--opt=value`, and refuses, naming the option and the value: unknown options, missing
 * values, a value given twice (or two flags that contradict each other), numbers that are
 * not finite, integral or in range (cli_num.h). The --help text is generated from the same
 * tables, with each option's default read from its member before parsing.
 *
 *     typedef struct tune_args { double seconds; size_t size; int store; } tune_args;
 *     static const cli_opt tune_opts[] = {
 *         CLI_REAL("--seconds", "S", tune_args, seconds, 1, 86400, NULL, "time budget"),
 *         CLI_INT("--size", "N", tune_args, size, 64, 8192, NULL, "matrix size"),
 *         CLI_FLAG("--no-store", tune_args, store, 0, "do not store the result"),
 *         CLI_END};
 *     tune_args a = {120, 1024, 1};
 *     cli_group g[] = {{"options", tune_opts, &a, NULL, NULL}};
 *     cli_command c = {.name = "tune", .summary = "Tunes SGEMM.", CLI_GROUPS(g)};
 *     int rc = cli_parse(&c, argc, argv);
 *     if (rc != CLI_RUN) return rc; // 0 after --help, 2 after a usage error
 */
#ifndef CLGRAD_CLI_OPT_H
#define CLGRAD_CLI_OPT_H
#include <stddef.h>
#include <stdint.h>

typedef enum cli_kind {
    CLI_K_END,    /* ends a table */
    CLI_K_FLAG,   /* no value: stores lo in an int member */
    CLI_K_INT,    /* an integer in [lo, hi] (cli_int), stored in any integer member */
    CLI_K_U64,    /* an unsigned integer in [0, umax] (cli_u64), in a 64-bit member */
    CLI_K_REAL,   /* a finite number in [rlo, rhi] (cli_real), in a float or double member */
    CLI_K_STR,    /* a non-empty string, in a const char * member (argv's, not a copy) */
    CLI_K_ENUM,   /* one of words[], its value stored in an int or enum member */
    CLI_K_CUSTOM, /* parse(text, member, why, n): 0, or -1 with the reason in why */
} cli_kind;

/* The C type of a member, found by _Generic (CLI_TYPE_OF). */
typedef enum cli_type {
    CLI_T_OTHER,
    CLI_T_INT,
    CLI_T_UINT,
    CLI_T_LONG,
    CLI_T_ULONG,
    CLI_T_LLONG,
    CLI_T_ULLONG,
    CLI_T_FLOAT,
    CLI_T_DOUBLE,
    CLI_T_STR,
} cli_type;

typedef struct cli_word {
    const char *word; /* NULL ends the list */
    int value;
} cli_word;

typedef int (*cli_parse_fn)(const char *text, void *member, char *why, size_t n);

typedef struct cli_opt {
    const char *name; /* "--epochs" */
    cli_kind kind;
    const char *meta; /* the value in the help: "N", "FILE"; NULL for a flag (and an enum:
                         its words joined by '|') */
    size_t offset;    /* the member, in the struct of the cli_group */
    cli_type type;
    long long lo, hi; /* CLI_K_INT: the range; CLI_K_FLAG: lo is the value stored */
    double rlo, rhi;  /* CLI_K_REAL */
    uint64_t umax;    /* CLI_K_U64 */
    const cli_word *words;
    cli_parse_fn parse;
    const char *def;  /* the default the help shows; NULL: the member's value before parsing
                         (none for a NULL string), "": none */
    const char *help; /* one line, without the default or range (the help adds them) */
} cli_opt;

#define CLI_TYPE_OF(p)                                                                             \
    _Generic((p), int *: CLI_T_INT, unsigned *: CLI_T_UINT, long *: CLI_T_LONG,                   \
             unsigned long *: CLI_T_ULONG, long long *: CLI_T_LLONG,                               \
             unsigned long long *: CLI_T_ULLONG, float *: CLI_T_FLOAT, double *: CLI_T_DOUBLE,     \
             const char **: CLI_T_STR, default: CLI_T_OTHER)
/* Where member M of struct T is, and its type. */
#define CLI_AT(T, M) .offset = offsetof(T, M), .type = CLI_TYPE_OF(&((T *)0)->M)

#define CLI_FLAG(NAME, T, M, VALUE, HELP)                                                          \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_FLAG, CLI_AT(T, M), .lo = VALUE, .def = "", .help = HELP       \
    }
#define CLI_INT(NAME, META, T, M, LO, HI, DEF, HELP)                                               \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_INT, .meta = META, CLI_AT(T, M), .lo = LO, .hi = HI,           \
        .def = DEF, .help = HELP                                                                   \
    }
#define CLI_U64(NAME, META, T, M, MAX, DEF, HELP)                                                  \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_U64, .meta = META, CLI_AT(T, M), .umax = MAX, .def = DEF,      \
        .help = HELP                                                                               \
    }
#define CLI_REAL(NAME, META, T, M, LO, HI, DEF, HELP)                                              \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_REAL, .meta = META, CLI_AT(T, M), .rlo = LO, .rhi = HI,        \
        .def = DEF, .help = HELP                                                                   \
    }
#define CLI_STR(NAME, META, T, M, HELP)                                                            \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_STR, .meta = META, CLI_AT(T, M), .help = HELP                  \
    }
#define CLI_ENUM(NAME, T, M, WORDS, DEF, HELP)                                                     \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_ENUM, CLI_AT(T, M), .words = WORDS, .def = DEF, .help = HELP   \
    }
#define CLI_CUSTOM(NAME, META, T, M, FN, DEF, HELP)                                                \
    {                                                                                              \
        .name = NAME, .kind = CLI_K_CUSTOM, .meta = META, CLI_AT(T, M), .parse = FN, .def = DEF,   \
        .help = HELP                                                                               \
    }
#define CLI_END                                                                                    \
    {                                                                                              \
        .name = NULL, .kind = CLI_K_END                                                            \
    }

/* A table and the struct its members are in. exclusive: pairs of option names that may
 * not be given together, NULL-ended (may be NULL); notes: lines the help prints after the
 * group's options (may be NULL). */
typedef struct cli_group {
    const char *title;
    const cli_opt *opts;
    void *base;
    const char *const *exclusive;
    const char *notes;
} cli_group;

#define CLI_MAX_OPTS 64 /* options of one command, all groups together */

typedef struct cli_command {
    const char *name;    /* "train" */
    const char *summary; /* one line, the help's second */
    const cli_group *groups;
    size_t ngroups;
    const char *const *required; /* option names that must be given, NULL-ended (or NULL) */
    const char *notes;           /* lines at the end of the help (or NULL) */
    /* Set by cli_parse: the text given for each option (flattened over the groups). */
    const char *given[CLI_MAX_OPTS];
} cli_command;

/* .groups and .ngroups of a cli_command from an array of groups. */
#define CLI_GROUPS(G) .groups = G, .ngroups = sizeof G / sizeof *G

#define CLI_RUN (-1) /* cli_parse: go on and run the command */

/* Parses argv[1..argc) (argv[0] is the command's name). Returns CLI_RUN, or the exit
 * status after printing: 0 after -h/--help (the help on stdout), 2 after a usage error
 * (the message and a one-line hint on stderr). */
int cli_parse(cli_command *c, int argc, char **argv);
/* The text given for an option ("" for a flag), or NULL when it was not given. */
const char *cli_given(const cli_command *c, const char *name);
/* Prints "clgrad CMD: message" and the hint line to stderr; returns 2. */
int cli_usage_error(const cli_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the help to stdout. */
void cli_help(const cli_command *c);
/* Checks, without creating or truncating anything, that path can be written: it is not a
 * directory, its directory exists and is writable, and (unless replace: the file is
 * replaced by a rename, as clg_model_save does) an existing file is writable. Returns 0,
 * or -1 with the reason in why. */
int cli_output_check(const char *path, int replace, char *why, size_t n);
/* The closest of names[0..n) to word (a typo of at most two edits, or a word it starts),
 * or NULL. */
const char *cli_suggest(const char *word, const char *const *names, size_t n);
#endif
