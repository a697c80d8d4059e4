/* pipeline: the parent creates a pipe and forks a writer child that sends
 * SIZE bytes (argv[1], default 102400) through it in chunks of varying
 * size; byte I is (I * 7 + 3) & 0xff. The parent reads until EOF and
 * prints the length and an FNV-1a checksum, then the child's status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long size = argc > 1 ? atol(argv[1]) : 102400;
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        close(fds[0]);
        unsigned char buf[8192];
        long sent = 0, chunk = 1;
        while (sent < size) {
            long n = chunk;
            if (n > (long)sizeof buf)
                n = sizeof buf;
            if (n > size - sent)
                n = size - sent;
            for (long i = 0; i < n; i++)
                buf[i] = (unsigned char)((sent + i) * 7 + 3);
            ssize_t w = write(fds[1], buf, (size_t)n);
            if (w <= 0)
                _exit(5);
            sent += w;
            chunk = chunk * 3 + 17;
            if (chunk > 8192)
                chunk = chunk % 8192 + 1;
        }
        _exit(0);
    }
    close(fds[1]);
    unsigned char buf[4096];
    long total = 0, reads = 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0)
            return 4;
        if (n == 0)
            break;
        reads++;
        for (ssize_t i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
        total += n;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 6;
    printf("length: %ld\n", total);
    printf("checksum: %016llx\n", (unsigned long long)h);
    printf("child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fprintf(stderr, "reads: %ld\n", reads);
    return 0;
}
