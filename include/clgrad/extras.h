/* clgrad: closed form, CLBlast tuning, self-test. Part of <clgrad.h>, which includes every topic. */
#ifndef CLGRAD_API_EXTRAS_H
#define CLGRAD_API_EXTRAS_H

#include "clgrad/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------- closed form */

/* Least squares with a bias column: minimises |X·w + b − y|² + ridge·|w|²
 * (the bias is not penalised). XᵀX and Xᵀy are formed on the device with
 * CLBlast; the (d+1)×(d+1) system is solved on the host in double by Cholesky
 * (never an explicit inverse). w gets d*q values, b gets q. A rank-deficient
 * system (ridge 0) is CLG_ERR_SINGULAR. The device centres a copy of [X | Y]
 * first (for float32 accuracy), so the call needs n*(d+q) floats of workspace;
 * a streamed dataset is centred on the host and sent in chunks of 32 MiB instead.
 * ridge < 0 or non-finite is CLG_ERR_INVALID_ARGUMENT; w and b are written only
 * on success. */
CLG_API clg_status clg_solve_normal(clg_context *ctx, const clg_dataset *ds, double ridge, float *w,
                                    float *b);

/* ------------------------------------------------------------------ tuning */

/* CLBlast's SGEMM kernel ("Xgemm") has 16 tuning parameters; a device missing
 * from CLBlast's database (POCL's CPU device, for one) runs generic ones.
 * clg_tune_sgemm searches the parameters on ctx's device, keeps the fastest
 * configuration that reproduces the untuned result, stores it in the cache
 * directory as <cache_dir>/clblast-<16 hex digits>.tune (the digits hash
 * platform, device and driver; a small versioned text file with a checksum,
 * written atomically) and applies it with CLBlastOverrideParameters.
 * clg_context_create applies a stored file for its device (unless
 * CLGRAD_NO_TUNE=1 or the cache is off); a corrupt or foreign file is ignored
 * and counted in clg_context_stats.blas_tune_rejected.
 * CLBlast keeps overrides per device for the whole process, so an applied
 * tuning affects every CLBlast call on that device, from any context. */

#define CLG_TUNE_PARAMS 16
/* Largest accepted |tuned − untuned| / max|untuned| over a size³ SGEMM. */
#define CLG_TUNE_VERIFY_TOL 1e-4

/* Name of Xgemm parameter i (0 <= i < CLG_TUNE_PARAMS): "GEMMK", "KREG",
 * "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
 * "STRM", "STRN", "VWM", "VWN"; NULL beyond. */
CLG_API const char *clg_tune_param_name(size_t i);

/* One configuration tried, passed to clg_tune_options.on_candidate. */
typedef struct clg_tune_candidate {
    unsigned index;                 /* 1-based order of trial */
    size_t values[CLG_TUNE_PARAMS]; /* in clg_tune_param_name order */
    double gflops;                  /* on the screening shape; 0 when it failed */
    int blas_status;                /* CLBlast status code, 0 when it ran */
} clg_tune_candidate;

typedef struct clg_tune_options {
    size_t struct_size;      /* sizeof(clg_tune_options) of the caller's header (ABI) */
    double max_seconds;      /* default 120: no new candidate is started after it */
    unsigned max_candidates; /* default 0: as many as max_seconds allows */
    size_t size;             /* default 1024: the square SGEMM timed (>= 64) */
    int mlp_shapes;          /* default 1: also time 256×256×784 and 784×256×256 */
    unsigned runs;           /* default 5: timed runs per final measurement (median) */
    int store;               /* default 1: write the result to the cache directory */
    uint64_t seed;           /* default 0: order of the random part of the search */
    int force;               /* default 0; 1: apply (and store) the best verified candidate
                                even when it is not faster than the baseline */
    void (*on_candidate)(const clg_tune_candidate *c, void *user); /* may be NULL */
    void *user;
} clg_tune_options;
CLG_API clg_tune_options clg_tune_defaults(void);

typedef struct clg_tune_shape {
    size_t m, n, k;        /* C (m×n) = A (m×k) · B (k×n), row-major */
    double gflops_untuned; /* median over runs */
    double gflops_tuned;
} clg_tune_shape;

typedef struct clg_tune_report {
    unsigned candidates_tried;
    unsigned candidates_failed; /* CLBlast rejected the configuration */
    int improved;               /* 1: best beats the untuned parameters (or force) and is applied */
    size_t best[CLG_TUNE_PARAMS]; /* fastest configuration found */
    double gflops_untuned;        /* size³ SGEMM, median */
    double gflops_tuned;
    double max_rel_error; /* tuned vs untuned size³ result (see CLG_TUNE_VERIFY_TOL) */
    clg_tune_shape shapes[3];
    size_t shape_count;
    double seconds;  /* wall time of the call */
    int stored;      /* 1 when written to path */
    char path[1100]; /* the tune file of this device ("" when the cache is off) */
    char note[512];  /* why nothing was stored or applied, else "" */
} clg_tune_report;

/* Runs the search described above. The baseline is whatever CLBlast uses when
 * the call starts (set CLGRAD_NO_TUNE=1 before creating ctx for CLBlast's own
 * defaults). Failing to store (unwritable cache) is not an error: report->stored
 * is 0 and report->note says why. When nothing beats the baseline nothing is
 * stored; CLBlast cannot restore its built-in parameters, so the tuning that
 * was applied before the call is re-applied, else the fastest candidate stays
 * in effect for this process. opts NULL means clg_tune_defaults(). */
CLG_API clg_status clg_tune_sgemm(clg_context *ctx, const clg_tune_options *opts,
                                  clg_tune_report *report);

/* Applies this device's stored tuning, if there is one. CLG_OK when applied
 * or when there is no file (stats tell which); CLG_ERR_FORMAT when a file
 * exists but is corrupt, foreign or rejected by CLBlast (it is ignored). */
CLG_API clg_status clg_tune_apply(clg_context *ctx);

/* The tuning applied through ctx: *applied 1 and values (may be NULL) get the
 * parameters; note (may be NULL) gets a sentence on the last apply ("applied
 * PATH", "ignored PATH: reason", or ""), valid until the next tune call. */
CLG_API clg_status clg_context_tuning(const clg_context *ctx, int *applied,
                                      size_t values[CLG_TUNE_PARAMS], const char **note);

/* -------------------------------------------------------------- self-test */

typedef struct clg_selftest_result {
    char kernel[48];
    double max_error; /* largest |device − reference| (relative where stated) */
    double tolerance;
    int passed;
} clg_selftest_result;

/* Runs every kernel family of the library on ctx's device against a plain-C
 * double reference. Writes up to `capacity` results; *count gets the total.
 * Returns CLG_OK when the tests could run (check .passed), an error otherwise. */
CLG_API clg_status clg_selftest(clg_context *ctx, clg_selftest_result *results, size_t capacity,
                                size_t *count);

#ifdef __cplusplus
}
#endif
#endif
