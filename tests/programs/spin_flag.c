/* spin_flag: thread A spins on an atomic flag without making any system
 * call; thread B computes for a while, then sets the flag. A recorder that
 * only switches threads at system calls must preempt A to let B run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int flag;
static atomic_ulong spins;
static unsigned long long result;

static void *spinner(void *arg) {
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load(&flag))
        n++;
    atomic_store(&spins, n);
    return NULL;
}

static void *setter(void *arg) {
    (void)arg;
    unsigned long long x = 1;
    for (long i = 0; i < 20000000; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    result = x;
    atomic_store(&flag, 1);
    return NULL;
}

int main(void) {
    pthread_t a, b;
    if (pthread_create(&a, NULL, spinner, NULL))
        return 3;
    if (pthread_create(&b, NULL, setter, NULL))
        return 3;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("result: %llu\n", result);
    printf("spins: %lu\n", (unsigned long)atomic_load(&spins));
    printf("done\n");
    return 0;
}
