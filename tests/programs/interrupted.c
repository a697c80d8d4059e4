/* Counts the SIGINTs it gets. Prints "ready" once its handler is in
 * place; after the first SIGINT it waits half a second more (a second one
 * would be counted), prints the count and exits 3. Without any, it gives
 * up after 10 s, prints "interrupts: 0" and exits 0. */
#include <signal.h>
#include <stdio.h>
#include <time.h>

static volatile sig_atomic_t interrupts;

static void on_int(int sig)
{
    (void)sig;
    interrupts++;
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_int;
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && !interrupts; i++)
        nanosleep(&tick, NULL);
    if (!interrupts) {
        printf("interrupts: 0\n");
        return 0;
    }
    for (int i = 0; i < 50; i++)
        nanosleep(&tick, NULL);
    printf("interrupts: %d\n", (int)interrupts);
    return 3;
}
