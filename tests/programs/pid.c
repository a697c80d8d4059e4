/* pid: process and thread ids, which differ between recording and replay. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long pid = (long)getpid();
    long ppid = (long)getppid();
    long tid = syscall(SYS_gettid);
    printf("pid: %ld\n", pid);
    printf("ppid: %ld\n", ppid);
    printf("tid: %ld\n", tid);
    printf("pid == tid: %s\n", pid == tid ? "yes" : "no");
    return 0;
}
