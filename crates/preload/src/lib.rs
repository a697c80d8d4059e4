//! Scribe's in-process syscall buffer.
//!
//! Preloaded into recorded programs (`LD_PRELOAD`), this library stands in
//! for a few libc functions whose syscalls only return data and never block
//! (stat, xattr reads, readlink, clock reads, reads of regular files...). It
//! makes the syscall itself through the stub at a fixed address, which the
//! seccomp filter lets through without a ptrace stop, and appends the result
//! and the bytes the kernel wrote to a buffer that Scribe drains at the
//! task's next stop. A stop costs ~16 µs on the machines Scribe runs on and
//! a cheap syscall ~0.3 µs, so this is where recording gets its speed.
//!
//! During replay the same code runs: the replayer has filled the buffer with
//! the recorded records and replaced the stub with one that plays the
//! kernel's part from them. Every decision below depends only on the buffer
//! header and on results, which replay reproduces, so the library takes the
//! same path in both modes; the exported entry points clear the scratch
//! registers on return so that nothing the stub left behind is visible.
//!
//! This crate is, with `scribe-tracee`, the only place with `unsafe` code:
//! it is foreign code living inside the traced program, talking to the
//! kernel with raw syscalls and to Scribe through fixed memory.
// `cfg(test)` only exists for `cargo clippy --all-targets`: there is no
// test of this crate on its own (tests/syscallbuf.rs drives it).
#![cfg_attr(not(test), no_std)]
#![allow(clippy::missing_safety_doc)]

use core::arch::{asm, naked_asm};

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

use scribe_bufabi::{self as abi, header, magic, record};

extern "C" {
    fn __errno_location() -> *mut i32;
    fn __chk_fail() -> !;
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: ud2 only raises SIGILL; nothing can be unwound here.
    unsafe { asm!("ud2", options(noreturn)) }
}

/// Referenced by core's unwind tables; never called (panics abort).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

mod nr {
    pub const READ: u32 = 0;
    pub const WRITE: u32 = 1;
    pub const PWRITE64: u32 = 18;
    pub const SENDTO: u32 = 44;
    pub const RECVFROM: u32 = 45;
    pub const PREADV2: u32 = 327;
    pub const PWRITEV2: u32 = 328;
    pub const CLOSE: u32 = 3;
    pub const FSTAT: u32 = 5;
    pub const LSEEK: u32 = 8;
    pub const FCNTL: u32 = 72;
    pub const MMAP: u32 = 9;
    pub const MPROTECT: u32 = 10;
    pub const MUNMAP: u32 = 11;
    pub const PREAD64: u32 = 17;
    pub const GETPID: u32 = 39;
    pub const READLINK: u32 = 89;
    pub const GETDENTS64: u32 = 217;
    pub const GETTIMEOFDAY: u32 = 96;
    pub const OPENAT: u32 = 257;
    pub const GETPPID: u32 = 110;
    pub const GETTID: u32 = 186;
    pub const GETXATTR: u32 = 191;
    pub const LGETXATTR: u32 = 192;
    pub const FGETXATTR: u32 = 193;
    pub const LISTXATTR: u32 = 194;
    pub const LLISTXATTR: u32 = 195;
    pub const FLISTXATTR: u32 = 196;
    pub const TIME: u32 = 201;
    pub const CLOCK_GETTIME: u32 = 228;
    pub const NEWFSTATAT: u32 = 262;
    pub const READLINKAT: u32 = 267;
    pub const STATX: u32 = 332;
    pub const STAT: u32 = 4;
    pub const LSTAT: u32 = 6;
    pub const IOCTL: u32 = 16;
    pub const POLL: u32 = 7;
    pub const PSELECT6: u32 = 270;
    pub const EPOLL_WAIT: u32 = 232;
    pub const EPOLL_PWAIT: u32 = 281;
    pub const ACCESS: u32 = 21;
    pub const UNAME: u32 = 63;
    pub const GETCWD: u32 = 79;
    pub const GETRLIMIT: u32 = 97;
    pub const SYSINFO: u32 = 99;
    pub const GETUID: u32 = 102;
    pub const GETGID: u32 = 104;
    pub const GETEUID: u32 = 107;
    pub const GETEGID: u32 = 108;
    pub const FACCESSAT: u32 = 269;
    pub const PRLIMIT64: u32 = 302;
    pub const FACCESSAT2: u32 = 439;
    pub const GETCPU: u32 = 309;
    pub const GETRANDOM: u32 = 318;
    pub const BRK: u32 = 12;
    pub const RT_SIGPROCMASK: u32 = 14;
    pub const RT_SIGPENDING: u32 = 127;
}

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const STAT_LEN: u32 = 144;
/// The kernel's signal set (64 signals).
const SIGSET_LEN: u32 = 8;
/// getrandom's flag for the old blocking pool.
const GRND_RANDOM: u64 = 2;
const STATX_LEN: u32 = 256;
/// `struct utsname`: six fields of 65 bytes.
const UTSNAME_LEN: u32 = 390;
/// `struct sysinfo` on x86-64.
const SYSINFO_LEN: u32 = 112;
/// `struct rlimit`: two u64.
const RLIMIT_LEN: u32 = 16;
/// The kernel's `struct termios` (what TCGETS writes).
const TERMIOS_LEN: u32 = 36;
/// `struct winsize`.
const WINSIZE_LEN: u32 = 8;
const TCGETS: u64 = 0x5401;
/// `struct pollfd`: fd, events, revents.
const POLLFD_LEN: usize = 8;
/// `struct epoll_event` on x86-64 (packed: u32 events, u64 data).
const EPOLL_EVENT_LEN: u32 = 12;
const TIOCGWINSZ: u64 = 0x5413;

/// Set once the region is mapped and Scribe accepted it.
static READY: AtomicBool = AtomicBool::new(false);

/// The device of /proc (asked once at start; 0 if unknown): its files look
/// regular, but a write to /proc/self/mem changes memory, which only a
/// stopped write lets the recorder see.
static PROC_DEV: AtomicU64 = AtomicU64::new(0);

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

extern "C" fn init() {
    // SAFETY: raw syscalls on a fixed address nobody else uses
    // (MAP_FIXED_NOREPLACE fails instead of clobbering a mapping).
    unsafe {
        const PROT_RW: u64 = 3;
        const PROT_RX: u64 = 5;
        const MAP_PRIVATE_ANON_FIXED_NOREPLACE: u64 = 0x02 | 0x20 | 0x100000;
        let start = abi::REGION_START;
        let got = traced(nr::MMAP, [start, abi::REGION_LEN, PROT_RW, MAP_PRIVATE_ANON_FIXED_NOREPLACE, u64::MAX, 0]);
        if got as u64 != start {
            if got > 0 {
                traced(nr::MUNMAP, [got as u64, abi::REGION_LEN, 0, 0, 0, 0]);
            }
            return;
        }
        core::ptr::copy_nonoverlapping(abi::RECORD_STUB.as_ptr(), start as *mut u8, abi::RECORD_STUB.len());
        traced(nr::MPROTECT, [start, 0x1000, PROT_RX, 0, 0, 0]);
        let answer = traced(magic::REGISTER, [start, u64::from(abi::CAPACITY), abi::VERSION, 0, 0, 0]);
        if answer != 1 {
            traced(nr::MUNMAP, [start, abi::REGION_LEN, 0, 0, 0, 0]);
            return;
        }
        set(header::ENABLED, 1);
        READY.store(true, Ordering::Relaxed);
        const AT_FDCWD: i32 = -100;
        if let Ok(st) = buffered_stat(AT_FDCWD, c"/proc/self".as_ptr().cast(), 0) {
            PROC_DEV.store(st[0], Ordering::Relaxed);
        }
        patch_libc();
    }
}

/// A syscall that stops at Scribe like any other (made from this library's code).
unsafe fn traced(nr: u32, a: [u64; 6]) -> i64 {
    let ret: i64;
    asm!(
        "syscall",
        inlateout("rax") u64::from(nr) as i64 => ret,
        in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
        lateout("rcx") _, lateout("r11") _,
        options(nostack),
    );
    ret
}

// ---- cancellation points ----
//
// read, write, open, close and the rest are pthread cancellation points:
// glibc's versions act on a pending cancellation when they start, and let
// the thread be cancelled while they block. The exported versions do the
// same with glibc's public calls: they test for a pending request first,
// and make the thread asynchronously cancellable around a call that may
// block. Cancelling it there unwinds from this library's frames, which
// carry unwind tables, so a C++ program's destructors run as they would.

/// How a call that is not buffered is made.
#[derive(Clone, Copy)]
enum Slow {
    /// A traced syscall: for libc's own patched sites, which are already
    /// inside glibc's cancellation handling.
    Traced,
    /// A traced syscall during which the thread can be cancelled: for the
    /// exported entry points, which stand in for glibc's.
    Cancellable,
}

extern "C" {
    fn pthread_testcancel();
    fn pthread_setcanceltype(kind: i32, old: *mut i32) -> i32;
}

const PTHREAD_CANCEL_ASYNCHRONOUS: i32 = 1;

impl Slow {
    /// Makes syscall `nr` this way; returns what the kernel would.
    unsafe fn call(self, nr: u32, args: [u64; 6]) -> i64 {
        match self {
            Slow::Traced => traced(nr, args),
            Slow::Cancellable => {
                let mut old = 0;
                pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &mut old);
                let result = traced(nr, args);
                pthread_setcanceltype(old, &mut old);
                result
            }
        }
    }
}

/// A syscall through the stub: untraced while recording, played from the
/// record while replaying.
///
/// The kernel and the replay stub leave different values in rcx, r11, rdi,
/// rsi and r10 (an mmap made at its recorded address); they are cleared
/// right after, in both modes, so that no later state of the task (a
/// preemption point inside a memcpy this library calls, say) depends on
/// the mode.
///
/// `may_wait` is for a pipe call made with RWF_NOWAIT in its last argument
/// (r9): that argument is cleared when the header says `flags::MAY_BLOCK`,
/// so that the call waits in the kernel instead of failing with EAGAIN. It
/// is decided and cleared in registers only, and r9 is cleared after the
/// call in both modes: replay's header never says MAY_BLOCK (its stub
/// answers from the record either way), so a value of it kept in memory
/// would make the program's state differ between the modes (a bookmark's
/// digest).
unsafe fn untraced(nr: u32, a: [u64; 6], may_wait: bool) -> i64 {
    // What is left of r9 under MAY_BLOCK: all of it, or nothing.
    let keep_r9: u64 = if may_wait { 0 } else { u64::MAX };
    let ret: i64;
    asm!(
        "test dword ptr [{flags}], {may_block}",
        "jz 2f",
        "and r9, {keep_r9}",
        "2:",
        // The call pushes a return address: keep clear of the red zone.
        "sub rsp, 128",
        "call {stub}",
        "add rsp, 128",
        "xor ecx, ecx",
        "xor r11d, r11d",
        "xor edi, edi",
        "xor esi, esi",
        "xor r10d, r10d",
        "xor r9d, r9d",
        flags = in(reg) abi::HEADER_ADDR + header::FLAGS,
        may_block = const abi::flags::MAY_BLOCK,
        keep_r9 = in(reg) keep_r9,
        stub = in(reg) abi::STUB_ENTRY,
        inlateout("rax") u64::from(nr) as i64 => ret,
        inlateout("rdi") a[0] => _, inlateout("rsi") a[1] => _, in("rdx") a[2], inlateout("r10") a[3] => _, in("r8") a[4], inlateout("r9") a[5] => _,
        lateout("rcx") _, lateout("r11") _,
    );
    ret
}

fn field(offset: u64) -> *mut u32 {
    (abi::HEADER_ADDR + offset) as *mut u32
}

unsafe fn get(offset: u64) -> u32 {
    core::ptr::read_volatile(field(offset))
}

unsafe fn set(offset: u64, value: u32) {
    core::ptr::write_volatile(field(offset), value)
}

unsafe fn set_u64(addr: u64, value: u64) {
    core::ptr::write_volatile(addr as *mut u64, value)
}

/// Length of a NUL-terminated string including the NUL, if at most `max`.
unsafe fn c_len(s: *const u8, max: u32) -> Option<u32> {
    let mut n = 0;
    while n < max {
        if *s.add(n as usize) == 0 {
            return Some(n + 1);
        }
        n += 1;
    }
    None
}

/// How many output bytes a call produced, from its result.
#[derive(Clone, Copy)]
enum Output {
    /// None.
    Nothing,
    /// `len` bytes when the result is 0.
    OnSuccess(u32),
    /// As many bytes as the result says.
    ResultBytes,
    /// As many bytes as the result says, unless the size argument was 0.
    ResultBytesIfSized(usize),
    /// `len` bytes unless the call failed.
    UnlessFailed(u32),
    /// Records of this many bytes, as many as the result says.
    PerResult(u32),
}

impl Output {
    fn len(self, result: i64, args: &[u64; 6]) -> u32 {
        match self {
            Output::Nothing => 0,
            Output::OnSuccess(len) => if result == 0 { len } else { 0 },
            Output::ResultBytes => if result > 0 { result as u32 } else { 0 },
            Output::ResultBytesIfSized(i) => if result > 0 && args[i] > 0 { result as u32 } else { 0 },
            Output::UnlessFailed(len) => if result >= 0 { len } else { 0 },
            Output::PerResult(size) => if result > 0 { (result as u32).saturating_mul(size) } else { 0 },
        }
    }
}

/// One call to buffer: `None` from [`buffered`] means "make it traced".
struct Call {
    nr: u32,
    args: [u64; 6],
    /// A path the kernel reads, copied into the record for people.
    input: *const u8,
    /// When set, `input` is this many bytes (written data), not a string.
    input_bytes: Option<u32>,
    /// Where the kernel writes, and at most how much.
    out_addr: u64,
    out_max: u32,
    output: Output,
    /// The syscall actually made, when it differs from the one recorded
    /// (a pipe read made as a non-blocking preadv2).
    made: Option<(u32, [u64; 6])>,
    /// Results on which the call is not kept but made again traced (a
    /// non-blocking attempt that would have blocked).
    retry_traced_on: [i64; 2],
    /// The inode of the pipe a read or write works on (0 for other calls):
    /// Scribe gives the call a serial of that pipe.
    pipe: u64,
    /// The made call's last argument is RWF_NOWAIT, dropped while the task
    /// is alone in its domain (see [`untraced`]).
    may_wait: bool,
    /// A write to the recording's own output: buffered only under
    /// `flags::STD_WRITES`.
    std_output: bool,
}

/// No syscall returns this.
const NEVER: i64 = i64::MIN;

/// Makes `call` through the buffer, or returns `None` when it must stop at
/// Scribe instead (buffering off, re-entered from a signal handler, too
/// big, or Scribe asked for stops by lowering STOP_AT).
unsafe fn buffered(call: &Call) -> Option<i64> {
    if !READY.load(Ordering::Relaxed) || get(header::ENABLED) == 0 || get(header::IN_LIB) != 0 {
        return None;
    }
    if call.out_max > abi::MAX_OUTPUT {
        return None;
    }
    if !call.input.is_null() && (call.input as u64) < 4096 {
        // A bad pointer: let the kernel answer EFAULT rather than fault here.
        return None;
    }
    let in_len = match call.input_bytes {
        Some(len) if len <= abi::MAX_INPUT => len,
        Some(_) => return None,
        None if call.input.is_null() => 0,
        None => c_len(call.input, abi::MAX_INPUT)?,
    };
    let need = abi::record_size(in_len, call.out_max);
    set(header::IN_LIB, 1);
    if get(header::USED) + need > abi::CAPACITY && traced(magic::FLUSH, [0; 6]) != 0 {
        // No Scribe to drain it (detached): stop buffering for good.
        set(header::ENABLED, 0);
        set(header::USED, 0);
        set(header::IN_LIB, 0);
        return None;
    }
    let used = get(header::USED);
    if used >= get(header::STOP_AT) {
        set(header::IN_LIB, 0);
        return None;
    }
    // Asked last, so that the code run before is the same with the flag
    // or without it: replay infers the flag from its batch (set if the
    // batch has such a write), and a write made traced where the recording
    // had the flag (the buffer's end reached: a signal held) must leave
    // the same stack behind in both modes.
    if call.std_output && get(header::FLAGS) & abi::flags::STD_WRITES == 0 {
        set(header::IN_LIB, 0);
        return None;
    }
    let rec = abi::RECORDS_ADDR + u64::from(used);
    let at = |offset: usize| rec + offset as u64;
    core::ptr::write_volatile(at(record::NR) as *mut u32, call.nr);
    for (i, arg) in call.args.iter().enumerate() {
        set_u64(at(record::ARGS + 8 * i), *arg);
    }
    set_u64(at(record::OUTPUT_ADDR), call.out_addr);
    core::ptr::write_volatile(at(record::INPUT_LEN) as *mut u32, in_len);
    // Addresses of no bytes are written as 0, as the replayer writes the
    // records it loads: a batch made as recorded then leaves the loaded
    // bytes exactly as they were, which the replayer checks cheaply.
    set_u64(at(record::INPUT_ADDR), if in_len > 0 { call.input as u64 } else { 0 });
    set_u64(at(record::PIPE), call.pipe);
    if in_len > 0 {
        core::ptr::copy_nonoverlapping(call.input, at(record::LEN) as *mut u8, in_len as usize);
    }
    let output = at(record::LEN) + u64::from(abi::pad8(in_len));
    set_u64(abi::HEADER_ADDR + header::CURRENT, rec);
    set_u64(abi::HEADER_ADDR + header::CURRENT_OUTPUT, output);
    let (made_nr, made_args) = call.made.unwrap_or((call.nr, call.args));
    let result = untraced(made_nr, made_args, call.may_wait);
    // A result on which the call is made again traced (it would have
    // waited) is kept too, with no output: replay's stub answers it the
    // same way, so the library runs the very same code in both modes and
    // leaves the same stack behind (a bookmark taken while the traced call
    // waited differed in memory when the record was dropped here).
    let retry = call.retry_traced_on.contains(&result);
    let out_len = if retry { 0 } else { call.output.len(result, &call.args).min(call.out_max) };
    set_u64(at(record::RESULT), result as u64);
    core::ptr::write_volatile(at(record::OUTPUT_LEN) as *mut u32, out_len);
    if out_len > 0 {
        core::ptr::copy_nonoverlapping(call.out_addr as *const u8, output as *mut u8, out_len as usize);
    } else {
        set_u64(at(record::OUTPUT_ADDR), 0);
    }
    let size = abi::record_size(in_len, out_len);
    core::ptr::write_volatile(at(record::SIZE) as *mut u32, size);
    set(header::USED, used + size);
    set(header::IN_LIB, 0);
    if result == 0 && out_len == STAT_LEN {
        remember_stat(call);
    }
    (!retry).then_some(result)
}

/// Buffers `call` if it can, else makes it traced; the kernel's result.
unsafe fn run_raw(call: Call) -> i64 {
    match buffered(&call) {
        Some(result) => result,
        None => traced(call.nr, call.args),
    }
}

unsafe fn errno_result(result: i64) -> i64 {
    if (-4095..0).contains(&result) {
        *__errno_location() = -result as i32;
        -1
    } else {
        result
    }
}

/// A buffer size as an output bound: sizes past the limit stay past it (so
/// [`buffered`] refuses the call) without overflowing a u32.
fn output_bound(size: usize) -> u32 {
    size.min(abi::MAX_OUTPUT as usize + 1) as u32
}

fn call(nr: u32, args: [u64; 6], input: *const u8, out_addr: u64, out_max: u32, output: Output) -> Call {
    Call {
        nr,
        args,
        input,
        input_bytes: None,
        out_addr,
        out_max,
        output,
        made: None,
        retry_traced_on: [NEVER; 2],
        pipe: 0,
        may_wait: false,
        std_output: false,
    }
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// A `struct stat` as u64 words: st_ino is word 1, st_mode the low half
/// of word 3, st_rdev word 5.
type Stat = [u64; STAT_LEN as usize / 8];

/// The `struct stat` of `fd` (`path` null) or of `path` relative to `fd`,
/// asked through the buffer (the answer is part of the recording, so
/// replay makes the same choice); `Err(result)` if the stat failed or
/// could not be buffered (`Err(0)`).
unsafe fn buffered_stat(fd: i32, path: *const u8, flags: u64) -> Result<Stat, i64> {
    let mut st: Stat = [0; STAT_LEN as usize / 8];
    let addr = st.as_mut_ptr() as u64;
    let c = if path.is_null() {
        call(nr::FSTAT, [fd as u64, addr, 0, 0, 0, 0], core::ptr::null(), addr, STAT_LEN, Output::OnSuccess(STAT_LEN))
    } else {
        call(nr::NEWFSTATAT, [fd as i64 as u64, path as u64, addr, flags, 0, 0], path, addr, STAT_LEN, Output::OnSuccess(STAT_LEN))
    };
    match buffered(&c) {
        Some(0) => Ok(st),
        Some(err) => Err(err),
        None => Err(0),
    }
}

/// The file type bits of `path` relative to `dirfd` (see [`buffered_stat`]).
unsafe fn file_type(dirfd: i32, path: *const u8, flags: u64) -> Result<u32, i64> {
    buffered_stat(dirfd, path, flags).map(|st| st[3] as u32 & S_IFMT)
}

/// What a descriptor refers to, as far as buffering cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FdKind {
    /// A regular file: reads and writes never wait for another process.
    Regular,
    /// A file of /proc: read like a regular file, written with a stop (a
    /// write to /proc/self/mem changes the program's memory).
    Proc,
    /// A directory.
    Directory,
    /// A pipe or FIFO, with its inode: tried without blocking (RWF_NOWAIT).
    Pipe(u64),
    /// /dev/null, /dev/zero, /dev/full, /dev/random or /dev/urandom:
    /// character devices whose reads and writes never wait, buffered like
    /// regular files (`dd if=/dev/zero` stopped twice per block).
    MemoryDevice,
    /// A terminal: written like a pipe (a write may wait for the reader, or
    /// for ^Q), with no inode to order: replay does not write there.
    Terminal,
    /// A socket: its reads and writes are tried without waiting
    /// (MSG_DONTWAIT) and made traced when they would wait.
    Socket,
    /// Anything else (other devices), or unknown.
    Other,
}

impl FdKind {
    /// The kind of a file from its `struct stat` fields.
    fn of(dev: u64, mode: u32, rdev: u64, ino: u64) -> FdKind {
        const S_IFIFO: u32 = 0o010000;
        const S_IFCHR: u32 = 0o020000;
        const S_IFSOCK: u32 = 0o140000;
        /// The memory devices (major 1) that never wait: null, zero,
        /// full, random, urandom (not mem, kmem, port or kmsg).
        const NEVER_WAIT: [u64; 5] = [0x103, 0x105, 0x107, 0x108, 0x109];
        let proc_dev = PROC_DEV.load(Ordering::Relaxed);
        match mode & S_IFMT {
            S_IFREG if proc_dev != 0 && dev == proc_dev => FdKind::Proc,
            S_IFREG => FdKind::Regular,
            S_IFDIR => FdKind::Directory,
            S_IFIFO => FdKind::Pipe(ino),
            S_IFCHR if NEVER_WAIT.contains(&rdev) => FdKind::MemoryDevice,
            S_IFSOCK => FdKind::Socket,
            S_IFCHR if is_terminal_major(rdev_major(rdev)) => FdKind::Terminal,
            _ => FdKind::Other,
        }
    }
}

/// The major number of a device number as `struct stat` gives it.
fn rdev_major(rdev: u64) -> u64 {
    ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)
}

/// Whether devices of `major` are terminals: virtual consoles and serial
/// ports (4), /dev/tty and /dev/console (5), pseudo-terminals (136-143).
fn is_terminal_major(major: u64) -> bool {
    matches!(major, 4 | 5 | 136..=143)
}

// ---- what the library knows of its descriptors ----
//
// Every read, write, close and getdents64 needs the kind of its descriptor,
// and asking costs a buffered fstat each time: `find` made one for every
// close and every getdents64, a third of all its calls. The kind learned
// from any buffered fstat of a descriptor (the library's own or the
// program's) is kept until the descriptor is closed. The library sees the
// closes it makes; for the others (stopped closes, dup2 onto it, another
// thread's stopped calls, a vfork child's changes) Scribe changes the
// header's FD_GENERATION, and the library then forgets everything. What is
// kept depends only on results and on that header field, which replay
// reproduces at the same events, so replay asks the same fstats.

/// Descriptors below this number have their kind kept.
const KEPT_FDS: usize = 1024;
/// 0 when not known, else 1 + the [`FdKind`] code (see `kind_code`).
static FD_KINDS: [AtomicU8; KEPT_FDS] = [const { AtomicU8::new(0) }; KEPT_FDS];
/// The inode of each descriptor kept as a pipe.
static FD_PIPES: [AtomicU64; KEPT_FDS] = [const { AtomicU64::new(0) }; KEPT_FDS];
/// The header's FD_GENERATION when the kept kinds were last valid.
static FD_GENERATION_SEEN: AtomicU32 = AtomicU32::new(0);

fn kind_code(kind: FdKind) -> u8 {
    match kind {
        FdKind::Regular => 1,
        FdKind::Directory => 2,
        FdKind::Pipe(_) => 3,
        FdKind::MemoryDevice => 4,
        FdKind::Other => 5,
        FdKind::Proc => 6,
        FdKind::Terminal => 7,
        FdKind::Socket => 8,
    }
}

/// The slot of `fd` in the kept kinds, once the header is mapped (and the
/// kinds are cleared if Scribe changed the generation).
unsafe fn kept_slot(fd: i64) -> Option<usize> {
    if !READY.load(Ordering::Relaxed) || !(0..KEPT_FDS as i64).contains(&fd) {
        return None;
    }
    let generation = get(header::FD_GENERATION);
    if generation != FD_GENERATION_SEEN.load(Ordering::Relaxed) {
        for kind in &FD_KINDS {
            kind.store(0, Ordering::Relaxed);
        }
        FD_GENERATION_SEEN.store(generation, Ordering::Relaxed);
    }
    Some(fd as usize)
}

unsafe fn kept_kind(fd: i32) -> Option<FdKind> {
    let slot = kept_slot(i64::from(fd))?;
    Some(match FD_KINDS[slot].load(Ordering::Relaxed) {
        1 => FdKind::Regular,
        2 => FdKind::Directory,
        3 => FdKind::Pipe(FD_PIPES[slot].load(Ordering::Relaxed)),
        4 => FdKind::MemoryDevice,
        5 => FdKind::Other,
        6 => FdKind::Proc,
        7 => FdKind::Terminal,
        8 => FdKind::Socket,
        _ => return None,
    })
}

unsafe fn keep_kind(fd: i64, kind: Option<FdKind>) {
    if let Some(slot) = kept_slot(fd) {
        if let Some(FdKind::Pipe(inode)) = kind {
            FD_PIPES[slot].store(inode, Ordering::Relaxed);
        }
        FD_KINDS[slot].store(kind.map_or(0, kind_code), Ordering::Relaxed);
    }
}

/// Keeps the kind a successful buffered fstat of a descriptor (`fstat`, or
/// `fstatat` with an empty path and AT_EMPTY_PATH) reported.
unsafe fn remember_stat(call: &Call) {
    const AT_EMPTY_PATH: u64 = 0x1000;
    let of_fd = match call.nr {
        nr::FSTAT => true,
        nr::NEWFSTATAT => call.args[3] & AT_EMPTY_PATH != 0 && !call.input.is_null() && *call.input == 0,
        _ => false,
    };
    if of_fd {
        // st_dev at 0, st_ino at 8, st_mode at 24, st_rdev at 40.
        let st = call.out_addr as *const u8;
        let dev = core::ptr::read_unaligned(st as *const u64);
        let ino = core::ptr::read_unaligned(st.add(8) as *const u64);
        let mode = core::ptr::read_unaligned(st.add(24) as *const u32);
        let rdev = core::ptr::read_unaligned(st.add(40) as *const u64);
        keep_kind(call.args[0] as i64, Some(FdKind::of(dev, mode, rdev, ino)));
    }
}

/// What `fd` refers to: kept, or asked through the buffer (see [`file_type`]).
unsafe fn fd_kind(fd: i32) -> FdKind {
    if let Some(kind) = kept_kind(fd) {
        return kind;
    }
    match buffered_stat(fd, core::ptr::null(), 0) {
        Ok(st) => FdKind::of(st[0], st[3] as u32, st[5], st[1]),
        Err(_) => FdKind::Other,
    }
}

/// Whether `fd` may be the recording's own stdout or stderr (see
/// `header::STD_FDS`): writes there stop, so replay shows them.
unsafe fn is_std_output(fd: i32) -> bool {
    if !READY.load(Ordering::Relaxed) {
        return true;
    }
    let bits = core::ptr::read_volatile((abi::HEADER_ADDR + header::STD_FDS) as *const u64);
    fd < 0 || bits & abi::std_fd_bit(fd as u64) != 0
}

/// Errors of a non-blocking attempt after which the call is made again,
/// blocking and traced: it would have waited, or the kernel cannot try
/// without blocking on this file.
const WOULD_BLOCK: [i64; 2] = [-11, -95]; // EAGAIN, EOPNOTSUPP

/// RWF_NOWAIT for preadv2 and pwritev2.
const RWF_NOWAIT: u64 = 8;

/// Makes `c` (a read or write of `iov`'s one buffer on a pipe) as
/// `made_nr` (preadv2 or pwritev2) at the current offset, without blocking
/// unless the task is alone in its domain; the record keeps `c`'s own
/// number and arguments. `None` to make it traced.
unsafe fn without_blocking(mut c: Call, made_nr: u32, iov: &[u64; 2]) -> Option<i64> {
    c.made = Some((made_nr, [c.args[0], iov.as_ptr() as u64, 1, u64::MAX, 0, RWF_NOWAIT]));
    c.may_wait = true;
    c.retry_traced_on = WOULD_BLOCK;
    buffered(&c)
}

/// MSG_DONTWAIT for recvfrom and sendto.
const MSG_DONTWAIT: u64 = 0x40;

/// The flags a buffered socket call may carry: MSG_PEEK, MSG_DONTWAIT,
/// MSG_NOSIGNAL and MSG_MORE. Others (MSG_WAITALL, which MSG_DONTWAIT would
/// cut short, MSG_OOB, MSG_ERRQUEUE...) are made traced.
const SOCKET_FLAGS: u64 = 0x2 | 0x40 | 0x4000 | 0x8000;

/// Makes `c` (a read, write, recvfrom or sendto of `count` bytes at `buf`
/// on socket `fd`, with `flags`, and no address) as recvfrom (`receive`)
/// or sendto with MSG_DONTWAIT; the record keeps `c`'s own number and
/// arguments. A call that would wait is made traced, unless the program
/// asked not to wait itself. `None` to make it traced.
unsafe fn socket_call(mut c: Call, receive: bool, buf: u64, count: usize, flags: u64) -> Option<i64> {
    if flags & !SOCKET_FLAGS != 0 {
        return None;
    }
    let made_nr = if receive { nr::RECVFROM } else { nr::SENDTO };
    c.made = Some((made_nr, [c.args[0], buf, count as u64, flags | MSG_DONTWAIT, 0, 0]));
    if flags & MSG_DONTWAIT == 0 {
        c.retry_traced_on = WOULD_BLOCK;
    }
    buffered(&c)
}

/// Sends `count` bytes at `buf` on socket `fd` as `c` (a write or a
/// sendto with `flags` and no address), without waiting; made traced if
/// it would wait. Part of a write that went in is followed by the rest,
/// traced (as `rest_nr` with the same flags), and the program sees one call.
unsafe fn socket_send(c: Call, buf: *const u8, count: usize, flags: u64, rest_nr: u32, slow: Slow) -> i64 {
    let fd = c.args[0];
    let (nr, args) = (c.nr, c.args);
    match socket_call(c, false, buf as u64, count, flags) {
        Some(done) if done > 0 && (done as usize) < count && flags & MSG_DONTWAIT == 0 => {
            let rest = [fd, buf as u64 + done as u64, (count - done as usize) as u64, flags, 0, 0];
            done + slow.call(rest_nr, rest).max(0)
        }
        Some(result) => result,
        None => slow.call(nr, args),
    }
}

/// `read` on the pipe `inode`, tried without blocking; `None` to make it traced.
unsafe fn pipe_read(fd: i32, buf: *mut u8, count: usize, inode: u64) -> Option<i64> {
    let args = [fd as u64, buf as u64, count as u64, 0, 0, 0];
    let mut c = call(nr::READ, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes);
    c.pipe = inode;
    without_blocking(c, nr::PREADV2, &[buf as u64, count as u64])
}

// ---- implementations (C ABI, called by the exported shims) ----

unsafe fn read_raw(fd: i32, buf: *mut u8, count: usize, slow: Slow) -> i64 {
    let args = [fd as u64, buf as u64, count as u64, 0, 0, 0];
    if count as u64 <= u64::from(abi::MAX_OUTPUT) {
        match fd_kind(fd) {
            FdKind::Regular | FdKind::Proc | FdKind::MemoryDevice => {
                return run_raw(call(nr::READ, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes))
            }
            FdKind::Pipe(inode) => {
                if let Some(result) = pipe_read(fd, buf, count, inode) {
                    return result;
                }
            }
            FdKind::Socket => {
                let c = call(nr::READ, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes);
                if let Some(result) = socket_call(c, true, buf as u64, count, 0) {
                    return result;
                }
            }
            FdKind::Directory | FdKind::Terminal | FdKind::Other => {}
        }
    }
    slow.call(nr::READ, args)
}

/// `write` and `pwrite64` (`offset` set): buffered to regular files and
/// memory devices, tried without blocking on pipes and terminals, traced otherwise.
unsafe fn write_raw(fd: i32, buf: *const u8, count: usize, offset: Option<i64>, slow: Slow) -> i64 {
    let (nr, args) = match offset {
        None => (nr::WRITE, [fd as u64, buf as u64, count as u64, 0, 0, 0]),
        Some(at) => (nr::PWRITE64, [fd as u64, buf as u64, count as u64, at as u64, 0, 0]),
    };
    // A write to the recording's own output keeps its bytes (replay shows
    // them again), and is buffered only while the recording has one memory
    // domain (`flags::STD_WRITES`, asked by `buffered` at the last moment):
    // the trace's order is then the order of all the writes, and replay
    // shows them in that order.
    let std_output = is_std_output(fd);
    if std_output && offset.is_some() {
        return slow.call(nr, args);
    }
    let Some(mut c) = write_call(nr, args, buf, count, std_output) else { return slow.call(nr, args) };
    match fd_kind(fd) {
        FdKind::Regular | FdKind::MemoryDevice => run_raw(c),
        FdKind::Socket if offset.is_none() => socket_send(c, buf, count, 0, nr::WRITE, slow),
        // A terminal refuses RWF_NOWAIT (EOPNOTSUPP): the write is made
        // traced unless the task is alone in its domain (`flags::MAY_BLOCK`
        // drops the flag), which a program printing line by line to the
        // user's terminal usually is: two stops a line before.
        kind @ (FdKind::Pipe(_) | FdKind::Terminal) if offset.is_none() => {
            if let FdKind::Pipe(inode) = kind {
                c.pipe = inode;
            }
            match without_blocking(c, nr::PWRITEV2, &[buf as u64, count as u64]) {
                // Part of a big write went in: the rest waits for the
                // reader, traced, and the program sees one write.
                Some(done) if done > 0 && (done as usize) < count => {
                    let rest = [fd as u64, buf as u64 + done as u64, (count - done as usize) as u64, 0, 0, 0];
                    done + slow.call(nr::WRITE, rest).max(0)
                }
                Some(result) => result,
                None => slow.call(nr, args),
            }
        }
        _ => slow.call(nr, args),
    }
}

/// The descriptor sets, then the timeout, of a buffered select: the kernel
/// writes the three sets, a record holds one output, so the call is made on
/// this copy and the sets are copied back to the program's (in replay too,
/// from what the stub wrote here).
#[repr(C)]
struct SelectScratch {
    sets: [[u64; FD_SET_WORDS]; 3],
    timeout: [i64; 2],
}

/// Words of an `fd_set` (FD_SETSIZE 1024 bits).
const FD_SET_WORDS: usize = 16;

/// `pselect6` (what libc's select makes): buffered when it asks without
/// waiting (a zero timeout, no signal mask, at most FD_SETSIZE descriptors),
/// traced otherwise.
unsafe fn pselect_raw(args: [u64; 6]) -> i64 {
    let [nfds, read_set, write_set, except_set, timeout, sigmask] = args;
    let valid = |ptr: u64| ptr == 0 || ptr >= 4096;
    let zero_timeout = timeout >= 4096 && core::ptr::read_unaligned(timeout as *const [i64; 2]) == [0, 0];
    if nfds > 64 * FD_SET_WORDS as u64 || sigmask != 0 || !zero_timeout || ![read_set, write_set, except_set].into_iter().all(valid) {
        return traced(nr::PSELECT6, args);
    }
    let words = (nfds as usize).div_ceil(64);
    let mut scratch = SelectScratch { sets: [[0; FD_SET_WORDS]; 3], timeout: [0, 0] };
    let program_sets = [read_set, write_set, except_set];
    for (set, &ptr) in scratch.sets.iter_mut().zip(&program_sets) {
        if ptr != 0 {
            core::ptr::copy_nonoverlapping(ptr as *const u8, set.as_mut_ptr().cast::<u8>(), words * 8);
        }
    }
    let at = &mut scratch as *mut SelectScratch as u64;
    let made: [u64; 3] = core::array::from_fn(|i| if program_sets[i] == 0 { 0 } else { at + (i * FD_SET_WORDS * 8) as u64 });
    let len = core::mem::size_of::<SelectScratch>() as u32;
    let mut c = call(nr::PSELECT6, args, core::ptr::null(), at, len, Output::UnlessFailed(len));
    c.made = Some((nr::PSELECT6, [nfds, made[0], made[1], made[2], at + 3 * (FD_SET_WORDS * 8) as u64, 0]));
    let Some(result) = buffered(&c) else { return traced(nr::PSELECT6, args) };
    if result >= 0 {
        for (set, &ptr) in scratch.sets.iter().zip(&program_sets) {
            if ptr != 0 {
                core::ptr::copy_nonoverlapping(set.as_ptr().cast::<u8>(), ptr as *mut u8, words * 8);
            }
        }
    }
    result
}

/// `send` (sendto without an address) on socket `fd`, whose data is kept
/// as a write's is.
unsafe fn send_raw(fd: i32, buf: *const u8, count: usize, flags: u64) -> i64 {
    let args = [fd as u64, buf as u64, count as u64, flags, 0, 0];
    // Sent to the recording's own output: stopped, so replay shows it.
    let c = if is_std_output(fd) { None } else { write_call(nr::SENDTO, args, buf, count, false) };
    match c {
        Some(c) => socket_send(c, buf, count, flags, nr::SENDTO, Slow::Traced),
        None => traced(nr::SENDTO, args),
    }
}

/// The record of call `nr` (`args`), which writes `count` bytes from `buf`:
/// they are copied into it for a write to the recording's own output
/// (`std_output`) or when the header asks for written data; `None` when
/// that copy would not fit in a record (the call is then made traced).
unsafe fn write_call(nr: u32, args: [u64; 6], buf: *const u8, count: usize, std_output: bool) -> Option<Call> {
    let with_data = std_output || get(header::FLAGS) & abi::flags::WRITE_DATA != 0;
    if with_data && count > abi::MAX_INPUT as usize {
        return None;
    }
    let mut c = call(nr, args, buf, 0, 0, Output::Nothing);
    c.input_bytes = Some(if with_data { count as u32 } else { 0 });
    c.std_output = std_output;
    Some(c)
}

unsafe extern "C" fn write_impl(fd: i32, buf: *const u8, count: usize) -> i64 {
    pthread_testcancel();
    errno_result(write_raw(fd, buf, count, None, Slow::Cancellable))
}

unsafe extern "C" fn pwrite_impl(fd: i32, buf: *const u8, count: usize, offset: i64) -> i64 {
    pthread_testcancel();
    errno_result(write_raw(fd, buf, count, Some(offset), Slow::Cancellable))
}

unsafe extern "C" fn read_impl(fd: i32, buf: *mut u8, count: usize) -> i64 {
    pthread_testcancel();
    errno_result(read_raw(fd, buf, count, Slow::Cancellable))
}

unsafe extern "C" fn read_chk_impl(fd: i32, buf: *mut u8, count: usize, buflen: usize) -> i64 {
    if count > buflen {
        __chk_fail();
    }
    read_impl(fd, buf, count)
}

unsafe fn pread_raw(fd: i32, buf: *mut u8, count: usize, offset: i64, slow: Slow) -> i64 {
    let args = [fd as u64, buf as u64, count as u64, offset as u64, 0, 0];
    if count as u64 <= u64::from(abi::MAX_OUTPUT) && matches!(fd_kind(fd), FdKind::Regular | FdKind::Proc) {
        return run_raw(call(nr::PREAD64, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes));
    }
    slow.call(nr::PREAD64, args)
}

unsafe extern "C" fn pread_impl(fd: i32, buf: *mut u8, count: usize, offset: i64) -> i64 {
    pthread_testcancel();
    errno_result(pread_raw(fd, buf, count, offset, Slow::Cancellable))
}

unsafe extern "C" fn pread_chk_impl(fd: i32, buf: *mut u8, count: usize, offset: i64, buflen: usize) -> i64 {
    if count > buflen {
        __chk_fail();
    }
    pread_impl(fd, buf, count, offset)
}

/// How to buffer a call whose record depends on its arguments alone (no
/// look at the file first); `None` for the others.
fn plain_call(nr: u32, a: [u64; 6]) -> Option<Call> {
    let nothing = core::ptr::null();
    let path = |i: usize| a[i] as *const u8;
    Some(match nr {
        nr::LSEEK => call(nr, a, nothing, 0, 0, Output::Nothing),
        nr::FSTAT => call(nr, a, nothing, a[1], STAT_LEN, Output::OnSuccess(STAT_LEN)),
        nr::NEWFSTATAT => call(nr, a, path(1), a[2], STAT_LEN, Output::OnSuccess(STAT_LEN)),
        nr::STATX => call(nr, a, path(1), a[4], STATX_LEN, Output::OnSuccess(STATX_LEN)),
        nr::READLINK => call(nr, a, path(0), a[1], output_bound(a[2] as usize), Output::ResultBytes),
        nr::READLINKAT => call(nr, a, path(1), a[2], output_bound(a[3] as usize), Output::ResultBytes),
        nr::CLOCK_GETTIME => call(nr, a, nothing, a[1], 16, Output::OnSuccess(16)),
        nr::GETTIMEOFDAY if a[0] != 0 && a[1] == 0 => call(nr, a, nothing, a[0], 16, Output::OnSuccess(16)),
        // time() is asked without tloc (see `time_impl`).
        nr::TIME if a[0] == 0 => call(nr, a, nothing, 0, 0, Output::Nothing),
        nr::GETPID | nr::GETPPID | nr::GETTID => call(nr, a, nothing, 0, 0, Output::Nothing),
        nr::STAT | nr::LSTAT => call(nr, a, path(0), a[1], STAT_LEN, Output::OnSuccess(STAT_LEN)),
        // Questions about a path, an identity or a limit: they never block,
        // and a compiler driver asks hundreds of them (make -j2: 300
        // access, 600 opens of include files that do not exist).
        nr::ACCESS => call(nr, a, path(0), 0, 0, Output::Nothing),
        nr::FACCESSAT | nr::FACCESSAT2 => call(nr, a, path(1), 0, 0, Output::Nothing),
        nr::GETUID | nr::GETGID | nr::GETEUID | nr::GETEGID => call(nr, a, nothing, 0, 0, Output::Nothing),
        nr::GETCWD => call(nr, a, nothing, a[0], output_bound(a[1] as usize), Output::ResultBytes),
        nr::UNAME => call(nr, a, nothing, a[0], UTSNAME_LEN, Output::OnSuccess(UTSNAME_LEN)),
        nr::SYSINFO => call(nr, a, nothing, a[0], SYSINFO_LEN, Output::OnSuccess(SYSINFO_LEN)),
        nr::GETRLIMIT => call(nr, a, nothing, a[1], RLIMIT_LEN, Output::OnSuccess(RLIMIT_LEN)),
        // Only a question (no new limit); the old one is written if asked.
        nr::PRLIMIT64 if a[2] == 0 && a[3] != 0 => call(nr, a, nothing, a[3], RLIMIT_LEN, Output::OnSuccess(RLIMIT_LEN)),
        nr::PRLIMIT64 if a[2] == 0 => call(nr, a, nothing, 0, 0, Output::Nothing),
        // isatty() and the window size: terminal questions that never wait.
        nr::IOCTL if a[1] == TCGETS => call(nr, a, nothing, a[2], TERMIOS_LEN, Output::OnSuccess(TERMIOS_LEN)),
        nr::IOCTL if a[1] == TIOCGWINSZ => call(nr, a, nothing, a[2], WINSIZE_LEN, Output::OnSuccess(WINSIZE_LEN)),
        // sched_getcpu asks for the cpu only (the rseq area that would
        // answer it is not registered under Scribe); a thread pool asks often.
        nr::GETCPU if a[0] != 0 && a[1] == 0 => call(nr, a, nothing, a[0], 4, Output::OnSuccess(4)),
        nr::GETCPU if a[0] == 0 && a[1] != 0 => call(nr, a, nothing, a[1], 4, Output::OnSuccess(4)),
        // Random bytes (malloc's and hash tables' seeds, once per process):
        // they never wait once the kernel's pool is ready, which it is
        // long before a program can be recorded; GRND_RANDOM stays traced.
        nr::GETRANDOM if a[2] & GRND_RANDOM == 0 => call(nr, a, nothing, a[0], output_bound(a[1] as usize), Output::ResultBytes),
        // Memory for malloc: the replay stub makes these for real, an mmap
        // at the address it got (see `scribe_bufabi::REPLAY_STUB`).
        nr::BRK => call(nr, a, nothing, 0, 0, Output::Nothing),
        // The signals pending: a question (see `sigprocmask_raw`).
        nr::RT_SIGPENDING if a[1] == u64::from(SIGSET_LEN) => call(nr, a, nothing, a[0], SIGSET_LEN, Output::OnSuccess(SIGSET_LEN)),
        nr::MMAP if plain_anonymous_memory(a[3]) => call(nr, a, nothing, 0, 0, Output::Nothing),
        // Readiness asked without waiting: an event loop with work to do
        // asks between its callbacks. (With a signal mask, epoll_pwait
        // could run a handler the mask lets through: it stops.)
        nr::POLL if a[2] as i32 == 0 => {
            let len = output_bound((a[1] as usize).saturating_mul(POLLFD_LEN));
            call(nr, a, nothing, a[0], len, Output::UnlessFailed(len))
        }
        nr::EPOLL_WAIT | nr::EPOLL_PWAIT if a[3] as i32 == 0 && (nr == nr::EPOLL_WAIT || a[4] == 0) => {
            let len = output_bound((a[2] as i32).max(0) as usize * EPOLL_EVENT_LEN as usize);
            call(nr, a, nothing, a[1], len, Output::PerResult(EPOLL_EVENT_LEN))
        }
        _ => return None,
    })
}

/// Whether mmap `flags` ask for private anonymous memory and nothing more
/// (no stack that grows down, no huge or locked pages): what replay makes
/// again at the recorded address with MAP_FIXED. Shared memory stays
/// traced, since Scribe follows who shares it.
fn plain_anonymous_memory(flags: u64) -> bool {
    const MAP_TYPE: u64 = 0x0f;
    const MAP_PRIVATE: u64 = 0x02;
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    const MAP_NORESERVE: u64 = 0x4000;
    const MAP_POPULATE: u64 = 0x8000;
    const MAP_STACK: u64 = 0x20000;
    const MAP_FIXED_NOREPLACE: u64 = 0x100000;
    const PLAIN: u64 = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_STACK | MAP_FIXED_NOREPLACE;
    flags & MAP_TYPE == MAP_PRIVATE && flags & MAP_ANONYMOUS != 0 && flags & !PLAIN == 0
}

/// `rt_sigprocmask`: one that unblocks signals (`SIG_UNBLOCK`, or
/// `SIG_SETMASK`) is buffered when no signal is pending, so that it cannot
/// release one: a buffered `rt_sigpending` asks first. A shell unblocks
/// five times around each subshell, two stops each. Replay's stub makes
/// the buffered unblock for real (`abi::executed`), since its signal
/// deliveries depend on the mask. A signal pending by then, or one Scribe
/// holds for the task (the buffer's next call stops), makes the unblock
/// stop, a sync point where it is delivered; one arriving between the two
/// calls is delivered at the next stop, as if it had come just after.
/// Blocks and questions are made traced as before (at level 0 the filter
/// lets them through).
unsafe fn sigprocmask_raw(args: [u64; 6]) -> i64 {
    const SIG_BLOCK: u64 = 0;
    const SIG_SETMASK: u64 = 2;
    let [how, set, old, size, ..] = args;
    if how == SIG_BLOCK || how > SIG_SETMASK || set == 0 || size != u64::from(SIGSET_LEN) {
        return traced(nr::RT_SIGPROCMASK, args);
    }
    let mut pending: u64 = 0;
    let addr = &mut pending as *mut u64 as u64;
    let asked = plain_call(nr::RT_SIGPENDING, [addr, size, 0, 0, 0, 0]).and_then(|ask| buffered(&ask));
    if asked != Some(0) || core::ptr::read_volatile(&pending) != 0 {
        return traced(nr::RT_SIGPROCMASK, args);
    }
    let out_max = if old == 0 { 0 } else { SIGSET_LEN };
    run_raw(call(nr::RT_SIGPROCMASK, args, core::ptr::null(), old, out_max, Output::OnSuccess(out_max)))
}

/// Makes syscall `nr` through the buffer when [`plain_call`] knows how,
/// else traced; the kernel's result.
unsafe fn plain_raw(nr: u32, args: [u64; 6]) -> i64 {
    match plain_call(nr, args) {
        Some(c) => run_raw(c),
        None => traced(nr, args),
    }
}

unsafe extern "C" fn lseek_impl(fd: i32, offset: i64, whence: i32) -> i64 {
    errno_result(plain_raw(nr::LSEEK, [fd as u64, offset as u64, whence as u64, 0, 0, 0]))
}

unsafe fn fstatat_call(dirfd: u64, path: *const u8, buf: *mut u8, flags: u64) -> i64 {
    errno_result(plain_raw(nr::NEWFSTATAT, [dirfd, path as u64, buf as u64, flags, 0, 0]))
}

unsafe extern "C" fn stat_impl(path: *const u8, buf: *mut u8) -> i64 {
    fstatat_call(AT_FDCWD, path, buf, 0)
}

unsafe extern "C" fn lstat_impl(path: *const u8, buf: *mut u8) -> i64 {
    fstatat_call(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW)
}

unsafe extern "C" fn fstatat_impl(dirfd: i32, path: *const u8, buf: *mut u8, flags: i32) -> i64 {
    fstatat_call(dirfd as i64 as u64, path, buf, flags as u64)
}

unsafe extern "C" fn fstat_impl(fd: i32, buf: *mut u8) -> i64 {
    errno_result(plain_raw(nr::FSTAT, [fd as u64, buf as u64, 0, 0, 0, 0]))
}

unsafe extern "C" fn statx_impl(dirfd: i32, path: *const u8, flags: i32, mask: u32, buf: *mut u8) -> i64 {
    errno_result(plain_raw(nr::STATX, [dirfd as i64 as u64, path as u64, flags as u64, u64::from(mask), buf as u64, 0]))
}

unsafe fn getxattr_call(nr: u32, target: u64, path: *const u8, name: *const u8, value: *mut u8, size: usize) -> i64 {
    let args = [target, name as u64, value as u64, size as u64, 0, 0];
    let out_max = if value.is_null() { 0 } else { output_bound(size) };
    errno_result(run_raw(call(nr, args, path, value as u64, out_max, Output::ResultBytesIfSized(3))))
}

unsafe extern "C" fn getxattr_impl(path: *const u8, name: *const u8, value: *mut u8, size: usize) -> i64 {
    getxattr_call(nr::GETXATTR, path as u64, path, name, value, size)
}

unsafe extern "C" fn lgetxattr_impl(path: *const u8, name: *const u8, value: *mut u8, size: usize) -> i64 {
    getxattr_call(nr::LGETXATTR, path as u64, path, name, value, size)
}

unsafe extern "C" fn fgetxattr_impl(fd: i32, name: *const u8, value: *mut u8, size: usize) -> i64 {
    getxattr_call(nr::FGETXATTR, fd as u64, core::ptr::null(), name, value, size)
}

unsafe fn listxattr_call(nr: u32, target: u64, path: *const u8, list: *mut u8, size: usize) -> i64 {
    let args = [target, list as u64, size as u64, 0, 0, 0];
    let out_max = if list.is_null() { 0 } else { output_bound(size) };
    errno_result(run_raw(call(nr, args, path, list as u64, out_max, Output::ResultBytesIfSized(2))))
}

unsafe extern "C" fn listxattr_impl(path: *const u8, list: *mut u8, size: usize) -> i64 {
    listxattr_call(nr::LISTXATTR, path as u64, path, list, size)
}

unsafe extern "C" fn llistxattr_impl(path: *const u8, list: *mut u8, size: usize) -> i64 {
    listxattr_call(nr::LLISTXATTR, path as u64, path, list, size)
}

unsafe extern "C" fn flistxattr_impl(fd: i32, list: *mut u8, size: usize) -> i64 {
    listxattr_call(nr::FLISTXATTR, fd as u64, core::ptr::null(), list, size)
}

unsafe extern "C" fn readlink_impl(path: *const u8, buf: *mut u8, size: usize) -> i64 {
    errno_result(plain_raw(nr::READLINK, [path as u64, buf as u64, size as u64, 0, 0, 0]))
}

unsafe extern "C" fn readlink_chk_impl(path: *const u8, buf: *mut u8, size: usize, buflen: usize) -> i64 {
    if size > buflen {
        __chk_fail();
    }
    readlink_impl(path, buf, size)
}

unsafe extern "C" fn readlinkat_impl(dirfd: i32, path: *const u8, buf: *mut u8, size: usize) -> i64 {
    errno_result(plain_raw(nr::READLINKAT, [dirfd as i64 as u64, path as u64, buf as u64, size as u64, 0, 0]))
}

unsafe extern "C" fn clock_gettime_impl(clock: i32, tp: *mut u8) -> i64 {
    errno_result(plain_raw(nr::CLOCK_GETTIME, [clock as i64 as u64, tp as u64, 0, 0, 0, 0]))
}

unsafe extern "C" fn gettimeofday_impl(tv: *mut u8, tz: *mut u8) -> i64 {
    errno_result(plain_raw(nr::GETTIMEOFDAY, [tv as u64, tz as u64, 0, 0, 0, 0]))
}

unsafe extern "C" fn time_impl(tloc: *mut i64) -> i64 {
    // Asked without tloc; *tloc gets the result here, as the kernel would.
    let result = errno_result(plain_raw(nr::TIME, [0; 6]));
    if result >= 0 && !tloc.is_null() {
        *tloc = result;
    }
    result
}

unsafe extern "C" fn getpid_impl() -> i64 {
    errno_result(plain_raw(nr::GETPID, [0; 6]))
}

unsafe extern "C" fn getppid_impl() -> i64 {
    errno_result(plain_raw(nr::GETPPID, [0; 6]))
}

unsafe extern "C" fn gettid_impl() -> i64 {
    errno_result(plain_raw(nr::GETTID, [0; 6]))
}

// libc makes these four without an error check after the `syscall` (they
// cannot fail), so its sites are not patched: the names are defined here.
unsafe extern "C" fn getuid_impl() -> i64 {
    plain_raw(nr::GETUID, [0; 6])
}

unsafe extern "C" fn getgid_impl() -> i64 {
    plain_raw(nr::GETGID, [0; 6])
}

unsafe extern "C" fn geteuid_impl() -> i64 {
    plain_raw(nr::GETEUID, [0; 6])
}

unsafe extern "C" fn getegid_impl() -> i64 {
    plain_raw(nr::GETEGID, [0; 6])
}

/// `openat`, buffered when it can be (see [`openat_made`]).
unsafe fn openat_call(dirfd: i32, path: *const u8, flags: i32, mode: u32, slow: Slow) -> i64 {
    let fd = openat_made(dirfd, path, flags, mode, slow);
    // A new descriptor: nothing kept for its number can be about it.
    keep_kind(fd, None);
    fd
}

/// Opens never block on regular files and directories (FIFOs and devices
/// can): those are buffered, and so are the creation of a missing file and
/// the failure to open one.
unsafe fn openat_made(dirfd: i32, path: *const u8, flags: i32, mode: u32, slow: Slow) -> i64 {
    const O_CREAT: i32 = 0o100;
    const O_NOFOLLOW: i32 = 0o400000;
    const O_TMPFILE: i32 = 0o20200000;
    const ENOENT: i64 = -2;
    let mode = if flags & O_CREAT != 0 || flags & O_TMPFILE == O_TMPFILE { mode } else { 0 };
    let args = [dirfd as i64 as u64, path as u64, flags as u64, u64::from(mode), 0, 0];
    if path.is_null() || flags & O_TMPFILE == O_TMPFILE || names_descriptor(path) {
        return slow.call(nr::OPENAT, args);
    }
    let stat_flags = if flags & O_NOFOLLOW != 0 { AT_SYMLINK_NOFOLLOW } else { 0 };
    let (safe, missing) = match file_type(dirfd, path, stat_flags) {
        Ok(kind) => (kind == S_IFREG || kind == S_IFDIR, false),
        Err(ENOENT) => (flags & O_CREAT != 0, flags & O_CREAT == 0),
        Err(_) => (false, false),
    };
    if safe {
        return run_raw(call(nr::OPENAT, args, path, 0, 0, Output::Nothing));
    }
    if missing {
        // The open can only fail as the stat did (a compiler looks for each
        // header in every include directory). It is answered by the same
        // stat again rather than made, so that a file created meanwhile (a
        // FIFO would block) is not opened here: that stat succeeds, and the
        // open is made traced.
        let mut scratch = [0u8; STAT_LEN as usize];
        let stat_args = [dirfd as i64 as u64, path as u64, scratch.as_mut_ptr() as u64, stat_flags, 0, 0];
        let mut c = call(nr::OPENAT, args, path, 0, 0, Output::Nothing);
        c.made = Some((nr::NEWFSTATAT, stat_args));
        c.retry_traced_on = [0, NEVER];
        return run_raw(c);
    }
    slow.call(nr::OPENAT, args)
}

/// Whether `path` opens one of the process's descriptors again
/// (`/dev/stdout`, `/proc/self/fd/1`...): Scribe must see that open, since
/// the new descriptor may be the standard output, whose writes it shows
/// on replay.
unsafe fn names_descriptor(path: *const u8) -> bool {
    if *path != b'/' || !matches!(*path.add(1), b'd' | b'p') {
        return false;
    }
    match c_len(path, 40) {
        Some(len) => abi::descriptor_named_by(core::slice::from_raw_parts(path, len as usize - 1)).is_some(),
        None => false,
    }
}

unsafe extern "C" fn open_impl(path: *const u8, flags: i32, mode: u32) -> i64 {
    pthread_testcancel();
    errno_result(openat_call(AT_FDCWD as i32, path, flags, mode, Slow::Cancellable))
}

unsafe extern "C" fn open_2_impl(path: *const u8, flags: i32) -> i64 {
    pthread_testcancel();
    errno_result(openat_call(AT_FDCWD as i32, path, flags, 0, Slow::Cancellable))
}

unsafe extern "C" fn openat_impl(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i64 {
    pthread_testcancel();
    errno_result(openat_call(dirfd, path, flags, mode, Slow::Cancellable))
}

unsafe extern "C" fn openat_2_impl(dirfd: i32, path: *const u8, flags: i32) -> i64 {
    pthread_testcancel();
    errno_result(openat_call(dirfd, path, flags, 0, Slow::Cancellable))
}

/// Closing a regular file, a directory or a pipe never blocks (a socket
/// may linger). A pipe's close is named like its reads and writes: the
/// last writer's close is what ends a reader's wait, which replay orders by
/// the pipe's serial (a shell's subshell closed four pipe ends, each with
/// two stops).
unsafe fn close_raw(fd: i32, slow: Slow) -> i64 {
    let args = [fd as u64, 0, 0, 0, 0, 0];
    if is_std_output(fd) {
        // Scribe follows which descriptors are the standard outputs at stops.
        return slow.call(nr::CLOSE, args);
    }
    let result = match fd_kind(fd) {
        FdKind::Regular | FdKind::Proc | FdKind::Directory => run_raw(call(nr::CLOSE, args, core::ptr::null(), 0, 0, Output::Nothing)),
        FdKind::Pipe(inode) => {
            let mut c = call(nr::CLOSE, args, core::ptr::null(), 0, 0, Output::Nothing);
            c.pipe = inode;
            run_raw(c)
        }
        _ => slow.call(nr::CLOSE, args),
    };
    keep_kind(i64::from(fd), None);
    result
}

unsafe extern "C" fn close_impl(fd: i32) -> i64 {
    pthread_testcancel();
    errno_result(close_raw(fd, Slow::Cancellable))
}

/// Reading a directory never blocks.
unsafe fn getdents64_raw(fd: i32, dirp: *mut u8, count: usize) -> i64 {
    let args = [fd as u64, dirp as u64, count as u64, 0, 0, 0];
    if count as u64 <= u64::from(abi::MAX_OUTPUT) && fd_kind(fd) == FdKind::Directory {
        return run_raw(call(nr::GETDENTS64, args, core::ptr::null(), dirp as u64, count as u32, Output::ResultBytes));
    }
    traced(nr::GETDENTS64, args)
}

/// The fcntl commands that neither block nor write memory: descriptor
/// flags, status flags, duplication. (Locks may wait; F_GETLK and friends
/// write a struct.)
unsafe fn fcntl_raw(fd: i32, cmd: i32, arg: u64, slow: Slow) -> i64 {
    const F_DUPFD: i32 = 0;
    const F_GETFD: i32 = 1;
    const F_SETFD: i32 = 2;
    const F_GETFL: i32 = 3;
    const F_SETFL: i32 = 4;
    const F_DUPFD_CLOEXEC: i32 = 1030;
    const F_SETLKW: i32 = 7;
    const F_OFD_SETLKW: i32 = 38;
    let args = [fd as u64, cmd as u64, arg, 0, 0, 0];
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC if is_std_output(fd) => traced(nr::FCNTL, args),
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let kind = kept_kind(fd);
            let result = run_raw(call(nr::FCNTL, args, core::ptr::null(), 0, 0, Output::Nothing));
            keep_kind(result, kind.filter(|_| result >= 0));
            result
        }
        F_GETFD | F_SETFD | F_GETFL | F_SETFL => run_raw(call(nr::FCNTL, args, core::ptr::null(), 0, 0, Output::Nothing)),
        // Waiting for a lock is fcntl's only cancellation point.
        F_SETLKW | F_OFD_SETLKW => slow.call(nr::FCNTL, args),
        _ => traced(nr::FCNTL, args),
    }
}

unsafe extern "C" fn fcntl_impl(fd: i32, cmd: i32, arg: u64) -> i64 {
    errno_result(fcntl_raw(fd, cmd, arg, Slow::Cancellable))
}

// ---- exported entry points ----

/// Defines an exported libc name that calls `$imp` and then clears every
/// scratch register but rax, so the caller sees the same registers whether
/// the call was recorded or replayed.
macro_rules! export {
    ($($name:ident => $imp:ident;)*) => {$(
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name() {
            // Described for the unwinder: a thread cancelled in the call
            // unwinds through here into the program's frames.
            naked_asm!(
                ".cfi_startproc",
                "sub rsp, 8",
                ".cfi_adjust_cfa_offset 8",
                "call {imp}",
                "add rsp, 8",
                ".cfi_adjust_cfa_offset -8",
                "xor ecx, ecx",
                "xor edx, edx",
                "xor esi, esi",
                "xor edi, edi",
                "xor r8d, r8d",
                "xor r9d, r9d",
                "xor r10d, r10d",
                "xor r11d, r11d",
                "ret",
                ".cfi_endproc",
                imp = sym $imp,
            )
        }
    )*};
}

export! {
    read => read_impl;
    write => write_impl;
    __write => write_impl;
    pwrite => pwrite_impl;
    pwrite64 => pwrite_impl;
    __pwrite64 => pwrite_impl;
    __read_chk => read_chk_impl;
    pread => pread_impl;
    pread64 => pread_impl;
    __pread64_chk => pread_chk_impl;
    __pread_chk => pread_chk_impl;
    lseek => lseek_impl;
    lseek64 => lseek_impl;
    stat => stat_impl;
    stat64 => stat_impl;
    lstat => lstat_impl;
    lstat64 => lstat_impl;
    fstat => fstat_impl;
    fstat64 => fstat_impl;
    fstatat => fstatat_impl;
    fstatat64 => fstatat_impl;
    statx => statx_impl;
    getxattr => getxattr_impl;
    lgetxattr => lgetxattr_impl;
    fgetxattr => fgetxattr_impl;
    listxattr => listxattr_impl;
    llistxattr => llistxattr_impl;
    flistxattr => flistxattr_impl;
    readlink => readlink_impl;
    __readlink_chk => readlink_chk_impl;
    readlinkat => readlinkat_impl;
    clock_gettime => clock_gettime_impl;
    gettimeofday => gettimeofday_impl;
    time => time_impl;
    getpid => getpid_impl;
    getppid => getppid_impl;
    gettid => gettid_impl;
    getuid => getuid_impl;
    getgid => getgid_impl;
    geteuid => geteuid_impl;
    getegid => getegid_impl;
    open => open_impl;
    open64 => open_impl;
    __open_2 => open_2_impl;
    __open64_2 => open_2_impl;
    openat => openat_impl;
    openat64 => openat_impl;
    __openat_2 => openat_2_impl;
    __openat64_2 => openat_2_impl;
    close => close_impl;
    fcntl => fcntl_impl;
    fcntl64 => fcntl_impl;
    __fcntl => fcntl_impl;
}

// ---- libc's own syscall instructions ----
//
// libc makes most of its syscalls itself (stdio's reads, opendir's openat
// and fstat, readdir's getdents64, closedir's close), not through the
// exported names above. At start the library patches libc's syscall sites:
// a site is a `syscall` followed by libc's usual error check (`cmp rax,
// -4096`, `cmp rax, -4095` or `cmp eax, -4096`), which also means the flags
// are dead there. Sites that set a number just before (`mov eax, NR`, `xor
// eax, eax`) are patched only for the calls `hook_dispatch` buffers; sites
// whose number comes from elsewhere are patched too. The syscall and the
// check are replaced by a jump to a stub:
//
//   cmp rax, 512; jae inline; bt [hooked], rax; jnc inline
//   lea rsp, [rsp-128]; call hook_entry; lea rsp, [rsp+128]
//   lea rcx, [after the site's syscall]; jmp check
//   inline: syscall            (any other call, made right here)
//   check: <the site's check>; jmp back
//
// so a call `hook_dispatch` does not buffer (clone with a new stack among
// them) runs as a plain syscall from the stub. Replay runs the same
// patching on the same bytes, so both runs execute the same code. The stubs
// go in pages mapped next to libc (rel32 jumps must reach them).

/// The syscalls `hook_dispatch` handles.
const HOOKED: [u32; 46] = [
    nr::RT_SIGPROCMASK,
    nr::RT_SIGPENDING,
    nr::PSELECT6,
    nr::POLL,
    nr::EPOLL_WAIT,
    nr::EPOLL_PWAIT,
    nr::RECVFROM,
    nr::SENDTO,
    nr::READ,
    nr::WRITE,
    nr::PWRITE64,
    nr::CLOSE,
    nr::FSTAT,
    nr::LSEEK,
    nr::PREAD64,
    nr::FCNTL,
    nr::GETDENTS64,
    nr::OPENAT,
    nr::NEWFSTATAT,
    nr::STATX,
    nr::READLINK,
    nr::READLINKAT,
    nr::CLOCK_GETTIME,
    nr::GETPID,
    nr::GETPPID,
    nr::GETTID,
    nr::TIME,
    nr::STAT,
    nr::LSTAT,
    nr::IOCTL,
    nr::ACCESS,
    nr::UNAME,
    nr::GETCWD,
    nr::GETRLIMIT,
    nr::SYSINFO,
    nr::GETUID,
    nr::GETGID,
    nr::GETEUID,
    nr::GETEGID,
    nr::FACCESSAT,
    nr::PRLIMIT64,
    nr::FACCESSAT2,
    nr::GETCPU,
    nr::GETRANDOM,
    nr::MMAP,
    nr::BRK,
];

/// A hooked syscall made by libc: buffered when it can be, else traced.
/// Returns what the kernel would (a negative errno on failure).
unsafe extern "C" fn hook_dispatch(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let args = [a0, a1, a2, a3, a4, a5];
    match nr as u32 {
        nr::READ => read_raw(a0 as i32, a1 as *mut u8, a2 as usize, Slow::Traced),
        nr::PREAD64 => pread_raw(a0 as i32, a1 as *mut u8, a2 as usize, a3 as i64, Slow::Traced),
        nr::WRITE => write_raw(a0 as i32, a1 as *const u8, a2 as usize, None, Slow::Traced),
        nr::PWRITE64 => write_raw(a0 as i32, a1 as *const u8, a2 as usize, Some(a3 as i64), Slow::Traced),
        nr::CLOSE => close_raw(a0 as i32, Slow::Traced),
        nr::GETDENTS64 => getdents64_raw(a0 as i32, a1 as *mut u8, a2 as usize),
        nr::PSELECT6 => pselect_raw(args),
        nr::OPENAT => openat_call(a0 as i32, a1 as *const u8, a2 as i32, a3 as u32, Slow::Traced),
        nr::FCNTL => fcntl_raw(a0 as i32, a1 as i32, a2, Slow::Traced),
        nr::RT_SIGPROCMASK => sigprocmask_raw(args),
        // recv and send: recvfrom and sendto without an address.
        nr::RECVFROM if a4 == 0 && a2 <= u64::from(abi::MAX_OUTPUT) && fd_kind(a0 as i32) == FdKind::Socket => {
            let c = call(nr::RECVFROM, args, core::ptr::null(), a1, a2 as u32, Output::ResultBytes);
            socket_call(c, true, a1, a2 as usize, a3).unwrap_or_else(|| traced(nr::RECVFROM, args))
        }
        nr::SENDTO if a4 == 0 && fd_kind(a0 as i32) == FdKind::Socket => send_raw(a0 as i32, a1 as *const u8, a2 as usize, a3),
        other => plain_raw(other, args),
    }
}

/// What a stub calls: the registers are those of the `syscall` instruction
/// (rax the number, then rdi, rsi, rdx, r10, r8, r9). On return rax holds
/// the result and every other register is as before, but r11, which holds
/// the flags as the kernel leaves it (the stub sets rcx). The vector
/// registers are saved around the Rust code.
#[unsafe(naked)]
unsafe extern "C" fn hook_entry() {
    naked_asm!(
        "pushfq",
        "push rbp",
        "push rdi",
        "push rsi",
        "push rdx",
        "push r8",
        "push r9",
        "push r10",
        "mov rbp, rsp",
        "and rsp, -16",
        "sub rsp, 512",
        "fxsave64 [rsp]",
        "sub rsp, 16",
        "mov [rsp], r9",
        "mov r9, r8",
        "mov r8, r10",
        "mov rcx, rdx",
        "mov rdx, rsi",
        "mov rsi, rdi",
        "mov rdi, rax",
        "call {dispatch}",
        "add rsp, 16",
        "fxrstor64 [rsp]",
        "mov rsp, rbp",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rdx",
        "pop rsi",
        "pop rdi",
        "pop rbp",
        "mov r11, [rsp]",
        "popfq",
        "ret",
        dispatch = sym hook_dispatch,
    )
}

#[repr(C)]
struct DlPhdrInfo {
    addr: u64,
    name: *const u8,
    phdr: *const Phdr,
    phnum: u16,
}

#[repr(C)]
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

extern "C" {
    fn dl_iterate_phdr(cb: unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut u64) -> i32, data: *mut u64) -> i32;
}

/// Finds libc's executable segment: `out` gets its start and end.
unsafe extern "C" fn find_libc(info: *mut DlPhdrInfo, _size: usize, out: *mut u64) -> i32 {
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    let info = &*info;
    if info.name.is_null() {
        return 0;
    }
    let name_len = c_len(info.name, 4096).unwrap_or(0) as usize;
    let name = core::slice::from_raw_parts(info.name, name_len.saturating_sub(1));
    if !name.ends_with(b"/libc.so.6") {
        return 0;
    }
    for i in 0..usize::from(info.phnum) {
        let ph = &*info.phdr.add(i);
        if ph.p_type == PT_LOAD && ph.p_flags & PF_X != 0 {
            *out = info.addr + ph.p_vaddr;
            *out.add(1) = info.addr + ph.p_vaddr + ph.p_memsz;
            return 1;
        }
    }
    0
}

/// Length of the error check at `code`, if it is one of libc's.
fn error_check(code: &[u8]) -> Option<usize> {
    const CHECKS: [&[u8]; 3] =
        [&[0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff], &[0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff], &[0x3d, 0x00, 0xf0, 0xff, 0xff]];
    CHECKS.iter().find(|c| code.starts_with(c)).map(|c| c.len())
}

/// The syscall number a site sets just before its `syscall`, if it does.
fn site_number(before: &[u8]) -> Option<u32> {
    let n = before.len();
    if n >= 2 && before[n - 2..] == [0x31, 0xc0] {
        return Some(0);
    }
    if n >= 5 && before[n - 5] == 0xb8 {
        return Some(u32::from_le_bytes([before[n - 4], before[n - 3], before[n - 2], before[n - 1]]));
    }
    None
}

/// `ret`, which ends libc's calls that cannot fail right after the syscall.
const RET: u8 = 0xc3;

/// Hooked calls whose libc sites check nothing (`mov eax, NR; syscall; ret`).
const NO_CHECK_SITES: [u32; 7] =
    [nr::GETUID, nr::GETGID, nr::GETEUID, nr::GETEGID, nr::GETPID, nr::GETPPID, nr::GETTID];

/// Room for the stubs: pages mapped once, next to libc.
const STUB_PAGES: u64 = 8;
/// Bytes of each stub (see the layout above), rounded up.
const STUB_LEN: usize = 64;
/// The bitmap of hooked numbers (512 bits) at the start of the stub pages.
const BITMAP_LEN: usize = 64;
/// At most this many sites are patched.
const MAX_SITES: usize = (STUB_PAGES as usize * 4096 - BITMAP_LEN) / STUB_LEN;

/// A stub being written: its bytes, how many, and where it will live.
struct StubWriter {
    bytes: [u8; STUB_LEN],
    len: usize,
    base: u64,
}

impl StubWriter {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `opcode` and a rel32 to `target`, relative to the end of
    /// the instruction; `None` if it does not reach.
    fn put_rel(&mut self, opcode: &[u8], target: u64) -> Option<()> {
        let end = self.base + (self.len + opcode.len() + 4) as u64;
        let rel = i32::try_from(target as i64 - end as i64).ok()?;
        self.put(opcode);
        self.put(&rel.to_le_bytes());
        Some(())
    }
}

/// Encodes the stub for a site at `at` (the syscall) whose check is `check`,
/// placed at `stub`, with the bitmap at `bitmap`; `None` if a jump does not
/// reach. `before` is the instruction just before the syscall when the
/// patch starts there (it is made first in the stub).
fn encode_stub(at: u64, before: &[u8], check: &[u8], stub: u64, bitmap: u64, hook: u64) -> Option<[u8; STUB_LEN]> {
    let mut w = StubWriter { bytes: [0xcc; STUB_LEN], len: 0, base: stub };
    w.put(before);
    // cmp rax, 512; jae inline (its offset is set below)
    w.put(&[0x48, 0x3d, 0x00, 0x02, 0x00, 0x00, 0x73, 0x00]);
    let jae_at = w.len - 1;
    // bt [rip+bitmap], rax; jnc inline
    w.put_rel(&[0x48, 0x0f, 0xa3, 0x05], bitmap)?;
    w.put(&[0x73, 0x00]);
    let jnc_at = w.len - 1;
    // lea rsp, [rsp-128] (clear of the red zone); call; lea rsp, [rsp+128]
    w.put(&[0x48, 0x8d, 0x64, 0x24, 0x80]);
    w.put_rel(&[0xe8], hook)?;
    w.put(&[0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00]);
    // lea rcx, [rip+...]: the address after the site's syscall, as the
    // kernel leaves it; then jump over the inline syscall to the check.
    w.put_rel(&[0x48, 0x8d, 0x0d], at + 2)?;
    w.put(&[0xeb, 0x02]);
    let inline = w.len;
    w.put(&[0x0f, 0x05]);
    w.put(check);
    w.put_rel(&[0xe9], at + 2 + check.len() as u64)?;
    w.bytes[jae_at] = (inline - (jae_at + 1)) as u8;
    w.bytes[jnc_at] = (inline - (jnc_at + 1)) as u8;
    Some(w.bytes)
}

/// The index of the first `syscall` (`0f 05`) in `code` at or after `from`.
///
/// This scan of libc's 1.4 MB of code runs at every process start: 32
/// bytes a step with SSE2 takes about 0.07 ms where 8 bytes a step with
/// general registers took 0.25 ms (and a byte loop 2 ms). Not libc's
/// memchr: its AVX-512 registers made the state the dynamic linker saves
/// on the stack (xsavec) differ between recording and replay, and with it
/// the bookmark memory digests; SSE2 registers are in use in every
/// program already (libc's string functions use them).
fn next_syscall(code: &[u8], from: usize) -> Option<usize> {
    use core::arch::x86_64::{__m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    const STEP: usize = 32;
    let mut i = from;
    // SAFETY: SSE2 is part of x86-64's baseline; each unaligned load reads
    // 16 bytes inside `code[i..i + STEP + 1]`, which the loop bound keeps
    // in the slice.
    unsafe {
        let first = _mm_set1_epi8(0x0f);
        let second = _mm_set1_epi8(0x05);
        while i + STEP < code.len() {
            let at = code.as_ptr().add(i);
            let load = |k: usize| _mm_loadu_si128(at.add(k).cast::<__m128i>());
            let low = _mm_and_si128(_mm_cmpeq_epi8(load(0), first), _mm_cmpeq_epi8(load(1), second));
            let high = _mm_and_si128(_mm_cmpeq_epi8(load(16), first), _mm_cmpeq_epi8(load(17), second));
            let hits = (_mm_movemask_epi8(low) as u32) | ((_mm_movemask_epi8(high) as u32) << 16);
            if hits != 0 {
                return Some(i + hits.trailing_zeros() as usize);
            }
            i += STEP;
        }
    }
    abi::next_syscall(code, i)
}

/// Patches libc's syscall sites (see above). Does nothing when libc or room
/// for the stubs cannot be found.
unsafe fn patch_libc() {
    let mut text = [0u64; 2];
    if dl_iterate_phdr(find_libc, text.as_mut_ptr()) == 0 || text[1] <= text[0] + 16 {
        return;
    }
    let (start, end) = (text[0], text[1]);
    let code = core::slice::from_raw_parts(start as *const u8, (end - start) as usize);
    const PAGE: u64 = 4096;
    const PROT_RW: u64 = 3;
    const PROT_RX: u64 = 5;
    const PROT_RWX: u64 = 7;
    const MAP_PRIVATE_ANON_FIXED_NOREPLACE: u64 = 0x02 | 0x20 | 0x100000;
    // Pages below libc, within reach of a rel32 jump.
    let base = start & !(PAGE - 1);
    let mut stubs = 0;
    for k in 1..64u64 {
        let want = base.wrapping_sub(k << 20);
        let got = traced(nr::MMAP, [want, STUB_PAGES * PAGE, PROT_RW, MAP_PRIVATE_ANON_FIXED_NOREPLACE, u64::MAX, 0]);
        if got as u64 == want {
            stubs = want;
            break;
        }
    }
    if stubs == 0 {
        return;
    }
    let bitmap = stubs;
    for nr in HOOKED {
        let byte = (bitmap + u64::from(nr / 8)) as *mut u8;
        *byte |= 1 << (nr % 8);
    }
    let hook = hook_entry as *const () as u64;
    let text_start = start & !(PAGE - 1);
    let text_len = (end - text_start + PAGE - 1) & !(PAGE - 1);
    if traced(nr::MPROTECT, [text_start, text_len, PROT_RWX, 0, 0, 0]) != 0 {
        traced(nr::MUNMAP, [stubs, STUB_PAGES * PAGE, 0, 0, 0, 0]);
        return;
    }
    let mut count = 0;
    // A site may start 5 bytes before its syscall (`mov eax, NR`).
    let mut i = 5;
    while i + 8 < code.len() && count < MAX_SITES {
        let Some(found) = next_syscall(code, i) else { break };
        i = found;
        if i + 8 >= code.len() {
            break;
        }
        let at = start + i as u64;
        let number = site_number(&code[i - 5..i]);
        let wanted = number.is_none_or(|nr| HOOKED.contains(&nr));
        // brk's site checks nothing after the syscall (libc compares the
        // new break with the one asked): it is patched from its `mov eax, 12`
        // (the only way `site_number` gives 12). So are the calls that
        // cannot fail, `mov eax, NR; syscall; ret` (getuid and the other
        // identities): libc's own callers (euidaccess: four per `access`
        // a shell makes to find a command) reach them, not our names.
        //
        // libc's rt_sigprocmask sites check errors their own way, or not
        // at all (pthread_create, fork, posix_spawn): they are patched
        // from their `mov eax, 14` too. No branch in libc targets one of
        // their `syscall` instructions (15 sites in glibc 2.36, checked
        // against objdump's direct jumps).
        let site = match error_check(&code[i + 2..]) {
            Some(check_len) => Some((0, check_len)),
            None if number == Some(nr::BRK) || number == Some(nr::RT_SIGPROCMASK) => Some((5, 0)),
            None if code[i + 2] == RET && number.is_some_and(|nr| NO_CHECK_SITES.contains(&nr)) => Some((5, 0)),
            None => None,
        };
        if let (true, Some((before_len, check_len))) = (wanted, site) {
            let stub = stubs + (BITMAP_LEN + count * STUB_LEN) as u64;
            let before = &code[i - before_len..i];
            let check = &code[i + 2..i + 2 + check_len];
            let patch_at = at - before_len as u64;
            let to_stub = i32::try_from(stub as i64 - (patch_at + 5) as i64).ok();
            if let (Some(bytes), Some(to_stub)) = (encode_stub(at, before, check, stub, bitmap, hook), to_stub) {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), stub as *mut u8, STUB_LEN);
                let mut jump = [0xccu8; 8];
                jump[0] = 0xe9;
                jump[1..5].copy_from_slice(&to_stub.to_le_bytes());
                core::ptr::copy_nonoverlapping(jump.as_ptr(), patch_at as *mut u8, before_len + 2 + check_len);
                count += 1;
            }
            i += 2 + check_len;
            continue;
        }
        i += 1;
    }
    traced(nr::MPROTECT, [text_start, text_len, PROT_RX, 0, 0, 0]);
    traced(nr::MPROTECT, [stubs, STUB_PAGES * PAGE, PROT_RX, 0, 0, 0]);
}
