/* Two threads print lines to standard output with write(2), while the
 * main thread waits in pthread_join. Usage: two_printers LINES_EACH */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int lines;

static void *printer(void *arg) {
    long id = (long)arg;
    char line[32];
    for (int i = 0; i < lines; i++) {
        int len = snprintf(line, sizeof line, "T%ld %d\n", id, i);
        if (write(1, line, (size_t)len) != len)
            return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    lines = argc > 1 ? atoi(argv[1]) : 100;
    pthread_t threads[2];
    for (long t = 0; t < 2; t++)
        pthread_create(&threads[t], NULL, printer, (void *)t);
    int failed = 0;
    for (int t = 0; t < 2; t++) {
        void *result;
        pthread_join(threads[t], &result);
        failed += result != NULL;
    }
    return failed;
}
