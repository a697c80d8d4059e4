//! The table: one line per x86-64 syscall.
//!
//! Each line is `number CONST name (argument kinds) Replay [outputs];`. The
//! macro turns it into both the `nr` constants and the `TABLE` of specs, so
//! names and numbers cannot drift apart. Numbers 336..=423 are unassigned on
//! x86-64 (387..=423 are the 32-bit time64 calls), 512 and up are x32.

use crate::ArgKind::*;
use crate::{Len, Output, Replay, SyscallSpec};

/// `len` bytes (the return value) at argument `ptr`.
const fn res(ptr: u8) -> Output {
    Output::Buf {
        ptr,
        len: Len::Result,
    }
}

/// `size` bytes at argument `ptr`.
const fn fixed(ptr: u8, size: u32) -> Output {
    Output::Buf {
        ptr,
        len: Len::Fixed(size),
    }
}

/// Argument `len` bytes at argument `ptr`.
const fn arg(ptr: u8, len: u8) -> Output {
    Output::Buf {
        ptr,
        len: Len::Arg(len),
    }
}

/// Argument `n` times `size` bytes at argument `ptr`.
const fn argtimes(ptr: u8, n: u8, size: u32) -> Output {
    Output::Buf {
        ptr,
        len: Len::ArgTimes(n, size),
    }
}

/// Result times `size` bytes at argument `ptr`.
const fn restimes(ptr: u8, size: u32) -> Output {
    Output::Buf {
        ptr,
        len: Len::ResultTimes(size),
    }
}

/// `*(u32 *)arg[len]` bytes (read after the call) at argument `ptr`.
const fn deref(ptr: u8, len: u8) -> Output {
    Output::Buf {
        ptr,
        len: Len::DerefU32(len),
    }
}

/// Computed by a hand-written function in `outputs`.
const S: Output = Output::Special;

/// struct stat.
const STAT: u32 = 144;
/// struct statfs.
const STATFS: u32 = 120;
/// struct timespec / struct timeval.
const TS: u32 = 16;
/// struct itimerspec / struct itimerval.
const ITS: u32 = 32;
/// struct rusage.
const RUSAGE: u32 = 144;
/// siginfo_t.
const SIGINFO: u32 = 128;
/// struct rlimit.
const RLIMIT: u32 = 16;
/// struct timex.
const TIMEX: u32 = 208;
/// struct io_event.
const IO_EVENT: u32 = 32;
/// struct epoll_event (packed on x86-64).
const EPOLL_EVENT: u32 = 12;

macro_rules! syscalls {
    ($( $nr:literal $konst:ident $name:ident ( $($arg:expr),* ) $replay:ident [ $($out:expr),* ] ; )*) => {
        /// x86-64 syscall numbers, one constant per syscall in the table.
        pub mod nr {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($nr), ").")]
                pub const $konst: u32 = $nr;
            )*
        }

        /// Every syscall, sorted by number.
        pub(crate) const TABLE: &[SyscallSpec] = &[
            $(
                SyscallSpec {
                    nr: $nr,
                    name: stringify!($name),
                    args: &[$($arg),*],
                    replay: Replay::$replay,
                    outputs: &[$($out),*],
                },
            )*
        ];
    };
}

syscalls! {
    0 READ read (Fd, OutBuf, UInt) Emulate [res(1)];
    1 WRITE write (Fd, InBuf(2), UInt) Emulate [];
    2 OPEN open (Path, OpenFlags, Mode) Emulate [];
    3 CLOSE close (Fd) Emulate [];
    4 STAT stat (Path, OutBuf) Emulate [fixed(1, STAT)];
    5 FSTAT fstat (Fd, OutBuf) Emulate [fixed(1, STAT)];
    6 LSTAT lstat (Path, OutBuf) Emulate [fixed(1, STAT)];
    7 POLL poll (Ptr, UInt, Int) Emulate [S];
    8 LSEEK lseek (Fd, Long, Whence) Emulate [];
    9 MMAP mmap (Ptr, UInt, Prot, MapFlags, Fd, Hex) Execute [];
    10 MPROTECT mprotect (Ptr, UInt, Prot) Execute [];
    11 MUNMAP munmap (Ptr, UInt) Execute [];
    12 BRK brk (Ptr) Execute [];
    13 RT_SIGACTION rt_sigaction (Signal, Ptr, OutBuf, UInt) Execute [fixed(2, 32)];
    14 RT_SIGPROCMASK rt_sigprocmask (SigHow, Ptr, OutBuf, UInt) Execute [arg(2, 3)];
    15 RT_SIGRETURN rt_sigreturn () Execute [];
    16 IOCTL ioctl (Fd, IoctlReq, Hex) Emulate [S];
    17 PREAD64 pread64 (Fd, OutBuf, UInt, Long) Emulate [res(1)];
    18 PWRITE64 pwrite64 (Fd, InBuf(2), UInt, Long) Emulate [];
    19 READV readv (Fd, Ptr, UInt) Emulate [S];
    20 WRITEV writev (Fd, Ptr, UInt) Emulate [];
    21 ACCESS access (Path, AccessMode) Emulate [];
    22 PIPE pipe (OutBuf) Emulate [fixed(0, 8)];
    23 SELECT select (Int, Ptr, Ptr, Ptr, Ptr) Emulate [S];
    24 SCHED_YIELD sched_yield () Execute [];
    25 MREMAP mremap (Ptr, UInt, UInt, Hex, Ptr) Execute [];
    26 MSYNC msync (Ptr, UInt, Hex) Emulate [];
    27 MINCORE mincore (Ptr, UInt, OutBuf) Emulate [S];
    28 MADVISE madvise (Ptr, UInt, Madvise) Execute [];
    29 SHMGET shmget (Hex, UInt, Hex) Emulate [];
    30 SHMAT shmat (Int, Ptr, Hex) Execute [];
    31 SHMCTL shmctl (Int, Int, Ptr) Emulate [S];
    32 DUP dup (Fd) Emulate [];
    33 DUP2 dup2 (Fd, Fd) Emulate [];
    34 PAUSE pause () Emulate [];
    35 NANOSLEEP nanosleep (Ptr, OutBuf) Emulate [S];
    36 GETITIMER getitimer (Int, OutBuf) Emulate [fixed(1, ITS)];
    37 ALARM alarm (UInt) Emulate [];
    38 SETITIMER setitimer (Int, Ptr, OutBuf) Emulate [fixed(2, ITS)];
    39 GETPID getpid () Emulate [];
    40 SENDFILE sendfile (Fd, Fd, Ptr, UInt) Emulate [fixed(2, 8)];
    41 SOCKET socket (SockDomain, SockType, Int) Emulate [];
    42 CONNECT connect (Fd, InBuf(2), UInt) Emulate [];
    43 ACCEPT accept (Fd, OutBuf, Ptr) Emulate [S];
    44 SENDTO sendto (Fd, InBuf(2), UInt, Hex, InBuf(5), UInt) Emulate [];
    45 RECVFROM recvfrom (Fd, OutBuf, UInt, Hex, OutBuf, Ptr) Emulate [S];
    46 SENDMSG sendmsg (Fd, Ptr, Hex) Emulate [];
    47 RECVMSG recvmsg (Fd, Ptr, Hex) Emulate [S];
    48 SHUTDOWN shutdown (Fd, Int) Emulate [];
    49 BIND bind (Fd, InBuf(2), UInt) Emulate [];
    50 LISTEN listen (Fd, Int) Emulate [];
    51 GETSOCKNAME getsockname (Fd, OutBuf, Ptr) Emulate [S];
    52 GETPEERNAME getpeername (Fd, OutBuf, Ptr) Emulate [S];
    53 SOCKETPAIR socketpair (SockDomain, SockType, Int, OutBuf) Emulate [fixed(3, 8)];
    54 SETSOCKOPT setsockopt (Fd, Int, Int, InBuf(4), UInt) Emulate [];
    55 GETSOCKOPT getsockopt (Fd, Int, Int, OutBuf, Ptr) Emulate [deref(3, 4), fixed(4, 4)];
    56 CLONE clone (CloneFlags, Ptr, Ptr, Ptr, Hex) Execute [];
    57 FORK fork () Execute [];
    58 VFORK vfork () Execute [];
    59 EXECVE execve (Path, Ptr, Ptr) Execute [];
    60 EXIT exit (Int) Execute [];
    61 WAIT4 wait4 (Int, OutBuf, WaitOptions, OutBuf) Emulate [S];
    62 KILL kill (Int, Signal) Emulate [];
    63 UNAME uname (OutBuf) Emulate [fixed(0, 390)];
    64 SEMGET semget (Hex, Int, Hex) Emulate [];
    65 SEMOP semop (Int, Ptr, UInt) Emulate [];
    66 SEMCTL semctl (Int, Int, Int, Hex) Emulate [S];
    67 SHMDT shmdt (Ptr) Execute [];
    68 MSGGET msgget (Hex, Hex) Emulate [];
    69 MSGSND msgsnd (Int, Ptr, UInt, Hex) Emulate [];
    70 MSGRCV msgrcv (Int, OutBuf, UInt, Long, Hex) Emulate [S];
    71 MSGCTL msgctl (Int, Int, Ptr) Emulate [S];
    72 FCNTL fcntl (Fd, FcntlCmd, Hex) Emulate [S];
    73 FLOCK flock (Fd, Int) Emulate [];
    74 FSYNC fsync (Fd) Emulate [];
    75 FDATASYNC fdatasync (Fd) Emulate [];
    76 TRUNCATE truncate (Path, Long) Emulate [];
    77 FTRUNCATE ftruncate (Fd, Long) Emulate [];
    78 GETDENTS getdents (Fd, OutBuf, UInt) Emulate [res(1)];
    79 GETCWD getcwd (OutBuf, UInt) Emulate [res(0)];
    80 CHDIR chdir (Path) Execute [];
    81 FCHDIR fchdir (Fd) Emulate [];
    82 RENAME rename (Path, Path) Emulate [];
    83 MKDIR mkdir (Path, Mode) Emulate [];
    84 RMDIR rmdir (Path) Emulate [];
    85 CREAT creat (Path, Mode) Emulate [];
    86 LINK link (Path, Path) Emulate [];
    87 UNLINK unlink (Path) Emulate [];
    88 SYMLINK symlink (Path, Path) Emulate [];
    89 READLINK readlink (Path, OutBuf, UInt) Emulate [res(1)];
    90 CHMOD chmod (Path, Mode) Emulate [];
    91 FCHMOD fchmod (Fd, Mode) Emulate [];
    92 CHOWN chown (Path, Int, Int) Emulate [];
    93 FCHOWN fchown (Fd, Int, Int) Emulate [];
    94 LCHOWN lchown (Path, Int, Int) Emulate [];
    95 UMASK umask (Mode) Emulate [];
    96 GETTIMEOFDAY gettimeofday (OutBuf, OutBuf) Emulate [fixed(0, TS), fixed(1, 8)];
    97 GETRLIMIT getrlimit (Resource, OutBuf) Emulate [fixed(1, RLIMIT)];
    98 GETRUSAGE getrusage (Int, OutBuf) Emulate [fixed(1, RUSAGE)];
    99 SYSINFO sysinfo (OutBuf) Emulate [fixed(0, 112)];
    100 TIMES times (OutBuf) Emulate [fixed(0, 32)];
    101 PTRACE ptrace (Int, Int, Ptr, Ptr) Emulate [S];
    102 GETUID getuid () Emulate [];
    103 SYSLOG syslog (Int, OutBuf, Int) Emulate [S];
    104 GETGID getgid () Emulate [];
    105 SETUID setuid (Int) Emulate [];
    106 SETGID setgid (Int) Emulate [];
    107 GETEUID geteuid () Emulate [];
    108 GETEGID getegid () Emulate [];
    109 SETPGID setpgid (Int, Int) Emulate [];
    110 GETPPID getppid () Emulate [];
    111 GETPGRP getpgrp () Emulate [];
    112 SETSID setsid () Emulate [];
    113 SETREUID setreuid (Int, Int) Emulate [];
    114 SETREGID setregid (Int, Int) Emulate [];
    115 GETGROUPS getgroups (Int, OutBuf) Emulate [S];
    116 SETGROUPS setgroups (Int, Ptr) Emulate [];
    117 SETRESUID setresuid (Int, Int, Int) Emulate [];
    118 GETRESUID getresuid (OutBuf, OutBuf, OutBuf) Emulate [fixed(0, 4), fixed(1, 4), fixed(2, 4)];
    119 SETRESGID setresgid (Int, Int, Int) Emulate [];
    120 GETRESGID getresgid (OutBuf, OutBuf, OutBuf) Emulate [fixed(0, 4), fixed(1, 4), fixed(2, 4)];
    121 GETPGID getpgid (Int) Emulate [];
    122 SETFSUID setfsuid (Int) Emulate [];
    123 SETFSGID setfsgid (Int) Emulate [];
    124 GETSID getsid (Int) Emulate [];
    125 CAPGET capget (Ptr, OutBuf) Emulate [S];
    126 CAPSET capset (Ptr, Ptr) Emulate [];
    127 RT_SIGPENDING rt_sigpending (OutBuf, UInt) Emulate [arg(0, 1)];
    128 RT_SIGTIMEDWAIT rt_sigtimedwait (Ptr, OutBuf, Ptr, UInt) Emulate [fixed(1, SIGINFO)];
    129 RT_SIGQUEUEINFO rt_sigqueueinfo (Int, Signal, Ptr) Emulate [];
    130 RT_SIGSUSPEND rt_sigsuspend (Ptr, UInt) Emulate [];
    131 SIGALTSTACK sigaltstack (Ptr, OutBuf) Execute [fixed(1, 24)];
    132 UTIME utime (Path, Ptr) Emulate [];
    133 MKNOD mknod (Path, Mode, Hex) Emulate [];
    134 USELIB uselib (Path) Emulate [];
    135 PERSONALITY personality (Hex) Emulate [];
    136 USTAT ustat (Hex, OutBuf) Emulate [fixed(1, 32)];
    137 STATFS statfs (Path, OutBuf) Emulate [fixed(1, STATFS)];
    138 FSTATFS fstatfs (Fd, OutBuf) Emulate [fixed(1, STATFS)];
    139 SYSFS sysfs (Int, Hex, Hex) Emulate [];
    140 GETPRIORITY getpriority (Int, Int) Emulate [];
    141 SETPRIORITY setpriority (Int, Int, Int) Emulate [];
    142 SCHED_SETPARAM sched_setparam (Int, Ptr) Emulate [];
    143 SCHED_GETPARAM sched_getparam (Int, OutBuf) Emulate [fixed(1, 4)];
    144 SCHED_SETSCHEDULER sched_setscheduler (Int, Int, Ptr) Emulate [];
    145 SCHED_GETSCHEDULER sched_getscheduler (Int) Emulate [];
    146 SCHED_GET_PRIORITY_MAX sched_get_priority_max (Int) Emulate [];
    147 SCHED_GET_PRIORITY_MIN sched_get_priority_min (Int) Emulate [];
    148 SCHED_RR_GET_INTERVAL sched_rr_get_interval (Int, OutBuf) Emulate [fixed(1, TS)];
    149 MLOCK mlock (Ptr, UInt) Emulate [];
    150 MUNLOCK munlock (Ptr, UInt) Emulate [];
    151 MLOCKALL mlockall (Hex) Emulate [];
    152 MUNLOCKALL munlockall () Emulate [];
    153 VHANGUP vhangup () Emulate [];
    154 MODIFY_LDT modify_ldt (Int, Ptr, UInt) Execute [res(1)];
    155 PIVOT_ROOT pivot_root (Path, Path) Emulate [];
    156 _SYSCTL _sysctl (Ptr) Emulate [];
    157 PRCTL prctl (PrctlOp, Hex, Hex, Hex, Hex) Emulate [S];
    158 ARCH_PRCTL arch_prctl (ArchPrctlCode, Hex) Execute [S];
    159 ADJTIMEX adjtimex (Ptr) Emulate [fixed(0, TIMEX)];
    160 SETRLIMIT setrlimit (Resource, Ptr) Emulate [];
    161 CHROOT chroot (Path) Emulate [];
    162 SYNC sync () Emulate [];
    163 ACCT acct (Path) Emulate [];
    164 SETTIMEOFDAY settimeofday (Ptr, Ptr) Emulate [];
    165 MOUNT mount (Str, Path, Str, Hex, Ptr) Emulate [];
    166 UMOUNT2 umount2 (Path, Hex) Emulate [];
    167 SWAPON swapon (Path, Hex) Emulate [];
    168 SWAPOFF swapoff (Path) Emulate [];
    169 REBOOT reboot (Hex, Hex, Hex, Ptr) Emulate [];
    170 SETHOSTNAME sethostname (InBuf(1), UInt) Emulate [];
    171 SETDOMAINNAME setdomainname (InBuf(1), UInt) Emulate [];
    172 IOPL iopl (Int) Emulate [];
    173 IOPERM ioperm (Hex, UInt, Int) Emulate [];
    174 CREATE_MODULE create_module (Str, UInt) Emulate [];
    175 INIT_MODULE init_module (Ptr, UInt, Str) Emulate [];
    176 DELETE_MODULE delete_module (Str, Hex) Emulate [];
    177 GET_KERNEL_SYMS get_kernel_syms (Ptr) Emulate [];
    178 QUERY_MODULE query_module (Str, Int, Ptr, UInt, Ptr) Emulate [];
    179 QUOTACTL quotactl (Hex, Path, Int, Ptr) Emulate [];
    180 NFSSERVCTL nfsservctl (Int, Ptr, Ptr) Emulate [];
    181 GETPMSG getpmsg () Emulate [];
    182 PUTPMSG putpmsg () Emulate [];
    183 AFS_SYSCALL afs_syscall () Emulate [];
    184 TUXCALL tuxcall () Emulate [];
    185 SECURITY security () Emulate [];
    186 GETTID gettid () Emulate [];
    187 READAHEAD readahead (Fd, Long, UInt) Emulate [];
    188 SETXATTR setxattr (Path, Str, InBuf(3), UInt, Hex) Emulate [];
    189 LSETXATTR lsetxattr (Path, Str, InBuf(3), UInt, Hex) Emulate [];
    190 FSETXATTR fsetxattr (Fd, Str, InBuf(3), UInt, Hex) Emulate [];
    191 GETXATTR getxattr (Path, Str, OutBuf, UInt) Emulate [S];
    192 LGETXATTR lgetxattr (Path, Str, OutBuf, UInt) Emulate [S];
    193 FGETXATTR fgetxattr (Fd, Str, OutBuf, UInt) Emulate [S];
    194 LISTXATTR listxattr (Path, OutBuf, UInt) Emulate [S];
    195 LLISTXATTR llistxattr (Path, OutBuf, UInt) Emulate [S];
    196 FLISTXATTR flistxattr (Fd, OutBuf, UInt) Emulate [S];
    197 REMOVEXATTR removexattr (Path, Str) Emulate [];
    198 LREMOVEXATTR lremovexattr (Path, Str) Emulate [];
    199 FREMOVEXATTR fremovexattr (Fd, Str) Emulate [];
    200 TKILL tkill (Int, Signal) Emulate [];
    201 TIME time (OutBuf) Emulate [fixed(0, 8)];
    202 FUTEX futex (Ptr, FutexOp, Int, Ptr, Ptr, Hex) Emulate [];
    203 SCHED_SETAFFINITY sched_setaffinity (Int, UInt, Ptr) Emulate [];
    204 SCHED_GETAFFINITY sched_getaffinity (Int, UInt, OutBuf) Emulate [res(2)];
    205 SET_THREAD_AREA set_thread_area (Ptr) Execute [fixed(0, 16)];
    206 IO_SETUP io_setup (UInt, OutBuf) Emulate [fixed(1, 8)];
    207 IO_DESTROY io_destroy (Hex) Emulate [];
    208 IO_GETEVENTS io_getevents (Hex, Long, Long, OutBuf, Ptr) Emulate [restimes(3, IO_EVENT)];
    209 IO_SUBMIT io_submit (Hex, Long, Ptr) Emulate [];
    210 IO_CANCEL io_cancel (Hex, Ptr, OutBuf) Emulate [fixed(2, IO_EVENT)];
    211 GET_THREAD_AREA get_thread_area (Ptr) Emulate [fixed(0, 16)];
    212 LOOKUP_DCOOKIE lookup_dcookie (Hex, OutBuf, UInt) Emulate [res(1)];
    213 EPOLL_CREATE epoll_create (Int) Emulate [];
    214 EPOLL_CTL_OLD epoll_ctl_old () Emulate [];
    215 EPOLL_WAIT_OLD epoll_wait_old () Emulate [];
    216 REMAP_FILE_PAGES remap_file_pages (Ptr, UInt, Hex, UInt, Hex) Execute [];
    217 GETDENTS64 getdents64 (Fd, OutBuf, UInt) Emulate [res(1)];
    218 SET_TID_ADDRESS set_tid_address (Ptr) ExecuteThenEmulate [];
    219 RESTART_SYSCALL restart_syscall () Emulate [];
    220 SEMTIMEDOP semtimedop (Int, Ptr, UInt, Ptr) Emulate [];
    221 FADVISE64 fadvise64 (Fd, Long, Long, Int) Emulate [];
    222 TIMER_CREATE timer_create (ClockId, Ptr, OutBuf) Emulate [fixed(2, 4)];
    223 TIMER_SETTIME timer_settime (Int, Hex, Ptr, OutBuf) Emulate [fixed(3, ITS)];
    224 TIMER_GETTIME timer_gettime (Int, OutBuf) Emulate [fixed(1, ITS)];
    225 TIMER_GETOVERRUN timer_getoverrun (Int) Emulate [];
    226 TIMER_DELETE timer_delete (Int) Emulate [];
    227 CLOCK_SETTIME clock_settime (ClockId, Ptr) Emulate [];
    228 CLOCK_GETTIME clock_gettime (ClockId, OutBuf) Emulate [fixed(1, TS)];
    229 CLOCK_GETRES clock_getres (ClockId, OutBuf) Emulate [fixed(1, TS)];
    230 CLOCK_NANOSLEEP clock_nanosleep (ClockId, Hex, Ptr, OutBuf) Emulate [S];
    231 EXIT_GROUP exit_group (Int) Execute [];
    232 EPOLL_WAIT epoll_wait (Fd, OutBuf, Int, Int) Emulate [restimes(1, EPOLL_EVENT)];
    233 EPOLL_CTL epoll_ctl (Fd, EpollCtlOp, Fd, Ptr) Emulate [];
    234 TGKILL tgkill (Int, Int, Signal) Emulate [];
    235 UTIMES utimes (Path, Ptr) Emulate [];
    236 VSERVER vserver () Emulate [];
    237 MBIND mbind (Ptr, UInt, Int, Ptr, UInt, Hex) Emulate [];
    238 SET_MEMPOLICY set_mempolicy (Int, Ptr, UInt) Emulate [];
    239 GET_MEMPOLICY get_mempolicy (OutBuf, OutBuf, UInt, Ptr, Hex) Emulate [S];
    240 MQ_OPEN mq_open (Str, OpenFlags, Mode, Ptr) Emulate [];
    241 MQ_UNLINK mq_unlink (Str) Emulate [];
    242 MQ_TIMEDSEND mq_timedsend (Fd, InBuf(2), UInt, UInt, Ptr) Emulate [];
    243 MQ_TIMEDRECEIVE mq_timedreceive (Fd, OutBuf, UInt, OutBuf, Ptr) Emulate [res(1), fixed(3, 4)];
    244 MQ_NOTIFY mq_notify (Fd, Ptr) Emulate [];
    245 MQ_GETSETATTR mq_getsetattr (Fd, Ptr, OutBuf) Emulate [fixed(2, 64)];
    246 KEXEC_LOAD kexec_load (Hex, UInt, Ptr, Hex) Emulate [];
    247 WAITID waitid (Int, Int, OutBuf, WaitOptions, OutBuf) Emulate [fixed(2, SIGINFO), fixed(4, RUSAGE)];
    248 ADD_KEY add_key (Str, Str, InBuf(3), UInt, Int) Emulate [];
    249 REQUEST_KEY request_key (Str, Str, Str, Int) Emulate [];
    250 KEYCTL keyctl (Int, Hex, Hex, Hex, Hex) Emulate [S];
    251 IOPRIO_SET ioprio_set (Int, Int, Int) Emulate [];
    252 IOPRIO_GET ioprio_get (Int, Int) Emulate [];
    253 INOTIFY_INIT inotify_init () Emulate [];
    254 INOTIFY_ADD_WATCH inotify_add_watch (Fd, Path, Hex) Emulate [];
    255 INOTIFY_RM_WATCH inotify_rm_watch (Fd, Int) Emulate [];
    256 MIGRATE_PAGES migrate_pages (Int, UInt, Ptr, Ptr) Emulate [];
    257 OPENAT openat (DirFd, Path, OpenFlags, Mode) Emulate [];
    258 MKDIRAT mkdirat (DirFd, Path, Mode) Emulate [];
    259 MKNODAT mknodat (DirFd, Path, Mode, Hex) Emulate [];
    260 FCHOWNAT fchownat (DirFd, Path, Int, Int, AtFlags) Emulate [];
    261 FUTIMESAT futimesat (DirFd, Path, Ptr) Emulate [];
    262 NEWFSTATAT newfstatat (DirFd, Path, OutBuf, AtFlags) Emulate [fixed(2, STAT)];
    263 UNLINKAT unlinkat (DirFd, Path, AtFlags) Emulate [];
    264 RENAMEAT renameat (DirFd, Path, DirFd, Path) Emulate [];
    265 LINKAT linkat (DirFd, Path, DirFd, Path, AtFlags) Emulate [];
    266 SYMLINKAT symlinkat (Path, DirFd, Path) Emulate [];
    267 READLINKAT readlinkat (DirFd, Path, OutBuf, UInt) Emulate [res(2)];
    268 FCHMODAT fchmodat (DirFd, Path, Mode) Emulate [];
    269 FACCESSAT faccessat (DirFd, Path, AccessMode) Emulate [];
    270 PSELECT6 pselect6 (Int, Ptr, Ptr, Ptr, Ptr, Ptr) Emulate [S];
    271 PPOLL ppoll (Ptr, UInt, Ptr, Ptr, UInt) Emulate [S];
    272 UNSHARE unshare (CloneFlags) Emulate [];
    273 SET_ROBUST_LIST set_robust_list (Ptr, UInt) Execute [];
    274 GET_ROBUST_LIST get_robust_list (Int, OutBuf, OutBuf) Emulate [fixed(1, 8), fixed(2, 8)];
    275 SPLICE splice (Fd, Ptr, Fd, Ptr, UInt, Hex) Emulate [fixed(1, 8), fixed(3, 8)];
    276 TEE tee (Fd, Fd, UInt, Hex) Emulate [];
    277 SYNC_FILE_RANGE sync_file_range (Fd, Long, Long, Hex) Emulate [];
    278 VMSPLICE vmsplice (Fd, Ptr, UInt, Hex) Emulate [];
    279 MOVE_PAGES move_pages (Int, UInt, Ptr, Ptr, OutBuf, Hex) Emulate [argtimes(4, 1, 4)];
    280 UTIMENSAT utimensat (DirFd, Path, Ptr, AtFlags) Emulate [];
    281 EPOLL_PWAIT epoll_pwait (Fd, OutBuf, Int, Int, Ptr, UInt) Emulate [restimes(1, EPOLL_EVENT)];
    282 SIGNALFD signalfd (Fd, Ptr, UInt) Emulate [];
    283 TIMERFD_CREATE timerfd_create (ClockId, FileFlags) Emulate [];
    284 EVENTFD eventfd (UInt) Emulate [];
    285 FALLOCATE fallocate (Fd, Int, Long, Long) Emulate [];
    286 TIMERFD_SETTIME timerfd_settime (Fd, Hex, Ptr, OutBuf) Emulate [fixed(3, ITS)];
    287 TIMERFD_GETTIME timerfd_gettime (Fd, OutBuf) Emulate [fixed(1, ITS)];
    288 ACCEPT4 accept4 (Fd, OutBuf, Ptr, FileFlags) Emulate [S];
    289 SIGNALFD4 signalfd4 (Fd, Ptr, UInt, FileFlags) Emulate [];
    290 EVENTFD2 eventfd2 (UInt, FileFlags) Emulate [];
    291 EPOLL_CREATE1 epoll_create1 (FileFlags) Emulate [];
    292 DUP3 dup3 (Fd, Fd, FileFlags) Emulate [];
    293 PIPE2 pipe2 (OutBuf, FileFlags) Emulate [fixed(0, 8)];
    294 INOTIFY_INIT1 inotify_init1 (FileFlags) Emulate [];
    295 PREADV preadv (Fd, Ptr, UInt, Long) Emulate [S];
    296 PWRITEV pwritev (Fd, Ptr, UInt, Long) Emulate [];
    297 RT_TGSIGQUEUEINFO rt_tgsigqueueinfo (Int, Int, Signal, Ptr) Emulate [];
    298 PERF_EVENT_OPEN perf_event_open (Ptr, Int, Int, Fd, Hex) Emulate [];
    299 RECVMMSG recvmmsg (Fd, Ptr, UInt, Hex, Ptr) Emulate [S];
    300 FANOTIFY_INIT fanotify_init (Hex, Hex) Emulate [];
    301 FANOTIFY_MARK fanotify_mark (Fd, Hex, Hex, DirFd, Path) Emulate [];
    302 PRLIMIT64 prlimit64 (Int, Resource, Ptr, OutBuf) Emulate [fixed(3, RLIMIT)];
    303 NAME_TO_HANDLE_AT name_to_handle_at (DirFd, Path, OutBuf, OutBuf, AtFlags) Emulate [S];
    304 OPEN_BY_HANDLE_AT open_by_handle_at (Fd, Ptr, OpenFlags) Emulate [];
    305 CLOCK_ADJTIME clock_adjtime (ClockId, Ptr) Emulate [fixed(1, TIMEX)];
    306 SYNCFS syncfs (Fd) Emulate [];
    307 SENDMMSG sendmmsg (Fd, Ptr, UInt, Hex) Emulate [S];
    308 SETNS setns (Fd, CloneFlags) Emulate [];
    309 GETCPU getcpu (OutBuf, OutBuf, Ptr) Emulate [fixed(0, 4), fixed(1, 4)];
    310 PROCESS_VM_READV process_vm_readv (Int, Ptr, UInt, Ptr, UInt, Hex) Emulate [S];
    311 PROCESS_VM_WRITEV process_vm_writev (Int, Ptr, UInt, Ptr, UInt, Hex) Emulate [];
    312 KCMP kcmp (Int, Int, Int, Hex, Hex) Emulate [];
    313 FINIT_MODULE finit_module (Fd, Str, Hex) Emulate [];
    314 SCHED_SETATTR sched_setattr (Int, Ptr, Hex) Emulate [];
    315 SCHED_GETATTR sched_getattr (Int, OutBuf, UInt, Hex) Emulate [arg(1, 2)];
    316 RENAMEAT2 renameat2 (DirFd, Path, DirFd, Path, Hex) Emulate [];
    317 SECCOMP seccomp (UInt, Hex, Ptr) Emulate [];
    318 GETRANDOM getrandom (OutBuf, UInt, Hex) Emulate [res(0)];
    319 MEMFD_CREATE memfd_create (Str, Hex) Emulate [];
    320 KEXEC_FILE_LOAD kexec_file_load (Fd, Fd, UInt, Str, Hex) Emulate [];
    321 BPF bpf (Int, Ptr, UInt) Emulate [];
    322 EXECVEAT execveat (DirFd, Path, Ptr, Ptr, AtFlags) Execute [];
    323 USERFAULTFD userfaultfd (Hex) Emulate [];
    324 MEMBARRIER membarrier (Int, Hex, Int) Emulate [];
    325 MLOCK2 mlock2 (Ptr, UInt, Hex) Emulate [];
    326 COPY_FILE_RANGE copy_file_range (Fd, Ptr, Fd, Ptr, UInt, Hex) Emulate [fixed(1, 8), fixed(3, 8)];
    327 PREADV2 preadv2 (Fd, Ptr, UInt, Long, Hex, Hex) Emulate [S];
    328 PWRITEV2 pwritev2 (Fd, Ptr, UInt, Long, Hex, Hex) Emulate [];
    329 PKEY_MPROTECT pkey_mprotect (Ptr, UInt, Prot, Int) Execute [];
    330 PKEY_ALLOC pkey_alloc (Hex, Hex) Execute [];
    331 PKEY_FREE pkey_free (Int) Execute [];
    332 STATX statx (DirFd, Path, AtFlags, Hex, OutBuf) Emulate [fixed(4, 256)];
    333 IO_PGETEVENTS io_pgetevents (Hex, Long, Long, OutBuf, Ptr, Ptr) Emulate [restimes(3, IO_EVENT)];
    334 RSEQ rseq (Ptr, UInt, Hex, Hex) Emulate [];
    335 URETPROBE uretprobe () Execute [];
    424 PIDFD_SEND_SIGNAL pidfd_send_signal (Fd, Signal, Ptr, Hex) Emulate [];
    425 IO_URING_SETUP io_uring_setup (UInt, Ptr) Emulate [];
    426 IO_URING_ENTER io_uring_enter (Fd, UInt, UInt, Hex, Ptr, UInt) Emulate [];
    427 IO_URING_REGISTER io_uring_register (Fd, UInt, Ptr, UInt) Emulate [];
    428 OPEN_TREE open_tree (DirFd, Path, Hex) Emulate [];
    429 MOVE_MOUNT move_mount (DirFd, Path, DirFd, Path, Hex) Emulate [];
    430 FSOPEN fsopen (Str, Hex) Emulate [];
    431 FSCONFIG fsconfig (Fd, UInt, Str, Ptr, Int) Emulate [];
    432 FSMOUNT fsmount (Fd, Hex, Hex) Emulate [];
    433 FSPICK fspick (DirFd, Path, Hex) Emulate [];
    434 PIDFD_OPEN pidfd_open (Int, Hex) Emulate [];
    435 CLONE3 clone3 (Ptr, UInt) Execute [];
    436 CLOSE_RANGE close_range (UInt, UInt, Hex) Emulate [];
    437 OPENAT2 openat2 (DirFd, Path, Ptr, UInt) Emulate [];
    438 PIDFD_GETFD pidfd_getfd (Fd, Int, Hex) Emulate [];
    439 FACCESSAT2 faccessat2 (DirFd, Path, AccessMode, Hex) Emulate [];
    440 PROCESS_MADVISE process_madvise (Fd, Ptr, UInt, Madvise, Hex) Emulate [];
    441 EPOLL_PWAIT2 epoll_pwait2 (Fd, OutBuf, Int, Ptr, Ptr, UInt) Emulate [restimes(1, EPOLL_EVENT)];
    442 MOUNT_SETATTR mount_setattr (DirFd, Path, Hex, Ptr, UInt) Emulate [];
    443 QUOTACTL_FD quotactl_fd (Fd, Hex, Int, Ptr) Emulate [];
    444 LANDLOCK_CREATE_RULESET landlock_create_ruleset (Ptr, UInt, Hex) Emulate [];
    445 LANDLOCK_ADD_RULE landlock_add_rule (Fd, Int, Ptr, Hex) Emulate [];
    446 LANDLOCK_RESTRICT_SELF landlock_restrict_self (Fd, Hex) Emulate [];
    447 MEMFD_SECRET memfd_secret (Hex) Emulate [];
    448 PROCESS_MRELEASE process_mrelease (Fd, Hex) Emulate [];
    449 FUTEX_WAITV futex_waitv (Ptr, UInt, Hex, Ptr, ClockId) Emulate [];
    450 SET_MEMPOLICY_HOME_NODE set_mempolicy_home_node (Ptr, UInt, UInt, Hex) Emulate [];
    451 CACHESTAT cachestat (Fd, Ptr, OutBuf, Hex) Emulate [fixed(2, 40)];
    452 FCHMODAT2 fchmodat2 (DirFd, Path, Mode, AtFlags) Emulate [];
    453 MAP_SHADOW_STACK map_shadow_stack (Ptr, UInt, Hex) Execute [];
    454 FUTEX_WAKE futex_wake (Ptr, Hex, Int, Hex) Emulate [];
    455 FUTEX_WAIT futex_wait (Ptr, Hex, Hex, Hex, Ptr, ClockId) Emulate [];
    456 FUTEX_REQUEUE futex_requeue (Ptr, Hex, Int, Int) Emulate [];
    457 STATMOUNT statmount (Ptr, OutBuf, UInt, Hex) Emulate [S];
    458 LISTMOUNT listmount (Ptr, OutBuf, UInt, Hex) Emulate [restimes(1, 8)];
    459 LSM_GET_SELF_ATTR lsm_get_self_attr (UInt, OutBuf, Ptr, Hex) Emulate [deref(1, 2), fixed(2, 4)];
    460 LSM_SET_SELF_ATTR lsm_set_self_attr (UInt, Ptr, UInt, Hex) Emulate [];
    461 LSM_LIST_MODULES lsm_list_modules (OutBuf, Ptr, Hex) Emulate [deref(0, 1), fixed(1, 4)];
    462 MSEAL mseal (Ptr, UInt, Hex) Execute [];
    463 SETXATTRAT setxattrat (DirFd, Path, AtFlags, Str, Ptr, UInt) Emulate [];
    464 GETXATTRAT getxattrat (DirFd, Path, AtFlags, Str, Ptr, UInt) Emulate [S];
    465 LISTXATTRAT listxattrat (DirFd, Path, AtFlags, OutBuf, UInt) Emulate [S];
    466 REMOVEXATTRAT removexattrat (DirFd, Path, AtFlags, Str) Emulate [];
    467 OPEN_TREE_ATTR open_tree_attr (DirFd, Path, Hex, Ptr, UInt) Emulate [];
    468 FILE_GETATTR file_getattr (DirFd, Path, OutBuf, UInt, AtFlags) Emulate [arg(2, 3)];
    469 FILE_SETATTR file_setattr (DirFd, Path, Ptr, UInt, AtFlags) Emulate [];
    470 LISTNS listns (Ptr, OutBuf, UInt, Hex) Emulate [restimes(1, 8)];
}
