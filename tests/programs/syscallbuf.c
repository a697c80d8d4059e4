/* Exercises the calls Scribe's preload library buffers: stat family, statx,
 * readlink, xattrs, clock reads, getpid/gettid, and reads/preads/lseeks of a
 * regular file, from two threads; then a loop of only buffered calls that
 * waits for timer signals (the recorder must stop it to deliver them); then
 * reads big enough to fill the buffer several times.
 *
 * usage: syscallbuf DIR   (creates its files in DIR)
 * Prints hashes of everything read (the same in every run), and the last
 * clock values and loop counts (different in every run: replay must give
 * the recorded ones). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static char data_path[4096], link_path[4096], big_path[4096];
static volatile sig_atomic_t ticks;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

struct result {
    uint64_t hash;
    struct timespec last;
};

static void *worker(void *arg) {
    struct result *r = arg;
    uint64_t h = 1469598103934665603ULL;
    char buf[256];
    for (int i = 0; i < 1500; i++) {
        struct stat st;
        if (stat(data_path, &st) == 0) h = mix(h, &st.st_size, sizeof st.st_size);
        if (lstat(link_path, &st) == 0) h = mix(h, &st.st_mode, sizeof st.st_mode);
        struct statx sx;
        if (statx(AT_FDCWD, data_path, 0, STATX_SIZE, &sx) == 0) h = mix(h, &sx.stx_size, sizeof sx.stx_size);
        ssize_t n = readlink(link_path, buf, sizeof buf);
        if (n > 0) h = mix(h, buf, (size_t)n);
        n = getxattr(data_path, "user.scribe-test", buf, sizeof buf);
        int err = n < 0 ? errno : 0;
        h = mix(h, &err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &r->last);
        int fd = open(data_path, O_RDONLY);
        if (fd >= 0) {
            n = pread(fd, buf, 16, i % 64);
            if (n > 0) h = mix(h, buf, (size_t)n);
            off_t off = lseek(fd, 7, SEEK_SET);
            h = mix(h, &off, sizeof off);
            n = read(fd, buf, 32);
            if (n > 0) h = mix(h, buf, (size_t)n);
            if (fstat(fd, &st) == 0) h = mix(h, &st.st_size, sizeof st.st_size);
            close(fd);
        }
        if (getpid() <= 0 || gettid() <= 0) h = 0;
    }
    r->hash = h;
    return NULL;
}

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    snprintf(data_path, sizeof data_path, "%s/data.txt", argv[1]);
    snprintf(link_path, sizeof link_path, "%s/link", argv[1]);
    snprintf(big_path, sizeof big_path, "%s/big.bin", argv[1]);
    FILE *f = fopen(data_path, "w");
    for (int i = 0; i < 20; i++) fprintf(f, "line %02d of the buffered-syscall test\n", i);
    fclose(f);
    unlink(link_path);
    if (symlink("data.txt", link_path) != 0) perror("symlink");

    struct result a = {0}, b = {0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, worker, &a);
    pthread_create(&tb, NULL, worker, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    printf("thread hashes: %016llx %016llx\n", (unsigned long long)a.hash, (unsigned long long)b.hash);
    printf("last clocks: %lld.%09ld %lld.%09ld\n", (long long)a.last.tv_sec, a.last.tv_nsec, (long long)b.last.tv_sec,
           b.last.tv_nsec);

    /* Only buffered calls in this loop: the timer signals are held by the
     * recorder until the task stops, so it must make the task stop. */
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long spins = 0;
    struct timespec now;
    while (ticks < 5) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        spins++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("spins until 5 ticks: %ld\n", spins);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("time: %lld %lld.%06ld\n", (long long)time(NULL), (long long)tv.tv_sec, (long)tv.tv_usec);

    /* 16 reads of 200 KiB: more than the buffer holds. */
    static unsigned char big[200 << 10];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7 + (i >> 9));
    int fd = open(big_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (write(fd, big, sizeof big) != (ssize_t)sizeof big) perror("write");
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; i++) {
        memset(big, 0, sizeof big);
        ssize_t n = pread(fd, big, sizeof big, 0);
        if (n > 0) h = mix(h, big, (size_t)n);
    }
    close(fd);
    printf("big reads hash: %016llx\n", (unsigned long long)h);
    /* Bad pointers get EFAULT, buffered or not, and never crash the library. */
    struct stat st;
    const char *volatile null_path = NULL; /* volatile: no compile-time nonnull warning */
    errno = 0;
    int r1 = stat(null_path, &st);
    int e1 = errno;
    errno = 0;
    int r2 = stat((const char *)1, &st);
    int e2 = errno;
    printf("bad paths: %d %s, %d %s\n", r1, e1 == EFAULT ? "EFAULT" : "?", r2, e2 == EFAULT ? "EFAULT" : "?");
    printf("pid: %d\n", getpid());
    return 0;
}
