/* Test-only OpenCL fault injection. Linked into a test executable, these definitions take
 * the place of libOpenCL's for the static clgrad library and, through the executable's
 * dynamic symbols, for CLBlast too; each forwards to the real function found with
 * dlsym(RTLD_NEXT). Unlike an LD_PRELOAD shim this works under ASan, whose runtime must
 * be the first library loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>

#include "cl_faults.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long calls[CL_FAULT_KINDS];
static cl_fault_kind armed_kind;
static long armed_n;
static int fired;
static const char *fired_at = "";

/* Exported, so that libclblast.so binds to these definitions too (the build's default
 * visibility is hidden). */
#define SHIM __attribute__((visibility("default")))

#define MAX_TRACKED 4096
typedef struct tracked {
    const void *obj;
    cl_object_class cls;
    long refs;
    long seq;     /* creation number since the process started */
    void *caller; /* return address of the creating call */
} tracked;
static tracked live[MAX_TRACKED];
static size_t nlive;
static long live_refs[CL_OBJECT_CLASSES], create_seq;

const char *cl_faults_kind_name(cl_fault_kind kind)
{
    static const char *const names[] = {"allocation", "enqueue", "build"};
    return kind < CL_FAULT_KINDS ? names[kind] : "?";
}

void cl_faults_arm(cl_fault_kind kind, long n)
{
    pthread_mutex_lock(&lock);
    memset(calls, 0, sizeof calls);
    armed_kind = kind;
    armed_n = n;
    fired = 0;
    fired_at = "";
    pthread_mutex_unlock(&lock);
}

void cl_faults_disarm(void)
{
    pthread_mutex_lock(&lock);
    armed_n = 0;
    pthread_mutex_unlock(&lock);
}

long cl_faults_calls(cl_fault_kind kind)
{
    pthread_mutex_lock(&lock);
    long c = calls[kind];
    pthread_mutex_unlock(&lock);
    return c;
}

int cl_faults_fired(void)
{
    pthread_mutex_lock(&lock);
    int f = fired;
    pthread_mutex_unlock(&lock);
    return f;
}

const char *cl_faults_fired_at(void)
{
    pthread_mutex_lock(&lock);
    const char *w = fired_at;
    pthread_mutex_unlock(&lock);
    return w;
}

const char *cl_faults_class_name(cl_object_class cls)
{
    static const char *const names[] = {"cl_mem",   "cl_program",       "cl_kernel",
                                        "cl_event", "cl_command_queue", "cl_context"};
    return cls < CL_OBJECT_CLASSES ? names[cls] : "?";
}

long cl_faults_live(cl_object_class cls)
{
    pthread_mutex_lock(&lock);
    long n = live_refs[cls];
    pthread_mutex_unlock(&lock);
    return n;
}

long cl_faults_live_mem(void) { return cl_faults_live(CL_OBJ_MEM); }

long cl_faults_live_all(void)
{
    long n = 0;
    for (int c = 0; c < CL_OBJECT_CLASSES; c++) n += cl_faults_live((cl_object_class)c);
    return n;
}

void cl_faults_print_live(FILE *f)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nlive; i++)
        fprintf(f, "live %s %p: %ld reference(s), object #%ld, created from %p\n",
                cl_faults_class_name(live[i].cls), live[i].obj, live[i].refs, live[i].seq,
                live[i].caller);
    pthread_mutex_unlock(&lock);
}

/* Counts a call of `kind`; 1 when it is the armed one, which then fails. */
static int inject(cl_fault_kind kind, const char *fn)
{
    pthread_mutex_lock(&lock);
    int hit = ++calls[kind] == armed_n && armed_kind == kind && armed_n > 0;
    if (hit) {
        fired = 1;
        fired_at = fn;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

/* References of obj change by delta (a create or retain: +1, a release: -1). Objects
 * made before the table filled up are all that is tracked; 4096 is far above a test's. */
static void track(const void *obj, cl_object_class cls, long delta, void *caller)
{
    if (!obj) return;
    pthread_mutex_lock(&lock);
    size_t i = 0;
    while (i < nlive && live[i].obj != obj) i++;
    if (i == nlive && delta > 0 && nlive < MAX_TRACKED)
        live[nlive++] = (tracked){obj, cls, 0, ++create_seq, caller};
    if (i < nlive) {
        live[i].refs += delta;
        live_refs[cls] += delta;
        if (live[i].refs <= 0) live[i] = live[--nlive];
    }
    pthread_mutex_unlock(&lock);
}

#define CALLER __builtin_return_address(0)

/* The real function `fn` of the next object (libOpenCL). */
static void *next_fn(const char *fn)
{
    void *p = dlsym(RTLD_NEXT, fn);
    if (!p) {
        fprintf(stderr, "cl_faults: no %s after the test executable\n", fn);
        abort();
    }
    return p;
}

/* real_<fn>: pointer of fn's type, resolved once (the first calls come from one thread). */
#define REAL(fn)                                                                                   \
    static __typeof__(&fn) real_##fn;                                                              \
    if (!real_##fn) {                                                                              \
        void *p_ = next_fn(#fn);                                                                   \
        memcpy(&real_##fn, &p_, sizeof p_);                                                        \
    }

/* ------------------------------------------------------------- allocations */

SHIM cl_mem clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host_ptr,
                           cl_int *errcode_ret)
{
    REAL(clCreateBuffer);
    if (inject(CL_FAULT_ALLOC, "clCreateBuffer")) {
        if (errcode_ret) *errcode_ret = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    cl_int err = CL_SUCCESS;
    cl_mem m = real_clCreateBuffer(context, flags, size, host_ptr, &err);
    if (errcode_ret) *errcode_ret = err;
    if (m) track(m, CL_OBJ_MEM, 1, CALLER);
    return m;
}

SHIM cl_mem clCreateSubBuffer(cl_mem buffer, cl_mem_flags flags, cl_buffer_create_type type,
                              const void *info, cl_int *errcode_ret)
{
    REAL(clCreateSubBuffer);
    if (inject(CL_FAULT_ALLOC, "clCreateSubBuffer")) {
        if (errcode_ret) *errcode_ret = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    cl_int err = CL_SUCCESS;
    cl_mem m = real_clCreateSubBuffer(buffer, flags, type, info, &err);
    if (errcode_ret) *errcode_ret = err;
    if (m) track(m, CL_OBJ_MEM, 1, CALLER);
    return m;
}

SHIM cl_int clRetainMemObject(cl_mem m)
{
    REAL(clRetainMemObject);
    cl_int err = real_clRetainMemObject(m);
    if (err == CL_SUCCESS) track(m, CL_OBJ_MEM, 1, CALLER);
    return err;
}

SHIM cl_int clReleaseMemObject(cl_mem m)
{
    REAL(clReleaseMemObject);
    cl_int err = real_clReleaseMemObject(m);
    if (err == CL_SUCCESS) track(m, CL_OBJ_MEM, -1, NULL);
    return err;
}

/* ---------------------------------------------------------------- enqueues */

#define FAIL_ENQUEUE(fn)                                                                           \
    if (inject(CL_FAULT_ENQUEUE, #fn)) return CL_OUT_OF_RESOURCES

SHIM cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, size_t off,
                                size_t size, void *ptr, cl_uint nw, const cl_event *wl,
                                cl_event *ev)
{
    REAL(clEnqueueReadBuffer);
    FAIL_ENQUEUE(clEnqueueReadBuffer);
    cl_int rc_ = real_clEnqueueReadBuffer(q, b, blocking, off, size, ptr, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, size_t off,
                                 size_t size, const void *ptr, cl_uint nw, const cl_event *wl,
                                 cl_event *ev)
{
    REAL(clEnqueueWriteBuffer);
    FAIL_ENQUEUE(clEnqueueWriteBuffer);
    cl_int rc_ = real_clEnqueueWriteBuffer(q, b, blocking, off, size, ptr, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t so, size_t doff,
                                size_t size, cl_uint nw, const cl_event *wl, cl_event *ev)
{
    REAL(clEnqueueCopyBuffer);
    FAIL_ENQUEUE(clEnqueueCopyBuffer);
    cl_int rc_ = real_clEnqueueCopyBuffer(q, src, dst, so, doff, size, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so,
                                    const size_t *dso, const size_t *region, size_t srp, size_t ssp,
                                    size_t drp, size_t dsp, cl_uint nw, const cl_event *wl,
                                    cl_event *ev)
{
    REAL(clEnqueueCopyBufferRect);
    FAIL_ENQUEUE(clEnqueueCopyBufferRect);
    cl_int rc_ =
        real_clEnqueueCopyBufferRect(q, src, dst, so, dso, region, srp, ssp, drp, dsp, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem b, const void *pattern, size_t psize,
                                size_t off, size_t size, cl_uint nw, const cl_event *wl,
                                cl_event *ev)
{
    REAL(clEnqueueFillBuffer);
    FAIL_ENQUEUE(clEnqueueFillBuffer);
    cl_int rc_ = real_clEnqueueFillBuffer(q, b, pattern, psize, off, size, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims,
                                   const size_t *goff, const size_t *global, const size_t *local,
                                   cl_uint nw, const cl_event *wl, cl_event *ev)
{
    REAL(clEnqueueNDRangeKernel);
    FAIL_ENQUEUE(clEnqueueNDRangeKernel);
    cl_int rc_ = real_clEnqueueNDRangeKernel(q, k, dims, goff, global, local, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint nw, const cl_event *wl,
                                         cl_event *ev)
{
    REAL(clEnqueueBarrierWithWaitList);
    FAIL_ENQUEUE(clEnqueueBarrierWithWaitList);
    cl_int rc_ = real_clEnqueueBarrierWithWaitList(q, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

SHIM cl_int clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint nw, const cl_event *wl,
                                        cl_event *ev)
{
    REAL(clEnqueueMarkerWithWaitList);
    FAIL_ENQUEUE(clEnqueueMarkerWithWaitList);
    cl_int rc_ = real_clEnqueueMarkerWithWaitList(q, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

void *clEnqueueMapBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, cl_map_flags flags,
                         size_t off, size_t size, cl_uint nw, const cl_event *wl, cl_event *ev,
                         cl_int *errcode_ret)
{
    REAL(clEnqueueMapBuffer);
    if (inject(CL_FAULT_ENQUEUE, "clEnqueueMapBuffer")) {
        if (errcode_ret) *errcode_ret = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    cl_int err = CL_SUCCESS;
    void *p = real_clEnqueueMapBuffer(q, b, blocking, flags, off, size, nw, wl, ev, &err);
    if (errcode_ret) *errcode_ret = err;
    if (err == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return p;
}

SHIM cl_int clEnqueueUnmapMemObject(cl_command_queue q, cl_mem b, void *ptr, cl_uint nw,
                                    const cl_event *wl, cl_event *ev)
{
    REAL(clEnqueueUnmapMemObject);
    FAIL_ENQUEUE(clEnqueueUnmapMemObject);
    cl_int rc_ = real_clEnqueueUnmapMemObject(q, b, ptr, nw, wl, ev);
    if (rc_ == CL_SUCCESS && ev) track(*ev, CL_OBJ_EVENT, 1, CALLER);
    return rc_;
}

/* ------------------------------------------------------------------ builds */

SHIM cl_program clCreateProgramWithSource(cl_context context, cl_uint count, const char **strings,
                                          const size_t *lengths, cl_int *errcode_ret)
{
    REAL(clCreateProgramWithSource);
    if (inject(CL_FAULT_BUILD, "clCreateProgramWithSource")) {
        if (errcode_ret) *errcode_ret = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    cl_program p = real_clCreateProgramWithSource(context, count, strings, lengths, errcode_ret);
    track(p, CL_OBJ_PROGRAM, 1, CALLER);
    return p;
}

SHIM cl_program clCreateProgramWithBinary(cl_context context, cl_uint ndev,
                                          const cl_device_id *devs, const size_t *lengths,
                                          const unsigned char **binaries, cl_int *binary_status,
                                          cl_int *errcode_ret)
{
    REAL(clCreateProgramWithBinary);
    if (inject(CL_FAULT_BUILD, "clCreateProgramWithBinary")) {
        if (errcode_ret) *errcode_ret = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    cl_program p = real_clCreateProgramWithBinary(context, ndev, devs, lengths, binaries,
                                                  binary_status, errcode_ret);
    track(p, CL_OBJ_PROGRAM, 1, CALLER);
    return p;
}

SHIM cl_int clBuildProgram(cl_program program, cl_uint ndev, const cl_device_id *devs,
                           const char *options, void(CL_CALLBACK *notify)(cl_program, void *),
                           void *user)
{
    REAL(clBuildProgram);
    if (inject(CL_FAULT_BUILD, "clBuildProgram")) return CL_BUILD_PROGRAM_FAILURE;
    return real_clBuildProgram(program, ndev, devs, options, notify, user);
}

/* ------------------------------------------- references of the other objects */

#define RETAIN_RELEASE(type, cls, retain, release)                                                 \
    SHIM cl_int retain(type obj)                                                                   \
    {                                                                                              \
        REAL(retain);                                                                              \
        cl_int err = real_##retain(obj);                                                           \
        if (err == CL_SUCCESS) track(obj, cls, 1, CALLER);                                         \
        return err;                                                                                \
    }                                                                                              \
    SHIM cl_int release(type obj)                                                                  \
    {                                                                                              \
        REAL(release);                                                                             \
        cl_int err = real_##release(obj);                                                          \
        if (err == CL_SUCCESS) track(obj, cls, -1, NULL);                                          \
        return err;                                                                                \
    }

RETAIN_RELEASE(cl_program, CL_OBJ_PROGRAM, clRetainProgram, clReleaseProgram)
RETAIN_RELEASE(cl_kernel, CL_OBJ_KERNEL, clRetainKernel, clReleaseKernel)
RETAIN_RELEASE(cl_event, CL_OBJ_EVENT, clRetainEvent, clReleaseEvent)
RETAIN_RELEASE(cl_command_queue, CL_OBJ_QUEUE, clRetainCommandQueue, clReleaseCommandQueue)
RETAIN_RELEASE(cl_context, CL_OBJ_CONTEXT, clRetainContext, clReleaseContext)

SHIM cl_kernel clCreateKernel(cl_program program, const char *name, cl_int *errcode_ret)
{
    REAL(clCreateKernel);
    cl_kernel k = real_clCreateKernel(program, name, errcode_ret);
    track(k, CL_OBJ_KERNEL, 1, CALLER);
    return k;
}

SHIM cl_int clCreateKernelsInProgram(cl_program program, cl_uint n, cl_kernel *kernels,
                                     cl_uint *n_ret)
{
    REAL(clCreateKernelsInProgram);
    cl_int err = real_clCreateKernelsInProgram(program, n, kernels, n_ret);
    for (cl_uint i = 0; err == CL_SUCCESS && kernels && i < n; i++)
        track(kernels[i], CL_OBJ_KERNEL, 1, CALLER);
    return err;
}

SHIM cl_event clCreateUserEvent(cl_context context, cl_int *errcode_ret)
{
    REAL(clCreateUserEvent);
    cl_event e = real_clCreateUserEvent(context, errcode_ret);
    track(e, CL_OBJ_EVENT, 1, CALLER);
    return e;
}

SHIM cl_command_queue clCreateCommandQueue(cl_context context, cl_device_id device,
                                           cl_command_queue_properties props, cl_int *errcode_ret)
{
    REAL(clCreateCommandQueue);
    cl_command_queue q = real_clCreateCommandQueue(context, device, props, errcode_ret);
    track(q, CL_OBJ_QUEUE, 1, CALLER);
    return q;
}

SHIM cl_context clCreateContext(const cl_context_properties *props, cl_uint ndev,
                                const cl_device_id *devs,
                                void(CL_CALLBACK *notify)(const char *, const void *, size_t,
                                                          void *),
                                void *user, cl_int *errcode_ret)
{
    REAL(clCreateContext);
    cl_context c = real_clCreateContext(props, ndev, devs, notify, user, errcode_ret);
    track(c, CL_OBJ_CONTEXT, 1, CALLER);
    return c;
}
