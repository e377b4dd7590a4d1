/* clgrad info: what a checkpoint holds (architecture, parameters, input scaling, class
 * names, meta text, format version), as text or as JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "json.h"
#include "model_spec.h"

#define INFO_META_MAX 65536

typedef struct info_args {
    const char *model;
    int json;
} info_args;

static const cli_opt info_options[] = {
    CLI_STR("--model", "FILE", info_args, model,
            "the checkpoint (clgrad info FILE is clgrad info --model FILE)"),
    CLI_FLAG("--json", info_args, json, 1, "one JSON object on stdout instead of the text"),
    CLI_END};

static const char *const info_required[] = {"--model", NULL};

static size_t scalar_count(const clg_model *m)
{
    size_t total = 0;
    for (size_t i = 0; i < clg_model_param_count(m); i++) {
        clg_param_info p;
        if (clg_model_param_info(m, i, &p) == CLG_OK) total += p.rows * p.cols;
    }
    return total;
}

/* Text of the file (meta) on a terminal: control characters but line breaks and tabs
 * shown as '?', each line indented. */
static void print_meta(const char *meta)
{
    if (!meta[0]) {
        printf("meta: none\n");
        return;
    }
    printf("meta:\n  ");
    for (const char *p = meta; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n')
            fputs(p[1] ? "\n  " : "", stdout);
        else
            putchar(c < 0x20 && c != '\t' ? '?' : c);
    }
    printf("\n");
}

static void print_text(const char *path, const clg_checkpoint_info *h, const clg_model *m,
                       const char *meta)
{
    char repr[4096];
    clg_model_describe(m, repr, sizeof repr);
    printf("file: %s\nformat version: %u\nmodel: %s\n", path, h->version, repr);
    printf("inputs: %zu\noutputs: %zu\nparameters: %zu\n", clg_model_inputs(m),
           clg_model_outputs(m), scalar_count(m));
    for (size_t i = 0; i < clg_model_param_count(m); i++) {
        clg_param_info p;
        if (clg_model_param_info(m, i, &p) == CLG_OK)
            printf("  %-12s %zux%zu\n", p.name, p.rows, p.cols);
    }
    if (clg_model_input_scaling(m, NULL, NULL, 0))
        printf("input scaling: yes, mean and scale of %zu features (values with --json)\n",
               clg_model_inputs(m));
    else
        printf("input scaling: none\n");
    if (clg_model_class_name(m, 0)) {
        size_t q = clg_model_outputs(m);
        printf("class names: %zu:", q);
        for (size_t k = 0; k < q && k < 50; k++)
            printf("%s %zu %s", k ? "," : "", k, clg_model_class_name(m, k));
        printf("%s\n", q > 50 ? ", ..." : "");
    } else {
        printf("class names: none\n");
    }
    if (h->has_optimizer)
        printf("optimizer state: %s, %zu parameter group%s, %llu steps\n",
               clg_optimizer_kind_name(h->optimizer), h->optimizer_groups,
               h->optimizer_groups == 1 ? "" : "s", (unsigned long long)h->optimizer_steps);
    else
        printf("optimizer state: none\n");
    print_meta(meta);
}

static void json_floats(json_writer *j, const char *key, const float *v, size_t n)
{
    json_key(j, key);
    json_array_begin(j);
    for (size_t i = 0; i < n; i++) json_number(j, v[i]);
    json_array_end(j);
}

static void json_layers(json_writer *j, const clg_model *m)
{
    json_key(j, "layers");
    json_array_begin(j);
    for (size_t i = 0; i < clg_model_layer_count(m); i++) {
        clg_layer_info L;
        if (clg_model_layer_info(m, i, &L) != CLG_OK) continue;
        json_object_begin(j);
        json_field_str(j, "type", L.type);
        if (L.params) { /* a layer with weights has its widths in its repr too */
            json_field_int(j, "in_features", (long long)L.in);
            json_field_int(j, "out_features", (long long)L.out);
            json_field_bool(j, "bias", 1);
        }
        json_field_str(j, "repr", L.repr);
        json_object_end(j);
    }
    json_array_end(j);
    json_key(j, "tensors");
    json_array_begin(j);
    for (size_t i = 0; i < clg_model_param_count(m); i++) {
        clg_param_info p;
        if (clg_model_param_info(m, i, &p) != CLG_OK) continue;
        json_object_begin(j);
        json_field_str(j, "name", p.name);
        json_key(j, "shape");
        json_array_begin(j);
        json_int(j, (long long)p.rows);
        json_int(j, (long long)p.cols);
        json_array_end(j);
        json_object_end(j);
    }
    json_array_end(j);
}

static int print_json(const char *path, const clg_checkpoint_info *h, const clg_model *m,
                      const char *meta)
{
    size_t d = clg_model_inputs(m), q = clg_model_outputs(m);
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j);
    json_field_str(&j, "command", "info");
    json_field_str(&j, "file", path);
    json_field_int(&j, "format_version", h->version);
    json_field_int(&j, "inputs", (long long)d);
    json_field_int(&j, "outputs", (long long)q);
    json_field_int(&j, "parameters", (long long)scalar_count(m));
    json_layers(&j, m);
    json_key(&j, "input_scaling");
    float *mean = malloc(d * sizeof *mean), *scale = malloc(d * sizeof *scale);
    if (mean && scale && clg_model_input_scaling(m, mean, scale, d)) {
        json_object_begin(&j);
        json_floats(&j, "mean", mean, d);
        json_floats(&j, "scale", scale, d);
        json_object_end(&j);
    } else {
        json_null(&j);
    }
    free(mean);
    free(scale);
    json_key(&j, "class_names");
    if (clg_model_class_name(m, 0)) {
        json_array_begin(&j);
        for (size_t k = 0; k < q; k++) json_string(&j, clg_model_class_name(m, k));
        json_array_end(&j);
    } else {
        json_null(&j);
    }
    json_field_bool(&j, "optimizer_state", h->has_optimizer);
    clg_loss_kind loss;
    json_field_str(&j, "loss", meta_loss(meta, &loss) ? NULL : loss_name(loss));
    json_field_str(&j, "meta", meta);
    json_object_end(&j);
    if (!json_failed(&j)) return 0;
    fprintf(stderr, "clgrad: could not write the JSON to stdout\n");
    return 1;
}

/* argv with a lone FILE (clgrad info FILE) turned into --model FILE; NULL when out of
 * memory. The caller frees it. */
static char **with_model_option(int argc, char **argv, int *n)
{
    static char opt[] = "--model";
    char **v = malloc(((size_t)argc + 2) * sizeof *v);
    if (!v) return NULL;
    int k = 0, taken = 0;
    for (int i = 0; i < argc; i++) {
        int value = i > 0 && !strcmp(argv[i - 1], "--model"); /* --model FILE's FILE */
        if (i > 0 && !taken && !value && argv[i][0] != '-') {
            v[k++] = opt;
            taken = 1;
        }
        v[k++] = argv[i];
    }
    v[k] = NULL;
    *n = k;
    return v;
}

int cmd_info(int argc, char **argv)
{
    info_args a = {NULL, 0};
    cli_group groups[] = {{"options", info_options, &a, NULL, NULL}};
    cli_command c = {.name = "info",
                     .summary =
                         "What a checkpoint holds: its layers and their shapes, the parameter "
                         "count, the input\nscaling, the class names, the meta text and "
                         "the format version.",
                     CLI_GROUPS(groups),
                     .required = info_required,
                     .notes = "clgrad info FILE is clgrad info --model FILE."};
    int n = 0;
    char **args = with_model_option(argc, argv, &n);
    if (!args) return cli_fail(NULL, CLG_ERR_HOST_MEMORY);
    int rc = cli_parse(&c, n, args);
    free(args);
    if (rc != CLI_RUN) return rc;
    clg_context *ctx = cli_context();
    if (!ctx) return 1;
    clg_model *m = NULL;
    char *meta = calloc(INFO_META_MAX + 1, 1);
    clg_checkpoint_info h;
    clg_status s =
        meta ? clg_model_load(ctx, a.model, &m, meta, INFO_META_MAX + 1) : CLG_ERR_HOST_MEMORY;
    if (s != CLG_OK) {
        rc = cli_fail(ctx, s);
    } else if ((s = clg_checkpoint_inspect(a.model, &h)) != CLG_OK) {
        rc = cli_fail(NULL, s); /* changed while it was read */
    } else if (a.json) {
        rc = print_json(a.model, &h, m, meta);
    } else {
        print_text(a.model, &h, m, meta);
        rc = 0;
    }
    free(meta);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return rc;
}
