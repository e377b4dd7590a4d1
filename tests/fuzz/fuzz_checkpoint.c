/* The checkpoint reader's validation (clg_checkpoint_check: the head check, the whole-file
 * read and the parse that clg_model_load runs before it creates anything; no OpenCL). The
 * first byte: bit 0 set rewrites the trailing CRC-32 to match, so that inputs get past the
 * CRC to the end of the parse; the rest is the file. */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    uint8_t *fixed = NULL;
    if ((data[0] & 1) && len >= 4) {
        fixed = malloc(len);
        if (!fixed) abort();
        memcpy(fixed, body, len);
        uint32_t crc = clg_crc32(0, fixed, len - 4);
        for (int i = 0; i < 4; i++) fixed[len - 4 + i] = (uint8_t)(crc >> (8 * i));
        body = fixed;
    }
    clg_status s = clg_checkpoint_check(fuzz_file(body, len));
    FUZZ_CHECK(s == CLG_OK || (s == CLG_ERR_FORMAT && clg_last_error(NULL)[0]));
    free(fixed);
    return 0;
}
