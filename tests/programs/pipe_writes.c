/* pipe_writes: writes through a pipe, to a regular file and to /dev/null,
 * with stdout moved onto the pipe and the original stdout kept on fd 9.
 *
 * A reader child hashes everything it reads from the pipe (reads of
 * varying size) and prints the byte count and an FNV-1a hash. The parent
 * sends small writes, page-sized ones and two bigger than the pipe (which
 * cannot go in at once): one alone, which may wait in the syscall buffer,
 * and one while a second thread lives, which may not. It writes a file and reads it back, writes to
 * /dev/null, reports on fd 9 (the original stdout), then writes to a pipe
 * whose reader is gone (SIGPIPE ignored: EPIPE). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Waits for the end of the pipe `arg` points to, so that the writer is
 * not alone in its memory domain meanwhile. */
static void *idle_thread(void *arg) {
    char c;
    while (read(*(int *)arg, &c, 1) > 0) {
    }
    return NULL;
}

static void say(const char *text) {
    if (write(9, text, strlen(text)) < 0)
        exit(5);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 13 + 1);
    if (dup2(1, 9) != 9)
        return 2;
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    pid_t reader = fork();
    if (reader == 0) {
        close(fds[1]);
        uint64_t h = 0xcbf29ce484222325ULL;
        long total = 0, want = 1;
        unsigned char buf[9000];
        for (;;) {
            ssize_t n = read(fds[0], buf, (size_t)want);
            if (n <= 0)
                break;
            h = fnv(h, buf, (size_t)n);
            total += n;
            want = want * 3 % 8999 + 1;
        }
        char line[80];
        snprintf(line, sizeof line, "reader: %ld bytes, hash %016llx\n", total, (unsigned long long)h);
        say(line);
        _exit(0);
    }
    close(fds[0]);
    if (dup2(fds[1], 1) != 1)
        return 3;
    close(fds[1]);
    long sent = 0;
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)(i % 3 == 0 ? 4096 : 1 + (i * 37) % 700);
        if (write(1, big + i, n) != (ssize_t)n)
            return 4;
        sent += (long)n;
    }
    /* Bigger than the pipe: it goes in as the reader makes room. */
    if (write(1, big, sizeof big) != (ssize_t)sizeof big)
        return 4;
    sent += (long)sizeof big;
    int idle[2];
    pthread_t thread;
    if (pipe(idle) != 0 || pthread_create(&thread, NULL, idle_thread, &idle[0]) != 0)
        return 8;
    /* Until the reader has emptied the pipe: a try without waiting then
     * puts a part in, where a full pipe would refuse it all (EAGAIN). */
    int queued = 1;
    while (ioctl(1, FIONREAD, &queued) == 0 && queued > 0)
        usleep(1000);
    if (write(1, big, sizeof big) != (ssize_t)sizeof big)
        return 4;
    sent += (long)sizeof big;
    close(idle[1]);
    pthread_join(thread, NULL);
    close(idle[0]);
    close(1);

    char path[4096];
    snprintf(path, sizeof path, "%s/pipe_writes.out", dir);
    int f = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (f < 0)
        return 6;
    for (int i = 0; i < 50; i++)
        if (write(f, big + i * 100, 1000) != 1000)
            return 6;
    if (pwrite(f, "PATCH", 5, 10) != 5)
        return 6;
    unsigned char back[50000];
    if (pread(f, back, sizeof back, 0) != 50000)
        return 6;
    close(f);
    int null = open("/dev/null", O_WRONLY);
    long to_null = 0;
    for (int i = 0; i < 100; i++)
        to_null += write(null, big, 512);
    close(null);

    int status = 0;
    waitpid(reader, &status, 0);
    char line[160];
    snprintf(line, sizeof line, "writer: %ld bytes; file hash %016llx; /dev/null took %ld\n", sent,
             (unsigned long long)fnv(0xcbf29ce484222325ULL, back, sizeof back), to_null);
    say(line);

    signal(SIGPIPE, SIG_IGN);
    int lonely[2];
    if (pipe(lonely) != 0)
        return 7;
    close(lonely[0]);
    errno = 0;
    ssize_t r = write(lonely[1], "x", 1);
    snprintf(line, sizeof line, "write without reader: %zd %s\n", r, errno == EPIPE ? "EPIPE" : strerror(errno));
    say(line);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
}
