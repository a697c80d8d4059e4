//! The profiler: prints a trace for people, built on the event iterator.

use std::io::Write;
use std::path::Path;

use scribe_trace::{Event, Header, Tid, TraceReader};

use crate::error::{EngineError, Result};
use crate::format::{format_event, FormatOptions};
use crate::replay::position;

/// What the profiler prints.
#[derive(Debug, Clone, Default)]
pub struct ProfilerOptions {
    /// Print raw field values instead of the annotated form.
    pub raw: bool,
    /// Prefix each event with its position in the trace.
    pub offsets: bool,
    /// Only these tasks (all when empty).
    pub tids: Vec<Tid>,
    /// Only these syscall names (all when empty); other event kinds are hidden when set.
    pub syscalls: Vec<String>,
    /// Only these event kinds (`syscall`, `data`, `signal`, `file`, `exec`,
    /// `mmap`, `rdtsc`, `exit`, `regs`, `resource`, `bookmark`, `end`); all when empty.
    pub kinds: Vec<String>,
    /// Bytes of each data buffer shown (0 = default).
    pub data_prefix: usize,
}

/// The event kinds the profiler knows, for validating user input.
pub const EVENT_KINDS: &[&str] =
    &["syscall", "buffered", "data", "signal", "file", "exec", "mmap", "rdtsc", "random", "exit", "regs", "resource", "bookmark", "start", "preempt", "join", "end"];

/// How a profiler run ended.
#[derive(Debug)]
pub struct ProfileSummary {
    /// Events read.
    pub events: u64,
    /// Events printed.
    pub printed: u64,
    /// Set when the trace could not be read to its end (truncated or corrupt):
    /// everything before it was printed.
    pub stopped_by: Option<EngineError>,
    /// Whether the trace ends with an end-of-trace event.
    pub complete: bool,
    /// File offset just past the last complete chunk read.
    pub end_offset: u64,
}

/// One-paragraph description of a trace header.
pub fn describe_header(header: &Header) -> Vec<String> {
    let argv: Vec<String> = header.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let mut lines = vec![
        format!("# command: {}", argv.join(" ")),
        format!("# program: {}", String::from_utf8_lossy(&header.exe_path)),
        format!("# directory: {}", String::from_utf8_lossy(&header.cwd)),
        format!(
            "# recorded by scribe {} on {} (kernel {}), level {}{}",
            header.scribe_version,
            header.cpu_model,
            header.kernel_release,
            header.level,
            if header.portable { ", portable" } else { "" }
        ),
    ];
    if let Some(limit) = header.stack_limit {
        lines.push(format!("# stack limit: {}", scribe_tracee::describe_limit(limit)));
    }
    lines
}

fn wanted(event: &Event, opts: &ProfilerOptions) -> bool {
    if !opts.tids.is_empty() && !event.tid().is_some_and(|t| opts.tids.contains(&t)) {
        return false;
    }
    if !opts.syscalls.is_empty() {
        let (Event::Syscall(s) | Event::Buffered(s)) = event else { return false };
        let name = crate::format::syscall_name(s.nr);
        if !opts.syscalls.contains(&name) {
            return false;
        }
    }
    // A buffered syscall is a syscall too: `-k syscall` and `-k data` show it.
    let is_call = matches!(event, Event::Syscall(_) | Event::Buffered(_));
    opts.kinds.is_empty()
        || opts.kinds.iter().any(|k| k == event.kind_name())
        || (is_call && opts.kinds.iter().any(|k| k == "syscall" || k == "data"))
}

/// Prints the trace at `path` to `out`.
///
/// A trace that is truncated or corrupt is printed up to the last event that
/// could be read; [`ProfileSummary::stopped_by`] says why it stopped.
pub fn profile(path: &Path, opts: &ProfilerOptions, out: &mut dyn Write) -> Result<ProfileSummary> {
    let mut reader = TraceReader::open(path)?;
    let io = |e| EngineError::io("writing the profile", e);
    for line in describe_header(reader.header()) {
        writeln!(out, "{line}").map_err(io)?;
    }
    let format = FormatOptions { raw: opts.raw, data_prefix: if opts.data_prefix == 0 { 48 } else { opts.data_prefix } };
    let show_calls = opts.kinds.is_empty() || opts.kinds.iter().any(|k| k == "syscall" || k == "buffered");
    let show_data = opts.kinds.is_empty() || opts.kinds.iter().any(|k| k == "data");
    let mut summary = ProfileSummary { events: 0, printed: 0, stopped_by: None, complete: false, end_offset: 0 };
    for item in reader.by_ref() {
        let p = match item {
            Ok(p) => p,
            Err(e) => {
                summary.stopped_by = Some(e.into());
                break;
            }
        };
        summary.events += 1;
        summary.complete = matches!(p.event, Event::End(_));
        if !wanted(&p.event, opts) {
            continue;
        }
        let mut lines = format_event(&p.event, &format);
        if matches!(p.event, Event::Syscall(_) | Event::Buffered(_)) && !opts.raw {
            if !show_data {
                lines.truncate(1);
            }
            if !show_calls {
                lines.remove(0);
            }
        }
        if opts.offsets {
            if let Some(first) = lines.first_mut() {
                *first = format!("{}: {first}", position(&p));
            }
        }
        for line in lines {
            writeln!(out, "{line}").map_err(io)?;
        }
        summary.printed += 1;
    }
    summary.end_offset = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(summary)
}
