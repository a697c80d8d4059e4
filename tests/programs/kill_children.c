/* A parent that SIGKILLs its children wherever they are: computing
 * without syscalls, making syscalls, in a program it exec'd (sleep), and a
 * sleep started with posix_spawn (vfork) while another thread of the
 * parent keeps making calls and SIGCHLD arrives. Prints how many of each
 * were killed. Usage: kill_children ROUNDS */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void pause_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int reap_killed(pid_t child)
{
    int status;
    if (kill(child, SIGKILL) != 0 || waitpid(child, &status, 0) != child)
        return 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static volatile int stop_ticker;

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop_ticker) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pause_ms(1);
    }
    return NULL;
}

static void on_chld(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    int computing = 0, calling = 0, exec_d = 0, spawned = 0;
    signal(SIGCHLD, on_chld);
    for (int i = 0; i < rounds; i++) {
        pid_t c = fork();
        if (c == 0)
            for (volatile unsigned long x = 0;; x++)
                ;
        pause_ms(2 + i % 3);
        computing += reap_killed(c);

        c = fork();
        if (c == 0)
            for (;;) {
                struct stat st;
                stat("/", &st);
                getppid();
            }
        pause_ms(2 + i % 3);
        calling += reap_killed(c);

        c = fork();
        if (c == 0) {
            execl("/bin/sleep", "sleep", "5", (char *)NULL);
            _exit(127);
        }
        pause_ms(20);
        exec_d += reap_killed(c);
    }
    pthread_t t;
    pthread_create(&t, NULL, ticker, NULL);
    for (int i = 0; i < rounds; i++) {
        pid_t c;
        char *args[] = {"sleep", "5", NULL};
        if (posix_spawn(&c, "/bin/sleep", NULL, NULL, args, environ) != 0)
            return 1;
        pause_ms(10 + i % 3);
        spawned += reap_killed(c);
    }
    stop_ticker = 1;
    pthread_join(t, NULL);
    printf("computing: %d\ncalling: %d\nexec'd: %d\nspawned: %d\n", computing, calling, exec_d, spawned);
    return 0;
}
