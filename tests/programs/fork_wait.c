/* fork_wait: forks 5 children; child I computes for a while, prints
 * "child I: ..." and exits with status 10+I. The parent reaps them with
 * waitpid(-1) in order of completion (which varies natively) and prints
 * each one's index and status. Exits 1 if a status is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 5

int main(void) {
    pid_t pids[CHILDREN];
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("parent: forking %d children\n", CHILDREN);
    for (int i = 0; i < CHILDREN; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 3;
        }
        if (pid == 0) {
            volatile unsigned long x = (unsigned long)i + 1;
            for (long k = 0; k < 300000L * (CHILDREN - i); k++)
                x = x * 6364136223846793005UL + 1442695040888963407UL;
            printf("child %d: done (%lu)\n", i, (unsigned long)(x % 1000));
            _exit(10 + i);
        }
        pids[i] = pid;
    }
    int bad = 0, seen = 0;
    for (int n = 0; n < CHILDREN; n++) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            perror("waitpid");
            return 4;
        }
        int idx = -1;
        for (int i = 0; i < CHILDREN; i++)
            if (pids[i] == pid)
                idx = i;
        if (idx < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 10 + idx ||
            (seen & (1 << idx)))
            bad++;
        if (idx >= 0)
            seen |= 1 << idx;
        printf("reaped child %d: exited=%d status=%d\n", idx, WIFEXITED(status),
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    int status;
    pid_t extra = waitpid(-1, &status, 0);
    printf("no more children: %s\n", extra < 0 ? "yes" : "no");
    printf("bad: %d\n", bad);
    return (bad == 0 && extra < 0) ? 0 : 1;
}
