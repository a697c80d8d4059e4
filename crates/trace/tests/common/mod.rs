//! Helpers shared by the integration tests.
#![allow(dead_code)]

use scribe_trace::*;

/// A deterministic xorshift64* generator, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

pub fn header() -> Header {
    Header {
        scribe_version: "0.1.0".into(),
        cpu_model: "Test CPU @ 3.00GHz — ünïcode".into(),
        kernel_release: "6.1.0-test".into(),
        exe_path: b"/usr/bin/true".to_vec(),
        argv: vec![b"true".to_vec(), vec![], vec![0xff, 0x00, 0x80]],
        env: vec![b"PATH=/usr/bin".to_vec(), b"EMPTY=".to_vec()],
        cwd: b"/tmp".to_vec(),
        level: 2,
        portable: true,
        start_time_ns: u64::MAX,
        ignored_signals: 1 << 1,
        stack_limit: Some(u64::MAX),
    }
}

/// At least one event of every variant, with edge values.
pub fn all_variants() -> Vec<Event> {
    let mem = |addr: u64, n: usize| MemBytes {
        addr,
        bytes: (0..n).map(|i| i as u8).collect(),
    };
    vec![
        Event::File(FileRecord {
            id: 0,
            path: vec![],
            size: 0,
            mtime_ns: i64::MIN,
            sha256: [0; 32],
            contents: None,
        }),
        Event::File(FileRecord {
            id: u32::MAX,
            path: b"/lib/x86_64-linux-gnu/libc.so.6".to_vec(),
            size: u64::MAX,
            mtime_ns: i64::MAX,
            sha256: [0xff; 32],
            contents: Some(vec![]),
        }),
        Event::File(FileRecord {
            id: 7,
            path: b"/etc/hosts".to_vec(),
            size: 3,
            mtime_ns: -1,
            sha256: [0xab; 32],
            contents: Some(b"abc".to_vec()),
        }),
        Event::Exec(ExecRecord {
            tid: i32::MIN,
            exe_path: vec![],
            rsp: 0,
            stack: vec![],
            mapped_files: vec![],
        }),
        Event::Exec(ExecRecord {
            tid: i32::MAX,
            exe_path: b"/usr/bin/true".to_vec(),
            rsp: 0x7fff_ffff_e000,
            stack: (0..70_000u32).map(|i| (i % 251) as u8).collect(),
            mapped_files: vec![0, 1, u32::MAX],
        }),
        Event::Syscall(SyscallRecord::default()),
        Event::Syscall(SyscallRecord {
            tid: 1234,
            nr: u32::MAX,
            args: [0, 1, u64::MAX, 1 << 63, 0x7fff_0000_1234, 127],
            result: i64::MIN,
            outputs: vec![mem(0, 0), mem(u64::MAX, 300)],
            inputs: vec![mem(0x1000, 1)],
            regs_digest: Some(u64::MAX),
        }),
        Event::Syscall(SyscallRecord {
            tid: -1,
            nr: 0,
            args: [u64::MAX; 6],
            result: -38,
            outputs: (0..5000).map(|i| mem(i, (i % 3) as usize)).collect(),
            inputs: vec![],
            regs_digest: Some(0),
        }),
        Event::Syscall(SyscallRecord {
            result: i64::MAX,
            ..Default::default()
        }),
        Event::MapFile(MapRecord {
            tid: 5,
            addr: 0x7f00_0000_0000,
            len: 4096,
            prot: 5,
            flags: 2,
            offset: u64::MAX,
            file_id: Some(u32::MAX),
            data: None,
        }),
        Event::MapFile(MapRecord {
            file_id: None,
            data: Some(vec![]),
            ..Default::default()
        }),
        Event::MapFile(MapRecord {
            file_id: Some(0),
            data: Some(vec![1, 2, 3]),
            ..Default::default()
        }),
        Event::Rdtsc(RdtscRecord {
            tid: 9,
            rip: u64::MAX,
            tsc: u64::MAX,
            aux: None,
        }),
        Event::Rdtsc(RdtscRecord {
            aux: Some(0),
            ..Default::default()
        }),
        Event::Rdtsc(RdtscRecord {
            aux: Some(u32::MAX),
            ..Default::default()
        }),
        Event::Random(RandomRecord {
            tid: 4,
            rip: 0x7fff_f7cd_33c8,
            value: u64::MAX,
        }),
        Event::Random(RandomRecord::default()),
        Event::Signal(SignalRecord {
            tid: 3,
            signo: 11,
            origin: signal_origin::FAULT,
            rip: 0x40_1000,
            siginfo: vec![0x5a; 128],
        }),
        Event::Signal(SignalRecord {
            tid: 3,
            signo: -1,
            origin: u8::MAX,
            rip: 0,
            siginfo: vec![],
        }),
        Event::Exit(ExitRecord {
            tid: 1,
            code: 0,
            signal: 0,
        }),
        Event::Exit(ExitRecord {
            tid: -7,
            code: i32::MIN,
            signal: i32::MAX,
        }),
        Event::Regs(RegsRecord {
            tid: 1,
            regs: (0..27)
                .map(|i| if i % 2 == 0 { u64::MAX } else { i })
                .collect(),
        }),
        Event::Regs(RegsRecord {
            tid: 1,
            regs: vec![],
        }),
        Event::Resource(ResourceRecord {
            tid: 2,
            kind: resource_kind::TERMINAL,
            id: u64::MAX,
            serial: 0,
        }),
        Event::Resource(ResourceRecord {
            tid: 2,
            kind: u8::MAX,
            id: 0,
            serial: u64::MAX,
        }),
        Event::Bookmark(BookmarkRecord {
            id: u32::MAX,
            tid: i32::MIN,
            digests: Vec::new(),
        }),
        Event::Bookmark(BookmarkRecord {
            id: 3,
            tid: 77,
            digests: vec![
                StateDigest {
                    pid: 77,
                    memory: u64::MAX,
                    registers: 0,
                },
                StateDigest {
                    pid: i32::MAX,
                    memory: 0x0123_4567_89ab_cdef,
                    registers: 1,
                },
            ],
        }),
        Event::TaskStart(TaskStartRecord { tid: 7, parent: 3 }),
        Event::Preempt(PreemptRecord {
            tid: 7,
            rip: 0x401000,
            fingerprint: u64::MAX,
            state: vec![0, 1, u64::MAX],
            stack: Some(StackDigest { len: 4096, digest: 0xfeed }),
        }),
        Event::Buffered(SyscallRecord {
            tid: 7,
            nr: 39,
            result: 7,
            ..Default::default()
        }),
        Event::Join(JoinRecord { tid: 9, domain: i32::MAX }),
        Event::End(EndRecord {
            reason: end_reason::ERROR,
            message: String::new(),
        }),
        Event::End(EndRecord {
            reason: end_reason::EXITED,
            message: "all tasks exited ✓".into(),
        }),
    ]
}

/// A small syscall event whose size depends on `i`.
pub fn small_event(i: u64) -> Event {
    Event::Syscall(SyscallRecord {
        tid: (i % 4) as i32 + 100,
        nr: (i % 300) as u32,
        args: [i, i * 3, 0, 0, 0, u64::MAX - i],
        result: -(i as i64),
        outputs: vec![MemBytes {
            addr: 0x1000 + i,
            bytes: vec![i as u8; (i % 7) as usize],
        }],
        inputs: vec![],
        regs_digest: if i & 1 == 0 { Some(i) } else { None },
    })
}

pub fn end_event() -> Event {
    Event::End(EndRecord {
        reason: end_reason::EXITED,
        message: "done".into(),
    })
}

/// A small trace in memory made of `chunks` (each a list of events, written
/// as one chunk by flushing after it). Returns the bytes and the file offset
/// of the end of the header and of each chunk.
pub fn build_trace(chunks: &[Vec<Event>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    let mut bounds = vec![w.bytes_written()];
    for chunk in chunks {
        for ev in chunk {
            w.push(ev).unwrap();
        }
        w.flush().unwrap();
        bounds.push(w.bytes_written());
    }
    let bytes = w.into_inner().unwrap();
    assert_eq!(bytes.len() as u64, *bounds.last().unwrap());
    (bytes, bounds)
}

/// Three chunks of a few small events, the last one ending with End.
pub fn small_chunks() -> Vec<Vec<Event>> {
    vec![
        (0..3).map(small_event).collect(),
        (3..7).map(small_event).collect(),
        vec![small_event(7), small_event(8), end_event()],
    ]
}

/// Reads all events of an in-memory trace, stopping at the first error.
pub fn read_bytes(bytes: &[u8]) -> (Vec<Positioned>, Option<TraceError>) {
    let reader = match TraceReader::from_reader(bytes) {
        Ok(r) => r,
        Err(e) => return (vec![], Some(e)),
    };
    let mut events = vec![];
    let mut reader = reader;
    for item in reader.by_ref() {
        match item {
            Ok(p) => events.push(p),
            Err(e) => {
                // Fused after the first error.
                assert!(reader.next().is_none());
                return (events, Some(e));
            }
        }
    }
    (events, None)
}

/// Encodes a file header like the writer does, with a chosen version.
pub fn file_header_bytes(version: u32, h: &Header) -> Vec<u8> {
    let body = h.to_bytes();
    let mut out = b"SCRIBETR".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&scribe_trace::header_crc(version, &body).to_le_bytes());
    out
}

/// A chunk with valid checksums around an arbitrary compressed payload.
pub fn chunk_with_payload(
    compressed: &[u8],
    raw_len: u32,
    first_index: u64,
    count: u32,
) -> Vec<u8> {
    let h = ChunkHeader {
        compressed_len: compressed.len() as u32,
        raw_len,
        first_index,
        event_count: count,
        payload_crc: crc32fast::hash(compressed),
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(compressed);
    out
}

/// A chunk with valid checksums holding an arbitrary raw payload.
pub fn chunk_with_raw(raw: &[u8], first_index: u64, count: u32) -> Vec<u8> {
    let compressed = zstd::bulk::compress(raw, 3).unwrap();
    chunk_with_payload(&compressed, raw.len() as u32, first_index, count)
}

/// Concatenated encodings of `events`.
pub fn raw_payload(events: &[Event]) -> Vec<u8> {
    let mut enc = Encoder::new();
    for ev in events {
        enc.put(ev);
    }
    enc.into_bytes()
}
