/* shared_anon: a MAP_SHARED|MAP_ANONYMOUS page shared with a forked child.
 * The child writes a magic value, its own pid and a clock reading into the
 * page; the parent waits for it and prints what it finds there. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
    unsigned long magic;
    long pid;
    long long clock_ns;
    unsigned long sum;
};

int main(void) {
    struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return 2;
    s->magic = 1;
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long sum = 0;
        for (unsigned long i = 0; i < 100000; i++)
            sum += i * i;
        s->clock_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        s->pid = getpid();
        s->sum = sum;
        s->magic = 0x5c51be;
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 4;
    printf("magic: %lx\n", s->magic);
    printf("sum: %lu\n", s->sum);
    printf("child pid matches fork: %s\n", s->pid == pid ? "yes" : "no");
    printf("child clock: %lld\n", s->clock_ns);
    printf("child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return s->magic == 0x5c51be ? 0 : 1;
}
