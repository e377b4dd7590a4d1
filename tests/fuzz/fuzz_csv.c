/* clg_csv_read. The first byte chooses the options (header auto/no/yes, label column,
 * delimiter); the rest is the file. */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>

#include "clgrad.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    clg_csv_options o = clg_csv_defaults();
    o.header = (int)(data[0] % 3) - 1;
    static const long columns[] = {-1, 0, 1, -2};
    o.label_column = columns[(data[0] >> 2) & 3];
    static const char delims[] = {',', ';', '\t', '|'};
    o.delimiter = delims[(data[0] >> 4) & 3];
    float *X = NULL, *y = NULL;
    size_t n = 0, d = 0;
    clg_status s = clg_csv_read(fuzz_file(data + 1, size - 1), &o, &X, &y, &n, &d);
    if (s == CLG_OK) {
        FUZZ_CHECK(n >= 1 && d >= 1 && X && y);
        for (size_t i = 0; i < n * d; i++) FUZZ_CHECK(isfinite(X[i]));
        for (size_t i = 0; i < n; i++) FUZZ_CHECK(isfinite(y[i]));
    } else {
        FUZZ_CHECK(!X && !y && n == 0 && d == 0 && clg_last_error(NULL)[0]);
    }
    free(X);
    free(y);
    return 0;
}
