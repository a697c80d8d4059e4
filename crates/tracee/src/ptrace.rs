//! ptrace requests and wait statuses.

use crate::{Result, Tid, TraceeError};

/// The x86-64 general registers as ptrace sees them (`struct user_regs_struct`).
pub type Regs = libc::user_regs_struct;

/// Number of 64-bit words in [`Regs`].
pub const REGS_WORDS: usize = std::mem::size_of::<Regs>() / 8;

/// The registers as a word array, in `user_regs_struct` order.
pub fn regs_to_words(regs: &Regs) -> Vec<u64> {
    vec![
        regs.r15, regs.r14, regs.r13, regs.r12, regs.rbp, regs.rbx, regs.r11, regs.r10, regs.r9,
        regs.r8, regs.rax, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.orig_rax, regs.rip,
        regs.cs, regs.eflags, regs.rsp, regs.ss, regs.fs_base, regs.gs_base, regs.ds, regs.es,
        regs.fs, regs.gs,
    ]
}

/// Names of the words returned by [`regs_to_words`].
pub const REG_NAMES: [&str; REGS_WORDS] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
    "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
    "es", "fs", "gs",
];

/// The six syscall argument registers, in order.
pub fn syscall_args(regs: &Regs) -> [u64; 6] {
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9]
}

/// Sets the six syscall argument registers.
pub fn set_syscall_args(regs: &mut Regs, args: &[u64; 6]) {
    regs.rdi = args[0];
    regs.rsi = args[1];
    regs.rdx = args[2];
    regs.r10 = args[3];
    regs.r8 = args[4];
    regs.r9 = args[5];
}

/// A ptrace event code reported in a stop (`PTRACE_EVENT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtraceEvent {
    /// A seccomp filter returned SECCOMP_RET_TRACE: the syscall has not run yet.
    Seccomp,
    /// execve succeeded; the new image is loaded.
    Exec,
    /// The task called clone (new thread or process).
    Clone,
    /// The task forked.
    Fork,
    /// The task vforked.
    Vfork,
    /// The vfork child released the parent's memory.
    VforkDone,
    /// The task is about to exit.
    Exit,
    /// A PTRACE_INTERRUPT or group-stop under PTRACE_SEIZE.
    Stop,
    /// Any other event number.
    Other(i32),
}

impl PtraceEvent {
    fn from_raw(code: i32) -> Self {
        match code {
            libc::PTRACE_EVENT_SECCOMP => PtraceEvent::Seccomp,
            libc::PTRACE_EVENT_EXEC => PtraceEvent::Exec,
            libc::PTRACE_EVENT_CLONE => PtraceEvent::Clone,
            libc::PTRACE_EVENT_FORK => PtraceEvent::Fork,
            libc::PTRACE_EVENT_VFORK => PtraceEvent::Vfork,
            libc::PTRACE_EVENT_VFORK_DONE => PtraceEvent::VforkDone,
            libc::PTRACE_EVENT_EXIT => PtraceEvent::Exit,
            libc::PTRACE_EVENT_STOP => PtraceEvent::Stop,
            other => PtraceEvent::Other(other),
        }
    }
}

/// What `waitpid` reported for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    /// The task exited with this code.
    Exited(i32),
    /// The task was killed by this signal.
    Signaled {
        /// The signal.
        signal: i32,
        /// Whether a core dump was written.
        core: bool,
    },
    /// A syscall-entry or syscall-exit stop (PTRACE_O_TRACESYSGOOD).
    SyscallStop,
    /// A ptrace event stop.
    Event(PtraceEvent),
    /// A signal-delivery stop: the signal is about to be delivered.
    Signal(i32),
}

/// The ptrace options Scribe sets on every tracee.
pub const TRACE_OPTIONS: i32 = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXIT
    | libc::PTRACE_O_EXITKILL;

fn decode_status(status: i32) -> WaitStatus {
    if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled { signal: libc::WTERMSIG(status), core: libc::WCOREDUMP(status) }
    } else {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if sig == libc::SIGTRAP | 0x80 {
            WaitStatus::SyscallStop
        } else if event != 0 {
            WaitStatus::Event(PtraceEvent::from_raw(event))
        } else {
            WaitStatus::Signal(sig)
        }
    }
}

const WAIT_FLAGS: libc::c_int = libc::__WALL | libc::__WNOTHREAD;

/// Waits for a state change of `tid`, or of any tracee when `tid` is -1.
///
/// Uses `__WALL` so threads are reported too, and `__WNOTHREAD` so that
/// only the calling thread's tracees are reported: two recordings running
/// on two threads of one process (parallel tests, a library user) must not
/// take each other's stops. Retries on EINTR.
pub fn wait(tid: Tid) -> Result<(Tid, WaitStatus)> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer for the duration of the call.
        let r = unsafe { libc::waitpid(tid, &mut status, WAIT_FLAGS) };
        if r >= 0 {
            return Ok((r, decode_status(status)));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(TraceeError::Sys { tid, op: "waitpid", source: err });
        }
    }
}

/// Like [`wait`], but returns `None` when a signal handler interrupted the
/// wait (see [`crate::catch_control_signals`]), so the caller can react.
pub fn wait_interruptible(tid: Tid) -> Result<Option<(Tid, WaitStatus)>> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer for the duration of the call.
    let r = unsafe { libc::waitpid(tid, &mut status, WAIT_FLAGS) };
    if r >= 0 {
        return Ok(Some((r, decode_status(status))));
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EINTR) {
        return Ok(None);
    }
    Err(TraceeError::Sys { tid, op: "waitpid", source: err })
}

fn request(req: libc::c_uint, tid: Tid, addr: usize, data: usize, op: &'static str) -> Result<i64> {
    // SAFETY: the requests issued through this helper take plain integers or
    // pointers to buffers owned by the caller that outlive the call; ptrace
    // validates the tid itself.
    let r = unsafe { libc::ptrace(req, tid, addr as *mut libc::c_void, data as *mut libc::c_void) };
    if r == -1 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error().unwrap_or(0) != 0 {
            return Err(if err.raw_os_error() == Some(libc::ESRCH) {
                TraceeError::Gone { tid, op }
            } else {
                TraceeError::Sys { tid, op, source: err }
            });
        }
    }
    Ok(r)
}

/// Sets Scribe's ptrace options on a stopped tracee.
pub fn set_options(tid: Tid, options: i32) -> Result<()> {
    request(libc::PTRACE_SETOPTIONS, tid, 0, options as usize, "PTRACE_SETOPTIONS").map(drop)
}

/// Makes a stopped tracee's syscalls bypass every seccomp filter it has
/// (`suspended`), or meet them again; Scribe's other options stay. The
/// kernel allows the bypass only to a tracer with CAP_SYS_ADMIN and no
/// seccomp filter of its own (EPERM otherwise); a task created by a
/// bypassing one bypasses too.
pub fn set_seccomp_suspended(tid: Tid, suspended: bool) -> Result<()> {
    let bypass = if suspended { libc::PTRACE_O_SUSPEND_SECCOMP } else { 0 };
    set_options(tid, TRACE_OPTIONS | bypass)
}

/// Resumes a stopped tracee, delivering `signal` (0 for none).
pub fn cont(tid: Tid, signal: i32) -> Result<()> {
    request(libc::PTRACE_CONT, tid, 0, signal as usize, "PTRACE_CONT").map(drop)
}

/// Resumes a stopped tracee for one instruction, delivering `signal` (0
/// for none). A signal with a handler stops the tracee at the handler's
/// first instruction instead, its frame built.
pub fn step(tid: Tid, signal: i32) -> Result<()> {
    request(libc::PTRACE_SINGLESTEP, tid, 0, signal as usize, "PTRACE_SINGLESTEP").map(drop)
}

/// Resumes a stopped tracee until the next syscall entry or exit.
pub fn cont_syscall(tid: Tid, signal: i32) -> Result<()> {
    request(libc::PTRACE_SYSCALL, tid, 0, signal as usize, "PTRACE_SYSCALL").map(drop)
}

/// Detaches from a stopped tracee, delivering `signal`.
pub fn detach(tid: Tid, signal: i32) -> Result<()> {
    request(libc::PTRACE_DETACH, tid, 0, signal as usize, "PTRACE_DETACH").map(drop)
}

/// Reads the general registers of a stopped tracee.
pub fn get_regs(tid: Tid) -> Result<Regs> {
    // SAFETY: user_regs_struct is plain old data; all-zero is a valid value.
    let mut regs: Regs = unsafe { std::mem::zeroed() };
    request(libc::PTRACE_GETREGS, tid, 0, &mut regs as *mut Regs as usize, "PTRACE_GETREGS")?;
    Ok(regs)
}

/// Writes the general registers of a stopped tracee.
pub fn set_regs(tid: Tid, regs: &Regs) -> Result<()> {
    request(libc::PTRACE_SETREGS, tid, 0, regs as *const Regs as usize, "PTRACE_SETREGS").map(drop)
}

/// Writes a stopped tracee's x87 and SSE registers back unchanged, which
/// marks them in use: the kernel loads them with XRSTOR before the tracee
/// runs again, whatever CPU it runs on.
///
/// Whether a later XSAVE writes those registers (into a signal frame, or
/// the dynamic linker's save area on the stack) depends on whether the CPU
/// counts them in use, and where their values are the initial ones (a
/// signal handler's start) that changes with the kernel's own loads at
/// context switches: with a ptrace stop or not, on the same CPU as the
/// tracer or not. After this it is known.
pub fn mark_fp_state_in_use(tid: Tid) -> Result<()> {
    let mut area = [0u64; 64];
    request(libc::PTRACE_GETFPREGS, tid, 0, area.as_mut_ptr() as usize, "PTRACE_GETFPREGS")?;
    request(libc::PTRACE_SETFPREGS, tid, 0, area.as_ptr() as usize, "PTRACE_SETFPREGS").map(drop)
}

/// Size of a raw `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;

/// Reads the siginfo of the signal a tracee is stopped for.
pub fn get_siginfo(tid: Tid) -> Result<[u8; SIGINFO_SIZE]> {
    let mut buf = [0u8; SIGINFO_SIZE];
    request(libc::PTRACE_GETSIGINFO, tid, 0, buf.as_mut_ptr() as usize, "PTRACE_GETSIGINFO")?;
    Ok(buf)
}

/// Replaces the siginfo of the signal a tracee is stopped for.
pub fn set_siginfo(tid: Tid, info: &[u8; SIGINFO_SIZE]) -> Result<()> {
    request(libc::PTRACE_SETSIGINFO, tid, 0, info.as_ptr() as usize, "PTRACE_SETSIGINFO").map(drop)
}

/// Reads the event message of the last ptrace event (new tid, exit status...).
pub fn get_event_msg(tid: Tid) -> Result<u64> {
    let mut msg: libc::c_ulong = 0;
    request(
        libc::PTRACE_GETEVENTMSG,
        tid,
        0,
        &mut msg as *mut libc::c_ulong as usize,
        "PTRACE_GETEVENTMSG",
    )?;
    Ok(msg)
}

/// Sends SIGKILL to a task; errors are ignored because the task may be gone.
pub fn kill_task(tid: Tid) {
    // SAFETY: kill(2) with a plain pid and signal number has no memory effects.
    unsafe {
        libc::kill(tid, libc::SIGKILL);
    }
}

/// Kills the given tracees and reaps them all.
///
/// Every one is sent SIGKILL before any is waited for: waiting for a
/// thread-group leader returns only once its other threads are gone, and
/// those may sit in a ptrace stop (or stop again at their exit event) until
/// this tracer resumes them, which the loop does for any stop it meets.
/// A stop already reported and not resumed (the caller gave up with a task
/// still held) is never reported again, and SIGKILL does not end a task
/// held at its exit event: each is resumed once up front, which fails
/// harmlessly for a task that is running.
pub fn kill_and_reap(tids: impl IntoIterator<Item = Tid>) {
    let mut left: std::collections::BTreeSet<Tid> = tids.into_iter().collect();
    for &tid in &left {
        kill_task(tid);
    }
    for &tid in &left {
        let _ = cont(tid, 0);
    }
    while !left.is_empty() {
        match wait(-1) {
            Ok((tid, WaitStatus::Exited(_) | WaitStatus::Signaled { .. })) => {
                left.remove(&tid);
            }
            Ok((tid, _)) => {
                let _ = cont(tid, 0);
            }
            // No tracee of this thread is left.
            Err(_) => break,
        }
    }
}

/// Offset of `u_debugreg` in `struct user` (x86-64), for PTRACE_POKEUSER.
const DEBUGREG_OFFSET: usize = 848;

/// Arms (or with `None` disarms) hardware breakpoint 0 of a stopped tracee
/// as an execution breakpoint at `addr`: the task then stops with SIGTRAP
/// before executing the instruction there. Disarms the other three.
pub fn set_exec_breakpoint(tid: Tid, addr: Option<u64>) -> Result<()> {
    match addr {
        Some(addr) => set_exec_breakpoints(tid, &[addr]),
        None => set_exec_breakpoints(tid, &[]),
    }
}

/// How many hardware breakpoints x86-64 has (DR0 to DR3).
pub const HW_BREAKPOINTS: usize = 4;

/// Arms hardware breakpoints 0.. of a stopped tracee as execution
/// breakpoints at `addrs` (at most [`HW_BREAKPOINTS`]; an empty slice
/// disarms all of them).
pub fn set_exec_breakpoints(tid: Tid, addrs: &[u64]) -> Result<()> {
    if addrs.len() > HW_BREAKPOINTS {
        return Err(TraceeError::Config(format!("{} hardware breakpoints asked for, the CPU has {HW_BREAKPOINTS}", addrs.len())));
    }
    // DR7: bit 2n (Ln) enables breakpoint n; its R/W and LEN fields stay 00
    // (execute, 1 byte), as an execution breakpoint requires. Disarm first
    // so that no breakpoint is briefly enabled at a stale address.
    request(libc::PTRACE_POKEUSER, tid, DEBUGREG_OFFSET + 7 * 8, 0, "PTRACE_POKEUSER dr7")?;
    let mut dr7 = 0usize;
    for (n, &addr) in addrs.iter().enumerate() {
        request(libc::PTRACE_POKEUSER, tid, DEBUGREG_OFFSET + n * 8, addr as usize, "PTRACE_POKEUSER dr0-3")?;
        dr7 |= 1 << (2 * n);
    }
    if dr7 != 0 {
        request(libc::PTRACE_POKEUSER, tid, DEBUGREG_OFFSET + 7 * 8, dr7, "PTRACE_POKEUSER dr7")?;
    }
    Ok(())
}

/// The signal mask of a stopped tracee (bit n-1 for signal n).
pub fn get_sigmask(tid: Tid) -> Result<u64> {
    let mut mask = 0u64;
    request(libc::PTRACE_GETSIGMASK, tid, std::mem::size_of::<u64>(), &mut mask as *mut u64 as usize, "PTRACE_GETSIGMASK")?;
    Ok(mask)
}

/// The robust futex list head a task registered (set_robust_list), or
/// `None` if it registered none.
pub fn get_robust_list(tid: Tid) -> Result<Option<u64>> {
    let mut head: usize = 0;
    let mut len: usize = 0;
    // SAFETY: the kernel writes one pointer-sized value to each of `head`
    // and `len`, both valid locals.
    let rc = unsafe { libc::syscall(libc::SYS_get_robust_list, tid, &mut head as *mut usize, &mut len as *mut usize) };
    if rc != 0 {
        return Err(TraceeError::Sys { tid, op: "get_robust_list", source: std::io::Error::last_os_error() });
    }
    Ok((head != 0).then_some(head as u64))
}

/// `PTRACE_GET_SYSCALL_INFO`'s `op` for a syscall-exit stop.
const SYSCALL_INFO_EXIT: u8 = 2;

/// Runs one system call inside a stopped tracee and returns its result
/// (a negative errno on failure); the tracee's registers are restored
/// afterwards, so it resumes where it was.
///
/// `insn` is the address of a `syscall` instruction in the tracee. The
/// tracee must be stopped where its registers can be replaced: a
/// signal-delivery stop (whose signal is then discarded) or a syscall-exit
/// stop, not a ptrace event or seccomp stop inside another syscall. A
/// signal that arrives meanwhile is discarded.
pub fn remote_syscall(tid: Tid, insn: u64, nr: u64, args: [u64; 6]) -> Result<i64> {
    let saved = get_regs(tid)?;
    let mut regs = saved;
    regs.rip = insn;
    regs.rax = nr;
    regs.orig_rax = u64::MAX;
    set_syscall_args(&mut regs, &args);
    set_regs(tid, &regs)?;
    let result = loop {
        cont_syscall(tid, 0)?;
        match wait(tid)?.1 {
            WaitStatus::SyscallStop => {
                let mut info = [0u8; 88];
                request(libc::PTRACE_GET_SYSCALL_INFO, tid, info.len(), info.as_mut_ptr() as usize, "PTRACE_GET_SYSCALL_INFO")?;
                if info[0] == SYSCALL_INFO_EXIT {
                    break get_regs(tid)?.rax as i64;
                }
            }
            WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => return Err(TraceeError::Gone { tid, op: "remote syscall" }),
            // The seccomp stop of the call itself, or a signal: go on.
            WaitStatus::Event(_) | WaitStatus::Signal(_) => {}
        }
    };
    set_regs(tid, &saved)?;
    Ok(result)
}

/// From a syscall-exit stop whose registers are `at_exit`, runs one more
/// system call through the same `syscall` instruction and returns its
/// result (a negative errno on failure); the tracee is left at that call's
/// exit stop, with the call's registers.
///
/// The instruction must be one the seccomp filter traces (the call stops
/// there first). Signals that arrive meanwhile are discarded, as replay
/// discards every signal it did not inject.
pub fn syscall_again(tid: Tid, at_exit: &Regs, nr: u64, args: [u64; 6]) -> Result<(i64, Regs)> {
    let mut regs = *at_exit;
    regs.rip = at_exit.rip.wrapping_sub(2);
    regs.rax = nr;
    regs.orig_rax = u64::MAX;
    set_syscall_args(&mut regs, &args);
    set_regs(tid, &regs)?;
    cont(tid, 0)?;
    loop {
        match wait(tid)?.1 {
            WaitStatus::Event(PtraceEvent::Seccomp) => cont_syscall(tid, 0)?,
            WaitStatus::SyscallStop => {
                let regs = get_regs(tid)?;
                return Ok((regs.rax as i64, regs));
            }
            WaitStatus::Exited(_) | WaitStatus::Signaled { .. } | WaitStatus::Event(PtraceEvent::Exit) => {
                return Err(TraceeError::Gone { tid, op: "syscall run again" })
            }
            WaitStatus::Signal(_) => cont(tid, 0)?,
            // Any other event stop of this call: go on to its exit.
            WaitStatus::Event(_) => cont_syscall(tid, 0)?,
        }
    }
}

/// Sends `signal` to one thread (tgkill); errors are ignored because the
/// thread may have exited meanwhile.
pub fn signal_thread(tgid: Tid, tid: Tid, signal: i32) {
    // SAFETY: tgkill has no memory effects; it takes plain integers.
    unsafe {
        libc::syscall(libc::SYS_tgkill, tgid, tid, signal);
    }
}
