//! Which tracee memory the kernel wrote during a call.
//!
//! Regular outputs are data in the table (`Output::Buf`). The irregular ones
//! (`Output::Special`) are small functions below, grouped by family: vectors
//! and message headers, socket addresses, polling, waiting, sleeping, ids,
//! SysV IPC, memory, extended attributes and handles, and the multiplexers
//! (ioctl, fcntl, prctl, arch_prctl, ptrace, syslog, keyctl).

use crate::{nr, spec, Len, Memory, Output};

/// No single range is longer than this: lengths come from the tracee and are never trusted blindly.
pub(crate) const MAX_RANGE: usize = 1 << 30;
/// `sizeof(struct sockaddr_storage)`: the longest socket address the kernel writes.
const SOCKADDR_MAX: u64 = 128;
/// `UIO_MAXIOV`: the most iovecs (and mmsghdrs) the kernel handles in one call.
pub(crate) const IOV_MAX: u64 = 1024;
/// The x86-64 page size.
const PAGE: u64 = 4096;
/// `sizeof(struct mmsghdr)`.
pub(crate) const MMSGHDR: u64 = 64;

/// `EINTR`.
const EINTR: i64 = 4;
/// `EINVAL`.
const EINVAL: i64 = 22;
/// `EOVERFLOW`.
const EOVERFLOW: i64 = 75;

/// A list of (address, length) ranges under construction.
pub(crate) type Ranges = Vec<(u64, usize)>;

/// A hand-written output function for one irregular syscall.
type SpecialFn = fn(&[u64; 6], i64, &dyn Memory, &mut Ranges);

/// Whether `result` is an error return (-4095..=-1).
pub(crate) fn is_error(result: i64) -> bool {
    (-4095..=-1).contains(&result)
}

/// Whether the call was interrupted by a signal (`EINTR` or the kernel-internal restart codes a tracer sees).
fn interrupted(result: i64) -> bool {
    result == -EINTR || (-516..=-512).contains(&result)
}

/// The positive result as a length, if there is one.
fn positive(result: i64) -> Option<u64> {
    (result > 0).then_some(result as u64)
}

/// Argument `i` (0 when out of range).
pub(crate) fn arg(args: &[u64; 6], i: u8) -> u64 {
    args.get(usize::from(i)).copied().unwrap_or(0)
}

/// Adds a range, omitting null pointers and empty lengths and capping the length.
pub(crate) fn push(out: &mut Ranges, addr: u64, len: u64) {
    if addr == 0 || len == 0 {
        return;
    }
    let len = len.min(MAX_RANGE as u64).min(u64::MAX - addr + 1);
    out.push((addr, len as usize));
}

/// Reads a native-endian `u32` from tracee memory.
pub(crate) fn read_u32(mem: &dyn Memory, addr: u64) -> Option<u32> {
    if addr == 0 {
        return None;
    }
    let b = mem.read(addr, 4)?;
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// Reads a native-endian `u64` from tracee memory.
pub(crate) fn read_u64(mem: &dyn Memory, addr: u64) -> Option<u64> {
    if addr == 0 {
        return None;
    }
    let b = mem.read(addr, 8)?;
    Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

/// Reads an array of `count` iovecs (base, len) at `addr` (at most `IOV_MAX`).
pub(crate) fn read_iovecs(mem: &dyn Memory, addr: u64, count: u64) -> Vec<(u64, u64)> {
    let count = count.min(IOV_MAX) as usize;
    if addr == 0 || count == 0 {
        return Vec::new();
    }
    let Some(bytes) = mem.read(addr, count * 16) else {
        return Vec::new();
    };
    bytes
        .chunks_exact(16)
        .map(|c| {
            let base = u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8]));
            let len = u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8]));
            (base, len)
        })
        .collect()
}

/// Adds the iovec ranges the kernel filled with `total` bytes, in order.
fn fill_iovecs(out: &mut Ranges, iovs: &[(u64, u64)], total: u64) {
    let mut left = total;
    for &(base, len) in iovs {
        if left == 0 {
            break;
        }
        let n = len.min(left);
        push(out, base, n);
        left -= n;
    }
}

/// The fields of a `struct msghdr` (56 bytes on x86-64) that matter here.
pub(crate) struct MsgHdr {
    /// `msg_name`.
    pub name: u64,
    /// `msg_namelen`.
    pub namelen: u32,
    /// `msg_iov`.
    pub iov: u64,
    /// `msg_iovlen`.
    pub iovlen: u64,
    /// `msg_control`.
    pub control: u64,
    /// `msg_controllen`.
    pub controllen: u64,
}

/// Reads a `struct msghdr` at `addr`.
pub(crate) fn read_msghdr(mem: &dyn Memory, addr: u64) -> Option<MsgHdr> {
    if addr == 0 {
        return None;
    }
    let b = mem.read(addr, 56)?;
    let u64_at =
        |o: usize| -> Option<u64> { Some(u64::from_ne_bytes(b.get(o..o + 8)?.try_into().ok()?)) };
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    Some(MsgHdr {
        name: u64_at(0)?,
        namelen: u32_at(8)?,
        iov: u64_at(16)?,
        iovlen: u64_at(24)?,
        control: u64_at(32)?,
        controllen: u64_at(40)?,
    })
}

/// The tracee memory ranges the kernel wrote during this call.
///
/// Only successful calls have outputs, except where the kernel also writes
/// on failure (remaining time of an interrupted sleep, `poll` revents and
/// select/poll timeouts on interruption, `capget`'s version probe,
/// `name_to_handle_at`'s `EOVERFLOW`). Value-result lengths, iovecs and
/// message headers are followed through `mem` after the call. Ranges with a
/// null pointer or zero length are omitted; each is capped at 1 GiB.
pub fn output_ranges(nr: u32, args: &[u64; 6], result: i64, mem: &dyn Memory) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    let Some(spec) = spec(nr) else {
        return out;
    };
    let failed = is_error(result);
    for output in spec.outputs {
        match *output {
            Output::Buf { ptr, len } => {
                if failed {
                    continue;
                }
                if let Some(n) = eval_len(len, args, result, mem) {
                    push(&mut out, arg(args, ptr), n);
                }
            }
            Output::Special => {
                if let Some(f) = special(nr) {
                    f(args, result, mem, &mut out);
                }
            }
        }
    }
    out
}

/// The byte count a `Len` stands for, after the call.
fn eval_len(len: Len, args: &[u64; 6], result: i64, mem: &dyn Memory) -> Option<u64> {
    match len {
        Len::Result => positive(result),
        Len::Arg(i) => Some(arg(args, i)),
        Len::Fixed(n) => Some(u64::from(n)),
        Len::ArgTimes(i, size) => Some(arg(args, i).saturating_mul(u64::from(size))),
        Len::ResultTimes(size) => positive(result).map(|r| r.saturating_mul(u64::from(size))),
        Len::DerefU32(i) => read_u32(mem, arg(args, i)).map(u64::from),
    }
}

/// The hand-written output function of syscall `nr`, if it has one.
pub(crate) fn special(nr: u32) -> Option<SpecialFn> {
    let f: SpecialFn = match nr {
        nr::READV | nr::PREADV | nr::PREADV2 => vectors::readv,
        nr::PROCESS_VM_READV => vectors::process_vm_readv,
        nr::RECVMSG => vectors::recvmsg,
        nr::RECVMMSG => vectors::recvmmsg,
        nr::SENDMMSG => vectors::sendmmsg,
        nr::ACCEPT | nr::ACCEPT4 | nr::GETSOCKNAME | nr::GETPEERNAME => sockets::accept_like,
        nr::RECVFROM => sockets::recvfrom,
        nr::POLL => polling::poll,
        nr::PPOLL => polling::ppoll,
        nr::SELECT | nr::PSELECT6 => polling::select,
        nr::WAIT4 => process::wait4,
        nr::NANOSLEEP => process::nanosleep,
        nr::CLOCK_NANOSLEEP => process::clock_nanosleep,
        nr::GETGROUPS => process::getgroups,
        nr::CAPGET => process::capget,
        nr::MSGRCV => ipc::msgrcv,
        nr::MSGCTL => ipc::msgctl,
        nr::SHMCTL => ipc::shmctl,
        nr::SEMCTL => ipc::semctl,
        nr::MINCORE => memory::mincore,
        nr::GET_MEMPOLICY => memory::get_mempolicy,
        nr::STATMOUNT => memory::statmount,
        nr::GETXATTR | nr::LGETXATTR | nr::FGETXATTR => files::getxattr,
        nr::LISTXATTR | nr::LLISTXATTR | nr::FLISTXATTR => files::listxattr,
        nr::GETXATTRAT => files::getxattrat,
        nr::LISTXATTRAT => files::listxattrat,
        nr::NAME_TO_HANDLE_AT => files::name_to_handle_at,
        nr::IOCTL => control::ioctl,
        nr::FCNTL => control::fcntl,
        nr::PRCTL => control::prctl,
        nr::ARCH_PRCTL => control::arch_prctl,
        nr::PTRACE => control::ptrace,
        nr::SYSLOG => control::syslog,
        nr::KEYCTL => control::keyctl,
        _ => return None,
    };
    Some(f)
}

/// Scatter/gather reads and message headers.
mod vectors {
    use super::*;

    /// readv/preadv/preadv2: the iovecs at arg1 (arg2 of them) filled with `result` bytes.
    pub(super) fn readv(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            fill_iovecs(out, &read_iovecs(mem, args[1], args[2]), n);
        }
    }

    /// process_vm_readv: the local iovecs (arg1, arg2 of them) filled with `result` bytes.
    pub(super) fn process_vm_readv(
        args: &[u64; 6],
        result: i64,
        mem: &dyn Memory,
        out: &mut Ranges,
    ) {
        if let Some(n) = positive(result) {
            fill_iovecs(out, &read_iovecs(mem, args[1], args[2]), n);
        }
    }

    /// What recvmsg writes for one message of `bytes` bytes: header fields, name, data, control.
    fn received(out: &mut Ranges, mem: &dyn Memory, msg: u64, bytes: u64) {
        let Some(h) = read_msghdr(mem, msg) else {
            return;
        };
        push(out, msg + 8, 4); // msg_namelen
        push(out, msg + 40, 8); // msg_controllen
        push(out, msg + 48, 4); // msg_flags
        push(out, h.name, u64::from(h.namelen).min(SOCKADDR_MAX));
        fill_iovecs(out, &read_iovecs(mem, h.iov, h.iovlen), bytes);
        push(out, h.control, h.controllen);
    }

    /// recvmsg: the msghdr at arg1 and what it points to.
    pub(super) fn recvmsg(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 {
            received(out, mem, args[1], result as u64);
        }
    }

    /// recvmmsg: `result` mmsghdrs at arg1, each with its msg_len, and the timeout at arg4.
    pub(super) fn recvmmsg(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        let Some(count) = positive(result) else {
            return;
        };
        for i in 0..count.min(IOV_MAX) {
            let base = args[1].wrapping_add(i * MMSGHDR);
            let len = read_u32(mem, base + 56).map_or(0, u64::from);
            received(out, mem, base, len);
            push(out, base + 56, 4);
        }
        push(out, args[4], 16);
    }

    /// sendmmsg: the msg_len of each of the `result` mmsghdrs sent.
    pub(super) fn sendmmsg(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        let Some(count) = positive(result) else {
            return;
        };
        for i in 0..count.min(IOV_MAX) {
            push(out, args[1].wrapping_add(i * MMSGHDR + 56), 4);
        }
    }
}

/// Socket addresses returned through a value-result length.
mod sockets {
    use super::*;

    /// A sockaddr at `addr` whose length the kernel stored at `lenp`, and the length itself.
    fn sockaddr(out: &mut Ranges, mem: &dyn Memory, addr: u64, lenp: u64) {
        if addr == 0 || lenp == 0 {
            return;
        }
        if let Some(len) = read_u32(mem, lenp) {
            push(out, addr, u64::from(len).min(SOCKADDR_MAX));
            push(out, lenp, 4);
        }
    }

    /// accept/accept4/getsockname/getpeername: the address at arg1, its length at arg2.
    pub(super) fn accept_like(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 {
            sockaddr(out, mem, args[1], args[2]);
        }
    }

    /// recvfrom: `result` bytes at arg1, then the source address (arg4, length at arg5).
    pub(super) fn recvfrom(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 {
            push(out, args[1], result as u64);
            sockaddr(out, mem, args[4], args[5]);
        }
    }
}

/// poll, ppoll, select, pselect6.
mod polling {
    use super::*;

    /// poll: the pollfd array (arg0, arg1 entries of 8 bytes), also written when interrupted.
    pub(super) fn poll(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 || interrupted(result) {
            push(out, args[0], args[1].saturating_mul(8));
        }
    }

    /// ppoll: like poll, plus the remaining timeout at arg2.
    pub(super) fn ppoll(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        poll(args, result, mem, out);
        if result >= 0 || interrupted(result) {
            push(out, args[2], 16);
        }
    }

    /// select/pselect6: the three fd_sets at args 1-3 on success; the remaining timeout at arg4.
    pub(super) fn select(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 {
            let nfds = args[0] as i32;
            if nfds > 0 {
                let bytes = (nfds as u64).div_ceil(64) * 8;
                for &set in &args[1..4] {
                    push(out, set, bytes);
                }
            }
        }
        if result >= 0 || interrupted(result) {
            push(out, args[4], 16); // timeval (select) or timespec (pselect6): both 16 bytes
        }
    }
}

/// Waiting, sleeping and process credentials.
mod process {
    use super::*;

    /// wait4: the status at arg1 and the rusage at arg3, when a child was reaped.
    pub(super) fn wait4(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result > 0 {
            push(out, args[1], 4);
            push(out, args[3], 144);
        }
    }

    /// nanosleep: the remaining time at arg1, written when interrupted.
    pub(super) fn nanosleep(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if interrupted(result) {
            push(out, args[1], 16);
        }
    }

    /// clock_nanosleep: the remaining time at arg3, written when interrupted and not TIMER_ABSTIME.
    pub(super) fn clock_nanosleep(
        args: &[u64; 6],
        result: i64,
        _mem: &dyn Memory,
        out: &mut Ranges,
    ) {
        const TIMER_ABSTIME: u64 = 1;
        if interrupted(result) && args[1] & TIMER_ABSTIME == 0 {
            push(out, args[3], 16);
        }
    }

    /// getgroups: `result` gids at arg1, unless arg0 is 0 (a size query).
    pub(super) fn getgroups(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            if args[0] as i32 != 0 {
                push(out, args[1], n * 4);
            }
        }
    }

    /// capget: the data at arg1 (one 12-byte struct for version 1, two otherwise); the version on EINVAL.
    pub(super) fn capget(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        const VERSION_1: u32 = 0x1998_0330;
        if result == 0 {
            let structs = if read_u32(mem, args[0]) == Some(VERSION_1) {
                1
            } else {
                2
            };
            push(out, args[1], 12 * structs);
        } else if result == -EINVAL {
            push(out, args[0], 4);
        }
    }
}

/// SysV message queues, shared memory and semaphores.
mod ipc {
    use super::*;

    /// `IPC_64`, which callers may or into the command.
    const IPC_64: u64 = 0x100;

    /// msgrcv: the mtype (8 bytes) and `result` bytes of text at arg1.
    pub(super) fn msgrcv(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result >= 0 {
            push(out, args[1], 8 + result as u64);
        }
    }

    /// msgctl: msqid_ds (120) for IPC_STAT/MSG_STAT(_ANY), msginfo (32) for IPC_INFO/MSG_INFO.
    pub(super) fn msgctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        match args[1] & !IPC_64 {
            2 | 11 | 13 => push(out, args[2], 120),
            3 | 12 => push(out, args[2], 32),
            _ => {}
        }
    }

    /// shmctl: shmid_ds (112) for IPC_STAT/SHM_STAT(_ANY), shminfo (72) for IPC_INFO, shm_info (48) for SHM_INFO.
    pub(super) fn shmctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        match args[1] & !IPC_64 {
            2 | 13 | 15 => push(out, args[2], 112),
            3 => push(out, args[2], 72),
            14 => push(out, args[2], 48),
            _ => {}
        }
    }

    /// semctl: semid_ds (104) for IPC_STAT/SEM_STAT(_ANY), seminfo (40) for IPC_INFO/SEM_INFO (GETALL is not covered).
    pub(super) fn semctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        match args[2] & !IPC_64 {
            2 | 18 | 20 => push(out, args[3], 104),
            3 | 19 => push(out, args[3], 40),
            _ => {}
        }
    }
}

/// Memory queries.
mod memory {
    use super::*;

    /// mincore: one byte per page of the range at arg0/arg1, at arg2.
    pub(super) fn mincore(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result == 0 {
            push(out, args[2], args[1].div_ceil(PAGE));
        }
    }

    /// get_mempolicy: the mode at arg0 and the node mask at arg1 (arg2 bits).
    pub(super) fn get_mempolicy(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result == 0 {
            push(out, args[0], 4);
            push(out, args[1], args[2].div_ceil(64) * 8);
        }
    }

    /// statmount: the struct at arg1, as long as its own `size` field says (at most arg2).
    pub(super) fn statmount(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result == 0 {
            if let Some(size) = read_u32(mem, args[1]) {
                push(out, args[1], u64::from(size).min(args[2]));
            }
        }
    }
}

/// Extended attributes and file handles.
mod files {
    use super::*;

    /// getxattr/lgetxattr/fgetxattr: `result` bytes at arg2, unless arg3 is 0 (a size query).
    pub(super) fn getxattr(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            if args[3] != 0 {
                push(out, args[2], n);
            }
        }
    }

    /// listxattr/llistxattr/flistxattr: `result` bytes at arg1, unless arg2 is 0 (a size query).
    pub(super) fn listxattr(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            if args[2] != 0 {
                push(out, args[1], n);
            }
        }
    }

    /// getxattrat: `result` bytes at the `value` of the xattr_args at arg4, unless its size is 0.
    pub(super) fn getxattrat(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        let Some(n) = positive(result) else {
            return;
        };
        if args[5] < 16 {
            return;
        }
        if let (Some(value), Some(size)) = (read_u64(mem, args[4]), read_u32(mem, args[4] + 8)) {
            if size != 0 {
                push(out, value, n);
            }
        }
    }

    /// listxattrat: `result` bytes at arg3, unless arg4 is 0 (a size query).
    pub(super) fn listxattrat(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            if args[4] != 0 {
                push(out, args[3], n);
            }
        }
    }

    /// name_to_handle_at: the file_handle at arg2 and the mount id at arg3 (also on EOVERFLOW).
    pub(super) fn name_to_handle_at(
        args: &[u64; 6],
        result: i64,
        mem: &dyn Memory,
        out: &mut Ranges,
    ) {
        const MAX_HANDLE_SZ: u64 = 128;
        const AT_HANDLE_MNT_ID_UNIQUE: u64 = 1;
        if result != 0 && result != -EOVERFLOW {
            return;
        }
        let bytes = if result == 0 {
            read_u32(mem, args[2]).map_or(0, |b| u64::from(b).min(MAX_HANDLE_SZ))
        } else {
            0
        };
        push(out, args[2], 8 + bytes);
        let id = if args[4] & AT_HANDLE_MNT_ID_UNIQUE != 0 {
            8
        } else {
            4
        };
        push(out, args[3], id);
    }
}

/// The multiplexers: what they write depends on a request code.
mod control {
    use super::*;

    /// ioctl: by request; old tty/socket requests by name, the rest by their `_IOR` size.
    pub(super) fn ioctl(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        let req = args[1] as u32;
        let size: u64 = match req {
            // TCGETS, TIOCGLCKTRMIOS: struct termios
            0x5401 | 0x5456 => 36,
            // TCGETA: struct termio
            0x5405 => 18,
            // TIOCGWINSZ
            0x5413 => 8,
            // TIOCGPGRP, TIOCOUTQ, TIOCMGET, TIOCGSOFTCAR, FIONREAD, TIOCGETD, TIOCGSID,
            // FIOGETOWN, SIOCGPGRP, SIOCATMARK: int
            0x540f | 0x5411 | 0x5415 | 0x5419 | 0x541b | 0x5424 | 0x5429 | 0x8903 | 0x8904
            | 0x8905 => 4,
            // SIOCGIF{NAME,FLAGS,ADDR,DSTADDR,BRDADDR,NETMASK,METRIC,MTU,HWADDR,INDEX,TXQLEN,MAP}: struct ifreq
            0x8910 | 0x8913 | 0x8915 | 0x8917 | 0x8919 | 0x891b | 0x891d | 0x8921 | 0x8927
            | 0x8933 | 0x8942 | 0x8970 => 40,
            // SIOCGIFCONF: struct ifconf, and ifc_len bytes at ifc_buf
            0x8912 => {
                push(out, args[2], 16);
                if let (Some(len), Some(buf)) = (read_u32(mem, args[2]), read_u64(mem, args[2] + 8))
                {
                    push(out, buf, u64::from(len));
                }
                return;
            }
            // _IOR/_IOWR requests encode the size the kernel writes.
            _ if (req >> 30) & 2 != 0 => u64::from((req >> 16) & 0x3fff),
            _ => 0,
        };
        push(out, args[2], size);
    }

    /// fcntl: struct flock for F_GETLK/F_OFD_GETLK, 8 bytes for F_GETOWN_EX, F_GETOWNER_UIDS and the RW hints.
    pub(super) fn fcntl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        match args[1] as i32 {
            5 | 36 => push(out, args[2], 32),
            16 | 17 | 1035 | 1037 => push(out, args[2], 8),
            _ => {}
        }
    }

    /// prctl: the PR_GET_* options that store through arg1.
    pub(super) fn prctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        const PR_GET_AUXV: i32 = 0x4155_5856;
        if result < 0 {
            return;
        }
        match args[0] as i32 {
            // PDEATHSIG, UNALIGN, FPEMU, FPEXC, ENDIAN, TSC, CHILD_SUBREAPER: int
            2 | 5 | 9 | 11 | 19 | 25 | 37 => push(out, args[1], 4),
            // PR_GET_NAME
            16 => push(out, args[1], 16),
            // PR_GET_TID_ADDRESS
            40 => push(out, args[1], 8),
            PR_GET_AUXV => push(out, args[1], (result as u64).min(args[2])),
            _ => {}
        }
    }

    /// arch_prctl: the ARCH_GET_* codes that store a u64 through arg1.
    pub(super) fn arch_prctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        // GET_FS, GET_GS, GET_XCOMP_SUPP, GET_XCOMP_PERM, GET_XCOMP_GUEST_PERM,
        // GET_UNTAG_MASK, GET_MAX_TAG_BITS, SHSTK_STATUS
        if matches!(
            args[0],
            0x1003 | 0x1004 | 0x1021 | 0x1022 | 0x1024 | 0x4001 | 0x4003 | 0x5005
        ) {
            push(out, args[1], 8);
        }
    }

    /// ptrace: the requests that store into the tracer's memory at `data` (arg3).
    pub(super) fn ptrace(args: &[u64; 6], result: i64, mem: &dyn Memory, out: &mut Ranges) {
        if result < 0 {
            return;
        }
        let (addr, data) = (args[2], args[3]);
        let r = result as u64;
        match args[0] {
            // PEEKTEXT, PEEKDATA, PEEKUSER, GETEVENTMSG
            1..=3 | 0x4201 => push(out, data, 8),
            // GETREGS
            12 => push(out, data, 216),
            // GETFPREGS
            14 => push(out, data, 512),
            // GET_THREAD_AREA
            25 => push(out, data, 16),
            // GETSIGINFO
            0x4202 => push(out, data, 128),
            // GETREGSET: the iovec's length, and that many bytes at its base
            0x4204 => {
                push(out, data + 8, 8);
                if let (Some(base), Some(len)) = (read_u64(mem, data), read_u64(mem, data + 8)) {
                    push(out, base, len);
                }
            }
            // PEEKSIGINFO
            0x4209 => push(out, data, r.saturating_mul(128)),
            // GETSIGMASK: addr is the size
            0x420a => push(out, data, addr),
            // SECCOMP_GET_FILTER
            0x420c => push(out, data, r.saturating_mul(8)),
            // GET_SYSCALL_INFO, GET_RSEQ_CONFIGURATION: addr is the buffer size
            0x420e | 0x420f => push(out, data, r.min(addr)),
            _ => {}
        }
    }

    /// syslog: `result` bytes at arg1 for the READ, READ_ALL and READ_CLEAR actions.
    pub(super) fn syslog(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        if let Some(n) = positive(result) {
            if matches!(args[0] as i32, 2..=4) {
                push(out, args[1], n);
            }
        }
    }

    /// keyctl: DESCRIBE, READ, GET_SECURITY (buffer arg2, size arg3) and DH_COMPUTE (arg3, arg4).
    pub(super) fn keyctl(args: &[u64; 6], result: i64, _mem: &dyn Memory, out: &mut Ranges) {
        let Some(n) = positive(result) else {
            return;
        };
        match args[0] as i32 {
            6 | 11 | 17 => push(out, args[2], n.min(args[3])),
            23 => push(out, args[3], n.min(args[4])),
            _ => {}
        }
    }
}
