/* d2l 3.6 / 3.7 "Softmax Regression": Linear(784 → 10) + cross-entropy, SGD lr 0.1,
 * batch 256, 10 epochs, on Fashion-MNIST.
 *
 *   softmax_fashion_mnist DIR   DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 *                               t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz
 *   softmax_fashion_mnist       writes a small synthetic set in the same format (2000 train /
 *                               500 test 28×28 images: 10 class patterns + noise) to a
 *                               temporary directory and trains on that, so it always runs.
 *
 * Prints the mean training loss and the test accuracy after every epoch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "clgrad.h"

static const char *const files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

/* ---------------------------------------------------------- synthetic data set */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int put_be32(gzFile gz, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return gzwrite(gz, b, 4) == 4;
}

/* Class k lights a 3-pixel-wide vertical bar at column 2 + 2.5k over a noisy background;
 * labels cycle through the classes. */
static int write_split(const char *dir, const char *images, const char *labels, uint32_t n,
                       uint32_t seed)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, images);
    gzFile gi = gzopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s", dir, labels);
    gzFile gl = gzopen(path, "wb");
    int ok = gi && gl;
    const unsigned char hi[4] = {0, 0, 0x08, 3}, hl[4] = {0, 0, 0x08, 1};
    ok = ok && gzwrite(gi, hi, 4) == 4 && put_be32(gi, n) && put_be32(gi, 28) && put_be32(gi, 28);
    ok = ok && gzwrite(gl, hl, 4) == 4 && put_be32(gl, n);
    unsigned char img[28 * 28];
    for (uint32_t i = 0; ok && i < n; i++) {
        const unsigned char k = (unsigned char)((i * 7u + seed) % 10u);
        const int col = 2 + (5 * k) / 2;
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                unsigned v = lcg(&seed) % 120u; /* noise */
                if (c >= col && c < col + 3 && r >= 4 && r < 24) v += 60u;
                img[r * 28 + c] = (unsigned char)(v > 255u ? 255u : v);
            }
        ok = gzwrite(gi, img, sizeof img) == (int)sizeof img && gzwrite(gl, &k, 1) == 1;
    }
    if (gi && gzclose(gi) != Z_OK) ok = 0;
    if (gl && gzclose(gl) != Z_OK) ok = 0;
    return ok;
}

/* ------------------------------------------------------------------- training */

typedef struct progress {
    clg_model *net;
    clg_dataset *test;
    clg_status status;
    double accuracy;
} progress;

static void on_epoch(size_t epoch, double train_loss, void *user)
{
    progress *p = user;
    clg_eval_result res;
    clg_status s = clg_evaluate(p->net, p->test, CLG_LOSS_SOFTMAX_XENT, &res);
    if (s != CLG_OK) {
        if (p->status == CLG_OK) p->status = s;
        printf("epoch %zu, loss %.4f, test acc (evaluation failed)\n", epoch, train_loss);
        return;
    }
    p->accuracy = res.accuracy;
    printf("epoch %zu, loss %.4f, test loss %.4f, test acc %.3f\n", epoch, train_loss, res.loss,
           res.accuracy);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(stderr, "usage: %s [FASHION_MNIST_DIR]\n", argv[0]);
        return 2;
    }
    char tmpdir[64] = "";
    const char *dir = argc == 2 ? argv[1] : NULL;
    if (!dir) {
        strcpy(tmpdir, "/tmp/clgrad-fashion-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "cannot make a directory under /tmp\n");
            return 1;
        }
        if (!write_split(tmpdir, files[0], files[1], 2000, 1) ||
            !write_split(tmpdir, files[2], files[3], 500, 2)) {
            fprintf(stderr, "cannot write the synthetic data set under %s\n", tmpdir);
            for (int i = 0; i < 4; i++) { /* leave nothing half-written behind */
                char f[4096];
                snprintf(f, sizeof f, "%s/%s", tmpdir, files[i]);
                remove(f);
            }
            rmdir(tmpdir);
            return 1;
        }
        dir = tmpdir;
        printf("no directory given: training on a synthetic Fashion-MNIST-shaped set in %s\n", dir);
    }
    char path[4][4096];
    for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, files[i]);

    clg_context *ctx = NULL;
    clg_dataset *train = NULL, *test = NULL;
    clg_model *net = NULL;
    clg_status s = clg_context_create(&ctx, NULL);
    if (s == CLG_OK) s = clg_dataset_from_idx(ctx, path[0], path[1], &train);
    if (s == CLG_OK) s = clg_dataset_from_idx(ctx, path[2], path[3], &test);
    if (s == CLG_OK)
        printf("train %zu × %zu, test %zu, %zu classes\n", clg_dataset_size(train),
               clg_dataset_features(train), clg_dataset_size(test), clg_dataset_classes(train));
    if (s == CLG_OK) s = clg_model_create(ctx, &net);
    if (s == CLG_OK) s = clg_model_add_linear(net, 784, 10, NULL); /* W ~ N(0, 0.01²), b = 0 */

    progress p = {.net = net, .test = test, .status = CLG_OK, .accuracy = -1};
    clg_fit_options o = clg_fit_defaults();
    o.epochs = 10;
    o.batch_size = 256;
    o.loss = CLG_LOSS_SOFTMAX_XENT; /* nn.CrossEntropyLoss(): mean over the batch */
    o.reduction = CLG_REDUCE_MEAN;
    o.optimizer.lr = 0.1f;
    o.seed = 42;
    o.on_epoch = on_epoch;
    o.user = &p;
    if (s == CLG_OK) s = clg_fit(net, train, &o, NULL, NULL);
    if (s == CLG_OK) s = p.status;
    if (s == CLG_OK)
        printf("final test accuracy %.3f\n", p.accuracy);
    else
        fprintf(stderr, "%s: %s\n", clg_status_string(s),
                ctx ? clg_last_error(ctx) : clg_last_error(NULL));

    clg_model_destroy(net);
    clg_dataset_destroy(test);
    clg_dataset_destroy(train);
    clg_context_destroy(ctx);
    if (tmpdir[0]) {
        for (int i = 0; i < 4; i++) remove(path[i]);
        rmdir(tmpdir);
    }
    return s == CLG_OK ? 0 : 1;
}
