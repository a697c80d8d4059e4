//! Keeps a program that has just been exec'd on one CPU while its loader
//! asks the processor who it is.
//!
//! glibc's loader executes `cpuid` between its first and second syscalls
//! and keeps leaf 1's registers in writable memory until it protects its
//! RELRO segment; EBX bits 24-31 are the APIC id of the CPU it ran on.
//! Without CPUID faulting that value can be neither recorded nor fed back,
//! so a bookmark taken while a process was in its loader had a memory
//! digest replay matched only when the scheduler picked the same CPU.
//! Record and replay therefore both run that stretch on the same CPU: the
//! lowest one the task may use. A statically linked program runs `cpuid`
//! before its first syscall, inside the same stretch.

use scribe_tracee::{self as tracee, CpuMask, Tid};

/// Syscall entries after an exec at which the pin is lifted (at the second:
/// the loader's `cpuid` is done by then).
const SYSCALLS_PINNED: u8 = 2;

/// A task held on one CPU since its exec, and the CPUs it had before.
#[derive(Debug)]
pub struct LoaderPin {
    original: CpuMask,
    syscalls_left: u8,
}

impl LoaderPin {
    /// Pins `tid`, stopped right after its exec, to the lowest CPU it may
    /// use. `None` where it may use only one CPU anyway, or the kernel
    /// refuses (the pin is an aid to bookmarks, not needed for replay).
    pub fn start(tid: Tid) -> Option<LoaderPin> {
        let original = tracee::cpu_affinity(tid).ok()?;
        if original.count() < 2 {
            return None;
        }
        tracee::set_cpu_affinity(tid, &CpuMask::only(original.first()?)).ok()?;
        Some(LoaderPin { original, syscalls_left: SYSCALLS_PINNED })
    }

    /// Counts a syscall entry of `tid`, if `pin` holds it; at the last one,
    /// gives it back its CPUs and drops the pin.
    pub fn count_syscall(pin: &mut Option<LoaderPin>, tid: Tid) {
        if pin.as_mut().is_some_and(|p| p.at_syscall(tid)) {
            *pin = None;
        }
    }

    /// Counts a syscall entry of the pinned task; at the last one, gives it
    /// back its CPUs and returns true (the pin is then done with).
    fn at_syscall(&mut self, tid: Tid) -> bool {
        self.syscalls_left = self.syscalls_left.saturating_sub(1);
        if self.syscalls_left > 0 {
            return false;
        }
        // A task gone meanwhile has nothing to give back.
        let _ = tracee::set_cpu_affinity(tid, &self.original);
        true
    }
}
