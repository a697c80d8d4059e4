/* The syscall buffer's library keeps what kind of file each descriptor is
 * (regular, pipe...). Here a descriptor number changes kind behind its
 * back, and a read of it must then be made for what it is now:
 *   A: a regular file closed by a raw syscall the library does not see,
 *      its number reused by pipe(): the read is a pipe read (a
 *      non-blocking try answered EAGAIN, then a read that waits; a child
 *      writes the pipe only after 200 ms, so the read finds it empty);
 *   B: a vfork child, in the parent's memory, makes its copy of a regular
 *      file's number a pipe, which its library reads: the parent's read
 *      of the file is a plain one, with no pipe serial.
 * Also reads one file in many small reads (the kind is asked once).
 * Prints what the reads returned. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long raw_close(int fd)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(3L), "D"((long)fd) : "rcx", "r11", "memory");
    return ret;
}

/* A child that writes `text` to `fd` after 200 ms. */
static pid_t late_writer(int fd, const char *text)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec t = {0, 200 * 1000 * 1000};
        nanosleep(&t, NULL);
        write(fd, text, strlen(text));
        _exit(0);
    }
    return pid;
}

static void read_pipe(const char *label, int fd)
{
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("%s %d: %zd %.*s\n", label, fd, n, (int)(n > 0 ? n : 0), buf);
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "/etc/passwd";

    /* Many small reads of one file. */
    int fd = open(file, O_RDONLY);
    char c;
    long bytes = 0;
    for (int i = 0; i < 200 && read(fd, &c, 1) == 1; i++)
        bytes++;
    printf("small reads: %ld\n", bytes);

    /* A: the library knows `fd` as a regular file; it is closed without
     * the library and its number goes to a pipe. */
    if (raw_close(fd) != 0)
        return 2;
    int a[2];
    if (pipe(a) != 0 || a[0] != fd)
        return 3;
    pid_t wa = late_writer(a[1], "late A");
    close(a[1]);
    read_pipe("A", a[0]);
    waitpid(wa, NULL, 0);

    /* B: the parent's `f` is a regular file it read; the vfork child,
     * in the parent's memory, closes its copy of the number and makes a
     * pipe there, which its library reads and writes. */
    int f = open(file, O_RDONLY);
    if (f < 0 || read(f, &c, 1) != 1)
        return 4;
    pid_t child = vfork();
    if (child == 0) {
        int p[2];
        close(f);
        if (pipe(p) != 0 || p[0] != f || write(p[1], "v", 1) != 1 || read(p[0], &c, 1) != 1)
            _exit(5);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 6;
    char buf[16];
    ssize_t n = read(f, buf, 9);
    printf("B %d: %zd\n", f, n);
    return 0;
}
