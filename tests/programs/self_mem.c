// Patches its own memory through /proc/self/mem, as JITs and hot-patchers
// do: a read-only constant with pwrite, a writable global with lseek and
// write. Replay emulates the writes, and must still change the memory.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static const char constant[16] = "read-only text";
char global[16] = "writable text";

int main(void) {
    int fd = open("/proc/self/mem", O_RDWR);
    if (fd < 0) return 1;
    ssize_t a = pwrite(fd, "PATCHED", 7, (off_t)(uintptr_t)constant);
    ssize_t b = -1;
    if (lseek(fd, (off_t)(uintptr_t)global, SEEK_SET) >= 0) b = write(fd, "CHANGED", 7);
    close(fd);
    printf("wrote %zd %zd: %s / %s\n", a, b, constant, global);
    return 0;
}
