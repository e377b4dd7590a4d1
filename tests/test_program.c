/* The program cache: miss then hit, corrupt/foreign files rebuilt, unwritable dir,
 * cache off, and build errors reported with a status. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* Builds the "tensor" program through its first kernel and checks the kernel ran. */
static clg_context_stats run_once(void)
{
    clg_context *ctx = test_context();
    clg_tensor *t = NULL;
    float v[7];
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 7, &t));
    CLG_OK_OR_FAIL(ctx, clg_tensor_fill(t, 3.0f));
    CLG_OK_OR_FAIL(ctx, clg_tensor_download(t, v, 1, 7));
    for (int i = 0; i < 7; i++) cr_assert_eq(v[i], 3.0f);
    clg_context_stats st;
    CLG_OK_OR_FAIL(ctx, clg_context_get_stats(ctx, &st));
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
    return st;
}

/* Path of the one cache file in dir (fails the test unless exactly one). */
static void only_cache_file(const char *dir, char *path, size_t n)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, n, "%s/%s", dir, e->d_name);
            found++;
        }
    closedir(d);
    cr_assert_eq(found, 1, "expected one cache file in %s, found %d", dir, found);
}

static void use_binary_cache(const char *dir)
{
    setenv("CLGRAD_CACHE_DIR", dir, 1);
    setenv("CLGRAD_CACHE_MODE", "binary", 1);
    unsetenv("CLGRAD_NO_CACHE");
}

Test(cache, miss_then_hit)
{
    char *dir = test_tmpdir();
    use_binary_cache(dir);
    clg_context_stats a = run_once();
    cr_expect_eq(a.programs_built, 1);
    cr_expect_eq(a.programs_from_cache, 0);
    cr_expect_eq(a.cache_write_failures, 0);
    clg_context_stats b = run_once();
    cr_expect_eq(b.programs_built, 0, "second context must not rebuild");
    cr_expect_eq(b.programs_from_cache, 1);
    cr_expect_eq(b.cache_rejected, 0);
}

static void damage_and_check(void (*damage)(const char *path))
{
    char *dir = test_tmpdir();
    use_binary_cache(dir);
    run_once();
    char path[512];
    only_cache_file(dir, path, sizeof path);
    damage(path);
    clg_context_stats b = run_once();
    cr_expect_eq(b.cache_rejected, 1, "a damaged file must be detected");
    cr_expect_eq(b.programs_built, 1, "and the program rebuilt from source");
    clg_context_stats c = run_once();
    cr_expect_eq(c.programs_from_cache, 1, "the rebuilt binary replaces the damaged file");
    cr_expect_eq(c.cache_rejected, 0);
}

static void flip_middle_byte(const char *path)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, n / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, n / 2, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

static void truncate_half(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
}

static void foreign_key(const char *path)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 16, SEEK_SET); /* the key hash in the header */
    fputc(0xAB, f);
    fclose(f);
}

static void garbage(const char *path)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("this is not a program binary", f);
    fclose(f);
}

Test(cache, corrupted_byte_is_rebuilt) { damage_and_check(flip_middle_byte); }
Test(cache, truncated_file_is_rebuilt) { damage_and_check(truncate_half); }
Test(cache, foreign_file_is_rebuilt) { damage_and_check(foreign_key); }
Test(cache, garbage_file_is_rebuilt) { damage_and_check(garbage); }

Test(cache, unwritable_directory_still_works)
{
    /* A directory below a regular file can never be created, even by root. */
    char *dir = test_tmpdir();
    char file[256], sub[300];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(sub, sizeof sub, "%s/cache", file);
    use_binary_cache(sub);
    clg_context_stats a = run_once();
    cr_expect_eq(a.programs_built, 1);
    cr_expect_eq(a.cache_write_failures, 1, "the failed store is counted, not fatal");
}

Test(cache, no_cache_env_writes_nothing)
{
    char *dir = test_tmpdir();
    use_binary_cache(dir);
    setenv("CLGRAD_NO_CACHE", "1", 1);
    clg_context_stats a = run_once();
    cr_expect_eq(a.programs_built, 1);
    clg_context_stats b = run_once();
    cr_expect_eq(b.programs_built, 1);
    cr_expect_eq(b.programs_from_cache, 0);
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) files += e->d_name[0] != '.';
    closedir(d);
    cr_expect_eq(files, 0);
    clg_context *ctx = test_context();
    cr_expect_str_eq(clg_context_cache_dir(ctx), "");
    clg_context_destroy(ctx);
}

Test(cache, default_directory_follows_xdg)
{
    unsetenv("CLGRAD_CACHE_DIR");
    unsetenv("CLGRAD_NO_CACHE");
    setenv("XDG_CACHE_HOME", "/tmp/xdg-example", 1);
    clg_context *ctx = test_context();
    cr_expect_str_eq(clg_context_cache_dir(ctx), "/tmp/xdg-example/clgrad");
    clg_context_destroy(ctx);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/tmp/home-example", 1);
    ctx = test_context();
    cr_expect_str_eq(clg_context_cache_dir(ctx), "/tmp/home-example/.cache/clgrad");
    clg_context_destroy(ctx);
}

/* on_build is called once per program compiled from source, with its name and the device,
 * and not for a program the cache serves. */
typedef struct builds {
    int count;
    char last[32], device[128];
} builds;

static void count_build(const char *program, const char *device, void *user)
{
    builds *b = user;
    b->count++;
    snprintf(b->last, sizeof b->last, "%s", program);
    snprintf(b->device, sizeof b->device, "%s", device);
}

static int builds_of_tensor_fill(builds *b)
{
    clg_context_options o = clg_context_options_defaults();
    o.on_build = count_build;
    o.on_build_user = b;
    clg_context *ctx;
    CLG_OK_OR_FAIL(NULL, clg_context_create_with(&ctx, &o));
    clg_tensor *t;
    CLG_OK_OR_FAIL(ctx, clg_tensor_create(ctx, 1, 3, &t));
    CLG_OK_OR_FAIL(ctx, clg_tensor_fill(t, 1.0f));
    CLG_OK_OR_FAIL(ctx, clg_tensor_fill(t, 2.0f));
    clg_device_info info;
    CLG_OK_OR_FAIL(ctx, clg_context_device(ctx, &info));
    if (b->count) cr_expect_str_eq(b->device, info.device_name);
    clg_tensor_destroy(t);
    clg_context_destroy(ctx);
    return b->count;
}

Test(cache, on_build_announces_compiles_from_source_only)
{
    use_binary_cache(test_tmpdir());
    builds b = {0};
    cr_expect_eq(builds_of_tensor_fill(&b), 1, "one compile of the tensor program");
    cr_expect_str_eq(b.last, "tensor");
    builds again = {0};
    cr_expect_eq(builds_of_tensor_fill(&again), 0, "served by the cache: no announcement");
}

/* POCL's compiler prints "N warnings generated." to stderr for cl/ kernels; clgrad builds
 * with -w unless CLGRAD_BUILD_WARNINGS=1 asks for them. A fresh POCL cache makes POCL
 * compile again (on other drivers the second half checks nothing they do not print). */
Test(cache, compiler_warnings_stay_off_stderr_unless_asked)
{
    char *dir = test_tmpdir(), out[8192], cmd[1024];
    snprintf(cmd, sizeof cmd,
             "env POCL_CACHE_DIR=%s/pocl1 CLGRAD_CACHE_DIR=%s/c1 tools/clgrad train --epochs 1",
             dir, dir);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_null(strstr(out, "warning"), "no compiler chatter: %s", out);
    snprintf(cmd, sizeof cmd,
             "env POCL_CACHE_DIR=%s/pocl2 CLGRAD_CACHE_DIR=%s/c2 CLGRAD_BUILD_WARNINGS=1 "
             "tools/clgrad train --epochs 1",
             dir, dir);
    cr_assert_eq(run_in_build(cmd, out, sizeof out), 0, "%s", out);
    clg_context *ctx = test_context();
    clg_device_info info;
    CLG_OK_OR_FAIL(ctx, clg_context_device(ctx, &info));
    if (strstr(info.platform_name, "Portable Computing Language"))
        cr_expect_not_null(strstr(out, "warnings generated"), "asked for: %s", out);
    clg_context_destroy(ctx);
}
