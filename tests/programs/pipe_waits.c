// Pipe reads that wait inside the syscall buffer (a task alone in its
// memory domain, reading from a slow writer) and what must still reach
// them: a signal without
// SA_RESTART (EINTR), one with SA_RESTART (the read goes on), and a
// process that joins the domain through a shared mapping and must run for
// the read to end, and a SIGKILL. A write that waits is interrupted
// after part of it went in.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static void handle(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
}

static void alarm_in_ms(long ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

// A writer process that writes `text` after `ms` milliseconds.
static pid_t writer(int fds[2], const char *text, long ms) {
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        usleep(ms * 1000);
        if (write(fds[1], text, strlen(text)) < 0) _exit(2);
        _exit(0);
    }
    close(fds[1]);
    return pid;
}

static void signals(void) {
    int fds[2];
    char buf[64];
    if (pipe(fds)) exit(1);
    pid_t pid = writer(fds, "late", 1500);
    handle(0);
    alarm_in_ms(300);
    ssize_t n = read(fds[0], buf, sizeof buf);
    printf("without SA_RESTART: %zd %s, ticks %d\n", n, n < 0 ? strerror(errno) : "", (int)ticks);
    handle(1);
    alarm_in_ms(300);
    n = read(fds[0], buf, sizeof buf);
    printf("with SA_RESTART: %zd '%.*s', ticks %d\n", n, n > 0 ? (int)n : 0, buf, (int)ticks);
    waitpid(pid, NULL, 0);
    close(fds[0]);
}

static void join(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/pipe_waits_shared", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096)) exit(1);
    int fds[2];
    if (pipe(fds)) exit(1);
    // Forked before any shared mapping: the child starts a domain of its own.
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        usleep(200 * 1000);
        // Joins the parent's domain, whose one task waits in read for
        // what this child writes next.
        int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (shared == MAP_FAILED) _exit(2);
        shared[0] = 42;
        if (write(fds[1], "joined", 6) != 6) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED) exit(1);
    char buf[64];
    ssize_t n = read(fds[0], buf, sizeof buf);
    int status;
    waitpid(pid, &status, 0);
    printf("joined: %zd '%.*s', shared %d, child status %d\n", n, n > 0 ? (int)n : 0, buf, shared[0], status);
    munmap(shared, 4096);
    close(fd);
    close(fds[0]);
    unlink(path);
}

// A child that writes lines to a file, all buffered, then waits in a pipe
// read until its parent kills it: its writes must still be in the trace.
static void killed(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/pipe_waits_lines", dir);
    int fds[2];
    if (pipe(fds)) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char line[64];
        for (int i = 0; i < 100; i++) {
            int n = snprintf(line, sizeof line, "line %d\n", i);
            if (write(fd, line, n) != n) _exit(2);
        }
        char buf[16];
        if (read(fds[0], buf, sizeof buf) < 0) _exit(3);
        _exit(0);
    }
    close(fds[0]);
    usleep(300 * 1000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    struct stat st;
    stat(path, &st);
    printf("killed: signal %d, file size %ld\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0, (long)st.st_size);
    unlink(path);
    close(fds[1]);
}

// A write bigger than the pipe waits for a reader that comes late; a
// signal (SA_RESTART or not) ends it after the part that went in, whose
// count it returns.
static void interrupted_write(int restart) {
    int fds[2];
    if (pipe(fds)) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        usleep(1500 * 1000);
        char buf[4096];
        while (read(fds[0], buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(fds[0]);
    static char big[1 << 20];
    handle(restart);
    alarm_in_ms(300);
    ssize_t n = write(fds[1], big, sizeof big);
    close(fds[1]);
    waitpid(pid, NULL, 0);
    printf("interrupted write%s: %zd\n", restart ? " with SA_RESTART" : "", n);
}

// A reader waits for each of a slow writer's messages, on descriptor 10.
static void slow_writer(void) {
    int fds[2];
    if (pipe(fds)) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 20; i++) {
            usleep(2000);
            if (write(fds[1], "m", 1) != 1) _exit(2);
        }
        _exit(0);
    }
    close(fds[1]);
    if (dup2(fds[0], 10) != 10) exit(1);
    close(fds[0]);
    char buf[64];
    int messages = 0;
    ssize_t n;
    while ((n = read(10, buf, sizeof buf)) > 0) messages += n;
    waitpid(pid, NULL, 0);
    close(10);
    printf("slow writer: %d messages, last read %zd\n", messages, n);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    setvbuf(stdout, NULL, _IONBF, 0);
    slow_writer();
    signals();
    interrupted_write(0);
    interrupted_write(1);
    join(dir);
    killed(dir);
    return 0;
}
