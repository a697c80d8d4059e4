/* own_traps: the program's own SIGTRAPs, which must reach its handler
 * under Scribe (which passes over the traps of its own steps and
 * breakpoints): an int3, then single steps of its own (it sets the trap
 * flag; the handler clears it after 5 steps). Prints both counts. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int int3_traps, step_traps;

static void on_trap(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    (void)sig;
    if (info->si_code == 0x80) { /* SI_KERNEL: int3 */
        int3_traps++;
        return;
    }
    if (++step_traps >= 5)
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    __asm__ volatile("int3");
    __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop; nop; nop; nop; nop; nop; nop" ::: "memory", "cc");
    printf("int3 traps %d, single-step traps %d\n", int3_traps, step_traps);
    return 0;
}
