/* exec_threads: the main thread execs while its other threads sit blocked
 * in the kernel (as cargo's do when it runs rustc): the kernel kills them
 * and finishes the exec only once they are gone. argv[1] is the program
 * to exec, with the rest of argv as its arguments. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int pipe_fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;

static void *wait_forever(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    started++;
    for (;;)
        pthread_cond_wait(&never, &lock);
    return NULL;
}

static void *read_forever(void *arg) {
    (void)arg;
    char c;
    pthread_mutex_lock(&lock);
    started++;
    pthread_mutex_unlock(&lock);
    return (void *)read(pipe_fds[0], &c, 1);
}

int main(int argc, char **argv) {
    if (argc < 2 || pipe(pipe_fds) != 0)
        return 2;
    pthread_t t;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t, NULL, i % 2 ? read_forever : wait_forever, NULL) != 0)
            return 3;
    for (;;) {
        pthread_mutex_lock(&lock);
        int n = started;
        pthread_mutex_unlock(&lock);
        if (n == 4)
            break;
        usleep(1000);
    }
    usleep(20000);
    printf("threads started: 4\n");
    fflush(stdout);
    execvp(argv[1], argv + 1);
    return 4;
}
