/* traceme: calls ptrace(PTRACE_TRACEME) and prints the result. Under a
 * tracer (scribe) it must fail with EPERM; natively it succeeds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

int main(void) {
    errno = 0;
    long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    int err = errno;
    printf("ptrace(PTRACE_TRACEME) = %ld errno=%s\n", r,
           err == EPERM ? "EPERM" : err == 0 ? "0" : strerror(err));
    printf("after ptrace\n");
    return 0;
}
