//! Reliability: the recorder killed with SIGKILL or stopped with SIGTERM in
//! the middle of a run, the permissions of trace files, and hostile
//! programs (failing execs, many forks, closed standard fds, their own
//! seccomp filter, blocked signals, PTRACE_TRACEME).
//!
//! A recorder that dies must take the recorded program with it, and what
//! it wrote must still be readable: the profiler prints the events up to
//! the last complete chunk and replay reproduces that prefix of the run.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Timeout for each scribe invocation: every test here takes a few seconds
/// at most, so a hang fails fast instead of after `TIMEOUT`.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the traced program may survive its recorder.
const SURVIVAL_LIMIT: Duration = Duration::from_secs(2);

/// Words the profiler may use to say that a trace stops early.
const INCOMPLETE: &[&str] = &[
    "truncat",
    "incomplete",
    "no end-of-trace",
    "before finishing",
    "readable only up to",
];

/// A `Case` for `cmd` with `CASE_TIMEOUT`.
fn case(cmd: Vec<std::ffi::OsString>) -> Case {
    Case::new(cmd).timeout(CASE_TIMEOUT)
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// Processes whose command line is exactly `argv` (scanned from /proc), with
/// their state letter from /proc/PID/stat.
fn processes_with_argv(argv: &[&[u8]]) -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline
            .strip_suffix(b"\0")
            .unwrap_or(&cmdline)
            .split(|&b| b == 0)
            .collect();
        if args != argv {
            continue;
        }
        let state = fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                // "PID (COMM) STATE ...": COMM may contain spaces and parens.
                let after = &stat[stat.rfind(')')? + 1..];
                after.split_whitespace().next().map(str::to_string)
            })
            .unwrap_or_else(|| "?".into());
        found.push((pid, state));
    }
    found
}

/// Sends `signal` (a name such as "KILL" or "TERM") to process `pid`.
fn send_signal(pid: u32, signal: &str) {
    let out = Command::new(system_exe("kill"))
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .output()
        .expect("run kill");
    assert!(
        out.status.success(),
        "kill -{signal} {pid} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Number of complete lines in `path` (0 if it cannot be read).
fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|d| d.iter().filter(|&&b| b == b'\n').count())
        .unwrap_or(0)
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A `scribe record` of `ticker TAG` running in the background, its stdout
/// and stderr going to files. Dropping it kills whatever is left of the
/// recorder and the program.
struct TickerRecording {
    dir: tempfile::TempDir,
    trace: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    ticker: PathBuf,
    tag: String,
    child: Option<Child>,
}

impl TickerRecording {
    /// Starts recording and waits until the program has printed at least 10
    /// lines and the recorder has flushed a chunk of the trace after that,
    /// so the trace holds some of the program's writes.
    fn start() -> TickerRecording {
        let dir = tmpdir();
        let trace = dir.path().join("ticker.scribe");
        let stdout = dir.path().join("ticker.out");
        let stderr = dir.path().join("record.err");
        let ticker = program("ticker");
        // Unique per test: tests run in parallel, each with its own ticker.
        let tag = format!("tag-{}", dir.path().display());
        let child = Command::new(SCRIBE)
            .arg("record")
            .arg("-o")
            .arg(&trace)
            .arg("--")
            .arg(&ticker)
            .arg(&tag)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start scribe record");
        let mut rec = TickerRecording {
            dir,
            trace,
            stdout,
            stderr,
            ticker,
            tag,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut size_at_10_lines = None;
        loop {
            if let Some(status) = rec.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the recorder exited early with {status:?}\nstderr:\n{}",
                    fs::read_to_string(&rec.stderr).unwrap_or_default()
                );
            }
            match size_at_10_lines {
                None if line_count(&rec.stdout) >= 10 => {
                    size_at_10_lines = Some(file_len(&rec.trace));
                }
                Some(size) if file_len(&rec.trace) > size => break,
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "the recording did not get going: {} lines of output, trace of {} bytes\nstderr:\n{}",
                line_count(&rec.stdout),
                file_len(&rec.trace),
                fs::read_to_string(&rec.stderr).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !rec.ticker_processes().is_empty(),
            "the recorded ticker ({} {}) is not in /proc while being recorded",
            rec.ticker.display(),
            rec.tag
        );
        rec
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The recorded program's processes still alive (with their state).
    fn ticker_processes(&self) -> Vec<(u32, String)> {
        let exe = self.ticker.as_os_str().as_encoded_bytes();
        processes_with_argv(&[exe, self.tag.as_bytes()])
    }

    /// Waits for the recorder to exit (at most `limit`).
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the recorder did not exit within {limit:?} of the signal\nstderr:\n{}",
                fs::read_to_string(&self.stderr).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asserts that the recorded program is gone within `SURVIVAL_LIMIT`.
    fn assert_program_gone(&self, what: &str) {
        let deadline = Instant::now() + SURVIVAL_LIMIT;
        loop {
            let left = self.ticker_processes();
            if left.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                for (pid, _) in &left {
                    let _ = Command::new(system_exe("kill"))
                        .args(["-KILL", &pid.to_string()])
                        .output();
                }
                panic!(
                    "{what}: the recorded program is still there {SURVIVAL_LIMIT:?} later \
                     (pid, state): {left:?}"
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the program printed while recorded.
    fn recorded_stdout(&self) -> Vec<u8> {
        fs::read(&self.stdout).unwrap()
    }

    fn recorder_stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for TickerRecording {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for (pid, _) in self.ticker_processes() {
            let _ = Command::new(system_exe("kill"))
                .args(["-KILL", &pid.to_string()])
                .output();
        }
    }
}

/// Records the ticker, kills the recorder with SIGKILL once the trace holds
/// some of the program's writes, and checks that the program died with it.
fn sigkilled_trace() -> TickerRecording {
    let mut rec = TickerRecording::start();
    send_signal(rec.pid(), "KILL");
    let status = rec.wait(Duration::from_secs(5));
    assert_eq!(
        status_code(status),
        128 + 9,
        "the recorder was not killed by SIGKILL"
    );
    rec.assert_program_gone("after kill -9 of the recorder");
    let len = file_len(&rec.trace);
    assert!(len > 0, "empty trace after kill -9 of the recorder");
    assert!(
        line_count(&rec.stdout) >= 10,
        "the program printed fewer than 10 lines"
    );
    rec
}

/// Asserts that `replay` printed a non-empty prefix of what the program
/// printed while recorded, and returns the number of lines it printed.
fn assert_prefix(replay: &Output, recorded: &[u8], what: &str) -> usize {
    assert!(
        !replay.stdout.is_empty(),
        "{what}: replay printed nothing\n{}",
        show(replay)
    );
    if !recorded.starts_with(&replay.stdout) {
        let at = recorded
            .iter()
            .zip(&replay.stdout)
            .position(|(a, b)| a != b)
            .unwrap_or(recorded.len());
        panic!(
            "{what}: replay stdout is not a prefix of the recorded stdout: differs at byte {at} \
             (recorded {} bytes, replayed {} bytes)\n--- recorded ---\n{}\n=== replay ===\n{}",
            recorded.len(),
            replay.stdout.len(),
            head_tail(recorded, 500, 500),
            show(replay)
        );
    }
    replay.stdout.iter().filter(|&&b| b == b'\n').count()
}

fn profiler_for(trace: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(SCRIBE);
    c.arg("profiler").args(args).arg(trace);
    run_for(c, None, CASE_TIMEOUT)
}

/// Lines of a profile that are not header comments.
fn event_lines(profile: &str) -> Vec<&str> {
    profile
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

fn assert_mentions_any(text: &str, words: &[&str], what: &str, out: &Output) {
    let lower = text.to_lowercase();
    assert!(
        words.iter().any(|w| lower.contains(w)),
        "{what}: mentions none of {words:?}\n{}",
        show(out)
    );
}

// ---------------------------------------------------------------------------
// kill -9 of the recorder
// ---------------------------------------------------------------------------

#[test]
fn sigkill_of_recorder_kills_program() {
    let rec = sigkilled_trace();
    // The program stopped printing when it died.
    let lines = line_count(&rec.stdout);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        line_count(&rec.stdout),
        lines,
        "the program kept printing after its recorder was killed"
    );
    let mode = fs::metadata(&rec.trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "trace of a killed recording has mode {mode:o}");
}

#[test]
fn sigkill_trace_profiles_up_to_last_chunk() {
    let rec = sigkilled_trace();
    let prof = profiler_for(&rec.trace, &[]);
    assert_no_panic(&prof, "profiler of a trace cut by kill -9");
    let err = stderr_str(&prof);
    assert_mentions_any(&err, INCOMPLETE, "profiler stderr", &prof);
    let out = stdout_str(&prof);
    let writes: Vec<_> = syscall_lines(&out)
        .into_iter()
        .filter(|(_, name, line)| name == "write" && line.contains("write(1,"))
        .collect();
    assert!(
        !writes.is_empty(),
        "the profile of a trace cut by kill -9 shows no write(1, ...)\n{}",
        show(&prof)
    );
    // Every write in the trace happened: the program printed at least as
    // many lines as the trace shows writes.
    assert!(
        writes.len() <= line_count(&rec.stdout),
        "the profile shows {} writes to stdout but the program printed only {} lines",
        writes.len(),
        line_count(&rec.stdout)
    );
}

#[test]
fn sigkill_trace_profiler_names_offset() {
    let rec = sigkilled_trace();
    let prof = profiler_for(&rec.trace, &[]);
    assert_no_panic(&prof, "profiler of a trace cut by kill -9");
    let err = stderr_str(&prof);
    assert_mentions_any(&err, INCOMPLETE, "profiler stderr", &prof);
    assert!(
        err.to_lowercase().contains("offset"),
        "profiler of a trace cut by kill -9 does not say at which offset it ends\n{}",
        show(&prof)
    );
}

#[test]
fn sigkill_trace_replays_prefix() {
    let rec = sigkilled_trace();
    let rep = replay_for(&rec.trace, CASE_TIMEOUT);
    assert_no_panic(&rep, "replay of a trace cut by kill -9");
    assert!(
        !rep.status.success(),
        "replay of a trace cut by kill -9 succeeded\n{}",
        show(&rep)
    );
    let lines = assert_prefix(
        &rep,
        &rec.recorded_stdout(),
        "replay of a trace cut by kill -9",
    );
    assert!(
        lines >= 5,
        "replay of a trace cut by kill -9 printed only {lines} lines\n{}",
        show(&rep)
    );
    let err = stderr_str(&rep).to_lowercase();
    assert!(
        err.contains("trace ends") || err.contains("offset"),
        "replay of a trace cut by kill -9 does not say where the trace ends\n{}",
        show(&rep)
    );
    assert!(
        !err.contains("diverg"),
        "the end of a trace cut by kill -9 is reported as a divergence\n{}",
        show(&rep)
    );
}

// ---------------------------------------------------------------------------
// SIGTERM to the recorder
// ---------------------------------------------------------------------------

/// Records the ticker and stops the recorder with SIGTERM.
fn sigtermed_trace() -> (TickerRecording, ExitStatus) {
    let mut rec = TickerRecording::start();
    send_signal(rec.pid(), "TERM");
    let status = rec.wait(Duration::from_secs(5));
    rec.assert_program_gone("after SIGTERM to the recorder");
    (rec, status)
}

#[test]
fn sigterm_of_recorder_ends_trace_with_message() {
    let (rec, status) = sigtermed_trace();
    let err = rec.recorder_stderr();
    assert!(
        !status.success() && status.code().is_some(),
        "the recorder should exit with a failure status after SIGTERM, got {status:?}\nstderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "the recorder panicked\n{err}");
    assert!(
        err.contains("SIGTERM"),
        "the recorder's message does not mention SIGTERM:\n{err}"
    );

    let prof = profiler_for(&rec.trace, &["--kind", "end"]);
    assert_no_panic(&prof, "profiler --kind end");
    assert!(prof.status.success(), "{}", show(&prof));
    let out = stdout_str(&prof);
    let events = event_lines(&out);
    assert_eq!(
        events.len(),
        1,
        "expected exactly one end event\n{}",
        show(&prof)
    );
    assert!(
        events[0].contains("SIGTERM"),
        "the end event does not mention the signal\n{}",
        show(&prof)
    );
    // The trace is complete: no warning about a missing end.
    assert!(
        !stderr_str(&prof).to_lowercase().contains("no end-of-trace"),
        "{}",
        show(&prof)
    );
}

#[test]
fn sigterm_trace_replays_prefix_and_reports_end() {
    let (rec, _) = sigtermed_trace();
    let rep = replay_for(&rec.trace, CASE_TIMEOUT);
    assert_no_panic(&rep, "replay of a trace ended by SIGTERM");
    assert!(
        !rep.status.success(),
        "replay of a trace ended by SIGTERM succeeded\n{}",
        show(&rep)
    );
    let lines = assert_prefix(
        &rep,
        &rec.recorded_stdout(),
        "replay of a trace ended by SIGTERM",
    );
    assert!(
        lines >= 5,
        "replay printed only {lines} lines\n{}",
        show(&rep)
    );
    let err = stderr_str(&rep);
    assert!(
        err.contains("SIGTERM"),
        "replay does not report why the trace ends (SIGTERM)\n{}",
        show(&rep)
    );
    assert!(
        !err.to_lowercase().contains("diverg"),
        "the recorded end of the trace is reported as a divergence\n{}",
        show(&rep)
    );
}

// ---------------------------------------------------------------------------
// Trace file permissions
// ---------------------------------------------------------------------------

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn fresh_trace_has_mode_0600() {
    let r = case(argv![program("exitcode"), "0"]).run();
    let mode = mode_of(&r.trace);
    assert_eq!(mode, 0o600, "a fresh trace has mode {mode:o}");
}

#[test]
fn existing_trace_file_gets_mode_0600() {
    for old_mode in [0o644, 0o666, 0o755] {
        let dir = tmpdir();
        let trace = dir.path().join("trace.scribe");
        fs::write(&trace, "an older, world-readable file\n".repeat(100)).unwrap();
        fs::set_permissions(&trace, fs::Permissions::from_mode(old_mode)).unwrap();
        assert_eq!(mode_of(&trace), old_mode);
        let r = case(argv![program("exitcode"), "0"])
            .in_dir(dir.path())
            .run();
        let mode = mode_of(&r.trace);
        assert_eq!(
            mode, 0o600,
            "a trace written over a file with mode {old_mode:o} has mode {mode:o}"
        );
    }
}

// ---------------------------------------------------------------------------
// Hostile programs
// ---------------------------------------------------------------------------

#[test]
fn exec_of_missing_binary_then_fallback() {
    let r = case(argv![program("exec_missing")]).status(3).run();
    let out = r.stdout();
    assert!(out.contains("execve = -1 errno=ENOENT"), "{out}");
    assert!(out.contains("fallback"), "{out}");
}

#[test]
fn fork_1000_children() {
    // The timeout turns a hang into a failure; speed is the benchmark's job.
    let r = case(argv![program("fork_many"), "1000"])
        .timeout(Duration::from_secs(120))
        .run();
    let out = r.stdout();
    assert!(out.contains("forked 1000, failed 0, reaped 1000"), "{out}");
    assert!(out.contains("abnormal 0"), "{out}");
}

#[test]
fn program_closing_std_fds() {
    let dir = tmpdir();
    let file = dir.path().join("written-without-stdio.txt");
    let r = case(argv![program("close_std"), file])
        .in_dir(dir.path())
        .run();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "written with fds 0, 1 and 2 closed\n",
        "the recorded program did not write its file"
    );
    assert!(r.record.stdout.is_empty(), "{}", show(&r.record));
    assert!(r.replay.stdout.is_empty(), "{}", show(&r.replay));
    assert!(
        !stderr_str(&r.replay).to_lowercase().contains("error"),
        "{}",
        show(&r.replay)
    );
}

#[test]
fn program_with_own_seccomp_filter() {
    let r = case(argv![program("seccomp_self")]).any_status().run();
    let out = r.stdout();
    assert_eq!(
        r.record.status.code(),
        Some(0),
        "getppid did not fail with EPERM under the program's own filter\n{}",
        show(&r.record)
    );
    assert!(out.contains("seccomp = 0"), "{out}");
    assert!(out.contains("getppid = -1 errno=EPERM"), "{out}");
    assert!(out.contains("getpid ok: 1"), "{out}");
}

#[test]
fn program_blocking_all_signals_signals_itself() {
    let r = case(argv![program("sigblock_self")]).run();
    let out = r.stdout();
    assert!(out.contains("kill SIGUSR1 = 0, kill SIGTERM = 0"), "{out}");
    assert!(
        out.contains("pending: SIGUSR1=1 SIGTERM=1 SIGINT=0"),
        "{out}"
    );
    assert!(out.contains("still alive"), "{out}");
}

#[test]
fn ptrace_traceme_fails_with_eperm() {
    let r = case(argv![program("traceme")]).run();
    let out = r.stdout();
    assert!(
        out.contains("ptrace(PTRACE_TRACEME) = -1 errno=EPERM"),
        "PTRACE_TRACEME under scribe should fail with EPERM: {out}"
    );
    assert!(out.contains("after ptrace"), "{out}");
    // The recorder says why, once.
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let rec = record(&trace, &argv![program("traceme")], None);
    let err = stderr_str(&rec);
    assert_eq!(err.matches("called ptrace: a recorded program cannot trace others").count(), 1, "{err}");
}

// ---------------------------------------------------------------------------
// The profiler on the killed trace, with every option
// ---------------------------------------------------------------------------

#[test]
fn profiler_options_on_sigkill_trace() {
    let rec = sigkilled_trace();
    let trace = &rec.trace;

    let check = |args: &[&str]| -> String {
        let out = profiler_for(trace, args);
        let what = format!("profiler {args:?} of a trace cut by kill -9");
        assert_no_panic(&out, &what);
        assert_mentions_any(&stderr_str(&out), INCOMPLETE, &what, &out);
        stdout_str(&out)
    };

    let plain = check(&[]);
    let calls = syscall_lines(&plain);
    assert!(!calls.is_empty(), "no syscalls in the profile:\n{plain}");
    let tid = calls[0].0;
    let tid_arg = tid.to_string();

    let raw = check(&["-r"]);
    assert!(!event_lines(&raw).is_empty(), "-r printed no events");
    assert_ne!(raw, plain, "-r printed the same as the default");

    let offsets = check(&["-o"]);
    let lines = event_lines(&offsets);
    assert!(!lines.is_empty(), "-o printed no events");
    assert!(
        lines.iter().any(|l| l.contains("offset")),
        "-o shows no offsets:\n{}",
        lines[..lines.len().min(10)].join("\n")
    );

    let syscalls = check(&["--kind", "syscall"]);
    let lines = event_lines(&syscalls);
    assert!(!lines.is_empty(), "--kind syscall printed nothing");
    assert_eq!(
        syscall_lines(&syscalls).len(),
        lines.len(),
        "--kind syscall printed lines that are not syscalls:\n{syscalls}"
    );
    assert_eq!(lines.len(), calls.len(), "--kind syscall lost syscalls");

    let by_tid = check(&["-p", &tid_arg]);
    let tid_calls = syscall_lines(&by_tid);
    assert!(!tid_calls.is_empty(), "-p {tid} printed no syscalls");
    assert!(
        tid_calls.iter().all(|(t, _, _)| *t == tid),
        "-p {tid} printed another task's syscalls:\n{by_tid}"
    );
    let none = check(&["-p", "999999999"]);
    assert!(
        event_lines(&none).is_empty(),
        "-p of a task that does not exist printed events:\n{none}"
    );

    check(&["-r", "-o", "--kind", "syscall", "-p", &tid_arg]);
    check(&["--kind", "end"]);
    check(&["--syscall", "write", "--data-bytes", "0"]);

    // The same trace cut inside its last chunk: every option still works
    // and the profiler says at which offset the trace breaks off.
    let bytes = fs::read(trace).unwrap();
    let cut = rec.dir.path().join("cut.scribe");
    fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    for args in [
        &[][..],
        &["-r"],
        &["-o"],
        &["--kind", "syscall"],
        &["-p", &tid_arg],
    ] {
        let out = profiler_for(&cut, args);
        let what = format!("profiler {args:?} of a trace cut inside a chunk");
        assert_no_panic(&out, &what);
        assert!(
            stderr_str(&out).to_lowercase().contains("offset"),
            "{what}: does not say where the trace breaks off\n{}",
            show(&out)
        );
    }
}

/// Unmounts a test tmpfs when the test ends, however it ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_ends_the_recording_with_a_clear_error_and_a_readable_trace() {
    let dir = tmpdir();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _guard = Mounted(mnt.clone());
    let trace = mnt.join("t.scribe");
    let cmd = vec![system_exe("ls").into_os_string(), "-lR".into(), "/usr/share".into()];
    let rec = record_with(&trace, &["-l", "1"], &cmd, None);
    assert_no_panic(&rec, "record");
    assert_eq!(status_code(rec.status), 125, "{}", show(&rec));
    let err = stderr_str(&rec);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    let prof = profiler_output(&trace, &[]);
    assert_no_panic(&prof, "profiler");
    assert!(!prof.status.success());
    assert!(stderr_str(&prof).contains("offset"), "{}", show(&prof));
    assert!(stdout_str(&prof).contains("] openat("), "events before the full disk are readable");
}
