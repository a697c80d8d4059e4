/*
 * Socket traffic for the syscall buffer: a thread writes messages into a
 * stream socketpair that the main thread reads (read/write), then sends and
 * receives with send/recv (MSG_PEEK among them); a recv with MSG_WAITALL; a
 * recv on a non-blocking socket with nothing to read; a UDP datagram over
 * loopback sent to an address and received with recv; and a child process
 * that answers over another socketpair. Prints what it got.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MESSAGES 2000
#define SIZE 100

static int pair[2];

static unsigned long fnv(unsigned long h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

static void *writer(void *arg) {
    (void)arg;
    unsigned char msg[SIZE];
    for (int i = 0; i < MESSAGES; i++) {
        memset(msg, 'a' + i % 26, sizeof msg);
        msg[0] = (unsigned char)i;
        if (i % 2 == 0) {
            if (write(pair[1], msg, sizeof msg) != sizeof msg) { perror("write"); exit(1); }
        } else {
            if (send(pair[1], msg, sizeof msg, MSG_NOSIGNAL) != sizeof msg) { perror("send"); exit(1); }
        }
    }
    shutdown(pair[1], SHUT_WR);
    return NULL;
}

int main(void) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) { perror("socketpair"); return 1; }
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    unsigned char buf[4096];
    unsigned long h = 14695981039346656037UL;
    long total = 0, peeked = 0;
    int round = 0;
    for (;;) {
        ssize_t n;
        if (round++ % 3 == 0) {
            n = recv(pair[0], buf, 1, MSG_PEEK);
            if (n > 0) peeked += n;
            n = recv(pair[0], buf, sizeof buf, 0);
        } else {
            n = read(pair[0], buf, sizeof buf);
        }
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) break;
        h = fnv(h, buf, (size_t)n);
        total += n;
    }
    pthread_join(t, NULL);
    printf("stream: %ld bytes, hash %lx, peeked %s\n", total, h, peeked > 0 ? "yes" : "no");

    /* MSG_WAITALL waits for the whole 300 bytes, sent in three parts. */
    int waitall[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, waitall);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++) {
            memset(buf, '0' + i, SIZE);
            write(waitall[1], buf, SIZE);
            usleep(2000);
        }
        /* And answers what the parent sends. */
        ssize_t n = read(waitall[1], buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) buf[i] = (unsigned char)toupper(buf[i]);
        write(waitall[1], buf, n > 0 ? (size_t)n : 0);
        _exit(0);
    }
    ssize_t got = recv(waitall[0], buf, 3 * SIZE, MSG_WAITALL);
    printf("waitall: %zd bytes, last %c\n", got, got > 0 ? buf[got - 1] : '?');
    write(waitall[0], "hello, child", 12);
    got = read(waitall[0], buf, sizeof buf);
    printf("child answered: %.*s\n", (int)(got > 0 ? got : 0), buf);
    int status;
    waitpid(child, &status, 0);

    /* A non-blocking socket with nothing to read. */
    int flags = fcntl(pair[0], F_GETFL);
    fcntl(pair[0], F_SETFL, flags | O_NONBLOCK);
    int empty[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, empty);
    fcntl(empty[0], F_SETFL, O_NONBLOCK);
    got = read(empty[0], buf, sizeof buf);
    int e1 = errno;
    got = recv(empty[0], buf, sizeof buf, MSG_DONTWAIT) + got;
    printf("empty: %zd, %s\n", got, e1 == EAGAIN && errno == EAGAIN ? "EAGAIN twice" : "other");

    /* A datagram to an address over loopback, received with recv. */
    int udp_in = socket(AF_INET, SOCK_DGRAM, 0), udp_out = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    bind(udp_in, (struct sockaddr *)&addr, sizeof addr);
    getsockname(udp_in, (struct sockaddr *)&addr, &len);
    sendto(udp_out, "datagram", 8, 0, (struct sockaddr *)&addr, sizeof addr);
    got = recv(udp_in, buf, sizeof buf, 0);
    printf("udp: %.*s\n", (int)(got > 0 ? got : 0), buf);
    return 0;
}
