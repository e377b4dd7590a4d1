/* clg_part_start / clg_part_size, the one rule that splits rows into shards, a batch into
 * the ranks' shares and a CSV file into byte ranges: exact against 128-bit arithmetic, at
 * the extremes of 64 bits too, and the parts of a count tile it. */
#include "helpers.h"
#include "internal.h"

__extension__ typedef unsigned __int128 u128; /* GCC and Clang on 64-bit hosts */

static uint64_t ref_start(uint64_t total, uint64_t r, uint64_t parts)
{
    return (uint64_t)((u128)total * r / parts);
}

static uint64_t next_u64(uint64_t *u) /* splitmix64 */
{
    uint64_t z = (*u += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

Test(part, start_is_exact_to_64_bits)
{
    const uint64_t M = UINT64_MAX;
    const uint64_t fixed[][3] = {{M, 1, 2},         {M, M - 1, M},      {M, 3, 7},
                                 {M - 1, M - 2, M}, {1ULL << 63, 5, 9}, {M, 1ULL << 62, 1ULL << 63},
                                 {12345, 0, 1},     {0, 3, 4},          {7, 5, 5}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const uint64_t t = fixed[i][0], r = fixed[i][1], p = fixed[i][2];
        cr_expect_eq(clg_part_start(t, r, p), ref_start(t, r, p), "start(%llu, %llu, %llu)",
                     (unsigned long long)t, (unsigned long long)r, (unsigned long long)p);
    }
    uint64_t u = 42;
    size_t wrong = 0;
    for (int i = 0; i < 200000; i++) {
        const int shift = (int)(next_u64(&u) % 64);
        const uint64_t t = next_u64(&u) >> (next_u64(&u) % 64);
        const uint64_t p = (next_u64(&u) >> shift) | 1;
        const uint64_t r = p == UINT64_MAX ? next_u64(&u) : next_u64(&u) % (p + 1);
        wrong += clg_part_start(t, r, p) != ref_start(t, r, p);
    }
    cr_expect_eq(wrong, 0, "%zu of 200000 random starts differ from 128-bit arithmetic", wrong);
}

Test(part, parts_tile_the_count_and_differ_by_one_at_most)
{
    const uint64_t totals[] = {0, 1, 5, 10, 999, 1000, 1001, UINT64_MAX};
    const uint64_t parts[] = {1, 2, 3, 7, 16, 200};
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        for (size_t j = 0; j < sizeof parts / sizeof parts[0]; j++) {
            const uint64_t t = totals[i], P = parts[j], q = t / P;
            uint64_t sum = 0, at = 0;
            for (uint64_t r = 0; r < P; r++) {
                const uint64_t size = clg_part_size(t, r, P);
                cr_expect_eq(clg_part_start(t, r, P), at, "total %llu, part %llu of %llu",
                             (unsigned long long)t, (unsigned long long)r, (unsigned long long)P);
                cr_expect(size == q || size == q + 1, "total %llu, part %llu of %llu: size %llu",
                          (unsigned long long)t, (unsigned long long)r, (unsigned long long)P,
                          (unsigned long long)size);
                sum += size;
                at += size;
            }
            cr_expect_eq(sum, t, "total %llu in %llu parts", (unsigned long long)t,
                         (unsigned long long)P);
        }
    /* a batch of 10 over 3 ranks: 3, 3, 4 (and 1000 rows: 333, 333, 334) */
    cr_expect(clg_part_size(10, 0, 3) == 3 && clg_part_size(10, 1, 3) == 3 &&
              clg_part_size(10, 2, 3) == 4);
    cr_expect(clg_part_start(1000, 2, 3) == 666 && clg_part_size(1000, 2, 3) == 334);
}
