/* shm_join: a parent with a second thread (waiting on a pipe) maps a file
 * in /dev/shm shared and writable, then starts two children (vfork, as
 * posix_spawn does) that exec this program again and so leave the
 * parent's memory domain (a sibling process exists); each maps the same
 * file (its memory domain joins the parent's again), adds 1 to the counter
 * there, makes many cheap syscalls and exits, while the parent waits in
 * waitpid: its next event is thousands of events past the joins. Prints
 * the counter as the parent sees it at the end (43).
 * Usage: shm_join [CALLS]   (the child runs as: shm_join child PATH CALLS) */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int *map_counter(const char *path, int create) {
    int fd = open(path, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, 4096) != 0)
        return NULL;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static int gate[2];

static void *waiter(void *arg) {
    (void)arg;
    char c;
    return read(gate[0], &c, 1) == 1 ? NULL : (void *)1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "child") == 0) {
        volatile int *counter = map_counter(argv[2], 0);
        if (!counter)
            return 3;
        __sync_fetch_and_add(counter, 1);
        long calls = atol(argv[3]), sum = 0;
        for (long i = 0; i < calls; i++)
            sum += getppid() > 0;
        return sum == calls ? 0 : 7;
    }
    const char *calls = argc > 1 ? argv[1] : "10000";
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/scribe-shm-join-%d", (int)getpid());
    volatile int *counter = map_counter(path, 1);
    if (!counter)
        return 2;
    *counter = 41;
    pthread_t thread;
    if (pipe(gate) != 0 || pthread_create(&thread, NULL, waiter, NULL) != 0)
        return 5;
    fflush(stdout);
    /* A sibling for the children (it waits on the gate too), so that
     * each leaves the parent's domain at its exec. */
    pid_t sibling = fork();
    if (sibling == 0) {
        char c;
        _exit(read(gate[0], &c, 1) == 1 ? 0 : 8);
    }
    pid_t children[2];
    for (int i = 0; i < 2; i++) {
        children[i] = vfork();
        if (children[i] == 0) {
            execl("/proc/self/exe", argv[0], "child", path, calls, (char *)NULL);
            _exit(4);
        }
    }
    int status = 0, failed = 0;
    for (int i = 0; i < 2; i++) {
        waitpid(children[i], &status, 0);
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    void *waited = NULL;
    if (write(gate[1], "xx", 2) != 2 || pthread_join(thread, &waited) != 0 || waited)
        return 6;
    waitpid(sibling, &status, 0);
    failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("counter: %d\nfailed children: %d\n", *counter, failed);
    unlink(path);
    return 0;
}
