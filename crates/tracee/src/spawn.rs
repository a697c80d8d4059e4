//! Starting a program under ptrace with Scribe's seccomp filter installed.

use std::ffi::CString;
use std::path::PathBuf;

use crate::ptrace::{self, PtraceEvent, WaitStatus, TRACE_OPTIONS};
use crate::{Result, SeccompFilter, Tid, TraceeError};

/// How to start a traced program.
#[derive(Debug, Clone)]
pub struct SpawnConfig {
    /// Path passed to execve (resolved by the caller; no PATH search here).
    pub program: PathBuf,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<Vec<u8>>,
    /// The environment as `NAME=value` strings.
    pub env: Vec<Vec<u8>>,
    /// Working directory for the program, if not the caller's.
    pub cwd: Option<PathBuf>,
    /// Filter installed just before execve.
    pub filter: SeccompFilter,
    /// Turn off address-space randomization (personality ADDR_NO_RANDOMIZE).
    pub disable_aslr: bool,
    /// Make rdtsc/rdtscp fault with SIGSEGV (PR_SET_TSC) so they can be emulated.
    pub trap_tsc: bool,
    /// The signals the program starts with ignored (bit N-1 for signal N);
    /// every other one starts with its default action.
    pub ignored_signals: u64,
    /// The soft stack limit (RLIMIT_STACK, bytes; `u64::MAX` for unlimited)
    /// to start the program with; `None` keeps this process's.
    pub stack_limit: Option<u64>,
}

fn cstring(bytes: &[u8], what: &str) -> Result<CString> {
    CString::new(bytes.to_vec()).map_err(|_| TraceeError::Config(format!("{what} contains a NUL byte")))
}

/// Everything the child needs, allocated before fork: after fork only
/// async-signal-safe calls on these ready pointers are allowed.
struct Prepared {
    program: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _env: Vec<CString>,
    env_ptrs: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    filter: Vec<libc::sock_filter>,
    stack_limit: Option<libc::rlimit>,
}

fn prepare(cfg: &SpawnConfig) -> Result<Prepared> {
    use std::os::unix::ffi::OsStrExt;
    let program = cstring(cfg.program.as_os_str().as_bytes(), "program path")?;
    let argv = cfg.argv.iter().map(|a| cstring(a, "an argument")).collect::<Result<Vec<_>>>()?;
    let env = cfg.env.iter().map(|e| cstring(e, "an environment entry")).collect::<Result<Vec<_>>>()?;
    let cwd = cfg.cwd.as_ref().map(|c| cstring(c.as_os_str().as_bytes(), "working directory")).transpose()?;
    let mut argv_ptrs: Vec<_> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<_> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    let stack_limit = match cfg.stack_limit {
        None => None,
        Some(wanted) => {
            let (_, hard) = crate::sys::stack_limits().ok_or_else(|| TraceeError::last(0, "getrlimit(RLIMIT_STACK)"))?;
            if wanted > hard {
                return Err(TraceeError::Config(format!(
                    "the program must start with a stack limit of {}, above this process's hard limit of {}: raise it (`ulimit -Hs`, as root) or run from a shell where it is higher",
                    crate::sys::describe_limit(wanted),
                    crate::sys::describe_limit(hard)
                )));
            }
            Some(libc::rlimit { rlim_cur: wanted, rlim_max: hard })
        }
    };
    Ok(Prepared {
        program,
        _argv: argv,
        argv_ptrs,
        _env: env,
        env_ptrs,
        cwd,
        filter: cfg.filter.program.clone(),
        stack_limit,
    })
}

/// Stage codes the child reports through the error pipe.
const STAGE_CHDIR: u32 = 1;
const STAGE_TRACEME: u32 = 2;
const STAGE_SECCOMP: u32 = 3;
const STAGE_EXEC: u32 = 4;
const STAGE_RLIMIT: u32 = 5;

/// Runs in the forked child; never returns.
///
/// Only async-signal-safe functions are called: the parent may have other
/// threads whose locks were copied in an arbitrary state.
fn child(p: &Prepared, cfg_aslr: bool, cfg_tsc: bool, ignored: u64, err_fd: libc::c_int) -> ! {
    let fail = |stage: u32| -> ! {
        // SAFETY: errno location is thread-local and valid; write(2) and
        // _exit(2) are async-signal-safe; the buffer lives on this stack.
        unsafe {
            let errno = *libc::__errno_location();
            let msg = [stage.to_le_bytes(), (errno as u32).to_le_bytes()].concat();
            libc::write(err_fd, msg.as_ptr().cast(), msg.len());
            libc::_exit(127);
        }
    };
    // SAFETY: all pointers come from `Prepared`, which outlives this call and
    // was fully built before fork; every call is async-signal-safe.
    unsafe {
        // As asked (Rust's runtime ignores SIGPIPE, whoever started this
        // process may have ignored others); SIGKILL and SIGSTOP cannot be
        // changed, and handlers are reset by execve anyway.
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                let action = if ignored & (1 << (sig - 1)) != 0 { libc::SIG_IGN } else { libc::SIG_DFL };
                libc::signal(sig, action);
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if let Some(limit) = &p.stack_limit {
            if libc::setrlimit(libc::RLIMIT_STACK, limit) != 0 {
                fail(STAGE_RLIMIT);
            }
        }
        if let Some(cwd) = &p.cwd {
            if libc::chdir(cwd.as_ptr()) != 0 {
                fail(STAGE_CHDIR);
            }
        }
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            fail(STAGE_TRACEME);
        }
        // Stop so the parent can set ptrace options before the filter exists:
        // a SECCOMP_RET_TRACE without a tracer fails the syscall with ENOSYS.
        libc::kill(libc::getpid(), libc::SIGSTOP);
        if cfg_aslr {
            let current = libc::personality(0xffff_ffff);
            libc::personality((current as libc::c_ulong) | libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
        }
        if cfg_tsc {
            crate::owntsc::trap_tsc(true);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(STAGE_SECCOMP);
        }
        let prog = libc::sock_fprog { len: p.filter.len() as u16, filter: p.filter.as_ptr() as *mut _ };
        if libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog as *const libc::sock_fprog) != 0 {
            fail(STAGE_SECCOMP);
        }
        libc::execve(p.program.as_ptr(), p.argv_ptrs.as_ptr(), p.env_ptrs.as_ptr());
        fail(STAGE_EXEC);
    }
}

/// How many seccomp filters a program started by [`spawn_traced`] has
/// (Scribe's one), before it installs any of its own; a tracer that has
/// filters itself cannot let its tracees bypass them anyway.
pub const SCRIBE_FILTERS: u32 = 1;

/// Forks and executes `cfg.program` as a tracee.
///
/// Returns the new task stopped at its PTRACE_EVENT_EXEC stop: the new image
/// is loaded and no instruction of it has run.
pub fn spawn_traced(cfg: &SpawnConfig) -> Result<Tid> {
    let prepared = prepare(cfg)?;
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid 2-int out-array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(TraceeError::last(0, "pipe2"));
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: the child only runs `child`, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(TraceeError::last(0, "fork"));
    }
    if pid == 0 {
        child(&prepared, cfg.disable_aslr, cfg.trap_tsc, cfg.ignored_signals, write_fd);
    }
    // SAFETY: closing our copy of the write end, an fd we own.
    unsafe { libc::close(write_fd) };
    let result = supervise_until_exec(pid, cfg, read_fd);
    // SAFETY: the read end is ours and no longer used.
    unsafe { libc::close(read_fd) };
    result
}

fn read_child_error(read_fd: libc::c_int) -> Option<(u32, i32)> {
    let mut buf = [0u8; 8];
    // SAFETY: reading at most 8 bytes into an 8-byte stack buffer.
    let n = unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) };
    (n == 8).then(|| {
        let stage = u32::from_le_bytes(buf[..4].try_into().unwrap_or_default());
        let errno = i32::from_le_bytes(buf[4..].try_into().unwrap_or_default());
        (stage, errno)
    })
}

fn supervise_until_exec(pid: Tid, cfg: &SpawnConfig, read_fd: libc::c_int) -> Result<Tid> {
    let path = cfg.program.display().to_string();
    let (_, first) = ptrace::wait(pid)?;
    match first {
        WaitStatus::Signal(libc::SIGSTOP) => {}
        WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => return Err(child_failure(&path, read_fd)),
        other => {
            ptrace::kill_task(pid);
            return Err(TraceeError::Config(format!("unexpected first stop of the child: {other:?}")));
        }
    }
    ptrace::set_options(pid, TRACE_OPTIONS)?;
    ptrace::cont(pid, 0)?;
    loop {
        let (_, status) = ptrace::wait(pid)?;
        match status {
            WaitStatus::Event(PtraceEvent::Exec) => return Ok(pid),
            WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => return Err(child_failure(&path, read_fd)),
            WaitStatus::Signal(sig) => ptrace::cont(pid, sig)?,
            _ => ptrace::cont(pid, 0)?,
        }
    }
}

fn child_failure(path: &str, read_fd: libc::c_int) -> TraceeError {
    match read_child_error(read_fd) {
        Some((STAGE_EXEC, errno)) => {
            TraceeError::Exec { path: path.to_string(), source: std::io::Error::from_raw_os_error(errno) }
        }
        Some((stage, errno)) => {
            let what = match stage {
                STAGE_CHDIR => "chdir to the working directory",
                STAGE_TRACEME => "PTRACE_TRACEME",
                STAGE_SECCOMP => "installing the seccomp filter",
                STAGE_RLIMIT => "setting the stack limit",
                _ => "child setup",
            };
            TraceeError::Sys { tid: 0, op: what, source: std::io::Error::from_raw_os_error(errno) }
        }
        None => TraceeError::Config(format!("the child for {path} died before execve")),
    }
}
