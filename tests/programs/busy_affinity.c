// Makes traced syscalls in a row (Scribe stops at every umask) until
// /proc/self/status shows it held on one CPU, or for a bounded while; then
// prints how many CPUs it may use as sched_getaffinity tells it, and as a
// forked child and a new thread are told. Native runs print the machine's
// count three times; so must recorded ones, pinned or not.
// Usage: busy_affinity
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int allowed_in_status(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int count = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            // "0" or "0-1" or "0,2-3": a lone number means one CPU.
            count = strpbrk(line + 18, "-,") ? 2 : 1;
        }
    }
    if (f)
        fclose(f);
    return count;
}

static int asked(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    return CPU_COUNT(&set);
}

static void *thread_main(void *arg)
{
    *(int *)arg = asked();
    return NULL;
}

int main(void)
{
    int held = 0;
    for (int round = 0; round < 50 && !held; round++) {
        for (int i = 0; i < 1000; i++)
            umask(022);
        held = allowed_in_status() == 1;
    }
    // On stderr: a native run is never held, and the test compares stdout.
    fprintf(stderr, "held on one cpu: %s\n", held ? "yes" : "no");
    printf("asked %d\n", asked());
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child %d\n", asked());
        return 0;
    }
    int status;
    waitpid(child, &status, 0);
    pthread_t t;
    int in_thread = 0;
    pthread_create(&t, NULL, thread_main, &in_thread);
    pthread_join(t, NULL);
    printf("thread %d\n", in_thread);
    return 0;
}
