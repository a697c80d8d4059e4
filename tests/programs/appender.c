/* appender: opens argv[1] (create, truncate) and appends argv[2] numbered
 * lines to it, 30 ms apart, each with the current second; prints
 * "wrote N" per line and exits 5. With argv[3] = M, it computes for M
 * million loop iterations between lines instead of sleeping, so that a
 * replay (where sleeps take no time) is slow too. Each line is synced to
 * disk (a call that stops at Scribe, unlike the buffered writes), so a
 * replay may go live between lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 3;
    int n = atoi(argv[2]);
    long spin = argc > 3 ? atol(argv[3]) * 1000000L : 0;
    for (int i = 0; i < n; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "line %d t=%ld\n", i, (long)time(NULL));
        if (write(fd, line, len) != len || fsync(fd) != 0)
            return 4;
        printf("wrote %d\n", i);
        fflush(stdout);
        if (spin > 0) {
            for (volatile long k = 0; k < spin; k++)
                ;
        } else {
            usleep(30000);
        }
    }
    close(fd);
    return 5;
}
