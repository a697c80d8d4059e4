/* random: kernel randomness (getrandom, /dev/urandom) and rand() seeded
 * from the pid and the time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, size_t n) {
    printf("%s: ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char buf[32];
    ssize_t n = getrandom(buf, sizeof buf, 0);
    if (n != (ssize_t)sizeof buf) {
        fprintf(stderr, "random: getrandom: %s\n", strerror(errno));
        return 2;
    }
    hex("getrandom", buf, sizeof buf);

    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "random: /dev/urandom: %s\n", strerror(errno));
        return 2;
    }
    n = read(fd, buf, 24);
    close(fd);
    if (n != 24) {
        fprintf(stderr, "random: short read from /dev/urandom\n");
        return 2;
    }
    hex("urandom", buf, 24);

    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    int a = rand(), b = rand(), c = rand();
    printf("rand: %d %d %d\n", a, b, c);
    return 0;
}
