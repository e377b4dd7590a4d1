/* Every layer's internal declarations, for the tests and the fuzz harnesses (lib/ itself
 * includes only its own layer's header, which includes those below it). Never installed. */
#ifndef CLGRAD_INTERNAL_H
#define CLGRAD_INTERNAL_H
#include "serial.h"
#include "solve.h"
#include "train.h"
#endif
