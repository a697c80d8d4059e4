/* exit_blocked: the main thread exits while its other threads sit blocked
 * in the kernel (a futex wait, a read on a pipe nobody writes, a long
 * sleep), as a JVM's do when it ends: the group exit kills them there. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;
static int pipe_fds[2];

static void mark_started(void) {
    pthread_mutex_lock(&lock);
    started++;
    pthread_mutex_unlock(&lock);
}

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
    mark_started();
    ssize_t n = read(pipe_fds[0], &c, 1);
    return (void *)n;
}

static void *sleep_forever(void *arg) {
    (void)arg;
    mark_started();
    struct timespec t = {3600, 0};
    nanosleep(&t, NULL);
    return NULL;
}

int main(void) {
    enum { EACH = 3 };
    if (pipe(pipe_fds) != 0)
        return 2;
    void *(*kinds[])(void *) = {wait_forever, read_forever, sleep_forever};
    pthread_t threads[3 * EACH];
    for (int i = 0; i < 3 * EACH; i++)
        if (pthread_create(&threads[i], NULL, kinds[i % 3], NULL) != 0)
            return 3;
    for (;;) {
        pthread_mutex_lock(&lock);
        int n = started;
        pthread_mutex_unlock(&lock);
        if (n == 3 * EACH)
            break;
        usleep(1000);
    }
    /* Give the last ones time to enter their calls. */
    usleep(20000);
    printf("threads started: %d\n", 3 * EACH);
    fflush(stdout);
    exit(7);
}
