/* A thread whose loop keeps its progress only deep in its own stack frame.
 *
 * The worker calls step() over and over with the same argument (which
 * also leaves no register pointing at the count); step's own loop runs
 * the same passes each call. Its count of calls lives in a
 * large frame, more than 1 KiB above step's stack pointer and behind no
 * register, so every call of step looks alike in its registers, the top
 * of its stack and the memory its registers point to. The main thread
 * wakes every millisecond, reads the count and prints it: where the
 * worker was preempted decides the numbers, and a replay that stops it at
 * an earlier call prints other ones.
 *
 * Usage: deep_progress [ROUNDS]   (default 20) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile long sink;
static volatile int stop;
static volatile long *volatile progress;

__attribute__((noinline)) static void step(int passes)
{
    for (int k = 0; k < passes; k++)
        sink ^= k; /* back to its value at entry after each call */
}

/* Out of line, so the compiler sees no local's address kept in a global. */
__attribute__((noinline)) static void publish(volatile long *count)
{
    progress = count;
}

static void *worker(void *arg)
{
    (void)arg;
    volatile long frame[512];
    frame[0] = 0;
    frame[511] = 0;
    publish(&frame[511]);
    while (!stop) {
        step(20000);
        frame[511]++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!progress)
        sched_yield();
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < rounds; i++) {
        nanosleep(&ms, NULL);
        printf("%ld\n", *progress);
    }
    stop = 1;
    pthread_join(t, NULL);
    return 0;
}
