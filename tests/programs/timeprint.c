/* timeprint: clocks that glibc reads through the vDSO (no system call). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

int main(void) {
    time_t t = time(NULL);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct timespec rt, mono, mono2, coarse;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME_COARSE, &coarse);

    /* Many reads in a row: replay must hand back each one in order. */
    long long prev = (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec;
    long long sum = 0;
    int backwards = 0;
    for (int i = 0; i < 1000; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        if (now < prev)
            backwards++;
        sum += now - prev;
        prev = now;
    }
    clock_gettime(CLOCK_MONOTONIC, &mono2);

    printf("time: %lld\n", (long long)t);
    printf("gettimeofday: %lld.%06ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
    printf("realtime: %lld.%09ld\n", (long long)rt.tv_sec, rt.tv_nsec);
    printf("realtime_coarse: %lld.%09ld\n", (long long)coarse.tv_sec, coarse.tv_nsec);
    printf("monotonic: %lld.%09ld\n", (long long)mono.tv_sec, mono.tv_nsec);
    printf("monotonic_after_loop: %lld.%09ld\n", (long long)mono2.tv_sec, mono2.tv_nsec);
    printf("loop_sum_ns: %lld\n", sum);
    printf("backwards: %d\n", backwards);
    return 0;
}
