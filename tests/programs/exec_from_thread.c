// A thread other than the main one runs execve: the kernel ends the other
// threads and the new program takes the main thread's id.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *run_echo(void *arg) {
    (void)arg;
    execl("/bin/echo", "echo", "from the thread", (char *)NULL);
    return NULL;
}

int main(void) {
    printf("before\n");
    fflush(stdout);
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_echo, NULL)) return 1;
    pthread_join(thread, NULL);
    return 2;
}
