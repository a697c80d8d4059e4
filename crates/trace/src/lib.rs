//! Scribe's trace file format.
//!
//! A trace is a file header followed by any number of independent,
//! checksummed, zstd-compressed chunks of events. Everything is written
//! append-only, so a recorder that is killed mid-run leaves a file whose
//! complete chunks are all readable; only the chunk being written is lost.
//!
//! ```text
//!  FILE HEADER (16 + n + 4 bytes)
//!  offset
//!  0        +---------------------------------------------+
//!           | magic            b"SCRIBETR"        8 bytes  |
//!  8        | format version   u32 LE (1 to 12)   4 bytes  |
//!  12       | header body len  u32 LE (<= 16 MiB) 4 bytes  |
//!  16       | header body      `Header`, codec    n bytes  |
//!  16+n     | crc32(header body) u32 LE           4 bytes  |  (from version 3: crc32(version, body))
//!           +---------------------------------------------+
//!
//!  CHUNK (32 + compressed len bytes), repeated until end of file
//!  +0       +---------------------------------------------+
//!           | magic            b"SCHK"            4 bytes  |
//!  +4       | compressed len   u32 LE (<= 64 MiB) 4 bytes  | -+
//!  +8       | raw len          u32 LE (<= 64 MiB) 4 bytes  |  |
//!  +12      | first event idx  u64 LE             8 bytes  |  | covered by
//!  +20      | event count      u32 LE             4 bytes  |  | header crc
//!  +24      | crc32(payload)   u32 LE             4 bytes  | -+
//!  +28      | header crc       u32 LE             4 bytes  |
//!  +32      | payload: zstd frame of the raw bytes         |
//!           +---------------------------------------------+
//!
//!  RAW CHUNK PAYLOAD (after decompression): events back to back
//!           +------+--------------+----------------+------+----
//!           | kind | body len     | body           | kind | ...
//!           | u8   | varint       | body len bytes |      |
//!           +------+--------------+----------------+------+----
//! ```
//!
//! Event bodies and the header body use the hand-written [`codec`]: LEB128
//! varints for unsigned integers, zigzag varints for signed ones, byte
//! strings as a varint length then the bytes, fixed-size arrays raw, and
//! `Option` as a 0/1 tag byte then the value. No Rust enum discriminant is
//! ever persisted: event kinds are the explicit [`kind`] constants.
//!
//! Chunk indices (`first event idx`) are global event numbers, so a reader
//! can tell whether a chunk is missing, and every event gets a stable number.
//!
//! Use [`TraceWriter`] to record and [`TraceReader`] to read; the reader never
//! panics on malformed input and reports every problem as a [`TraceError`]
//! naming the file offset (and chunk position) where it was found.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod background;
pub mod codec;
pub mod error;
pub mod event;
pub mod format;
pub mod reader;
pub mod writer;

pub use background::{BackgroundReader, BackgroundWriter};
pub use codec::{DecodeError, DecodeErrorKind, Decoder, Encoder, Wire};
pub use error::TraceError;
pub use event::*;
pub use format::{
    header_crc, ChunkHeader, CHUNK_HEADER_LEN, CHUNK_MAGIC, CHUNK_TARGET_LEN, FILE_HEADER_FIXED_LEN,
    FORMAT_VERSION, MAGIC, MAX_CHUNK_LEN, MIN_FORMAT_VERSION, MAX_EVENT_LEN, MAX_HEADER_LEN, ZSTD_LEVEL,
};
pub use reader::{Position, Positioned, TraceReader};
pub use writer::TraceWriter;
