/* compute_golive: opens FILE for writing, writes a line, asks its parent
 * (under `scribe record`, the recorder) for a bookmark with SIGUSR2, then
 * computes for a while without any syscall (the bookmark lands in that
 * computation), writes the result to FILE, reads FILE back and prints it.
 * Going live at the bookmark, the process is in user code with no task at
 * a syscall, and its descriptor must still be FILE.
 * Usage: compute_golive FILE */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 3;
    const char *first = "before the computation\n";
    if (write(fd, first, strlen(first)) < 0)
        return 4;
    kill(getppid(), SIGUSR2);
    volatile unsigned long x = 1;
    for (unsigned long i = 0; i < 600000000UL; i++)
        x = x * 6364136223846793005UL + i;
    char line[64];
    int len = snprintf(line, sizeof line, "result %lu\n", (unsigned long)x % 1000);
    if (write(fd, line, len) != len)
        printf("write to the file failed\n");
    close(fd);
    char back[256] = {0};
    int in = open(argv[1], O_RDONLY);
    if (in < 0 || read(in, back, sizeof back - 1) < 0)
        return 5;
    fputs(back, stdout);
    return 0;
}
