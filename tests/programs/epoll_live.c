/* epoll_live: an epoll instance watching an eventfd (data 111) and the
 * read end of a pipe (data 222), as event loops have them. After asking its
 * parent for a bookmark (SIGUSR2: under `scribe record`, the recorder) and
 * a pause in which the bookmark lands, it signals the eventfd, waits,
 * reads the count, writes to the pipe, waits, and prints what it saw.
 * Going live at the bookmark, the epoll instance and the eventfd must work. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static void wait_for(int ep)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 2000);
    if (n == 1)
        printf("ready %llu\n", (unsigned long long)ev.data.u64);
    else
        printf("epoll_wait gave %d\n", n);
}

int main(void)
{
    int efd = eventfd(0, EFD_CLOEXEC);
    int pipefd[2];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (efd < 0 || pipe(pipefd) != 0 || ep < 0)
        return 2;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 111};
    struct epoll_event pv = {.events = EPOLLIN, .data.u64 = 222};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &pv) != 0)
        return 3;
    kill(getppid(), SIGUSR2);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    uint64_t add = 5;
    if (write(efd, &add, sizeof add) != sizeof add)
        printf("eventfd write failed\n");
    wait_for(ep);
    uint64_t count = 0;
    if (read(efd, &count, sizeof count) != sizeof count)
        printf("eventfd read failed\n");
    printf("count %llu\n", (unsigned long long)count);
    if (write(pipefd[1], "x", 1) != 1)
        printf("pipe write failed\n");
    wait_for(ep);
    return 0;
}
