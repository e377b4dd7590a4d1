/* Tensor round trips of odd shapes, shape checks, device limits, fill kernel. */
#include "helpers.h"

static void round_trip(clg_context *ctx, size_t r, size_t c)
{
    float *in = malloc(r * c * sizeof *in), *out = malloc(r * c * sizeof *out);
    for (size_t i = 0; i < r * c; i++) in[i] = (float)i * 0.5f - 7.25f;
    clg_tensor *t = NULL;
    CLG_OK_OR_FAIL(ctx, clg_tensor_from_host(ctx, in, r, c, &t));
    cr_expect_eq(clg_tensor_rows(t), r);
    cr_expect_eq(clg_tensor_cols(t), c);
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(t, out, r, c));
    cr_expect_arr_eq(in, out, r * c * sizeof *in, "%zux%zu round trip must be exact", r, c);
    clg_tensor_destroy(t);
    free(in);
    free(out);
}

Test(tensor, odd_shapes_round_trip)
{
    clg_context *ctx = test_context();
    round_trip(ctx, 1, 1);
    round_trip(ctx, 3, 1001);
    round_trip(ctx, 1001, 3);
    round_trip(ctx, 1, 65537);
    clg_context_destroy(ctx);
}

Test(tensor, fill_covers_every_element_and_no_more)
{
    clg_context *ctx = test_context();
    clg_tensor *t = NULL;
    CLG_OK_OR_FAIL(ctx, clg_tensor_zeros(ctx, 3, 1001, &t));
    float *v = malloc(3 * 1001 * sizeof *v);
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(t, v, 3, 1001));
    for (size_t i = 0; i < 3 * 1001; i++) cr_assert_eq(v[i], 0.0f);
    CLG_OK_OR_FAIL(ctx, clg_tensor_fill(t, -2.5f));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(t, v, 3, 1001));
    for (size_t i = 0; i < 3 * 1001; i++) cr_assert_eq(v[i], -2.5f, "element %zu", i);
    free(v);
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
}

Test(tensor, shape_mismatch_is_an_error)
{
    clg_context *ctx = test_context();
    float buf[12] = {0};
    clg_tensor *t = NULL;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 3, 4, &t));
    cr_expect_eq(clg_tensor_upload(t, buf, 4, 3), CLG_ERR_SHAPE);
    cr_expect(strstr(clg_last_error(ctx), "4x3") && strstr(clg_last_error(ctx), "3x4"),
              "message names both shapes: %s", clg_last_error(ctx));
    cr_expect_eq(clg_tensor_download(t, buf, 12, 1), CLG_ERR_SHAPE);
    cr_expect_eq(clg_tensor_upload(t, NULL, 3, 4), CLG_ERR_INVALID_ARGUMENT);
    clg_tensor *z = (clg_tensor *)1;
    cr_expect_eq(clg_tensor_create(ctx, 5, 0, &z), CLG_ERR_SHAPE);
    cr_expect_null(z);
    clg_tensor_destroy(t);
    clg_tensor_destroy(NULL);
    clg_context_destroy(ctx);
}

Test(tensor, beyond_device_limits_names_both_figures)
{
    clg_context *ctx = test_context();
    clg_device_info info;
    clg_context_device(ctx, &info);
    size_t cols = 1024;
    size_t rows = (size_t)(info.max_alloc_size / (cols * sizeof(float))) + 1;
    clg_tensor *t = NULL;
    cr_expect_eq(clg_tensor_create(ctx, rows, cols, &t), CLG_ERR_DEVICE_MEMORY);
    cr_expect_null(t);
    const char *msg = clg_last_error(ctx);
    cr_expect(strstr(msg, "CL_DEVICE_MAX_MEM_ALLOC_SIZE") &&
                  strstr(msg, "CL_DEVICE_GLOBAL_MEM_SIZE"),
              "%s", msg);
    cr_expect_eq(clg_tensor_create(ctx, SIZE_MAX / 2, 16, &t), CLG_ERR_DEVICE_MEMORY);
    clg_context_destroy(ctx);
}

Test(tensor, resize_within_allocation)
{
    clg_context *ctx = test_context();
    clg_tensor *t = NULL;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 10, 3, &t));
    CLG_OK_OR_FAIL(ctx, clg_tensor_resize(t, 3, 3));
    cr_expect_eq(clg_tensor_rows(t), 3);
    float v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9];
    CLG_OK_OR_FAIL(ctx, clg_tensor_upload(t, v, 3, 3));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(t, w, 3, 3));
    cr_expect_arr_eq(v, w, sizeof v);
    cr_expect_eq(clg_tensor_resize(t, 11, 3), CLG_ERR_SHAPE);
    cr_expect_eq(clg_tensor_resize(t, 0, 3), CLG_ERR_SHAPE);
    CLG_OK_OR_FAIL(ctx, clg_tensor_resize(t, 1, 30));
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
}
