/* selfpipe: a pipe to itself, with poll(). Output is fully deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "selfpipe: %s: %s\n", what, strerror(errno));
    exit(2);
}

int main(void) {
    int p[2];
    if (pipe(p) != 0)
        die("pipe");

    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    int r = poll(&pfd, 1, 0);
    printf("poll empty: %d revents=%d\n", r, pfd.revents);

    struct pollfd wfd = {.fd = p[1], .events = POLLOUT};
    r = poll(&wfd, 1, 0);
    printf("poll write end: %d pollout=%d\n", r, (wfd.revents & POLLOUT) != 0);

    static const char *msgs[] = {"first message", "second, longer message", "third"};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(msgs[i]);
        if (write(p[1], msgs[i], len) != (ssize_t)len)
            die("write");
        pfd.revents = 0;
        r = poll(&pfd, 1, 1000);
        printf("poll after write %d: %d pollin=%d\n", i, r, (pfd.revents & POLLIN) != 0);
        char buf[64];
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        if (n < 0)
            die("read");
        buf[n] = 0;
        printf("read %zd: %s\n", n, buf);
    }

    /* Two writes, one read gets both. */
    if (write(p[1], "ab", 2) != 2 || write(p[1], "cd", 2) != 2)
        die("write pair");
    char buf[16];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    printf("combined read %zd: %s\n", n, buf);

    close(p[1]);
    pfd.revents = 0;
    r = poll(&pfd, 1, 1000);
    printf("poll after close: %d pollhup=%d\n", r, (pfd.revents & POLLHUP) != 0);
    n = read(p[0], buf, sizeof buf);
    printf("read at eof: %zd\n", n);
    close(p[0]);
    return 0;
}
