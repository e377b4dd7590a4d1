/* Hashes: FNV-1a 64 (program-cache keys, file checksums) and CRC-32 (checkpoints). */
#include "base.h"

uint64_t clg_hash64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint32_t clg_crc32(uint32_t crc, const void *data, size_t len)
{
    /* The table is made per call (2 K shifts, nothing next to the file I/O), so
     * there is no shared state to initialise across threads. */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1u ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
