/* Makes N cheap syscalls (getppid and clock_gettime alternately) and prints
 * a checksum of their results: the recording's memory benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    unsigned long sum = 0;
    struct timespec ts;
    for (long i = 0; i < n; i++) {
        if (i & 1) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            sum += (unsigned long)ts.tv_nsec & 1;
        } else {
            sum += (unsigned long)getppid();
        }
    }
    printf("%ld syscalls, checksum %lu\n", n, sum);
    return 0;
}
