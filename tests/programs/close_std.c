/* close_std: closes fds 0, 1 and 2, then opens the file argv[1] (which
 * gets fd 0), writes a line to it, reads it back and exits 0 if all went
 * well (2 if the open failed, 3 if the write, 4 if the check). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static const char line[] = "written with fds 0, 1 and 2 closed\n";
    if (argc < 2)
        return 1;
    close(0);
    close(1);
    close(2);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 2;
    if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
        return 3;
    /* A write to the closed stdout must fail (EBADF), not crash. */
    if (fd != 1 && write(1, "lost\n", 5) >= 0)
        return 4;
    char buf[sizeof line];
    if (pread(fd, buf, sizeof line - 1, 0) != (ssize_t)(sizeof line - 1) ||
        memcmp(buf, line, sizeof line - 1) != 0)
        return 4;
    if (fd != 0)
        return 5;
    close(fd);
    return 0;
}
