/* A thread that is not the main one ends the process (as a Go program's
 * main goroutine does, from whatever thread runs it) while the main thread
 * and four others keep making syscalls. The calls are made with a
 * `syscall` instruction of this program's own, so that they stop even
 * with the syscall buffer. Exit status 3. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long raw_getppid(void)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return ret;
}

static volatile long calls[5];

static void *caller(void *arg)
{
    long i = (long)arg;
    for (;;) {
        raw_getppid();
        calls[i]++;
    }
    return NULL;
}

static void *ender(void *arg)
{
    (void)arg;
    struct timespec t = {0, 30 * 1000 * 1000};
    nanosleep(&t, NULL);
    printf("ending after calls\n");
    fflush(stdout);
    _exit(3);
}

int main(void)
{
    pthread_t t;
    for (long i = 1; i < 5; i++)
        pthread_create(&t, NULL, caller, (void *)i);
    pthread_create(&t, NULL, ender, NULL);
    caller((void *)0);
    return 0;
}
