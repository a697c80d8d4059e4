/* fork_many: forks N children (argv[1], default 200) that each exit at
 * once with status I % 7, waits for all of them and prints how many it
 * reaped and whether every status was right. Exits 1 on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("forking %d children\n", n);
    int forked = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            failed++;
            continue;
        }
        if (pid == 0)
            _exit(i % 7);
        forked++;
    }
    int reaped = 0, status_sum = 0, bad = 0;
    for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        reaped++;
        if (WIFEXITED(status))
            status_sum += WEXITSTATUS(status);
        else
            bad++;
    }
    int expected_sum = 0;
    for (int i = 0; i < n; i++)
        expected_sum += i % 7;
    printf("forked %d, failed %d, reaped %d\n", forked, failed, reaped);
    printf("status sum %d (expected %d), abnormal %d\n", status_sum, expected_sum, bad);
    return (failed == 0 && reaped == n && bad == 0 && status_sum == expected_sum) ? 0 : 1;
}
