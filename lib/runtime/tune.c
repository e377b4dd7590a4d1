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
    o.struct_size = sizeof o;
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

/* The working state of one clg_tune_sgemm call, shared by its phases below so each
 * can be a function of its own; run_free releases what it holds. */
typedef struct tune_run {
    clg_context *ctx;
    clg_tune_options o;
    clg_tune_report *report;
    double start;
    shape shapes[3];
    size_t nshapes;
    shape screen;
    size_t amax, bmax, cmax, csize;
    cl_mem A, B, C;
    float *host, *ref, *got;
    size_t (*tried)[NP];
    size_t ntried;
    ranked top[TOP_K];
    size_t ntop;
    uint64_t rng;
    double base_total;
    int best; /* index into top of the verified winner, -1 when none */
    double best_total, best_t[3];
} tune_run;

/* Options: NULL means the defaults; rejected before anything is touched. */
static clg_status tune_options(clg_context *ctx, const clg_tune_options *opts,
                               clg_tune_options *out)
{
    clg_tune_options o = clg_tune_defaults();
    if (opts) {
        clg_status s = clg_options_copy(ctx, "clg_tune_sgemm", "clg_tune_defaults", &o, sizeof o,
                                        opts, sizeof o);
        if (s != CLG_OK) return s;
    }
    *out = o;
    if (!(o.max_seconds > 0) || !isfinite(o.max_seconds) || o.size < 64 || o.size > 8192 ||
        o.runs == 0 || o.runs > 64)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "clg_tune_sgemm: need max_seconds > 0, 64 <= size <= 8192, 1 <= runs <= 64 "
                        "(got %g, %zu, %u)",
                        o.max_seconds, o.size, o.runs);
    return CLG_OK;
}

/* The shapes timed, the screening shape and the buffer sizes they need. */
static void run_shapes(tune_run *r)
{
    const size_t size = r->o.size;
    const shape shapes[3] = {{size, size, size}, {256, 256, 784}, {784, 256, 256}};
    memcpy(r->shapes, shapes, sizeof shapes);
    r->nshapes = r->o.mlp_shapes ? 3 : 1;
    size_t half = size >= 512 ? size / 2 : size;
    r->screen = (shape){half, half, half};
    for (size_t i = 0; i < r->nshapes; i++) {
        const shape *sh = &r->shapes[i];
        if (sh->m * sh->k > r->amax) r->amax = sh->m * sh->k;
        if (sh->k * sh->n > r->bmax) r->bmax = sh->k * sh->n;
        if (sh->m * sh->n > r->cmax) r->cmax = sh->m * sh->n;
    }
    r->csize = size * size;
}

/* Host scratch, the device buffers A, B, C and random inputs in A and B (the random
 * stream then goes on into the search, so its order depends on opts->seed only). */
static clg_status run_setup(tune_run *r)
{
    clg_context *ctx = r->ctx;
    size_t big = r->amax > r->bmax ? r->amax : r->bmax;
    r->host = malloc(big * sizeof *r->host);
    r->ref = malloc(r->csize * sizeof *r->ref);
    r->got = malloc(r->csize * sizeof *r->got);
    r->tried = malloc(MAX_TRIED * sizeof *r->tried);
    if (!r->host || !r->ref || !r->got || !r->tried)
        return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tune_sgemm: out of host memory");
    clg_status s = clg_buffer_create(ctx, r->amax * sizeof(float), "tune A", &r->A);
    if (s == CLG_OK) s = clg_buffer_create(ctx, r->bmax * sizeof(float), "tune B", &r->B);
    if (s == CLG_OK) s = clg_buffer_create(ctx, r->cmax * sizeof(float), "tune C", &r->C);
    if (s != CLG_OK) return s;
    r->rng = r->o.seed * 0x9E3779B97F4A7C15ULL + 0x853c49e6748fea9bULL;
    for (int which = 0; which < 2; which++) {
        size_t n = which ? r->bmax : r->amax;
        for (size_t i = 0; i < n; i++)
            r->host[i] = (float)((double)(rng_next(&r->rng) >> 11) * 0x1p-53 * 2.0 - 1.0);
        cl_int err = clEnqueueWriteBuffer(ctx->queue, which ? r->B : r->A, CL_TRUE, 0,
                                          n * sizeof(float), r->host, 0, NULL, NULL);
        if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clg_tune_sgemm: uploading inputs");
    }
    return CLG_OK;
}

/* Baseline: the parameters in effect now, timed on every shape; their size³ result is
 * the reference every finalist is verified against. */
static clg_status run_baseline(tune_run *r)
{
    clg_context *ctx = r->ctx;
    clg_tune_report *report = r->report;
    double base_t[3] = {0}, base_screen = 0;
    CLBlastStatusCode bs = CLBlastSuccess;
    for (size_t i = 0; i < r->nshapes; i++) {
        const shape sh = r->shapes[i];
        clg_status s = time_gemm(ctx, r->A, r->B, r->C, sh, r->o.runs, &base_t[i], &bs);
        if (s != CLG_OK) return s;
        if (bs != CLBlastSuccess)
            return clg_fail(
                ctx, CLG_ERR_BLAS,
                "clg_tune_sgemm: untuned CLBlastSgemm %zux%zux%zu failed with status %d", sh.m,
                sh.n, sh.k, (int)bs);
        r->base_total += base_t[i];
        report->shapes[i].m = sh.m, report->shapes[i].n = sh.n;
        report->shapes[i].k = sh.k;
        report->shapes[i].gflops_untuned = gflops(sh, base_t[i]);
        if (i == 0) {
            cl_int err = clEnqueueReadBuffer(ctx->queue, r->C, CL_TRUE, 0, r->csize * sizeof(float),
                                             r->ref, 0, NULL, NULL);
            if (err != CL_SUCCESS)
                return clg_fail_cl(ctx, err, "clg_tune_sgemm: reading the untuned result");
        }
    }
    report->shape_count = r->nshapes;
    report->gflops_untuned = report->shapes[0].gflops_untuned;
    if (r->screen.m == r->shapes[0].m) return CLG_OK; /* base_screen = base_t[0] */
    /* Measured but unused: kept so the call does the same device work as before. */
    clg_status s = time_gemm(ctx, r->A, r->B, r->C, r->screen, 2, &base_screen, &bs);
    (void)base_screen;
    return s;
}

/* Keeps the TOP_K fastest screened configurations, fastest first. */
static void rank_insert(tune_run *r, const size_t *v, double t)
{
    size_t pos = r->ntop;
    while (pos > 0 && r->top[pos - 1].screen_s > t) pos--;
    if (pos >= TOP_K) return;
    if (r->ntop < TOP_K) r->ntop++;
    memmove(&r->top[pos + 1], &r->top[pos], (r->ntop - 1 - pos) * sizeof *r->top);
    memcpy(r->top[pos].v, v, NP * sizeof *v);
    r->top[pos].screen_s = t;
}

/* Screens one new valid configuration on the screening shape and reports it to
 * on_candidate; a configuration CLBlast rejects is counted, not an error. */
static clg_status screen_one(tune_run *r, const size_t *v)
{
    clg_tune_report *report = r->report;
    memcpy(r->tried[r->ntried++], v, NP * sizeof *v);
    clg_tune_candidate cand;
    memset(&cand, 0, sizeof cand);
    cand.index = ++report->candidates_tried;
    memcpy(cand.values, v, sizeof cand.values);
    double t = 0;
    CLBlastStatusCode bs = override(r->ctx, v);
    if (bs == CLBlastSuccess) {
        clg_status s = time_gemm(r->ctx, r->A, r->B, r->C, r->screen, 2, &t, &bs);
        if (s != CLG_OK) return s;
    }
    cand.blas_status = (int)bs;
    if (bs != CLBlastSuccess) {
        report->candidates_failed++;
    } else {
        cand.gflops = gflops(r->screen, t);
        rank_insert(r, v, t);
    }
    if (r->o.on_candidate) r->o.on_candidate(&cand, r->o.user);
    return CLG_OK;
}

/* Screening: a stored tuning first (to climb on from it), then the seeds, then
 * neighbours of the best so far or random configurations, until the budget (70 % of
 * max_seconds), max_candidates or MAX_TRIED; invalid and repeated ones are skipped. */
static clg_status run_screening(tune_run *r)
{
    const double screen_budget = 0.7 * r->o.max_seconds;
    unsigned misses = 0;
    size_t next_seed = 0;
    size_t stored[NP];
    int resume = stored_values(r->ctx, stored);
    while (now_s() - r->start < screen_budget && r->ntried < MAX_TRIED &&
           (r->o.max_candidates == 0 || r->report->candidates_tried < r->o.max_candidates) &&
           misses < 100000) {
        size_t v[NP];
        if (resume) {
            memcpy(v, stored, sizeof v); /* a stored tuning: climb on from it */
            resume = 0;
        } else if (next_seed < NSEEDS)
            config_set(v, seeds[next_seed++]);
        else if (r->ntop && rng_next(&r->rng) % 4 != 0)
            config_neighbour(&r->rng, r->top[0].v, v);
        else
            config_random(&r->rng, v);
        int dup = !config_valid(r->ctx, v);
        for (size_t i = 0; i < r->ntried && !dup; i++) dup = same(r->tried[i], v);
        if (dup) {
            misses++;
            continue;
        }
        clg_status s = screen_one(r, v);
        if (s != CLG_OK) return s;
    }
    return CLG_OK;
}

/* Verifies the configuration in effect against the untuned size³ result: *rel gets
 * the largest difference relative to the largest reference value (NaN propagates);
 * *ok is 0 when CLBlast rejects the SGEMM. Errors only when the result cannot be read. */
static clg_status verify_current(tune_run *r, int *ok, double *rel)
{
    clg_context *ctx = r->ctx;
    const size_t size = r->o.size;
    *ok = 0;
    CLBlastStatusCode bs = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                        CLBlastTransposeNo, size, size, size, 1.0f, r->A, 0, size,
                                        r->B, 0, size, 0.0f, r->C, 0, size, &ctx->queue, NULL);
    if (bs != CLBlastSuccess) return CLG_OK;
    cl_int err = clEnqueueReadBuffer(ctx->queue, r->C, CL_TRUE, 0, r->csize * sizeof(float), r->got,
                                     0, NULL, NULL);
    if (err != CL_SUCCESS) return clg_fail_cl(ctx, err, "clg_tune_sgemm: reading a tuned result");
    double dmax = 0, rmax = 0;
    for (size_t i = 0; i < r->csize; i++) {
        double d = fabs((double)r->got[i] - (double)r->ref[i]);
        if (!(d <= dmax)) dmax = d; /* NaN propagates */
        if (fabs((double)r->ref[i]) > rmax) rmax = fabs((double)r->ref[i]);
    }
    *rel = rmax > 0 ? dmax / rmax : dmax;
    *ok = 1;
    return CLG_OK;
}

/* Finals: each finalist timed on every shape and verified; the lowest total time of
 * the verified ones wins. The first finalist always runs, the others within budget. */
static clg_status run_finals(tune_run *r)
{
    r->best_total = INFINITY, r->best = -1;
    for (size_t f = 0; f < r->ntop; f++) {
        if (f > 0 && now_s() - r->start > r->o.max_seconds) break;
        if (override(r->ctx, r->top[f].v) != CLBlastSuccess) continue;
        double tot = 0, tt[3] = {0};
        CLBlastStatusCode bs = CLBlastSuccess;
        int ok = 1;
        for (size_t i = 0; i < r->nshapes && ok; i++) {
            clg_status s =
                time_gemm(r->ctx, r->A, r->B, r->C, r->shapes[i], r->o.runs, &tt[i], &bs);
            if (s != CLG_OK) return s;
            ok = bs == CLBlastSuccess;
            tot += tt[i];
        }
        if (!ok) continue;
        double rel = 0;
        clg_status s = verify_current(r, &ok, &rel);
        if (s != CLG_OK) return s;
        if (!ok || !(rel <= CLG_TUNE_VERIFY_TOL)) continue;
        if (tot < r->best_total) {
            r->best_total = tot, r->best = (int)f;
            memcpy(r->best_t, tt, sizeof tt);
            r->report->max_rel_error = rel;
        }
    }
    return CLG_OK;
}

/* Fills the report from the finals: the winner and its speeds, whether it counts as an
 * improvement (or force), and a note when nothing won. */
static void run_summarise(tune_run *r)
{
    clg_tune_report *report = r->report;
    if (r->best < 0) {
        snprintf(
            report->note, sizeof report->note,
            "no candidate ran and matched the untuned result (%u tried, %u rejected by CLBlast)",
            report->candidates_tried, report->candidates_failed);
        return;
    }
    memcpy(report->best, r->top[r->best].v, sizeof report->best);
    for (size_t i = 0; i < r->nshapes; i++)
        report->shapes[i].gflops_tuned = gflops(r->shapes[i], r->best_t[i]);
    report->gflops_tuned = report->shapes[0].gflops_tuned;
    report->improved = r->best_total < r->base_total;
    if (!report->improved && r->o.force)
        report->improved = 1;
    else if (!report->improved)
        snprintf(report->note, sizeof report->note,
                 "the untuned parameters were fastest (%.3f s vs %.3f s over the shapes)",
                 r->base_total, r->best_total);
}

/* Writes the applied winner to the tune file when asked; failing to store is not an
 * error, the note says why. */
static void store_best(tune_run *r)
{
    clg_tune_report *report = r->report;
    const char *why = NULL;
    if (!r->o.store) {
        snprintf(report->note, sizeof report->note, "not stored (store option off)");
    } else if (!report->path[0]) {
        snprintf(report->note, sizeof report->note, "not stored: the cache directory is off");
    } else if (tune_write(r->ctx, report->path, report->best, report->gflops_untuned,
                          report->gflops_tuned, &why)) {
        snprintf(report->note, sizeof report->note, "not stored in %.300s: %.150s",
                 r->ctx->cache_dir, why ? why : "write failed");
    } else {
        report->stored = 1;
    }
}

/* Leaves CLBlast with the right parameters: the winner when it improved (recorded in
 * st and stored), else the tuning in effect before the call, else the fastest verified
 * candidate (CLBlast cannot go back to its built-in parameters). */
static clg_status run_apply(tune_run *r, clg_tune_state *st, const clg_tune_state *before)
{
    clg_tune_report *report = r->report;
    if (report->improved) {
        CLBlastStatusCode bs = override(r->ctx, report->best);
        if (bs != CLBlastSuccess)
            return clg_fail(r->ctx, CLG_ERR_BLAS,
                            "clg_tune_sgemm: applying the best configuration failed with status %d",
                            (int)bs);
        memcpy(st->values, report->best, sizeof st->values);
        st->applied = 1;
        set_note(r->ctx, "applied by clg_tune_sgemm");
        store_best(r);
    } else if (before->applied) {
        override(r->ctx, before->values); /* back to the tuning in effect before the call */
    } else if (r->best >= 0) {
        override(r->ctx, r->top[r->best].v); /* nearest to the untuned speed that can be set */
    }
    return CLG_OK;
}

/* Releases what run_setup acquired, whatever phase failed. */
static void run_free(tune_run *r)
{
    if (r->A) clReleaseMemObject(r->A);
    if (r->B) clReleaseMemObject(r->B);
    if (r->C) clReleaseMemObject(r->C);
    free(r->host);
    free(r->ref);
    free(r->got);
    free(r->tried);
}

clg_status clg_tune_sgemm(clg_context *ctx, const clg_tune_options *opts, clg_tune_report *report)
{
    if (!ctx || !report)
        return clg_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_tune_sgemm: NULL argument");
    tune_run r;
    memset(&r, 0, sizeof r);
    clg_status s = tune_options(ctx, opts, &r.o);
    if (s != CLG_OK) return s;
    clg_tune_state *st = state_of(ctx);
    if (!st) return clg_fail(ctx, CLG_ERR_HOST_MEMORY, "clg_tune_sgemm: out of host memory");
    const clg_tune_state before = *st;
    memset(report, 0, sizeof *report);
    tune_path(ctx, report->path, sizeof report->path);
    r.ctx = ctx, r.report = report, r.start = now_s();
    run_shapes(&r);
    s = run_setup(&r);
    if (s == CLG_OK) s = run_baseline(&r);
    if (s == CLG_OK) s = run_screening(&r);
    if (s == CLG_OK) s = run_finals(&r);
    if (s == CLG_OK) {
        run_summarise(&r);
        s = run_apply(&r, st, &before);
    }
    report->seconds = now_s() - r.start;
    run_free(&r);
    return s;
}
