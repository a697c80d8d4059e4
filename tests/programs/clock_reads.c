/* clock_reads: asks its parent for a bookmark (SIGUSR2; or, with "detach",
 * for a detach with SIGUSR1: under `scribe record`, the recorder), then
 * reads the clock COUNT times (clock_gettime, which the vDSO answers with
 * rdtsc) and the time-stamp counter COUNT times itself, and prints
 * "read the clock". Once live or detached, each of those reads trapped to
 * Scribe.
 * Usage: clock_reads bookmark|detach [COUNT]   (default 200000) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

int main(int argc, char **argv)
{
    int detach = argc > 1 && strcmp(argv[1], "detach") == 0;
    int count = argc > 2 ? atoi(argv[2]) : 200000;
    kill(getppid(), detach ? SIGUSR1 : SIGUSR2);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    unsigned long sum = 0;
    for (int i = 0; i < count; i++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        sum += (unsigned long)now.tv_nsec & 1;
        sum += __rdtsc() & 1;
    }
    printf("read the clock%s\n", sum > 2UL * count ? " (impossibly)" : "");
    return 0;
}
