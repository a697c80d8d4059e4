//! Keeps a program that has just been exec'd on one CPU while its loader
//! runs, and the recorder or replayer thread on that CPU.
//!
//! Two reasons:
//! - **Determinism.** glibc's loader executes `cpuid` between its first and
//!   second syscalls and keeps leaf 1's registers in writable memory until
//!   it protects its RELRO segment; EBX bits 24-31 are the APIC id of the
//!   CPU it ran on. Without CPUID faulting that value can be neither
//!   recorded nor fed back, so a bookmark taken while a process was in its
//!   loader had a memory digest replay matched only when the scheduler
//!   picked the same CPU. Record and replay therefore both run that stretch
//!   on the same CPU: the lowest one the task may use. A statically linked
//!   program runs `cpuid` before its first syscall, inside the same stretch.
//! - **Speed.** Until the preload library registers, every syscall of a new
//!   program stops (the loader maps and reads its libraries: about 60 stops
//!   for `/bin/true`). On these VMs a stop whose tracer runs on the other
//!   CPU costs a wake-up across CPUs each way; with both on one CPU the
//!   switch is direct. Twenty `/bin/true` from a shell recorded in 0.15 s
//!   before, 0.08-0.12 s with the pin held to registration and the
//!   recorder's thread on the same CPU; `make -j2` of the benchmark project
//!   0.61-0.78 s against 0.50-0.52 s, on a loaded machine. The pin ends at
//!   registration, so a program's own threads and processes spread over
//!   the CPUs as before (pinning everything, as some recorders do, took
//!   `tar | sha256sum` from 0.93 s to 1.28 s).

use scribe_tracee::{self as tracee, CpuMask, Tid};

/// Syscall entries after an exec at which the pin is lifted if the preload
/// library has not registered by then (a static program, or the buffer
/// off): at least 2, for the loader's `cpuid`.
const SYSCALLS_PINNED: u16 = 256;

/// A task held on one CPU since its exec, and the CPUs it had before.
#[derive(Debug)]
pub struct LoaderPin {
    original: CpuMask,
    syscalls_left: u16,
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

    /// Counts a syscall entry of `tid` (`registers`: the preload library's
    /// registration), if `pin` holds it; at the registration or the last
    /// counted entry, gives it back its CPUs and drops the pin.
    pub fn count_syscall(pin: &mut Option<LoaderPin>, tid: Tid, registers: bool) {
        if pin.as_mut().is_some_and(|p| p.at_syscall(tid, registers)) {
            *pin = None;
        }
    }

    /// Counts a syscall entry of the pinned task; at the end of the pin,
    /// gives it back its CPUs and returns true (the pin is then done with).
    fn at_syscall(&mut self, tid: Tid, registers: bool) -> bool {
        self.syscalls_left = self.syscalls_left.saturating_sub(1);
        if self.syscalls_left > 0 && !registers {
            return false;
        }
        // A task gone meanwhile has nothing to give back.
        let _ = tracee::set_cpu_affinity(tid, &self.original);
        true
    }
}

/// The calling thread (the recorder's or replayer's), held on the lowest
/// CPU it may use, where programs run their loader (see [`LoaderPin`]);
/// dropping it gives the thread back its CPUs. Threads the caller starts
/// afterwards and processes it forks inherit the pin: take it after
/// spawning the program and starting helper threads.
#[derive(Debug)]
pub struct ThreadPin {
    original: CpuMask,
}

impl ThreadPin {
    /// `None` where the thread may use only one CPU anyway, or the kernel
    /// refuses.
    pub fn start() -> Option<ThreadPin> {
        let original = tracee::cpu_affinity(0).ok()?;
        if original.count() < 2 {
            return None;
        }
        tracee::set_cpu_affinity(0, &CpuMask::only(original.first()?)).ok()?;
        Some(ThreadPin { original })
    }
}

impl Drop for ThreadPin {
    fn drop(&mut self) {
        let _ = tracee::set_cpu_affinity(0, &self.original);
    }
}
