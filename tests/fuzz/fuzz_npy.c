/* clg_npy_read on the input as a .npy file. */
#define _GNU_SOURCE
#include <math.h>

#include "clgrad.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clg_npy a;
    clg_status s = clg_npy_read(fuzz_file(data, size), &a);
    if (s == CLG_OK) {
        size_t count = 1;
        for (size_t i = 0; i < a.ndim; i++) count *= a.shape[i];
        FUZZ_CHECK(a.count == count && a.data && count <= size);
        for (size_t i = 0; i < a.count; i++) FUZZ_CHECK(isfinite(a.data[i]));
    } else {
        FUZZ_CHECK(!a.data && a.count == 0 && clg_last_error(NULL)[0]);
    }
    clg_npy_free(&a);
    return 0;
}
