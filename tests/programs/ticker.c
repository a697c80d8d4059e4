/* ticker: prints "tick N" every 20 ms (flushing each line) for 10 s, then
 * "done". argv[1], if given, is an arbitrary tag that only makes the
 * process easy to find in /proc; it is echoed on the first line. */
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
    printf("ticker %s\n", argc > 1 ? argv[1] : "-");
    fflush(stdout);
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 500; i++) {
        printf("tick %d\n", i);
        fflush(stdout);
        nanosleep(&pause, NULL);
    }
    printf("done\n");
    return 0;
}
