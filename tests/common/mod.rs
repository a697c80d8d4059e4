//! Helpers shared by Scribe's integration tests.
//!
//! * The C programs in `tests/programs/*.c` are compiled once per test
//!   process (`program(name)`), into a directory under Cargo's
//!   `CARGO_TARGET_TMPDIR` named after a hash of the sources, the flags and
//!   the compiler, so parallel test processes share one build and a changed
//!   source never reuses a stale binary.
//! * `record`, `replay`, `profiler` run the `scribe` binary with a timeout.
//! * `Case` / `assert_replays` record a command, replay it, and check that
//!   the replay printed the same stdout and exited with the same status.
//!
//! Tests run in parallel: every test gets its own temporary directory
//! (`tmpdir()`), passes absolute paths as arguments, and never changes the
//! test process's working directory.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// The scribe binary under test.
pub const SCRIBE: &str = env!("CARGO_BIN_EXE_scribe");

/// Longest any single scribe (or helper) invocation may take before the
/// test fails instead of hanging.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Flags the test programs are compiled with.
const CFLAGS: &[&str] = &["-O1", "-g", "-Wall"];

/// Extra compiler flags for particular test programs, after `CFLAGS`.
const PROGRAM_FLAGS: &[(&str, &[&str])] = &[
    ("mutex_counter", &["-pthread"]),
    ("asan_threads", &["-pthread"]),
    ("write_mapped", &["-pthread"]),
    ("pipe_writes", &["-pthread"]),
    ("fork_from_threads", &["-pthread"]),
    ("exec_from_thread", &["-pthread"]),
    ("racy_counter", &["-pthread"]),
    ("sockets", &["-pthread"]),
    ("condvar", &["-pthread"]),
    ("thread_pool", &["-pthread"]),
    ("pthread_kill", &["-pthread"]),
    ("spin_flag", &["-pthread"]),
    ("robust_mutex", &["-pthread"]),
    ("spin_then_signal", &["-pthread"]),
    ("syscallbuf", &["-pthread"]),
    ("resources", &["-pthread"]),
    ("syscallbuf_static", &["-pthread", "-static"]),
    // Cleanup handlers run by unwinding, as in C++, not by longjmp.
    ("cancel_points", &["-pthread", "-fexceptions"]),
];

/// The extra flags `PROGRAM_FLAGS` lists for the program `stem`.
fn program_flags(stem: &str) -> &'static [&'static str] {
    PROGRAM_FLAGS
        .iter()
        .find(|(name, _)| *name == stem)
        .map_or(&[], |(_, flags)| flags)
}

/// Builds a command line from a list of strings, paths and `OsString`s:
/// `argv![program("fileio"), path, "--flag"]`.
#[macro_export]
macro_rules! argv {
    ($($a:expr),* $(,)?) => {
        ::std::vec::Vec::<::std::ffi::OsString>::from([$(::std::ffi::OsString::from(
            ::std::convert::AsRef::<::std::ffi::OsStr>::as_ref(&$a)
        )),*])
    };
}

// ---------------------------------------------------------------------------
// Test programs
// ---------------------------------------------------------------------------

/// Absolute path of the compiled test program `tests/programs/NAME.c` (or `.cpp`).
pub fn program(name: &str) -> PathBuf {
    let path = programs_dir().join(name);
    assert!(
        path.is_file(),
        "no test program {name}: expected tests/programs/{name}.c (built into {})",
        programs_dir().display()
    );
    path
}

fn programs_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(build_programs)
}

fn build_programs() -> PathBuf {
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let mut sources: Vec<PathBuf> = fs::read_dir(&src_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", src_dir.display()))
        .map(|entry| entry.expect("readdir").path())
        .filter(|p| p.extension() == Some(OsStr::new("c")) || p.extension() == Some(OsStr::new("cpp")))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no C programs in {}",
        src_dir.display()
    );

    let gcc_version = Command::new("gcc")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("the tests need gcc to build tests/programs: {e}"));
    let mut hasher = DefaultHasher::new();
    gcc_version.stdout.hash(&mut hasher);
    CFLAGS.hash(&mut hasher);
    PROGRAM_FLAGS.hash(&mut hasher);
    for src in &sources {
        src.file_name().hash(&mut hasher);
        fs::read(src).expect("read C source").hash(&mut hasher);
    }
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scribe-test-programs-{:016x}", hasher.finish()));
    fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));

    for src in &sources {
        let stem = src
            .file_stem()
            .unwrap()
            .to_str()
            .expect("UTF-8 program name");
        let bin = out_dir.join(stem);
        if bin.is_file() {
            continue;
        }
        // Build under a name private to this process, then rename: another
        // test process may be building the same program right now.
        let tmp = out_dir.join(format!(".{stem}.{}.tmp", std::process::id()));
        let compiler = if src.extension() == Some(OsStr::new("cpp")) { "g++" } else { "gcc" };
        let out = Command::new(compiler)
            .args(CFLAGS)
            .args(program_flags(stem))
            .arg("-o")
            .arg(&tmp)
            .arg(src)
            .output()
            .unwrap_or_else(|e| panic!("the tests need {compiler} to build tests/programs: {e}"));
        assert!(
            out.status.success(),
            "{compiler} failed on {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        fs::rename(&tmp, &bin).expect("rename built program");
    }
    out_dir
}

/// Absolute path of `tests/programs/NAME.rs` compiled with `rustc -O`, built
/// once per source version (cached like the C programs, keyed by a hash of
/// the source and `rustc --version`). `None` if there is no `rustc`.
pub fn rust_program(name: &str) -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC")
        .map(PathBuf::from)
        .or_else(|| find_exe("rustc"))?;
    let version = Command::new(&rustc).arg("--version").output().ok()?;
    if !version.status.success() {
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.rs"));
    let source = fs::read(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    let mut hasher = DefaultHasher::new();
    version.stdout.hash(&mut hasher);
    source.hash(&mut hasher);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "scribe-test-rust-programs-{:016x}",
        hasher.finish()
    ));
    fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));
    let bin = out_dir.join(name);
    if bin.is_file() {
        return Some(bin);
    }
    let tmp = out_dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut c = Command::new(&rustc);
    c.args(["-O", "--edition", "2021", "-o"])
        .arg(&tmp)
        .arg(&src);
    let out = run(c, None);
    assert!(
        out.status.success(),
        "rustc failed on {}:\n{}",
        src.display(),
        stderr_str(&out)
    );
    fs::rename(&tmp, &bin).expect("rename built program");
    Some(bin)
}

/// A fresh temporary directory for one test, removed when dropped. It lives
/// under Cargo's target directory rather than /tmp.
pub fn tmpdir() -> TempDir {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(base).expect("create CARGO_TARGET_TMPDIR");
    tempfile::Builder::new()
        .prefix("scribe-test-")
        .tempdir_in(base)
        .expect("create temporary directory")
}

/// Finds a system program, preferring the distribution's own copy (so that,
/// e.g., a pyenv shell-script shim is not what gets recorded).
pub fn find_exe(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// Like `find_exe`, for tools every Linux system has.
pub fn system_exe(name: &str) -> PathBuf {
    find_exe(name).unwrap_or_else(|| panic!("{name} not found on this system"))
}

// ---------------------------------------------------------------------------
// Running processes
// ---------------------------------------------------------------------------

/// The exit status as a shell would report it: the exit code, or 128 plus
/// the number of the signal that killed the process.
pub fn status_code(status: ExitStatus) -> i32 {
    match status.code() {
        Some(code) => code,
        None => 128 + status.signal().unwrap_or(0),
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs `cmd` to completion with the given stdin (or /dev/null), capturing
/// stdout and stderr; panics if it takes longer than `TIMEOUT`.
pub fn run(cmd: Command, stdin: Option<&[u8]>) -> Output {
    run_for(cmd, stdin, TIMEOUT)
}

/// Like `run`, but fails after `timeout` instead of `TIMEOUT`. The panic
/// message contains "did not finish within".
pub fn run_for(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        // The child may exit without reading everything: ignore EPIPE.
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let stdout = read_in_background(child.stdout.take().unwrap());
    let stderr = read_in_background(child.stderr.take().unwrap());

    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr
                .recv_timeout(Duration::from_secs(1))
                .unwrap_or_default();
            panic!(
                "{desc} did not finish within {timeout:?}; stderr so far:\n{}",
                tail(&err, 4000)
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    // A leftover descendant could keep the pipes open: do not wait forever.
    let grace = Duration::from_secs(10);
    let stdout = stdout
        .recv_timeout(grace)
        .unwrap_or_else(|_| panic!("{desc} exited but its stdout stayed open (leftover process?)"));
    let stderr = stderr
        .recv_timeout(grace)
        .unwrap_or_else(|_| panic!("{desc} exited but its stderr stayed open (leftover process?)"));
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Runs a program natively (not under scribe).
pub fn run_native(cmd: &[OsString], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..]);
    run(c, stdin)
}

/// The last `max` bytes of `bytes`, as text, for failure messages.
pub fn tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    let mut s = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if start > 0 {
        s.insert_str(0, "[...]");
    }
    s
}

/// The first `head` and last `tail_len` bytes of `bytes`, as text.
pub fn head_tail(bytes: &[u8], head: usize, tail_len: usize) -> String {
    if bytes.len() <= head + tail_len {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    format!(
        "{}\n[... {} bytes ...]\n{}",
        String::from_utf8_lossy(&bytes[..head]),
        bytes.len() - head - tail_len,
        String::from_utf8_lossy(&bytes[bytes.len() - tail_len..])
    )
}

/// Status, stdout and stderr of `out`, for failure messages.
pub fn show(out: &Output) -> String {
    format!(
        "status: {:?} ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\n---",
        out.status,
        status_code(out.status),
        head_tail(&out.stdout, 1000, 2000),
        head_tail(&out.stderr, 2500, 2500)
    )
}

pub fn stdout_str(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_str(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that scribe did not panic and did not crash on a signal.
pub fn assert_no_panic(out: &Output, what: &str) {
    let err = stderr_str(out);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: scribe panicked\n{}",
        show(out)
    );
    assert!(
        out.status.signal().is_none(),
        "{what}: scribe was killed by a signal\n{}",
        show(out)
    );
}

// ---------------------------------------------------------------------------
// scribe record / replay / profiler
// ---------------------------------------------------------------------------

/// `scribe record -o TRACE -- CMD...`, run in the trace's directory, with the
/// given stdin (or /dev/null).
pub fn record(trace: &Path, cmd: &[OsString], stdin: Option<&[u8]>) -> Output {
    record_with(trace, &[], cmd, stdin)
}

/// `scribe record -o TRACE OPTS... -- CMD...`.
pub fn record_with(trace: &Path, opts: &[&str], cmd: &[OsString], stdin: Option<&[u8]>) -> Output {
    record_for(trace, opts, cmd, stdin, TIMEOUT)
}

/// `record_with`, failing after `timeout` instead of `TIMEOUT`.
pub fn record_for(
    trace: &Path,
    opts: &[&str],
    cmd: &[OsString],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Output {
    let mut c = Command::new(SCRIBE);
    c.arg("record")
        .arg("-o")
        .arg(trace)
        .args(opts)
        .arg("--")
        .args(cmd);
    if let Some(dir) = trace.parent().filter(|d| d.is_dir()) {
        c.current_dir(dir);
    }
    run_for(c, stdin, timeout)
}

/// `scribe replay TRACE`, with /dev/null as stdin, run in the trace's directory.
pub fn replay(trace: &Path) -> Output {
    replay_with(&[], trace)
}

/// `scribe replay OPTS... TRACE`.
pub fn replay_with(opts: &[&str], trace: &Path) -> Output {
    let cwd = trace
        .parent()
        .filter(|d| d.is_dir())
        .unwrap_or(Path::new("/"));
    replay_in(opts, trace, cwd)
}

/// `scribe replay OPTS... TRACE` run from the working directory `cwd`.
pub fn replay_in(opts: &[&str], trace: &Path, cwd: &Path) -> Output {
    replay_in_for(opts, trace, cwd, TIMEOUT)
}

/// `scribe replay TRACE` (in the trace's directory), failing after `timeout`.
/// A replay that stops making progress reports its tasks' states and last
/// events (`--check-deadlock`) well before the timeout, so a hang seen once
/// under load says where it was.
pub fn replay_for(trace: &Path, timeout: Duration) -> Output {
    let cwd = trace
        .parent()
        .filter(|d| d.is_dir())
        .unwrap_or(Path::new("/"));
    let stall = (timeout.as_secs() / 3).max(20).to_string();
    replay_in_for(&["--check-deadlock", &stall], trace, cwd, timeout)
}

/// `replay_in`, failing after `timeout` instead of `TIMEOUT`.
pub fn replay_in_for(opts: &[&str], trace: &Path, cwd: &Path, timeout: Duration) -> Output {
    let mut c = Command::new(SCRIBE);
    c.arg("replay").args(opts).arg(trace).current_dir(cwd);
    run_for(c, None, timeout)
}

/// `scribe profiler ARGS... TRACE`, whatever the outcome.
pub fn profiler_output(trace: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(SCRIBE);
    c.arg("profiler").args(args).arg(trace);
    if let Some(dir) = trace.parent().filter(|d| d.is_dir()) {
        c.current_dir(dir);
    }
    run(c, None)
}

/// `scribe profiler ARGS... TRACE`, which must succeed; returns its stdout.
pub fn profiler(trace: &Path, args: &[&str]) -> String {
    let out = profiler_output(trace, args);
    assert_no_panic(&out, "profiler");
    assert!(
        out.status.success(),
        "scribe profiler {args:?} {} failed\n{}",
        trace.display(),
        show(&out)
    );
    stdout_str(&out)
}

/// Checks that `replay` reproduced `record`: same stdout bytes, same exit
/// status, no panic, no divergence report.
pub fn assert_same_run(record: &Output, replay: &Output, what: &str) {
    assert_no_panic(replay, what);
    let err = stderr_str(replay).to_lowercase();
    assert!(
        !err.contains("diverg"),
        "{what}: replay reported a divergence\n{}",
        show(replay)
    );
    assert_eq!(
        status_code(replay.status),
        status_code(record.status),
        "{what}: replay exit status differs from the recording\n=== record ===\n{}\n=== replay ===\n{}",
        show(record),
        show(replay)
    );
    if record.stdout != replay.stdout {
        let at = record
            .stdout
            .iter()
            .zip(&replay.stdout)
            .position(|(a, b)| a != b)
            .unwrap_or(record.stdout.len().min(replay.stdout.len()));
        panic!(
            "{what}: replay stdout differs from the recording at byte {at} \
             (recorded {} bytes, replayed {} bytes)\n=== record ===\n{}\n=== replay ===\n{}",
            record.stdout.len(),
            replay.stdout.len(),
            show(record),
            show(replay)
        );
    }
}

/// One record-then-replay check, built up with options:
///
/// ```ignore
/// let r = Case::new(argv![program("exitcode"), "42"]).status(42).run();
/// ```
pub struct Case {
    cmd: Vec<OsString>,
    opts: Vec<String>,
    stdin: Option<Vec<u8>>,
    status: Option<i32>,
    dir: Option<PathBuf>,
    stderr_contains: Vec<String>,
    before_replay: Option<Box<dyn FnOnce()>>,
    replays: usize,
    timeout: Duration,
}

/// What a `Case` produced. Keeps its temporary directory alive.
pub struct Recorded {
    pub trace: PathBuf,
    pub record: Output,
    /// The first replay.
    pub replay: Output,
    /// Every replay, the first one included (see `Case::replays`).
    pub replays: Vec<Output>,
    _dir: Option<TempDir>,
}

impl Case {
    /// Records `cmd`; by default expects it to exit 0.
    pub fn new(cmd: Vec<OsString>) -> Case {
        Case {
            cmd,
            opts: Vec::new(),
            stdin: None,
            status: Some(0),
            dir: None,
            stderr_contains: Vec::new(),
            before_replay: None,
            replays: 1,
            timeout: TIMEOUT,
        }
    }

    /// Replay the trace `n` times (default 1), checking each replay against
    /// the recording (and so all of them against each other).
    pub fn replays(mut self, n: usize) -> Case {
        assert!(n >= 1);
        self.replays = n;
        self
    }

    /// Fail each scribe invocation after `timeout` instead of `TIMEOUT`.
    pub fn timeout(mut self, timeout: Duration) -> Case {
        self.timeout = timeout;
        self
    }

    /// Extra `scribe record` options (before `--`).
    pub fn opts(mut self, opts: &[&str]) -> Case {
        self.opts.extend(opts.iter().map(|s| s.to_string()));
        self
    }

    /// Stdin for the recording (the replay always gets /dev/null).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(data.into());
        self
    }

    /// The exit status the recording must report (default 0).
    pub fn status(mut self, code: i32) -> Case {
        self.status = Some(code);
        self
    }

    /// Any exit status is fine for the recording (the replay must still match it).
    pub fn any_status(mut self) -> Case {
        self.status = None;
        self
    }

    /// Put the trace in `dir` (which is also the recording's working
    /// directory) instead of a fresh temporary directory.
    pub fn in_dir(mut self, dir: &Path) -> Case {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Text that both the recording's and the replay's stderr must contain.
    pub fn stderr_contains(mut self, text: &str) -> Case {
        self.stderr_contains.push(text.to_string());
        self
    }

    /// Something to do between the recording and the replay.
    pub fn before_replay(mut self, f: impl FnOnce() + 'static) -> Case {
        self.before_replay = Some(Box::new(f));
        self
    }

    /// Records, checks the recording, replays, checks the replay.
    pub fn run(self) -> Recorded {
        let (tmp, dir) = match &self.dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tmpdir();
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let trace = dir.join("trace.scribe");
        let what = format!("{:?}", self.cmd);
        let opts: Vec<&str> = self.opts.iter().map(String::as_str).collect();

        let rec = record_for(
            &trace,
            &opts,
            &self.cmd,
            self.stdin.as_deref(),
            self.timeout,
        );
        assert_no_panic(&rec, &format!("record {what}"));
        if let Some(code) = self.status {
            assert_eq!(
                rec.status.code(),
                Some(code),
                "record {what}: expected exit status {code}\n{}",
                show(&rec)
            );
        }
        let len = fs::metadata(&trace)
            .unwrap_or_else(|e| {
                panic!(
                    "record {what}: no trace at {}: {e}\n{}",
                    trace.display(),
                    show(&rec)
                )
            })
            .len();
        assert!(len > 0, "record {what}: empty trace file");
        for text in &self.stderr_contains {
            assert!(
                stderr_str(&rec).contains(text.as_str()),
                "record {what}: stderr lacks {text:?}\n{}",
                show(&rec)
            );
        }

        if let Some(f) = self.before_replay {
            f();
        }

        let mut replays = Vec::with_capacity(self.replays);
        for i in 0..self.replays {
            let label = if self.replays > 1 {
                format!("replay #{} of {what}", i + 1)
            } else {
                format!("replay {what}")
            };
            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let rep = replay_for(&trace, self.timeout);
                assert_same_run(&rec, &rep, &label);
                for text in &self.stderr_contains {
                    assert!(
                        stderr_str(&rep).contains(text.as_str()),
                        "{label}: stderr lacks {text:?}\n{}",
                        show(&rep)
                    );
                }
                rep
            }));
            match checked {
                Ok(rep) => replays.push(rep),
                Err(panic) => {
                    keep_failed_trace(&trace);
                    std::panic::resume_unwind(panic);
                }
            }
        }
        Recorded {
            trace,
            record: rec,
            replay: replays[0].clone(),
            replays,
            _dir: tmp,
        }
    }
}

impl Recorded {
    /// The recording's stdout, as text.
    pub fn stdout(&self) -> String {
        stdout_str(&self.record)
    }

    /// The value after `key` on the line of the recording's stdout that
    /// starts with `key`.
    pub fn field(&self, key: &str) -> String {
        field(&self.stdout(), key)
    }
}

/// Copies the trace of a failed replay out of the test's temporary
/// directory (which is removed when the test unwinds), so a failure seen
/// once in CI can be replayed again with `--backtrace` or `--check-deadlock`.
pub fn keep_failed_trace(trace: &Path) {
    let dir = std::env::temp_dir().join("scribe-failed-traces");
    let kept = dir.join(format!(
        "{}-{}.scribe",
        thread::current().name().unwrap_or("test").replace("::", "-"),
        std::process::id()
    ));
    match fs::create_dir_all(&dir).and_then(|()| fs::copy(trace, &kept)) {
        Ok(_) => eprintln!("the trace of the failed replay is kept at {}", kept.display()),
        Err(e) => eprintln!("could not keep the trace of the failed replay: {e}"),
    }
}

/// Records `cmd` (expecting exit status 0), replays it and checks the replay
/// reproduced the recording.
pub fn assert_replays(cmd: Vec<OsString>) -> Recorded {
    Case::new(cmd).run()
}

/// The rest of the first line of `text` that starts with `key`, trimmed.
pub fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no line starting with {key:?} in:\n{text}"))
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// 64-bit FNV-1a, the checksum the C test programs print.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// SHA-256 of `data`, as lowercase hex (FIPS 180-4), to check `sha256sum`.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// Sets a file's modification time to 2020-01-01T00:00:00Z, so the recorder
/// sees it as a long-unchanged file (the way `touch -d 2020-01-01` would).
pub fn make_old(path: &Path) {
    let when = UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .unwrap_or_else(|e| panic!("cannot set the mtime of {}: {e}", path.display()));
}

/// Lines of profiler output that show a system call: `[TID] NAME(...`.
/// Returns (tid, name, line) for each.
pub fn syscall_lines(text: &str) -> Vec<(i32, String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?;
            let close = rest.find(']')?;
            let tid: i32 = rest[..close].parse().ok()?;
            let rest = rest[close + 1..].strip_prefix(' ')?;
            let paren = rest.find('(')?;
            let name = &rest[..paren];
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return None;
            }
            Some((tid, name.to_string(), line.to_string()))
        })
        .collect()
}
