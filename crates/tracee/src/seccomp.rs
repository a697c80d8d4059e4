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
    /// At most 200 pass-through numbers fit (BPF jump offsets are 8 bits).
    pub fn new(passthrough: &[u32], untraced_ip: u64) -> Self {
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
        let allow_index = program.len() + passthrough.len() + 1;
        program[6].jt = (allow_index - 6 - 1) as u8;
        for &nr in passthrough {
            let here = program.len();
            let jt = (allow_index - here - 1) as u8;
            program.push(libc::sock_filter { code: BPF_JEQ_K, jt, jf: 0, k: nr });
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
        let f = SeccompFilter::new(&[14, 24, 158], 0x7000_0002);
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
}
