/* dirs: create a directory (argv[1]) with a few files, list it in readdir
 * order (which depends on the file system's hashing), stat each entry and
 * print sizes and mtimes in nanoseconds (different on every run). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "dirs: %s: %s\n", what, strerror(errno));
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: dirs DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    static const char *names[] = {"alpha.txt", "beta.txt", "gamma.dat", "delta", "epsilon.log"};
    char path[4096];

    if (mkdir(dir, 0755) != 0)
        die("mkdir");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0)
            die("create");
        /* file i holds (i + 1) * 10 bytes */
        char data[64];
        memset(data, 'a' + (int)i, sizeof data);
        if (write(fd, data, (i + 1) * 10) != (ssize_t)((i + 1) * 10))
            die("write");
        close(fd);
    }
    snprintf(path, sizeof path, "%s/subdir", dir);
    if (mkdir(path, 0700) != 0)
        die("mkdir subdir");

    DIR *d = opendir(dir);
    if (!d)
        die("opendir");
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            die("fstatat");
        printf("%s %s size=%lld mode=%o ino=%llu mtime_ns=%lld%09ld\n", e->d_name,
               S_ISDIR(st.st_mode) ? "dir" : "file", (long long)st.st_size,
               (unsigned)(st.st_mode & 07777), (unsigned long long)st.st_ino,
               (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        count++;
    }
    closedir(d);
    printf("entries: %d\n", count);
    return 0;
}
