/* shared_file: a file mapped MAP_SHARED by a parent and its child.
 * The file is created in the working directory (argv[1] names it). The
 * child waits on a process-shared semaphore in the mapping until the
 * parent posts it, adds to a counter there, and posts a second semaphore
 * the parent waits on: the two processes only meet through the file's
 * pages, as Python's multiprocessing locks do. By default the parent maps
 * the file and the child inherits the mapping; with "late" as argv[2]
 * each maps the file by name after the fork (as a process started by a
 * fork server opens a named semaphore), the parent telling the child
 * through a pipe when the semaphores are ready. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    sem_t to_child;
    sem_t to_parent;
    unsigned long counter;
    long child_pid;
};

static struct shared *map_file(const char *name) {
    int fd = open(name, O_RDWR);
    if (fd < 0)
        return NULL;
    struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return s == MAP_FAILED ? NULL : s;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "shared_file.bin";
    int late = argc > 2 && strcmp(argv[2], "late") == 0;
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 2;
    close(fd);
    int ready[2];
    if (pipe(ready) != 0)
        return 2;
    struct shared *s = NULL;
    if (!late) {
        s = map_file(name);
        if (!s || sem_init(&s->to_child, 1, 0) != 0 || sem_init(&s->to_parent, 1, 0) != 0)
            return 3;
        s->counter = 1000;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 5;
    if (pid == 0) {
        char byte;
        if (late && (read(ready[0], &byte, 1) != 1 || !(s = map_file(name))))
            _exit(9);
        for (int round = 0; round < 50; round++) {
            sem_wait(&s->to_child);
            s->counter += round;
            s->child_pid = getpid();
            sem_post(&s->to_parent);
        }
        _exit(0);
    }
    if (late) {
        s = map_file(name);
        if (!s || sem_init(&s->to_child, 1, 0) != 0 || sem_init(&s->to_parent, 1, 0) != 0)
            return 3;
        s->counter = 1000;
        if (write(ready[1], "go", 1) != 1)
            return 4;
    }
    unsigned long seen = 0;
    for (int round = 0; round < 50; round++) {
        s->counter *= 3;
        sem_post(&s->to_child);
        sem_wait(&s->to_parent);
        seen = seen * 31 + s->counter;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 6;
    printf("counter: %lu\n", s->counter);
    printf("seen: %lu\n", seen);
    printf("child pid matches fork: %s\n", s->child_pid == pid ? "yes" : "no");
    printf("child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    unlink(name);
    return 0;
}
