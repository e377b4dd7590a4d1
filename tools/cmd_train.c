/* clgrad train: a linear, softmax or MLP model by minibatch SGD, with an optional
 * test set, checkpoint, CSV log, SVG plot and a progress bar on a terminal. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_num.h"
#include "data_args.h"
#include "history.h"
#include "model_spec.h"
#include "report.h"
#include "svg.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: clgrad train [data] [--test FILE [--test-labels FILE]]\n"
            "         [--model linear|softmax|mlp:H1[,H2...]] [--loss squared|mse|xent]\n"
            "         [--lr R] [--batch 10] [--epochs 3] [--wd 0] [--momentum 0] [--no-shuffle]\n"
            "         [--save model.clg] [--log metrics.csv] [--plot curve.svg] [--no-progress]\n"
            "  linear defaults to --loss squared --lr 0.03; softmax and mlp to xent and 0.1\n"
            "  --epochs is at most %d, --batch at most %d\n",
            CLI_MAX_EPOCHS, CLI_MAX_BATCH);
    data_args_usage();
}

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
    clg_status failed; /* an evaluation inside the callback failed */
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
    if (r->hist.count) fprintf(stderr, "  last loss %.6f", r->hist.train_loss[r->hist.count - 1]);
    r->progress_shown = 1;
}

static void on_epoch(size_t epoch, double loss, void *user)
{
    run_state *r = user;
    /* clg_fit calls this once epoch e is done and before e+1 starts: the epoch's time is
     * from the end of the previous report to now, before this one's own evaluation. */
    double t = now_s(), rate = clg_dataset_size(r->train) / (t - r->epoch_t0);
    if (r->progress_shown) fprintf(stderr, "\r\033[K");
    printf("epoch %zu, loss %f", epoch, loss);
    double tl = NAN, ta = NAN;
    if (r->test && r->failed == CLG_OK) {
        clg_eval_result res;
        r->failed = clg_evaluate(r->model, r->test, r->loss, &res);
        if (r->failed == CLG_OK) {
            tl = res.loss;
            ta = res.accuracy >= 0 ? res.accuracy : NAN;
            printf(", test loss %f", tl);
            if (!isnan(ta)) printf(", test acc %.4f", ta);
        }
    }
    printf(", %.0f samples/s\n", rate);
    fflush(stdout);
    history_add(&r->hist, loss, tl, ta, t - r->t0);
    r->epoch_t0 = r->prog_t = now_s();
    r->prog_samples = 0;
}

typedef struct train_args {
    data_args data;
    model_spec spec;
    clg_fit_options fit;
    const char *test, *test_labels, *save, *log, *plot;
    int loss_given, lr_given, progress;
} train_args;

/* A finite real >= 0 that stays finite as a float (--lr, --wd, --momentum). */
static int real(const char *opt, const char *v, float *out)
{
    char why[256];
    double x;
    if (cli_real(v, 0, FLT_MAX, &x, why, sizeof why)) {
        fprintf(stderr, "clgrad train: %s: %s\n", opt, why);
        return -1;
    }
    *out = (float)x;
    return 0;
}

/* An integer count in [1, max] (--batch, --epochs), checked before the cast. */
static int count(const char *opt, const char *v, long long max, size_t *out)
{
    char why[256];
    long long k;
    if (cli_int(v, 1, max, &k, why, sizeof why)) {
        fprintf(stderr, "clgrad train: %s: %s\n", opt, why);
        return -1;
    }
    *out = (size_t)k;
    return 0;
}

static int parse(train_args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int r = data_args_parse(&a->data, argc, argv, &i);
        if (r) {
            if (r < 0) return -1;
            continue;
        }
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--no-shuffle")) {
            a->fit.shuffle = 0;
            continue;
        }
        if (!strcmp(o, "--no-progress")) {
            a->progress = 0;
            continue;
        }
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage();
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "clgrad train: unknown or incomplete option '%s'\n", o);
            return -1;
        }
        if (!strcmp(o, "--lr")) {
            if (real(o, v, &a->fit.optimizer.lr)) return -1;
            a->lr_given = 1;
        } else if (!strcmp(o, "--batch")) {
            if (count(o, v, CLI_MAX_BATCH, &a->fit.batch_size)) return -1;
        } else if (!strcmp(o, "--epochs")) {
            if (count(o, v, CLI_MAX_EPOCHS, &a->fit.epochs)) return -1;
        } else if (!strcmp(o, "--wd")) {
            if (real(o, v, &a->fit.optimizer.weight_decay)) return -1;
        } else if (!strcmp(o, "--momentum")) {
            if (real(o, v, &a->fit.optimizer.momentum)) return -1;
        } else if (!strcmp(o, "--loss")) {
            if (loss_parse(v, &a->fit.loss)) {
                fprintf(stderr, "clgrad train: --loss wants squared, mse or xent\n");
                return -1;
            }
            a->loss_given = 1;
        } else if (!strcmp(o, "--model")) {
            if (model_spec_parse(v, &a->spec)) return -1;
        } else if (!strcmp(o, "--test"))
            a->test = v;
        else if (!strcmp(o, "--test-labels"))
            a->test_labels = v;
        else if (!strcmp(o, "--save"))
            a->save = v;
        else if (!strcmp(o, "--log"))
            a->log = v;
        else if (!strcmp(o, "--plot"))
            a->plot = v;
        else {
            fprintf(stderr, "clgrad train: unknown option '%s'\n", o);
            return -1;
        }
        i++;
    }
    if (!a->loss_given) a->fit.loss = a->spec.classify ? CLG_LOSS_SOFTMAX_XENT : CLG_LOSS_SQUARED;
    if (!a->lr_given) a->fit.optimizer.lr = a->spec.classify ? 0.1f : 0.03f;
    if (a->spec.classify != (a->fit.loss == CLG_LOSS_SOFTMAX_XENT)) {
        fprintf(stderr, "clgrad train: --loss xent goes with --model softmax or mlp, squared/mse "
                        "with linear\n");
        return -1;
    }
    return 0;
}

static void finish_report(train_args *a, run_state *r, clg_context *ctx)
{
    if (a->spec.classify) {
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
    (void)ctx;
}

int cmd_train(int argc, char **argv)
{
    train_args a = {0};
    data_args_init(&a.data);
    model_spec_parse("linear", &a.spec);
    a.fit = clg_fit_defaults();
    a.progress = 1;
    if (parse(&a, argc, argv)) {
        usage();
        return 2;
    }
    if (a.plot && !svg_path_ok("train", "--plot", a.plot)) return 2; /* before any training */
    a.fit.seed = a.data.seed;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_status s = CLG_OK;
    run_state r = {0};
    r.loss = a.fit.loss;
    r.batch = a.fit.batch_size;
    clg_optimizer *opt = NULL;
    r.train = data_args_load(&a.data, ctx, a.spec.classify ? 1 : 0);
    size_t classes = r.train ? clg_dataset_classes(r.train) : 0;
    if (r.train && a.test) r.test = data_file_load(ctx, a.test, a.test_labels, &a.data, classes);
    int ok = r.train && (!a.test || r.test);
    if (ok) {
        size_t outputs = a.spec.classify ? classes : clg_dataset_targets(r.train);
        s = model_spec_build(&a.spec, ctx, clg_dataset_features(r.train), outputs, a.data.seed,
                             &r.model);
        if (s == CLG_OK) s = clg_optimizer_create(r.model, &a.fit.optimizer, &opt);
        a.fit.on_epoch = on_epoch;
        a.fit.user = &r;
        if (a.progress && isatty(STDERR_FILENO)) {
            a.fit.on_progress = on_progress;
            size_t batches = (clg_dataset_size(r.train) + r.batch - 1) / r.batch;
            a.fit.progress_every = batches / 20 ? batches / 20 : 1;
        }
        r.t0 = r.epoch_t0 = r.prog_t = now_s();
        if (s == CLG_OK) s = clg_fit(r.model, r.train, &a.fit, opt, NULL);
        if (s == CLG_OK) s = r.failed;
        if (s != CLG_OK)
            cli_fail(ctx, s);
        else
            finish_report(&a, &r, ctx);
        char meta[256];
        meta_write(meta, sizeof meta, &a.spec, a.fit.loss);
        if (s == CLG_OK && a.save && (s = clg_model_save(r.model, opt, meta, a.save)) != CLG_OK)
            cli_fail(ctx, s);
        if (s == CLG_OK && a.log && history_write_csv(&r.hist, a.log)) s = CLG_ERR_IO;
        if (s == CLG_OK && a.plot && history_write_svg(&r.hist, a.plot)) s = CLG_ERR_IO;
    }
    history_free(&r.hist);
    clg_optimizer_destroy(opt);
    clg_model_destroy(r.model);
    clg_dataset_destroy(r.test);
    clg_dataset_destroy(r.train);
    clg_context_destroy(ctx);
    return ok && s == CLG_OK ? 0 : 1;
}
