/* Makes N getppid calls (buffered ones, with the syscall buffer) and then
 * prints one line: the writer of a pipeline whose reader waits meanwhile.
 * usage: getppid_loop N */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long same = 0;
    pid_t first = getppid();
    for (long i = 0; i < n; i++) {
        same += getppid() == first;
    }
    printf("%ld of %ld getppid calls gave the first result\n", same, n);
    return 0;
}
