// Settings a process makes for itself that shape later calls: a data
// limit (brk fails past it, in replay too, where brk runs for real),
// PR_SET_TSC (rdtsc must keep trapping to be recorded; PR_GET_TSC still
// says enabled, as rdtsc behaves for the program) and Linux AIO
// (refused: the kernel would write read data outside any syscall).
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

int main(void) {
    struct rlimit limit = {1 << 20, RLIM_INFINITY};
    void *start = sbrk(0);
    int set = setrlimit(RLIMIT_DATA, &limit);
    void *grown = sbrk(64 << 20);
    printf("data limit: set %d, sbrk of 64 MiB %s\n", set, grown == (void *)-1 ? "failed" : "succeeded");
    (void)start;

    int tsc = prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0);
    uint64_t a = __rdtsc(), b = __rdtsc();
    printf("PR_SET_TSC: %d, time-stamp counter went %s\n", tsc, b > a ? "forward" : "backward");
    int mode = -1;
    int got = prctl(PR_GET_TSC, &mode, 0, 0, 0);
    printf("PR_GET_TSC: %d, mode %s\n", got, mode == PR_TSC_ENABLE ? "enable" : mode == PR_TSC_SIGSEGV ? "sigsegv" : "unknown");

    unsigned long context = 0;
    long aio = syscall(SYS_io_setup, 8, &context);
    printf("io_setup: %ld %s\n", aio, aio < 0 ? strerror(errno) : "");
    return 0;
}
