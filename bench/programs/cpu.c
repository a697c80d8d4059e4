/* CPU-bound benchmark: integer and floating-point work, no syscalls in the
 * timed loop. Prints a checksum so record/replay output can be compared.
 * Usage: cpu [ITERATIONS]   (default sized for ~2-3 s natively) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 1200000000ULL;
    uint64_t x = 0x9E3779B97F4A7C15ULL, acc = 0;
    double f = 1.0, g = 0.0;

    for (uint64_t i = 0; i < iters; i++) {
        /* xorshift64 */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * (i | 1);
        f = f * 1.0000001 + (double)(x & 0xff) * 1e-9;
        if (f > 1e6)
            f *= 1e-6;
        g += f;
    }
    printf("checksum %016llx %.6e\n", (unsigned long long)acc, g);
    return 0;
}
