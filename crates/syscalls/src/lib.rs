//! The x86-64 Linux system call table Scribe records, replays and prints from.
//!
//! Every system call is described once, as data: its number, its name, the
//! kinds of its arguments (for printing), how replay treats it, and which
//! tracee memory the kernel writes during the call. The recorder, the
//! replayer and the profiler all work from that description. Only the
//! irregular calls (iovecs, `msghdr`, `ioctl` by request, value-result socket
//! lengths, ...) get small hand-written functions, grouped by family in the
//! `outputs` module.
//!
//! Numbers are x86-64 numbers (`arch/x86/entry/syscalls/syscall_64.tbl`), and
//! struct sizes are x86-64 sizes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod format;
mod inputs;
mod names;
mod outputs;
mod table;
#[cfg(test)]
mod tests;

pub use format::{escape_bytes, format_call, format_result};
pub use inputs::input_ranges;
pub use names::{errno_name, signal_name};
pub use outputs::output_ranges;
pub use table::nr;

/// How replay treats a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Replay {
    /// Skipped on replay; the recorded result and output memory are written back.
    Emulate,
    /// Re-executed on replay (it shapes the address space or the task, or is deterministic).
    Execute,
    /// Executed on replay, then the recorded result and outputs overwrite what the kernel returned.
    ExecuteThenEmulate,
}

/// What an argument means, for printing and for finding input memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// A C `int`, shown as signed decimal (low 32 bits).
    Int,
    /// A C `long`/`off_t`, shown as signed decimal (all 64 bits).
    Long,
    /// An unsigned count or size, shown as unsigned decimal.
    UInt,
    /// A value best shown in hexadecimal (flags, keys, cookies).
    Hex,
    /// A file descriptor.
    Fd,
    /// A directory file descriptor for `*at` calls (`AT_FDCWD` shown by name).
    DirFd,
    /// A NUL-terminated path the kernel reads.
    Path,
    /// A NUL-terminated string the kernel reads that is not a path.
    Str,
    /// An input buffer whose length is argument N.
    InBuf(u8),
    /// A pointer the kernel writes through.
    OutBuf,
    /// Any other pointer.
    Ptr,
    /// `O_*` open flags.
    OpenFlags,
    /// `O_CLOEXEC`/`O_NONBLOCK`-style flags without an access mode (pipe2, dup3, `*_CLOEXEC`).
    FileFlags,
    /// A file mode, shown in octal.
    Mode,
    /// `PROT_*` memory protection.
    Prot,
    /// `MAP_*` mmap flags.
    MapFlags,
    /// A signal number.
    Signal,
    /// `SIG_BLOCK`/`SIG_UNBLOCK`/`SIG_SETMASK`.
    SigHow,
    /// An `fcntl` command.
    FcntlCmd,
    /// An `ioctl` request.
    IoctlReq,
    /// `F_OK`/`R_OK`/`W_OK`/`X_OK`.
    AccessMode,
    /// A `CLOCK_*` clock id.
    ClockId,
    /// `SEEK_*` lseek whence.
    Whence,
    /// A `FUTEX_*` operation.
    FutexOp,
    /// `AT_*` flags of the `*at` calls.
    AtFlags,
    /// `CLONE_*` flags (the low byte is the exit signal).
    CloneFlags,
    /// An `AF_*` socket domain.
    SockDomain,
    /// A `SOCK_*` socket type with `SOCK_NONBLOCK`/`SOCK_CLOEXEC`.
    SockType,
    /// `WNOHANG`-style wait options.
    WaitOptions,
    /// A `MADV_*` advice.
    Madvise,
    /// An `ARCH_*` arch_prctl code.
    ArchPrctlCode,
    /// An `RLIMIT_*` resource.
    Resource,
    /// A `PR_*` prctl option.
    PrctlOp,
    /// An `EPOLL_CTL_*` operation.
    EpollCtlOp,
}

/// How many bytes an output buffer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Len {
    /// The return value, when it is positive.
    Result,
    /// The value of argument N.
    Arg(u8),
    /// A fixed size.
    Fixed(u32),
    /// Argument N times a size.
    ArgTimes(u8, u32),
    /// The return value times a size.
    ResultTimes(u32),
    /// The `u32` argument N points to, read after the call (socklen_t-style value-result).
    DerefU32(u8),
}

/// Memory the kernel writes during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    /// The kernel writes `len` bytes at the address in argument `ptr` (on success).
    Buf {
        /// Which argument holds the address.
        ptr: u8,
        /// How many bytes are written.
        len: Len,
    },
    /// Computed by a hand-written function for this syscall number.
    Special,
}

/// The description of one system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallSpec {
    /// The x86-64 syscall number.
    pub nr: u32,
    /// The kernel's name for it (`newfstatat`, not `fstatat`).
    pub name: &'static str,
    /// The kinds of its arguments, in order.
    pub args: &'static [ArgKind],
    /// How replay treats it.
    pub replay: Replay,
    /// The memory the kernel writes.
    pub outputs: &'static [Output],
}

/// Read access to tracee memory (the engine implements it over ptrace).
pub trait Memory {
    /// Reads `len` bytes at `addr`, or `None` when any of them is unreadable.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// The description of syscall `nr`, if it exists on x86-64.
pub fn spec(nr: u32) -> Option<&'static SyscallSpec> {
    let table = table::TABLE;
    table
        .binary_search_by_key(&nr, |s| s.nr)
        .ok()
        .map(|i| &table[i])
}

/// The name of syscall `nr` (`"read"`).
pub fn name(nr: u32) -> Option<&'static str> {
    spec(nr).map(|s| s.name)
}

/// The number of the syscall called `name`.
pub fn number(name: &str) -> Option<u32> {
    table::TABLE.iter().find(|s| s.name == name).map(|s| s.nr)
}

/// Every described syscall, sorted by number.
pub fn all() -> &'static [SyscallSpec] {
    table::TABLE
}

/// Whether the seccomp filter lets this syscall run without stopping the tracee, in record and replay.
///
/// These are re-executed (`Replay::Execute`), deterministic given registers
/// and memory, produce no output that varies and have no external effect.
pub fn passthrough(nr: u32) -> bool {
    matches!(
        nr,
        nr::RT_SIGPROCMASK
            | nr::SIGALTSTACK
            | nr::MPROTECT
            | nr::MADVISE
            | nr::SCHED_YIELD
            | nr::SET_ROBUST_LIST
            | nr::ARCH_PRCTL
    )
}
