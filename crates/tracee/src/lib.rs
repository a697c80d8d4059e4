//! The only Scribe crate that talks to the kernel directly.
//!
//! It wraps ptrace(2), waitpid(2), seccomp(2), fork/exec and tracee memory
//! access behind safe functions; every `unsafe` block in Scribe lives here and
//! states the invariant it relies on. The rest of the workspace is
//! `#![forbid(unsafe_code)]`.
//!
//! All ptrace requests for a tracee must come from the thread that attached
//! it (see ptrace(2), "Attaching and detaching"): callers keep one thread per
//! recording or replay session.
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod memory;
mod owntsc;
mod ptrace;
mod seccomp;
mod spawn;
mod sys;

pub use memory::TraceeMemory;
pub use owntsc::{rearm_own_tsc, OwnTscTrap};
pub use ptrace::*;
pub use seccomp::SeccompFilter;
pub use spawn::{spawn_traced, SpawnConfig, SCRIBE_FILTERS};
pub use sys::*;

/// A thread id (the kernel's tid; equal to the pid for a process's main thread).
pub type Tid = i32;

/// Errors from tracee control.
#[derive(Debug, thiserror::Error)]
pub enum TraceeError {
    /// The task no longer exists (ESRCH): it exited or was killed.
    #[error("task {tid} is gone ({op})")]
    Gone {
        /// The task.
        tid: Tid,
        /// The operation that found it gone.
        op: &'static str,
    },
    /// A system call on behalf of a task failed.
    #[error("{op} on task {tid} failed: {source}")]
    Sys {
        /// The task (0 when none).
        tid: Tid,
        /// The operation.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program could not be executed.
    #[error("cannot execute {path}: {source}")]
    Exec {
        /// The program path.
        path: String,
        /// The errno execve returned.
        source: std::io::Error,
    },
    /// Bad spawn configuration (e.g. a NUL byte in an argument).
    #[error("invalid spawn configuration: {0}")]
    Config(String),
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, TraceeError>;

impl TraceeError {
    /// Builds an error from the current `errno`, mapping ESRCH to [`TraceeError::Gone`].
    pub(crate) fn last(tid: Tid, op: &'static str) -> Self {
        let source = std::io::Error::last_os_error();
        if source.raw_os_error() == Some(libc::ESRCH) {
            TraceeError::Gone { tid, op }
        } else {
            TraceeError::Sys { tid, op, source }
        }
    }

    /// Whether this error means the task has disappeared.
    pub fn is_gone(&self) -> bool {
        matches!(self, TraceeError::Gone { .. })
    }
}
