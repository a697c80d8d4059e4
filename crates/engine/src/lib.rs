//! Scribe's record and replay engine.
//!
//! - [`Recorder`] runs a program under ptrace with a seccomp filter and
//!   writes a trace of everything nondeterministic it observed.
//! - [`Replayer`] re-executes the program from a trace, deterministically.
//! - [`profiler::profile`] prints a trace for people.
//!
//! ```no_run
//! use scribe_engine::{Recorder, Replayer};
//! let recorded = Recorder::new(["date"]).output("date.log").record()?;
//! let replayed = Replayer::open("date.log")?.replay()?;
//! assert_eq!(recorded.status, replayed.status);
//! # Ok::<(), scribe_engine::EngineError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bypass;
pub mod cpupin;
pub mod error;
pub mod exec;
pub mod fdmodel;
pub mod files;
pub mod format;
pub mod golive;
pub mod hashcache;
pub mod history;
pub mod machine;
pub mod pidchoice;
pub mod point;
pub mod procfs;
pub mod randinsn;
pub mod profiler;
pub mod record;
pub mod replay;
pub mod resources;
pub mod serials;
pub mod shrink;
pub mod syscallbuf;

pub use error::{Divergence, EngineError, Result};
pub use machine::ExitStatus;
pub use record::{Notifier, RecordOptions, RecordOutcome, Recorder};
pub use replay::{Observer, ReplayOptions, ReplayOutcome, Replayer, Stop};
pub use scribe_trace as trace;
