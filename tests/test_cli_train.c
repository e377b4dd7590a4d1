/* clgrad train's per-epoch reports, as a user reads them: test figures of the epoch they
 * name, throughput that adds up, and a diverged run that keeps the previous checkpoint. */
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

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
 * previous checkpoint. It must stop with CLG_ERR_DIVERGED, exit 1 and, as no epoch passed
 * (the initial model is no result), leave the file and say so. */
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
    char line[512];
    snprintf(line, sizeof line,
             "clgrad train: diverged in epoch 1: no epoch passed: %s not written\n", ckpt);
    cr_expect(strstr(out, line), "wanted \"%s\":\n%s", line, out);
    char *msg = strstr(out, "clg_fit:");
    cr_assert_not_null(msg, "%s", out);
    msg[strcspn(msg, "\n")] = '\0';
    bad_input_record("clgrad train --lr 1e6 on softmax regression", "CLG_ERR_DIVERGED", msg);
    cr_assert_eq(stat(ckpt, &after), 0);
    cr_assert(after.st_ino == before.st_ino && after.st_mtime == before.st_mtime &&
                  after.st_size == before.st_size,
              "the checkpoint is the earlier run's");
}

/* ---- user report "The command line on real data": figures, output paths, --log as it
 * goes, --save-every */

/* The longest run of decimal digits in text. */
static size_t longest_digits(const char *text)
{
    size_t best = 0, run = 0;
    for (const char *p = text; *p; p++) {
        run = *p >= '0' && *p <= '9' ? run + 1 : 0;
        if (run > best) best = run;
    }
    return best;
}

/* 200 rows of x1, x2 ~ U(-1, 1) and y = scale * (2 x1 - 3 x2 + 4). */
static void write_scaled(const char *path, double scale)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint64_t u = 11;
    for (int i = 0; i < 200; i++) {
        double x[2];
        for (int j = 0; j < 2; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
        }
        fprintf(f, "%.6f,%.6f,%.9g\n", x[0], x[1], scale * (2 * x[0] - 3 * x[1] + 4));
    }
    fclose(f);
}

/* The whole of a small file, NUL-terminated, in buf. */
static size_t slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t len = fread(buf, 1, n - 1, f);
    buf[len] = '\0';
    fclose(f);
    return len;
}

/* A diverging run on data in the 10^4s: every loss it prints is over 10^6, so each must be
 * in %g form (the report: a 30-digit %f). It stops with CLG_ERR_DIVERGED, exit 1; the
 * --save-every checkpoint left is the last passing epoch's, whose loss eval reads back. */
Test(cli_train, huge_figures_print_in_g_form_and_divergence_keeps_the_last_checkpoint,
     .timeout = 120)
{
    char *dir = test_tmpdir();
    char data[256], ckpt[256], log[256], cmd[1024];
    snprintf(data, sizeof data, "%s/big.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    write_scaled(data, 1e4);
    /* Full batches at lr 2.5: the bias's error grows 1.5-fold an epoch. */
    snprintf(
        cmd, sizeof cmd,
        "timeout 60 tools/clgrad train --data %s --no-header --batch 200 --lr 2.5 --epochs 1000 "
        "--save %s --save-every 1 --log %s --no-progress",
        data, ckpt, log);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "CLG_ERR_DIVERGED"), "%s", out);
    cr_expect_leq(longest_digits(out), 10, "a figure of many digits:\n%s", out);
    double loss[1000];
    size_t epochs = 0;
    for (const char *p = strstr(out, "epoch 1, loss "); p && epochs < 1000;
         p = strstr(p + 1, "\nepoch ")) {
        const char *fig = strstr(p, "loss ") + 5;
        size_t len = strcspn(fig, ",");
        cr_expect(memchr(fig, 'e', len) != NULL, "not %%g: %.*s", (int)len, fig);
        loss[epochs++] = strtod(fig, NULL);
        cr_expect_gt(loss[epochs - 1], 1e6);
    }
    cr_assert_geq(epochs, 3, "%s", out);
    static char text[1 << 16];
    slurp(log, text, sizeof text);
    size_t rows = 0;
    const char *row = strchr(text, '\n');
    for (; row && row[1]; row = strchr(row + 1, '\n'), rows++) {
        size_t e = 0;
        double l = 0;
        cr_assert_eq(sscanf(row + 1, "%zu,%lf,", &e, &l), 2, "%s", text);
        cr_expect_eq(e, rows + 1, "%s", text);
        cr_expect_lt(fabs(l - loss[rows]), 1e-5 * l, "epoch %zu: log %g, line %g", e, l,
                     loss[rows]);
    }
    cr_expect_eq(rows, epochs, "the log has the %zu epochs printed:\n%s", epochs, text);
    snprintf(cmd, sizeof cmd, "tools/clgrad eval --model %s --data %s --no-header", ckpt, data);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    const char *fig = strstr(out, "loss (squared) ");
    cr_assert_not_null(fig, "%s", out);
    cr_expect(strchr(fig, 'e') && longest_digits(out) <= 10, "not %%g:\n%s", out);
    double l = strtod(fig + 15, NULL), want = loss[epochs - 1];
    cr_expect_lt(fabs(l - want), 1e-5 * want,
                 "the checkpoint's loss %g is not that of epoch %zu, the last printed (%g)", l,
                 epochs, want);

    /* solve's weights and eval of ordinary figures */
    write_scaled(data, 1e7);
    snprintf(cmd, sizeof cmd, "tools/clgrad solve --data %s --no-header", data);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "w: [2e+07, -3e+07]") || strstr(out, "w: [2.00000e+07"), "%s", out);
    cr_expect(strstr(out, "b: 4e+07\n"), "%s", out);
    cr_expect_leq(longest_digits(out), 10, "%s", out);
    cr_assert_eq(run_in_build("tools/clgrad train --synthetic 1000 --epochs 1 --no-progress", out,
                              sizeof out),
                 0, "%s", out);
    const char *normal = strstr(out, "epoch 1, loss 0.");
    cr_assert_not_null(normal, "%s", out);
    cr_expect_eq(strcspn(normal + 16, ","), 6, "six decimals, d2l's form: %s", out);
}

/* --save, --log and --plot that cannot be written are refused at once, naming the option
 * and why, before the data is made or an epoch runs (10^6 epochs would run for hours);
 * nothing is created or truncated. */
Test(cli_train, output_paths_are_refused_before_any_epoch, .timeout = 120)
{
    char *dir = test_tmpdir();
    char file[300], sub[300], ro[300], keep[300];
    snprintf(file, sizeof file, "%s/file.txt", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(ro, sizeof ro, "%s/ro", dir);
    snprintf(keep, sizeof keep, "%s/keep.csv", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    f = fopen(keep, "w");
    cr_assert_not_null(f);
    fputs("kept\n", f);
    fclose(f);
    cr_assert_eq(mkdir(sub, 0755), 0);
    cr_assert_eq(mkdir(ro, 0555), 0);
    struct {
        const char *opt;
        char path[320], reason[400];
    } cases[5];
    size_t n = 0;
    cases[n].opt = "--save";
    snprintf(cases[n].path, sizeof cases[n].path, "%s/none/m.clg", dir);
    snprintf(cases[n++].reason, sizeof cases[0].reason, "directory '%s/none' does not exist", dir);
    cases[n].opt = "--log";
    snprintf(cases[n].path, sizeof cases[n].path, "%s", sub);
    snprintf(cases[n++].reason, sizeof cases[0].reason, "'%s' is a directory", sub);
    cases[n].opt = "--plot";
    snprintf(cases[n].path, sizeof cases[n].path, "%s/p.svg", file);
    snprintf(cases[n++].reason, sizeof cases[0].reason, "'%s' is not a directory", file);
    cases[n].opt = "--save";
    snprintf(cases[n].path, sizeof cases[n].path, "%s", sub);
    snprintf(cases[n++].reason, sizeof cases[0].reason, "'%s' is a directory", sub);
    if (geteuid() != 0) { /* root writes anywhere */
        cases[n].opt = "--log";
        snprintf(cases[n].path, sizeof cases[n].path, "%s/l.csv", ro);
        snprintf(cases[n++].reason, sizeof cases[0].reason, "directory '%s' is not writable", ro);
    }
    for (size_t k = 0; k < n; k++) {
        /* another output, valid, that must not be created (or, for keep.csv, truncated) */
        char other[400], cmd[1400];
        if (strcmp(cases[k].opt, "--log"))
            snprintf(other, sizeof other, "--log %s", keep);
        else
            snprintf(other, sizeof other, "--save %s/ok.clg", dir);
        snprintf(cmd, sizeof cmd,
                 "timeout 20 tools/clgrad train --synthetic 100000x8 --epochs 1000000 "
                 "--no-progress %s %s %s",
                 other, cases[k].opt, cases[k].path);
        time_t t0 = time(NULL);
        int rc = run_in_build(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "%s %s: exit %d:\n%s", cases[k].opt, cases[k].path, rc, out);
        char want[800];
        snprintf(want, sizeof want, "clgrad train: %s: %s\n", cases[k].opt, cases[k].reason);
        cr_expect(strstr(out, want), "wanted \"%s\":\n%s", want, out);
        cr_expect(strstr(out, "epoch") == NULL, "training ran:\n%s", out);
        cr_expect_leq(time(NULL) - t0, 5, "refused after %lld s", (long long)(time(NULL) - t0));
        char path[400];
        snprintf(path, sizeof path, "%s/ok.clg", dir);
        cr_expect_neq(access(path, F_OK), 0, "%s was created", path);
        char text[64];
        slurp(keep, text, sizeof text);
        cr_expect_str_eq(text, "kept\n", "%s was truncated", keep);
        if (k == 0) {
            out[strcspn(out, "\n")] = '\0';
            bad_input_record("clgrad train --save /nonexistent/dir/m.clg", "exit 2", out);
        }
    }
    rmdir(ro);
}

/* y = x·w + 0.5 + noise (the loss settles near 0.0075, so it differs from epoch to epoch
 * in its sixth decimal) */
static void write_noisy(const char *path, size_t n, size_t d)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint64_t u = 99;
    for (size_t i = 0; i < n; i++) {
        double y = 0.5;
        for (size_t j = 0; j <= d; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            double x = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
            if (j == d) {
                fprintf(f, "%.6f\n", y + 0.2 * x);
                break;
            }
            y += ((double)j / (double)d - 0.5) * x;
            fprintf(f, "%.6f,", x);
        }
    }
    fclose(f);
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}

/* A run killed (SIGKILL) in the middle: --log holds every epoch finished, each row whole,
 * and the --save-every checkpoint loads and is the model of one of the logged epochs. */
Test(cli_train, log_and_checkpoint_of_a_killed_run, .timeout = 120)
{
    char *dir = test_tmpdir();
    char data[256], log[256], ckpt[256], bin[512], cmd[1024];
    snprintf(data, sizeof data, "%s/train.csv", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    write_noisy(data, 4096, 16);
    const char *bindir = getenv("CLGRAD_TEST_BIN_DIR");
    cr_assert_not_null(bindir);
    snprintf(bin, sizeof bin, "%s/tools/clgrad", bindir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        execl(bin, bin, "train", "--data", data, "--no-header", "--epochs", "1000000", "--lr",
              "0.01", "--log", log, "--save", ckpt, "--save-every", "2", "--no-progress",
              (char *)NULL);
        _exit(127);
    }
    time_t t0 = time(NULL);
    while (count_lines(log) < 5 && time(NULL) - t0 < 60) {
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the run ended by itself (status %d)",
              st);
    static char text[1 << 20];
    size_t len = slurp(log, text, sizeof text);
    cr_assert_gt(len, 0);
    cr_expect_eq(text[len - 1], '\n', "the last row is cut:\n%s",
                 text + (len > 200 ? len - 200 : 0));
    const char *head = "epoch,train_loss,test_loss,test_accuracy,seconds\n";
    cr_assert_eq(strncmp(text, head, strlen(head)), 0, "%.200s", text);
    static double loss[1 << 16];
    size_t rows = 0;
    double last_t = 0;
    for (char *p = text + strlen(head); *p && rows < 1 << 16; rows++) {
        char *end = strchr(p, '\n');
        cr_assert_not_null(end, "row %zu is cut: %s", rows + 1, p);
        *end = '\0';
        size_t e = 0;
        double t = 0;
        int used = 0;
        cr_assert_eq(sscanf(p, "%zu,%lf,,,%lf%n", &e, &loss[rows], &t, &used), 3, "row: %s", p);
        cr_expect_eq((size_t)used, strlen(p), "row: %s", p);
        cr_expect_eq(e, rows + 1, "row: %s", p);
        cr_expect(isfinite(loss[rows]) && loss[rows] > 0 && t >= last_t, "row: %s", p);
        last_t = t;
        p = end + 1;
    }
    cr_expect_geq(rows, 4, "%zu epochs logged", rows);
    snprintf(cmd, sizeof cmd, "tools/clgrad eval --model %s --data %s --no-header", ckpt, data);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "the checkpoint: %s", out);
    cr_expect(strstr(out, "samples 4096\n"), "%s", out);
    const char *fig = strstr(out, "loss (squared) ");
    cr_assert_not_null(fig, "%s", out);
    double l = strtod(fig + 15, NULL);
    size_t match = 0;
    for (size_t i = 1; i < rows; i += 2) /* epochs 2, 4, ... */
        if (fabs(loss[i] - l) <= 1.5e-6) match = i + 1;
    cr_expect_neq(match, 0, "the checkpoint's loss %g is none of an even epoch's", l);
}

/* ---- user report "The command line on real data" (second part): --standardize and the
 * scale warning, SIGINT / SIGTERM and divergence saving the last good epoch, class names
 * in the checkpoint, the first-run compile message */

/* The value after the last occurrence of key in text (NAN when absent). */
static double last_field(const char *text, const char *key)
{
    const char *p = NULL;
    for (const char *q = strstr(text, key); q; q = strstr(q + 1, key)) p = q;
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Like UCI's wine data: 3 classes, 13 features at their offsets and scales (alcohol 13,
 * malic acid 2.3, ..., magnesium 100, ..., proline 746 ± 315), each class shifted by one
 * std on every feature, plus noise of 0.58 std. */
static const double wine_mean[13] = {13.0, 2.34, 2.37, 19.5, 99.7, 2.29, 2.03,
                                     0.36, 1.59, 5.06, 0.96, 2.61, 746};
static const double wine_std[13] = {0.81, 1.12, 0.27, 3.34, 14.3, 0.63, 1.0,
                                    0.12, 0.57, 2.32, 0.23, 0.71, 315};

static void write_wine(const char *path, int n, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint64_t u = seed;
    for (int i = 0; i < n; i++) {
        int k = i % 3;
        for (int j = 0; j < 13; j++) {
            double g = 0; /* about N(0, 1): a sum of 4 uniforms */
            for (int t = 0; t < 4; t++) {
                u = u * 6364136223846793005ULL + 1442695040888963407ULL;
                g += (double)(u >> 11) / 9007199254740992.0 - 0.5;
            }
            double shift = (k - 1) * (j % 3 ? 1.0 : -1.0);
            fprintf(f, "%.4f,", wine_mean[j] + wine_std[j] * (shift + g));
        }
        fprintf(f, "%d\n", k);
    }
    fclose(f);
}

#define SCALE_WARNING "clgrad train: features are far from unit scale (feature "

/* Softmax on wine-like raw features: without --standardize SGD cannot get past the
 * proline column, at the default learning rate (the loss jumps about in the 10^4s) or a
 * small one (it ends above the initial model's), and one line says so, naming it; with --standardize the test
 * accuracy is much higher, the checkpoint takes raw rows (eval of the raw test file gives
 * train's last test figures) and keeps the training set's mean and std. */
Test(cli_train, standardize_fits_raw_features_and_the_checkpoint_takes_raw_rows, .timeout = 120)
{
    char *dir = test_tmpdir();
    char train[256], test[256], ckpt[256], cmd[1400];
    snprintf(train, sizeof train, "%s/wine.csv", dir);
    snprintf(test, sizeof test, "%s/wine-test.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    write_wine(train, 150, 7);
    write_wine(test, 60, 8);
    const char *runs[3] = {"", "--lr 0.001", "--standardize"};
    double acc[3];
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd,
                 "tools/clgrad train --data %s --no-header --test %s --model softmax --epochs 10 "
                 "--batch 16 --no-progress --save %s %s",
                 train, test, ckpt, runs[k]);
        int rc = run_in_build(cmd, out, sizeof out);
        acc[k] = last_field(out, "test acc ");
        if (isnan(acc[k])) acc[k] = 0; /* diverged in epoch 1 */
        if (k == 2) {
            cr_assert_eq(rc, 0, "%s\n%s", cmd, out);
            cr_expect_eq(occurrences(out, SCALE_WARNING), 0, "a warning with --standardize:\n%s",
                         out);
            break;
        }
        cr_expect(rc == 0 || (rc == 1 && strstr(out, "clgrad train: diverged in epoch ")),
                  "exit %d: %s\n%s", rc, cmd, out);
        if (k == 1)
            cr_expect_gt(last_field(out, "\nepoch 10, loss "), log(3.0), "a loss that fell:\n%s",
                         out);
        cr_expect_eq(occurrences(out, SCALE_WARNING "12: mean 7"), 1, "no warning:\n%s", out);
        cr_expect(strstr(out, ", std 3") && strstr(out, "); try --standardize\n"), "%s", out);
    }
    cr_expect_geq(acc[2], 0.9, "test accuracy %.4f with --standardize:\n%s", acc[2], out);
    cr_expect_geq(acc[2], fmax(acc[0], acc[1]) + 0.3,
                  "%.4f with --standardize, %.4f and %.4f without", acc[2], acc[0], acc[1]);
    double test_loss_last = last_field(out, "test loss ");

    snprintf(cmd, sizeof cmd, "tools/clgrad eval --model %s --data %s --no-header", ckpt, test);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_eq(last_field(out, "\naccuracy "), acc[2], "eval of the raw file: %s", out);
    double l = last_field(out, "loss (xent) ");
    cr_expect_lt(fabs(l - test_loss_last), 1e-4 * test_loss_last,
                 "eval's loss %g, train's last test loss %g", l, test_loss_last);

    clg_context *ctx = test_context();
    clg_model *m = NULL;
    CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, ckpt, &m, NULL, 0));
    float mean[13], scale[13];
    cr_assert_eq(clg_model_input_scaling(m, mean, scale, 13), 1, "the checkpoint has no scaling");
    cr_expect(fabs(mean[12] - 746) < 60 && fabs(scale[12] - 315) < 60 && fabs(mean[0] - 13) < 0.5,
              "proline %g ± %g, alcohol %g", mean[12], scale[12], mean[0]);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
}

/* Linear regression with --standardize prints the weights of raw rows (w / scale, and b
 * less their means), and the checkpoint's loss on the raw file is the last epoch's. */
Test(cli_train, standardize_reports_the_weights_of_raw_rows, .timeout = 60)
{
    char *dir = test_tmpdir();
    char data[256], ckpt[256], cmd[1024];
    snprintf(data, sizeof data, "%s/lin.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    uint64_t u = 21;
    for (int i = 0; i < 400; i++) { /* x1 = 5000 ± 1000, x2 = ± 0.01: y = 0.002 x1 + 300 x2 + 1 */
        double x[2];
        for (int j = 0; j < 2; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
        }
        x[0] = 5000 + 1000 * x[0];
        x[1] *= 0.01;
        fprintf(f, "%.4f,%.8f,%.8f\n", x[0], x[1], 0.002 * x[0] + 300 * x[1] + 1);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --standardize --epochs 20 --batch 20 "
             "--no-progress --save %s",
             data, ckpt);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double w0 = 0, w1 = 0, b = last_field(out, "\nb: ");
    const char *w = strstr(out, "w: [");
    cr_assert(w && sscanf(w, "w: [%lf, %lf]", &w0, &w1) == 2, "%s", out);
    cr_expect(fabs(w0 - 0.002) < 2e-5 && fabs(w1 - 300) < 3 && fabs(b - 1) < 0.05,
              "w [%g, %g], b %g: not the raw rows' 0.002, 300, 1:\n%s", w0, w1, b, out);
    double last = last_field(out, "loss ");
    snprintf(cmd, sizeof cmd, "tools/clgrad eval --model %s --data %s --no-header", ckpt, data);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    double l = last_field(out, "loss (squared) ");
    cr_expect_lt(fabs(l - last), 1e-4 * last, "eval %g, the last epoch %g", l, last);
}

/* The scale warning needs both far features and a bad run: a diverging run on the seeds'
 * synthetic data (unit scale) has none, nor one with --standardize on far features. */
Test(cli_train, no_scale_warning_on_unit_scale_or_standardized_data, .timeout = 60)
{
    cr_assert_eq(run_in_build("tools/clgrad train --synthetic 1000 --lr 50 --epochs 3 "
                              "--no-progress",
                              out, sizeof out),
                 1, "%s", out);
    cr_expect(strstr(out, "clgrad train: the loss turned NaN or infinite in epoch 1: no epoch "
                          "passed\n") ||
                  strstr(out, "clgrad train: diverged in epoch "),
              "%s", out);
    cr_expect_eq(occurrences(out, SCALE_WARNING), 0, "%s", out);
    cr_assert_eq(run_in_build("tools/clgrad train --synthetic 1000x4 --epochs 3 --no-progress", out,
                              sizeof out),
                 0, "%s", out);
    cr_expect_eq(occurrences(out, SCALE_WARNING), 0, "%s", out);
    char *dir = test_tmpdir();
    char train[256], cmd[1024];
    snprintf(train, sizeof train, "%s/wine.csv", dir);
    write_wine(train, 150, 9);
    snprintf(cmd, sizeof cmd,
             "tools/clgrad train --data %s --no-header --model softmax --standardize --lr 1e5 "
             "--epochs 3 --no-progress",
             train);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    /* a run that would be warned about: its loss rose above the initial model's (ln 3) */
    cr_assert_gt(last_field(out, "epoch 1, loss "), 10.0, "%s", out);
    cr_expect_eq(occurrences(out, SCALE_WARNING), 0, "%s", out);
}

/* 4096 rows of 16 features ~ U(-1, 1), y = x·w + 0.5 + U(-2, 2): the loss settles near
 * 0.67, so six printed decimals hold it to 1e-6. */
static void write_noisier(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint64_t u = 77;
    for (int i = 0; i < 4096; i++) {
        double y = 0.5;
        for (int j = 0; j <= 16; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            double x = (double)(u >> 11) / 9007199254740992.0 * 2 - 1;
            if (j == 16) {
                fprintf(f, "%.6f\n", y + 2 * x);
                break;
            }
            y += (j / 16.0 - 0.5) * x;
            fprintf(f, "%.6f,", x);
        }
    }
    fclose(f);
}

/* The rows of a --log file: each whole, numbered from 1, losses in loss[] (up to max);
 * returns the count. */
static size_t read_log(const char *path, double *loss, size_t max)
{
    static char text[1 << 22];
    size_t len = slurp(path, text, sizeof text);
    const char *head = "epoch,train_loss,test_loss,test_accuracy,seconds\n";
    cr_assert_eq(strncmp(text, head, strlen(head)), 0, "%.200s", text);
    cr_assert(len > 0 && text[len - 1] == '\n', "the last row is cut: %s",
              text + (len > 200 ? len - 200 : 0));
    size_t rows = 0;
    for (char *p = text + strlen(head); *p; rows++) {
        char *end = strchr(p, '\n');
        *end = '\0';
        size_t e = 0;
        double l = 0, t = 0;
        int used = 0;
        cr_assert_eq(sscanf(p, "%zu,%lf,,,%lf%n", &e, &l, &t, &used), 3, "row: %s", p);
        cr_assert_eq((size_t)used, strlen(p), "row: %s", p);
        cr_assert_eq(e, rows + 1, "row: %s", p);
        cr_assert(isfinite(l) && l > 0, "row: %s", p);
        if (rows < max) loss[rows] = l;
        p = end + 1;
    }
    return rows;
}

/* The squared loss clgrad eval reports for a checkpoint on a CSV file. */
static double eval_loss(const char *ckpt, const char *data)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "tools/clgrad eval --model %s --data %s --no-header", ckpt, data);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "the checkpoint: %s", out);
    const char *fig = strstr(out, "loss (squared) ");
    cr_assert_not_null(fig, "%s", out);
    return strtod(fig + 15, NULL);
}

/* SIGINT (Ctrl-C) and SIGTERM in the middle of a long run: it stops after the epoch under
 * way with exit status 130 / 143, --save holds the last whole epoch (its loss is the last
 * logged one's), --log's rows are whole and --plot is written, and one line says which
 * epoch they hold. */
Test(cli_train, sigint_and_sigterm_save_the_last_whole_epoch, .timeout = 120)
{
    char *dir = test_tmpdir();
    char data[256], log[256], ckpt[256], plot[256], err[256], bin[512];
    snprintf(data, sizeof data, "%s/train.csv", dir);
    write_noisier(data);
    const char *bindir = getenv("CLGRAD_TEST_BIN_DIR");
    cr_assert_not_null(bindir);
    snprintf(bin, sizeof bin, "%s/tools/clgrad", bindir);
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        snprintf(log, sizeof log, "%s/log%d.csv", dir, k);
        snprintf(ckpt, sizeof ckpt, "%s/m%d.clg", dir, k);
        snprintf(plot, sizeof plot, "%s/p%d.svg", dir, k);
        snprintf(err, sizeof err, "%s/err%d.txt", dir, k);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            signal(SIGINT, SIG_DFL); /* as from a shell, whatever the test runner set */
            signal(SIGTERM, SIG_DFL);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            if (!freopen("/dev/null", "w", stdout) || !freopen(err, "w", stderr)) _exit(126);
            char *argv[] = {bin,
                            "train",
                            "--data",
                            data,
                            "--no-header",
                            "--lr",
                            "0.01",
                            "--epochs",
                            "1000000",
                            "--log",
                            log,
                            "--save",
                            ckpt,
                            "--no-progress",
                            k == 0 ? "--plot" : NULL,
                            plot,
                            NULL};
            execv(bin, argv);
            _exit(127);
        }
        time_t t0 = time(NULL);
        while (count_lines(log) < 3 && time(NULL) - t0 < 60) { /* the header and 2 epochs */
            struct timespec ms = {0, 5000000};
            nanosleep(&ms, NULL);
        }
        kill(pid, sigs[k]);
        int st = 0;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        static char text[4096];
        slurp(err, text, sizeof text);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + sigs[k],
                  "status %d (wanted exit %d):\n%s", st, 128 + sigs[k], text);
        static double loss[1 << 20];
        size_t rows = read_log(log, loss, 1 << 20);
        cr_assert_geq(rows, 2, "%s", text);
        char want[1024];
        snprintf(want, sizeof want,
                 "clgrad train: interrupted (%s) in epoch %zu: saved %s with the parameters of "
                 "epoch %zu; %s epochs 1-%zu\n",
                 k ? "SIGTERM" : "SIGINT", rows + 1, ckpt, rows,
                 k ? "log covers" : "log and plot cover", rows);
        cr_expect_str_eq(text, want);
        double l = eval_loss(ckpt, data), last = loss[rows - 1];
        cr_expect_lt(fabs(l - last), 1e-4 * last,
                     "the checkpoint's loss %.9g, the last logged epoch's (%zu) %.9g", l, rows,
                     last);
        if (k == 0) {
            slurp(plot, text, sizeof text);
            cr_expect(strstr(text, "</svg>"), "%s", plot);
        }
    }
}

/* A run that diverges after some epochs: exit 1, the library's reason, and --save, --log
 * and --plot hold the epochs that passed (the checkpoint's loss is the last logged one's). */
Test(cli_train, divergence_saves_the_last_epoch_that_passed, .timeout = 120)
{
    char *dir = test_tmpdir();
    char data[256], ckpt[256], log[256], plot[256], cmd[1400];
    snprintf(data, sizeof data, "%s/big.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(plot, sizeof plot, "%s/p.svg", dir);
    write_scaled(data, 1e4);
    /* Full batches at lr 2.5: the bias's error grows 1.5-fold an epoch. */
    snprintf(cmd, sizeof cmd,
             "timeout 60 tools/clgrad train --data %s --no-header --batch 200 --lr 2.5 "
             "--epochs 1000 --save %s --log %s --plot %s --no-progress",
             data, ckpt, log, plot);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "clgrad: CLG_ERR_DIVERGED: clg_fit: "), "%s", out);
    cr_expect_eq(occurrences(out, SCALE_WARNING), 0, "features in (-1, 1):\n%s", out);
    double loss[1000];
    size_t rows = read_log(log, loss, 1000);
    cr_assert_geq(rows, 2, "%s", out);
    char want[1024];
    snprintf(want, sizeof want,
             "clgrad train: diverged in epoch %zu: saved %s with the parameters of epoch %zu; "
             "log and plot cover epochs 1-%zu\n",
             rows + 1, ckpt, rows, rows);
    cr_expect(strstr(out, want), "wanted \"%s\":\n%s", want, out);
    double l = eval_loss(ckpt, data);
    cr_expect_lt(fabs(l - loss[rows - 1]), 1e-5 * loss[rows - 1],
                 "the checkpoint's loss %g, the last logged epoch's %g", l, loss[rows - 1]);
    static char svg[1 << 16];
    slurp(plot, svg, sizeof svg);
    cr_expect(strstr(svg, "</svg>"), "%s", plot);
}

/* Class names of a CSV label column go into the checkpoint, in sorted order (what predict
 * prints); numeric labels leave none. */
Test(cli_train, class_names_of_the_csv_are_in_the_checkpoint, .timeout = 60)
{
    char *dir = test_tmpdir();
    char data[256], ckpt[256], cmd[1024];
    const char *labels[3] = {"zeta", "alpha", "mid"}; /* sorted: alpha 0, mid 1, zeta 2 */
    for (int named = 1; named >= 0; named--) {
        snprintf(data, sizeof data, "%s/blobs%d.csv", dir, named);
        snprintf(ckpt, sizeof ckpt, "%s/m%d.clg", dir, named);
        FILE *f = fopen(data, "w");
        cr_assert_not_null(f);
        fprintf(f, "x1,x2,kind\n");
        for (int i = 0; i < 90; i++)
            if (named)
                fprintf(f, "%d.%d,%d,%s\n", i % 3, i % 7, (i % 3) * 2, labels[i % 3]);
            else
                fprintf(f, "%d.%d,%d,%d\n", i % 3, i % 7, (i % 3) * 2, i % 3);
        fclose(f);
        snprintf(cmd, sizeof cmd,
                 "tools/clgrad train --data %s --model softmax --epochs 2 --no-progress --save %s",
                 data, ckpt);
        cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
        clg_context *ctx = test_context();
        clg_model *m = NULL;
        CLG_OK_OR_FAIL(ctx, clg_model_load(ctx, ckpt, &m, NULL, 0));
        cr_assert_eq(clg_model_outputs(m), 3);
        if (named) {
            const char *want[3] = {"alpha", "mid", "zeta"};
            for (size_t k = 0; k < 3; k++) {
                const char *name = clg_model_class_name(m, k);
                cr_expect(name && !strcmp(name, want[k]), "class %zu: %s, wanted %s", k,
                          name ? name : "(none)", want[k]);
            }
            cr_expect_null(clg_model_class_name(m, 3));
        } else {
            cr_expect_null(clg_model_class_name(m, 0), "names for numeric labels");
        }
        clg_model_destroy(m);
        clg_context_destroy(ctx);
    }
}

/* A first run (an empty program cache) says once, on stderr and before its first epoch,
 * that it compiles the kernels; a second run on the same cache says nothing. (POCL's own
 * cache is left as it is: the line follows clgrad's cache alone, and a fresh POCL cache
 * would add ~15 s of compiling on a 2-core runner.) */
Test(cli_train, the_first_run_says_it_compiles_once, .timeout = 120)
{
    char *dir = test_tmpdir();
    char cmd[1024];
    const char *line = "clgrad: compiling kernels for ";
    snprintf(cmd, sizeof cmd,
             "CLGRAD_CACHE_DIR=%s/cache tools/clgrad train --epochs 1 --no-progress", dir);
    for (int run = 0; run < 2; run++) {
        cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
        cr_expect_eq(occurrences(out, line), run ? 0 : 1, "run %d:\n%s", run + 1, out);
        if (run) break;
        const char *at = strstr(out, line), *epoch = strstr(out, "epoch 1, loss ");
        cr_assert(at && epoch && at < epoch, "%s", out);
        size_t len = strcspn(at, "\n");
        const char *tail = ", once (later runs use the cache)";
        cr_expect(len > strlen(line) + strlen(tail) &&
                      !strncmp(at + len - strlen(tail), tail, strlen(tail)),
                  "%.*s", (int)len, at);
    }
    snprintf(cmd, sizeof cmd,
             "CLGRAD_NO_CACHE=1 CLGRAD_CACHE_DIR=%s/cache tools/clgrad train --epochs 1 "
             "--no-progress",
             dir);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_eq(occurrences(out, " (the program cache is off)\n"), 1, "%s", out);
    cr_expect_eq(occurrences(out, line), 1, "%s", out);
}

/* ---- user report "The command line on real data": train --json */

/* Checks a train --json stdout (JSON Lines), run by python3 as check_train_json(): every
 * line is a JSON object starting with "command":"train"; the epoch objects are numbered
 * 1..N with the fields in order; the last is the end object, its epochs and final_loss
 * those of the epoch lines. Then, by mode: "regression" LOG TEXT (the train losses equal
 * the --log CSV's of the text run to 1e-6 relative and its printed ones to their last
 * digit; no test figures; status ok, the weights and bias of the default synthetic data),
 * "classify" SAVE N (N epochs, test accuracy in [0, 1], train accuracy, saved SAVE, no
 * weights), "diverged" MIN (status diverged after at least MIN epochs, nothing saved). */
static const char train_json_check[] =
    "import json, math, sys\n"
    "mode, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
    "raw = open(path, encoding='utf-8').read()\n"
    "if not raw.endswith('\\n'): sys.exit('stdout does not end a line: %r' % raw[-200:])\n"
    "objs = []\n"
    "for n, line in enumerate(raw.split('\\n')[:-1], 1):\n"
    "    try:\n"
    "        d = json.loads(line)\n"
    "    except ValueError as e:\n"
    "        sys.exit('stdout line %d is not JSON (%s): %r' % (n, e, line))\n"
    "    if not isinstance(d, dict) or list(d)[:1] != ['command'] or d['command'] != 'train':\n"
    "        sys.exit('line %d is not a train object: %r' % (n, line))\n"
    "    if ': ' in line or ', ' in line:\n"
    "        sys.exit('line %d is not compact: %r' % (n, line))\n"
    "    objs.append(d)\n"
    "def num(x):\n"
    "    return isinstance(x, (int, float)) and not isinstance(x, bool)\n"
    "def check(ok, what):\n"
    "    if not ok: sys.exit('%s\\n%s' % (what, raw))\n"
    "check(objs and objs[-1].get('event') == 'end', 'the last line is no end object')\n"
    "ep, end = objs[:-1], objs[-1]\n"
    "keys = ['command', 'epoch', 'train_loss', 'test_loss', 'test_accuracy',\n"
    "        'samples_per_second', 'seconds']\n"
    "for e, d in enumerate(ep, 1):\n"
    "    check(list(d) == keys and d['epoch'] == e, 'epoch object %d: %r' % (e, d))\n"
    "    check(math.isfinite(d['train_loss']) and d['samples_per_second'] > 0, repr(d))\n"
    "check(end['epochs'] == len(ep), 'end epochs %r, %d epoch lines' % (end['epochs'], len(ep)))\n"
    "check(end['final_loss'] == (ep[-1]['train_loss'] if ep else None), 'final_loss')\n"
    "if mode == 'regression':\n"
    "    log = [float(l.split(',')[1]) for l in open(args[0]).read().split('\\n')[1:] if l]\n"
    "    text = [float(x) for x in args[1].split(',')]\n"
    "    check(len(ep) == len(log) == len(text), '%d epochs, %d logged, %d printed' %\n"
    "          (len(ep), len(log), len(text)))\n"
    "    for d, l, t in zip(ep, log, text):\n"
    "        x = d['train_loss']\n"
    "        check(abs(x - l) <= 1e-6 * abs(l), 'epoch %d: %r, the text run logged %r' %\n"
    "              (d['epoch'], x, l))\n"
    "        check(abs(x - t) <= 5.01e-7 + 5e-6 * abs(t), 'epoch %d: %r, printed %r' %\n"
    "              (d['epoch'], x, t))\n"
    "        check(d['test_loss'] is None and d['test_accuracy'] is None, repr(d))\n"
    "    check(end['status'] == 'ok' and end['error'] is None and end['saved'] is None and\n"
    "          'train_accuracy' not in end, repr(end))\n"
    "    w, b = end['weights'], end['bias']\n"
    "    check(len(w) == 2 and abs(w[0] - 2) < 0.01 and abs(w[1] + 3.4) < 0.01 and\n"
    "          abs(b - 4.2) < 0.01, 'weights %r, bias %r' % (w, b))\n"
    "    check(abs(end['synthetic']['true_bias'] - 4.2) < 1e-6, repr(end))\n"
    "elif mode == 'classify':\n"
    "    check(len(ep) == int(args[1]), '%d epochs' % len(ep))\n"
    "    for d in ep:\n"
    "        a = d['test_accuracy']\n"
    "        check(num(a) and 0 <= a <= 1 and d['test_loss'] > 0, repr(d))\n"
    "    a = end['train_accuracy']\n"
    "    check(end['status'] == 'ok' and num(a) and 0 <= a <= 1 and\n"
    "          end['saved'] == args[0] and 'weights' not in end, repr(end))\n"
    "elif mode == 'diverged':\n"
    "    check(end['status'] == 'diverged' and end['error'] == 'CLG_ERR_DIVERGED' and\n"
    "          end['saved'] is None and len(ep) >= int(args[0]), repr(end))\n"
    "else:\n"
    "    sys.exit('mode ' + mode)\n"
    "print('ok')\n";

/* Runs train_json_check on the JSON Lines file jsonl (python3 output in buf). */
static void check_train_json(const char *dir, const char *mode, const char *jsonl, const char *args)
{
    char script[300], cmd[2048];
    static char buf[1 << 16];
    snprintf(script, sizeof script, "%s/check_train_json.py", dir);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fputs(train_json_check, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s %s %s %s", script, mode, jsonl, args);
    int rc = run_in_build(cmd, buf, sizeof buf);
    cr_assert_eq(rc, 0, "train --json (%s): %s", mode, buf);
    cr_expect_str_eq(buf, "ok\n");
}

/* Linear regression on the default synthetic data: --json's losses are those the text run
 * (same seed) prints and logs, the last object has the weights of the data, and stdout has
 * nothing else (messages stay on stderr). */
Test(cli_train, json_lines_of_a_regression_run_match_the_text_run, .timeout = 60)
{
    char *dir = test_tmpdir();
    char log[256], jsonl[256], cmd[1024], losses[512] = "", args[1024];
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(jsonl, sizeof jsonl, "%s/out.jsonl", dir);
    snprintf(cmd, sizeof cmd, "tools/clgrad train --seed 5 --epochs 4 --no-progress --log %s", log);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    for (int e = 1; e <= 4; e++) {
        char key[64];
        snprintf(key, sizeof key, "epoch %d, loss ", e);
        const char *p = strstr(out, key);
        cr_assert_not_null(p, "no '%s' in:\n%s", key, out);
        size_t len = strlen(losses);
        snprintf(losses + len, sizeof losses - len, "%s%.*s", e > 1 ? "," : "",
                 (int)strcspn(p + strlen(key), ","), p + strlen(key));
    }
    snprintf(cmd, sizeof cmd, "(tools/clgrad train --seed 5 --epochs 4 --json >%s)", jsonl);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_null(strstr(out, "{\""), "JSON on stderr:\n%s", out);
    snprintf(args, sizeof args, "%s %s", log, losses);
    check_train_json(dir, "regression", jsonl, args);
}

/* 300 rows of 3 blobs, classes 0-2 (seeded). */
static void write_blobs(const char *path, int n, uint64_t u)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < n; i++) {
        double x[2];
        for (int j = 0; j < 2; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (double)(u >> 11) / 9007199254740992.0 - 0.5;
        }
        fprintf(f, "%.5f,%.5f,%d\n", 2.0 * (i % 3) + x[0], (i % 3 == 1 ? 2.0 : 0.0) + x[1], i % 3);
    }
    fclose(f);
}

/* Softmax with --test and --save: each epoch's test accuracy is in [0, 1], the end object
 * has the train accuracy and the saved path (and no weights); a diverging run ends with
 * status "diverged", on a regression after some epochs and on the softmax run at once
 * (no epoch passed: final_loss and train_accuracy null). */
Test(cli_train, json_lines_of_classification_and_diverged_runs, .timeout = 60)
{
    char *dir = test_tmpdir();
    char train[256], test[256], ckpt[256], jsonl[256], cmd[1400], args[512];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/m.clg", dir);
    snprintf(jsonl, sizeof jsonl, "%s/out.jsonl", dir);
    write_blobs(train, 300, 1);
    write_blobs(test, 90, 2);
    snprintf(cmd, sizeof cmd,
             "(tools/clgrad train --data %s --no-header --test %s --model softmax --epochs 3 "
             "--save %s --json >%s)",
             train, test, ckpt, jsonl);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args, "%s 3", ckpt);
    check_train_json(dir, "classify", jsonl, args);
    cr_expect_eq(access(ckpt, F_OK), 0, "%s not written", ckpt);

    /* Full batches at lr 2.5: the bias's error grows 1.5-fold an epoch. */
    snprintf(cmd, sizeof cmd,
             "(timeout 60 tools/clgrad train --synthetic 200 --batch 200 --lr 2.5 --epochs 1000 "
             "--json >%s)",
             jsonl);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "CLG_ERR_DIVERGED") && strstr(out, "clgrad train: diverged in epoch"),
              "the messages stay on stderr:\n%s", out);
    check_train_json(dir, "diverged", jsonl, "3");

    FILE *f = fopen(train, "w"); /* random labels: nothing to learn, so lr 1e6 cannot fit */
    cr_assert_not_null(f);
    uint64_t u = 5;
    for (int i = 0; i < 600; i++) {
        for (int j = 0; j < 8; j++) {
            u = u * 6364136223846793005ULL + 1442695040888963407ULL;
            fprintf(f, "%.5f,", (double)(u >> 11) / 9007199254740992.0 - 0.5);
        }
        fprintf(f, "%d\n", (int)((u >> 20) % 3));
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "(tools/clgrad train --data %s --no-header --model softmax --epochs 2 --lr 1e6 "
             "--json >%s)",
             train, jsonl);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 1, "%s", out);
    check_train_json(dir, "diverged", jsonl, "0");
    static char text[4096];
    slurp(jsonl, text, sizeof text);
    cr_expect(strstr(text, "\"epochs\":0,\"final_loss\":null,\"train_accuracy\":null,"), "%s",
              text);
}

/* --verbose prints print(net), the loss and print(optimizer) before the epochs, as d2l. */
Test(cli_train, verbose_prints_model_loss_and_optimizer_first)
{
    char out[8192];
    int rc = run_in_build("tools/clgrad train --verbose --epochs 1 --lr 0.05 --momentum 0.5", out,
                          sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    const char *want = "Sequential(\n"
                       "  (0): Linear(in_features=2, out_features=1, bias=True)\n"
                       ")\n"
                       "SquaredLoss()\n"
                       "SGD (\n"
                       "Parameter Group 0\n"
                       "    dampening: 0\n"
                       "    lr: 0.05\n"
                       "    momentum: 0.5\n"
                       "    nesterov: False\n"
                       "    weight_decay: 0\n"
                       ")\n"
                       "epoch 1, loss ";
    cr_expect_eq(strncmp(out, want, strlen(want)), 0, "got:\n%s", out);
}
