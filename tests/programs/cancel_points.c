/* Threads cancelled where glibc makes them cancellable: blocked in a pipe
 * read, blocked in a pipe write, opening a FIFO nobody opens, and reading
 * a regular file in a loop after a deferred cancel request (the read acts
 * on it as it starts). Each cancelled thread's cleanup handler counts. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cleanups;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int read_pipe[2], write_pipe[2];
static const char *fifo, *file;
static volatile int looping;

static void cleanup(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    cleanups++;
    pthread_mutex_unlock(&lock);
}

static void *blocked_read(void *arg) {
    char c;
    pthread_cleanup_push(cleanup, arg);
    ssize_t n = read(read_pipe[0], &c, 1);
    printf("read returned %zd\n", n);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *blocked_write(void *arg) {
    static char block[65536];
    pthread_cleanup_push(cleanup, arg);
    for (;;) {
        if (write(write_pipe[1], block, sizeof block) < 0)
            break;
    }
    pthread_cleanup_pop(0);
    return NULL;
}

static void *blocked_open(void *arg) {
    pthread_cleanup_push(cleanup, arg);
    int fd = open(fifo, O_RDONLY);
    printf("open returned %d\n", fd);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *reading_loop(void *arg) {
    char buf[16];
    int fd = open(file, O_RDONLY);
    pthread_cleanup_push(cleanup, arg);
    /* Defer the request until the loop runs, so the read sees it pending. */
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    looping = 1;
    while (looping == 1)
        ;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    for (long i = 0; i < 100000; i++)
        pread(fd, buf, sizeof buf, 0);
    printf("reading loop was not cancelled\n");
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancel_and_join(pthread_t t, const char *what) {
    void *result;
    pthread_cancel(t);
    pthread_join(t, &result);
    printf("%s: %s\n", what, result == PTHREAD_CANCELED ? "cancelled" : "returned");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: cancel_points FIFO FILE\n");
        return 2;
    }
    fifo = argv[1];
    file = argv[2];
    if (pipe(read_pipe) || pipe(write_pipe) || mkfifo(fifo, 0600)) {
        perror("setup");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, blocked_read, NULL);
    usleep(20000);
    cancel_and_join(t, "blocked read");

    pthread_create(&t, NULL, blocked_write, NULL);
    usleep(20000);
    cancel_and_join(t, "blocked write");

    pthread_create(&t, NULL, blocked_open, NULL);
    usleep(20000);
    cancel_and_join(t, "blocked open");

    pthread_create(&t, NULL, reading_loop, NULL);
    while (looping == 0)
        usleep(1000);
    pthread_cancel(t);
    looping = 2;
    void *result;
    pthread_join(t, &result);
    printf("pending cancel at a read: %s\n", result == PTHREAD_CANCELED ? "cancelled" : "returned");
    printf("cleanups: %d\n", cleanups);
    return 0;
}
