/* nondet: several sources of nondeterminism in one line each. Two runs
 * differ; a replay must reproduce the recording it replays. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long tsc = __rdtsc();
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return 2;
    int local = 0;
    void *heap = malloc(100);

    printf("time_ns: %lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    printf("rdtsc: %llu\n", tsc);
    printf("random: ");
    for (size_t i = 0; i < sizeof rnd; i++)
        printf("%02x", rnd[i]);
    printf("\n");
    printf("pid: %d\n", (int)getpid());
    printf("heap: %p\n", heap);
    printf("stack: %p\n", (void *)&local);
    printf("main: %p\n", (void *)&main);
    free(heap);
    return 0;
}
