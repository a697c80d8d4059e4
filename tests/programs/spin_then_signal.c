/* A thread spins until told to read a pipe, so recording preempts it at a
 * point in its loop (found again in replay by an in-task check: an int3,
 * where recording used a hardware breakpoint). While it waits in the read,
 * it takes a SIGUSR1 with a handler, whose frame the kernel fills from the
 * thread's last trap. The program then asks its recorder for a bookmark
 * (SIGUSR2 to the parent) while the frame is still on that thread's stack. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int go_read, read_done, stop, handled;
static volatile unsigned long count;
static int fds[2];

static void on_usr1(int sig) {
    (void)sig;
    handled = 1;
}

static void *spin(void *arg) {
    (void)arg;
    while (!go_read) {
        count++;
    }
    char c;
    long got = read(fds[0], &c, 1);
    read_done = got < 0 ? 2 : 1;
    while (!stop) {
        sched_yield();
    }
    return NULL;
}

static void pause_ms(long ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    if (pipe(fds) != 0) {
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, spin, NULL);
    pause_ms(100);
    go_read = 1;
    pause_ms(50);
    pthread_kill(t, SIGUSR1);
    while (!read_done) {
        pause_ms(5);
    }
    kill(getppid(), SIGUSR2);
    pause_ms(100);
    stop = 1;
    pthread_join(t, NULL);
    printf("handled %d, read %s\n", handled, read_done == 2 ? "interrupted" : "returned");
    return 0;
}
