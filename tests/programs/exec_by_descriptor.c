// Execs through descriptors: a child runs fexecve (execveat of an open
// file with an empty path), then the parent runs execveat relative to an
// open directory. Replay has no such descriptors (their opens are
// emulated): it must still exec the same files under the same names.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    pid_t pid = fork();
    if (pid == 0) {
        int file = open("/bin/echo", O_RDONLY | O_CLOEXEC);
        char *argv[] = {"echo", "by fexecve", NULL};
        fexecve(file, argv, environ);
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    fflush(stdout);
    int dir = open("/bin", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *argv[] = {"echo", "by execveat", NULL};
    syscall(SYS_execveat, dir, "echo", argv, environ, 0);
    return 4;
}
