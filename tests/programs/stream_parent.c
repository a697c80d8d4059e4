// A parent waits in wait4 while its two children stream 32 MiB through a
// pipe: bookmarks fall while the parent waits and the children run.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    if (pipe(fds)) return 1;
    if (fork() == 0) {
        close(fds[0]);
        static char block[4096];
        memset(block, 7, sizeof block);
        for (int i = 0; i < 8192; i++)
            if (write(fds[1], block, sizeof block) != sizeof block) _exit(2);
        _exit(0);
    }
    if (fork() == 0) {
        close(fds[1]);
        static char buf[4096];
        unsigned long sum = 0;
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < n; i++) sum += (unsigned char)buf[i];
        printf("sum %lu\n", sum);
        _exit(0);
    }
    close(fds[0]);
    close(fds[1]);
    int status, ok = 0;
    while (wait(&status) > 0) ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("children ok: %d\n", ok);
    return 0;
}
