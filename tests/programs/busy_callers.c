/* Two threads that compute and make a buffered call (getppid) every few
 * microseconds, never waiting: each holds the token until its time slice
 * runs out. The sum each computes depends only on its own work, the
 * order of the calls on the preemptions.
 * usage: busy_callers ROUNDS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long rounds;

static void *work(void *arg) {
    long id = (long)arg;
    volatile unsigned long x = (unsigned long)id;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 4000; i++)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        getppid();
    }
    printf("thread %ld: %lu\n", id, (unsigned long)x);
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 20000;
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}
