/* A spin-wait that makes no progress: thread A waits on an atomic flag
 * with `pause` and nothing else, thread B computes for a while, then sets
 * the flag. Under a recorder that runs one thread of a process at a time,
 * A must be preempted for B to run; A's state is the same at every pass,
 * so the preemption is of the "spin" kind. Usage: spin_wait [STEPS] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int flag;
static unsigned long long result;
static long steps = 20000000;

static void *waiter(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&flag, memory_order_acquire))
        __builtin_ia32_pause();
    return NULL;
}

static void *worker(void *arg)
{
    (void)arg;
    unsigned long long x = 1;
    for (long i = 0; i < steps; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    result = x;
    atomic_store_explicit(&flag, 1, memory_order_release);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        steps = atol(argv[1]);
    pthread_t a, b;
    if (pthread_create(&a, NULL, waiter, NULL) || pthread_create(&b, NULL, worker, NULL))
        return 3;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("result: %llu\n", result);
    return 0;
}
