//! The in-process syscall buffer: cheap syscalls of dynamically linked
//! programs are recorded without a ptrace stop, replay plays them from the
//! buffer too, and everything still replays exactly; with the buffer off, or
//! for a static program, every call stops as before.

mod common;

use common::*;

/// Fails clearly when the preload library was not built (`cargo test`
/// alone does not build it; the README's test command does).
fn require_library() {
    let lib = std::path::Path::new(env!("CARGO_BIN_EXE_scribe")).with_file_name("libscribe_preload.so");
    assert!(lib.is_file(), "{} is missing: run `cargo build --release` before the tests", lib.display());
}

/// Number of syscalls the profiler shows as made through the buffer.
fn buffered_lines(trace: &std::path::Path) -> usize {
    require_library();
    profiler(trace, &[]).lines().filter(|l| l.ends_with("(buffered)")).count()
}

#[test]
fn buffered_calls_replay_exactly_from_two_threads_with_signals_and_overflow() {
    let dir = tmpdir();
    let r = Case::new(argv![program("syscallbuf"), dir.path()]).in_dir(dir.path()).replays(2).run();
    let text = profiler(&r.trace, &[]);
    let buffered = buffered_lines(&r.trace);
    // Each worker iteration makes ~12 bufferable calls, 1500 times, in 2 threads.
    assert!(buffered > 20_000, "only {buffered} buffered syscalls");
    for call in ["newfstatat(", "statx(", "readlink(", "getxattr(", "clock_gettime(", "pread64(", "lseek(", "gettid("] {
        assert!(text.lines().any(|l| l.contains(call) && l.ends_with("(buffered)")), "no buffered {call} in the trace");
    }
    // Reading files that are not regular (none here) or calls too big for
    // the buffer stop as before; 16 reads of 200 KiB fill it several times.
    let flushes = text.lines().filter(|l| l.contains("syscall buffer full")).count();
    assert!(flushes >= 2, "the buffer never filled up ({flushes} flushes)");
    // The timer signals interrupted a loop of buffered calls only, and were delivered.
    let spins: u64 = r.field("spins until 5 ticks:").parse().unwrap();
    assert!(spins > 0);
    assert!(text.contains("signal SIGALRM"), "no SIGALRM in the trace");
    assert_eq!(r.field("bad paths:"), "-1 EFAULT, -1 EFAULT");
}

#[test]
fn without_the_buffer_the_same_program_stops_at_every_call() {
    let dir = tmpdir();
    let with = Case::new(argv![program("syscallbuf"), dir.path()]).in_dir(dir.path()).run();
    let other = tmpdir();
    let without = Case::new(argv![program("syscallbuf"), dir.path()]).in_dir(other.path()).opts(&["--no-syscall-buffer"]).run();
    assert_eq!(buffered_lines(&without.trace), 0);
    assert!(buffered_lines(&with.trace) > 0);
    // The deterministic results are the same either way.
    for key in ["thread hashes:", "big reads hash:"] {
        assert_eq!(with.field(key), without.field(key), "{key}");
    }
    // The program does not see the buffer in its environment when it is off.
    let env = Case::new(argv![system_exe("env")]).opts(&["--no-syscall-buffer"]).run();
    assert!(!env.stdout().contains("libscribe_preload"), "{}", env.stdout());
}

#[test]
fn a_static_program_falls_back_to_stops() {
    let dir = tmpdir();
    let r = Case::new(argv![program("syscallbuf_static"), dir.path()]).in_dir(dir.path()).run();
    assert_eq!(buffered_lines(&r.trace), 0);
    assert!(r.stdout().contains("big reads hash:"));
}

#[test]
fn ls_records_most_of_its_syscalls_through_the_buffer() {
    let r = Case::new(argv![system_exe("ls"), "-lR", "/usr/share/doc/coreutils", "/usr/include/linux"]).run();
    let text = profiler(&r.trace, &[]);
    let total = syscall_lines(&text).len();
    let buffered = buffered_lines(&r.trace);
    assert!(buffered * 2 > total, "{buffered} of {total} syscalls buffered");
}

#[test]
fn stats_report_the_buffered_count() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let out = record_with(&trace, &["--stats"], &argv![system_exe("ls"), "-l", "/usr/bin"], None);
    assert!(out.status.success(), "{}", show(&out));
    let err = stderr_str(&out);
    let count: u64 = err
        .lines()
        .flat_map(|line| line.split(", "))
        .find_map(|part| part.strip_suffix(" syscalls buffered in process"))
        .unwrap_or_else(|| panic!("no buffered count in {err}"))
        .parse()
        .unwrap();
    assert_eq!(count as usize, buffered_lines(&trace));
    assert!(count > 100, "{err}");
}
