// Starts threads two at a time; each makes a few syscalls, then runs
// `cpuid` and keeps the APIC ids of leaves 1 and 0xB (which CPU it ran on)
// in a global, as HotSpot does in the thread that creates the JVM, and
// counts the CPUs sched_getaffinity gives it. Then sleeps a while (for
// bookmarks) and prints the smallest and largest counts the threads saw.
// Usage: thread_cpuid [THREADS]
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static unsigned apic_ids[MAX_THREADS][2];
static int cpu_counts[MAX_THREADS];

static void *thread_main(void *arg)
{
    long index = (long)arg;
    // Traced syscalls between stretches of work, as a JVM's start makes:
    // where the thread runs after each stop is the scheduler's choice.
    volatile unsigned sink = 0;
    for (int i = 0; i < 40; i++) {
        umask(022);
        for (int j = 0; j < 200000; j++)
            sink += j;
    }
    cpu_set_t set;
    cpu_counts[index] = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    unsigned eax, ebx, ecx, edx;
    __cpuid(1, eax, ebx, ecx, edx);
    apic_ids[index][0] = ebx >> 24;
    __cpuid_count(0xb, 0, eax, ebx, ecx, edx);
    apic_ids[index][1] = edx;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    if (threads < 1 || threads > MAX_THREADS)
        threads = 8;
    // Two at a time: they take turns, and where each one runs after a
    // turn depends on the timing of the other.
    pthread_t running[MAX_THREADS];
    for (long i = 0; i < threads; i++) {
        pthread_create(&running[i], NULL, thread_main, (void *)i);
        if (i % 2 == 1) {
            pthread_join(running[i - 1], NULL);
            pthread_join(running[i], NULL);
        }
    }
    if (threads % 2 == 1)
        pthread_join(running[threads - 1], NULL);
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 10; i++)
        nanosleep(&pause, NULL);
    int least = cpu_counts[0], most = cpu_counts[0];
    for (int i = 1; i < threads; i++) {
        least = cpu_counts[i] < least ? cpu_counts[i] : least;
        most = cpu_counts[i] > most ? cpu_counts[i] : most;
    }
    printf("threads saw %d to %d CPUs\n", least, most);
    return 0;
}
