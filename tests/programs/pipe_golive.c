/* pipe_golive: a child writes the numbers 1 to 200000 into a pipe, one a
 * line, as fast as the pipe takes them; the parent reads them 100 bytes
 * at a time and, after 1000 lines, sends SIGUSR2 to its own parent (under
 * `scribe record`, the recorder: a bookmark). It prints how many numbers
 * it read and their sum. Going live at that bookmark, the pipe must still
 * join the two processes and hold the bytes the child had written and the
 * parent not yet read. Exits 0. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    if (fork() == 0) {
        close(fds[0]);
        FILE *out = fdopen(fds[1], "w");
        for (long i = 1; i <= 200000; i++)
            fprintf(out, "%ld\n", i);
        fclose(out);
        _exit(0);
    }
    close(fds[1]);
    char buf[100];
    long count = 0, sum = 0, number = 0;
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                count++;
                sum += number;
                number = 0;
                if (count == 1000)
                    kill(getppid(), SIGUSR2);
            } else {
                number = number * 10 + (buf[i] - '0');
            }
        }
    }
    printf("read %ld numbers, sum %ld\n", count, sum);
    return 0;
}
