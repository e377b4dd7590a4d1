/* clgrad: command-line front end of the library. */
#include <stdio.h>
#include <string.h>

#include "clgrad.h"
#include "cli.h"
#include "cli_opt.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices, marking the one chosen now"},
    {"train", cmd_train, "train linear, softmax or MLP models by minibatch SGD"},
    {"eval", cmd_eval, "loss, MSE/RMSE/R² or accuracy and confusion matrix of a saved model"},
    {"predict", cmd_predict, "a saved model's output per row: class name or id, probabilities"},
    {"info", cmd_info, "what a checkpoint holds: layers, parameters, scaling, class names"},
    {"solve", cmd_solve, "closed-form least squares (normal equations, Cholesky) on the same data"},
    {"selftest", cmd_selftest, "run every kernel against a double-precision reference"},
    {"tune", cmd_tune, "tune CLBlast's SGEMM for the device, store and apply the result"},
    {"plot", cmd_plot, "SVG scatter of one feature against the target, with a model's line"},
    {"version", cmd_version, "print the version of clgrad"},
};

int cmd_version(int argc, char **argv)
{
    static const cli_opt none[] = {CLI_END};
    cli_group groups[] = {{"options", none, NULL, NULL, NULL}};
    cli_command c = {.name = "version",
                     .summary = "Prints the version of clgrad (the same as clgrad --version).",
                     CLI_GROUPS(groups)};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    printf("clgrad %s\n", clg_version());
    return 0;
}

int cli_fail(const clg_context *ctx, clg_status s)
{
    const char *msg = ctx ? clg_last_error(ctx) : "";
    fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), msg[0] ? msg : clg_last_error(NULL));
    return 1;
}

/* The first compile from source of a process (a first run, or a new device or driver)
 * takes seconds on some drivers: said once, on stderr, before it starts. user: the
 * clg_context * being made (set by the time a program is built). */
static void on_build(const char *program, const char *device, void *user)
{
    static int said;
    clg_context *const *ctx = user;
    (void)program;
    if (said) return;
    said = 1;
    if (*ctx && !clg_context_cache_dir(*ctx)[0])
        fprintf(stderr, "clgrad: compiling kernels for %s (the program cache is off)\n", device);
    else
        fprintf(stderr, "clgrad: compiling kernels for %s, once (later runs use the cache)\n",
                device);
    fflush(stderr);
}

clg_context *cli_context(void) { return cli_context_on(NULL); }

clg_context *cli_context_on(const char *device)
{
    static clg_context *ctx;
    ctx = NULL;
    clg_context_options o = clg_context_options_defaults();
    o.device = device;
    o.on_build = on_build;
    o.on_build_user = &ctx;
    clg_status s = clg_context_create_with(&ctx, &o);
    if (s != CLG_OK) cli_fail(NULL, s);
    return ctx;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: clgrad COMMAND [options]    (clgrad COMMAND --help lists its options)\n"
               "       clgrad --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f,
            "\nCLGRAD_DEVICE selects the device: gpu, cpu, accelerator, P:D or part of a name.\n");
}

static int unknown_command(const char *name)
{
    const char *names[sizeof commands / sizeof *commands];
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) names[i] = commands[i].name;
    const char *near = cli_suggest(name, names, sizeof commands / sizeof *commands);
    fprintf(stderr, "clgrad: unknown command '%.80s'%s%s%s (see clgrad --help)\n", name,
            near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    char *cmd = argv[1], **args = argv + 1, help[] = "--help", *sub[3] = {NULL, help, NULL};
    int n = argc - 1;
    if (!strcmp(cmd, "help") && argc > 2) { /* clgrad help CMD: clgrad CMD --help */
        cmd = sub[0] = argv[2];
        args = sub;
        n = 2;
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) return cmd_version(n, args);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(n, args);
    return unknown_command(cmd);
}
