/* clgrad — linear neural networks (d2l chapter 3) trained on any OpenCL device.
 *
 * Conventions
 *  - Every public symbol starts with clg_ / CLG_. Handles are opaque.
 *  - Every fallible call returns clg_status; outputs go through pointer arguments.
 *    clg_last_error(ctx) holds a sentence describing the last failure on that
 *    context; calls that have no context (device listing, context creation) keep
 *    their message per thread, read with clg_last_error(NULL).
 *  - The library never prints (unless a callback it was given does) and never
 *    calls exit() or abort().
 *  - Ownership: every clg_x_create has a clg_x_destroy that accepts NULL. Host
 *    arrays passed in are copied and stay the caller's.
 *  - Threads: a context and everything made from it are used by one thread at a
 *    time. Separate contexts are independent. The on-disk program cache is safe
 *    across threads and processes (files are written atomically).
 *  - Matrices are float32, row-major. A Linear layer's weight is stored d×q
 *    (inputs × outputs), so the forward pass is Y = X·W + b.
 */
#ifndef CLGRAD_H
#define CLGRAD_H

/* The API by topic; each header may also be included alone. */
#include "clgrad/core.h"   /* status, errors, devices, contexts, tensors */
#include "clgrad/data.h"   /* datasets, loaders, data files */
#include "clgrad/nn.h"     /* models, losses */
#include "clgrad/optim.h"  /* optimizers */
#include "clgrad/train.h"  /* fit, evaluate, predict, checkpoints */
#include "clgrad/dist.h"   /* data-parallel training over a communicator */
#include "clgrad/extras.h" /* closed form, CLBlast tuning, self-test */

#endif
