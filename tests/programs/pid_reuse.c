/* pid_reuse: forks a child, reaps it, and (as root) sets the pid
 * namespace's counter back so that the next child gets the same pid, as
 * happens when the counter wraps during a long run. Each child makes a few
 * calls (a buffered write among them); even ones wait to be killed with
 * SIGTERM, odd ones exit with 10 + their index. The parent prints how
 * each ended and whether the pids repeated.
 * Usage: pid_reuse [CHILDREN]   (default 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>

static int rewind_pid_counter(pid_t to)
{
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    if (fd < 0)
        return 0;
    char text[32];
    int len = snprintf(text, sizeof text, "%d", to - 1);
    int ok = write(fd, text, len) == len;
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    int children = argc > 1 ? atoi(argv[1]) : 3;
    pid_t first = 0;
    int repeated = 0;
    for (int i = 0; i < children; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        if (pid == 0) {
            char line[64];
            int len = snprintf(line, sizeof line, "child %d pid %s\n", i, getpid() == getpid() ? "known" : "?");
            if (write(1, line, len) != len)
                _exit(99);
            if (i % 2 == 0)
                for (;;)
                    pause();
            _exit(10 + i);
        }
        int status;
        if (i % 2 == 0) {
            struct timespec settle = {0, 20 * 1000 * 1000};
            nanosleep(&settle, NULL);
            kill(pid, SIGTERM);
        }
        if (waitpid(pid, &status, 0) != pid)
            return 3;
        if (WIFSIGNALED(status))
            printf("reaped child %d: killed by signal %d\n", i, WTERMSIG(status));
        else
            printf("reaped child %d: status %d\n", i, WEXITSTATUS(status));
        if (i == 0)
            first = pid;
        else
            repeated += pid == first;
        rewind_pid_counter(first);
    }
    printf("pids repeated: %s\n", repeated ? "yes" : "no");
    return 0;
}
