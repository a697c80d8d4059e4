/* Multi-threaded mutex contention: THREADS threads share one mutex and one
 * counter; TOTAL lock/unlock pairs are split between them. Prints the count.
 * Usage: mutex [TOTAL]   (default 2,000,000) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counter;
static unsigned long per_thread;

static void *worker(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000UL;
    pthread_t t[THREADS];

    per_thread = total / THREADS;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("count %lu\n", counter);
    return counter == per_thread * THREADS ? 0 : 1;
}
