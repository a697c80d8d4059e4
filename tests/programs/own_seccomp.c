// The program's own seccomp filter: getppid traps (SIGSYS, whose handler
// answers 4242 in its place) and getuid fails with EPERM. The filter
// applies to every later syscall, Scribe's library's included.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int traps;

static void on_sigsys(int sig, siginfo_t *info, void *context) {
    (void)sig;
    ucontext_t *uc = context;
    if (info->si_syscall == SYS_getppid) uc->uc_mcontext.gregs[REG_RAX] = 4242;
    traps++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    int set = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) | (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    long a = syscall(SYS_getppid);
    long b = getppid();
    errno = 0;
    long uid = syscall(SYS_getuid);
    int uid_errno = errno;
    printf("filter %d, getppid %ld %ld, traps %d, getuid %ld %s\n", set, a, b, traps, uid, strerror(uid_errno));
    return 0;
}
