/* Questions a compiler driver or a shell asks thousands of times: does a
 * path exist (access, open of a missing file), who am I, where am I, what
 * are my limits, is this a terminal, which cpu, some random bytes (malloc
 * and hash seeds ask at start), which signals are blocked. Each answer is printed so that replay
 * must give the same ones. Usage: queries DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: queries DIR\n");
        return 2;
    }
    int missing = 0;
    char path[64];
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "include%d/stdio.h", i % 10);
        if (open(path, O_RDONLY | O_CLOEXEC) < 0 && errno == ENOENT)
            missing++;
    }
    printf("missing opens: %d\n", missing);
    /* A file that appears between two opens: the second open finds it. */
    int before = open("late", O_RDONLY);
    int saved = errno;
    close(open("late", O_WRONLY | O_CREAT, 0600));
    int after = open("late", O_RDONLY);
    printf("late: before %d (%s), after %s\n", before, strerror(saved), after >= 0 ? "opened" : "failed");
    /* A directory component that is a file. */
    int through = open("late/x", O_RDONLY);
    printf("through a file: %d (%s)\n", through, strerror(errno));
    int accessible = 0;
    for (int i = 0; i < 100; i++)
        accessible += access(i % 2 ? "late" : "nothing", R_OK) == 0;
    accessible += faccessat(AT_FDCWD, "late", W_OK, 0) == 0;
    printf("accessible: %d\n", accessible);
    printf("ids: %d %d %d %d\n", (int)getuid(), (int)getgid(), (int)geteuid(), (int)getegid());
    /* libc's own calls of the identities (a shell's command search). */
    int effective = 0;
    for (int i = 0; i < 20; i++)
        effective += euidaccess("late", R_OK) == 0;
    printf("effective access: %d\n", effective);
    /* Blocking signals around a critical section, as shells do around
     * every fork: the blocks and the question need no stop, the restore
     * (which may unblock a pending signal) does. */
    sigset_t block, old, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGCHLD);
    int blocked = 0;
    for (int i = 0; i < 20; i++) {
        sigprocmask(SIG_BLOCK, &block, &old);
        sigprocmask(SIG_BLOCK, NULL, &now);
        blocked += sigismember(&now, SIGUSR1) && sigismember(&now, SIGCHLD);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    printf("blocked: %d\n", blocked);
    char cwd[256];
    printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
    struct utsname u;
    uname(&u);
    printf("uname: %s %s\n", u.sysname, u.machine);
    struct sysinfo si;
    sysinfo(&si);
    printf("uptime: %ld procs: %d\n", si.uptime, si.procs);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("nofile: %llu\n", (unsigned long long)rl.rlim_cur);
    printf("isatty(1): %d isatty(fd of file): %d\n", isatty(1), isatty(after));
    struct winsize ws = {0};
    printf("winsize: %d\n", ioctl(0, TIOCGWINSZ, &ws));
    /* A thread pool asks which cpu it runs on. */
    int on_cpu = 0;
    for (int i = 0; i < 50; i++)
        on_cpu += sched_getcpu() >= 0;
    printf("sched_getcpu answered: %d\n", on_cpu);
    unsigned char seed[16];
    ssize_t got = getrandom(seed, sizeof seed, GRND_NONBLOCK);
    printf("random:");
    for (ssize_t i = 0; i < got; i++)
        printf(" %02x", seed[i]);
    printf("\n");
    return 0;
}
