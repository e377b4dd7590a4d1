/* clgrad: training (clg_fit), evaluation and prediction; checkpoints. Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_TRAIN_H
#define CLGRAD_API_TRAIN_H

#include "clgrad/data.h"
#include "clgrad/optim.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- training */

/* Called after each epoch with the 1-based epoch and the mean loss over the
 * whole training set (per element, of the fit's loss kind; per sample for
 * CLG_LOSS_SOFTMAX_XENT); NaN when clg_fit_options.epoch_loss is 0. */
typedef void (*clg_epoch_callback)(size_t epoch, double train_loss, void *user);
/* Prints "epoch 1, loss 0.000203" to stdout, like d2l ("epoch 1" for a NaN loss). */
CLG_API void clg_print_epoch(size_t epoch, double train_loss, void *user);
/* Records the losses instead, into the clg_epoch_log user points to: loss[count++] while
 * count < capacity (later ones are counted in `dropped`), last the last epoch. Reading no
 * parameters, it lets the next epoch run meanwhile, as the printer does. */
typedef struct clg_epoch_log {
    double *loss;
    size_t capacity, count, dropped, last;
} clg_epoch_log;
CLG_API void clg_record_epoch(size_t epoch, double train_loss, void *user);

/* Called after each epoch's validation (clg_fit_options.validation or validation_fraction)
 * with the 1-based epoch, the validation set's mean loss and its accuracy (-1 for
 * regression data). */
typedef void (*clg_validation_callback)(size_t epoch, double loss, double accuracy, void *user);
/* Prints "epoch 1, validation loss 0.000211" (", accuracy 0.9500" for classes) to stdout. */
CLG_API void clg_print_validation(size_t epoch, double loss, double accuracy, void *user);

/* ------------------------------------------------------ learning-rate schedules */

/* How clg_fit sets each parameter group's learning rate per epoch, from the rate the group
 * had when clg_fit was called (its base rate; clg_fit sets it back when it returns). Epochs
 * count from 0 and across resumed fits (clg_fit_options.first_epoch). Like PyTorch's
 * SequentialLR([LinearLR(warmup_start, 1, total_iters=warmup), MAIN], milestones=[warmup]):
 *   epoch e < warmup:  base · (warmup_start + (1 − warmup_start) · e / warmup)
 *   then, with t = e − warmup, MAIN:
 *     CONSTANT  base
 *     STEP      base · gamma^floor(t / step_size)                      (StepLR)
 *     COSINE    eta_min + (base − eta_min) · (1 + cos(π · min(t, T) / T)) / 2
 *               with T = t_max, or when t_max is 0 the fit's epochs less the warm-up
 *               (first_epoch + epochs − warmup; set t_max to resume a cosine fit exactly) */
typedef enum clg_schedule_kind {
    CLG_SCHEDULE_CONSTANT = 0,
    CLG_SCHEDULE_STEP = 1,
    CLG_SCHEDULE_COSINE = 2
} clg_schedule_kind;
typedef struct clg_schedule {
    clg_schedule_kind kind; /* default CONSTANT */
    size_t step_size;       /* STEP: epochs between decays (>= 1; no default, as StepLR) */
    double gamma;           /* STEP: the decay factor, default 0.1 */
    size_t t_max;           /* COSINE: epochs to reach eta_min; default 0 (see above) */
    double eta_min;         /* COSINE: the last learning rate, default 0 */
    size_t warmup;          /* epochs of linear warm-up first, default 0 */
    double warmup_start;    /* the warm-up's first factor, in (0, 1]; default 1/3 (LinearLR) */
} clg_schedule;
/* The constant schedule with the defaults above. */
CLG_API clg_schedule clg_schedule_defaults(void);
/* The rate of a group whose base rate is base_lr in epoch `epoch` (0-based) of a fit of
 * `total` epochs (first_epoch + epochs), by the rules above; NaN when s is not valid. */
CLG_API double clg_schedule_lr(const clg_schedule *s, double base_lr, size_t epoch, size_t total);

/* What validation found (clg_fit_options.validation_result): the epoch whose parameters the
 * model holds (on_epoch's numbering; 0 when no epoch was validated), its validation loss (NaN
 * then) and accuracy (-1 for regression data), and whether early_stop ended the fit. The
 * model holds that epoch's parameters whenever one was validated: when the fit ends, and
 * also after a cancel or a divergence (instead of the last whole or good epoch). */
typedef struct clg_validation_result {
    size_t best_epoch;
    double best_loss;
    double best_accuracy;
    int stopped_early;
} clg_validation_result;

/* ABI: struct_size, set by clg_fit_defaults(), tells the library which fields the caller
 * knows; fields are only ever appended. Always start from the defaults. */
typedef struct clg_fit_options {
    size_t struct_size;              /* sizeof(clg_fit_options) of the caller's header */
    size_t epochs;                   /* default 3 */
    size_t batch_size;               /* default 10 */
    int shuffle;                     /* default 1 */
    int drop_last;                   /* default 0 */
    uint64_t seed;                   /* default 0: seeds the epoch permutations */
    clg_loss_kind loss;              /* default CLG_LOSS_SQUARED */
    clg_reduction reduction;         /* MEAN (default) or SUM: SUM steps with grad_scale 1/|B| */
    clg_optimizer_options optimizer; /* clg_fit given no optimizer makes one with these */
    clg_epoch_callback on_epoch;     /* default clg_print_epoch; NULL for silence */
    void *user;
    /* Optional progress report within an epoch: after every `progress_every`
     * batches (and the last) the host waits for the device, then calls it. Each
     * call is one wait, so keep it for an interactive display. Default NULL / 0. */
    void (*on_progress)(size_t epoch, size_t batch, size_t batches, void *user);
    size_t progress_every;
    /* Default 1: after each epoch, one pass over the whole training set for its loss
     * (d2l's linear regression), which also stops the fit with CLG_ERR_NONFINITE once
     * it diverges. 0: no such pass (on_epoch gets NaN, final_loss is NaN, and clg_fit
     * waits only once, at the end); a pass costs about one forward of the data. */
    int epoch_loss;
    /* Default 1e4: with epoch_loss on, the initial model's loss is computed too, and an
     * epoch whose loss exceeds diverge_factor times it stops the fit with
     * CLG_ERR_DIVERGED (a finite blow-up, which NaN checks miss). 0 turns it off. */
    double diverge_factor;
    /* Default NULL. A flag that stops the fit once non-zero (set it from a signal handler
     * or another thread): checked before each epoch is enqueued and between the minibatches
     * of an unfused epoch (a fused epoch, one or a few launches, runs to its end; with the
     * overlapped loss the next epoch is already enqueued when on_epoch runs). clg_fit then
     * returns CLG_ERR_CANCELLED; with epoch_loss on, the model holds the parameters of the
     * last whole epoch (reported to on_epoch first; an epoch under way is undone, the
     * optimizer's state not: see clg_fit), else whatever steps ran. report->epochs_run
     * counts the whole epochs. */
    const volatile sig_atomic_t *cancel;
    /* Default: constant. The learning-rate schedule (above), applied before each epoch. */
    clg_schedule schedule;
    /* Default 0. Epochs already run, for resuming a fit from a checkpoint saved with its
     * optimizer: epoch k of this call is epoch first_epoch + k for the shuffle order (the
     * loader's first_epoch), the schedule and the callbacks, so that 2 + 2 epochs give the
     * same bits as 4 (with t_max set for a cosine schedule). */
    uint64_t first_epoch;
    /* Validation, off by default. Either a dataset of the caller's (borrowed; same features
     * and targets or classes as the training data), or validation_fraction in (0, 1): clg_fit
     * holds out that share of ds, drawn with `seed` (clg_dataset_split_stratified for class
     * ids, so each class keeps its share; clg_dataset_split otherwise), and trains on the
     * rest. After each epoch the validation loss (and accuracy) goes to on_validation, and
     * when the fit ends the model takes the parameters of the epoch with the lowest
     * validation loss (the earliest on ties; validation_result says which). */
    clg_dataset *validation;
    double validation_fraction;
    clg_validation_callback on_validation; /* default clg_print_validation; NULL for silence */
    /* Default 0 (off). With validation: stop once the validation loss has not improved on
     * its best for early_stop epochs (Keras's patience); validation_result says so. A
     * resumed fit (first_epoch) starts its tracking afresh. */
    size_t early_stop;
    /* Default NULL. With validation, filled when clg_fit returns (below). */
    clg_validation_result *validation_result;
    /* Default NULL: one process. A communicator (<clgrad/dist.h>): this process is one rank
     * of a synchronous data-parallel fit, every rank calling clg_fit with the same data,
     * model and options (docs/distributed.md). */
    const struct clg_comm *comm;
    /* Default 0: an on_epoch other than clg_print_epoch and clg_record_epoch may read or
     * save the model, so it sees the model of the epoch it reports and no epoch is enqueued
     * before it returns. 1: on_epoch only uses what it is given, as those two do, so the
     * next epoch may already run on the device meanwhile, its loss overlapped
     * (docs/performance.md; the Python binding's printing history does this). */
    int on_epoch_records_only;
    /* Default 0: with comm, the ranks sum their gradients every step (the mathematics of
     * one process at batch_size). K >= 1: periodic model averaging instead (local SGD,
     * docs/distributed.md): each rank takes steps of batch_size / size rows on its own rows
     * of the epoch (its block of the shared shuffle, or its shard), on the fused paths
     * where they apply, and every K of its steps and at each epoch's end the ranks average
     * their parameters (at the epoch's end the optimizer's state too). Needs comm. */
    size_t average_every;
} clg_fit_options;
CLG_API clg_fit_options clg_fit_defaults(void);

typedef struct clg_fit_report {
    size_t epochs_run; /* epochs of this call */
    size_t steps;
    double final_loss; /* full-set mean loss after the last epoch */
} clg_fit_report;

/* Trains m on ds. The host waits once per epoch (for the full-set loss). on_epoch(e)
 * sees the model as it was after epoch e: a callback may evaluate or save it. With
 * clg_print_epoch or no callback, a single Linear layer on a device dataset has that
 * loss computed in a second queue while the next epoch trains (same values;
 * docs/performance.md); any other callback is called before the next epoch is enqueued.
 * Classification data (clg_dataset_from_host_labels) needs loss
 * CLG_LOSS_SOFTMAX_XENT and a model with one output per class; regression data
 * a regression loss (CLG_ERR_INVALID_ARGUMENT / CLG_ERR_SHAPE otherwise).
 * opt NULL: an optimizer of opts->optimizer (SGD by default) is made for the call. report may be NULL.
 * A non-finite loss stops training with CLG_ERR_NONFINITE, one beyond diverge_factor
 * with CLG_ERR_DIVERGED; the model then holds the parameters of the last epoch whose
 * loss passed, or its initial ones (an epoch already under way is undone). The optimizer
 * is not rolled back: its state buffers and step count keep the undone steps, so save
 * such a model without it (clg_model_save(m, NULL, ...)) or resume with a fresh one. */
CLG_API clg_status clg_fit(clg_model *m, clg_dataset *ds, const clg_fit_options *opts,
                           clg_optimizer *opt, clg_fit_report *report);

typedef struct clg_eval_result {
    double loss;     /* mean per-sample loss (per element for regression losses) */
    double accuracy; /* fraction of argmax(ŷ) == label; -1 for regression data */
    size_t n;
} clg_eval_result;

/* Loss and (for classification data) accuracy of m over the whole of ds, in
 * batches, with one wait. kind must suit the data: CLG_LOSS_SOFTMAX_XENT for
 * classification data, a regression loss otherwise (CLG_ERR_INVALID_ARGUMENT);
 * the model's outputs must equal the classes (or q) (CLG_ERR_SHAPE). */
CLG_API clg_status clg_evaluate(clg_model *m, clg_dataset *ds, clg_loss_kind kind,
                                clg_eval_result *out);

/* Runs the model on host rows X[n×inputs]; writes n×outputs values to out (raw
 * logits for a classifier). Batched; one wait. n = 0 is CLG_ERR_SHAPE, NaN or
 * Inf in X is CLG_ERR_NONFINITE. */
CLG_API clg_status clg_predict(clg_model *m, const float *X, size_t n, float *out);

/* Mean loss of m over the whole of ds (per element; per sample for
 * SOFTMAX_XENT), one wait: clg_evaluate's loss. */
CLG_API clg_status clg_evaluate_loss(clg_model *m, clg_dataset *ds, clg_loss_kind kind,
                                     double *loss);

/* ------------------------------------------------------------- checkpoints */

/* Saves m's architecture, parameters, input scaling and class names (and, if opt is not
 * NULL, the optimizer's kind, options and state buffers) to path in the versioned format
 * of docs/formats.md "Checkpoints": magic, version, layer shapes, payload, CRC32.
 * meta (may be NULL) is a short text stored alongside (the CLI keeps the loss
 * there). Atomic: written to a temporary file, fsync'ed and renamed, so a
 * failed save leaves an earlier file at path untouched. */
CLG_API clg_status clg_model_save(const clg_model *m, const clg_optimizer *opt, const char *meta,
                                  const char *path);
/* Creates a model from a checkpoint. meta (may be NULL) receives the stored
 * text, cut to metalen. Any corruption, truncation or unknown version is
 * CLG_ERR_FORMAT; nothing is returned then. */
CLG_API clg_status clg_model_load(clg_context *ctx, const char *path, clg_model **out, char *meta,
                                  size_t metalen);
/* What a checkpoint holds besides the model (clg_model_load gives that): read and validated
 * as clg_model_load does, no context needed (errors through clg_last_error(NULL)). */
typedef struct clg_checkpoint_info {
    unsigned version;             /* format version (1 or 2) */
    int has_optimizer;            /* optimizer state stored; then: */
    clg_optimizer_kind optimizer; /* its kind */
    size_t optimizer_groups;      /* its parameter groups */
    uint64_t optimizer_steps;     /* steps it had taken */
} clg_checkpoint_info;
CLG_API clg_status clg_checkpoint_inspect(const char *path, clg_checkpoint_info *info);
/* The meta text of a checkpoint (clg_model_save's), read and validated as clg_model_load does,
 * no context needed: into meta, cut to len - 1 bytes and NUL-terminated (len > 0). */
CLG_API clg_status clg_checkpoint_meta(const char *path, char *meta, size_t len);

/* Loads parameters, the input scaling and class names (the file's, or none), and the
 * optimizer state when opt is not NULL and the file has it, into an existing model; a different architecture is CLG_ERR_SHAPE with
 * a message naming the first difference, and changes nothing. */
CLG_API clg_status clg_model_load_into(clg_model *m, clg_optimizer *opt, const char *path);

#ifdef __cplusplus
}
#endif
#endif
