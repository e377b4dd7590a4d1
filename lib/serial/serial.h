/* serial: checkpoints. Sees optim and below. ck_format.c holds the file format (bytes,
 * validation; no OpenCL), checkpoint.c the glue to models and optimizers. */
#ifndef CLGRAD_SERIAL_H
#define CLGRAD_SERIAL_H
#include "optim.h"

#define CK_MAGIC "CLGRADCK"
#define CK_VERSION 2u
#define CK_FLAG_OPTIMIZER 1u
#define CK_FLAG_SCALING 2u /* version 2: the model's input scaling */
#define CK_FLAG_NAMES 4u   /* version 2: the model's class names */
#define CK_MAX_NAME 255u
#define CK_HEADER 24u
#define CK_LAYER_BYTES 20u
#define CK_OPT_WORDS 16u                         /* 32-bit words of clg_optimizer_options */
#define CK_GROUP_BYTES (4u * (CK_OPT_WORDS - 1)) /* every word after kind */
#define CK_V1_GROUP_BYTES 20u /* lr, momentum, dampening, weight_decay, nesterov */
#define CK_MAX_META 65536u
#define CK_MAX_PARAMS (CLG_LAYER_MAX_PARAMS * CLG_MAX_LAYERS)

typedef struct ck_layer {
    uint32_t kind;
    const clg_layer_type *type; /* the table's entry for kind */
    uint64_t in, out;
} ck_layer;

/* A validated file: offsets into data. */
typedef struct ck_file {
    unsigned char *data;
    size_t len;
    uint32_t version, flags, nlayers, metalen;
    ck_layer layers[CLG_MAX_LAYERS];
    size_t meta; /* offset of the meta bytes */
    size_t nparams;
    size_t param_off[CK_MAX_PARAMS]; /* offset of each parameter's floats */
    size_t param_count[CK_MAX_PARAMS];
    /* optimizer (flags & CK_FLAG_OPTIMIZER) */
    clg_optimizer_kind kind;
    const clg_optim_impl *impl;
    uint32_t nstate, ngroups;
    size_t group_bytes; /* bytes of a group record (version 1: 20) */
    size_t groups;      /* offset of the group records */
    size_t group_of;    /* offset of the P group indices */
    uint64_t steps;
    size_t state_off[CK_MAX_PARAMS][CLG_OPTIM_MAX_STATE]; /* 0: no such buffer */
    size_t scaling;  /* (flags & CK_FLAG_SCALING) offset of the d f32 means, then d scales */
    size_t names;    /* (flags & CK_FLAG_NAMES) offset of the first name record */
    uint32_t nnames; /* the model's outputs */
} ck_file;

/* ck_format.c: reads and validates the whole file at path into f (f->data malloc'd; NULL
 * after a failure, which is reported to ctx as op). */
clg_status clg_ck_load_file(const clg_context *ctx, const char *op, const char *path, ck_file *f);
/* ck_format.c: the options of group g of a validated file. */
clg_optimizer_options clg_ck_group_options(const ck_file *f, uint32_t g);
/* ck_format.c: writes a group record (CK_GROUP_BYTES) / n floats at p. */
void clg_ck_put_group_options(unsigned char *p, const clg_optimizer_options *o);
void clg_ck_put_floats(unsigned char *p, const float *f, size_t n);
/* ck_format.c: the next name record at *off of a validated file (advancing *off):
 * malloc'd NUL-terminated copy, or NULL when out of memory. */
char *clg_ck_name(const ck_file *f, size_t *off);
/* ck_format.c: malloc'd floats decoded from count f32 at offset off. */
float *clg_ck_decode(const ck_file *f, size_t off, size_t count);

/* ck_format.c: reads and validates the checkpoint at path exactly as clg_model_load does
 * before it creates anything; needs no context (the message goes to the thread's).
 * For tests/fuzz/fuzz_checkpoint.c. */
clg_status clg_checkpoint_check(const char *path);

#endif
