/*
 * Readiness asked without waiting, as an event loop does between its
 * callbacks: poll, epoll_wait and select with a zero timeout, 3000 times each, on a
 * pipe that holds a byte for the middle third of the rounds; then a poll
 * that waits for a child process to write. Prints how often each saw the
 * pipe ready.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 3000

static int fds[2];

int main(void) {
    if (pipe(fds) != 0) return 1;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
    int polled = 0, epolled = 0, selected = 0, data_ok = 1;
    for (int i = 0; i < ROUNDS; i++) {
        char byte;
        if (i == ROUNDS / 3 && write(fds[1], "x", 1) != 1) return 1;
        if (i == 2 * ROUNDS / 3 && read(fds[0], &byte, 1) != 1) return 1;
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) polled++;
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fds[0], &readable);
        struct timeval now = {0, 0};
        if (select(fds[0] + 1, &readable, NULL, NULL, &now) == 1 && FD_ISSET(fds[0], &readable)) selected++;
        struct epoll_event got[4];
        int n = epoll_wait(ep, got, 4, 0);
        if (n == 1) {
            epolled++;
            data_ok &= got[0].data.u64 == 0x1122334455667788ULL;
        }
    }
    printf("ready to poll: %s, to epoll: %s, data %s\n", polled > 0 ? "yes" : "no", epolled > 0 ? "yes" : "no",
           data_ok ? "kept" : "lost");
    printf("counts: %d %d %d\n", polled, epolled, selected);

    int late[2];
    if (pipe(late) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        usleep(20000);
        write(late[1], "late", 4);
        _exit(0);
    }
    struct pollfd p = {.fd = late[0], .events = POLLIN};
    int n = poll(&p, 1, 5000);
    printf("waited poll: %d, revents %#x\n", n, p.revents);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(late[0], &readable);
    struct timeval second = {1, 0};
    n = select(late[0] + 1, &readable, NULL, NULL, &second);
    printf("select with a timeout: %d, %s\n", n, FD_ISSET(late[0], &readable) ? "readable" : "not readable");
    waitpid(child, NULL, 0);
    return 0;
}
