/* thread_pool: 4 workers take JOBS jobs from a shared queue (mutex +
 * condvar) that the main thread fills in batches. Each job computes a
 * small hash chain; the worker that ran it is recorded. Prints per-worker
 * job counts (vary natively), the order in which jobs were taken (as a
 * hash), and the sum of the results (fixed). Exits 1 if a job was lost or
 * run twice. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define WORKERS 4
#define JOBS 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t have_work = PTHREAD_COND_INITIALIZER;
static int queue[JOBS];
static int queued, taken, closed;
static int owner[JOBS];
static int runs[JOBS];
static unsigned long long result[JOBS];
static long per_worker[WORKERS];
static unsigned long long take_hash = 1469598103934665603ULL;

static unsigned long long compute(int job) {
    unsigned long long x = (unsigned long long)job * 0x9e3779b97f4a7c15ULL + 1;
    for (int i = 0; i < 2000 + (job % 7) * 300; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 29;
    }
    return x % 1000003;
}

static void *worker(void *arg) {
    int id = (int)(uintptr_t)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (taken == queued && !closed)
            pthread_cond_wait(&have_work, &lock);
        if (taken == queued) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        int job = queue[taken++];
        take_hash = (take_hash ^ (unsigned long long)(job * WORKERS + id)) *
                    1099511628211ULL;
        pthread_mutex_unlock(&lock);

        unsigned long long r = compute(job);

        pthread_mutex_lock(&lock);
        result[job] = r;
        owner[job] = id;
        runs[job]++;
        per_worker[id]++;
        pthread_mutex_unlock(&lock);
    }
}

int main(void) {
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i))
            return 3;
    for (int j = 0; j < JOBS; j++) {
        pthread_mutex_lock(&lock);
        queue[queued++] = j;
        pthread_cond_signal(&have_work);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    closed = 1;
    pthread_cond_broadcast(&have_work);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);

    int bad = 0;
    unsigned long long sum = 0, expected = 0, owner_hash = 1469598103934665603ULL;
    for (int j = 0; j < JOBS; j++) {
        if (runs[j] != 1)
            bad++;
        sum += result[j];
        expected += compute(j);
        owner_hash = (owner_hash ^ (unsigned long long)owner[j]) * 1099511628211ULL;
    }
    printf("per worker:");
    long total = 0;
    for (int i = 0; i < WORKERS; i++) {
        printf(" %ld", per_worker[i]);
        total += per_worker[i];
    }
    printf("\n");
    printf("jobs: %ld\n", total);
    printf("sum: %llu\n", sum);
    printf("expected sum: %llu\n", expected);
    printf("owner hash: %016llx\n", owner_hash);
    printf("take hash: %016llx\n", take_hash);
    printf("bad jobs: %d\n", bad);
    return (bad == 0 && total == JOBS && sum == expected) ? 0 : 1;
}
