//! Constants and fixed-size structures of the file layout (see the crate
//! documentation for the diagram).

/// First 8 bytes of every trace file.
pub const MAGIC: [u8; 8] = *b"SCRIBETR";

/// The file format version this crate writes.
///
/// Version 2 added the state digests of `BookmarkRecord`; they are a
/// trailing field of the bookmark body, absent in version 1 traces, so this
/// crate reads both (see [`MIN_FORMAT_VERSION`]). The version still changed
/// so that an older reader refuses a version 2 trace with a clear message
/// instead of failing on a bookmark's "trailing bytes".
///
/// Version 3 added the exact state of `PreemptRecord`, a trailing field in
/// the same way. Version 4 changed no layout but a convention: at level 0,
/// rt_sigaction runs without a stop in record and replay, so it has no
/// events (replay of an older trace keeps stopping at it). Version 5 goes
/// with version 2 of the in-process syscall buffer (writes, pipe reads and
/// writes buffered; a buffered pipe call followed by its pipe's serial):
/// replay of an older trace that used the buffer is refused. Version 6
/// appends to a preemption's state the memory its registers point to and
/// a layout word (same encoding, a longer list). Version 7 adds the `Join`
/// event (two memory domains become one) and an inode serial after each
/// mmap of a shared file, which replay uses to share the mapping's pages
/// between the processes that map that file. Version 9 changed no layout:
/// it goes with version 3 of the syscall buffer, whose library keeps the
/// kinds of descriptors it learned and so makes fewer buffered fstats than
/// an older one (version 8 was an experiment that was taken back). Version
/// 10 goes with version 4 of the syscall buffer, which buffers brk and
/// anonymous private mmaps (replay's stub makes them for real). Version 11
/// appends to the header the signals the program started with ignored.
/// Version 12 changed no layout: its recorder clears the fault fields of a
/// signal frame at each rt_sigreturn, which replay does for it and later
/// versions only (an older trace's bookmark digests include those fields).
/// Version 13 changed no layout: it goes with version 5 of the syscall
/// buffer, whose library buffers writes to the recording's own output while
/// the recording has one memory domain (an older replayer would wait for
/// them at a stop). Version 14 changed no layout: it goes with version 6 of
/// the syscall buffer, which buffers getrandom, and a `Join` of a task
/// into itself means it leaves its domain (a vfork child at its exec).
/// Version 15 changed no layout: it goes with version 7 of the syscall
/// buffer, whose library also patches libc's identity calls (getuid and
/// the like, which check no error), and at level 0 an rt_sigprocmask that
/// only asks or blocks runs without a stop, in both modes.
/// Version 16 adds the `Random` event: the RDRAND and RDSEED of libstdc++,
/// libgcrypt and libcrypto are rewritten to fault when the library is
/// mapped, in both modes (replay of an older trace leaves them as they are).
/// Version 17 changed no layout: an asynchronous signal a handler takes is
/// delivered by an instruction step, with the frame's fault fields cleared
/// at the handler's first instruction, in both modes (replay of an older
/// trace delivers it as the recording did).
/// Version 18 appends to the header the stack limit the program started
/// with, which replay gives it again (an older trace replays under the
/// replayer's own limit).
/// Version 19 changed no layout: it goes with version 8 of the syscall
/// buffer, whose library buffers closes of pipes and signal unblocks (made
/// for real by the replay stub), besides the sockets, zero-timeout polls
/// and memory devices some format 18 recordings already buffered.
/// Version 20 changed no layout: a point's deep fingerprint reads the
/// memory its registers point to as the task could (not through /proc,
/// which grew the main thread's stack when one pointed just below it).
/// Version 21 changed no layout: a point's state and deep fingerprint leave
/// out the memory of registers that point into Scribe's own pages (the
/// syscall buffer's stub, header and records), which differ between the
/// modes.
/// Version 22 appends to a point the length and digest of the stack above
/// it (`StackDigest`): a loop that keeps its count in a caller's frame,
/// beyond the state's first KiB, looks the same at each pass otherwise.
pub const FORMAT_VERSION: u32 = 22;

/// The checksum stored after the header body. From version 3 on it covers
/// the version too, so that a flipped version byte that still names a
/// readable version is caught instead of read with the wrong layout.
pub fn header_crc(version: u32, body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    if version >= 3 {
        hasher.update(&version.to_le_bytes());
    }
    hasher.update(body);
    hasher.finalize()
}

/// The oldest file format version this crate reads.
pub const MIN_FORMAT_VERSION: u32 = 1;

/// Bytes of the file header before the header body: magic, version, length.
pub const FILE_HEADER_FIXED_LEN: usize = 16;

/// Largest header body accepted: 16 MiB.
pub const MAX_HEADER_LEN: usize = 16 << 20;

/// First 4 bytes of every chunk.
pub const CHUNK_MAGIC: [u8; 4] = *b"SCHK";

/// Size of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 32;

/// Largest raw or compressed chunk payload accepted: 64 MiB.
pub const MAX_CHUNK_LEN: usize = 64 << 20;

/// Largest encoded event the writer accepts: 63 MiB. Less than
/// [`MAX_CHUNK_LEN`] so that even an incompressible chunk holding it stays
/// under the cap once zstd adds its (at most ~0.4%) overhead.
pub const MAX_EVENT_LEN: usize = 63 << 20;

/// The writer starts a new chunk once the raw payload reaches 1 MiB.
pub const CHUNK_TARGET_LEN: usize = 1 << 20;

/// zstd compression level used by the writer: the fastest, since the
/// recorder compresses on its own thread while the program waits (level 3
/// cost 7% of the recorder's time on `ls -lR /usr/share` for a trace only
/// 1.5% smaller).
pub const ZSTD_LEVEL: i32 = 1;

/// The fields of a chunk header (the magic and header crc are implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Length of the zstd payload that follows the header.
    pub compressed_len: u32,
    /// Length of the payload once decompressed.
    pub raw_len: u32,
    /// Global index of the first event in the chunk.
    pub first_index: u64,
    /// Number of events in the chunk.
    pub event_count: u32,
    /// crc32 of the compressed payload.
    pub payload_crc: u32,
}

/// Why a 32-byte chunk header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkHeaderError {
    /// The first 4 bytes are not [`CHUNK_MAGIC`].
    BadMagic,
    /// The stored header crc does not match bytes 4..28.
    BadCrc,
}

impl ChunkHeader {
    /// The 32 bytes of this header, checksum included.
    pub fn to_bytes(&self) -> [u8; CHUNK_HEADER_LEN] {
        let mut out = [0u8; CHUNK_HEADER_LEN];
        out[0..4].copy_from_slice(&CHUNK_MAGIC);
        out[4..8].copy_from_slice(&self.compressed_len.to_le_bytes());
        out[8..12].copy_from_slice(&self.raw_len.to_le_bytes());
        out[12..20].copy_from_slice(&self.first_index.to_le_bytes());
        out[20..24].copy_from_slice(&self.event_count.to_le_bytes());
        out[24..28].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&out[4..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks the magic and header crc of 32 header bytes.
    pub fn parse(bytes: &[u8; CHUNK_HEADER_LEN]) -> Result<Self, ChunkHeaderError> {
        // Every range below is a constant inside the 32-byte array.
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(b)
        };
        if bytes[0..4] != CHUNK_MAGIC {
            return Err(ChunkHeaderError::BadMagic);
        }
        if crc32fast::hash(&bytes[4..28]) != u32_at(28) {
            return Err(ChunkHeaderError::BadCrc);
        }
        let mut index = [0u8; 8];
        index.copy_from_slice(&bytes[12..20]);
        Ok(ChunkHeader {
            compressed_len: u32_at(4),
            raw_len: u32_at(8),
            first_index: u64::from_le_bytes(index),
            event_count: u32_at(20),
            payload_crc: u32_at(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_header_round_trip_and_checks() {
        let h = ChunkHeader {
            compressed_len: 10,
            raw_len: 20,
            first_index: u64::MAX - 3,
            event_count: 7,
            payload_crc: 0xdead_beef,
        };
        let bytes = h.to_bytes();
        assert_eq!(&bytes[0..4], b"SCHK");
        assert_eq!(ChunkHeader::parse(&bytes), Ok(h));
        for i in 0..CHUNK_HEADER_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x01;
            let expect = if i < 4 {
                ChunkHeaderError::BadMagic
            } else {
                ChunkHeaderError::BadCrc
            };
            assert_eq!(ChunkHeader::parse(&bad), Err(expect), "byte {i}");
        }
    }
}
