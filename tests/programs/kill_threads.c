/* A process with threads dies of a signal, three ways, one child each:
 * its parent sends it SIGTERM while its threads wait in pause() or read();
 * it aborts itself; a thread of it faults. The delivery to one thread ends
 * them all. Prints how each child ended. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int mode;
static int block_fd;

static void *waiter(void *arg)
{
    char c;
    if (arg)
        read(block_fd, &c, 1);
    for (;;)
        pause();
    return NULL;
}

static void *faulter(void *arg)
{
    (void)arg;
    usleep(10000);
    *(volatile int *)0 = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 3;
    for (mode = 0; mode < 3; mode++) {
        int ready[2], never[2];
        if (pipe(ready) != 0 || pipe(never) != 0)
            return 1;
        pid_t child = fork();
        if (child == 0) {
            block_fd = never[0];
            pthread_t t;
            for (int i = 0; i < threads; i++)
                pthread_create(&t, NULL, waiter, i % 2 ? (void *)1 : NULL);
            if (mode == 1)
                abort();
            if (mode == 2)
                pthread_create(&t, NULL, faulter, NULL);
            write(ready[1], "r", 1);
            for (;;)
                pause();
        }
        char c;
        if (mode == 0) {
            read(ready[0], &c, 1);
            kill(child, SIGTERM);
        }
        int status;
        waitpid(child, &status, 0);
        printf("child %d: signaled %d, signal %d\n", mode, WIFSIGNALED(status), WTERMSIG(status));
        close(ready[0]);
        close(ready[1]);
        close(never[0]);
        close(never[1]);
    }
    return 0;
}
