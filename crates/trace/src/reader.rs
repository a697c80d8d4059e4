//! Reading traces, one chunk at a time.

use crate::codec::{Decoder, Wire};
use crate::error::TraceError;
use crate::event::{Event, Header};
use crate::format::{
    header_crc, ChunkHeader, ChunkHeaderError, CHUNK_HEADER_LEN, FILE_HEADER_FIXED_LEN, FORMAT_VERSION, MAGIC, MIN_FORMAT_VERSION,
    MAX_CHUNK_LEN, MAX_HEADER_LEN,
};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, ErrorKind, Read};
use std::path::Path;

/// Where an event is: its chunk, and its offset in the decompressed payload.
/// Displays as `chunk@4096+120`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// File offset of the chunk header.
    pub chunk_offset: u64,
    /// Byte offset within the decompressed chunk payload.
    pub offset_in_chunk: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chunk@{}+{}", self.chunk_offset, self.offset_in_chunk)
    }
}

/// An event with its location in the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positioned {
    /// File offset of the chunk header.
    pub chunk_offset: u64,
    /// Byte offset of the event within the decompressed chunk payload.
    pub offset_in_chunk: u32,
    /// Global event number, from 0.
    pub index: u64,
    /// The event.
    pub event: Event,
}

impl Positioned {
    /// The event's position, for messages.
    pub fn position(&self) -> Position {
        Position {
            chunk_offset: self.chunk_offset,
            offset_in_chunk: self.offset_in_chunk,
        }
    }
}

/// The chunk whose events are being yielded.
#[derive(Debug)]
struct Cursor {
    /// File offset of the chunk header.
    offset: u64,
    /// Offset of the next event in the raw payload.
    pos: usize,
    /// Events declared by the header and not yet yielded.
    left: u32,
    /// Events declared by the header.
    count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// Reached the end of the file at a chunk boundary.
    Eof,
    /// Yielded an error; the iterator is fused.
    Failed,
}

/// Reads a trace: the header at construction, then events through the
/// [`Iterator`] implementation, decompressing one chunk at a time.
///
/// The iterator yields `Err` at most once and then stops. A trace cut short
/// by a killed recorder yields every event of its complete chunks and then
/// [`TraceError::Truncated`].
pub struct TraceReader<R: Read = BufReader<File>> {
    src: R,
    header: Header,
    /// The file's format version.
    version: u32,
    /// File offset of the next chunk header.
    next_offset: u64,
    /// Global index the next event must have.
    next_index: u64,
    cursor: Option<Cursor>,
    /// Buffers reused across chunks.
    compressed: Vec<u8>,
    raw: Vec<u8>,
    decompressor: zstd::bulk::Decompressor<'static>,
    state: State,
    last_was_end: bool,
    chunks_read: u64,
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match src.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n.min(rest.len()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads exactly `len` bytes into `buf` (cleared first), growing it only as
/// data actually arrives so that a lying length cannot force a large
/// allocation. Returns whether all `len` bytes were there.
fn read_exact_into(src: &mut impl Read, len: usize, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    src.take(len as u64).read_to_end(buf)?;
    Ok(buf.len() == len)
}

fn le_u32(bytes: [u8; 4]) -> u32 {
    u32::from_le_bytes(bytes)
}

impl TraceReader<BufReader<File>> {
    /// Opens the trace at `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, TraceError> {
        let file = File::open(path)
            .map_err(|e| TraceError::io(format!("opening trace {}", path.display()), e))?;
        Self::from_reader(BufReader::with_capacity(64 << 10, file))
    }

    /// Reads a whole trace: the header and every event. Fails on the first
    /// error, truncation included.
    pub fn read_all(path: &Path) -> Result<(Header, Vec<Event>), TraceError> {
        let mut reader = Self::open(path)?;
        let events = reader
            .by_ref()
            .map(|p| p.map(|p| p.event))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((reader.header, events))
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads and checks the file header from `src` (e.g. a `&[u8]`), which
    /// must be positioned at the start of the trace.
    pub fn from_reader(mut src: R) -> Result<Self, TraceError> {
        let (header, body_len, version) = Self::read_header(&mut src)?;
        let decompressor = zstd::bulk::Decompressor::new()
            .map_err(|e| TraceError::io("creating zstd decompressor", e))?;
        Ok(TraceReader {
            src,
            header,
            version,
            // Cannot overflow: body_len <= MAX_HEADER_LEN.
            next_offset: (FILE_HEADER_FIXED_LEN + body_len + 4) as u64,
            next_index: 0,
            cursor: None,
            compressed: Vec::new(),
            raw: Vec::new(),
            decompressor,
            state: State::Reading,
            last_was_end: false,
            chunks_read: 0,
        })
    }

    /// Reads the file header; returns it with its body length and the
    /// format version.
    fn read_header(src: &mut R) -> Result<(Header, usize, u32), TraceError> {
        let io_err = |e| TraceError::io("reading trace file header at offset 0", e);
        let truncated = TraceError::Truncated {
            offset: 0,
            what: "file header",
        };
        let mut fixed = [0u8; FILE_HEADER_FIXED_LEN];
        let n = read_full(src, &mut fixed).map_err(io_err)?;
        let got = fixed.get(..n).unwrap_or_default();
        let magic_part = got.get(..MAGIC.len()).unwrap_or(got);
        // A short file that is a prefix of the magic is a trace cut short
        // (the empty file of a recorder killed at once included); anything
        // else is not a trace at all.
        if !MAGIC.starts_with(magic_part) {
            return Err(TraceError::NotATrace {
                found: magic_part.escape_ascii().to_string(),
            });
        }
        if n < FILE_HEADER_FIXED_LEN {
            return Err(truncated);
        }
        let [_, _, _, _, _, _, _, _, v0, v1, v2, v3, l0, l1, l2, l3] = fixed;
        let version = le_u32([v0, v1, v2, v3]);
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(TraceError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let body_len = le_u32([l0, l1, l2, l3]);
        let body_len = usize::try_from(body_len)
            .ok()
            .filter(|&len| len <= MAX_HEADER_LEN)
            .ok_or_else(|| {
                TraceError::corrupt(
                    0,
                    format!("header body length {body_len} exceeds the {MAX_HEADER_LEN}-byte cap"),
                )
            })?;
        let mut body = Vec::new();
        // The body and its crc, read together.
        if !read_exact_into(src, body_len + 4, &mut body).map_err(io_err)? {
            return Err(truncated);
        }
        let (body, crc) = body.split_at(body_len);
        let mut stored = [0u8; 4];
        stored.copy_from_slice(crc);
        if header_crc(version, body) != le_u32(stored) {
            return Err(TraceError::ChecksumMismatch {
                offset: 0,
                what: "file header",
            });
        }
        let header = Header::from_bytes(body).map_err(|e| {
            TraceError::corrupt(
                0,
                format!(
                    "header body at offset {}: {}",
                    FILE_HEADER_FIXED_LEN + e.offset,
                    e.kind
                ),
            )
        })?;
        Ok((header, body_len, version))
    }

    /// The trace's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's format version (from [`crate::MIN_FORMAT_VERSION`] to
    /// [`crate::FORMAT_VERSION`]).
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// The events, as an iterator over this reader (same as the reader
    /// itself, which is an [`Iterator`]).
    pub fn events(&mut self) -> &mut Self {
        self
    }

    /// Whether the trace was read to its end without error and its last
    /// event was [`Event::End`]: the recorder finished normally. False while
    /// events remain, after an error, and for a trace cut at a chunk boundary.
    pub fn ended_cleanly(&self) -> bool {
        self.state == State::Eof && self.last_was_end
    }

    /// Whether iteration is over (end of file or error).
    pub fn is_done(&self) -> bool {
        self.state != State::Reading
    }

    /// Events yielded so far.
    pub fn events_read(&self) -> u64 {
        self.next_index
    }

    /// Chunks loaded so far.
    pub fn chunks_read(&self) -> u64 {
        self.chunks_read
    }

    /// Reads the next chunk into `raw`. Returns false at a clean end of file.
    fn load_chunk(&mut self) -> Result<bool, TraceError> {
        let offset = self.next_offset;
        let io_err =
            |what: &str, e| TraceError::io(format!("reading {what} at offset {offset}"), e);

        let mut bytes = [0u8; CHUNK_HEADER_LEN];
        match read_full(&mut self.src, &mut bytes).map_err(|e| io_err("chunk header", e))? {
            0 => return Ok(false),
            CHUNK_HEADER_LEN => {}
            _ => {
                return Err(TraceError::Truncated {
                    offset,
                    what: "chunk header",
                })
            }
        }
        let header = ChunkHeader::parse(&bytes).map_err(|e| match e {
            ChunkHeaderError::BadMagic => TraceError::corrupt(
                offset,
                format!(
                    "expected chunk magic \"SCHK\", found \"{}\"",
                    bytes.get(..4).unwrap_or_default().escape_ascii()
                ),
            ),
            ChunkHeaderError::BadCrc => TraceError::ChecksumMismatch {
                offset,
                what: "chunk header",
            },
        })?;
        let corrupt = |detail: String| TraceError::corrupt(offset, detail);

        let compressed_len = header.compressed_len as usize;
        let raw_len = header.raw_len as usize;
        let count = header.event_count;
        if compressed_len > MAX_CHUNK_LEN || raw_len > MAX_CHUNK_LEN {
            return Err(corrupt(format!(
                "chunk lengths {compressed_len} (compressed) / {raw_len} (raw) exceed the \
                 {MAX_CHUNK_LEN}-byte cap"
            )));
        }
        // Every event takes at least 2 bytes (kind and body length).
        if count == 0 || u64::from(count) * 2 > raw_len as u64 {
            return Err(corrupt(format!(
                "chunk declares {count} events in {raw_len} raw bytes"
            )));
        }
        if header.first_index != self.next_index {
            return Err(corrupt(format!(
                "chunk starts at event #{}, expected #{} (a chunk is missing or repeated)",
                header.first_index, self.next_index
            )));
        }

        if !read_exact_into(&mut self.src, compressed_len, &mut self.compressed)
            .map_err(|e| io_err("chunk payload", e))?
        {
            return Err(TraceError::Truncated {
                offset,
                what: "chunk",
            });
        }
        if crc32fast::hash(&self.compressed) != header.payload_crc {
            return Err(TraceError::ChecksumMismatch {
                offset,
                what: "chunk payload",
            });
        }

        // Decompress into at least raw_len bytes of capacity: more output
        // than that fails (or shows as a length mismatch below).
        self.raw.clear();
        self.raw.reserve(raw_len);
        self.decompressor
            .decompress_to_buffer(&self.compressed, &mut self.raw)
            .map_err(|e| corrupt(format!("zstd decompression failed: {e}")))?;
        if self.raw.len() != raw_len {
            return Err(corrupt(format!(
                "payload decompresses to {} bytes, header says {raw_len}",
                self.raw.len()
            )));
        }

        self.next_offset = offset
            .checked_add((CHUNK_HEADER_LEN + compressed_len) as u64)
            .ok_or_else(|| corrupt("file offset overflows".into()))?;
        self.cursor = Some(Cursor {
            offset,
            pos: 0,
            left: count,
            count,
        });
        self.chunks_read += 1;
        Ok(true)
    }

    /// The next event, or `None` at the end of the current chunk.
    fn next_in_chunk(&mut self) -> Option<Result<Positioned, TraceError>> {
        let cursor = self.cursor.as_mut()?;
        let chunk_offset = cursor.offset;
        let corrupt_at = |pos: usize, detail: String| TraceError::Corrupt {
            offset: chunk_offset,
            at: Some(Position {
                chunk_offset,
                // Fits: the payload is at most MAX_CHUNK_LEN bytes.
                offset_in_chunk: u32::try_from(pos).unwrap_or(u32::MAX),
            }),
            detail,
        };
        let rest = self.raw.get(cursor.pos..).unwrap_or_default();
        if cursor.left == 0 {
            if !rest.is_empty() {
                return Some(Err(corrupt_at(
                    cursor.pos,
                    format!(
                        "{} bytes left after the chunk's {} events",
                        rest.len(),
                        cursor.count
                    ),
                )));
            }
            self.cursor = None;
            return None;
        }
        if rest.is_empty() {
            return Some(Err(corrupt_at(
                cursor.pos,
                format!(
                    "payload ends after {} of the chunk's {} events",
                    cursor.count - cursor.left,
                    cursor.count
                ),
            )));
        }
        let index = self.next_index;
        let mut dec = Decoder::with_base(rest, cursor.pos);
        let event = match Event::decode(&mut dec) {
            Ok(ev) => ev,
            Err(e) => {
                return Some(Err(corrupt_at(
                    e.offset,
                    format!("event #{index} (starting at +{}): {}", cursor.pos, e.kind),
                )))
            }
        };
        let Some(next_index) = index.checked_add(1) else {
            return Some(Err(corrupt_at(cursor.pos, "event index overflows".into())));
        };
        let offset_in_chunk = u32::try_from(cursor.pos).unwrap_or(u32::MAX);
        cursor.pos = dec.offset();
        cursor.left -= 1;
        self.next_index = next_index;
        self.last_was_end = matches!(event, Event::End(_));
        Some(Ok(Positioned {
            chunk_offset,
            offset_in_chunk,
            index,
            event,
        }))
    }
}

impl<R: Read> Iterator for TraceReader<R> {
    type Item = Result<Positioned, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.state == State::Reading {
            let result = match self.next_in_chunk() {
                Some(result) => result,
                None => match self.load_chunk() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.state = State::Eof;
                        return None;
                    }
                    Err(e) => Err(e),
                },
            };
            if result.is_err() {
                self.state = State::Failed;
                self.cursor = None;
            }
            return Some(result);
        }
        None
    }
}

impl<R: Read> fmt::Debug for TraceReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceReader")
            .field("header", &self.header)
            .field("next_offset", &self.next_offset)
            .field("next_index", &self.next_index)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
