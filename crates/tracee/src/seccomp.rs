//! The seccomp-bpf filter that decides which syscalls stop the tracee.
//!
//! Layout of the generated classic-BPF program:
//!
//! ```text
//! ld  arch            ; seccomp_data.arch
//! jeq X86_64 ? +1 : 0
//! ret TRACE           ; other ABIs always stop
//! ld  ip_low          ; seccomp_data.instruction_pointer
//! jeq untraced_low ? 0 : +2
//! ld  ip_high
//! jeq untraced_high ? ALLOW : next
//! ld  nr              ; seccomp_data.nr
//! jeq nr_0 ? ALLOW : next
//! ...                 ; one test per pass-through syscall
//! jeq rt_sigprocmask ? next : TRACE   ; only with `sigmask_blocks_pass`
//! ld  set_low         ; seccomp_data.args[1]
//! jeq 0 ? next : +2
//! ld  set_high
//! jeq 0 ? ALLOW : next                ; a question: the mask stays
//! ld  how_low         ; seccomp_data.args[0]
//! jeq SIG_BLOCK ? ALLOW : next        ; blocking unblocks nothing
//! ret TRACE
//! ALLOW: ret ALLOW
//! ```

/// `AUDIT_ARCH_X86_64` from linux/audit.h.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_IP_LOW: u32 = 8;
const OFFSET_IP_HIGH: u32 = 12;
const OFFSET_ARG0_LOW: u32 = 16;
const OFFSET_ARG1_LOW: u32 = 24;
const OFFSET_ARG1_HIGH: u32 = 28;
const NR_RT_SIGPROCMASK: u32 = 14;
const SIG_BLOCK: u32 = 0;

/// A compiled filter: every syscall stops the tracee (SECCOMP_RET_TRACE)
/// except the pass-through ones, which run natively.
#[derive(Debug, Clone)]
pub struct SeccompFilter {
    pub(crate) program: Vec<libc::sock_filter>,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

impl SeccompFilter {
    /// Builds the filter; `passthrough` lists syscall numbers that never
    /// stop, and every syscall made from `untraced_ip` (the address just
    /// after a `syscall` instruction, as seccomp reports it) never stops.
    ///
    /// With `sigmask_blocks_pass`, an rt_sigprocmask that only asks for
    /// the mask or blocks more signals never stops either: it cannot make
    /// a held signal deliverable, so it is no point where one must be
    /// placed (SIG_UNBLOCK and SIG_SETMASK still stop).
    ///
    /// At most 200 pass-through numbers fit (BPF jump offsets are 8 bits).
    pub fn new(passthrough: &[u32], untraced_ip: u64, sigmask_blocks_pass: bool) -> Self {
        let passthrough = &passthrough[..passthrough.len().min(200)];
        let mut program = vec![
            stmt(BPF_LD_W_ABS, OFFSET_ARCH),
            libc::sock_filter { code: BPF_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
            stmt(BPF_RET_K, SECCOMP_RET_TRACE),
            stmt(BPF_LD_W_ABS, OFFSET_IP_LOW),
            libc::sock_filter { code: BPF_JEQ_K, jt: 0, jf: 2, k: untraced_ip as u32 },
            stmt(BPF_LD_W_ABS, OFFSET_IP_HIGH),
            // jt is patched below, once the ALLOW index is known.
            libc::sock_filter { code: BPF_JEQ_K, jt: 0, jf: 0, k: (untraced_ip >> 32) as u32 },
            stmt(BPF_LD_W_ABS, OFFSET_NR),
        ];
        const SIGMASK_TESTS: usize = 7;
        let sigmask_len = if sigmask_blocks_pass { SIGMASK_TESTS } else { 0 };
        let allow_index = program.len() + passthrough.len() + sigmask_len + 1;
        let to_allow = |here: usize| (allow_index - here - 1) as u8;
        program[6].jt = to_allow(6);
        for &nr in passthrough {
            let jt = to_allow(program.len());
            program.push(libc::sock_filter { code: BPF_JEQ_K, jt, jf: 0, k: nr });
        }
        if sigmask_blocks_pass {
            let first = program.len();
            let tests = [
                libc::sock_filter { code: BPF_JEQ_K, jt: 0, jf: (SIGMASK_TESTS - 1) as u8, k: NR_RT_SIGPROCMASK },
                stmt(BPF_LD_W_ABS, OFFSET_ARG1_LOW),
                libc::sock_filter { code: BPF_JEQ_K, jt: 0, jf: 2, k: 0 },
                stmt(BPF_LD_W_ABS, OFFSET_ARG1_HIGH),
                libc::sock_filter { code: BPF_JEQ_K, jt: to_allow(first + 4), jf: 0, k: 0 },
                stmt(BPF_LD_W_ABS, OFFSET_ARG0_LOW),
                libc::sock_filter { code: BPF_JEQ_K, jt: to_allow(first + 6), jf: 0, k: SIG_BLOCK },
            ];
            program.extend_from_slice(&tests);
        }
        program.push(stmt(BPF_RET_K, SECCOMP_RET_TRACE));
        program.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
        SeccompFilter { program }
    }

    /// Number of BPF instructions.
    pub fn len(&self) -> usize {
        self.program.len()
    }

    /// Whether the program is empty (never true for a built filter).
    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_on_allow() {
        let f = SeccompFilter::new(&[14, 24, 158], 0x7000_0002, false);
        let allow = f.program.len() - 1;
        for (i, ins) in f.program.iter().enumerate().skip(5) {
            if ins.code == BPF_JEQ_K {
                assert_eq!(i + 1 + ins.jt as usize, allow);
            }
        }
        assert_eq!(f.program[allow].k, SECCOMP_RET_ALLOW);
        // A low-word mismatch skips the high-word test and lands on `ld nr`.
        assert_eq!(f.program[4 + 1 + f.program[4].jf as usize].k, OFFSET_NR);
        assert_eq!(f.program[allow - 1].k, SECCOMP_RET_TRACE);
    }

    /// Runs `program` on a seccomp_data of `nr`, `args` from `ip`: the
    /// three instructions the builder emits, as the kernel would.
    fn verdict(program: &[libc::sock_filter], nr: u32, ip: u64, args: [u64; 2]) -> u32 {
        let word = |offset: u32| -> u32 {
            match offset {
                OFFSET_NR => nr,
                OFFSET_ARCH => AUDIT_ARCH_X86_64,
                OFFSET_IP_LOW => ip as u32,
                OFFSET_IP_HIGH => (ip >> 32) as u32,
                o if o >= OFFSET_ARG0_LOW => {
                    let arg = args[((o - OFFSET_ARG0_LOW) / 8) as usize];
                    if (o - OFFSET_ARG0_LOW).is_multiple_of(8) { arg as u32 } else { (arg >> 32) as u32 }
                }
                o => panic!("load of offset {o}"),
            }
        };
        let (mut pc, mut acc) = (0, 0);
        loop {
            let ins = program[pc];
            match ins.code {
                BPF_LD_W_ABS => acc = word(ins.k),
                BPF_JEQ_K => pc += usize::from(if acc == ins.k { ins.jt } else { ins.jf }),
                BPF_RET_K => return ins.k,
                other => panic!("opcode {other:#x}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn only_questions_and_blocks_of_the_signal_mask_pass() {
        const GETPID: u32 = 39;
        const SIG_UNBLOCK: u64 = 1;
        const SIG_SETMASK: u64 = 2;
        let set = 0x7fff_0000_1000;
        let with = SeccompFilter::new(&[GETPID], 0x7000_0002, true);
        let without = SeccompFilter::new(&[GETPID], 0x7000_0002, false);
        let run = |f: &SeccompFilter, args| verdict(&f.program, NR_RT_SIGPROCMASK, 0x40_1000, args);
        assert_eq!(run(&with, [u64::from(SIG_BLOCK), set]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&with, [SIG_SETMASK, 0]), SECCOMP_RET_ALLOW, "a question, whatever `how` says");
        assert_eq!(run(&with, [SIG_UNBLOCK, set]), SECCOMP_RET_TRACE);
        assert_eq!(run(&with, [SIG_SETMASK, set]), SECCOMP_RET_TRACE);
        assert_eq!(run(&with, [SIG_SETMASK, 0x1_0000_0000]), SECCOMP_RET_TRACE, "a set above 4 GiB is a set");
        assert_eq!(run(&with, [1 << 32, set]), SECCOMP_RET_ALLOW, "the kernel reads `how` as an int");
        assert_eq!(run(&without, [u64::from(SIG_BLOCK), set]), SECCOMP_RET_TRACE);
        for f in [&with, &without] {
            assert_eq!(verdict(&f.program, GETPID, 0x40_1000, [0, 0]), SECCOMP_RET_ALLOW);
            assert_eq!(verdict(&f.program, 0, 0x40_1000, [0, 0]), SECCOMP_RET_TRACE);
            assert_eq!(verdict(&f.program, 0, 0x7000_0002, [0, 0]), SECCOMP_RET_ALLOW);
            assert_eq!(verdict(&f.program, 0, 0x1_7000_0002, [0, 0]), SECCOMP_RET_TRACE);
        }
    }
}
