/* ticker_slow: prints "tick N" every 50 ms for argv[1] ticks (default 20),
 * appending each line to the file argv[2] too when given, then exits 7. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    FILE *log = argc > 2 ? fopen(argv[2], "a") : NULL;
    for (int i = 0; i < n; i++) {
        printf("tick %d\n", i);
        fflush(stdout);
        if (log) {
            fprintf(log, "tick %d\n", i);
            fflush(log);
        }
        usleep(50000);
    }
    return 7;
}
