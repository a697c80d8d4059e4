// Robust mutexes whose owner dies holding them: a thread that exits with
// the lock, a child process that exits with a lock in shared memory, and
// one killed by a signal while it holds it.
// The next locker gets EOWNERDEAD (the kernel marks the lock word at the
// owner's death), makes the mutex consistent and goes on.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t in_process;

static void *hold_and_exit(void *arg) {
    pthread_mutex_lock(arg);
    return NULL;
}

static void init_robust(pthread_mutex_t *m, int shared) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (shared)
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &attr);
}

static void lock_after_death(const char *what, pthread_mutex_t *m) {
    int r = pthread_mutex_lock(m);
    printf("%s: %s\n", what, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
    printf("%s again: %s\n", what, strerror(pthread_mutex_lock(m)));
    pthread_mutex_unlock(m);
}

int main(void) {
    init_robust(&in_process, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, hold_and_exit, &in_process);
    pthread_join(thread, NULL);
    lock_after_death("thread", &in_process);

    pthread_mutex_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    init_robust(shared, 1);
    pid_t child = fork();
    if (child == 0) {
        pthread_mutex_lock(shared);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    lock_after_death("process", shared);

    child = fork();
    if (child == 0) {
        pthread_mutex_lock(shared);
        raise(SIGKILL);
    }
    int status;
    waitpid(child, &status, 0);
    printf("killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    lock_after_death("killed", shared);
    return 0;
}
