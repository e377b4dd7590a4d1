/* clgrad train's training options (fit_args.h). */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "cli_num.h"
#include "fit_args.h"

static const cli_word optimizer_words[] = {{"sgd", CLG_OPTIMIZER_SGD},
                                           {"adam", CLG_OPTIMIZER_ADAM},
                                           {"adamw", CLG_OPTIMIZER_ADAMW},
                                           {"rmsprop", CLG_OPTIMIZER_RMSPROP},
                                           {NULL, 0}};

const char *fit_optimizer_word(clg_optimizer_kind k)
{
    for (const cli_word *w = optimizer_words; w->word; w++)
        if (w->value == (int)k) return w->word;
    return "?";
}

/* The parts of --schedule and --betas go through cli_num.h; the message names the whole
 * form, so a part's own reason is dropped. */
static int real_in(const char *text, double min, double max, double *v)
{
    char why[128];
    return cli_real(text, min, max, v, why, sizeof why);
}

/* A count of epochs, 1..CLI_MAX_EPOCHS. */
static int count_of(const char *text, size_t *v)
{
    char why[128];
    long long x;
    if (cli_int(text, 1, CLI_MAX_EPOCHS, &x, why, sizeof why)) return -1;
    *v = (size_t)x;
    return 0;
}

/* --schedule constant | step:S[:GAMMA] | cosine[:ETA_MIN[:T_MAX]] */
static int parse_schedule(const char *text, void *member, char *why, size_t n)
{
    clg_schedule *s = member, r = clg_schedule_defaults();
    r.warmup = s->warmup; /* --warmup may come first */
    r.warmup_start = s->warmup_start;
    char buf[128], *part[4] = {0};
    size_t k = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; k < 4 && p; k++) {
        part[k] = p;
        p = strchr(p, ':');
        if (p) *p++ = '\0';
    }
    int bad = strlen(text) >= sizeof buf;
    double x;
    if (!bad && !strcmp(part[0], "constant") && k == 1) {
        r.kind = CLG_SCHEDULE_CONSTANT;
    } else if (!bad && !strcmp(part[0], "step") && (k == 2 || k == 3)) {
        r.kind = CLG_SCHEDULE_STEP;
        bad = count_of(part[1], &r.step_size);
        if (!bad && k == 3) {
            bad = real_in(part[2], 0, 1, &x) || x == 0;
            r.gamma = x;
        }
    } else if (!bad && !strcmp(part[0], "cosine") && k <= 3) {
        r.kind = CLG_SCHEDULE_COSINE;
        if (k >= 2) {
            bad = real_in(part[1], 0, DBL_MAX, &x);
            r.eta_min = x;
        }
        if (!bad && k == 3) bad = count_of(part[2], &r.t_max);
    } else {
        bad = 1;
    }
    if (bad) {
        snprintf(why, n,
                 "'%.100s' is not constant, step:S[:GAMMA] (S epochs >= 1, 0 < GAMMA <= 1) or "
                 "cosine[:ETA_MIN[:T_MAX]] (ETA_MIN >= 0, T_MAX epochs >= 1)",
                 text);
        return -1;
    }
    *s = r;
    return 0;
}

/* --betas B1,B2, each in [0, 1) */
static int parse_betas(const char *text, void *member, char *why, size_t n)
{
    float *b = member;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *comma = strchr(buf, ',');
    double x, y;
    if (strlen(text) < sizeof buf && comma) {
        *comma = '\0';
        if (!real_in(buf, 0, 1, &x) && !real_in(comma + 1, 0, 1, &y) && x < 1 && y < 1) {
            b[0] = (float)x;
            b[1] = (float)y;
            return 0;
        }
    }
    snprintf(why, n, "'%.60s' is not B1,B2 with each in [0, 1) (e.g. 0.9,0.999)", text);
    return -1;
}

static const cli_opt fit_options[] = {
    CLI_ENUM("--optimizer", fit_args, fit.optimizer.kind, optimizer_words, "sgd",
             "PyTorch's SGD, Adam, AdamW or RMSprop, with PyTorch's defaults"),
    CLI_REAL("--lr", "R", fit_args, fit.optimizer.lr, 0, FLT_MAX,
             "sgd 0.03 linear, 0.1 others; adam(w) 0.001; rmsprop 0.01", "learning rate"),
    CLI_INT("--batch", "N", fit_args, fit.batch_size, 1, CLI_MAX_BATCH, NULL,
            "minibatch size (a batch larger than the data is all rows)"),
    CLI_INT("--epochs", "N", fit_args, fit.epochs, 1, CLI_MAX_EPOCHS, NULL,
            "passes over the training data (with --resume: the last epoch's number)"),
    CLI_REAL("--wd", "R", fit_args, fit.optimizer.weight_decay, 0, FLT_MAX, "0 (adamw: 0.01)",
             "weight decay (adamw: decoupled), biases included"),
    CLI_REAL("--momentum", "R", fit_args, fit.optimizer.momentum, 0, FLT_MAX, NULL,
             "sgd and rmsprop momentum"),
    CLI_CUSTOM("--betas", "B1,B2", fit_args, betas, parse_betas, "0.9,0.999",
               "adam and adamw: the averages' decay rates"),
    CLI_REAL("--eps", "R", fit_args, fit.optimizer.eps, 0, 1, "1e-8",
             "adam, adamw and rmsprop: added to the denominator"),
    CLI_CUSTOM("--schedule", "SPEC", fit_args, fit.schedule, parse_schedule, "constant",
               "the rate per epoch: constant, step:S[:GAMMA] or cosine[:ETA_MIN[:T_MAX]]"),
    CLI_INT("--warmup", "E", fit_args, fit.schedule.warmup, 1, CLI_MAX_EPOCHS, "off",
            "linear warm-up over the first E epochs, from 1/3 of the rate"),
    CLI_REAL("--val", "F", fit_args, fit.validation_fraction, 0x1p-20, 1 - 0x1p-20, "off",
             "validate each epoch on this share of the data, held out; keep the best epoch"),
    CLI_INT("--early-stop", "K", fit_args, fit.early_stop, 1, CLI_MAX_EPOCHS, "off",
            "with --val: stop after K epochs without a better validation loss"),
    CLI_FLAG("--no-shuffle", fit_args, fit.shuffle, 0, "keep the rows in file order"),
    CLI_END};

void fit_args_init(fit_args *f)
{
    memset(f, 0, sizeof *f);
    f->fit = clg_fit_defaults();
    f->betas[0] = 0.9f;
    f->betas[1] = 0.999f;
}

cli_group fit_args_group(fit_args *f)
{
    cli_group g = {"training", fit_options, f, NULL, NULL};
    return g;
}

int fit_args_resolve(const cli_command *c, fit_args *f, float lr_default)
{
    clg_optimizer_options given = f->fit.optimizer, *o = &f->fit.optimizer;
    clg_optimizer_kind k = given.kind;
    *o = clg_optimizer_defaults(k);
    if (k == CLG_OPTIMIZER_SGD) o->lr = lr_default;
    if (cli_given(c, "--lr")) o->lr = given.lr;
    if (cli_given(c, "--wd")) o->weight_decay = given.weight_decay;
    static const char *const only[][2] = {{"--momentum", "sgd and rmsprop"},
                                          {"--betas", "adam and adamw"},
                                          {"--eps", "adam, adamw and rmsprop"}};
    const int takes[3] = {k == CLG_OPTIMIZER_SGD || k == CLG_OPTIMIZER_RMSPROP,
                          k == CLG_OPTIMIZER_ADAM || k == CLG_OPTIMIZER_ADAMW,
                          k != CLG_OPTIMIZER_SGD};
    for (int i = 0; i < 3; i++)
        if (cli_given(c, only[i][0]) && !takes[i])
            return cli_usage_error(c, "%s is an option of %s, not of --optimizer %s", only[i][0],
                                   only[i][1], fit_optimizer_word(k));
    if (cli_given(c, "--momentum")) o->momentum = given.momentum;
    if (cli_given(c, "--eps")) o->eps = given.eps;
    if (cli_given(c, "--betas")) {
        o->beta1 = f->betas[0];
        o->beta2 = f->betas[1];
    }
    if (cli_given(c, "--early-stop") && !cli_given(c, "--val"))
        return cli_usage_error(c, "--early-stop needs --val F (a validation share)");
    return CLI_RUN;
}
