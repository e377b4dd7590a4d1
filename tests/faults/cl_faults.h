/* Injected OpenCL failures for tests (cl_faults.c): the N-th call of a kind, counted
 * from cl_faults_arm, fails once with an OpenCL error. References to OpenCL objects
 * (buffers, programs, kernels, events, queues, contexts) are counted at every create,
 * retain and release, whoever makes them (clgrad or CLBlast): objects the driver
 * allocates are invisible to LeakSanitizer's suppressed driver frames, not to this. */
#ifndef CLGRAD_CL_FAULTS_H
#define CLGRAD_CL_FAULTS_H
#include <stdio.h>

typedef enum cl_fault_kind {
    CL_FAULT_ALLOC,   /* clCreateBuffer, clCreateSubBuffer */
    CL_FAULT_ENQUEUE, /* every clEnqueue* */
    CL_FAULT_BUILD,   /* clCreateProgramWithSource/Binary, clBuildProgram */
    CL_FAULT_KINDS
} cl_fault_kind;

const char *cl_faults_kind_name(cl_fault_kind kind);
/* Resets the call counts; the n-th call of `kind` from now fails (n = 0: none, counts only). */
void cl_faults_arm(cl_fault_kind kind, long n);
/* No fault from now on; the counts go on. */
void cl_faults_disarm(void);
/* Calls of `kind` since the last arm; whether the armed fault was injected. */
long cl_faults_calls(cl_fault_kind kind);
int cl_faults_fired(void);
/* The OpenCL function that failed ("" before any). */
const char *cl_faults_fired_at(void);
typedef enum cl_object_class {
    CL_OBJ_MEM,
    CL_OBJ_PROGRAM,
    CL_OBJ_KERNEL,
    CL_OBJ_EVENT,
    CL_OBJ_QUEUE,
    CL_OBJ_CONTEXT,
    CL_OBJECT_CLASSES
} cl_object_class;
const char *cl_faults_class_name(cl_object_class cls);
/* References held now (creates + retains − releases): of one class, of cl_mem, of all. */
long cl_faults_live(cl_object_class cls);
long cl_faults_live_mem(void);
long cl_faults_live_all(void);
/* Writes one line per live object: class, handle, references, creation number, caller. */
void cl_faults_print_live(FILE *f);
#endif
