//! Recorded process and thread ids for the tasks replay makes
//! (`replay --recorded-pids`).
//!
//! Replay tells a program the ids the recording had (fork's result,
//! getpid, gettid), while the kernel gives the tasks it makes whatever ids
//! are next. That is invisible during replay, but a program that goes live
//! keeps the recorded ids it was told: a shell's `waitpid` of a child made
//! during replay then fails with ECHILD (a pipeline that ran right exited
//! with status 255), and a `kill` reaches no one or someone else.
//!
//! Right before a task's clone, fork or vfork runs, replay writes the
//! recorded id minus one to `/proc/sys/kernel/ns_last_pid`, the pid
//! namespace's last allocated id, so the kernel gives the new task the
//! recorded id if it is free; once the task exists, the old value goes
//! back. The call itself is the program's, untouched. It needs
//! CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) in the namespace; without it,
//! or if the id is taken (by another process, or by a task another process
//! forked between the write and the clone), the task gets another id and
//! replay goes on as before: ids are a courtesy to the live program, never
//! something replay relies on.
//!
//! It is a choice, off by default, because the counter is the whole
//! namespace's: a process that forks in that window gets an id just above
//! the recorded one, which may have been in use a moment ago. A recording
//! running meanwhile then saw one id twice (two processes, one after the
//! other), which its replay does not tell apart (test runs in parallel
//! failed that way). Running the replay in a pid namespace of its own
//! (`unshare --pid --fork --mount-proc`) leaves other processes alone.

use std::path::Path;

use scribe_tracee::Tid;

/// The pid namespace's last allocated id (see the module documentation).
const LAST_PID: &str = "/proc/sys/kernel/ns_last_pid";

/// Asks the kernel for recorded ids, if asked to, until it refuses once.
#[derive(Debug, Default)]
pub struct PidChoice {
    /// Asking is on and the kernel has not refused.
    asking: bool,
    /// The counter's value before the last ask, to put back.
    restore: Option<String>,
    /// Tasks made since replay started.
    made: u64,
    /// Of those, the ones that got their recorded id.
    given: u64,
}

impl PidChoice {
    /// Asks for recorded ids if `on`.
    pub fn new(on: bool) -> Self {
        PidChoice { asking: on, ..Default::default() }
    }

    /// Makes `want` the id the next task made in this pid namespace gets,
    /// if it is free and the kernel lets Scribe choose.
    pub fn ask_for(&mut self, want: Tid) {
        if !self.asking || want <= 1 || Path::new(&format!("/proc/{want}")).exists() {
            return;
        }
        let Ok(before) = std::fs::read_to_string(LAST_PID) else {
            self.asking = false;
            return;
        };
        if std::fs::write(LAST_PID, (want - 1).to_string()).is_ok() {
            self.restore = Some(before.trim().to_string());
        } else {
            self.asking = false;
        }
    }

    /// Notes that the task recorded as `want` was made with id `got`, and
    /// puts the namespace's counter back where it was.
    pub fn got(&mut self, want: Tid, got: Tid) {
        self.made += 1;
        self.given += u64::from(want == got);
        if let Some(before) = self.restore.take() {
            // Not below the id just made: the kernel would hand it out next.
            let keep = before.parse::<Tid>().map_or(got, |b| b.max(got));
            let _ = std::fs::write(LAST_PID, keep.to_string());
        }
    }

    /// How many tasks replay made and how many of them have their recorded id.
    pub fn given(&self) -> (u64, u64) {
        (self.made, self.given)
    }
}
