/* CLBlast SGEMM tuning: search of the Xgemm parameters, verification, per-device
 * storage in the cache directory and application through CLBlastOverrideParameters.
 *
 * Search. Only the GEMMK=0 kernel is explored (KREG = 1): a short list of
 * CPU-friendly configurations first (small work-groups, no local memory, wide
 * vectors, the shape POCL's work-item loops vectorise best), then random valid
 * configurations, each screened on one square SGEMM (half the final size) until
 * the budget is spent. The fastest few are timed on every shape (median of
 * opts->runs after a warm-up), the lowest total time wins, and its size³ result
 * must match the untuned one within CLG_TUNE_VERIFY_TOL.
 *
 * Validity follows CLBlast's own tuner constraints for Xgemm:
 * MWG % (MDIMC·VWM) = MWG % (MDIMA·VWM) = 0, NWG % (NDIMC·VWN) = NWG % (NDIMB·VWN) = 0,
 * KWG % (MDIMC·NDIMC/MDIMA) = KWG % (MDIMC·NDIMC/NDIMB) = 0, KWG % KWI = 0, local memory
 * (SA·KWG·MWG + SB·KWG·NWG)·4 bytes within the device's, MDIMC·NDIMC within its
 * work-group limit. Anything CLBlast still rejects is counted and skipped.
 *
 * File. Text, one "NAME value" per line after a header, closed by a checksum line:
 *   clgrad-clblast-tune 1 / key <16 hex> / platform .. / device .. / driver .. /
 *   kernel Xgemm 32 / 16 parameter lines / gflops <untuned> <tuned> / check <16 hex>
 * The check is clg_hash64 of every byte before its line. */
#include <clblast_c.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#define NP CLG_TUNE_PARAMS
#define TUNE_MAGIC "clgrad-clblast-tune"
#define TUNE_VERSION 1
#define TUNE_MAX_FILE 4096
#define TOP_K 4
#define MAX_TRIED 4096

static const char *const param_names[NP] = {"GEMMK", "KREG",  "KWG",   "KWI", "MDIMA", "MDIMC",
                                            "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                            "STRM",  "STRN",  "VWM",   "VWN"};
enum {
    P_GEMMK,
    P_KREG,
    P_KWG,
    P_KWI,
    P_MDIMA,
    P_MDIMC,
    P_MWG,
    P_NDIMB,
    P_NDIMC,
    P_NWG,
    P_SA,
    P_SB,
    P_STRM,
    P_STRN,
    P_VWM,
    P_VWN
};

typedef struct clg_tune_state {
    int applied;
    size_t values[NP];
    char note[1400];
} clg_tune_state;

const char *clg_tune_param_name(size_t i) { return i < NP ? param_names[i] : NULL; }

clg_tune_options clg_tune_defaults(void)
{
    clg_tune_options o;
    memset(&o, 0, sizeof o);
    o.max_seconds = 120.0;
    o.size = 1024;
    o.mlp_shapes = 1;
    o.runs = 5;
    o.store = 1;
    return o;
}

static clg_tune_state *state_of(clg_context *ctx)
{
    if (!ctx->blas_params) ctx->blas_params = calloc(1, sizeof(clg_tune_state));
    return ctx->blas_params;
}

static void set_note(clg_context *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(clg_context *ctx, const char *fmt, ...)
{
    clg_tune_state *st = state_of(ctx);
    if (!st) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->note, sizeof st->note, fmt, ap);
    va_end(ap);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------- configurations */

static int is_pow2(size_t v) { return v && !(v & (v - 1)); }

static int config_valid(const clg_context *ctx, const size_t *v)
{
    if (v[P_GEMMK] != 0 || v[P_KREG] != 1) return 0;
    static const int pow2[] = {P_KWG,   P_KWI,   P_MDIMA, P_MDIMC, P_MWG,
                               P_NDIMB, P_NDIMC, P_NWG,   P_VWM,   P_VWN};
    for (size_t i = 0; i < sizeof pow2 / sizeof *pow2; i++)
        if (!is_pow2(v[pow2[i]]) || v[pow2[i]] > 256) return 0;
    if (v[P_VWM] > 16 || v[P_VWN] > 16) return 0;
    for (int i = P_SA; i <= P_STRN; i++)
        if (v[i] > 1) return 0;
    size_t wg = v[P_MDIMC] * v[P_NDIMC];
    if (wg > ctx->info.max_work_group_size) return 0;
    if (v[P_MWG] % (v[P_MDIMC] * v[P_VWM]) || v[P_MWG] % (v[P_MDIMA] * v[P_VWM])) return 0;
    if (v[P_NWG] % (v[P_NDIMC] * v[P_VWN]) || v[P_NWG] % (v[P_NDIMB] * v[P_VWN])) return 0;
    if (wg % v[P_MDIMA] || wg % v[P_NDIMB]) return 0;
    if (v[P_KWG] % (wg / v[P_MDIMA]) || v[P_KWG] % (wg / v[P_NDIMB])) return 0;
    if (v[P_KWG] % v[P_KWI]) return 0;
    uint64_t local = 4u * (uint64_t)(v[P_SA] * v[P_KWG] * v[P_MWG] + v[P_SB] * v[P_KWG] * v[P_NWG]);
    if (local > ctx->info.local_mem_size) return 0;
    return 1;
}

/* Fills v from the compact order MWG NWG KWG MDIMC NDIMC MDIMA NDIMB KWI VWM VWN STRM STRN SA SB. */
static void config_set(size_t *v, const unsigned c[14])
{
    v[P_GEMMK] = 0;
    v[P_KREG] = 1;
    v[P_MWG] = c[0], v[P_NWG] = c[1], v[P_KWG] = c[2], v[P_MDIMC] = c[3], v[P_NDIMC] = c[4];
    v[P_MDIMA] = c[5], v[P_NDIMB] = c[6], v[P_KWI] = c[7], v[P_VWM] = c[8], v[P_VWN] = c[9];
    v[P_STRM] = c[10], v[P_STRN] = c[11], v[P_SA] = c[12], v[P_SB] = c[13];
}

/* Tried first: register tiles of 4×8 to 16×8 per work-item in 8×8 or 16×8
 * work-groups without local memory suit a CPU device; a few with local memory.
 * Then three in four candidates are neighbours of the best so far, one random. A
 * valid stored tuning for the device is screened first, so that a second `clgrad
 * tune` climbs on from the first one's result. */
static const unsigned seeds[][14] = {
    {64, 128, 32, 8, 8, 8, 8, 2, 8, 8, 0, 0, 0, 0},
    {32, 64, 32, 8, 8, 8, 8, 2, 1, 4, 0, 0, 0, 0},
    {64, 64, 32, 8, 8, 8, 8, 2, 4, 4, 0, 0, 0, 0},
    {128, 64, 32, 8, 8, 8, 8, 2, 8, 8, 0, 0, 0, 0},
    {64, 64, 16, 8, 8, 8, 8, 2, 8, 8, 0, 0, 0, 0},
    {128, 128, 32, 16, 8, 16, 8, 2, 8, 8, 0, 0, 0, 0},
    {64, 64, 32, 8, 8, 8, 8, 2, 4, 4, 0, 0, 1, 1},
    {64, 128, 16, 8, 8, 8, 8, 8, 8, 16, 0, 0, 0, 0},
    {32, 128, 32, 8, 8, 8, 8, 2, 4, 16, 0, 0, 0, 0},
    {64, 32, 32, 8, 8, 8, 8, 2, 8, 4, 0, 0, 0, 0},
    {128, 64, 32, 8, 8, 8, 8, 2, 16, 8, 0, 0, 0, 0},
    {128, 64, 32, 8, 8, 8, 8, 8, 8, 8, 0, 0, 0, 0},
};
#define NSEEDS (sizeof seeds / sizeof *seeds)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t pick(uint64_t *rng, const unsigned *set, size_t n) { return set[rng_next(rng) % n]; }

static void config_random(uint64_t *rng, size_t *v)
{
    static const unsigned wg_tile[] = {16, 32, 64, 128}, kwg[] = {16, 32}, dim[] = {8, 16, 32},
                          kwi[] = {2, 8}, vw[] = {1, 2, 4, 8, 16}, bit[] = {0, 1};
    v[P_GEMMK] = 0, v[P_KREG] = 1;
    v[P_MWG] = pick(rng, wg_tile, 4), v[P_NWG] = pick(rng, wg_tile, 4);
    v[P_KWG] = pick(rng, kwg, 2), v[P_KWI] = pick(rng, kwi, 2);
    v[P_MDIMC] = pick(rng, dim, 3), v[P_NDIMC] = pick(rng, dim, 3);
    v[P_MDIMA] = rng_next(rng) % 4 ? v[P_MDIMC] : pick(rng, dim, 3);
    v[P_NDIMB] = rng_next(rng) % 4 ? v[P_NDIMC] : pick(rng, dim, 3);
    v[P_VWM] = pick(rng, vw, 5), v[P_VWN] = pick(rng, vw, 5);
    v[P_STRM] = pick(rng, bit, 2), v[P_STRN] = pick(rng, bit, 2);
    /* Local memory rarely pays on a CPU: one in four. */
    v[P_SA] = rng_next(rng) % 4 == 0, v[P_SB] = rng_next(rng) % 4 == 0;
}

/* A neighbour of v: one parameter moved to another value of its set (MDIMA/NDIMB
 * follow MDIMC/NDIMC). Hill-climbing around the best so far finds better tiles than
 * random draws alone within POCL's 10-15 s compile per candidate. */
static void config_neighbour(uint64_t *rng, const size_t *best, size_t *v)
{
    static const unsigned wg_tile[] = {16, 32, 64, 128, 256}, kwg[] = {16, 32, 64},
                          dim[] = {4, 8, 16, 32}, kwi[] = {2, 8}, vw[] = {1, 2, 4, 8, 16},
                          bit[] = {0, 1};
    memcpy(v, best, NP * sizeof *v);
    switch (rng_next(rng) % 10) {
    case 0:
        v[P_MWG] = pick(rng, wg_tile, 5);
        break;
    case 1:
        v[P_NWG] = pick(rng, wg_tile, 5);
        break;
    case 2:
        v[P_KWG] = pick(rng, kwg, 3);
        break;
    case 3:
        v[P_MDIMC] = v[P_MDIMA] = pick(rng, dim, 4);
        break;
    case 4:
        v[P_NDIMC] = v[P_NDIMB] = pick(rng, dim, 4);
        break;
    case 5:
        v[P_KWI] = pick(rng, kwi, 2);
        break;
    case 6:
        v[P_VWM] = pick(rng, vw, 5);
        break;
    case 7:
        v[P_VWN] = pick(rng, vw, 5);
        break;
    case 8:
        v[P_STRM] = pick(rng, bit, 2), v[P_STRN] = pick(rng, bit, 2);
        break;
    default:
        v[P_SA] = pick(rng, bit, 2), v[P_SB] = pick(rng, bit, 2);
        break;
    }
}

/* CLBlast's parameter overrides are process-wide state: one thread at a time. */
static CLBlastStatusCode override(const clg_context *ctx, const size_t *v)
{
    clg_process_lock();
    CLBlastStatusCode bs = CLBlastOverrideParameters(ctx->device, "Xgemm", CLBlastPrecisionSingle,
                                                     NP, (const char **)param_names, v);
    clg_process_unlock();
    return bs;
}

/* ---------------------------------------------------------------------- file */

static uint64_t device_key(const clg_context *ctx)
{
    const clg_device_info *in = &ctx->info;
    uint64_t h = clg_hash64("clgrad-clblast-tune-1", 21, CLG_HASH_SEED);
    const char *parts[] = {in->platform_name, in->device_name, in->driver_version};
    for (size_t i = 0; i < 3; i++) h = clg_hash64(parts[i], strlen(parts[i]) + 1, h);
    return h;
}

static int tune_path(const clg_context *ctx, char *out, size_t n)
{
    if (!ctx->cache_on || !ctx->cache_dir[0]) {
        if (n) out[0] = '\0';
        return -1;
    }
    snprintf(out, n, "%s/clblast-%016llx.tune", ctx->cache_dir,
             (unsigned long long)device_key(ctx));
    return 0;
}

/* Writes the file atomically; on failure returns -1 with *why set. */
static int tune_write(const clg_context *ctx, const char *path, const size_t *v, double g_untuned,
                      double g_tuned, const char **why)
{
    char text[TUNE_MAX_FILE];
    const clg_device_info *in = &ctx->info;
    int len = snprintf(text, sizeof text,
                       "%s %d\nkey %016llx\nplatform %s\ndevice %s\ndriver %s\nkernel Xgemm 32\n",
                       TUNE_MAGIC, TUNE_VERSION, (unsigned long long)device_key(ctx),
                       in->platform_name, in->device_name, in->driver_version);
    for (size_t i = 0; i < NP && len > 0 && (size_t)len < sizeof text; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s %zu\n", param_names[i], v[i]);
    if (len > 0 && (size_t)len < sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len, "gflops %.2f %.2f\n", g_untuned,
                        g_tuned);
    if (len > 0 && (size_t)len < sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len, "check %016llx\n",
                        (unsigned long long)clg_hash64(text, (size_t)len, CLG_HASH_SEED));
    if (len <= 0 || (size_t)len >= sizeof text) {
        *why = "file text too long";
        return -1;
    }
    if (clg_mkdir_p(ctx->cache_dir)) {
        *why = strerror(errno);
        return -1;
    }
    static _Thread_local char msg[512];
    if (clg_file_write_atomic("clgrad tune", path, text, (size_t)len, msg, sizeof msg) != CLG_OK) {
        *why = msg;
        return -1;
    }
    return 0;
}

/* Parses and validates; returns NULL on success, else the reason. */
static const char *tune_parse(const clg_context *ctx, const char *text, size_t len, size_t *v)
{
    if (len == 0 || text[len - 1] != '\n') return "truncated (no final line break)";
    if (memchr(text, '\0', len)) return "binary content";
    /* The last line is "check <hex>" over everything before it. */
    const char *last = text + len - 1;
    while (last > text && last[-1] != '\n') last--;
    unsigned long long check = 0;
    char tail;
    if (sscanf(last, "check %16llx%c", &check, &tail) != 2 || tail != '\n')
        return "no checksum line";
    if (clg_hash64(text, (size_t)(last - text), CLG_HASH_SEED) != check)
        return "checksum mismatch (corrupt file)";

    const char *p = text;
    char line[512];
    int version = 0;
    size_t n = 0;
    /* Header. */
    for (; p < last; n++) {
        const char *e = memchr(p, '\n', (size_t)(last - p));
        size_t l = (size_t)(e - p);
        if (l >= sizeof line) return "line too long";
        memcpy(line, p, l);
        line[l] = '\0';
        p = e + 1;
        if (n == 0) {
            if (sscanf(line, TUNE_MAGIC " %d", &version) != 1) return "not a clgrad tune file";
            if (version != TUNE_VERSION) return "unknown format version";
        } else if (n == 1) {
            unsigned long long key = 0;
            if (sscanf(line, "key %16llx", &key) != 1) return "no device key";
            if (key != device_key(ctx)) return "made for another device or driver";
        } else if (n >= 2 && n <= 4) {
            continue; /* platform, device, driver: informative, the key covers them */
        } else if (n == 5) {
            if (strcmp(line, "kernel Xgemm 32")) return "not an Xgemm single-precision tuning";
        } else if (n < 6 + NP) {
            size_t i = n - 6, nl = strlen(param_names[i]);
            char *end = NULL;
            if (strncmp(line, param_names[i], nl) || line[nl] != ' ')
                return "parameter missing or out of order";
            errno = 0;
            unsigned long long val = strtoull(line + nl + 1, &end, 10);
            if (errno || end == line + nl + 1 || *end || val > 1024) return "bad parameter value";
            v[i] = (size_t)val;
        } else if (n == 6 + NP) {
            if (strncmp(line, "gflops ", 7)) return "no gflops line";
        } else {
            return "unexpected extra line";
        }
    }
    if (n != 7 + NP) return "truncated";
    if (!config_valid(ctx, v)) return "parameters invalid for this device";
    return NULL;
}

/* Reads and checks a stored tuning from f (closed here) into v; NULL or why not. */
static const char *read_stored(const clg_context *ctx, FILE *f, size_t *v)
{
    char text[TUNE_MAX_FILE + 1];
    size_t len = fread(text, 1, sizeof text, f);
    int rerr = ferror(f);
    fclose(f);
    const char *why = rerr ? "read error" : len > TUNE_MAX_FILE ? "file too large" : NULL;
    return why ? why : tune_parse(ctx, text, len, v);
}

/* 1 and v filled when this device has a valid stored tuning (applied or not). */
static int stored_values(const clg_context *ctx, size_t *v)
{
    char path[1100];
    if (tune_path(ctx, path, sizeof path)) return 0;
    FILE *f = fopen(path, "rb");
    return f && !read_stored(ctx, f, v) && config_valid(ctx, v);
}

clg_status clg_tune_apply(clg_context *ctx)
{
    if (!ctx) return clg_fail(NULL, CLG_ERR_INVALID_ARGUMENT, "clg_tune_apply: NULL context");
    clg_tune_state *st = state_of(ctx);
    if (!st) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tune_apply: out of host memory");
    char path[1100];
    if (tune_path(ctx, path, sizeof path)) {
        set_note(ctx, "cache directory off: no stored tuning");
        return CLG_OK;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_note(ctx, "no stored tuning at %s", path);
        return CLG_OK;
    }
    size_t v[NP] = {0};
    const char *why = read_stored(ctx, f, v);
    CLBlastStatusCode bs = CLBlastSuccess;
    if (!why && (bs = override(ctx, v)) != CLBlastSuccess)
        why = "CLBlastOverrideParameters refused it";
    if (why) {
        ctx->stats.blas_tune_rejected++;
        set_note(ctx, "ignored %s: %s", path, why);
        if (bs != CLBlastSuccess)
            return clg_fail(ctx, CLG_ERR_FORMAT, "clg_tune_apply: %s: %s (CLBlast status %d)", path,
                            why, (int)bs);
        return clg_fail(ctx, CLG_ERR_FORMAT, "clg_tune_apply: %s: %s", path, why);
    }
    memcpy(st->values, v, sizeof v);
    st->applied = 1;
    ctx->stats.blas_tuned_from_cache = 1;
    set_note(ctx, "applied %s", path);
    return CLG_OK;
}

void clg_tune_on_create(clg_context *ctx)
{
    if (!ctx->cfg.tune || !ctx->cache_on) return;
    if (clg_tune_apply(ctx) != CLG_OK) clg_clear_error(ctx);
}

void clg_tune_release(clg_context *ctx)
{
    free(ctx->blas_params);
    ctx->blas_params = NULL;
}

clg_status clg_context_tuning(const clg_context *ctx, int *applied, size_t values[CLG_TUNE_PARAMS],
                              const char **note)
{
    if (!ctx || !applied)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_context_tuning: NULL argument");
    const clg_tune_state *st = ctx->blas_params;
    *applied = st ? st->applied : 0;
    if (values) {
        for (size_t i = 0; i < NP; i++) values[i] = st && st->applied ? st->values[i] : 0;
    }
    if (note) *note = st ? st->note : "";
    return CLG_OK;
}

/* -------------------------------------------------------------------- search */

typedef struct shape {
    size_t m, n, k;
} shape;

/* Median seconds of `runs` SGEMMs after one warm-up (which compiles a new configuration). */
static clg_status time_gemm(clg_context *ctx, cl_mem A, cl_mem B, cl_mem C, shape s, unsigned runs,
                            double *median, CLBlastStatusCode *bs)
{
    double t[64];
    if (runs > 64) runs = 64;
    cl_command_queue q = ctx->queue;
    for (unsigned r = 0; r <= runs; r++) {
        double t0 = now_s();
        *bs = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, s.m, s.n,
                           s.k, 1.0f, A, 0, s.k, B, 0, s.n, 0.0f, C, 0, s.n, &q, NULL);
        if (*bs != CLBlastSuccess) {
            clFinish(q);
            return CLG_OK; /* the caller decides what a rejected configuration means */
        }
        cl_int err = clFinish(q);
        if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clg_tune_sgemm: clFinish");
        if (r > 0) t[r - 1] = now_s() - t0;
    }
    for (unsigned i = 1; i < runs; i++)
        for (unsigned j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1], t[j - 1] = x;
        }
    *median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    return CLG_OK;
}

static double gflops(shape s, double seconds)
{
    return seconds > 0 ? 2.0 * (double)s.m * (double)s.n * (double)s.k / seconds * 1e-9 : 0.0;
}

typedef struct ranked {
    size_t v[NP];
    double screen_s;
} ranked;

static int same(const size_t *a, const size_t *b) { return !memcmp(a, b, NP * sizeof *a); }

clg_status clg_tune_sgemm(clg_context *ctx, const clg_tune_options *opts, clg_tune_report *report)
{
    if (!ctx || !report)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_tune_sgemm: NULL argument");
    clg_tune_options o = opts ? *opts : clg_tune_defaults();
    if (!(o.max_seconds > 0) || !isfinite(o.max_seconds) || o.size < 64 || o.size > 8192 ||
        o.runs == 0 || o.runs > 64)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_tune_sgemm: need max_seconds > 0, 64 <= size <= 8192, 1 <= runs <= 64 "
                        "(got %g, %zu, %u)",
                        o.max_seconds, o.size, o.runs);
    clg_tune_state *st = state_of(ctx);
    if (!st) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tune_sgemm: out of host memory");
    const clg_tune_state before = *st;
    memset(report, 0, sizeof *report);
    tune_path(ctx, report->path, sizeof report->path);
    const double start = now_s();

    shape shapes[3] = {{o.size, o.size, o.size}, {256, 256, 784}, {784, 256, 256}};
    size_t nshapes = o.mlp_shapes ? 3 : 1;
    size_t half = o.size >= 512 ? o.size / 2 : o.size;
    shape screen = {half, half, half};
    size_t amax = 0, bmax = 0, cmax = 0;
    for (size_t i = 0; i < nshapes; i++) {
        if (shapes[i].m * shapes[i].k > amax) amax = shapes[i].m * shapes[i].k;
        if (shapes[i].k * shapes[i].n > bmax) bmax = shapes[i].k * shapes[i].n;
        if (shapes[i].m * shapes[i].n > cmax) cmax = shapes[i].m * shapes[i].n;
    }
    const size_t csize = o.size * o.size;

    cl_mem A = NULL, B = NULL, C = NULL;
    float *host = NULL, *ref = NULL, *got = NULL;
    ranked top[TOP_K];
    size_t ntop = 0;
    size_t(*tried)[NP] = NULL;
    size_t ntried = 0;
    clg_status s = CLG_OK;
    CLBlastStatusCode bs = CLBlastSuccess;
    size_t big = amax > bmax ? amax : bmax;
    host = malloc(big * sizeof *host);
    ref = malloc(csize * sizeof *ref);
    got = malloc(csize * sizeof *got);
    tried = malloc(MAX_TRIED * sizeof *tried);
    if (!host || !ref || !got || !tried) {
        s = clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tune_sgemm: out of host memory");
        goto done;
    }
    s = clg_buffer_create(ctx, amax * sizeof(float), "tune A", &A);
    if (s == CLG_OK) s = clg_buffer_create(ctx, bmax * sizeof(float), "tune B", &B);
    if (s == CLG_OK) s = clg_buffer_create(ctx, cmax * sizeof(float), "tune C", &C);
    if (s != CLG_OK) goto done;
    uint64_t rng = o.seed * 0x9E3779B97F4A7C15ULL + 0x853c49e6748fea9bULL;
    for (int which = 0; which < 2; which++) {
        size_t n = which ? bmax : amax;
        for (size_t i = 0; i < n; i++)
            host[i] = (float)((double)(rng_next(&rng) >> 11) * 0x1p-53 * 2.0 - 1.0);
        cl_int err = clEnqueueWriteBuffer(ctx->queue, which ? B : A, CL_TRUE, 0, n * sizeof(float),
                                          host, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            s = clg_fail_cl(ctx, err, "clg_tune_sgemm: uploading inputs");
            goto done;
        }
    }

    /* Baseline: the parameters in effect now. */
    double base_total = 0, base_t[3] = {0}, base_screen = 0;
    for (size_t i = 0; i < nshapes; i++) {
        s = time_gemm(ctx, A, B, C, shapes[i], o.runs, &base_t[i], &bs);
        if (s != CLG_OK) goto done;
        if (bs != CLBlastSuccess) {
            s = clg_fail(ctx, CLG_ERR_BLAS,
                         "clg_tune_sgemm: untuned CLBlastSgemm %zux%zux%zu failed with status %d",
                         shapes[i].m, shapes[i].n, shapes[i].k, (int)bs);
            goto done;
        }
        base_total += base_t[i];
        report->shapes[i].m = shapes[i].m, report->shapes[i].n = shapes[i].n;
        report->shapes[i].k = shapes[i].k;
        report->shapes[i].gflops_untuned = gflops(shapes[i], base_t[i]);
        if (i == 0) {
            cl_int err = clEnqueueReadBuffer(ctx->queue, C, CL_TRUE, 0, csize * sizeof(float), ref,
                                             0, NULL, NULL);
            if (err != CL_SUCCESS) {
                s = clg_fail_cl(ctx, err, "clg_tune_sgemm: reading the untuned result");
                goto done;
            }
        }
    }
    report->shape_count = nshapes;
    report->gflops_untuned = report->shapes[0].gflops_untuned;
    if (screen.m == shapes[0].m)
        base_screen = base_t[0];
    else {
        s = time_gemm(ctx, A, B, C, screen, 2, &base_screen, &bs);
        if (s != CLG_OK) goto done;
    }

    /* Screening: seeds, then random valid configurations, until the budget. */
    const double screen_budget = 0.7 * o.max_seconds;
    unsigned misses = 0;
    size_t next_seed = 0;
    size_t stored[NP];
    int resume = stored_values(ctx, stored);
    while (now_s() - start < screen_budget && ntried < MAX_TRIED &&
           (o.max_candidates == 0 || report->candidates_tried < o.max_candidates) &&
           misses < 100000) {
        size_t v[NP];
        if (resume) {
            memcpy(v, stored, sizeof v); /* a stored tuning: climb on from it */
            resume = 0;
        } else if (next_seed < NSEEDS)
            config_set(v, seeds[next_seed++]);
        else if (ntop && rng_next(&rng) % 4 != 0)
            config_neighbour(&rng, top[0].v, v);
        else
            config_random(&rng, v);
        int dup = !config_valid(ctx, v);
        for (size_t i = 0; i < ntried && !dup; i++) dup = same(tried[i], v);
        if (dup) {
            misses++;
            continue;
        }
        memcpy(tried[ntried++], v, sizeof v);
        clg_tune_candidate cand;
        memset(&cand, 0, sizeof cand);
        cand.index = ++report->candidates_tried;
        memcpy(cand.values, v, sizeof v);
        double t = 0;
        bs = override(ctx, v);
        if (bs == CLBlastSuccess) {
            s = time_gemm(ctx, A, B, C, screen, 2, &t, &bs);
            if (s != CLG_OK) goto done;
        }
        cand.blas_status = (int)bs;
        if (bs != CLBlastSuccess) {
            report->candidates_failed++;
        } else {
            cand.gflops = gflops(screen, t);
            size_t pos = ntop;
            while (pos > 0 && top[pos - 1].screen_s > t) pos--;
            if (pos < TOP_K) {
                if (ntop < TOP_K) ntop++;
                memmove(&top[pos + 1], &top[pos], (ntop - 1 - pos) * sizeof *top);
                memcpy(top[pos].v, v, sizeof v);
                top[pos].screen_s = t;
            }
        }
        if (o.on_candidate) o.on_candidate(&cand, o.user);
    }
    (void)base_screen;

    /* Finals on every shape; the first finalist always runs, the others within budget. */
    double best_total = INFINITY, best_t[3] = {0};
    int best = -1;
    for (size_t f = 0; f < ntop; f++) {
        if (f > 0 && now_s() - start > o.max_seconds) break;
        if (override(ctx, top[f].v) != CLBlastSuccess) continue;
        double tot = 0, tt[3] = {0};
        int ok = 1;
        for (size_t i = 0; i < nshapes && ok; i++) {
            s = time_gemm(ctx, A, B, C, shapes[i], o.runs, &tt[i], &bs);
            if (s != CLG_OK) goto done;
            ok = bs == CLBlastSuccess;
            tot += tt[i];
        }
        if (!ok) continue;
        /* Verify against the untuned size³ result. */
        bs = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, o.size,
                          o.size, o.size, 1.0f, A, 0, o.size, B, 0, o.size, 0.0f, C, 0, o.size,
                          &ctx->queue, NULL);
        if (bs != CLBlastSuccess) continue;
        cl_int err = clEnqueueReadBuffer(ctx->queue, C, CL_TRUE, 0, csize * sizeof(float), got, 0,
                                         NULL, NULL);
        if (err != CL_SUCCESS) {
            s = clg_fail_cl(ctx, err, "clg_tune_sgemm: reading a tuned result");
            goto done;
        }
        double dmax = 0, rmax = 0;
        for (size_t i = 0; i < csize; i++) {
            double d = fabs((double)got[i] - (double)ref[i]);
            if (!(d <= dmax)) dmax = d; /* NaN propagates */
            if (fabs((double)ref[i]) > rmax) rmax = fabs((double)ref[i]);
        }
        double rel = rmax > 0 ? dmax / rmax : dmax;
        if (!(rel <= CLG_TUNE_VERIFY_TOL)) continue;
        if (tot < best_total) {
            best_total = tot, best = (int)f;
            memcpy(best_t, tt, sizeof tt);
            report->max_rel_error = rel;
        }
    }

    if (best < 0) {
        snprintf(
            report->note, sizeof report->note,
            "no candidate ran and matched the untuned result (%u tried, %u rejected by CLBlast)",
            report->candidates_tried, report->candidates_failed);
    } else {
        memcpy(report->best, top[best].v, sizeof report->best);
        for (size_t i = 0; i < nshapes; i++)
            report->shapes[i].gflops_tuned = gflops(shapes[i], best_t[i]);
        report->gflops_tuned = report->shapes[0].gflops_tuned;
        report->improved = best_total < base_total;
        if (!report->improved && o.force)
            report->improved = 1;
        else if (!report->improved)
            snprintf(report->note, sizeof report->note,
                     "the untuned parameters were fastest (%.3f s vs %.3f s over the shapes)",
                     base_total, best_total);
    }

    if (report->improved) {
        bs = override(ctx, report->best);
        if (bs != CLBlastSuccess) {
            s = clg_fail(ctx, CLG_ERR_BLAS,
                         "clg_tune_sgemm: applying the best configuration failed with status %d",
                         (int)bs);
            goto done;
        }
        memcpy(st->values, report->best, sizeof st->values);
        st->applied = 1;
        set_note(ctx, "applied by clg_tune_sgemm");
        const char *why = NULL;
        if (!o.store) {
            snprintf(report->note, sizeof report->note, "not stored (store option off)");
        } else if (!report->path[0]) {
            snprintf(report->note, sizeof report->note, "not stored: the cache directory is off");
        } else if (tune_write(ctx, report->path, report->best, report->gflops_untuned,
                              report->gflops_tuned, &why)) {
            snprintf(report->note, sizeof report->note, "not stored in %.300s: %.150s",
                     ctx->cache_dir, why ? why : "write failed");
        } else {
            report->stored = 1;
        }
    } else if (before.applied) {
        override(ctx, before.values); /* back to the tuning in effect before the call */
    } else if (best >= 0) {
        override(ctx, top[best].v); /* nearest to the untuned speed that can be set */
    }

done:
    report->seconds = now_s() - start;
    if (A) clReleaseMemObject(A);
    if (B) clReleaseMemObject(B);
    if (C) clReleaseMemObject(C);
    free(host);
    free(ref);
    free(got);
    free(tried);
    return s;
}
