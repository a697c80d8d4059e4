//! The engine's error type.

use scribe_trace::{Tid, TraceError};
use scribe_tracee::TraceeError;

/// What went wrong while recording, replaying or reading a trace.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The trace file could not be read or written.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Controlling a tracee failed.
    #[error(transparent)]
    Tracee(#[from] TraceeError),
    /// Controlling a tracee failed during replay, after the event at `after`.
    #[error("{source} (replaying, after {after})")]
    TraceeDuringReplay {
        /// What failed.
        source: TraceeError,
        /// Where the last replayed event sits in the trace, and what it is.
        after: String,
    },
    /// The program to record cannot be found or run.
    #[error("{0}")]
    Program(String),
    /// A file the trace refers to cannot be used for replay.
    #[error("{0}")]
    File(String),
    /// Replay took a different path from the recording.
    #[error("replay diverged from the recording on task {}: {}", .0.tid, .0.summary)]
    Divergence(Box<Divergence>),
    /// The trace ends before the program does.
    #[error("the trace ends at {position} while task {tid} is still running ({detail})")]
    TraceEnded {
        /// The task left running.
        tid: Tid,
        /// Position of the last event read.
        position: String,
        /// Why the stream ended.
        detail: String,
    },
    /// The recorded program did something Scribe cannot record yet.
    #[error("unsupported on task {tid}: {what}")]
    Unsupported {
        /// The task.
        tid: Tid,
        /// What it did.
        what: String,
    },
    /// Any other I/O failure (writing output, reading /proc).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl EngineError {
    /// The task a ptrace request found gone (killed meanwhile), if that is the error.
    pub fn gone_task(&self) -> Option<Tid> {
        match self {
            EngineError::Tracee(TraceeError::Gone { tid, .. }) => Some(*tid),
            _ => None,
        }
    }
}

/// The details of a divergence, for the report.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The recorded task id that diverged.
    pub tid: Tid,
    /// One line saying what differed.
    pub summary: String,
    /// The recorded event that was expected, formatted.
    pub expected: String,
    /// What the replayed task did instead, formatted.
    pub observed: String,
    /// Position of the expected event in the trace.
    pub position: String,
    /// Registers of the diverging task, as (name, value).
    pub registers: Vec<(&'static str, u64)>,
    /// The last events replayed before the divergence, formatted, oldest first.
    pub backtrace: Vec<String>,
}

/// Result type of the engine.
pub type Result<T> = std::result::Result<T, EngineError>;

impl EngineError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io { context: context.into(), source }
    }
}
