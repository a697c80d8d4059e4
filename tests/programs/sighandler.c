/* sighandler: SA_SIGINFO handlers for SIGUSR1 (raise) and SIGUSR2 (kill),
 * a blocked-then-unblocked signal. si_pid is the recording's pid. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count, usr2_count;
static volatile int last_code, last_pid, last_signo;

static void on_usr1(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    usr1_count++;
    last_signo = sig;
    last_code = si->si_code;
    last_pid = si->si_pid;
}

static void on_usr2(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    usr2_count += 10;
    last_signo = sig;
    last_code = si->si_code;
    last_pid = si->si_pid;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return 2;
    sa.sa_sigaction = on_usr2;
    if (sigaction(SIGUSR2, &sa, NULL) != 0)
        return 2;

    int pid = (int)getpid();
    printf("pid: %d\n", pid);

    raise(SIGUSR1);
    printf("after raise: usr1=%d signo=%d code=%d pid=%d self=%s\n", (int)usr1_count, last_signo,
           last_code, last_pid, last_pid == pid ? "yes" : "no");

    kill(getpid(), SIGUSR2);
    printf("after kill: usr2=%d signo=%d code=%d pid=%d self=%s\n", (int)usr2_count, last_signo,
           last_code, last_pid, last_pid == pid ? "yes" : "no");

    sigset_t set, old, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("while blocked: usr1=%d pending=%d\n", (int)usr1_count, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblock: usr1=%d\n", (int)usr1_count);

    for (int i = 0; i < 5; i++)
        raise(SIGUSR2);
    printf("final: usr1=%d usr2=%d\n", (int)usr1_count, (int)usr2_count);
    return 0;
}
