/* Fills MiB mebibytes of heap, so a bookmark's state digest takes a while,
 * then makes N getppid calls and prints how many there were.
 * usage: big_heap_calls MiB N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
    long n = argc > 2 ? atol(argv[2]) : 20000;
    unsigned char *heap = malloc(mib << 20);
    if (!heap) {
        return 1;
    }
    for (size_t i = 0; i < mib << 20; i++) {
        heap[i] = (unsigned char)(i * 2654435761u >> 13);
    }
    long calls = 0;
    for (long i = 0; i < n; i++) {
        calls += getppid() > 0;
    }
    printf("%ld getppid calls, heap byte %u\n", calls, heap[(mib << 20) / 3]);
    return 0;
}
