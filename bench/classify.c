/* Times softmax regression or an MLP on Fashion-MNIST-shaped synthetic data, like
 * shared/anchors/torch_softmax.py: X ~ N(0,1) n×d, labels = argmax(X·Wt + N(0,1)).
 * Usage: bench_classify N D Q BATCH EPOCHS [HIDDEN]   (HIDDEN > 0: Linear-ReLU-Linear)
 * lr 0.1, cross-entropy mean; program builds excluded by a warm-up epoch. As in the
 * torch references, the timed fit computes no per-epoch loss (epoch_loss = 0); the
 * accuracy on the training set is measured once, after it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clgrad.h"
#include "synth.h"

#define CHECK(call)                                                                                \
    do {                                                                                           \
        clg_status s_ = (call);                                                                    \
        if (s_ != CLG_OK) {                                                                        \
            fprintf(stderr, "%s: %s: %s\n", #call, clg_status_string(s_), clg_last_error(ctx));    \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    synth_case c = {0};
    int bad = synth_case_read(argc, argv, &c);
    if (bad) {
        fprintf(stderr, bad == 2 ? "usage: bench_classify N D Q BATCH EPOCHS [HIDDEN]\n"
                                 : "bench_classify: out of memory\n");
        return bad;
    }
    const size_t n = c.n, d = c.d, q = c.q, bs = c.batch, epochs = c.epochs, hidden = c.hidden;
    clg_context *ctx = NULL;
    CHECK(clg_context_create(&ctx, NULL));
    clg_dataset *ds;
    CHECK(clg_dataset_from_host_labels(ctx, c.X, c.y, n, d, q, &ds));
    clg_fit_options o = clg_fit_defaults();
    o.on_epoch = NULL;
    o.epoch_loss = 0; /* like the torch references: accuracy once, after the timed fit */
    o.batch_size = bs;
    o.loss = CLG_LOSS_SOFTMAX_XENT;
    o.optimizer.lr = 0.1f;
    o.epochs = epochs;
    clg_model *net = NULL;
    clg_fit_report rep;
    double t = 0;
    CHECK(synth_timed_fit(ctx, ds, o, d, q, hidden, NULL, NULL, &net, &rep, &t));
    clg_eval_result res;
    CHECK(clg_evaluate(net, ds, CLG_LOSS_SOFTMAX_XENT, &res));
    printf("time_s %.3f acc %.4f loss %.5g samples_per_s %.0f us_per_step %.1f\n", t, res.accuracy,
           res.loss, (double)n * epochs / t, t * 1e6 / (double)rep.steps);
    clg_model_destroy(net);
    clg_dataset_destroy(ds);
    clg_context_destroy(ctx);
    free(c.X), free(c.y);
    return 0;
}
