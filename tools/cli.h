/* Subcommands of the clgrad command-line tool. */
#ifndef CLGRAD_CLI_H
#define CLGRAD_CLI_H
int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
#include "clgrad.h"
/* Prints "clgrad: STATUS: message" (ctx's message, else the thread's) and returns 1. */
int cli_fail(const clg_context *ctx, clg_status s);
/* A context on $CLGRAD_DEVICE or the default device; NULL after printing why. */
clg_context *cli_context(void);
/* The same on the device `device` names (NULL: as cli_context). */
clg_context *cli_context_on(const char *device);
int cmd_tune(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_version(int argc, char **argv);
#endif
