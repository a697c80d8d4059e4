//! Rewriting a trace smaller: recompressed, with the data replay does not
//! need dropped (syscall inputs, register dumps and digests), optionally
//! without bookmarks.

use std::path::Path;

use scribe_trace::{Event, TraceReader, TraceWriter};

use crate::error::{EngineError, Result};

/// What `shrink` keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShrinkOptions {
    /// Drop bookmark events too.
    pub remove_bookmarks: bool,
}

/// Sizes before and after shrinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkOutcome {
    /// Events read.
    pub events_in: u64,
    /// Events written.
    pub events_out: u64,
    /// Size of the input trace in bytes.
    pub bytes_in: u64,
    /// Size of the output trace in bytes.
    pub bytes_out: u64,
}

/// Writes a smaller copy of the trace at `input` to `output`; it replays
/// exactly like the original (a level-0 trace).
///
/// A truncated input is copied up to its last complete chunk and the error
/// returned after the output is complete.
pub fn shrink(input: &Path, output: &Path, options: ShrinkOptions) -> Result<ShrinkOutcome> {
    if input.canonicalize().ok().is_some_and(|i| output.canonicalize().ok() == Some(i)) {
        return Err(EngineError::Program("the output of shrink must not be its input".into()));
    }
    let reader = TraceReader::open(input)?;
    let mut header = reader.header().clone();
    header.level = 0;
    let mut writer = TraceWriter::create(output, &header)?;
    let (mut events_in, mut events_out) = (0, 0);
    let mut failure = None;
    for item in reader {
        let mut event = match item {
            Ok(p) => p.event,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        events_in += 1;
        match &mut event {
            Event::Regs(_) => continue,
            Event::Bookmark(_) if options.remove_bookmarks => continue,
            Event::Syscall(call) => {
                call.inputs.clear();
                call.regs_digest = None;
            }
            _ => {}
        }
        writer.push(&event)?;
        events_out += 1;
    }
    let bytes_out = writer.finish()?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    let bytes_in = std::fs::metadata(input).map_err(|e| EngineError::io(format!("reading {}", input.display()), e))?.len();
    Ok(ShrinkOutcome { events_in, events_out, bytes_in, bytes_out })
}
