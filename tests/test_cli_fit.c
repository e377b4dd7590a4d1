/* clgrad train's training options: --val and --early-stop (the epoch kept and saved),
 * --resume (bit-identical with a run that never stopped), --schedule / --warmup, an MLP
 * with a regression loss, and the refusals. */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static char out[1 << 16];

static const char *wine(void) { return CLGRAD_TEST_DATA "/../../examples/data/wine_train.csv"; }

/* Bytes of a file into buf (cap); the count. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* --val: each epoch reports the validation figures; the run keeps (and saves, with
 * epochs=K in the meta) the epoch with the lowest validation loss, and the log has it. */
Test(cli_fit, val_keeps_and_saves_the_best_epoch, .timeout = 120)
{
    char cmd[1024], save[256], log[256];
    snprintf(save, sizeof save, "%s/val.clg", test_tmpdir());
    snprintf(log, sizeof log, "%s/val.csv", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --model softmax --standardize --epochs 12 --lr 10 "
             "--val 0.3 --no-progress --save %s --log %s",
             wine(), save, log);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    /* the lowest "val loss" of the 12 lines is the epoch kept */
    double best = 1e300;
    int best_e = 0, lines = 0;
    static char text[sizeof out + 1];
    snprintf(text, sizeof text, "\n%s", out); /* every epoch line after a line break */
    for (const char *p = text; (p = strstr(p, "\nepoch ")) != NULL;) {
        int e;
        double vl;
        const char *v = strstr(p, "val loss ");
        cr_assert(v && sscanf(p + 7, "%d", &e) == 1 && sscanf(v + 9, "%lf", &vl) == 1, "%s", out);
        if (vl < best) best = vl, best_e = e;
        lines++;
        p += 7;
    }
    cr_expect_eq(lines, 12, "epoch lines: %d\n%s", lines, out);
    char want[64];
    snprintf(want, sizeof want, "kept epoch %d (val loss ", best_e);
    cr_expect(strstr(out, want) != NULL, "wanted \"%s\":\n%s", want, out);
    snprintf(cmd, sizeof cmd, "tools/clgrad info %s", save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(want, sizeof want, "epochs=%d", best_e);
    cr_expect(strstr(out, want) != NULL, "the checkpoint's meta lacks %s:\n%s", want, out);
    char csv[8192];
    size_t n = slurp(log, csv, sizeof csv - 1);
    csv[n] = '\0';
    const char *head = "epoch,train_loss,test_loss,test_accuracy,seconds,val_loss,val_accuracy\n";
    cr_expect(strncmp(csv, head, strlen(head)) == 0, "%s", csv);
    cr_expect_neq(best_e, 12, "the best epoch should not be the last at this rate:\n%s", out);
    remove(save);
    remove(log);
}

/* --early-stop K: with a rate so high the validation loss stops improving, the run ends K
 * epochs after its best and says so. */
Test(cli_fit, early_stop_ends_the_run, .timeout = 120)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --model softmax --standardize --epochs 200 --lr 10 "
             "--val 0.3 --early-stop 3 --no-progress --json",
             wine());
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    const char *end = strstr(out, "\"event\":\"end\"");
    cr_assert_not_null(end, "%s", out);
    cr_expect(strstr(end, "\"stopped_early\":true") != NULL, "%s", end);
    long best = -1, epochs = -1;
    const char *b = strstr(end, "\"best_epoch\":"), *e = strstr(end, "\"epochs\":");
    cr_assert(b && e && sscanf(b + 13, "%ld", &best) == 1 && sscanf(e + 9, "%ld", &epochs) == 1);
    cr_expect_eq(epochs, best + 3, "ran %ld epochs, best %ld, patience 3", epochs, best);
    cr_expect_lt(epochs, 200);
}

/* 6 epochs in one run == 3 epochs, then --resume to 6: the same checkpoint bytes, with
 * momentum, shuffling, a warm-up + cosine schedule and an MLP (and with the fused paths: a
 * softmax). */
static void resume_case(const char *model)
{
    char cmd[1024], a[256], b[256];
    snprintf(a, sizeof a, "%s/whole.clg", test_tmpdir());
    snprintf(b, sizeof b, "%s/parts.clg", test_tmpdir());
    const char *common =
        "--standardize --momentum 0.9 --schedule cosine:0:4 --warmup 2 --no-progress";
    snprintf(cmd, sizeof cmd, "tools/clgrad train --data %s --model %s %s --epochs 6 --save %s",
             wine(), model, common, a);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "tools/clgrad train --data %s --model %s %s --epochs 3 --save %s",
             wine(), model, common, b);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --resume %s --schedule cosine:0:4 --warmup 2 --epochs 6 "
             "--no-progress --save %s",
             wine(), b, b);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "epoch 4, loss") && !strstr(out, "epoch 3, loss"),
              "the resumed run numbers its epochs 4..6:\n%s", out);
    static char x[1 << 16], y[1 << 16];
    size_t nx = slurp(a, x, sizeof x), ny = slurp(b, y, sizeof y);
    cr_expect(nx == ny && memcmp(x, y, nx) == 0, "%s: resumed checkpoint differs (%zu, %zu bytes)",
              model, nx, ny);
    /* another schedule, seed or batch size would not go on as one run: refused */
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --resume %s --schedule cosine:0:4 --warmup 1 --epochs 8",
             wine(), b);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "was trained with batch=10 seed=42 shuffle=1 schedule=cosine:0:4 "
                          "warmup=2; this run has batch=10 seed=42 shuffle=1 "
                          "schedule=cosine:0:4 warmup=1"),
              "%s", out);
    bad_input_record("clgrad train --resume (a checkpoint of --warmup 2) --warmup 1", "exit 2",
                     out);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --resume %s --schedule cosine --warmup 2 --epochs 8",
             wine(), b);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--resume with --schedule cosine needs its T_MAX"), "%s", out);
    bad_input_record("clgrad train --resume --schedule cosine (no T_MAX)", "exit 2", out);
    remove(a);
    remove(b);
}

Test(cli_fit, resume_is_bit_identical_mlp, .timeout = 120) { resume_case("mlp:8"); }
Test(cli_fit, resume_is_bit_identical_softmax, .timeout = 120) { resume_case("softmax"); }

/* An MLP with a regression loss is a regressor (train, save, eval). */
Test(cli_fit, mlp_regression, .timeout = 120)
{
    char cmd[1024], save[256];
    snprintf(save, sizeof save, "%s/reg.clg", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --synthetic 2000x3 --model mlp:16 --loss mse --epochs 8 "
             "--lr 0.05 --no-progress --save %s",
             save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    const char *last = strstr(out, "epoch 8, loss ");
    cr_assert_not_null(last, "%s", out);
    double loss = strtod(last + 14, NULL);
    /* the noise is N(0, 0.01²): an MSE near 1e-4 once fitted; the initial model's is ~15 */
    cr_expect_lt(loss, 0.05, "MLP regression loss after 8 epochs: %g\n%s", loss, out);
    snprintf(cmd, sizeof cmd, "tools/clgrad info %s", save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "loss=mse") && strstr(out, "ReLU()"), "%s", out);
    remove(save);
}

Test(cli_fit, bad_training_options_are_refused)
{
    struct {
        const char *args, *needle;
    } cases[] = {
        {"--early-stop 3", "--early-stop needs --val F"},
        {"--val 1", "--val: '1' is above the limit"},
        {"--betas 0.9,0.999", "--betas is an option of adam and adamw, not of --optimizer sgd"},
        {"--optimizer adam --momentum 0.9",
         "--momentum is an option of sgd and rmsprop, not of --optimizer adam"},
        {"--eps 1e-6", "--eps is an option of adam, adamw and rmsprop"},
        {"--optimizer adam --betas 0.9,1", "--betas: '0.9,1' is not B1,B2 with each in [0, 1)"},
        {"--optimizer lbfgs", "--optimizer"},
        {"--schedule step:0", "--schedule: 'step:0' is not constant, step:S[:GAMMA]"},
        {"--schedule step:2:1.5", "'step:2:1.5' is not"},
        {"--schedule cosine:-1", "'cosine:-1' is not"},
        {"--schedule linear", "'linear' is not"},
        {"--warmup 0", "--warmup: '0' is below the minimum 1"},
        {"--model softmax --loss mse", "--loss mse does not go with --model softmax"},
        {"--resume x.clg --model linear", "--resume takes the model and the loss"},
        {"--stream --val 0.2",
         "--val holds rows out of data in memory, and --stream keeps them in the file"},
        {"--shard", "--shard needs --distributed, --stream and a --data file (.npy or CSV"},
        {"--stream --shard", "--shard needs --distributed, --stream and a --data file"},
        {"--average-every 2", "--average-every averages the models of the ranks of a "
                              "--distributed run"},
        {"--distributed --average-every 0", "--average-every: '0' is below the minimum 1"},
        {"--distributed --average-every 2 --stream", "--average-every with --stream needs --shard"},
        {"--shard --standardize", "--standardize with --shard would scale each rank's rows"},
    };
    char cmd[512];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        /* --stream needs a file: the wine data */
        int file = strstr(cases[k].args, "--stream") != NULL;
        snprintf(cmd, sizeof cmd, "timeout 60 tools/clgrad train %s%s %s",
                 file ? "--model softmax --data " : "--synthetic 100", file ? wine() : "",
                 cases[k].args);
        int rc = run_in_build(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "%s: exit %d:\n%s", cases[k].args, rc, out);
        const char *line = strstr(out, cases[k].needle);
        cr_expect(line != NULL, "%s: output lacks \"%s\":\n%s", cases[k].args, cases[k].needle,
                  out);
        char msg[256], input[256];
        snprintf(msg, sizeof msg, "%.*s", (int)strcspn(out, "\n"), out);
        snprintf(input, sizeof input, "clgrad train %s", cases[k].args);
        bad_input_record(input, "exit 2", msg);
    }
    /* A checkpoint without epochs= (not written by clgrad train) cannot be resumed. */
    char save[256];
    snprintf(save, sizeof save, "%s/solve.clg", test_tmpdir());
    snprintf(cmd, sizeof cmd, "tools/clgrad solve --synthetic 100 --save %s", save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "tools/clgrad train --synthetic 100 --resume %s --epochs 5", save);
    cr_expect_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "not a checkpoint of clgrad train") != NULL, "%s", out);
    bad_input_record("clgrad train --resume (a clgrad solve checkpoint)", "exit 1", out);
    remove(save);
}

/* --optimizer adam: PyTorch's Adam with its defaults (printed by --verbose), trained, and its
 * state in the checkpoint (clgrad info). */
Test(cli_fit, adam_from_the_cli, .timeout = 120)
{
    char cmd[1024], save[256];
    snprintf(save, sizeof save, "%s/adam.clg", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --model softmax --standardize --optimizer adam "
             "--lr 0.05 --epochs 10 --verbose --no-progress --save %s",
             wine(), save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)"),
              "%s", out);
    cr_expect(strstr(out, "    lr: 0.05\n"), "%s", out);
    double first = strtod(strstr(out, "epoch 1, loss ") + 14, NULL);
    double last = strtod(strstr(out, "epoch 10, loss ") + 15, NULL);
    cr_expect_lt(last, first / 4, "Adam's loss: %g after epoch 1, %g after 10", first, last);
    const char *acc = strstr(out, "train accuracy ");
    cr_expect(acc && strtod(acc + 15, NULL) >= 0.97, "%s", out);
    snprintf(cmd, sizeof cmd, "tools/clgrad info %s", save);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "optimizer state: Adam, 1 parameter group, ") != NULL, "%s", out);
    remove(save);
}
