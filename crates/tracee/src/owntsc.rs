//! Lets the tracer's own thread trap rdtsc like its tracees do.
//!
//! Tracees run with `PR_SET_TSC, PR_TSC_SIGSEGV` (their rdtsc is recorded).
//! That setting lives in CR4 while a task runs, so every switch between a
//! task that traps rdtsc and one that does not writes CR4, and a guest
//! kernel on these VMs pays about 5 µs for it: a minimal seccomp tracer and
//! tracee on one CPU made 8 µs stops, 18 µs once the tracee trapped rdtsc,
//! and 8 µs again once the tracer did too. A tracer thread that traps rdtsc
//! must not execute it, and the vDSO's `clock_gettime` does: this
//! executable's `clock_gettime` (which `std::time::Instant` calls) is
//! therefore a plain syscall. Anything else that reaches rdtsc on the
//! trapping thread faults into [`on_segv`], which lets that thread read the
//! TSC again (slower, not wrong) until [`rearm_own_tsc`].

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    /// Set by the fault handler when it let this thread read the TSC.
    /// (A const-initialised thread local needs no allocation: the handler
    /// may touch it.)
    static TSC_ALLOWED_AGAIN: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread holds an [`OwnTscTrap`].
    static TRAPPING: Cell<bool> = const { Cell::new(false) };
}

/// Makes rdtsc fault on the calling thread (`trap`) or run; whether the
/// kernel agreed. Async-signal-safe: one syscall.
pub(crate) fn trap_tsc(trap: bool) -> bool {
    let mode = if trap { libc::PR_TSC_SIGSEGV } else { libc::PR_TSC_ENABLE };
    // SAFETY: prctl with integer arguments changes only this thread's flag.
    unsafe { libc::prctl(libc::PR_SET_TSC, mode, 0, 0, 0) == 0 }
}

/// Runs `read` (an rdtsc or rdtscp of the tracer's own, for a tracee's
/// trapped one) with the TSC readable on this thread: two prctl calls on a
/// trapping thread instead of a fault.
pub(crate) fn with_tsc_readable<T>(read: impl FnOnce() -> T) -> T {
    if !TRAPPING.get() {
        return read();
    }
    trap_tsc(false);
    let value = read();
    trap_tsc(true);
    value
}

/// How long the TSC's rate is first measured against CLOCK_MONOTONIC_RAW
/// before values are computed from that clock.
const CALIBRATION_NS: u64 = 20_000_000;
/// How long a computed value may go without a real read to set it right.
const REANCHOR_NS: u64 = 1_000_000_000;

/// What a trapping thread knows of the TSC: a real read and the clock's
/// time at it (the anchor), the first such pair, and the rate between
/// them, in ticks per nanosecond (0 while unknown).
#[derive(Clone, Copy)]
struct TscClock {
    first: (u64, u64),
    anchor: (u64, u64),
    ticks_per_ns: f64,
    last: u64,
}

thread_local! {
    /// This thread's [`TscClock`] (a zero `first` before its first read).
    static TSC_CLOCK: Cell<TscClock> = const {
        Cell::new(TscClock { first: (0, 0), anchor: (0, 0), ticks_per_ns: 0.0, last: 0 })
    };
}

/// CLOCK_MONOTONIC_RAW in nanoseconds (a syscall: no rdtsc).
fn monotonic_raw_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC_RAW, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// The TSC for a tracee's trapped rdtsc, without the two CR4 writes
/// (about 10 µs here) of a real read on a trapping thread: once the rate
/// is known, the value is computed from CLOCK_MONOTONIC_RAW, which a
/// syscall reads for 0.3 µs, and set right by a real read every second.
/// The values a thread hands out only grow.
pub(crate) fn tracee_tsc() -> u64 {
    if !TRAPPING.get() {
        // SAFETY: rdtsc has no memory effects.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    let now = monotonic_raw_ns();
    let clock = TSC_CLOCK.get();
    if clock.ticks_per_ns > 0.0 && now.saturating_sub(clock.anchor.1) < REANCHOR_NS {
        let computed = clock.anchor.0.saturating_add((now.saturating_sub(clock.anchor.1) as f64 * clock.ticks_per_ns) as u64);
        return hand_out(computed);
    }
    // SAFETY: as above (the thread may read the TSC here).
    real_read(|| (unsafe { core::arch::x86_64::_rdtsc() }, ())).0
}

/// A real read of the TSC (`read`: rdtsc or rdtscp, and what else it
/// gives) made with the TSC readable, right after the clock's; on a
/// trapping thread, learnt from and kept in order with computed values.
fn real_read<T>(read: impl FnOnce() -> (u64, T)) -> (u64, T) {
    let (ns, (tsc, extra)) = with_tsc_readable(|| (monotonic_raw_ns(), read()));
    if !TRAPPING.get() {
        return (tsc, extra);
    }
    note_real_read(tsc, ns);
    (hand_out(tsc), extra)
}

/// Learns from a real read of the TSC at clock time `ns`: the first read
/// starts the measurement of the rate, later ones (the first after
/// [`CALIBRATION_NS`], then one a second) measure it from the first.
fn note_real_read(tsc: u64, ns: u64) {
    let mut clock = TSC_CLOCK.get();
    if clock.first == (0, 0) {
        clock.first = (tsc, ns);
    } else if ns.saturating_sub(clock.first.1) >= CALIBRATION_NS && tsc > clock.first.0 {
        clock.ticks_per_ns = (tsc - clock.first.0) as f64 / (ns - clock.first.1) as f64;
        clock.anchor = (tsc, ns);
    }
    TSC_CLOCK.set(clock);
}

/// `value`, or one more than the last value handed out if that is more.
fn hand_out(value: u64) -> u64 {
    let mut clock = TSC_CLOCK.get();
    let value = value.max(clock.last.saturating_add(1));
    clock.last = value;
    TSC_CLOCK.set(clock);
    value
}

/// A real rdtscp (and TSC_AUX) for a tracee's trapped one, kept in order
/// with the values of [`tracee_tsc`].
pub(crate) fn tracee_tscp() -> (u64, u32) {
    real_read(|| {
        let mut aux = 0u32;
        // SAFETY: rdtscp writes only `aux`, a valid local.
        let tsc = unsafe { core::arch::x86_64::__rdtscp(&mut aux) };
        (tsc, aux)
    })
}

/// The SIGSEGV action found at install, as a `sa_sigaction` value and flags.
static PREVIOUS_ACTION: AtomicUsize = AtomicUsize::new(0);
static PREVIOUS_FLAGS: AtomicUsize = AtomicUsize::new(0);
/// [`on_segv`] is installed once per process.
static INSTALLED: std::sync::Once = std::sync::Once::new();

/// `clock_gettime` for this executable's own code, as a syscall: the vDSO's
/// version executes rdtsc, which faults on a thread that traps it.
///
/// # Safety
/// `tp` must point to writable memory for a `timespec`, as for libc's.
#[no_mangle]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, tp: *mut libc::timespec) -> libc::c_int {
    // SAFETY: the caller's contract is the kernel's: `tp` is a writable timespec.
    let rc = unsafe { libc::syscall(libc::SYS_clock_gettime, clock, tp) };
    rc as libc::c_int
}

/// The calling thread traps rdtsc while this lives (see the module's notes).
#[derive(Debug)]
pub struct OwnTscTrap {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl OwnTscTrap {
    /// Makes the calling thread trap rdtsc; `None` if the kernel refuses.
    /// Threads and processes it starts afterwards inherit the setting:
    /// take it after starting them.
    pub fn start() -> Option<OwnTscTrap> {
        install_handler();
        TSC_ALLOWED_AGAIN.set(false);
        let trapping = trap_tsc(true);
        TRAPPING.set(trapping);
        trapping.then_some(OwnTscTrap { _not_send: std::marker::PhantomData })
    }
}

/// Traps rdtsc again on the calling thread, whose [`OwnTscTrap`] the
/// caller holds, if something read the TSC there since (the fault handler
/// let it); returns whether that happened. Nothing on a thread that traps
/// no rdtsc.
pub fn rearm_own_tsc() -> bool {
    if !TSC_ALLOWED_AGAIN.replace(false) {
        return false;
    }
    trap_tsc(true);
    true
}

impl Drop for OwnTscTrap {
    fn drop(&mut self) {
        TSC_ALLOWED_AGAIN.set(false);
        TRAPPING.set(false);
        // The thread reads the TSC normally again.
        trap_tsc(false);
    }
}

/// Installs [`on_segv`] once, keeping the action it replaces (Rust's
/// stack overflow reporter) to pass other faults on to.
fn install_handler() {
    INSTALLED.call_once(|| {
        // SAFETY: both sigaction structs are initialised before use; the
        // handler only makes async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction =
                on_segv as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &action, &mut previous) == 0 {
                PREVIOUS_ACTION.store(previous.sa_sigaction, Ordering::Relaxed);
                PREVIOUS_FLAGS.store(previous.sa_flags as usize, Ordering::Relaxed);
            }
        }
    });
}

/// Whether `code` starts with rdtsc (0f 31) or rdtscp (0f 01 f9).
fn is_tsc_read(code: &[u8; 3]) -> bool {
    code[..2] == [0x0f, 0x31] || *code == [0x0f, 0x01, 0xf9]
}

/// SIGSEGV handler: an rdtsc of a trapping thread of this process is let
/// run (the thread reads the TSC until rearmed); any other fault goes to
/// the previous action.
extern "C" fn on_segv(signo: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    const SI_KERNEL: libc::c_int = 0x80;
    // SAFETY: the kernel passes a valid siginfo and ucontext to an
    // SA_SIGINFO handler. A fault with SI_KERNEL is a general protection
    // fault at an instruction the thread was executing, so the bytes at
    // its address are mapped and readable (code is).
    unsafe {
        if !info.is_null() && (*info).si_code == SI_KERNEL && !context.is_null() {
            let ucontext = context as *const libc::ucontext_t;
            let rip = (*ucontext).uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
            let code = std::ptr::read_unaligned(rip as *const [u8; 3]);
            if is_tsc_read(&code) {
                trap_tsc(false);
                TSC_ALLOWED_AGAIN.set(true);
                return;
            }
        }
        let previous = PREVIOUS_ACTION.load(Ordering::Relaxed);
        let flags = PREVIOUS_FLAGS.load(Ordering::Relaxed) as libc::c_int;
        if previous != libc::SIG_DFL && previous != libc::SIG_IGN && flags & libc::SA_SIGINFO != 0 {
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(previous);
            handler(signo, info, context);
            return;
        }
        // Nothing to pass it to: the default action, when the fault repeats.
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGSEGV, &default, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trapping_thread_still_reads_clocks_and_the_tsc() {
        std::thread::spawn(|| {
            let trap = OwnTscTrap::start().expect("PR_SET_TSC");
            // Through this executable's clock_gettime: no fault.
            let a = std::time::Instant::now();
            assert!(!rearm_own_tsc(), "Instant::now read the TSC");
            // A direct rdtsc faults, is let run, and the trap is set again.
            // SAFETY: rdtsc has no memory effects.
            let t1 = unsafe { core::arch::x86_64::_rdtsc() };
            assert!(rearm_own_tsc(), "rdtsc did not fault");
            // SAFETY: as above.
            let t2 = unsafe { core::arch::x86_64::_rdtsc() };
            assert!(rearm_own_tsc());
            assert!(t2 > t1, "the TSC read {t1} then {t2}");
            // The tracer's own reads for its tracees do not fault.
            let t3 = crate::read_tsc();
            let (t4, _) = crate::read_tscp();
            assert!(!rearm_own_tsc(), "read_tsc faulted");
            assert!(t4 > t3 && t3 > t2, "{t2} {t3} {t4}");
            assert!(a.elapsed() < std::time::Duration::from_secs(60));
            drop(trap);
            // SAFETY: as above.
            unsafe { core::arch::x86_64::_rdtsc() };
            assert!(!TSC_ALLOWED_AGAIN.get(), "faulted after the trap ended");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn once_calibrated_the_tsc_is_computed_close_to_a_real_read() {
        std::thread::spawn(|| {
            let _trap = OwnTscTrap::start().expect("PR_SET_TSC");
            let first = crate::read_tsc();
            std::thread::sleep(std::time::Duration::from_millis(25));
            let second = crate::read_tsc();
            let clock = TSC_CLOCK.get();
            assert!(second > first && clock.ticks_per_ns > 0.0, "no rate after {first} and {second}");
            let mut previous = second;
            for _ in 0..1000 {
                let tsc = crate::read_tsc();
                assert!(tsc > previous, "{tsc} after {previous}");
                previous = tsc;
            }
            assert_eq!(TSC_CLOCK.get().anchor, clock.anchor, "a read within the second was a real one");
            std::thread::sleep(std::time::Duration::from_millis(10));
            let computed = crate::read_tsc();
            // SAFETY: rdtsc has no memory effects.
            let real = with_tsc_readable(|| unsafe { core::arch::x86_64::_rdtsc() });
            let one_ms = (clock.ticks_per_ns * 1e6) as u64;
            assert!(real.abs_diff(computed) < one_ms, "computed {computed}, read {real} ({one_ms} ticks a millisecond)");
            assert!(!rearm_own_tsc(), "a read faulted");
        })
        .join()
        .unwrap();
    }
}
