/* park_order: the main thread stores into a variable right after a
 * syscall and then blocks, while another process makes many calls and
 * then wakes a sibling thread, which reads the variable. When recorded,
 * the store runs before the sibling goes on (one task of a process runs
 * user code at a time, and the store comes first), so it prints 42. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int to_sibling[2], to_main[2];
static volatile int shared;

static void *sibling(void *arg) {
    (void)arg;
    char c;
    if (read(to_sibling[0], &c, 1) != 1)
        exit(3);
    printf("shared: %d\n", shared);
    fflush(stdout);
    return NULL;
}

int main(void) {
    if (pipe(to_sibling) != 0 || pipe(to_main) != 0)
        return 2;
    pid_t child = fork();
    if (child == 0) {
        /* Many events of another memory domain, then the sibling's wake-up,
         * then the main thread's. */
        long sum = 0;
        for (int i = 0; i < 20000; i++)
            sum += getppid();
        if (write(to_sibling[1], "x", 1) != 1)
            _exit(4);
        usleep(20000);
        if (write(to_main[1], "x", 1) != 1)
            _exit(4);
        _exit(sum == 0);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, sibling, NULL) != 0)
        return 3;
    usleep(2000);
    shared = 42;
    char c;
    if (read(to_main[0], &c, 1) != 1)
        return 5;
    pthread_join(t, NULL);
    int status;
    waitpid(child, &status, 0);
    printf("child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
