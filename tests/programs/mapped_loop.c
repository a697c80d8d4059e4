/* A counting loop in code the program maps itself, read-only and
 * executable, where the kernel puts mmaps (just below the libraries), run
 * by one thread while the main thread computes: the counter is preempted
 * in that loop. Each instruction of the loop but the last three is 4
 * bytes long, so a check's 5-byte jump at one of them covers the start of
 * the next on the jump's top byte: a branch into it must trap, which asks
 * for a check page 96 MiB or more away. Prints whether the thread counted.
 * usage: mapped_loop [ROUNDS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* long f(volatile long *flag): counts until *flag is set. */
static const unsigned char code[] = {
    0x48, 0x83, 0xc0, 0x01, /* loop: add rax, 1 */
    0x48, 0x83, 0xc2, 0x01, /* add rdx, 1 (eight times) */
    0x48, 0x83, 0xc2, 0x01, 0x48, 0x83, 0xc2, 0x01, 0x48, 0x83, 0xc2, 0x01, 0x48, 0x83, 0xc2, 0x01,
    0x48, 0x83, 0xc2, 0x01, 0x48, 0x83, 0xc2, 0x01, 0x48, 0x83, 0xc2, 0x01,
    0x48, 0x8b, 0x0f,       /* mov rcx, [rdi] */
    0x48, 0x85, 0xc9,       /* test rcx, rcx */
    0x74, 0xd4,             /* je loop */
    0xc3,                   /* ret */
};

static volatile long flag;
static long counted;

static void *counter(void *arg) {
    long (*count)(volatile long *) = (long (*)(volatile long *))arg;
    counted = count(&flag);
    return NULL;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 600;
    unsigned char *mapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED)
        return 1;
    memcpy(mapped, code, sizeof code);
    if (mprotect(mapped, 4096, PROT_READ | PROT_EXEC) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, counter, mapped);
    volatile double x = 0;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 300000; i++)
            x += i * 0.5;
    flag = 1;
    pthread_join(t, NULL);
    printf("%s\n", counted > 0 ? "counted" : "none");
    return 0;
}
