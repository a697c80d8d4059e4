/* write_mapped FILE: maps FILE shared, read-only, and changes it only
 * with write calls (as LMDB and bbolt do): pwrite, write after lseek,
 * writev, a thread's pwrite through a descriptor of its own, and a child
 * process's (the parent reads after reaping it). After each
 * write it reads the bytes back through the mapping and prints what it
 * saw. Replay emulates the writes, so the mapping sees them only if replay
 * makes them on the file's stand-in too. Exits 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 16384

static unsigned sum(const unsigned char *p, int len) {
    unsigned s = 0;
    for (int i = 0; i < len; i++)
        s = s * 31 + p[i];
    return s;
}

static void *own_descriptor(void *path) {
    int own = open(path, O_WRONLY);
    pwrite(own, "the thread's bytes", 18, 12000);
    close(own);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, SIZE) != 0)
        return 3;
    const unsigned char *map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return 3;
    char line[64];
    for (int i = 0; i < 200; i++) {
        int len = snprintf(line, sizeof line, "record %d of the log;", i);
        pwrite(fd, line, len, (i * 97) % (SIZE - 64));
    }
    printf("after pwrite: %.21s sum %08x\n", map + 97, sum(map, SIZE));
    lseek(fd, 8000, SEEK_SET);
    write(fd, "written at the offset", 21);
    write(fd, " and right after it", 19);
    printf("after write: %.40s\n", map + 8000);
    struct iovec iov[2] = {{"gathered ", 9}, {"from two buffers", 16}};
    writev(fd, iov, 2);
    printf("after writev: %.25s\n", map + 8040);
    pthread_t thread;
    pthread_create(&thread, NULL, own_descriptor, argv[1]);
    pthread_join(thread, NULL);
    printf("after the thread: %.18s sum %08x\n", map + 12000, sum(map, SIZE));
    pid_t child = fork();
    if (child == 0) {
        int own = open(argv[1], O_WRONLY);
        pwrite(own, "the child's bytes", 17, 14000);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("after the child: %.17s sum %08x\n", map + 14000, sum(map, SIZE));
    return 0;
}
