/* asan_threads: built with -fsanitize=address (gcc's shared runtime).
 * Four threads allocate, write and free; then, given an index past the
 * end of an 8-byte allocation, the main thread writes there, which
 * AddressSanitizer reports (exit status 1) instead of printing "sum". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *work(void *arg)
{
    char *p = malloc(64);
    p[3] = (char)(long)arg;
    long v = p[3];
    free(p);
    return (void *)v;
}

int main(int argc, char **argv)
{
    pthread_t threads[4];
    long sum = 0;
    for (long i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(threads[i], &r);
        sum += (long)r;
    }
    char *q = malloc(8);
    if (argc > 1)
        q[atoi(argv[1])] = 1;
    printf("sum %ld %d\n", sum, q[0]);
    free(q);
    return 0;
}
