//! Writing traces.

use crate::codec::{Encoder, Wire};
use crate::error::TraceError;
use crate::event::{Event, Header};
use crate::format::{
    header_crc, ChunkHeader, CHUNK_HEADER_LEN, CHUNK_TARGET_LEN, FORMAT_VERSION, MAGIC, MAX_CHUNK_LEN,
    MAX_EVENT_LEN, MAX_HEADER_LEN, ZSTD_LEVEL,
};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Appends events to a trace, in chunks of about [`CHUNK_TARGET_LEN`] raw
/// bytes.
///
/// Events are buffered in memory until a chunk is full or [`flush`] is
/// called; dropping the writer without [`finish`] loses the events pushed
/// since the last flush, but every chunk written before stays readable.
///
/// [`flush`]: TraceWriter::flush
/// [`finish`]: TraceWriter::finish
pub struct TraceWriter<W: Write = File> {
    out: W,
    compressor: zstd::bulk::Compressor<'static>,
    /// Raw payload of the chunk being built.
    pending: Encoder,
    /// Events in `pending`.
    pending_events: u32,
    /// Scratch space for encoding one event.
    scratch: Encoder,
    events_written: u64,
    bytes_written: u64,
    /// Set when a write failed part-way: the file may end in a partial chunk,
    /// so appending more would put valid chunks after garbage.
    failed: bool,
}

impl TraceWriter<File> {
    /// Creates (or truncates) the file at `path` with mode 0600, since traces
    /// hold the environment and file contents, and writes the file header.
    pub fn create(path: &Path, header: &Header) -> Result<Self, TraceError> {
        let context = || format!("creating trace {}", path.display());
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| TraceError::io(context(), e))?;
        // `mode` only applies to new files; an existing file keeps its mode.
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(|e| TraceError::io(context(), e))?;
        Self::from_writer(file, header)
    }
}

impl<W: Write> TraceWriter<W> {
    /// Writes the file header to `out` and returns a writer appending to it.
    /// `out` should be empty: offsets in errors count from its start.
    pub fn from_writer(mut out: W, header: &Header) -> Result<Self, TraceError> {
        let body = header.to_bytes();
        if body.len() > MAX_HEADER_LEN {
            return Err(TraceError::TooLarge {
                offset: 0,
                what: "file header",
                size: body.len() as u64,
                max: MAX_HEADER_LEN as u64,
            });
        }
        let mut bytes = Vec::with_capacity(body.len() + 20);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Fits: checked against MAX_HEADER_LEN above.
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&header_crc(FORMAT_VERSION, &body).to_le_bytes());
        out.write_all(&bytes)
            .map_err(|e| TraceError::io("writing trace file header at offset 0", e))?;
        let compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)
            .map_err(|e| TraceError::io("creating zstd compressor", e))?;
        Ok(TraceWriter {
            out,
            compressor,
            pending: Encoder::new(),
            pending_events: 0,
            scratch: Encoder::new(),
            events_written: 0,
            bytes_written: bytes.len() as u64,
            failed: false,
        })
    }

    /// Appends an event. It reaches the file when its chunk fills up, or on
    /// [`flush`](Self::flush) or [`finish`](Self::finish).
    pub fn push(&mut self, ev: &Event) -> Result<(), TraceError> {
        self.check_usable()?;
        self.scratch.clear();
        ev.encode(&mut self.scratch);
        let len = self.scratch.len();
        if len > MAX_EVENT_LEN {
            return Err(TraceError::TooLarge {
                offset: self.bytes_written,
                what: ev.kind_name(),
                size: len as u64,
                max: MAX_EVENT_LEN as u64,
            });
        }
        // Keep every chunk under the cap: a big event goes into a chunk of
        // its own rather than overflowing the one being built.
        if self.pending.len() + len > MAX_EVENT_LEN {
            self.write_chunk()?;
        }
        self.pending.raw(self.scratch.as_bytes());
        self.pending_events += 1;
        self.events_written += 1;
        if self.pending.len() >= CHUNK_TARGET_LEN {
            self.write_chunk()?;
        }
        Ok(())
    }

    /// Writes the pending events as a chunk (if any) and flushes the output,
    /// so that a recorder killed afterwards loses nothing pushed so far.
    pub fn flush(&mut self) -> Result<(), TraceError> {
        self.check_usable()?;
        self.write_chunk()?;
        let offset = self.bytes_written;
        self.out.flush().map_err(|e| {
            self.failed = true;
            TraceError::io(format!("flushing trace at offset {offset}"), e)
        })
    }

    /// Flushes everything and returns the size of the trace in bytes.
    pub fn finish(mut self) -> Result<u64, TraceError> {
        self.flush()?;
        Ok(self.bytes_written)
    }

    /// Flushes everything and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, TraceError> {
        self.flush()?;
        Ok(self.out)
    }

    /// Events accepted by [`push`](Self::push), including those not yet
    /// written to the output.
    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    /// Bytes written to the output so far (the file size, once flushed).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Raw bytes of events waiting for the next chunk.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn check_usable(&self) -> Result<(), TraceError> {
        if self.failed {
            return Err(TraceError::io(
                format!("appending to trace at offset {}", self.bytes_written),
                io::Error::other("an earlier write failed; the trace ends there"),
            ));
        }
        Ok(())
    }

    /// Compresses and writes the pending events as one chunk.
    fn write_chunk(&mut self) -> Result<(), TraceError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let offset = self.bytes_written;
        let payload = self
            .compressor
            .compress(self.pending.as_bytes())
            .map_err(|e| TraceError::io(format!("compressing chunk at offset {offset}"), e))?;
        // Cannot happen while MAX_EVENT_LEN leaves room for zstd's overhead;
        // checked anyway so the writer can never produce an unreadable chunk.
        if payload.len() > MAX_CHUNK_LEN {
            return Err(TraceError::TooLarge {
                offset,
                what: "compressed chunk",
                size: payload.len() as u64,
                max: MAX_CHUNK_LEN as u64,
            });
        }
        let header = ChunkHeader {
            // Both fit in u32: bounded by MAX_CHUNK_LEN.
            compressed_len: payload.len() as u32,
            raw_len: self.pending.len() as u32,
            first_index: self.events_written - u64::from(self.pending_events),
            event_count: self.pending_events,
            payload_crc: crc32fast::hash(&payload),
        };
        let result = self
            .out
            .write_all(&header.to_bytes())
            .and_then(|()| self.out.write_all(&payload));
        if let Err(e) = result {
            self.failed = true;
            return Err(TraceError::io(
                format!("writing chunk at offset {offset}"),
                e,
            ));
        }
        self.bytes_written += (CHUNK_HEADER_LEN + payload.len()) as u64;
        self.pending.clear();
        self.pending_events = 0;
        Ok(())
    }
}

impl<W: Write> std::fmt::Debug for TraceWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("events_written", &self.events_written)
            .field("bytes_written", &self.bytes_written)
            .field("pending_bytes", &self.pending.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}
