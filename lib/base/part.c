/* Near-equal parts of a count: rows of a shard, a rank's share of a batch, bytes of a CSV
 * part. One rule everywhere, so that what one rank computes of another's part agrees. */
#include "base.h"

/* total = q·parts + m, and m·r / parts is built bit by bit of r as a quotient and a
 * remainder below parts. */
uint64_t clg_part_start(uint64_t total, uint64_t r, uint64_t parts)
{
    if (!r || total <= UINT64_MAX / r) return total * r / parts; /* the usual case */
    const uint64_t q = total / parts, m = total % parts;
    uint64_t quot = 0, rem = 0; /* m · (the bits of r so far) = quot · parts + rem */
    for (int b = 63; b >= 0; b--) {
        if (rem >= parts - rem) /* doubled */
            quot = 2 * quot + 1, rem -= parts - rem;
        else
            quot *= 2, rem *= 2;
        if (!((r >> b) & 1)) continue;
        if (rem >= parts - m) /* plus m */
            quot++, rem -= parts - m;
        else
            rem += m;
    }
    return q * r + quot;
}
