//! Scribe's side of the in-process syscall buffer.
//!
//! The preload library (`crates/preload`) makes cheap, non-blocking syscalls
//! without a ptrace stop and appends a record of each to a buffer at a fixed
//! address (layout in `scribe-bufabi`). The recorder drains that buffer at
//! every stop of the task that wrote it, before the stop's own events, so
//! the buffered calls land in the trace in program order
//! ([`Event::Buffered`](scribe_trace::Event::Buffered)). The replayer does
//! the reverse: before letting a task run user code it writes the task's next
//! recorded batch into the buffer, and at the task's next stop it checks
//! that the program made exactly those calls.

use std::path::PathBuf;

use scribe_bufabi::{self as abi, header, record};
use scribe_trace::{MemBytes, SyscallRecord, Tid};
use scribe_tracee::TraceeMemory;

use crate::error::{EngineError, Result};

/// File name of the preload library.
pub const LIBRARY_NAME: &str = "libscribe_preload.so";

/// Finds the preload library: `$SCRIBE_PRELOAD`, else next to the running
/// executable or one directory up (test binaries live in `deps/`).
pub fn locate_library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCRIBE_PRELOAD") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join(LIBRARY_NAME), dir.parent()?.join(LIBRARY_NAME)].into_iter().find(|p| p.is_file())
}

/// The buffer header as Scribe reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Buffering accepted.
    pub enabled: bool,
    /// Bytes of records written since the last drain or load.
    pub used: u32,
    /// Calls are traced once `used` reaches this.
    pub stop_at: u32,
    /// The library is inside a buffered call (writing its record).
    pub in_lib: bool,
    /// Which descriptors are the recording's output (`header::STD_FDS`).
    pub std_fds: u64,
    /// The address of the record of the call being made, or made last.
    pub current: u64,
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    bytes.get(offset..offset + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

/// The little-endian u64 at `offset` in `bytes` (0 past their end).
pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    bytes.get(offset..offset + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Reads the header of the buffer in `mem`'s address space.
pub fn read_header(mem: &TraceeMemory) -> Result<Header> {
    let bytes = mem.read(abi::HEADER_ADDR, header::LEN)?;
    Ok(Header {
        enabled: u32_at(&bytes, header::ENABLED as usize) != 0,
        used: u32_at(&bytes, header::USED as usize),
        stop_at: u32_at(&bytes, header::STOP_AT as usize),
        in_lib: u32_at(&bytes, header::IN_LIB as usize) != 0,
        std_fds: u64_at(&bytes, header::STD_FDS as usize),
        current: u64_at(&bytes, header::CURRENT as usize),
    })
}

/// Sets USED and STOP_AT (adjacent fields: one write).
pub fn set_window(mem: &TraceeMemory, used: u32, stop_at: u32) -> Result<()> {
    let mut bytes = used.to_le_bytes().to_vec();
    bytes.extend_from_slice(&stop_at.to_le_bytes());
    mem.write(abi::HEADER_ADDR + header::USED, &bytes)?;
    Ok(())
}

/// Writes what Scribe's model of task `tid`'s descriptor table tells the
/// library: the STD_FDS bitmap (from `StdFds::output_bitmap`; writes to
/// those descriptors stop at Scribe), unless `bitmap` is `None`, and the
/// FD_GENERATION. A process being torn down (its buffer gone) is left alone.
pub fn set_fd_state(mem: &TraceeMemory, tid: Tid, bitmap: Option<u64>, generation: u32) -> Result<()> {
    let written = match bitmap {
        Some(bits) => mem.write(abi::HEADER_ADDR + header::STD_FDS, &bits.to_le_bytes()),
        None => Ok(()),
    }
    .and_then(|()| mem.write(abi::HEADER_ADDR + header::FD_GENERATION, &generation.to_le_bytes()));
    match written {
        Err(_) if !region_mapped(tid) => Ok(()),
        other => Ok(other?),
    }
}

/// The FLAGS bits that follow from the verbosity level: what buffered
/// calls keep.
pub fn level_flags(level: u8) -> u32 {
    if level >= 1 {
        abi::flags::WRITE_DATA
    } else {
        0
    }
}

/// Sets the FLAGS field (see `abi::flags`). A process being torn down (its
/// buffer gone) is left alone.
pub fn set_flags(mem: &TraceeMemory, tid: Tid, flags: u32) -> Result<()> {
    match mem.write(abi::HEADER_ADDR + header::FLAGS, &flags.to_le_bytes()) {
        Err(_) if !region_mapped(tid) => Ok(()),
        other => Ok(other?),
    }
}

/// Sets STOP_AT alone (the task may have records in the buffer).
pub fn set_stop_at(mem: &TraceeMemory, stop_at: u32) -> Result<()> {
    mem.write(abi::HEADER_ADDR + header::STOP_AT, &stop_at.to_le_bytes())?;
    Ok(())
}

/// Turns buffering off (going live, or the program installed a seccomp
/// filter of its own, which would apply to the library's calls).
pub fn disable(mem: &TraceeMemory) -> Result<()> {
    mem.write(abi::HEADER_ADDR + header::ENABLED, &0u32.to_le_bytes())?;
    Ok(())
}


/// What the start of the stub page held in the recording, over the
/// length of the replay-mode stub that replaces it: the record-mode stub,
/// then the zeros of the fresh page. A register can point into the stub
/// page at a point (ld.so loading a library had r9 at 0x70000025), and the
/// point's deep state and fingerprint hold the recording's bytes there.
pub fn record_stub_view() -> [u8; abi::REPLAY_STUB.len()] {
    let mut view = [0u8; abi::REPLAY_STUB.len()];
    view[..abi::RECORD_STUB.len()].copy_from_slice(&abi::RECORD_STUB);
    view
}

/// Replaces the record-mode stub with the replay-mode one.
pub fn install_replay_stub(mem: &TraceeMemory) -> Result<()> {
    mem.write(abi::REGION_START, &abi::REPLAY_STUB)?;
    Ok(())
}

/// Whether a registration request describes the buffer layout this Scribe knows.
pub fn registration_ok(args: &[u64; 6]) -> bool {
    args[0] == abi::REGION_START && args[1] == u64::from(abi::CAPACITY) && args[2] == abi::VERSION
}

/// One call read back from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedCall {
    /// The call as the program made it.
    pub call: SyscallRecord,
    /// The pipe (inode) a read or write worked on.
    pub pipe: Option<u64>,
}

/// Reads the `used` bytes of records written by task `tid`, undecoded.
pub fn read_record_bytes(mem: &TraceeMemory, tid: Tid, used: u32) -> Result<Vec<u8>> {
    if used > abi::CAPACITY {
        return Err(bad(tid, format!("the syscall buffer claims {used} bytes, more than its capacity")));
    }
    Ok(mem.read(abi::RECORDS_ADDR, used as usize)?)
}

/// Reads and decodes the `used` bytes of records written by task `tid`.
pub fn read_records(mem: &TraceeMemory, tid: Tid, used: u32) -> Result<Vec<BufferedCall>> {
    decode_records(&read_record_bytes(mem, tid, used)?, tid)
}

/// Decodes records read by [`read_record_bytes`] from task `tid`'s buffer.
pub fn decode_records(bytes: &[u8], tid: Tid) -> Result<Vec<BufferedCall>> {
    decode(bytes, tid).map_err(|what| bad(tid, what))
}

fn bad(tid: Tid, what: String) -> EngineError {
    EngineError::Unsupported { tid, what: format!("corrupt in-process syscall buffer: {what}") }
}

/// Decodes a run of records; every length is checked against the bytes.
pub fn decode(bytes: &[u8], tid: Tid) -> std::result::Result<Vec<BufferedCall>, String> {
    // Records of the common calls (a stat, a short read) take 100 to 250
    // bytes: growing the vector as it fills cost more than decoding.
    let mut calls = Vec::with_capacity(bytes.len() / 128);
    let mut at = 0usize;
    while at < bytes.len() {
        let rec = &bytes[at..];
        if rec.len() < record::LEN {
            return Err(format!("record at +{at} is cut short"));
        }
        let size = u32_at(rec, record::SIZE) as usize;
        let input_len = u32_at(rec, record::INPUT_LEN);
        let output_len = u32_at(rec, record::OUTPUT_LEN);
        let expected = abi::record_size(input_len.min(abi::MAX_INPUT), output_len.min(abi::MAX_OUTPUT)) as usize;
        if input_len > abi::MAX_INPUT || output_len > abi::MAX_OUTPUT || size != expected || size > rec.len() {
            return Err(format!("record at +{at} has size {size}, input {input_len}, output {output_len}"));
        }
        let mut args = [0u64; 6];
        for (i, arg) in args.iter_mut().enumerate() {
            *arg = u64_at(rec, record::ARGS + 8 * i);
        }
        let input_start = record::LEN;
        let output_start = input_start + abi::pad8(input_len) as usize;
        let mut call = SyscallRecord {
            tid,
            nr: u32_at(rec, record::NR),
            args,
            result: u64_at(rec, record::RESULT) as i64,
            ..Default::default()
        };
        if input_len > 0 {
            let addr = u64_at(rec, record::INPUT_ADDR);
            call.inputs.push(MemBytes { addr, bytes: rec[input_start..input_start + input_len as usize].to_vec() });
        }
        if output_len > 0 {
            let addr = u64_at(rec, record::OUTPUT_ADDR);
            call.outputs.push(MemBytes { addr, bytes: rec[output_start..output_start + output_len as usize].to_vec() });
        }
        let pipe = Some(u64_at(rec, record::PIPE)).filter(|&inode| inode != 0);
        calls.push(BufferedCall { call, pipe });
        at += size;
    }
    Ok(calls)
}

/// Bytes `call` takes in the buffer (more than the capacity if it cannot be there).
pub fn encoded_size(call: &SyscallRecord) -> u64 {
    let input = call.inputs.first().map_or(0, |m| m.bytes.len());
    let output = call.outputs.first().map_or(0, |m| m.bytes.len());
    if input > abi::MAX_INPUT as usize || output > abi::MAX_OUTPUT as usize {
        return u64::MAX / 2;
    }
    u64::from(abi::record_size(input as u32, output as u32))
}

/// Encodes calls, each with the pipe it worked on, as the library would
/// have written them (the inverse of [`decode`]); `None` if they do not
/// fit in the buffer.
pub fn encode<'a>(calls: impl IntoIterator<Item = (&'a SyscallRecord, Option<u64>)>) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    encode_into(&mut bytes, calls).then_some(bytes)
}

/// [`encode`] into `bytes` (cleared first, its allocation kept: replay
/// encodes a batch of up to 1 MiB at every "buffer full" request); false
/// if the calls do not fit in the buffer.
pub fn encode_into<'a>(bytes: &mut Vec<u8>, calls: impl IntoIterator<Item = (&'a SyscallRecord, Option<u64>)>) -> bool {
    bytes.clear();
    for (call, pipe) in calls {
        let input = call.inputs.first();
        let output = call.outputs.first();
        let input_len = input.map_or(0, |m| m.bytes.len()) as u32;
        let output_len = output.map_or(0, |m| m.bytes.len()) as u32;
        if input_len > abi::MAX_INPUT || output_len > abi::MAX_OUTPUT {
            return false;
        }
        let start = bytes.len();
        bytes.resize(start + abi::record_size(input_len, output_len) as usize, 0);
        let rec = &mut bytes[start..];
        let mut put = |offset: usize, value: &[u8]| rec[offset..offset + value.len()].copy_from_slice(value);
        put(record::SIZE, &abi::record_size(input_len, output_len).to_le_bytes());
        put(record::NR, &call.nr.to_le_bytes());
        for (i, arg) in call.args.iter().enumerate() {
            put(record::ARGS + 8 * i, &arg.to_le_bytes());
        }
        put(record::RESULT, &call.result.to_le_bytes());
        put(record::OUTPUT_ADDR, &output.map_or(0, |m| m.addr).to_le_bytes());
        put(record::OUTPUT_LEN, &output_len.to_le_bytes());
        put(record::INPUT_LEN, &input_len.to_le_bytes());
        put(record::INPUT_ADDR, &input.map_or(0, |m| m.addr).to_le_bytes());
        put(record::PIPE, &pipe.unwrap_or(0).to_le_bytes());
        if let Some(m) = input {
            put(record::LEN, &m.bytes);
        }
        if let Some(m) = output {
            put(record::LEN + abi::pad8(input_len) as usize, &m.bytes);
        }
        if bytes.len() > abi::CAPACITY as usize {
            return false;
        }
    }
    true
}

/// Whether the buffer region is still mapped in the task (it is not once
/// the task's memory is torn down at exit).
pub fn region_mapped(tid: Tid) -> bool {
    crate::procfs::maps(tid).is_ok_and(|maps| maps.iter().any(|m| m.start <= abi::HEADER_ADDR && abi::HEADER_ADDR < m.end))
}

/// Whether `addr` is code of Scribe's own in the task (the stub page or the
/// preload library): a preemption point there would not exist on replay,
/// where the library takes its replay path through another stub.
pub fn is_scribe_code(tid: Tid, addr: u64) -> bool {
    in_scribe_code(&crate::procfs::maps(tid).unwrap_or_default(), addr)
}

/// [`is_scribe_code`] with the task's mappings already read.
pub fn in_scribe_code(maps: &[crate::procfs::Mapping], addr: u64) -> bool {
    (abi::REGION_START..abi::HEADER_ADDR).contains(&addr)
        || maps.iter().any(|m| m.start <= addr && addr < m.end && m.path.ends_with(LIBRARY_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(nr: u32, input: &[u8], output: &[u8]) -> SyscallRecord {
        SyscallRecord {
            tid: 7,
            nr,
            args: [1, 2, 3, 4, 5, 6],
            result: -2,
            inputs: if input.is_empty() { vec![] } else { vec![MemBytes { addr: 0x1000, bytes: input.to_vec() }] },
            outputs: if output.is_empty() { vec![] } else { vec![MemBytes { addr: 0x2000, bytes: output.to_vec() }] },
            regs_digest: None,
        }
    }

    #[test]
    fn encode_then_decode_gives_the_calls_back() {
        let calls = [call(262, b"/etc/passwd\0", &[9; 144]), call(39, b"", b""), call(0, b"", b"abc")];
        let pipes = [None, None, Some(4242)];
        let bytes = encode(calls.iter().zip(pipes)).expect("fits");
        assert_eq!(bytes.len() % 8, 0);
        let decoded = decode(&bytes, 7).expect("decodes");
        assert_eq!(decoded.iter().map(|b| &b.call).collect::<Vec<_>>(), calls.iter().collect::<Vec<_>>());
        assert_eq!(decoded.iter().map(|b| b.pipe).collect::<Vec<_>>(), pipes);
    }

    /// The instructions of a stub page from `at`, with their addresses.
    fn instructions(stub: &[u8], at: u64) -> Vec<iced_x86::Instruction> {
        let offset = (at - abi::REGION_START) as usize;
        let mut decoder = iced_x86::Decoder::with_ip(64, &stub[offset..], at, iced_x86::DecoderOptions::NONE);
        let mut out = Vec::new();
        while decoder.can_decode() {
            let instruction = decoder.decode();
            assert!(!instruction.is_invalid(), "invalid bytes at {:#x}", instruction.ip());
            out.push(instruction);
        }
        out
    }

    #[test]
    fn both_stubs_make_their_syscall_at_the_address_the_filter_lets_through() {
        use iced_x86::{Code, FlowControl, Mnemonic, Register};
        for stub in [&abi::RECORD_STUB[..], &abi::REPLAY_STUB[..]] {
            let start = instructions(&stub[..3], abi::REGION_START);
            assert_eq!(start[0].mnemonic(), Mnemonic::Syscall);
            assert_eq!(start[0].next_ip(), abi::UNTRACED_SYSCALL_IP);
            assert_eq!(start[1].mnemonic(), Mnemonic::Ret);
        }
        let record = instructions(&abi::RECORD_STUB, abi::STUB_ENTRY);
        assert_eq!(record.len(), 1);
        assert_eq!(record[0].near_branch_target(), abi::REGION_START);
        let replay = instructions(&abi::REPLAY_STUB, abi::STUB_ENTRY);
        let boundaries: Vec<u64> = replay.iter().map(|i| i.ip()).collect();
        let play = replay.iter().find(|i| i.code() == Code::Mov_r64_rm64 && i.op0_register() == Register::RAX).expect("play part");
        let real = replay.iter().find(|i| i.flow_control() == FlowControl::UnconditionalBranch).expect("the jump to the syscall");
        assert_eq!(real.near_branch_target(), abi::REGION_START);
        // rt_sigprocmask and brk (the first two compares) go to the
        // syscall; the next branches (not mmap, a recorded failure) to
        // the play part; the last one past the int3 of a marked record.
        let ret = replay.last().expect("instructions");
        let targets: Vec<u64> =
            replay.iter().filter(|i| i.flow_control() == FlowControl::ConditionalBranch).map(|i| i.near_branch_target()).collect();
        assert_eq!(targets, [real.ip(), real.ip(), play.ip(), play.ip(), ret.ip()]);
        assert_eq!(ret.ip(), abi::STOP_AFTER_IP);
        let int3 = &replay[replay.len() - 2];
        assert_eq!((int3.mnemonic(), int3.next_ip()), (Mnemonic::Int3, abi::STOP_AFTER_IP));
        let mark_test = replay.iter().find(|i| i.mnemonic() == Mnemonic::Test).expect("the mark's test");
        assert_eq!((mark_test.memory_base(), mark_test.memory_displacement64()), (Register::RAX, record::SIZE as u64));
        assert_eq!(mark_test.immediate(1), u64::from(record::STOP_AFTER));
        assert!(targets.iter().all(|t| boundaries.contains(t)));
        // The numbers compared are rt_sigprocmask's, brk's and mmap's, and an mmap is placed with MAP_FIXED.
        let compared: Vec<u64> =
            replay.iter().filter(|i| i.mnemonic() == Mnemonic::Cmp && i.op0_register() == Register::EAX).map(|i| i.immediate(1)).collect();
        let executed = [abi::executed::RT_SIGPROCMASK, abi::executed::BRK, abi::executed::MMAP];
        assert_eq!(compared, executed.map(u64::from));
        assert!(replay.iter().any(|i| i.mnemonic() == Mnemonic::Or && i.op0_register() == Register::R10 && i.immediate(1) == 0x10));
        let recorded_result = replay.iter().find(|i| i.op0_register() == Register::RCX && i.memory_base() == Register::RCX).expect("load");
        assert_eq!(recorded_result.memory_displacement64(), record::RESULT as u64);
        assert_eq!(replay.last().map(|i| i.mnemonic()), Some(Mnemonic::Ret));
    }

    #[test]
    fn decode_rejects_bad_sizes_without_panicking() {
        let bytes = encode([(&call(0, b"", b"abcdef"), None)]).expect("fits");
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 7).is_err() || cut == 0, "cut at {cut}");
        }
        let mut lying = bytes.clone();
        lying[record::OUTPUT_LEN] = 200;
        assert!(decode(&lying, 7).is_err());
        let mut huge = bytes;
        huge[record::SIZE..record::SIZE + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge, 7).is_err());
    }
}
