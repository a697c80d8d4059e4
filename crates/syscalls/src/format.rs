//! Human forms of calls and results, strace style.

use std::fmt::Write as _;

use crate::names::{errno_info, signal_name};
use crate::outputs::is_error;
use crate::{nr, spec, ArgKind};

/// How many bytes of an input buffer `format_call` shows.
const BUF_SHOWN: usize = 32;

/// C-style escaping of bytes for display (no surrounding quotes).
///
/// Printable ASCII is kept as is; `\n`, `\t`, `\r`, `\"` and `\\` are
/// escaped by name and every other byte as three-digit octal (`\000`). At
/// most `max` bytes are shown; `...` is appended when there were more.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(bytes.len().min(max) + 3);
    for &b in bytes.iter().take(max) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

/// Human form of a call: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`.
///
/// `inputs` are (address, bytes) pairs recorded at higher verbosity: a
/// path, string or input-buffer argument whose address matches one is shown
/// quoted and escaped (buffers: the first 32 bytes, then `...`), otherwise
/// as a hex pointer. An unknown number prints as `syscall_NNN(...)` with all
/// six arguments in hex.
pub fn format_call(nr: u32, args: &[u64; 6], inputs: &[(u64, &[u8])]) -> String {
    let Some(spec) = spec(nr) else {
        let shown: Vec<String> = args.iter().map(|&a| hex(a)).collect();
        return format!("syscall_{nr}({})", shown.join(", "));
    };
    let count = shown_args(nr, spec.args, args);
    let mut s = String::new();
    s.push_str(spec.name);
    s.push('(');
    for (i, &kind) in spec.args.iter().take(count).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        format_arg(&mut s, kind, args[i], args, inputs);
    }
    s.push(')');
    s
}

/// Human form of a result: `3`, `0x7f0000001000` for address-returning calls,
/// `-1 ENOENT (No such file or directory)` for -4095..=-1.
pub fn format_result(nr: u32, result: i64) -> String {
    if is_error(result) {
        let errno = (-result) as i32;
        return match errno_info(errno) {
            Some((name, message)) => format!("-1 {name} ({message})"),
            None => format!("-1 errno {errno}"),
        };
    }
    match nr {
        nr::MMAP | nr::BRK | nr::MREMAP | nr::SHMAT => format!("{:#x}", result as u64),
        _ => result.to_string(),
    }
}

/// How many of the arguments are worth showing (open's mode only with O_CREAT/O_TMPFILE,
/// fcntl's third argument only for commands that take one).
fn shown_args(nr: u32, kinds: &[ArgKind], args: &[u64; 6]) -> usize {
    const O_CREAT: u64 = 0o100;
    const O_TMPFILE: u64 = 0o20000000;
    match nr {
        nr::OPEN | nr::OPENAT | nr::MQ_OPEN => {
            let flags_at = kinds
                .iter()
                .position(|k| *k == ArgKind::OpenFlags)
                .unwrap_or(0);
            if args[flags_at] & (O_CREAT | O_TMPFILE) == 0 {
                flags_at + 1
            } else {
                kinds.len()
            }
        }
        // F_GETFD, F_GETFL, F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS
        nr::FCNTL if matches!(args[1] as i32, 1 | 3 | 9 | 11 | 1025 | 1032 | 1034) => 2,
        _ => kinds.len(),
    }
}

/// Hexadecimal, with 0 as `0`.
fn hex(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// A pointer: `NULL` or hex.
fn pointer(s: &mut String, v: u64) {
    if v == 0 {
        s.push_str("NULL");
    } else {
        let _ = write!(s, "{v:#x}");
    }
}

/// The recorded bytes at `addr`, if any.
fn input_at<'a>(inputs: &[(u64, &'a [u8])], addr: u64) -> Option<&'a [u8]> {
    inputs.iter().find(|(a, _)| *a == addr).map(|(_, b)| *b)
}

/// Appends one argument.
fn format_arg(s: &mut String, kind: ArgKind, v: u64, args: &[u64; 6], inputs: &[(u64, &[u8])]) {
    match kind {
        ArgKind::Int | ArgKind::Fd => {
            let _ = write!(s, "{}", v as i32);
        }
        ArgKind::Long => {
            let _ = write!(s, "{}", v as i64);
        }
        ArgKind::UInt => {
            let _ = write!(s, "{v}");
        }
        ArgKind::Hex => s.push_str(&hex(v)),
        ArgKind::DirFd => {
            if v as i32 == -100 {
                s.push_str("AT_FDCWD");
            } else {
                let _ = write!(s, "{}", v as i32);
            }
        }
        ArgKind::Path | ArgKind::Str => match input_at(inputs, v).filter(|_| v != 0) {
            Some(bytes) => {
                let end = bytes.iter().position(|&b| b == 0);
                let text = &bytes[..end.unwrap_or(bytes.len())];
                let _ = write!(s, "\"{}\"", escape_bytes(text, usize::MAX));
                if end.is_none() && bytes.len() >= crate::inputs::MAX_STRING {
                    s.push_str("...");
                }
            }
            None => pointer(s, v),
        },
        ArgKind::InBuf(len_arg) => match input_at(inputs, v).filter(|_| v != 0) {
            Some(bytes) => {
                let len = usize::try_from(crate::outputs::arg(args, len_arg)).unwrap_or(usize::MAX);
                let bytes = &bytes[..bytes.len().min(len)];
                let _ = write!(
                    s,
                    "\"{}\"",
                    escape_bytes(&bytes[..bytes.len().min(BUF_SHOWN)], BUF_SHOWN)
                );
                if len > BUF_SHOWN {
                    s.push_str("...");
                }
            }
            None => pointer(s, v),
        },
        ArgKind::OutBuf | ArgKind::Ptr => pointer(s, v),
        ArgKind::OpenFlags => open_flags(s, v as u32 as u64),
        ArgKind::FileFlags => flags(s, v as u32 as u64, FILE_FLAGS),
        ArgKind::Mode => {
            let mode = v as u32;
            if mode == 0 {
                s.push_str("000");
            } else {
                let _ = write!(s, "0{mode:o}");
            }
        }
        ArgKind::Prot => {
            if v == 0 {
                s.push_str("PROT_NONE");
            } else {
                flags(s, v, PROT);
            }
        }
        ArgKind::MapFlags => map_flags(s, v as u32 as u64),
        ArgKind::Signal => match signal_name(v as i32) {
            Some(name) => s.push_str(name),
            None => {
                let _ = write!(s, "{}", v as i32);
            }
        },
        ArgKind::SigHow => value(s, v as i32 as i64, SIG_HOW),
        ArgKind::FcntlCmd => value(s, v as i32 as i64, FCNTL_CMDS),
        ArgKind::IoctlReq => match IOCTLS.iter().find(|(n, _)| *n == v as u32 as i64) {
            Some((_, name)) => s.push_str(name),
            None => s.push_str(&hex(v as u32 as u64)),
        },
        ArgKind::AccessMode => {
            if v as u32 == 0 {
                s.push_str("F_OK");
            } else {
                flags(s, v as u32 as u64, ACCESS);
            }
        }
        ArgKind::ClockId => value(s, v as i32 as i64, CLOCKS),
        ArgKind::Whence => value(s, v as i32 as i64, WHENCE),
        ArgKind::FutexOp => futex_op(s, v as u32),
        ArgKind::AtFlags => flags(s, v as u32 as u64, AT_FLAGS),
        ArgKind::CloneFlags => clone_flags(s, v),
        ArgKind::SockDomain => value(s, v as i32 as i64, DOMAINS),
        ArgKind::SockType => sock_type(s, v as u32 as u64),
        ArgKind::WaitOptions => flags(s, v as u32 as u64, WAIT),
        ArgKind::Madvise => value(s, v as i32 as i64, MADVISE),
        ArgKind::ArchPrctlCode => match ARCH_PRCTL.iter().find(|(n, _)| *n == v as i64) {
            Some((_, name)) => s.push_str(name),
            None => s.push_str(&hex(v)),
        },
        ArgKind::Resource => value(s, v as i32 as i64, RESOURCES),
        ArgKind::PrctlOp => value(s, v as i32 as i64, PRCTL),
        ArgKind::EpollCtlOp => value(s, v as i32 as i64, EPOLL_CTL),
    }
}

/// A value from a table of names, or decimal.
fn value(s: &mut String, v: i64, names: &[(i64, &str)]) {
    match names.iter().find(|(n, _)| *n == v) {
        Some((_, name)) => s.push_str(name),
        None => {
            let _ = write!(s, "{v}");
        }
    }
}

/// Flags joined by `|`, unknown bits in hex, 0 as `0`.
fn flags(s: &mut String, v: u64, names: &[(u64, &str)]) {
    if v == 0 {
        s.push('0');
        return;
    }
    let mut rest = v;
    let mut first = true;
    for &(bits, name) in names {
        if bits != 0 && rest & bits == bits {
            if !first {
                s.push('|');
            }
            s.push_str(name);
            first = false;
            rest &= !bits;
        }
    }
    if rest != 0 {
        if !first {
            s.push('|');
        }
        let _ = write!(s, "{rest:#x}");
    }
}

/// Open flags: the access mode, then the other flags.
fn open_flags(s: &mut String, v: u64) {
    s.push_str(match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    let rest = v & !3;
    if rest != 0 {
        s.push('|');
        flags(s, rest, OPEN_FLAGS);
    }
}

/// mmap flags: the mapping type, then the other flags.
fn map_flags(s: &mut String, v: u64) {
    let kind = v & 0xf;
    let rest = v & !0xf;
    match MAP_TYPES.iter().find(|(n, _)| *n == kind) {
        Some((_, name)) => s.push_str(name),
        None => s.push_str(&hex(kind)),
    }
    if rest != 0 {
        s.push('|');
        flags(s, rest, MAP_FLAGS);
    }
}

/// Clone flags, then the exit signal in the low byte.
fn clone_flags(s: &mut String, v: u64) {
    let signal = (v & 0xff) as i32;
    let rest = v & !0xff;
    if rest != 0 {
        flags(s, rest, CLONE_FLAGS);
    }
    if signal != 0 {
        if rest != 0 {
            s.push('|');
        }
        match signal_name(signal) {
            Some(name) => s.push_str(name),
            None => {
                let _ = write!(s, "{signal}");
            }
        }
    }
    if v == 0 {
        s.push('0');
    }
}

/// Socket type, then SOCK_NONBLOCK/SOCK_CLOEXEC.
fn sock_type(s: &mut String, v: u64) {
    let kind = (v & 0xf) as i64;
    value(s, kind, SOCK_TYPES);
    let rest = v & !0xf;
    if rest != 0 {
        s.push('|');
        flags(s, rest, FILE_FLAGS);
    }
}

/// Futex operation: command, `_PRIVATE`, `|FUTEX_CLOCK_REALTIME`.
fn futex_op(s: &mut String, v: u32) {
    const PRIVATE: u32 = 128;
    const CLOCK_REALTIME: u32 = 256;
    let cmd = v & !(PRIVATE | CLOCK_REALTIME);
    match FUTEX_CMDS.get(cmd as usize) {
        Some(name) => s.push_str(name),
        None => {
            let _ = write!(s, "{cmd}");
        }
    }
    if v & PRIVATE != 0 {
        s.push_str("_PRIVATE");
    }
    if v & CLOCK_REALTIME != 0 {
        s.push_str("|FUTEX_CLOCK_REALTIME");
    }
}

/// `O_*` flags other than the access mode (x86-64 values, octal as in the headers).
const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// Flags that share the `O_NONBLOCK`/`O_CLOEXEC` values (`SOCK_*`, `EFD_*`, `IN_*`, `TFD_*`...).
const FILE_FLAGS: &[(u64, &str)] = &[
    (0o4000, "O_NONBLOCK"),
    (0o2000000, "O_CLOEXEC"),
    (0o40000, "O_DIRECT"),
];

/// `PROT_*`.
const PROT: &[(u64, &str)] = &[
    (1, "PROT_READ"),
    (2, "PROT_WRITE"),
    (4, "PROT_EXEC"),
    (8, "PROT_SEM"),
    (0x0100_0000, "PROT_GROWSDOWN"),
    (0x0200_0000, "PROT_GROWSUP"),
];

/// mmap mapping types.
const MAP_TYPES: &[(u64, &str)] = &[
    (1, "MAP_SHARED"),
    (2, "MAP_PRIVATE"),
    (3, "MAP_SHARED_VALIDATE"),
    (8, "MAP_DROPPABLE"),
];

/// Other `MAP_*` flags.
const MAP_FLAGS: &[(u64, &str)] = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x10_0000, "MAP_FIXED_NOREPLACE"),
    (0x400_0000, "MAP_UNINITIALIZED"),
];

/// `SIG_*` for rt_sigprocmask.
const SIG_HOW: &[(i64, &str)] = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

/// fcntl commands.
const FCNTL_CMDS: &[(i64, &str)] = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (17, "F_GETOWNER_UIDS"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1027, "F_DUPFD_QUERY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
    (1035, "F_GET_RW_HINT"),
    (1036, "F_SET_RW_HINT"),
    (1037, "F_GET_FILE_RW_HINT"),
    (1038, "F_SET_FILE_RW_HINT"),
];

/// Well-known ioctl requests.
const IOCTLS: &[(i64, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x5405, "TCGETA"),
    (0x5409, "TCSBRK"),
    (0x540a, "TCXONC"),
    (0x540b, "TCFLSH"),
    (0x540c, "TIOCEXCL"),
    (0x540d, "TIOCNXCL"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5411, "TIOCOUTQ"),
    (0x5412, "TIOCSTI"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x5415, "TIOCMGET"),
    (0x541b, "FIONREAD"),
    (0x541c, "TIOCLINUX"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5424, "TIOCGETD"),
    (0x5429, "TIOCGSID"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x5456, "TIOCGLCKTRMIOS"),
    (0x8004_5430, "TIOCGPTN"),
    (0x4004_5431, "TIOCSPTLCK"),
    (0x802c_542a, "TCGETS2"),
    (0x8903, "FIOGETOWN"),
    (0x8904, "SIOCGPGRP"),
    (0x8905, "SIOCATMARK"),
    (0x8912, "SIOCGIFCONF"),
    (0x8913, "SIOCGIFFLAGS"),
    (0x8915, "SIOCGIFADDR"),
    (0x8921, "SIOCGIFMTU"),
    (0x8927, "SIOCGIFHWADDR"),
    (0x8933, "SIOCGIFINDEX"),
];

/// `*_OK` for access.
const ACCESS: &[(u64, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

/// `CLOCK_*`.
const CLOCKS: &[(i64, &str)] = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];

/// `SEEK_*`.
const WHENCE: &[(i64, &str)] = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

/// Futex commands by number.
const FUTEX_CMDS: &[&str] = &[
    "FUTEX_WAIT",
    "FUTEX_WAKE",
    "FUTEX_FD",
    "FUTEX_REQUEUE",
    "FUTEX_CMP_REQUEUE",
    "FUTEX_WAKE_OP",
    "FUTEX_LOCK_PI",
    "FUTEX_UNLOCK_PI",
    "FUTEX_TRYLOCK_PI",
    "FUTEX_WAIT_BITSET",
    "FUTEX_WAKE_BITSET",
    "FUTEX_WAIT_REQUEUE_PI",
    "FUTEX_CMP_REQUEUE_PI",
    "FUTEX_LOCK_PI2",
];

/// `AT_*` flags.
const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
    (0x8000, "AT_RECURSIVE"),
];

/// `CLONE_*`.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x10_0000, "CLONE_PARENT_SETTID"),
    (0x20_0000, "CLONE_CHILD_CLEARTID"),
    (0x40_0000, "CLONE_DETACHED"),
    (0x80_0000, "CLONE_UNTRACED"),
    (0x100_0000, "CLONE_CHILD_SETTID"),
    (0x200_0000, "CLONE_NEWCGROUP"),
    (0x400_0000, "CLONE_NEWUTS"),
    (0x800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
];

/// `AF_*`.
const DOMAINS: &[(i64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (10, "AF_INET6"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (29, "AF_CAN"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
];

/// `SOCK_*` types.
const SOCK_TYPES: &[(i64, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];

/// Wait options.
const WAIT: &[(u64, &str)] = &[
    (1, "WNOHANG"),
    (2, "WSTOPPED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x0100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];

/// `MADV_*`.
const MADVISE: &[(i64, &str)] = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
    (102, "MADV_GUARD_INSTALL"),
    (103, "MADV_GUARD_REMOVE"),
];

/// `ARCH_*` codes.
const ARCH_PRCTL: &[(i64, &str)] = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
    (0x4001, "ARCH_GET_UNTAG_MASK"),
    (0x4002, "ARCH_ENABLE_TAGGED_ADDR"),
    (0x4003, "ARCH_GET_MAX_TAG_BITS"),
    (0x4004, "ARCH_FORCE_TAGGED_SVA"),
    (0x5001, "ARCH_SHSTK_ENABLE"),
    (0x5002, "ARCH_SHSTK_DISABLE"),
    (0x5003, "ARCH_SHSTK_LOCK"),
    (0x5004, "ARCH_SHSTK_UNLOCK"),
    (0x5005, "ARCH_SHSTK_STATUS"),
];

/// `RLIMIT_*`.
const RESOURCES: &[(i64, &str)] = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];

/// `PR_*` options.
const PRCTL: &[(i64, &str)] = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (5, "PR_GET_UNALIGN"),
    (6, "PR_SET_UNALIGN"),
    (7, "PR_GET_KEEPCAPS"),
    (8, "PR_SET_KEEPCAPS"),
    (15, "PR_SET_NAME"),
    (16, "PR_GET_NAME"),
    (21, "PR_GET_SECCOMP"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (24, "PR_CAPBSET_DROP"),
    (25, "PR_GET_TSC"),
    (26, "PR_SET_TSC"),
    (29, "PR_SET_TIMERSLACK"),
    (30, "PR_GET_TIMERSLACK"),
    (35, "PR_SET_MM"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (40, "PR_GET_TID_ADDRESS"),
    (41, "PR_SET_THP_DISABLE"),
    (42, "PR_GET_THP_DISABLE"),
    (47, "PR_CAP_AMBIENT"),
    (52, "PR_GET_SPECULATION_CTRL"),
    (53, "PR_SET_SPECULATION_CTRL"),
    (0x5356_4d41, "PR_SET_VMA"),
    (0x5961_6d61, "PR_SET_PTRACER"),
    (0x4155_5856, "PR_GET_AUXV"),
];

/// `EPOLL_CTL_*`.
const EPOLL_CTL: &[(i64, &str)] = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];
