// Two threads fork at about the same time, again and again. A fork copies
// the parent's memory while it runs: glibc's fork lock there, whose waiter
// bit the other forking thread may set, must be in the child's copy as it
// was when recorded, or the child makes another syscall in replay.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *forker(void *arg) {
    long rounds = (long)arg, sum = 0;
    for (long i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit((int)(i % 100));
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) exit(2);
        sum += WEXITSTATUS(status);
    }
    return (void *)sum;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 20;
    pthread_t thread;
    void *theirs;
    if (pthread_create(&thread, NULL, forker, (void *)rounds)) return 1;
    long mine = (long)forker((void *)rounds);
    pthread_join(thread, &theirs);
    printf("exit statuses: %ld %ld\n", mine, (long)theirs);
    return 0;
}
