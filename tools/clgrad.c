/* clgrad: command-line front end of the library. */
#include <stdio.h>
#include <string.h>

#include "clgrad.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices, marking the one chosen now"},
    {"train", cmd_train, "train linear, softmax or MLP models by minibatch SGD"},
    {"eval", cmd_eval, "loss (and accuracy) of a saved model on a data file"},
    {"predict", cmd_predict, "outputs (or class ids) of a saved model for each row of a data file"},
    {"solve", cmd_solve, "closed-form least squares (normal equations, Cholesky) on the same data"},
    {"selftest", cmd_selftest, "run every kernel against a double-precision reference"},
    {"tune", cmd_tune, "tune CLBlast's SGEMM for the device, store and apply the result"},
    {"plot", cmd_plot, "SVG scatter of one feature against the target, with a model's line"},
};

int cli_fail(const clg_context *ctx, clg_status s)
{
    const char *msg = ctx ? clg_last_error(ctx) : "";
    fprintf(stderr, "clgrad: %s: %s\n", clg_status_string(s), msg[0] ? msg : clg_last_error(NULL));
    return 1;
}

clg_context *cli_context(void)
{
    clg_context *ctx = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s != CLG_OK) cli_fail(NULL, s);
    return ctx;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: clgrad COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f,
            "\nCLGRAD_DEVICE selects the device: gpu, cpu, accelerator, P:D or part of a name.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("clgrad %s\n", clg_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "clgrad: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
