/* condvar: 2 producers and 2 consumers over a bounded queue (8 slots)
 * guarded by a mutex and two condition variables. Each producer puts
 * ITEMS items; the consumers fold every item into a sum (independent of
 * the interleaving) and, in dequeue order, into an order-dependent hash
 * (which varies natively). Exits 1 if the sum or count is wrong. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define SLOTS 8
#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS 5000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static unsigned long queue[SLOTS];
static int head, count, producers_left = PRODUCERS;
static unsigned long long sum, order_hash = 1469598103934665603ULL;
static long consumed, per_consumer[CONSUMERS];

static void *producer(void *arg) {
    unsigned long id = (unsigned long)(uintptr_t)arg;
    for (unsigned long i = 1; i <= ITEMS; i++) {
        unsigned long item = id * 1000000 + i;
        pthread_mutex_lock(&lock);
        while (count == SLOTS)
            pthread_cond_wait(&not_full, &lock);
        queue[(head + count) % SLOTS] = item;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    producers_left--;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consumer(void *arg) {
    int id = (int)(uintptr_t)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (count == 0 && producers_left > 0)
            pthread_cond_wait(&not_empty, &lock);
        if (count == 0) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        unsigned long item = queue[head];
        head = (head + 1) % SLOTS;
        count--;
        sum += item;
        order_hash = (order_hash ^ item) * 1099511628211ULL;
        consumed++;
        per_consumer[id]++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
    }
}

int main(void) {
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        if (pthread_create(&c[i], NULL, consumer, (void *)(uintptr_t)i))
            return 3;
    for (int i = 0; i < PRODUCERS; i++)
        if (pthread_create(&p[i], NULL, producer, (void *)(uintptr_t)(i + 1)))
            return 3;
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(c[i], NULL);

    unsigned long long expected = 0;
    for (unsigned long id = 1; id <= PRODUCERS; id++)
        for (unsigned long i = 1; i <= ITEMS; i++)
            expected += id * 1000000 + i;
    printf("consumed: %ld\n", consumed);
    printf("sum: %llu\n", sum);
    printf("expected sum: %llu\n", expected);
    printf("order hash: %016llx\n", order_hash);
    printf("per consumer: %ld %ld\n", per_consumer[0], per_consumer[1]);
    return (sum == expected && consumed == PRODUCERS * ITEMS) ? 0 : 1;
}
