/* Model specifications of the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_spec.h"

/* The digits at p (no sign or space; at most `most` of them) as a value in lo..hi: the
 * count of digits read, or 0 when there are none, more, or the value is out of range. */
static size_t read_count(const char *p, size_t most, long lo, long hi, long *v)
{
    size_t k = 0;
    *v = 0;
    while (p[k] >= '0' && p[k] <= '9' && k < most) *v = *v * 10 + (p[k++] - '0');
    if (k == 0 || (p[k] >= '0' && p[k] <= '9') || *v < lo || *v > hi) return 0;
    return k;
}

int model_spec_read(const char *text, model_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    if (!text) return -1;
    snprintf(spec->text, sizeof spec->text, "%s", text);
    if (strlen(text) >= sizeof spec->text) return -1; /* the checkpoint meta records it whole */
    if (!strcmp(text, "linear")) return 0;
    if (!strcmp(text, "softmax")) {
        spec->classify = 1;
        return 0;
    }
    const char *p = text + 4;
    if (!strncmp(text, "phm:", 4)) {
        long n = 0;
        size_t k = read_count(p, 2, 1, CLG_PHM_MAX_N, &n);
        if (k == 0) return -1;
        spec->phm_n = (size_t)n;
        spec->classify = 1;
        if (p[k] == '\0') return 0; /* phm:N, the PHM counterpart of softmax */
        if (p[k] != ':') return -1;
        p += k + 1;
    } else if (strncmp(text, "mlp:", 4)) {
        return -1;
    }
    spec->classify = 1;
    for (;;) {
        /* Digits only: strtol would also take spaces and a sign. Six digits at most keep
         * the value far from long's range before the comparison. */
        long h = 0;
        size_t k = read_count(p, 6, 1, 65536, &h);
        if (k == 0 || spec->nhidden == 8) return -1;
        spec->hidden[spec->nhidden++] = (size_t)h;
        if (p[k] == '\0') return 0;
        if (p[k] != ',') return -1;
        p += k + 1;
    }
}

/* --init may come before --model: the init survives the spec's reading. */
static int parse_model(const char *text, void *member, char *why, size_t n)
{
    model_spec *spec = member;
    const clg_init_kind init = spec->init;
    int rc = model_spec_read(text, spec);
    spec->init = init;
    if (rc == 0) return 0;
    snprintf(why, n,
             "'%.200s' is not linear, softmax or mlp:H1[,H2...] (1..8 hidden widths of "
             "1..65536), nor phm:N or phm:N:H1[,H2...] (n of 1..16)",
             text);
    return -1;
}

static const cli_word init_words[] = {{"normal", CLG_INIT_NORMAL},
                                      {"torch", CLG_INIT_TORCH},
                                      {"xavier", CLG_INIT_XAVIER_UNIFORM},
                                      {"xavier-normal", CLG_INIT_XAVIER_NORMAL},
                                      {"kaiming", CLG_INIT_KAIMING_UNIFORM},
                                      {"kaiming-normal", CLG_INIT_KAIMING_NORMAL},
                                      {NULL, 0}};

static const cli_word loss_words[] = {{"squared", CLG_LOSS_SQUARED},
                                      {"mse", CLG_LOSS_MSE},
                                      {"xent", CLG_LOSS_SOFTMAX_XENT},
                                      {NULL, 0}};

const cli_opt model_options[] = {
    CLI_CUSTOM("--model", "SPEC", model_args, spec, parse_model, "linear",
               "linear, softmax, mlp:H1[,H2...] (ReLU between), phm:N[:H1,...] (PHM layers, "
               "n 1..16)"),
    CLI_ENUM("--init", model_args, spec.init, init_words, "normal",
             "W of every layer: N(0,0.01^2); torch's U(+-1/sqrt(in)), b too; Glorot; He "
             "(docs/layers.md)"),
    CLI_ENUM("--loss", model_args, loss, loss_words, "squared for linear, xent otherwise",
             "xent: cross-entropy on class ids; squared: (y'-y)^2/2"),
    CLI_END};

void model_args_init(model_args *m)
{
    model_spec_read("linear", &m->spec);
    m->loss = CLG_LOSS_SQUARED;
}

clg_status model_spec_build(const model_spec *spec, clg_context *ctx, size_t d, size_t outputs,
                            uint64_t seed, clg_model **out)
{
    clg_model *m = NULL;
    clg_status s = clg_model_create(ctx, &m);
    clg_linear_init init = clg_linear_init_defaults();
    init.seed = seed;
    init.kind = spec->init;
    size_t in = d;
    for (size_t i = 0; s == CLG_OK && i <= spec->nhidden; i++) {
        size_t width = i < spec->nhidden ? spec->hidden[i] : outputs;
        s = spec->phm_n ? clg_model_add_phm(m, in, width, spec->phm_n, &init)
                        : clg_model_add_linear(m, in, width, &init);
        if (s == CLG_OK && i < spec->nhidden) s = clg_model_add_relu(m);
        in = width;
    }
    if (s != CLG_OK) {
        clg_model_destroy(m);
        m = NULL;
    }
    *out = m;
    return s;
}

static const char *const loss_names[] = {"squared", "mse", "xent"};

const char *loss_name(clg_loss_kind k) { return (unsigned)k < 3 ? loss_names[k] : "?"; }

int loss_parse(const char *text, clg_loss_kind *k)
{
    for (int i = 0; i < 3; i++)
        if (text && !strcmp(text, loss_names[i])) {
            *k = (clg_loss_kind)i;
            return 0;
        }
    return -1;
}

void meta_write(char *buf, size_t n, const model_spec *spec, clg_loss_kind loss)
{
    const char *init = NULL;
    for (const cli_word *w = init_words; w->word; w++)
        if (w->value == (int)spec->init) init = w->word;
    if (spec->init == CLG_INIT_NORMAL || !init)
        snprintf(buf, n, "model=%s\nloss=%s\n", spec->text, loss_name(loss));
    else
        snprintf(buf, n, "model=%s\nloss=%s\ninit=%s\n", spec->text, loss_name(loss), init);
}

int meta_loss(const char *meta, clg_loss_kind *loss)
{
    const char *p = strstr(meta, "loss=");
    if (!p) return -1;
    char word[16];
    if (sscanf(p + 5, "%15[a-z]", word) != 1) return -1;
    return loss_parse(word, loss);
}
