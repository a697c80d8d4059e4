//! The events a trace holds, in the order the recorder saw them.
//!
//! Every field is a plain number or byte string: no Rust enum discriminant is
//! ever persisted, only the explicit `KIND_*` and code constants below, so the
//! on-disk meaning cannot change when code is reordered.

/// A thread id as the kernel reported it during recording.
pub type Tid = i32;

/// The recording header: what was run, where, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Version of the scribe program that wrote the trace (e.g. "0.1.0").
    pub scribe_version: String,
    /// CPU model name from /proc/cpuinfo; replay warns when it differs.
    pub cpu_model: String,
    /// Kernel release (uname -r) of the recording machine.
    pub kernel_release: String,
    /// Absolute path of the program passed to the first execve.
    pub exe_path: Vec<u8>,
    /// The command line (argv), as raw bytes.
    pub argv: Vec<Vec<u8>>,
    /// The environment, as raw `NAME=value` byte strings, in order.
    pub env: Vec<Vec<u8>>,
    /// Working directory the program started in.
    pub cwd: Vec<u8>,
    /// Verbosity level the trace was recorded at (0 = minimal).
    pub level: u8,
    /// Whether file contents are stored in the trace (`record --portable`).
    pub portable: bool,
    /// Wall-clock start of the recording, nanoseconds since the Unix epoch.
    pub start_time_ns: u64,
    /// The signals the program started with ignored (bit N-1 for signal
    /// N), inherited from whatever ran the recorder (`nohup`, a shell's
    /// background job); replay starts the program with the same. Format 11
    /// on; 0 in older traces.
    pub ignored_signals: u64,
    /// The soft stack limit (RLIMIT_STACK, bytes; `u64::MAX` for
    /// unlimited) the program started with. The kernel places the memory
    /// maps below the stack by it (over 128 MiB moves them; unlimited lays
    /// them out bottom-up), so replay starts the program with the same.
    /// Format 18 on; `None` in older traces.
    pub stack_limit: Option<u64>,
}

/// One kernel-written (or program-supplied) range of tracee memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemBytes {
    /// Tracee address of the first byte.
    pub addr: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A file the program executed or mapped, identified by content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRecord {
    /// Identifier used by later events (`MapFile::file_id`), unique per trace.
    pub id: u32,
    /// Path the file had during recording.
    pub path: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// SHA-256 of the whole content.
    pub sha256: [u8; 32],
    /// The content itself, when stored (portable traces, or files that may not
    /// survive until replay).
    pub contents: Option<Vec<u8>>,
}

/// The state of a task right after a successful execve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecRecord {
    /// The task that executed.
    pub tid: Tid,
    /// Path of the new executable (from /proc/PID/exe).
    pub exe_path: Vec<u8>,
    /// Stack pointer at the first instruction.
    pub rsp: u64,
    /// The initial stack from `rsp` to the end of the stack mapping (argv,
    /// envp, auxv, AT_RANDOM bytes), as the program will see it.
    pub stack: Vec<u8>,
    /// Files the kernel mapped itself (executable, ELF interpreter), by id.
    pub mapped_files: Vec<u32>,
}

/// One system call and its effects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyscallRecord {
    /// The calling task.
    pub tid: Tid,
    /// Syscall number (x86-64).
    pub nr: u32,
    /// The six argument registers (rdi, rsi, rdx, r10, r8, r9).
    pub args: [u64; 6],
    /// Return value (negative errno on failure).
    pub result: i64,
    /// Memory the kernel wrote into the tracee.
    pub outputs: Vec<MemBytes>,
    /// Memory the program passed to the kernel (paths, write buffers); kept
    /// only at verbosity level >= 1 for people and divergence checks.
    pub inputs: Vec<MemBytes>,
    /// Digest of the registers at syscall entry (level >= 2), checked on replay.
    pub regs_digest: Option<u64>,
}

/// A mapping of a file's content made by mmap, replayed as private memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapRecord {
    /// The mapping task.
    pub tid: Tid,
    /// Start address of the mapping.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// Protection bits (PROT_*).
    pub prot: u32,
    /// mmap flags (MAP_*).
    pub flags: u32,
    /// Offset in the file.
    pub offset: u64,
    /// Source of the content: a `FileRecord` id, or `None` when `data` holds it.
    pub file_id: Option<u32>,
    /// The mapped bytes themselves, for files without a stable identity
    /// (memfd, deleted files, devices).
    pub data: Option<Vec<u8>>,
}

/// A trapped rdtsc or rdtscp and the value it produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RdtscRecord {
    /// The task.
    pub tid: Tid,
    /// Address of the instruction.
    pub rip: u64,
    /// Time-stamp counter value returned in edx:eax.
    pub tsc: u64,
    /// TSC_AUX returned in ecx, for rdtscp only.
    pub aux: Option<u32>,
}

/// A rewritten RDRAND or RDSEED (see the engine's `randinsn`) and the
/// value it produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RandomRecord {
    /// The task.
    pub tid: Tid,
    /// Address of the instruction.
    pub rip: u64,
    /// The value; its register gets as much of it as the operand holds.
    pub value: u64,
}

/// Where a signal was delivered.
pub mod signal_origin {
    /// Raised by the instruction at `rip` (fault, trap): replay reproduces it.
    pub const FAULT: u8 = 0;
    /// Pending when a syscall returned: replay injects it at that syscall's exit.
    pub const SYSCALL_EXIT: u8 = 1;
    /// Arrived while the task ran user code (no sync point).
    pub const ASYNC: u8 = 2;
    /// Held while the task ran user code, then delivered at the point of
    /// the `Preempt` event just before it.
    pub const POINT: u8 = 3;
}

/// A signal delivered to a task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalRecord {
    /// The receiving task.
    pub tid: Tid,
    /// Signal number.
    pub signo: i32,
    /// One of `signal_origin::*`.
    pub origin: u8,
    /// Instruction pointer when the signal was delivered.
    pub rip: u64,
    /// The raw 128-byte siginfo_t.
    pub siginfo: Vec<u8>,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitRecord {
    /// The task.
    pub tid: Tid,
    /// Exit code (0-255) when `signal` is 0.
    pub code: i32,
    /// Terminating signal, or 0 for a normal exit.
    pub signal: i32,
}

/// A full register dump (level >= 2), `user_regs_struct` order, 27 words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegsRecord {
    /// The task.
    pub tid: Tid,
    /// The registers.
    pub regs: Vec<u64>,
}

/// A shared kernel resource touched by a syscall, with its serial.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceRecord {
    /// The task.
    pub tid: Tid,
    /// Resource type, one of `resource_kind::*`.
    pub kind: u8,
    /// Identity of the resource within its type (inode number, fd, futex address...).
    pub id: u64,
    /// Serial number of this access.
    pub serial: u64,
}

/// Resource types for `ResourceRecord::kind`.
pub mod resource_kind {
    /// An inode (file content and metadata).
    pub const INODE: u8 = 0;
    /// An open file description (offset).
    pub const FILE: u8 = 1;
    /// A file-descriptor table.
    pub const FILES_TABLE: u8 = 2;
    /// The process id table.
    pub const PID: u8 = 3;
    /// Parent/child relations.
    pub const PPID: u8 = 4;
    /// A futex word.
    pub const FUTEX: u8 = 5;
    /// A System V IPC object.
    pub const IPC: u8 = 6;
    /// A memory map.
    pub const MMAP: u8 = 7;
    /// A unix socket address.
    pub const UNIX_ADDR: u8 = 8;
    /// A pipe.
    pub const PIPE: u8 = 9;
    /// The terminal.
    pub const TERMINAL: u8 = 10;
}

/// A numbered point the user can replay to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookmarkRecord {
    /// Bookmark number, from 0.
    pub id: u32,
    /// The task the bookmark was taken on.
    pub tid: Tid,
    /// The state of each process at the bookmark, in pid order, checked by
    /// replay when it stops or goes live there. Empty in version 1 traces.
    pub digests: Vec<StateDigest>,
}

/// The state of one process at a bookmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateDigest {
    /// The process (recorded thread-group id).
    pub pid: Tid,
    /// FNV-1a over the address and content of its writable private memory.
    pub memory: u64,
    /// FNV-1a over its tasks' register digests at their last syscall entry,
    /// in tid order.
    pub registers: u64,
}

/// A new task (thread or process) starting to run user code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskStartRecord {
    /// The new task.
    pub tid: Tid,
    /// The process (thread-group id) it belongs to.
    pub parent: Tid,
}

/// A task's memory domain joining another: from this event on, the tasks
/// of both run user code one at a time, in trace order. Written when a
/// process maps a shared file that a process of another domain maps too.
/// With `domain == tid` (format 14 on) the task instead leaves its domain
/// for one of its own: a vfork child that exec'd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinRecord {
    /// The task whose mapping joined the domains; its domain joins `domain`.
    pub tid: Tid,
    /// The domain joined (named, as domains are, by its first task).
    pub domain: Tid,
}

impl JoinRecord {
    /// Task `tid` leaving its domain for one of its own (a vfork child at
    /// its exec): a join of the task into itself.
    pub fn leaving(tid: Tid) -> Self {
        JoinRecord { tid, domain: tid }
    }

    /// Whether this is a task leaving its domain (see [`JoinRecord::leaving`]).
    pub fn leaves_domain(&self) -> bool {
        self.tid == self.domain
    }
}

/// A task stopped by the scheduler while running user code, so another
/// could run. Replay stops it at the first execution of `rip` whose
/// registers and stack top give the same `fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreemptRecord {
    /// The preempted task.
    pub tid: Tid,
    /// Address of the next instruction.
    pub rip: u64,
    /// Digest of the registers and the top of the stack at that point.
    pub fingerprint: u64,
    /// The exact registers and stack words the fingerprint digests (see
    /// `scribe_engine`'s machine module for the order), so replay can look
    /// for the point with a check inside the task instead of a trap per
    /// pass. Empty in traces before format version 3.
    pub state: Vec<u64>,
    /// The stack above the point (format 22 on; `None` before): passes
    /// whose registers and first KiB of stack agree can still differ
    /// deeper in their callers' frames, where a loop keeps its count.
    pub stack: Option<StackDigest>,
}

/// A digest of the `len` bytes of stack from a point's stack pointer up
/// (to the end of the stack's mapping, at most 64 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackDigest {
    /// How many bytes the digest covers.
    pub len: u32,
    /// FNV-1a of those bytes, a 64-bit word at a time.
    pub digest: u64,
}

/// Why a trace ended; the last event of a complete trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndRecord {
    /// One of `end_reason::*`.
    pub reason: u8,
    /// Free text for people (error message, detach note).
    pub message: String,
}

/// Values of `EndRecord::reason`.
pub mod end_reason {
    /// All recorded tasks exited.
    pub const EXITED: u8 = 0;
    /// The recorder detached; the program went on untraced.
    pub const DETACHED: u8 = 1;
    /// The recorder stopped on an error.
    pub const ERROR: u8 = 2;
}

/// One trace event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A file identified by content.
    File(FileRecord),
    /// A successful execve.
    Exec(ExecRecord),
    /// A system call.
    Syscall(SyscallRecord),
    /// A file mapping.
    MapFile(MapRecord),
    /// An rdtsc/rdtscp.
    Rdtsc(RdtscRecord),
    /// A signal delivery.
    Signal(SignalRecord),
    /// A task exit.
    Exit(ExitRecord),
    /// A register dump.
    Regs(RegsRecord),
    /// A resource lock with its serial.
    Resource(ResourceRecord),
    /// A bookmark.
    Bookmark(BookmarkRecord),
    /// The end of the trace.
    End(EndRecord),
    /// A new task starts running (or a stopped one resumes).
    TaskStart(TaskStartRecord),
    /// A task was preempted.
    Preempt(PreemptRecord),
    /// A system call the program made through Scribe's in-process buffer,
    /// without a stop; replay plays it from the buffer too.
    Buffered(SyscallRecord),
    /// Two memory domains become one.
    Join(JoinRecord),
    /// An RDRAND or RDSEED.
    Random(RandomRecord),
}

/// Persisted kind bytes of each event type.
pub mod kind {
    /// `Event::File`
    pub const FILE: u8 = 1;
    /// `Event::Exec`
    pub const EXEC: u8 = 2;
    /// `Event::Syscall`
    pub const SYSCALL: u8 = 3;
    /// `Event::MapFile`
    pub const MAP_FILE: u8 = 4;
    /// `Event::Rdtsc`
    pub const RDTSC: u8 = 5;
    /// `Event::Signal`
    pub const SIGNAL: u8 = 6;
    /// `Event::Exit`
    pub const EXIT: u8 = 7;
    /// `Event::Regs`
    pub const REGS: u8 = 8;
    /// `Event::Resource`
    pub const RESOURCE: u8 = 9;
    /// `Event::Bookmark`
    pub const BOOKMARK: u8 = 10;
    /// `Event::End`
    pub const END: u8 = 11;
    /// `Event::TaskStart`
    pub const TASK_START: u8 = 12;
    /// `Event::Preempt`
    pub const PREEMPT: u8 = 13;
    /// `Event::Buffered`
    pub const BUFFERED: u8 = 14;
    /// `Event::Join`
    pub const JOIN: u8 = 15;
    /// `Event::Random`
    pub const RANDOM: u8 = 16;
}

impl Event {
    /// The task the event belongs to, if any.
    pub fn tid(&self) -> Option<Tid> {
        match self {
            Event::File(_) | Event::End(_) => None,
            Event::Exec(e) => Some(e.tid),
            Event::Syscall(e) => Some(e.tid),
            Event::MapFile(e) => Some(e.tid),
            Event::Rdtsc(e) => Some(e.tid),
            Event::Signal(e) => Some(e.tid),
            Event::Exit(e) => Some(e.tid),
            Event::Regs(e) => Some(e.tid),
            Event::Resource(e) => Some(e.tid),
            Event::Bookmark(e) => Some(e.tid),
            Event::TaskStart(e) => Some(e.tid),
            Event::Preempt(e) => Some(e.tid),
            Event::Buffered(e) => Some(e.tid),
            Event::Join(e) => Some(e.tid),
            Event::Random(e) => Some(e.tid),
        }
    }

    /// The persisted kind byte (`kind::*`).
    pub fn kind(&self) -> u8 {
        match self {
            Event::File(_) => kind::FILE,
            Event::Exec(_) => kind::EXEC,
            Event::Syscall(_) => kind::SYSCALL,
            Event::MapFile(_) => kind::MAP_FILE,
            Event::Rdtsc(_) => kind::RDTSC,
            Event::Signal(_) => kind::SIGNAL,
            Event::Exit(_) => kind::EXIT,
            Event::Regs(_) => kind::REGS,
            Event::Resource(_) => kind::RESOURCE,
            Event::Bookmark(_) => kind::BOOKMARK,
            Event::End(_) => kind::END,
            Event::TaskStart(_) => kind::TASK_START,
            Event::Preempt(_) => kind::PREEMPT,
            Event::Buffered(_) => kind::BUFFERED,
            Event::Join(_) => kind::JOIN,
            Event::Random(_) => kind::RANDOM,
        }
    }

    /// A short lowercase name of the event kind, used by filters and people.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Event::File(_) => "file",
            Event::Exec(_) => "exec",
            Event::Syscall(_) => "syscall",
            Event::MapFile(_) => "mmap",
            Event::Rdtsc(_) => "rdtsc",
            Event::Signal(_) => "signal",
            Event::Exit(_) => "exit",
            Event::Regs(_) => "regs",
            Event::Resource(_) => "resource",
            Event::Bookmark(_) => "bookmark",
            Event::End(_) => "end",
            Event::TaskStart(_) => "start",
            Event::Preempt(_) => "preempt",
            Event::Buffered(_) => "buffered",
            Event::Join(_) => "join",
            Event::Random(_) => "random",
        }
    }
}
