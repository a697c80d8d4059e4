/* Makes nothing but calls the syscall buffer takes (clock_gettime,
 * getppid) and, every round, prints its pid: replayed rounds print the
 * recorded pid, rounds run live the pid of the replayed process. Used to
 * show that a replay asked to go live does so promptly even when the
 * program never stops at Scribe on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    long calls = argc > 2 ? atol(argv[2]) : 100000;
    struct timespec ts;
    long sum = 0;
    for (int round = 0; round < rounds; round++) {
        for (long i = 0; i < calls; i++) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            sum += getppid() + (ts.tv_nsec & 1);
        }
        printf("round %d pid %d\n", round, (int)getpid());
        fflush(stdout);
    }
    return sum == 0 ? 1 : 4;
}
