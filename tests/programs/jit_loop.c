/* A counting loop copied into writable and executable memory, as a JIT
 * compiles code, run by one thread while another yields in a loop: the
 * first is preempted inside that memory, where Scribe must not patch the
 * code (the program could read or rewrite it). Between runs the code is
 * rewritten (its step), as a JIT patches code. Prints the sums, and a
 * checksum of the code read back.
 * usage: jit_loop [COUNT] */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* long f(long n): sums n * STEP, n-1 * STEP, ... counting n down. */
static const unsigned char code[] = {
    0x31, 0xc0,                   /* xor eax, eax */
    0x48, 0x8d, 0x04, 0x38,       /* loop: lea rax, [rax + rdi] (patched: step) */
    0x48, 0xff, 0xcf,             /* dec rdi */
    0x75, 0xf7,                   /* jnz loop */
    0xc3,                         /* ret */
};

static volatile int done;

static void *yielder(void *arg) {
    (void)arg;
    long yields = 0;
    while (!done) {
        sched_yield();
        yields++;
    }
    return (void *)(yields > 0 ? 1L : 0L);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 300000000L;
    unsigned char *jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (jit == MAP_FAILED)
        return 1;
    memcpy(jit, code, sizeof code);
    pthread_t t;
    pthread_create(&t, NULL, yielder, NULL);
    long (*f)(long) = (long (*)(long))jit;
    long first = f(count);
    /* Patch the add into a doubled one: lea rax, [rax + rdi*2]. */
    jit[5] = 0x78;
    long second = f(count / 2);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof code; i++)
        sum = sum * 31 + jit[i];
    done = 1;
    void *yielded;
    pthread_join(t, &yielded);
    printf("sums: %ld %ld\ncode checksum: %u\nyielded: %s\n", first, second, sum, yielded ? "yes" : "no");
    return 0;
}
