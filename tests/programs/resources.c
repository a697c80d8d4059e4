/* resources: touches one of each kind of shared kernel resource Scribe
 * gives rendezvous serials: a futex (a thread waits on a condition
 * variable), the memory map (mmap, munmap), the files table (open,
 * close), inodes (stat of the same file from two processes), pids and
 * parent pids (fork, wait), a System V semaphore and shared memory
 * segment, a unix socket address (bind in the parent, connect in the
 * child), and descriptions made without open: an eventfd and a
 * socketpair the child writes and the parent reads; and an inode changed by
 * name (the child renames and chmods the file the parent stats after).
 * Prints what each step
 * saw. argv[1]: a directory for the files. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int flag;

static void *signaller(void *arg) {
    (void)arg;
    usleep(20000);
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    pthread_t t;
    pthread_create(&t, NULL, signaller, NULL);
    pthread_mutex_lock(&lock);
    while (!flag)
        pthread_cond_wait(&ready, &lock);
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);
    printf("condition: %d\n", flag);

    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    munmap(m, 1 << 16);

    char path[4096];
    snprintf(path, sizeof path, "%s/resources.file", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (write(fd, "data", 4) != 4)
        return 2;
    close(fd);

    int sem = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf up = {0, 2, 0};
    semop(sem, &up, 1);
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    char *seg = shmat(shm, NULL, 0);
    strcpy(seg, "shared");

    char sock_path[4096];
    snprintf(sock_path, sizeof sock_path, "%s/resources.sock", dir);
    unlink(sock_path);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, sock_path, sizeof addr.sun_path - 1);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(server, 1) != 0)
        return 3;

    int efd = eventfd(0, 0);
    int pair[2];
    if (efd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        return 6;
    char moved[4200];
    snprintf(moved, sizeof moved, "%s.moved", path);
    pid_t child = fork();
    if (child == 0) {
        uint64_t three = 3;
        if (write(efd, &three, sizeof three) != sizeof three || send(pair[1], "pair", 4, 0) != 4)
            _exit(7);
        struct stat st;
        stat(path, &st);
        if (rename(path, moved) != 0 || chmod(moved, 0600) != 0)
            _exit(8);
        struct sembuf down = {0, -1, 0};
        semop(sem, &down, 1);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0)
            _exit(4);
        char msg[64];
        snprintf(msg, sizeof msg, "child saw %lld bytes and '%s'", (long long)st.st_size, seg);
        if (write(c, msg, strlen(msg)) < 0)
            _exit(5);
        close(c);
        _exit(0);
    }
    uint64_t counted = 0;
    char from_pair[8] = {0};
    ssize_t got_counted = read(efd, &counted, sizeof counted);
    ssize_t got_pair = recv(pair[0], from_pair, 4, MSG_WAITALL);
    printf("eventfd: %lld (%zd bytes); socketpair: %.4s (%zd bytes)\n", (long long)counted, got_counted, from_pair, got_pair);
    int conn = accept(server, NULL, NULL);
    char got[128] = {0};
    ssize_t n = read(conn, got, sizeof got - 1);
    close(conn);
    int status;
    waitpid(child, &status, 0);
    struct stat st;
    stat(moved, &st);
    printf("from the socket: %.*s\n", (int)(n > 0 ? n : 0), got);
    printf("semaphore: %d\n", semctl(sem, 0, GETVAL));
    printf("child status: %d; file size %lld, mode %o\n", WEXITSTATUS(status), (long long)st.st_size, st.st_mode & 0777);
    shmdt(seg);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    unlink(sock_path);
    return 0;
}
