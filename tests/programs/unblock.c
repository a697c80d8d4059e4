/* Signal unblocks and pipe closes, the calls a shell makes around each
 * subshell:
 *  - 3000 block/unblock pairs of SIGUSR1 (sigprocmask and pthread_sigmask,
 *    SIG_UNBLOCK and SIG_SETMASK) with nothing pending, while a 1 ms
 *    timer interrupts the loop: a tick that comes while SIGALRM is blocked
 *    must be handled before the unblock returns;
 *  - SIGUSR1 sent to itself while blocked: handled before sigprocmask
 *    returns, as POSIX asks;
 *  - a child that writes to a pipe and closes it, 200 times: the parent
 *    reads to the end and closes its end.
 * Prints what it saw; the number of ticks varies natively, not between a
 * recording and its replays. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, ticks;

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_alarm(int sig) { (void)sig; ticks++; }

int main(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGALRM, on_alarm);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &every_ms, NULL);
    sigset_t alarm_only, old;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    int late = 0;
    volatile unsigned long work = 0;
    for (int i = 0; i < 3000; i++) {
        if (i % 2) {
            sigprocmask(SIG_BLOCK, &alarm_only, &old);
        } else {
            pthread_sigmask(SIG_BLOCK, &alarm_only, &old);
        }
        for (int k = 0; k < 2000; k++)
            work += k;
        sigset_t pending;
        sigpending(&pending);
        int was_pending = sigismember(&pending, SIGALRM);
        int before = ticks;
        if (i % 3 == 0) {
            sigprocmask(SIG_UNBLOCK, &alarm_only, NULL);
        } else {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        if (was_pending && ticks == before)
            late++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("ticks handled after the unblock that released them: %d late\n", late);

    sigset_t usr1_only;
    sigemptyset(&usr1_only);
    sigaddset(&usr1_only, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1_only, NULL);
    kill(getpid(), SIGUSR1);
    int before = usr1;
    sigprocmask(SIG_UNBLOCK, &usr1_only, NULL);
    printf("SIGUSR1 handled at its unblock: %s\n", usr1 == before + 1 ? "yes" : "no");

    long total = 0;
    for (int i = 0; i < 200; i++) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t child = fork();
        if (child == 0) {
            close(fds[0]);
            char line[32];
            int n = snprintf(line, sizeof line, "%d\n", i);
            if (write(fds[1], line, n) != n)
                _exit(1);
            close(fds[1]);
            _exit(0);
        }
        close(fds[1]);
        char buf[64];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            total += n;
        close(fds[0]);
        waitpid(child, NULL, 0);
    }
    printf("bytes through the pipes: %ld\n", total);
    printf("ticks: %s\n", ticks > 0 ? "some" : "none");
    return 0;
}
