/* racy_counter: N threads (argv[1], default 4) each do ITERS (argv[2],
 * default 5000000) unsynchronized `counter++` on a shared volatile long.
 * Run natively on several CPUs, increments get lost and the total varies
 * from run to run; a replay must print the recorded total. A barrier
 * lines the threads up so that they really overlap. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long counter;
static long iters = 5000000;
static pthread_barrier_t start;

static void *worker(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    for (long i = 0; i < iters; i++)
        counter++;
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        iters = atol(argv[2]);
    if (n < 1 || n > 64)
        return 2;
    pthread_t th[64];
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            return 3;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    long total = counter;
    printf("threads: %d\n", n);
    printf("total: %ld\n", total);
    printf("lost: %ld\n", (long)n * iters - total);
    return 0;
}
