//! Which shared kernel resources a syscall works on, for rendezvous serials.
//!
//! Each resource a recorded syscall used gets a `Resource` event (kind, id,
//! serial) right after the call; replay makes an operation wait until the
//! operations with smaller serials on the same resource are done. Pipes are
//! found through the descriptor tables (see the recorder); the rest is
//! worked out here from the call alone:
//!
//! | kind | id | calls |
//! |---|---|---|
//! | futex | the word's address (with the process for private futexes) | futex |
//! | memory map | the process | mmap, munmap, mprotect, mremap, brk, madvise |
//! | files table | the process | calls that open or close descriptors |
//! | pid | the process or thread id | clone/fork results, kill, tgkill, wait4 results |
//! | ppid | the parent process | clone/fork, wait4 |
//! | ipc | the System V object id | shm*, sem*, msg* |
//! | unix address | a hash of the socket path | bind, connect to an AF_UNIX address |
//! | inode | device and inode number | stat, fstat, newfstatat, statx results |
//! | file | the open file description, numbered when made (open, socket, accept, eventfd, memfd...; one number for both ends of a socketpair) | read, write, readv, writev, lseek, getdents64, send/recv family |
//!
//! Files opened by name get their inode's serial from the stat the
//! syscall buffer makes before a buffered open; a stopped open has none.
//! Calls that change a file through its name (unlink, rename, mkdir,
//! chmod, truncate...) get the serial of the inode the name leads to,
//! looked up by the recorder before the call for names that go away and
//! after it for names it makes (see [`named_inodes`]).

use std::collections::BTreeMap;

use scribe_syscalls::nr;
use scribe_trace::{resource_kind, SyscallRecord, Tid};

use crate::fdmodel::FdTable;

/// The open file descriptions (what `open` creates: a file and an offset;
/// or a socket, eventfd, timerfd...) each process's descriptors refer to,
/// numbered in the order they were made, followed through dup, close,
/// fork and exec. Both ends of a socketpair get one number: what one end
/// sends the other receives, so that is the order to keep. (Pipes have
/// serials of their own.)
#[derive(Debug, Default)]
pub struct OpenFiles {
    tables: BTreeMap<Tid, FdTable<u64>>,
    next: u64,
    /// Descriptions whose users need no order (see [`OpenFiles::unordered`]).
    unordered: std::collections::BTreeSet<u64>,
}

impl OpenFiles {
    /// Follows `call` of process `tgid` (in trace order) and returns the
    /// open file description it reads, writes or seeks, if it is one that
    /// an open made.
    pub fn follow(&mut self, call: &SyscallRecord, tgid: Tid) -> Option<u64> {
        let id = self.follow_any(call, tgid)?;
        (!self.unordered.contains(&id)).then_some(id)
    }

    /// Marks the open file description of process `tgid`'s descriptor `fd`
    /// as one whose users need no order: what /dev/zero or /dev/null gives
    /// or takes does not depend on who came first (dd through the buffer
    /// wrote two events a call). [`OpenFiles::follow`] no longer names it.
    pub fn unordered(&mut self, tgid: Tid, fd: u64) {
        if let Some(id) = self.tables.get(&tgid).and_then(|table| table.get(fd)) {
            self.unordered.insert(id);
        }
    }

    /// [`OpenFiles::follow`], unordered descriptions included.
    fn follow_any(&mut self, call: &SyscallRecord, tgid: Tid) -> Option<u64> {
        const O_CLOEXEC: u64 = 0o2000000;
        const MFD_CLOEXEC: u64 = 1;
        let table = self.tables.entry(tgid).or_default();
        if call.result < 0 {
            return None;
        }
        let a = &call.args;
        // The flags argument of a call that makes one descriptor, and the
        // close-on-exec bit in it (O_CLOEXEC's value, but for memfd).
        let made = match call.nr {
            nr::OPEN | nr::SOCKET => Some((a[1], O_CLOEXEC)),
            nr::OPENAT => Some((a[2], O_CLOEXEC)),
            nr::ACCEPT4 => Some((a[3], O_CLOEXEC)),
            nr::EVENTFD2 | nr::TIMERFD_CREATE => Some((a[1], O_CLOEXEC)),
            nr::SIGNALFD4 if a[0] as i64 == -1 => Some((a[3], O_CLOEXEC)),
            nr::EPOLL_CREATE1 | nr::INOTIFY_INIT1 => Some((a[0], O_CLOEXEC)),
            nr::MEMFD_CREATE => Some((a[1], MFD_CLOEXEC)),
            nr::CREAT | nr::ACCEPT | nr::EVENTFD | nr::EPOLL_CREATE | nr::INOTIFY_INIT | nr::USERFAULTFD => Some((0, O_CLOEXEC)),
            nr::SIGNALFD if a[0] as i64 == -1 => Some((0, O_CLOEXEC)),
            _ => None,
        };
        if let Some((flags, cloexec_bit)) = made {
            self.next += 1;
            table.insert_opened(call.result as u64, self.next, flags & cloexec_bit != 0);
            return None;
        }
        match call.nr {
            nr::SOCKETPAIR => {
                // The two descriptors the call wrote, as ints.
                let fds = call.outputs.iter().find(|o| o.addr == a[3]).filter(|o| o.bytes.len() >= 8)?;
                self.next += 1;
                for end in fds.bytes[..8].chunks(4) {
                    let fd = u32::from_le_bytes(end.try_into().expect("4 bytes"));
                    table.insert_opened(u64::from(fd), self.next, a[1] & O_CLOEXEC != 0);
                }
                None
            }
            nr::READ | nr::WRITE | nr::READV | nr::WRITEV | nr::LSEEK | nr::GETDENTS64 | nr::SENDTO | nr::RECVFROM
            | nr::SENDMSG | nr::RECVMSG | nr::SENDMMSG | nr::RECVMMSG => table.get(a[0]),
            other => {
                table.apply(other, &call.args, call.result);
                None
            }
        }
    }

    /// A new process gets a copy of its parent's descriptors.
    pub fn fork(&mut self, parent: Tid, child: Tid) {
        let table = self.tables.get(&parent).cloned().unwrap_or_default();
        self.tables.insert(child, table);
    }

    /// After execve only the descriptors without close-on-exec remain.
    pub fn exec(&mut self, tgid: Tid) {
        if let Some(table) = self.tables.get_mut(&tgid) {
            table.exec();
        }
    }
}

/// The resources `call`, made by a task of process `tgid`, worked on, as
/// (kind, id) pairs. `read` reads tracee memory (for socket addresses).
pub fn used(call: &SyscallRecord, tgid: Tid, read: impl Fn(u64, usize) -> Option<Vec<u8>>) -> Vec<(u8, u64)> {
    let a = &call.args;
    let process = tgid as u64;
    let ok = call.result >= 0;
    let mut out = Vec::new();
    match call.nr {
        nr::FUTEX => {
            const PRIVATE: u64 = 128;
            const CMD_MASK: u64 = 0x7f;
            let key = |addr: u64| if a[1] & PRIVATE != 0 { addr | process << 48 } else { addr };
            out.push((resource_kind::FUTEX, key(a[0])));
            // requeue, cmp_requeue, wake_op, wait_requeue_pi, cmp_requeue_pi
            if matches!(a[1] & CMD_MASK, 3 | 4 | 5 | 11 | 12) && a[4] != a[0] {
                out.push((resource_kind::FUTEX, key(a[4])));
            }
        }
        nr::MMAP | nr::MUNMAP | nr::MPROTECT | nr::MREMAP | nr::BRK | nr::MADVISE => {
            out.push((resource_kind::MMAP, process));
        }
        nr::OPEN | nr::OPENAT | nr::OPENAT2 | nr::CREAT | nr::CLOSE | nr::CLOSE_RANGE | nr::DUP | nr::DUP2 | nr::DUP3
        | nr::PIPE | nr::PIPE2 | nr::SOCKET | nr::SOCKETPAIR | nr::ACCEPT | nr::ACCEPT4 | nr::EVENTFD | nr::EVENTFD2
        | nr::EPOLL_CREATE | nr::EPOLL_CREATE1 | nr::MEMFD_CREATE | nr::TIMERFD_CREATE | nr::SIGNALFD4
        | nr::INOTIFY_INIT1 => {
            out.push((resource_kind::FILES_TABLE, process));
        }
        nr::FCNTL if matches!(a[1], 0 | 1030) => out.push((resource_kind::FILES_TABLE, process)),
        nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK if call.result > 0 => {
            out.push((resource_kind::PID, call.result as u64));
            out.push((resource_kind::PPID, process));
        }
        nr::KILL | nr::TKILL if (a[0] as i64) > 0 => out.push((resource_kind::PID, a[0])),
        nr::TGKILL if (a[1] as i64) > 0 => out.push((resource_kind::PID, a[1])),
        nr::WAIT4 if call.result > 0 => {
            out.push((resource_kind::PID, call.result as u64));
            out.push((resource_kind::PPID, process));
        }
        nr::SHMGET | nr::SEMGET | nr::MSGGET if ok => out.push((resource_kind::IPC, call.result as u64)),
        nr::SHMAT | nr::SHMCTL | nr::SEMOP | nr::SEMTIMEDOP | nr::SEMCTL | nr::MSGSND | nr::MSGRCV | nr::MSGCTL => {
            out.push((resource_kind::IPC, a[0]));
        }
        nr::BIND | nr::CONNECT => {
            if let Some(id) = read(a[1], (a[2] as usize).min(110)).and_then(|addr| unix_address_id(&addr)) {
                out.push((resource_kind::UNIX_ADDR, id));
            }
        }
        nr::STAT | nr::LSTAT | nr::FSTAT | nr::NEWFSTATAT if call.result == 0 => {
            if let Some(id) = call.outputs.first().and_then(|o| stat_inode(&o.bytes)) {
                out.push((resource_kind::INODE, id));
            }
        }
        nr::STATX if call.result == 0 => {
            if let Some(id) = call.outputs.first().and_then(|o| statx_inode(&o.bytes)) {
                out.push((resource_kind::INODE, id));
            }
        }
        _ => {}
    }
    out
}

/// A name a syscall works on: where to look up its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    /// The directory descriptor relative names start from (`AT_FDCWD`: -100).
    pub dirfd: i64,
    /// The address of the path in the tracee.
    pub path: u64,
    /// Whether a symbolic link at the end of the path is followed.
    pub follow: bool,
}

/// The names syscall `nr` with `args` changes, as the names to look up
/// before it runs (those it may remove or replace, and those whose inode
/// it changes) and after it succeeded (those it makes).
pub fn named_inodes(nr: u32, a: &[u64; 6]) -> (Vec<Name>, Vec<Name>) {
    const AT_FDCWD: i64 = -100;
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    const AT_SYMLINK_FOLLOW: u64 = 0x400;
    let cwd = |path: u64, follow: bool| Name { dirfd: AT_FDCWD, path, follow };
    let at = |dirfd: u64, path: u64, follow: bool| Name { dirfd: dirfd as i32 as i64, path, follow };
    match nr {
        nr::UNLINK | nr::RMDIR => (vec![cwd(a[0], false)], vec![]),
        nr::UNLINKAT => (vec![at(a[0], a[1], false)], vec![]),
        nr::RENAME => (vec![cwd(a[0], false), cwd(a[1], false)], vec![]),
        nr::RENAMEAT | nr::RENAMEAT2 => (vec![at(a[0], a[1], false), at(a[2], a[3], false)], vec![]),
        nr::LINK => (vec![cwd(a[0], false)], vec![]),
        nr::LINKAT => (vec![at(a[0], a[1], a[4] & AT_SYMLINK_FOLLOW != 0)], vec![]),
        nr::CHMOD | nr::CHOWN | nr::TRUNCATE | nr::UTIME | nr::UTIMES => (vec![cwd(a[0], true)], vec![]),
        nr::LCHOWN => (vec![cwd(a[0], false)], vec![]),
        nr::FCHMODAT => (vec![at(a[0], a[1], true)], vec![]),
        nr::FCHMODAT2 => (vec![at(a[0], a[1], a[3] & AT_SYMLINK_NOFOLLOW == 0)], vec![]),
        nr::FCHOWNAT => (vec![at(a[0], a[1], a[4] & AT_SYMLINK_NOFOLLOW == 0)], vec![]),
        nr::FUTIMESAT if a[1] != 0 => (vec![at(a[0], a[1], true)], vec![]),
        // A null path changes the descriptor's own file (futimens).
        nr::UTIMENSAT if a[1] != 0 => (vec![at(a[0], a[1], a[3] & AT_SYMLINK_NOFOLLOW == 0)], vec![]),
        nr::MKDIR | nr::MKNOD => (vec![], vec![cwd(a[0], false)]),
        nr::MKDIRAT | nr::MKNODAT => (vec![], vec![at(a[0], a[1], false)]),
        nr::SYMLINK => (vec![], vec![cwd(a[1], false)]),
        nr::SYMLINKAT => (vec![], vec![at(a[1], a[2], false)]),
        _ => (vec![], vec![]),
    }
}

/// The id of an inode: its number mixed with its device (as `stat` encodes
/// it, and `std::fs::Metadata` gives it).
pub fn inode_id(dev: u64, ino: u64) -> u64 {
    ino ^ dev.rotate_left(40)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The inode id of a `struct stat` (st_dev at 0, st_ino at 8).
pub fn stat_inode(stat: &[u8]) -> Option<u64> {
    Some(inode_id(u64_at(stat, 0)?, u64_at(stat, 8)?))
}

/// The inode id of a `struct statx` (stx_ino at 32, stx_dev_major/minor
/// at 136/140), equal to [`stat_inode`] of the same file.
pub fn statx_inode(statx: &[u8]) -> Option<u64> {
    let (major, minor) = (u64::from(u32_at(statx, 136)?), u64::from(u32_at(statx, 140)?));
    // The kernel's new_encode_dev, as stat reports st_dev.
    let dev = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    Some(inode_id(dev, u64_at(statx, 32)?))
}

/// A stable id for an AF_UNIX socket address (its path, or abstract name).
fn unix_address_id(addr: &[u8]) -> Option<u64> {
    const AF_UNIX: u16 = 1;
    let family = u16::from_le_bytes(addr.get(..2)?.try_into().ok()?);
    if family != AF_UNIX || addr.len() <= 2 {
        return None;
    }
    let path = &addr[2..];
    // A path name ends at its NUL; an abstract name (leading NUL) is all of it.
    let name = if path[0] == 0 { path } else { path.split(|&b| b == 0).next().unwrap_or(path) };
    Some(name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scribe_trace::MemBytes;

    fn call(nr: u32, args: [u64; 6], result: i64) -> SyscallRecord {
        SyscallRecord { tid: 7, nr, args, result, ..Default::default() }
    }

    fn no_memory(_: u64, _: usize) -> Option<Vec<u8>> {
        None
    }

    #[test]
    fn futexes_are_keyed_by_address_and_private_ones_by_process_too() {
        let shared = used(&call(nr::FUTEX, [0x1000, 1, 1, 0, 0, 0], 0), 5, no_memory);
        let private = used(&call(nr::FUTEX, [0x1000, 1 | 128, 1, 0, 0, 0], 0), 5, no_memory);
        let other = used(&call(nr::FUTEX, [0x1000, 1 | 128, 1, 0, 0, 0], 0), 6, no_memory);
        assert_eq!(shared, vec![(resource_kind::FUTEX, 0x1000)]);
        assert_ne!(private, other, "private futexes of two processes are different words");
        let requeue = used(&call(nr::FUTEX, [0x1000, 4, 1, 0, 0x2000, 0], 0), 5, no_memory);
        assert_eq!(requeue.len(), 2, "cmp_requeue works on two words");
    }

    #[test]
    fn processes_files_and_maps() {
        assert_eq!(
            used(&call(nr::CLONE, [0; 6], 42), 5, no_memory),
            vec![(resource_kind::PID, 42), (resource_kind::PPID, 5)]
        );
        assert!(used(&call(nr::CLONE, [0; 6], -11), 5, no_memory).is_empty(), "a failed fork made no process");
        assert_eq!(used(&call(nr::TGKILL, [40, 41, 10, 0, 0, 0], 0), 5, no_memory), vec![(resource_kind::PID, 41)]);
        assert_eq!(used(&call(nr::MMAP, [0; 6], 0x1000), 5, no_memory), vec![(resource_kind::MMAP, 5)]);
        assert_eq!(used(&call(nr::OPENAT, [0; 6], 3), 5, no_memory), vec![(resource_kind::FILES_TABLE, 5)]);
        assert!(used(&call(nr::FCNTL, [3, 3, 0, 0, 0, 0], 0), 5, no_memory).is_empty(), "F_GETFL opens nothing");
        assert_eq!(used(&call(nr::SEMOP, [9, 0, 1, 0, 0, 0], 0), 5, no_memory), vec![(resource_kind::IPC, 9)]);
    }

    #[test]
    fn stat_and_statx_of_one_file_name_the_same_inode() {
        let mut stat = vec![0u8; 144];
        let dev: u64 = (3 << 8) | 0x12 | (0x100 << 12); // major 3, minor 0x112
        stat[..8].copy_from_slice(&dev.to_le_bytes());
        stat[8..16].copy_from_slice(&777u64.to_le_bytes());
        let mut statx = vec![0u8; 256];
        statx[32..40].copy_from_slice(&777u64.to_le_bytes());
        statx[136..140].copy_from_slice(&3u32.to_le_bytes());
        statx[140..144].copy_from_slice(&0x112u32.to_le_bytes());
        assert_eq!(stat_inode(&stat), statx_inode(&statx));
        let mut fstat = call(nr::FSTAT, [3, 0x5000, 0, 0, 0, 0], 0);
        fstat.outputs.push(MemBytes { addr: 0x5000, bytes: stat });
        assert_eq!(used(&fstat, 5, no_memory), vec![(resource_kind::INODE, stat_inode(&fstat.outputs[0].bytes).unwrap())]);
        assert_eq!(stat_inode(&[0; 10]), None, "short output");
    }

    #[test]
    fn unix_socket_addresses_by_path() {
        let addr = |path: &[u8]| {
            let mut a = 1u16.to_le_bytes().to_vec();
            a.extend_from_slice(path);
            a
        };
        let id = |bytes: Vec<u8>| used(&call(nr::CONNECT, [3, 0x100, bytes.len() as u64, 0, 0, 0], 0), 5, move |_, _| Some(bytes.clone()));
        assert_eq!(id(addr(b"/tmp/s\0junk")), id(addr(b"/tmp/s\0")), "the path ends at its NUL");
        assert_ne!(id(addr(b"/tmp/s\0")), id(addr(b"/tmp/t\0")));
        assert_ne!(id(addr(b"\0abstract")), id(addr(b"\0other")));
        let inet = 2u16.to_le_bytes().to_vec();
        assert!(id(inet).is_empty(), "not a unix address");
    }

    #[test]
    fn an_unordered_description_is_not_named_through_its_duplicates() {
        let mut files = OpenFiles::default();
        let open = |fd: i64| call(nr::OPENAT, [0, 0, 0, 0, 0, 0], fd);
        let read = |fd: u64| call(nr::READ, [fd, 0, 10, 0, 0, 0], 10);
        files.follow(&open(3), 5);
        files.follow(&open(4), 5);
        files.unordered(5, 3);
        assert_eq!(files.follow(&read(3), 5), None, "a memory device");
        files.follow(&call(nr::DUP2, [3, 0, 0, 0, 0, 0], 0), 5);
        assert_eq!(files.follow(&read(0), 5), None, "its duplicate");
        assert!(files.follow(&read(4), 5).is_some(), "another file keeps its serials");
        files.unordered(5, 9);
        assert!(files.follow(&read(4), 5).is_some(), "an unknown descriptor marks nothing");
    }

    #[test]
    fn open_file_descriptions_follow_dup_fork_close_and_exec() {
        let mut files = OpenFiles::default();
        let open = |fd: i64, flags: u64| call(nr::OPENAT, [0, 0, flags, 0, 0, 0], fd);
        let read = |fd: u64| call(nr::READ, [fd, 0, 10, 0, 0, 0], 10);
        assert_eq!(files.follow(&open(3, 0), 5), None);
        let first = files.follow(&read(3), 5).expect("an opened file");
        assert_eq!(files.follow(&call(nr::DUP2, [3, 7, 0, 0, 0, 0], 7), 5), None);
        assert_eq!(files.follow(&read(7), 5), Some(first), "a dup shares the description");
        files.fork(5, 6);
        assert_eq!(files.follow(&read(3), 6), Some(first), "so does a forked child");
        files.follow(&open(4, 0o2000000), 6);
        let second = files.follow(&read(4), 6).unwrap();
        assert_ne!(first, second);
        files.exec(6);
        assert_eq!(files.follow(&read(4), 6), None, "close-on-exec");
        assert_eq!(files.follow(&read(3), 6), Some(first));
        files.follow(&call(nr::CLOSE, [3, 0, 0, 0, 0, 0], 0), 5);
        assert_eq!(files.follow(&read(3), 5), None);
        assert_eq!(files.follow(&read(9), 5), None, "never opened here (a pipe, stdin)");
    }

    #[test]
    fn names_are_looked_up_before_calls_that_remove_them_and_after_calls_that_make_them() {
        const AT_FDCWD: i64 = -100;
        let (before, after) = named_inodes(nr::RENAMEAT2, &[5, 0x10, AT_FDCWD as u64, 0x20, 0, 0]);
        let plain = |dirfd: i64, path: u64| Name { dirfd, path, follow: false };
        assert_eq!(before, vec![plain(5, 0x10), plain(AT_FDCWD, 0x20)]);
        assert!(after.is_empty());
        let (before, after) = named_inodes(nr::MKDIR, &[0x30, 0o755, 0, 0, 0, 0]);
        assert!(before.is_empty());
        assert_eq!(after, vec![plain(AT_FDCWD, 0x30)]);
        // chmod follows a symbolic link; fchownat only without AT_SYMLINK_NOFOLLOW.
        assert!(named_inodes(nr::CHMOD, &[0x40, 0o600, 0, 0, 0, 0]).0[0].follow);
        assert!(!named_inodes(nr::FCHOWNAT, &[3, 0x40, 0, 0, 0x100, 0]).0[0].follow);
        // utimensat with a null path works on the descriptor itself.
        assert_eq!(named_inodes(nr::UTIMENSAT, &[3, 0, 0, 0, 0, 0]), (vec![], vec![]));
        assert_eq!(named_inodes(nr::READ, &[3, 0, 0, 0, 0, 0]), (vec![], vec![]));
    }

    #[test]
    fn sockets_eventfds_and_both_ends_of_a_socketpair_are_descriptions() {
        let mut files = OpenFiles::default();
        let send = |fd: u64| call(nr::SENDTO, [fd, 0, 4, 0, 0, 0], 4);
        files.follow(&call(nr::SOCKET, [1, 1 | 0o2000000, 0, 0, 0, 0], 3), 5);
        let socket = files.follow(&send(3), 5).expect("a socket");
        files.follow(&call(nr::EVENTFD2, [0, 0, 0, 0, 0, 0], 4), 5);
        let eventfd = files.follow(&call(nr::WRITE, [4, 0, 8, 0, 0, 0], 8), 5).expect("an eventfd");
        assert_ne!(socket, eventfd);
        let mut pair = call(nr::SOCKETPAIR, [1, 1, 0, 0x1000, 0, 0], 0);
        pair.outputs.push(scribe_trace::MemBytes { addr: 0x1000, bytes: [6u32.to_le_bytes(), 7u32.to_le_bytes()].concat() });
        files.follow(&pair, 5);
        let end = files.follow(&send(6), 5).expect("one end");
        assert_eq!(files.follow(&call(nr::RECVFROM, [7, 0, 4, 0, 0, 0], 4), 5), Some(end), "the other end");
        assert!(end != socket && end != eventfd);
        files.exec(5);
        assert_eq!(files.follow(&send(3), 5), None, "SOCK_CLOEXEC");
        assert_eq!(files.follow(&send(6), 5), Some(end));
    }
}
