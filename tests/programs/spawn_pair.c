/* spawn_pair: starts two copies of itself with posix_spawn (a vfork), which
 * wait for the end of their stdin (a pipe the parent closes once both are
 * started, so that both are alive together), compute and print a sum; it
 * waits for both. With "threaded", a second thread of the parent reads the
 * clock meanwhile, so the spawned children start in a memory domain with
 * more than their parent.
 * Usage: spawn_pair [threaded] | spawn_pair child N */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile int done;

static void *clock_reader(void *arg)
{
    (void)arg;
    while (!done) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        char c;
        while (read(0, &c, 1) > 0)
            ;
        unsigned long n = strtoul(argv[2], NULL, 10), sum = 0;
        for (unsigned long i = 0; i < n * 1000000; i++)
            sum += i % 7;
        printf("child %lu: %lu\n", n, sum);
        return 0;
    }
    int threaded = argc == 2 && strcmp(argv[1], "threaded") == 0;
    pthread_t reader;
    if (threaded && pthread_create(&reader, NULL, clock_reader, NULL) != 0)
        return 1;
    int gate[2];
    if (pipe(gate) != 0)
        return 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, gate[0], 0);
    posix_spawn_file_actions_addclose(&actions, gate[1]);
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", i + 1);
        char *child_argv[] = {argv[0], "child", n, NULL};
        if (posix_spawn(&pids[i], "/proc/self/exe", &actions, NULL, child_argv, environ) != 0)
            return 1;
    }
    close(gate[0]);
    close(gate[1]);
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        int status;
        ok += waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    if (threaded) {
        done = 1;
        pthread_join(reader, NULL);
    }
    printf("children ok: %d\n", ok);
    return 0;
}
