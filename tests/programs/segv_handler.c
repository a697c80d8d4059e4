/* segv_handler: a SIGSEGV handler that siglongjmps out; three faults on
 * pages of an inaccessible mapping whose address depends on ASLR. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static void *volatile fault_addr;
static volatile int handled;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    fault_addr = si->si_addr;
    handled++;
    siglongjmp(env, 1);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        return 2;

    long page = sysconf(_SC_PAGESIZE);
    char *region = mmap(NULL, 3 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return 2;
    printf("region: %p\n", (void *)region);

    int ok = 0;
    for (int i = 0; i < 3; i++) {
        volatile char *target = region + i * page + 8 * (i + 1);
        if (sigsetjmp(env, 1) == 0) {
            if (i == 1)
                *target = 1; /* a write fault */
            else
                (void)*target; /* read faults */
            printf("fault %d: no fault?\n", i);
        } else {
            printf("fault %d at %p expected %s\n", i, fault_addr,
                   fault_addr == (void *)target ? "yes" : "no");
            if (fault_addr == (void *)target)
                ok++;
        }
    }
    printf("handled: %d, matching addresses: %d\n", handled, ok);
    return ok == 3 ? 0 : 1;
}
