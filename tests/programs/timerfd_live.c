/* timerfd_live: arms a periodic timerfd (every 5 ms), asks its parent for
 * a bookmark (SIGUSR2: under `scribe record`, the recorder), pauses while
 * the bookmark lands, then reads the timer three times and prints "tick"
 * for each read that reported expirations. Going live at the bookmark, the
 * timer must still be armed. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (tfd < 0)
        return 2;
    struct itimerspec every = {.it_interval = {0, 5000000}, .it_value = {0, 5000000}};
    if (timerfd_settime(tfd, 0, &every, NULL) != 0)
        return 3;
    kill(getppid(), SIGUSR2);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < 3; i++) {
        uint64_t expirations = 0;
        ssize_t n = read(tfd, &expirations, sizeof expirations);
        if (n == sizeof expirations && expirations > 0)
            printf("tick\n");
        else
            printf("read gave %zd\n", n);
    }
    return 0;
}
