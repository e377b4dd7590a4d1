/* The CLI's number and model-spec parsing (tools/cli_num.c, tools/model_spec.c). The
 * first byte chooses the parser, the rest (up to a NUL) is the option value; every
 * accepted value must lie within the range asked for. */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <string.h>

#include "cli_num.h"
#include "fuzz_file.h"
#include "model_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char text[512], why[256];
    size_t n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    why[0] = '\0';
    switch (data[0] % 8) {
    case 0: { /* --lr, --noise: finite and >= 0, a float */
        double x;
        if (cli_real(text, 0, FLT_MAX, &x, why, sizeof why) == 0)
            FUZZ_CHECK(isfinite(x) && x >= 0 && x <= FLT_MAX && isfinite((float)x));
        else
            FUZZ_CHECK(why[0]);
        break;
    }
    case 1: { /* --epochs */
        long long k;
        if (cli_int(text, 1, CLI_MAX_EPOCHS, &k, why, sizeof why) == 0)
            FUZZ_CHECK(k >= 1 && k <= CLI_MAX_EPOCHS);
        else
            FUZZ_CHECK(why[0]);
        break;
    }
    case 2: { /* --label-column: the whole int range, and long long's edges */
        long long k;
        if (cli_int(text, -2147483647LL - 1, 2147483647LL, &k, why, sizeof why) == 0)
            FUZZ_CHECK(k >= -2147483647LL - 1 && k <= 2147483647LL);
        if (cli_int(text, -9223372036854775807LL - 1, 9223372036854775807LL, &k, why, sizeof why))
            FUZZ_CHECK(why[0]);
        break;
    }
    case 3: { /* --seed */
        uint64_t u;
        if (cli_u64(text, UINT64_MAX, &u, why, sizeof why)) FUZZ_CHECK(why[0]);
        if (cli_u64(text, 1000, &u, why, sizeof why) == 0) FUZZ_CHECK(u <= 1000);
        break;
    }
    case 4: { /* --synthetic N[xD] */
        size_t r = 0, c = 0;
        if (cli_synthetic(text, &r, &c, why, sizeof why) == 0)
            FUZZ_CHECK(r >= 1 && r <= CLI_MAX_ROWS && c >= 1 && c <= CLI_MAX_FEATURES);
        else
            FUZZ_CHECK(why[0]);
        break;
    }
    case 5: { /* --model */
        model_spec spec;
        if (model_spec_read(text, &spec) == 0) {
            FUZZ_CHECK(spec.nhidden <= 8 && strcmp(spec.text, text) == 0);
            for (size_t i = 0; i < spec.nhidden; i++)
                FUZZ_CHECK(spec.hidden[i] >= 1 && spec.hidden[i] <= 65536);
        }
        break;
    }
    case 6: { /* a CSV label used as a class id: the bytes of a float */
        float v;
        uint8_t b[4] = {0};
        memcpy(b, data + 1, size - 1 < 4 ? size - 1 : 4);
        memcpy(&v, b, sizeof v);
        int32_t id;
        if (cli_class_id(v, &id, why, sizeof why) == 0)
            FUZZ_CHECK(id >= 0 && id <= CLI_MAX_CLASS_ID && (float)id == v);
        else
            FUZZ_CHECK(why[0]);
        break;
    }
    default: { /* the loss named in a checkpoint's meta text */
        clg_loss_kind k;
        if (meta_loss(text, &k) == 0) FUZZ_CHECK(strcmp(loss_name(k), "?") != 0);
        break;
    }
    }
    return 0;
}
