/* hostile_parent: prints "step N" 20 times, 60 ms apart, and after step 14
 * (late enough for the recorder's 500 ms flush to have written a chunk) sends the signal argv[1] (USR1, USR2, TERM, STOP or KILL) to its parent,
 * which under `scribe record` is the recorder itself. Writes its pid to
 * argv[2] when given. Exits 4. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static const struct { const char *name; int sig; } sigs[] = {
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"KILL", SIGKILL},
    };
    int sig = 0;
    for (size_t i = 0; argc > 1 && i < sizeof sigs / sizeof sigs[0]; i++)
        if (strcmp(argv[1], sigs[i].name) == 0)
            sig = sigs[i].sig;
    if (sig == 0)
        return 2;
    if (argc > 2) {
        FILE *f = fopen(argv[2], "w");
        if (!f)
            return 3;
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    for (int i = 0; i < 20; i++) {
        printf("step %d\n", i);
        fflush(stdout);
        if (i == 14) {
            int r = kill(getppid(), sig);
            printf("sent %s: %d\n", argv[1], r);
            fflush(stdout);
        }
        usleep(60000);
    }
    return 4;
}
