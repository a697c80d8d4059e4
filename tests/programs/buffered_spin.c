/* A thread that waits for a flag by pausing briefly and asking getppid,
 * in a loop: a call the syscall buffer makes without a stop, and passes
 * that leave every register, stack word and byte of memory alike but for
 * the buffer's own count. The main thread computes meanwhile, so the
 * waiter is preempted in its pause, and replay must find the pass where
 * that happened. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile int stop;

static void *waiter(void *arg) {
    (void)arg;
    while (!stop) {
        for (int i = 0; i < 50000; i++)
            __asm__ volatile("");
        getppid();
    }
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    volatile double x = 0;
    for (int round = 0; round < 300; round++)
        for (int i = 0; i < 300000; i++)
            x += i * 0.25;
    stop = 1;
    pthread_join(t, NULL);
    printf("sum: %.0f\n", x);
    return 0;
}
