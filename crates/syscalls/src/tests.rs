//! Unit tests of the table, output/input ranges and formatting.

use crate::*;

/// Tracee memory made of separate regions; reads must fall inside one region.
#[derive(Default)]
struct FakeMemory {
    regions: Vec<(u64, Vec<u8>)>,
}

impl FakeMemory {
    fn with(mut self, addr: u64, bytes: &[u8]) -> Self {
        self.regions.push((addr, bytes.to_vec()));
        self
    }
}

impl Memory for FakeMemory {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.regions.iter().find_map(|(base, bytes)| {
            let start = addr.checked_sub(*base)? as usize;
            let end = start.checked_add(len)?;
            bytes.get(start..end).map(<[u8]>::to_vec)
        })
    }
}

fn iovecs(list: &[(u64, u64)]) -> Vec<u8> {
    list.iter()
        .flat_map(|&(base, len)| base.to_ne_bytes().into_iter().chain(len.to_ne_bytes()))
        .collect()
}

fn args(a: &[u64]) -> [u64; 6] {
    let mut out = [0; 6];
    out[..a.len()].copy_from_slice(a);
    out
}

const NONE: &FakeMemory = &FakeMemory {
    regions: Vec::new(),
};

// ---- the table ----

#[test]
fn table_sorted_unique_and_named() {
    let all = all();
    assert!(
        all.windows(2).all(|w| w[0].nr < w[1].nr),
        "sorted by number, no duplicates"
    );
    let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "names are unique");
    for nr in (0..=335).chain(424..=470) {
        assert!(name(nr).is_some(), "syscall {nr} has a name");
    }
    for nr in 336..424 {
        assert!(name(nr).is_none(), "{nr} is unassigned on x86-64");
    }
    for s in all {
        assert_eq!(number(s.name), Some(s.nr));
        assert_eq!(spec(s.nr).map(|t| t.name), Some(s.name));
        assert!(s.args.len() <= 6, "{}", s.name);
    }
}

#[test]
fn names_and_numbers_match_the_kernel_header() {
    let paths = [
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
        "/usr/include/asm/unistd_64.h",
    ];
    let Some(text) = paths.iter().find_map(|p| std::fs::read_to_string(p).ok()) else {
        eprintln!("unistd_64.h not found; skipping");
        return;
    };
    let mut checked = 0;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(macro_name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(sys) = macro_name.strip_prefix("__NR_") else {
            continue;
        };
        let Ok(n) = value.parse::<u32>() else {
            continue;
        };
        assert_eq!(number(sys), Some(n), "number of {sys}");
        assert_eq!(name(n), Some(sys), "name of {n}");
        checked += 1;
    }
    assert!(checked > 300, "parsed only {checked} definitions");
}

#[test]
fn well_known_constants() {
    assert_eq!(nr::READ, 0);
    assert_eq!(nr::WRITE, 1);
    assert_eq!(nr::MMAP, 9);
    assert_eq!(nr::WRITEV, 20);
    assert_eq!(nr::DUP2, 33);
    assert_eq!(nr::CLONE, 56);
    assert_eq!(nr::EXECVE, 59);
    assert_eq!(nr::EXIT_GROUP, 231);
    assert_eq!(nr::OPENAT, 257);
    assert_eq!(nr::NEWFSTATAT, 262);
    assert_eq!(nr::RSEQ, 334);
    assert_eq!(nr::CLONE3, 435);
    assert_eq!(nr::MSEAL, 462);
    assert_eq!(nr::_SYSCTL, 156);
}

#[test]
fn every_special_output_has_a_handler_and_indices_are_in_range() {
    for s in all() {
        let has_special = s.outputs.contains(&Output::Special);
        assert_eq!(has_special, outputs::special(s.nr).is_some(), "{}", s.name);
        for o in s.outputs {
            if let Output::Buf { ptr, len } = *o {
                assert!(ptr < 6, "{}", s.name);
                match len {
                    Len::Arg(i) | Len::ArgTimes(i, _) | Len::DerefU32(i) => {
                        assert!(i < 6, "{}", s.name)
                    }
                    _ => {}
                }
            }
        }
        for k in s.args {
            if let ArgKind::InBuf(i) = k {
                assert!(usize::from(*i) < s.args.len(), "{}", s.name);
            }
        }
    }
}

#[test]
fn replay_policies() {
    let execute = [
        nr::MMAP,
        nr::MUNMAP,
        nr::MPROTECT,
        nr::MREMAP,
        nr::BRK,
        nr::MADVISE,
        nr::ARCH_PRCTL,
        nr::EXECVE,
        nr::EXECVEAT,
        nr::EXIT,
        nr::EXIT_GROUP,
        nr::RT_SIGACTION,
        nr::RT_SIGPROCMASK,
        nr::RT_SIGRETURN,
        nr::SIGALTSTACK,
        nr::CLONE,
        nr::CLONE3,
        nr::FORK,
        nr::VFORK,
        nr::CHDIR,
        nr::SET_ROBUST_LIST,
        nr::SCHED_YIELD,
        nr::SHMAT,
        nr::SHMDT,
    ];
    for n in execute {
        assert_eq!(
            spec(n).unwrap().replay,
            Replay::Execute,
            "{}",
            name(n).unwrap()
        );
    }
    assert_eq!(
        spec(nr::SET_TID_ADDRESS).unwrap().replay,
        Replay::ExecuteThenEmulate
    );
    for n in [
        nr::READ,
        nr::WRITE,
        nr::OPENAT,
        nr::NEWFSTATAT,
        nr::GETPID,
        nr::PRCTL,
        nr::PERSONALITY,
    ] {
        assert_eq!(
            spec(n).unwrap().replay,
            Replay::Emulate,
            "{}",
            name(n).unwrap()
        );
    }
}

#[test]
fn passthrough_is_small_and_never_emulated() {
    let set: Vec<u32> = all()
        .iter()
        .map(|s| s.nr)
        .filter(|&n| passthrough(n))
        .collect();
    assert!(!set.is_empty() && set.len() <= 10, "{set:?}");
    for n in &set {
        assert_eq!(
            spec(*n).unwrap().replay,
            Replay::Execute,
            "{}",
            name(*n).unwrap()
        );
    }
    assert!(passthrough(nr::RT_SIGPROCMASK));
    assert!(!passthrough(nr::READ));
    assert!(!passthrough(nr::SET_TID_ADDRESS));
    assert!(!passthrough(9999));
}

// ---- output ranges ----

#[test]
fn read_outputs_result_bytes() {
    let a = args(&[3, 0x1000, 4096]);
    assert_eq!(output_ranges(nr::READ, &a, 5, NONE), vec![(0x1000, 5)]);
    assert_eq!(output_ranges(nr::READ, &a, 0, NONE), vec![]);
    assert_eq!(output_ranges(nr::READ, &a, -11, NONE), vec![]);
    assert_eq!(output_ranges(nr::PREAD64, &a, 7, NONE), vec![(0x1000, 7)]);
    assert_eq!(
        output_ranges(nr::GETRANDOM, &args(&[0x2000, 16, 0]), 16, NONE),
        vec![(0x2000, 16)]
    );
    // Never trust lengths blindly.
    assert_eq!(
        output_ranges(nr::READ, &a, 1 << 40, NONE),
        vec![(0x1000, 1 << 30)]
    );
    // Unknown syscalls write nothing we know of.
    assert_eq!(output_ranges(999, &a, 5, NONE), vec![]);
}

#[test]
fn stat_family_outputs() {
    assert_eq!(
        output_ranges(nr::FSTAT, &args(&[3, 0x5000]), 0, NONE),
        vec![(0x5000, 144)]
    );
    assert_eq!(
        output_ranges(nr::FSTAT, &args(&[3, 0x5000]), -9, NONE),
        vec![]
    );
    assert_eq!(output_ranges(nr::FSTAT, &args(&[3, 0]), 0, NONE), vec![]);
    assert_eq!(
        output_ranges(
            nr::NEWFSTATAT,
            &args(&[(-100i64) as u64, 0x100, 0x5000, 0]),
            0,
            NONE
        ),
        vec![(0x5000, 144)]
    );
    assert_eq!(
        output_ranges(nr::STATX, &args(&[3, 0x100, 0, 0xfff, 0x6000]), 0, NONE),
        vec![(0x6000, 256)]
    );
    assert_eq!(
        output_ranges(nr::UNAME, &args(&[0x7000]), 0, NONE),
        vec![(0x7000, 390)]
    );
    assert_eq!(
        output_ranges(nr::CLOCK_GETTIME, &args(&[1, 0x7000]), 0, NONE),
        vec![(0x7000, 16)]
    );
    assert_eq!(
        output_ranges(nr::GETRESUID, &args(&[1, 2, 3]), 0, NONE),
        vec![(1, 4), (2, 4), (3, 4)]
    );
    assert_eq!(
        output_ranges(nr::PIPE2, &args(&[0x7000, 0]), 0, NONE),
        vec![(0x7000, 8)]
    );
    assert_eq!(
        output_ranges(
            nr::EPOLL_WAIT,
            &args(&[4, 0x7000, 8, -1i64 as u64]),
            2,
            NONE
        ),
        vec![(0x7000, 24)]
    );
    assert_eq!(
        output_ranges(nr::GETCWD, &args(&[0x7000, 4096]), 6, NONE),
        vec![(0x7000, 6)]
    );
}

#[test]
fn readv_follows_the_iovec_array() {
    let mem = FakeMemory::default().with(
        0x9000,
        &iovecs(&[(0x1000, 4), (0, 0), (0x2000, 10), (0x3000, 8)]),
    );
    let a = args(&[3, 0x9000, 4]);
    assert_eq!(
        output_ranges(nr::READV, &a, 9, &mem),
        vec![(0x1000, 4), (0x2000, 5)]
    );
    assert_eq!(
        output_ranges(nr::READV, &a, 22, &mem),
        vec![(0x1000, 4), (0x2000, 10), (0x3000, 8)]
    );
    assert_eq!(output_ranges(nr::READV, &a, 0, &mem), vec![]);
    assert_eq!(output_ranges(nr::READV, &a, -14, &mem), vec![]);
    assert_eq!(output_ranges(nr::PREADV, &a, 3, &mem), vec![(0x1000, 3)]);
    // Unreadable iovec array: nothing rather than garbage.
    assert_eq!(
        output_ranges(nr::READV, &args(&[3, 0xdead000, 4]), 9, &mem),
        vec![]
    );
}

fn msghdr(
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(name.to_ne_bytes());
    b.extend(namelen.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    b.extend(iov.to_ne_bytes());
    b.extend(iovlen.to_ne_bytes());
    b.extend(control.to_ne_bytes());
    b.extend(controllen.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    assert_eq!(b.len(), 56);
    b
}

#[test]
fn recvmsg_covers_header_name_data_and_control() {
    let mem = FakeMemory::default()
        .with(0x8000, &msghdr(0xa000, 16, 0x9000, 2, 0xb000, 20))
        .with(0x9000, &iovecs(&[(0x1000, 4), (0x2000, 100)]));
    let got = output_ranges(nr::RECVMSG, &args(&[5, 0x8000, 0]), 7, &mem);
    assert_eq!(
        got,
        vec![
            (0x8008, 4),
            (0x8028, 8),
            (0x8030, 4),
            (0xa000, 16),
            (0x1000, 4),
            (0x2000, 3),
            (0xb000, 20)
        ]
    );
    assert_eq!(
        output_ranges(nr::RECVMSG, &args(&[5, 0x8000, 0]), -11, &mem),
        vec![]
    );

    // recvmmsg: one message received, its msg_len (at +56) gives the byte count.
    let mut mm = msghdr(0, 0, 0x9000, 2, 0, 0);
    mm.extend(5u32.to_ne_bytes());
    mm.extend(0u32.to_ne_bytes());
    let mem = FakeMemory::default()
        .with(0x8000, &mm)
        .with(0x9000, &iovecs(&[(0x1000, 4), (0x2000, 100)]));
    let got = output_ranges(nr::RECVMMSG, &args(&[5, 0x8000, 1, 0, 0]), 1, &mem);
    assert_eq!(
        got,
        vec![
            (0x8008, 4),
            (0x8028, 8),
            (0x8030, 4),
            (0x1000, 4),
            (0x2000, 1),
            (0x8038, 4)
        ]
    );
}

#[test]
fn getsockopt_and_socket_addresses_use_the_length_after_the_call() {
    let mem = FakeMemory::default().with(0x4000, &4u32.to_ne_bytes());
    assert_eq!(
        output_ranges(nr::GETSOCKOPT, &args(&[3, 1, 4, 0x3000, 0x4000]), 0, &mem),
        vec![(0x3000, 4), (0x4000, 4)]
    );
    assert_eq!(
        output_ranges(nr::GETSOCKOPT, &args(&[3, 1, 4, 0x3000, 0x4000]), -92, &mem),
        vec![]
    );

    let mem = FakeMemory::default().with(0x4000, &110u32.to_ne_bytes());
    assert_eq!(
        output_ranges(nr::ACCEPT4, &args(&[3, 0x3000, 0x4000, 0]), 7, &mem),
        vec![(0x3000, 110), (0x4000, 4)]
    );
    let mem = FakeMemory::default().with(0x4000, &4000u32.to_ne_bytes());
    assert_eq!(
        output_ranges(nr::GETPEERNAME, &args(&[3, 0x3000, 0x4000]), 0, &mem),
        vec![(0x3000, 128), (0x4000, 4)]
    );
    // accept with NULL address writes nothing.
    assert_eq!(
        output_ranges(nr::ACCEPT, &args(&[3, 0, 0]), 7, &mem),
        vec![]
    );

    let mem = FakeMemory::default().with(0x4000, &16u32.to_ne_bytes());
    assert_eq!(
        output_ranges(
            nr::RECVFROM,
            &args(&[3, 0x1000, 512, 0, 0x3000, 0x4000]),
            12,
            &mem
        ),
        vec![(0x1000, 12), (0x3000, 16), (0x4000, 4)]
    );
}

#[test]
fn poll_and_select() {
    let a = args(&[0x1000, 3, 100]);
    assert_eq!(output_ranges(nr::POLL, &a, 1, NONE), vec![(0x1000, 24)]);
    assert_eq!(output_ranges(nr::POLL, &a, 0, NONE), vec![(0x1000, 24)]);
    assert_eq!(
        output_ranges(nr::POLL, &a, -4, NONE),
        vec![(0x1000, 24)],
        "revents written on EINTR"
    );
    assert_eq!(output_ranges(nr::POLL, &a, -516, NONE), vec![(0x1000, 24)]);
    assert_eq!(output_ranges(nr::POLL, &a, -22, NONE), vec![]);
    assert_eq!(
        output_ranges(nr::PPOLL, &args(&[0x1000, 2, 0x2000, 0, 8]), 1, NONE),
        vec![(0x1000, 16), (0x2000, 16)]
    );

    let a = args(&[65, 0x1000, 0, 0x3000, 0x4000]);
    assert_eq!(
        output_ranges(nr::SELECT, &a, 1, NONE),
        vec![(0x1000, 16), (0x3000, 16), (0x4000, 16)]
    );
    assert_eq!(output_ranges(nr::SELECT, &a, -4, NONE), vec![(0x4000, 16)]);
    assert_eq!(
        output_ranges(nr::PSELECT6, &args(&[1, 0x1000, 0, 0, 0, 0]), 0, NONE),
        vec![(0x1000, 8)]
    );
}

#[test]
fn wait_and_sleep() {
    let a = args(&[-1i64 as u64, 0x1000, 0, 0x2000]);
    assert_eq!(
        output_ranges(nr::WAIT4, &a, 1234, NONE),
        vec![(0x1000, 4), (0x2000, 144)]
    );
    assert_eq!(
        output_ranges(nr::WAIT4, &a, 0, NONE),
        vec![],
        "WNOHANG with nothing to reap"
    );
    assert_eq!(output_ranges(nr::WAIT4, &a, -10, NONE), vec![]);
    assert_eq!(
        output_ranges(nr::WAIT4, &args(&[1, 0x1000, 0, 0]), 1, NONE),
        vec![(0x1000, 4)]
    );
    assert_eq!(
        output_ranges(nr::WAITID, &args(&[0, 0, 0x1000, 4, 0x2000]), 0, NONE),
        vec![(0x1000, 128), (0x2000, 144)]
    );

    let a = args(&[0x1000, 0x2000]);
    assert_eq!(output_ranges(nr::NANOSLEEP, &a, 0, NONE), vec![]);
    assert_eq!(
        output_ranges(nr::NANOSLEEP, &a, -4, NONE),
        vec![(0x2000, 16)]
    );
    assert_eq!(
        output_ranges(nr::NANOSLEEP, &a, -516, NONE),
        vec![(0x2000, 16)]
    );
    assert_eq!(
        output_ranges(
            nr::CLOCK_NANOSLEEP,
            &args(&[1, 0, 0x1000, 0x2000]),
            -4,
            NONE
        ),
        vec![(0x2000, 16)]
    );
    assert_eq!(
        output_ranges(
            nr::CLOCK_NANOSLEEP,
            &args(&[1, 1, 0x1000, 0x2000]),
            -4,
            NONE
        ),
        vec![]
    );
}

#[test]
fn multiplexers() {
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x5401, 0x1000]), 0, NONE),
        vec![(0x1000, 36)]
    );
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x5413, 0x1000]), 0, NONE),
        vec![(0x1000, 8)]
    );
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x540f, 0x1000]), 0, NONE),
        vec![(0x1000, 4)]
    );
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x541b, 0x1000]), 0, NONE),
        vec![(0x1000, 4)]
    );
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x5401, 0x1000]), -25, NONE),
        vec![]
    );
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x5402, 0x1000]), 0, NONE),
        vec![],
        "TCSETS writes nothing"
    );
    // _IOR('T', 0x30, unsigned int) = TIOCGPTN
    assert_eq!(
        output_ranges(nr::IOCTL, &args(&[0, 0x8004_5430, 0x1000]), 0, NONE),
        vec![(0x1000, 4)]
    );
    assert_eq!(
        output_ranges(nr::FCNTL, &args(&[3, 5, 0x1000]), 0, NONE),
        vec![(0x1000, 32)]
    );
    assert_eq!(output_ranges(nr::FCNTL, &args(&[3, 3, 0]), 2, NONE), vec![]);
    assert_eq!(
        output_ranges(nr::PRCTL, &args(&[16, 0x1000]), 0, NONE),
        vec![(0x1000, 16)]
    );
    assert_eq!(
        output_ranges(nr::ARCH_PRCTL, &args(&[0x1003, 0x1000]), 0, NONE),
        vec![(0x1000, 8)]
    );
    assert_eq!(
        output_ranges(nr::ARCH_PRCTL, &args(&[0x1002, 0x1000]), 0, NONE),
        vec![]
    );
}

#[test]
fn ids_and_xattrs() {
    assert_eq!(
        output_ranges(nr::GETGROUPS, &args(&[32, 0x1000]), 3, NONE),
        vec![(0x1000, 12)]
    );
    assert_eq!(
        output_ranges(nr::GETGROUPS, &args(&[0, 0x1000]), 3, NONE),
        vec![],
        "size query"
    );
    let mem = FakeMemory::default().with(0x2000, &0x2008_0522u32.to_ne_bytes());
    assert_eq!(
        output_ranges(nr::CAPGET, &args(&[0x2000, 0x3000]), 0, &mem),
        vec![(0x3000, 24)]
    );
    assert_eq!(
        output_ranges(nr::CAPGET, &args(&[0x2000, 0x3000]), -22, &mem),
        vec![(0x2000, 4)]
    );
    assert_eq!(
        output_ranges(nr::FGETXATTR, &args(&[3, 0x100, 0x1000, 64]), 10, NONE),
        vec![(0x1000, 10)]
    );
    assert_eq!(
        output_ranges(nr::FGETXATTR, &args(&[3, 0x100, 0x1000, 0]), 10, NONE),
        vec![]
    );
    assert_eq!(
        output_ranges(nr::PRLIMIT64, &args(&[0, 7, 0, 0x1000]), 0, NONE),
        vec![(0x1000, 16)]
    );
    assert_eq!(
        output_ranges(nr::SCHED_GETAFFINITY, &args(&[0, 128, 0x1000]), 8, NONE),
        vec![(0x1000, 8)]
    );
    assert_eq!(
        output_ranges(nr::MINCORE, &args(&[0x10000, 4097, 0x1000]), 0, NONE),
        vec![(0x1000, 2)]
    );
}

// ---- input ranges ----

#[test]
fn input_ranges_for_paths_and_buffers() {
    let mem = FakeMemory::default().with(0x1000, b"/etc/passwd\0junk");
    let a = args(&[(-100i64) as u64, 0x1000, 0o2000000]);
    assert_eq!(input_ranges(nr::OPENAT, &a, &mem), vec![(0x1000, 12)]);
    assert_eq!(input_ranges(nr::OPENAT, &args(&[0, 0, 0]), &mem), vec![]);
    assert_eq!(
        input_ranges(nr::WRITE, &args(&[1, 0x5000, 6]), NONE),
        vec![(0x5000, 6)]
    );
    assert_eq!(
        input_ranges(nr::WRITE, &args(&[1, 0x5000, 0]), NONE),
        vec![]
    );
    assert_eq!(input_ranges(nr::READ, &args(&[1, 0x5000, 6]), NONE), vec![]);

    let mem = FakeMemory::default().with(0x9000, &iovecs(&[(0x1000, 4), (0x2000, 0), (0x3000, 8)]));
    assert_eq!(
        input_ranges(nr::WRITEV, &args(&[1, 0x9000, 3]), &mem),
        vec![(0x1000, 4), (0x3000, 8)]
    );

    let mem = FakeMemory::default()
        .with(0x8000, &msghdr(0xa000, 16, 0x9000, 1, 0, 0))
        .with(0x9000, &iovecs(&[(0x1000, 5)]));
    assert_eq!(
        input_ranges(nr::SENDMSG, &args(&[3, 0x8000, 0]), &mem),
        vec![(0xa000, 16), (0x1000, 5)]
    );
}

#[test]
fn strings_stop_at_unreadable_memory_and_at_4096_bytes() {
    // A string ending right before an unmapped page, without a NUL.
    let mem = FakeMemory::default().with(0x1ffc, b"abcd");
    assert_eq!(
        input_ranges(nr::CHDIR, &args(&[0x1ffc]), &mem),
        vec![(0x1ffc, 4)]
    );
    // A string crossing a page boundary.
    let mut bytes = vec![b'x'; 100];
    bytes.push(0);
    let mem = FakeMemory::default().with(0x1fd0, &bytes);
    assert_eq!(
        input_ranges(nr::UNLINK, &args(&[0x1fd0]), &mem),
        vec![(0x1fd0, 101)]
    );
    // Longer than 4096 bytes: cut.
    let mem = FakeMemory::default().with(0x1000, &vec![b'y'; 10000]);
    assert_eq!(
        input_ranges(nr::MKDIR, &args(&[0x1000, 0o755]), &mem),
        vec![(0x1000, 4096)]
    );
    // Unmapped: nothing.
    assert_eq!(
        input_ranges(nr::MKDIR, &args(&[0x1000, 0o755]), NONE),
        vec![]
    );
}

// ---- formatting ----

#[test]
fn format_openat() {
    let a = args(&[(-100i64) as u64, 0x1000, 0o2000000, 0]);
    assert_eq!(
        format_call(nr::OPENAT, &a, &[]),
        "openat(AT_FDCWD, 0x1000, O_RDONLY|O_CLOEXEC)"
    );
    let inputs: &[(u64, &[u8])] = &[(0x1000, b"/etc/passwd\0")];
    assert_eq!(
        format_call(nr::OPENAT, &a, inputs),
        "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"
    );
    let a = args(&[3, 0x1000, 0o1101, 0o644]);
    assert_eq!(
        format_call(nr::OPENAT, &a, inputs),
        "openat(3, \"/etc/passwd\", O_WRONLY|O_CREAT|O_TRUNC, 0644)"
    );
}

#[test]
fn format_other_calls() {
    let inputs: &[(u64, &[u8])] = &[(0x5000, b"hello\n")];
    assert_eq!(
        format_call(nr::WRITE, &args(&[1, 0x5000, 6]), inputs),
        "write(1, \"hello\\n\", 6)"
    );
    let long = [b'a'; 40];
    let inputs: &[(u64, &[u8])] = &[(0x5000, &long)];
    assert_eq!(
        format_call(nr::WRITE, &args(&[1, 0x5000, 40]), inputs),
        format!("write(1, \"{}\"..., 40)", "a".repeat(32))
    );
    assert_eq!(
        format_call(nr::READ, &args(&[0, 0x5000, 10]), &[]),
        "read(0, 0x5000, 10)"
    );
    assert_eq!(
        format_call(nr::MMAP, &args(&[0, 4096, 3, 0x22, -1i64 as u64, 0]), &[]),
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
    );
    assert_eq!(
        format_call(nr::EXIT_GROUP, &args(&[0]), &[]),
        "exit_group(0)"
    );
    assert_eq!(format_call(nr::GETPID, &args(&[]), &[]), "getpid()");
    assert_eq!(
        format_call(nr::KILL, &args(&[42, 9]), &[]),
        "kill(42, SIGKILL)"
    );
    assert_eq!(
        format_call(nr::FCNTL, &args(&[3, 3, 0]), &[]),
        "fcntl(3, F_GETFL)"
    );
    assert_eq!(
        format_call(nr::FCNTL, &args(&[3, 2, 1]), &[]),
        "fcntl(3, F_SETFD, 0x1)"
    );
    assert_eq!(
        format_call(nr::IOCTL, &args(&[1, 0x5401, 0x7ffc]), &[]),
        "ioctl(1, TCGETS, 0x7ffc)"
    );
    assert_eq!(
        format_call(nr::FUTEX, &args(&[0x1000, 0x80, 1, 0, 0, 0]), &[]),
        "futex(0x1000, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)"
    );
    assert_eq!(
        format_call(nr::CLONE, &args(&[0x1200011, 0, 0, 0x7000, 0]), &[]),
        "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, 0x7000, 0)"
    );
    assert_eq!(
        format_call(nr::SOCKET, &args(&[1, 0o2000001, 0]), &[]),
        "socket(AF_UNIX, SOCK_STREAM|O_CLOEXEC, 0)"
    );
    assert_eq!(
        format_call(nr::CLOCK_GETTIME, &args(&[1, 0x1000]), &[]),
        "clock_gettime(CLOCK_MONOTONIC, 0x1000)"
    );
    assert_eq!(
        format_call(nr::ACCESS, &args(&[0x1000, 4]), &[]),
        "access(0x1000, R_OK)"
    );
    assert_eq!(
        format_call(nr::MKDIR, &args(&[0x1000, 0o755]), &[]),
        "mkdir(0x1000, 0755)"
    );
    assert_eq!(
        format_call(999, &args(&[1, 0, 0xff]), &[]),
        "syscall_999(0x1, 0, 0xff, 0, 0, 0)"
    );
}

#[test]
fn format_results() {
    assert_eq!(format_result(nr::OPENAT, 3), "3");
    assert_eq!(
        format_result(nr::OPENAT, -2),
        "-1 ENOENT (No such file or directory)"
    );
    assert_eq!(
        format_result(nr::READ, -11),
        "-1 EAGAIN (Resource temporarily unavailable)"
    );
    assert_eq!(format_result(nr::MMAP, 0x7f00_0000_1000), "0x7f0000001000");
    assert_eq!(
        format_result(nr::MMAP, -12),
        "-1 ENOMEM (Cannot allocate memory)"
    );
    assert_eq!(format_result(nr::BRK, 0x55_0000), "0x550000");
    assert_eq!(
        format_result(nr::NANOSLEEP, -516),
        "-1 ERESTART_RESTARTBLOCK (Interrupted by signal)"
    );
    assert_eq!(format_result(nr::READ, -4000), "-1 errno 4000");
    assert_eq!(format_result(nr::LSEEK, -5000), "-5000");
}

#[test]
fn escaping() {
    assert_eq!(escape_bytes(b"hello", 32), "hello");
    assert_eq!(
        escape_bytes(b"a\nb\tc\rd\"e\\f", 32),
        "a\\nb\\tc\\rd\\\"e\\\\f"
    );
    assert_eq!(escape_bytes(b"\0\x01\x7f\xff", 32), "\\000\\001\\177\\377");
    assert_eq!(escape_bytes(b"abcdef", 3), "abc...");
    assert_eq!(escape_bytes(b"abc", 3), "abc");
    assert_eq!(escape_bytes(b"", 3), "");
}

#[test]
fn errno_and_signal_names() {
    assert_eq!(errno_name(1), Some("EPERM"));
    assert_eq!(errno_name(2), Some("ENOENT"));
    assert_eq!(errno_name(38), Some("ENOSYS"));
    assert_eq!(errno_name(133), Some("EHWPOISON"));
    assert_eq!(errno_name(512), Some("ERESTARTSYS"));
    assert_eq!(errno_name(0), None);
    assert_eq!(errno_name(41), None);
    assert_eq!(signal_name(11), Some("SIGSEGV"));
    assert_eq!(signal_name(17), Some("SIGCHLD"));
    assert_eq!(signal_name(31), Some("SIGSYS"));
    assert_eq!(signal_name(32), Some("SIGRTMIN"));
    assert_eq!(signal_name(34), Some("SIGRT_2"));
    assert_eq!(signal_name(64), Some("SIGRTMAX"));
    assert_eq!(signal_name(0), None);
    assert_eq!(signal_name(65), None);
}
