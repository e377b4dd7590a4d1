/* d2l 3.2 "Linear Regression Implementation from Scratch", step by step on an
 * OpenCL device: synthetic data, a shuffling minibatch iterator, linreg,
 * squared_loss, and sgd(params, lr, batch_size) on a summed loss.
 * Usage: linreg_scratch [epochs] [lr] [batch_size] */
#include <stdio.h>
#include <stdlib.h>

#include "clgrad.h"

/* On failure: say what failed, then release what was made (every destroy takes NULL). */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, clg_status_string(s_),                   \
                    clg_last_error(ctx));                                                          \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    const float true_w[2] = {2.0f, -3.4f}, true_b = 4.2f;
    int rc = 1;
    clg_context *ctx = NULL;
    clg_dataset *data = NULL;
    clg_model *net = NULL;
    clg_optimizer *opt = NULL;
    clg_loader *data_iter = NULL;
    clg_tensor *dl = NULL; /* dl/dŷ of l.sum() */
    size_t num_epochs = argc > 1 ? strtoul(argv[1], NULL, 10) : 3;
    float lr = argc > 2 ? strtof(argv[2], NULL) : 0.03f;
    size_t batch_size = argc > 3 ? strtoul(argv[3], NULL, 10) : 10;

    CHECK(clg_context_create(&ctx, NULL)); /* $CLGRAD_DEVICE or the default device */

    /* features, labels = synthetic_data(true_w, true_b, 1000) */
    CHECK(clg_dataset_synthetic_linear(ctx, 1000, true_w, 2, true_b, 0.01f, 42, &data));

    /* w ~ N(0, 0.01²) of 2×1, b = 0 */
    CHECK(clg_model_create(ctx, &net));
    CHECK(clg_model_add_linear(net, 2, 1, NULL));

    /* sgd([w, b], lr, batch_size): p -= lr * grad / batch_size */
    clg_optimizer_options sgd = clg_optimizer_defaults(CLG_OPTIMIZER_SGD);
    sgd.lr = lr;
    CHECK(clg_optimizer_create(net, &sgd, &opt));

    /* data_iter(batch_size, features, labels) */
    clg_loader_options it = clg_loader_defaults();
    it.batch_size = batch_size;
    it.seed = 42;
    CHECK(clg_loader_create(data, &it, &data_iter));

    CHECK(clg_tensor_create(ctx, batch_size, 1, &dl));

    for (size_t epoch = 0; epoch < num_epochs; epoch++) {
        clg_batch batch;
        int more;
        CHECK(clg_loader_start_epoch(data_iter));
        for (;;) {
            CHECK(clg_loader_next(data_iter, &batch, &more));
            if (!more) break;
            const clg_tensor *y_hat;
            CHECK(clg_model_forward(net, batch.X, &y_hat)); /* net(X, w, b) */
            CHECK(clg_tensor_resize(dl, batch.rows, 1));
            CHECK(clg_loss_backward(ctx, CLG_LOSS_SQUARED, CLG_REDUCE_SUM, y_hat, batch.Y, dl));
            CHECK(clg_model_backward(net, dl));                       /* l.sum().backward() */
            CHECK(clg_optimizer_step(opt, 1.0f / (float)batch.rows)); /* sgd(..., batch_size) */
        }
        double train_l;
        CHECK(clg_evaluate_loss(net, data, CLG_LOSS_SQUARED, &train_l)); /* the one wait */
        printf("epoch %zu, loss %f\n", epoch + 1, train_l);
    }

    float w[2], b;
    CHECK(clg_model_get_param(net, 0, w, 2));
    CHECK(clg_model_get_param(net, 1, &b, 1));
    printf("w error: [%f, %f]\n", true_w[0] - w[0], true_w[1] - w[1]);
    printf("b error: [%f]\n", true_b - b);
    rc = 0;

done:
    clg_tensor_destroy(dl);
    clg_loader_destroy(data_iter);
    clg_optimizer_destroy(opt);
    clg_model_destroy(net);
    clg_dataset_destroy(data);
    clg_context_destroy(ctx);
    return rc;
}
