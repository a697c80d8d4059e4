// Prints the actions the program started with for SIGINT and SIGQUIT (a
// shell's background job, or nohup, starts it with some ignored).
#include <signal.h>
#include <stdio.h>

static const char *action(int sig) {
    struct sigaction old;
    sigaction(sig, NULL, &old);
    return old.sa_handler == SIG_IGN ? "ignored" : old.sa_handler == SIG_DFL ? "default" : "handled";
}

int main(void) {
    printf("SIGINT %s, SIGQUIT %s\n", action(SIGINT), action(SIGQUIT));
    return 0;
}
