/* Subcommands of the clgrad command-line tool. */
#ifndef CLGRAD_CLI_H
#define CLGRAD_CLI_H
int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_tune(int argc, char **argv);
#endif
