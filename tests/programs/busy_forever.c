/* busy_forever: prints one line, then computes forever without syscalls. */
#include <stdio.h>

int main(void) {
    printf("started\n");
    fflush(stdout);
    volatile unsigned long x = 0;
    for (;;)
        x++;
}
