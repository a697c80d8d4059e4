//! Mechanisms shared by the recorder and the replayer: how a tracee is
//! started, how a syscall is skipped, how trapped rdtsc is emulated.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use scribe_trace::{Event, Header, RandomRecord, RdtscRecord, StackDigest};
use scribe_tracee::{self as tracee, Regs, SeccompFilter, SpawnConfig, Tid, TraceeMemory};

/// ENOSYS.
pub const ENOSYS: i32 = 38;
/// EINTR.
pub const EINTR: i32 = 4;
/// EPERM.
pub const EPERM: i32 = 1;
/// EINVAL.
pub const EINVAL: i32 = 22;
/// EXDEV.
pub const EXDEV: i32 = 18;
/// EAGAIN.
pub const EAGAIN: i32 = 11;
/// EFAULT.
pub const EFAULT: i32 = 14;
/// The kernel's "restart this syscall after the signal handler" code.
pub const ERESTARTNOINTR: i64 = -513;

/// Whether `result` is one of the kernel's restart codes (ERESTARTSYS,
/// ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK): a syscall a
/// signal interrupted, which the kernel restarts or turns into EINTR.
pub fn is_restart_code(result: i64) -> bool {
    matches!(result, -512 | -513 | -514 | -516)
}
/// SIGKILL.
pub const SIGKILL: i32 = 9;
/// SIGSTOP.
pub const SIGSTOP: i32 = 19;
/// SIGTRAP.
pub const SIGTRAP: i32 = 5;
/// SIGSEGV.
pub const SIGSEGV: i32 = 11;
/// SIGILL.
pub const SIGILL: i32 = 4;
/// SIGBUS.
pub const SIGBUS: i32 = 7;
/// SIGUSR1: to the replayer, go live.
pub const SIGUSR1: i32 = 10;
/// The kernel's first real-time signal: those below it are standard.
pub const SIGRTMIN: i32 = 32;
/// personality's ADDR_NO_RANDOMIZE: no address space randomization, which
/// Scribe sets for the recorded program and keeps set (see [`personality_kept`]).
pub const ADDR_NO_RANDOMIZE: u64 = 0x0040000;

/// The persona a personality call with argument `persona` sets, as Scribe
/// makes it in record and replay alike: with ADDR_NO_RANDOMIZE, since a
/// program exec'd at random addresses (`setarch`, which clears it) cannot
/// be replayed at the same ones. A query (0xffffffff) is left as it is.
pub fn personality_kept(persona: u64) -> u64 {
    if persona as u32 == u32::MAX {
        persona
    } else {
        persona | ADDR_NO_RANDOMIZE
    }
}

/// Whether `setrlimit`/`prlimit64` with these arguments sets a limit that
/// shapes the memory layout or brk and mmap results (stack, data, address
/// space) of the calling process: replay makes such a call too, since it
/// makes those calls and execs for real (`ulimit -s unlimited` gives the
/// next exec the legacy layout; a data limit fails a brk).
pub fn sets_memory_limit(nr: u32, args: &[u64; 6]) -> bool {
    const RLIMIT_DATA: u64 = 2;
    const RLIMIT_STACK: u64 = 3;
    const RLIMIT_AS: u64 = 9;
    let memory = |resource: u64| matches!(resource, RLIMIT_DATA | RLIMIT_STACK | RLIMIT_AS);
    match nr {
        scribe_syscalls::nr::SETRLIMIT => memory(args[0]),
        scribe_syscalls::nr::PRLIMIT64 => args[0] == 0 && args[2] != 0 && memory(args[1]),
        _ => false,
    }
}

/// CLONE_VM: the new task shares the address space instead of copying it.
pub const CLONE_VM: u64 = 0x100;
/// MAP_ANONYMOUS.
pub const MAP_ANONYMOUS: u64 = 0x20;
/// MAP_SHARED.
pub const MAP_SHARED: u64 = 0x01;
/// MAP_PRIVATE.
pub const MAP_PRIVATE: u64 = 0x02;
/// MAP_FIXED.
pub const MAP_FIXED: u64 = 0x10;
/// MAP_FIXED_NOREPLACE.
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;
/// The mapping-type bits of mmap's flags (shared, private, shared-validate).
pub const MAP_TYPE: u64 = 0x03;
/// PROT_WRITE.
pub const PROT_WRITE: u64 = 0x02;

/// Whether mmap `flags` map a file shared (MAP_SHARED or
/// MAP_SHARED_VALIDATE, not anonymous).
pub fn maps_file_shared(flags: u64) -> bool {
    flags & MAP_ANONYMOUS == 0 && flags & MAP_TYPE != MAP_PRIVATE
}

/// How a program (or task) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(code).
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
}

impl ExitStatus {
    /// The status a shell would report: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

/// The syscalls that run without stopping the tracee, in record and replay,
/// for a trace of format `version` recorded at `level`.
pub fn passthrough_syscalls(level: u8, version: u32) -> Vec<u32> {
    // rt_sigprocmask and sched_yield stay traced even though they need no
    // recording: unblocking a pending signal must be a sync point where its
    // delivery can be placed, and a yielding thread lets others of its
    // process run.
    let mut list: Vec<u32> = scribe_syscalls::all()
        .iter()
        .map(|s| s.nr)
        .filter(|&nr| scribe_syscalls::passthrough(nr))
        .filter(|&nr| nr != scribe_syscalls::nr::RT_SIGPROCMASK && nr != scribe_syscalls::nr::SCHED_YIELD)
        .collect();
    // rt_sigaction only changes the process's own signal table, which
    // replay rebuilds by running the same calls: since format 4 it stops
    // only when the recording keeps strace-like detail (level 1 and up).
    // A compiler driver makes hundreds of them (make -j2: 1400).
    if level == 0 && version >= 4 {
        list.push(scribe_syscalls::nr::RT_SIGACTION);
    }
    list
}

/// Whether rt_sigprocmask calls that only ask for the mask or block more
/// signals run without stopping, for a trace of format `version` recorded
/// at `level`: since format 15, when the trace keeps no strace-like
/// detail. A shell blocks signals around every fork and wait (a `python3`
/// found through a shell wrapper: 560 calls, half of them blocks).
pub fn sigmask_blocks_pass(level: u8, version: u32) -> bool {
    level == 0 && version >= 15
}

/// How to start the program described by a trace header, of format
/// `version`.
pub fn spawn_config(header: &Header, version: u32) -> SpawnConfig {
    SpawnConfig {
        program: PathBuf::from(std::ffi::OsStr::from_bytes(&header.exe_path)),
        argv: header.argv.clone(),
        env: header.env.clone(),
        cwd: Some(PathBuf::from(std::ffi::OsStr::from_bytes(&header.cwd))),
        filter: SeccompFilter::new(
            &passthrough_syscalls(header.level, version),
            scribe_bufabi::UNTRACED_SYSCALL_IP,
            sigmask_blocks_pass(header.level, version),
        ),
        disable_aslr: true,
        trap_tsc: true,
        ignored_signals: header.ignored_signals,
        stack_limit: header.stack_limit,
    }
}


/// Makes the syscall a task is stopped at (seccomp stop) not run, returning
/// `result` instead (see seccomp(2), SECCOMP_RET_TRACE).
pub fn skip_syscall(tid: Tid, mut regs: Regs, result: i64) -> scribe_tracee::Result<()> {
    regs.orig_rax = u64::MAX;
    regs.rax = result as u64;
    tracee::set_regs(tid, &regs)
}

/// A digest of the registers that are deterministic at a syscall entry.
pub fn regs_digest(regs: &Regs) -> u64 {
    // FNV-1a over the registers a replay must reproduce; rax (-ENOSYS at the
    // stop), rcx/r11 (clobbered by `syscall`) and eflags are left out.
    let words = [
        regs.rbx, regs.rbp, regs.r12, regs.r13, regs.r14, regs.r15, regs.rdi, regs.rsi, regs.rdx, regs.r10,
        regs.r8, regs.r9, regs.rip, regs.rsp, regs.fs_base,
    ];
    fnv1a(words.iter().flat_map(|w| w.to_le_bytes()))
}

/// A digest of every general register, rip and the arithmetic flags.
pub fn all_regs_digest(regs: &Regs) -> u64 {
    let words = [
        regs.r15, regs.r14, regs.r13, regs.r12, regs.rbp, regs.rbx, regs.r11, regs.r10, regs.r9, regs.r8, regs.rax,
        regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rip, regs.rsp, regs.eflags & crate::point::FLAGS_MASK,
    ];
    fnv1a(words.iter().flat_map(|w| w.to_le_bytes()))
}

/// The FNV-1a offset basis: the hash of nothing.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over a byte stream.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    fnv1a_more(FNV_OFFSET, bytes)
}

/// Continues an FNV-1a hash with more bytes, so a digest can be taken over
/// memory read piece by piece.
fn fnv1a_more(hash: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(hash, |hash, b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// FNV-1a taken a 64-bit little-endian word at a time (the tail byte by
/// byte): the same fold with eight times fewer multiplications, which is
/// what makes digesting tens of megabytes of memory affordable.
fn fnv1a_words(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8-byte chunk"));
        hash = (hash ^ word).wrapping_mul(0x0100_0000_01b3);
    }
    fnv1a_more(hash, words.remainder().iter().copied())
}

/// Addresses of Scribe's own in-process syscall buffer (see
/// `scribe-bufabi`): what Scribe keeps there differs between record and
/// replay and is not the program's state, so state digests leave it out.
pub const SCRIBE_PAGE_RANGE: std::ops::Range<u64> =
    scribe_bufabi::REGION_START..scribe_bufabi::REGION_START + scribe_bufabi::REGION_LEN;

/// Kernel-provided mappings whose content is not the program's state.
const KERNEL_MAPPINGS: &[&str] = &["[vvar]", "[vvar_vclock]", "[vsyscall]", "[vdso]"];

/// The address ranges a state digest covers: writable private mappings,
/// without kernel pages, Scribe's own page and the `skip` ranges, with
/// adjacent mappings joined.
///
/// Joining matters because replay maps a file's private writable part as
/// anonymous memory: where the recording had a file mapping followed by an
/// anonymous one (.data then .bss), the replay's kernel may merge the two
/// into one line of /proc/PID/maps.
pub fn digest_ranges(maps: &[crate::procfs::Mapping], skip: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut pieces: Vec<(u64, u64)> = maps
        .iter()
        .filter(|m| m.perms.starts_with("rw") && m.perms.ends_with('p'))
        .filter(|m| !KERNEL_MAPPINGS.contains(&m.path.as_str()))
        .filter(|m| m.end <= SCRIBE_PAGE_RANGE.start || m.start >= SCRIBE_PAGE_RANGE.end)
        .map(|m| (m.start, m.end))
        .collect();
    for &(skip_start, skip_end) in skip {
        pieces = pieces
            .into_iter()
            .flat_map(|(start, end)| {
                if end <= skip_start || start >= skip_end {
                    return vec![(start, end)];
                }
                [(start, skip_start), (skip_end, end)].into_iter().filter(|(s, e)| s < e).collect()
            })
            .collect();
    }
    pieces.sort_unstable();
    let mut joined: Vec<(u64, u64)> = Vec::with_capacity(pieces.len());
    for (start, end) in pieces {
        match joined.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => joined.push((start, end)),
        }
    }
    joined
}

/// FNV-1a over the bounds and content of `ranges` of a process's memory.
/// A page that cannot be read (a file mapping past the end of its file)
/// counts as a marker, so the digest is still taken over the rest.
pub fn memory_digest(mem: &TraceeMemory, ranges: &[(u64, u64)]) -> u64 {
    const PIECE: u64 = 1 << 20;
    const PAGE: u64 = 4096;
    let mut hash = FNV_OFFSET;
    for &(start, end) in ranges {
        hash = fnv1a_more(hash, start.to_le_bytes().into_iter().chain(end.to_le_bytes()));
        let mut at = start;
        while at < end {
            let want = (end - at).min(PIECE);
            let bytes = mem.read_partial(at, want as usize);
            hash = fnv1a_words(hash, &bytes);
            at += bytes.len() as u64;
            if (bytes.len() as u64) < want {
                hash = fnv1a_more(hash, *b"unreadable");
                at = (at / PAGE + 1) * PAGE;
            }
        }
    }
    hash
}

/// Clears the fault fields (`err`, `trapno`, `cr2`) and the saved resume
/// flag of the signal frame an `rt_sigreturn` entered with stack pointer
/// `rsp` returns from.
///
/// The kernel fills them from the thread's last trap, whatever the
/// signal: after a recorder's probe that was a hardware breakpoint (trap
/// 1), after replay's in-task check an `int3` (trap 3). sigreturn does not
/// read them, but the frame stays on the stack below the stack pointer,
/// where bookmark digests saw the difference until something overwrote it
/// (make under `--chaos`: 14 bookmarks in a row). Both modes clear them at
/// every rt_sigreturn; a frame built for an asynchronous signal has them
/// cleared at the handler's first instruction already (see
/// [`resume_delivering`]), so only a fault's frame keeps what the kernel
/// wrote until then, which is the same in both modes.
pub fn clear_signal_frame_fault_fields(mem: &TraceeMemory, rsp: u64) {
    // The frame starts 8 bytes below: the handler's return popped the
    // restorer's address.
    clear_frame_fault_fields(mem, rsp.wrapping_sub(8));
}

/// Offset of the sigcontext in an x86-64 `rt_sigframe`: after the
/// restorer's address, the ucontext's flags, link and stack (40 bytes).
const FRAME_SIGCONTEXT: u64 = 8 + 40;
/// Offsets in the sigcontext of the saved stack pointer, instruction
/// pointer, flags, error code (then trapno) and cr2.
const SIGCONTEXT_RSP: u64 = 120;
const SIGCONTEXT_RIP: u64 = 128;
const SIGCONTEXT_EFLAGS: u64 = 136;
const SIGCONTEXT_ERR: u64 = 152;
const SIGCONTEXT_CR2: u64 = 176;

/// Clears the fault fields and the saved resume flag of the signal frame
/// at `frame` (where the handler's stack pointer was at its entry).
fn clear_frame_fault_fields(mem: &TraceeMemory, frame: u64) {
    let sigcontext = frame.wrapping_add(FRAME_SIGCONTEXT);
    // A frame that cannot be written cannot be returned from either: the
    // sigreturn fails the same way in both modes.
    let _ = mem.write(sigcontext.wrapping_add(SIGCONTEXT_ERR), &[0; 16]);
    let _ = mem.write(sigcontext.wrapping_add(SIGCONTEXT_CR2), &[0; 8]);
    // The saved flags have the resume flag set where the signal came right
    // after a hardware breakpoint (a recorder's probe) and not after
    // replay's int3. It only keeps a breakpoint on the very next
    // instruction from firing, and neither mode leaves one armed there.
    if let Ok(flags) = mem.read_u64(sigcontext.wrapping_add(SIGCONTEXT_EFLAGS)) {
        if flags & EFLAGS_RF != 0 {
            let _ = mem.write(sigcontext.wrapping_add(SIGCONTEXT_EFLAGS), &(flags & !EFLAGS_RF).to_le_bytes());
        }
    }
}

/// Where a task was when it was given a signal its handler will take: the
/// handler's frame saves it, which tells the stop at the handler's first
/// instruction from any other SIGTRAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerEntry {
    rip: u64,
    rsp: u64,
}

/// Resumes `tid`, stopped at the delivery of signal `sig` (0 for none),
/// with it, for a trace of format `version`. An asynchronous signal that a
/// handler of the program's will take is delivered by one instruction step
/// instead: the kernel then stops the task at the handler's first
/// instruction (returned here, to be passed to [`finish_handler_entry`]
/// at that SIGTRAP stop).
///
/// The kernel writes the thread's last trap (number, error code, fault
/// address, and the resume flag a hardware breakpoint leaves) into every
/// frame it builds, and the tracer's own traps differ between the modes:
/// the recorder's probes are hardware breakpoints, replay's in-task checks
/// int3. A handler that reads its context, or a bookmark taken while it
/// runs, saw the difference. Cleared at its entry in both modes, the frame
/// has what an untraced program's has: zeros. One stop more per handled
/// signal; a fault's frame, the same in both modes, is left alone.
pub fn resume_delivering(tid: Tid, sig: i32, version: u32) -> scribe_tracee::Result<Option<HandlerEntry>> {
    // Traces before format 17 were recorded without the step.
    if sig <= 0 || sig == SIGKILL || sig > 64 || version < 17 {
        return tracee::cont(tid, sig).map(|()| None);
    }
    let bit = 1u64 << (sig - 1);
    let takes_handler = tracee::get_siginfo(tid).is_ok_and(|info| !is_fault(sig, &info))
        && crate::procfs::caught_signals(tid).is_some_and(|caught| caught & bit != 0)
        // A blocked signal is queued again, not delivered now.
        && tracee::get_sigmask(tid).is_ok_and(|blocked| blocked & bit == 0);
    if !takes_handler {
        return tracee::cont(tid, sig).map(|()| None);
    }
    let regs = tracee::get_regs(tid)?;
    tracee::step(tid, sig)?;
    Ok(Some(HandlerEntry { rip: regs.rip, rsp: regs.rsp }))
}

/// At a SIGTRAP stop of `tid` (registers `regs`): if it is the stop at
/// the handler's first instruction that [`resume_delivering`] made due in
/// `expected` (taken either way), clears the frame's fault fields, resumes
/// the task and returns true.
pub fn finish_handler_entry(
    tid: Tid,
    mem: &TraceeMemory,
    expected: &mut Option<HandlerEntry>,
    regs: &Regs,
) -> scribe_tracee::Result<bool> {
    let Some(entry) = expected.take() else { return Ok(false) };
    // The kernel reports that stop with SIGTRAP as its code; a step's own
    // trap (the signal was not taken after all) has TRAP_TRACE.
    if !tracee::get_siginfo(tid).is_ok_and(|info| siginfo_code(&info) == SIGTRAP) {
        return Ok(false);
    }
    let frame = regs.rsp;
    let sigcontext = frame.wrapping_add(FRAME_SIGCONTEXT);
    let saved_rsp = mem.read_u64(sigcontext.wrapping_add(SIGCONTEXT_RSP)).ok();
    let saved_rip = mem.read_u64(sigcontext.wrapping_add(SIGCONTEXT_RIP)).ok();
    // A restarted syscall's frame returns to the syscall instruction, two
    // bytes back.
    let saves_entry = saved_rsp == Some(entry.rsp)
        && saved_rip.is_some_and(|rip| rip == entry.rip || rip == entry.rip.wrapping_sub(2));
    if !saves_entry {
        return Ok(false);
    }
    clear_frame_fault_fields(mem, frame);
    // The handler starts with the vector registers in their initial
    // state, and this stop may or may not have had the kernel reload them
    // (see `mark_fp_state_in_use`).
    let _ = tracee::mark_fp_state_in_use(tid);
    tracee::cont(tid, 0)?;
    Ok(true)
}

/// Environment variable naming a directory where each bookmark's state
/// digest also writes the memory it covered, in record and in replay, to
/// compare the two where they disagree (see [`dump_digested_memory`]).
pub const DIGEST_DUMP_ENV: &str = "SCRIBE_DIGEST_DUMP";

/// With [`DIGEST_DUMP_ENV`] set, writes `ranges` of a process's memory to
/// `{mode}-b{bookmark}-p{pid}.bin` in that directory: for each range its
/// start and length (u64, little-endian), then its bytes. A diagnostic:
/// failures to write are ignored.
pub fn dump_digested_memory(mode: &str, bookmark: u32, pid: Tid, mem: &TraceeMemory, ranges: &[(u64, u64)]) {
    let Some(dir) = std::env::var_os(DIGEST_DUMP_ENV) else { return };
    let mut out = Vec::new();
    for &(start, end) in ranges {
        let bytes = mem.read_partial(start, (end - start) as usize);
        out.extend(start.to_le_bytes());
        out.extend((bytes.len() as u64).to_le_bytes());
        out.extend(bytes);
    }
    let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{mode}-b{bookmark}-p{pid}.bin")), out);
}

/// Combines the entry register digests of a process's tasks, given in tid
/// order (`None` for a task that has made no syscall yet).
pub fn tasks_digest(tasks: impl IntoIterator<Item = (Tid, Option<u64>)>) -> u64 {
    tasks.into_iter().fold(FNV_OFFSET, |hash, (tid, digest)| {
        fnv1a_more(hash, tid.to_le_bytes().into_iter().chain(digest.unwrap_or(0).to_le_bytes()))
    })
}

/// Identifies a point of a task's execution well enough to find it again:
/// every general register (flags without the resume and trap bits) and the
/// top 64 bytes of the stack. A spin loop that makes no progress looks the
/// same at each iteration, so any of them is an equivalent point.
pub fn fingerprint(regs: &Regs, mem: &TraceeMemory) -> u64 {
    const RF_TF: u64 = 0x10000 | 0x100;
    let words = [
        regs.r15, regs.r14, regs.r13, regs.r12, regs.rbp, regs.rbx, regs.r11, regs.r10, regs.r9, regs.r8, regs.rax,
        regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rip, regs.eflags & !RF_TF, regs.rsp, regs.fs_base,
    ];
    fnv1a(words.iter().flat_map(|w| w.to_le_bytes()).chain(mem.read_partial(regs.rsp, 64)))
}

/// [`fingerprint`] plus 1 KiB of stack and the 32 bytes each general
/// register points to (when it points into mapped memory): what a point
/// records since trace format 4. Registers and the top of the stack can
/// repeat from one pass of a loop to another while the data the loop works
/// on differs (an interpreter's dispatch loop with objects reused from a
/// free list; a caller's loop counter kept deeper in its frame); a replay
/// that took such an earlier pass for the point went another way. The
/// callers' frames and the data registers point to tell those passes apart
/// much more often.
pub fn deep_fingerprint(regs: &Regs, mem: &TraceeMemory) -> u64 {
    deep_fingerprint_with(regs, mem, &[], PointedReads::CURRENT)
}

/// How a point's pointed memory is read, by trace format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointedReads {
    /// As the task could read it (format 20 on; see [`deep_fingerprint_with`]).
    pub as_task: bool,
    /// Not behind a register that points into Scribe's own pages (format
    /// 21 on): the stub page (record-mode stub when recording, the replay
    /// one in replay), the header and the records (a batch is written call
    /// by call when recording and loaded whole in replay) differ between
    /// the modes; ld.so once left r9 at 0x70000025 ([`SCRIBE_PAGE_RANGE`]).
    pub skip_scribe_pages: bool,
}

impl PointedReads {
    /// What this Scribe records.
    pub const CURRENT: PointedReads = PointedReads { as_task: true, skip_scribe_pages: true };

    /// What a trace of format `version` recorded.
    pub fn of_format(version: u32) -> PointedReads {
        PointedReads { as_task: version >= 20, skip_scribe_pages: version >= 21 }
    }

    /// Whether a register holding `addr` has pointed memory in a point's
    /// state and fingerprint.
    pub fn reads_behind(self, addr: u64) -> bool {
        (0x10000..0x0000_8000_0000_0000).contains(&addr) && !(self.skip_scribe_pages && SCRIBE_PAGE_RANGE.contains(&addr))
    }
}

/// [`deep_fingerprint`] as if the bytes at each `patched.0` were
/// `patched.1`, as they were in the recording: replay's in-task check has
/// replaced the code at the point, and a register may point there (a
/// function called through a register starts with rax holding its own
/// address); and replay runs its own stub in Scribe's stub page (see
/// [`crate::syscallbuf::record_stub_view`]), where a register may point
/// too (ld.so loading a library had r9 at 0x70000025).
///
/// `reads.as_task` (trace format 20 on): the pointed bytes are read as the task
/// could read them. Read through /proc, an address in the gap below the
/// main thread's stack (V8 keeps such addresses in registers) grew the
/// stack mapping down to it, in the recording at every probe but in replay
/// only at a breakpoint hit, not when an in-task check found the point: a
/// node worker pool's bookmark then had a 1 MiB stack mapping in the
/// recording and a 132 KiB one in replay.
pub fn deep_fingerprint_with(regs: &Regs, mem: &TraceeMemory, patched: &[(u64, &[u8])], reads: PointedReads) -> u64 {
    let pointers = [
        regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.r8, regs.r9, regs.r10, regs.r11,
        regs.r12, regs.r13, regs.r14, regs.r15,
    ];
    let mut hash = fnv1a_words(fingerprint(regs, mem), &mem.read_partial(regs.rsp, 1024));
    for p in pointers.into_iter().filter(|&p| reads.reads_behind(p)) {
        let mut bytes = if reads.as_task { mem.read_partial_as_task(p, 32) } else { mem.read_partial(p, 32) };
        for &(at, original) in patched {
            for (i, b) in bytes.iter_mut().enumerate() {
                let addr = p + i as u64;
                if addr >= at && addr < at + original.len() as u64 {
                    *b = original[(addr - at) as usize];
                }
            }
        }
        hash = fnv1a_more(hash, bytes);
    }
    hash
}

/// The most stack a point's [`StackDigest`] covers.
pub const STACK_DIGEST_MAX: u64 = 64 * 1024;

/// The digest of the stack above a point at `regs` (trace format 22): from
/// the stack pointer to the end of its mapping in `maps`, at most
/// [`STACK_DIGEST_MAX`], read as the task could read it. A loop's count kept
/// in a caller's frame, beyond the 1 KiB its state holds (a JVM's
/// interpreted loop entering the compiler's policy code with the same
/// registers every thousand passes), tells its passes apart; replay taking
/// an earlier one stopped the thread there, and a bookmark after it saw
/// other memory. `None` if the stack pointer is in no readable mapping.
pub fn stack_digest(regs: &Regs, mem: &TraceeMemory, maps: &[crate::procfs::Mapping]) -> Option<StackDigest> {
    let mapping = maps.iter().find(|m| m.start <= regs.rsp && regs.rsp < m.end && m.perms.starts_with('r'))?;
    let len = (mapping.end - regs.rsp).min(STACK_DIGEST_MAX) as u32;
    let digest = stack_digest_of(mem, regs.rsp, len)?;
    Some(StackDigest { len, digest })
}

/// The digest of `len` bytes of stack at `rsp` as [`stack_digest`] takes it;
/// `None` if the task cannot read them all.
pub fn stack_digest_of(mem: &TraceeMemory, rsp: u64, len: u32) -> Option<u64> {
    let bytes = mem.read_as_task(rsp, len as usize)?;
    Some(fnv1a_words(FNV_OFFSET, &bytes))
}

/// The resume flag: lets the instruction at rip run once without
/// triggering its hardware breakpoint.
pub const EFLAGS_RF: u64 = 0x10000;

/// Whether the bytes just before `ret` encode a call instruction.
fn follows_call(code: &[u8]) -> bool {
    // `code` holds the 7 bytes before the return address.
    let n = code.len();
    let at = |back: usize| if back <= n { Some(code[n - back]) } else { None };
    // call rel32
    at(5) == Some(0xe8)
        // call *%reg, call *(%reg)
        || (at(2) == Some(0xff) && at(1).is_some_and(|m| (0xd0..=0xd7).contains(&m) || (0x10..=0x17).contains(&m)))
        // call *disp8(%reg)
        || (at(3) == Some(0xff) && at(2).is_some_and(|m| (0x50..=0x57).contains(&m)))
        // call *disp32(%rip) or *disp32(%reg)
        || (at(6) == Some(0xff) && at(5).is_some_and(|m| m == 0x15 || (0x90..=0x97).contains(&m)))
        // REX-prefixed call *%r8-15
        || (at(3).is_some_and(|r| r & 0xf0 == 0x40) && at(2) == Some(0xff) && at(1).is_some_and(|m| (0xd0..=0xd7).contains(&m)))
}

/// A return address of an enclosing frame, found by scanning the stack for
/// a word that points into executable code right after a call instruction.
///
/// A heuristic (no unwind tables): a stale word can be picked, in which case
/// the point is never reached and the task simply runs on to its next
/// syscall.
pub fn return_address_candidate(mem: &TraceeMemory, regs: &Regs, tid: Tid) -> Option<u64> {
    let maps = crate::procfs::maps(tid).ok()?;
    // Scribe's own preload library runs another path on replay: never a point there.
    let executable = |addr: u64| {
        maps.iter().any(|m| m.start <= addr && addr < m.end && m.perms.contains('x'))
            && !crate::syscallbuf::in_scribe_code(&maps, addr)
    };
    let stack = mem.read_partial(regs.rsp, 512 * 8);
    stack.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8-byte chunk"))).find(|&word| {
        word > 7 && word != regs.rip && executable(word) && follows_call(&mem.read_partial(word - 7, 7))
    })
}

/// A time-stamp-counter read instruction that trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TscInstruction {
    /// rdtsc (0f 31).
    Rdtsc,
    /// rdtscp (0f 01 f9).
    Rdtscp,
}

impl TscInstruction {
    /// Length of the instruction in bytes.
    pub fn length(self) -> u64 {
        match self {
            TscInstruction::Rdtsc => 2,
            TscInstruction::Rdtscp => 3,
        }
    }
}

/// The TSC instruction at `rip`, if that is what faulted.
pub fn tsc_instruction_at(mem: &TraceeMemory, rip: u64) -> Option<TscInstruction> {
    let bytes = mem.read_partial(rip, 3);
    match bytes.as_slice() {
        [0x0f, 0x31, ..] => Some(TscInstruction::Rdtsc),
        [0x0f, 0x01, 0xf9] => Some(TscInstruction::Rdtscp),
        _ => None,
    }
}

/// Reads the time-stamp counter as the trapped instruction would: the
/// counter, and TSC_AUX for rdtscp.
pub fn read_tsc_for(kind: TscInstruction) -> (u64, Option<u32>) {
    match kind {
        TscInstruction::Rdtsc => (tracee::read_tsc(), None),
        TscInstruction::Rdtscp => {
            let (tsc, aux) = tracee::read_tscp();
            (tsc, Some(aux))
        }
    }
}

/// What the kernel does to the robust futexes of a dying thread, done by
/// replay for thread `owner` (its recorded id) whose list starts at
/// `head`: every listed futex word (and the one its pending operation
/// names) that holds `owner` gets FUTEX_OWNER_DIED, keeping its waiters
/// bit, so that the next locker gets EOWNERDEAD. The kernel does it too
/// in replay, but compares the word with the thread's live id, and the
/// program, which only ever sees recorded ids, wrote the recorded one.
/// Waiters need no wake-up: their waits are replayed. Unreadable memory
/// ends the walk, as it does the kernel's.
pub fn mark_dead_owner_futexes(mem: &TraceeMemory, head: u64, owner: Tid) {
    const LIMIT: usize = 2048;
    const TID_MASK: u32 = 0x3fff_ffff;
    const WAITERS: u32 = 0x8000_0000;
    const OWNER_DIED: u32 = 0x4000_0000;
    let (Ok(first), Ok(offset), Ok(pending)) = (mem.read_u64(head), mem.read_u64(head + 8), mem.read_u64(head + 16)) else { return };
    let pending = pending & !1;
    let mark = |entry: u64| {
        let word_at = entry.wrapping_add(offset);
        if word_at % 4 != 0 {
            return;
        }
        let Ok(bytes) = mem.read(word_at, 4) else { return };
        let word = u32::from_le_bytes(bytes.try_into().expect("read returned 4 bytes"));
        if word & TID_MASK == owner as u32 {
            let _ = mem.write(word_at, &((word & WAITERS) | OWNER_DIED).to_le_bytes());
        }
    };
    let mut entry = first & !1;
    for _ in 0..LIMIT {
        if entry == head {
            break;
        }
        let Ok(next) = mem.read_u64(entry) else { break };
        if entry != pending {
            mark(entry);
        }
        entry = next & !1;
    }
    if pending != 0 {
        mark(pending);
    }
}

/// An instruction that faults under Scribe and whose result Scribe gives:
/// rdtsc/rdtscp (`PR_SET_TSC`), or a rewritten RDRAND/RDSEED (see
/// `randinsn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrappedInstruction {
    /// rdtsc or rdtscp.
    Tsc(TscInstruction),
    /// RDRAND or RDSEED.
    Random(crate::randinsn::RandomInstruction),
}

/// The trapped instruction at `rip`, if that is what faulted.
pub fn trapped_instruction_at(mem: &TraceeMemory, rip: u64) -> Option<TrappedInstruction> {
    tsc_instruction_at(mem, rip)
        .map(TrappedInstruction::Tsc)
        .or_else(|| crate::randinsn::patched_at(mem, rip).map(TrappedInstruction::Random))
}

impl TrappedInstruction {
    /// Runs the instruction for task `tid`, stopped at it with `regs`: the
    /// registers as it leaves them, with the tracer's own counter or random
    /// value, and the event that keeps that value.
    pub fn run_for(self, tid: Tid, regs: &mut Regs) -> Event {
        let rip = regs.rip;
        match self {
            TrappedInstruction::Tsc(kind) => {
                let (tsc, aux) = read_tsc_for(kind);
                apply_tsc(regs, kind, tsc, aux);
                Event::Rdtsc(RdtscRecord { tid, rip, tsc, aux })
            }
            TrappedInstruction::Random(instruction) => {
                let value = tracee::hardware_random(instruction.seed);
                crate::randinsn::apply(regs, instruction, value);
                Event::Random(RandomRecord { tid, rip, value })
            }
        }
    }

    /// Sets `regs` as the recorded `event` says the instruction left them;
    /// the address the event names, or `None` if it is not this
    /// instruction's kind of event.
    pub fn replay(self, event: &Event, regs: &mut Regs) -> Option<u64> {
        match (self, event) {
            (TrappedInstruction::Tsc(kind), Event::Rdtsc(r)) => {
                apply_tsc(regs, kind, r.tsc, r.aux);
                Some(r.rip)
            }
            (TrappedInstruction::Random(instruction), Event::Random(r)) => {
                crate::randinsn::apply(regs, instruction, r.value);
                Some(r.rip)
            }
            _ => None,
        }
    }

    /// What the task did, for people: "read the time-stamp counter".
    pub fn what(self) -> &'static str {
        match self {
            TrappedInstruction::Tsc(_) => "read the time-stamp counter",
            TrappedInstruction::Random(_) => "ran RDRAND or RDSEED",
        }
    }
}

/// For a task stopped by a SIGSEGV (a signal-delivery stop) after detach
/// or going live: if a trapped instruction caused it, returns true and the
/// caller resumes the task without the signal. An rdtsc or rdtscp makes the
/// task read the counter itself from then on (`prctl(PR_SET_TSC,
/// PR_TSC_ENABLE)` run inside it through the vDSO's `syscall`
/// instruction; the setting is the thread's, and threads and processes it
/// makes later inherit it), and the instruction runs again, natively:
/// otherwise every clock read of a live program (the vDSO's clock_gettime
/// reads the counter) stopped it at Scribe, about 20 µs each. Where that
/// fails, and for a rewritten RDRAND or RDSEED, the instruction is run for
/// the task.
pub fn run_trapped_instruction(tid: Tid) -> scribe_tracee::Result<bool> {
    const PR_SET_TSC: u64 = 26;
    const PR_TSC_ENABLE: u64 = 1;
    let mut regs = tracee::get_regs(tid)?;
    let mem = TraceeMemory::open(tid)?;
    let Some(instruction) = trapped_instruction_at(&mem, regs.rip) else { return Ok(false) };
    if matches!(instruction, TrappedInstruction::Tsc(_)) {
        let maps = crate::procfs::maps(tid).unwrap_or_default();
        if let Some(insn) = crate::point::syscall_instruction(&maps, &mem) {
            let args = [PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0, 0];
            if tracee::remote_syscall(tid, insn, u64::from(scribe_syscalls::nr::PRCTL), args)? == 0 {
                return Ok(true);
            }
        }
    }
    instruction.run_for(tid, &mut regs);
    tracee::set_regs(tid, &regs)?;
    Ok(true)
}

/// Sets the registers as if the instruction had run and returned `tsc`.
pub fn apply_tsc(regs: &mut Regs, kind: TscInstruction, tsc: u64, aux: Option<u32>) {
    regs.rax = tsc & 0xffff_ffff;
    regs.rdx = tsc >> 32;
    if let Some(aux) = aux {
        regs.rcx = u64::from(aux);
    }
    regs.rip += kind.length();
}

/// Whether `tid`'s SIGTRAP stop is the trap of a single step (TRAP_TRACE),
/// not an int3 or a breakpoint of the program's.
pub fn stopped_by_single_step(tid: Tid) -> bool {
    tracee::get_siginfo(tid).is_ok_and(|info| siginfo_code(&info) == TRAP_TRACE)
}

/// Whether the SIGTRAP `tid` is stopped at came from a tracer's single
/// step or a hardware breakpoint (TRAP_TRACE or TRAP_HWBKPT) rather than
/// the program (an `int3`, or the trap flag it set itself, which
/// PTRACE_GETREGS shows: a tracer's forced one it hides): a program under
/// Scribe can neither be traced by another nor set debug registers.
pub fn is_tracer_trap(tid: Tid, regs: &Regs) -> bool {
    const EFLAGS_TF: u64 = 0x100;
    match tracee::get_siginfo(tid).map(|info| siginfo_code(&info)) {
        Ok(TRAP_HWBKPT) => true,
        Ok(TRAP_TRACE) => regs.eflags & EFLAGS_TF == 0,
        _ => false,
    }
}

/// SIGTRAP's si_code for a single step.
const TRAP_TRACE: i32 = 2;
/// SIGTRAP's si_code for a hardware breakpoint.
const TRAP_HWBKPT: i32 = 4;

/// The `si_code` of a raw siginfo (0 if it is too short).
fn siginfo_code(siginfo: &[u8]) -> i32 {
    siginfo.get(8..12).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0)
}

/// Whether a signal was raised by the instruction being executed (so replay
/// will raise it again by itself) rather than sent.
pub fn is_fault(sig: i32, siginfo: &[u8]) -> bool {
    const SI_KERNEL: i32 = 0x80;
    const SIGSYS: i32 = 31;
    const SYS_SECCOMP: i32 = 1;
    let code = siginfo_code(siginfo);
    // A SIGSYS from the program's own seccomp filter (SECCOMP_RET_TRAP)
    // comes at its syscall, as a fault does, and again in replay, where the
    // program installs the same filter.
    (matches!(sig, 4 | 5 | 7 | 8 | 11) && code > 0 && code != SI_KERNEL) || (sig == SIGSYS && code == SYS_SECCOMP)
}

/// Whether syscall `nr` with `args` installs a seccomp filter of the
/// program's own (seccomp, or prctl PR_SET_SECCOMP with a filter).
pub fn installs_seccomp_filter(nr: u32, args: &[u64; 6]) -> bool {
    const SECCOMP_SET_MODE_FILTER: u64 = 1;
    const PR_SET_SECCOMP: u64 = 22;
    const SECCOMP_MODE_FILTER: u64 = 2;
    match nr {
        scribe_syscalls::nr::SECCOMP => args[0] == SECCOMP_SET_MODE_FILTER,
        scribe_syscalls::nr::PRCTL => args[0] == PR_SET_SECCOMP && args[1] == SECCOMP_MODE_FILTER,
        _ => false,
    }
}

/// CLONE_NEWPID.
pub const CLONE_NEWPID: u64 = 0x2000_0000;

/// Tracee memory as the syscall table's [`scribe_syscalls::Memory`].
pub struct TaskMemory<'a>(pub &'a TraceeMemory);

impl scribe_syscalls::Memory for TaskMemory<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.0.read(addr, len).ok()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn points_leave_out_memory_behind_registers_in_scribes_pages_from_format_21() {
        use super::PointedReads;
        let stub = scribe_bufabi::REGION_START + 0x25;
        let record = scribe_bufabi::RECORDS_ADDR + 0x8_0000;
        let end = super::SCRIBE_PAGE_RANGE.end;
        for addr in [stub, record, scribe_bufabi::HEADER_ADDR, end - 1] {
            assert!(!PointedReads::CURRENT.reads_behind(addr), "{addr:#x}");
            assert!(PointedReads::of_format(20).reads_behind(addr), "{addr:#x}");
        }
        assert_eq!(PointedReads::of_format(scribe_trace::FORMAT_VERSION), PointedReads::CURRENT);
        for addr in [scribe_bufabi::REGION_START - 1, end, 0x5555_5555_4000, 0x7fff_ffff_e000] {
            assert!(PointedReads::CURRENT.reads_behind(addr), "{addr:#x}");
        }
        // Small integers and kernel addresses are no pointers in any format.
        assert!(!PointedReads::of_format(4).reads_behind(0x42));
        assert!(!PointedReads::CURRENT.reads_behind(0xffff_ffff_ff60_0000));
    }

    #[test]
    fn rt_sigaction_passes_through_only_at_level_0_of_format_4() {
        let sigaction = scribe_syscalls::nr::RT_SIGACTION;
        assert!(passthrough_syscalls(0, 4).contains(&sigaction));
        assert!(!passthrough_syscalls(1, 4).contains(&sigaction), "strace-like levels keep it");
        assert!(!passthrough_syscalls(0, 3).contains(&sigaction), "older traces stop at it");
        assert!(!passthrough_syscalls(0, 4).contains(&scribe_syscalls::nr::RT_SIGPROCMASK));
        assert!(sigmask_blocks_pass(0, 15));
        assert!(!sigmask_blocks_pass(1, 15), "strace-like levels keep them");
        assert!(!sigmask_blocks_pass(0, 14), "older traces stop at them");
    }

    use super::*;
    use crate::procfs::parse_maps;

    #[test]
    fn digest_ranges_keep_writable_private_memory_joined() {
        let maps = parse_maps(
            "555555554000-555555556000 r--p 00000000 fe:01 1 /bin/x\n\
             555555556000-555555557000 rw-p 00002000 fe:01 1 /bin/x\n\
             555555557000-555555559000 rw-p 00000000 00:00 0 \n\
             555555559000-55555555a000 rw-p 00000000 00:00 0 [heap]\n\
             70000000-70001000 rw-p 00000000 00:00 0 \n\
             7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0 [vvar]\n\
             7ffff7fc5000-7ffff7fc6000 rw-s 00000000 00:01 7 /dev/shm/x\n\
             7ffff7fc6000-7ffff7fc8000 rw-p 00000000 00:00 0 [vdso]\n\
             7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n",
        );
        assert_eq!(
            digest_ranges(&maps, &[]),
            vec![(0x5555_5555_6000, 0x5555_5555_a000), (0x7fff_fffd_e000, 0x7fff_ffff_f000)],
            "file .data, anonymous .bss and the heap join; Scribe's page, shared and kernel mappings are left out"
        );
        assert_eq!(
            digest_ranges(&maps, &[(0x5555_5555_7000, 0x5555_5555_8000)]),
            vec![
                (0x5555_5555_6000, 0x5555_5555_7000),
                (0x5555_5555_8000, 0x5555_5555_a000),
                (0x7fff_fffd_e000, 0x7fff_ffff_f000)
            ]
        );
    }

    #[test]
    fn word_hashing_sees_every_byte() {
        let base = vec![0u8; 21];
        let h = fnv1a_words(FNV_OFFSET, &base);
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] = 1;
            assert_ne!(fnv1a_words(FNV_OFFSET, &changed), h, "byte {i}");
        }
        assert_ne!(tasks_digest([(1, Some(5)), (2, None)]), tasks_digest([(1, Some(5)), (3, None)]));
    }
}
