/* A loop in writable and executable memory, as a JIT compiles code, that
 * calls a helper in the program's own (fixed) code at every pass, as V8's
 * compiled JavaScript calls its builtins; one thread runs it while another
 * yields in a loop, so the first is preempted, mostly inside the loop.
 * Prints the sum.
 * usage: jit_calls [COUNT] */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static volatile long bias = 1;
static volatile int done;

__attribute__((noinline)) long helper(long n) {
    return n % 7 + bias;
}

/* long f(long n, long (*helper)(long)): sums helper(k) for k = n..1. */
static const unsigned char code[] = {
    0x53,                         /* push rbx */
    0x41, 0x54,                   /* push r12 */
    0x41, 0x55,                   /* push r13 */
    0x48, 0x89, 0xfb,             /* mov rbx, rdi */
    0x49, 0x89, 0xf5,             /* mov r13, rsi */
    0x4d, 0x31, 0xe4,             /* xor r12, r12 */
    0x48, 0x89, 0xdf,             /* loop: mov rdi, rbx */
    0x41, 0xff, 0xd5,             /* call r13 */
    0x49, 0x01, 0xc4,             /* add r12, rax */
    0x48, 0xff, 0xcb,             /* dec rbx */
    0x75, 0xf2,                   /* jnz loop */
    0x4c, 0x89, 0xe0,             /* mov rax, r12 */
    0x41, 0x5d,                   /* pop r13 */
    0x41, 0x5c,                   /* pop r12 */
    0x5b,                         /* pop rbx */
    0xc3,                         /* ret */
};

static void *yielder(void *arg) {
    (void)arg;
    while (!done)
        sched_yield();
    return NULL;
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 100000000L;
    unsigned char *jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (jit == MAP_FAILED)
        return 1;
    memcpy(jit, code, sizeof code);
    pthread_t t;
    pthread_create(&t, NULL, yielder, NULL);
    long (*f)(long, long (*)(long)) = (long (*)(long, long (*)(long)))jit;
    long sum = f(count, helper);
    done = 1;
    pthread_join(t, NULL);
    printf("sum: %ld\n", sum);
    return 0;
}
