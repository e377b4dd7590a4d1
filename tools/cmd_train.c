/* clgrad train: a linear, softmax or MLP model by minibatch SGD, with an optional
 * test set, standardization, checkpoint, CSV log, SVG plot and a progress bar on a
 * terminal, or JSON Lines on stdout (--json). SIGINT / SIGTERM and a diverged loss stop it
 * with the last good epoch saved. */
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "data_args.h"
#include "dist_cli.h"
#include "fit_args.h"
#include "history.h"
#include "json.h"
#include "model_spec.h"
#include "report.h"
#include "svg.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct run_state {
    clg_model *model;
    clg_dataset *train, *test;
    clg_loss_kind loss;
    size_t batch;
    history hist;
    double t0;
    double epoch_t0; /* when this epoch's training began: the last report returned */
    double prog_t;   /* the last progress report, and the samples done by then */
    size_t prog_samples;
    int progress_shown;
    clg_context *ctx;
    clg_optimizer *opt;
    const char *save; /* --save-every: a checkpoint every save_every epochs, but the last */
    size_t save_every, epochs;
    char meta[512];
    clg_status failed;          /* an evaluation, log row or checkpoint in on_epoch failed */
    volatile sig_atomic_t stop; /* then set (or by SIGINT / SIGTERM): the fit stops */
    float *mean, *scale;        /* --standardize: the training set's, per feature (else NULL) */
    int far;                    /* without it: features far from unit scale (far_feature) */
    size_t far_j;               /* the furthest, its mean and std */
    float far_mean, far_std;
    double initial;        /* then: the initial model's training loss */
    int json;              /* --json: JSON Lines on stdout instead of the text */
    int fitted;            /* clg_fit ran: with --json the run ends with an "end" object */
    clg_status fit_status; /* what clg_fit returned */
    const char *saved;     /* the --save path once the run's last checkpoint is written */
    history_row pend;      /* the epoch being reported (on_epoch, then on_validation) */
    size_t pend_epoch;
    double pend_rate;
    clg_status pend_status;   /* its test evaluation's */
    size_t rows;              /* the rows clg_fit trains on (less --val's) */
    size_t last_epoch;        /* the last epoch reported */
    clg_validation_result vr; /* clg_fit's, with --val */
    double shard_acc;         /* --shard: the training accuracy over every rank's shard */
} run_state;

/* SIGINT / SIGTERM during the fit: the signal, and the flag clg_fit reads (cancel). */
static volatile sig_atomic_t caught_signal;
static volatile sig_atomic_t *cancel_flag;

static void on_signal(int sig)
{
    caught_signal = sig;
    *cancel_flag = 1;
}

/* Catches SIGINT and SIGTERM (not one ignored at start, as under nohup) until
 * release_signals; SA_RESETHAND: a second one ends the process at once. */
static void catch_signals(volatile sig_atomic_t *flag, struct sigaction old[2])
{
    const int sigs[2] = {SIGINT, SIGTERM};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    cancel_flag = flag;
    for (int i = 0; i < 2; i++)
        if (sigaction(sigs[i], NULL, &old[i]) == 0 && old[i].sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
}

static void release_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* --save: with --standardize the checkpoint takes raw rows. The scaling is on the model for
 * the save only: training runs on the standardized sets (the fused paths take no scaling).
 * After a stop the optimizer is left out: clg_fit rolled the parameters back, not it. */
static clg_status save_model(run_state *r, const char *path, size_t epoch, int with_optimizer)
{
    size_t d = clg_model_inputs(r->model);
    char meta[sizeof r->meta + 32]; /* and the epoch it holds, for --resume */
    snprintf(meta, sizeof meta, "%sepochs=%zu\n", r->meta, epoch);
    clg_status s = r->mean ? clg_model_set_input_scaling(r->model, r->mean, r->scale, d) : CLG_OK;
    if (s == CLG_OK) s = clg_model_save(r->model, with_optimizer ? r->opt : NULL, meta, path);
    if (r->mean) {
        clg_status u = clg_model_set_input_scaling(r->model, NULL, NULL, 0);
        if (s == CLG_OK) s = u;
    }
    return s;
}

static void clear_progress(run_state *r)
{
    if (r->progress_shown) fprintf(stderr, "\r\033[K");
    r->progress_shown = 0;
}

static void on_progress(size_t epoch, size_t batch, size_t batches, void *user)
{
    run_state *r = user;
    /* The rate since the previous report (each report follows a wait for the device),
     * not since the fit or the epoch began: what the device does now. */
    double t = now_s();
    size_t n = r->rows, samples = batch * r->batch < n ? batch * r->batch : n;
    double dt = t - r->prog_t, rate = dt > 0 ? (double)(samples - r->prog_samples) / dt : 0.0;
    r->prog_t = t;
    r->prog_samples = samples;
    int width = 30, fill = (int)(width * batch / batches);
    fprintf(stderr, "\repoch %zu [%.*s%*s] %zu/%zu  %.0f samples/s", epoch, fill,
            "##############################", width - fill, "", batch, batches, rate);
    char fig[32];
    if (r->hist.count)
        fprintf(stderr, "  last loss %s",
                cli_figure(r->hist.row[r->hist.count - 1].train_loss, fig, sizeof fig));
    r->progress_shown = 1;
}

/* A failure inside on_epoch: printed now (clg_fit's cancel would replace the message),
 * and the fit stops before the next epoch. */
static void epoch_failed(run_state *r, clg_status s, int print)
{
    if (print) cli_fail(r->ctx, s);
    r->failed = s;
    r->stop = 1;
}

/* "epoch 1, loss 0.000203", then the test loss and accuracy (after a test evaluation:
 * tested) and the validation loss and accuracy (NaN: none), then samples/s. */
static void epoch_text(size_t epoch, const history_row *h, int tested, double rate)
{
    char fig[32];
    printf("epoch %zu, loss %s", epoch, cli_figure(h->train_loss, fig, sizeof fig));
    if (tested) {
        printf(", test loss %s", cli_figure(h->test_loss, fig, sizeof fig));
        if (!isnan(h->test_acc)) printf(", test acc %.4f", h->test_acc);
    }
    if (!isnan(h->val_loss)) {
        printf(", val loss %s", cli_figure(h->val_loss, fig, sizeof fig));
        if (!isnan(h->val_acc)) printf(", val acc %.4f", h->val_acc);
    }
    printf(", %.0f samples/s\n", rate);
    fflush(stdout);
}

/* --json: the epoch's object, one line (null for a figure it lacks; the val_* fields only
 * with validation); 1 when stdout failed. */
static int epoch_json(size_t epoch, const history_row *h, int validating, double rate)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "train");
    json_field_int(&j, "epoch", (long long)epoch);
    json_field_num(&j, "train_loss", h->train_loss);
    json_field_num(&j, "test_loss", h->test_loss);
    json_field_num(&j, "test_accuracy", h->test_acc);
    if (validating) {
        json_field_num(&j, "val_loss", h->val_loss);
        json_field_num(&j, "val_accuracy", h->val_acc);
    }
    json_field_num(&j, "samples_per_second", rate);
    json_field_num(&j, "seconds", h->seconds);
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

/* The epoch's figures are all in (with validation, after on_validation): its line or JSON
 * object, its log row, and a --save-every checkpoint. */
static void epoch_done(run_state *r)
{
    history_row *h = &r->pend;
    size_t epoch = r->pend_epoch;
    int unwritten = 0; /* --json: stdout failed (said) */
    if (r->json)
        unwritten = epoch_json(epoch, h, r->hist.validating, r->pend_rate);
    else
        epoch_text(epoch, h, r->test && r->pend_status == CLG_OK && r->failed == CLG_OK,
                   r->pend_rate);
    if (r->pend_status != CLG_OK)
        epoch_failed(r, r->pend_status, 1);
    else if (unwritten && r->failed == CLG_OK)
        epoch_failed(r, CLG_ERR_IO, 0);
    if (history_add(&r->hist, h) && r->failed == CLG_OK) epoch_failed(r, CLG_ERR_IO, 0);
    if (r->save_every && epoch % r->save_every == 0 && epoch < r->epochs && r->failed == CLG_OK) {
        clg_status s = save_model(r, r->save, epoch, 1);
        if (s != CLG_OK) epoch_failed(r, s, 1);
    }
    r->epoch_t0 = r->prog_t = now_s();
    r->prog_samples = 0;
}

/* Train loss, test loss and accuracy (with --test), samples/s; the epoch is done now, or
 * once its validation is in (on_validation). */
static void on_epoch(size_t epoch, double loss, void *user)
{
    run_state *r = user;
    /* clg_fit calls this once epoch e is done and before e+1 starts: the epoch's time is
     * from the end of the previous report to now, before this one's own evaluation. */
    double t = now_s();
    r->pend_rate = r->rows / (t - r->epoch_t0);
    clear_progress(r);
    history_row *h = &r->pend;
    *h = (history_row){loss, NAN, NAN, NAN, NAN, t - r->t0};
    r->pend_epoch = epoch;
    r->pend_status = CLG_OK;
    if (r->test && r->failed == CLG_OK) {
        clg_eval_result res;
        r->pend_status = clg_evaluate(r->model, r->test, r->loss, &res);
        if (r->pend_status == CLG_OK) {
            h->test_loss = res.loss;
            h->test_acc = res.accuracy >= 0 ? res.accuracy : NAN;
        }
    }
    if (!r->hist.validating) epoch_done(r);
}

static void on_validation(size_t epoch, double loss, double accuracy, void *user)
{
    run_state *r = user;
    (void)epoch;
    r->pend.val_loss = loss;
    r->pend.val_acc = accuracy >= 0 ? accuracy : NAN;
    epoch_done(r);
}

typedef struct train_args {
    data_args data;
    model_args model;
    fit_args fa;
    const char *test, *test_labels, *save, *log, *plot, *resume;
    size_t save_every;
    size_t average_every; /* --average-every K: model averaging (0: the gradient sum) */
    int resume_ranks;     /* --resume of an averaging run: the ranks it ran on */
    size_t done;          /* --resume: the epochs the checkpoint had run */
    int resume_opt;       /* --resume: it holds the optimizer's state */
    int progress, standardize, json, verbose, distributed, shard;
} train_args;

static const cli_opt train_options[] = {
    CLI_STR("--test", "FILE", train_args, test, "a test set, evaluated after each epoch"),
    CLI_STR("--test-labels", "FILE", train_args, test_labels,
            "the labels of an .npy or IDX --test file"),
    CLI_STR("--resume", "FILE", train_args, resume,
            "go on from a checkpoint of clgrad train (model, optimizer, epochs) on the same data"),
    CLI_FLAG("--standardize", train_args, standardize, 1,
             "scale each feature by the training set's mean and std (the checkpoint too)"),
    CLI_STR("--save", "FILE", train_args, save,
            "checkpoint (model, optimizer state, loss) after the last epoch"),
    CLI_INT("--save-every", "N", train_args, save_every, 1, CLI_MAX_EPOCHS, "off",
            "also checkpoint to --save every N epochs"),
    CLI_STR("--log", "FILE", train_args, log,
            "CSV of the epochs' losses, a row written as each epoch ends"),
    CLI_STR("--plot", "FILE.svg", train_args, plot, "SVG of the losses (and accuracy) per epoch"),
    CLI_FLAG("--no-progress", train_args, progress, 0, "no progress bar (shown on a terminal)"),
    CLI_FLAG("--verbose", train_args, verbose, 1,
             "print the model, the loss and the optimizer before training (as d2l does)"),
    CLI_FLAG("--json", train_args, json, 1,
             "JSON Lines on stdout instead of the text: per epoch, then at the end"),
    CLI_FLAG("--distributed", train_args, distributed, 1,
             "one rank of a data-parallel run under mpirun (docs/distributed.md)"),
    CLI_FLAG("--shard", train_args, shard, 1,
             "with --distributed --stream: each rank reads only its part of the --data file"),
    CLI_INT("--average-every", "K", train_args, average_every, 1, 1000000000, "off",
            "with --distributed: each rank steps on its own rows, and the ranks average their "
            "models every K steps (fused paths run), instead of summing gradients every step"),
    CLI_END};

/* --verbose: print(net), the loss and print(optimizer), as the chapter shows them (on
 * stderr with --json, whose stdout is JSON only). */
static void print_setup(const run_state *r, clg_loss_kind loss, FILE *out)
{
    char buf[4096];
    clg_model_describe(r->model, buf, sizeof buf);
    fprintf(out, "%s\n%s\n", buf, clg_loss_describe(loss));
    clg_optimizer_describe(r->opt, buf, sizeof buf);
    fprintf(out, "%s\n", buf);
}

/* --save, --log, --plot: writable, not a directory, not the same file; before any data is
 * read or any epoch run. Returns CLI_RUN or 2. */
static int check_outputs(const cli_command *c, const train_args *a)
{
    const char *names[3] = {"--save", "--log", "--plot"}, *paths[3] = {a->save, a->log, a->plot};
    if (a->plot && !svg_path_ok("train", "--plot", a->plot)) return 2;
    for (int i = 0; i < 3; i++) {
        char why[600];
        if (!paths[i]) continue;
        if (cli_output_check(paths[i], i == 0, why, sizeof why))
            return cli_usage_error(c, "%s: %s", names[i], why);
        for (int j = 0; j < i; j++)
            if (paths[j] && !strcmp(paths[i], paths[j]))
                return cli_usage_error(c, "%s and %s name the same file", names[j], names[i]);
    }
    if (a->save_every && !a->save) return cli_usage_error(c, "--save-every needs --save FILE");
    return CLI_RUN;
}

/* What a resumed run must repeat to go on as one run: "batch=10 seed=42 shuffle=1
 * schedule=cosine:0:4 warmup=2" (the checkpoint's meta line setup=), " average=K ranks=P"
 * added for model averaging (whose steps depend on P; ranks is known once MPI started). */
static void setup_text(const train_args *a, char *buf, size_t n)
{
    const clg_schedule *s = &a->fa.fit.schedule;
    char sched[80];
    if (s->kind == CLG_SCHEDULE_STEP)
        snprintf(sched, sizeof sched, "step:%zu:%.9g", s->step_size, s->gamma);
    else if (s->kind == CLG_SCHEDULE_COSINE)
        snprintf(sched, sizeof sched, "cosine:%.9g:%zu", s->eta_min, s->t_max);
    else
        snprintf(sched, sizeof sched, "constant");
    int len = snprintf(buf, n, "batch=%zu seed=%llu shuffle=%d schedule=%s warmup=%zu",
                       a->fa.fit.batch_size, (unsigned long long)a->data.seed, a->fa.fit.shuffle,
                       sched, s->warmup);
    if (a->average_every && len > 0 && (size_t)len < n)
        len += snprintf(buf + len, n - (size_t)len, " average=%zu", a->average_every);
    if (a->average_every && a->fa.fit.comm && len > 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, " ranks=%d", a->fa.fit.comm->size);
}

/* --resume FILE: the model and loss the checkpoint's meta names, and its epochs. */
static int resume_model(const cli_command *c, train_args *a)
{
    if (cli_given(c, "--model") || cli_given(c, "--loss"))
        return cli_usage_error(c, "--resume takes the model and the loss from the checkpoint; "
                                  "drop --model and --loss");
    if (a->standardize)
        return cli_usage_error(c, "--resume takes the input scaling from the checkpoint; drop "
                                  "--standardize");
    clg_checkpoint_info info;
    char meta[1024], setup[160], now[160];
    clg_status st = clg_checkpoint_inspect(a->resume, &info);
    if (st == CLG_OK) st = clg_checkpoint_meta(a->resume, meta, sizeof meta);
    if (st != CLG_OK) return cli_fail(NULL, st);
    const char *opt_options[] = {"--optimizer", "--lr", "--wd", "--momentum", "--betas", "--eps"};
    for (size_t i = 0; info.has_optimizer && i < sizeof opt_options / sizeof *opt_options; i++)
        if (cli_given(c, opt_options[i]))
            return cli_usage_error(c,
                                   "--resume %s: the optimizer and its options come from the "
                                   "checkpoint; drop %s",
                                   a->resume, opt_options[i]);
    if (info.has_optimizer) a->fa.fit.optimizer.kind = info.optimizer;
    const char *spec = strstr(meta, "model="), *ep = strstr(meta, "epochs=");
    const char *was = strstr(meta, "setup=");
    char text[160];
    unsigned long long done = 0;
    if (!spec || sscanf(spec + 6, "%159[^\n]", text) != 1 ||
        model_spec_read(text, &a->model.spec) || meta_loss(meta, &a->model.loss) || !ep ||
        sscanf(ep + 7, "%llu", &done) != 1 || done == 0 || !was ||
        sscanf(was + 6, "%159[^\n]", setup) != 1) {
        fprintf(stderr,
                "clgrad train: --resume %s: not a checkpoint of clgrad train (its meta "
                "text lacks model=, loss=, setup= or epochs=)\n",
                a->resume);
        return 1;
    }
    /* The same shuffle orders and rates need the same batches, seed and schedule. */
    const clg_schedule *sc = &a->fa.fit.schedule;
    if (sc->kind == CLG_SCHEDULE_COSINE && !sc->t_max)
        return cli_usage_error(c, "--resume with --schedule cosine needs its T_MAX "
                                  "(cosine:ETA_MIN:T_MAX, in both runs): by default T comes "
                                  "from --epochs, which differs between them");
    char *ranks = strstr(setup, " ranks="); /* checked once MPI has started */
    if (ranks) {
        a->resume_ranks = (int)strtol(ranks + 7, NULL, 10);
        *ranks = '\0';
    }
    setup_text(a, now, sizeof now);
    if (strcmp(setup, now))
        return cli_usage_error(c,
                               "--resume %s was trained with %s; this run has %s (a resumed "
                               "run needs the same, to go on as one run would)",
                               a->resume, setup, now);
    /* An MLP saved with a regression loss is a regressor. */
    if (a->model.loss != CLG_LOSS_SOFTMAX_XENT) a->model.spec.classify = 0;
    a->done = (size_t)done;
    a->resume_opt = info.has_optimizer;
    return CLI_RUN;
}

/* Returns CLI_RUN or the exit status (0 after --help, 2 after a usage error). */
static int parse(train_args *a, int argc, char **argv)
{
    cli_group groups[] = {{"options", train_options, a, NULL, NULL},
                          fit_args_group(&a->fa),
                          {"model", model_options, &a->model, NULL, NULL},
                          data_file_group(&a->data),
                          data_synthetic_group(&a->data)};
    cli_command c = {
        .name = "train",
        .summary =
            "Trains a linear, softmax or MLP model by minibatch SGD, Adam, AdamW or RMSprop.",
        CLI_GROUPS(groups),
        .notes = "Each epoch prints its training loss (with --test: the test loss and accuracy)\n"
                 "and samples/s. A run whose loss turns NaN/Inf or grows 10^4-fold stops and\n"
                 "exits 1; SIGINT (Ctrl-C) or SIGTERM stops it after the epoch under way, exit\n"
                 "130 / 143 (a second one at once). Either way --save gets the model of the last\n"
                 "good epoch (none when no epoch passed), and --log and --plot cover those\n"
                 "epochs. --standardize: test and raw rows given to eval / predict are scaled\n"
                 "by the training set's mean and std too. --json: stdout has only JSON Lines,\n"
                 "{\"command\":\"train\",\"epoch\":N,...} per epoch and a last object with\n"
                 "\"event\":\"end\" and \"status\" (messages stay on stderr; no progress bar).\n"
                 "--val F: each epoch also reports the validation loss (and accuracy), and the\n"
                 "run keeps and saves the epoch with the lowest. --resume FILE --epochs N: the\n"
                 "epochs after the checkpoint's up to N, on the same data (the batch size, seed,\n"
                 "shuffle, schedule and warm-up must match the checkpoint's; cosine needs its\n"
                 "T_MAX), give the same model as one run of N epochs."};
    int rc = cli_parse(&c, argc, argv);
    if (rc == CLI_RUN && a->resume) rc = resume_model(&c, a);
    if (rc != CLI_RUN) return rc;
    int classify = a->model.spec.classify;
    /* An MLP is a classifier unless the loss is a regression one. */
    if (classify && a->model.spec.nhidden && cli_given(&c, "--loss") &&
        a->model.loss != CLG_LOSS_SOFTMAX_XENT)
        classify = a->model.spec.classify = 0;
    if (!cli_given(&c, "--loss") && !a->resume)
        a->model.loss = classify ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
    a->fa.fit.loss = a->model.loss;
    if (classify != (a->fa.fit.loss == CLG_LOSS_SOFTMAX_XENT))
        return cli_usage_error(&c,
                               "--loss %s does not go with --model %s (xent goes with softmax, "
                               "squared and mse with linear, an MLP takes either)",
                               loss_name(a->fa.fit.loss), a->model.spec.text);
    rc = fit_args_resolve(&c, &a->fa, classify ? 0.1f : 0.03f);
    if (rc != CLI_RUN) return rc;
    if (a->data.stream && cli_given(&c, "--val"))
        return cli_usage_error(&c, "--val holds rows out of data in memory, and --stream keeps "
                                   "them in the file: split the file and give the part as --test");
    if (a->average_every && !a->distributed)
        return cli_usage_error(&c, "--average-every averages the models of the ranks of a "
                                   "--distributed run under mpirun");
    if (a->average_every && a->data.stream && !a->shard)
        return cli_usage_error(&c, "--average-every with --stream needs --shard: a streamed "
                                   "file's rows come in its chunk order, which the ranks cannot "
                                   "split, so each rank opens its own part of the file");
    if (a->shard && a->standardize)
        return cli_usage_error(&c, "--standardize with --shard would scale each rank's rows by "
                                   "its own shard's statistics: standardize the file first");
    if (a->shard && (!a->distributed || !a->data.stream || !a->data.csv))
        return cli_usage_error(&c, "--shard needs --distributed, --stream and a --data file (.npy "
                                   "or CSV; each rank then reads only its part of the rows)");
    if (a->resume && a->done >= a->fa.fit.epochs)
        return cli_usage_error(&c,
                               "--resume %s: the checkpoint is at epoch %zu, --epochs %zu "
                               "asks for no more (--epochs is the last epoch's number)",
                               a->resume, a->done, a->fa.fit.epochs);
    if (a->resume) { /* epochs done + those to run */
        a->fa.fit.first_epoch = a->done;
        a->fa.fit.epochs -= a->done;
    }
    return check_outputs(&c, a);
}

/* Features far from unit scale: a std over 100 or under 0.01, or a mean over 100 stds. 1
 * with the furthest (by orders of magnitude past those bounds) in *which; 0 when none is. */
static int far_feature(const float *mean, const float *scale, size_t d, size_t *which)
{
    double worst = 0;
    for (size_t j = 0; j < d; j++) {
        double sd = scale[j], m = fabs(mean[j]), past = fabs(log10(sd)) - 2;
        if (m > 0 && log10(m / sd) - 2 > past) past = log10(m / sd) - 2;
        if (past > worst) worst = past, *which = j;
    }
    return worst > 0;
}

/* The training set's feature statistics: with --standardize both sets are standardized by
 * them (kept for the checkpoint); without, a feature far from unit scale is noted for
 * warn_scale. */
static clg_status feature_scaling(train_args *a, run_state *r)
{
    size_t d = clg_dataset_features(r->train);
    float *mean = malloc(d * sizeof *mean), *scale = malloc(d * sizeof *scale);
    clg_status s = mean && scale
                       ? clg_dataset_feature_stats(r->train, mean, scale)
                       : (fprintf(stderr, "clgrad: out of memory\n"), CLG_ERR_HOST_MEMORY);
    if (s == CLG_OK && a->standardize) {
        s = clg_dataset_standardize(r->train, mean, scale);
        if (s == CLG_OK && r->test) s = clg_dataset_standardize(r->test, mean, scale);
        r->mean = mean;
        r->scale = scale;
        return s;
    }
    if (s == CLG_OK && (r->far = far_feature(mean, scale, d, &r->far_j))) {
        r->far_mean = mean[r->far_j];
        r->far_std = scale[r->far_j];
    }
    free(mean);
    free(scale);
    return s;
}

/* Without --standardize, on features far from unit scale, a run whose loss diverged, rose
 * to or above the initial model's, or ended above its first epoch's: one line of advice. */
static void warn_scale(const run_state *r, clg_status s)
{
    const history *h = &r->hist;
    if (!r->far) return;
    int bad = s == CLG_ERR_DIVERGED || s == CLG_ERR_NONFINITE ||
              (h->count > 1 && h->row[h->count - 1].train_loss > h->row[0].train_loss);
    for (size_t i = 0; i < h->count && !bad; i++) bad = !(h->row[i].train_loss < r->initial);
    if (!bad) return;
    fflush(stdout);
    fprintf(stderr,
            "clgrad train: features are far from unit scale (feature %zu: mean %.3g, std %.3g); "
            "try --standardize\n",
            r->far_j, r->far_mean, r->far_std);
}

/* A regression model of one Linear layer (d inputs, q outputs): its weights (d×q
 * row-major) then its q biases, those of raw rows (with --standardize the scaling is folded
 * in), in a malloc'd array; NULL for another model or when they cannot be read. */
static float *linear_params(const train_args *a, const run_state *r, size_t *d, size_t *q)
{
    clg_param_info info;
    if (a->model.spec.classify || clg_model_param_count(r->model) != 2 ||
        clg_model_param_info(r->model, 0, &info) != CLG_OK)
        return NULL;
    *d = info.rows, *q = info.cols;
    float *w = malloc((*d + 1) * *q * sizeof *w), *b = w ? w + *d * *q : NULL;
    if (!w || clg_model_get_param(r->model, 0, w, *d * *q) != CLG_OK ||
        clg_model_get_param(r->model, 1, b, *q) != CLG_OK) {
        free(w);
        return NULL;
    }
    for (size_t j = 0; r->mean && j < *d; j++) /* the weights of raw rows */
        for (size_t k = 0; k < *q; k++) {
            w[j * *q + k] /= r->scale[j];
            b[k] -= w[j * *q + k] * r->mean[j];
        }
    return w;
}

/* A classifier's accuracy on the training set (NaN when it cannot be evaluated); with
 * --shard the one shard_accuracy found. */
static double train_accuracy(const train_args *a, const run_state *r)
{
    if (a->shard) return r->shard_acc;
    clg_eval_result res;
    return clg_evaluate(r->model, r->train, a->fa.fit.loss, &res) == CLG_OK ? res.accuracy : NAN;
}

/* --shard: the shards' correct rows summed over the ranks (a collective: every rank calls it
 * right after clg_fit, before any branch of its own). */
static double shard_accuracy(const train_args *a, const run_state *r)
{
    clg_eval_result res;
    int ok = clg_evaluate(r->model, r->train, a->fa.fit.loss, &res) == CLG_OK;
    const clg_comm *c = a->fa.fit.comm;
    float v[2] = {ok ? (float)(res.accuracy * (double)res.n) : NAN, ok ? (float)res.n : 0.0f};
    return c->allreduce_sum(v, 2, c->user) ? NAN : (double)v[0] / (double)v[1];
}

static void finish_report(train_args *a, run_state *r)
{
    size_t d = 0, q = 0;
    if (a->model.spec.classify) {
        double acc = train_accuracy(a, r);
        if (!isnan(acc)) printf("train accuracy %.4f\n", acc);
        return;
    }
    float *w = linear_params(a, r, &d, &q);
    if (w && q == 1) report_linear(&a->data, w, d, w[d]);
    free(w);
}

/* --json: "weights" ([w0, ...]; with several outputs a row per feature), "bias" (a number;
 * a list with several outputs) and "synthetic" ({true_weights, true_bias, max_weight_error,
 * bias_error} or null), as clgrad solve writes them; null when they cannot be read. */
static void json_linear(json_writer *j, const train_args *a, const run_state *r)
{
    size_t d = 0, q = 0;
    float *w = linear_params(a, r, &d, &q), *b = w ? w + d * q : NULL;
    json_key(j, "weights");
    if (w) json_array_begin(j);
    for (size_t i = 0; w && i < d; i++) {
        if (q > 1) json_array_begin(j);
        for (size_t k = 0; k < q; k++) json_number(j, w[i * q + k]);
        if (q > 1) json_array_end(j);
    }
    if (w)
        json_array_end(j);
    else
        json_null(j);
    json_key(j, "bias");
    if (!w) {
        json_null(j);
    } else if (q == 1) {
        json_number(j, b[0]);
    } else {
        json_array_begin(j);
        for (size_t k = 0; k < q; k++) json_number(j, b[k]);
        json_array_end(j);
    }
    json_key(j, "synthetic");
    if (w && q == 1 && !a->data.csv) {
        float max_w, err_b;
        report_errors(&a->data, w, d, b[0], &max_w, &err_b);
        json_object_begin(j);
        json_key(j, "true_weights");
        json_array_begin(j);
        for (size_t i = 0; i < d; i++) json_number(j, a->data.true_w[i]);
        json_array_end(j);
        json_field_num(j, "true_bias", a->data.true_b);
        json_field_num(j, "max_weight_error", max_w);
        json_field_num(j, "bias_error", err_b);
        json_object_end(j);
    } else {
        json_null(j);
    }
    free(w);
}

/* How the run ended, s being what fit returned: "ok", "interrupted" (SIGINT / SIGTERM),
 * "diverged", "nonfinite" (a NaN or infinite loss) or "failed" (an error: the "error"). */
static const char *end_status(const run_state *r, clg_status s)
{
    if (r->failed != CLG_OK) return "failed";
    switch (r->fit_status) {
    case CLG_OK:
        return s == CLG_OK ? "ok" : "failed";
    case CLG_ERR_CANCELLED:
        return "interrupted";
    case CLG_ERR_DIVERGED:
        return "diverged";
    case CLG_ERR_NONFINITE:
        return "nonfinite";
    default:
        return "failed";
    }
}

/* --json, once clg_fit ran and the outputs are written: the last line, {"command":"train",
 * "event":"end", ...}. 1 when stdout failed. */
static int end_json(const train_args *a, const run_state *r, clg_status s)
{
    const history *h = &r->hist;
    const char *status = end_status(r, s);
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "train");
    json_field_str(&j, "event", "end");
    json_field_str(&j, "status", status);
    json_field_str(&j, "error",
                   s == CLG_OK || s == CLG_ERR_CANCELLED ? NULL : clg_status_string(s));
    if (!strcmp(status, "interrupted"))
        json_field_str(&j, "signal", caught_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    json_field_int(&j, "epochs", (long long)h->count);
    json_field_num(&j, "final_loss", h->count ? h->row[h->count - 1].train_loss : NAN);
    if (a->model.spec.classify)
        json_field_num(&j, "train_accuracy", h->count ? train_accuracy(a, r) : NAN);
    if (r->hist.validating) {
        json_field_int(&j, "best_epoch", (long long)r->vr.best_epoch);
        json_field_num(&j, "best_val_loss", r->vr.best_epoch ? r->vr.best_loss : NAN);
        json_field_bool(&j, "stopped_early", r->vr.stopped_early);
    }
    json_field_str(&j, "saved", r->saved);
    if (!a->model.spec.classify && clg_model_param_count(r->model) == 2) json_linear(&j, a, r);
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

/* The model and its optimizer for the loaded data; the class names of a CSV label column
 * of names go into the model (and so its checkpoints). */
static clg_status build(train_args *a, run_state *r)
{
    size_t classes = clg_dataset_classes(r->train);
    size_t outputs = a->model.spec.classify ? classes : clg_dataset_targets(r->train);
    clg_status s = model_spec_build(&a->model.spec, r->ctx, clg_dataset_features(r->train), outputs,
                                    a->data.seed, &r->model);
    const clg_class_names *names = a->data.names;
    if (s == CLG_OK && a->model.spec.classify && names && names->count == outputs)
        s = clg_model_set_class_names(r->model, (const char *const *)names->names, outputs);
    if (s == CLG_OK) s = clg_optimizer_create(r->model, &a->fa.fit.optimizer, &r->opt);
    if (s == CLG_OK && a->verbose) print_setup(r, a->fa.fit.loss, a->json ? stderr : stdout);
    if (s == CLG_OK && r->far && clg_evaluate_loss(r->model, r->train, a->fa.fit.loss, &r->initial))
        r->far = 0; /* only for warn_scale */
    return s;
}

/* "; " between the non-empty parts */
static void join(char *buf, size_t n, const char *part)
{
    size_t len = strlen(buf);
    if (part[0] && len < n) snprintf(buf + len, n - len, "%s%s", len ? "; " : "", part);
}

/* After clg_fit stopped early (a signal, or a loss that diverged or turned non-finite): the
 * model holds the last epoch reported (clg_fit restored it). It goes to --save (unless no
 * epoch passed: an earlier file stays), --log and --plot cover the epochs reported, and one
 * line says so. */
static clg_status stopped(train_args *a, run_state *r, clg_status s)
{
    /* epochs reported, and the numbers of the last one and of the one the model holds (with
     * --val the best; after --resume the numbers go on from the checkpoint's) */
    size_t done = r->hist.count, last = r->hist.first + done;
    size_t kept = r->hist.validating && r->vr.best_epoch ? r->vr.best_epoch : last;
    char what[64], save[600] = "", cover[128] = "", line[900] = "";
    if (s == CLG_ERR_CANCELLED && !caught_signal) /* --distributed: another rank's stop */
        snprintf(what, sizeof what, "stopped with another rank");
    else if (s == CLG_ERR_CANCELLED)
        snprintf(what, sizeof what, "interrupted (%s)",
                 caught_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    else
        snprintf(what, sizeof what, "%s",
                 s == CLG_ERR_DIVERGED ? "diverged" : "the loss turned NaN or infinite");
    fflush(stdout);                                  /* the epochs' lines first */
    if (s != CLG_ERR_CANCELLED) cli_fail(r->ctx, s); /* the library's why */
    warn_scale(r, s);
    clg_status w = CLG_OK;
    if (a->save && done && (w = save_model(r, a->save, kept, 0)) != CLG_OK) cli_fail(r->ctx, w);
    if (a->save && done && w == CLG_OK) r->saved = a->save;
    const char *none = s == CLG_ERR_CANCELLED ? "finished" : "passed";
    if (!done && a->save)
        snprintf(save, sizeof save, "no epoch %s: %s not written", none, a->save);
    else if (!done)
        snprintf(save, sizeof save, "no epoch %s", none);
    else if (a->save)
        snprintf(save, sizeof save, "%s %s with the parameters of epoch %zu",
                 w == CLG_OK ? "saved" : "could not save", a->save, kept);
    else
        snprintf(save, sizeof save, "the model of epoch %zu is not saved (no --save)", kept);
    if (history_log_close(&r->hist) || (a->plot && done && history_write_svg(&r->hist, a->plot)))
        w = CLG_ERR_IO;
    const char *outs = a->log && a->plot ? "log and plot cover"
                       : a->log          ? "log covers"
                                         : "plot covers";
    if ((a->log || a->plot) && done > 1)
        snprintf(cover, sizeof cover, "%s epochs %zu-%zu", outs, r->hist.first + 1, last);
    else if ((a->log || a->plot) && done)
        snprintf(cover, sizeof cover, "%s epoch %zu", outs, last);
    else if (a->log || a->plot)
        snprintf(cover, sizeof cover, "%s no epoch%s", outs, a->plot ? " (no plot written)" : "");
    join(line, sizeof line, save);
    join(line, sizeof line, cover);
    fprintf(stderr, "clgrad train: %s in epoch %zu: %s\n", what, last + 1, line);
    return w != CLG_OK && s == CLG_ERR_CANCELLED ? w : s;
}

/* Trains, reports and writes the outputs; the status (printed when not CLG_OK). */
/* --val: which epoch the model holds, and why the run ended before --epochs. */
static void report_kept(const train_args *a, const run_state *r, size_t kept)
{
    char fig[32];
    printf("kept epoch %zu (val loss %s", kept, cli_figure(r->vr.best_loss, fig, sizeof fig));
    if (r->vr.best_accuracy >= 0) printf(", val acc %.4f", r->vr.best_accuracy);
    printf(")");
    if (r->vr.stopped_early)
        printf("; stopped early: no better validation loss in %zu epochs", a->fa.fit.early_stop);
    printf("\n");
    fflush(stdout);
}

/* --resume: the model and the optimizer with its state from the checkpoint; its input
 * scaling moves to the data, as --standardize trains. */
static clg_status resume_build(train_args *a, run_state *r)
{
    clg_status s = clg_model_load(r->ctx, a->resume, &r->model, NULL, 0);
    if (s == CLG_OK) s = clg_optimizer_create(r->model, &a->fa.fit.optimizer, &r->opt);
    if (s == CLG_OK && a->resume_opt) s = clg_model_load_into(r->model, r->opt, a->resume);
    size_t d = s == CLG_OK ? clg_model_inputs(r->model) : 0;
    if (s == CLG_OK && clg_model_input_scaling(r->model, NULL, NULL, 0)) {
        r->mean = malloc(d * sizeof *r->mean);
        r->scale = malloc(d * sizeof *r->scale);
        if (!r->mean || !r->scale) {
            fprintf(stderr, "clgrad: out of memory\n");
            return CLG_ERR_HOST_MEMORY;
        }
        clg_model_input_scaling(r->model, r->mean, r->scale, d);
        s = clg_model_set_input_scaling(r->model, NULL, NULL, 0);
        if (s == CLG_OK) s = clg_dataset_standardize(r->train, r->mean, r->scale);
        if (s == CLG_OK && r->test) s = clg_dataset_standardize(r->test, r->mean, r->scale);
    }
    if (s == CLG_OK && !a->resume_opt)
        fprintf(stderr,
                "clgrad train: --resume %s has no optimizer state (saved after a stop, or "
                "the best validation epoch before the last): the optimizer starts afresh\n",
                a->resume);
    if (s == CLG_OK && a->verbose) print_setup(r, a->fa.fit.loss, a->json ? stderr : stdout);
    return s;
}

static clg_status fit(train_args *a, run_state *r)
{
    clg_status s = CLG_OK;
    if (a->resume) {
        s = resume_build(a, r);
    } else {
        s = feature_scaling(a, r);
        if (s == CLG_OK) s = build(a, r);
    }
    clg_fit_options *o = &a->fa.fit;
    o->on_epoch = on_epoch;
    o->on_validation = on_validation;
    o->user = r;
    o->cancel = &r->stop;
    /* the rows clg_fit trains on: --val holds round(n·F) out */
    size_t n = clg_dataset_size(r->train);
    r->rows = n - (size_t)floor((double)n * o->validation_fraction + 0.5);
    if (a->progress && !a->json && isatty(STDERR_FILENO)) {
        o->on_progress = on_progress;
        size_t batches = (r->rows + r->batch - 1) / r->batch;
        o->progress_every = batches / 20 ? batches / 20 : 1;
    }
    r->save = a->save;
    r->save_every = a->save_every;
    r->epochs = a->done + o->epochs;
    r->hist.first = a->done;
    r->hist.validating = o->validation_fraction != 0;
    meta_write(r->meta, sizeof r->meta, &a->model.spec, o->loss);
    size_t used = strlen(r->meta);
    snprintf(r->meta + used, sizeof r->meta - used, "setup=");
    used = strlen(r->meta);
    setup_text(a, r->meta + used, sizeof r->meta - used);
    used = strlen(r->meta);
    snprintf(r->meta + used, sizeof r->meta - used, "\n");
    if (s != CLG_OK)
        cli_fail(r->ctx, s);
    else if (a->log && history_log_open(&r->hist, a->log))
        s = CLG_ERR_IO;
    /* --distributed: every rank or none goes on to clg_fit, whose first step is collective */
    s = cli_dist_check(o->comm, r->ctx, s, "clgrad train: building the model");
    if (s != CLG_OK) return s;
    r->t0 = r->epoch_t0 = r->prog_t = now_s();
    struct sigaction old[2];
    catch_signals(&r->stop, old);
    o->validation_result = &r->vr;
    s = r->fit_status = clg_fit(r->model, r->train, o, r->opt, NULL);
    r->fitted = 1;
    release_signals(old);
    clear_progress(r);
    if (o->comm) { /* every rank, before any branch of its own */
        clg_status all = cli_dist_check(o->comm, r->ctx, s, "clgrad train: training");
        if (all != s) return all; /* another rank failed as the fit ended: said */
        r->shard_acc = NAN;
        if (s == CLG_OK && a->shard && a->model.spec.classify) r->shard_acc = shard_accuracy(a, r);
    }
    if (r->failed != CLG_OK) return r->failed; /* printed in on_epoch; the fit was cancelled */
    if (s == CLG_ERR_CANCELLED || s == CLG_ERR_DIVERGED || s == CLG_ERR_NONFINITE)
        return stopped(a, r, s);
    if (s != CLG_OK) return cli_fail(r->ctx, s), s;
    if (!a->json) finish_report(a, r);
    warn_scale(r, s);
    /* With validation the model is the best epoch's, and the optimizer's state (of the last
     * epoch) is saved only when that is the last one. */
    size_t last = a->done + r->hist.count;
    size_t kept = r->hist.validating ? r->vr.best_epoch : last;
    if (r->hist.validating && !a->json) report_kept(a, r, kept);
    if (a->save && (s = save_model(r, a->save, kept, kept == last)) != CLG_OK)
        return cli_fail(r->ctx, s), s;
    r->saved = a->save;
    if (history_log_close(&r->hist)) return CLG_ERR_IO;
    if (a->plot && history_write_svg(&r->hist, a->plot)) return CLG_ERR_IO;
    return CLG_OK;
}

/* --data: the whole file, or with --shard this rank's part; class ids of shards are counted
 * over every rank, as a shard may lack the largest. Collectives with --distributed. */
static clg_status load_train(train_args *a, run_state *r, const cli_dist *dist)
{
    const char *what = "clgrad train: loading the data";
    r->train = data_args_load(&a->data, r->ctx, a->model.spec.classify ? 1 : 0);
    clg_status s = cli_dist_check(dist->comm, r->ctx, r->train ? CLG_OK : CLG_ERR_IO, what);
    if (s != CLG_OK || !a->shard || !a->model.spec.classify) return s;
    size_t top = cli_dist_max(dist, clg_dataset_classes(r->train));
    if (top != clg_dataset_classes(r->train)) {
        clg_dataset_destroy(r->train);
        a->data.classes = top;
        r->train = data_args_load(&a->data, r->ctx, 1);
    }
    return cli_dist_check(dist->comm, r->ctx, r->train ? CLG_OK : CLG_ERR_IO, what);
}

int cmd_train(int argc, char **argv)
{
    train_args a = {0};
    data_args_init(&a.data);
    model_args_init(&a.model);
    fit_args_init(&a.fa);
    a.progress = 1;
    int rc = parse(&a, argc, argv); /* output paths checked: before any data or training */
    if (rc != CLI_RUN) return rc;
    a.fa.fit.seed = a.data.seed;
    run_state r = {0};
    r.json = a.json;
    cli_dist dist = {0};
    if (a.distributed && cli_dist_start(&dist, &argc, &argv)) return 1;
    if (dist.rank) /* rank 0 writes the outputs */
        a.save = a.log = a.plot = NULL, a.save_every = 0;
    if (a.shard) a.data.part = (size_t)dist.rank, a.data.parts = (size_t)dist.size;
    if (a.resume_ranks && a.resume_ranks != dist.size) {
        fprintf(stderr,
                "clgrad train: --resume %s was trained on %d ranks; this run has %d (model "
                "averaging steps differently on other ranks: resume on as many)\n",
                a.resume, a.resume_ranks, dist.size);
        cli_dist_end(&dist);
        return 2;
    }
    r.ctx = cli_context_on(dist.device[0] ? dist.device : NULL);
    if (dist.comm) {
        cli_dist_devices(&dist, r.ctx, a.json ? stderr : stdout);
        if (cli_dist_check(dist.comm, r.ctx, r.ctx ? CLG_OK : CLG_ERR_NO_DEVICE,
                           "clgrad train: choosing the device") != CLG_OK) {
            clg_context_destroy(r.ctx);
            cli_dist_end(&dist);
            return 1;
        }
    }
    if (!r.ctx) return 1;
    r.loss = a.fa.fit.loss;
    r.batch = a.fa.fit.batch_size;
    clg_status s = load_train(&a, &r, &dist);
    a.data.part = a.data.parts = a.data.classes = 0; /* --test is read whole by every rank */
    size_t classes = r.train ? clg_dataset_classes(r.train) : 0;
    if (s == CLG_OK && a.test) {
        r.test = data_file_load(r.ctx, a.test, a.test_labels, &a.data, classes);
        s = cli_dist_check(dist.comm, r.ctx, r.test ? CLG_OK : CLG_ERR_IO,
                           "clgrad train: loading the test set");
    }
    a.fa.fit.comm = dist.comm;
    a.fa.fit.average_every = a.average_every;
    if (s == CLG_OK) s = fit(&a, &r);
    int signalled = s == CLG_ERR_CANCELLED && caught_signal; /* 130 SIGINT, 143 SIGTERM */
    if (a.json && r.fitted && !ferror(stdout) && end_json(&a, &r, s) && s == CLG_OK) s = CLG_ERR_IO;
    history_free(&r.hist);
    free(r.mean);
    free(r.scale);
    clg_optimizer_destroy(r.opt);
    clg_model_destroy(r.model);
    clg_dataset_destroy(r.test);
    clg_dataset_destroy(r.train);
    clg_context_destroy(r.ctx);
    cli_dist_end(&dist);
    return s == CLG_OK ? 0 : signalled ? 128 + caught_signal : 1;
}
