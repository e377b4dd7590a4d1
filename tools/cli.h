/* Subcommands of the clgrad command-line tool. */
#ifndef CLGRAD_CLI_H
#define CLGRAD_CLI_H
int cmd_devices(int argc, char **argv);
#endif
