//! The replayer: re-runs a recorded program, feeding it the recorded world.
//!
//! Syscalls that only return data are skipped at their seccomp stop and their
//! recorded result and memory written back; those that shape the address
//! space or the task are executed again (mmap at the recorded address, with
//! file content filled in from the verified file or the trace). Output that
//! went to the original stdout and stderr is written again by the replayer.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use scribe_syscalls::{self as sc, Replay as Policy};
use scribe_trace::{Event, ExecRecord, Header, Positioned, SyscallRecord, Tid, TraceReader};
use scribe_tracee::{self as tracee, PtraceEvent, Regs, TraceeMemory, WaitStatus};

use crate::error::{Divergence, EngineError, Result};
use crate::fdmodel::{StdFds, StdStream};
use crate::files::FileStore;
use crate::format::{format_event, FormatOptions};
use crate::machine::{self, ExitStatus, TaskMemory};
use crate::procfs;

/// Options of a replay; built with [`Replayer`]'s methods.
pub struct ReplayOptions {
    /// How many recent events a divergence report shows.
    pub backtrace: usize,
    /// Show recent events of every task in a divergence report, not only the diverging one.
    pub backtrace_all_tasks: bool,
    /// How many of the last events to keep for [`ReplayOutcome::last_events`].
    pub last_events: usize,
    /// Where replayed standard output goes.
    pub stdout: Box<dyn Write + Send>,
    /// Where replayed standard error goes.
    pub stderr: Box<dyn Write + Send>,
}

impl std::fmt::Debug for ReplayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayOptions")
            .field("backtrace", &self.backtrace)
            .field("backtrace_all_tasks", &self.backtrace_all_tasks)
            .field("last_events", &self.last_events)
            .finish_non_exhaustive()
    }
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            backtrace: 100,
            backtrace_all_tasks: false,
            last_events: 0,
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
        }
    }
}

/// What a finished replay produced.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    /// How the program ended (as recorded, and checked against the replay).
    pub status: ExitStatus,
    /// Number of events replayed.
    pub events: u64,
    /// The last events replayed, formatted, oldest first.
    pub last_events: Vec<String>,
}

/// Replays a trace.
///
/// ```no_run
/// let replayer = scribe_engine::Replayer::open("date.log")?;
/// for warning in replayer.machine_warnings() {
///     eprintln!("warning: {warning}");
/// }
/// let outcome = replayer.backtrace(20).replay()?;
/// println!("replayed {} events", outcome.events);
/// # Ok::<(), scribe_engine::EngineError>(())
/// ```
pub struct Replayer {
    path: PathBuf,
    reader: TraceReader,
    options: ReplayOptions,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl Replayer {
    /// Opens a trace for replay, reading its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let reader = TraceReader::open(&path)?;
        Ok(Replayer { path, reader, options: ReplayOptions::default() })
    }

    /// The trace header.
    pub fn header(&self) -> &Header {
        self.reader.header()
    }

    /// Differences between the recording machine and this one that may make
    /// replay diverge.
    pub fn machine_warnings(&self) -> Vec<String> {
        let header = self.reader.header();
        let mut warnings = Vec::new();
        let cpu = procfs::cpu_model();
        if header.cpu_model != cpu {
            warnings.push(format!(
                "the trace was recorded on a different CPU ({}; this one is {cpu}); instructions such as cpuid may make replay diverge",
                header.cpu_model
            ));
        }
        warnings
    }

    /// Sets the number of recent events shown on divergence.
    pub fn backtrace(mut self, events: usize) -> Self {
        self.options.backtrace = events;
        self
    }

    /// Shows recent events of all tasks on divergence.
    pub fn backtrace_all_tasks(mut self, all: bool) -> Self {
        self.options.backtrace_all_tasks = all;
        self
    }

    /// Keeps the last `n` events for [`ReplayOutcome::last_events`].
    pub fn last_events(mut self, n: usize) -> Self {
        self.options.last_events = n;
        self
    }

    /// Sends replayed standard output to `out`.
    pub fn stdout(mut self, out: Box<dyn Write + Send>) -> Self {
        self.options.stdout = out;
        self
    }

    /// Sends replayed standard error to `err`.
    pub fn stderr(mut self, err: Box<dyn Write + Send>) -> Self {
        self.options.stderr = err;
        self
    }

    /// Replays the whole trace.
    pub fn replay(self) -> Result<ReplayOutcome> {
        let header = self.reader.header().clone();
        let mut session = Session {
            queue: EventQueue { reader: self.reader, ahead: VecDeque::new(), files: FileStore::default(), end: None },
            tasks: BTreeMap::new(),
            live_of: BTreeMap::new(),
            std_fds: StdFds::default(),
            history: VecDeque::new(),
            history_len: self.options.backtrace.max(self.options.last_events).max(1),
            replayed: 0,
            leader: 0,
            leader_status: None,
            options: self.options,
        };
        let result = session.run(&header);
        let _ = session.options.stdout.flush();
        let _ = session.options.stderr.flush();
        if result.is_err() {
            for &live in session.tasks.keys() {
                tracee::kill_task(live);
                let _ = tracee::wait(live);
            }
        }
        let status = result?;
        let last = session.options.last_events;
        let skip = session.history.len().saturating_sub(last);
        let last_events = session.history.iter().skip(skip).flat_map(|(pos, ev)| with_position(pos, ev)).collect();
        Ok(ReplayOutcome { status, events: session.replayed, last_events })
    }
}

fn with_position(pos: &str, ev: &Event) -> Vec<String> {
    let mut lines = format_event(ev, &FormatOptions::default());
    if let Some(first) = lines.first_mut() {
        *first = format!("{pos}: {first}");
    }
    lines
}

/// Describes where an event sits in the trace, for messages.
pub fn position(p: &Positioned) -> String {
    format!("event {} (chunk at offset {}, +{})", p.index, p.chunk_offset, p.offset_in_chunk)
}

/// The recorded events not yet replayed, with one-event-at-a-time lookahead.
struct EventQueue {
    reader: TraceReader,
    ahead: VecDeque<Positioned>,
    files: FileStore,
    /// Why the stream ended, once it has.
    end: Option<String>,
}

impl EventQueue {
    /// Reads until `n + 1` task events are buffered, absorbing the events
    /// that concern no single task's progress (file records).
    fn fill(&mut self, n: usize) {
        while self.ahead.len() <= n && self.end.is_none() {
            match self.reader.next() {
                Some(Ok(p)) => match p.event {
                    Event::File(record) => self.files.add(record),
                    // Register dumps are for people; resource and bookmark
                    // events are not used by this replayer yet.
                    Event::Regs(_) | Event::Resource(_) | Event::Bookmark(_) => {}
                    _ => self.ahead.push_back(p),
                },
                Some(Err(e)) => self.end = Some(e.to_string()),
                None => self.end = Some("end of the trace".into()),
            }
        }
    }

    fn peek(&mut self, n: usize) -> Option<&Positioned> {
        self.fill(n);
        self.ahead.get(n)
    }

    fn pop(&mut self) -> Option<Positioned> {
        self.fill(0);
        self.ahead.pop_front()
    }
}

struct LiveTask {
    rec: Tid,
    mem: TraceeMemory,
}

struct Session {
    queue: EventQueue,
    /// Live tasks by their replay tid.
    tasks: BTreeMap<Tid, LiveTask>,
    /// Replay tid of each recorded tid.
    live_of: BTreeMap<Tid, Tid>,
    std_fds: StdFds,
    history: VecDeque<(String, Event)>,
    history_len: usize,
    replayed: u64,
    leader: Tid,
    leader_status: Option<ExitStatus>,
    options: ReplayOptions,
}

/// What a task stopped at, as seen by replay.
fn describe_stop(nr: u32, args: &[u64; 6]) -> String {
    format!("{} (nr {nr})", sc::format_call(nr, args, &[]))
}

impl Session {
    fn rec(&self, live: Tid) -> Result<Tid> {
        self.tasks.get(&live).map(|t| t.rec).ok_or_else(|| EngineError::Unsupported { tid: live, what: "an unknown task stopped during replay".into() })
    }

    fn mem(&self, live: Tid) -> Result<&TraceeMemory> {
        self.tasks.get(&live).map(|t| &t.mem).ok_or_else(|| EngineError::Unsupported { tid: live, what: "an unknown task stopped during replay".into() })
    }

    fn remember(&mut self, p: &Positioned) {
        self.replayed += 1;
        if self.history.len() == self.history_len {
            self.history.pop_front();
        }
        self.history.push_back((position(p), p.event.clone()));
    }

    fn divergence(&self, rec: Tid, live: Option<Tid>, summary: String, expected: Option<&Positioned>, observed: String) -> EngineError {
        let registers = live
            .and_then(|l| tracee::get_regs(l).ok())
            .map(|r| tracee::REG_NAMES.iter().copied().zip(tracee::regs_to_words(&r)).collect())
            .unwrap_or_default();
        let wanted = self.options.backtrace;
        let mut backtrace: Vec<String> = self
            .history
            .iter()
            .filter(|(_, ev)| self.options.backtrace_all_tasks || ev.tid().is_none_or(|t| t == rec))
            .rev()
            .take(wanted)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .flat_map(|(pos, ev)| with_position(pos, ev))
            .collect();
        backtrace.truncate(backtrace.len().max(wanted));
        let (expected_text, position_text) = match expected {
            Some(p) => (format_event(&p.event, &FormatOptions::default()).join("\n"), position(p)),
            None => (format!("nothing ({})", self.queue.end.clone().unwrap_or_default()), String::from("end of trace")),
        };
        EngineError::Divergence(Box::new(Divergence {
            tid: rec,
            summary,
            expected: expected_text,
            observed,
            position: position_text,
            registers,
            backtrace,
        }))
    }

    /// Takes the next recorded event, which must belong to task `rec`.
    fn next_for(&mut self, rec: Tid, live: Tid, observed: impl Fn() -> String) -> Result<Positioned> {
        let head_tid = self.queue.peek(0).map(|p| p.event.tid());
        match head_tid {
            Some(Some(t)) if t == rec => Ok(self.queue.pop().expect("peeked event exists")),
            Some(_) => {
                let head = self.queue.peek(0).cloned();
                Err(self.divergence(rec, Some(live), "the next recorded event is for another point of the execution".into(), head.as_ref(), observed()))
            }
            None => {
                let detail = self.queue.end.clone().unwrap_or_default();
                let position = self.history.back().map(|(p, _)| p.clone()).unwrap_or_else(|| "the start".into());
                Err(EngineError::TraceEnded { tid: rec, position, detail })
            }
        }
    }

    fn run(&mut self, header: &Header) -> Result<ExitStatus> {
        let live = tracee::spawn_traced(&machine::spawn_config(header)).map_err(|e| match e {
            scribe_tracee::TraceeError::Exec { path, source } => {
                EngineError::File(format!("cannot execute {path} for replay: {source}"))
            }
            other => other.into(),
        })?;
        let first = self.queue.pop();
        let Some(first) = first else {
            tracee::kill_task(live);
            let _ = tracee::wait(live);
            return Err(EngineError::TraceEnded { tid: 0, position: "the start".into(), detail: self.queue.end.clone().unwrap_or_default() });
        };
        let Event::Exec(exec) = &first.event else {
            tracee::kill_task(live);
            let _ = tracee::wait(live);
            return Err(EngineError::File(format!("the trace does not start with an exec event ({})", position(&first))));
        };
        let rec = exec.tid;
        self.leader = rec;
        self.tasks.insert(live, LiveTask { rec, mem: TraceeMemory::open(live)? });
        self.live_of.insert(rec, live);
        let exec = exec.clone();
        self.apply_exec(live, &exec, &first)?;
        self.remember(&first);
        tracee::cont(live, 0)?;
        loop {
            let (live, status) = tracee::wait(-1)?;
            match status {
                WaitStatus::Event(PtraceEvent::Seccomp) => self.on_seccomp(live)?,
                WaitStatus::Signal(sig) => self.on_signal(live, sig)?,
                WaitStatus::SyscallStop => tracee::cont(live, 0)?,
                WaitStatus::Event(PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork) => {
                    let rec = self.rec(live)?;
                    return Err(EngineError::Unsupported { tid: rec, what: "replaying several tasks is not supported yet".into() });
                }
                WaitStatus::Event(_) => tracee::cont(live, 0)?,
                WaitStatus::Exited(code) => {
                    if let Some(status) = self.on_task_end(live, ExitStatus::Exited(code))? {
                        return Ok(status);
                    }
                }
                WaitStatus::Signaled { signal, .. } => {
                    if let Some(status) = self.on_task_end(live, ExitStatus::Signaled(signal))? {
                        return Ok(status);
                    }
                }
            }
        }
    }

    /// Brings a freshly executed task to the recorded initial state.
    fn apply_exec(&mut self, live: Tid, exec: &ExecRecord, at: &Positioned) -> Result<()> {
        for &id in &exec.mapped_files {
            self.queue.files.verify(id)?;
        }
        let mem = TraceeMemory::open(live)?;
        let regs = tracee::get_regs(live)?;
        if regs.rsp != exec.rsp {
            return Err(self.divergence(
                exec.tid,
                Some(live),
                format!("the initial stack pointer is {:#x}, recorded {:#x}: argv, environment or kernel differ", regs.rsp, exec.rsp),
                Some(at),
                format!("exec with rsp {:#x}", regs.rsp),
            ));
        }
        mem.write(exec.rsp, &exec.stack)?;
        if let Some(task) = self.tasks.get_mut(&live) {
            task.mem = mem;
        }
        Ok(())
    }

    fn on_seccomp(&mut self, live: Tid) -> Result<()> {
        let rec = self.rec(live)?;
        let regs = tracee::get_regs(live)?;
        let nr = regs.orig_rax as u32;
        let args = tracee::syscall_args(&regs);
        let observed = || describe_stop(nr, &args);
        if (nr == sc::nr::EXECVE || nr == sc::nr::EXECVEAT) && matches!(self.queue.peek(0).map(|p| &p.event), Some(Event::Exec(e)) if e.tid == rec) {
            return self.replay_exec(live, rec, nr, args);
        }
        let p = self.next_for(rec, live, observed)?;
        let Event::Syscall(call) = &p.event else {
            return Err(self.divergence(rec, Some(live), format!("the task made a syscall where the recording has a {} event", p.event.kind_name()), Some(&p), observed()));
        };
        if call.nr != nr || !same_args(nr, &call.args, &args) {
            let what = if call.nr != nr { "a different syscall" } else { "different arguments" };
            return Err(self.divergence(rec, Some(live), format!("the task made {what} than recorded"), Some(&p), observed()));
        }
        if let Some(digest) = call.regs_digest {
            if digest != machine::regs_digest(&regs) {
                return Err(self.divergence(rec, Some(live), "registers at the syscall differ from the recording".into(), Some(&p), observed()));
            }
        }
        let call = call.clone();
        self.remember(&p);
        self.replay_syscall(live, rec, regs, &call, &p)
    }

    fn replay_syscall(&mut self, live: Tid, rec: Tid, regs: Regs, call: &SyscallRecord, p: &Positioned) -> Result<()> {
        let nr = call.nr;
        if nr == sc::nr::EXIT || nr == sc::nr::EXIT_GROUP {
            return tracee::cont(live, 0).map_err(Into::into);
        }
        let mut policy = sc::spec(nr).map(|s| s.replay).unwrap_or(Policy::Emulate);
        if call.result < 0 && nr != sc::nr::CHDIR {
            // A failed call changed nothing: just report the same failure.
            policy = Policy::Emulate;
        }
        if nr == sc::nr::CHDIR {
            // The directory may only have existed during recording (mkdir is
            // emulated); the recorded result is what the program sees.
            policy = Policy::ExecuteThenEmulate;
        }
        let at_exit = match policy {
            Policy::Emulate => {
                machine::skip_syscall(live, regs, call.result)?;
                self.write_outputs(live, call)?;
                self.echo_output(live, call)?;
                false
            }
            Policy::Execute | Policy::ExecuteThenEmulate => {
                let mut regs = regs;
                if nr == sc::nr::MMAP || nr == sc::nr::MREMAP {
                    self.place_mapping(&mut regs, call)?;
                    tracee::set_regs(live, &regs)?;
                }
                tracee::cont_syscall(live, 0)?;
                let mut exit = self.wait_syscall_exit(live, rec, p)?;
                if exit.rdi != call.args[0] || tracee::syscall_args(&exit) != call.args {
                    // Registers the replayer changed (mmap placement) must
                    // read as the program left them.
                    tracee::set_syscall_args(&mut exit, &call.args);
                    tracee::set_regs(live, &exit)?;
                }
                if policy == Policy::ExecuteThenEmulate {
                    exit.rax = call.result as u64;
                    tracee::set_regs(live, &exit)?;
                    self.write_outputs(live, call)?;
                } else if exit.rax as i64 != call.result {
                    return Err(self.divergence(
                        rec,
                        Some(live),
                        format!("re-executed {} returned {}, recorded {}", crate::format::syscall_name(nr), exit.rax as i64, call.result),
                        Some(p),
                        describe_stop(nr, &call.args),
                    ));
                }
                if nr == sc::nr::MMAP && call.result >= 0 {
                    self.fill_mapping(live, rec)?;
                }
                true
            }
        };
        self.std_fds.apply(nr, &call.args, call.result);
        self.resume_after_syscall(live, rec, call, at_exit)
    }

    /// Resumes a task after a syscall, injecting a signal that the recording
    /// delivered right at that syscall's return.
    fn resume_after_syscall(&mut self, live: Tid, rec: Tid, call: &SyscallRecord, at_exit: bool) -> Result<()> {
        let signal = match self.queue.peek(0).map(|p| &p.event) {
            Some(Event::Signal(s)) if s.tid == rec && s.origin != scribe_trace::signal_origin::FAULT => Some(s.signo),
            _ => None,
        };
        let Some(signo) = signal else {
            return tracee::cont(live, 0).map_err(Into::into);
        };
        if !at_exit {
            tracee::cont_syscall(live, 0)?;
            let p = self.history.back().map(|(pos, _)| pos.clone()).unwrap_or_default();
            let (_, status) = tracee::wait(live)?;
            if status != WaitStatus::SyscallStop {
                return Err(EngineError::Unsupported { tid: rec, what: format!("expected a syscall exit to deliver a signal at {p}, got {status:?}") });
            }
        }
        let mut regs = tracee::get_regs(live)?;
        regs.rax = call.result as u64;
        if is_restart_code(call.result) {
            // Let the kernel's signal delivery see the interrupted syscall, so
            // it restarts it or turns the code into EINTR as it did when recording.
            regs.orig_rax = u64::from(call.nr);
        }
        tracee::set_regs(live, &regs)?;
        // A signal given at a syscall stop is sent to the task (ptrace(2)); it
        // then stops again at its delivery, where the recorded siginfo is set.
        tracee::cont(live, signo).map_err(Into::into)
    }

    fn wait_syscall_exit(&mut self, live: Tid, rec: Tid, p: &Positioned) -> Result<Regs> {
        let (_, status) = tracee::wait(live)?;
        match status {
            WaitStatus::SyscallStop => Ok(tracee::get_regs(live)?),
            other => Err(self.divergence(rec, Some(live), format!("expected the syscall to return, but the task reported {other:?}"), Some(p), String::new())),
        }
    }

    /// Makes a re-executed mmap/mremap land at the recorded address; file
    /// mappings become private anonymous memory filled afterwards.
    fn place_mapping(&mut self, regs: &mut Regs, call: &SyscallRecord) -> Result<()> {
        let mut args = call.args;
        let addr = call.result as u64;
        if call.nr == sc::nr::MMAP {
            let file_backed = args[3] & machine::MAP_ANONYMOUS == 0;
            let mut flags = args[3] & !machine::MAP_FIXED_NOREPLACE;
            if file_backed {
                flags = (flags & !(machine::MAP_SHARED | 0x3)) | machine::MAP_PRIVATE | machine::MAP_ANONYMOUS;
                args[4] = u64::MAX; // fd -1
                args[5] = 0;
            }
            args[0] = addr;
            args[3] = flags | machine::MAP_FIXED;
        } else if addr != args[0] {
            const MREMAP_MAYMOVE: u64 = 1;
            const MREMAP_FIXED: u64 = 2;
            args[3] |= MREMAP_MAYMOVE | MREMAP_FIXED;
            args[4] = addr;
        }
        tracee::set_syscall_args(regs, &args);
        Ok(())
    }

    /// Fills a replayed file mapping with the recorded content.
    fn fill_mapping(&mut self, live: Tid, rec: Tid) -> Result<()> {
        let is_map = matches!(self.queue.peek(0).map(|p| &p.event), Some(Event::MapFile(m)) if m.tid == rec);
        if !is_map {
            return Ok(());
        }
        let p = self.queue.pop().expect("peeked event exists");
        let Event::MapFile(map) = &p.event else { unreachable!("checked above") };
        let bytes = match (map.file_id, &map.data) {
            (Some(id), _) => self.queue.files.read(id, map.offset, map.len)?,
            (None, Some(data)) => data.clone(),
            (None, None) => Vec::new(),
        };
        if !bytes.is_empty() {
            self.mem(live)?.write(map.addr, &bytes)?;
        }
        self.remember(&p);
        Ok(())
    }

    fn write_outputs(&self, live: Tid, call: &SyscallRecord) -> Result<()> {
        let mem = self.mem(live)?;
        for out in &call.outputs {
            mem.write(out.addr, &out.bytes)?;
        }
        Ok(())
    }

    /// Writes again what the program sent to the original stdout or stderr.
    fn echo_output(&mut self, live: Tid, call: &SyscallRecord) -> Result<()> {
        if call.result <= 0 {
            return Ok(());
        }
        let stream = match self.std_fds.stream(call.args[0]) {
            Some(StdStream::Stdout) => StdStream::Stdout,
            Some(StdStream::Stderr) => StdStream::Stderr,
            _ => return Ok(()),
        };
        let len = call.result as usize;
        let mem = self.mem(live)?;
        let bytes = match call.nr {
            sc::nr::WRITE | sc::nr::PWRITE64 => mem.read(call.args[1], len)?,
            sc::nr::WRITEV | sc::nr::PWRITEV | sc::nr::PWRITEV2 => gather_iovecs(mem, call.args[1], call.args[2], len)?,
            _ => return Ok(()),
        };
        let out = match stream {
            StdStream::Stdout => &mut self.options.stdout,
            _ => &mut self.options.stderr,
        };
        // A closed consumer (e.g. `| head`) must not abort the replay.
        let _ = out.write_all(&bytes).and_then(|_| out.flush());
        Ok(())
    }

    fn replay_exec(&mut self, live: Tid, rec: Tid, nr: u32, args: [u64; 6]) -> Result<()> {
        let p = self.queue.pop().expect("peeked event exists");
        let Event::Exec(exec) = &p.event else { unreachable!("checked by the caller") };
        let exec = exec.clone();
        tracee::cont_syscall(live, 0)?;
        let (_, status) = tracee::wait(live)?;
        if status != WaitStatus::Event(PtraceEvent::Exec) {
            return Err(self.divergence(rec, Some(live), format!("execve did not succeed as recorded ({status:?})"), Some(&p), describe_stop(nr, &args)));
        }
        self.apply_exec(live, &exec, &p)?;
        self.remember(&p);
        let call = self.next_for(rec, live, || describe_stop(nr, &args))?;
        match &call.event {
            Event::Syscall(c) if c.nr == nr && same_args(nr, &c.args, &args) => {}
            _ => return Err(self.divergence(rec, Some(live), "the execve differs from the recording".into(), Some(&call), describe_stop(nr, &args))),
        }
        self.remember(&call);
        self.std_fds.exec();
        tracee::cont(live, 0).map_err(Into::into)
    }

    fn on_signal(&mut self, live: Tid, sig: i32) -> Result<()> {
        let rec = self.rec(live)?;
        let mut regs = tracee::get_regs(live)?;
        if sig == machine::SIGSEGV {
            if let Some(kind) = machine::tsc_instruction_at(self.mem(live)?, regs.rip) {
                let observed = || format!("{kind:?} at {:#x}", regs.rip);
                let p = self.next_for(rec, live, observed)?;
                let Event::Rdtsc(r) = &p.event else {
                    return Err(self.divergence(rec, Some(live), "the task read the time-stamp counter where the recording has another event".into(), Some(&p), observed()));
                };
                if r.rip != regs.rip {
                    return Err(self.divergence(rec, Some(live), "the time-stamp counter was read at another address".into(), Some(&p), observed()));
                }
                machine::apply_tsc(&mut regs, kind, r.tsc, r.aux);
                tracee::set_regs(live, &regs)?;
                self.remember(&p);
                return tracee::cont(live, 0).map_err(Into::into);
            }
        }
        if tracee::get_siginfo(live).is_err() {
            // A group-stop, not a delivery.
            return tracee::cont(live, 0).map_err(Into::into);
        }
        let observed = || format!("signal {} at {:#x}", sc::signal_name(sig).unwrap_or("?"), regs.rip);
        let p = self.next_for(rec, live, observed)?;
        let Event::Signal(s) = &p.event else {
            return Err(self.divergence(rec, Some(live), "the task received a signal the recording does not have here".into(), Some(&p), observed()));
        };
        if s.signo != sig {
            return Err(self.divergence(rec, Some(live), "a different signal arrived".into(), Some(&p), observed()));
        }
        if let Ok(info) = <[u8; tracee::SIGINFO_SIZE]>::try_from(s.siginfo.as_slice()) {
            tracee::set_siginfo(live, &info)?;
        }
        self.remember(&p);
        tracee::cont(live, sig).map_err(Into::into)
    }

    fn on_task_end(&mut self, live: Tid, status: ExitStatus) -> Result<Option<ExitStatus>> {
        let Some(task) = self.tasks.remove(&live) else { return Ok(None) };
        let rec = task.rec;
        self.live_of.remove(&rec);
        let observed = format!("task ended: {status:?}");
        let p = self.next_for(rec, live, || observed.clone())?;
        let recorded = match &p.event {
            Event::Exit(x) if x.signal != 0 => ExitStatus::Signaled(x.signal),
            Event::Exit(x) => ExitStatus::Exited(x.code),
            _ => return Err(self.divergence(rec, None, "the task ended where the recording goes on".into(), Some(&p), observed)),
        };
        if recorded != status {
            return Err(self.divergence(rec, None, "the task ended differently".into(), Some(&p), observed));
        }
        self.remember(&p);
        if rec == self.leader {
            self.leader_status = Some(status);
        }
        if self.tasks.is_empty() {
            if let Some(p) = self.queue.pop() {
                self.remember(&p);
            }
            return Ok(Some(self.leader_status.unwrap_or(status)));
        }
        Ok(None)
    }
}

/// Whether the arguments a syscall uses are equal (registers beyond its
/// argument count may hold anything).
fn same_args(nr: u32, recorded: &[u64; 6], observed: &[u64; 6]) -> bool {
    let used = sc::spec(nr).map(|s| s.args.len()).unwrap_or(6).min(6);
    recorded[..used] == observed[..used]
}

/// Whether a syscall result is one of the kernel's internal restart codes.
fn is_restart_code(result: i64) -> bool {
    // ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK
    matches!(result, -512 | -513 | -514 | -516)
}

/// The first `len` bytes described by an iovec array in tracee memory.
fn gather_iovecs(mem: &TraceeMemory, iov: u64, count: u64, len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for i in 0..count.min(1024) {
        if out.len() >= len {
            break;
        }
        let base = mem.read_u64(iov + i * 16)?;
        let size = mem.read_u64(iov + i * 16 + 8)? as usize;
        let take = size.min(len - out.len());
        out.extend_from_slice(&mem.read(base, take)?);
    }
    Ok(out)
}

#[allow(dead_code)]
fn task_memory(mem: &TraceeMemory) -> TaskMemory<'_> {
    TaskMemory(mem)
}
