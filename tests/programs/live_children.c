/* live_children: forks 3 children that each wait for a byte on a pipe
 * and exit with status 10 + their index, sends SIGUSR2 to its own parent
 * (under `scribe record`, the recorder: a bookmark), sleeps 200 ms so the
 * bookmark lands here, then lets the children go and reaps each one with
 * waitpid on the pid fork returned, printing its status. Going live at
 * the bookmark, those pids must name the children replay made. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    int gate[2];
    if (pipe(gate) != 0)
        return 2;
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            return 3;
        if (kids[i] == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 1)
                _exit(99);
            _exit(10 + i);
        }
    }
    close(gate[0]);
    kill(getppid(), SIGUSR2);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (write(gate[1], "abc", 3) != 3)
        return 4;
    for (int i = 0; i < 3; i++) {
        int status;
        if (waitpid(kids[i], &status, 0) != kids[i])
            printf("child %d: waitpid: %s\n", i, strerror(errno));
        else
            printf("child %d exited with %d\n", i, WEXITSTATUS(status));
    }
    return 0;
}
