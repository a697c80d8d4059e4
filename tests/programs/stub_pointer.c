/* A thread counts in a loop while r9 holds an address inside Scribe's stub
 * page (0x70000000, where the syscall buffer's library maps it), as ld.so
 * loading a library once left r9 there; the main thread computes, so the
 * counter is preempted in its loop. A point's state holds the bytes each
 * register points to, and that page holds the record-mode stub in the
 * recording but the replay-mode one in replay. Prints whether the thread
 * counted.
 * usage: stub_pointer [ROUNDS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long flag;
static long counted;

static void *counter(void *arg) {
    (void)arg;
    long n = 0;
    __asm__ volatile(
        "1: add $1, %0\n\t"
        "mov $0x70000025, %%r9\n\t"
        "mov (%1), %%rcx\n\t"
        "test %%rcx, %%rcx\n\t"
        "je 1b\n\t"
        "xor %%r9d, %%r9d\n\t"
        : "+r"(n) : "r"(&flag) : "rcx", "r9", "cc", "memory");
    counted = n;
    return NULL;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 600;
    pthread_t t;
    pthread_create(&t, NULL, counter, NULL);
    volatile double x = 0;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 300000; i++)
            x += i * 0.5;
    flag = 1;
    pthread_join(t, NULL);
    printf("%s\n", counted > 0 ? "counted" : "none");
    return 0;
}
