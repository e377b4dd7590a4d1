/* The table of layer kinds (lib/nn/layer.h, layers.c, linear.c, relu.c, phm.c): lookup by code and
 * by name, descriptions, parameter shapes, checkpoint record rules, and that a model built
 * through the public API reaches each layer through its kind's entry. */
#include "ref.h"

Test(layers, lookup_by_code_and_name)
{
    cr_assert_eq(clg_layer_type_count(), 3, "Linear, ReLU and PHM are registered");
    cr_assert_eq(clg_layer_type_by_code(0), &clg_layer_linear, "code 0 is Linear (checkpoints)");
    cr_assert_eq(clg_layer_type_by_code(1), &clg_layer_relu, "code 1 is ReLU (checkpoints)");
    cr_assert_eq(clg_layer_type_by_code(2), &clg_layer_phm, "code 2 is PHM (checkpoints)");
    cr_assert_eq(clg_layer_type_by_name("Linear"), &clg_layer_linear);
    cr_assert_eq(clg_layer_type_by_name("ReLU"), &clg_layer_relu);
    cr_assert_eq(clg_layer_type_by_name("PHM"), &clg_layer_phm);
    cr_assert_eq(clg_layer_linear.code, (uint32_t)CLG_LAYER_LINEAR);
    cr_assert_eq(clg_layer_relu.code, (uint32_t)CLG_LAYER_RELU);
    cr_assert_eq(clg_layer_phm.code, (uint32_t)CLG_LAYER_PHM);
    cr_assert_null(clg_layer_type_by_code(3), "unknown code refused");
    cr_assert_null(clg_layer_type_by_code(UINT32_MAX), "unknown code refused");
    cr_assert_null(clg_layer_type_by_name("relu"), "names are exact");
    cr_assert_null(clg_layer_type_by_name("Conv2d"));
    cr_assert_null(clg_layer_type_by_name(NULL));
    cr_assert_null(clg_layer_type_at(clg_layer_type_count()));
    /* Every entry is complete, and codes and names are unique. */
    for (size_t i = 0; i < clg_layer_type_count(); i++) {
        const clg_layer_type *t = clg_layer_type_at(i);
        cr_assert_not_null(t);
        cr_assert(t->name && t->forward && t->backward && t->release && t->describe && t->sketch &&
                      t->check_record && t->append,
                  "entry %zu (%s) complete", i, t->name);
        cr_assert(t->nparams <= CLG_LAYER_MAX_PARAMS);
        if (t->nparams) cr_assert(t->param_shape && t->param, "%s: parameter hooks", t->name);
        cr_assert_eq(clg_layer_type_by_code(t->code), t, "%s: code round-trips", t->name);
        cr_assert_eq(clg_layer_type_by_name(t->name), t, "%s: name round-trips", t->name);
    }
}

Test(layers, describe_and_sketch)
{
    char buf[128];
    clg_layer_linear.describe(buf, sizeof buf, 2, 1, 0);
    cr_expect_str_eq(buf, "Linear(in_features=2, out_features=1, bias=True)");
    clg_layer_linear.describe(buf, sizeof buf, 784, 10, 0);
    cr_expect_str_eq(buf, "Linear(in_features=784, out_features=10, bias=True)");
    clg_layer_relu.describe(buf, sizeof buf, 4, 4, 0);
    cr_expect_str_eq(buf, "ReLU()");
    clg_layer_phm.describe(buf, sizeof buf, 64, 10, 4);
    cr_expect_str_eq(buf, "PHM(in_features=64, out_features=10, n=4, bias=True)");
    /* The short forms of checkpoint messages ("file has Linear(3→4), model has ..."). */
    clg_layer_linear.sketch(buf, sizeof buf, 3, 4, 0);
    cr_expect_str_eq(buf, "Linear(3→4)");
    clg_layer_relu.sketch(buf, sizeof buf, 4, 4, 0);
    cr_expect_str_eq(buf, "ReLU(4)");
    clg_layer_phm.sketch(buf, sizeof buf, 64, 10, 4);
    cr_expect_str_eq(buf, "PHM(64→10, n=4)");
}

Test(layers, parameters_and_record_rules)
{
    cr_assert_eq(clg_layer_linear.nparams, 2);
    cr_assert_eq(clg_layer_relu.nparams, 0);
    cr_expect_str_eq(clg_layer_linear.param_names[0], "weight");
    cr_expect_str_eq(clg_layer_linear.param_names[1], "bias");
    size_t rows = 0, cols = 0;
    clg_layer_linear.param_shape(3, 5, 0, 0, &rows, &cols);
    cr_expect(rows == 3 && cols == 5, "weight is in×out, got %zux%zu", rows, cols);
    clg_layer_linear.param_shape(3, 5, 0, 1, &rows, &cols);
    cr_expect(rows == 1 && cols == 5, "bias is 1×out, got %zux%zu", rows, cols);
    cr_expect_null(clg_layer_linear.check_record(3, 5, 0), "a Linear may change width");
    cr_expect_null(clg_layer_relu.check_record(4, 4, 0));
    const char *why = clg_layer_relu.check_record(5, 4, 0);
    cr_assert_not_null(why, "a ReLU may not change width");
    cr_expect_str_eq(why, "changes width");
    cr_expect_not_null(clg_layer_linear.check_record(3, 5, 1), "a Linear takes no argument");
    cr_expect_not_null(clg_layer_relu.check_record(4, 4, 1), "a ReLU takes no argument");
    /* PHM(13→3, n=4): A 16×4, S 4·ceil(13/4) × ceil(3/4) = 16×1, bias 1×3 (tests/test_phm.c) */
    cr_assert_eq(clg_layer_phm.nparams, 3);
    clg_layer_phm.param_shape(13, 3, 4, 1, &rows, &cols);
    cr_expect(rows == 16 && cols == 1, "S is n·dn × qn, got %zux%zu", rows, cols);
    cr_expect_null(clg_layer_phm.check_record(13, 3, 4));
    cr_expect_not_null(clg_layer_phm.check_record(13, 3, 0), "PHM needs n >= 1");
}

static int counted_forwards, counted_backwards;
static clg_status counting_forward(clg_context *ctx, clg_layer *L, cl_mem in, size_t rows)
{
    counted_forwards++;
    return clg_layer_relu.forward(ctx, L, in, rows);
}
static clg_status counting_backward(clg_context *ctx, clg_layer *L, cl_mem in, cl_mem dy, cl_mem dx,
                                    size_t rows)
{
    counted_backwards++;
    return clg_layer_relu.backward(ctx, L, in, dy, dx, rows);
}

/* Linear(3→4)·ReLU·Linear(4→2) through the public API: each layer carries its entry, the
 * parameter count is the entries' sum, forward matches a double reference (tol 1e-5), and
 * forward/backward go through the entry (a counting copy of ReLU's is called). */
Test(layers, model_dispatches_through_the_table)
{
    enum { B = 7, D = 3, H = 4, Q = 2 };
    clg_context *ctx = test_context();
    clg_model *m;
    clg_linear_init init = {.struct_size = sizeof(clg_linear_init), .weight_std = 0.8f, .seed = 11};
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, D, H, &init));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, H, Q, &init));
    cr_assert_eq(m->layers[0].type, &clg_layer_linear);
    cr_assert_eq(m->layers[1].type, &clg_layer_relu);
    cr_assert_eq(m->layers[2].type, &clg_layer_linear);
    cr_assert(clg_layer_is_linear(&m->layers[0]) && !clg_layer_is_linear(&m->layers[1]));
    cr_assert_eq(clg_model_param_count(m), 4, "2 + 0 + 2 parameters");
    clg_param_info info;
    CLG_OK_OR_FAIL(ctx, clg_model_param_info(m, 3, &info));
    cr_expect_str_eq(info.name, "2.bias");
    cr_expect(info.is_bias && info.rows == 1 && info.cols == Q);

    const float b1[H] = {0.1f, -0.2f, 0.3f, 0}, b2[Q] = {0.25f, -0.5f};
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 1, b1, H));
    CLG_OK_OR_FAIL(ctx, clg_model_set_param(m, 3, b2, Q));
    float W1[D * H], W2[H * Q], Y[B * Q];
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 0, W1, D * H));
    CLG_OK_OR_FAIL(ctx, clg_model_get_param(m, 2, W2, H * Q));

    clg_layer_type counting = clg_layer_relu;
    counting.forward = counting_forward;
    counting.backward = counting_backward;
    m->layers[1].type = &counting;
    counted_forwards = counted_backwards = 0;

    uint64_t seed = 5;
    float *X = ref_random(&seed, B * D, -1, 1);
    clg_tensor *tX, *dY;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, X, B, D, &tX));
    const clg_tensor *out;
    CLG_OK_OR_FAIL(ctx, clg_model_forward(m, tX, &out));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(out, Y, B, Q));
    cr_expect_eq(counted_forwards, 1, "the ReLU's forward came from its entry");
    char what[64];
    for (size_t r = 0; r < B; r++) {
        double h[H];
        for (int j = 0; j < H; j++) {
            h[j] = b1[j];
            for (int k = 0; k < D; k++) h[j] += (double)X[r * D + k] * W1[k * H + j];
            h[j] = h[j] > 0 ? h[j] : 0;
        }
        for (int j = 0; j < Q; j++) {
            double y = b2[j];
            for (int k = 0; k < H; k++) y += h[k] * W2[k * Q + j];
            snprintf(what, sizeof what, "Y[%zu][%d]", r, j);
            EXPECT_CLOSE(Y[r * Q + j], y, 1e-5, what);
        }
    }
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, B, Q, &dY));
    CLG_OK_OR_FAIL(ctx, clg_model_backward(m, dY));
    cr_expect_eq(counted_backwards, 1, "the ReLU's backward came from its entry");
    m->layers[1].type = &clg_layer_relu;
    clg_tensor_destroy(tX);
    clg_tensor_destroy(dY);
    free(X);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* The model prints as PyTorch's print(net); its layers one by one; snprintf's contract. */
Test(layers, model_describe_prints_like_pytorch)
{
    clg_context *ctx = test_context();
    clg_model *m;
    CLG_OK_OR_FAIL(ctx, clg_model_create(ctx, &m));
    char buf[256];
    cr_expect_eq(clg_model_describe(m, buf, sizeof buf), strlen("Sequential(\n)"));
    cr_expect_str_eq(buf, "Sequential(\n)", "an empty model");
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 784, 256, NULL));
    CLG_OK_OR_FAIL(ctx, clg_model_add_relu(m));
    CLG_OK_OR_FAIL(ctx, clg_model_add_linear(m, 256, 10, NULL));
    const char *want = "Sequential(\n"
                       "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
                       "  (1): ReLU()\n"
                       "  (2): Linear(in_features=256, out_features=10, bias=True)\n"
                       ")";
    cr_expect_eq(clg_model_describe(m, buf, sizeof buf), strlen(want));
    cr_expect_str_eq(buf, want);
    char small[12];
    cr_expect_eq(clg_model_describe(m, small, sizeof small), strlen(want), "full length");
    cr_expect_str_eq(small, "Sequential(", "cut to 11 characters and a NUL");
    cr_expect_eq(clg_model_describe(m, NULL, 0), strlen(want));
    cr_expect_eq(clg_model_layer_count(m), 3u);
    clg_layer_info L;
    CLG_OK_OR_FAIL(ctx, clg_model_layer_info(m, 1, &L));
    cr_expect(!strcmp(L.type, "ReLU") && L.in == 256 && L.out == 256 && L.params == 0, "ReLU");
    cr_expect_str_eq(L.repr, "ReLU()");
    CLG_OK_OR_FAIL(ctx, clg_model_layer_info(m, 2, &L));
    cr_expect(!strcmp(L.type, "Linear") && L.in == 256 && L.out == 10 && L.params == 2, "Linear");
    EXPECT_REFUSED(ctx, clg_model_layer_info(m, 3, &L), CLG_ERR_INVALID_ARGUMENT, "layer 3 of 3",
                   "layer info past the last layer");
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}
