/* Asks for an io_uring and reads a file through it, or with read() when
 * the kernel (or Scribe) says there is none, as programs built on liburing
 * do. Prints which way it read and the first line. Usage: io_uring FILE */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int ring = syscall(__NR_io_uring_setup, 8, &params);
    if (ring >= 0) {
        printf("io_uring: available\n");
        close(ring);
    } else {
        printf("io_uring: %s\n", strerror(errno));
    }
    char buf[256] = {0};
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0)
        return 3;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    printf("first line: %s\n", buf);
    return 0;
}
