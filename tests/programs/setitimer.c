/* setitimer: a 10 ms ITIMER_REAL interval timer interrupts a pure compute
 * loop (no system calls) with SIGALRM; the handler counts ticks. The loop
 * stops after 5 ticks. Prints the ticks (5, or more when further ticks came
 * before the timer was disarmed: the process had not run for a whole
 * period between them, as on a loaded machine, and more often under a
 * tracer, whose stops each wait for the scheduler) and how far the loop
 * counter got, which varies natively. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return 2;
    struct itimerval it = {{0, 10000}, {0, 10000}};
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        return 3;
    volatile unsigned long counter = 0;
    while (ticks < 5)
        counter++;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    int final_ticks = ticks;
    printf("ticks: %d\n", final_ticks);
    printf("counter: %lu\n", (unsigned long)counter);
    return final_ticks >= 5 ? 0 : 1;
}
