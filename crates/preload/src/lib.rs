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

use core::sync::atomic::{AtomicBool, Ordering};

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
}

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const STAT_LEN: u32 = 144;
const STATX_LEN: u32 = 256;

/// Set once the region is mapped and Scribe accepted it.
static READY: AtomicBool = AtomicBool::new(false);

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

/// A syscall through the stub: untraced while recording, played from the
/// record while replaying.
unsafe fn untraced(nr: u32, a: [u64; 6]) -> i64 {
    let ret: i64;
    asm!(
        // The call pushes a return address: keep clear of the red zone.
        "sub rsp, 128",
        "call {stub}",
        "add rsp, 128",
        stub = in(reg) abi::REGION_START,
        inlateout("rax") u64::from(nr) as i64 => ret,
        inlateout("rdi") a[0] => _, inlateout("rsi") a[1] => _, in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
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
}

impl Output {
    fn len(self, result: i64, args: &[u64; 6]) -> u32 {
        match self {
            Output::Nothing => 0,
            Output::OnSuccess(len) => if result == 0 { len } else { 0 },
            Output::ResultBytes => if result > 0 { result as u32 } else { 0 },
            Output::ResultBytesIfSized(i) => if result > 0 && args[i] > 0 { result as u32 } else { 0 },
        }
    }
}

/// One call to buffer: `None` from [`buffered`] means "make it traced".
struct Call {
    nr: u32,
    args: [u64; 6],
    /// A path the kernel reads, copied into the record for people.
    input: *const u8,
    /// Where the kernel writes, and at most how much.
    out_addr: u64,
    out_max: u32,
    output: Output,
}

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
    let in_len = if call.input.is_null() { 0 } else { c_len(call.input, abi::MAX_INPUT)? };
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
    let rec = abi::RECORDS_ADDR + u64::from(used);
    let at = |offset: usize| rec + offset as u64;
    core::ptr::write_volatile(at(record::NR) as *mut u32, call.nr);
    for (i, arg) in call.args.iter().enumerate() {
        set_u64(at(record::ARGS + 8 * i), *arg);
    }
    set_u64(at(record::OUTPUT_ADDR), call.out_addr);
    core::ptr::write_volatile(at(record::INPUT_LEN) as *mut u32, in_len);
    set_u64(at(record::INPUT_ADDR), call.input as u64);
    if in_len > 0 {
        core::ptr::copy_nonoverlapping(call.input, at(record::LEN) as *mut u8, in_len as usize);
    }
    let output = at(record::LEN) + u64::from(abi::pad8(in_len));
    set_u64(abi::HEADER_ADDR + header::CURRENT, rec);
    set_u64(abi::HEADER_ADDR + header::CURRENT_OUTPUT, output);
    let result = untraced(call.nr, call.args);
    let out_len = call.output.len(result, &call.args).min(call.out_max);
    set_u64(at(record::RESULT), result as u64);
    core::ptr::write_volatile(at(record::OUTPUT_LEN) as *mut u32, out_len);
    if out_len > 0 {
        core::ptr::copy_nonoverlapping(call.out_addr as *const u8, output as *mut u8, out_len as usize);
    }
    let size = abi::record_size(in_len, out_len);
    core::ptr::write_volatile(at(record::SIZE) as *mut u32, size);
    set(header::USED, used + size);
    set(header::IN_LIB, 0);
    Some(result)
}

/// Buffers `call` if it can, else makes it traced; libc-style result.
unsafe fn run(call: Call) -> i64 {
    let result = match buffered(&call) {
        Some(result) => result,
        None => traced(call.nr, call.args),
    };
    errno_result(result)
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
    Call { nr, args, input, out_addr, out_max, output }
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// The file type bits of `fd`, or of `path` relative to `dirfd` when `path`
/// is not null, asked through the buffer (the answer is part of the
/// recording, so replay makes the same choice); `Err(result)` if the stat
/// failed or could not be buffered (`Err(0)`).
unsafe fn file_type(fd: i32, path: *const u8, flags: u64) -> Result<u32, i64> {
    let mut st = [0u64; STAT_LEN as usize / 8];
    let addr = st.as_mut_ptr() as u64;
    let c = if path.is_null() {
        call(nr::FSTAT, [fd as u64, addr, 0, 0, 0, 0], core::ptr::null(), addr, STAT_LEN, Output::OnSuccess(STAT_LEN))
    } else {
        let args = [fd as i64 as u64, path as u64, addr, flags, 0, 0];
        call(nr::NEWFSTATAT, args, path, addr, STAT_LEN, Output::OnSuccess(STAT_LEN))
    };
    match buffered(&c) {
        // st_mode is the u32 at offset 24.
        Some(0) => Ok((st[3] as u32) & S_IFMT),
        Some(err) => Err(err),
        None => Err(0),
    }
}

/// Whether `fd` is a regular file (see [`file_type`]).
unsafe fn is_regular_file(fd: i32) -> bool {
    file_type(fd, core::ptr::null(), 0) == Ok(S_IFREG)
}

// ---- implementations (C ABI, called by the exported shims) ----

unsafe extern "C" fn read_impl(fd: i32, buf: *mut u8, count: usize) -> i64 {
    let args = [fd as u64, buf as u64, count as u64, 0, 0, 0];
    if count as u64 <= u64::from(abi::MAX_OUTPUT) && is_regular_file(fd) {
        return run(call(nr::READ, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes));
    }
    errno_result(traced(nr::READ, args))
}

unsafe extern "C" fn read_chk_impl(fd: i32, buf: *mut u8, count: usize, buflen: usize) -> i64 {
    if count > buflen {
        __chk_fail();
    }
    read_impl(fd, buf, count)
}

unsafe extern "C" fn pread_impl(fd: i32, buf: *mut u8, count: usize, offset: i64) -> i64 {
    let args = [fd as u64, buf as u64, count as u64, offset as u64, 0, 0];
    if count as u64 <= u64::from(abi::MAX_OUTPUT) && is_regular_file(fd) {
        return run(call(nr::PREAD64, args, core::ptr::null(), buf as u64, count as u32, Output::ResultBytes));
    }
    errno_result(traced(nr::PREAD64, args))
}

unsafe extern "C" fn pread_chk_impl(fd: i32, buf: *mut u8, count: usize, offset: i64, buflen: usize) -> i64 {
    if count > buflen {
        __chk_fail();
    }
    pread_impl(fd, buf, count, offset)
}

unsafe extern "C" fn lseek_impl(fd: i32, offset: i64, whence: i32) -> i64 {
    run(call(nr::LSEEK, [fd as u64, offset as u64, whence as u64, 0, 0, 0], core::ptr::null(), 0, 0, Output::Nothing))
}

unsafe fn fstatat_call(dirfd: u64, path: *const u8, buf: *mut u8, flags: u64) -> i64 {
    let args = [dirfd, path as u64, buf as u64, flags, 0, 0];
    run(call(nr::NEWFSTATAT, args, path, buf as u64, STAT_LEN, Output::OnSuccess(STAT_LEN)))
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
    run(call(nr::FSTAT, [fd as u64, buf as u64, 0, 0, 0, 0], core::ptr::null(), buf as u64, STAT_LEN, Output::OnSuccess(STAT_LEN)))
}

unsafe extern "C" fn statx_impl(dirfd: i32, path: *const u8, flags: i32, mask: u32, buf: *mut u8) -> i64 {
    let args = [dirfd as i64 as u64, path as u64, flags as u64, u64::from(mask), buf as u64, 0];
    run(call(nr::STATX, args, path, buf as u64, STATX_LEN, Output::OnSuccess(STATX_LEN)))
}

unsafe fn getxattr_call(nr: u32, target: u64, path: *const u8, name: *const u8, value: *mut u8, size: usize) -> i64 {
    let args = [target, name as u64, value as u64, size as u64, 0, 0];
    let out_max = if value.is_null() { 0 } else { output_bound(size) };
    run(call(nr, args, path, value as u64, out_max, Output::ResultBytesIfSized(3)))
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
    run(call(nr, args, path, list as u64, out_max, Output::ResultBytesIfSized(2)))
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
    let args = [path as u64, buf as u64, size as u64, 0, 0, 0];
    let out_max = output_bound(size);
    run(call(nr::READLINK, args, path, buf as u64, out_max, Output::ResultBytes))
}

unsafe extern "C" fn readlink_chk_impl(path: *const u8, buf: *mut u8, size: usize, buflen: usize) -> i64 {
    if size > buflen {
        __chk_fail();
    }
    readlink_impl(path, buf, size)
}

unsafe extern "C" fn readlinkat_impl(dirfd: i32, path: *const u8, buf: *mut u8, size: usize) -> i64 {
    let args = [dirfd as i64 as u64, path as u64, buf as u64, size as u64, 0, 0];
    let out_max = output_bound(size);
    run(call(nr::READLINKAT, args, path, buf as u64, out_max, Output::ResultBytes))
}

unsafe extern "C" fn clock_gettime_impl(clock: i32, tp: *mut u8) -> i64 {
    let args = [clock as i64 as u64, tp as u64, 0, 0, 0, 0];
    run(call(nr::CLOCK_GETTIME, args, core::ptr::null(), tp as u64, 16, Output::OnSuccess(16)))
}

unsafe extern "C" fn gettimeofday_impl(tv: *mut u8, tz: *mut u8) -> i64 {
    let args = [tv as u64, tz as u64, 0, 0, 0, 0];
    if !tz.is_null() || tv.is_null() {
        return errno_result(traced(nr::GETTIMEOFDAY, args));
    }
    run(call(nr::GETTIMEOFDAY, args, core::ptr::null(), tv as u64, 16, Output::OnSuccess(16)))
}

unsafe extern "C" fn time_impl(tloc: *mut i64) -> i64 {
    // Asked without tloc; *tloc gets the result here, as the kernel would.
    let result = run(call(nr::TIME, [0; 6], core::ptr::null(), 0, 0, Output::Nothing));
    if result >= 0 && !tloc.is_null() {
        *tloc = result;
    }
    result
}

unsafe extern "C" fn getpid_impl() -> i64 {
    run(call(nr::GETPID, [0; 6], core::ptr::null(), 0, 0, Output::Nothing))
}

unsafe extern "C" fn getppid_impl() -> i64 {
    run(call(nr::GETPPID, [0; 6], core::ptr::null(), 0, 0, Output::Nothing))
}

unsafe extern "C" fn gettid_impl() -> i64 {
    run(call(nr::GETTID, [0; 6], core::ptr::null(), 0, 0, Output::Nothing))
}

/// Opens never block on regular files and directories (FIFOs and devices
/// can): those are buffered, and so is the creation of a missing file.
unsafe fn openat_call(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i64 {
    const O_CREAT: i32 = 0o100;
    const O_NOFOLLOW: i32 = 0o400000;
    const O_TMPFILE: i32 = 0o20200000;
    const ENOENT: i64 = -2;
    let mode = if flags & O_CREAT != 0 || flags & O_TMPFILE == O_TMPFILE { mode } else { 0 };
    let args = [dirfd as i64 as u64, path as u64, flags as u64, u64::from(mode), 0, 0];
    if path.is_null() || flags & O_TMPFILE == O_TMPFILE {
        return errno_result(traced(nr::OPENAT, args));
    }
    let stat_flags = if flags & O_NOFOLLOW != 0 { AT_SYMLINK_NOFOLLOW } else { 0 };
    let safe = match file_type(dirfd, path, stat_flags) {
        Ok(kind) => kind == S_IFREG || kind == S_IFDIR,
        Err(ENOENT) => flags & O_CREAT != 0,
        Err(_) => false,
    };
    if safe {
        return run(call(nr::OPENAT, args, path, 0, 0, Output::Nothing));
    }
    errno_result(traced(nr::OPENAT, args))
}

unsafe extern "C" fn open_impl(path: *const u8, flags: i32, mode: u32) -> i64 {
    openat_call(AT_FDCWD as i32, path, flags, mode)
}

unsafe extern "C" fn open_2_impl(path: *const u8, flags: i32) -> i64 {
    openat_call(AT_FDCWD as i32, path, flags, 0)
}

unsafe extern "C" fn openat_impl(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> i64 {
    openat_call(dirfd, path, flags, mode)
}

unsafe extern "C" fn openat_2_impl(dirfd: i32, path: *const u8, flags: i32) -> i64 {
    openat_call(dirfd, path, flags, 0)
}

/// Closing a regular file or a directory never blocks (a socket may linger).
unsafe extern "C" fn close_impl(fd: i32) -> i64 {
    let args = [fd as u64, 0, 0, 0, 0, 0];
    match file_type(fd, core::ptr::null(), 0) {
        Ok(S_IFREG | S_IFDIR) => run(call(nr::CLOSE, args, core::ptr::null(), 0, 0, Output::Nothing)),
        _ => errno_result(traced(nr::CLOSE, args)),
    }
}

/// The fcntl commands that neither block nor write memory: descriptor
/// flags, status flags, duplication. (Locks may wait; F_GETLK and friends
/// write a struct.)
unsafe extern "C" fn fcntl_impl(fd: i32, cmd: i32, arg: u64) -> i64 {
    const F_DUPFD: i32 = 0;
    const F_GETFD: i32 = 1;
    const F_SETFD: i32 = 2;
    const F_GETFL: i32 = 3;
    const F_SETFL: i32 = 4;
    const F_DUPFD_CLOEXEC: i32 = 1030;
    let args = [fd as u64, cmd as u64, arg, 0, 0, 0];
    match cmd {
        F_DUPFD | F_GETFD | F_SETFD | F_GETFL | F_SETFL | F_DUPFD_CLOEXEC => {
            run(call(nr::FCNTL, args, core::ptr::null(), 0, 0, Output::Nothing))
        }
        _ => errno_result(traced(nr::FCNTL, args)),
    }
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
            naked_asm!(
                "sub rsp, 8",
                "call {imp}",
                "add rsp, 8",
                "xor ecx, ecx",
                "xor edx, edx",
                "xor esi, esi",
                "xor edi, edi",
                "xor r8d, r8d",
                "xor r9d, r9d",
                "xor r10d, r10d",
                "xor r11d, r11d",
                "ret",
                imp = sym $imp,
            )
        }
    )*};
}

export! {
    read => read_impl;
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
