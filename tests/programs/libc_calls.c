/* libc_calls: syscalls that libc makes itself, not through the functions a
 * preload library can interpose: opendir/readdir/closedir (openat,
 * getdents64, close), stdio reads (read, fstat, lseek), and the generic
 * syscall() function with a buffered number (getpid) and with one that must
 * stop (a fork-like clone). Usage: libc_calls DIR (DIR must exist, empty). */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long hash_str(unsigned long h, const char *s) {
    while (*s)
        h = h * 31 + (unsigned char)*s++;
    return h;
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0)
        return 2;
    char name[64];
    for (int d = 0; d < 4; d++) {
        snprintf(name, sizeof name, "dir%d", d);
        mkdir(name, 0755);
        for (int f = 0; f < 30; f++) {
            snprintf(name, sizeof name, "dir%d/file%02d", d, f);
            FILE *out = fopen(name, "w");
            if (!out)
                return 3;
            fprintf(out, "%d %d %s\n", d, f, name);
            fclose(out);
        }
    }
    unsigned long listing = 0, contents = 0;
    int entries = 0;
    for (int round = 0; round < 20; round++) {
        for (int d = 0; d < 4; d++) {
            snprintf(name, sizeof name, "dir%d", d);
            DIR *dir = opendir(name);
            if (!dir)
                return 4;
            struct dirent *e;
            while ((e = readdir(dir)) != NULL) {
                /* readdir order is the file system's: hash order-free. */
                listing += hash_str(7, e->d_name);
                entries++;
                if (e->d_name[0] != 'f')
                    continue;
                char path[128];
                snprintf(path, sizeof path, "%s/%s", name, e->d_name);
                FILE *in = fopen(path, "r");
                char line[128];
                if (in && fgets(line, sizeof line, in))
                    contents += hash_str(11, line);
                if (in)
                    fclose(in);
            }
            closedir(dir);
        }
    }
    printf("entries: %d\nlisting: %lu\ncontents: %lu\n", entries, listing, contents);
    long pid = syscall(SYS_getpid);
    printf("syscall(getpid) matches getpid: %s\n", pid == getpid() ? "yes" : "no");
    long child = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (child == 0)
        _exit(7);
    int status = 0;
    if (child < 0 || waitpid((pid_t)child, &status, 0) != child)
        return 5;
    printf("clone child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
