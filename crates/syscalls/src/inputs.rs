//! Input memory worth keeping for people at higher verbosity.

use crate::outputs::{arg, push, read_iovecs, read_msghdr, read_u32, Ranges, IOV_MAX, MMSGHDR};
use crate::{nr, spec, ArgKind, Memory};

/// The longest string argument kept, in bytes.
pub(crate) const MAX_STRING: usize = 4096;

/// The input ranges worth keeping for people at higher verbosity.
///
/// Path and string arguments are read up to their NUL (at most 4096 bytes);
/// the range covers the string and its terminating NUL when one was found.
/// Input buffers (`write`, `pwrite64`, `sendto`, `connect`, `setxattr`, ...)
/// cover their length argument; `writev`/`pwritev`/`pwritev2`/
/// `process_vm_writev` cover their iovecs, `sendmsg`/`sendmmsg` the name,
/// data and control of their message headers, `msgsnd` its mtype and text.
/// Ranges with a null pointer or zero length are omitted; each is capped at
/// 1 GiB.
pub fn input_ranges(nr: u32, args: &[u64; 6], mem: &dyn Memory) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    let Some(spec) = spec(nr) else {
        return out;
    };
    for (i, kind) in spec.args.iter().enumerate() {
        let value = args[i];
        match *kind {
            ArgKind::Path | ArgKind::Str => {
                if let Some(len) = c_string_len(mem, value) {
                    push(&mut out, value, len as u64);
                }
            }
            ArgKind::InBuf(len) => push(&mut out, value, arg(args, len)),
            _ => {}
        }
    }
    match nr {
        nr::WRITEV | nr::PWRITEV | nr::PWRITEV2 | nr::PROCESS_VM_WRITEV => {
            iovecs(&mut out, mem, args[1], args[2])
        }
        nr::SENDMSG => message(&mut out, mem, args[1]),
        nr::SENDMMSG => {
            for i in 0..args[2].min(IOV_MAX) {
                message(&mut out, mem, args[1].wrapping_add(i * MMSGHDR));
            }
        }
        nr::MSGSND => push(&mut out, args[1], args[2].saturating_add(8)),
        _ => {}
    }
    out
}

/// Every iovec of the array at `addr` (`count` of them).
fn iovecs(out: &mut Ranges, mem: &dyn Memory, addr: u64, count: u64) {
    for (base, len) in read_iovecs(mem, addr, count) {
        push(out, base, len);
    }
}

/// The name, data and control a `struct msghdr` at `addr` sends.
fn message(out: &mut Ranges, mem: &dyn Memory, addr: u64) {
    if let Some(h) = read_msghdr(mem, addr) {
        push(out, h.name, u64::from(h.namelen));
        iovecs(out, mem, h.iov, h.iovlen);
        push(out, h.control, h.controllen);
    }
}

/// The length of the NUL-terminated string at `addr` including its NUL, at most `MAX_STRING`.
///
/// Reads page by page so a string ending just before an unmapped page is
/// found; `None` when not even the first byte is readable.
pub(crate) fn c_string_len(mem: &dyn Memory, addr: u64) -> Option<usize> {
    if addr == 0 {
        return None;
    }
    let mut len = 0usize;
    while len < MAX_STRING {
        let at = addr.checked_add(len as u64)?;
        let to_page_end = 4096 - (at % 4096) as usize;
        let chunk = to_page_end.min(MAX_STRING - len);
        let Some(bytes) = mem.read(at, chunk).or_else(|| read_short(mem, at, chunk)) else {
            break;
        };
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            return Some(len + nul + 1);
        }
        if bytes.is_empty() {
            break;
        }
        len += bytes.len();
    }
    (len > 0).then_some(len)
}

/// Fallback for memories that cannot serve a whole page at once: read word by word.
fn read_short(mem: &dyn Memory, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    while bytes.len() < len {
        let at = addr + bytes.len() as u64;
        match read_u32(mem, at) {
            Some(word) if len - bytes.len() >= 4 => {
                let w = word.to_ne_bytes();
                bytes.extend_from_slice(&w);
                if w.contains(&0) {
                    break;
                }
            }
            _ => match mem.read(at, 1) {
                Some(b) if !b.is_empty() => {
                    bytes.push(b[0]);
                    if b[0] == 0 {
                        break;
                    }
                }
                _ => break,
            },
        }
    }
    (!bytes.is_empty()).then_some(bytes)
}
