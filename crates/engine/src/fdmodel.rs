//! What file descriptors refer to, followed through the syscalls that copy
//! and close them.
//!
//! [`FdTable`] follows dup, dup2, dup3, fcntl(F_DUPFD*), close, close_range
//! and close-on-exec from syscall results. Descriptors created by other
//! calls can only reuse a number after it was closed, so they need no
//! tracking. Two tables use it: [`StdFds`] (which descriptors still refer to
//! the standard streams the program was started with: replay re-writes
//! output sent to the original stdout and stderr) and the recorder's table
//! of pipes (for the pipes' rendezvous serials).

use foldhash::HashMap;

use scribe_syscalls::nr;

const F_DUPFD: u64 = 0;
const F_SETFD: u64 = 2;
const F_DUPFD_CLOEXEC: u64 = 1030;
const FD_CLOEXEC: u64 = 1;
const O_CLOEXEC: u64 = 0o2000000;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// One of the three streams a program starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    /// File descriptor 0 at start.
    Stdin,
    /// File descriptor 1 at start.
    Stdout,
    /// File descriptor 2 at start.
    Stderr,
}

#[derive(Debug, Clone, Copy)]
struct Entry<V> {
    value: V,
    cloexec: bool,
}

/// Descriptors of one fd table, each with what it refers to.
#[derive(Debug, Clone)]
pub struct FdTable<V> {
    fds: HashMap<u64, Entry<V>>,
    /// Changes at every call that may close or replace a descriptor, and
    /// at every task start (see [`FdTable::generation`]).
    generation: u32,
}

impl<V> Default for FdTable<V> {
    fn default() -> Self {
        FdTable { fds: HashMap::default(), generation: 0 }
    }
}

impl<V> FdTable<V> {
    /// The syscall buffer's FD_GENERATION: the preload library forgets the
    /// kinds of descriptors it learned whenever this changes. It is a
    /// function of the calls followed so far, so recording and replay,
    /// which follow the same calls, write the same values.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// A task of the table's process starts (a new thread, a new process,
    /// a vfork parent running again after its child is done): what the
    /// library learned before may be about another table.
    pub fn task_started(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The table of a vfork child, which runs in its parent's memory (and
    /// so with its parent's library state) but with a copy of the table:
    /// its generations differ from every one its parent writes (the
    /// parent's count up from below 2^31, the child's from above), so the
    /// parent forgets what the child's library learned.
    pub fn for_vfork_child(&self) -> Self
    where
        V: Clone,
    {
        FdTable { fds: self.fds.clone(), generation: self.generation ^ 0x8000_0000 }
    }
}

/// The descriptors of one fd table that refer to a standard stream.
pub type StdFds = FdTable<StdStream>;

/// The path argument of an open-family call and whether it asks for
/// close-on-exec.
pub fn opened_path(nr_: u32, args: &[u64; 6]) -> Option<(u64, bool)> {
    match nr_ {
        nr::OPEN => Some((args[0], args[1] & O_CLOEXEC != 0)),
        nr::CREAT => Some((args[0], false)),
        nr::OPENAT => Some((args[1], args[2] & O_CLOEXEC != 0)),
        _ => None,
    }
}

impl StdFds {
    /// The table of a program's start: 0, 1 and 2 are its streams.
    pub fn at_start() -> Self {
        let mut table = FdTable::default();
        for (fd, stream) in [(0, StdStream::Stdin), (1, StdStream::Stdout), (2, StdStream::Stderr)] {
            table.insert(fd, stream);
        }
        table
    }

    /// The standard stream `fd` refers to, if any.
    pub fn stream(&self, fd: u64) -> Option<StdStream> {
        self.get(fd)
    }

    /// The original stdout or stderr, if `fd` refers to one of them.
    pub fn output_stream(&self, fd: u64) -> Option<StdStream> {
        self.get(fd).filter(|s| matches!(s, StdStream::Stdout | StdStream::Stderr))
    }

    /// After an open that gave descriptor `fd` to process `tgid`: when
    /// `path` names one of the process's descriptors that is a standard
    /// stream (`echo x > /dev/stderr`, `tee /dev/stdout`,
    /// `/proc/self/fd/1`), `fd` is that stream too. Returns whether it is.
    pub fn reopened(&mut self, fd: u64, path: &[u8], tgid: u64, cloexec: bool) -> bool {
        let Some((pid, named)) = scribe_bufabi::descriptor_named_by(path) else { return false };
        if pid.is_some_and(|pid| pid != tgid) {
            return false;
        }
        match self.stream(named) {
            Some(stream) => {
                self.insert_opened(fd, stream, cloexec);
                true
            }
            None => false,
        }
    }

    /// The syscall buffer's STD_FDS bitmap: the descriptors that are the
    /// original standard output or error.
    pub fn output_bitmap(&self) -> u64 {
        self.fds
            .keys()
            .filter(|&&fd| self.output_stream(fd).is_some())
            .fold(0, |bits, &fd| bits | scribe_bufabi::std_fd_bit(fd))
    }
}

impl<V: Copy> FdTable<V> {
    /// What `fd` refers to, if known.
    pub fn get(&self, fd: u64) -> Option<V> {
        self.fds.get(&fd).map(|e| e.value)
    }

    /// Records what `fd` refers to (not close-on-exec).
    pub fn insert(&mut self, fd: u64, value: V) {
        self.fds.insert(fd, Entry { value, cloexec: false });
    }

    /// Records what a descriptor just opened refers to, with its
    /// close-on-exec flag.
    pub fn insert_opened(&mut self, fd: u64, value: V, cloexec: bool) {
        self.fds.insert(fd, Entry { value, cloexec });
    }

    fn copy(&mut self, old: u64, new: u64, cloexec: bool) {
        match self.fds.get(&old).copied() {
            Some(e) => {
                self.fds.insert(new, Entry { value: e.value, cloexec });
            }
            None => {
                self.fds.remove(&new);
            }
        }
    }

    /// Updates the table after a syscall (only successful ones change it,
    /// and the generation changes at each that may have closed a
    /// descriptor). A failed call changes nothing: a call interrupted for
    /// a signal (ERESTARTNOINTR) is in the trace twice, and the first time
    /// the recorder writes nothing to the buffer header.
    pub fn apply(&mut self, nr_: u32, args: &[u64; 6], result: i64) {
        if result < 0 {
            return;
        }
        if matches!(nr_, nr::CLOSE | nr::DUP2 | nr::DUP3 | nr::CLOSE_RANGE) {
            self.generation = self.generation.wrapping_add(1);
        }
        let new = result as u64;
        match nr_ {
            nr::CLOSE => {
                self.fds.remove(&args[0]);
            }
            nr::DUP => self.copy(args[0], new, false),
            nr::DUP2 if args[0] != args[1] => self.copy(args[0], args[1], false),
            nr::DUP3 => self.copy(args[0], args[1], args[2] & O_CLOEXEC != 0),
            nr::FCNTL => match args[1] {
                F_DUPFD => self.copy(args[0], new, false),
                F_DUPFD_CLOEXEC => self.copy(args[0], new, true),
                F_SETFD => {
                    if let Some(e) = self.fds.get_mut(&args[0]) {
                        e.cloexec = args[2] & FD_CLOEXEC != 0;
                    }
                }
                _ => {}
            },
            nr::CLOSE_RANGE => {
                let (first, last) = (args[0], args[1]);
                if args[2] & CLOSE_RANGE_CLOEXEC != 0 {
                    for (_, e) in self.fds.iter_mut().filter(|(fd, _)| (first..=last).contains(*fd)) {
                        e.cloexec = true;
                    }
                } else {
                    self.fds.retain(|fd, _| !(first..=last).contains(fd));
                }
            }
            _ => {}
        }
    }

    /// Whether syscall `nr_` may change a table (see [`FdTable::apply`]).
    pub fn changed_by(nr_: u32) -> bool {
        matches!(nr_, nr::CLOSE | nr::DUP | nr::DUP2 | nr::DUP3 | nr::FCNTL | nr::CLOSE_RANGE)
    }

    /// Drops close-on-exec descriptors after a successful execve.
    pub fn exec(&mut self) {
        self.fds.retain(|_, e| !e.cloexec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_naming_a_standard_stream_opens_that_stream_again() {
        let mut fds = StdFds::at_start();
        assert!(fds.reopened(5, b"/dev/stderr", 100, false));
        assert_eq!(fds.stream(5), Some(StdStream::Stderr));
        assert!(fds.reopened(6, b"/proc/100/fd/1", 100, true));
        assert_eq!(fds.stream(6), Some(StdStream::Stdout));
        assert!(!fds.reopened(7, b"/proc/101/fd/1", 100, false), "another process's descriptor");
        assert!(!fds.reopened(8, b"/dev/fd/9", 100, false), "not a stream");
        assert!(!fds.reopened(9, b"/etc/passwd", 100, false));
        assert_eq!(fds.stream(7), None);
        fds.apply(nr::CLOSE, &[1, 0, 0, 0, 0, 0], 0);
        assert!(!fds.reopened(10, b"/dev/stdout", 100, false), "1 was closed");
        fds.exec();
        assert_eq!(fds.stream(6), None, "close-on-exec");
        assert_eq!(fds.stream(5), Some(StdStream::Stderr));
    }

    #[test]
    fn follows_dup_close_and_cloexec() {
        let mut t = StdFds::at_start();
        t.apply(nr::DUP, &[1, 0, 0, 0, 0, 0], 5);
        assert_eq!(t.stream(5), Some(StdStream::Stdout));
        t.apply(nr::DUP2, &[2, 1, 0, 0, 0, 0], 1);
        assert_eq!(t.stream(1), Some(StdStream::Stderr));
        t.apply(nr::CLOSE, &[2, 0, 0, 0, 0, 0], 0);
        assert_eq!(t.stream(2), None);
        t.apply(nr::DUP2, &[9, 5, 0, 0, 0, 0], 5);
        assert_eq!(t.stream(5), None, "dup2 of an unrelated fd replaces the stream");
        t.apply(nr::FCNTL, &[1, F_DUPFD_CLOEXEC, 10, 0, 0, 0], 10);
        assert_eq!(t.stream(10), Some(StdStream::Stderr));
        t.exec();
        assert_eq!(t.stream(10), None);
        assert_eq!(t.stream(1), Some(StdStream::Stderr));
        t.apply(nr::CLOSE, &[1, 0, 0, 0, 0, 0], -9);
        assert_eq!(t.stream(1), Some(StdStream::Stderr), "failed close changes nothing");
    }

    #[test]
    fn a_table_of_any_value_follows_dup_and_close() {
        let mut t: FdTable<Option<u64>> = FdTable::default();
        assert_eq!(t.get(3), None, "unknown");
        t.insert(3, Some(77));
        t.insert(4, None);
        assert_eq!(t.get(4), Some(None), "known not to be a pipe");
        t.apply(nr::DUP2, &[3, 0, 0, 0, 0, 0], 0);
        assert_eq!(t.get(0), Some(Some(77)));
        t.apply(nr::CLOSE, &[3, 0, 0, 0, 0, 0], 0);
        assert_eq!(t.get(3), None);
        assert_eq!(t.get(0), Some(Some(77)));
    }

    #[test]
    fn the_output_bitmap_marks_copies_of_stdout_and_stderr_only() {
        let mut t = StdFds::at_start();
        assert_eq!(t.output_bitmap(), 0b110, "stdin is not an output");
        t.apply(nr::DUP2, &[7, 1, 0, 0, 0, 0], 1);
        t.apply(nr::FCNTL, &[2, F_DUPFD, 100, 0, 0, 0], 100);
        assert_eq!(t.output_bitmap(), 0b100 | 1 << 63, "fd 1 now a pipe; fd 100 counts in the high bit");
        assert!(StdFds::changed_by(nr::DUP3) && !StdFds::changed_by(nr::WRITE));
    }

    #[test]
    fn the_generation_changes_at_closes_and_starts_and_a_vfork_child_has_its_own() {
        let mut t = StdFds::at_start();
        let start = t.generation();
        t.apply(nr::DUP, &[1, 0, 0, 0, 0, 0], 5);
        t.apply(nr::FCNTL, &[1, F_DUPFD, 10, 0, 0, 0], 10);
        assert_eq!(t.generation(), start, "a new descriptor replaces nothing");
        t.apply(nr::CLOSE, &[5, 0, 0, 0, 0, 0], -513);
        assert_eq!(t.generation(), start, "an interrupted close is made again");
        t.apply(nr::CLOSE, &[5, 0, 0, 0, 0, 0], 0);
        assert_ne!(t.generation(), start);
        let after_close = t.generation();
        t.apply(nr::DUP2, &[0, 3, 0, 0, 0, 0], 3);
        assert_ne!(t.generation(), after_close);
        let mut child = t.for_vfork_child();
        let mut parent = t.clone();
        child.apply(nr::CLOSE, &[3, 0, 0, 0, 0, 0], 0);
        parent.task_started();
        assert_ne!(child.generation(), parent.generation(), "the parent's return must not look like the child's last write");
        assert_ne!(child.generation(), t.generation());
    }
}
