//! Bad input: programs that cannot be run, traces that are missing,
//! empty, garbage, truncated or corrupted, and files that changed between
//! recording and replay. Scribe must fail with a clear message and a
//! non-zero exit status, and never panic.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// Asserts a clean failure: non-zero exit, a message on stderr, no panic.
fn assert_clean_failure(out: &Output, what: &str) {
    assert_no_panic(out, what);
    assert!(
        !out.status.success(),
        "{what}: expected failure\n{}",
        show(out)
    );
    assert!(
        !stderr_str(out).trim().is_empty(),
        "{what}: failed without a message\n{}",
        show(out)
    );
}

/// Asserts that `out`'s stderr explains the failure with one of `words`
/// (case-insensitive) rather than with a divergence report: a damaged trace
/// or a changed file must be reported as such, not blamed on the program.
fn assert_reason(out: &Output, words: &[&str], what: &str) {
    let err = stderr_str(out).to_lowercase();
    assert!(
        words.iter().any(|w| err.contains(w)),
        "{what}: stderr mentions none of {words:?}\n{}",
        show(out)
    );
    assert!(
        !err.contains("diverged"),
        "{what}: reported as a divergence instead of its cause\n{}",
        show(out)
    );
}

/// `scribe record` of a command that cannot be executed: one line on stderr
/// that names the program.
fn assert_record_refuses(program: &Path) {
    let dir = tmpdir();
    let trace = dir.path().join("trace.scribe");
    let out = record(&trace, &argv![program], None);
    let what = format!("record {}", program.display());
    assert_clean_failure(&out, &what);
    let err = stderr_str(&out);
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{what}: expected a one-line error\n{}",
        show(&out)
    );
    assert!(
        err.contains(&*program.to_string_lossy()),
        "{what}: the error does not name the program\n{}",
        show(&out)
    );
}

/// A trace recorded from `ls -l /usr/bin` (plenty of events), returned with
/// the directory that holds it.
fn ls_trace() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tmpdir();
    let trace = dir.path().join("ls.scribe");
    let out = record(&trace, &argv![system_exe("ls"), "-l", "/usr/bin"], None);
    assert_no_panic(&out, "record ls");
    assert!(out.status.success(), "record ls failed\n{}", show(&out));
    let bytes = fs::read(&trace).unwrap();
    assert!(
        bytes.len() > 64,
        "suspiciously small trace: {} bytes",
        bytes.len()
    );
    (dir, trace, bytes)
}

// ---------------------------------------------------------------------------
// Programs that cannot be run
// ---------------------------------------------------------------------------

#[test]
fn record_missing_program() {
    assert_record_refuses(Path::new("/nonexistent/scribe-test-program"));
}

#[test]
fn record_missing_program_in_path() {
    let dir = tmpdir();
    let out = record(
        &dir.path().join("t.scribe"),
        &argv!["scribe-no-such-program-xyz"],
        None,
    );
    assert_clean_failure(&out, "record of a name not in PATH");
    assert!(
        stderr_str(&out).contains("scribe-no-such-program-xyz"),
        "{}",
        show(&out)
    );
}

#[test]
fn record_non_executable_file() {
    let dir = tmpdir();
    let script = dir.path().join("not-executable.sh");
    fs::write(&script, "#!/bin/sh\necho should-not-run\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    assert_record_refuses(&script);
}

/// A script whose `#!` interpreter is missing: the kernel says only "No
/// such file or directory", so Scribe names the interpreter.
#[test]
fn record_script_with_a_missing_interpreter() {
    let dir = tmpdir();
    let script = dir.path().join("bad-shebang");
    fs::write(&script, "#!/nonexistent/interpreter -x\necho should-not-run\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let out = record(&dir.path().join("t.scribe"), &argv![&script], None);
    assert_clean_failure(&out, "record of a script whose interpreter is missing");
    assert!(stderr_str(&out).contains("its interpreter /nonexistent/interpreter does not exist"), "{}", show(&out));
}

#[test]
fn record_directory_as_program() {
    let dir = tmpdir();
    assert_record_refuses(dir.path());
}

#[test]
fn record_without_command() {
    let dir = tmpdir();
    let mut cmd = Command::new(SCRIBE);
    cmd.arg("record").arg("-o").arg(dir.path().join("t.scribe"));
    let out = run(cmd, None);
    assert_clean_failure(&out, "record without a command");
}

/// An option `record` does not have is refused, not taken for the program
/// (which recorded nothing into `--quiet.log`, blaming a missing program).
#[test]
fn record_with_an_unknown_option() {
    let dir = tmpdir();
    let mut cmd = Command::new(SCRIBE);
    cmd.current_dir(dir.path()).args(["record", "--quiet", "--"]).arg(system_exe("true"));
    let out = run(cmd, None);
    assert_clean_failure(&out, "record --quiet");
    assert_reason(&out, &["--quiet"], "record --quiet");
    assert!(stderr_str(&out).contains("unexpected argument"), "{}", show(&out));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a trace was written");
}

#[test]
fn record_into_missing_directory() {
    let dir = tmpdir();
    let bad = dir.path().join("no-such-dir").join("t.scribe");
    let marker = dir.path().join("marker");
    let out = record(&bad, &argv![system_exe("touch"), marker], None);
    assert_clean_failure(&out, "record -o into a missing directory");
    assert!(
        stderr_str(&out).contains("no-such-dir"),
        "the error does not name the trace path\n{}",
        show(&out)
    );
    assert!(
        !marker.exists(),
        "the program ran although the trace could not be written"
    );
}

#[test]
fn unknown_subcommand_fails() {
    let mut cmd = Command::new(SCRIBE);
    cmd.arg("frobnicate");
    let out = run(cmd, None);
    assert_clean_failure(&out, "scribe frobnicate");
}

// ---------------------------------------------------------------------------
// Traces that cannot be read
// ---------------------------------------------------------------------------

/// Both `replay` and `profiler` must refuse `trace` cleanly.
fn assert_trace_refused(trace: &Path, what: &str) {
    let rep = replay(trace);
    assert_clean_failure(&rep, &format!("replay of {what}"));
    let prof = profiler_output(trace, &[]);
    assert_clean_failure(&prof, &format!("profiler of {what}"));
}

#[test]
fn missing_trace() {
    let dir = tmpdir();
    let trace = dir.path().join("does-not-exist.scribe");
    assert_trace_refused(&trace, "a missing trace");
    let out = replay(&trace);
    assert!(
        stderr_str(&out).contains("does-not-exist.scribe"),
        "{}",
        show(&out)
    );
}

#[test]
fn directory_as_trace() {
    let dir = tmpdir();
    assert_trace_refused(dir.path(), "a directory");
}

#[test]
fn empty_trace() {
    let dir = tmpdir();
    let trace = dir.path().join("empty.scribe");
    fs::write(&trace, b"").unwrap();
    assert_trace_refused(&trace, "an empty file");
}

#[test]
fn not_a_trace_file() {
    let dir = tmpdir();
    let text = dir.path().join("not-a-trace-file");
    fs::write(
        &text,
        "this is a text file, not a scribe trace\n".repeat(20),
    )
    .unwrap();
    assert_trace_refused(&text, "a text file");
    let random = dir.path().join("random.scribe");
    fs::write(&random, pseudo_random_bytes(8192, 42)).unwrap();
    assert_trace_refused(&random, "random bytes");
}

#[test]
fn real_header_followed_by_garbage() {
    let (dir, _trace, bytes) = ls_trace();
    let mut mangled = bytes[..64].to_vec();
    mangled.extend(pseudo_random_bytes(bytes.len(), 99));
    let bad = dir.path().join("mangled.scribe");
    fs::write(&bad, mangled).unwrap();
    assert_trace_refused(&bad, "a real trace start followed by garbage");
}

/// Words a report of a truncated trace may use.
const TRUNCATED: &[&str] = &["truncat", "trace ends", "too short", "not a scribe trace"];

/// Words a report of a corrupted trace may use.
const CORRUPT: &[&str] = &["checksum", "corrupt"];

#[test]
fn truncated_trace() {
    let (dir, _trace, bytes) = ls_trace();
    let bad = dir.path().join("truncated.scribe");

    // Cut in half: the profiler says where the trace breaks off.
    fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let prof = profiler_output(&bad, &[]);
    assert_no_panic(&prof, "profiler of a truncated trace");
    let err = stderr_str(&prof).to_lowercase();
    assert!(
        err.contains("offset") || err.contains("truncated"),
        "profiler of a trace cut at {} of {} bytes does not report where it ends\n{}",
        bytes.len() / 2,
        bytes.len(),
        show(&prof)
    );
    let rep = replay(&bad);
    assert_clean_failure(&rep, "replay of a half trace");
    assert_reason(&rep, TRUNCATED, "replay of a half trace");

    // Other cut points, including the very end.
    for cut in [
        1,
        8,
        17,
        bytes.len() / 4,
        bytes.len() * 3 / 4,
        bytes.len() - 1,
    ] {
        fs::write(&bad, &bytes[..cut]).unwrap();
        let what = format!("trace cut at {cut} of {} bytes", bytes.len());
        let prof = profiler_output(&bad, &[]);
        assert_no_panic(&prof, &format!("profiler of {what}"));
        assert!(
            !prof.status.success() || !stderr_str(&prof).trim().is_empty(),
            "profiler of {what} reported nothing\n{}",
            show(&prof)
        );
        let rep = replay(&bad);
        assert_clean_failure(&rep, &format!("replay of {what}"));
        assert_reason(&rep, TRUNCATED, &format!("replay of {what}"));
    }
}

#[test]
fn corrupted_trace() {
    let (dir, _trace, bytes) = ls_trace();
    let bad = dir.path().join("corrupted.scribe");
    for pos in [bytes.len() / 2, bytes.len() * 3 / 4] {
        let mut corrupted = bytes.clone();
        corrupted[pos] ^= 0xff;
        fs::write(&bad, &corrupted).unwrap();
        let what = format!("trace with byte {pos} of {} flipped", bytes.len());
        let rep = replay(&bad);
        assert_clean_failure(&rep, &format!("replay of {what}"));
        assert_reason(&rep, CORRUPT, &format!("replay of {what}"));
        let prof = profiler_output(&bad, &[]);
        assert_clean_failure(&prof, &format!("profiler of {what}"));
        assert_reason(&prof, CORRUPT, &format!("profiler of {what}"));
    }
}

#[test]
fn profiler_rejects_unknown_kind() {
    let (_dir, trace, _) = ls_trace();
    let out = profiler_output(&trace, &["--kind", "bogus-kind"]);
    assert_clean_failure(&out, "profiler --kind bogus-kind");
    assert!(stderr_str(&out).contains("bogus-kind"), "{}", show(&out));
}

// ---------------------------------------------------------------------------
// Files that changed between recording and replay
// ---------------------------------------------------------------------------

/// Records `mmapfile FILE --map-only` on an old, unchanged file (so the
/// recorder refers to it rather than storing it), then applies `change`.
fn record_mapped_file(change: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf, PathBuf, Output) {
    let dir = tmpdir();
    let file = dir.path().join("mapped-input.bin");
    let original = pseudo_random_bytes(20_000, 3);
    fs::write(&file, &original).unwrap();
    make_old(&file);
    let trace = dir.path().join("trace.scribe");
    let rec = record(
        &trace,
        &argv![program("mmapfile"), file, "--map-only"],
        None,
    );
    assert_no_panic(&rec, "record mmapfile");
    assert!(rec.status.success(), "{}", show(&rec));
    assert_eq!(
        field(&stdout_str(&rec), "checksum:"),
        format!("{:016x}", fnv1a(&original))
    );
    change(&file);
    (dir, trace, file, rec)
}

#[test]
fn replay_refuses_changed_mapped_file() {
    let (_dir, trace, file, rec) = record_mapped_file(|file| {
        // Same size, different bytes.
        let mut data = fs::read(file).unwrap();
        data[10_000] ^= 0x55;
        data[0] ^= 0x01;
        fs::write(file, data).unwrap();
    });
    let rep = replay(&trace);
    assert_clean_failure(&rep, "replay after the mapped file changed");
    assert_reason(
        &rep,
        &["changed", "modified", "differ"],
        "replay after the mapped file changed",
    );
    assert!(
        stderr_str(&rep).contains(&*file.to_string_lossy()),
        "the error does not name the changed file {}\n{}",
        file.display(),
        show(&rep)
    );
    let new_sum = format!("{:016x}", fnv1a(&fs::read(&file).unwrap()));
    assert!(
        !stdout_str(&rep).contains(&new_sum),
        "replay printed the checksum of the changed file\n{}",
        show(&rep)
    );
    assert_ne!(rep.stdout, rec.stdout);
}

#[test]
fn replay_refuses_deleted_mapped_file() {
    let (_dir, trace, file, _rec) = record_mapped_file(|file| fs::remove_file(file).unwrap());
    let rep = replay(&trace);
    assert_clean_failure(&rep, "replay after the mapped file was deleted");
    assert_reason(
        &rep,
        &[
            "no such file",
            "cannot open",
            "missing",
            "deleted",
            "not found",
        ],
        "replay after the mapped file was deleted",
    );
    assert!(
        stderr_str(&rep).contains(&*file.to_string_lossy()),
        "the error does not name the missing file {}\n{}",
        file.display(),
        show(&rep)
    );
}
