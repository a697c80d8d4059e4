/* Memory from brk and anonymous mmap: malloc's small chunks (the heap
 * grows by brk), large ones (mmap), thread stacks, and mappings made
 * directly, one at a fixed address. Scribe's library buffers these calls
 * and replay makes them again at the recorded addresses: the addresses
 * and a sum over the contents are printed, and must replay the same. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t fill(unsigned char *p, size_t len, unsigned seed) {
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i += 512) {
        p[i] = (unsigned char)(seed + i / 512);
        sum += p[i];
    }
    return sum;
}

static void *worker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    uint64_t sum = 0;
    for (int i = 0; i < 50; i++) {
        size_t len = 1000 + 300 * (size_t)i;
        unsigned char *p = malloc(len);
        sum += fill(p, len, (unsigned)(id + i));
        free(p);
    }
    return (void *)(uintptr_t)sum;
}

int main(void) {
    uint64_t sum = 0;
    void *small[200];
    for (int i = 0; i < 200; i++) {
        small[i] = malloc(64 + 37 * (size_t)i);
        sum += fill(small[i], 64 + 37 * (size_t)i, (unsigned)i);
    }
    printf("break grew: %s\n", sbrk(0) > (void *)small[0] ? "yes" : "no");
    printf("first small chunk: %p\n", small[0]);
    unsigned char *big = malloc(4 << 20);
    sum += fill(big, 4 << 20, 7);
    printf("big chunk: %p\n", (void *)big);
    unsigned char *mapped = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sum += fill(mapped, 1 << 20, 11);
    /* Well below the mappings made so far, which grow downwards. */
    unsigned char *wanted = mapped - (256 << 20);
    unsigned char *fixed = mmap(wanted, 65536, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    sum += fixed == MAP_FAILED ? 0 : fill(fixed, 65536, 13);
    printf("mapped: %p fixed 256 MiB below: %s\n", (void *)mapped, fixed == wanted ? "yes" : "no");
    void *refused = mmap(mapped, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("fixed over a mapping: %s\n", refused == MAP_FAILED ? "refused" : "mapped");
    pthread_t threads[3];
    for (uintptr_t t = 0; t < 3; t++)
        pthread_create(&threads[t], NULL, worker, (void *)t);
    for (int t = 0; t < 3; t++) {
        void *part;
        pthread_join(threads[t], &part);
        sum += (uintptr_t)part;
    }
    for (int i = 0; i < 200; i += 2)
        free(small[i]);
    free(big);
    munmap(mapped, 1 << 20);
    printf("sum: %llu\n", (unsigned long long)sum);
    return 0;
}
