/* fileio: write a file (argv[1]), read it back, seek, fstat, append.
 * Prints contents and sizes, plus the inode number and the mtime in
 * nanoseconds, which differ from run to run: replay must reproduce them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "fileio: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void write_all(int fd, const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0)
            die("write");
        s += n;
        len -= (size_t)n;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fileio PATH\n");
        return 2;
    }
    const char *path = argv[1];
    const char *first = "first line of the scribe test file\nsecond line\n";
    const char *appended = "appended line\n";
    char buf[4096];

    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        die("open");
    write_all(fd, first);

    off_t end = lseek(fd, 0, SEEK_CUR);
    printf("offset after write: %lld\n", (long long)end);
    if (lseek(fd, 0, SEEK_SET) != 0)
        die("lseek");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        die("read");
    buf[n] = 0;
    printf("read %zd bytes:\n%s", n, buf);

    /* read a slice in the middle */
    if (lseek(fd, 6, SEEK_SET) != 6)
        die("lseek 6");
    n = read(fd, buf, 4);
    if (n < 0)
        die("read slice");
    buf[n] = 0;
    printf("slice at 6: [%s]\n", buf);
    n = pread(fd, buf, 6, 0);
    buf[n < 0 ? 0 : n] = 0;
    printf("pread at 0: [%s]\n", buf);

    struct stat st;
    if (fstat(fd, &st) != 0)
        die("fstat");
    printf("fstat size: %lld\n", (long long)st.st_size);
    printf("seek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
    printf("inode: %llu mtime_ns: %lld%09ld\n", (unsigned long long)st.st_ino,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    close(fd);

    fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        die("open append");
    write_all(fd, appended);
    close(fd);

    fd = open(path, O_RDONLY);
    if (fd < 0)
        die("reopen");
    size_t total = 0;
    while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
        total += (size_t)n;
    if (n < 0)
        die("read all");
    buf[total] = 0;
    if (stat(path, &st) != 0)
        die("stat");
    close(fd);
    printf("after append, %zu bytes (stat size %lld):\n%s", total, (long long)st.st_size, buf);
    printf("done\n");
    return 0;
}
