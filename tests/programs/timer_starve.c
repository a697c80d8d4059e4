/* A timer that fires more often than a time slice, at a thread that
 * computes while another thread of the process spins on a flag with the
 * signal blocked. Under one-task-at-a-time recording the computing thread
 * must still get on with its work between ticks. Usage: timer_starve */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile int done;
static volatile long ticks;

static void on_alarm(int signo) {
    (void)signo;
    ticks++;
}

static void *spinner(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    long spins = 0;
    while (!done)
        spins++;
    return (void *)spins;
}

int main(void) {
    signal(SIGALRM, on_alarm);
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    struct itimerval every_3ms = {{0, 3000}, {0, 3000}};
    setitimer(ITIMER_REAL, &every_3ms, NULL);
    volatile double x = 0;
    for (int round = 0; round < 100; round++)
        for (int i = 0; i < 300000; i++)
            x += i * 0.5;
    done = 1;
    void *spins;
    pthread_join(t, &spins);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("sum: %.0f\n", x);
    printf("ticks seen: %s\n", ticks > 0 ? "yes" : "no");
    return 0;
}
