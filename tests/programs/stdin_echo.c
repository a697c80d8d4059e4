/* stdin_echo: copy stdin to stdout uppercased; byte count on stderr. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char buf[4096];
    ssize_t n;
    long long total = 0;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w <= 0)
                return 2;
            off += w;
        }
        total += n;
    }
    if (n < 0)
        return 3;
    fprintf(stderr, "stdin_echo: %lld bytes\n", total);
    return 0;
}
