/* sigblock_self: blocks every signal with sigprocmask, sends itself
 * SIGUSR1 and SIGTERM with kill, prints which of them are pending (both
 * must be: blocked signals stay pending) and exits 0. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    sigset_t all, pending;
    setvbuf(stdout, NULL, _IONBF, 0);
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, NULL) != 0) {
        perror("sigprocmask");
        return 1;
    }
    int a = kill(getpid(), SIGUSR1);
    int b = kill(getpid(), SIGTERM);
    printf("kill SIGUSR1 = %d, kill SIGTERM = %d\n", a, b);
    sigemptyset(&pending);
    sigpending(&pending);
    printf("pending: SIGUSR1=%d SIGTERM=%d SIGINT=%d\n", sigismember(&pending, SIGUSR1),
           sigismember(&pending, SIGTERM), sigismember(&pending, SIGINT));
    printf("still alive\n");
    return 0;
}
