/* Model specifications of the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_spec.h"

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
    if (strncmp(text, "mlp:", 4)) return -1;
    spec->classify = 1;
    const char *p = text + 4;
    for (;;) {
        /* Digits only: strtol would also take spaces and a sign. Six digits at most keep
         * the value far from long's range before the comparison. */
        size_t k = 0;
        long h = 0;
        while (p[k] >= '0' && p[k] <= '9' && k < 6) h = h * 10 + (p[k++] - '0');
        if (k == 0 || (p[k] >= '0' && p[k] <= '9') || h < 1 || h > 65536 || spec->nhidden == 8)
            return -1;
        spec->hidden[spec->nhidden++] = (size_t)h;
        if (p[k] == '\0') return 0;
        if (p[k] != ',') return -1;
        p += k + 1;
    }
}

static int parse_model(const char *text, void *member, char *why, size_t n)
{
    if (model_spec_read(text, member) == 0) return 0;
    snprintf(why, n,
             "'%.200s' is not linear, softmax or mlp:H1[,H2...] (1..8 hidden widths of 1..65536)",
             text);
    return -1;
}

static const cli_word loss_words[] = {{"squared", CLG_LOSS_SQUARED},
                                      {"mse", CLG_LOSS_MSE},
                                      {"xent", CLG_LOSS_SOFTMAX_XENT},
                                      {NULL, 0}};

const cli_opt model_options[] = {
    CLI_CUSTOM("--model", "SPEC", model_args, spec, parse_model, "linear",
               "linear, softmax or mlp:H1[,H2...] (ReLU layers of those widths)"),
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
    size_t in = d;
    for (size_t i = 0; s == CLG_OK && i < spec->nhidden; i++) {
        s = clg_model_add_linear(m, in, spec->hidden[i], &init);
        if (s == CLG_OK) s = clg_model_add_relu(m);
        in = spec->hidden[i];
    }
    if (s == CLG_OK) s = clg_model_add_linear(m, in, outputs, &init);
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
    snprintf(buf, n, "model=%s\nloss=%s\n", spec->text, loss_name(loss));
}

int meta_loss(const char *meta, clg_loss_kind *loss)
{
    const char *p = strstr(meta, "loss=");
    if (!p) return -1;
    char word[16];
    if (sscanf(p + 5, "%15[a-z]", word) != 1) return -1;
    return loss_parse(word, loss);
}
