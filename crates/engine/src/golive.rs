//! Going live: turning a replayed process back into a normal one.
//!
//! During replay no file is really open (opens, reads and writes are
//! emulated), so the replayer follows each process's descriptor table from
//! the replayed syscalls ([`OpenFiles`]). To go live it makes the process
//! itself reopen its files at their recorded offsets, by running injected
//! syscalls from a seccomp stop: openat, dup2, close, lseek. Pipes are
//! made again for real, between the same processes, with the bytes they
//! held; epoll instances are made again with the descriptors they watched,
//! eventfds empty, timerfds armed as last set; sockets and the like become
//! /dev/null.

use std::collections::BTreeMap;

use scribe_syscalls::nr;
use scribe_tracee::{self as tracee, Regs, Tid, TraceeMemory, WaitStatus};

use crate::error::{EngineError, Result};

const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
pub(crate) const O_APPEND: u64 = 0o2000;
const O_CLOEXEC: u64 = 0o2000000;
const O_RDWR: u64 = 2;
const O_WRONLY: u64 = 1;
const O_RDONLY: u64 = 0;
const O_NONBLOCK: u64 = 0o4000;
const AT_FDCWD: u64 = -100i64 as u64;
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;
const SEEK_SET: u64 = 0;
const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
/// `struct epoll_event` on x86-64: a u32 mask, then a u64, packed.
const EPOLL_EVENT_LEN: usize = 12;
/// `struct itimerspec`: two `struct timespec`s (interval, first expiry).
const ITIMERSPEC_LEN: usize = 32;

/// The mask and data of a `struct epoll_event`.
fn epoll_event(bytes: &[u8]) -> Option<(u32, u64)> {
    let events = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let data = u64::from_le_bytes(bytes.get(4..EPOLL_EVENT_LEN)?.try_into().ok()?);
    Some((events, data))
}

/// What a descriptor of the recorded process referred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFile {
    /// A file opened by path, with its flags and current offset.
    File {
        /// Absolute path.
        path: Vec<u8>,
        /// Open flags.
        flags: u64,
        /// Offset after the replayed reads, writes and seeks.
        offset: u64,
    },
    /// The standard stream the program started with on this descriptor number (0, 1, 2).
    Std(i32),
    /// An end of a pipe the program made.
    Pipe {
        /// Which pipe: unique in the replay (its maker's pid, then a count).
        id: u64,
        /// The write end (else the read end).
        write: bool,
        /// Made with O_NONBLOCK.
        nonblock: bool,
    },
    /// An epoll instance, with what it watches: descriptor, then the
    /// event mask and data given to epoll_ctl.
    Epoll {
        /// Watched descriptors of the process, with their events and data.
        watched: BTreeMap<i32, (u32, u64)>,
    },
    /// An eventfd, with the flags it was made with (its count is not followed).
    EventFd {
        /// eventfd2's flags (EFD_SEMAPHORE, EFD_NONBLOCK; EFD_CLOEXEC aside).
        flags: u64,
    },
    /// A timerfd, with its clock, flags and last setting.
    TimerFd {
        /// timerfd_create's clock.
        clock: u64,
        /// timerfd_create's flags (TFD_NONBLOCK; TFD_CLOEXEC aside).
        flags: u64,
        /// timerfd_settime's flags and `struct itimerspec` (interval, then
        /// first expiry), while armed.
        setting: Option<(u64, [u8; ITIMERSPEC_LEN])>,
    },
    /// A socket or other descriptor that cannot be reopened.
    Other,
}

/// Bytes that went through a pipe in one replayed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipeTransfer {
    /// The pipe (`OpenFile::Pipe`'s id).
    pub id: u64,
    /// Written into it (else read from it).
    pub write: bool,
    /// How many bytes.
    pub bytes: u64,
}

/// One process's descriptors as the replayed syscalls left them.
#[derive(Debug, Clone)]
pub struct OpenFiles {
    fds: BTreeMap<i32, (OpenFile, bool)>,
    cwd: Vec<u8>,
    /// The recorded pid of the process, and how many pipes it has made:
    /// together, the id of its next pipe.
    owner: Tid,
    pipes_made: u64,
}

impl OpenFiles {
    /// The table of program `pid` (recorded) started in `cwd` with fds 0-2 open.
    pub fn new(cwd: &[u8], pid: Tid) -> Self {
        let fds = (0..3).map(|fd| (fd, (OpenFile::Std(fd), false))).collect();
        OpenFiles { fds, cwd: cwd.to_vec(), owner: pid, pipes_made: 0 }
    }

    /// The table of `child` (recorded pid), forked from this process: the
    /// same descriptors; the pipes it makes are its own.
    pub fn for_child(&self, child: Tid) -> Self {
        OpenFiles { fds: self.fds.clone(), cwd: self.cwd.clone(), owner: child, pipes_made: 0 }
    }

    /// Every descriptor and what it refers to.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &OpenFile)> {
        self.fds.iter().map(|(&fd, (file, _))| (fd, file))
    }

    /// The working directory the replayed chdir calls left (which replay
    /// makes for real only where the directory still exists).
    pub fn cwd(&self) -> &[u8] {
        &self.cwd
    }

    /// What descriptor `fd` refers to.
    pub fn get(&self, fd: i32) -> Option<&OpenFile> {
        self.fds.get(&fd).map(|(f, _)| f)
    }

    fn absolute(&self, base: Option<&[u8]>, path: &[u8]) -> Vec<u8> {
        if path.starts_with(b"/") {
            return path.to_vec();
        }
        let mut out = base.unwrap_or(&self.cwd).to_vec();
        if !out.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(path);
        out
    }

    fn copy(&mut self, old: i32, new: i32, cloexec: bool) {
        let entry = self.fds.get(&old).map(|(f, _)| f.clone()).unwrap_or(OpenFile::Other);
        self.fds.insert(new, (entry, cloexec));
    }

    /// Follows one replayed syscall; returns the bytes it moved through a
    /// pipe, if any. Paths come from the call's recorded inputs when it has
    /// them (a buffered call is applied after the program ran on and may
    /// have reused the memory), else from `mem`, the process's memory.
    pub fn apply(&mut self, call: &scribe_trace::SyscallRecord, mem: &TraceeMemory) -> Option<PipeTransfer> {
        let (nr_, args, result) = (call.nr, &call.args, call.result);
        if result < 0 {
            return None;
        }
        let read_path = |addr: u64| match call.inputs.iter().find(|m| m.addr == addr) {
            Some(m) => m.bytes.split(|&b| b == 0).next().unwrap_or_default().to_vec(),
            None => mem.read_cstr(addr, 4096),
        };
        // A fixed-size struct the call reads, the same way.
        let read_struct = |addr: u64, len: usize| match call.inputs.iter().find(|m| m.addr == addr) {
            Some(m) => m.bytes.get(..len).map(<[u8]>::to_vec),
            None => mem.read(addr, len).ok(),
        };
        let fd = |i: usize| args[i] as i32;
        let new = result as i32;
        match nr_ {
            nr::OPENAT | nr::OPEN | nr::CREAT => {
                let (dir, path_arg, flags) = match nr_ {
                    nr::OPENAT => (args[0], args[1], args[2]),
                    nr::OPEN => (AT_FDCWD, args[0], args[1]),
                    _ => (AT_FDCWD, args[0], O_CREAT | 1 | O_TRUNC),
                };
                let path = read_path(path_arg);
                let base = match self.fds.get(&(dir as i32)) {
                    Some((OpenFile::File { path, .. }, _)) if dir != AT_FDCWD => Some(path.clone()),
                    _ => None,
                };
                let path = self.absolute(base.as_deref(), &path);
                self.fds.insert(new, (OpenFile::File { path, flags, offset: 0 }, flags & O_CLOEXEC != 0));
            }
            nr::CLOSE => {
                self.fds.remove(&fd(0));
                // The kernel drops a closed file from the epoll sets.
                for (file, _) in self.fds.values_mut() {
                    if let OpenFile::Epoll { watched } = file {
                        watched.remove(&fd(0));
                    }
                }
            }
            nr::EPOLL_CREATE | nr::EPOLL_CREATE1 => {
                let cloexec = nr_ == nr::EPOLL_CREATE1 && args[0] & O_CLOEXEC != 0;
                self.fds.insert(new, (OpenFile::Epoll { watched: BTreeMap::new() }, cloexec));
            }
            nr::EVENTFD | nr::EVENTFD2 => {
                let flags = if nr_ == nr::EVENTFD2 { args[1] } else { 0 };
                self.fds.insert(new, (OpenFile::EventFd { flags: flags & !O_CLOEXEC }, flags & O_CLOEXEC != 0));
            }
            nr::TIMERFD_CREATE => {
                let flags = args[1];
                self.fds.insert(new, (OpenFile::TimerFd { clock: args[0], flags: flags & !O_CLOEXEC, setting: None }, flags & O_CLOEXEC != 0));
            }
            nr::TIMERFD_SETTIME => {
                let spec = read_struct(args[2], ITIMERSPEC_LEN).and_then(|b| <[u8; ITIMERSPEC_LEN]>::try_from(b).ok());
                if let (Some((OpenFile::TimerFd { setting, .. }, _)), Some(spec)) = (self.fds.get_mut(&fd(0)), spec) {
                    // A zero first expiry disarms the timer.
                    *setting = spec[16..].iter().any(|&b| b != 0).then_some((args[1], spec));
                }
            }
            nr::EPOLL_CTL => {
                let event = read_struct(args[3], EPOLL_EVENT_LEN);
                if let Some((OpenFile::Epoll { watched }, _)) = self.fds.get_mut(&fd(0)) {
                    match (args[1], event.as_deref().and_then(epoll_event)) {
                        (EPOLL_CTL_DEL, _) => {
                            watched.remove(&fd(2));
                        }
                        (EPOLL_CTL_ADD | EPOLL_CTL_MOD, Some(event)) => {
                            watched.insert(fd(2), event);
                        }
                        _ => {}
                    }
                }
            }
            nr::DUP => self.copy(fd(0), new, false),
            nr::DUP2 if args[0] != args[1] => self.copy(fd(0), fd(1), false),
            nr::DUP3 => self.copy(fd(0), fd(1), args[2] & O_CLOEXEC != 0),
            nr::FCNTL if args[1] == F_DUPFD || args[1] == F_DUPFD_CLOEXEC => {
                self.copy(fd(0), new, args[1] == F_DUPFD_CLOEXEC)
            }
            nr::READ | nr::READV | nr::WRITE | nr::WRITEV => match self.fds.get_mut(&fd(0)) {
                Some((OpenFile::File { offset, .. }, _)) => *offset += result as u64,
                Some((OpenFile::Pipe { id, .. }, _)) if result > 0 => {
                    return Some(PipeTransfer { id: *id, write: matches!(nr_, nr::WRITE | nr::WRITEV), bytes: result as u64 });
                }
                _ => {}
            },
            nr::LSEEK => {
                if let Some((OpenFile::File { offset, .. }, _)) = self.fds.get_mut(&fd(0)) {
                    *offset = result as u64;
                }
            }
            nr::CHDIR => {
                let path = read_path(args[0]);
                self.cwd = self.absolute(None, &path);
            }
            nr::PIPE | nr::PIPE2 | nr::SOCKETPAIR => {
                let at = if nr_ == nr::SOCKETPAIR { args[3] } else { args[0] };
                let flags = if nr_ == nr::PIPE2 { args[1] } else { 0 };
                let id = (u64::from(self.owner as u32) << 32) | self.pipes_made;
                self.pipes_made += 1;
                if let Ok(bytes) = mem.read(at, 8) {
                    for (end, pair) in bytes.chunks_exact(4).enumerate() {
                        let fd = i32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
                        let file = if nr_ == nr::SOCKETPAIR {
                            OpenFile::Other
                        } else {
                            OpenFile::Pipe { id, write: end == 1, nonblock: flags & O_NONBLOCK != 0 }
                        };
                        self.fds.insert(fd, (file, flags & O_CLOEXEC != 0));
                    }
                }
            }
            nr::CLOSE_RANGE => {
                let (first, last) = (args[0], args[1]);
                self.fds.retain(|&fd, _| !(first..=last).contains(&(fd as u64)));
            }
            _ if creates_fd(nr_) => {
                self.fds.insert(new, (OpenFile::Other, false));
            }
            _ => {}
        }
        None
    }

    /// Drops close-on-exec descriptors after a successful execve.
    pub fn exec(&mut self) {
        self.fds.retain(|_, (_, cloexec)| !*cloexec);
    }
}

/// Syscalls whose result is a new descriptor that cannot be reopened by path.
fn creates_fd(nr_: u32) -> bool {
    matches!(
        nr_,
        nr::SOCKET
            | nr::ACCEPT
            | nr::ACCEPT4
            | nr::SIGNALFD
            | nr::SIGNALFD4
            | nr::MEMFD_CREATE
            | nr::INOTIFY_INIT
            | nr::INOTIFY_INIT1
            | nr::PIDFD_OPEN
    )
}

/// Runs syscalls inside a task stopped at a seccomp stop.
struct Injector {
    tid: Tid,
    /// The registers of the task's own pending syscall.
    original: Regs,
    /// Whether the task is at a syscall-exit stop (after an injected call).
    at_exit: bool,
    /// For a task stopped in user code (not at a syscall): the `syscall`
    /// instruction each call runs through, its registers put back after.
    remote: Option<u64>,
    scratch: u64,
    mem: TraceeMemory,
}

impl Injector {
    fn new(tid: Tid, remote: Option<u64>) -> Result<Self> {
        let original = tracee::get_regs(tid)?;
        // Below the red zone of the stack, which the stopped task does not use.
        let scratch = (original.rsp - 4096 - 256) & !15;
        Ok(Injector { tid, original, at_exit: false, remote, scratch, mem: TraceeMemory::open(tid)? })
    }

    fn call(&mut self, nr_: u32, args: [u64; 6]) -> Result<i64> {
        if let Some(insn) = self.remote {
            return Ok(tracee::remote_syscall(self.tid, insn, u64::from(nr_), args)?);
        }
        let mut regs = tracee::get_regs(self.tid)?;
        if self.at_exit {
            // Run the `syscall` instruction again with new registers: the
            // task stops at its seccomp stop first.
            regs.rip -= 2;
            regs.rax = u64::from(nr_);
            regs.orig_rax = u64::from(nr_);
            tracee::set_syscall_args(&mut regs, &args);
            tracee::set_regs(self.tid, &regs)?;
            tracee::cont_syscall(self.tid, 0)?;
            self.wait_for(|s| s == WaitStatus::Event(scribe_tracee::PtraceEvent::Seccomp))?;
            regs = tracee::get_regs(self.tid)?;
        }
        regs.orig_rax = u64::from(nr_);
        tracee::set_syscall_args(&mut regs, &args);
        tracee::set_regs(self.tid, &regs)?;
        tracee::cont_syscall(self.tid, 0)?;
        self.wait_for(|s| s == WaitStatus::SyscallStop)?;
        self.at_exit = true;
        Ok(tracee::get_regs(self.tid)?.rax as i64)
    }

    fn wait_for(&self, wanted: impl Fn(WaitStatus) -> bool) -> Result<()> {
        loop {
            let (_, status) = tracee::wait(self.tid)?;
            if wanted(status) {
                return Ok(());
            }
            match status {
                WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => {
                    return Err(EngineError::Unsupported { tid: self.tid, what: "the task ended while its files were reopened".into() })
                }
                // Signals of the moment are discarded: the program's own
                // come after it goes live.
                _ => tracee::cont_syscall(self.tid, 0)?,
            }
        }
    }

    /// Makes descriptor `fd` again with syscall `nr_` (whose result is a new
    /// descriptor), moved onto number `fd`; false, with a note saying
    /// `what` could not be made, if the call failed.
    fn make_again(&mut self, nr_: u32, args: [u64; 6], fd: i32, cloexec_flag: u64, what: &str, notes: &mut Vec<String>) -> Result<bool> {
        let made = self.call(nr_, args)?;
        if made < 0 {
            notes.push(format!("cannot make {what} {fd} again: errno {}", -made));
            return Ok(false);
        }
        self.move_onto(made, fd, cloexec_flag)?;
        Ok(true)
    }

    /// Moves new descriptor `made` onto number `fd`, if it is another.
    fn move_onto(&mut self, made: i64, fd: i32, cloexec_flag: u64) -> Result<()> {
        if made != i64::from(fd) {
            self.call(nr::DUP3, [made as u64, fd as u64, cloexec_flag, 0, 0, 0])?;
            self.call(nr::CLOSE, [made as u64, 0, 0, 0, 0, 0])?;
        }
        Ok(())
    }

    fn string(&mut self, bytes: &[u8]) -> Result<u64> {
        let mut s = bytes.to_vec();
        s.push(0);
        self.mem.write(self.scratch, &s)?;
        Ok(self.scratch)
    }

    /// Puts the task back at its own pending syscall, which then runs live
    /// (a task in user code is where it was already).
    fn finish(self) -> Result<()> {
        if self.remote.is_some() {
            return Ok(());
        }
        if self.at_exit {
            let mut regs = self.original;
            regs.rip -= 2;
            regs.rax = regs.orig_rax;
            tracee::set_regs(self.tid, &regs)?;
        } else {
            tracee::set_regs(self.tid, &self.original)?;
        }
        Ok(())
    }
}

/// Makes the process of task `tid` (stopped at a seccomp stop, unless
/// `from_user_code`) open the
/// files `files` describes, on the same descriptor numbers and at the same
/// offsets; a pipe end whose pipe `pipes` has (its read and write ends'
/// paths, `/proc/PID/fd/N` of the replayer's real pipe) is opened from
/// there. Returns notes about descriptors that could not be restored.
///
/// `from_user_code`: for a process none of whose tasks is at a syscall,
/// `tid` is held in user code (at a signal-delivery or syscall-exit stop),
/// and each call runs through the `syscall` instruction at this address
/// (the vDSO's), the task's registers put back after it.
pub fn reopen_files(tid: Tid, from_user_code: Option<u64>, files: &OpenFiles, pipes: &BTreeMap<u64, [Vec<u8>; 2]>) -> Result<Vec<String>> {
    let mut inj = Injector::new(tid, from_user_code)?;
    let mut notes = Vec::new();
    // Standard streams first, while 0-2 still hold the real ones.
    let mut parked = Vec::new();
    for (&fd, (file, _)) in &files.fds {
        if let OpenFile::Std(stream) = file {
            if fd != *stream {
                let tmp = inj.call(nr::FCNTL, [*stream as u64, F_DUPFD, 100, 0, 0, 0])?;
                if tmp >= 0 {
                    parked.push((tmp, fd));
                }
            }
        }
    }
    for (tmp, fd) in parked {
        inj.call(nr::DUP2, [tmp as u64, fd as u64, 0, 0, 0, 0])?;
        inj.call(nr::CLOSE, [tmp as u64, 0, 0, 0, 0, 0])?;
    }
    for std_fd in 0..3 {
        if files.get(std_fd).is_none() {
            // Closed by the program: replay only pretended to close it.
            inj.call(nr::CLOSE, [std_fd as u64, 0, 0, 0, 0, 0])?;
        }
    }
    let mut epolls = Vec::new();
    for (&fd, (file, cloexec)) in &files.fds {
        let cloexec_flag = if *cloexec { O_CLOEXEC } else { 0 };
        let (path, flags, offset) = match file {
            OpenFile::Std(stream) if *stream == fd => continue,
            OpenFile::Std(_) => continue,
            // Recreated if it was created by the program and is gone now,
            // but never truncated: the recording's content stays.
            OpenFile::File { path, flags, offset } => (path.clone(), (flags & !(O_EXCL | O_TRUNC)) | cloexec_flag, Some(*offset)),
            OpenFile::Pipe { id, write, nonblock } if pipes.contains_key(id) => {
                let mode = if *write { O_WRONLY } else { O_RDONLY };
                let nonblock = if *nonblock { O_NONBLOCK } else { 0 };
                (pipes[id][usize::from(*write)].clone(), mode | nonblock | cloexec_flag, None)
            }
            OpenFile::Epoll { watched } => {
                if inj.make_again(nr::EPOLL_CREATE1, [cloexec_flag, 0, 0, 0, 0, 0], fd, cloexec_flag, "epoll descriptor", &mut notes)? {
                    epolls.push((fd, watched));
                }
                continue;
            }
            OpenFile::EventFd { flags } => {
                inj.make_again(nr::EVENTFD2, [0, flags | cloexec_flag, 0, 0, 0, 0], fd, cloexec_flag, "eventfd", &mut notes)?;
                continue;
            }
            OpenFile::TimerFd { clock, flags, setting } => {
                let args = [*clock, flags | cloexec_flag, 0, 0, 0, 0];
                if !inj.make_again(nr::TIMERFD_CREATE, args, fd, cloexec_flag, "timerfd", &mut notes)? {
                    continue;
                }
                if let Some((set_flags, spec)) = setting {
                    // Armed again as it was set: a relative first expiry
                    // starts over from now.
                    let at = inj.string(spec)?;
                    let set = inj.call(nr::TIMERFD_SETTIME, [fd as u64, *set_flags, at, 0, 0, 0])?;
                    if set < 0 {
                        notes.push(format!("cannot arm timerfd {fd} again: errno {}", -set));
                    }
                }
                continue;
            }
            OpenFile::Pipe { .. } | OpenFile::Other => {
                notes.push(format!("descriptor {fd} (a pipe, socket or the like) is replaced by /dev/null"));
                (b"/dev/null".to_vec(), O_RDWR | cloexec_flag, None)
            }
        };
        let at = inj.string(&path)?;
        let tmp = inj.call(nr::OPENAT, [AT_FDCWD, at, flags, 0o644, 0, 0])?;
        if tmp < 0 {
            notes.push(format!("cannot reopen {} on descriptor {fd}: errno {}", String::from_utf8_lossy(&path), -tmp));
            continue;
        }
        inj.move_onto(tmp, fd, cloexec_flag)?;
        if let Some(offset) = offset.filter(|_| flags & O_APPEND == 0) {
            inj.call(nr::LSEEK, [fd as u64, offset, SEEK_SET, 0, 0, 0])?;
        }
    }
    // Once every descriptor they watch is back.
    for (epfd, watched) in epolls {
        for (&target, &(events, data)) in watched {
            let mut event = events.to_le_bytes().to_vec();
            event.extend(data.to_le_bytes());
            let at = inj.string(&event)?;
            let added = inj.call(nr::EPOLL_CTL, [epfd as u64, EPOLL_CTL_ADD, target as u64, at, 0, 0])?;
            if added < 0 {
                notes.push(format!("epoll descriptor {epfd} cannot watch descriptor {target} again: errno {}", -added));
            }
        }
    }
    inj.finish()?;
    Ok(notes)
}
