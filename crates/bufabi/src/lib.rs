//! The layout of Scribe's in-process syscall buffer.
//!
//! The preload library (`libscribe_preload.so`) maps one region per address
//! space at a fixed address, [`REGION_START`]:
//!
//! ```text
//! REGION_START            stub page (RX): the untraced syscall entry
//! REGION_START + 0x1000   header page (RW): Header
//! REGION_START + 0x2000   records (RW), CAPACITY bytes, each a Record
//!                         header followed by its input and output bytes
//! ```
//!
//! The seccomp filter lets through exactly the syscalls whose instruction
//! pointer is [`UNTRACED_SYSCALL_IP`] (just after the stub's `syscall`).
//! During replay the replayer overwrites the stub with [`REPLAY_STUB`], which
//! plays the kernel's part from the recorded record instead, so the library
//! runs the very same instructions in both modes.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Start of the fixed region (the stub page).
pub const REGION_START: u64 = 0x7000_0000;
/// Address of the header page.
pub const HEADER_ADDR: u64 = REGION_START + 0x1000;
/// Address of the first record.
pub const RECORDS_ADDR: u64 = REGION_START + 0x2000;
/// Bytes available for records.
pub const CAPACITY: u32 = 1 << 20;
/// Length of the whole region.
pub const REGION_LEN: u64 = 0x2000 + CAPACITY as u64;
/// Instruction pointer seen by seccomp for the stub's `syscall`.
pub const UNTRACED_SYSCALL_IP: u64 = REGION_START + 2;
/// Where the library calls the stub. The page starts with `syscall; ret`
/// in both modes (the one syscall instruction the seccomp filter lets
/// through); the entry, a little further, jumps there when recording and
/// plays the kernel's part when replaying, which for the calls that must
/// really happen (brk, anonymous mmap) is to jump there too.
pub const STUB_ENTRY: u64 = REGION_START + 16;
/// Version of this layout, passed at registration.
pub const VERSION: u64 = 8;
/// Largest output one buffered call may produce; larger calls are traced.
pub const MAX_OUTPUT: u32 = 256 << 10;
/// Largest input (a path, written bytes) copied into a record; longer ones are traced.
pub const MAX_INPUT: u32 = 4096;

/// Syscall numbers Scribe reserves for the library's traced requests; the
/// kernel answers them with ENOSYS when no Scribe is attached.
pub mod magic {
    /// "Here is my buffer" (args: region start, capacity, version). Answer
    /// 1 enables buffering.
    pub const REGISTER: u32 = 0x5343_0001;
    /// "The buffer is full": drain (record) or load the next batch (replay).
    /// Answer 0 means done; anything else turns buffering off.
    pub const FLUSH: u32 = 0x5343_0002;

    /// Whether `nr` is one of these requests.
    pub fn is_magic(nr: u64) -> bool {
        nr == u64::from(REGISTER) || nr == u64::from(FLUSH)
    }
}

/// Byte offsets of the header fields (all little-endian).
pub mod header {
    /// u32: nonzero once Scribe accepted the registration.
    pub const ENABLED: u64 = 0;
    /// u32: nonzero while the library is inside a wrapper (reentrancy guard).
    pub const IN_LIB: u64 = 4;
    /// u32: bytes of records written since the last drain or load.
    pub const USED: u64 = 8;
    /// u32: once `USED` reaches this, calls are traced instead of buffered.
    pub const STOP_AT: u64 = 12;
    /// u64: address of the record of the call in progress.
    pub const CURRENT: u64 = 16;
    /// u64: address of the output bytes of the call in progress.
    pub const CURRENT_OUTPUT: u64 = 24;
    /// u64: the descriptors that are the recording's own standard output
    /// or error (bit N for descriptor N < 63; bit 63 for any higher one).
    /// Writes to them stop at Scribe, which shows them on replay.
    pub const STD_FDS: u64 = 32;
    /// u32: [`flags`](super::flags) Scribe sets at registration, and
    /// (`MAY_BLOCK`) whenever it lets a task run.
    pub const FLAGS: u64 = 40;
    /// u32: changes whenever a descriptor of the process may have been
    /// closed or replaced behind the library's back (a stopped close,
    /// dup2, dup3 or close_range, a new task): the library then forgets
    /// what it knew of its descriptors. Scribe writes it from its model of
    /// the descriptor table at the same events as STD_FDS, in recording
    /// and in replay alike.
    pub const FD_GENERATION: u64 = 44;
    /// Size of the header.
    pub const LEN: usize = 48;
}

/// Bits of the header's FLAGS field.
pub mod flags {
    /// Buffered writes carry the bytes written (verbosity 1 and up); writes
    /// longer than [`MAX_INPUT`](super::MAX_INPUT) then stop instead.
    pub const WRITE_DATA: u32 = 1;
    /// The calling task is the only one of its memory domain, so a pipe
    /// read or write may wait inside the library: no other task needs the
    /// token meanwhile. Scribe sets it when it lets a task run, and makes
    /// a waiting call that a signal interrupts return EAGAIN, so that it
    /// is made again traced. Only the flags the library passes change:
    /// the code it runs is the same either way.
    pub const MAY_BLOCK: u32 = 2;
    /// The recording has one memory domain, whose tasks run one at a time:
    /// a `write` of at most [`MAX_INPUT`](super::MAX_INPUT) bytes to the
    /// recording's own stdout or stderr (a file, /dev/null or a pipe, not a
    /// terminal) may be buffered, with its bytes. Scribe sets it when it
    /// lets a task run; replay sets it for a batch that has such a write.
    pub const STD_WRITES: u32 = 4;
}

/// The header's STD_FDS bit for descriptor `fd`.
pub const fn std_fd_bit(fd: u64) -> u64 {
    if fd < 63 {
        1 << fd
    } else {
        1 << 63
    }
}

/// Byte offsets of the fields of a record header.
pub mod record {
    /// u32: size of the whole record, a multiple of 8.
    pub const SIZE: usize = 0;
    /// A bit of the size field that only replay sets, in the records it
    /// loads: stop after this call (see [`crate::REPLAY_STUB`]).
    pub const STOP_AFTER: u32 = 1;
    /// u32: syscall number.
    pub const NR: usize = 4;
    /// 6 x u64: the arguments as the program passed them.
    pub const ARGS: usize = 8;
    /// i64: the result.
    pub const RESULT: usize = 56;
    /// u64: where the output bytes belong in the program's memory.
    pub const OUTPUT_ADDR: usize = 64;
    /// u32: number of output bytes.
    pub const OUTPUT_LEN: usize = 72;
    /// u32: number of input bytes (a NUL-terminated path, or the bytes a
    /// write sends), 0 if none.
    pub const INPUT_LEN: usize = 76;
    /// u64: where the input bytes were read from.
    pub const INPUT_ADDR: usize = 80;
    /// u64: for a read or write made on a pipe, the pipe's inode number
    /// (its serials' id); 0 for any other call.
    pub const PIPE: usize = 88;
    /// Size of a record header; input then output bytes follow, each padded to 8.
    pub const LEN: usize = 96;
}

/// Rounds up to a multiple of 8.
pub const fn pad8(n: u32) -> u32 {
    (n + 7) & !7
}

/// Size of a record with `input` and `output` bytes.
pub const fn record_size(input: u32, output: u32) -> u32 {
    record::LEN as u32 + pad8(input) + pad8(output)
}

/// The record-mode stub page: `syscall; ret`, and at [`STUB_ENTRY`] a jump
/// to it.
pub const RECORD_STUB: [u8; 18] = [
    0x0f, 0x05, 0xc3, // syscall; ret
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, // int3 up to the entry
    0xeb, 0xee, // entry: jmp 0
];

/// Syscall numbers the replay stub makes for real (see [`REPLAY_STUB`]).
pub mod executed {
    /// mmap: anonymous private memory the program will use.
    pub const MMAP: u8 = 9;
    /// brk: the program break.
    pub const BRK: u8 = 12;
    /// rt_sigprocmask: an unblock (the library buffers no other), which
    /// replay's signal deliveries depend on.
    pub const RT_SIGPROCMASK: u8 = 14;
}

/// The replay-mode stub page. Most calls are played from the current
/// record: its output bytes are copied to the program's buffer and the
/// recorded result returned, as the kernel did. brk and mmap (the library
/// buffers only anonymous private ones) change the address space, and
/// rt_sigprocmask the signal mask, so they are made for real through the `syscall` at the start of the page, an
/// mmap at the address it got in the recording (MAP_FIXED; a recorded
/// failure is played instead). The library writes the result it got into
/// the record, and the replayer, which compares each batch with the
/// recorded one, reports a difference.
///
/// A loaded record whose size field has [`record::STOP_AFTER`] set makes
/// the stub stop the task with an `int3` once it has played the call, at
/// [`STOP_AFTER_IP`]: the replayer shows a write to the recording's output
/// there, when the program makes it (the library rewrites the size field
/// after the call, so the batch it leaves is the recorded one).
///
/// ```text
/// 0:  syscall; ret
/// 16: cmp eax, 14; je real           ; rt_sigprocmask
///     cmp eax, 12; je real           ; brk
///     cmp eax, 9; jne play           ; mmap
///     mov rcx, [HEADER_ADDR + CURRENT]
///     mov rcx, [rcx + RESULT]        ; the recorded address
///     cmp rcx, -4096; jae play       ; a recorded failure
///     mov rdi, rcx
///     or r10, MAP_FIXED
/// real:
///     jmp 0
/// play:
///     mov rax, [HEADER_ADDR + CURRENT]          ; the record
///     mov ecx, [rax + OUTPUT_LEN]
///     mov rdi, [rax + OUTPUT_ADDR]
///     mov rsi, [HEADER_ADDR + CURRENT_OUTPUT]
///     rep movsb
///     test byte [rax + SIZE], STOP_AFTER
///     mov rax, [rax + RESULT]
///     jz done
///     int3
/// done:
///     ret
/// ```
pub const REPLAY_STUB: [u8; 98] = {
    let cur = (HEADER_ADDR + header::CURRENT) as u32;
    let out = (HEADER_ADDR + header::CURRENT_OUTPUT) as u32;
    let c = cur.to_le_bytes();
    let o = out.to_le_bytes();
    [
        0x0f, 0x05, 0xc3, // 0: syscall; ret
        0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, // int3 up to the entry
        0x83, 0xf8, executed::RT_SIGPROCMASK, // 16: cmp eax, 14
        0x74, 59 - 21, // 19: je real
        0x83, 0xf8, executed::BRK, // 21: cmp eax, 12
        0x74, 59 - 26, // 24: je real
        0x83, 0xf8, executed::MMAP, // 26: cmp eax, 9
        0x75, 61 - 31, // 29: jne play
        0x48, 0x8b, 0x0c, 0x25, c[0], c[1], c[2], c[3], // 31: mov rcx, [abs32]
        0x48, 0x8b, 0x49, record::RESULT as u8, // 39: mov rcx, [rcx+disp8]
        0x48, 0x81, 0xf9, 0x00, 0xf0, 0xff, 0xff, // 43: cmp rcx, -4096
        0x73, 61 - 52, // 50: jae play
        0x48, 0x89, 0xcf, // 52: mov rdi, rcx
        0x49, 0x83, 0xca, 0x10, // 55: or r10, MAP_FIXED
        0xeb, (0u8).wrapping_sub(61), // 59: real: jmp 0
        0x48, 0x8b, 0x04, 0x25, c[0], c[1], c[2], c[3], // 61: play: mov rax, [abs32]
        0x8b, 0x48, record::OUTPUT_LEN as u8, // mov ecx, [rax+disp8]
        0x48, 0x8b, 0x78, record::OUTPUT_ADDR as u8, // mov rdi, [rax+disp8]
        0x48, 0x8b, 0x34, 0x25, o[0], o[1], o[2], o[3], // mov rsi, [abs32]
        0xf3, 0xa4, // rep movsb
        0xf6, 0x40, record::SIZE as u8, record::STOP_AFTER as u8, // test byte [rax+disp8], imm8
        0x48, 0x8b, 0x40, record::RESULT as u8, // mov rax, [rax+disp8]
        0x74, 0x01, // jz done
        0xcc, // int3
        0xc3, // done: ret
    ]
};

/// Where a task stopped by the replay stub's `int3` (see [`REPLAY_STUB`])
/// is: its final `ret`.
pub const STOP_AFTER_IP: u64 = REGION_START + REPLAY_STUB.len() as u64 - 1;

/// The descriptor a path opens again, if it names one of the opening
/// process's descriptors: `/dev/stdin`, `/dev/stdout`, `/dev/stderr`,
/// `/dev/fd/N`, `/proc/self/fd/N`, `/proc/thread-self/fd/N`, or
/// `/proc/PID/fd/N` (returned with the pid, which the caller compares with
/// its own). Opening one gives a new open file of the same file, pipe or
/// terminal: output written to it is the program's standard output when
/// descriptor N is.
pub fn descriptor_named_by(path: &[u8]) -> Option<(Option<u64>, u64)> {
    fn number(digits: &[u8]) -> Option<u64> {
        if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
    }
    match path {
        b"/dev/stdin" => return Some((None, 0)),
        b"/dev/stdout" => return Some((None, 1)),
        b"/dev/stderr" => return Some((None, 2)),
        _ => {}
    }
    for prefix in [&b"/dev/fd/"[..], b"/proc/self/fd/", b"/proc/thread-self/fd/"] {
        if let Some(fd) = path.strip_prefix(prefix) {
            return number(fd).map(|fd| (None, fd));
        }
    }
    let rest = path.strip_prefix(b"/proc/")?;
    let slash = rest.iter().position(|&b| b == b'/')?;
    let pid = number(&rest[..slash])?;
    let fd = number(rest[slash..].strip_prefix(b"/fd/")?)?;
    Some((Some(pid), fd))
}

/// The index of the first `syscall` instruction's bytes (`0f 05`) in
/// `code` at or after `from`, a byte at a time. The library scans the bulk
/// of libc's code with SSE2 and leaves the last bytes to this.
pub fn next_syscall(code: &[u8], from: usize) -> Option<usize> {
    (from..code.len().saturating_sub(1)).find(|&i| code[i] == 0x0f && code[i + 1] == 0x05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_name_a_descriptor_are_recognised() {
        assert_eq!(descriptor_named_by(b"/dev/stdout"), Some((None, 1)));
        assert_eq!(descriptor_named_by(b"/dev/stderr"), Some((None, 2)));
        assert_eq!(descriptor_named_by(b"/dev/stdin"), Some((None, 0)));
        assert_eq!(descriptor_named_by(b"/dev/fd/2"), Some((None, 2)));
        assert_eq!(descriptor_named_by(b"/proc/self/fd/17"), Some((None, 17)));
        assert_eq!(descriptor_named_by(b"/proc/thread-self/fd/1"), Some((None, 1)));
        assert_eq!(descriptor_named_by(b"/proc/4242/fd/1"), Some((Some(4242), 1)));
        for other in [
            &b"/dev/null"[..],
            b"/dev/stdout2",
            b"/dev/fd/",
            b"/dev/fd/1x",
            b"/proc/self/fdinfo/1",
            b"/proc/self/maps",
            b"/proc/12/fd",
            b"/proc/x1/fd/1",
            b"/proc/1/fd/99999999999",
            b"dev/stdout",
            b"",
        ] {
            assert_eq!(descriptor_named_by(other), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn next_syscall_finds_each_syscall_and_nothing_else() {
        let mut code = [0x90u8; 40];
        for &at in &[0, 7, 15, 33, 38] {
            code[at] = 0x0f;
            code[at + 1] = 0x05;
        }
        code[20] = 0x05; // a lone 05, and a 0f not followed by 05
        code[25] = 0x0f;
        let mut found = Vec::new();
        let mut i = 0;
        while let Some(at) = next_syscall(&code, i) {
            found.push(at);
            i = at + 1;
        }
        assert_eq!(found, vec![0, 7, 15, 33, 38]);
        assert_eq!(next_syscall(&[0x05, 0x0f], 0), None);
        assert_eq!(next_syscall(&[0x0f, 0x05], 1), None);
        assert_eq!(next_syscall(&[], 5), None);
    }
}
