/* clgrad train's per-epoch reports, as a user reads them: test figures of the epoch they
 * name, throughput that adds up, and a diverged run that keeps the previous checkpoint. */
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

static char out[1 << 16];

/* A CSV of n rows: d features ~ U(-1, 1) and y = sum_j w_j x_j + 0.5 (w_j = j/d - 0.5). */
static void write_regression(const char *path, size_t n, size_t d, unsigned seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint64_t u = seed;
    for (size_t i = 0; i < n; i++) {
        double y = 0.5;
        for (size_t j = 0; j < d; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            double x = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
            y += ((double)j / (double)d - 0.5) * x;
            fprintf(f, "%.6f,", x);
        }
        fprintf(f, "%.6f\n", y);
    }
    fclose(f);
}

/* The k-th "test loss X" of the output (k from 0). */
static double test_loss(const char *text, int k)
{
    const char *p = text;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "test loss ");
        cr_assert_not_null(p, "test loss %d missing from:\n%s", k, text);
        p += 10;
    }
    return strtod(p, NULL);
}

/* Regression: on data where the per-epoch loss overlaps the next epoch (n·d ≥ 2^20),
 * --test figures were one epoch late and the last two epochs printed the same test loss.
 * Each epoch's test loss must equal that of the unfused, in-order path (CLGRAD_FUSED=0)
 * within 1e-4 relative, and fall from epoch to epoch. */
Test(cli_train, test_figures_are_of_the_epoch_they_name, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256], test[256], cmd[1024];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    write_regression(train, 8192, 128, 1);
    write_regression(test, 500, 128, 2);
    double tl[2][4];
    for (int p = 0; p < 2; p++) {
        snprintf(cmd, sizeof cmd,
                 "CLGRAD_FUSED=%s tools/clgrad train --data %s --no-header --test %s "
                 "--epochs 4 --batch 256 --lr 0.01 --no-progress",
                 p ? "0" : "auto", train, test);
        cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
        for (int e = 0; e < 4; e++) tl[p][e] = test_loss(out, e);
    }
    for (int e = 0; e < 4; e++) {
        cr_expect_lt(fabs(tl[0][e] - tl[1][e]), 1e-4 * tl[1][e],
                     "epoch %d: test loss %.9g (auto) vs %.9g (CLGRAD_FUSED=0)", e + 1, tl[0][e],
                     tl[1][e]);
        if (e)
            cr_expect_lt(tl[0][e], tl[0][e - 1], "epoch %d's test loss %.9g below epoch %d's %.9g",
                         e + 1, tl[0][e], e, tl[0][e - 1]);
    }
}

/* Regression: epoch lines reported impossible rates (the time of one epoch was charged
 * to another). Each epoch's samples/s must account for its own time: n / rate is at
 * most the time between two epoch lines (--log's seconds column, which also holds the
 * test evaluation), and the epochs' n / rate add up to at least half the run. */
Test(cli_train, samples_per_second_add_up, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256], test[256], log[256], cmd[1024];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    write_regression(train, 8192, 128, 3);
    write_regression(test, 100, 128, 4);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --test %s --epochs 6 --batch 64 "
             "--lr 0.01 --no-progress --log %s",
             train, test, log);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double rate[6], sec[7] = {0};
    const char *p = out;
    for (int e = 0; e < 6; e++) {
        const char *line = strstr(p, "samples/s");
        cr_assert_not_null(line, "%s", out);
        const char *start = line - 1; /* the space before "samples/s" */
        while (start > out && start[-1] != ' ') start--;
        rate[e] = strtod(start, NULL);
        p = line + 9;
    }
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f);
    char row[256];
    cr_assert_not_null(fgets(row, sizeof row, f)); /* header */
    for (int e = 1; e <= 6; e++) {
        cr_assert_not_null(fgets(row, sizeof row, f));
        const char *last = strrchr(row, ',');
        sec[e] = strtod(last + 1, NULL);
    }
    fclose(f);
    double sum = 0;
    for (int e = 0; e < 6; e++) {
        double t = 8192 / rate[e];
        sum += t;
        cr_expect_leq(
            t, (sec[e + 1] - sec[e]) * 1.01 + 1e-3,
            "epoch %d: %g samples/s means %.4f s, but its line came %.4f s after the last", e + 1,
            rate[e], t, sec[e + 1] - sec[e]);
    }
    cr_expect_geq(sum, 0.5 * sec[6], "the epochs' own times add up to %.4f s of %.4f s", sum,
                  sec[6]);
}

/* Regression: a softmax run that blew up to finite losses exited 0 and replaced the
 * previous checkpoint. It must stop with CLG_ERR_DIVERGED, exit 1 and leave the file. */
Test(cli_train, a_diverged_run_keeps_the_previous_checkpoint)
{
    char *dir = test_tmpdir();
    char data[256], ckpt[256], cmd[1024];
    snprintf(data, sizeof data, "%s/noise.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/model.clg", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    uint64_t u = 5;
    for (int i = 0; i < 600; i++) { /* random labels: nothing to learn, so it cannot fit */
        for (int j = 0; j < 8; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            fprintf(f, "%.5f,", (double)(u >> 11) / 9007199254740992.0 - 0.5);
        }
        fprintf(f, "%d\n", (int)((u >> 20) % 3));
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --model softmax --epochs 2 --save %s "
             "--no-progress",
             data, ckpt);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    struct stat before, after;
    cr_assert_eq(stat(ckpt, &before), 0);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --model softmax --epochs 2 --lr 1e6 --save "
             "%s --no-progress",
             data, ckpt);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "CLG_ERR_DIVERGED") != NULL, "%s", out);
    char *msg = strstr(out, "clg_fit:");
    cr_assert_not_null(msg, "%s", out);
    msg[strcspn(msg, "\n")] = '\0';
    bad_input_record("clgrad train --lr 1e6 on softmax regression", "CLG_ERR_DIVERGED", msg);
    cr_assert_eq(stat(ckpt, &after), 0);
    cr_assert(after.st_ino == before.st_ino && after.st_mtime == before.st_mtime &&
                  after.st_size == before.st_size,
              "the checkpoint is the earlier run's");
}
