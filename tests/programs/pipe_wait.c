/* The parent reads a pipe that its child writes to only after 300 ms: its
 * read waits in the kernel meanwhile (the syscall buffer's non-blocking try
 * answers EAGAIN first). Prints what it read. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    if (fork() == 0) {
        close(p[0]);
        struct timespec t = {0, 300 * 1000 * 1000};
        nanosleep(&t, NULL);
        write(p[1], "hello\n", 6);
        _exit(0);
    }
    close(p[1]);
    char buf[16];
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("read %zd: %.*s", n, (int)(n > 0 ? n : 0), buf);
    return 0;
}
