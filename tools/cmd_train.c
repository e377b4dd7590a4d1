/* clgrad train: a linear, softmax or MLP model by minibatch SGD, with an optional
 * test set, checkpoint, CSV log, SVG plot and a progress bar on a terminal. */
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
#include "history.h"
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
    char meta[256];
    clg_status failed;          /* an evaluation, log row or checkpoint in on_epoch failed */
    volatile sig_atomic_t stop; /* then set: the fit stops before the next epoch */
} run_state;

static void on_progress(size_t epoch, size_t batch, size_t batches, void *user)
{
    run_state *r = user;
    /* The rate since the previous report (each report follows a wait for the device),
     * not since the fit or the epoch began: what the device does now. */
    double t = now_s();
    size_t n = clg_dataset_size(r->train), samples = batch * r->batch < n ? batch * r->batch : n;
    double dt = t - r->prog_t, rate = dt > 0 ? (double)(samples - r->prog_samples) / dt : 0.0;
    r->prog_t = t;
    r->prog_samples = samples;
    int width = 30, fill = (int)(width * batch / batches);
    fprintf(stderr, "\repoch %zu [%.*s%*s] %zu/%zu  %.0f samples/s", epoch, fill,
            "##############################", width - fill, "", batch, batches, rate);
    char fig[32];
    if (r->hist.count)
        fprintf(stderr, "  last loss %s",
                cli_figure(r->hist.train_loss[r->hist.count - 1], fig, sizeof fig));
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

/* The epoch's line: train loss, test loss and accuracy (with --test), samples/s. */
static void on_epoch(size_t epoch, double loss, void *user)
{
    run_state *r = user;
    /* clg_fit calls this once epoch e is done and before e+1 starts: the epoch's time is
     * from the end of the previous report to now, before this one's own evaluation. */
    double t = now_s(), rate = clg_dataset_size(r->train) / (t - r->epoch_t0);
    char fig[32];
    if (r->progress_shown) fprintf(stderr, "\r\033[K");
    printf("epoch %zu, loss %s", epoch, cli_figure(loss, fig, sizeof fig));
    double tl = NAN, ta = NAN;
    clg_status s = CLG_OK;
    if (r->test && r->failed == CLG_OK) {
        clg_eval_result res;
        s = clg_evaluate(r->model, r->test, r->loss, &res);
        if (s == CLG_OK) {
            tl = res.loss;
            ta = res.accuracy >= 0 ? res.accuracy : NAN;
            printf(", test loss %s", cli_figure(tl, fig, sizeof fig));
            if (!isnan(ta)) printf(", test acc %.4f", ta);
        }
    }
    printf(", %.0f samples/s\n", rate);
    fflush(stdout);
    if (s != CLG_OK) epoch_failed(r, s, 1);
    if (history_add(&r->hist, loss, tl, ta, t - r->t0) && r->failed == CLG_OK)
        epoch_failed(r, CLG_ERR_IO, 0);
    if (r->save_every && epoch % r->save_every == 0 && epoch < r->epochs && r->failed == CLG_OK) {
        s = clg_model_save(r->model, r->opt, r->meta, r->save);
        if (s != CLG_OK) epoch_failed(r, s, 1);
    }
    r->epoch_t0 = r->prog_t = now_s();
    r->prog_samples = 0;
}

typedef struct train_args {
    data_args data;
    model_args model;
    clg_fit_options fit;
    const char *test, *test_labels, *save, *log, *plot;
    size_t save_every;
    int progress;
} train_args;

static const cli_opt train_options[] = {
    CLI_STR("--test", "FILE", train_args, test, "a test set, evaluated after each epoch"),
    CLI_STR("--test-labels", "FILE", train_args, test_labels,
            "the labels of an .npy or IDX --test file"),
    CLI_REAL("--lr", "R", train_args, fit.optimizer.lr, 0, FLT_MAX,
             "0.03 for linear, 0.1 otherwise", "learning rate"),
    CLI_INT("--batch", "N", train_args, fit.batch_size, 1, CLI_MAX_BATCH, NULL,
            "minibatch size (a batch larger than the data is all rows)"),
    CLI_INT("--epochs", "N", train_args, fit.epochs, 1, CLI_MAX_EPOCHS, NULL,
            "passes over the training data"),
    CLI_REAL("--wd", "R", train_args, fit.optimizer.weight_decay, 0, FLT_MAX, NULL, "weight decay"),
    CLI_REAL("--momentum", "R", train_args, fit.optimizer.momentum, 0, FLT_MAX, NULL,
             "SGD momentum"),
    CLI_FLAG("--no-shuffle", train_args, fit.shuffle, 0, "keep the rows in file order"),
    CLI_STR("--save", "FILE", train_args, save,
            "checkpoint (model, optimizer state, loss) after the last epoch"),
    CLI_INT("--save-every", "N", train_args, save_every, 1, CLI_MAX_EPOCHS, "off",
            "also checkpoint to --save every N epochs"),
    CLI_STR("--log", "FILE", train_args, log,
            "CSV of the epochs' losses, a row written as each epoch ends"),
    CLI_STR("--plot", "FILE.svg", train_args, plot, "SVG of the losses (and accuracy) per epoch"),
    CLI_FLAG("--no-progress", train_args, progress, 0, "no progress bar (shown on a terminal)"),
    CLI_END};

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

/* Returns CLI_RUN or the exit status (0 after --help, 2 after a usage error). */
static int parse(train_args *a, int argc, char **argv)
{
    cli_group groups[] = {{"options", train_options, a, NULL, NULL},
                          {"model", model_options, &a->model, NULL, NULL},
                          data_file_group(&a->data),
                          data_synthetic_group(&a->data)};
    cli_command c = {
        .name = "train",
        .summary = "Trains a linear, softmax or MLP model by minibatch SGD.",
        CLI_GROUPS(groups),
        .notes = "Each epoch prints its training loss (with --test: the test loss and accuracy)\n"
                 "and samples/s. A run whose loss turns NaN/Inf or grows 10^4-fold stops,\n"
                 "exits 1 and keeps the previous --save file (the last --save-every one)."};
    int rc = cli_parse(&c, argc, argv);
    if (rc != CLI_RUN) return rc;
    int classify = a->model.spec.classify;
    if (!cli_given(&c, "--loss"))
        a->model.loss = classify ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
    if (!cli_given(&c, "--lr")) a->fit.optimizer.lr = classify ? 0.1f : 0.03f;
    a->fit.loss = a->model.loss;
    if (classify != (a->fit.loss == CLG_LOSS_SOFTMAX_XENT))
        return cli_usage_error(&c,
                               "--loss %s does not go with --model %s (xent goes with softmax "
                               "and mlp, squared and mse with linear)",
                               loss_name(a->fit.loss), a->model.spec.text);
    return check_outputs(&c, a);
}

static void finish_report(train_args *a, run_state *r)
{
    if (a->model.spec.classify) {
        clg_eval_result res;
        if (clg_evaluate(r->model, r->train, a->fit.loss, &res) == CLG_OK)
            printf("train accuracy %.4f\n", res.accuracy);
        return;
    }
    size_t d = clg_dataset_features(r->train);
    if (clg_dataset_targets(r->train) != 1 || clg_model_param_count(r->model) != 2) return;
    float *w = malloc(d * sizeof *w), b = 0;
    if (w && clg_model_get_param(r->model, 0, w, d) == CLG_OK &&
        clg_model_get_param(r->model, 1, &b, 1) == CLG_OK)
        report_linear(&a->data, w, d, b);
    free(w);
}

/* The model and its optimizer for the loaded data. */
static clg_status build(train_args *a, run_state *r)
{
    size_t classes = clg_dataset_classes(r->train);
    size_t outputs = a->model.spec.classify ? classes : clg_dataset_targets(r->train);
    clg_status s = model_spec_build(&a->model.spec, r->ctx, clg_dataset_features(r->train), outputs,
                                    a->data.seed, &r->model);
    if (s == CLG_OK) s = clg_optimizer_create(r->model, &a->fit.optimizer, &r->opt);
    return s;
}

/* Trains, reports and writes the outputs; the status (printed when not CLG_OK). */
static clg_status fit(train_args *a, run_state *r)
{
    clg_status s = build(a, r);
    a->fit.on_epoch = on_epoch;
    a->fit.user = r;
    a->fit.cancel = &r->stop;
    if (a->progress && isatty(STDERR_FILENO)) {
        a->fit.on_progress = on_progress;
        size_t batches = (clg_dataset_size(r->train) + r->batch - 1) / r->batch;
        a->fit.progress_every = batches / 20 ? batches / 20 : 1;
    }
    r->save = a->save;
    r->save_every = a->save_every;
    r->epochs = a->fit.epochs;
    meta_write(r->meta, sizeof r->meta, &a->model.spec, a->fit.loss);
    if (s == CLG_OK && a->log && history_log_open(&r->hist, a->log)) return CLG_ERR_IO;
    r->t0 = r->epoch_t0 = r->prog_t = now_s();
    if (s == CLG_OK) s = clg_fit(r->model, r->train, &a->fit, r->opt, NULL);
    if (r->failed != CLG_OK) return r->failed; /* printed in on_epoch; the fit was cancelled */
    if (s != CLG_OK) return cli_fail(r->ctx, s), s;
    finish_report(a, r);
    if (a->save && (s = clg_model_save(r->model, r->opt, r->meta, a->save)) != CLG_OK)
        return cli_fail(r->ctx, s), s;
    if (history_log_close(&r->hist)) return CLG_ERR_IO;
    if (a->plot && history_write_svg(&r->hist, a->plot)) return CLG_ERR_IO;
    return CLG_OK;
}

int cmd_train(int argc, char **argv)
{
    train_args a = {0};
    data_args_init(&a.data);
    model_args_init(&a.model);
    a.fit = clg_fit_defaults();
    a.progress = 1;
    int rc = parse(&a, argc, argv); /* output paths checked: before any data or training */
    if (rc != CLI_RUN) return rc;
    a.fit.seed = a.data.seed;
    run_state r = {0};
    r.ctx = cli_context();
    if (!r.ctx) return 1;
    r.loss = a.fit.loss;
    r.batch = a.fit.batch_size;
    r.train = data_args_load(&a.data, r.ctx, a.model.spec.classify ? 1 : 0);
    size_t classes = r.train ? clg_dataset_classes(r.train) : 0;
    if (r.train && a.test) r.test = data_file_load(r.ctx, a.test, a.test_labels, &a.data, classes);
    clg_status s = r.train && (!a.test || r.test) ? fit(&a, &r) : CLG_ERR_IO;
    history_free(&r.hist);
    clg_optimizer_destroy(r.opt);
    clg_model_destroy(r.model);
    clg_dataset_destroy(r.test);
    clg_dataset_destroy(r.train);
    clg_context_destroy(r.ctx);
    return s == CLG_OK ? 0 : 1;
}
