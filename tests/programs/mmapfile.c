/* mmapfile: file-backed mappings.
 *
 *   mmapfile PATH             write PATH (3 pages), map it MAP_PRIVATE
 *                             read-only and checksum it, then map it
 *                             MAP_SHARED read-write, modify it through the
 *                             mapping, msync, and read it back with pread();
 *                             also map /usr/bin/ls read-only.
 *   mmapfile PATH --map-only  map an existing PATH read-only (no read(), no
 *                             write) and print its size and checksum.
 *
 * Checksums are 64-bit FNV-1a, printed in hex. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_SIZE (3 * 4096)

static void die(const char *what) {
    fprintf(stderr, "mmapfile: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int map_only(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open");
    struct stat st;
    if (fstat(fd, &st) != 0)
        die("fstat");
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        printf("size: 0\n");
        return 0;
    }
    unsigned char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        die("mmap");
    close(fd);
    printf("size: %zu\n", size);
    printf("checksum: %016llx\n", (unsigned long long)fnv1a(p, size));
    printf("head: ");
    for (size_t i = 0; i < size && i < 32; i++)
        putchar(p[i] >= 32 && p[i] < 127 ? p[i] : '.');
    printf("\n");
    munmap(p, size);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mmapfile PATH [--map-only]\n");
        return 2;
    }
    const char *path = argv[1];
    if (argc > 2 && strcmp(argv[2], "--map-only") == 0)
        return map_only(path);

    static unsigned char data[FILE_SIZE];
    for (size_t i = 0; i < FILE_SIZE; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        die("open");
    if (write(fd, data, FILE_SIZE) != FILE_SIZE)
        die("write");

    unsigned char *priv = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    if (priv == MAP_FAILED)
        die("mmap private");
    printf("private mapping at %p\n", (void *)priv);
    printf("private checksum: %016llx\n", (unsigned long long)fnv1a(priv, FILE_SIZE));
    printf("private matches written data: %s\n", memcmp(priv, data, FILE_SIZE) == 0 ? "yes" : "no");
    munmap(priv, FILE_SIZE);

    unsigned char *shared = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED)
        die("mmap shared");
    memcpy(shared + 100, "SCRIBE", 6);
    shared[5000] = 0xAB;
    shared[FILE_SIZE - 1] = 0x5A;
    if (msync(shared, FILE_SIZE, MS_SYNC) != 0)
        die("msync");
    printf("shared checksum: %016llx\n", (unsigned long long)fnv1a(shared, FILE_SIZE));
    munmap(shared, FILE_SIZE);

    char word[7] = {0};
    if (pread(fd, word, 6, 100) != 6)
        die("pread word");
    unsigned char b1 = 0, b2 = 0;
    if (pread(fd, &b1, 1, 5000) != 1 || pread(fd, &b2, 1, FILE_SIZE - 1) != 1)
        die("pread bytes");
    printf("read back at 100: [%s]\n", word);
    printf("read back at 5000: %02x, at end: %02x\n", b1, b2);
    static unsigned char back[FILE_SIZE];
    if (pread(fd, back, FILE_SIZE, 0) != FILE_SIZE)
        die("pread all");
    printf("file checksum after msync: %016llx\n", (unsigned long long)fnv1a(back, FILE_SIZE));
    close(fd);

    int lfd = open("/usr/bin/ls", O_RDONLY);
    if (lfd < 0)
        die("open /usr/bin/ls");
    struct stat st;
    if (fstat(lfd, &st) != 0)
        die("fstat /usr/bin/ls");
    size_t n = (size_t)st.st_size < 65536 ? (size_t)st.st_size : 65536;
    unsigned char *ls = mmap(NULL, n, PROT_READ, MAP_PRIVATE, lfd, 0);
    if (ls == MAP_FAILED)
        die("mmap /usr/bin/ls");
    close(lfd);
    printf("ls magic: %02x%02x%02x%02x\n", ls[0], ls[1], ls[2], ls[3]);
    printf("ls checksum(%zu): %016llx\n", n, (unsigned long long)fnv1a(ls, n));
    munmap(ls, n);
    return 0;
}
