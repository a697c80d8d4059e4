//! Errors of the trace reader and writer.

use crate::reader::Position;
use std::io;
use thiserror::Error;

/// A failure to read or write a trace. Every variant says where in the file
/// the problem is; events inside a chunk are located by [`Position`] because
/// the chunk payload is compressed.
#[derive(Debug, Error)]
pub enum TraceError {
    /// An I/O error; `context` says what was being done, and at which offset.
    #[error("{context}")]
    Io {
        /// What was being done, e.g. "reading chunk header at offset 4096".
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The file does not start with the trace magic.
    #[error("not a Scribe trace: expected magic \"SCRIBETR\" at offset 0, found \"{found}\"")]
    NotATrace {
        /// The first bytes of the file, escaped.
        found: String,
    },

    /// The file is a trace of a format version this build cannot read.
    #[error("unsupported trace format version {found} (at offset 8); this build reads versions 1 to {supported}")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Newest version this build reads (it reads every version from
        /// `MIN_FORMAT_VERSION` up to this one).
        supported: u32,
    },

    /// The file ends inside a header or chunk, as when the recorder was
    /// killed mid-write. Every complete chunk before `offset` was readable.
    #[error("trace truncated: the file ends inside the {what} that starts at offset {offset}")]
    Truncated {
        /// File offset of the incomplete structure.
        offset: u64,
        /// What is incomplete: "file header", "chunk header" or "chunk".
        what: &'static str,
    },

    /// A checksum does not match: the file was damaged after writing.
    #[error("checksum mismatch in the {what} at offset {offset}")]
    ChecksumMismatch {
        /// File offset of the structure (file header or chunk header).
        offset: u64,
        /// What failed: "file header", "chunk header" or "chunk payload".
        what: &'static str,
    },

    /// The file is structurally invalid despite matching checksums (or was
    /// written by a broken writer).
    #[error("corrupt trace at offset {offset}{}: {detail}", at.map(|p| format!(" ({p})")).unwrap_or_default())]
    Corrupt {
        /// File offset of the file header or chunk holding the problem.
        offset: u64,
        /// Position inside the decompressed chunk, for event decode errors.
        at: Option<Position>,
        /// What is wrong.
        detail: String,
    },

    /// The writer was given a header or event too large for the format.
    #[error("{what} of {size} bytes exceeds the {max}-byte limit (writing at offset {offset})")]
    TooLarge {
        /// File offset the writer had reached.
        offset: u64,
        /// "file header" or the event kind name.
        what: &'static str,
        /// Encoded size.
        size: u64,
        /// The limit.
        max: u64,
    },
}

impl TraceError {
    /// An [`TraceError::Io`] with context.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        TraceError::Io {
            context: context.into(),
            source,
        }
    }

    /// A [`TraceError::Corrupt`] outside any event.
    pub(crate) fn corrupt(offset: u64, detail: impl Into<String>) -> Self {
        TraceError::Corrupt {
            offset,
            at: None,
            detail: detail.into(),
        }
    }

    /// Whether this is a [`TraceError::Truncated`], the expected end of a
    /// trace whose recorder was killed.
    pub fn is_truncated(&self) -> bool {
        matches!(self, TraceError::Truncated { .. })
    }
}
