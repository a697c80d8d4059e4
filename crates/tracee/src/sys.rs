//! Small system facilities the engine needs besides ptrace.

use std::sync::atomic::{AtomicU32, Ordering};

/// This process's soft and hard stack limits (RLIMIT_STACK, bytes;
/// `u64::MAX` for unlimited), which the programs it starts inherit.
pub fn stack_limits() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only the struct it is given.
    (unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } == 0).then_some((limit.rlim_cur, limit.rlim_max))
}

/// A stack limit for people, as `ulimit -s` shows it ("unlimited" or KiB).
pub fn describe_limit(bytes: u64) -> String {
    if bytes == libc::RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Reads the time-stamp counter on behalf of a tracee whose rdtsc trapped.
pub fn read_tsc() -> u64 {
    crate::owntsc::tracee_tsc()
}

/// A random value from the CPU, as RDSEED (`seed`) or RDRAND would give
/// a program, for one of its rewritten instructions; from getrandom on a
/// CPU that has neither (the program was told otherwise by another CPU).
pub fn hardware_random(seed: bool) -> u64 {
    let mut value = 0u64;
    if seed && std::arch::is_x86_feature_detected!("rdseed") {
        // SAFETY: the CPU has RDSEED (checked above); it writes only `value`.
        while unsafe { rdseed64(&mut value) } == 0 {
            std::hint::spin_loop();
        }
        return value;
    }
    if std::arch::is_x86_feature_detected!("rdrand") {
        // SAFETY: the CPU has RDRAND (checked above); it writes only `value`.
        while unsafe { rdrand64(&mut value) } == 0 {
            std::hint::spin_loop();
        }
        return value;
    }
    // SAFETY: getrandom writes at most 8 bytes to `value`.
    unsafe { libc::getrandom(std::ptr::addr_of_mut!(value).cast(), 8, 0) };
    value
}

#[target_feature(enable = "rdseed")]
unsafe fn rdseed64(value: &mut u64) -> i32 {
    core::arch::x86_64::_rdseed64_step(value)
}

#[target_feature(enable = "rdrand")]
unsafe fn rdrand64(value: &mut u64) -> i32 {
    core::arch::x86_64::_rdrand64_step(value)
}

/// Reads the time-stamp counter and TSC_AUX (rdtscp).
pub fn read_tscp() -> (u64, u32) {
    crate::owntsc::tracee_tscp()
}

/// Control signals received by this process, as a bit set of signal numbers.
static PENDING_CONTROL: AtomicU32 = AtomicU32::new(0);

/// The control signals among them that a process sent with kill() or
/// tgkill() (not the terminal, not the kernel).
static SENT_BY_PROCESS: AtomicU32 = AtomicU32::new(0);

extern "C" fn note_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    if (0..32).contains(&sig) {
        PENDING_CONTROL.fetch_or(1 << sig, Ordering::SeqCst);
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo.
        let code = if info.is_null() { 1 } else { unsafe { (*info).si_code } };
        // SI_USER, SI_QUEUE, SI_TKILL are 0 or negative; the terminal's
        // SIGINT comes with SI_KERNEL.
        if code <= 0 {
            SENT_BY_PROCESS.fetch_or(1 << sig, Ordering::SeqCst);
        }
    }
}

/// Returns and clears the set of control signals that a process (rather
/// than the terminal or the kernel) sent since the last call.
pub fn take_signals_sent_by_processes() -> u32 {
    SENT_BY_PROCESS.swap(0, Ordering::SeqCst)
}

/// Installs handlers (without SA_RESTART, so a blocking waitpid returns
/// EINTR) that only note the arrival of each of `signals`, and whether a
/// process sent it.
///
/// Handlers, unlike SIG_IGN, are reset by execve, so traced programs still
/// start with default dispositions.
pub fn catch_control_signals(signals: &[i32]) {
    for &sig in signals {
        // SAFETY: `note_signal` is async-signal-safe (one atomic op); the
        // sigaction struct is fully initialised before the call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction =
                note_signal as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Returns and clears the set of control signals noted since the last call.
pub fn take_control_signals() -> u32 {
    PENDING_CONTROL.swap(0, Ordering::SeqCst)
}

/// Makes this process receive SIGALRM every `every` (zero stops it), so a
/// blocking wait wakes up regularly for housekeeping.
pub fn set_interval_timer(every: std::time::Duration) {
    let interval =
        libc::timeval { tv_sec: every.as_secs() as libc::time_t, tv_usec: every.subsec_micros() as libc::suseconds_t };
    let timer = libc::itimerval { it_interval: interval, it_value: interval };
    // SAFETY: setitimer reads a fully initialised itimerval; no old value is requested.
    unsafe {
        libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
    }
}

/// Creates an anonymous memory file (memfd, close-on-exec) named `name`.
pub fn memory_file(name: &str) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let name = std::ffi::CString::new(name).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created by memfd_create and is owned by nothing else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Creates a pipe (both ends close-on-exec and non-blocking) that holds at
/// least `capacity` bytes where the kernel allows it (F_SETPIPE_SZ; the
/// default 64 KiB otherwise): its read end and its write end.
pub fn pipe_with_capacity(capacity: usize) -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created by pipe2 and are owned by nothing else.
    let (read, write) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    if capacity > 65536 {
        let size = capacity.min(i32::MAX as usize) as libc::c_int;
        // SAFETY: F_SETPIPE_SZ takes an int and touches no memory; a failure
        // (past the allowed size) leaves the pipe as it was.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, size) };
    }
    Ok((read, write))
}

/// The set of CPUs a task may run on (sched_getaffinity): one bit per
/// CPU, for the first 1024 CPUs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CpuMask([u64; 16]);

impl CpuMask {
    /// Whether `cpu` is in the set.
    pub fn has(&self, cpu: usize) -> bool {
        self.0.get(cpu / 64).is_some_and(|word| word & (1 << (cpu % 64)) != 0)
    }

    /// How many CPUs the set holds.
    pub fn count(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// The lowest-numbered CPU in the set.
    pub fn first(&self) -> Option<usize> {
        self.nth(0)
    }

    /// The `n`th CPU of the set, counting from 0 in CPU order.
    pub fn nth(&self, n: usize) -> Option<usize> {
        (0..self.0.len() * 64).filter(|&cpu| self.has(cpu)).nth(n)
    }

    /// The set as sched_getaffinity writes it: little-endian words.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|word| word.to_le_bytes()).collect()
    }

    /// The set holding only `cpu` (empty past the 1024th CPU).
    pub fn only(cpu: usize) -> CpuMask {
        let mut words = [0u64; 16];
        if let Some(word) = words.get_mut(cpu / 64) {
            *word = 1 << (cpu % 64);
        }
        CpuMask(words)
    }
}

/// The CPUs task `tid` may run on.
pub fn cpu_affinity(tid: crate::Tid) -> std::io::Result<CpuMask> {
    let mut words = [0u64; 16];
    // SAFETY: the kernel writes at most size_of_val(&words) bytes into `words`.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getaffinity, tid, std::mem::size_of_val(&words), words.as_mut_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(CpuMask(words))
}

/// Lets task `tid` run only on the CPUs of `mask`.
pub fn set_cpu_affinity(tid: crate::Tid, mask: &CpuMask) -> std::io::Result<()> {
    // SAFETY: the kernel reads size_of_val(&mask.0) bytes from a valid array.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setaffinity, tid, std::mem::size_of_val(&mask.0), mask.0.as_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
