/* print_then_compute: prints "started", computes for about argv[1]
 * hundred million loop iterations (default 10) with no syscall, prints
 * "finished" and exits 0. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 10;
    printf("started\n");
    fflush(stdout);
    volatile unsigned long x = 0;
    for (long k = 0; k < rounds * 100000000L; k++)
        x += (unsigned long)k;
    printf("finished\n");
    return 0;
}
