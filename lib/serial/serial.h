/* serial: checkpoints. Sees optim and below. */
#ifndef CLGRAD_SERIAL_H
#define CLGRAD_SERIAL_H
#include "optim.h"

/* checkpoint.c: reads and validates the checkpoint at path exactly as clg_model_load does
 * before it creates anything; needs no context (the message goes to the thread's).
 * For tests/fuzz/fuzz_checkpoint.c. */
clg_status clg_checkpoint_check(const char *path);

#endif
