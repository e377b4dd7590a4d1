/* Blocking of the fused kernels: the one definition for cl/fused.cl (inlined by
 * cmake/embed_kernels.cmake) and lib/train (included). Valid C and OpenCL C. */
#ifndef CLGRAD_FUSED_SHAPE_H
#define CLGRAD_FUSED_SHAPE_H
#define FUSED_LANES 8 /* float8 lanes */
#define FUSED_ROWS 16 /* rows per work-item of the 1 < q < 8 forward */
#define FUSED_OROWS 4 /* rows per work-item of the q >= 8 forward */
#define FUSED_KB 4    /* float8 blocks along d per work-item of the backward */
#define FUSED_OL 16   /* output lanes of the q >= 8 forward; W is padded by as many floats */
#define FUSED_DROWS 4 /* rows per work-item of the q = 1 forward */
#endif
