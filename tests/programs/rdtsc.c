/* rdtsc: time-stamp counter reads, which replay must trap and reproduce. */
#include <stdio.h>
#include <x86intrin.h>

int main(void) {
    unsigned long long v[5];
    for (int i = 0; i < 5; i++)
        v[i] = __rdtsc();
    unsigned int aux1 = 0, aux2 = 0;
    unsigned long long p1 = __rdtscp(&aux1);
    unsigned long long p2 = __rdtscp(&aux2);
    for (int i = 0; i < 5; i++)
        printf("rdtsc %d: %llu\n", i, v[i]);
    printf("rdtscp 0: %llu aux=%u\n", p1, aux1);
    printf("rdtscp 1: %llu aux=%u\n", p2, aux2);
    int monotonic = 1;
    for (int i = 1; i < 5; i++)
        if (v[i] < v[i - 1])
            monotonic = 0;
    if (p1 < v[4] || p2 < p1)
        monotonic = 0;
    printf("monotonic: %s\n", monotonic ? "yes" : "no");
    return 0;
}
