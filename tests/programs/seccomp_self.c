/* seccomp_self: installs its own seccomp filter (after
 * PR_SET_NO_NEW_PRIVS) that allows every system call except getppid,
 * which fails with EPERM; then calls getppid and prints the result and
 * errno. Exits 0 if getppid failed with EPERM, 1 otherwise. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    setvbuf(stdout, NULL, _IONBF, 0);
    int r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    printf("no_new_privs = %d\n", r);
    r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    printf("seccomp = %d%s%s\n", r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
    errno = 0;
    long ppid = syscall(SYS_getppid);
    int err = errno;
    printf("getppid = %ld errno=%s\n", ppid < 0 ? ppid : 1L,
           err == EPERM ? "EPERM" : err == 0 ? "0" : strerror(err));
    /* Other calls still work. */
    printf("getpid ok: %d\n", getpid() > 0);
    return (ppid == -1 && err == EPERM) ? 0 : 1;
}
