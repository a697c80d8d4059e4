/* exec_missing: tries to execve a binary that does not exist; execve must
 * fail with ENOENT. Then prints "fallback" and exits 3. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char *const args[] = {"scribe-missing-binary", "arg", NULL};
    char *const env[] = {"SCRIBE_TEST=1", NULL};
    printf("trying execve\n");
    fflush(stdout);
    int r = execve("/nonexistent/scribe-missing-binary", args, env);
    int err = errno;
    printf("execve = %d errno=%s\n", r, err == ENOENT ? "ENOENT" : strerror(err));
    printf("fallback\n");
    fflush(stdout);
    return 3;
}
