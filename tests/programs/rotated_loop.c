/* Two threads run a counting loop that is entered at its condition, as
 * compilers lay out `for (k = 0; k < N; k++)` (Go's does): `jmp cond`
 * first, the compare at the bottom. A preemption point on the instruction
 * before the compare needs the compare displaced by replay's in-task
 * check, and every entry of the loop lands on it. Prints each thread's sum.
 * Usage: rotated_loop ROUNDS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long rounds;

static unsigned long count(unsigned long x)
{
    __asm__ volatile(
        "xor %%eax, %%eax\n"
        "jmp 2f\n"
        "1:\n"
        "lea 1(%%rax), %%rcx\n"
        "add %%rax, %%rdx\n"
        "mov %%rcx, %%rax\n"
        "2:\n"
        "cmp $1000000, %%rax\n"
        "jl 1b\n"
        : "+d"(x)
        :
        : "rax", "rcx", "cc");
    return x;
}

static void *worker(void *arg)
{
    unsigned long x = (unsigned long)arg;
    for (long i = 0; i < rounds; i++)
        x = count(x) ^ (unsigned long)i;
    return (void *)x;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 100;
    pthread_t a, b;
    pthread_create(&a, NULL, worker, (void *)1);
    pthread_create(&b, NULL, worker, (void *)2);
    void *ra, *rb;
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    printf("sums: %lx %lx\n", (unsigned long)ra, (unsigned long)rb);
    return 0;
}
