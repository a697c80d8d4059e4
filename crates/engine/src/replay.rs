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
use scribe_trace::{resource_kind, BackgroundReader, Event, ExecRecord, Header, MapRecord, Positioned, SyscallRecord, Tid, TraceReader};
use scribe_tracee::{self as tracee, PtraceEvent, Regs, TraceeMemory, WaitStatus};

use crate::error::{Divergence, EngineError, Result};
use crate::fdmodel::{StdFds, StdStream};
use crate::files::FileStore;
use crate::format::{format_event, FormatOptions};
use crate::history::History;
use crate::machine::{self, ExitStatus};
use crate::point;
use crate::procfs;
use crate::randinsn;
use crate::syscallbuf;
use scribe_bufabi::magic;

/// Callbacks a tool built on the library gets as a replay goes.
///
/// Every method has an empty default, so an observer implements only what
/// it needs.
pub trait Observer: Send {
    /// A recorded syscall was replayed (emulated or executed again).
    fn syscall(&mut self, _call: &SyscallRecord) {}
    /// A recorded signal was delivered.
    fn signal(&mut self, _signal: &scribe_trace::SignalRecord) {}
    /// A bookmark was reached.
    fn bookmark(&mut self, _bookmark: &scribe_trace::BookmarkRecord) {}
    /// Replay diverged from the recording (called before `replay` returns the error).
    fn divergence(&mut self, _divergence: &Divergence) {}
}

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
    /// Stop when this bookmark is reached.
    pub stop_at: Option<u32>,
    /// Report (instead of waiting forever) when no event is replayed for this long.
    pub check_deadlock: Option<std::time::Duration>,
    /// Told about syscalls, signals, bookmarks and divergences.
    pub observer: Option<Box<dyn Observer>>,
    /// Go live at this bookmark: the program continues as a normal process.
    pub golive: Option<u32>,
    /// Called with notes about going live (descriptors that could not be restored).
    pub on_notice: Option<crate::record::Notifier>,
    /// Give the tasks replay makes their recorded ids where the kernel
    /// allows (see [`crate::pidchoice`]).
    pub recorded_pids: bool,
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
            stop_at: None,
            check_deadlock: None,
            observer: None,
            golive: None,
            on_notice: None,
            recorded_pids: false,
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
    /// Recorded preemptions reproduced.
    pub preemptions: u64,
    /// Traps taken to find them: hardware breakpoint hits and in-task
    /// checks whose registers matched.
    pub breakpoint_hits: u64,
    /// Of those, passes that matched a point but for the stack deeper than
    /// its first KiB: earlier passes of a loop that keeps its count there.
    pub stack_told_apart: u64,
    /// Signals delivered at recorded points in user code.
    pub signal_points: u64,
    /// The most events read ahead of the replay and held at once (bounded
    /// by the scheduler's window, not by the length of the trace).
    pub max_lookahead: usize,
    /// In-task point checks installed (each spares a trap per pass).
    pub point_checks: u64,
    /// File mappings made by mapping the file on disk (the others are
    /// copied from the recorded or checked content).
    pub files_mapped_itself: u64,
    /// Of those, the ones made through the descriptor opened for the
    /// previous one (the loader maps a library in pieces).
    pub files_mapped_through_kept_fd: u64,
    /// Mappings of shared files made from one memory file per file, shared
    /// by the processes that map it.
    pub shared_file_mappings: u64,
    /// Checks removed because a branch led into the bytes they cover.
    pub guard_hits: u64,
    /// Checks whose guards took hardware breakpoints (no free page put a
    /// trapping byte of the jump on each guard).
    pub hw_guarded_checks: u64,
    /// Stops passed through after going live.
    pub passed_through: u64,
    /// Live tasks whose syscalls bypassed Scribe's filter (no stops).
    pub live_unfiltered: u64,
    /// Tasks replay made, and how many of them have their recorded id
    /// (see [`crate::pidchoice`]).
    pub recorded_ids: (u64, u64),
    /// Tasks whose recorded id an earlier task of the recording had.
    pub reused_ids: u64,
    /// Set when replay stopped before the program's end.
    pub stopped_at: Option<Stop>,
    /// The replay's state digests at the bookmark it stopped or went live
    /// at (equal to the recorded ones, or replay reports a divergence).
    pub stop_digests: Vec<scribe_trace::StateDigest>,
    /// Registers of every task stopped at a syscall when replay stopped at a
    /// bookmark (`--stop-at`), by recorded task id: (name, value) pairs.
    pub stop_registers: BTreeMap<Tid, Vec<(&'static str, u64)>>,
}

/// Where a replay stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At the bookmark asked for with [`Replayer::stop_at`].
    Bookmark(u32),
    /// Where the recorder detached: the trace goes no further.
    Detached,
    /// The program went live (at this bookmark, or on SIGUSR1 when `None`)
    /// and ran on to its end; the status is the live run's.
    WentLive(Option<u32>),
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
    /// Decodes the trace ahead on a thread of its own.
    reader: BackgroundReader,
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
        let reader = BackgroundReader::spawn(TraceReader::open(&path)?)?;
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

    /// Stops the replay when bookmark `id` is reached, all tasks stopped as
    /// they were recorded at that point.
    pub fn stop_at(mut self, id: u32) -> Self {
        self.options.stop_at = Some(id);
        self
    }

    /// Reports, with each task's state and the last events, a replay that
    /// replays no event for `limit`, instead of waiting forever.
    pub fn check_deadlock(mut self, limit: std::time::Duration) -> Self {
        self.options.check_deadlock = Some(limit);
        self
    }

    /// Lets the program go live at bookmark `id`: replay stops there and the
    /// program continues as a normal process, with its files reopened at
    /// their recorded offsets. SIGUSR1 to the replayer does the same at the
    /// next point where no task runs user code.
    pub fn golive(mut self, id: u32) -> Self {
        self.options.golive = Some(id);
        self
    }

    /// Gives the processes and threads replay makes the ids they had when
    /// recorded, where the kernel allows (see [`crate::pidchoice`]), so that
    /// a program that goes live can wait for and signal them.
    pub fn recorded_pids(mut self, on: bool) -> Self {
        self.options.recorded_pids = on;
        self
    }

    /// Calls `f` with notes about going live.
    pub fn on_notice(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.options.on_notice = Some(std::sync::Arc::new(f));
        self
    }

    /// Calls `observer` as the replay goes.
    pub fn observer(mut self, observer: Box<dyn Observer>) -> Self {
        self.options.observer = Some(observer);
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
            queue: EventQueue::new(self.reader),
            tasks: BTreeMap::new(),
            live_of: BTreeMap::new(),
            ended: BTreeMap::new(),
            early_stops: Default::default(),
            std_fds: BTreeMap::new(),
            tgid_of: BTreeMap::new(),
            tokens: Default::default(),
            history: History::new(self.options.backtrace.max(self.options.last_events).max(1)),
            replayed: 0,
            stopped_at: None,
            last_progress: std::time::Instant::now(),
            open_files: BTreeMap::new(),
            golive_requested: false,
            unpark_anyway: false,
            now: std::time::Instant::now(),
            stop_digests: Vec::new(),
            stop_registers: BTreeMap::new(),
            shared_files: BTreeMap::new(),
            serials: Default::default(),
            vfork_children: Default::default(),
            shm_sizes: Default::default(),
            shm_attached: Default::default(),
            preemptions: 0,
            breakpoint_hits: 0,
            stack_told_apart: Default::default(),
            signal_points: 0,
            point_checks: 0,
            files_mapped_itself: 0,
            random: randinsn::Rewriter::default(),
            files_mapped_through_kept_fd: 0,
            shared_file_mappings: 0,
            passed_through: 0,
            pids: crate::pidchoice::PidChoice::new(self.options.recorded_pids),
            reused_ids: 0,
            exec_copies: None,
            bypass: Default::default(),
            killed_by_group_exit: Default::default(),
            shared_files_by_inode: BTreeMap::new(),
            shared_file_paths: BTreeMap::new(),
            pipe_flow: BTreeMap::new(),
            guard_hits: 0,
            hw_guarded_checks: 0,
            buffers: Default::default(),
            header_flags: Default::default(),
            deferred_output: Default::default(),
            buffered: 0,
            leader: 0,
            leader_status: None,
            options: self.options,
        };
        // A regular SIGALRM wakes the wait loop for the deadlock check,
        // and to give a task held on this CPU that now computes its CPUs
        // back (see `cpupin::BusyPin`).
        tracee::catch_control_signals(&[14, 10]);
        tracee::set_interval_timer(std::time::Duration::from_millis(20));
        let result = session.run(&header).map_err(|e| match (e, session.history.back()) {
            // Say where in the trace a failed ptrace request or memory access happened.
            (EngineError::Tracee(source), Some(last)) => {
                let event = format_event(&last.event, &FormatOptions::default()).into_iter().next().unwrap_or_default();
                EngineError::TraceeDuringReplay { source, after: format!("{}: {event}", position(last)) }
            }
            (e, _) => e,
        });
        tracee::set_interval_timer(std::time::Duration::ZERO);
        let _ = session.options.stdout.flush();
        let _ = session.options.stderr.flush();
        if result.is_err() {
            tracee::kill_and_reap(session.tasks.keys().copied());
        }
        if let (Err(EngineError::Divergence(d)), Some(observer)) = (&result, session.options.observer.as_mut()) {
            observer.divergence(d);
        }
        let status = result?;
        let last = session.options.last_events;
        let skip = session.history.len().saturating_sub(last);
        let last_events = session.history.iter().skip(skip).flat_map(|p| with_position(&position(p), &p.event)).collect();
        Ok(ReplayOutcome {
            status,
            events: session.replayed,
            last_events,
            preemptions: session.preemptions,
            breakpoint_hits: session.breakpoint_hits,
            stack_told_apart: session.stack_told_apart.get(),
            signal_points: session.signal_points,
            max_lookahead: session.queue.max_lookahead,
            point_checks: session.point_checks,
            files_mapped_itself: session.files_mapped_itself,
            files_mapped_through_kept_fd: session.files_mapped_through_kept_fd,
            shared_file_mappings: session.shared_file_mappings,
            guard_hits: session.guard_hits,
            hw_guarded_checks: session.hw_guarded_checks,
            passed_through: session.passed_through,
            live_unfiltered: session.bypass.suspended_total(),
            recorded_ids: session.pids.given(),
            reused_ids: session.reused_ids,
            stopped_at: session.stopped_at,
            stop_digests: session.stop_digests,
            stop_registers: session.stop_registers,
        })
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
    reader: BackgroundReader,
    ahead: VecDeque<Positioned>,
    /// The memory domain of each event of `ahead`.
    ahead_domains: VecDeque<Option<Tid>>,
    /// How many events of `ahead` are bookmarks or the end (which the
    /// scheduler's scan must meet wherever they are).
    specials: usize,
    /// The exits in `ahead`: event index, task, killing signal. (The
    /// recorder writes an exit when the kernel reports it, so it often
    /// waits in the window until replay gets there.)
    exits: Vec<(u64, Tid, i32)>,
    files: FileStore,
    /// Why the stream ended, once it has.
    end: Option<String>,
    /// The memory domain of each recorded task, from its first TaskStart
    /// (tasks not listed are in a domain of their own).
    domain_of: foldhash::HashMap<Tid, Tid>,
    /// Domains that joined another (`Join` events read), with that one.
    joined: foldhash::HashMap<Tid, Tid>,
    /// Per memory domain: how many leading events of `ahead` are known not
    /// to be its own, so that looking for a domain whose next event is far
    /// ahead does not walk the same events at every stop.
    clean_prefix: foldhash::HashMap<Tid, usize>,
    /// The last event read is a syscall, whose resource serials may follow.
    after_syscall: bool,
    /// The last event read is a buffered call of this task (or its serial).
    after_buffered: Option<Tid>,
    /// Event indexes of the resource serials of buffered calls (they stay after
    /// their call and are replayed with its batch, see `load_buffer`).
    buffered_serials: foldhash::HashSet<u64>,
    /// The longest `ahead` has been.
    max_lookahead: usize,
    /// Event indexes of the stopped writes in `ahead`.
    write_indexes: std::collections::BTreeSet<u64>,
    /// Tasks whose exit has been read and whose id no later task has taken.
    exits_read: foldhash::HashSet<Tid>,
    /// Ids taken again by a new task (its TaskStart read) while the exit of
    /// the task that had the id before is still to be replayed, with the new
    /// task's domain: its events are routed there once that exit is.
    reborn: foldhash::HashMap<Tid, Tid>,
}

impl EventQueue {
    fn new(reader: BackgroundReader) -> Self {
        let mut files = FileStore::default();
        files.use_cache(crate::hashcache::HashCache::for_user());
        EventQueue {
            reader,
            ahead: VecDeque::new(),
            ahead_domains: VecDeque::new(),
            specials: 0,
            exits: Vec::new(),
            files,
            end: None,
            domain_of: Default::default(),
            joined: Default::default(),
            clean_prefix: Default::default(),
            after_syscall: false,
            after_buffered: None,
            buffered_serials: Default::default(),
            max_lookahead: 0,
            write_indexes: Default::default(),
            exits_read: Default::default(),
            reborn: Default::default(),
        }
    }

    /// Reads until `n + 1` task events are buffered, absorbing the events
    /// that concern no single task's progress (file records).
    ///
    /// A resource serial is written after its syscall; it is moved before it,
    /// so that replay waits for the resource's earlier operations before the
    /// syscall (see `Session::advance`). To be sure to read it before the
    /// syscall can be taken, one event more is read when the last one read
    /// is a syscall or its serial: event `n` is then never a syscall whose
    /// serials are still unread. (Reading on while the last event is a
    /// syscall, as this once did, read a whole trace of stopped syscalls
    /// into memory: 196 MB to replay a million of them.)
    fn fill(&mut self, n: usize) {
        while (self.ahead.len() <= n || (self.after_syscall && self.ahead.len() <= n + 1)) && self.end.is_none() {
            self.after_syscall = false;
            let after_buffered = self.after_buffered.take();
            match self.reader.next() {
                Some(Ok(p)) => match p.event {
                    Event::Buffered(ref call) => {
                        self.after_buffered = Some(call.tid);
                        self.push_ahead(p);
                    }
                    Event::File(record) => self.files.add(record),
                    Event::TaskStart(ref t) => {
                        // Written when the task first runs: its domain may
                        // have joined another since the recorder chose it.
                        let parent = self.joined_domain(t.parent);
                        if self.exits_read.remove(&t.tid) {
                            // The id of a task that ended, taken again (the
                            // pid counter wrapped). The old task's events
                            // all come before in the trace; those still to
                            // be replayed stay in its domain.
                            if self.exits.iter().any(|&(_, tid, _)| tid == t.tid) {
                                self.reborn.insert(t.tid, parent);
                            } else {
                                self.domain_of.insert(t.tid, parent);
                            }
                        } else if let std::collections::hash_map::Entry::Vacant(entry) = self.domain_of.entry(t.tid) {
                            entry.insert(parent);
                            // Its events read before (none, as the recorder
                            // writes them) would name the wrong domain.
                            for (q, domain) in self.ahead.iter().zip(self.ahead_domains.iter_mut()) {
                                if q.event.tid() == Some(t.tid) {
                                    *domain = Some(parent);
                                }
                            }
                        }
                        self.push_ahead(p);
                    }

                    Event::Resource(ref r) if r.kind != resource_kind::TERMINAL => {
                        // Before its syscall: the task's last event, at the
                        // back (the terminal's serials come later, after
                        // the write's events, and the output lock orders them).
                        match self.ahead.back() {
                            Some(last) if last.event.tid() == Some(r.tid) && matches!(last.event, Event::Syscall(_)) => {
                                let at = self.ahead.len() - 1;
                                self.insert_ahead(at, p);
                            }
                            _ if after_buffered == Some(r.tid) => {
                                self.after_buffered = after_buffered;
                                self.buffered_serials.insert(p.index);
                                self.push_ahead(p);
                            }
                            // Not right after its syscall (a trace written
                            // otherwise): it still counts, in trace order.
                            _ => self.push_ahead(p),
                        }
                        self.after_syscall = true;
                    }
                    // Register dumps are for people; the terminal's serials
                    // are followed through the output order of writes.
                    Event::Regs(_) | Event::Resource(_) => {}
                    Event::Syscall(_) => {
                        self.after_syscall = true;
                        self.push_ahead(p);
                    }
                    _ => self.push_ahead(p),
                },
                Some(Err(e)) => self.end = Some(e.to_string()),
                None if self.reader.ended_cleanly() => self.end = Some("end of the trace".into()),
                None => {
                    self.end = Some("end of the trace, which has no end event: the recorder was killed before finishing it".into())
                }
            }
        }
        self.max_lookahead = self.max_lookahead.max(self.ahead.len());
    }

    fn push_ahead(&mut self, p: Positioned) {
        let at = self.ahead.len();
        self.insert_ahead(at, p);
    }

    fn insert_ahead(&mut self, at: usize, p: Positioned) {
        self.specials += usize::from(is_special(&p.event));
        if is_write_event(&p.event) {
            self.write_indexes.insert(p.index);
        }
        if let Event::Exit(x) = &p.event {
            self.exits.push((p.index, x.tid, x.signal));
            self.exits_read.insert(x.tid);
        }
        self.ahead_domains.insert(at, p.event.tid().map(|tid| self.domain(tid)));
        self.ahead.insert(at, p);
    }

    /// Whether a write event earlier in the trace than event `index` is
    /// still to be replayed.
    fn write_before_index(&self, index: u64) -> bool {
        self.write_indexes.first().is_some_and(|&first| first < index)
    }

    /// Whether one of the first `n` events of the lookahead is a write.
    fn write_before(&self, n: usize) -> bool {
        self.ahead.iter().take(n).any(|p| is_write_event(&p.event))
    }

    /// The memory domain of the event at `i` of the lookahead (read with
    /// it, so that walking the lookahead needs no lookup per event).
    fn domain_at(&self, i: usize) -> Option<Tid> {
        self.ahead_domains.get(i).copied().flatten()
    }

    fn peek(&mut self, n: usize) -> Option<&Positioned> {
        self.fill(n);
        self.ahead.get(n)
    }

    fn pop(&mut self) -> Option<Positioned> {
        self.fill(0);
        self.remove(0)
    }

    /// Removes the event at `index` of the lookahead, keeping the per-domain
    /// clean prefixes true.
    fn remove(&mut self, index: usize) -> Option<Positioned> {
        let p = self.ahead.remove(index)?;
        self.ahead_domains.remove(index);
        self.forget(&p);
        for clean in self.clean_prefix.values_mut() {
            if index < *clean {
                *clean -= 1;
            }
        }
        Some(p)
    }

    /// Removes the events at `indexes` (ascending) of the lookahead, in
    /// that order. Each run of neighbours is drained in one move: removing
    /// a batch's calls one by one from the middle of the lookahead moved
    /// the events behind them once per call (a fifth of the replayer's time
    /// for `tar | sha256sum`).
    fn remove_ascending(&mut self, indexes: &[usize]) -> Vec<Positioned> {
        debug_assert!(indexes.windows(2).all(|w| w[0] < w[1]));
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        for &i in indexes.iter().filter(|&&i| i < self.ahead.len()) {
            match runs.last_mut() {
                Some(run) if run.end == i => run.end += 1,
                _ => runs.push(i..i + 1),
            }
        }
        // From the front, each run shifted by what was taken before it: each
        // event is moved once (a batch can be 50,000 events, and prepending
        // each run to what was taken after it moved them all again).
        let mut taken: Vec<Positioned> = Vec::with_capacity(indexes.len());
        let mut removed = 0;
        for run in &runs {
            let shifted = run.start - removed..run.end - removed;
            self.ahead_domains.drain(shifted.clone());
            taken.extend(self.ahead.drain(shifted));
            removed += run.len();
        }
        for p in &taken {
            self.forget(p);
        }
        for clean in self.clean_prefix.values_mut() {
            *clean -= runs.iter().map(|run| run.end.min(*clean).saturating_sub(run.start)).sum::<usize>();
        }
        taken
    }

    /// Drops what the lookahead's counts know of removed event `p`.
    fn forget(&mut self, p: &Positioned) {
        self.specials = self.specials.saturating_sub(usize::from(is_special(&p.event)));
        if is_write_event(&p.event) {
            self.write_indexes.remove(&p.index);
        }
        if let Event::Exit(x) = &p.event {
            self.exits.retain(|&(index, _, _)| index != p.index);
            if let Some(domain) = self.reborn.remove(&x.tid) {
                self.move_task(x.tid, self.joined_domain(domain));
            }
        }
    }

    /// Whether task `rec`'s id was another task's before, and that task's
    /// exit (before event `index` in the trace) is still to be replayed.
    /// A clone that made `rec` waits for it: the ids of replay's tasks are
    /// their recorded ones, so the two must not live at once (in the
    /// recording, one was gone before the other began, but replay runs
    /// domains on their own, and the old task's may lag behind).
    fn earlier_task_with_id_pending(&self, rec: Tid, index: u64) -> bool {
        self.exits.iter().any(|&(exit, tid, _)| tid == rec && exit < index)
    }

    /// Index of the first event of memory domain `domain` among the first
    /// `limit` events, if there is one.
    fn first_in_domain(&mut self, domain: Tid, limit: usize) -> Option<usize> {
        let start = self.clean_prefix.get(&domain).copied().unwrap_or(0);
        let mut i = start;
        while i < limit {
            let Some(p) = self.peek(i) else { break };
            if let Some(tid) = p.event.tid() {
                if self.domain(tid) == domain {
                    self.clean_prefix.insert(domain, i);
                    return Some(i);
                }
            }
            i += 1;
        }
        self.clean_prefix.insert(domain, i);
        None
    }

    /// Index of the next event of task `rec`, looking past events that the
    /// recorder writes without regard to which task runs user code (task
    /// exits, vfork calls); `None` when another task's event comes first.
    fn find_for(&mut self, rec: Tid) -> Option<usize> {
        match self.find_within(rec, usize::MAX) {
            Lookup::Found(i) => Some(i),
            Lookup::NotNext | Lookup::Beyond => None,
        }
    }

    /// Like [`EventQueue::find_for`], looking at no more than `span` events
    /// past those known to be other domains'.
    fn find_within(&mut self, rec: Tid, span: usize) -> Lookup {
        // Events known not to be this domain's are skipped without a look.
        let start = self.clean_prefix.get(&self.domain(rec)).copied().unwrap_or(0);
        self.find_from(rec, start, span, true)
    }

    /// The next event of `rec` that is not a resource serial, if it is
    /// next for `rec`'s domain (a syscall's serials come before it).
    fn peek_past_serials(&mut self, rec: Tid) -> Option<&Positioned> {
        let mut i = self.find_for(rec)?;
        while matches!(self.peek(i)?.event, Event::Resource(_)) {
            let Lookup::Found(next) = self.find_from(rec, i + 1, usize::MAX, false) else { return None };
            i = next;
        }
        self.peek(i)
    }

    /// Like [`EventQueue::find_within`], starting at index `start` (past
    /// which nothing stops the search); the domain's clean prefix is moved
    /// on only when `track_clean` says that `start` is where it ends.
    fn find_from(&mut self, rec: Tid, start: usize, span: usize, track_clean: bool) -> Lookup {
        let domain = self.domain(rec);
        let mut clean = track_clean;
        for i in start..start.saturating_add(span) {
            let Some(p) = self.peek(i) else { return Lookup::NotNext };
            if p.event.tid() == Some(rec) {
                return Lookup::Found(i);
            }
            // Domains were recorded in parallel: another domain's events
            // may stand before this task's next one.
            if let Some(other) = p.event.tid() {
                let other_domain = self.domain(other);
                if other_domain != domain {
                    if clean {
                        self.clean_prefix.insert(domain, i + 1);
                    }
                    continue;
                }
            }
            clean = false;
            if !self.unordered_at(i) {
                return Lookup::NotNext;
            }
        }
        Lookup::Beyond
    }

    /// Whether task `rec`'s next event lies beyond the scheduler's window,
    /// so that looking for it would read that far ahead into memory.
    fn next_is_far(&mut self, rec: Tid) -> bool {
        self.find_within(rec, WINDOW) == Lookup::Beyond
    }

    /// Whether the event at `i` of the lookahead may stand before a later
    /// event of its domain without holding it up: an exit, a bookmark, a
    /// clone or vfork (written when the child appears, see the recorder),
    /// one of the resource serials moved before such a clone, or the call
    /// a task died in.
    fn unordered_at(&mut self, i: usize) -> bool {
        let is_clone = |e: &Event| matches!(e, Event::Syscall(c) if c.nr == sc::nr::VFORK || crate::record::is_clone(c.nr));
        let owner = match self.peek(i).map(|p| &p.event) {
            Some(Event::Exit(_) | Event::Bookmark(_)) => return true,
            Some(e) if is_clone(e) => return true,
            Some(Event::Resource(r)) => r.tid,
            // The call a task was in when it was killed, written with its
            // exit whenever the kernel reported that (see `take_call_died_in`).
            Some(Event::Syscall(c)) => {
                let tid = c.tid;
                return self.exits.iter().any(|&(_, t, _)| t == tid) && self.exit_follows(tid, i);
            }
            _ => return false,
        };
        for j in i + 1.. {
            match self.peek(j).map(|p| &p.event) {
                Some(Event::Resource(r)) if r.tid == owner => continue,
                Some(e) => return is_clone(e) && e.tid() == Some(owner),
                None => return false,
            }
        }
        false
    }

    fn domain(&self, rec: Tid) -> Tid {
        self.domain_of.get(&rec).copied().unwrap_or(rec)
    }

    /// What became of domain `domain` through the joins read so far.
    fn joined_domain(&self, mut domain: Tid) -> Tid {
        // Bounded: a trace is untrusted input, and a cycle must not hang.
        for _ in 0..=self.joined.len() {
            match self.joined.get(&domain) {
                Some(&into) => domain = into,
                None => break,
            }
        }
        domain
    }

    /// Task `rec` (a vfork child that exec'd) leaves the domain it was in
    /// for one of its own, as the recorder moved it: its events already
    /// read are its own domain's from now on.
    fn leave_domain(&mut self, rec: Tid) {
        self.move_task(rec, rec);
    }

    /// Puts task `rec` in domain `into`, with its events already read.
    fn move_task(&mut self, rec: Tid, into: Tid) {
        let old = self.domain(rec);
        if old == into {
            return;
        }
        self.domain_of.insert(rec, into);
        for (q, domain) in self.ahead.iter().zip(self.ahead_domains.iter_mut()) {
            if q.event.tid() == Some(rec) {
                *domain = Some(into);
            }
        }
        self.clean_prefix.remove(&old);
        self.clean_prefix.remove(&into);
    }

    /// Makes domain `from` part of `into`, when replay reaches the join:
    /// every event left of `from` comes after it in the trace (the domain's
    /// order put them there), and events left of `into` before it come
    /// first in the joined order, as they ran first.
    fn join_domains(&mut self, from: Tid, into: Tid) {
        if from == into {
            return;
        }
        self.joined.insert(from, into);
        // The task that names the domain may have no entry of its own.
        self.domain_of.insert(from, into);
        for domain in self.domain_of.values_mut().chain(self.ahead_domains.iter_mut().flatten()) {
            if *domain == from {
                *domain = into;
            }
        }
        self.clean_prefix.remove(&from);
        self.clean_prefix.remove(&into);
    }

    /// Index of the first event of task `rec` in the window, whatever
    /// stands before it.
    fn first_of_task(&mut self, rec: Tid) -> Option<usize> {
        (0..WINDOW).map_while(|i| self.peek(i).map(|p| p.event.tid())).position(|tid| tid == Some(rec))
    }

    /// Whether the next event of task `rec` (in the window) is its death
    /// by signal `signo`.
    fn dies_next_of(&mut self, rec: Tid, signo: i32) -> bool {
        self.first_of_task(rec).is_some_and(|i| matches!(&self.ahead[i].event, Event::Exit(x) if x.signal == signo))
    }

    /// Whether the next event of task `rec` after the one at `i` is its
    /// death by SIGKILL (looking no further than the window).
    fn killed_after(&mut self, rec: Tid, i: usize) -> bool {
        self.exits.iter().any(|&(_, t, signal)| t == rec && signal == machine::SIGKILL)
            && self.exit_after(rec, i) == Some(machine::SIGKILL)
    }

    /// Whether the next event of task `rec` after the one at `i` is its exit
    /// (looking no further than the window).
    fn exit_follows(&mut self, rec: Tid, i: usize) -> bool {
        self.exit_after(rec, i).is_some()
    }

    /// The killing signal (0 for none) of task `rec`'s exit, if that is its
    /// next event after the one at `i` (looking no further than the window).
    fn exit_after(&mut self, rec: Tid, i: usize) -> Option<i32> {
        for j in i + 1..i + 1 + WINDOW {
            match self.peek(j).map(|p| &p.event) {
                Some(Event::Exit(x)) if x.tid == rec => return Some(x.signal),
                Some(e) if e.tid() == Some(rec) => return None,
                Some(_) => continue,
                None => return None,
            }
        }
        None
    }

    /// The next event of task `rec` if it is within the window.
    fn peek_near(&mut self, rec: Tid) -> Option<&Positioned> {
        match self.find_within(rec, WINDOW) {
            Lookup::Found(i) => self.ahead.get(i),
            Lookup::NotNext | Lookup::Beyond => None,
        }
    }

    /// The next event of task `rec` (see [`EventQueue::find_for`]).
    fn peek_for(&mut self, rec: Tid) -> Option<&Positioned> {
        let i = self.find_for(rec)?;
        self.ahead.get(i)
    }

    /// Removes and returns the event at `index` of the lookahead.
    fn take_at(&mut self, index: usize) -> Option<Positioned> {
        self.fill(index);
        self.remove(index)
    }

    /// Removes and returns the next event of task `rec`.
    fn take_for(&mut self, rec: Tid) -> Option<Positioned> {
        let i = self.find_for(rec)?;
        self.remove(i)
    }
}

/// What looking for a task's next event found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// At this index of the lookahead.
    Found(usize),
    /// Another task's event comes first, or the trace ends.
    NotNext,
    /// Not within the limit looked at.
    Beyond,
}

/// How far ahead in the trace the scheduler looks for events to replay; a
/// task whose next event is further waits (see [`State::Parked`]), which
/// bounds the events held in memory.
const WINDOW: usize = 4096;

/// What a parked task does when its next event comes within the window.
#[derive(Debug, Clone)]
enum Continuation {
    /// Leave the syscall it is stopped in (see `Session::resume_after_syscall`).
    AfterSyscall { call: SyscallRecord, at_exit: bool },
    /// Run user code, delivering this signal (0 for none).
    Resume { sig: i32 },
}

/// Where a replayed task is, as the replayer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Created by clone; its first stop has not been seen yet.
    Starting,
    /// Stopped, waiting for its `TaskStart` event to let it run.
    AtStart,
    /// Stopped at a syscall, waiting for the recorded syscall to come up.
    AtSeccomp,
    /// Running user code (it holds the token).
    Running,
    /// Inside a re-executed syscall that does not return soon (exit, vfork).
    InKernel,
    /// Stopped between events, its next event too far ahead in the trace to
    /// look at yet (another process runs meanwhile, e.g. the writer of the
    /// pipe it reads): it goes on when that event comes within the window.
    Parked,
}

/// The search for a recorded point in user code: a hardware breakpoint at
/// its address, replaced after the first pass by an in-task check where
/// the code allows (see [`crate::point`]).
struct PointSearch {
    rip: u64,
    fingerprint: u64,
    /// The recorded registers and stack words (empty before format 3).
    state: Vec<u64>,
    /// The recorded memory behind the registers (format 6 on).
    pointed: Vec<point::Pointed>,
    /// The fingerprint is [`machine::deep_fingerprint`] (format 4 on).
    deep: bool,
    /// The stack above the point (format 22 on).
    stack: Option<scribe_trace::StackDigest>,
    /// How its pointed bytes were read.
    reads: machine::PointedReads,
    /// The check, while installed.
    check: Option<InstalledCheck>,
    /// A check was tried for this point and is not to be tried again: it
    /// could not be installed, or branches into its bytes keep removing it
    /// (see [`PointSearch::reinstall_after_guard_hit`]).
    tried: bool,
    /// How many times a branch into the check's bytes removed it.
    guard_hits: u32,
    /// The check is to be a compact one (`point::compact_site`): a branch
    /// into the plain one's bytes removed it, and the point's instruction
    /// alone can take a short jump.
    compact: bool,
    /// When the check was last installed.
    installed_at: Option<std::time::Instant>,
}

impl PointSearch {
    /// Whether a check that a branch into its bytes just removed is to be
    /// installed again at the breakpoint's next hit. A loop that is entered
    /// at its condition (`k := 0; jmp cond`) enters at such a branch target
    /// once per entry, and a point just before the condition is guarded
    /// there: giving the check up made every later pass trap (a Go loop of
    /// a million passes per entry outlasted the deadlock limit). A check
    /// that stayed in place a while is worth its 6 stops again; one that a
    /// branch removes right away, again and again, is not.
    fn reinstall_after_guard_hit(&mut self) -> bool {
        self.guard_hits += 1;
        let lived = self.installed_at.map(|at| at.elapsed()).unwrap_or_default();
        // 6 stops take about 100 µs. (2 ms was too long once a guard's hit
        // no longer needed a hardware breakpoint: a check made rotated_loop's
        // million passes in under 2 ms, was not put back, and each later
        // pass trapped.)
        self.guard_hits <= 3 || lived >= std::time::Duration::from_micros(200)
    }
}

/// A buffered write to the recording's output, loaded for a task to make.
#[derive(Debug)]
struct OutputToShow {
    /// Where its record starts among the loaded records.
    offset: usize,
    /// Its event's index in the trace.
    index: u64,
    stream: StdStream,
    bytes: Vec<u8>,
    /// The task stops after it: it ends a line (or a `\r` progress line).
    /// The writes before it are shown at that stop: a line printed a
    /// piece at a time (python3 writes "step", " ", "1" and "\n") costs
    /// one stop.
    stops: bool,
}

/// The bytes written into and read from one pipe during replay.
#[derive(Debug, Clone, Copy, Default)]
struct PipeFlow {
    written: u64,
    read: u64,
}

/// A write, replayed, to a file that replay keeps a memory file for (one
/// mapped shared): made on the memory file too, so that the file's shared
/// mappings show the bytes as they did when recorded, where replay only
/// emulates the write. The bytes are the ones the task's memory holds at
/// the write: replay has the program's memory, not the written data (a
/// level-0 trace keeps none).
#[derive(Debug, Clone)]
struct SharedFileWrite {
    /// Where its record starts among the loaded records (0 for a traced call).
    record_offset: usize,
    /// Its memory file's key in `Session::shared_files_by_inode`.
    inode: u64,
    /// Where in the file the bytes go.
    at: u64,
    /// The call: write, pwrite64, writev or pwritev.
    nr: u32,
    args: [u64; 6],
    /// How many bytes went in (the recorded result).
    len: u64,
}

/// Writes to the recording's output closer together than this, in replay
/// time, are shown together: the rest of the batch's are shown at once
/// rather than at a stop each (a program that prints and computes gets a
/// stop per print; one that prints line after line, two stops a batch).
const RAPID_OUTPUT: std::time::Duration = std::time::Duration::from_millis(1);

/// A point check patched into a task's process.
struct InstalledCheck {
    site: point::Site,
    /// The start of the check's mapping.
    page: u64,
    /// Where the check's code starts.
    code_at: u64,
    /// The guards watched by hardware breakpoints (see `point::place`).
    hw_guards: Vec<u64>,
    /// Where the task stops after the check's `int1`.
    hit: u64,
    /// Where a pass that does not match goes on.
    miss: u64,
    /// A `syscall` instruction, to unmap the page.
    syscall_insn: u64,
}

impl InstalledCheck {
    /// The guard (a site instruction without a hardware breakpoint) whose
    /// byte in the jump stopped the task with `sig` at `rip`: a branch into
    /// the site. An int3 reports the address after it, an invalid opcode
    /// (SIGILL) its own.
    fn guard_trapped(&self, sig: i32, rip: u64) -> Option<u64> {
        let (guard, int3) = match sig {
            machine::SIGTRAP => (rip.wrapping_sub(1), true),
            machine::SIGILL => (rip, false),
            _ => return None,
        };
        if !self.site.guards.contains(&guard) || self.hw_guards.contains(&guard) {
            return None;
        }
        let patch = point::jump_bytes(&self.site, self.code_at)?;
        let byte = *patch.get(usize::try_from(guard - self.site.addr).ok()?)?;
        ((byte == 0xcc) == int3).then_some(guard)
    }
}

struct LiveTask {
    rec: Tid,
    /// The inode of the last inode serial replayed for this task, taken
    /// by its next replayed syscall.
    inode_serial: Option<u64>,
    mem: TraceeMemory,
    state: State,
    /// A signal the replayer is delivering to this task.
    injecting: Option<i32>,
    /// A signal given to the task is being taken by its handler: the stop
    /// at the handler's first instruction is due (see
    /// `machine::resume_delivering`).
    entering_handler: Option<machine::HandlerEntry>,
    /// A vfork/clone whose exit stop is still to come: its recorded result.
    vfork_result: Option<i64>,
    /// A tid the kernel wrote into the child's memory at start (CLONE_CHILD_SETTID),
    /// to replace with the recorded one before it runs.
    child_tid_fix: Option<(u64, i32)>,
    /// How its next recorded point (preemption or signal delivery) is
    /// being looked for.
    armed: Option<PointSearch>,
    /// The syscall a masked wait stood in for: its number and arguments are
    /// put back at the signal's delivery.
    restore_call: Option<(u32, [u64; 6])>,
    /// The batch of buffered calls written to its process's syscall buffer
    /// when it last went to run user code; checked at its next event.
    /// `None` once checked (the next resume loads the next batch).
    loaded: Option<Vec<Positioned>>,
    /// The bytes written to the buffer for `loaded`.
    loaded_bytes: Vec<u8>,
    /// Writes to the recording's output in `loaded`, in order, that the
    /// task has not made yet: shown when it makes them (see
    /// `Session::show_output_made`).
    output_to_show: VecDeque<OutputToShow>,
    /// When the task last stopped after such a write.
    last_output_stop: Option<std::time::Instant>,
    /// Writes in `loaded` to files mapped shared, in order, that the task
    /// has not made yet: it stops after each (see `Session::at_stop_after`).
    shared_file_writes: VecDeque<SharedFileWrite>,
    /// Digest of its registers at the last syscall it replayed (see
    /// `machine::regs_digest`), for bookmark state digests.
    entry_digest: Option<u64>,
    /// Its exit or exit_group was replayed: it is leaving the digests.
    exiting: bool,
    /// A vfork parent stopped at its syscall exit, waiting for its TaskStart.
    at_vfork_exit: bool,
    /// Registers read at its current seccomp stop.
    seccomp_regs: Option<Regs>,
    /// Held on one CPU since its exec, while its loader runs `cpuid`, and
    /// on the replayer's CPU while it stops often.
    pins: crate::cpupin::TaskPins,
    /// It replayed a syscall that changed its descriptor table, or it
    /// started: the table's state (see `write_fd_state`) is written to the
    /// buffer header when it resumes.
    fd_state_changed: bool,
    /// How it goes on, while parked.
    parked: Option<Continuation>,
    /// A descriptor replay opened in the task to map a file and kept open
    /// for the task's next event, an mmap of the same recorded descriptor
    /// (see `Session::map_through_open`).
    kept_map_fd: Option<KeptMapFd>,
}

/// A file a task has open for replay's mappings: the path it was opened
/// by, the recorded descriptor it stands for, and its number in the task.
#[derive(Debug, PartialEq, Eq)]
struct KeptMapFd {
    path: Vec<u8>,
    recorded_fd: u64,
    fd: u64,
}

impl LiveTask {
    fn new(rec: Tid, mem: TraceeMemory, state: State) -> Self {
        LiveTask {
            rec,
            inode_serial: None,
            mem,
            state,
            injecting: None,
            entering_handler: None,
            vfork_result: None,
            child_tid_fix: None,
            armed: None,
            restore_call: None,
            entry_digest: None,
            exiting: false,
            loaded: None,
            loaded_bytes: Vec::new(),
            output_to_show: VecDeque::new(),
            last_output_stop: None,
            shared_file_writes: VecDeque::new(),
            at_vfork_exit: false,
            seccomp_regs: None,
            pins: Default::default(),
            parked: None,
            kept_map_fd: None,
            fd_state_changed: false,
        }
    }
}

struct Session {
    queue: EventQueue,
    /// Live tasks by their replay tid.
    tasks: BTreeMap<Tid, LiveTask>,
    /// Replay tid of each recorded tid.
    live_of: BTreeMap<Tid, Tid>,
    /// Recorded tids of tasks that ended during replay, with how they ended.
    ended: BTreeMap<Tid, ExitStatus>,
    /// Stops of tasks not known yet (a child's first stop can precede its
    /// parent's clone event).
    early_stops: std::collections::BTreeSet<Tid>,
    /// Descriptors of each process (by the leader's recorded tid) that are the original stdout/stderr.
    std_fds: BTreeMap<Tid, StdFds>,
    /// Process (recorded tgid) of each recorded tid.
    tgid_of: BTreeMap<Tid, Tid>,
    /// The live tasks running user code (one per memory domain; two when
    /// the domains of two running tasks have been joined since, see
    /// `EventQueue::join_domains`), which hold their domains' tokens.
    tokens: std::collections::BTreeSet<Tid>,
    /// The last events replayed (positions are formatted only when shown:
    /// buffered calls make millions of events).
    history: History,
    replayed: u64,
    /// Why replay stopped before the program ended, if it did.
    stopped_at: Option<Stop>,
    /// When the last event was replayed.
    last_progress: std::time::Instant,
    /// Each process's open files (by recorded tgid), for going live.
    open_files: BTreeMap<Tid, crate::golive::OpenFiles>,
    /// SIGUSR1 asked the replay to go live.
    golive_requested: bool,
    /// Parked tasks are let go on even with their next event far ahead:
    /// nothing else can run.
    unpark_anyway: bool,
    /// When the replayer last woke up from its wait (see `BusyPin`).
    now: std::time::Instant,
    /// State digests taken at the bookmark replay stopped or went live at.
    stop_digests: Vec<scribe_trace::StateDigest>,
    /// Registers of the stopped tasks at the bookmark replay stopped at.
    stop_registers: BTreeMap<Tid, Vec<(&'static str, u64)>>,
    /// Per process (recorded tgid): ranges that were shared file mappings
    /// when recorded. Replay maps them private, so the recording's digests
    /// (which skip shared memory) did not cover them.
    shared_files: BTreeMap<Tid, Vec<(u64, u64)>>,
    /// The serials replayed of each shared resource (pipes by recorded inode).
    serials: crate::serials::Serials,
    /// Sizes of the System V shared memory segments created, by id.
    shm_sizes: foldhash::HashMap<u64, u64>,
    /// Sizes of the attached segments, by address (see `shm_as_mapping`).
    shm_attached: foldhash::HashMap<u64, u64>,
    /// Processes (recorded tgids) that run in their vfork parent's memory
    /// until they exec (see the recorder's `vfork_children`).
    vfork_children: std::collections::BTreeSet<Tid>,
    preemptions: u64,
    breakpoint_hits: u64,
    /// Passes of a point whose registers, stack top and fingerprint matched
    /// but whose deeper stack did not (see `machine::stack_digest`).
    stack_told_apart: std::cell::Cell<u64>,
    signal_points: u64,
    point_checks: u64,
    files_mapped_itself: u64,
    /// The RDRAND and RDSEED of the libraries known to use them, rewritten to fault (see `randinsn`).
    random: randinsn::Rewriter,
    files_mapped_through_kept_fd: u64,
    /// Mappings of shared files replayed from a memory file shared by
    /// every process that maps the same file (`map_shared_file`).
    shared_file_mappings: u64,
    /// Stops passed through after going live.
    passed_through: u64,
    /// Gives new tasks their recorded ids where the kernel lets it.
    pids: crate::pidchoice::PidChoice,
    /// Tasks made whose recorded id an ended task of the recording had.
    reused_ids: u64,
    /// Where the recorded programs executed instead of changed or missing
    /// ones are written (see `FileStore::exec_stand_in`), once one is.
    exec_copies: Option<tempfile::TempDir>,
    /// Which live tasks make their syscalls without stopping.
    bypass: crate::bypass::FilterBypass,
    /// Recorded tasks killed by a group exit of their process that replay
    /// has applied (see `drop_after_group_exit`).
    killed_by_group_exit: foldhash::HashSet<Tid>,
    /// The memory file standing for each shared file, by recorded inode (or
    /// by a key made from its path, see `read_only_mapping_key`).
    shared_files_by_inode: BTreeMap<u64, std::fs::File>,
    /// The key in `shared_files_by_inode` of each path mapped from one of
    /// those memory files: writes to the path are made on it too.
    shared_file_paths: BTreeMap<Vec<u8>, u64>,
    /// The bytes written into and read from each pipe the program made
    /// (by `golive::OpenFile::Pipe` id), for what a pipe holds when the
    /// program goes live.
    pipe_flow: BTreeMap<u64, PipeFlow>,
    guard_hits: u64,
    /// Checks whose guards took hardware breakpoints.
    hw_guarded_checks: u64,
    /// Processes (recorded tgids) with a registered syscall buffer.
    buffers: std::collections::BTreeSet<Tid>,
    /// The FLAGS value last written to each process's buffer header (by
    /// recorded tgid), so that an unchanged one is not written again.
    header_flags: foldhash::HashMap<Tid, u32>,
    /// Output of buffered writes waiting for earlier writes of other
    /// domains: (event index, stream, bytes), in trace order.
    deferred_output: VecDeque<(u64, StdStream, Vec<u8>)>,
    /// Calls replayed from syscall buffers.
    buffered: u64,
    leader: Tid,
    leader_status: Option<ExitStatus>,
    options: ReplayOptions,
}

/// Whether plain replay checks the state digest of every bookmark it
/// passes, not only of the one it stops or goes live at. Off: reading all
/// writable memory costs milliseconds per bookmark for a big process (see
/// docs/ARCHITECTURE.md), and a divergence shows up at the next syscall
/// anyway.
const CHECK_EVERY_BOOKMARK: bool = false;

/// The first trace format recorded with this version of the syscall
/// buffer library: an older trace whose program used the buffer made other
/// buffered calls than the library now makes (see
/// `scribe_trace::FORMAT_VERSION`), so its replay would diverge.
const FIRST_FORMAT_OF_THIS_BUFFER: u32 = 19;

/// Whether the exec of `path` (relative to `cwd`) ran the file at
/// `exe_path` (the recorded `/proc/PID/exe`, resolved) itself: not so for a
/// script, whose interpreter the kernel runs. A path that names nothing any
/// more is compared as written, `.` and `..` taken out.
fn names_file(path: &[u8], cwd: &[u8], exe_path: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Component;
    let full = Path::new(std::ffi::OsStr::from_bytes(cwd)).join(std::ffi::OsStr::from_bytes(path));
    if let Ok(real) = std::fs::canonicalize(&full) {
        return real.as_os_str().as_bytes() == exe_path;
    }
    let mut normal = PathBuf::new();
    for part in full.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal.as_os_str().as_bytes() == exe_path
}

/// What a task stopped at, as seen by replay.
fn describe_stop(nr: u32, args: &[u64; 6]) -> String {
    format!("{} (nr {nr})", sc::format_call(nr, args, &[]))
}

impl Session {
    fn task(&self, live: Tid) -> Result<&LiveTask> {
        self.tasks.get(&live).ok_or_else(|| unknown_task(live))
    }

    fn task_mut(&mut self, live: Tid) -> Result<&mut LiveTask> {
        self.tasks.get_mut(&live).ok_or_else(|| unknown_task(live))
    }

    /// The process (recorded tgid) of recorded task `rec`.
    fn process_of(&self, rec: Tid) -> Tid {
        self.tgid_of.get(&rec).copied().unwrap_or(rec)
    }

    fn rec(&self, live: Tid) -> Result<Tid> {
        self.task(live).map(|t| t.rec)
    }

    fn mem(&self, live: Tid) -> Result<&TraceeMemory> {
        self.task(live).map(|t| &t.mem)
    }

    /// Follows the process's open files through a replayed syscall.
    fn track_files(&mut self, live: Tid, rec: Tid, call: &SyscallRecord) {
        let tgid = self.process_of(rec);
        if let (Some(task), Some(files)) = (self.tasks.get(&live), self.open_files.get_mut(&tgid)) {
            if let Some(moved) = files.apply(call, &task.mem) {
                let flow = self.pipe_flow.entry(moved.id).or_default();
                if moved.write {
                    flow.written += moved.bytes;
                } else {
                    flow.read += moved.bytes;
                }
            }
        }
    }

    fn fds(&mut self, rec: Tid) -> &mut StdFds {
        let tgid = self.process_of(rec);
        self.std_fds.entry(tgid).or_insert_with(StdFds::at_start)
    }

    fn set_state(&mut self, live: Tid, state: State) -> Result<()> {
        let task = self.task_mut(live)?;
        task.state = state;
        if state == State::Running {
            self.tokens.insert(live);
        } else {
            self.tokens.remove(&live);
        }
        Ok(())
    }

    fn remember(&mut self, p: &Positioned) {
        self.observe(p);
        self.history.push(p.clone());
    }

    /// [`Session::remember`] for an event the caller is done with (not
    /// copied: a million buffered calls were a million copies).
    fn remember_owned(&mut self, p: Positioned) {
        self.observe(&p);
        self.history.push(p);
    }

    fn observe(&mut self, p: &Positioned) {
        if let Some(observer) = self.options.observer.as_mut() {
            match &p.event {
                Event::Syscall(call) | Event::Buffered(call) => observer.syscall(call),
                Event::Signal(signal) => observer.signal(signal),
                Event::Bookmark(bookmark) => observer.bookmark(bookmark),
                _ => {}
            }
        }
        self.replayed += 1;
        if self.options.check_deadlock.is_some() {
            // Read only for --check-deadlock (a clock read per event).
            self.last_progress = std::time::Instant::now();
        }
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
            .filter(|p| self.options.backtrace_all_tasks || p.event.tid().is_none_or(|t| t == rec))
            .rev()
            .take(wanted)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .flat_map(|p| with_position(&position(p), &p.event))
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

    /// Whether the next event is the recorder's detach (the trace's end).
    fn detached_next(&mut self) -> bool {
        matches!(self.queue.peek(0).map(|p| &p.event), Some(Event::End(e)) if e.reason == scribe_trace::end_reason::DETACHED)
    }

    /// Takes the next recorded event, which must belong to task `rec`.
    /// `None` when the task's next event is its death by SIGKILL: it was
    /// killed before this stop in the recording (SIGKILL has no delivery
    /// stop), so it is killed here instead of going on.
    fn next_for(&mut self, rec: Tid, live: Tid, observed: impl Fn() -> String) -> Result<Option<Positioned>> {
        if let Some(i) = self.queue.find_for(rec) {
            // Its death, or the call it died in (written with result 0 just
            // before the death, see `take_call_died_in`): a brk it was in
            // when the SIGKILL came returned a real break in replay.
            let dies = match &self.queue.ahead[i].event {
                Event::Exit(x) => x.signal == machine::SIGKILL,
                Event::Syscall(_) => self.queue.killed_after(rec, i),
                _ => false,
            };
            if dies {
                self.kill_as_recorded(live)?;
                return Ok(None);
            }
            return Ok(self.queue.remove(i));
        }
        match self.queue.peek(0) {
            Some(_) => {
                let head = self.queue.peek(0).cloned();
                Err(self.divergence(rec, Some(live), "the next recorded event is for another point of the execution".into(), head.as_ref(), observed()))
            }
            None => Err(self.trace_ended(rec)),
        }
    }

    /// Kills `live`, which the recording has die of SIGKILL here (sent by
    /// another process, whose `kill` is emulated); its end is reported next.
    fn kill_as_recorded(&mut self, live: Tid) -> Result<()> {
        tracee::kill_task(live);
        self.set_state(live, State::InKernel)
    }

    fn trace_ended(&self, rec: Tid) -> EngineError {
        let detail = self.queue.end.clone().unwrap_or_default();
        let position = self.history.back().map(position).unwrap_or_else(|| "the start".into());
        EngineError::TraceEnded { tid: rec, position, detail }
    }

    fn run(&mut self, header: &Header) -> Result<ExitStatus> {
        let result = self.run_to_end(header);
        // Whatever the end, what the program printed is shown.
        self.flush_deferred_output(true);
        result
    }

    fn run_to_end(&mut self, header: &Header) -> Result<ExitStatus> {
        let version = self.queue.reader.format_version();
        let first = self.queue.pop();
        let Some(first) = first else {
            return Err(EngineError::TraceEnded { tid: 0, position: "the start".into(), detail: self.queue.end.clone().unwrap_or_default() });
        };
        let Event::Exec(exec) = &first.event else {
            return Err(EngineError::File(format!("the trace does not start with an exec event ({})", position(&first))));
        };
        let rec = exec.tid;
        self.pids.ask_for(rec);
        let mut config = machine::spawn_config(header, version);
        let stand_in = if names_file(&header.exe_path, &header.cwd, &exec.exe_path) { self.exec_stand_in(exec)? } else { None };
        if let Some(copy) = &stand_in {
            config.program = copy.clone();
        }
        let live = tracee::spawn_traced(&config).map_err(|e| match e {
            scribe_tracee::TraceeError::Exec { path, source } => EngineError::File(format!(
                "cannot execute {path} for replay: {source} (a trace recorded with --portable holds the programs it ran)"
            )),
            other => other.into(),
        })?;
        self.pids.got(rec, live);
        // After the spawn (and the reader's thread), which must not inherit it.
        let _pin = crate::cpupin::ThreadPin::start();
        // Likewise: switches between this thread and the program are cheaper
        // when both trap rdtsc (see `scribe_tracee::OwnTscTrap`).
        let _own_tsc = tracee::OwnTscTrap::start();
        self.leader = rec;
        self.tasks.insert(live, LiveTask::new(rec, TraceeMemory::open(live)?, State::Running));
        self.live_of.insert(rec, live);
        self.tgid_of.insert(rec, rec);
        self.open_files.insert(rec, crate::golive::OpenFiles::new(&header.cwd, rec));
        let exec = exec.clone();
        self.apply_exec(live, &exec, &first, stand_in.is_some())?;
        self.remember(&first);
        self.set_state(live, State::Running)?;
        self.resume(live, 0)?;
        loop {
            // Asked for here, at every stop, and not only when a wait is
            // interrupted: a signal that came while a stop was handled
            // interrupts no wait, and a busy replay always has a stop ready.
            if tracee::take_control_signals() & (1 << machine::SIGUSR1) != 0 {
                self.golive_requested = true;
            }
            if self.golive_requested && self.tokens.is_empty() {
                return self.go_live(None);
            }
            if let Some(done) = self.advance()? {
                return Ok(done);
            }
            // A task a group exit is killing still has its end to report
            // (the kernel kills it after the exiting thread has gone).
            if self.tokens.is_empty()
                && !self.tasks.values().any(|t| matches!(t.state, State::Starting | State::InKernel) || t.exiting)
                && self.queue.peek(0).is_some()
            {
                // A parked task goes on rather than the replay stopping,
                // whatever that costs in lookahead.
                let parked = self.tasks.iter().find(|(_, t)| t.state == State::Parked).map(|(&live, _)| live);
                let Some(live) = parked else { return Err(self.stuck()) };
                self.unpark_anyway(live)?;
                continue;
            }
            tracee::rearm_own_tsc();
            for (&live, task) in self.tasks.iter_mut() {
                task.pins.release_if_running(live, self.now);
            }
            let waited = tracee::wait_interruptible(-1)?;
            self.now = std::time::Instant::now();
            let Some((live, status)) = waited else {
                if let Some(limit) = self.options.check_deadlock {
                    if self.last_progress.elapsed() >= limit {
                        return Err(self.no_progress(limit));
                    }
                }
                continue;
            };
            self.dispatch(live, status)?;
        }
    }

    /// Replay cannot go on: the next event's task is not where it should be.
    fn stuck(&mut self) -> EngineError {
        self.report_stall("no task can reach the next recorded event".into())
    }

    /// The report of `--check-deadlock`: no event was replayed for `limit`.
    fn no_progress(&mut self, limit: std::time::Duration) -> EngineError {
        self.report_stall(format!("replay made no progress for {} s (deadlock or a task that never reaches its next recorded point)", limit.as_secs_f64()))
    }

    fn report_stall(&mut self, summary: String) -> EngineError {
        let head = self.queue.peek(0).cloned();
        let rec = head.as_ref().and_then(|p| p.event.tid()).unwrap_or(self.leader);
        let states: Vec<String> = self
            .tasks
            .iter()
            .map(|(live, t)| {
                let rip = tracee::get_regs(*live).map(|r| format!(" at {:#x}", r.rip)).unwrap_or_default();
                format!("task {} {:?}{rip}", t.rec, t.state)
            })
            .collect();
        let live = self.live_of.get(&rec).copied();
        self.divergence(rec, live, summary, head.as_ref(), format!("task states: {}", states.join(", ")))
    }

    /// Applies every event that can be applied now: for each memory domain,
    /// its next event if the domain has no task running user code and the
    /// event's task is ready for it. Domains advance independently, in
    /// parallel; what they share is kept in trace order: writes to the
    /// original stdout/stderr, bookmarks and the end of the trace.
    /// Returns the program's status once the trace is fully replayed.
    fn advance(&mut self) -> Result<Option<ExitStatus>> {
        if self.golive_requested {
            // No task is given its next event: each stops at its next stop
            // and stays there, and once none runs the program goes live.
            return Ok(None);
        }
        'rescan: loop {
            self.flush_deferred_output(false);
            if self.queue.peek(0).is_none() {
                if self.tasks.is_empty() {
                    return Ok(Some(self.leader_status.unwrap_or(ExitStatus::Exited(0))));
                }
                // Only tasks killed by a group exit may be left.
                if self.tasks.values().all(|t| t.state == State::InKernel) || !self.tokens.is_empty() {
                    return Ok(None);
                }
                return Err(self.trace_ended(self.leader));
            }
            // A domain's token is held while one of its tasks runs.
            let mut blocked: std::collections::BTreeSet<Tid> =
                self.tokens.iter().filter_map(|live| self.tasks.get(live)).map(|t| self.queue.domain(t.rec)).collect();
            // Parked tasks by domain. One was parked where it would have
            // run user code: in the recording that ran before any later
            // event of its domain, so it goes on before such an event.
            let parked: BTreeMap<Tid, Tid> =
                self.tasks.iter().filter(|(_, t)| t.state == State::Parked).map(|(&live, t)| (self.queue.domain(t.rec), live)).collect();
            // A write not yet replayed in a blocked domain may go to the
            // terminal: later terminal writes must wait for it.
            let mut earlier_write_pending = false;
            let domains: std::collections::BTreeSet<Tid> =
                self.tasks.values().filter(|t| t.state != State::InKernel).map(|t| self.queue.domain(t.rec)).collect();
            // Where the first event of a domain that may go stands.
            let mut first_ready = WINDOW;
            // Domains blocked only for having nothing in the window: all
            // they did before any event in it is replayed, so a join with
            // one of them need not wait for it.
            let mut idle = std::collections::BTreeSet::new();
            for &domain in &domains {
                // A domain with nothing in the window cannot advance now:
                // not walking the window for it keeps each stop cheap when
                // one process runs far ahead of another.
                if !blocked.contains(&domain) {
                    match self.queue.first_in_domain(domain, WINDOW) {
                        Some(i) => first_ready = first_ready.min(i),
                        None => {
                            blocked.insert(domain);
                            idle.insert(domain);
                        }
                    }
                }
            }
            // The events before that one are all of waiting domains: with
            // no exit, bookmark or end among them the scan starts there
            // (`make -j2` walked 1,500 events of a running compiler at each
            // of its 11,000 stops). Whether one of them writes is asked
            // only for a write to the terminal.
            let skipped = if self.queue.specials == 0 && !self.exit_to_apply() { first_ready.min(WINDOW) } else { 0 };
            // Whether every domain waits, computed again only when `blocked`
            // grew (this loop walks thousands of events per stop).
            let mut checked_blocked = usize::MAX;
            let mut prefix_writes: Option<bool> = None;
            // A task killed by SIGKILL in the recording may hold up its
            // domain while it runs on (a child spinning in memory it shares
            // with its parent, whose kill comes first in the trace): its
            // exit further ahead must still be met, where it is killed.
            let kill_ahead = self.exit_to_apply();
            for i in skipped..WINDOW {
                if blocked.len() != checked_blocked {
                    checked_blocked = blocked.len();
                    if i > 0 && !kill_ahead && domains.iter().all(|d| blocked.contains(d)) {
                        // Every domain waits: nothing further ahead can run.
                        break;
                    }
                }
                if self.queue.peek(i).is_none() {
                    break;
                }
                let p = &self.queue.ahead[i];
                let index = p.index;
                let domain = self.queue.domain_at(i);
                // Most events walked belong to a waiting domain: all that
                // counts of them is whether they write (looked at in place).
                if domain.is_some_and(|d| blocked.contains(&d)) && !is_special(&p.event) && !matches!(p.event, Event::Exit(_)) {
                    earlier_write_pending |= matches!(&p.event, Event::Syscall(c) if crate::record::is_write(c.nr));
                    continue;
                }
                let event = without_data(&p.event);
                let rec = event.tid();
                let live = rec.and_then(|r| self.live_of.get(&r).copied());
                let state = live.and_then(|l| self.tasks.get(&l)).map(|t| t.state);
                match (&event, state) {
                    (Event::Exit(x), _) => {
                        let rec = x.tid;
                        if let Some(status) = self.ended.get(&rec).copied() {
                            let p = self.queue.take_at(i).expect("peeked event exists");
                            let recorded = if x.signal != 0 { ExitStatus::Signaled(x.signal) } else { ExitStatus::Exited(x.code) };
                            if recorded != status && rec == self.leader {
                                return Err(self.divergence(rec, None, "the program ended differently".into(), Some(&p), format!("{status:?}")));
                            }
                            self.remember(&p);
                            if rec == self.leader {
                                self.leader_status = Some(recorded);
                            }
                            continue 'rescan;
                        }
                        // Killed during recording (SIGKILL has no delivery
                        // stop): killed here once it has replayed all it did
                        // before, wherever it waits or runs (a child its
                        // parent kills while it computes). The exit can come
                        // into the window long before that, and the kill in
                        // the parent is not made again.
                        let dying = live.and_then(|l| self.tasks.get(&l)).is_some_and(|t| t.exiting);
                        if x.signal == machine::SIGKILL && !dying {
                            if let (Some(live), Some(State::AtSeccomp | State::AtStart | State::Parked | State::Running)) = (live, state) {
                                if self.queue.first_of_task(rec) == Some(i) && self.made_its_batch(live)? {
                                    self.settle_buffer(live)?;
                                    self.kill_as_recorded(live)?;
                                }
                            }
                        }
                        // Exits are written whenever the kernel reports them:
                        // they hold nobody up.
                        continue;
                    }
                    // The call a task died in, come into the window after
                    // the task ended (see `take_call_died_in`), and the
                    // events of tasks a group exit killed.
                    (Event::Syscall(_), None) if rec.is_some_and(|r| self.ended.contains_key(&r) && self.queue.exit_follows(r, i)) => {
                        let p = self.queue.take_at(i).expect("peeked event exists");
                        self.remember_owned(p);
                        continue 'rescan;
                    }
                    (_, _) if rec.is_some_and(|r| self.killed_by_group_exit.contains(&r)) => {
                        self.drop_after_group_exit(rec.expect("checked above"));
                        continue 'rescan;
                    }
                    // A vfork child leaving its parent's domain after its
                    // exec (a join of itself into itself, see the
                    // recorder's `leaves_vfork_parent_domain`): as soon as
                    // it has replayed what it did before, its later events
                    // no longer wait for the parent's.
                    (Event::Join(j), _) if j.leaves_domain() => {
                        if self.queue.first_of_task(j.tid) == Some(i) {
                            self.take_leave(j.tid, i);
                            continue 'rescan;
                        }
                        blocked.extend(domain);
                        continue;
                    }
                    // Two domains become one where neither runs user code
                    // and each has replayed what it did before the join;
                    // until then the events after it wait, in both.
                    (Event::Join(j), _) => {
                        let from = self.queue.domain_at(i).unwrap_or(j.tid);
                        let into = self.queue.joined_domain(j.domain);
                        if let Some(&waiting) = parked.get(&from).or_else(|| parked.get(&into)) {
                            // What it runs before its next event comes
                            // before the join (see below). Its next event
                            // may be far (it was parked for that), so it
                            // goes on anyway: let go the usual way, it
                            // parked again at once, and the scan came back
                            // here for good.
                            self.unpark_anyway(waiting)?;
                            continue 'rescan;
                        }
                        // A domain idle in the window waits for nothing: a
                        // process that mapped a shared file and then sleeps
                        // in wait4 while a newly exec'd one maps it too
                        // (python's multiprocessing semaphores) held the
                        // join, and the replay, for good.
                        let waits = |d: &Tid| blocked.contains(d) && !idle.contains(d);
                        if waits(&from) || waits(&into) {
                            for d in [from, into] {
                                idle.remove(&d);
                            }
                            blocked.extend([from, into]);
                            continue;
                        }
                        self.queue.join_domains(from, into);
                        let p = self.queue.take_at(i).expect("peeked event exists");
                        self.remember_owned(p);
                        continue 'rescan;
                    }
                    (Event::Bookmark(_) | Event::End(_), _) if i > 0 || !self.tokens.is_empty() => break,
                    // A bookmark whose state is checked here was placed with
                    // every task at a stop or in the kernel. A task parked
                    // after its last syscall (its next event far ahead: a
                    // parent in wait4 while its children stream through a
                    // pipe) or still running towards its next one has not
                    // yet run the code before that stop, so its memory
                    // would differ: each goes on to its stop first. So does
                    // a new child, whose tid the kernel writes (and replay
                    // then corrects) before its first stop.
                    (Event::Bookmark(b), _)
                        if !b.digests.is_empty()
                            && (CHECK_EVERY_BOOKMARK || self.options.golive == Some(b.id) || self.options.stop_at == Some(b.id))
                            && self.tasks.values().any(|t| !t.exiting && matches!(t.state, State::Running | State::Parked | State::Starting)) =>
                    {
                        let parked: Vec<Tid> =
                            self.tasks.iter().filter(|(_, t)| !t.exiting && t.state == State::Parked).map(|(&live, _)| live).collect();
                        for live in parked {
                            self.unpark_anyway(live)?;
                        }
                        break;
                    }
                    (Event::Bookmark(b), _) => {
                        let id = b.id;
                        let p = self.queue.take_at(0).expect("peeked event exists");
                        self.remember(&p);
                        let stops_here = self.options.golive == Some(id) || self.options.stop_at == Some(id);
                        if stops_here || CHECK_EVERY_BOOKMARK {
                            self.check_bookmark(&p)?;
                        }
                        if self.options.golive == Some(id) {
                            return self.go_live(Some(id)).map(Some);
                        }
                        if self.options.stop_at == Some(id) {
                            self.stopped_at = Some(Stop::Bookmark(id));
                            for (&live, task) in &self.tasks {
                                if let Ok(regs) = tracee::get_regs(live) {
                                    let named = tracee::REG_NAMES.iter().copied().zip(tracee::regs_to_words(&regs)).collect();
                                    self.stop_registers.insert(task.rec, named);
                                }
                            }
                            self.kill_all();
                            return Ok(Some(ExitStatus::Exited(0)));
                        }
                        continue 'rescan;
                    }
                    (Event::End(e), _) if e.reason == scribe_trace::end_reason::ERROR && !self.tasks.is_empty() => {
                        // The recording stopped early (recorder killed by a
                        // signal, or an error): everything recorded was replayed.
                        let detail = format!("the recording stopped here: {}", e.message);
                        let p = self.queue.take_at(0).expect("peeked event exists");
                        self.remember(&p);
                        self.kill_all();
                        return Err(EngineError::TraceEnded { tid: self.leader, position: position(&p), detail });
                    }
                    (Event::End(e), _) if e.reason == scribe_trace::end_reason::DETACHED => {
                        let p = self.queue.take_at(0).expect("peeked event exists");
                        self.remember(&p);
                        self.stopped_at = Some(Stop::Detached);
                        self.kill_all();
                        return Ok(Some(ExitStatus::Exited(0)));
                    }
                    (Event::End(_), _) => {
                        if !self.tasks.is_empty() {
                            return Ok(None);
                        }
                        let p = self.queue.take_at(0).expect("peeked event exists");
                        self.remember(&p);
                        return Ok(Some(self.leader_status.unwrap_or(ExitStatus::Exited(0))));
                    }
                    _ => {}
                }
                let Some(domain) = domain else { continue };
                let is_write = matches!(&event, Event::Syscall(c) if crate::record::is_write(c.nr));
                if is_write && !earlier_write_pending && skipped > 0 {
                    // Asked once per scan, for the events it stepped over.
                    earlier_write_pending = *prefix_writes.get_or_insert_with(|| self.queue.write_before(skipped));
                }
                if blocked.contains(&domain) {
                    earlier_write_pending |= is_write;
                    continue;
                }
                let Some(live) = live else {
                    // Its task does not run here yet: it waits, and so do
                    // terminal writes after a write of it.
                    earlier_write_pending |= is_write;
                    blocked.insert(domain);
                    continue;
                };
                if let Some(&waiting) = parked.get(&domain).filter(|&&waiting| waiting != live) {
                    // Another task of this domain was parked before running
                    // on from its last event: it runs first (its domain then
                    // waits for its next stop), as it did when recorded.
                    self.unpark(waiting)?;
                    continue 'rescan;
                }
                if self.tasks.get(&live).is_some_and(|t| t.exiting) {
                    // Its process's group exit is killing it: its last call
                    // is taken when it ends (see above).
                    blocked.insert(domain);
                    continue;
                }
                match (&event, state) {
                    // Its next event (or that event's serial) is in reach now.
                    (_, Some(State::Parked)) => {
                        self.unpark(live)?;
                        continue 'rescan;
                    }
                    (Event::Syscall(c), Some(State::AtSeccomp)) if is_write && earlier_write_pending => {
                        let to_terminal = self.fds(c.tid).output_stream(c.args[0]).is_some();
                        if to_terminal {
                            blocked.insert(domain);
                            continue;
                        }
                        self.set_state(live, State::Running)?;
                        self.on_syscall(live)?;
                        continue 'rescan;
                    }
                    (Event::Buffered(_), Some(State::AtSeccomp)) => {
                        // Its batch was not loaded: the library made this
                        // call traced where the recording buffered it.
                        let observed = self.task(live)?.seccomp_regs.map(|r| describe_stop(r.orig_rax as u32, &tracee::syscall_args(&r))).unwrap_or_default();
                        let p = self.queue.peek(i).cloned().expect("peeked event exists");
                        let rec = rec.expect("a buffered call has a task");
                        return Err(self.divergence(rec, Some(live), "the task stopped at a syscall where the recording has buffered calls".into(), Some(&p), observed));
                    }
                    (Event::Syscall(c), Some(State::AtSeccomp)) if self.reaps_unended_child(c) || self.makes_a_pending_id(c, index) => {
                        blocked.insert(domain);
                        continue;
                    }
                    (Event::Syscall(_) | Event::Exec(_), Some(State::AtSeccomp)) => {
                        self.set_state(live, State::Running)?;
                        self.on_syscall(live)?;
                        continue 'rescan;
                    }
                    // An operation on a shared resource waits for its earlier ones
                    // (rendezvous): the serial before it must be replayed.
                    (Event::Resource(r), Some(_)) if r.kind != resource_kind::TERMINAL => {
                        if !self.serials.may_go(r.kind, r.id, r.serial) {
                            blocked.insert(domain);
                            continue;
                        }
                        self.serials.complete(r.kind, r.id, r.serial);
                        if r.kind == resource_kind::INODE {
                            // Read by the task's call, replayed next: an mmap
                            // of a shared file finds its pages by it.
                            self.task_mut(live)?.inode_serial = Some(r.id);
                        }
                        let p = self.queue.take_at(i).expect("peeked event exists");
                        self.remember(&p);
                        continue 'rescan;
                    }
                    (Event::TaskStart(start), Some(State::AtStart)) => {
                        let started = start.tid;
                        let p = self.queue.take_at(i).expect("peeked event exists");
                        self.remember(&p);
                        // As the recorder does at a task's start.
                        self.fds(started).task_started();
                        self.task_mut(live)?.fd_state_changed = true;
                        self.fix_child_tid(live)?;
                        self.set_state(live, State::Running)?;
                        // A vfork parent waits at its syscall exit: a signal
                        // recorded right there (SIGCHLD of a quick child) is
                        // injected now, as after any other syscall.
                        let at_vfork_exit = std::mem::take(&mut self.task_mut(live)?.at_vfork_exit);
                        match rec.filter(|_| at_vfork_exit).and_then(|r| self.signal_at_syscall_exit(r)) {
                            Some(signo) => {
                                self.task_mut(live)?.injecting = Some(signo);
                                self.resume(live, signo)?;
                            }
                            None => self.resume(live, 0)?,
                        }
                        continue 'rescan;
                    }
                    _ => {
                        earlier_write_pending |= is_write;
                        blocked.insert(domain);
                    }
                }
            }
            return Ok(None);
        }
    }

    /// Whether an exit in the window can be applied now (see the scan in
    /// `advance`): its task has ended here too, or it was killed while
    /// replay has it waiting.
    fn exit_to_apply(&self) -> bool {
        self.queue.exits.iter().any(|&(_, tid, signal)| {
            let state = self.live_of.get(&tid).and_then(|live| self.tasks.get(live)).map(|t| t.state);
            self.ended.contains_key(&tid)
                || (signal == machine::SIGKILL && matches!(state, Some(State::AtSeccomp | State::AtStart | State::Parked | State::Running)))
        })
    }

    /// The state digest of every replayed process, computed like the
    /// recorder's: memory from the live process, registers at each task's
    /// syscall entry (read now for a task waiting at its seccomp stop).
    fn state_digests(&self, bookmark: u32) -> Result<Vec<scribe_trace::StateDigest>> {
        let mut processes: BTreeMap<Tid, Vec<(Tid, Tid, &LiveTask)>> = BTreeMap::new();
        for (&live, task) in self.tasks.iter().filter(|(_, t)| !t.exiting) {
            let tgid = self.process_of(task.rec);
            processes.entry(tgid).or_default().push((task.rec, live, task));
        }
        let mut digests = Vec::with_capacity(processes.len());
        for (pid, mut tasks) in processes {
            tasks.sort_by_key(|&(rec, _, _)| rec);
            let (_, reader, task) = tasks[0];
            let maps = procfs::maps(reader).map_err(|e| EngineError::io(format!("reading /proc/{reader}/maps"), e))?;
            let skip = self.shared_files.get(&pid).map(Vec::as_slice).unwrap_or_default();
            let ranges = machine::digest_ranges(&maps, skip);
            machine::dump_digested_memory("replay", bookmark, pid, &task.mem, &ranges);
            let memory = machine::memory_digest(&task.mem, &ranges);
            let mut entries = Vec::with_capacity(tasks.len());
            for &(rec, live, task) in &tasks {
                let entry = if task.state == State::AtSeccomp {
                    Some(machine::regs_digest(&tracee::get_regs(live)?))
                } else {
                    task.entry_digest
                };
                entries.push((rec, entry));
            }
            digests.push(scribe_trace::StateDigest { pid, memory, registers: machine::tasks_digest(entries) });
        }
        Ok(digests)
    }

    /// Compares the replay's state at a bookmark with the recorded digests
    /// (a trace without them, or a bookmark placed without them, is not
    /// checked); a difference is a divergence naming the process.
    fn check_bookmark(&mut self, p: &Positioned) -> Result<()> {
        let Event::Bookmark(b) = &p.event else { return Ok(()) };
        let replayed = self.state_digests(b.id)?;
        self.stop_digests = replayed.clone();
        if b.digests.is_empty() {
            return Ok(());
        }
        let mut problem = None;
        for recorded in &b.digests {
            let pid = recorded.pid;
            problem = match replayed.iter().find(|d| d.pid == pid) {
                None => Some((pid, format!("process {pid} of the recording does not exist in the replay"))),
                Some(d) if d.memory != recorded.memory => Some((
                    pid,
                    format!("the memory of process {pid} differs from the recording (digest {:#018x}, recorded {:#018x})", d.memory, recorded.memory),
                )),
                Some(d) if d.registers != recorded.registers => Some((
                    pid,
                    format!("the registers of process {pid} differ from the recording (digest {:#018x}, recorded {:#018x})", d.registers, recorded.registers),
                )),
                Some(_) => None,
            };
            if problem.is_some() {
                break;
            }
        }
        if problem.is_none() {
            if let Some(extra) = replayed.iter().find(|d| !b.digests.iter().any(|r| r.pid == d.pid)) {
                problem = Some((extra.pid, format!("process {} exists in the replay but not in the recording", extra.pid)));
            }
        }
        let Some((pid, what)) = problem else { return Ok(()) };
        let live = self.live_of.get(&pid).copied();
        let observed = replayed.iter().map(crate::format::state_digest).collect::<Vec<_>>().join("\n    ");
        Err(self.divergence(pid, live, format!("state at bookmark {} differs: {what}", b.id), Some(p), observed))
    }

    /// Stops replaying: each process reopens its files (through one of its
    /// tasks stopped at a syscall) and every task continues as a normal
    /// process; the replayer stays attached only to pass stops through
    /// (the seccomp filter cannot be removed) and returns the live status.
    fn go_live(&mut self, bookmark: Option<u32>) -> Result<ExitStatus> {
        self.stopped_at = Some(Stop::WentLive(bookmark));
        // The program prints for itself from now on, after what it printed.
        self.flush_deferred_output(true);
        let mut restored = std::collections::BTreeSet::new();
        let mut reopening = Vec::new();
        let lives: Vec<Tid> = self.tasks.keys().copied().collect();
        for &live in &lives {
            // Buffered calls run since the task's last event count for its
            // files' offsets; the program goes on with plain syscalls.
            if matches!(self.tasks[&live].state, State::AtSeccomp | State::AtStart) {
                self.settle_buffer(live)?;
            }
            let rec = self.tasks[&live].rec;
            if self.buffers.contains(self.tgid_of.get(&rec).unwrap_or(&rec)) {
                syscallbuf::disable(&self.tasks[&live].mem)?;
            }
        }
        for &live in &lives {
            // Live, the program has all its CPUs again.
            self.task_mut(live)?.pins.release(live);
            let task = &self.tasks[&live];
            let tgid = self.process_of(task.rec);
            if let Some(search) = &task.armed {
                if let Some(check) = &search.check {
                    // The code goes back even if the task runs; its page
                    // stays mapped then, for a task inside it.
                    for (at, bytes) in check.site.originals() {
                        let _ = task.mem.write(at, bytes);
                    }
                }
                let _ = tracee::set_exec_breakpoint(live, None);
            }
            if task.state == State::AtSeccomp && restored.insert(tgid) {
                reopening.push((live, tgid, None));
            }
        }
        // A process none of whose tasks is at a syscall (computing at the
        // bookmark) had its descriptors left as the replayer's. Going live
        // waits until no task runs user code, so one of its tasks is held
        // at its start or at a recorded point (a signal-delivery or
        // syscall-exit stop): its files are reopened from there, through
        // the vDSO's `syscall` instruction.
        let held: Vec<(Tid, Tid)> = lives
            .iter()
            .map(|&live| (live, &self.tasks[&live]))
            .filter(|(_, task)| task.state == State::AtStart)
            .map(|(live, task)| (live, self.process_of(task.rec)))
            .filter(|(_, tgid)| self.open_files.contains_key(tgid))
            .collect();
        for (live, tgid) in held {
            if restored.contains(&tgid) {
                continue;
            }
            let maps = procfs::maps(live).unwrap_or_default();
            let Some(insn) = point::syscall_instruction(&maps, self.mem(live)?) else { continue };
            self.settle_buffer(live)?;
            reopening.push((live, tgid, Some(insn)));
            restored.insert(tgid);
        }
        // The pipes are made first, held open by the replayer (so that
        // opening an end finds the other) until every process has its ends.
        let tgids: Vec<Tid> = reopening.iter().map(|&(_, tgid, _)| tgid).collect();
        let pipes = self.remake_pipes(&tgids);
        let own = std::process::id();
        let paths: BTreeMap<u64, [Vec<u8>; 2]> = pipes
            .iter()
            .map(|(&id, (read, write))| {
                let path = |end: &std::fs::File| format!("/proc/{own}/fd/{}", std::os::fd::AsRawFd::as_raw_fd(end)).into_bytes();
                (id, [path(read), path(write)])
            })
            .collect();
        for (live, tgid, from_user_code) in reopening {
            if let Some(files) = self.open_files.get(&tgid) {
                for note in crate::golive::reopen_files(live, from_user_code, files, &paths)? {
                    self.notice(&format!("process {tgid}: {note}"));
                }
            }
        }
        drop(pipes);
        // (The program's first process alone is no cause for a note.)
        let (made, given) = self.pids.given();
        if made > 1 && given < made {
            self.notice(&format!(
                "{} of the {made} processes and threads replay made have other ids than recorded, which the program keeps: its waitpid or kill of them fails live (replay --recorded-pids gives them their ids, as root)",
                made - given
            ));
        }
        self.notice("the program goes live");
        for &live in &lives {
            let task = &self.tasks[&live];
            let sig = match &task.parked {
                Some(Continuation::Resume { sig }) => *sig,
                _ => 0,
            };
            if matches!(task.state, State::AtSeccomp | State::AtStart | State::Starting | State::Parked) {
                self.bypass.at_stop(live);
                let _ = tracee::cont(live, sig);
            }
        }
        self.tokens.clear();
        self.pass_through_to_end()
    }

    /// Makes a real pipe for each pipe of processes `tgids` (the ones
    /// that get their files back), holding the bytes that were written to
    /// it and not yet read when the program goes live. Replay emulated the
    /// writes, so those bytes are taken from the recording's later reads of
    /// the pipe (a reading process's reads on that descriptor); where the
    /// recording has fewer, the rest is lost, with a note.
    fn remake_pipes(&mut self, tgids: &[Tid]) -> BTreeMap<u64, (std::fs::File, std::fs::File)> {
        /// Events looked through for a pipe's bytes, at most.
        const MAX_EVENTS: usize = 1 << 20;
        let mut needed: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut holders: BTreeMap<u64, std::collections::BTreeSet<Tid>> = BTreeMap::new();
        let mut readers: BTreeMap<(Tid, i32), u64> = BTreeMap::new();
        for &tgid in tgids {
            for (fd, file) in self.open_files.get(&tgid).into_iter().flat_map(|files| files.iter()) {
                if let crate::golive::OpenFile::Pipe { id, write, .. } = *file {
                    needed.entry(id).or_default();
                    holders.entry(id).or_default().insert(tgid);
                    if !write {
                        readers.insert((tgid, fd), id);
                    }
                }
            }
        }
        let in_flight = |flow: Option<&PipeFlow>| flow.map_or(0, |f| f.written.saturating_sub(f.read)) as usize;
        let mut missing: usize = needed.keys().map(|id| in_flight(self.pipe_flow.get(id))).sum();
        let ahead = std::mem::take(&mut self.queue.ahead);
        let mut later = ahead.into_iter().map(Ok).chain(std::iter::from_fn(|| self.queue.reader.next())).take(MAX_EVENTS);
        while missing > 0 {
            let Some(Ok(p)) = later.next() else { break };
            let (Event::Syscall(call) | Event::Buffered(call)) = &p.event else { continue };
            if !matches!(call.nr, sc::nr::READ | sc::nr::READV) || call.result <= 0 {
                continue;
            }
            let tgid = self.tgid_of.get(&call.tid).copied().unwrap_or(call.tid);
            let Some(&id) = readers.get(&(tgid, call.args[0] as i32)) else { continue };
            let want = in_flight(self.pipe_flow.get(&id));
            let Some(bytes) = needed.get_mut(&id) else { continue };
            for output in &call.outputs {
                let take = want.saturating_sub(bytes.len()).min(output.bytes.len());
                bytes.extend_from_slice(&output.bytes[..take]);
                missing -= take;
            }
        }
        drop(later);
        let mut pipes = BTreeMap::new();
        for (id, bytes) in needed {
            let want = in_flight(self.pipe_flow.get(&id));
            let Ok((read, mut write)) = tracee::pipe_with_capacity(want) else {
                self.notice(&format!("pipe {id:#x} cannot be made again: its ends become /dev/null"));
                continue;
            };
            let put = write.write(&bytes).unwrap_or(0);
            let processes: Vec<String> = holders.get(&id).into_iter().flatten().map(|tgid| tgid.to_string()).collect();
            let processes = processes.join(", ");
            if put < want {
                self.notice(&format!("the pipe of processes {processes} is made again; it lost {} of the {want} bytes it held (not in the recording)", want - put));
            } else {
                self.notice(&format!("the pipe of processes {processes} is made again, holding the {put} bytes it held"));
            }
            pipes.insert(id, (read, write));
        }
        pipes
    }

    fn notice(&self, message: &str) {
        if let Some(f) = &self.options.on_notice {
            f(message);
        }
    }

    /// After going live: resumes every stop unchanged (rdtsc still traps and
    /// is executed for the task) until all tasks have ended.
    fn pass_through_to_end(&mut self) -> Result<ExitStatus> {
        let leader = self.live_of.get(&self.leader).copied();
        let mut status = ExitStatus::Exited(0);
        while !self.tasks.is_empty() {
            let (live, stop) = tracee::wait(-1)?;
            self.passed_through += 1;
            self.bypass.at_passed_stop(live, stop);
            let resume = |sig| match tracee::cont(live, sig) {
                Err(e) if e.is_gone() => Ok(()),
                other => other,
            };
            match stop {
                WaitStatus::Exited(code) => {
                    self.tasks.remove(&live);
                    if Some(live) == leader {
                        status = ExitStatus::Exited(code);
                    }
                }
                WaitStatus::Signaled { signal, .. } => {
                    self.tasks.remove(&live);
                    if Some(live) == leader {
                        status = ExitStatus::Signaled(signal);
                    }
                }
                WaitStatus::Signal(machine::SIGSEGV) => {
                    resume(if machine::run_trapped_instruction(live)? { 0 } else { machine::SIGSEGV })?;
                }
                WaitStatus::Signal(machine::SIGSTOP)
                    if self.tasks.get(&live).is_none_or(|t| t.state == State::Starting) =>
                {
                    // A task created after going live: its first stop.
                    self.tasks.insert(live, LiveTask::new(0, TraceeMemory::open(live)?, State::Running));
                    resume(0)?;
                }
                WaitStatus::Signal(sig) => resume(sig)?,
                WaitStatus::Event(PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork) => {
                    let child = tracee::get_event_msg(live)? as Tid;
                    if let Ok(mem) = TraceeMemory::open(child) {
                        self.tasks.entry(child).or_insert_with(|| LiveTask::new(0, mem, State::Starting));
                    }
                    resume(0)?;
                }
                _ => resume(0)?,
            }
        }
        Ok(status)
    }

    /// Ends every live task (replay stops before the program does).
    fn kill_all(&mut self) {
        tracee::kill_and_reap(std::mem::take(&mut self.tasks).into_keys());
        self.live_of.clear();
        self.tokens.clear();
    }

    fn dispatch(&mut self, live: Tid, status: WaitStatus) -> Result<()> {
        if let WaitStatus::Exited(_) | WaitStatus::Signaled { .. } = status {
            return self.on_task_end(live, status);
        }
        let Some(state) = self.tasks.get(&live).map(|t| t.state) else {
            if status == WaitStatus::Event(PtraceEvent::Exit) {
                // A task killed before its clone was replayed: it ends,
                // and its end is what replay will see of it.
                return tracee::cont(live, 0).map_err(Into::into);
            }
            self.early_stops.insert(live);
            return Ok(());
        };
        match (status, state) {
            // Before a new task's start when it is killed (a group exit,
            // SIGKILL) before it first ran: never held as its start, which
            // would keep it in the kernel's exit path for good, and with it
            // its process (a leader that never ended; replay hung about 1
            // run in 10 under load).
            (WaitStatus::Event(PtraceEvent::Exit), _) => {
                // Whatever ends it (a signal too), its memory is still
                // there and its robust futexes not yet marked.
                let rec = self.task(live)?.rec;
                self.mark_robust_futexes_of_dying(live, rec, false)?;
                self.set_state(live, State::InKernel)?;
                tracee::cont(live, 0).map_err(Into::into)
            }
            (_, State::Starting) => {
                self.set_state(live, State::AtStart)?;
                self.fix_child_tid(live)
            }
            (WaitStatus::Event(PtraceEvent::Seccomp), _) => {
                let regs = tracee::get_regs(live)?;
                // Before the library's requests: its registration ends the
                // loader's pin (it lasted 256 syscalls, so in replay most of
                // make's compilers ran their whole life on one CPU).
                let registers = regs.orig_rax == u64::from(magic::REGISTER);
                let now = self.now;
                // As the recorder: counted as a stop first, so that a pin
                // made here is let go before a clone or exec passes it on.
                let pins = &mut self.task_mut(live)?.pins;
                pins.at_stop(live, now);
                pins.at_syscall(live, regs.orig_rax as u32, registers, now);
                if magic::is_magic(regs.orig_rax) {
                    return self.on_buffer_request(live, regs);
                }
                let task = self.task(live)?;
                if task.injecting.is_some() && task.restore_call.is_some() && regs.orig_rax == u64::from(sc::nr::RT_SIGSUSPEND) {
                    // A masked wait (see `replay_masked_wait`) that a signal
                    // of the replay's own world interrupted first (a real
                    // SIGCHLD): the kernel restarted it, and it waits again
                    // for the recorded signal, which is on its way.
                    return tracee::cont(live, 0).map_err(Into::into);
                }
                if regs.orig_rax == u64::from(sc::nr::RT_SIGRETURN) && self.queue.reader.format_version() >= 12 {
                    // At arrival, as the recorder does: a bookmark placed
                    // while the task waits here digests the cleared frame.
                    machine::clear_signal_frame_fault_fields(self.mem(live)?, regs.rsp);
                }
                // Now, as the recorder drained it at this stop: another task
                // of the process may use the buffer before this event is due.
                self.settle_buffer(live)?;
                // Kept for `on_syscall`: the task stays stopped until then.
                self.task_mut(live)?.seccomp_regs = Some(regs);
                self.set_state(live, State::AtSeccomp)
            }
            (WaitStatus::Signal(sig), State::Running) => self.on_signal(live, sig),
            (WaitStatus::SyscallStop, State::InKernel) if self.task(live)?.vfork_result.is_some() => self.on_vfork_return(live),
            // Signals of the replay's own world (SIGCHLD from a real child...)
            // are not the recorded ones: those are injected where recorded.
            (WaitStatus::Signal(_), _) => tracee::cont(live, 0).map_err(Into::into),
            _ => tracee::cont(live, 0).map_err(Into::into),
        }
    }

    /// Puts the recorded tid where the kernel wrote the live one for a
    /// child created with CLONE_CHILD_SETTID. Done at the child's first
    /// stop, the kernel's write being behind it: from there the child's
    /// memory is the recorded one, which a bookmark placed before the child
    /// ran digests.
    fn fix_child_tid(&mut self, live: Tid) -> Result<()> {
        if let Some((addr, tid)) = self.task_mut(live)?.child_tid_fix.take() {
            self.mem(live)?.write(addr, &tid.to_le_bytes())?;
        }
        Ok(())
    }

    /// Brings a freshly executed task to the recorded initial state.
    /// `stand_in`: the kernel ran a copy of the recorded program, whose
    /// longer or shorter name moved the initial stack pointer; the
    /// recorded stack is put where it was.
    fn apply_exec(&mut self, live: Tid, exec: &ExecRecord, at: &Positioned, stand_in: bool) -> Result<()> {
        for &id in &exec.mapped_files {
            self.queue.files.verify(id)?;
        }
        let mem = TraceeMemory::open(live)?;
        let mut regs = tracee::get_regs(live)?;
        if stand_in && regs.rsp != exec.rsp {
            // What the kernel put below the recorded stack pointer was
            // never there when recorded: zeroed, as fresh stack pages are.
            if regs.rsp < exec.rsp {
                mem.write(regs.rsp, &vec![0; (exec.rsp - regs.rsp) as usize])?;
            }
            regs.rsp = exec.rsp;
            tracee::set_regs(live, &regs)?;
        }
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
        let task = self.task_mut(live)?;
        task.mem = mem;
        task.pins.exec(live);
        Ok(())
    }

    /// Replays the syscall the task `live` is stopped at, whose event is at
    /// the head of the trace.
    fn on_syscall(&mut self, live: Tid) -> Result<()> {
        let rec = self.rec(live)?;
        let regs = match self.task_mut(live)?.seccomp_regs.take() {
            Some(regs) => regs,
            None => tracee::get_regs(live)?,
        };
        let nr = regs.orig_rax as u32;
        let args = tracee::syscall_args(&regs);
        let observed = || describe_stop(nr, &args);
        self.task_mut(live)?.entry_digest = Some(machine::regs_digest(&regs));
        if (nr == sc::nr::EXECVE || nr == sc::nr::EXECVEAT) && matches!(self.queue.peek_for(rec).map(|p| &p.event), Some(Event::Exec(_))) {
            return self.replay_exec(live, rec, nr, args);
        }
        let Some(p) = self.next_for(rec, live, observed)? else { return Ok(()) };
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
        let inode = self.task_mut(live)?.inode_serial.take();
        if (nr == sc::nr::EXIT_GROUP || nr == sc::nr::EXIT) && !machine::is_restart_code(call.result) {
            self.mark_robust_futexes_of_dying(live, rec, nr == sc::nr::EXIT_GROUP)?;
        }
        if nr == sc::nr::EXIT && self.tgid_of.get(&rec).is_some_and(|&g| g != rec) {
            // A thread's exit clears its tid word and wakes joiners
            // (CLONE_CHILD_CLEARTID); let that finish before anything else
            // runs, as it had when the recording went on.
            self.set_state(live, State::InKernel)?;
            tracee::cont(live, 0)?;
            loop {
                let (_, status) = tracee::wait(live)?;
                match status {
                    WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => return self.on_task_end(live, status),
                    _ => tracee::cont(live, 0)?,
                }
            }
        }
        // An exit the recorder interrupted to deliver a held signal first
        // is replayed like any interrupted call: it comes again after the
        // handler.
        if (nr == sc::nr::EXIT_GROUP || nr == sc::nr::EXIT) && !machine::is_restart_code(call.result) {
            if nr == sc::nr::EXIT_GROUP {
                self.kill_other_threads(rec);
            }
            self.task_mut(live)?.exiting = true;
            self.set_state(live, State::InKernel)?;
            return tracee::cont(live, 0).map_err(Into::into);
        }
        let mut policy = sc::spec(nr).map(|s| s.replay).unwrap_or(Policy::Emulate);
        if call.result < 0 && nr != sc::nr::CHDIR && nr != sc::nr::RT_SIGRETURN {
            // A failed call changed nothing: just report the same failure.
            // (rt_sigreturn's "result" is the interrupted context's rax.)
            policy = Policy::Emulate;
        }
        if nr == sc::nr::CHDIR {
            // The directory may only have existed during recording (mkdir is
            // emulated); the recorded result is what the program sees.
            policy = Policy::ExecuteThenEmulate;
        }
        if nr == sc::nr::PERSONALITY || machine::sets_memory_limit(nr, &call.args) {
            // The persona and the memory limits shape the layout of the
            // next exec and what brk and mmap give, which replay makes for
            // real: they are set here too (the persona as the recorder made it).
            policy = Policy::ExecuteThenEmulate;
        }
        if machine::installs_seccomp_filter(nr, &call.args) && call.result >= 0 {
            // The program's own filter decides about its later syscalls
            // (e.g. answers some with an errno, which then never reach the
            // recorder): it must be in force during replay too.
            policy = Policy::Execute;
        }
        if crate::record::is_clone(nr) && call.result > 0 {
            return self.replay_clone(live, rec, call, p);
        }
        // Taken before the mapping below consumes the mapping's record.
        let rewritten_map = self.mapping_to_rewrite(rec, call)?;
        if policy == Policy::Emulate {
            if let Some(done) = self.replay_masked_wait(live, rec, regs, call)? {
                return Ok(done);
            }
        }
        let at_exit = match policy {
            Policy::Emulate => {
                machine::skip_syscall(live, regs, call.result)?;
                self.write_outputs(live, call)?;
                self.echo_output(live, rec, call, p.index)?;
                false
            }
            Policy::Execute if nr == sc::nr::MMAP && self.map_shared_file(live, rec, regs, call, p, inode)? => true,
            Policy::Execute if nr == sc::nr::MMAP && self.map_file_itself(live, rec, regs, call, p)? => true,
            Policy::Execute | Policy::ExecuteThenEmulate => {
                let mut regs = regs;
                let placed = nr == sc::nr::MMAP || nr == sc::nr::MREMAP || nr == sc::nr::PERSONALITY;
                if placed {
                    tracee::set_syscall_args(&mut regs, &placed_args(call));
                    tracee::set_regs(live, &regs)?;
                }
                let placed = placed || self.shm_as_mapping(live, rec, &mut regs, call)?;
                tracee::cont_syscall(live, 0)?;
                let mut exit = self.wait_syscall_exit(live, rec, p)?;
                if placed && tracee::syscall_args(&exit) != call.args {
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
        if let Some(map) = rewritten_map {
            let task = self.tasks.get(&live).ok_or_else(|| unknown_task(live))?;
            self.random.after_mapping(&task.mem, &map, true)?;
        }
        if nr == sc::nr::SHMGET && call.result >= 0 && call.args[1] > 0 {
            // Pages the kernel gives the segment.
            self.shm_sizes.insert(call.result as u64, call.args[1].div_ceil(4096) * 4096);
        }
        if machine::installs_seccomp_filter(nr, &call.args) && call.result >= 0 && syscallbuf::region_mapped(live) {
            // As the recorder did (the program's filter would trap the
            // library's own syscalls).
            syscallbuf::disable(self.mem(live)?)?;
        }
        self.fds(rec).apply(nr, &call.args, call.result);
        if StdFds::changed_by(nr) {
            self.task_mut(live)?.fd_state_changed = true;
        }
        if let Some((path, cloexec)) = crate::fdmodel::opened_path(nr, &call.args).filter(|_| call.result >= 0) {
            // The program's memory holds the same path as when recording.
            let path = self.mem(live)?.read_cstr(path, 64);
            let tgid = self.process_of(rec);
            if self.fds(rec).reopened(call.result as u64, &path, tgid as u64, cloexec) {
                self.task_mut(live)?.fd_state_changed = true;
            }
        }
        let tgid = self.process_of(rec);
        if let Some(write) = self.open_files.get(&tgid).and_then(|files| self.shared_file_write(files, call, 0)) {
            self.apply_shared_file_write(live, rec, &write)?;
        }
        self.track_files(live, rec, call);
        self.track_shared_files(rec, call);
        self.resume_after_syscall(live, rec, call, at_exit)
    }

    /// Follows the ranges that were shared file mappings in the recording
    /// (see `Session::shared_files`) through mmap, munmap and mremap.
    fn track_shared_files(&mut self, rec: Tid, call: &SyscallRecord) {
        const PAGE: u64 = 4096;
        let page_up = |len: u64| len.saturating_add(PAGE - 1) & !(PAGE - 1);
        if call.result < 0 {
            return;
        }
        let args = &call.args;
        let result = call.result as u64;
        type Range = (u64, u64);
        let (gone, new_shared): (Vec<Range>, Option<Range>) = match call.nr {
            sc::nr::MMAP => {
                let range = (result, result.saturating_add(page_up(args[1])));
                let shared_file = machine::maps_file_shared(args[3]);
                (vec![range], shared_file.then_some(range))
            }
            sc::nr::MUNMAP => (vec![(args[0], args[0].saturating_add(page_up(args[1])))], None),
            // A moved or resized shared mapping is forgotten: the
            // approximation errs towards a reported difference.
            sc::nr::MREMAP => (
                vec![(args[0], args[0].saturating_add(page_up(args[1]))), (result, result.saturating_add(page_up(args[2])))],
                None,
            ),
            _ => return,
        };
        let tgid = self.process_of(rec);
        let ranges = self.shared_files.entry(tgid).or_default();
        for (gone_start, gone_end) in gone {
            *ranges = ranges
                .iter()
                .flat_map(|&(start, end)| [(start, end.min(gone_start)), (start.max(gone_end), end)])
                .filter(|(start, end)| start < end)
                .collect();
        }
        ranges.extend(new_shared);
    }

    /// A wait that swaps the signal mask (rt_sigsuspend, pselect6, ppoll,
    /// epoll_pwait) and was interrupted by a recorded signal: the signal is
    /// only deliverable under the temporary mask, so the task really waits
    /// in rt_sigsuspend with that mask and the replayer sends it the signal;
    /// the kernel then saves and restores the mask exactly as it did.
    fn replay_masked_wait(&mut self, live: Tid, rec: Tid, mut regs: Regs, call: &SyscallRecord) -> Result<Option<()>> {
        let interrupted = machine::is_restart_code(call.result) || call.result == -(machine::EINTR as i64);
        if !interrupted {
            return Ok(None);
        }
        let signo = match self.queue.peek_for(rec).map(|p| &p.event) {
            Some(Event::Signal(s)) if s.origin != scribe_trace::signal_origin::FAULT => s.signo,
            _ => return Ok(None),
        };
        let mem = self.mem(live)?;
        let mask = match call.nr {
            sc::nr::RT_SIGSUSPEND => call.args[0],
            sc::nr::PSELECT6 if call.args[5] != 0 => mem.read_u64(call.args[5]).unwrap_or(0),
            sc::nr::PPOLL => call.args[3],
            sc::nr::EPOLL_PWAIT | sc::nr::EPOLL_PWAIT2 => call.args[4],
            _ => 0,
        };
        if mask == 0 {
            return Ok(None);
        }
        self.write_outputs(live, call)?;
        regs.orig_rax = u64::from(sc::nr::RT_SIGSUSPEND);
        regs.rdi = mask;
        regs.rsi = 8;
        tracee::set_regs(live, &regs)?;
        let task = self.task_mut(live)?;
        task.injecting = Some(signo);
        task.restore_call = Some((call.nr, call.args));
        self.set_state(live, State::Running)?;
        tracee::cont(live, 0)?;
        let tgid = procfs::tgid(live).unwrap_or(live);
        tracee::signal_thread(tgid, live, signo);
        Ok(Some(()))
    }

    /// Re-executes clone/fork/vfork/clone3, maps the recorded child tid to
    /// the new live task and gives the parent the recorded result.
    fn replay_clone(&mut self, live: Tid, rec: Tid, call: &SyscallRecord, p: &Positioned) -> Result<()> {
        let child_rec = call.result as Tid;
        self.forget_earlier_task(child_rec);
        let (flags, parent_tid_ptr, child_tid_ptr) = clone_tid_pointers(self.mem(live)?, call);
        self.pids.ask_for(child_rec);
        tracee::cont_syscall(live, 0)?;
        let mut created = false;
        loop {
            let (_, status) = tracee::wait(live)?;
            match status {
                WaitStatus::Event(event @ (PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork)) => {
                    created = true;
                    let child = tracee::get_event_msg(live)? as Tid;
                    self.pids.got(child_rec, child);
                    let mem = TraceeMemory::open(child)?;
                    let state = if self.early_stops.remove(&child) { State::AtStart } else { State::Starting };
                    let mut task = LiveTask::new(child_rec, mem, state);
                    if flags & CLONE_CHILD_SETTID != 0 && child_tid_ptr != 0 {
                        task.child_tid_fix = Some((child_tid_ptr, child_rec));
                    }
                    self.tasks.insert(child, task);
                    if state == State::AtStart {
                        self.fix_child_tid(child)?;
                    }
                    self.live_of.insert(child_rec, child);
                    let parent_tgid = self.process_of(rec);
                    if flags & CLONE_THREAD != 0 {
                        self.tgid_of.insert(child_rec, parent_tgid);
                    } else {
                        self.tgid_of.insert(child_rec, child_rec);
                        if self.buffers.contains(&parent_tgid) {
                            self.buffers.insert(child_rec);
                        }
                        if event == PtraceEvent::Vfork {
                            self.vfork_children.insert(child_rec);
                        }
                        let parent_table = self.fds(rec);
                        let table = if event == PtraceEvent::Vfork { parent_table.for_vfork_child() } else { parent_table.clone() };
                        self.std_fds.insert(child_rec, table);
                        if let Some(files) = self.open_files.get(&parent_tgid).map(|files| files.for_child(child_rec)) {
                            self.open_files.insert(child_rec, files);
                        }
                        if let Some(shared) = self.shared_files.get(&parent_tgid).cloned() {
                            self.shared_files.insert(child_rec, shared);
                        }
                    }
                    let pins = self.task_mut(live)?.pins.start_child(child, flags & CLONE_THREAD != 0, parent_tgid);
                    self.task_mut(child)?.pins = pins;
                    if flags & CLONE_PARENT_SETTID != 0 && parent_tid_ptr != 0 {
                        // Written by the kernel before the event stop.
                        self.mem(live)?.write(parent_tid_ptr, &child_rec.to_le_bytes())?;
                    }
                    if event == PtraceEvent::Vfork {
                        // The parent returns only once the child has exec'd or exited.
                        let task = self.task_mut(live)?;
                        task.vfork_result = Some(call.result);
                        self.set_state(live, State::InKernel)?;
                        return tracee::cont_syscall(live, 0).map_err(Into::into);
                    }
                    tracee::cont_syscall(live, 0)?;
                }
                WaitStatus::SyscallStop if !created => {
                    // A signal of the replay's own world (a real child's
                    // SIGCHLD) made fork give up with ERESTARTNOINTR: let the
                    // signal be discarded and the call start again.
                    let mut regs = tracee::get_regs(live)?;
                    regs.rip -= 2;
                    regs.rax = regs.orig_rax;
                    tracee::set_regs(live, &regs)?;
                    tracee::cont(live, 0)?;
                }
                WaitStatus::SyscallStop => {
                    let mut regs = tracee::get_regs(live)?;
                    regs.rax = call.result as u64;
                    tracee::set_regs(live, &regs)?;
                    return self.resume_after_syscall(live, rec, call, true);
                }
                WaitStatus::Signal(_) => tracee::cont(live, 0)?,
                WaitStatus::Event(PtraceEvent::Seccomp) => tracee::cont_syscall(live, 0)?,
                other => {
                    return Err(self.divergence(rec, Some(live), format!("clone did not behave as recorded ({other:?})"), Some(p), describe_stop(call.nr, &call.args)));
                }
            }
        }
    }

    /// The exit stop of a vfork parent: it may run once its `TaskStart` comes up.
    fn on_vfork_return(&mut self, live: Tid) -> Result<()> {
        self.task_mut(live)?.at_vfork_exit = true;
        let result = self.task_mut(live)?.vfork_result.take().unwrap_or(0);
        let mut regs = tracee::get_regs(live)?;
        regs.rax = result as u64;
        tracee::set_regs(live, &regs)?;
        self.set_state(live, State::AtStart)
    }

    /// The signal task `rec` received right at the syscall exit it is
    /// stopped at, if its next event is one (not a fault: those the
    /// instruction raises again by itself).
    fn signal_at_syscall_exit(&mut self, rec: Tid) -> Option<i32> {
        match self.queue.peek_for(rec).map(|p| &p.event) {
            Some(Event::Signal(s)) if s.tid == rec && s.origin != scribe_trace::signal_origin::FAULT => Some(s.signo),
            _ => None,
        }
    }

    /// Resumes a task after a syscall, injecting a signal that the recording
    /// delivered right at that syscall's return.
    fn resume_after_syscall(&mut self, live: Tid, rec: Tid, call: &SyscallRecord, at_exit: bool) -> Result<()> {
        if self.should_park(rec) {
            return self.park(live, Continuation::AfterSyscall { call: call.clone(), at_exit });
        }
        self.set_state(live, State::Running)?;
        let Some(signo) = self.signal_at_syscall_exit(rec) else {
            if machine::is_restart_code(call.result) {
                self.restart_syscall(live, rec, call, at_exit)?;
            }
            return self.resume(live, 0);
        };
        let mut regs = self.regs_at_syscall_exit(live, rec, at_exit, "deliver a signal")?;
        regs.rax = call.result as u64;
        if machine::is_restart_code(call.result) {
            // Let the kernel's signal delivery see the interrupted syscall, so
            // it restarts it or turns the code into EINTR as it did when recording.
            regs.orig_rax = u64::from(call.nr);
        }
        tracee::set_regs(live, &regs)?;
        self.task_mut(live)?.injecting = Some(signo);
        // A signal given at a syscall stop is sent to the task (ptrace(2)); it
        // then stops again at its delivery, where the recorded siginfo is set.
        self.resume(live, signo)
    }

    /// A syscall the recording saw end with a restart code and no signal
    /// delivered there (the recorder's own stop interrupted it and was
    /// discarded): the kernel ran it again, so the task is sent back to its
    /// `syscall` instruction, as the kernel does, to make the restarted
    /// call that comes next in the trace.
    fn restart_syscall(&mut self, live: Tid, rec: Tid, call: &SyscallRecord, at_exit: bool) -> Result<()> {
        const ERESTART_RESTARTBLOCK: i64 = -516;
        let mut regs = self.regs_at_syscall_exit(live, rec, at_exit, "restart the syscall")?;
        regs.rax = if call.result == ERESTART_RESTARTBLOCK { u64::from(sc::nr::RESTART_SYSCALL) } else { u64::from(call.nr) };
        regs.rip -= 2;
        tracee::set_regs(live, &regs)?;
        Ok(())
    }

    /// Whether task `rec`, about to go on, should wait for its next event
    /// to come within the window instead (see [`State::Parked`]).
    fn should_park(&mut self, rec: Tid) -> bool {
        !self.unpark_anyway && self.queue.next_is_far(rec)
    }

    fn park(&mut self, live: Tid, how: Continuation) -> Result<()> {
        self.task_mut(live)?.parked = Some(how);
        self.set_state(live, State::Parked)
    }

    /// Lets a parked task go on even if its next event is still far.
    fn unpark_anyway(&mut self, live: Tid) -> Result<()> {
        self.unpark_anyway = true;
        let unparked = self.unpark(live);
        self.unpark_anyway = false;
        unparked
    }

    /// Lets a parked task go on as it would have when it was parked.
    fn unpark(&mut self, live: Tid) -> Result<()> {
        let Some(how) = self.task_mut(live)?.parked.take() else { return Ok(()) };
        let rec = self.rec(live)?;
        match how {
            Continuation::AfterSyscall { call, at_exit } => self.resume_after_syscall(live, rec, &call, at_exit),
            Continuation::Resume { sig } => {
                self.set_state(live, State::Running)?;
                self.resume(live, sig)
            }
        }
    }

    /// The registers of a task at its syscall's exit stop, letting it get
    /// there first when it is still at the entry (`at_exit` false), in order
    /// to `what` there.
    fn regs_at_syscall_exit(&self, live: Tid, rec: Tid, at_exit: bool, what: &str) -> Result<Regs> {
        if !at_exit {
            tracee::cont_syscall(live, 0)?;
            let p = self.history.back().map(position).unwrap_or_default();
            let (_, status) = tracee::wait(live)?;
            if status != WaitStatus::SyscallStop {
                return Err(EngineError::Unsupported { tid: rec, what: format!("expected a syscall exit to {what} at {p}, got {status:?}") });
            }
        }
        Ok(tracee::get_regs(live)?)
    }

    fn wait_syscall_exit(&mut self, live: Tid, rec: Tid, p: &Positioned) -> Result<Regs> {
        let (_, status) = tracee::wait(live)?;
        match status {
            WaitStatus::SyscallStop => Ok(tracee::get_regs(live)?),
            other => Err(self.divergence(rec, Some(live), format!("expected the syscall to return, but the task reported {other:?}"), Some(p), String::new())),
        }
    }

    /// System V shared memory: the segments the recording created do not
    /// exist on replay (shmget is not re-run), so shmat becomes a shared
    /// anonymous mapping of the segment's size at the recorded address
    /// (shared with children forked later, as the segment was) and shmdt
    /// its munmap. Returns whether the call was rewritten.
    fn shm_as_mapping(&mut self, live: Tid, rec: Tid, regs: &mut Regs, call: &SyscallRecord) -> Result<bool> {
        const SHM_RDONLY: u64 = 0o10000;
        const SHM_EXEC: u64 = 0o100000;
        let (nr, args) = match call.nr {
            sc::nr::SHMAT if call.result >= 0 => {
                let Some(&size) = self.shm_sizes.get(&call.args[0]) else {
                    let what = format!("shmat of System V segment {} that the recording did not create", call.args[0] as i32);
                    return Err(EngineError::Unsupported { tid: rec, what });
                };
                let prot = 1 | if call.args[2] & SHM_RDONLY == 0 { 2 } else { 0 } | if call.args[2] & SHM_EXEC != 0 { 4 } else { 0 };
                let flags = machine::MAP_SHARED | machine::MAP_ANONYMOUS | machine::MAP_FIXED;
                self.shm_attached.insert(call.result as u64, size);
                (sc::nr::MMAP, [call.result as u64, size, prot, flags, u64::MAX, 0])
            }
            sc::nr::SHMDT if call.result == 0 => match self.shm_attached.remove(&call.args[0]) {
                Some(size) => (sc::nr::MUNMAP, [call.args[0], size, 0, 0, 0, 0]),
                None => return Ok(false),
            },
            _ => return Ok(false),
        };
        regs.orig_rax = u64::from(nr);
        tracee::set_syscall_args(regs, &args);
        tracee::set_regs(live, regs)?;
        Ok(true)
    }

    /// The record of the file mapping `call` makes, if the file is a
    /// library whose RDRAND and RDSEED are rewritten once it is mapped, as
    /// recording did (see `randinsn`; traces from format 16 on). Only a
    /// file mapping has a record to peek at: peeking for an anonymous one
    /// would read ahead to the task's next event, however far.
    fn mapping_to_rewrite(&mut self, rec: Tid, call: &SyscallRecord) -> Result<Option<MapRecord>> {
        let file_map = call.nr == sc::nr::MMAP
            && call.result >= 0
            && call.args[3] & machine::MAP_ANONYMOUS == 0
            && self.queue.reader.format_version() >= 16;
        if !file_map {
            return Ok(None);
        }
        let Some(Positioned { event: Event::MapFile(map), .. }) = self.queue.peek_for(rec) else { return Ok(None) };
        let Some(id) = map.file_id else { return Ok(None) };
        let map = map.clone();
        Ok(randinsn::rewrites_file(&self.queue.files.record(id)?.path).then_some(map))
    }

    /// A private mapping of a file replay reads from disk, big enough that
    /// mapping the file beats copying it (see `map_file_itself`).
    fn maps_file_itself(&mut self, rec: Tid, call: &SyscallRecord) -> Result<Option<Vec<u8>>> {
        /// Mapping the file costs four ptrace stops more than copying it,
        /// about what copying 64 KiB into the task costs.
        const MIN_LEN: u64 = 64 << 10;
        let flags = call.args[3];
        if call.result < 0 || flags & machine::MAP_ANONYMOUS != 0 || flags & machine::MAP_TYPE != machine::MAP_PRIVATE || call.args[1] < MIN_LEN {
            return Ok(None);
        }
        let Some(Positioned { event: Event::MapFile(map), .. }) = self.queue.peek_for(rec) else { return Ok(None) };
        let (Some(id), addr, offset) = (map.file_id, map.addr, map.offset) else { return Ok(None) };
        if addr != call.result as u64 || offset != call.args[5] {
            return Ok(None);
        }
        let path = self.queue.files.on_disk_path(id)?;
        Ok(path.filter(|p| !p.contains(&0)).map(|p| [p, &[0]].concat()))
    }

    /// Replays an mmap of a file that is on disk with the recorded content
    /// by mapping that file, where the general way maps anonymous memory
    /// and copies the content in (for `make`, 245 MB copied through
    /// /proc/PID/mem, most of it never read). The task has no descriptor
    /// for the file (its open was emulated), so the mmap becomes an openat
    /// of the path (written below the stack's red zone, then put back),
    /// followed by the mmap itself and a close, all run through the
    /// program's own `syscall` instruction. Returns false, with nothing
    /// done, where this does not apply; the task ends at the mmap's exit
    /// stop with the program's registers, as the general way leaves it.
    fn map_file_itself(&mut self, live: Tid, rec: Tid, regs: Regs, call: &SyscallRecord, p: &Positioned) -> Result<bool> {
        const O_RDONLY_CLOEXEC: u64 = 0o2000000;
        let Some(path) = self.maps_file_itself(rec, call)? else {
            let Some(kept) = self.task_mut(live)?.kept_map_fd.take() else { return Ok(false) };
            self.map_after_closing(kept, live, rec, regs, call, p)?;
            return Ok(true);
        };
        let mapped = self.map_through_open(live, rec, regs, call, p, (&path, O_RDONLY_CLOEXEC))?;
        self.files_mapped_itself += u64::from(mapped == Some(true));
        Ok(mapped.is_some())
    }

    /// An mmap that is not mapped through a file although descriptor
    /// `kept` was kept open for it (its file turned out not to be on disk):
    /// the descriptor is closed first, as this syscall, and the mmap is made
    /// the general way.
    fn map_after_closing(&mut self, kept: KeptMapFd, live: Tid, rec: Tid, regs: Regs, call: &SyscallRecord, p: &Positioned) -> Result<()> {
        let (_, exit) = self.run_at_entry(live, rec, regs, sc::nr::CLOSE, [kept.fd, 0, 0, 0, 0, 0], p)?;
        let (mapped, mut exit) = tracee::syscall_again(live, &exit, u64::from(sc::nr::MMAP), placed_args(call))?;
        if mapped != call.result {
            let what = format!("re-executed mmap returned {mapped}, recorded {}", call.result);
            return Err(self.divergence(rec, Some(live), what, Some(p), describe_stop(call.nr, &call.args)));
        }
        self.fill_mapping(live, rec)?;
        exit.orig_rax = u64::from(call.nr);
        tracee::set_syscall_args(&mut exit, &call.args);
        tracee::set_regs(live, &exit)?;
        Ok(())
    }

    /// Makes the task, stopped at a syscall's entry with `regs`, make
    /// syscall `nr` with `args` instead; its result and registers at exit.
    fn run_at_entry(&mut self, live: Tid, rec: Tid, regs: Regs, nr: u32, args: [u64; 6], p: &Positioned) -> Result<(i64, Regs)> {
        let mut call = regs;
        call.orig_rax = u64::from(nr);
        tracee::set_syscall_args(&mut call, &args);
        tracee::set_regs(live, &call)?;
        tracee::cont_syscall(live, 0)?;
        let exit = self.wait_syscall_exit(live, rec, p)?;
        Ok((exit.rax as i64, exit))
    }

    /// Whether the next event of `rec` is a private mmap of recorded
    /// descriptor `fd`: then a descriptor opened for this mmap stays open
    /// for that one (which closes it first if it is not mapped from disk
    /// after all, see `map_after_closing`).
    fn next_maps_same_fd(&mut self, rec: Tid, fd: u64) -> bool {
        match self.queue.peek_past_serials(rec).map(|p| &p.event) {
            Some(Event::Syscall(next)) => {
                let flags = next.args[3];
                next.nr == sc::nr::MMAP
                    && next.result >= 0
                    && next.args[4] == fd
                    && flags & machine::MAP_ANONYMOUS == 0
                    && flags & machine::MAP_TYPE == machine::MAP_PRIVATE
            }
            _ => false,
        }
    }

    /// Replays an mmap of a shared file (`inode`, named by the serial
    /// before the call) by mapping a memory file the replayer keeps for
    /// that inode, so that every process that maps the file shares the
    /// pages, as they shared the file's: processes that open a semaphore
    /// or a database's shared memory by name meet only there. The recorded
    /// content goes into the memory file first: it is what the file held
    /// at this mmap, in an order the memory domains keep (see `Join`).
    /// Returns false, with nothing done, where this does not apply.
    fn map_shared_file(&mut self, live: Tid, rec: Tid, regs: Regs, call: &SyscallRecord, p: &Positioned, inode: Option<u64>) -> Result<bool> {
        const O_RDWR_CLOEXEC: u64 = 0o2000002;
        const PAGE: u64 = 4096;
        if call.result < 0 || !machine::maps_file_shared(call.args[3]) {
            return Ok(false);
        }
        let tgid = self.process_of(rec);
        let path = match self.open_files.get(&tgid).and_then(|files| files.get(call.args[4] as i32)) {
            Some(crate::golive::OpenFile::File { path, flags, .. }) => Some((path.clone(), flags & O_ACCMODE != O_RDONLY)),
            _ => None,
        };
        let Some(inode) = inode.or_else(|| self.read_only_mapping_key(path.as_ref())) else { return Ok(false) };
        if let Some((path, _)) = &path {
            self.key_shared_file(path, inode);
        }
        let Some(i) = self.queue.find_for(rec) else { return Ok(false) };
        let EventQueue { ahead, files, .. } = &mut self.queue;
        let Event::MapFile(map) = &ahead[i].event else { return Ok(false) };
        let offset = map.offset;
        let len = call.args[1].saturating_add(PAGE - 1) & !(PAGE - 1);
        let bytes = mapping_content(files, map, len)?;
        let object = match self.shared_files_by_inode.entry(inode) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => match tracee::memory_file("scribe-shared-file") {
                Ok(file) => e.insert(file),
                Err(_) => return Ok(false),
            },
        };
        let filled = (|| {
            use std::os::unix::fs::FileExt;
            let end = offset.saturating_add(len);
            if object.metadata()?.len() < end {
                object.set_len(end)?;
            }
            object.write_all_at(&bytes, offset)
        })();
        if filled.is_err() {
            return Ok(false);
        }
        let path = format!("/proc/{}/fd/{}\0", std::process::id(), std::os::fd::AsRawFd::as_raw_fd(object));
        let mapped = self.map_through_open(live, rec, regs, call, p, (path.as_bytes(), O_RDWR_CLOEXEC))?;
        self.shared_file_mappings += u64::from(mapped == Some(true));
        Ok(mapped.is_some())
    }

    /// Whether `call` is a wait4 that reaped a child that has not ended in
    /// replay yet. It is replayed once the child has ended, as it returned
    /// when recorded: its serials order it only after the child's creation,
    /// and what the child did to the parent's world before its end (a
    /// write to a file the parent maps shared) must come first. The
    /// child's end is before the wait in the trace (the recorder sees a
    /// traced child's death before its parent can reap it), so the wait
    /// never waits for anything the trace has later. A wait4 that may
    /// report a stop or a continue (WUNTRACED, WCONTINUED) is not held.
    fn reaps_unended_child(&self, call: &SyscallRecord) -> bool {
        const WUNTRACED: u64 = 2;
        const WCONTINUED: u64 = 8;
        if call.nr != sc::nr::WAIT4 || call.result <= 0 || call.args[2] & (WUNTRACED | WCONTINUED) != 0 {
            return false;
        }
        self.live_of.get(&(call.result as Tid)).is_some_and(|live| self.tasks.contains_key(live))
    }

    /// A copy of the program `exec` ran to execute instead of the file on
    /// disk, where that is gone or changed and the trace holds the
    /// recorded content (see `FileStore::exec_stand_in`).
    fn exec_stand_in(&mut self, exec: &ExecRecord) -> Result<Option<PathBuf>> {
        let files = &self.queue.files;
        let Some(&id) = exec.mapped_files.iter().find(|&&id| files.record(id).is_ok_and(|r| r.path == exec.exe_path)) else {
            return Ok(None);
        };
        if self.exec_copies.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("scribe-programs-")
                .tempdir()
                .map_err(|e| EngineError::io("making a directory for recorded programs", e))?;
            self.exec_copies = Some(dir);
        }
        let dir = self.exec_copies.as_ref().map(|d| d.path().to_path_buf()).unwrap_or_default();
        self.queue.files.exec_stand_in(id, &dir)
    }

    /// Makes the execve task `live` is stopped at run a copy of the
    /// recorded program instead of the file its path names, where that is
    /// needed (see `exec_stand_in`): the copy's path is written below the
    /// stack's red zone and given to the call. Returns where, with the
    /// bytes it replaced, to be put back (a vfork child's memory is its
    /// parent's), or `None` where the file on disk is run.
    fn exec_recorded_copy(&mut self, live: Tid, exec: &ExecRecord) -> Result<Option<(u64, Vec<u8>)>> {
        const PATH_MAX: usize = 4096;
        let mut regs = tracee::get_regs(live)?;
        let named = self.mem(live)?.read_cstr(regs.rdi, PATH_MAX);
        let rec = self.rec(live)?;
        let tgid = self.process_of(rec);
        let cwd = match self.open_files.get(&tgid) {
            Some(files) => files.cwd().to_vec(),
            None => std::fs::read_link(format!("/proc/{live}/cwd")).map(|p| std::os::unix::ffi::OsStringExt::into_vec(p.into_os_string())).unwrap_or_default(),
        };
        if !names_file(&named, &cwd, &exec.exe_path) {
            return Ok(None);
        }
        let Some(copy) = self.exec_stand_in(exec)? else { return Ok(None) };
        let mut path = std::os::unix::ffi::OsStringExt::into_vec(copy.into_os_string());
        path.push(0);
        let Some((scratch, saved)) = self.put_below_red_zone(live, regs.rsp, &path)? else { return Ok(None) };
        regs.rdi = scratch;
        tracee::set_regs(live, &regs)?;
        Ok(Some((scratch, saved)))
    }

    /// Writes `bytes` into task `live`'s stack below the red zone under
    /// `rsp`, for a call made there to read. Returns the address and the
    /// bytes replaced (to be put back), or `None`, with nothing written,
    /// where that memory cannot be read or written.
    fn put_below_red_zone(&self, live: Tid, rsp: u64, bytes: &[u8]) -> Result<Option<(u64, Vec<u8>)>> {
        const RED_ZONE: u64 = 128;
        let scratch = rsp.wrapping_sub(RED_ZONE + bytes.len() as u64) & !15;
        let mem = self.mem(live)?;
        let Ok(saved) = mem.read(scratch, bytes.len()) else { return Ok(None) };
        if mem.write(scratch, bytes).is_err() {
            return Ok(None);
        }
        Ok(Some((scratch, saved)))
    }

    /// Whether `call` (event `index`) is a clone, fork or vfork whose child
    /// took the id of a task whose end is still to be replayed (see
    /// `EventQueue::earlier_task_with_id_pending`).
    fn makes_a_pending_id(&self, call: &SyscallRecord, index: u64) -> bool {
        (call.nr == sc::nr::VFORK || crate::record::is_clone(call.nr))
            && call.result > 0
            && self.queue.earlier_task_with_id_pending(call.result as Tid, index)
    }

    /// Forgets what replay kept of an ended task whose id recorded task
    /// `rec`, being made now, takes again.
    fn forget_earlier_task(&mut self, rec: Tid) {
        if self.ended.remove(&rec).is_some() {
            self.killed_by_group_exit.remove(&rec);
            self.vfork_children.remove(&rec);
            self.buffers.remove(&rec);
            self.header_flags.remove(&rec);
            self.reused_ids += 1;
        }
    }

    /// The memory-file key of a shared mapping the recording gave no inode
    /// serial (no process mapped the file writable): one by path, for a
    /// file its process opened for writing (LMDB and bbolt map their file
    /// read-only and write it with pwrite, which the mapping shows), so
    /// that replayed writes reach the mapping. `None` for other files (a
    /// cache every process maps read-only), mapped the general way.
    fn read_only_mapping_key(&mut self, path: Option<&(Vec<u8>, bool)>) -> Option<u64> {
        let (path, writable) = path?;
        if let Some(&key) = self.shared_file_paths.get(path) {
            return Some(key);
        }
        if !writable {
            return None;
        }
        // The top bit set: inode ids (inode numbers mixed with device
        // numbers) practically never have it.
        let key = PATH_KEYS | self.shared_file_paths.len() as u64;
        self.shared_file_paths.insert(path.clone(), key);
        Some(key)
    }

    /// Makes `key` the memory-file key of `path`. A path first mapped
    /// without an inode serial (keyed by path) and later with one keeps
    /// one memory file: it moves to the inode's key, unless that has one.
    fn key_shared_file(&mut self, path: &[u8], key: u64) {
        match self.shared_file_paths.insert(path.to_vec(), key) {
            Some(old) if old != key && old & PATH_KEYS != 0 && !self.shared_files_by_inode.contains_key(&key) => {
                if let Some(file) = self.shared_files_by_inode.remove(&old) {
                    self.shared_files_by_inode.insert(key, file);
                }
            }
            _ => {}
        }
    }

    /// Makes the task, stopped at a syscall's entry with `regs`, open `path`
    /// (NUL-terminated) with `flags` instead, through its own `syscall`
    /// instruction; the path is written below the stack's red zone and put
    /// back. Returns the descriptor (or negative errno) and the registers at
    /// that openat's exit, or `None`, with nothing done, where the path
    /// cannot be written there.
    fn open_in_task(&mut self, live: Tid, rec: Tid, regs: Regs, path: &[u8], flags: u64, p: &Positioned) -> Result<Option<(i64, Regs)>> {
        const AT_FDCWD: u64 = -100i64 as u64;
        let Some((scratch, saved)) = self.put_below_red_zone(live, regs.rsp, path)? else { return Ok(None) };
        let (fd, exit) = self.run_at_entry(live, rec, regs, sc::nr::OPENAT, [AT_FDCWD, scratch, flags, 0, 0, 0], p)?;
        self.mem(live)?.write(scratch, &saved)?;
        Ok(Some((fd, exit)))
    }

    /// Runs, at the seccomp stop of the mmap `call`, an openat of `path`
    /// (NUL-terminated) with `open_flags`, the mmap itself with that descriptor at the
    /// recorded address, and a close, through the program's own `syscall`
    /// instruction; where that fails, the general way (anonymous memory
    /// filled with the recorded content). Returns whether the file was
    /// mapped, or `None` with nothing done when the path cannot be put in
    /// the task's memory. The task ends at the mmap's exit stop with the
    /// program's registers and the recorded result.
    fn map_through_open(
        &mut self,
        live: Tid,
        rec: Tid,
        regs: Regs,
        call: &SyscallRecord,
        p: &Positioned,
        (path, open_flags): (&[u8], u64),
    ) -> Result<Option<bool>> {
        let addr = call.result as u64;
        let [_, len, prot, flags, recorded_fd, offset] = call.args;
        let fixed = (flags & !machine::MAP_FIXED_NOREPLACE) | machine::MAP_FIXED;
        // The loader maps a library in three or four pieces from one
        // descriptor: the file opened for the first piece stays open for
        // the next ones, which are then made as the syscall the task
        // stopped at (two stops each instead of six).
        let kept = match self.task_mut(live)?.kept_map_fd.take() {
            Some(stale) if stale.path != path || stale.recorded_fd != recorded_fd => {
                // Not the mmap it was kept for (which the check before keeping
                // it rules out): closed, and this mmap made the general way.
                self.map_after_closing(stale, live, rec, regs, call, p)?;
                return Ok(Some(false));
            }
            kept => kept,
        };
        let (fd, mut mapped, mut exit) = match kept {
            Some(kept) => {
                let fd = kept.fd as i64;
                let (mapped, exit) = self.run_at_entry(live, rec, regs, sc::nr::MMAP, [addr, len, prot, fixed, kept.fd, offset], p)?;
                self.files_mapped_through_kept_fd += u64::from(mapped as u64 == addr);
                (fd, mapped, exit)
            }
            None => {
                let Some((fd, exit)) = self.open_in_task(live, rec, regs, path, open_flags, p)? else { return Ok(None) };
                let mut mapped = -1;
                let mut exit = exit;
                if fd >= 0 {
                    (mapped, exit) = tracee::syscall_again(live, &exit, u64::from(sc::nr::MMAP), [addr, len, prot, fixed, fd as u64, offset])?;
                }
                (fd, mapped, exit)
            }
        };
        let through_file = mapped as u64 == addr;
        if through_file {
            let map = self.queue.take_for(rec).expect("peeked event exists");
            self.remember(&map);
        }
        if fd >= 0 {
            if through_file && self.next_maps_same_fd(rec, recorded_fd) {
                self.task_mut(live)?.kept_map_fd = Some(KeptMapFd { path: path.to_vec(), recorded_fd, fd: fd as u64 });
            } else {
                (_, exit) = tracee::syscall_again(live, &exit, u64::from(sc::nr::CLOSE), [fd as u64, 0, 0, 0, 0, 0])?;
            }
        }
        if !through_file {
            // The task could not open or map it (another root, a mount
            // namespace): the general way, from the copy replay checked.
            (mapped, exit) = tracee::syscall_again(live, &exit, u64::from(sc::nr::MMAP), placed_args(call))?;
            if mapped as u64 != addr {
                let what = format!("re-executed mmap returned {mapped}, recorded {}", call.result);
                return Err(self.divergence(rec, Some(live), what, Some(p), describe_stop(call.nr, &call.args)));
            }
            self.fill_mapping(live, rec)?;
        }
        exit.rax = addr;
        exit.orig_rax = u64::from(call.nr);
        tracee::set_syscall_args(&mut exit, &call.args);
        tracee::set_regs(live, &exit)?;
        Ok(Some(through_file))
    }

    /// Fills a replayed file mapping with the recorded content.
    fn fill_mapping(&mut self, live: Tid, rec: Tid) -> Result<()> {
        let is_map = matches!(self.queue.peek_for(rec).map(|p| &p.event), Some(Event::MapFile(_)));
        if !is_map {
            return Ok(());
        }
        let p = self.queue.take_for(rec).expect("peeked event exists");
        let Event::MapFile(map) = &p.event else { unreachable!("checked above") };
        let bytes = mapping_content(&mut self.queue.files, map, map.len)?;
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

    /// Writes again what the program sent to the original stdout or stderr
    /// (the stopped write at event `index`).
    fn echo_output(&mut self, live: Tid, rec: Tid, call: &SyscallRecord, index: u64) -> Result<()> {
        if call.result <= 0 {
            return Ok(());
        }
        let Some(stream) = self.fds(rec).output_stream(call.args[0]) else { return Ok(()) };
        let len = call.result as usize;
        let mem = self.mem(live)?;
        let bytes = match call.nr {
            sc::nr::WRITE | sc::nr::PWRITE64 => mem.read(call.args[1], len)?,
            sc::nr::WRITEV | sc::nr::PWRITEV | sc::nr::PWRITEV2 => gather_iovecs(mem, call.args[1], call.args[2], len)?,
            _ => return Ok(()),
        };
        self.output_in_order(index, stream, bytes);
        Ok(())
    }

    /// Writes `bytes` to the replay's stdout or stderr, as `stream` says.
    fn show_output(&mut self, stream: StdStream, bytes: &[u8]) {
        let out = match stream {
            StdStream::Stdout => &mut self.options.stdout,
            _ => &mut self.options.stderr,
        };
        // A closed consumer (e.g. `| head`) must not abort the replay.
        let _ = out.write_all(bytes).and_then(|_| out.flush());
    }

    /// What a buffered write sent to the original stdout or stderr
    /// (`flags::STD_WRITES`), from the bytes its record keeps (the batch
    /// check then finds the program's own bytes equal to them), to show
    /// again when the program makes it (see [`Session::show_output_made`]).
    ///
    /// Such a write was made while the recording had one memory domain, but
    /// writes of domains that had ended before it may not be replayed yet
    /// (domains replay in parallel, and the recorder cannot wait for them):
    /// it is then kept until they are (`output_in_order`), so the output
    /// keeps its order.
    fn buffered_output(&mut self, rec: Tid, call: &SyscallRecord) -> Option<(StdStream, Vec<u8>)> {
        if call.nr != sc::nr::WRITE || call.result <= 0 {
            return None;
        }
        let stream = self.fds(rec).output_stream(call.args[0])?;
        let bytes = call.inputs.first().and_then(|m| m.bytes.get(..call.result as usize))?;
        Some((stream, bytes.to_vec()))
    }

    /// Shows the output of the write at event `index` once every earlier
    /// write has been replayed and shown. A stopped write runs only after
    /// the earlier writes of other domains, but buffered output kept for
    /// later (see [`Session::echo_buffered_output`]) may still wait in the
    /// queue, before or after it in the trace: the queue stays in trace
    /// order, so neither overtakes the other.
    fn output_in_order(&mut self, index: u64, stream: StdStream, bytes: Vec<u8>) {
        let at = self.deferred_output.partition_point(|(i, _, _)| *i < index);
        self.deferred_output.insert(at, (index, stream, bytes));
        self.flush_deferred_output(false);
    }

    /// Shows the kept output of buffered writes (see
    /// [`Session::echo_buffered_output`]) that no earlier write waits
    /// before, or all of it.
    fn flush_deferred_output(&mut self, all: bool) {
        while let Some((index, _, _)) = self.deferred_output.front() {
            if !all && self.queue.write_before_index(*index) {
                break;
            }
            let Some((_, stream, bytes)) = self.deferred_output.pop_front() else { break };
            self.show_output(stream, &bytes);
        }
    }

    /// Applies task `rec`'s leaving of its domain, the event at `i` of the
    /// lookahead (its next one).
    fn take_leave(&mut self, rec: Tid, i: usize) {
        self.queue.leave_domain(rec);
        let p = self.queue.take_at(i).expect("peeked event exists");
        self.remember_owned(p);
    }

    fn replay_exec(&mut self, live: Tid, rec: Tid, nr: u32, args: [u64; 6]) -> Result<()> {
        let p = self.queue.take_for(rec).expect("peeked event exists");
        let Event::Exec(exec) = &p.event else { unreachable!("checked by the caller") };
        let exec = exec.clone();
        if nr == sc::nr::EXECVEAT {
            self.stand_in_for_exec_descriptor(live, rec, &args, &p)?;
        }
        let stand_in = if nr == sc::nr::EXECVE { self.exec_recorded_copy(live, &exec)? } else { None };
        // The exec kills the process's other threads, as a group exit does.
        let killed_threads = self.kill_other_threads(rec);
        tracee::cont_syscall(live, 0)?;
        let status = loop {
            let (stopped, status) = tracee::wait(if killed_threads { -1 } else { live })?;
            if stopped == live {
                break status;
            }
            // The kernel finishes the exec only once the other threads are
            // gone: they stop at their exit, and this tracer lets them go.
            self.dispatch(stopped, status)?;
        };
        if status != WaitStatus::Event(PtraceEvent::Exec) {
            return Err(self.divergence(rec, Some(live), format!("execve did not succeed as recorded ({status:?})"), Some(&p), describe_stop(nr, &args)));
        }
        if let Some((scratch, saved)) = &stand_in {
            // Through the handle on the memory before the exec: a vfork
            // child's was its parent's, which must not keep the path.
            let _ = self.mem(live)?.write(*scratch, saved);
        }
        self.apply_exec(live, &exec, &p, stand_in.is_some())?;
        self.remember(&p);
        let Some(call) = self.next_for(rec, live, || describe_stop(nr, &args))? else { return Ok(()) };
        match &call.event {
            Event::Syscall(c) if c.nr == nr && same_args(nr, &c.args, &args) => {}
            _ => return Err(self.divergence(rec, Some(live), "the execve differs from the recording".into(), Some(&call), describe_stop(nr, &args))),
        }
        self.remember(&call);
        self.fds(rec).exec();
        let tgid = self.process_of(rec);
        self.buffers.remove(&tgid);
        self.vfork_children.remove(&tgid);
        if let Some(files) = self.open_files.get_mut(&tgid) {
            files.exec();
        }
        // A vfork child the recorder gave a domain of its own here.
        if let Some(i) = self.queue.first_of_task(rec) {
            if matches!(&self.queue.ahead[i].event, Event::Join(j) if j.tid == rec && j.leaves_domain()) {
                self.take_leave(rec, i);
            }
        }
        self.set_state(live, State::Running)?;
        self.resume(live, 0)
    }

    /// Before an `execveat` relative to a descriptor (`fexecve` is one with
    /// an empty path): that descriptor's open was emulated, so the task has
    /// none. The file or directory it named when recording is opened in
    /// the task on that very number (O_PATH, close-on-exec), so that the
    /// kernel execs the same file under the same name ("/dev/fd/N", which
    /// the new program's stack holds). Nothing is done where the number is
    /// taken in the task or the path is unknown (a memfd): the exec then
    /// fails as before and replay reports it.
    fn stand_in_for_exec_descriptor(&mut self, live: Tid, rec: Tid, args: &[u64; 6], p: &Positioned) -> Result<()> {
        const AT_FDCWD: i32 = -100;
        const O_PATH_CLOEXEC: u64 = 0o10000000 | 0o2000000;
        let fd = args[0] as i32;
        let path_is_absolute = self.mem(live)?.read(args[1], 1).is_ok_and(|b| b == b"/");
        if fd == AT_FDCWD || fd < 0 || path_is_absolute || std::path::Path::new(&format!("/proc/{live}/fd/{fd}")).exists() {
            return Ok(());
        }
        let tgid = self.process_of(rec);
        let Some(crate::golive::OpenFile::File { path, .. }) = self.open_files.get(&tgid).and_then(|files| files.get(fd)) else {
            return Ok(());
        };
        let mut path = path.clone();
        path.push(0);
        let regs = tracee::get_regs(live)?;
        let Some((opened, exit)) = self.open_in_task(live, rec, regs, &path, O_PATH_CLOEXEC, p)? else { return Ok(()) };
        if opened >= 0 && opened != i64::from(fd) {
            let (_, exit) = tracee::syscall_again(live, &exit, u64::from(sc::nr::DUP3), [opened as u64, fd as u64, 0o2000000, 0, 0, 0])?;
            tracee::syscall_again(live, &exit, u64::from(sc::nr::CLOSE), [opened as u64, 0, 0, 0, 0, 0])?;
        }
        // Back to the program's execveat, stopped at its entry as before.
        let mut again = regs;
        again.rip = regs.rip.wrapping_sub(2);
        again.rax = regs.orig_rax;
        again.orig_rax = u64::MAX;
        tracee::set_regs(live, &again)?;
        tracee::cont(live, 0)?;
        match tracee::wait(live)?.1 {
            WaitStatus::Event(PtraceEvent::Seccomp) => Ok(()),
            other => Err(EngineError::Unsupported { tid: rec, what: format!("going back to an execveat: the task reported {other:?}") }),
        }
    }

    /// A request of the preload library: registration or "buffer full".
    /// The recorder drained the buffer at this stop, so replay checks the
    /// batch just run and loads the next one here.
    fn on_buffer_request(&mut self, live: Tid, regs: Regs) -> Result<()> {
        let rec = self.rec(live)?;
        let tgid = self.process_of(rec);
        let answer = if regs.orig_rax == u64::from(magic::REGISTER) {
            if self.queue.reader.format_version() < FIRST_FORMAT_OF_THIS_BUFFER {
                // The library makes other buffered calls than an older one did.
                let what = format!(
                    "replaying a trace whose syscall buffer was that of an older Scribe (format {} or older): replay it with the Scribe that recorded it",
                    FIRST_FORMAT_OF_THIS_BUFFER - 1
                );
                return Err(EngineError::Unsupported { tid: rec, what });
            }
            if syscallbuf::registration_ok(&tracee::syscall_args(&regs)) {
                syscallbuf::install_replay_stub(self.mem(live)?)?;
                let flags = syscallbuf::level_flags(self.queue.reader.header().level);
                syscallbuf::set_flags(self.mem(live)?, live, flags)?;
                self.header_flags.insert(tgid, flags);
                self.buffers.insert(tgid);
                self.write_fd_state(live)?;
                1
            } else {
                -(machine::ENOSYS as i64)
            }
        } else if self.buffers.contains(&tgid) {
            self.settle_buffer(live)?;
            if self.queue.find_for(rec).is_none() && self.detached_next() {
                // The recorder detached while this request waited for it:
                // the task stays here, where the replay stops.
                self.task_mut(live)?.seccomp_regs = Some(regs);
                return self.set_state(live, State::AtSeccomp);
            }
            let observed = || "a full syscall buffer".to_string();
            let Some(p) = self.next_for(rec, live, observed)? else { return Ok(()) };
            if !matches!(&p.event, Event::Syscall(c) if c.nr == magic::FLUSH) {
                return Err(self.divergence(rec, Some(live), "the syscall buffer filled up at another point".into(), Some(&p), observed()));
            }
            self.remember(&p);
            if self.golive_requested {
                // A program that makes only buffered calls stops nowhere
                // else: it goes live from this stop, where the request is
                // made again live, finds no Scribe to drain the buffer and
                // the library turns buffering off.
                self.task_mut(live)?.seccomp_regs = Some(regs);
                return self.set_state(live, State::AtSeccomp);
            }
            0
        } else {
            -(machine::ENOSYS as i64)
        };
        machine::skip_syscall(live, regs, answer)?;
        self.task_mut(live)?.loaded = None;
        // Through `resume`: it loads the next batch and arms the breakpoint
        // when a preemption comes right after that batch.
        self.resume(live, 0)
    }

    /// Writes which descriptors of `live`'s process are the original outputs
    /// (not for a vfork child, in its parent's memory) and its descriptor
    /// table's generation into its buffer header, as the recorder did at
    /// the same event.
    fn write_fd_state(&mut self, live: Tid) -> Result<()> {
        let rec = self.rec(live)?;
        let tgid = self.process_of(rec);
        if !self.buffers.contains(&tgid) {
            return Ok(());
        }
        let in_parent_memory = self.vfork_children.contains(&tgid);
        let table = self.fds(rec);
        let (bitmap, generation) = ((!in_parent_memory).then(|| table.output_bitmap()), table.generation());
        syscallbuf::set_fd_state(self.mem(live)?, live, bitmap, generation)
    }

    /// Before a task runs user code: writes the buffered calls it made
    /// next during the recording into its process's buffer, and lets the
    /// library use exactly those (STOP_AT).
    fn load_buffer(&mut self, live: Tid) -> Result<()> {
        let rec = self.rec(live)?;
        let tgid = self.process_of(rec);
        if !self.buffers.contains(&tgid) || self.task(live)?.loaded.is_some() {
            return Ok(());
        }
        let mut taken: Vec<usize> = Vec::new();
        let mut size = 0u64;
        loop {
            // A batch was written in one piece: its next call is near. The
            // events are taken together at the end, so the search for the
            // next one goes on after the last one found.
            let found = match taken.last() {
                None => self.queue.find_within(rec, WINDOW),
                // The usual case first: the next event is the task's own.
                Some(&last) if self.queue.peek(last + 1).is_some_and(|p| p.event.tid() == Some(rec)) => Lookup::Found(last + 1),
                Some(&last) => self.queue.find_from(rec, last + 1, WINDOW, false),
            };
            let Lookup::Found(i) = found else { break };
            let (call_size, serial_index) = match &self.queue.ahead[i] {
                Positioned { event: Event::Buffered(call), .. } => (Some(syscallbuf::encoded_size(call)), None),
                Positioned { event: Event::Resource(_), index, .. } => (None, Some(*index)),
                _ => break,
            };
            if let Some(call_size) = call_size {
                size += call_size;
                if size > u64::from(scribe_bufabi::CAPACITY) {
                    break;
                }
            }
            // The serials of a buffered call are replayed with it.
            if serial_index.is_some_and(|index| !self.queue.buffered_serials.remove(&index)) {
                break;
            }
            taken.push(i);
        }
        let batch = self.queue.remove_ascending(&taken);
        self.set_std_writes_flag(live, tgid, &batch)?;
        // Shown when the program makes them, not when the batch is handed
        // over (up to a whole batch early: a program that prints, then
        // computes) nor when it is checked (a task may never stop again).
        let mut to_show = VecDeque::new();
        let mut offset = 0u64;
        for p in &batch {
            if let Event::Buffered(call) = &p.event {
                if let Some((stream, bytes)) = self.buffered_output(rec, call) {
                    let stops = matches!(bytes.last(), Some(b'\n' | b'\r'));
                    to_show.push_back(OutputToShow { offset: offset as usize, index: p.index, stream, bytes, stops });
                }
                offset = offset.saturating_add(syscallbuf::encoded_size(call));
            }
        }
        let file_writes = self.shared_file_writes_in(live, tgid, &batch)?;
        let stops = || to_show.iter().filter(|o| o.stops).map(|o| o.offset).chain(file_writes.iter().map(|w| w.record_offset));
        let mut bytes = std::mem::take(&mut self.task_mut(live)?.loaded_bytes);
        if !syscallbuf::encode_into(&mut bytes, buffered_calls(&batch)) {
            bytes.clear();
        }
        let mem = self.mem(live)?;
        // Written with the stops marked, kept without (as the library
        // leaves the records).
        mark_stops_after(&mut bytes, stops(), true);
        let written = if bytes.is_empty() { Ok(()) } else { mem.write(scribe_bufabi::RECORDS_ADDR, &bytes).map_err(Into::into) };
        mark_stops_after(&mut bytes, stops(), false);
        if let Err(e) = written.and_then(|()| syscallbuf::set_window(mem, 0, bytes.len() as u32)) {
            if !syscallbuf::region_mapped(live) {
                // The process is exiting: it will not run user code again.
                return Ok(());
            }
            return Err(EngineError::Unsupported { tid: rec, what: format!("loading {} buffered syscalls: {e}", batch.len()) });
        }
        let task = self.task_mut(live)?;
        task.loaded = Some(batch);
        task.loaded_bytes = bytes;
        task.output_to_show = to_show;
        task.shared_file_writes = file_writes;
        Ok(())
    }

    /// At the stop the replay stub makes after a marked record
    /// (`record::STOP_AFTER`): a write to a file mapped shared, made on its
    /// memory file now, or a write to the recording's output that ends a
    /// line, shown with the writes before it. If the last line's stop was
    /// moments ago, the program is printing line after line: the rest of
    /// the batch's output is shown now and its stops taken out (the loaded
    /// records from the next marked line on written again without their
    /// marks; file writes keep theirs).
    fn at_stop_after(&mut self, live: Tid) -> Result<()> {
        let rec = self.rec(live)?;
        // The stub stops inside the call: the header names its record.
        let current = syscallbuf::read_header(self.mem(live)?)?.current;
        let made_to = current.saturating_sub(scribe_bufabi::RECORDS_ADDR) as usize;
        while let Some(write) = self.task(live)?.shared_file_writes.front().filter(|w| w.record_offset <= made_to).cloned() {
            self.task_mut(live)?.shared_file_writes.pop_front();
            self.apply_shared_file_write(live, rec, &write)?;
        }
        let now = self.now;
        let task = self.task_mut(live)?;
        let made = task.output_to_show.iter().take_while(|o| o.offset <= made_to).count();
        let mut shown: Vec<OutputToShow> = task.output_to_show.drain(..made).collect();
        let rapid = made > 0 && task.last_output_stop.replace(now).is_some_and(|last| now.saturating_duration_since(last) < RAPID_OUTPUT);
        if rapid {
            if let Some(next) = task.output_to_show.iter().find(|o| o.stops) {
                let from = next.offset;
                let mut rest = task.loaded_bytes.get(from..).unwrap_or_default().to_vec();
                mark_stops_after(&mut rest, task.shared_file_writes.iter().filter_map(|w| w.record_offset.checked_sub(from)), true);
                task.mem.write(scribe_bufabi::RECORDS_ADDR + from as u64, &rest)?;
            }
            shown.extend(task.output_to_show.drain(..));
        }
        for output in shown {
            self.output_in_order(output.index, output.stream, output.bytes);
        }
        tracee::cont(live, 0).map_err(Into::into)
    }

    /// The write `call` makes, through the descriptors `files`, to a file
    /// replay keeps a memory file for, if it is one; `record_offset` is
    /// its record's place among the loaded ones. An append (O_APPEND) is
    /// left out: where the file ends is not followed.
    fn shared_file_write(&self, files: &crate::golive::OpenFiles, call: &SyscallRecord, record_offset: usize) -> Option<SharedFileWrite> {
        if self.shared_file_paths.is_empty() || call.result <= 0 {
            return None;
        }
        if !FILE_WRITES.contains(&call.nr) {
            return None;
        }
        let explicit = matches!(call.nr, sc::nr::PWRITE64 | sc::nr::PWRITEV).then_some(call.args[3]);
        let crate::golive::OpenFile::File { path, flags, offset } = files.get(call.args[0] as i32)? else { return None };
        if explicit.is_none() && flags & crate::golive::O_APPEND != 0 {
            return None;
        }
        let &inode = self.shared_file_paths.get(path)?;
        Some(SharedFileWrite { record_offset, inode, at: explicit.unwrap_or(*offset), nr: call.nr, args: call.args, len: call.result as u64 })
    }

    /// The writes to files mapped shared among the buffered calls of
    /// `batch`, which process `tgid` is about to make (its descriptors
    /// followed through the batch's calls).
    fn shared_file_writes_in(&self, live: Tid, tgid: Tid, batch: &[Positioned]) -> Result<VecDeque<SharedFileWrite>> {
        let mut writes = VecDeque::new();
        if self.shared_file_paths.is_empty() || !batch.iter().any(|p| matches!(&p.event, Event::Buffered(c) if FILE_WRITES.contains(&c.nr))) {
            return Ok(writes);
        }
        let Some(mut files) = self.open_files.get(&tgid).cloned() else { return Ok(writes) };
        let mem = self.mem(live)?;
        let mut offset = 0u64;
        for p in batch {
            if let Event::Buffered(call) = &p.event {
                writes.extend(self.shared_file_write(&files, call, offset as usize));
                // A buffered call's record holds the paths it names.
                files.apply(call, mem);
                offset = offset.saturating_add(syscallbuf::encoded_size(call));
            }
        }
        Ok(writes)
    }

    /// Makes `write` on its file's memory file, with the bytes the task's
    /// memory holds now: the call's buffers as the program passed them.
    fn apply_shared_file_write(&mut self, live: Tid, rec: Tid, write: &SharedFileWrite) -> Result<()> {
        use std::os::unix::fs::FileExt;
        /// Bytes read from the task at a time.
        const CHUNK: u64 = 1 << 20;
        /// At most this many buffers of a writev are followed (IOV_MAX).
        const IOV_MAX: u64 = 1024;
        let mem = self.mem(live)?;
        let pieces: Vec<(u64, u64)> = match write.nr {
            sc::nr::WRITE | sc::nr::PWRITE64 => vec![(write.args[1], write.len)],
            _ => {
                let count = write.args[2].min(IOV_MAX) as usize;
                let table = mem.read(write.args[1], count * 16)?;
                table.chunks_exact(16).map(|v| (syscallbuf::u64_at(v, 0), syscallbuf::u64_at(v, 8))).collect()
            }
        };
        let Some(file) = self.shared_files_by_inode.get(&write.inode) else { return Ok(()) };
        let (mut left, mut at) = (write.len, write.at);
        for (base, len) in pieces {
            let mut done = 0;
            while done < len.min(left) {
                let n = (len.min(left) - done).min(CHUNK);
                let bytes = mem.read(base.wrapping_add(done), n as usize)?;
                file.write_all_at(&bytes, at).map_err(|e| EngineError::Unsupported {
                    tid: rec,
                    what: format!("making a write to a file mapped shared on its memory file: {e}"),
                })?;
                done += n;
                at += n;
            }
            left -= len.min(left);
        }
        Ok(())
    }

    /// Shows what is left of the writes to the recording's output loaded
    /// for `live` (a batch checked without their stops).
    fn show_output_left(&mut self, live: Tid) -> Result<()> {
        let left = std::mem::take(&mut self.task_mut(live)?.output_to_show);
        for output in left {
            self.output_in_order(output.index, output.stream, output.bytes);
        }
        Ok(())
    }

    /// Sets the header's `flags::STD_WRITES` for the batch `live` is about
    /// to run, as the recorder had it: set if the batch has a write to a
    /// descriptor the header names as the recording's output (the library
    /// buffers those only under the flag), clear otherwise. The flag changes
    /// only where the task stops, so a batch without such a write ran with
    /// it clear, or made no write it would have buffered.
    fn set_std_writes_flag(&mut self, live: Tid, tgid: Tid, batch: &[Positioned]) -> Result<()> {
        let writes = || batch.iter().filter_map(|p| match &p.event {
            Event::Buffered(c) if c.nr == sc::nr::WRITE => Some(c.args[0]),
            _ => None,
        });
        let std_write = writes().next().is_some() && {
            let bits = syscallbuf::read_header(self.mem(live)?).map(|h| h.std_fds).unwrap_or(0);
            writes().any(|fd| bits & scribe_bufabi::std_fd_bit(fd) != 0)
        };
        let level = syscallbuf::level_flags(self.queue.reader.header().level);
        let flags = level | if std_write { scribe_bufabi::flags::STD_WRITES } else { 0 };
        // A vfork child's header is its parent's: what is known of the
        // other processes' headers may no longer hold.
        let in_parent_memory = self.vfork_children.contains(&tgid);
        if !in_parent_memory && self.header_flags.get(&tgid) == Some(&flags) {
            return Ok(());
        }
        if in_parent_memory {
            self.header_flags.clear();
        } else {
            self.header_flags.insert(tgid, flags);
        }
        syscallbuf::set_flags(self.mem(live)?, live, flags)
    }

    /// Whether `live` has made every buffered call loaded for it (or has
    /// none loaded). A task the recording has killed while it ran or waited
    /// in the library has its calls up to the kill in the trace, drained at
    /// its exit: replay kills it only once it has made them, since other
    /// tasks may wait for their serials. It is asked again at every pass
    /// (the replayer's timer brings one at least every 200 ms).
    fn made_its_batch(&self, live: Tid) -> Result<bool> {
        let Some(task) = self.tasks.get(&live) else { return Ok(true) };
        if task.state != State::Running || task.loaded.as_ref().is_none_or(|b| b.is_empty()) {
            return Ok(true);
        }
        match syscallbuf::read_header(&task.mem) {
            Ok(header) => Ok(header.used as usize >= task.loaded_bytes.len()),
            Err(_) if !syscallbuf::region_mapped(live) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// At a task's event: checks that the program made exactly the
    /// buffered calls loaded for it, and applies them.
    fn settle_buffer(&mut self, live: Tid) -> Result<()> {
        self.show_output_left(live)?;
        // Only a write the task made has its bytes in memory.
        self.task_mut(live)?.shared_file_writes.clear();
        let Some(batch) = self.task_mut(live)?.loaded.take() else { return Ok(()) };
        // Cleared, not dropped, at the end: the next batch is encoded into
        // the same allocation.
        let mut loaded_bytes = std::mem::take(&mut self.task_mut(live)?.loaded_bytes);
        let rec = self.rec(live)?;
        let mem = self.mem(live)?;
        let header = match syscallbuf::read_header(mem) {
            Ok(header) => header,
            Err(_) if !syscallbuf::region_mapped(live) => return Ok(()),
            Err(e) => return Err(e),
        };
        // The library rewrites each record it uses with the program's call
        // and what the stub gave back: a batch made as recorded leaves the
        // bytes as they were loaded. Only otherwise are they decoded to
        // find the call that differs.
        let mut scratch = [0u8; 16 << 10];
        let as_loaded = header.used as usize == loaded_bytes.len()
            && mem.holds(scribe_bufabi::RECORDS_ADDR, &loaded_bytes, &mut scratch).unwrap_or(false);
        if !as_loaded {
            self.find_differing_call(live, rec, &batch, header.used)?;
        }
        loaded_bytes.clear();
        self.task_mut(live)?.loaded_bytes = loaded_bytes;
        syscallbuf::set_window(self.mem(live)?, 0, 0)?;
        self.buffered += batch.len() as u64;
        for p in &batch {
            match &p.event {
                Event::Buffered(call) => {
                    self.fds(rec).apply(call.nr, &call.args, call.result);
                    self.track_files(live, rec, call);
                }
                Event::Resource(r) => self.serials.complete(r.kind, r.id, r.serial),
                _ => {}
            }
            self.observe(p);
        }
        self.history.push_batch(batch);
        Ok(())
    }

    /// Decodes the calls the program made through the buffer (`used`
    /// bytes) and reports the first that differs from `batch`, or the
    /// first recorded one it did not make.
    fn find_differing_call(&self, live: Tid, rec: Tid, batch: &[Positioned], used: u32) -> Result<()> {
        let made: Vec<SyscallRecord> = syscallbuf::read_records(self.mem(live)?, rec, used)?.into_iter().map(|b| b.call).collect();
        let expected: Vec<&Positioned> = batch.iter().filter(|p| matches!(p.event, Event::Buffered(_))).collect();
        for (i, &p) in expected.iter().enumerate() {
            let Event::Buffered(want) = &p.event else { unreachable!("filtered above") };
            let Some(got) = made.get(i) else {
                let what = format!("the program made {} of the {} buffered syscalls recorded here", made.len(), expected.len());
                let observed = "a stop before the recorded buffered call".to_string();
                return Err(self.divergence(rec, Some(live), what, Some(p), observed));
            };
            let same_input = got.inputs.iter().map(|m| &m.bytes).eq(want.inputs.iter().map(|m| &m.bytes));
            if got.nr != want.nr || got.args != want.args || !same_input {
                let observed = format_event(&Event::Buffered(got.clone()), &FormatOptions::default()).join(" ");
                return Err(self.divergence(rec, Some(live), "a buffered syscall differs from the recording".into(), Some(p), observed));
            }
        }
        Ok(())
    }

    /// Lets a task run user code, with a breakpoint at its recorded
    /// preemption point when that is its next event.
    fn resume(&mut self, live: Tid, sig: i32) -> Result<()> {
        if std::mem::take(&mut self.task_mut(live)?.fd_state_changed) {
            self.write_fd_state(live)?;
        }
        let rec = self.rec(live)?;
        if sig != 0 && self.queue.dies_next_of(rec, sig) {
            // The recording has the task die of the signal it is given
            // now: its delivery ends the whole process, as an exit_group
            // does, and the other threads make none of the calls they
            // were in (the recorder wrote them as they died).
            self.kill_other_threads(rec);
        }
        if self.should_park(rec) {
            return self.park(live, Continuation::Resume { sig });
        }
        self.load_buffer(live)?;
        let armed = self.task(live)?.armed.as_ref().map(|a| (a.rip, a.fingerprint));
        let version = self.queue.reader.format_version();
        let deep = version >= 4;
        // The search for the next point, built (with a copy of its state)
        // only when it is not the one already armed. (A point is written
        // right after the batch drained at it, so it is near.)
        let (wanted, search) = match self.queue.peek_near(rec).map(|p| &p.event) {
            Some(Event::Preempt(p)) if Some((p.rip, p.fingerprint)) != armed => {
                // From format 6 the state ends with the pointed memory; a
                // state whose layout word does not fit gets no check.
                let (state, pointed) = match version {
                    6.. => point::split_deep(&p.state).map(|(head, pointed)| (head.to_vec(), pointed)).unwrap_or_default(),
                    _ => (p.state.clone(), Vec::new()),
                };
                let search = PointSearch {
                    rip: p.rip,
                    fingerprint: p.fingerprint,
                    state,
                    pointed,
                    deep,
                    stack: p.stack,
                    reads: machine::PointedReads::of_format(version),
                    check: None,
                    tried: false,
                    guard_hits: 0,
                    compact: false,
                    installed_at: None,
                };
                (Some((p.rip, p.fingerprint)), Some(search))
            }
            Some(Event::Preempt(p)) => (Some((p.rip, p.fingerprint)), None),
            _ => (None, None),
        };
        if wanted != armed {
            if let Some(check) = self.task_mut(live)?.armed.take().and_then(|a| a.check) {
                self.remove_check(live, &check)?;
            }
            tracee::set_exec_breakpoint(live, wanted.map(|(rip, _)| rip))?;
            self.task_mut(live)?.armed = search;
        }
        let entry = machine::resume_delivering(live, sig, self.queue.reader.format_version())?;
        self.task_mut(live)?.entering_handler = entry;
        Ok(())
    }

    /// A hit of the point's hardware breakpoint: the point if the
    /// fingerprint matches. Otherwise the task passes here again and again
    /// (a loop), so an in-task check replaces the breakpoint where it can.
    fn on_breakpoint(&mut self, live: Tid, mut regs: Regs) -> Result<()> {
        self.breakpoint_hits += 1;
        if self.at_point(live, &regs)? {
            return self.reach_point(live, true);
        }
        let search = self.task(live)?.armed.as_ref().expect("called for an armed task");
        if !search.tried {
            self.task_mut(live)?.armed.as_mut().expect("armed").tried = true;
            if let Some(check) = self.install_check(live, &regs)? {
                tracee::set_exec_breakpoints(live, &check.hw_guards)?;
                self.point_checks += 1;
                self.hw_guarded_checks += u64::from(!check.hw_guards.is_empty());
                let search = self.task_mut(live)?.armed.as_mut().expect("armed");
                search.check = Some(check);
                search.installed_at = Some(std::time::Instant::now());
                // The jump now at this address leads into the check.
                return tracee::cont(live, 0).map_err(Into::into);
            }
        }
        // The resume flag lets the instruction run once without trapping.
        regs.eflags |= machine::EFLAGS_RF;
        tracee::set_regs(live, &regs)?;
        tracee::cont(live, 0).map_err(Into::into)
    }

    /// Whether `live`'s process has the replay stub in Scribe's stub page
    /// (its library registered a buffer), where the recording had the
    /// record-mode one.
    fn runs_replay_stub(&self, live: Tid) -> Result<bool> {
        let rec = self.rec(live)?;
        Ok(self.buffers.contains(&self.process_of(rec)))
    }

    /// Whether `live`, with `regs` at the searched address, is at its
    /// recorded point: the same registers and stack words first (cheap),
    /// then the same fingerprint.
    fn at_point(&self, live: Tid, regs: &Regs) -> Result<bool> {
        let search = self.task(live)?.armed.as_ref().expect("called for an armed task");
        let mem = self.mem(live)?;
        if let Some(counter) = self.buffer_counter(live)? {
            if !mem.read(counter.addr, 4).is_ok_and(|used| used == counter.value.to_le_bytes()) {
                return Ok(false);
            }
        }
        if !search.state.is_empty() && point::state_like(regs, mem, &search.state) != search.state {
            return Ok(false);
        }
        let record_stub = syscallbuf::record_stub_view();
        let mut patched: Vec<(u64, &[u8])> = Vec::new();
        if self.runs_replay_stub(live)? {
            patched.push((scribe_bufabi::REGION_START, &record_stub[..]));
        }
        patched.extend(search.check.as_ref().map(|c| c.site.originals()).unwrap_or_default());
        let fingerprint = if search.deep {
            machine::deep_fingerprint_with(regs, mem, &patched, search.reads)
        } else {
            machine::fingerprint(regs, mem)
        };
        if fingerprint != search.fingerprint {
            return Ok(false);
        }
        let Some(stack) = search.stack else { return Ok(true) };
        if machine::stack_digest_of(mem, regs.rsp, stack.len) == Some(stack.digest) {
            return Ok(true);
        }
        // An earlier pass, alike but for the frames deeper in the stack.
        self.stack_told_apart.set(self.stack_told_apart.get() + 1);
        Ok(false)
    }

    /// What the syscall buffer's count of used bytes holds at `live`'s
    /// point: the size of the batch loaded for it, which the recording
    /// made in full before the point. A loop whose passes differ only in
    /// how many buffered calls they made (python3's threads polling the
    /// clock: every register and word alike) is told apart by it.
    fn buffer_counter(&self, live: Tid) -> Result<Option<point::Counter>> {
        let task = self.task(live)?;
        Ok(task.loaded.as_ref().map(|_| point::Counter {
            addr: scribe_bufabi::HEADER_ADDR + scribe_bufabi::header::USED,
            value: task.loaded_bytes.len() as u32,
        }))
    }

    /// Maps a page next to the point, writes the check for the recorded
    /// state there and patches the point with a jump to it. `None` when the
    /// point's code, the address space or the trace (version 2 points have
    /// no exact state) does not allow it.
    fn install_check(&mut self, live: Tid, regs: &Regs) -> Result<Option<InstalledCheck>> {
        let (state, pointed, compact) = match self.task(live)?.armed.as_ref() {
            Some(search) if !search.state.is_empty() => (search.state.clone(), search.pointed.clone(), search.compact),
            _ => return Ok(None),
        };
        let mem = self.mem(live)?;
        let maps = procfs::maps(live).unwrap_or_default();
        let site = if compact { point::compact_site_in(mem, &maps, regs.rip) } else { point::site_in(mem, &maps, regs.rip) };
        let Some(site) = site else { return Ok(None) };
        let upcoming = self.task(live)?.loaded.as_deref().map(upcoming_changes).unwrap_or_default();
        let stack_limit = self.queue.reader.header().stack_limit;
        let zones = point::growth_zones(&maps, procfs::start_brk(live), stack_limit, &upcoming);
        let (Some(syscall_insn), Some(placement)) = (point::syscall_instruction(&maps, mem), point::place(&site, &maps, &zones))
        else {
            return Ok(None);
        };
        let page = placement.page;
        let fast = point::progress_word(&point::state_like(regs, mem, &state), &state);
        let Some(patches) = point::patches(&site, placement.code_at) else { return Ok(None) };
        let pointed = patches.iter().fold(pointed, |pointed, (at, bytes)| point::with_patch(&pointed, &state, *at, bytes));
        // The recorded words hold the record-mode stub where a register
        // points into the stub page; the task reads replay's own there.
        let pointed = if self.runs_replay_stub(live)? {
            point::with_patch(&pointed, &state, scribe_bufabi::REGION_START, &scribe_bufabi::REPLAY_STUB)
        } else {
            pointed
        };
        let counter = self.buffer_counter(live)?;
        let Some(check) = point::assemble(&site, placement.code_at, &state, &pointed, fast, counter) else { return Ok(None) };
        const PROT_READ_WRITE_EXEC: u64 = 0x1 | 0x2 | 0x4;
        let flags = machine::MAP_PRIVATE | machine::MAP_ANONYMOUS | machine::MAP_FIXED_NOREPLACE;
        let args = [page, point::CHECK_LEN, PROT_READ_WRITE_EXEC, flags, u64::MAX, 0];
        let mapped = tracee::remote_syscall(live, syscall_insn, u64::from(sc::nr::MMAP), args)?;
        if mapped as u64 != page {
            if mapped > 0 {
                tracee::remote_syscall(live, syscall_insn, u64::from(sc::nr::MUNMAP), [mapped as u64, point::CHECK_LEN, 0, 0, 0, 0])?;
            }
            return Ok(None);
        }
        let mem = self.mem(live)?;
        mem.write(placement.code_at, &check.code)?;
        // The site's own jump last: it leads to the others.
        for (at, bytes) in patches.iter().rev() {
            mem.write(*at, bytes)?;
        }
        Ok(Some(InstalledCheck {
            site,
            page,
            code_at: placement.code_at,
            hw_guards: placement.hw_guards,
            hit: check.hit,
            miss: check.miss,
            syscall_insn,
        }))
    }

    /// Puts the point's code back and unmaps the check's page.
    fn remove_check(&mut self, live: Tid, check: &InstalledCheck) -> Result<()> {
        for (at, bytes) in check.site.originals() {
            self.mem(live)?.write(at, bytes)?;
        }
        tracee::set_exec_breakpoints(live, &[])?;
        let args = [check.page, point::CHECK_LEN, 0, 0, 0, 0];
        tracee::remote_syscall(live, check.syscall_insn, u64::from(sc::nr::MUNMAP), args)?;
        Ok(())
    }

    /// The check found the recorded state: the task is back at the point
    /// with the program's registers, and the point is reached.
    fn on_check_hit(&mut self, live: Tid, mut regs: Regs) -> Result<()> {
        // A trap like a breakpoint hit: counted with them.
        self.breakpoint_hits += 1;
        regs.rip = self.task(live)?.armed.as_ref().expect("called for an armed task").rip;
        if !self.at_point(live, &regs)? {
            // Equal registers and stack words, but not the whole state: go
            // on with the displaced instructions right after the int1.
            return tracee::cont(live, 0).map_err(Into::into);
        }
        let check = self.task_mut(live)?.armed.as_mut().and_then(|a| a.check.take()).expect("installed");
        tracee::set_regs(live, &regs)?;
        self.remove_check(live, &check)?;
        self.reach_point(live, false)
    }

    /// A branch led into the bytes the check's jump covers: the code goes
    /// back as it was, and the search goes on with the breakpoint, which
    /// installs the check again at its next hit: a compact one (the
    /// point's instruction alone, with a short jump: no guards) where the
    /// code allows, else the same (a few times).
    fn on_guard_hit(&mut self, live: Tid) -> Result<()> {
        self.guard_hits += 1;
        let search = self.task_mut(live)?.armed.as_mut().expect("called for an armed task");
        let (rip, compact) = (search.rip, search.compact);
        let check = search.check.take().expect("installed");
        self.remove_check(live, &check)?;
        // (Decoded from the code put back.)
        let can_be_compact = !compact && {
            let maps = procfs::maps(live).unwrap_or_default();
            point::compact_site_in(self.mem(live)?, &maps, rip).is_some()
        };
        let search = self.task_mut(live)?.armed.as_mut().expect("called for an armed task");
        if can_be_compact {
            search.compact = true;
            search.tried = false;
        } else {
            search.tried = !search.reinstall_after_guard_hit();
        }
        tracee::set_exec_breakpoint(live, Some(rip))?;
        tracee::cont(live, 0).map_err(Into::into)
    }

    /// The task is at its recorded point. A signal recorded there is
    /// delivered now; otherwise the task waits for its TaskStart.
    ///
    /// The signal replaces the SIGTRAP of a hardware breakpoint stop, as
    /// when recording. After an in-task check the task is at a syscall exit
    /// (the check's page was just unmapped), so it is first taken to such a
    /// stop at the same place: the kernel writes the last trap's number
    /// into the signal frame, and it must be the breakpoint's there too.
    fn reach_point(&mut self, live: Tid, at_signal_stop: bool) -> Result<()> {
        let rip = self.task(live)?.armed.as_ref().map(|a| a.rip).unwrap_or_default();
        tracee::set_exec_breakpoint(live, None)?;
        self.task_mut(live)?.armed = None;
        self.settle_buffer(live)?;
        let rec = self.rec(live)?;
        let p = self.queue.take_for(rec).expect("armed for this event");
        self.remember(&p);
        let signal = match self.queue.peek_for(rec).map(|p| &p.event) {
            Some(Event::Signal(s)) if s.origin == scribe_trace::signal_origin::POINT => Some(s.signo),
            _ => None,
        };
        let Some(signo) = signal else {
            self.preemptions += 1;
            return self.set_state(live, State::AtStart);
        };
        self.signal_points += 1;
        self.set_state(live, State::Running)?;
        if !at_signal_stop {
            self.breakpoint_stop_here(live, rip)?;
        }
        let p = self.queue.take_for(rec).expect("peeked event exists");
        if let Event::Signal(s) = &p.event {
            if let Ok(info) = <[u8; tracee::SIGINFO_SIZE]>::try_from(s.siginfo.as_slice()) {
                tracee::set_siginfo(live, &info)?;
            }
        }
        self.remember(&p);
        self.resume(live, signo)
    }

    /// Takes a task that is about to execute `rip` to the SIGTRAP stop of a
    /// hardware breakpoint there (signals of the replay's own world that
    /// come first are discarded).
    fn breakpoint_stop_here(&mut self, live: Tid, rip: u64) -> Result<()> {
        tracee::set_exec_breakpoint(live, Some(rip))?;
        loop {
            tracee::cont(live, 0)?;
            match tracee::wait(live)?.1 {
                WaitStatus::Signal(machine::SIGTRAP) if tracee::get_regs(live)?.rip == rip => break,
                WaitStatus::Signal(_) | WaitStatus::Event(_) => {}
                other => {
                    return Err(EngineError::Unsupported { tid: live, what: format!("expected a breakpoint stop at {rip:#x}, got {other:?}") })
                }
            }
        }
        tracee::set_exec_breakpoint(live, None).map_err(Into::into)
    }

    fn on_signal(&mut self, live: Tid, sig: i32) -> Result<()> {
        let rec = self.rec(live)?;
        let mut regs = tracee::get_regs(live)?;
        let stops_after = |t: &LiveTask| !t.output_to_show.is_empty() || !t.shared_file_writes.is_empty();
        if sig == machine::SIGTRAP && regs.rip == scribe_bufabi::STOP_AFTER_IP && stops_after(self.task(live)?) {
            return self.at_stop_after(live);
        }
        if sig == machine::SIGTRAP {
            let task = self.task_mut(live)?;
            if machine::finish_handler_entry(live, &task.mem, &mut task.entering_handler, &regs)? {
                return Ok(());
            }
            if let Some(search) = &self.task(live)?.armed {
                match &search.check {
                    None if regs.rip == search.rip => return self.on_breakpoint(live, regs),
                    Some(check) if regs.rip == check.hit => return self.on_check_hit(live, regs),
                    Some(check) if check.hw_guards.contains(&regs.rip) => return self.on_guard_hit(live),
                    _ => {}
                }
            }
        }
        let check = self.task(live)?.armed.as_ref().and_then(|a| a.check.as_ref());
        if let Some(guard) = check.and_then(|c| c.guard_trapped(sig, regs.rip)) {
            if regs.rip != guard {
                // The task goes on at the guard's own instruction.
                regs.rip = guard;
                tracee::set_regs(live, &regs)?;
            }
            return self.on_guard_hit(live);
        }
        if sig == machine::SIGSEGV || sig == machine::SIGBUS {
            let check = self.task(live)?.armed.as_ref().and_then(|a| a.check.as_ref());
            if let Some(check) = check.filter(|c| (c.code_at..c.code_at + point::CODE_LEN).contains(&regs.rip)) {
                // A pointed word whose memory is not mapped on this pass:
                // not the point.
                regs.rip = check.miss;
                tracee::set_regs(live, &regs)?;
                return tracee::cont(live, 0).map_err(Into::into);
            }
        }
        if sig == machine::SIGSEGV {
            if let Some(instruction) = machine::trapped_instruction_at(self.mem(live)?, regs.rip) {
                self.settle_buffer(live)?;
                let at = regs.rip;
                let observed = || format!("{instruction:?} at {at:#x}");
                let Some(p) = self.next_for(rec, live, observed)? else { return Ok(()) };
                let Some(recorded_at) = instruction.replay(&p.event, &mut regs) else {
                    let what = format!("the task {} where the recording has another event", instruction.what());
                    return Err(self.divergence(rec, Some(live), what, Some(&p), observed()));
                };
                if recorded_at != at {
                    let what = format!("the task {} at another address", instruction.what());
                    return Err(self.divergence(rec, Some(live), what, Some(&p), observed()));
                }
                tracee::set_regs(live, &regs)?;
                self.remember(&p);
                return self.resume(live, 0);
            }
        }
        let Ok(siginfo) = tracee::get_siginfo(live) else {
            // A group-stop, not a delivery.
            return self.resume(live, 0);
        };
        // A signal of the replay's own world may come before the injected
        // one, which stays expected.
        let injected = self.task(live)?.injecting == Some(sig);
        if injected {
            self.task_mut(live)?.injecting = None;
        }
        if !injected && !machine::is_fault(sig, &siginfo) {
            // Not a recorded signal: the replay's own world sent it.
            return self.resume(live, 0);
        }
        self.settle_buffer(live)?;
        let observed = || format!("signal {} at {:#x}", sc::signal_name(sig).unwrap_or("?"), regs.rip);
        let Some(p) = self.next_for(rec, live, observed)? else { return Ok(()) };
        let Event::Signal(s) = &p.event else {
            return Err(self.divergence(rec, Some(live), "the task received a signal the recording does not have here".into(), Some(&p), observed()));
        };
        if s.signo != sig {
            return Err(self.divergence(rec, Some(live), "a different signal arrived".into(), Some(&p), observed()));
        }
        if let Ok(info) = <[u8; tracee::SIGINFO_SIZE]>::try_from(s.siginfo.as_slice()) {
            tracee::set_siginfo(live, &info)?;
        }
        if let Some((nr, args)) = self.task_mut(live)?.restore_call.take() {
            // The registers saved in the signal frame must be the program's.
            let mut regs = tracee::get_regs(live)?;
            regs.orig_rax = u64::from(nr);
            tracee::set_syscall_args(&mut regs, &args);
            tracee::set_regs(live, &regs)?;
        }
        self.remember(&p);
        self.resume(live, sig)
    }

    fn on_task_end(&mut self, live: Tid, status: WaitStatus) -> Result<()> {
        let status = match status {
            WaitStatus::Signaled { signal, .. } => ExitStatus::Signaled(signal),
            WaitStatus::Exited(code) => ExitStatus::Exited(code),
            _ => return Ok(()),
        };
        self.tokens.remove(&live);
        let Some(task) = self.tasks.remove(&live) else { return Ok(()) };
        self.live_of.remove(&task.rec);
        self.ended.insert(task.rec, status);
        if self.killed_by_group_exit.contains(&task.rec) {
            self.drop_after_group_exit(task.rec);
        } else {
            self.take_call_died_in(task.rec);
        }
        Ok(())
    }

    /// Notes that the other threads of task `rec`'s process are being
    /// killed by its exit_group or execve (the kernel does it): they are
    /// never resumed, and their events after this one are taken out now,
    /// not when they end, since until then they would stand before the
    /// next events of other processes of the domain. Returns whether there
    /// were any.
    /// Marks the robust futexes the dying thread `rec` (or, for a group
    /// exit, every thread of its process) holds, as the kernel would (see
    /// `machine::mark_dead_owner_futexes`).
    fn mark_robust_futexes_of_dying(&self, live: Tid, rec: Tid, whole_process: bool) -> Result<()> {
        let tgid = self.process_of(rec);
        let dying: Vec<(Tid, Tid)> = if whole_process {
            self.tasks.iter().filter(|(_, t)| self.process_of(t.rec) == tgid).map(|(&l, t)| (l, t.rec)).collect()
        } else {
            vec![(live, rec)]
        };
        let mem = self.mem(live)?;
        for (thread, owner) in dying {
            if let Ok(Some(head)) = tracee::get_robust_list(thread) {
                machine::mark_dead_owner_futexes(mem, head, owner);
            }
        }
        Ok(())
    }

    fn kill_other_threads(&mut self, rec: Tid) -> bool {
        let tgid = self.process_of(rec);
        let mates: Vec<Tid> =
            self.tasks.iter().filter(|(_, t)| t.rec != rec && self.process_of(t.rec) == tgid).map(|(&live, _)| live).collect();
        for &live in &mates {
            let task = self.tasks.get_mut(&live).expect("listed above");
            task.exiting = true;
            let mate = task.rec;
            self.killed_by_group_exit.insert(mate);
            self.drop_after_group_exit(mate);
        }
        !mates.is_empty()
    }

    /// Takes out the events of task `rec`, killed by its process's group
    /// exit, that come after the exit in the trace, up to its own exit
    /// (serials counted done). The recorder writes the call the task was
    /// in when it died, and a task granted just as the exit began can
    /// have finished a call or two (a thread on its way out blocked its
    /// signals): replay's task is dead and makes none of them.
    fn drop_after_group_exit(&mut self, rec: Tid) {
        while let Some(i) = self.queue.first_of_task(rec) {
            if matches!(self.queue.ahead[i].event, Event::Exit(_)) {
                return;
            }
            let p = self.queue.take_at(i).expect("found event exists");
            if let Event::Resource(r) = &p.event {
                self.serials.complete(r.kind, r.id, r.serial);
            }
            self.remember_owned(p);
        }
    }

    /// Takes out the call task `rec` was in when a group exit or a signal
    /// killed it: the recorder writes it just before the task's exit, and
    /// there is nothing of it to replay. Taken as soon as the task ends,
    /// since the scheduler's scan stops early when every live domain waits.
    fn take_call_died_in(&mut self, rec: Tid) {
        let Some(i) = self.queue.first_of_task(rec) else { return };
        if matches!(self.queue.ahead[i].event, Event::Syscall(_)) && self.queue.exit_follows(rec, i) {
            let p = self.queue.take_at(i).expect("found event exists");
            self.remember_owned(p);
        }
    }
}

const CLONE_THREAD: u64 = 0x10000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;

/// Flags and the parent/child tid pointers of a clone-family call.
fn clone_tid_pointers(mem: &TraceeMemory, call: &SyscallRecord) -> (u64, u64, u64) {
    match call.nr {
        sc::nr::CLONE => (call.args[0], call.args[2], call.args[3]),
        sc::nr::CLONE3 => {
            // struct clone_args: flags, pidfd, child_tid, parent_tid, ...
            let field = |i: u64| mem.read_u64(call.args[0] + 8 * i).unwrap_or(0);
            (field(0), field(3), field(2))
        }
        _ => (0, 0, 0),
    }
}

/// Sets (`on`) or clears `record::STOP_AFTER` in the size field of the
/// records of `loaded` (encoded records) that start at `offsets`.
fn mark_stops_after(loaded: &mut [u8], offsets: impl Iterator<Item = usize>, on: bool) {
    use scribe_bufabi::record;
    for offset in offsets {
        if let Some(low_byte) = loaded.get_mut(offset + record::SIZE) {
            // Sizes are multiples of 8: the bit is free (little-endian).
            *low_byte = if on { *low_byte | record::STOP_AFTER as u8 } else { *low_byte & !(record::STOP_AFTER as u8) };
        }
    }
}

/// The write calls made again on a memory file standing for a file mapped
/// shared (see `Session::shared_file_write`).
const FILE_WRITES: [u32; 4] = [sc::nr::WRITE, sc::nr::PWRITE64, sc::nr::WRITEV, sc::nr::PWRITEV];

/// The bit that marks a memory-file key made from a path (see
/// `Session::read_only_mapping_key`).
const PATH_KEYS: u64 = 1 << 63;
/// The access mode bits of open flags.
const O_ACCMODE: u64 = 3;
/// O_RDONLY's access mode.
const O_RDONLY: u64 = 0;

/// The mappings and program breaks a task's loaded batch makes for real
/// (see [`point::growth_zones`]).
fn upcoming_changes(batch: &[Positioned]) -> point::Upcoming {
    let mut upcoming = point::Upcoming::default();
    for p in batch {
        let Event::Buffered(call) = &p.event else { continue };
        if call.result < 0 {
            continue;
        }
        let at = call.result as u64;
        let page_up = |addr: u64| addr.saturating_add(point::PAGE - 1) & !(point::PAGE - 1);
        if call.nr == sc::nr::MMAP {
            upcoming.mappings.push((at & !(point::PAGE - 1), page_up(at.saturating_add(call.args[1]))));
        } else if call.nr == sc::nr::BRK {
            upcoming.brk = upcoming.brk.max(Some(at));
        }
    }
    upcoming
}

/// The buffered calls of `batch`, each with the pipe it worked on (the id
/// of the pipe serial recorded after it), as the library writes them.
fn buffered_calls(batch: &[Positioned]) -> impl Iterator<Item = (&SyscallRecord, Option<u64>)> {
    batch.iter().enumerate().filter_map(|(i, p)| {
        let Event::Buffered(c) = &p.event else { return None };
        let pipe = batch[i + 1..]
            .iter()
            .map_while(|next| match &next.event {
                Event::Resource(r) => Some(r),
                _ => None,
            })
            .find(|r| r.kind == resource_kind::PIPE)
            .map(|r| r.id);
        Some((c, pipe))
    })
}

/// The arguments that make a re-executed mmap/mremap land at the recorded
/// address (and a personality set what the recorder set, see
/// `machine::personality_kept`); a file mapping becomes anonymous memory,
/// filled afterwards.
/// A writable shared one stays shared, so that the processes forked later
/// share it as they shared the file's pages (their semaphores and
/// counters live there); the others become private, which the replayer
/// can fill through /proc/PID/mem whatever their protection.
fn placed_args(call: &SyscallRecord) -> [u64; 6] {
    let mut args = call.args;
    if call.nr == sc::nr::PERSONALITY {
        args[0] = machine::personality_kept(args[0]);
        return args;
    }
    let addr = call.result as u64;
    if call.nr == sc::nr::MMAP {
        let file_backed = args[3] & machine::MAP_ANONYMOUS == 0;
        let mut flags = args[3] & !machine::MAP_FIXED_NOREPLACE;
        if file_backed {
            let shared = machine::maps_file_shared(flags) && args[2] & machine::PROT_WRITE != 0;
            let kind = if shared { machine::MAP_SHARED } else { machine::MAP_PRIVATE };
            flags = (flags & !machine::MAP_TYPE) | kind | machine::MAP_ANONYMOUS;
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
    args
}

/// The recorded content of a file mapping, `len` bytes of it: from the
/// file store, or the bytes the trace holds.
/// The error for a stop of a task the replayer does not know.
fn unknown_task(live: Tid) -> EngineError {
    EngineError::Unsupported { tid: live, what: "an unknown task stopped during replay".into() }
}

fn mapping_content(files: &mut FileStore, map: &MapRecord, len: u64) -> Result<Vec<u8>> {
    Ok(match (map.file_id, &map.data) {
        (Some(id), _) => files.read(id, map.offset, len)?,
        (None, Some(data)) => data.clone(),
        (None, None) => Vec::new(),
    })
}

/// A stopped write (of any descriptor): what a write to the original
/// outputs waits for, when it is of another domain and earlier.
fn is_write_event(event: &Event) -> bool {
    matches!(event, Event::Syscall(c) if crate::record::is_write(c.nr))
}

/// Events the scheduler's scan must meet wherever they stand in the window
/// (exits too, when they can be applied: see `Session::exit_to_apply`).
/// Not a vfork child's leaving of its parent's domain: the child takes it
/// after its exec (`Session::replay_exec`), and the window often holds it long
/// before then (`make -j2` replayed a quarter slower, walking the whole
/// window at every stop while one did).
fn is_special(event: &Event) -> bool {
    match event {
        Event::Join(j) => !j.leaves_domain(),
        _ => matches!(event, Event::Bookmark(_) | Event::End(_)),
    }
}

fn without_data(event: &Event) -> Event {
    // Field by field: `..x.clone()` would copy the data before dropping it.
    let call = |c: &SyscallRecord| SyscallRecord {
        tid: c.tid,
        nr: c.nr,
        args: c.args,
        result: c.result,
        outputs: Vec::new(),
        inputs: Vec::new(),
        regs_digest: c.regs_digest,
    };
    match event {
        Event::Syscall(c) => Event::Syscall(call(c)),
        Event::Buffered(c) => Event::Buffered(call(c)),
        Event::Exec(e) => Event::Exec(ExecRecord { tid: e.tid, exe_path: Vec::new(), rsp: e.rsp, stack: Vec::new(), mapped_files: Vec::new() }),
        Event::MapFile(m) => Event::MapFile(scribe_trace::MapRecord {
            tid: m.tid,
            addr: m.addr,
            len: m.len,
            prot: m.prot,
            flags: m.flags,
            offset: m.offset,
            file_id: m.file_id,
            data: None,
        }),
        other => other.clone(),
    }
}

/// Whether the arguments a syscall uses are equal (registers beyond its
/// argument count may hold anything).
fn same_args(nr: u32, recorded: &[u64; 6], observed: &[u64; 6]) -> bool {
    let used = sc::spec(nr).map(|s| s.args.len()).unwrap_or(6).min(6);
    recorded[..used] == observed[..used]
}

/// Whether a syscall result is one of the kernel's internal restart codes.
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

#[cfg(test)]
mod tests {
    use super::*;
    use scribe_trace::{Header, ResourceRecord, TraceWriter};

    /// A trace of `calls` syscalls of one task, the one at `with_serial`
    /// followed by a pipe serial.
    fn trace_of_syscalls(path: &Path, calls: u64, with_serial: u64) -> BackgroundReader {
        let mut writer = TraceWriter::create(path, &Header::default()).unwrap();
        for i in 0..calls {
            writer.push(&Event::Syscall(SyscallRecord { tid: 1, nr: 39, args: [i, 0, 0, 0, 0, 0], ..Default::default() })).unwrap();
            if i == with_serial {
                writer.push(&Event::Resource(ResourceRecord { tid: 1, kind: resource_kind::PIPE, id: 9, serial: 1 })).unwrap();
            }
        }
        writer.finish().unwrap();
        BackgroundReader::spawn(TraceReader::open(path).unwrap()).unwrap()
    }

    #[test]
    fn the_lookahead_stays_short_over_a_run_of_syscalls_and_serials_move_before_theirs() {
        let dir = std::env::temp_dir().join(format!("scribe-queue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut queue = EventQueue::new(trace_of_syscalls(&dir.join("t"), 10_000, 5));
        for i in 0..5u64 {
            let p = queue.pop().expect("an event");
            assert!(matches!(&p.event, Event::Syscall(c) if c.args[0] == i));
            assert!(queue.ahead.len() <= 2, "{} events read ahead", queue.ahead.len());
        }
        // The serial written after syscall 5 comes before it.
        assert!(matches!(queue.pop().map(|p| p.event), Some(Event::Resource(r)) if r.serial == 1));
        assert!(matches!(queue.pop().map(|p| p.event), Some(Event::Syscall(c)) if c.args[0] == 5));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn removing_several_events_keeps_the_rest_in_order_and_the_clean_prefixes_true() {
        let dir = std::env::temp_dir().join(format!("scribe-queue-remove-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t");
        let mut writer = TraceWriter::create(&path, &Header::default()).unwrap();
        // Task 1's calls 0..8, with task 2's at 0, 3 and 4 in between.
        for i in 0..8u64 {
            let tid = if matches!(i, 0 | 3 | 4) { 2 } else { 1 };
            writer.push(&Event::Syscall(SyscallRecord { tid, nr: 39, args: [i, 0, 0, 0, 0, 0], ..Default::default() })).unwrap();
        }
        writer.push(&Event::Bookmark(Default::default())).unwrap();
        writer.finish().unwrap();
        let mut queue = EventQueue::new(BackgroundReader::spawn(TraceReader::open(&path).unwrap()).unwrap());
        queue.fill(9);
        // Task 2's domain has no event before index 0, task 1's none before 1.
        assert_eq!(queue.find_within(1, WINDOW), Lookup::Found(1));
        queue.clean_prefix.insert(7, 6);
        let specials = queue.specials;
        let taken = queue.remove_ascending(&[1, 2, 5, 8]);
        let args = |events: &mut dyn Iterator<Item = &Positioned>| -> Vec<u64> {
            events.map(|p| if let Event::Syscall(c) = &p.event { c.args[0] } else { 99 }).collect()
        };
        assert_eq!(args(&mut taken.iter()), vec![1, 2, 5, 99]);
        assert_eq!(args(&mut queue.ahead.iter()), vec![0, 3, 4, 6, 7]);
        assert_eq!(queue.ahead_domains.len(), queue.ahead.len());
        assert_eq!(queue.specials, specials - 1, "the bookmark taken is no longer counted");
        // A prefix of 6 events had 3 of them taken before its end; task 1's
        // prefix of 1 had none.
        assert_eq!(queue.clean_prefix.get(&7), Some(&3));
        assert_eq!(queue.clean_prefix.get(&1), Some(&1));
        std::fs::remove_dir_all(&dir).ok();
    }
}
