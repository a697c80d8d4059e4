/* segfault: print, flush, then crash with SIGSEGV. */
#include <stdio.h>

int main(void) {
    printf("about to crash\n");
    fflush(stdout);
    volatile int *bad = (volatile int *)16;
    *bad = 42;
    printf("not reached\n");
    return 0;
}
