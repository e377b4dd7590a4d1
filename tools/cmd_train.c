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
    char meta[256];
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
static clg_status save_model(run_state *r, const char *path, int with_optimizer)
{
    size_t d = clg_model_inputs(r->model);
    clg_status s = r->mean ? clg_model_set_input_scaling(r->model, r->mean, r->scale, d) : CLG_OK;
    if (s == CLG_OK) s = clg_model_save(r->model, with_optimizer ? r->opt : NULL, r->meta, path);
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

/* "epoch 1, loss 0.000203" and, after a test evaluation (tested), its test loss and
 * accuracy (classification), then samples/s. */
static void epoch_text(size_t epoch, double loss, int tested, double tl, double ta, double rate)
{
    char fig[32];
    printf("epoch %zu, loss %s", epoch, cli_figure(loss, fig, sizeof fig));
    if (tested) {
        printf(", test loss %s", cli_figure(tl, fig, sizeof fig));
        if (!isnan(ta)) printf(", test acc %.4f", ta);
    }
    printf(", %.0f samples/s\n", rate);
    fflush(stdout);
}

/* --json: the epoch's object, one line (null for a figure it lacks); 1 when stdout failed. */
static int epoch_json(size_t epoch, double loss, double tl, double ta, double rate, double t)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "train");
    json_field_int(&j, "epoch", (long long)epoch);
    json_field_num(&j, "train_loss", loss);
    json_field_num(&j, "test_loss", tl);
    json_field_num(&j, "test_accuracy", ta);
    json_field_num(&j, "samples_per_second", rate);
    json_field_num(&j, "seconds", t);
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

/* The epoch's line (or JSON object): train loss, test loss and accuracy (with --test),
 * samples/s. */
static void on_epoch(size_t epoch, double loss, void *user)
{
    run_state *r = user;
    /* clg_fit calls this once epoch e is done and before e+1 starts: the epoch's time is
     * from the end of the previous report to now, before this one's own evaluation. */
    double t = now_s(), rate = clg_dataset_size(r->train) / (t - r->epoch_t0);
    clear_progress(r);
    double tl = NAN, ta = NAN;
    clg_status s = CLG_OK;
    if (r->test && r->failed == CLG_OK) {
        clg_eval_result res;
        s = clg_evaluate(r->model, r->test, r->loss, &res);
        if (s == CLG_OK) {
            tl = res.loss;
            ta = res.accuracy >= 0 ? res.accuracy : NAN;
        }
    }
    int unwritten = 0; /* --json: stdout failed (said) */
    if (r->json)
        unwritten = epoch_json(epoch, loss, tl, ta, rate, t - r->t0);
    else
        epoch_text(epoch, loss, r->test && s == CLG_OK && r->failed == CLG_OK, tl, ta, rate);
    if (s != CLG_OK)
        epoch_failed(r, s, 1);
    else if (unwritten && r->failed == CLG_OK)
        epoch_failed(r, CLG_ERR_IO, 0);
    if (history_add(&r->hist, loss, tl, ta, t - r->t0) && r->failed == CLG_OK)
        epoch_failed(r, CLG_ERR_IO, 0);
    if (r->save_every && epoch % r->save_every == 0 && epoch < r->epochs && r->failed == CLG_OK) {
        s = save_model(r, r->save, 1);
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
    int progress, standardize, json, verbose;
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
                 "and samples/s. A run whose loss turns NaN/Inf or grows 10^4-fold stops and\n"
                 "exits 1; SIGINT (Ctrl-C) or SIGTERM stops it after the epoch under way, exit\n"
                 "130 / 143 (a second one at once). Either way --save gets the model of the last\n"
                 "good epoch (none when no epoch passed), and --log and --plot cover those\n"
                 "epochs. --standardize: test and raw rows given to eval / predict are scaled\n"
                 "by the training set's mean and std too. --json: stdout has only JSON Lines,\n"
                 "{\"command\":\"train\",\"epoch\":N,...} per epoch and a last object with\n"
                 "\"event\":\"end\" and \"status\" (messages stay on stderr; no progress bar)."};
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
              (h->count > 1 && h->train_loss[h->count - 1] > h->train_loss[0]);
    for (size_t i = 0; i < h->count && !bad; i++) bad = !(h->train_loss[i] < r->initial);
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

/* A classifier's accuracy on the training set (NaN when it cannot be evaluated). */
static double train_accuracy(const train_args *a, const run_state *r)
{
    clg_eval_result res;
    if (clg_evaluate(r->model, r->train, a->fit.loss, &res) != CLG_OK) return NAN;
    return res.accuracy;
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
    json_field_num(&j, "final_loss", h->count ? h->train_loss[h->count - 1] : NAN);
    if (a->model.spec.classify)
        json_field_num(&j, "train_accuracy", h->count ? train_accuracy(a, r) : NAN);
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
    if (s == CLG_OK) s = clg_optimizer_create(r->model, &a->fit.optimizer, &r->opt);
    if (s == CLG_OK && a->verbose) print_setup(r, a->fit.loss, a->json ? stderr : stdout);
    if (s == CLG_OK && r->far && clg_evaluate_loss(r->model, r->train, a->fit.loss, &r->initial))
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
    size_t done = r->hist.count;
    char what[64], save[600] = "", cover[128] = "", line[900] = "";
    if (s == CLG_ERR_CANCELLED)
        snprintf(what, sizeof what, "interrupted (%s)",
                 caught_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    else
        snprintf(what, sizeof what, "%s",
                 s == CLG_ERR_DIVERGED ? "diverged" : "the loss turned NaN or infinite");
    fflush(stdout);                                  /* the epochs' lines first */
    if (s != CLG_ERR_CANCELLED) cli_fail(r->ctx, s); /* the library's why */
    warn_scale(r, s);
    clg_status w = CLG_OK;
    if (a->save && done && (w = save_model(r, a->save, 0)) != CLG_OK) cli_fail(r->ctx, w);
    if (a->save && done && w == CLG_OK) r->saved = a->save;
    const char *none = s == CLG_ERR_CANCELLED ? "finished" : "passed";
    if (!done && a->save)
        snprintf(save, sizeof save, "no epoch %s: %s not written", none, a->save);
    else if (!done)
        snprintf(save, sizeof save, "no epoch %s", none);
    else if (a->save)
        snprintf(save, sizeof save, "%s %s with the parameters of epoch %zu",
                 w == CLG_OK ? "saved" : "could not save", a->save, done);
    else
        snprintf(save, sizeof save, "the model of epoch %zu is not saved (no --save)", done);
    if (history_log_close(&r->hist) || (a->plot && done && history_write_svg(&r->hist, a->plot)))
        w = CLG_ERR_IO;
    const char *outs = a->log && a->plot ? "log and plot cover"
                       : a->log          ? "log covers"
                                         : "plot covers";
    if ((a->log || a->plot) && done > 1)
        snprintf(cover, sizeof cover, "%s epochs 1-%zu", outs, done);
    else if (a->log || a->plot)
        snprintf(cover, sizeof cover, "%s %s%s", outs, done ? "epoch 1" : "no epoch",
                 a->plot && !done ? " (no plot written)" : "");
    join(line, sizeof line, save);
    join(line, sizeof line, cover);
    fprintf(stderr, "clgrad train: %s in epoch %zu: %s\n", what, done + 1, line);
    return w != CLG_OK && s == CLG_ERR_CANCELLED ? w : s;
}

/* Trains, reports and writes the outputs; the status (printed when not CLG_OK). */
static clg_status fit(train_args *a, run_state *r)
{
    clg_status s = feature_scaling(a, r);
    if (s == CLG_OK) s = build(a, r);
    a->fit.on_epoch = on_epoch;
    a->fit.user = r;
    a->fit.cancel = &r->stop;
    if (a->progress && !a->json && isatty(STDERR_FILENO)) {
        a->fit.on_progress = on_progress;
        size_t batches = (clg_dataset_size(r->train) + r->batch - 1) / r->batch;
        a->fit.progress_every = batches / 20 ? batches / 20 : 1;
    }
    r->save = a->save;
    r->save_every = a->save_every;
    r->epochs = a->fit.epochs;
    meta_write(r->meta, sizeof r->meta, &a->model.spec, a->fit.loss);
    if (s != CLG_OK) return cli_fail(r->ctx, s), s;
    if (a->log && history_log_open(&r->hist, a->log)) return CLG_ERR_IO;
    r->t0 = r->epoch_t0 = r->prog_t = now_s();
    struct sigaction old[2];
    catch_signals(&r->stop, old);
    s = r->fit_status = clg_fit(r->model, r->train, &a->fit, r->opt, NULL);
    r->fitted = 1;
    release_signals(old);
    clear_progress(r);
    if (r->failed != CLG_OK) return r->failed; /* printed in on_epoch; the fit was cancelled */
    if (s == CLG_ERR_CANCELLED || s == CLG_ERR_DIVERGED || s == CLG_ERR_NONFINITE)
        return stopped(a, r, s);
    if (s != CLG_OK) return cli_fail(r->ctx, s), s;
    if (!a->json) finish_report(a, r);
    warn_scale(r, s);
    if (a->save && (s = save_model(r, a->save, 1)) != CLG_OK) return cli_fail(r->ctx, s), s;
    r->saved = a->save;
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
    r.json = a.json;
    r.ctx = cli_context();
    if (!r.ctx) return 1;
    r.loss = a.fit.loss;
    r.batch = a.fit.batch_size;
    r.train = data_args_load(&a.data, r.ctx, a.model.spec.classify ? 1 : 0);
    size_t classes = r.train ? clg_dataset_classes(r.train) : 0;
    if (r.train && a.test) r.test = data_file_load(r.ctx, a.test, a.test_labels, &a.data, classes);
    clg_status s = r.train && (!a.test || r.test) ? fit(&a, &r) : CLG_ERR_IO;
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
    return s == CLG_OK ? 0 : signalled ? 128 + caught_signal : 1;
}
