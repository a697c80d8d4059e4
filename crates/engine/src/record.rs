//! The recorder: runs a program under ptrace and writes its trace.
//!
//! Every syscall that the seccomp filter does not let through stops the
//! tracee twice: at the seccomp stop (arguments, inputs) and at the
//! syscall-exit stop (result, memory the kernel wrote). Signals are recorded
//! at their delivery stop; rdtsc/rdtscp fault (PR_SET_TSC) and are executed
//! by the recorder on the tracee's behalf.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scribe_syscalls as sc;
use scribe_trace::{
    end_reason, resource_kind, signal_origin, EndRecord, Event, ExecRecord, ExitRecord, Header, MapRecord, MemBytes,
    BookmarkRecord, JoinRecord, PreemptRecord, StateDigest, ResourceRecord, RegsRecord, SignalRecord, SyscallRecord, TaskStartRecord, Tid, TraceWriter, BackgroundWriter,
};
use scribe_tracee::{self as tracee, PtraceEvent, Regs, TraceeMemory, WaitStatus};

use crate::error::{EngineError, Result};
use crate::fdmodel::{self, FdTable, StdFds};
use crate::files::FileTable;
use crate::machine::{self, ExitStatus, TaskMemory};
use crate::point;
use crate::procfs;
use crate::randinsn;
use crate::resources;
use crate::syscallbuf;
use scribe_bufabi::{self as abi, magic};

/// How long recorded events may sit in memory before they reach the file.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// How often the recorder wakes up to flush and to check time slices.
const TICK: Duration = Duration::from_millis(20);
/// How long a SIGINT sent to the recorder waits for the program to report
/// one of its own before it is passed on (see `forward_interrupt`).
const INTERRUPT_GRACE: Duration = Duration::from_millis(200);
/// How long a task may run user code while others wait before it is preempted.
const TIME_SLICE: Duration = Duration::from_millis(40);
/// In chaos mode, time slices are drawn between these two, evenly on a log scale.
const CHAOS_SLICES: (Duration, Duration) = (Duration::from_micros(200), Duration::from_millis(20));
/// The recorder's tick in chaos mode, fine enough for its short slices.
const CHAOS_TICK: Duration = Duration::from_micros(500);

/// What to record and how; built with [`Recorder`]'s methods.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The command: program and arguments.
    pub command: Vec<OsString>,
    /// Where the trace goes (default: `<program name>.log` in the current directory).
    pub output: Option<PathBuf>,
    /// Verbosity level: 0 records only what replay needs; 1 adds syscall
    /// input data (paths, written bytes); 2 adds register digests checked on
    /// replay; 3 adds a full register dump at every syscall.
    pub level: u8,
    /// Store the content of every executed and mapped file in the trace.
    pub portable: bool,
    /// Run the command through `/bin/sh -c`.
    pub shell: bool,
    /// Working directory for the program.
    pub cwd: Option<PathBuf>,
    /// Stop recording after this long and let the program run on untraced
    /// (as SIGUSR1 to the recorder does).
    pub detach_after: Option<Duration>,
    /// Add a bookmark at this interval (as SIGUSR2 to the recorder does).
    pub auto_bookmark: Option<Duration>,
    /// Run all tasks one at a time, as one memory domain (for comparison
    /// and as a fallback); by default processes that share no writable
    /// memory run in parallel.
    pub serialize: bool,
    /// Preload the in-process syscall buffer, so that cheap syscalls of
    /// dynamically linked programs do not stop the program.
    pub syscall_buffer: bool,
    /// Give tasks random time slices (0.2 to 20 ms), so that repeated
    /// recordings of a racy program preempt it at different places and
    /// expose different interleavings.
    pub chaos: bool,
}

/// How many points inside user code a recording chose, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PointCounts {
    /// Preemptions of a task that spun without progress (the same state
    /// twice in a row at one instruction).
    pub spins: u64,
    /// Preemptions inside a loop that progresses, at an instruction replay
    /// can find with an in-task check.
    pub loops: u64,
    /// Preemptions moved out to a return address, where the loop's
    /// instruction could not take an in-task check.
    pub lukewarm: u64,
    /// Signals that arrived while user code ran, delivered at a point
    /// instead of at the next syscall.
    pub signals: u64,
    /// Preemptions at a syscall (traced, or a buffered call made to stop):
    /// the task's time slice was over, or winding down, while others of
    /// its domain waited. No point in user code was needed.
    pub at_syscalls: u64,
}

/// What a finished recording produced.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    /// Path of the trace written.
    pub trace: PathBuf,
    /// How the program ended.
    pub status: ExitStatus,
    /// Number of events written.
    pub events: u64,
    /// Size of the trace file in bytes.
    pub bytes: u64,
    /// How many times a task was preempted to let another run.
    pub preemptions: u64,
    /// Whether the recorder detached before the program ended.
    pub detached: bool,
    /// Bookmarks added.
    pub bookmarks: u32,
    /// Syscalls recorded through the in-process buffer, without a stop.
    pub buffered: u64,
    /// Points chosen inside user code, by kind.
    pub points: PointCounts,
    /// Stops passed through after detaching (the program runs on unrecorded).
    pub passed_through: u64,
    /// Tasks whose syscalls bypassed Scribe's filter after detaching (no stops).
    pub live_unfiltered: u64,
    /// SIGTRAPs of Scribe's own steps and breakpoints that no probe waited
    /// for, passed over instead of reaching the program.
    pub stale_traps: u64,
}

/// A callback told about bookmarks and detaching while recording runs.
pub type Notifier = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Records a program into a trace.
///
/// ```no_run
/// let outcome = scribe_engine::Recorder::new(["date"]).output("date.log").level(1).record()?;
/// println!("exit status {:?}, {} events", outcome.status, outcome.events);
/// # Ok::<(), scribe_engine::EngineError>(())
/// ```
#[derive(Clone)]
pub struct Recorder {
    options: RecordOptions,
    notify: Option<Notifier>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for `command` (program then arguments) with default options.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Recorder {
            notify: None,
            options: RecordOptions {
                command: command.into_iter().map(Into::into).collect(),
                output: None,
                level: 0,
                portable: false,
                shell: false,
                cwd: None,
                detach_after: None,
                auto_bookmark: None,
                serialize: false,
                chaos: false,
                syscall_buffer: true,
            },
        }
    }

    /// A recorder with all options given at once.
    pub fn with_options(options: RecordOptions) -> Self {
        Recorder { options, notify: None }
    }

    /// Whether to use the in-process syscall buffer (default on).
    pub fn syscall_buffer(mut self, on: bool) -> Self {
        self.options.syscall_buffer = on;
        self
    }

    /// Calls `f` with a one-line message when a bookmark is added or the
    /// recorder detaches.
    pub fn on_notice(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.notify = Some(std::sync::Arc::new(f));
        self
    }

    /// Sets the trace path.
    pub fn output(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.output = Some(path.into());
        self
    }

    /// Sets the verbosity level (0-3).
    pub fn level(mut self, level: u8) -> Self {
        self.options.level = level;
        self
    }

    /// Stores file contents in the trace.
    pub fn portable(mut self, portable: bool) -> Self {
        self.options.portable = portable;
        self
    }

    /// Runs the command through the shell.
    pub fn shell(mut self, shell: bool) -> Self {
        self.options.shell = shell;
        self
    }

    /// Detaches after `after` (the program then runs on unrecorded).
    pub fn detach_after(mut self, after: Duration) -> Self {
        self.options.detach_after = Some(after);
        self
    }

    /// Runs every task in one domain, one at a time.
    pub fn serialize(mut self, serialize: bool) -> Self {
        self.options.serialize = serialize;
        self
    }

    /// Random time slices, to explore interleavings (see [`RecordOptions::chaos`]).
    pub fn chaos(mut self, on: bool) -> Self {
        self.options.chaos = on;
        self
    }

    /// Adds a bookmark every `every`.
    pub fn auto_bookmark(mut self, every: Duration) -> Self {
        self.options.auto_bookmark = Some(every);
        self
    }

    /// Sets the program's working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.cwd = Some(dir.into());
        self
    }

    /// The trace path these options produce.
    pub fn trace_path(&self) -> PathBuf {
        default_output(&self.options)
    }

    /// Runs the program to completion, recording it.
    pub fn record(self) -> Result<RecordOutcome> {
        record(&self.options, self.notify)
    }
}

fn default_output(opts: &RecordOptions) -> PathBuf {
    if let Some(out) = &opts.output {
        return out.clone();
    }
    let name = opts
        .command
        .first()
        .and_then(|c| Path::new(c).file_name().map(OsStr::to_os_string))
        .unwrap_or_else(|| OsString::from("scribe"));
    let mut name = if opts.shell { OsString::from("sh") } else { name };
    name.push(".log");
    PathBuf::from(name)
}

/// Finds the program to execute the way a shell would (PATH search for a
/// bare name), with a clear error for each reason it cannot run.
pub fn resolve_program(program: &OsStr, cwd: &Path) -> Result<PathBuf> {
    let shown = program.to_string_lossy();
    if program.is_empty() {
        return Err(EngineError::Program("no program given".into()));
    }
    let candidate = if program.as_bytes().contains(&b'/') {
        cwd.join(program)
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
        let found = std::env::split_paths(&path).map(|dir| cwd.join(dir).join(program)).find(|p| {
            p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
        });
        found.ok_or_else(|| EngineError::Program(format!("cannot find program '{shown}' in PATH")))?
    };
    let meta = candidate
        .metadata()
        .map_err(|e| EngineError::Program(format!("cannot run '{}': {e}", candidate.display())))?;
    if meta.is_dir() {
        return Err(EngineError::Program(format!("cannot run '{}': it is a directory", candidate.display())));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(EngineError::Program(format!(
            "cannot run '{}': it is not executable (permission denied)",
            candidate.display()
        )));
    }
    Ok(candidate)
}

/// The interpreter a script names on its `#!` line, when the exec of
/// `path` failed with ENOENT because that interpreter is missing (the
/// kernel's error names no file, and the script itself exists).
fn missing_interpreter(path: &Path, error: &std::io::Error) -> Option<String> {
    if error.kind() != std::io::ErrorKind::NotFound {
        return None;
    }
    let mut head = [0u8; 256];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).ok()?;
    let line = head[..read].strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    let interpreter = String::from_utf8_lossy(line).split_whitespace().next()?.to_string();
    (!Path::new(&interpreter).exists()).then_some(interpreter)
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

fn record(opts: &RecordOptions, notify: Option<Notifier>) -> Result<RecordOutcome> {
    let cwd = match &opts.cwd {
        Some(dir) => std::env::current_dir().map_err(|e| EngineError::io("current directory", e))?.join(dir),
        None => std::env::current_dir().map_err(|e| EngineError::io("current directory", e))?,
    };
    if !cwd.is_dir() {
        return Err(EngineError::Program(format!("working directory {} does not exist", cwd.display())));
    }
    let argv: Vec<Vec<u8>> = if opts.shell {
        let joined = opts.command.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ");
        vec![b"sh".to_vec(), b"-c".to_vec(), joined.into_bytes()]
    } else {
        opts.command.iter().map(|a| a.as_bytes().to_vec()).collect()
    };
    let program = argv.first().ok_or_else(|| EngineError::Program("no program given".into()))?;
    let exe = if opts.shell { PathBuf::from("/bin/sh") } else { resolve_program(OsStr::from_bytes(program), &cwd)? };
    let mut env: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut entry = k.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            entry
        })
        .collect();
    let mut preload = None;
    if opts.syscall_buffer {
        match syscallbuf::locate_library() {
            Some(library) => {
                add_preload(&mut env, &library);
                let_asan_run_after_preload(&mut env);
                preload = std::fs::canonicalize(&library).ok();
            }
            None => {
                if let Some(notify) = &notify {
                    notify(&format!(
                        "the in-process syscall buffer is off: {} was not found next to the scribe binary (set SCRIBE_PRELOAD)",
                        syscallbuf::LIBRARY_NAME
                    ));
                }
            }
        }
    }
    let start_time_ns = now_ns();
    let header = Header {
        scribe_version: env!("CARGO_PKG_VERSION").to_string(),
        cpu_model: procfs::cpu_model(),
        kernel_release: procfs::kernel_release(),
        exe_path: exe.as_os_str().as_bytes().to_vec(),
        argv: argv.clone(),
        env: env.clone(),
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        level: opts.level,
        portable: opts.portable,
        start_time_ns,
        // What this process ignores the program inherits, except SIGPIPE,
        // which Rust's runtime ignores here.
        ignored_signals: procfs::ignored_signals(std::process::id() as Tid).unwrap_or(0) & !(1 << (libc_signal::PIPE - 1)),
        stack_limit: tracee::stack_limits().map(|(soft, _)| soft),
    };
    let output = default_output(opts);
    let tid = tracee::spawn_traced(&machine::spawn_config(&header, scribe_trace::FORMAT_VERSION)).map_err(|e| match e {
        scribe_tracee::TraceeError::Exec { path, source } => match missing_interpreter(Path::new(&path), &source) {
            Some(interpreter) => {
                EngineError::Program(format!("cannot execute {path}: its interpreter {interpreter} does not exist"))
            }
            None => EngineError::Program(format!("cannot execute {path}: {source}")),
        },
        other => other.into(),
    })?;
    let writer = match TraceWriter::create(&output, &header).and_then(BackgroundWriter::spawn) {
        Ok(w) => w,
        Err(e) => {
            tracee::kill_task(tid);
            let _ = tracee::wait(tid);
            return Err(e.into());
        }
    };
    tracee::catch_control_signals(&[
        libc_signal::INT,
        libc_signal::TERM,
        libc_signal::HUP,
        libc_signal::QUIT,
        libc_signal::ALRM,
        libc_signal::USR1,
        libc_signal::USR2,
    ]);
    tracee::set_interval_timer(if opts.chaos { CHAOS_TICK } else { TICK });
    let mut files = FileTable::new(opts.portable, start_time_ns as i64);
    files.use_cache(crate::hashcache::HashCache::for_user());
    if let Some(library) = &preload {
        files.keep_contents_of(library.as_os_str().as_bytes());
    }
    let mut session = Session {
        writer,
        files,
        random: randinsn::Rewriter::default(),
        tasks: BTreeMap::new(),
        level: opts.level,
        leader: tid,
        leader_status: None,
        last_flush: Instant::now(),
        now: Instant::now(),
        std_fds: BTreeMap::new(),
        fd_targets: BTreeMap::new(),
        serials: foldhash::HashMap::default(),
        shared_inodes: foldhash::HashMap::default(),
        joining: BTreeMap::new(),
        open_files: Default::default(),
        domains: BTreeMap::new(),
        serialize: opts.serialize,
        output_lock: None,
        output_waiters: VecDeque::new(),
        output_serial: 0,
        preemptions: 0,
        points: PointCounts::default(),
        chaos: opts.chaos.then(ChaosRng::seeded),
        detached: false,
        passed_through: 0,
        stale_traps: 0,
        bypass: Default::default(),
        detach_at: opts.detach_after.map(|d| Instant::now() + d),
        forward_interrupt_at: None,
        told_ptrace: false,
        told_pid_namespace: false,
        next_bookmark: 0,
        auto_bookmark: opts.auto_bookmark.map(|d| (d, Instant::now() + d)),
        notify,
        bookmark_pending: false,
        buffers: BTreeMap::new(),
        header_flags: BTreeMap::new(),
        buffered: 0,
        vfork_children: Default::default(),
        bookmark_asked: Instant::now(),
    };
    // After the spawn and the writer's thread, which must not inherit it.
    let pin = crate::cpupin::ThreadPin::start();
    // Likewise: switches between this thread and the program are cheaper
    // when both trap rdtsc (see `scribe_tracee::OwnTscTrap`).
    let own_tsc = tracee::OwnTscTrap::start();
    let result = session.run(tid);
    drop(own_tsc);
    drop(pin);
    tracee::set_interval_timer(Duration::ZERO);
    match result {
        Ok(status) => {
            let events = session.writer.events_written();
            let bytes = session.writer.finish()?;
            Ok(RecordOutcome {
                trace: output,
                status,
                events,
                bytes,
                preemptions: session.preemptions,
                points: session.points,
                detached: session.detached,
                bookmarks: session.next_bookmark,
                buffered: session.buffered,
                passed_through: session.passed_through,
                live_unfiltered: session.bypass.suspended_total(),
                stale_traps: session.stale_traps,
            })
        }
        Err(err) => {
            // What the program did through its buffers since its last stops
            // happened (its output was shown): it ends the trace.
            let _ = session.drain_running_buffers();
            tracee::kill_and_reap(session.tasks.keys().copied());
            let _ = session.writer.push(Event::End(EndRecord { reason: end_reason::ERROR, message: err.to_string() }));
            let _ = session.writer.finish();
            Err(err)
        }
    }
}

/// Puts the preload library first in the program's `LD_PRELOAD`.
fn add_preload(env: &mut Vec<Vec<u8>>, library: &Path) {
    let library = library.as_os_str().as_bytes();
    if library.iter().any(|&b| b == b':' || b == b' ') {
        // LD_PRELOAD splits at these: such a path cannot be preloaded.
        return;
    }
    match env.iter_mut().find(|e| e.starts_with(b"LD_PRELOAD=")) {
        Some(entry) => {
            let rest = entry[b"LD_PRELOAD=".len()..].to_vec();
            *entry = [b"LD_PRELOAD=".as_slice(), library, b":", &rest].concat();
        }
        None => env.push([b"LD_PRELOAD=".as_slice(), library].concat()),
    }
}

/// Tells AddressSanitizer's shared runtime (gcc's default) not to refuse
/// to start because the preload library comes before it: it checks that it
/// is the first library loaded, and an ASan-built program under Scribe
/// exited at once ("ASan runtime does not come first in initial library
/// list"). The user's own `ASAN_OPTIONS` are kept, and win if they set
/// the option. (Putting the runtime first in LD_PRELOAD instead would load
/// it into every program the ASan-built one starts, whose leak reports
/// then change their output.)
///
/// LeakSanitizer is turned off the same way: at exit it stops the
/// program's threads by tracing them from a task of its own, which a
/// traced program cannot do (a recording of an ASan-built program with
/// threads never ended, its processes multiplying).
fn let_asan_run_after_preload(env: &mut Vec<Vec<u8>>) {
    const PREFIX: &[u8] = b"ASAN_OPTIONS=";
    let at = match env.iter().position(|e| e.starts_with(PREFIX)) {
        Some(at) => at,
        None => {
            env.push(PREFIX.to_vec());
            env.len() - 1
        }
    };
    let theirs = env[at][PREFIX.len()..].to_vec();
    let said = |name: &[u8]| theirs.windows(name.len()).any(|w| w == name);
    let ours: Vec<&[u8]> = [(b"verify_asan_link_order".as_slice(), b"verify_asan_link_order=0".as_slice()), (b"detect_leaks", b"detect_leaks=0")]
        .into_iter()
        .filter(|(name, _)| !said(name))
        .map(|(_, option)| option)
        .collect();
    // The user's options come last: ASan lets a later one win.
    let mut value = ours.join(b":".as_slice());
    if !theirs.is_empty() {
        if !value.is_empty() {
            value.push(b':');
        }
        value.extend_from_slice(&theirs);
    }
    env[at] = [PREFIX, &value].concat();
}

/// How long a bookmark waits for the program to settle (see
/// `Session::bookmark_state`) before it is placed without a state digest.
const BOOKMARK_SETTLE_LIMIT: Duration = Duration::from_secs(1);

/// Whether a pending bookmark can be placed.
enum BookmarkState {
    /// Every task is where replay will have it: place it with a digest.
    Ready,
    /// Tasks stopped after kernel work must run on to their next syscall first.
    Settling,
    /// A task is running in the kernel: wait for its next stop.
    InFlight,
    /// The program did not settle in time: place it without a digest.
    GiveUp,
}

/// Signal numbers the recorder handles for itself.
mod libc_signal {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const QUIT: i32 = 3;
    pub const TERM: i32 = 15;
    pub const ALRM: i32 = 14;
    pub const USR1: i32 = 10;
    pub const USR2: i32 = 12;
    /// Not handled: ignored by Rust's runtime, reset for the program.
    pub const PIPE: i32 = 13;
}


/// A syscall seen at its seccomp stop, waiting for its exit stop.
#[derive(Debug, Clone)]
struct Pending {
    nr: u32,
    args: [u64; 6],
    inputs: Vec<MemBytes>,
    regs_digest: Option<u64>,
    /// Inodes of the pipes it works on (their serials are taken at its exit).
    pipes: Vec<u64>,
    /// Inodes of the files it changes by name, looked up before it runs.
    named: Vec<u64>,
}

/// The inode ids of the files `names` lead to for task `tid` now (names
/// that lead nowhere are left out).
fn inodes_of_names(tid: Tid, mem: &TraceeMemory, names: &[resources::Name]) -> Vec<u64> {
    names
        .iter()
        .filter_map(|name| {
            let path = mem.read_cstr(name.path, 4096);
            procfs::inode_of(tid, name.dirfd, &path, name.follow).map(|(dev, ino)| resources::inode_id(dev, ino))
        })
        .collect()
}

/// For a successful file mmap: the inode of the file if it was mapped
/// shared, and whether the mapping is writable.
fn shared_file_mapping(tid: Tid, args: &[u64; 6]) -> Option<(u64, bool)> {
    if !machine::maps_file_shared(args[3]) {
        return None;
    }
    let (dev, ino) = procfs::fd_inode(tid, args[4])?;
    Some((resources::inode_id(dev, ino), args[2] & machine::PROT_WRITE != 0))
}

/// A signal that arrived while its task ran user code, held until the
/// task's next syscall so it is delivered at a point replay can find.
#[derive(Debug, Clone)]
struct HeldSignal {
    signo: i32,
    siginfo: [u8; tracee::SIGINFO_SIZE],
}

/// Whether a new `sig` adds nothing to the signals `held` for a task: a
/// standard signal (below SIGRTMIN) is pending at most once per target,
/// real-time ones queue.
fn already_pending(held: &VecDeque<HeldSignal>, sig: i32) -> bool {
    sig < machine::SIGRTMIN && held.iter().any(|h| h.signo == sig)
}

/// Whether syscall `nr` waits under a signal mask of its own.
fn swaps_signal_mask(nr: u32) -> bool {
    matches!(nr, sc::nr::RT_SIGSUSPEND | sc::nr::PSELECT6 | sc::nr::PPOLL | sc::nr::EPOLL_PWAIT | sc::nr::EPOLL_PWAIT2)
}

/// The recorder's view of one traced task.
#[derive(Debug)]
struct Task {
    /// Thread-group (process) id.
    tgid: Tid,
    /// The memory domain: tasks of one domain run user code one at a time.
    domain: Tid,
    /// Its events to write hold the mapping of a file written through
    /// shared mappings, whose content is read when they are written.
    reads_shared_mapping: bool,
    mem: TraceeMemory,
    pending: Option<Pending>,
    /// Digest of the registers at the last syscall exit, to recognise a
    /// signal delivered right there (before any user instruction ran). All
    /// registers, not only rip and rsp: after rt_sigreturn the task is back
    /// in a loop, where a later signal can find it at the same rip and rsp.
    exit_point: Option<u64>,
    /// Events to write when the task is next allowed to run user code.
    grant: Option<Vec<Event>>,
    /// Its first stop has been seen (new tasks start stopped).
    started: bool,
    /// A new task may not run before its parent's clone is in the trace.
    waits_for_parent: bool,
    held: VecDeque<HeldSignal>,
    /// A signal given to the task is being taken by its handler: the stop
    /// at the handler's first instruction is due (see
    /// `machine::resume_delivering`).
    entering_handler: Option<machine::HandlerEntry>,
    /// A held signal being delivered: (signal, siginfo), set between the
    /// fake interrupted syscall and the delivery stop.
    injecting: Option<HeldSignal>,
    /// The syscall being turned into a signal delivery point, with the
    /// restart code its delivery sees.
    interrupted: Option<(u32, [u64; 6], i64)>,
    /// The restart code of a buffered pipe call a signal interrupted while
    /// it waited (see [`Session::give_up_waiting_buffered_call`]): the
    /// library makes the call again traced, and a held signal delivered
    /// there sees this code, so the program's SA_RESTART decides, as it
    /// would have without Scribe.
    buffered_restart: Option<i64>,
    /// In a vfork whose event is already written.
    in_vfork: bool,
    /// A vfork parent may not run before its child's exec or exit is in the
    /// trace: replay releases it only then.
    waits_for_vfork_child: bool,
    /// The vfork parent this task releases by exec or exit.
    vfork_parent: Option<Tid>,
    /// The process that made this one (fork, vfork, clone of a process);
    /// `None` for a thread and for the first task.
    parent_process: Option<Tid>,
    /// The recorder sent SIGSTOP to preempt it.
    preempt_requested: bool,
    /// The breakpoint armed to choose a point (a preemption, or a held
    /// signal's delivery).
    probe: Option<Probe>,
    /// When `probe` was armed.
    probe_since: Option<Instant>,
    /// A probe address still armed after detaching (the task was running).
    stale_probe: Option<u64>,
    /// Inside a write to an original standard stream (holding the output lock).
    std_write: bool,
    /// Inside a syscall that never blocks, still holding its domain's token
    /// (see [`keeps_token_through`]).
    keeps_token: bool,
    /// Opened a standard stream again by name (`/dev/stdout`): the
    /// buffer's bitmap of standard outputs is written when it runs on.
    reopened_std_stream: bool,
    /// Waits at the seccomp stop of a write to a standard stream for its
    /// token, to make the write when it gets it (see `on_seccomp`).
    writes_when_granted: bool,
    /// Digest of its registers at its last syscall entry (seccomp stop):
    /// what a bookmark's state digest holds for it, since a task blocked in
    /// the kernel cannot be read at the bookmark.
    entry_digest: Option<u64>,
    /// Kept at its seccomp stop until the pending bookmark is placed, so its
    /// syscall has not touched memory yet, as in replay at that bookmark.
    parked: bool,
    /// Stopped after kernel work (a syscall's exit, an exec) whose events
    /// are not written yet: a pending bookmark lets it run first.
    settle: bool,
    /// Its exit or exit_group is in the trace: it is leaving the digests.
    exiting: bool,
    /// Killed by a signal (it reached its exit stop without an exit call
    /// of its own), its end not yet reported: a bookmark waits for it.
    killed: bool,
    /// Held on one CPU since its exec, while its loader runs `cpuid`, and
    /// on the recorder's CPU while it stops often.
    pins: crate::cpupin::TaskPins,
}

/// Why a point was chosen where it was (see [`PointCounts`]).
#[derive(Debug, Clone, Copy)]
enum PointKind {
    Spin,
    Loop,
    Lukewarm,
}

/// How the recorder is looking for a preemption point of a task.
#[derive(Debug, Clone, Copy)]
enum Probe {
    /// Run to the same instruction again and compare fingerprints.
    SameAgain {
        /// The instruction.
        rip: u64,
        /// The fingerprint when first stopped there.
        fingerprint: u64,
    },
    /// Run to a return address found on the stack and stop there.
    Lukewarm {
        /// The return address.
        rip: u64,
    },
    /// Stop at the instruction the task resumes at (a held signal is due).
    Here {
        /// The instruction.
        rip: u64,
    },
    /// Step on, one instruction at a time, to one where replay can patch
    /// a check (see `Session::step_to_site`).
    Step {
        /// Steps left after this one.
        left: u8,
    },
}

impl Probe {
    /// Where the probe stops the task (any instruction for a step).
    fn rip(&self) -> Option<u64> {
        match *self {
            Probe::SameAgain { rip, .. } | Probe::Lukewarm { rip } | Probe::Here { rip } => Some(rip),
            Probe::Step { .. } => None,
        }
    }

    /// Whether a SIGTRAP stop at `rip` is this probe's.
    fn hit_at(&self, rip: u64) -> bool {
        self.rip().is_none_or(|at| at == rip)
    }
}

/// Instructions a progressing loop's point may step over, from where the
/// task was found to one where replay can patch a check (see
/// `Session::step_to_site`).
const STEPS_TO_SITE: u8 = 64;

impl Task {
    fn new(tgid: Tid, mem: TraceeMemory) -> Self {
        Task {
            tgid,
            domain: tgid,
            reads_shared_mapping: false,
            mem,
            pending: None,
            exit_point: None,
            grant: None,
            started: false,
            waits_for_parent: false,
            held: VecDeque::new(),
            injecting: None,
            entering_handler: None,
            interrupted: None,
            buffered_restart: None,
            in_vfork: false,
            waits_for_vfork_child: false,
            vfork_parent: None,
            parent_process: None,
            preempt_requested: false,
            probe: None,
            probe_since: None,
            stale_probe: None,
            std_write: false,
            keeps_token: false,
            reopened_std_stream: false,
            writes_when_granted: false,
            entry_digest: None,
            parked: false,
            settle: false,
            exiting: false,
            killed: false,
            pins: Default::default(),
        }
    }
}

/// Tasks that share writable memory (the threads of a process, processes
/// joined by shared mappings): they run user code one at a time, holding the
/// domain's token. Different domains run in parallel.
#[derive(Debug)]
struct Domain {
    /// The task allowed to run user code.
    token: Option<Tid>,
    /// When the token was last granted.
    since: Instant,
    /// How long the holder may run while others wait.
    slice: Duration,
    /// The holder's slice is winding down: it gives the token up at its
    /// next syscall, buffered ones included (see `preempt_if_slice_expired`).
    winding_down: bool,
    /// Whether this slice winds down at all before its end (always but in
    /// chaos mode, where half the slices end at a point in user code).
    winds_down: bool,
    /// Tasks waiting for the token, in arrival order.
    ready: VecDeque<Tid>,
}

impl Domain {
    fn new() -> Self {
        Domain {
            token: None,
            since: Instant::now(),
            slice: TIME_SLICE,
            winding_down: false,
            winds_down: true,
            ready: VecDeque::new(),
        }
    }
}

/// A recording in progress.
///
/// Tasks run user code one at a time: the one holding the *token*. A task
/// gives the token up when it enters a syscall and asks for it back at the
/// syscall's exit; the events of that syscall are written when the token is
/// granted, so the order of events in the trace is the order in which tasks
/// ran user code, and replay follows it. Tasks blocked in the kernel do not
/// hold the token, so a thread waiting in `read` or `futex` lets others run.
struct Session {
    writer: BackgroundWriter,
    files: FileTable,
    /// The RDRAND and RDSEED of the libraries known to use them, rewritten to fault (see `randinsn`).
    random: randinsn::Rewriter,
    tasks: BTreeMap<Tid, Task>,
    level: u8,
    leader: Tid,
    leader_status: Option<ExitStatus>,
    last_flush: Instant,
    /// When the recorder last woke up (from its wait): the time the hot
    /// path measures against. Each `Instant::now` is a syscall here (see
    /// `scribe_tracee::OwnTscTrap`), and it took four per stop.
    now: Instant,
    /// Which descriptors of each process (by tgid) are its original stdout/stderr.
    std_fds: BTreeMap<Tid, StdFds>,
    /// Per process (by tgid): what each descriptor refers to, as far as
    /// the recorder cares, filled as descriptors are used.
    fd_targets: BTreeMap<Tid, FdTable<FdTarget>>,
    /// The last serial given to each shared resource (kind, id; pipes by
    /// inode).
    serials: foldhash::HashMap<(u8, u64), u64>,
    /// The domain of the processes that map each inode shared, and whether
    /// one of them maps it writable.
    shared_inodes: foldhash::HashMap<u64, (Tid, bool)>,
    /// Tasks whose domain joins another before they run again (they
    /// mapped a file that a process of that domain maps shared), with it.
    joining: BTreeMap<Tid, Tid>,
    /// The open file descriptions of each process's descriptors.
    open_files: resources::OpenFiles,
    /// The memory domains, by id (the tid of the task that founded it).
    domains: BTreeMap<Tid, Domain>,
    /// Every task in one domain.
    serialize: bool,
    /// The task writing to an original standard stream, if any.
    output_lock: Option<Tid>,
    /// Tasks stopped before such a write, waiting for the lock.
    output_waiters: VecDeque<Tid>,
    /// Writes to the original standard streams so far.
    output_serial: u64,
    /// Preemptions made.
    preemptions: u64,
    /// Points chosen in user code, by kind.
    points: PointCounts,
    /// Draws random time slices in chaos mode.
    chaos: Option<ChaosRng>,
    /// Recording has stopped; the program runs on, passed through.
    detached: bool,
    /// Stops passed through since detaching.
    passed_through: u64,
    /// SIGTRAPs of Scribe's own steps and breakpoints that no probe
    /// waited for, passed over (see `on_signal`).
    stale_traps: u64,
    /// Which tasks make their syscalls without stopping since detaching.
    bypass: crate::bypass::FilterBypass,
    /// When to detach by itself.
    detach_at: Option<Instant>,
    /// The program was told once that ptrace fails under Scribe.
    told_ptrace: bool,
    /// The user was told once that PID namespaces are refused.
    told_pid_namespace: bool,
    /// When to pass on a SIGINT that a process sent to the recorder alone,
    /// unless the program reports one of its own by then.
    forward_interrupt_at: Option<Instant>,
    /// The id the next bookmark gets.
    next_bookmark: u32,
    /// Interval and next time of automatic bookmarks.
    auto_bookmark: Option<(Duration, Instant)>,
    /// Told about bookmarks and detaching.
    notify: Option<Notifier>,
    /// A bookmark was asked for; it is placed when no task runs user code.
    bookmark_pending: bool,
    /// Processes (by tgid) whose syscall buffer is registered, with the
    /// STOP_AT value last written to it.
    buffers: BTreeMap<Tid, u32>,
    /// The FLAGS value last written to each process's buffer header (by
    /// tgid; a process not listed has 0 there). A forked child starts with
    /// a copy of its parent's.
    header_flags: BTreeMap<Tid, u32>,
    /// Syscalls recorded from buffers.
    buffered: u64,
    /// Processes (by tgid) that run in their vfork parent's memory until
    /// they exec: their descriptor changes are not written to the buffer
    /// header, which is the parent's.
    vfork_children: std::collections::BTreeSet<Tid>,
    /// When the pending bookmark was asked for.
    bookmark_asked: Instant,
}

impl Session {
    /// Writes `event`, and after a syscall the serials of the shared
    /// resources it used (see `resources`). Those serials are taken here,
    /// in trace order, so replay's waits for them always point back in the
    /// trace and can never wait in a circle.
    fn push(&mut self, event: Event) -> Result<()> {
        if self.detached {
            return Ok(());
        }
        let used = match &event {
            Event::Syscall(call) | Event::Buffered(call) => match self.tasks.get(&call.tid) {
                Some(task) => {
                    let tgid = task.tgid;
                    let mut used = resources::used(call, tgid, |addr, len| task.mem.read(addr, len).ok());
                    let followed = self.open_files.follow(call, tgid);
                    // A memory device is opened by a stopped open (the
                    // library buffers opens of regular files and
                    // directories only): looked up there, once, and not
                    // at every later call on the descriptor.
                    let opened = matches!(call.nr, sc::nr::OPEN | sc::nr::OPENAT) && call.result >= 0;
                    if opened && matches!(event, Event::Syscall(_)) {
                        let fd = call.result as u64;
                        if self.fd_target(call.tid, tgid, fd) == Some(FdTarget::MemoryDevice) {
                            self.open_files.unordered(tgid, fd);
                        }
                    }
                    used.extend(followed.map(|id| (resource_kind::FILE, id)));
                    used
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        let tid = event.tid();
        self.writer.push(event)?;
        if let Some(tid) = tid {
            for (kind, id) in used {
                let serial = self.serial_event(tid, kind, id);
                self.writer.push(serial)?;
            }
        }
        Ok(())
    }

    /// The next serial of resource `id` of `kind`, used by `tid`.
    fn serial_event(&mut self, tid: Tid, kind: u8, id: u64) -> Event {
        let serial = self.next_serial(kind, id);
        Event::Resource(ResourceRecord { tid, kind, id, serial })
    }

    /// Takes the next serial of resource `id` of `kind`.
    fn next_serial(&mut self, kind: u8, id: u64) -> u64 {
        let serial = self.serials.entry((kind, id)).or_insert(0);
        *serial += 1;
        *serial
    }

    fn task(&mut self, tid: Tid) -> Result<&mut Task> {
        self.tasks
            .get_mut(&tid)
            .ok_or_else(|| EngineError::Unsupported { tid, what: "a task Scribe does not know about stopped".into() })
    }

    fn fds(&mut self, tgid: Tid) -> &mut StdFds {
        self.std_fds.entry(tgid).or_insert_with(StdFds::at_start)
    }

    /// The inodes of the pipes syscall `nr` of `tid` works on through its
    /// descriptor arguments. A descriptor seen for the first time is looked
    /// up in /proc; one that cannot be (not open) is not remembered, since
    /// its number may be given to a new descriptor without a close.
    fn pipes_used(&mut self, tid: Tid, tgid: Tid, nr: u32, args: &[u64; 6]) -> Vec<u64> {
        let fds: &[u64] = match nr {
            sc::nr::READ | sc::nr::WRITE | sc::nr::READV | sc::nr::WRITEV | sc::nr::CLOSE => &args[..1],
            sc::nr::SPLICE => &[args[0], args[2]],
            sc::nr::TEE | sc::nr::SENDFILE => &args[..2],
            _ => return Vec::new(),
        };
        fds.iter()
            .filter_map(|&fd| match self.fd_target(tid, tgid, fd)? {
                FdTarget::Pipe(inode) => Some(inode),
                _ => None,
            })
            .collect()
    }

    /// What descriptor `fd` of `tid`'s process refers to, looked up in /proc
    /// the first time; `None` when it is not open (not remembered, since its
    /// number may be given to a new descriptor without a close).
    fn fd_target(&mut self, tid: Tid, tgid: Tid, fd: u64) -> Option<FdTarget> {
        let table = self.fd_targets.entry(tgid).or_default();
        if let Some(known) = table.get(fd) {
            return Some(known);
        }
        let found = procfs::fd_target(tid, fd)?;
        let target = match procfs::pipe_inode(&found) {
            Some(inode) => FdTarget::Pipe(inode),
            None if MEMORY_DEVICES.contains(&found.as_str()) => FdTarget::MemoryDevice,
            None => {
                let mem_of = found.strip_prefix("/proc/").and_then(|rest| rest.strip_suffix("/mem")).and_then(|pid| pid.parse().ok());
                match mem_of {
                    Some(pid) if procfs::tgid(pid) == Some(tgid) => FdTarget::OwnMemory,
                    _ => FdTarget::Other,
                }
            }
        };
        table.insert(fd, target);
        Some(target)
    }

    /// The range of its own process's memory that a write of `result` bytes
    /// through /proc/PID/mem changed (`write` at the descriptor's position,
    /// read from /proc afterwards, or `pwrite64` at its offset). JITs and
    /// patchers write read-only pages that way.
    fn own_memory_written(&mut self, tid: Tid, tgid: Tid, nr: u32, args: &[u64; 6], result: i64) -> Option<(u64, usize)> {
        if result <= 0 || !matches!(nr, sc::nr::WRITE | sc::nr::PWRITE64) || self.fd_target(tid, tgid, args[0])? != FdTarget::OwnMemory {
            return None;
        }
        let start = match nr {
            sc::nr::PWRITE64 => args[3],
            _ => procfs::fd_position(tid, args[0])?.checked_sub(result as u64)?,
        };
        Some((start, result as usize))
    }

    fn run(&mut self, leader: Tid) -> Result<ExitStatus> {
        let mem = TraceeMemory::open(leader)?;
        let mut task = Task::new(leader, mem);
        task.started = true;
        self.tasks.insert(leader, task);
        self.std_fds.insert(leader, StdFds::at_start());
        self.on_exec(leader)?;
        loop {
            tracee::rearm_own_tsc();
            self.schedule()?;
            self.housekeeping()?;
            let waited = tracee::wait_interruptible(-1)?;
            self.now = Instant::now();
            let Some((tid, status)) = waited else { continue };
            if self.detached {
                if let Some(status) = self.pass_through(tid, status)? {
                    return Ok(status);
                }
                continue;
            }
            match self.on_stop(tid, status) {
                Ok(Some(status)) => return Ok(status),
                Ok(None) => {}
                // Killed by another process (SIGKILL) while its stop was
                // being handled: its end is reported next.
                Err(e) if e.gone_task() == Some(tid) => self.release(tid),
                Err(e) => return Err(e),
            }
        }
    }

    /// Handles one stop of `tid`; the program's exit status once it is over.
    fn on_stop(&mut self, tid: Tid, status: WaitStatus) -> Result<Option<ExitStatus>> {
        // A task's exit stop is never its first stop to hold back: a new
        // thread killed with its process before it ran (its first stop
        // reported as the exit) was queued for a token that never came,
        // and the recording waited for it for good.
        let dying = matches!(status, WaitStatus::Exited(_) | WaitStatus::Signaled { .. } | WaitStatus::Event(PtraceEvent::Exit));
        if !self.tasks.get(&tid).is_some_and(|t| t.started) && !dying {
            self.on_new_task_stop(tid)?;
            return Ok(None);
        }
        if !dying {
            let now = self.now;
            self.task(tid)?.pins.at_stop(tid, now);
        }
        match status {
            WaitStatus::Event(PtraceEvent::Seccomp) => self.on_seccomp(tid)?,
            WaitStatus::SyscallStop => self.on_syscall_exit(tid)?,
            WaitStatus::Event(PtraceEvent::Exec) => self.on_exec(tid)?,
            WaitStatus::Event(PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork) => self.on_clone(tid, status)?,
            WaitStatus::Event(PtraceEvent::Exit) => {
                if self.holds_token(tid) {
                    // Killed while it ran or waited in a buffered call
                    // (SIGKILL still stops here): its calls since its last
                    // stop are in the buffer, and go in the trace before
                    // its end instead of being lost with its memory. Its
                    // memory may already be going (a thread of a process
                    // that a signal ends): the task is let go whatever the
                    // drain found, or it would wait here for good.
                    if let Err(e) = self.drain_buffer(tid) {
                        if e.gone_task() != Some(tid) {
                            return Err(e);
                        }
                    }
                }
                let task = self.task(tid)?;
                task.killed = !task.exiting;
                self.release(tid);
                tracee::cont(tid, 0)?;
            }
            WaitStatus::Event(_) => tracee::cont(tid, 0)?,
            WaitStatus::Signal(sig) => self.on_signal(tid, sig)?,
            WaitStatus::Exited(code) => return self.on_task_end(tid, ExitStatus::Exited(code)),
            WaitStatus::Signaled { signal, .. } => return self.on_task_end(tid, ExitStatus::Signaled(signal)),
        }
        Ok(None)
    }

    fn domain_of(&self, tid: Tid) -> Tid {
        self.tasks.get(&tid).map(|t| t.domain).unwrap_or(tid)
    }

    fn domain(&mut self, id: Tid) -> &mut Domain {
        self.domains.entry(id).or_insert_with(Domain::new)
    }

    /// Whether `tid` holds its domain's token.
    fn holds_token(&self, tid: Tid) -> bool {
        self.domains.get(&self.domain_of(tid)).is_some_and(|d| d.token == Some(tid))
    }

    /// Gives the token up if `tid` holds it.
    fn release(&mut self, tid: Tid) {
        let id = self.domain_of(tid);
        let domain = self.domain(id);
        if domain.token == Some(tid) {
            domain.token = None;
        }
    }

    /// Queues `tid` for its domain's token; `events` are written when it is granted.
    fn want_token(&mut self, tid: Tid, events: Vec<Event>) -> Result<()> {
        let task = self.task(tid)?;
        task.grant = Some(events);
        task.settle = false;
        let id = task.domain;
        self.domain(id).ready.push_back(tid);
        Ok(())
    }

    /// Queues `tid` for the token after kernel work whose events are not in
    /// the trace yet (see [`Task::settle`]).
    fn want_token_after_kernel(&mut self, tid: Tid, events: Vec<Event>) -> Result<()> {
        self.want_token(tid, events)?;
        self.task(tid)?.settle = true;
        Ok(())
    }

    fn eligible(&self, tid: Tid) -> bool {
        self.tasks.get(&tid).is_some_and(|t| t.grant.is_some() && !t.waits_for_parent && !t.waits_for_vfork_child)
    }

    /// Grants each free domain's token to its first eligible waiting task,
    /// writing that task's events and letting it run.
    fn schedule(&mut self) -> Result<()> {
        let mut settling = false;
        if self.bookmark_pending && !self.detached {
            if self.domains.values().any(|d| d.token.is_some()) {
                // A bookmark waits for a moment when no task runs user code.
                return Ok(());
            }
            match self.bookmark_state() {
                BookmarkState::Ready => self.bookmark(true)?,
                BookmarkState::GiveUp => self.bookmark(false)?,
                // Tasks stopped after kernel work run on to their next
                // syscall (where they are parked) before the bookmark.
                BookmarkState::Settling => settling = true,
                BookmarkState::InFlight => return Ok(()),
            }
        }
        let ids: Vec<Tid> = self.domains.keys().copied().collect();
        for id in ids {
            while self.domain(id).token.is_none() {
                let ready = &self.domains[&id].ready;
                let Some(index) =
                    ready.iter().position(|&tid| self.eligible(tid) && (!settling || self.tasks[&tid].settle))
                else {
                    let keep: VecDeque<Tid> =
                        ready.iter().copied().filter(|tid| self.tasks.get(tid).is_some_and(|t| t.grant.is_some())).collect();
                    self.domain(id).ready = keep;
                    break;
                };
                let tid = self.domains[&id].ready[index];
                if let Some(&into) = self.joining.get(&tid).filter(|&&into| into != id) {
                    if self.domains.get(&into).is_some_and(|d| d.token.is_some()) {
                        // Both domains must pause for the join: this one
                        // waits (its holder is preempted, see `others_waiting`).
                        break;
                    }
                    self.domain(id).ready.remove(index);
                    self.join_domains(id, into, tid)?;
                    self.grant(into, tid)?;
                    break;
                }
                self.joining.remove(&tid);
                let tid = self.domain(id).ready.remove(index).expect("index is in range");
                self.grant(id, tid)?;
            }
        }
        Ok(())
    }

    /// Notes that `tid` mapped the file `inode` shared. Where that shares
    /// written memory (this mapping or an earlier one of the inode is
    /// writable) with a process of another domain, the two domains become
    /// one before `tid` runs again. Files every process maps read-only
    /// (glibc's gconv cache) join nothing. Returns whether the inode is
    /// written through a shared mapping.
    fn join_domains_through(&mut self, tid: Tid, inode: u64, writable: bool) -> Result<bool> {
        let mine = self.task(tid)?.domain;
        let Some(&(other, written)) = self.shared_inodes.get(&inode) else {
            self.shared_inodes.insert(inode, (mine, writable));
            return Ok(writable);
        };
        let written = written || writable;
        if !written {
            return Ok(false);
        }
        if other != mine && self.tasks.values().any(|t| t.domain == other) {
            self.joining.insert(tid, other);
            self.shared_inodes.insert(inode, (other, true));
        } else {
            self.shared_inodes.insert(inode, (mine, true));
        }
        Ok(true)
    }

    /// Makes domain `from` part of domain `into`, neither running user code
    /// now, and writes the `Join` event of `tid`, the task whose mapping
    /// joined them.
    fn join_domains(&mut self, from: Tid, into: Tid, tid: Tid) -> Result<()> {
        self.joining.remove(&tid);
        for task in self.tasks.values_mut().filter(|t| t.domain == from) {
            task.domain = into;
        }
        for domain in self.shared_inodes.values_mut().map(|(d, _)| d).chain(self.joining.values_mut()).filter(|d| **d == from) {
            *domain = into;
        }
        if let Some(old) = self.domains.remove(&from) {
            self.domain(into).ready.extend(old.ready);
        }
        self.push(Event::Join(JoinRecord { tid, domain: into }))
    }

    fn grant(&mut self, id: Tid, tid: Tid) -> Result<()> {
        let task = self.task(tid)?;
        task.settle = false;
        let reopened_std_stream = std::mem::take(&mut task.reopened_std_stream);
        let mut events = task.grant.take().unwrap_or_default();
        if std::mem::take(&mut task.reads_shared_mapping) {
            // Read now, when no task sharing the file runs user code (the
            // domains are joined by now): at the mmap's exit another task
            // of the domain could still be writing there, and replay, which
            // puts this content into the shared pages at this event, would
            // undo that write.
            for event in &mut events {
                if let Event::MapFile(map) = event {
                    map.data = Some(task.mem.read_partial(map.addr, map.len as usize));
                }
            }
            // The shared mapping's serial, numbered in write order (see
            // `on_syscall_exit`).
            for event in &mut events {
                if let Event::Resource(r) = event {
                    if r.kind == resource_kind::INODE && r.serial == 0 {
                        r.serial = self.next_serial(r.kind, r.id);
                    }
                }
            }
        }
        if events.iter().any(|e| matches!(e, Event::Exec(_))) {
            self.release_vfork_parent(tid);
        }
        let leaves = events.iter().any(|e| matches!(e, Event::Join(j) if j.tid == tid && j.leaves_domain()));
        let started = events.iter().any(|e| matches!(e, Event::TaskStart(_)));
        if started {
            let tgid = self.task(tid)?.tgid;
            self.fds(tgid).task_started();
        }
        let fd_state_changed =
            started || reopened_std_stream || events.iter().any(|e| matches!(e, Event::Syscall(c) if StdFds::changed_by(c.nr)));
        for event in events {
            if let Event::Syscall(call) = &event {
                if is_clone(call.nr) && call.result > 0 {
                    if let Some(child) = self.tasks.get_mut(&(call.result as Tid)) {
                        child.waits_for_parent = false;
                    }
                }
            }
            self.push(event)?;
        }
        if fd_state_changed {
            self.write_fd_state(tid)?;
        }
        let id = if leaves {
            // A vfork child that exec'd: its events are in its parent's
            // domain's order, and from here it runs in a domain of its own.
            self.release(tid);
            self.task(tid)?.domain = tid;
            tid
        } else {
            id
        };
        // A task that kept its token through a syscall goes on in the slice it had.
        if self.domain(id).token != Some(tid) {
            let (slice, winds_down) = match &mut self.chaos {
                Some(rng) => (rng.slice(), rng.next() & 1 == 0),
                None => (TIME_SLICE, true),
            };
            let now = self.now;
            let domain = self.domain(id);
            domain.token = Some(tid);
            domain.since = now;
            domain.slice = slice;
            domain.winding_down = false;
            domain.winds_down = winds_down;
        }
        self.update_header_flags(tid, id)?;
        let task = self.task(tid)?;
        if std::mem::take(&mut task.writes_when_granted) {
            return self.write_to_std_stream(tid);
        }
        let mut signo = 0;
        if !task.held.is_empty() && task.probe.is_none() {
            match self.deliverable_at_syscall_exit(tid)? {
                Some(now) => signo = now,
                None => {
                    // Signals still held (a syscall could not take them, as
                    // rt_sigreturn cannot): delivered at the first instruction.
                    let task = self.task(tid)?;
                    if let Ok(regs) = tracee::get_regs(tid) {
                        task.probe = Some(Probe::Here { rip: regs.rip });
                        task.probe_since = Some(Instant::now());
                        tracee::set_exec_breakpoint(tid, Some(regs.rip))?;
                    }
                }
            }
        }
        match tracee::cont(tid, signo) {
            Ok(()) => Ok(()),
            // Killed while waiting (exit_group of a sibling): its exit
            // notification follows.
            Err(e) if e.is_gone() => {
                self.release(tid);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes which descriptors of `tid`'s process are the original
    /// outputs, and the generation of its descriptor table, into its
    /// syscall buffer's header. Only when the task that changed them is let
    /// run again (or starts): replay writes the same values at the same
    /// events, so the library's choices match. A vfork child's bitmap is
    /// not written: the header is its parent's.
    fn write_fd_state(&mut self, tid: Tid) -> Result<()> {
        let tgid = self.task(tid)?.tgid;
        if !self.buffers.contains_key(&tgid) {
            return Ok(());
        }
        let in_parent_memory = self.vfork_children.contains(&tgid);
        let table = self.fds(tgid);
        let (bitmap, generation) = ((!in_parent_memory).then(|| table.output_bitmap()), table.generation());
        syscallbuf::set_fd_state(&self.task(tid)?.mem, tid, bitmap, generation)
    }

    /// Writes the header FLAGS `tid`'s library goes by while it runs, when
    /// they change:
    /// - `flags::MAY_BLOCK`, whether its pipe calls may wait inside it:
    ///   only while `tid` is the one task of its domain `id`, since a call
    ///   waiting there keeps the token. A task joining the domain later
    ///   makes it wait at most a slice: the preemption's signal ends the
    ///   wait (see [`Session::give_up_waiting_buffered_call`]). Replay's
    ///   stub answers those calls from the trace either way.
    /// - `flags::STD_WRITES`, whether its writes to the recording's output
    ///   may be buffered: only while every task is of domain `id`. Only one
    ///   task then runs user code at a time, and a new domain comes only
    ///   from a clone of one of them, a stop after which this runs again
    ///   before any task goes on. Replay sets the flag from the batches.
    ///
    /// A vfork child's header is its parent's: MAY_BLOCK is left as it is
    /// (the parent waits in the kernel until the child is gone), but
    /// STD_WRITES is cleared there if the child's domain is no longer the
    /// only one (the parent's next run sets it again if it is).
    fn update_header_flags(&mut self, tid: Tid, id: Tid) -> Result<()> {
        let task = self.task(tid)?;
        let (tgid, vfork_parent) = (task.tgid, task.vfork_parent);
        if !self.buffers.contains_key(&tgid) {
            return Ok(());
        }
        let only_domain = self.tasks.values().all(|t| t.domain == id);
        if self.vfork_children.contains(&tgid) {
            let Some(owner) = vfork_parent.and_then(|p| self.tasks.get(&p)).map(|t| t.tgid) else { return Ok(()) };
            let flags = self.header_flags.get(&owner).copied().unwrap_or(0);
            if only_domain || flags & abi::flags::STD_WRITES == 0 {
                return Ok(());
            }
            let flags = flags & !abi::flags::STD_WRITES;
            syscallbuf::set_flags(&self.task(tid)?.mem, tid, flags)?;
            self.header_flags.insert(owner, flags);
            return Ok(());
        }
        let alone = self.tasks.values().filter(|t| t.domain == id).take(2).count() == 1;
        let flags = syscallbuf::level_flags(self.level)
            | if alone { abi::flags::MAY_BLOCK } else { 0 }
            | if only_domain { abi::flags::STD_WRITES } else { 0 };
        if self.header_flags.get(&tgid).copied().unwrap_or(0) == flags {
            return Ok(());
        }
        syscallbuf::set_flags(&self.task(tid)?.mem, tid, flags)?;
        self.header_flags.insert(tgid, flags);
        Ok(())
    }

    /// Whether a task of `tid`'s domain other than `tid` could run now (or a
    /// bookmark waits for the domain to pause).
    fn others_waiting(&self, tid: Tid) -> bool {
        let id = self.domain_of(tid);
        self.bookmark_pending
            || self.joining.values().any(|&into| into == id)
            || self.domains.get(&id).is_some_and(|d| d.ready.iter().any(|&t| t != tid && self.eligible(t)))
    }

    /// Interrupts each token holder whose time slice is over while another
    /// task of its domain waits; the stop arrives as a SIGSTOP delivery.
    ///
    /// From half its slice on, the holder's slice *winds down* first: its
    /// next syscall, traced or buffered (the buffer's next call is made to
    /// stop), passes the token on. A sync point needs no point in user
    /// code, which costs replay traps and, where a pass repeats the
    /// registers and stack of an earlier one, can be taken a pass early
    /// (a python3 import building paths in a heap buffer between buffered
    /// stats). Only a holder that makes no syscall for the rest of its
    /// slice (at least a tick) is stopped at an instruction.
    fn preempt_if_slice_expired(&mut self) {
        let holders: Vec<(Tid, Instant, Duration, bool)> = self
            .domains
            .values()
            .filter_map(|d| d.token.map(|t| (t, d.since, d.slice, d.winds_down && !d.winding_down)))
            .collect();
        for (holder, since, slice, may_wind_down) in holders {
            let elapsed = self.now.saturating_duration_since(since);
            if elapsed < slice / 2 || !self.others_waiting(holder) {
                continue;
            }
            if may_wind_down {
                let id = self.domain_of(holder);
                self.domain(id).winding_down = true;
                // A process whose memory is gone (exiting) has no next call;
                // the SIGSTOP at the slice's end covers a failed write.
                if self.tasks.contains_key(&holder) {
                    let _ = self.stop_next_buffered_call(holder);
                }
                continue;
            }
            if elapsed < slice {
                continue;
            }
            if let Some(task) = self.tasks.get_mut(&holder) {
                // A task on its way to a chosen point keeps going, unless
                // that point has not come for a whole slice (straight-line
                // code that does not run again): then a new point is chosen.
                let stale = task.probe_since.is_some_and(|at| at.elapsed() >= slice);
                if !task.preempt_requested && (task.probe.is_none() || stale) {
                    task.preempt_requested = true;
                    tracee::signal_thread(task.tgid, holder, machine::SIGSTOP);
                }
            }
        }
    }

    /// Lets the vfork parent of `child` run again (its exec or exit is in the trace).
    fn release_vfork_parent(&mut self, child: Tid) {
        if let Some(parent) = self.tasks.get_mut(&child).and_then(|t| t.vfork_parent.take()) {
            if let Some(p) = self.tasks.get_mut(&parent) {
                p.waits_for_vfork_child = false;
            }
        }
    }

    /// Flushes the trace regularly and reacts to signals sent to the recorder.
    fn housekeeping(&mut self) -> Result<()> {
        let signals = tracee::take_control_signals();
        if self.now.saturating_duration_since(self.last_flush) >= FLUSH_INTERVAL {
            self.writer.flush()?;
            self.last_flush = self.now;
        }
        if self.detached {
            return Ok(());
        }
        self.preempt_if_slice_expired();
        let now = self.now;
        for (&tid, task) in self.tasks.iter_mut() {
            task.pins.release_if_running(tid, now);
        }
        let auto_bookmark = match self.auto_bookmark {
            Some((every, due)) if now >= due => {
                self.auto_bookmark = Some((every, now + every));
                true
            }
            _ => false,
        };
        if (signals & (1 << libc_signal::USR2) != 0 || auto_bookmark) && !self.bookmark_pending {
            self.bookmark_pending = true;
            self.bookmark_asked = now;
            self.stop_all_buffered_calls();
        }
        if signals & (1 << libc_signal::USR1) != 0 || self.detach_at.is_some_and(|at| now >= at) {
            self.detach()?;
            return Ok(());
        }
        self.forward_interrupt(signals, now);
        for sig in [libc_signal::TERM, libc_signal::HUP, libc_signal::QUIT] {
            if signals & (1 << sig) != 0 {
                return Err(EngineError::Program(format!(
                    "the recorder received {}; the program was killed and the trace ends here",
                    sc::signal_name(sig).unwrap_or("a signal")
                )));
            }
        }
        Ok(())
    }

    /// Passes a SIGINT that a process sent to the recorder on to the
    /// program, as `kill -INT` to a program run without Scribe would
    /// interrupt it. Ctrl-C on the terminal reaches the whole foreground
    /// group, the program included, and so does a kill of the process
    /// group: those are not passed on (the terminal's SIGINT is known by
    /// its sender; for a kill, the program's own SIGINT reported within
    /// [`INTERRUPT_GRACE`] shows it got one).
    fn forward_interrupt(&mut self, signals: u32, now: Instant) {
        let int = 1 << libc_signal::INT;
        if signals & int != 0 && tracee::take_signals_sent_by_processes() & int != 0 {
            self.forward_interrupt_at = Some(now + INTERRUPT_GRACE);
        }
        if self.forward_interrupt_at.is_some_and(|at| now >= at) {
            self.forward_interrupt_at = None;
            tracee::signal_thread(self.leader, self.leader, libc_signal::INT);
        }
    }

    /// Whether the pending bookmark can be placed now, with no token held.
    ///
    /// Its state digest must describe the state replay has at the bookmark,
    /// where every task waits at the seccomp stop of its next recorded
    /// syscall (or at its start or preemption point). So no task may be
    /// stopped after kernel work whose events are not written yet (those
    /// run on, to be parked at their next syscall), and none may be running
    /// in the kernel, where a syscall could be writing its memory. Tasks
    /// sleeping in a syscall are taken as they are: their call has not
    /// touched memory yet.
    fn bookmark_state(&self) -> BookmarkState {
        if self.bookmark_asked.elapsed() >= BOOKMARK_SETTLE_LIMIT {
            return BookmarkState::GiveUp;
        }
        if self.tasks.keys().any(|&tid| self.eligible(tid) && self.tasks[&tid].settle) {
            return BookmarkState::Settling;
        }
        if self.task_in_flight() {
            BookmarkState::InFlight
        } else {
            BookmarkState::Ready
        }
    }

    /// Whether a task the recorder does not hold is running, or stopped
    /// by the kernel with an event the recorder has not taken yet (a
    /// syscall that finished, a signal), or was killed and has not ended
    /// yet. A bookmark between a kill and the end of the killed task
    /// (which is then past its exit stop, its memory going) had the task
    /// running in replay, where it dies at its end's event, after the
    /// bookmark: replay waited at the bookmark for a task computing
    /// forever (found by the soak, `kill_children` under load).
    ///
    /// A task let into an execve is in flight until the exec's event: the
    /// kernel ends the process's other threads first (their exits are
    /// written as it reports them), and a bookmark between those exits and
    /// the exec cannot be reached by replay, which makes the exec and its
    /// killing at once (a rustup proxy whose threads its exec killed in
    /// `epoll_wait`, with `-a 0.02`: replay ran a dead thread on into a
    /// call the recording does not have, 1 run in 133).
    fn task_in_flight(&self) -> bool {
        self.tasks.iter().any(|(&tid, t)| {
            let known_stopped = t.parked || t.grant.is_some() || (t.started && t.waits_for_parent);
            let in_exec = !t.parked && t.pending.as_ref().is_some_and(|p| matches!(p.nr, sc::nr::EXECVE | sc::nr::EXECVEAT));
            t.killed || in_exec || (!known_stopped && matches!(procfs::task_state(tid), Some('R' | 't')))
        })
    }

    /// The state digest of every process, for a bookmark (see
    /// [`BookmarkRecord::digests`]); tasks that are exiting are left out.
    fn state_digests(&self, bookmark: u32) -> Vec<StateDigest> {
        let mut processes: BTreeMap<Tid, Vec<(Tid, &Task)>> = BTreeMap::new();
        for (&tid, task) in self.tasks.iter().filter(|(_, t)| !t.exiting) {
            processes.entry(task.tgid).or_default().push((tid, task));
        }
        processes
            .into_iter()
            .map(|(pid, tasks)| {
                let (reader, task) = tasks[0];
                let maps = procfs::maps(reader).unwrap_or_default();
                let ranges = machine::digest_ranges(&maps, &[]);
                machine::dump_digested_memory("record", bookmark, pid, &task.mem, &ranges);
                StateDigest {
                    pid,
                    memory: machine::memory_digest(&task.mem, &ranges),
                    registers: machine::tasks_digest(tasks.iter().map(|(tid, t)| (*tid, t.entry_digest))),
                }
            })
            .collect()
    }

    /// Adds a bookmark: a numbered point in the event stream, placed while
    /// no task runs user code, so replay can stop at the same state. With
    /// `digest`, the state of every process is recorded with it; then the
    /// tasks parked for it go on into their syscalls.
    fn bookmark(&mut self, digest: bool) -> Result<()> {
        let id = self.next_bookmark;
        self.next_bookmark += 1;
        self.bookmark_pending = false;
        let mut digests = if digest { self.state_digests(id) } else { Vec::new() };
        // A task asleep in a syscall is taken as it is, its call not having
        // touched memory yet; but the call can finish while the memory is
        // read (make's wait4 wrote the child's status into a digest whose
        // bookmark replay reaches before the wait4). Such a task is then
        // stopped at the call's exit, unseen: the digest is dropped.
        let settled = digests.is_empty() || !self.task_in_flight();
        if !settled {
            digests.clear();
        }
        self.push(Event::Bookmark(BookmarkRecord { id, tid: self.leader, digests: digests.clone() }))?;
        self.writer.flush()?;
        self.tell(&format!("bookmark {id}"));
        if !digest {
            self.tell(&format!("bookmark {id}: the program did not settle; no state digest"));
        } else if !settled {
            self.tell(&format!("bookmark {id}: a task's syscall finished while its state was read; no state digest"));
        }
        self.unpark();
        // Reading the memory can take a while: slices granted next start now.
        self.now = Instant::now();
        if let Some((every, _)) = self.auto_bookmark {
            // The program runs at least as long as the bookmark held it
            // (settling, digests) before the next: bookmarks of a program
            // with large memory cannot take all of its time.
            let cost = self.bookmark_asked.elapsed();
            self.auto_bookmark = Some((every, Instant::now() + every.max(cost)));
        }
        Ok(())
    }

    /// Lets the tasks parked at their seccomp stop run their syscalls.
    fn unpark(&mut self) {
        for (&tid, task) in self.tasks.iter_mut().filter(|(_, t)| t.parked) {
            task.parked = false;
            // A task killed meanwhile (a sibling's exit_group) reports its exit next.
            let _ = tracee::cont_syscall(tid, 0);
        }
    }

    fn tell(&self, message: &str) {
        if let Some(notify) = &self.notify {
            notify(message);
        }
    }

    /// When the program's first process ends and others it started live
    /// on (a daemon such as gpg-agent, a background job), the recording
    /// goes on until they end too: says so, and which they are, so that a
    /// recording that seems to hang explains itself.
    fn tell_who_is_left(&self) {
        let mut left: Vec<Tid> = self.tasks.values().map(|t| t.tgid).filter(|&tgid| tgid != self.leader).collect();
        left.sort_unstable();
        left.dedup();
        if left.is_empty() {
            return;
        }
        let names: Vec<String> = left
            .iter()
            .map(|&pid| match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
                Ok(comm) => format!("{pid} ({})", comm.trim_end()),
                Err(_) => pid.to_string(),
            })
            .collect();
        let what = if self.detached { "Scribe stays attached (recording nothing)" } else { "the recording goes on" };
        self.tell(&format!(
            "the program's first process ended; {what} until the {} process{} it left running end{}: {} (SIGTERM to scribe ends them)",
            left.len(),
            if left.len() == 1 { "" } else { "es" },
            if left.len() == 1 { "s" } else { "" },
            names.join(", ")
        ));
    }

    /// Ends the trace and lets the program run on: from now on every stop is
    /// passed through without recording (the seccomp filter cannot be
    /// removed, so the recorder stays attached as a pass-through tracer).
    fn detach(&mut self) -> Result<()> {
        self.drain_running_buffers()?;
        self.push(Event::End(EndRecord { reason: end_reason::DETACHED, message: String::new() }))?;
        self.writer.flush()?;
        self.detached = true;
        self.bookmark_pending = false;
        // Nobody drains the syscall buffers any more, and the program's
        // threads now run at the same time: the library goes back to plain
        // syscalls (a call already inside it finishes unharmed).
        self.header_flags.clear();
        for (tgid, _) in std::mem::take(&mut self.buffers) {
            if let Some(task) = self.tasks.values().find(|t| t.tgid == tgid) {
                let _ = syscallbuf::disable(&task.mem);
            }
        }
        self.unpark();
        self.tell("detached: the program goes on unrecorded");
        self.domains.clear();
        self.output_lock = None;
        for tid in std::mem::take(&mut self.output_waiters) {
            let _ = tracee::cont(tid, 0);
        }
        let tids: Vec<Tid> = self.tasks.keys().copied().collect();
        for tid in tids {
            let task = self.task(tid)?;
            // Unrecorded, the program has all its CPUs again.
            task.pins.release(tid);
            let waiting = task.grant.take().is_some();
            let held: Vec<HeldSignal> = task.held.drain(..).collect();
            let tgid = task.tgid;
            if let Some(probe) = task.probe.take() {
                task.probe_since = None;
                if tracee::set_exec_breakpoint(tid, None).is_err() {
                    // Running: disarmed at its hit, in `pass_through`.
                    task.stale_probe = probe.rip();
                }
            }
            // Signals held for a sync point are sent again for real.
            for h in held {
                tracee::signal_thread(tgid, tid, h.signo);
            }
            if waiting {
                let _ = tracee::cont(tid, 0);
            }
        }
        Ok(())
    }

    /// Handles a stop after detaching: the program runs as if untraced.
    fn pass_through(&mut self, tid: Tid, status: WaitStatus) -> Result<Option<ExitStatus>> {
        self.passed_through += 1;
        self.bypass.at_passed_stop(tid, status);
        let resume = |sig| match tracee::cont(tid, sig) {
            Err(e) if e.is_gone() => Ok(()),
            other => other,
        };
        match status {
            WaitStatus::Exited(code) => return self.on_task_end(tid, ExitStatus::Exited(code)),
            WaitStatus::Signaled { signal, .. } => return self.on_task_end(tid, ExitStatus::Signaled(signal)),
            WaitStatus::Signal(sig) => {
                let preempt = self.tasks.get_mut(&tid).is_some_and(|t| std::mem::take(&mut t.preempt_requested));
                if sig == machine::SIGSTOP && preempt {
                    resume(0)?;
                } else if sig == machine::SIGSEGV {
                    resume(if machine::run_trapped_instruction(tid)? { 0 } else { sig })?;
                } else if sig == machine::SIGTRAP && self.stale_probe_hit(tid) {
                    tracee::set_exec_breakpoint(tid, None)?;
                    resume(0)?;
                } else if !self.tasks.get(&tid).is_some_and(|t| t.started) && sig == machine::SIGSTOP {
                    // A new task's first stop.
                    if let Some(t) = self.tasks.get_mut(&tid) {
                        t.started = true;
                    } else if let Ok(mem) = TraceeMemory::open(tid) {
                        let mut task = Task::new(procfs::tgid(tid).unwrap_or(tid), mem);
                        task.started = true;
                        self.tasks.insert(tid, task);
                    }
                    resume(0)?;
                } else {
                    resume(sig)?;
                }
            }
            WaitStatus::Event(PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork) => {
                let child = tracee::get_event_msg(tid)? as Tid;
                if let std::collections::btree_map::Entry::Vacant(e) = self.tasks.entry(child) {
                    if let Ok(mem) = TraceeMemory::open(child) {
                        e.insert(Task::new(procfs::tgid(child).unwrap_or(child), mem));
                    }
                }
                resume(0)?;
            }
            WaitStatus::Event(PtraceEvent::Exec) => {
                // Made by another thread, the exec gave it this id: its
                // own is gone and will report nothing more.
                let former = tracee::get_event_msg(tid)? as Tid;
                if former != tid {
                    self.tasks.remove(&former);
                }
                resume(0)?;
            }
            _ => resume(0)?,
        }
        Ok(None)
    }

    /// Whether `tid` stopped at the probe it still had armed when the
    /// recorder detached.
    fn stale_probe_hit(&mut self, tid: Tid) -> bool {
        let Some(task) = self.tasks.get_mut(&tid) else { return false };
        let hit = task.stale_probe.is_some_and(|rip| tracee::get_regs(tid).is_ok_and(|r| r.rip == rip));
        if hit {
            task.stale_probe = None;
        }
        hit
    }

    /// The first stop of a task created by clone/fork/vfork.
    fn on_new_task_stop(&mut self, tid: Tid) -> Result<()> {
        if let std::collections::btree_map::Entry::Vacant(e) = self.tasks.entry(tid) {
            // The child's stop can be reported before its parent's clone
            // event; it is queued once that event says where it belongs.
            let mem = TraceeMemory::open(tid)?;
            let mut task = Task::new(procfs::tgid(tid).unwrap_or(tid), mem);
            task.waits_for_parent = true;
            task.started = true;
            e.insert(task);
            return Ok(());
        }
        let task = self.task(tid)?;
        task.started = true;
        let parent = task.domain;
        self.want_token(tid, vec![Event::TaskStart(TaskStartRecord { tid, parent })])
    }

    fn on_clone(&mut self, parent: Tid, status: WaitStatus) -> Result<()> {
        let child = tracee::get_event_msg(parent)? as Tid;
        let is_thread = procfs::tgid(child).map(|g| g == self.task(parent).map(|t| t.tgid).unwrap_or(0)).unwrap_or(false);
        let parent_tgid = self.task(parent)?.tgid;
        let parent_domain = self.task(parent)?.domain;
        let tgid = if is_thread { parent_tgid } else { child };
        if !is_thread {
            let parent_table = self.fds(parent_tgid);
            let table = if status == WaitStatus::Event(PtraceEvent::Vfork) { parent_table.for_vfork_child() } else { parent_table.clone() };
            self.std_fds.insert(child, table);
            self.open_files.fork(parent_tgid, child);
            // The child has a copy of (or shares) the parent's buffer.
            if let Some(&stop_at) = self.buffers.get(&parent_tgid) {
                self.buffers.insert(child, stop_at);
                if let Some(&flags) = self.header_flags.get(&parent_tgid) {
                    self.header_flags.insert(child, flags);
                }
            }
            if status == WaitStatus::Event(PtraceEvent::Vfork) {
                self.vfork_children.insert(child);
            }
        }
        // A new process gets a domain of its own unless it shares writable
        // memory with its parent (vfork, CLONE_VM, MAP_SHARED mappings).
        let shares_memory = is_thread
            || status == WaitStatus::Event(PtraceEvent::Vfork)
            || self.serialize
            || procfs::maps(parent).map(|maps| maps.iter().any(|m| m.perms.starts_with("rw") && m.perms.ends_with('s'))).unwrap_or(true);
        let domain = if shares_memory { parent_domain } else { child };
        let stopped_early = match self.tasks.entry(child) {
            std::collections::btree_map::Entry::Vacant(e) => {
                let mem = TraceeMemory::open(child)?;
                let mut task = Task::new(tgid, mem);
                task.domain = domain;
                task.waits_for_parent = true;
                task.parent_process = (!is_thread).then_some(parent_tgid);
                e.insert(task);
                false
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                let task = e.get_mut();
                task.tgid = tgid;
                task.domain = domain;
                task.parent_process = (!is_thread).then_some(parent_tgid);
                task.started
            }
        };
        let pins = self.task(parent)?.pins.start_child(child, is_thread, tgid);
        self.task(child)?.pins = pins;
        if stopped_early {
            self.want_token(child, vec![Event::TaskStart(TaskStartRecord { tid: child, parent: domain })])?;
        }
        if status == WaitStatus::Event(PtraceEvent::Vfork) {
            // The parent's vfork returns only after the child exec'd or
            // exited, so its event goes into the trace now, before the child
            // runs; the parent's return is marked by a TaskStart later.
            let task = self.task(parent)?;
            task.in_vfork = true;
            task.waits_for_vfork_child = true;
            if let Some(p) = task.pending.take() {
                self.push(Event::Syscall(SyscallRecord { tid: parent, nr: p.nr, args: p.args, result: i64::from(child), inputs: p.inputs, regs_digest: p.regs_digest, outputs: Vec::new() }))?;
            }
            let child_task = self.task(child)?;
            child_task.waits_for_parent = false;
            child_task.vfork_parent = Some(parent);
        }
        tracee::cont_syscall(parent, 0)?;
        Ok(())
    }

    fn on_seccomp(&mut self, tid: Tid) -> Result<()> {
        if self.task(tid)?.probe.take().is_some() {
            // It reached a sync point by itself: no point needed.
            self.task(tid)?.probe_since = None;
            tracee::set_exec_breakpoint(tid, None)?;
        }
        let regs = tracee::get_regs(tid)?;
        let tgid = self.task(tid)?.tgid;
        if regs.orig_rax == u64::from(magic::FLUSH) && self.buffers.contains_key(&tgid) {
            return self.on_buffer_full(tid, regs);
        }
        self.drain_buffer(tid)?;
        let registers = regs.orig_rax == u64::from(magic::REGISTER);
        let nr = regs.orig_rax as u32;
        let now = self.now;
        self.task(tid)?.pins.at_syscall(tid, nr, registers, now);
        let args = tracee::syscall_args(&regs);
        let level = self.level;
        // Only the traced call the library makes right after giving up.
        let buffered_restart = self.task(tid)?.buffered_restart.take().filter(|_| nr == sc::nr::READ || nr == sc::nr::WRITE);
        if magic::is_magic(regs.orig_rax) {
            return self.on_buffer_request(tid, regs);
        }
        if (nr == sc::nr::EXECVE || nr == sc::nr::EXECVEAT) && self.task(tid)?.tgid != tid {
            // The kernel would end the process's other threads and give
            // this one the main thread's id, which the trace cannot say.
            // The recording ends here, cleanly, and the program goes on.
            self.tell(&format!(
                "task {tid} runs execve from a thread other than its process's main thread, which Scribe cannot record: the trace ends here"
            ));
            self.detach()?;
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        self.task(tid)?.entry_digest = Some(machine::regs_digest(&regs));
        if nr == sc::nr::RT_SIGRETURN {
            machine::clear_signal_frame_fault_fields(&self.task(tid)?.mem, regs.rsp);
        }
        // Never at rt_sigreturn: interrupting it leaves the handler's frame
        // half unwound (a held SIGALRM injected there sent a program back to
        // an old context about once in twenty runs). The next syscall, after
        // the handler has returned, delivers it.
        if nr != sc::nr::RT_SIGRETURN {
            if let Some(signo) = self.task(tid)?.held.front().map(|h| h.signo) {
                // Not while the task blocks it: the kernel would not
                // deliver it at the exit, and with no signal to deliver it
                // would not restart the call either, so the program would
                // see ERESTARTNOINTR (`timeout` printed "error waiting for
                // command: Unknown error 513"). A call that swaps the mask
                // (sigsuspend) may unblock it: those still take it.
                let blocked = tracee::get_sigmask(tid)? & (1 << (signo - 1)) != 0;
                if !blocked || swaps_signal_mask(nr) {
                    let held = self.task(tid)?.held.pop_front().expect("looked at above");
                    let code = buffered_restart.unwrap_or(machine::ERESTARTNOINTR);
                    return self.interrupt_for_signal(tid, regs, nr, args, held, code);
                }
            }
        }
        if nr == sc::nr::PTRACE && !std::mem::replace(&mut self.told_ptrace, true) {
            // The kernel answers it (EPERM for PTRACE_TRACEME, an attach
            // fails): a task has one tracer. Said once, since a debugger
            // run under Scribe would otherwise just report it cannot trace.
            self.tell(&format!("task {tid} called ptrace: a recorded program cannot trace others (Scribe is its tracer), so such calls fail"));
        }
        let refused = if nr == sc::nr::RSEQ {
            // The kernel writes the current CPU into a registered rseq area at
            // arbitrary times; refusing registration keeps memory deterministic
            // (libc falls back when rseq is unavailable).
            Some(machine::ENOSYS)
        } else if nr == sc::nr::IO_URING_SETUP {
            // The kernel would read requests from and write completions to
            // the program's memory on its own threads, none of which a stop
            // sees; programs fall back to plain syscalls without it.
            Some(machine::ENOSYS)
        } else if nr == sc::nr::USERFAULTFD {
            // A thread that faults on a registered range waits in the
            // fault, not in a syscall: it keeps its domain's token, and the
            // handler thread that would resolve the fault never runs (the
            // recording hung). Programs fall back to plain memory.
            Some(machine::ENOSYS)
        } else if nr == sc::nr::IO_SETUP {
            // Linux AIO: the kernel writes what it reads into the program's
            // buffers when the I/O completes, in no syscall's output.
            // libaio's users fall back to plain reads and writes.
            Some(machine::ENOSYS)
        } else if new_pid_namespace(nr, &args, &self.task(tid)?.mem) {
            // Ids inside it are not the ones Scribe sees, and its traces use
            // the latter (a fork's result names the child). Refused as for
            // a user without the privilege.
            if !std::mem::replace(&mut self.told_pid_namespace, true) {
                self.tell(&format!("task {tid} asked for a new PID namespace, which Scribe cannot record: refused with EPERM"));
            }
            Some(machine::EPERM)
        } else if nr == sc::nr::PRCTL && args[0] == PR_SET_TSC {
            // rdtsc must keep faulting, or its values go unrecorded: the
            // call is answered as done without being made.
            Some(0)
        } else if nr == sc::nr::PRCTL && args[0] == PR_GET_TSC {
            // The program sees rdtsc as it behaves for it (enabled: Scribe
            // executes the faults), not the trapping mode Scribe set.
            return self.answer_get_tsc(tid, regs, args);
        } else {
            self.refused_copy(tid, nr, &args)?
        };
        if let Some(errno) = refused {
            machine::skip_syscall(tid, regs, -(errno as i64))?;
            self.push(Event::Syscall(SyscallRecord { tid, nr, args, result: -(errno as i64), ..Default::default() }))?;
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        if nr == sc::nr::PERSONALITY && machine::personality_kept(args[0]) != args[0] {
            // The program's own argument is what the trace keeps.
            let mut kept = regs;
            kept.rdi = machine::personality_kept(args[0]);
            tracee::set_regs(tid, &kept)?;
        }
        if level >= 3 {
            self.push(Event::Regs(RegsRecord { tid, regs: tracee::regs_to_words(&regs) }))?;
        }
        let task = self.task(tid)?;
        let inputs = if level >= 1 { read_ranges(&task.mem, &sc::input_ranges(nr, &args, &TaskMemory(&task.mem))) } else { Vec::new() };
        let tgid = task.tgid;
        let pipes = self.pipes_used(tid, tgid, nr, &args);
        let task = self.task(tid)?;
        let named = inodes_of_names(tid, &task.mem, &resources::named_inodes(nr, &args).0);
        let pending = Pending { nr, args, inputs, regs_digest: (level >= 2).then(|| machine::regs_digest(&regs)), pipes, named };
        if nr == sc::nr::EXIT || nr == sc::nr::EXIT_GROUP {
            // These never return: record them now.
            let is_leader = task.tgid == tid;
            let tgid = task.tgid;
            if nr == sc::nr::EXIT_GROUP {
                for t in self.tasks.values_mut().filter(|t| t.tgid == tgid) {
                    t.exiting = true;
                }
            }
            self.task(tid)?.exiting = true;
            let Pending { nr, args, inputs, regs_digest, .. } = pending;
            self.push(Event::Syscall(SyscallRecord { tid, nr, args, result: 0, outputs: Vec::new(), inputs, regs_digest }))?;
            if nr == sc::nr::EXIT && !is_leader {
                return self.finish_thread_exit(tid);
            }
            self.release(tid);
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        task.pending = Some(pending);
        let tgid = task.tgid;
        if is_write(nr) && self.fds(tgid).output_stream(args[0]).is_some() {
            if self.slice_over_with_others_waiting(tid) {
                // Such a write keeps the token, so a thread that mostly
                // writes to the terminal could only be preempted by a
                // SIGSTOP, which found it in the library nearly every time
                // (two threads printing 2,000 lines took up to 81 s). The
                // others run first; the write goes on when the token is back.
                self.points.at_syscalls += 1;
                self.release(tid);
                self.task(tid)?.writes_when_granted = true;
                return self.want_token(tid, Vec::new());
            }
            return self.write_to_std_stream(tid);
        }
        let copies_memory = clone_flags(nr, &args, &self.task(tid)?.mem).is_some_and(|flags| flags & machine::CLONE_VM == 0);
        let keeps = if changes_memory_map(nr, &args) || copies_memory {
            // Only threads share the address space and run meanwhile (a
            // vfork parent waits for its child); the processes of a domain
            // (make's compilers) still run during each other's mmaps.
            self.holds_token(tid) && !self.detached && self.has_other_threads(tid)
        } else {
            keeps_token_through(nr) && self.may_keep_token(tid)
        };
        if keeps {
            self.task(tid)?.keeps_token = true;
            return tracee::cont_syscall(tid, 0).map_err(Into::into);
        }
        if self.slice_over_with_others_waiting(tid) {
            self.points.at_syscalls += 1;
        }
        self.release(tid);
        if self.bookmark_pending && !self.detached {
            // Held here until the bookmark is placed (see `bookmark_state`).
            self.task(tid)?.parked = true;
            return Ok(());
        }
        tracee::cont_syscall(tid, 0)?;
        Ok(())
    }

    /// Writes the calls `tid` made through its process's syscall buffer
    /// since its last stop, ahead of the events of this stop, and empties
    /// the buffer. The program's own stops are the only drain points, so
    /// replay can load each batch before the task runs and check it at the
    /// same stop.
    fn drain_buffer(&mut self, tid: Tid) -> Result<()> {
        match self.take_buffer(tid)? {
            Some(records) => self.write_buffered_calls(tid, &records),
            None => Ok(()),
        }
    }

    /// Copies the records of `tid`'s process's syscall buffer out and
    /// empties it (and sets where the next call stops), so that the task
    /// may run on while they are decoded; `None` when the process has no
    /// buffer or it is being torn down.
    fn take_buffer(&mut self, tid: Tid) -> Result<Option<Vec<u8>>> {
        let tgid = self.task(tid)?.tgid;
        let Some(&stop_at_written) = self.buffers.get(&tgid) else { return Ok(None) };
        let winding_down = self.domains.get(&self.domain_of(tid)).is_some_and(|d| d.winding_down && d.token == Some(tid));
        let task = self.task(tid)?;
        let stop_at = if task.held.is_empty() && !winding_down { u32::MAX } else { 0 };
        let Ok(header) = syscallbuf::read_header(&task.mem) else {
            // The process is being torn down.
            return Ok(None);
        };
        let records = if header.used > 0 { syscallbuf::read_record_bytes(&task.mem, tid, header.used)? } else { Vec::new() };
        if header.used > 0 || stop_at != stop_at_written {
            syscallbuf::set_window(&task.mem, 0, stop_at)?;
            self.buffers.insert(tgid, stop_at);
        }
        Ok(Some(records))
    }

    /// Decodes records taken by [`take_buffer`](Self::take_buffer) and
    /// writes them as `Buffered` events, with their serials.
    fn write_buffered_calls(&mut self, tid: Tid, records: &[u8]) -> Result<()> {
        let tgid = self.task(tid)?.tgid;
        let calls = syscallbuf::decode_records(records, tid)?;
        self.buffered += calls.len() as u64;
        // The library names the pipe of a pipe read or write.
        for syscallbuf::BufferedCall { call, pipe } in calls {
            // A write to the recording's output (`flags::STD_WRITES`) gets
            // the terminal's next serial, as a stopped one does: while the
            // flag is set nobody else writes, so drain order is write order.
            let std_write = call.nr == sc::nr::WRITE && self.fds(tgid).output_stream(call.args[0]).is_some();
            self.fds(tgid).apply(call.nr, &call.args, call.result);
            if let Some(table) = self.fd_targets.get_mut(&tgid) {
                table.apply(call.nr, &call.args, call.result);
            }
            self.push(Event::Buffered(call))?;
            if let Some(id) = pipe {
                let serial = self.serial_event(tid, resource_kind::PIPE, id);
                self.push(serial)?;
            }
            if std_write {
                self.output_serial += 1;
                let serial = self.output_serial;
                self.push(Event::Resource(ResourceRecord { tid, kind: resource_kind::TERMINAL, id: 0, serial }))?;
            }
        }
        Ok(())
    }

    /// Drains the buffers of the tasks running user code, without
    /// stopping them, when the trace ends while they run (detach, or the
    /// recorder told to stop): their calls since their last stop happened,
    /// and what they wrote to the output was shown. The library counts a
    /// record as used only once it is complete, so what is read is whole;
    /// calls made after the read are after the trace's end.
    fn drain_running_buffers(&mut self) -> Result<()> {
        let holders: Vec<Tid> = self.domains.values().filter_map(|d| d.token).collect();
        for tid in holders {
            if self.tasks.contains_key(&tid) {
                self.drain_buffer(tid)?;
            }
        }
        Ok(())
    }

    /// The library's "buffer full" request: its records are copied out and
    /// the buffer emptied, and the task goes on while they are decoded and
    /// written. The recorder handles no other stop meanwhile, so the trace
    /// is the same as if it had drained first; only the program no longer
    /// waits for the decoding (find and tar fill the buffer dozens of times).
    /// The request goes in the trace: it ends a batch, and replay loads the
    /// next one there.
    fn on_buffer_full(&mut self, tid: Tid, regs: Regs) -> Result<()> {
        let args = tracee::syscall_args(&regs);
        let records = self.take_buffer(tid)?;
        machine::skip_syscall(tid, regs, 0)?;
        tracee::cont(tid, 0)?;
        if let Some(records) = records {
            self.write_buffered_calls(tid, &records)?;
        }
        self.push(Event::Syscall(SyscallRecord { tid, nr: magic::FLUSH, args, result: 0, ..Default::default() }))
    }

    /// A request of the preload library other than "buffer full"
    /// (registration, or any request of a process without a buffer),
    /// answered without an event: replay answers the same requests itself.
    fn on_buffer_request(&mut self, tid: Tid, regs: Regs) -> Result<()> {
        let args = tracee::syscall_args(&regs);
        let tgid = self.task(tid)?.tgid;
        let answer = if regs.orig_rax == u64::from(magic::REGISTER) {
            if syscallbuf::registration_ok(&args) && !self.detached {
                let mem = &self.tasks[&tid].mem;
                syscallbuf::set_window(mem, 0, u32::MAX)?;
                let flags = syscallbuf::level_flags(self.level);
                syscallbuf::set_flags(mem, tid, flags)?;
                self.buffers.insert(tgid, u32::MAX);
                self.header_flags.insert(tgid, flags);
                self.write_fd_state(tid)?;
                1
            } else {
                -(machine::ENOSYS as i64)
            }
        } else {
            -(machine::ENOSYS as i64)
        };
        machine::skip_syscall(tid, regs, answer)?;
        tracee::cont(tid, 0).map_err(Into::into)
    }

    /// A write to the original stdout or stderr. Replay writes these again
    /// in trace order, so their events must be in the order the writes
    /// happened: one such write runs at a time (the output lock), and the
    /// task keeps its token so the event is written at the syscall's exit.
    fn write_to_std_stream(&mut self, tid: Tid) -> Result<()> {
        self.task(tid)?.std_write = true;
        match self.output_lock {
            Some(holder) if holder != tid => {
                self.output_waiters.push_back(tid);
                Ok(())
            }
            _ => {
                self.output_lock = Some(tid);
                tracee::cont_syscall(tid, 0).map_err(Into::into)
            }
        }
    }

    /// Passes the output lock to the next waiting writer.
    fn release_output_lock(&mut self, tid: Tid) -> Result<()> {
        if self.output_lock != Some(tid) {
            self.output_waiters.retain(|&t| t != tid);
            return Ok(());
        }
        self.output_lock = None;
        while let Some(next) = self.output_waiters.pop_front() {
            if self.tasks.contains_key(&next) {
                self.output_lock = Some(next);
                match tracee::cont_syscall(next, 0) {
                    Err(e) if e.is_gone() => self.output_lock = None,
                    other => return other.map_err(Into::into),
                }
            }
        }
        Ok(())
    }

    /// Lets an exiting thread finish before any other task runs: the kernel
    /// clears its tid word and wakes joiners (CLONE_CHILD_CLEARTID) as it
    /// exits, and replay does the same at this point of the trace.
    fn finish_thread_exit(&mut self, tid: Tid) -> Result<()> {
        tracee::cont(tid, 0)?;
        loop {
            let (_, status) = tracee::wait(tid)?;
            let end = match status {
                WaitStatus::Exited(code) => ExitStatus::Exited(code),
                WaitStatus::Signaled { signal, .. } => ExitStatus::Signaled(signal),
                _ => {
                    tracee::cont(tid, 0)?;
                    continue;
                }
            };
            // A thread's end never ends the recording: its process's leader
            // is still there.
            self.on_task_end(tid, end)?;
            return Ok(());
        }
    }

    /// The first held signal of `tid`, made ready for delivery, when the
    /// task stands at the exit of a syscall (not rt_sigreturn) that left it
    /// unblocked: the syscall unblocked it (the library's traced unblock,
    /// made because the signal was held), and the kernel would deliver a
    /// pending one right there. Otherwise the first instruction after the
    /// call, inside the library, takes no point, and the signal stayed held
    /// until the next stopping syscall found it unblocked: a loop blocking
    /// around its work held it through every iteration, each unblock traced
    /// (20,000 iterations under a 1 ms timer: 3 s instead of 0.05 s).
    fn deliverable_at_syscall_exit(&mut self, tid: Tid) -> Result<Option<i32>> {
        let Ok(regs) = tracee::get_regs(tid) else { return Ok(None) };
        let task = self.task(tid)?;
        let Some(signo) = task.held.front().map(|h| h.signo) else { return Ok(None) };
        if task.exit_point != Some(machine::all_regs_digest(&regs)) || regs.orig_rax == u64::from(sc::nr::RT_SIGRETURN) {
            return Ok(None);
        }
        if tracee::get_sigmask(tid)? & (1 << (signo - 1)) != 0 {
            return Ok(None);
        }
        let held = task.held.pop_front().expect("looked at above");
        task.injecting = Some(held);
        Ok(Some(signo))
    }

    /// Delivers a held signal just before the syscall `tid` is entering: the
    /// syscall is skipped as if interrupted with `code` (ERESTARTNOINTR: the
    /// kernel runs it again once the signal is handled; the code of a
    /// waiting buffered call the signal interrupted: as that call would).
    fn interrupt_for_signal(&mut self, tid: Tid, regs: Regs, nr: u32, args: [u64; 6], held: HeldSignal, code: i64) -> Result<()> {
        machine::skip_syscall(tid, regs, code)?;
        let task = self.task(tid)?;
        task.interrupted = Some((nr, args, code));
        task.injecting = Some(held);
        tracee::cont_syscall(tid, 0)?;
        Ok(())
    }

    /// The error to return instead of running an in-kernel copy whose
    /// destination is an original standard output stream.
    fn refused_copy(&mut self, tid: Tid, nr: u32, args: &[u64; 6]) -> Result<Option<i32>> {
        let (out_fd, errno) = match nr {
            sc::nr::SENDFILE => (args[0], machine::EINVAL),
            sc::nr::COPY_FILE_RANGE => (args[2], machine::EXDEV),
            sc::nr::SPLICE => (args[2], machine::EINVAL),
            sc::nr::TEE => (args[1], machine::EINVAL),
            _ => return Ok(None),
        };
        let tgid = self.task(tid)?.tgid;
        Ok(self.fds(tgid).output_stream(out_fd).is_some().then_some(errno))
    }

    fn on_syscall_exit(&mut self, tid: Tid) -> Result<()> {
        let mut regs = tracee::get_regs(tid)?;
        let task = self.task(tid)?;
        task.exit_point = Some(machine::all_regs_digest(&regs));
        if let Some((nr, args, code)) = task.interrupted.take() {
            // Make the kernel's signal delivery see an interrupted syscall.
            regs.orig_rax = u64::from(nr);
            regs.rax = code as u64;
            tracee::set_regs(tid, &regs)?;
            let signo = task.injecting.as_ref().map(|h| h.signo).unwrap_or(0);
            self.push(Event::Syscall(SyscallRecord { tid, nr, args, result: code, ..Default::default() }))?;
            if StdFds::changed_by(nr) {
                // Replay writes the descriptor state after every such call,
                // this one too: the generation may have moved since the
                // header was last written (closes made through the buffer),
                // and a library that saw it only in replay would forget the
                // kinds it keeps.
                self.write_fd_state(tid)?;
            }
            return tracee::cont(tid, signo).map_err(Into::into);
        }
        if std::mem::take(&mut task.in_vfork) {
            let parent = task.domain;
            return self.want_token_after_kernel(tid, vec![Event::TaskStart(TaskStartRecord { tid, parent })]);
        }
        let Some(pending) = task.pending.take() else {
            return self.want_token_after_kernel(tid, Vec::new());
        };
        let result = regs.rax as i64;
        let tgid = task.tgid;
        if result >= 0 && machine::installs_seccomp_filter(pending.nr, &pending.args) && self.buffers.contains_key(&tgid) {
            // The program's filter applies to the library's syscalls too:
            // one it traps would run the program's SIGSYS handler inside
            // the library, which replay's stub does not. The process goes
            // on with stops only; replay turns its buffer off here too.
            syscallbuf::disable(&self.task(tid)?.mem)?;
        }
        // A write's effect on its own memory is what replay, which emulates
        // the write, must make: an output of the call.
        let memory_written = self.own_memory_written(tid, tgid, pending.nr, &pending.args, result);
        let task = self.task(tid)?;
        if pending.nr == sc::nr::SCHED_GETAFFINITY && result > 0 && (pending.args[0] == 0 || pending.args[0] == tid as u64) {
            if let Some(cpus) = task.pins.reported_cpus() {
                // The pin is Scribe's, not the program's: it sees its CPUs.
                let bytes = cpus.to_bytes();
                task.mem.write(pending.args[2], &bytes[..(result as usize).min(bytes.len())])?;
            }
        }
        let mut ranges = sc::output_ranges(pending.nr, &pending.args, result, &TaskMemory(&task.mem));
        ranges.extend(memory_written);
        let outputs = read_ranges(&task.mem, &ranges);
        let tgid = task.tgid;
        let mut events = Vec::new();
        let mapped = pending.nr == sc::nr::MMAP && result >= 0 && pending.args[3] & machine::MAP_ANONYMOUS == 0;
        // A file written through shared mappings: which processes share its
        // pages (they may join domains), and its content is what they hold.
        let shared_inode = match mapped.then(|| shared_file_mapping(tid, &pending.args)).flatten() {
            Some((inode, writable)) => self.join_domains_through(tid, inode, writable)?.then_some(inode),
            None => None,
        };
        let map = if mapped {
            let map = self.identify_mapping(tid, &pending.args, result as u64, shared_inode.is_some())?;
            let rewrite = map.file_id.is_some_and(|id| self.random.rewrites(id));
            self.random.after_mapping(&self.tasks[&tid].mem, &map, rewrite)?;
            Some(map)
        } else {
            None
        };
        let Pending { nr, args, inputs, regs_digest, pipes, mut named } = pending;
        if result >= 0 {
            named.extend(inodes_of_names(tid, &self.task(tid)?.mem, &resources::named_inodes(nr, &args).1));
        } else {
            named.clear();
        }
        // Replay shares the pages of every such mapping of the inode; the
        // serial names it and orders the mappings. It is numbered when the
        // task is granted (see `grant`), in the order the events are
        // written: the mapping may have joined two domains, and a number
        // taken here, at the exit, could go to a task whose events (after
        // its own join) come later than those of a task numbered after it,
        // which replay could never satisfy (a forkserver pool's two workers
        // waited for each other's mapping).
        let shared_serial = shared_inode.map(|id| Event::Resource(ResourceRecord { tid, kind: resource_kind::INODE, id, serial: 0 }));
        self.fds(tgid).apply(nr, &args, result);
        if let Some(table) = self.fd_targets.get_mut(&tgid) {
            table.apply(nr, &args, result);
        }
        if let Some((path, cloexec)) = fdmodel::opened_path(nr, &args).filter(|_| result >= 0) {
            let path = self.task(tid)?.mem.read_cstr(path, 64);
            if self.fds(tgid).reopened(result as u64, &path, tgid as u64, cloexec) {
                self.task(tid)?.reopened_std_stream = true;
            }
        }
        events.push(Event::Syscall(SyscallRecord { tid, nr, args, result, outputs, inputs, regs_digest }));
        for id in pipes {
            // Taken at the exit, in the order this recorder sees exits: one
            // order of the pipe's operations that agrees with every task's.
            events.push(self.serial_event(tid, resource_kind::PIPE, id));
        }
        for id in named {
            events.push(self.serial_event(tid, resource_kind::INODE, id));
        }
        events.extend(shared_serial);
        events.extend(map.map(Event::MapFile));
        if std::mem::take(&mut self.task(tid)?.std_write) {
            // It kept its token: write the event now, in output order, with
            // the terminal's serial (the rendezvous replay follows).
            for event in events {
                self.push(event)?;
            }
            self.output_serial += 1;
            let serial = self.output_serial;
            self.push(Event::Resource(ResourceRecord { tid, kind: resource_kind::TERMINAL, id: 0, serial }))?;
            self.release_output_lock(tid)?;
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        if std::mem::take(&mut self.task(tid)?.keeps_token) && self.holds_token(tid) {
            return self.grant_again(tid, events);
        }
        self.want_token_after_kernel(tid, events)
    }

    /// Whether `tid`, entering a syscall that never blocks, keeps its
    /// domain's token through it: while its time slice lasts. Giving it up
    /// at every syscall handed a spinning sibling a whole slice each time,
    /// and a thread whose timer fired more often than that ran only its
    /// signal handler (it gave the token up at each rt_sigreturn, and found
    /// the next tick pending when it came back). Not while a bookmark or a
    /// join of domains waits for the domain to pause.
    fn may_keep_token(&self, tid: Tid) -> bool {
        let id = self.domain_of(tid);
        !self.bookmark_pending && !self.detached && !self.joining.values().any(|&into| into == id) && self.slice_left(tid) == Some(true)
    }

    /// Whether `tid`'s time slice lasts; `None` when it does not hold its
    /// domain's token.
    fn slice_left(&self, tid: Tid) -> Option<bool> {
        let domain = self.domains.get(&self.domain_of(tid)).filter(|d| d.token == Some(tid))?;
        Some(!domain.winding_down && self.now.saturating_duration_since(domain.since) < domain.slice)
    }

    /// Whether `tid`'s process has another thread.
    fn has_other_threads(&self, tid: Tid) -> bool {
        let tgid = self.tasks.get(&tid).map_or(tid, |t| t.tgid);
        self.tasks.iter().any(|(&other, t)| other != tid && t.tgid == tgid)
    }

    /// Whether `tid` holds its domain's token past its time slice while
    /// another task of the domain waits for it.
    fn slice_over_with_others_waiting(&self, tid: Tid) -> bool {
        self.slice_left(tid) == Some(false) && self.others_waiting(tid)
    }

    /// Lets `tid`, which kept its token through a syscall, run on with
    /// `events` written, in the time slice it had.
    fn grant_again(&mut self, tid: Tid, events: Vec<Event>) -> Result<()> {
        self.task(tid)?.grant = Some(events);
        self.grant(self.domain_of(tid), tid)
    }

    /// Describes where the content of a new file mapping comes from,
    /// writing the file's record first if it is new.
    fn identify_mapping(&mut self, tid: Tid, args: &[u64; 6], addr: u64, from_memory: bool) -> Result<MapRecord> {
        let mut map = MapRecord {
            tid,
            addr,
            len: args[1],
            prot: args[2] as u32,
            flags: args[3] as u32,
            offset: args[5],
            file_id: None,
            data: None,
        };
        // A file written through shared mappings holds what the processes
        // wrote there, which changes neither its size nor its times: the
        // content is read from the mapping when the task is granted (see
        // `grant`), not identified by hash.
        if from_memory {
            self.task(tid)?.reads_shared_mapping = true;
            return Ok(map);
        }
        let fd = args[4] as i32;
        let link = PathBuf::from(format!("/proc/{tid}/fd/{fd}"));
        let display = || std::fs::read_link(&link).map(|p| p.into_os_string().into_vec()).unwrap_or_default();
        match self.files.identify(&link, display) {
            Ok(Some((id, record))) => {
                self.push_file_record(record)?;
                map.file_id = Some(id);
            }
            _ => {
                // Devices and unreadable files: keep the bytes the mapping shows now.
                let task = self.task(tid)?;
                map.data = Some(task.mem.read_partial(addr, args[1] as usize));
            }
        }
        Ok(map)
    }

    /// A successful execve (or the first exec): describe the new image and
    /// let the task continue once it holds the token.
    fn on_exec(&mut self, tid: Tid) -> Result<()> {
        let mem = TraceeMemory::open(tid)?;
        let regs = tracee::get_regs(tid)?;
        let maps = procfs::maps(tid).map_err(|e| EngineError::io(format!("reading /proc/{tid}/maps"), e))?;
        let stack_end = maps
            .iter()
            .find(|m| m.start <= regs.rsp && regs.rsp < m.end)
            .map(|m| m.end)
            .ok_or_else(|| EngineError::Unsupported { tid, what: "no stack mapping at exec".into() })?;
        let mut stack = mem.read(regs.rsp, (stack_end - regs.rsp) as usize)?;
        if let Some(at) = crate::exec::hide_vdso(&mut stack) {
            mem.write(regs.rsp + at as u64, &stack[at..at + 8])?;
        }
        let mut events = Vec::new();
        let mut mapped_files = Vec::new();
        let mut seen = foldhash::HashSet::default();
        for m in maps.iter().filter(|m| m.path.starts_with('/') && m.inode != 0) {
            if !seen.insert(m.path.clone()) {
                continue;
            }
            if let Ok(Some((id, record))) = self.files.identify(Path::new(&m.path), || m.path.as_bytes().to_vec()) {
                self.push_file_record(record)?;
                mapped_files.push(id);
            }
        }
        let exe_path = std::fs::read_link(format!("/proc/{tid}/exe")).map(|p| p.into_os_string().into_vec()).unwrap_or_default();
        events.push(Event::Exec(ExecRecord { tid, exe_path, rsp: regs.rsp, stack, mapped_files }));
        self.buffers.remove(&tid);
        self.header_flags.remove(&tid);
        self.vfork_children.remove(&tid);
        let task = self.task(tid)?;
        if task.tgid != tid {
            return Err(EngineError::Unsupported { tid, what: "execve from a thread other than the main thread".into() });
        }
        task.mem = mem;
        task.exit_point = None;
        task.pins.exec(tid);
        let tgid = task.tgid;
        if let Some(p) = task.pending.take() {
            events.push(Event::Syscall(SyscallRecord {
                tid,
                nr: p.nr,
                args: p.args,
                result: 0,
                outputs: Vec::new(),
                inputs: p.inputs,
                regs_digest: p.regs_digest,
            }));
        }
        if self.leaves_vfork_parent_domain(tid) {
            // It moves when granted (see `grant`).
            events.push(Event::Join(JoinRecord::leaving(tid)));
        }
        self.fds(tgid).exec();
        // Close-on-exec is not followed for pipes: their table starts again.
        self.fd_targets.remove(&tgid);
        self.open_files.exec(tgid);
        self.want_token_after_kernel(tid, events)
    }

    /// Whether `tid`, which has just exec'd, is a vfork child that was in
    /// its parent's memory domain while its parent has another child
    /// process: it now shares memory with nobody, so it gets a domain of its
    /// own (a `Join` of itself into itself in the trace, where replay moves
    /// it too), and make's compilers, spawned with vfork, run in parallel.
    /// A lone child stays, since there is nothing to run beside it: a
    /// recording that stays one domain keeps its output writes buffered
    /// (`sh -c 'ls -lR /usr/share'`, whose dash spawns ls with vfork, made
    /// 1,104 stops instead of 198 with the child moved, and recorded 25%
    /// slower). The move is made when the exec's events
    /// are granted, in the parent's domain: moved at the exec's stop, the
    /// child had its events written while a thread of the parent ran, whose
    /// buffered calls then came after them in the trace, and replay, which
    /// reads the child's events as the parent domain's until the move, did
    /// not load that thread's batch (2 of 16 recordings of kill_children).
    fn leaves_vfork_parent_domain(&self, tid: Tid) -> bool {
        let Some(task) = self.tasks.get(&tid) else { return false };
        let (domain, parent, parent_process) = (task.domain, task.vfork_parent, task.parent_process);
        !self.serialize
            && domain != tid
            && parent.is_some_and(|p| self.tasks.get(&p).is_some_and(|t| t.domain == domain))
            && parent_process.is_some_and(|pp| self.tasks.values().any(|t| t.tgid != tid && t.parent_process == Some(pp)))
    }

    /// Writes the description of a file identified for the first time at
    /// once, not with the events of the stop that identified it: those wait
    /// for the task's grant, and a task of another domain that maps the same
    /// file meanwhile (no description of its own, the file being known) may
    /// be granted first, which put a reference to the file before its
    /// description (the soak: "the trace refers to file #10, which it never
    /// described", in a pipeline whose children exec'd in domains of their
    /// own).
    fn push_file_record(&mut self, record: Option<scribe_trace::FileRecord>) -> Result<()> {
        match record {
            Some(record) => {
                self.random.note_file(record.id, &record.path);
                self.push(Event::File(record))
            }
            None => Ok(()),
        }
    }

    /// Answers prctl(PR_GET_TSC) without making it: PR_TSC_ENABLE is
    /// stored where the program asked, and the store is the call's
    /// recorded output (replay emulates prctl).
    fn answer_get_tsc(&mut self, tid: Tid, regs: Regs, args: [u64; 6]) -> Result<()> {
        let answer = PR_TSC_ENABLE.to_le_bytes().to_vec();
        let (result, outputs) = match self.task(tid)?.mem.write(args[1], &answer) {
            Ok(()) => (0, vec![MemBytes { addr: args[1], bytes: answer }]),
            Err(_) => (-(machine::EFAULT as i64), Vec::new()),
        };
        machine::skip_syscall(tid, regs, result)?;
        self.push(Event::Syscall(SyscallRecord { tid, nr: sc::nr::PRCTL, args, result, outputs, ..Default::default() }))?;
        tracee::cont(tid, 0).map_err(Into::into)
    }

    fn on_signal(&mut self, tid: Tid, sig: i32) -> Result<()> {
        if sig == libc_signal::INT && self.tasks.get(&tid).is_some_and(|t| t.tgid == self.leader) {
            // The program has its SIGINT: one sent to the recorder too
            // came from a kill of the whole group.
            self.forward_interrupt_at = None;
        }
        let regs = tracee::get_regs(tid)?;
        if sig == machine::SIGTRAP {
            let task = self.task(tid)?;
            if machine::finish_handler_entry(tid, &task.mem, &mut task.entering_handler, &regs)? {
                return Ok(());
            }
        }
        self.give_up_waiting_buffered_call(tid, &regs)?;
        if sig == machine::SIGSTOP && std::mem::take(&mut self.task(tid)?.preempt_requested) {
            return self.on_preempt_stop(tid, &regs);
        }
        if sig == machine::SIGTRAP {
            let probe = self.task(tid)?.probe.filter(|p| p.hit_at(regs.rip));
            // A step's probe takes only the step's own trap: a SIGTRAP of
            // the program's (its int3) is delivered as usual.
            let probe = probe.filter(|p| p.rip().is_some() || machine::stopped_by_single_step(tid));
            if let Some(probe) = probe {
                let task = self.task(tid)?;
                task.probe = None;
                task.probe_since = None;
                return self.on_probe_hit(tid, regs, probe);
            }
            if machine::is_tracer_trap(tid, &regs) {
                // Scribe's own step or breakpoint that no probe waits for
                // any more: a Java --chaos recording with bookmarks every
                // 20 ms delivered such a single-step trap (in JIT code) to
                // the program, which died of it (1 run in 522). It is
                // passed over, its breakpoint cleared.
                tracee::set_exec_breakpoint(tid, None)?;
                let mut regs = regs;
                clear_resume_flag(tid, &mut regs)?;
                self.stale_traps += 1;
                return tracee::cont(tid, 0).map_err(Into::into);
            }
        }
        let task = self.task(tid)?;
        let exit_point = task.exit_point.take();
        if let Some(held) = task.injecting.take() {
            if held.signo == sig {
                tracee::set_siginfo(tid, &held.siginfo)?;
                self.push(Event::Signal(SignalRecord {
                    tid,
                    signo: sig,
                    origin: signal_origin::SYSCALL_EXIT,
                    rip: regs.rip,
                    siginfo: held.siginfo.to_vec(),
                }))?;
                return self.deliver(tid, sig);
            }
            task.injecting = Some(held);
        }
        if sig == machine::SIGSEGV {
            if let Some(instruction) = machine::trapped_instruction_at(&task.mem, regs.rip) {
                return self.emulate_trapped(tid, regs, instruction);
            }
        }
        let siginfo = match tracee::get_siginfo(tid) {
            Ok(info) => info,
            // No siginfo: a group-stop, not a delivery. Let the task go on.
            Err(_) => return tracee::cont(tid, 0).map_err(Into::into),
        };
        let origin = if machine::is_fault(sig, &siginfo) {
            signal_origin::FAULT
        } else if exit_point == Some(machine::all_regs_digest(&regs)) {
            signal_origin::SYSCALL_EXIT
        } else if sig != machine::SIGKILL {
            // Arrived while user code ran: hold it until the next syscall,
            // or until a point replay can find, whichever comes first (a
            // loop without syscalls would otherwise never get it).
            if already_pending(&task.held, sig) {
                // A standard signal that is already pending is not queued
                // twice: the program sees one. Held twice, a 10 ms timer
                // under a loaded machine ran its handler once more than
                // the program could have seen natively.
                return tracee::cont(tid, 0).map_err(Into::into);
            }
            task.held.push_back(HeldSignal { signo: sig, siginfo });
            let probing = task.probe.is_some();
            // The next buffered call stops instead, to deliver it there.
            self.stop_next_buffered_call(tid)?;
            if !probing && !self.in_library(tid, regs.rip)? {
                return self.probe_from(tid, &regs);
            }
            return tracee::cont(tid, 0).map_err(Into::into);
        } else {
            signal_origin::ASYNC
        };
        self.drain_buffer(tid)?;
        self.push(Event::Signal(SignalRecord { tid, signo: sig, origin, rip: regs.rip, siginfo: siginfo.to_vec() }))?;
        self.deliver(tid, sig)
    }

    /// Resumes `tid` at its signal-delivery stop with `sig` (see
    /// `machine::resume_delivering`).
    fn deliver(&mut self, tid: Tid, sig: i32) -> Result<()> {
        let entry = machine::resume_delivering(tid, sig, scribe_trace::FORMAT_VERSION)?;
        self.task(tid)?.entering_handler = entry;
        Ok(())
    }

    /// A signal stop that finds `tid` in a pipe call the library made
    /// blocking (see `flags::MAY_BLOCK`), interrupted while it waited: the
    /// call returns EAGAIN instead of being restarted, so the library makes
    /// it again traced. Whatever the stop was for then happens at that
    /// syscall: a held signal is delivered there (with the kernel's restart
    /// code, `Task::buffered_restart`), or a preempted task gives its token
    /// up. Restarted instead, the call would wait again with the signal
    /// held, perhaps for good (a reader whose writer never writes, told to
    /// stop by `timeout`).
    fn give_up_waiting_buffered_call(&mut self, tid: Tid, regs: &Regs) -> Result<()> {
        let made_by_library = regs.rip == abi::UNTRACED_SYSCALL_IP
            && (regs.orig_rax == u64::from(sc::nr::PREADV2) || regs.orig_rax == u64::from(sc::nr::PWRITEV2));
        if !made_by_library {
            return Ok(());
        }
        if regs.orig_rax == u64::from(sc::nr::PWRITEV2) && (regs.rax as i64) > 0 {
            // A write that waited and was interrupted after part of it went
            // in: the library writes the rest traced, and a held signal
            // delivered there makes that call fail with EINTR, so that the
            // program sees the part, as a write interrupted after some
            // bytes returns their count whatever SA_RESTART says (the rest
            // used to wait again, and an alarm meant to end the write never did).
            // iov_len of the write's one iovec.
            let wanted = self.task(tid)?.mem.read_u64(regs.rsi + 8);
            if wanted.is_ok_and(|len| regs.rax < len) {
                self.task(tid)?.buffered_restart = Some(-(machine::EINTR as i64));
            }
            return Ok(());
        }
        if !machine::is_restart_code(regs.rax as i64) {
            return Ok(());
        }
        self.task(tid)?.buffered_restart = Some(regs.rax as i64);
        let mut regs = *regs;
        regs.rax = -(machine::EAGAIN as i64) as u64;
        tracee::set_regs(tid, &regs)?;
        Ok(())
    }

    /// The SIGSTOP the recorder sent to end a time slice, at instruction X.
    ///
    /// Replay finds a point by looking for the first execution of its
    /// address with the recorded state, so the point must be an instruction
    /// that runs again: the task is let run to X once more (a hardware
    /// breakpoint) and stopped there.
    fn on_preempt_stop(&mut self, tid: Tid, regs: &Regs) -> Result<()> {
        if !self.holds_token(tid) || !self.others_waiting(tid) {
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        if self.in_library(tid, regs.rip)? {
            // Inside the preload library: its next buffered call stops at
            // Scribe, a sync point. Trying again at the next tick was not
            // enough: a loop of buffered calls that fills the buffer is
            // mostly there, and a stop asked for while it waits at a
            // "buffer full" request lands there again (python3's threads
            // polling the clock kept the token for good).
            self.stop_next_buffered_call(tid)?;
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        self.probe_from(tid, regs)
    }

    /// Makes the next buffered call of `tid`'s process stop at Scribe (the
    /// window goes back at the next drain).
    fn stop_next_buffered_call(&mut self, tid: Tid) -> Result<()> {
        let tgid = self.task(tid)?.tgid;
        if self.buffers.get(&tgid).is_some_and(|&stop_at| stop_at != 0) {
            syscallbuf::set_stop_at(&self.task(tid)?.mem, 0)?;
            self.buffers.insert(tgid, 0);
        }
        Ok(())
    }

    /// Makes the next buffered call of every process stop at Scribe. A
    /// bookmark waits for every task to stop, which a task making only
    /// buffered calls did only when its buffer filled: one asked while two
    /// processes streamed numbers through a pipe was never placed, the
    /// program ending first.
    fn stop_all_buffered_calls(&mut self) {
        let one_task_each: BTreeMap<Tid, Tid> = self.tasks.iter().map(|(&tid, t)| (t.tgid, tid)).collect();
        for (tgid, tid) in one_task_each {
            if self.buffers.contains_key(&tgid) {
                // A process on its way out has no buffer to change.
                let _ = self.stop_next_buffered_call(tid);
            }
        }
    }

    /// Whether `tid` runs the preload library's code, or code it called
    /// while writing a record (a memcpy): its registers there hold buffer
    /// addresses and values that differ on replay, so no point goes there.
    fn in_library(&mut self, tid: Tid, rip: u64) -> Result<bool> {
        let Some(task) = self.tasks.get(&tid) else { return Ok(false) };
        if !self.buffers.contains_key(&task.tgid) {
            return Ok(false);
        }
        Ok(syscallbuf::is_scribe_code(tid, rip) || syscallbuf::read_header(&task.mem).is_ok_and(|h| h.in_lib))
    }

    /// A progressing loop found at an instruction where replay cannot
    /// patch a check (code the program writes, a JIT's; or an instruction
    /// the check cannot start at): every pass would cost replay a trap (a
    /// node worker's loop in V8's code, a return address in it, took
    /// replay more than a minute to find). The task steps on, one
    /// instruction at a time, up to `left` more, to the first where a
    /// check fits: any instruction of the pass is as good a point, and the
    /// loop's body often calls fixed code (V8's builtins) soon. True if it
    /// was stepped; false (no point found that way) before an instruction
    /// that must not be stepped (a syscall, a trap, a TSC read) or in
    /// Scribe's library.
    fn step_to_site(&mut self, tid: Tid, regs: &Regs, maps: &[procfs::Mapping], left: u8) -> Result<bool> {
        let task = self.task(tid)?;
        let next = task.mem.read_partial(regs.rip, 3);
        // syscall, sysenter, int N, int3, int1, rdtsc, rdtscp, ud2.
        let traps = matches!(
            next.as_slice(),
            [0x0f, 0x05, ..] | [0x0f, 0x34, ..] | [0xcd, ..] | [0xcc, ..] | [0xf1, ..] | [0x0f, 0x31, ..] | [0x0f, 0x01, 0xf9] | [0x0f, 0x0b, ..]
        );
        if next.is_empty() || traps || syscallbuf::in_scribe_code(maps, regs.rip) {
            return Ok(false);
        }
        task.probe = Some(Probe::Step { left });
        task.probe_since = Some(Instant::now());
        tracee::set_exec_breakpoint(tid, None)?;
        let mut regs = *regs;
        clear_resume_flag(tid, &mut regs)?;
        tracee::step(tid, 0)?;
        Ok(true)
    }

    /// Arms a probe at the current instruction X, to stop at its next
    /// execution, and resumes the task.
    fn probe_from(&mut self, tid: Tid, regs: &Regs) -> Result<()> {
        let task = self.task(tid)?;
        let fingerprint = machine::deep_fingerprint(regs, &task.mem);
        task.probe = Some(Probe::SameAgain { rip: regs.rip, fingerprint });
        task.probe_since = Some(Instant::now());
        tracee::set_exec_breakpoint(tid, Some(regs.rip))?;
        // Execute the current instance first: the breakpoint must catch the next one.
        let mut regs = *regs;
        regs.eflags |= machine::EFLAGS_RF;
        tracee::set_regs(tid, &regs)?;
        tracee::cont(tid, 0).map_err(Into::into)
    }

    /// A hit of the probe set by `probe_from`: the point is here when the
    /// task spins without progress (the same state as last time) or when
    /// replay can check the state at this instruction inside the task.
    /// Otherwise a pass costs replay a trap, so the point moves out to a
    /// return address on the stack (a "lukewarm" point executed far less
    /// often than the loop body).
    fn on_probe_hit(&mut self, tid: Tid, mut regs: Regs, probe: Probe) -> Result<()> {
        let task = self.task(tid)?;
        let fingerprint = machine::deep_fingerprint(&regs, &task.mem);
        // A held signal the task does not block is delivered at this point.
        let deliverable = match task.held.front() {
            Some(h) => tracee::get_sigmask(tid)? & (1 << (h.signo - 1)) == 0,
            None => false,
        };
        let preempt_due = self.holds_token(tid) && self.others_waiting(tid);
        if (!deliverable && !preempt_due) || self.in_library(tid, regs.rip)? {
            // Nothing to do here after all: the signal (blocked since) waits
            // for a syscall.
            tracee::set_exec_breakpoint(tid, None)?;
            clear_resume_flag(tid, &mut regs)?;
            return tracee::cont(tid, 0).map_err(Into::into);
        }
        let task = self.task(tid)?;
        // For the check's site and the point's stack digest.
        let maps = procfs::maps(tid).unwrap_or_default();
        let kind = match probe {
            Probe::SameAgain { fingerprint: before, .. } if fingerprint == before => Some(PointKind::Spin),
            Probe::SameAgain { .. } | Probe::Step { .. } => {
                // Stepped to, a site must cover one instruction: each one
                // more is a guard, and a branch to a guard removes the
                // check (strcasecmp's loop branches into the instruction
                // after the return from its tolower call; with the check
                // gone, replay trapped at every character).
                let stepped = matches!(probe, Probe::Step { .. });
                match point::site_in(&task.mem, &maps, regs.rip).filter(|site| !stepped || site.guards.is_empty()) {
                    Some(_) => Some(PointKind::Loop),
                    None => {
                        let left = match probe {
                            Probe::Step { left } => left,
                            _ => STEPS_TO_SITE,
                        };
                        if left > 0 && self.step_to_site(tid, &regs, &maps, left - 1)? {
                            return Ok(());
                        }
                        None
                    }
                }
            }
            Probe::Lukewarm { .. } => Some(PointKind::Lukewarm),
            Probe::Here { .. } => Some(PointKind::Loop),
        };
        let task = self.task(tid)?;
        let Some(kind) = kind else {
            let armed = machine::return_address_candidate(&task.mem, &regs, tid);
            match armed {
                Some(ret) => {
                    task.probe = Some(Probe::Lukewarm { rip: ret });
                    task.probe_since = Some(Instant::now());
                    tracee::set_exec_breakpoint(tid, Some(ret))?;
                }
                None => tracee::set_exec_breakpoint(tid, None)?,
            }
            if armed == Some(regs.rip) {
                // Step over the breakpoint at the current instruction.
                regs.eflags |= machine::EFLAGS_RF;
                tracee::set_regs(tid, &regs)?;
            } else {
                clear_resume_flag(tid, &mut regs)?;
            }
            return tracee::cont(tid, 0).map_err(Into::into);
        };
        tracee::set_exec_breakpoint(tid, None)?;
        let state = point::deep_state(&regs, &task.mem);
        let stack = machine::stack_digest(&regs, &task.mem, &maps);
        task.exit_point = None;
        let parent = task.domain;
        let held = if deliverable { task.held.pop_front() } else { None };
        self.drain_buffer(tid)?;
        self.push(Event::Preempt(PreemptRecord { tid, rip: regs.rip, fingerprint, state, stack }))?;
        if let Some(held) = held {
            // A held signal is delivered here; the task keeps its token (a
            // preemption still due comes at a later point).
            self.points.signals += 1;
            self.push(Event::Signal(SignalRecord {
                tid,
                signo: held.signo,
                origin: signal_origin::POINT,
                rip: regs.rip,
                siginfo: held.siginfo.to_vec(),
            }))?;
            // The siginfo of the stop's own SIGTRAP becomes the held
            // signal's; with the same number in it, the kernel keeps it.
            tracee::set_siginfo(tid, &held.siginfo)?;
            return self.deliver(tid, held.signo);
        }
        match kind {
            PointKind::Spin => self.points.spins += 1,
            PointKind::Loop => self.points.loops += 1,
            PointKind::Lukewarm => self.points.lukewarm += 1,
        }
        self.preemptions += 1;
        self.release(tid);
        // Granting the token resumes it.
        self.want_token(tid, vec![Event::TaskStart(TaskStartRecord { tid, parent })])
    }

    /// An rdtsc or a rewritten RDRAND that faulted: the recorder runs it
    /// and keeps the value.
    fn emulate_trapped(&mut self, tid: Tid, mut regs: Regs, instruction: machine::TrappedInstruction) -> Result<()> {
        let event = instruction.run_for(tid, &mut regs);
        tracee::set_regs(tid, &regs)?;
        self.drain_buffer(tid)?;
        self.push(event)?;
        tracee::cont(tid, 0)?;
        Ok(())
    }

    /// Records a task's end; returns the leader's status once every task is gone.
    fn on_task_end(&mut self, tid: Tid, status: ExitStatus) -> Result<Option<ExitStatus>> {
        let (code, signal) = match status {
            ExitStatus::Exited(code) => (code, 0),
            ExitStatus::Signaled(sig) => (0, sig),
        };
        self.release(tid);
        self.release_output_lock(tid)?;
        self.release_vfork_parent(tid);
        self.joining.remove(&tid);
        for domain in self.domains.values_mut() {
            domain.ready.retain(|&t| t != tid);
        }
        let Some(task) = self.tasks.remove(&tid) else {
            return Ok(None);
        };
        if let Some(p) = task.pending {
            // The task died inside this syscall (e.g. kill(getpid(), SIGKILL)):
            // replay must see the call before the death.
            self.push(Event::Syscall(SyscallRecord { tid, nr: p.nr, args: p.args, result: 0, outputs: Vec::new(), inputs: p.inputs, regs_digest: p.regs_digest }))?;
        }
        self.push(Event::Exit(ExitRecord { tid, code, signal }))?;
        if tid == self.leader {
            self.leader_status = Some(status);
            self.tell_who_is_left();
        }
        if self.tasks.is_empty() {
            self.push(Event::End(EndRecord { reason: end_reason::EXITED, message: String::new() }))?;
            return Ok(Some(self.leader_status.unwrap_or(status)));
        }
        Ok(None)
    }
}

/// Clears the resume flag the kernel set in `tid`'s flags when its
/// breakpoint (since removed) stopped it. Left set, it reaches what the
/// program can see when the next instruction is a `syscall`, which saves
/// the flags in r11, and from there a signal frame built at that call's
/// exit: replay, which did not stop there, saved them without it, and a
/// bookmark's memory digest differed (1 soak run in about 1,200).
fn clear_resume_flag(tid: Tid, regs: &mut Regs) -> Result<()> {
    if regs.eflags & machine::EFLAGS_RF != 0 {
        regs.eflags &= !machine::EFLAGS_RF;
        tracee::set_regs(tid, regs)?;
    }
    Ok(())
}

/// Whether a syscall writes data from memory to a descriptor.
pub(crate) fn is_write(nr: u32) -> bool {
    matches!(nr, sc::nr::WRITE | sc::nr::WRITEV | sc::nr::PWRITE64 | sc::nr::PWRITEV | sc::nr::PWRITEV2)
}

/// Whether a syscall creates a task.
pub(crate) fn is_clone(nr: u32) -> bool {
    matches!(nr, sc::nr::CLONE | sc::nr::CLONE3 | sc::nr::FORK | sc::nr::VFORK)
}

/// Reads the given ranges of tracee memory (short where memory ends).
fn read_ranges(mem: &TraceeMemory, ranges: &[(u64, usize)]) -> Vec<MemBytes> {
    ranges
        .iter()
        .map(|&(addr, len)| MemBytes { addr, bytes: mem.read_partial(addr, len) })
        .filter(|m| !m.bytes.is_empty())
        .collect()
}

/// prctl's PR_SET_TSC.
const PR_SET_TSC: u64 = 26;
/// prctl's PR_GET_TSC.
const PR_GET_TSC: u64 = 25;
/// PR_GET_TSC's answer for a task whose rdtsc runs.
const PR_TSC_ENABLE: i32 = 1;

/// What a descriptor refers to, as far as the recorder cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FdTarget {
    /// A pipe or FIFO, with its inode: its calls carry the pipe's serials.
    Pipe(u64),
    /// /proc/PID/mem of its own process: a write there changes memory.
    OwnMemory,
    /// One of [`MEMORY_DEVICES`], which never wait and keep no state.
    MemoryDevice,
    /// Anything else.
    Other,
}

/// The character devices whose reads and writes never wait and depend on
/// nothing another process did (the syscall buffer's library buffers them).
const MEMORY_DEVICES: [&str; 5] = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];

/// Whether syscall `nr` with `args` makes a new PID namespace (unshare or
/// clone with CLONE_NEWPID, setns into one).
fn new_pid_namespace(nr: u32, args: &[u64; 6], mem: &TraceeMemory) -> bool {
    let flags = match nr {
        sc::nr::UNSHARE => Some(args[0]),
        sc::nr::SETNS => Some(args[1]),
        _ => clone_flags(nr, args, mem),
    };
    flags.is_some_and(|flags| flags & machine::CLONE_NEWPID != 0)
}

/// The flags of a clone, clone3 (read from its `clone_args`) or fork; `None`
/// for other syscalls, and for a clone3 whose arguments cannot be read.
fn clone_flags(nr: u32, args: &[u64; 6], mem: &TraceeMemory) -> Option<u64> {
    match nr {
        sc::nr::CLONE => Some(args[0]),
        sc::nr::CLONE3 => mem.read_u64(args[0]).ok(),
        sc::nr::FORK => Some(0),
        _ => None,
    }
}

/// Syscalls that never block and change nothing another task could be
/// waiting for: a task whose slice lasts keeps its token through them.
fn keeps_token_through(nr: u32) -> bool {
    matches!(
        nr,
        sc::nr::RT_SIGRETURN
            | sc::nr::RT_SIGACTION
            | sc::nr::RT_SIGPROCMASK
            | sc::nr::SIGALTSTACK
            | sc::nr::GETPID
            | sc::nr::GETPPID
            | sc::nr::GETTID
            | sc::nr::GETUID
            | sc::nr::GETGID
            | sc::nr::GETEUID
            | sc::nr::GETEGID
            | sc::nr::CLOCK_GETTIME
            | sc::nr::CLOCK_GETRES
            | sc::nr::GETTIMEOFDAY
            | sc::nr::TIME
            | sc::nr::GETCPU
            | sc::nr::SCHED_GETAFFINITY
    )
}

/// Syscalls that unmap or move memory, or may reuse what was unmapped:
/// a task with sibling threads always keeps its token through them, so
/// that its event is written before any other thread runs. A fork (a clone
/// without CLONE_VM) is kept the same way: it copies the memory while it
/// runs, and a sibling that ran meanwhile made the child's copy hold its
/// write or not by chance (glibc's fork lock, whose waiter bit a second
/// forking thread set: the child woke a waiter in replay and not when
/// recorded, 7 of 10 recordings). Otherwise a thread's
/// munmap, made without the token, freed a range that the thread holding
/// it then got from a buffered mmap written before the munmap; replay,
/// which places each mapping at its recorded address, made the mmap first
/// and the munmap then took the new thread stack away. Shared mappings
/// stay out: they may join domains, which takes the token protocol.
fn changes_memory_map(nr: u32, args: &[u64; 6]) -> bool {
    match nr {
        sc::nr::MUNMAP | sc::nr::MREMAP | sc::nr::BRK => true,
        sc::nr::MMAP => args[3] & machine::MAP_TYPE == machine::MAP_PRIVATE,
        _ => false,
    }
}

/// A small xorshift generator for chaos mode's time slices; seeded from the
/// clock, since chaos is meant to differ between recordings.
#[derive(Debug)]
struct ChaosRng(u64);

impl ChaosRng {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        ChaosRng((nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A slice between the two [`CHAOS_SLICES`] bounds, log-uniform.
    fn slice(&mut self) -> Duration {
        let (lo, hi) = (CHAOS_SLICES.0.as_secs_f64(), CHAOS_SLICES.1.as_secs_f64());
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(lo * (hi / lo).powf(unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(signals: &[i32]) -> VecDeque<HeldSignal> {
        signals.iter().map(|&signo| HeldSignal { signo, siginfo: [0; tracee::SIGINFO_SIZE] }).collect()
    }

    #[test]
    fn a_standard_signal_already_held_is_not_held_twice() {
        const SIGALRM: i32 = 14;
        assert!(already_pending(&held(&[SIGALRM]), SIGALRM));
        assert!(!already_pending(&held(&[machine::SIGUSR1]), SIGALRM));
        assert!(!already_pending(&held(&[]), SIGALRM));
    }

    #[test]
    fn asan_is_told_to_run_after_the_preload_library_unless_the_user_said_otherwise() {
        let mut env = vec![b"PATH=/bin".to_vec()];
        let_asan_run_after_preload(&mut env);
        assert_eq!(env[1], b"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0");
        let mut env = vec![b"ASAN_OPTIONS=detect_leaks=1".to_vec()];
        let_asan_run_after_preload(&mut env);
        assert_eq!(env, [b"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1".to_vec()]);
        let mut env = vec![b"ASAN_OPTIONS=halt_on_error=0".to_vec()];
        let_asan_run_after_preload(&mut env);
        assert_eq!(env, [b"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:halt_on_error=0".to_vec()]);
    }

    #[test]
    fn real_time_signals_queue() {
        let first_rt = machine::SIGRTMIN;
        assert!(!already_pending(&held(&[first_rt, first_rt + 1]), first_rt));
    }
}
