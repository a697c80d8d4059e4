//! Keeps a program that has just been exec'd on one CPU while its loader
//! runs, and the recorder or replayer thread on that CPU; later, keeps a
//! task there while it stops often ([`BusyPin`]).
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
//!   HotSpot runs its own `cpuid` in the thread that creates the JVM, some
//!   300 syscalls into that thread's life, and keeps the APIC ids in
//!   libjvm's data: so a new thread, too, is held on one CPU, chosen from
//!   its process's recorded id, for its first traced syscalls, and what
//!   `sched_getaffinity` tells it is the CPUs it had ([`StartPin`]).
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

use std::time::{Duration, Instant};

use scribe_tracee::{self as tracee, CpuMask, Tid};

/// Syscall entries after an exec at which the pin is lifted if the preload
/// library has not registered by then (a static program, or the buffer
/// off): at least 2, for the loader's `cpuid`.
const SYSCALLS_PINNED: u16 = 256;

/// Traced syscall entries (the library's requests not counted) a new
/// thread stays on one CPU for. HotSpot's thread that creates the JVM runs
/// its `cpuid` stub after about 300 syscalls, most of them buffered, and
/// keeps the APIC ids of leaves 1, 0xB and 0x8000001E in libjvm's data.
const THREAD_SYSCALLS_PINNED: u16 = 1024;

/// A task held on one CPU since its exec or, for a thread, since its
/// start, and the CPUs it had before.
#[derive(Debug)]
pub struct StartPin {
    original: CpuMask,
    syscalls_left: u16,
    /// An exec's pin, which the preload library's registration ends.
    until_registration: bool,
}

impl StartPin {
    /// Pins `tid`, stopped right after its exec, to the lowest CPU it may
    /// use. `None` where it may use only one CPU anyway, or the kernel
    /// refuses (the pin is an aid to bookmarks, not needed for replay).
    pub fn start(tid: Tid) -> Option<StartPin> {
        let original = tracee::cpu_affinity(tid).ok()?;
        if original.count() < 2 {
            return None;
        }
        tracee::set_cpu_affinity(tid, &CpuMask::only(original.first()?)).ok()?;
        Some(StartPin { original, syscalls_left: SYSCALLS_PINNED, until_registration: true })
    }

    /// Pins `tid`, a new thread of recorded process `process` that has not
    /// run yet and would have had the CPUs `original`, to one of them
    /// chosen by the process's recorded id, so that both modes choose the
    /// same and threads of different processes spread over the CPUs.
    /// The process's threads run one at a time anyway.
    fn start_thread(tid: Tid, original: CpuMask, process: Tid) -> Option<StartPin> {
        let count = original.count();
        if count < 2 {
            return None;
        }
        let cpu = original.nth(process.unsigned_abs() as usize % count)?;
        tracee::set_cpu_affinity(tid, &CpuMask::only(cpu)).ok()?;
        Some(StartPin { original, syscalls_left: THREAD_SYSCALLS_PINNED, until_registration: false })
    }

    /// Counts a syscall entry of `tid` (`registers`: the preload library's
    /// registration), if `pin` holds it; at the registration (for an
    /// exec's pin) or the last counted entry, gives it back its CPUs and
    /// drops the pin.
    pub fn count_syscall(pin: &mut Option<StartPin>, tid: Tid, registers: bool) {
        if pin.as_mut().is_some_and(|p| p.at_syscall(tid, registers)) {
            *pin = None;
        }
    }

    /// Ends the pin without giving `tid` its CPUs back: the CPUs it had.
    fn hand_over(self) -> CpuMask {
        self.original
    }

    /// Gives `tid` back its CPUs now (the recording stops following it).
    pub fn release(self, tid: Tid) {
        let _ = tracee::set_cpu_affinity(tid, &self.original);
    }

    /// Counts a syscall entry of the pinned task; at the end of the pin,
    /// gives it back its CPUs and returns true (the pin is then done with).
    fn at_syscall(&mut self, tid: Tid, registers: bool) -> bool {
        self.syscalls_left = self.syscalls_left.saturating_sub(1);
        if self.syscalls_left > 0 && !(registers && self.until_registration) {
            return false;
        }
        // A task gone meanwhile has nothing to give back.
        let _ = tracee::set_cpu_affinity(tid, &self.original);
        true
    }
}

/// The calling thread (the recorder's or replayer's), held on the lowest
/// CPU it may use, where programs run their loader (see [`StartPin`]);
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

/// Stops closer together than this count towards a [`BusyPin`].
const QUICK_STOP: Duration = Duration::from_micros(500);
/// A task that ran this long between two stops is given its CPUs back.
const SLOW_STOP: Duration = Duration::from_millis(5);
/// Quick stops in a row after which a task is held on the tracer's CPU.
const QUICK_STOPS_TO_PIN: u8 = 32;

/// Holds a task that stops often on the CPU of the recorder or replayer
/// thread, for as long as it goes on stopping often.
///
/// On these VMs a stop whose tracer sleeps on another CPU wakes a halted
/// virtual CPU each way: 20,000 traced `umask` calls took 2.5-3.1 s
/// recorded against 1.0 s with program and recorder on one CPU, and
/// `ls -lR` without the syscall buffer 2.7 s against 0.85-1.06 s (replay
/// 1.87 s against 0.54 s). A task that computes between stops is not held:
/// it keeps the other CPUs, where it runs beside the rest of the program.
///
/// The CPUs a task may use are seen by the program and passed on to the
/// tasks it starts, so the pin is let go before a syscall that asks or
/// sets them, starts a task or execs (see [`BusyPin::releases_at`]).
#[derive(Debug, Default)]
pub struct BusyPin {
    last_stop: Option<Instant>,
    quick_stops: u8,
    /// The task's CPUs before the pin, while it holds.
    original: Option<CpuMask>,
    /// The pin was taken over from the loader's ([`BusyPin::adopt`]), not
    /// earned by quick stops: any gap longer than a quick stop's ends it.
    adopted: bool,
}

impl BusyPin {
    /// Counts a stop of `tid` (not its exit), seen at `now`; pins it after
    /// enough quick stops in a row, and lets it go after a slow one.
    /// `may_pin` is false while another pin holds the task (its loader's).
    pub fn at_stop(&mut self, tid: Tid, may_pin: bool, now: Instant) {
        let since = self.last_stop.replace(now).map(|last| now.saturating_duration_since(last));
        if !may_pin {
            // The loader's stops say nothing of what the program does
            // next: counted, they pinned every compiler of `make -j2` as
            // it began to compute.
            self.quick_stops = 0;
            return;
        }
        match since {
            Some(gap) if gap < QUICK_STOP => self.quick_stops = self.quick_stops.saturating_add(1),
            Some(gap) if gap > self.patience() => self.release(tid),
            _ => {}
        }
        if self.original.is_none() && self.quick_stops >= QUICK_STOPS_TO_PIN {
            self.pin(tid);
        }
    }

    /// Holds `tid` on the lowest CPU it may use, where the tracer thread is
    /// held (see [`ThreadPin`]); nothing where it may use only one CPU.
    fn pin(&mut self, tid: Tid) {
        // Counted again from nothing if the pin cannot be made, so that a
        // task held on one CPU by its user is not asked at every stop.
        self.quick_stops = 0;
        let Ok(original) = tracee::cpu_affinity(tid) else { return };
        let Some(first) = original.first().filter(|_| original.count() >= 2) else { return };
        if tracee::set_cpu_affinity(tid, &CpuMask::only(first)).is_ok() {
            self.original = Some(original);
        }
    }

    /// Gives `tid` back its CPUs, if the pin holds it; the count of quick
    /// stops starts again.
    pub fn release(&mut self, tid: Tid) {
        self.quick_stops = 0;
        self.adopted = false;
        if let Some(original) = self.original.take() {
            // A task gone meanwhile has nothing to give back.
            let _ = tracee::set_cpu_affinity(tid, &original);
        }
    }

    /// Whether the pin is let go before syscall `nr`: one that asks or
    /// sets the task's CPUs, or hands them to a new task or program.
    pub fn releases_at(nr: u32) -> bool {
        use scribe_syscalls::nr;
        matches!(
            nr,
            nr::SCHED_GETAFFINITY
                | nr::SCHED_SETAFFINITY
                | nr::CLONE
                | nr::CLONE3
                | nr::FORK
                | nr::VFORK
                | nr::EXECVE
                | nr::EXECVEAT
        )
    }

    /// Gives `tid` back its CPUs if the pin holds it and it has run
    /// without a stop for a while (computing, it would share the tracer's
    /// CPU with every other held task); the tracer calls this when it wakes.
    pub fn release_if_running(&mut self, tid: Tid, now: Instant) {
        if self.holds() && self.last_stop.is_some_and(|last| now.saturating_duration_since(last) > self.patience()) {
            self.release(tid);
        }
    }

    /// Whether the pin holds its task now.
    pub fn holds(&self) -> bool {
        self.original.is_some()
    }

    /// Takes over a task already held on the tracer's CPU (its loader's
    /// pin, at `now`), which had `original` before: it stays there while
    /// it goes on stopping, and gets its CPUs back as any busy task does.
    fn adopt(&mut self, original: CpuMask, now: Instant) {
        self.original = Some(original);
        self.last_stop = Some(now);
        self.quick_stops = 0;
        self.adopted = true;
    }

    /// How long the task may run without a stop before the pin lets it go.
    fn patience(&self) -> Duration {
        if self.adopted {
            QUICK_STOP
        } else {
            SLOW_STOP
        }
    }
}

/// The pins that may hold a task, as the recorder and the replayer keep
/// them: its start's (from its exec, or from its clone for a thread), then
/// a [`BusyPin`].
#[derive(Debug, Default)]
pub struct TaskPins {
    start: Option<StartPin>,
    busy: BusyPin,
}

impl TaskPins {
    /// At `tid`'s exec (see [`StartPin::start`]).
    pub fn exec(&mut self, tid: Tid) {
        self.start = StartPin::start(tid);
    }

    /// At a stop of `tid` (not its exit), seen at `now` (see [`BusyPin::at_stop`]).
    pub fn at_stop(&mut self, tid: Tid, now: Instant) {
        self.busy.at_stop(tid, self.start.is_none(), now);
    }

    /// At `tid`'s entry into syscall `nr` (`registers`: the preload
    /// library's registration): ends the loader's pin at registration, and
    /// lets the task go before a call that asks for or passes on its CPUs.
    ///
    /// At registration the task stays where it is, held by the busy pin
    /// instead: a short program (a shell's `true`, most of `make`'s
    /// processes but the compilers) makes its last few stops right after,
    /// and each one across CPUs cost it a wake-up of the other virtual
    /// CPU each way (200 `/bin/true` from a shell: 3.3 ms each recorded
    /// against 2.8 ms with the library loaded but not registering).
    pub fn at_syscall(&mut self, tid: Tid, nr: u32, registers: bool, now: Instant) {
        if registers && !BusyPin::releases_at(nr) {
            if let Some(pin) = self.start.take_if(|pin| pin.until_registration) {
                self.busy.adopt(pin.hand_over(), now);
                return;
            }
        }
        if nr == scribe_syscalls::nr::SCHED_SETAFFINITY {
            // The program chooses its CPUs itself from here on.
            if let Some(pin) = self.start.take() {
                pin.release(tid);
            }
        }
        // The library's requests are not counted: replay makes others, at
        // other places, and a thread's pin must end at the same syscall
        // in both modes.
        if !scribe_bufabi::magic::is_magic(u64::from(nr)) || registers {
            StartPin::count_syscall(&mut self.start, tid, registers);
        }
        if BusyPin::releases_at(nr) {
            self.busy.release(tid);
        }
    }

    /// At the creation of `child` by the task these pins hold, before the
    /// child runs: the child has inherited the parent's pinned CPUs, so it
    /// is given the CPUs the parent would have had; a thread (of recorded
    /// process `process`) is then held on one CPU for its first syscalls
    /// (see [`THREAD_SYSCALLS_PINNED`]), where it may run `cpuid`, whose
    /// APIC ids neither mode can feed back.
    pub fn start_child(&self, child: Tid, thread: bool, process: Tid) -> TaskPins {
        let inherited = self.original().or_else(|| tracee::cpu_affinity(child).ok());
        let Some(original) = inherited else { return TaskPins::default() };
        if thread {
            if let Some(pin) = StartPin::start_thread(child, original, process) {
                return TaskPins { start: Some(pin), busy: BusyPin::default() };
            }
        }
        if self.original().is_some() {
            // A child that has not run yet has nothing to lose.
            let _ = tracee::set_cpu_affinity(child, &original);
        }
        TaskPins::default()
    }

    /// The CPUs the task had before a pin took it, while one holds it.
    fn original(&self) -> Option<CpuMask> {
        self.start.as_ref().map(|pin| pin.original).or(self.busy.original)
    }

    /// What sched_getaffinity should tell the task of its own CPUs while a
    /// start pin holds it through that call (a busy pin lets it go first):
    /// the CPUs it had, not the pin.
    pub fn reported_cpus(&self) -> Option<CpuMask> {
        self.start.as_ref().map(|pin| pin.original)
    }

    /// See [`BusyPin::release_if_running`].
    pub fn release_if_running(&mut self, tid: Tid, now: Instant) {
        self.busy.release_if_running(tid, now);
    }

    /// Gives `tid` back all its CPUs (at detach and go-live: the program
    /// runs on untraced).
    pub fn release(&mut self, tid: Tid) {
        self.busy.release(tid);
        if let Some(pin) = self.start.take() {
            pin.release(tid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_stops_pin_and_a_slow_one_releases() {
        // Task 0: the calling thread, as for sched_setaffinity.
        let Ok(before) = tracee::cpu_affinity(0) else { return };
        if before.count() < 2 {
            return; // Nothing to pin on a one-CPU machine.
        }
        let start = Instant::now();
        let mut at = start;
        let mut pin = BusyPin::default();
        pin.at_stop(0, true, at);
        for _ in 1..QUICK_STOPS_TO_PIN {
            at += QUICK_STOP / 2;
            pin.at_stop(0, true, at);
            assert!(!pin.holds(), "pinned before enough quick stops");
        }
        // A gap between quick and slow changes nothing.
        at += SLOW_STOP;
        pin.at_stop(0, true, at);
        assert!(!pin.holds());
        at += QUICK_STOP / 2;
        pin.at_stop(0, true, at);
        assert!(pin.holds());
        assert_eq!(tracee::cpu_affinity(0).unwrap(), CpuMask::only(before.first().unwrap()));
        pin.release_if_running(0, at + SLOW_STOP / 2);
        assert!(pin.holds(), "it stopped a moment ago");
        pin.release_if_running(0, at + SLOW_STOP * 2);
        assert!(!pin.holds(), "it has run long since its last stop");
        assert_eq!(tracee::cpu_affinity(0).unwrap(), before);
        for _ in 0..QUICK_STOPS_TO_PIN {
            at += QUICK_STOP / 2;
            pin.at_stop(0, true, at);
        }
        assert!(pin.holds());
        at += SLOW_STOP * 2;
        pin.at_stop(0, true, at);
        assert!(!pin.holds());
        assert_eq!(tracee::cpu_affinity(0).unwrap(), before, "the CPUs come back");

        let mut held = BusyPin::default();
        for k in 0..=u32::from(QUICK_STOPS_TO_PIN) {
            held.at_stop(0, false, start + QUICK_STOP / 2 * k);
        }
        assert!(!held.holds(), "another pin holds the task");
        let after = start + QUICK_STOP / 2 * u32::from(QUICK_STOPS_TO_PIN);
        for k in 1..=u32::from(QUICK_STOPS_TO_PIN) {
            assert!(!held.holds(), "stops under the other pin counted");
            held.at_stop(0, true, after + QUICK_STOP / 2 * k);
        }
        assert!(held.holds());
        held.release(0);
        assert_eq!(tracee::cpu_affinity(0).unwrap(), before);
    }

    #[test]
    fn a_pin_taken_over_from_the_loader_ends_at_the_first_gap() {
        let Ok(before) = tracee::cpu_affinity(0) else { return };
        if before.count() < 2 {
            return;
        }
        let start = Instant::now();
        let mut pins = TaskPins::default();
        pins.exec(0);
        assert_eq!(tracee::cpu_affinity(0).unwrap(), CpuMask::only(before.first().unwrap()), "the loader's pin");
        pins.at_syscall(0, 0x5343_0001, true, start);
        assert!(pins.busy.holds(), "registration hands the pin over");
        assert_eq!(tracee::cpu_affinity(0).unwrap(), CpuMask::only(before.first().unwrap()));
        // Quick stops keep it; running past a quick stop's gap ends it.
        pins.at_stop(0, start + QUICK_STOP / 2);
        assert!(pins.busy.holds());
        pins.release_if_running(0, start + QUICK_STOP / 2 + QUICK_STOP / 4);
        assert!(pins.busy.holds(), "it stopped a moment ago");
        pins.release_if_running(0, start + QUICK_STOP * 2);
        assert!(!pins.busy.holds(), "it has run since");
        assert_eq!(tracee::cpu_affinity(0).unwrap(), before);
        // A pin earned by quick stops afterwards has the usual patience.
        let mut at = start + QUICK_STOP * 2;
        for _ in 0..=QUICK_STOPS_TO_PIN {
            at += QUICK_STOP / 2;
            pins.at_stop(0, at);
        }
        assert!(pins.busy.holds());
        pins.release_if_running(0, at + QUICK_STOP * 2);
        assert!(pins.busy.holds(), "not adopted: a slow stop's gap ends it");
        pins.release(0);
        assert_eq!(tracee::cpu_affinity(0).unwrap(), before);
    }
}
