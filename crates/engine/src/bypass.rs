//! Letting a program that runs on unrecorded (gone live in replay, or
//! after the recorder detached) make its syscalls without stopping.
//!
//! Scribe's seccomp filter cannot be removed, and without a tracer it
//! fails every syscall it traces with ENOSYS, so Scribe stays attached to
//! a live program. Each of its syscalls then stopped at Scribe only to be
//! resumed: 1.9 million calls made live took 58 s instead of 0.6 s. The
//! kernel lets a tracer with CAP_SYS_ADMIN suspend a
//! tracee's filters (PTRACE_O_SUSPEND_SECCOMP); a suspended task stops
//! only at ptrace events, signals and rdtsc traps.
//!
//! Suspending lifts every filter of the task, and a program's own (a
//! sandbox) must keep working, so a task is suspended only while its one
//! filter is Scribe's. A task that installs one later is found at its
//! next clone, fork or exec, where its filters are put back: until then
//! its own filter is not enforced. Without the capability, every syscall
//! stops and is passed through, as before.

use std::collections::HashSet;

use scribe_tracee::{self as tracee, PtraceEvent, Tid, WaitStatus};

use crate::procfs;

/// Which live tasks bypass Scribe's filter.
#[derive(Debug, Default)]
pub struct FilterBypass {
    /// Set once the kernel refused a suspension: not asked again.
    refused: bool,
    /// Tasks seen stopped since they run live (a decision was made).
    seen: HashSet<Tid>,
    /// Tasks whose filters are suspended.
    suspended: HashSet<Tid>,
    /// How many tasks were suspended, ended ones too.
    suspended_total: u64,
}

impl FilterBypass {
    /// At a stop of live task `tid`, which is about to be resumed: the
    /// first time, suspends its filters if it has none of its own and the
    /// kernel allows it, else makes sure they apply (a child inherits its
    /// parent's suspension).
    pub fn at_stop(&mut self, tid: Tid) {
        if !self.seen.insert(tid) {
            return;
        }
        let only_scribes = procfs::seccomp_filters(tid) == Some(tracee::SCRIBE_FILTERS);
        if only_scribes && !self.refused {
            match tracee::set_seccomp_suspended(tid, true) {
                Ok(()) => {
                    self.suspended.insert(tid);
                    self.suspended_total += 1;
                }
                // Not in a ptrace stop after all (ESRCH): tried again at its next one.
                Err(e) if e.is_gone() => {
                    self.seen.remove(&tid);
                }
                Err(_) => self.refused = true,
            }
        } else if tracee::set_seccomp_suspended(tid, false).is_err() {
            // Clears a suspension inherited from the parent; tried again at
            // the next stop if the task was not stopped.
            self.seen.remove(&tid);
        }
    }

    /// At a clone, fork, vfork or exec event of `tid`: a suspended task
    /// that has installed a filter of its own meets its filters again.
    fn at_event(&mut self, tid: Tid) {
        if self.suspended.contains(&tid)
            && procfs::seccomp_filters(tid).is_some_and(|n| n > tracee::SCRIBE_FILTERS)
            && tracee::set_seccomp_suspended(tid, false).is_ok()
        {
            self.suspended.remove(&tid);
        }
    }

    /// At any stop of live task `tid` that the tracer passes through:
    /// forgets a task that ended, re-checks one at a clone, fork, vfork or
    /// exec event ([`at_event`](Self::at_event)), and decides about any
    /// other the first time ([`at_stop`](Self::at_stop)).
    pub fn at_passed_stop(&mut self, tid: Tid, status: WaitStatus) {
        match status {
            WaitStatus::Exited(_) | WaitStatus::Signaled { .. } => {
                self.seen.remove(&tid);
                self.suspended.remove(&tid);
            }
            WaitStatus::Event(PtraceEvent::Clone | PtraceEvent::Fork | PtraceEvent::Vfork | PtraceEvent::Exec) => {
                self.at_stop(tid);
                self.at_event(tid);
            }
            _ => self.at_stop(tid),
        }
    }

    /// How many live tasks bypassed the filter, ended ones too.
    pub fn suspended_total(&self) -> u64 {
        self.suspended_total
    }
}
