/* Subcommands of the clgrad command-line tool. */
#ifndef CLGRAD_CLI_H
#define CLGRAD_CLI_H
int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
#endif
