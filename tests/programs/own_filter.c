/* own_filter MODE SIGNAL: a program with a seccomp filter of its own,
 * which makes getpgid fail with EPERM. MODE "early" installs it at the
 * start, "late" after step 1. At step 1 it sends SIGNAL (USR1 or USR2) to
 * its parent, under `scribe record` the recorder: a detach or a bookmark.
 * Then a child reports what getpgid gives it, and so does the program.
 * Used to show that a program going on unrecorded keeps its own filter
 * while Scribe lets its syscalls bypass Scribe's. Exits 4. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void install(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("seccomp");
        _exit(3);
    }
}

static void report(const char *who) {
    long r = syscall(SYS_getpgid, 0);
    printf("%s: getpgid %s\n", who, r >= 0 ? "ok" : errno == EPERM ? "EPERM" : "failed otherwise");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int late = strcmp(argv[1], "late") == 0;
    int sig = strcmp(argv[2], "USR1") == 0 ? SIGUSR1 : SIGUSR2;
    if (!late)
        install();
    report("step 0");
    kill(getppid(), sig);
    usleep(200000);
    if (late)
        install();
    pid_t child = fork();
    if (child == 0) {
        report("child");
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    report("parent");
    return 4;
}
