/* signal_frame: a 10 ms ITIMER_REAL timer interrupts a compute loop (no
 * system calls) with SIGALRM; the SA_SIGINFO handler reads the fault
 * fields of the frame the kernel built for it (trap number, error code,
 * fault address) and the saved flags' resume bit, as a crash reporter
 * would. None of them concern an asynchronous signal, but the kernel
 * fills them from the thread's last trap: a replay must show the values
 * the recording saw. Prints them for each of 5 ticks. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

#define TICKS 5
static volatile sig_atomic_t ticks;
static unsigned long long seen[TICKS][4];

static void on_alarm(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    ucontext_t *uc = context;
    if (ticks < TICKS) {
        seen[ticks][0] = uc->uc_mcontext.gregs[REG_TRAPNO];
        seen[ticks][1] = uc->uc_mcontext.gregs[REG_ERR];
        seen[ticks][2] = uc->uc_mcontext.gregs[REG_CR2];
        seen[ticks][3] = (uc->uc_mcontext.gregs[REG_EFL] >> 16) & 1;
    }
    ticks++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return 2;
    struct itimerval it = {{0, 10000}, {0, 10000}};
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        return 3;
    volatile unsigned long counter = 0;
    while (ticks < TICKS)
        counter++;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < TICKS; i++)
        printf("tick %d: trapno %llu err %llu cr2 %#llx rf %llu\n", i, seen[i][0], seen[i][1], seen[i][2], seen[i][3]);
    return 0;
}
