/* heap_rounds: fills an 8 MiB heap array with different values in each of
 * argv[1] rounds (default 10), printing "round N sum S" and sleeping 40 ms
 * after each, then exits 3. Bookmarks taken between rounds see different
 * memory and registers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WORDS (8u << 20) / sizeof(uint64_t)

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    uint64_t *heap = malloc(WORDS * sizeof(uint64_t));
    if (!heap)
        return 2;
    for (int r = 0; r < rounds; r++) {
        uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(r + 1), sum = 0;
        for (size_t i = 0; i < WORDS; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            heap[i] = x;
            sum += x;
        }
        printf("round %d sum %llu\n", r, (unsigned long long)sum);
        fflush(stdout);
        usleep(40000 + r);
    }
    free(heap);
    return 3;
}
