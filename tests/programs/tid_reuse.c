/* tid_reuse: two processes, each in a memory domain of its own, where the
 * second one's child takes the id the first one's thread had, as happens
 * when the pid counter wraps during a long run. Process A computes, then
 * starts a thread that prints its id and ends. Process B waits until that
 * thread has been made and gone (the pid namespace's counter moved on),
 * sets the counter back (root in its own pid namespace) and forks a child
 * that prints its id. The two never talk: replay runs B's domain ahead of
 * A's, whose compute loop is long, so the child must wait for the thread.
 * Run as root in a new pid namespace; prints whether the ids matched. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long last_pid(void)
{
    char text[32] = {0};
    int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
    if (fd < 0 || read(fd, text, sizeof text - 1) <= 0)
        exit(5);
    close(fd);
    return atol(text);
}

static void *report(void *arg)
{
    (void)arg;
    printf("a's thread id %ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    return NULL;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int run_a(void)
{
    volatile unsigned long sum = 0;
    for (unsigned long i = 0; i < 200000000UL; i++)
        sum += i;
    pthread_t thread;
    if (pthread_create(&thread, NULL, report, NULL) != 0)
        return 6;
    pthread_join(thread, NULL);
    return 0;
}

static int run_b(long before)
{
    /* A's thread is the next task the namespace makes. */
    long made;
    while ((made = last_pid()) == before)
        nap(10);
    /* Until it has gone: a loaded machine may take a while. */
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/%ld", made);
    for (int i = 0; i < 1000 && access(proc, F_OK) == 0; i++)
        nap(10);
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    char text[32];
    int len = snprintf(text, sizeof text, "%ld", made - 1);
    if (fd < 0 || write(fd, text, len) != len)
        return 7;
    close(fd);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("b's child id %ld\n", (long)getpid());
        fflush(stdout);
        _exit(0);
    }
    int status;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) ? 0 : 8;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "a"))
        return run_a();
    if (argc > 2 && !strcmp(argv[1], "b"))
        return run_b(atol(argv[2]));
    pid_t a = fork();
    if (a == 0) {
        execl("/proc/self/exe", argv[0], "a", "-", (char *)NULL);
        _exit(9);
    }
    pid_t b = fork();
    if (b == 0) {
        char before[32];
        snprintf(before, sizeof before, "%ld", (long)getpid());
        execl("/proc/self/exe", argv[0], "b", before, (char *)NULL);
        _exit(9);
    }
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    printf("a exited %d, b exited %d\n", WEXITSTATUS(sa), WEXITSTATUS(sb));
    return 0;
}
