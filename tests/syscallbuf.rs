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

/// libc's own syscalls (opendir, readdir, closedir, stdio, the generic
/// syscall() function) go through the buffer once libc's syscall sites are
/// patched, and a call through syscall() that must stop (a fork-like clone)
/// still works.
#[test]
fn calls_libc_makes_itself_are_buffered() {
    let dir = tmpdir();
    let r = Case::new(argv![program("libc_calls"), dir.path()]).in_dir(dir.path()).replays(2).run();
    assert_eq!(r.field("entries:"), (20 * 4 * 32).to_string(), "{}", r.stdout());
    assert_eq!(r.field("syscall(getpid) matches getpid:"), "yes");
    assert_eq!(r.field("clone child exit:"), "7");
    let text = profiler(&r.trace, &[]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    let calls = |name: &str| -> (usize, usize) {
        let of: Vec<&&str> = lines.iter().filter(|l| l.contains(&format!("] {name}("))).collect();
        (of.iter().filter(|l| l.ends_with("(buffered)")).count(), of.len())
    };
    // opendir's openat, readdir's getdents64 and closedir's close are made
    // inside libc: every one of them is buffered.
    let (buffered, all) = calls("getdents64");
    assert!(all >= 80 * 2 && buffered == all, "getdents64: {buffered} of {all} buffered");
    let directories: Vec<&&str> = lines.iter().filter(|l| l.contains("O_DIRECTORY")).collect();
    assert!(directories.len() >= 80, "{} directory opens", directories.len());
    assert!(directories.iter().all(|l| l.ends_with("(buffered)")), "{directories:?}");
    let (buffered, all) = calls("read");
    assert!(all >= 2400 && buffered * 10 >= all * 9, "read: {buffered} of {all} buffered");
    // The clone made through syscall() stopped like any clone.
    let (buffered, all) = calls("clone");
    assert_eq!((buffered, all), (0, 1), "{text}");
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
