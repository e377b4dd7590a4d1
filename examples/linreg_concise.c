/* d2l 3.3 "Concise Implementation of Linear Regression": nn.Linear(2, 1),
 * nn.MSELoss(), torch.optim.SGD(lr=0.03), three epochs — through clg_fit. */
#include <stdio.h>

#include "clgrad.h"

int main(void)
{
    const float true_w[2] = {2.0f, -3.4f}, true_b = 4.2f;
    clg_context *ctx = NULL;
    clg_dataset *data = NULL;
    clg_model *net = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s == CLG_OK)
        s = clg_dataset_synthetic_linear(ctx, 1000, true_w, 2, true_b, 0.01f, 42, &data);
    if (s == CLG_OK) s = clg_model_create(ctx, &net);
    if (s == CLG_OK) s = clg_model_add_linear(net, 2, 1, NULL);

    clg_fit_options o = clg_fit_defaults(); /* batch 10, 3 epochs, shuffled, prints each epoch */
    o.loss = CLG_LOSS_MSE;                  /* nn.MSELoss(): mean of (ŷ − y)² */
    o.reduction = CLG_REDUCE_MEAN;
    o.optimizer.lr = 0.03f;
    o.seed = 42;
    if (s == CLG_OK) s = clg_fit(net, data, &o, NULL, NULL);

    float w[2], b;
    if (s == CLG_OK) s = clg_model_get_param(net, 0, w, 2);
    if (s == CLG_OK) s = clg_model_get_param(net, 1, &b, 1);
    if (s == CLG_OK) {
        printf("error in estimating w: [%f, %f]\n", true_w[0] - w[0], true_w[1] - w[1]);
        printf("error in estimating b: [%f]\n", true_b - b);
    } else {
        fprintf(stderr, "%s: %s\n", clg_status_string(s), clg_last_error(ctx ? ctx : NULL));
    }
    clg_model_destroy(net);
    clg_dataset_destroy(data);
    clg_context_destroy(ctx);
    return s == CLG_OK ? 0 : 1;
}
