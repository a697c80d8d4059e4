/* A child spins incrementing a counter in memory it shares with its
 * parent (so both are one memory domain); the parent sleeps, kills it with
 * SIGKILL and reaps it. Prints how the child ended and whether it counted. */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counter == MAP_FAILED)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            (*counter)++;
    }
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    printf("signal %d, counted %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0, *counter > 0);
    return 0;
}
