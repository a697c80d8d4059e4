/* mutex_counter: N threads (argv[1], default 4) each add 1 to a shared,
 * mutex-protected counter ITERS times (argv[2], default 100000). Prints
 * the total, which must be N * ITERS whatever the interleaving; exits 1 if
 * it is not. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long iters = 100000;

static void *worker(void *arg) {
    (void)arg;
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        iters = atol(argv[2]);
    if (n < 1 || n > 64)
        return 2;
    pthread_t th[64];
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            return 3;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    printf("threads: %d\n", n);
    printf("total: %ld\n", counter);
    printf("expected: %ld\n", (long)n * iters);
    return counter == (long)n * iters ? 0 : 1;
}
