//! `scribe profiler`: the human-readable listing of a trace, and its filters
//! (`--syscall`, `-p`, `--kind`).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use common::*;

const CONTENT: &str = "scribe profiler test line 1\nline 2\n";

/// A recording of `cat FILE` at the given level.
struct CatTrace {
    _dir: tempfile::TempDir,
    trace: PathBuf,
    file: PathBuf,
}

fn cat_trace(level: &str) -> CatTrace {
    let dir = tmpdir();
    let file = dir.path().join("profiled.txt");
    fs::write(&file, CONTENT).unwrap();
    let trace = dir.path().join("cat.scribe");
    let out = record_with(
        &trace,
        &["-l", level],
        &argv![system_exe("cat"), file],
        None,
    );
    assert_no_panic(&out, "record cat");
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stdout_str(&out), CONTENT);
    CatTrace {
        _dir: dir,
        trace,
        file,
    }
}

/// Records a test program and returns the trace and the recording's stdout.
fn program_trace(name: &str, args: &[&str], status: i32) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tmpdir();
    let trace = dir.path().join(format!("{name}.scribe"));
    let mut cmd = argv![program(name)];
    cmd.extend(args.iter().map(Into::into));
    let out = record(&trace, &cmd, None);
    assert_no_panic(&out, "record");
    assert_eq!(out.status.code(), Some(status), "{}", show(&out));
    (dir, trace, stdout_str(&out))
}

fn names(text: &str) -> BTreeSet<String> {
    syscall_lines(text)
        .into_iter()
        .map(|(_, name, _)| name)
        .collect()
}

/// The result after the last " = " of a syscall line (without the mark of
/// a call made through the in-process buffer).
fn result_of(line: &str) -> &str {
    let line = line.strip_suffix(" (buffered)").unwrap_or(line);
    line.rsplit_once(" = ").map(|(_, r)| r.trim()).unwrap_or("")
}

/// A `[TID] read(...) = 35` line for the read of the file.
fn assert_read_line(out: &str) {
    let len = CONTENT.len();
    assert!(
        syscall_lines(out)
            .iter()
            .any(|(_, name, line)| name == "read" && result_of(line) == len.to_string()),
        "no `read(...) = {len}` line in:\n{out}"
    );
}

const DATA_PREFIX: &str = "data, size = 35: \"scribe profiler test";

/// Indented data lines (`    data, size = N: "..."`) in `out`.
fn data_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.starts_with(char::is_whitespace) && l.trim_start().starts_with("data, size = ")
        })
        .collect()
}

/// The data line of the read of the file, quoting its start.
fn assert_data_line(out: &str) {
    assert!(
        data_lines(out)
            .iter()
            .any(|l| l.trim_start().starts_with(DATA_PREFIX)),
        "no indented `{DATA_PREFIX}...` line in:\n{out}"
    );
}

fn assert_read_of_content(out: &str) {
    assert_read_line(out);
    assert_data_line(out);
}

#[test]
fn profiler_shows_openat_read_and_data() {
    let t = cat_trace("1");
    let out = profiler(&t.trace, &[]);
    let quoted = format!("\"{}\"", t.file.display());
    let opens: Vec<_> = syscall_lines(&out)
        .into_iter()
        .filter(|(_, name, line)| name == "openat" && line.contains(&quoted))
        .collect();
    assert_eq!(opens.len(), 1, "expected one openat of {quoted} in:\n{out}");
    let fd: i64 = result_of(&opens[0].2)
        .parse()
        .unwrap_or_else(|_| panic!("openat result is not a file descriptor: {}", opens[0].2));
    assert!(fd >= 0, "{}", opens[0].2);
    assert!(opens[0].2.contains("O_RDONLY"), "{}", opens[0].2);
    assert_read_of_content(&out);
    // The program's write to stdout is there too.
    assert!(
        syscall_lines(&out)
            .iter()
            .any(|(_, name, line)| name == "write" && result_of(line) == CONTENT.len().to_string()),
        "no write of {} bytes in:\n{out}",
        CONTENT.len()
    );
}

#[test]
fn profiler_shows_read_data_at_level_0() {
    let t = cat_trace("0");
    assert_read_of_content(&profiler(&t.trace, &[]));
}

#[test]
fn profiler_syscall_filter() {
    let t = cat_trace("1");
    let all = profiler(&t.trace, &[]);
    let only_read = profiler(&t.trace, &["--syscall", "read"]);
    assert_eq!(
        names(&only_read),
        BTreeSet::from(["read".to_string()]),
        "--syscall read printed other system calls:\n{only_read}"
    );
    let count = |text: &str| {
        syscall_lines(text)
            .iter()
            .filter(|(_, n, _)| n == "read")
            .count()
    };
    assert_eq!(
        count(&only_read),
        count(&all),
        "--syscall read lost some read lines"
    );
    assert_read_of_content(&only_read);

    let two = profiler(&t.trace, &["--syscall", "read", "--syscall", "openat"]);
    assert_eq!(
        names(&two),
        BTreeSet::from(["openat".to_string(), "read".to_string()]),
        "--syscall read --syscall openat:\n{two}"
    );
}

#[test]
fn profiler_tid_filter() {
    let t = cat_trace("1");
    let all = profiler(&t.trace, &[]);
    let lines = syscall_lines(&all);
    assert!(!lines.is_empty(), "no syscall lines in:\n{all}");
    let tids: BTreeSet<i32> = lines.iter().map(|(tid, _, _)| *tid).collect();

    let tid = lines[0].0;
    let only = profiler(&t.trace, &["-p", &tid.to_string()]);
    let kept = syscall_lines(&only);
    assert!(!kept.is_empty(), "-p {tid} printed no syscalls:\n{only}");
    assert!(
        kept.iter().all(|(t, _, _)| *t == tid),
        "-p {tid} printed other tasks:\n{only}"
    );
    assert_eq!(
        kept.len(),
        lines.iter().filter(|(t, _, _)| *t == tid).count()
    );

    let wrong = (1..)
        .map(|n| tids.iter().max().unwrap() + n)
        .find(|t| !tids.contains(t))
        .unwrap();
    let out = profiler_output(&t.trace, &["-p", &wrong.to_string()]);
    assert_no_panic(&out, "profiler -p WRONG");
    let text = stdout_str(&out);
    assert!(
        syscall_lines(&text).is_empty(),
        "-p {wrong} (not a task of the trace) printed syscalls:\n{text}"
    );
    assert!(
        !text.contains("data, size ="),
        "-p {wrong} printed data:\n{text}"
    );
}

/// Asserts that none of `names` shows up as a system call line in `out`.
fn assert_no_syscalls(out: &str, names: &[&str], what: &str) {
    for (_, name, line) in syscall_lines(out) {
        assert!(
            !names.contains(&name.as_str()),
            "{what} printed a system call: {line}\n{out}"
        );
    }
}

#[test]
fn profiler_kind_exec_and_file() {
    let t = cat_trace("1");
    let cat = fs::canonicalize(system_exe("cat")).unwrap();
    let exec = profiler(&t.trace, &["--kind", "exec"]);
    assert!(
        exec.contains(&*cat.to_string_lossy()),
        "--kind exec does not show {}:\n{exec}",
        cat.display()
    );
    assert_no_syscalls(&exec, &["read", "openat", "write", "mmap"], "--kind exec");

    let files = profiler(&t.trace, &["--kind", "file"]);
    assert!(
        files.contains("libc.so"),
        "--kind file does not list libc:\n{files}"
    );
    assert_no_syscalls(&files, &["read", "openat", "write"], "--kind file");

    let both = profiler(&t.trace, &["--kind", "exec", "--kind", "syscall"]);
    assert!(both.contains(&*cat.to_string_lossy()), "{both}");
    assert_read_line(&both);
}

#[test]
fn profiler_kind_syscall_and_data() {
    let t = cat_trace("1");
    let calls = profiler(&t.trace, &["--kind", "syscall"]);
    assert_read_line(&calls);
    assert!(names(&calls).contains("openat"), "{calls}");
    assert!(
        data_lines(&calls).is_empty(),
        "--kind syscall printed data lines:\n{calls}"
    );

    let data = profiler(&t.trace, &["--kind", "data"]);
    assert_data_line(&data);
    assert!(
        syscall_lines(&data).is_empty(),
        "--kind data printed syscall lines:\n{data}"
    );

    let both = profiler(&t.trace, &["--kind", "syscall", "--kind", "data"]);
    assert_read_of_content(&both);
}

#[test]
fn profiler_kind_buffered_shows_only_buffered_calls() {
    let t = cat_trace("0");
    let out = profiler(&t.trace, &["--kind", "buffered"]);
    let calls = syscall_lines(&out);
    assert!(
        calls.iter().any(|(_, name, _)| name == "read"),
        "--kind buffered does not show cat's buffered read:\n{out}"
    );
    let unmarked: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('[') && !l.ends_with("(buffered)"))
        .collect();
    assert!(unmarked.is_empty(), "--kind buffered printed stopped calls: {unmarked:?}");
}

#[test]
fn profiler_kind_signal() {
    let (_dir, trace, _) = program_trace("sighandler", &[], 0);
    let out = profiler(&trace, &["--kind", "signal"]);
    assert!(
        out.contains("SIGUSR1"),
        "--kind signal does not show SIGUSR1:\n{out}"
    );
    assert!(
        out.contains("SIGUSR2"),
        "--kind signal does not show SIGUSR2:\n{out}"
    );
    assert_no_syscalls(
        &out,
        &["write", "rt_sigaction", "rt_sigprocmask", "getpid"],
        "--kind signal",
    );
}

#[test]
fn profiler_kind_rdtsc() {
    let (_dir, trace, stdout) = program_trace("rdtsc", &[], 0);
    let out = profiler(&trace, &["--kind", "rdtsc"]);
    let lower = out.to_lowercase();
    for line in stdout.lines().filter(|l| l.starts_with("rdtsc")) {
        let value: u64 = line
            .split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            out.contains(&value.to_string()) || lower.contains(&format!("{value:x}")),
            "--kind rdtsc does not show the value {value} (`{line}`):\n{out}"
        );
    }
    assert_no_syscalls(&out, &["write", "read", "openat"], "--kind rdtsc");
}

#[test]
fn profiler_kind_exit_and_end() {
    let (_dir, trace, _) = program_trace("exitcode", &["42"], 42);
    let exit = profiler(&trace, &["--kind", "exit"]);
    assert!(
        exit.contains("42"),
        "--kind exit does not show the status 42:\n{exit}"
    );
    assert_no_syscalls(&exit, &["write", "read", "openat", "mmap"], "--kind exit");
    let end = profiler(&trace, &["--kind", "end"]);
    assert!(!end.trim().is_empty(), "--kind end printed nothing");
    assert_no_syscalls(&end, &["write", "read", "openat", "mmap"], "--kind end");
}
