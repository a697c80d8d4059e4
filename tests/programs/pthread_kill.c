/* pthread_kill: two threads, each blocked until main sends it a signal
 * with pthread_kill:
 *  - "pauser" waits in sigsuspend() with SIGUSR1 unblocked; the SIGUSR1
 *    handler sets a flag and notes which thread it ran on;
 *  - "waiter" waits in sigwait() for SIGUSR2 (blocked everywhere).
 * SIGUSR1 is blocked in every thread until the pauser's sigsuspend, so the
 * signal cannot be lost even if it is sent early. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t flag;
static volatile long handler_tid;
static long pauser_tid;
static int sigwait_got;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void on_usr1(int sig) {
    (void)sig;
    flag = 1;
    handler_tid = syscall(SYS_gettid);
}

static void announce(void) {
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void *pauser(void *arg) {
    (void)arg;
    pauser_tid = syscall(SYS_gettid);
    announce();
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    sigdelset(&mask, SIGUSR1);
    while (!flag)
        sigsuspend(&mask);
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    announce();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    int sig = 0;
    if (sigwait(&set, &sig) == 0)
        sigwait_got = sig;
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return 2;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, NULL); /* inherited by the threads */

    pthread_t p, w;
    if (pthread_create(&p, NULL, pauser, NULL) || pthread_create(&w, NULL, waiter, NULL))
        return 3;
    pthread_mutex_lock(&lock);
    while (ready < 2)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);

    if (pthread_kill(p, SIGUSR1) != 0 || pthread_kill(w, SIGUSR2) != 0)
        return 4;
    pthread_join(p, NULL);
    pthread_join(w, NULL);
    printf("flag: %d\n", (int)flag);
    printf("handler ran in the pauser thread: %s\n",
           handler_tid == pauser_tid ? "yes" : "no");
    printf("sigwait got: %s\n", sigwait_got == SIGUSR2 ? "SIGUSR2" : "something else");
    return (flag == 1 && handler_tid == pauser_tid && sigwait_got == SIGUSR2) ? 0 : 1;
}
