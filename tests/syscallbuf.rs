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

/// Number of `call` lines in profiler output `text` that were made through
/// the buffer (`buffered`) or stopped.
fn call_lines(text: &str, call: &str, buffered: bool) -> usize {
    let name = format!("] {call}(");
    text.lines().filter(|l| l.contains(&name) && l.ends_with("(buffered)") == buffered).count()
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

/// Reads and writes of the memory devices that never wait (/dev/zero,
/// /dev/urandom, /dev/null) go through the buffer, and replay gives back
/// the random bytes the recording read (the same hash is printed).
#[test]
fn memory_device_reads_are_buffered_and_replay_their_bytes() {
    let script = "dd if=/dev/zero of=/dev/null bs=64 count=3000 2>/dev/null; head -c 65536 /dev/urandom | sha256sum";
    let r = Case::new(argv![system_exe("sh"), "-c", script]).replays(2).run();
    let text = profiler(&r.trace, &[]);
    let reads = |buffered: bool| call_lines(&text, "read", buffered);
    assert!(reads(true) >= 3000 + 8, "{} reads buffered, {} stopped", reads(true), reads(false));
    // What still stops is the loader's reads of the libraries.
    assert!(reads(false) < 40, "{} reads stopped", reads(false));
    assert_eq!(r.stdout().len(), 64 + 4, "{}", r.stdout());
    // No order to keep between users of a memory device: its calls carry
    // no serial of their open file (dd wrote two events a call before).
    let file_serials = text.lines().filter(|l| l.contains("resource lock, type = file,")).count();
    assert!(file_serials < 100, "{file_serials} file serials for 6,000 calls on memory devices");
}

/// Reads and writes on sockets (read, write, send, recv, MSG_PEEK among
/// them) go through the buffer, tried without waiting; a call that would
/// wait, a MSG_WAITALL, a send to an address and a non-blocking read with
/// nothing to read stop as before, and the program gets the same answers
/// in replay (two threads over a socketpair, a child process, UDP).
#[test]
fn socket_reads_and_writes_are_buffered_and_replay_exactly() {
    let r = Case::new(argv![program("sockets")]).replays(2).run();
    assert_eq!(r.field("stream:"), "200000 bytes, hash 8ad1820062e4c89d, peeked yes");
    assert_eq!(r.field("waitall:"), "300 bytes, last 2");
    assert_eq!(r.field("child answered:"), "HELLO, CHILD");
    assert_eq!(r.field("empty:"), "-2, EAGAIN twice");
    assert_eq!(r.field("udp:"), "datagram");
    let text = profiler(&r.trace, &[]);
    let count = |call: &str, buffered: bool| call_lines(&text, call, buffered);
    // 1000 writes and 1000 sends of the writer thread, nearly all buffered.
    assert!(count("write", true) >= 900 && count("sendto", true) >= 900, "{} writes, {} sends buffered", count("write", true), count("sendto", true));
    assert!(count("recvfrom", true) + count("read", true) >= 20, "socket reads buffered: {}", count("recvfrom", true) + count("read", true));
    assert!(text.lines().any(|l| l.contains("recvfrom(") && l.contains("0x100") && !l.ends_with("(buffered)")), "MSG_WAITALL was buffered");
    assert!(text.lines().any(|l| l.contains("sendto(") && l.contains(", 16) = 8") && !l.ends_with("(buffered)")), "a send to an address was buffered");
}

/// poll, epoll_wait and select with a zero timeout (an event loop's
/// questions between callbacks) go through the buffer, and replay gives the
/// program the same answers, the epoll data and the select sets included;
/// a poll or select that may wait stops.
#[test]
fn readiness_asked_without_waiting_is_buffered_and_replays() {
    let r = Case::new(argv![program("readiness")]).replays(2).run();
    assert_eq!(r.field("ready to poll:"), "yes, to epoll: yes, data kept");
    assert_eq!(r.field("counts:"), "1000 1000 1000");
    assert_eq!(r.field("waited poll:"), "1, revents 0x1");
    assert_eq!(r.field("select with a timeout:"), "1, readable");
    let text = profiler(&r.trace, &[]);
    let count = |call: &str, buffered: bool| call_lines(&text, call, buffered);
    assert_eq!((count("poll", true), count("epoll_wait", true), count("pselect6", true)), (3000, 3000, 3000));
    assert_eq!((count("poll", false), count("pselect6", false)), (1, 1), "the calls that may wait stop");
}

/// Signal unblocks with nothing pending and closes of pipes go through the
/// buffer (two stops each before); an unblock that releases a pending
/// signal still stops, and the handler runs before it returns, as POSIX
/// asks: for SIGUSR1 sent to itself, and for every timer tick that the
/// program saw pending just before its unblock.
#[test]
fn signal_unblocks_and_pipe_closes_are_buffered_and_replay() {
    let r = Case::new(argv![program("unblock")]).replays(2).run();
    assert_eq!(r.field("ticks handled after the unblock that released them:"), "0 late");
    assert_eq!(r.field("SIGUSR1 handled at its unblock:"), "yes");
    assert_eq!(r.field("bytes through the pipes:"), "690");
    let text = profiler(&r.trace, &[]);
    let unblocks = |buffered: bool| {
        text.lines()
            .filter(|l| l.contains("] rt_sigprocmask(SIG_UNBLOCK") || l.contains("] rt_sigprocmask(SIG_SETMASK"))
            .filter(|l| l.ends_with("(buffered)") == buffered)
            .count()
    };
    // 3000 in the loop, a few of them with a tick pending, then SIGUSR1's.
    assert!(unblocks(true) >= 2000, "{} unblocks buffered, {} stopped", unblocks(true), unblocks(false));
    assert!(unblocks(false) >= 1, "the unblock of the pending SIGUSR1 did not stop");
    // Each stopped unblock delivers the signal it released. A tick that
    // came inside the library between its question and the unblock is held
    // and must be delivered at the next stop: once it stayed held while
    // every later unblock stopped (2036 stops for 467 ticks).
    let ticks = text.lines().filter(|l| l.contains("signal SIGALRM")).count();
    assert!(unblocks(false) <= ticks + 3, "{} unblocks stopped for {ticks} ticks", unblocks(false));
    let usr1 = text.lines().position(|l| l.contains("signal SIGUSR1")).expect("SIGUSR1 in the trace");
    let before: Vec<&str> = text.lines().take(usr1).filter(|l| l.starts_with('[') && !l.contains("resource lock")).collect();
    assert!(before.last().is_some_and(|l| l.contains("] rt_sigprocmask(SIG_UNBLOCK") && !l.ends_with("(buffered)")), "{:?}", before.last());
    // The parent's two ends and the child's two, 200 times (a call made
    // while a tick is held stops, to deliver it).
    assert!(call_lines(&text, "close", true) >= 750, "{} closes buffered", call_lines(&text, "close", true));
}

/// A shell's command substitutions: per subshell, the pipe's closes and
/// the unblocks around the fork no longer stop (the one unblock that
/// finds the child's SIGCHLD pending does).
#[test]
fn a_shells_subshells_buffer_their_pipe_closes_and_unblocks() {
    let Some(bash) = find_exe("bash") else { return eprintln!("skipped: no bash") };
    let script = "n=0; for i in $(seq 100); do x=$(echo $i); n=$((n + x)); done; echo sum $n";
    let r = Case::new(argv![bash, "-c", script]).replays(2).run();
    assert_eq!(r.field("sum"), "5050");
    let text = profiler(&r.trace, &[]);
    let stopped = call_lines(&text, "rt_sigprocmask", false);
    let buffered = call_lines(&text, "rt_sigprocmask", true);
    // About one unblock a subshell finds SIGCHLD pending, more on a busy
    // machine (the child has exited by then); all of them stopped before.
    assert!(buffered >= 300 && stopped <= 250, "rt_sigprocmask: {buffered} buffered, {stopped} stopped");
    assert!(call_lines(&text, "close", true) >= 300, "{} closes buffered", call_lines(&text, "close", true));
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

/// Writes to pipes, regular files and /dev/null go through the buffer; a
/// pipe read or write that would wait, and the part of a write bigger than
/// the pipe that did not fit, stop instead; a buffered pipe call carries
/// its pipe's serial; writes to the original stdout (here moved to fd 9)
/// stop while another process lives; and all of it replays exactly.
#[test]
fn pipe_and_file_writes_are_buffered_and_replay_exactly() {
    let dir = tmpdir();
    let r = Case::new(argv![program("pipe_writes"), dir.path()]).in_dir(dir.path()).replays(2).run();
    assert_eq!(r.field("write without reader:"), "-1 EPIPE");
    let sent = r.field("writer:").split(' ').next().unwrap().to_string();
    assert_eq!(r.field("reader:").split(' ').next().unwrap(), sent, "{}", r.stdout());
    let text = profiler(&r.trace, &[]);
    let lines: Vec<&str> = text.lines().collect();
    let calls: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with('[')).collect();
    let buffered = |prefix: &str| calls.iter().filter(|l| l.contains(prefix) && l.ends_with("(buffered)")).count();
    // 300 writes of the parent to the pipe (fd 1), most without waiting.
    assert!(buffered("] write(1, ") >= 100, "{} buffered pipe writes", buffered("] write(1, "));
    // The file (fd 1 again, once the pipe is closed) and /dev/null: 50
    // and 100 writes. The reader's SIGCHLD may come meanwhile, and the
    // write after it stops so that the signal is delivered there (seen
    // once in a CI run: 49 of 50).
    assert!(buffered(", 1000) = 1000") >= 48, "file writes not buffered: {}", buffered(", 1000) = 1000"));
    assert!(buffered(", 512) = 512") >= 98, "/dev/null writes not buffered: {}", buffered(", 512) = 512"));
    assert_eq!(buffered("] pwrite64("), 1);
    // Writes to the original stdout stop while two processes live (the
    // reader's report); the writer's reports, once its reader is gone, may
    // be buffered (with their bytes, shown again by the replay).
    let to_stdout: Vec<&&str> = calls.iter().filter(|l| l.contains("] write(9, ")).collect();
    assert!(to_stdout.len() >= 3, "{to_stdout:?}");
    let reader_report = to_stdout.iter().find(|l| !l.contains("\"writer: ")).expect("the reader's report");
    assert!(!reader_report.ends_with("(buffered)"), "{to_stdout:?}");
    // The first 100000-byte write, alone in its domain, waits in the
    // library for the reader and goes in whole.
    let bigs: Vec<usize> = calls.iter().enumerate().filter(|(_, l)| l.contains(", 100000) = ")).map(|(i, _)| i).collect();
    assert_eq!(bigs.len(), 2, "the two big writes: {:#?}", bigs.iter().map(|&i| calls[i]).collect::<Vec<_>>());
    assert!(calls[bigs[0]].ends_with(", 100000) = 100000 (buffered)"), "{}", calls[bigs[0]]);
    // The second, with a thread that waits meanwhile: a buffered part,
    // then the rest at a stop.
    let big = bigs[1];
    let part: u64 = calls[big].split(" = ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(calls[big].ends_with("(buffered)") && part < 100_000, "{}", calls[big]);
    let task = calls[big].split(']').next().unwrap();
    let rest = calls[big + 1..].iter().find(|l| l.starts_with(task)).expect("a call after the big write");
    assert!(rest.contains(&format!(", {}) = {}", 100_000 - part, 100_000 - part)), "{rest}");
    // Each buffered pipe call is followed by its pipe's serial.
    let big_line = lines.iter().position(|l| l.contains(", 100000) = ")).unwrap();
    for (i, line) in lines.iter().enumerate().take(big_line + 1) {
        if line.contains("] write(1, ") && line.ends_with("(buffered)") {
            assert!(lines[i + 1].contains("resource lock, type = pipe"), "{line} has no serial");
        }
    }
}

/// In `writer | cat`, cat waits in its first read while the writer makes
/// 200,000 buffered calls: replay must not read all of them into memory to
/// find cat's next event (it once held the whole trace, 206 MB for a
/// million calls); the task waits until its event comes within the
/// scheduler's window instead, so what it holds is bounded by the window
/// and one batch of buffered calls, not by the trace.
#[test]
fn a_reader_waiting_for_a_long_writer_does_not_make_replay_hold_the_trace() {
    require_library();
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let shell = format!("{} 200000 | cat", program("getppid_loop").display());
    let rec = record(&trace, &argv!["sh", "-c", shell], None);
    assert!(rec.status.success(), "{}", show(&rec));
    assert_eq!(stdout_str(&rec), "200000 of 200000 getppid calls gave the first result\n");
    let rep = replay_with(&["--stats"], &trace);
    assert_same_run(&rec, &rep, "pipeline");
    let err = stderr_str(&rep);
    let number_after = |prefix: &str| -> usize {
        let at = err.find(prefix).unwrap_or_else(|| panic!("no `{prefix}` in {err}")) + prefix.len();
        err[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let events = number_after("replayed ");
    let ahead = number_after("at most ");
    assert!(events > 200_000, "{err}");
    // The window (4096 events, twice when looking from a domain's first
    // event) plus one full buffer's batch (1 MiB of 88-byte records).
    assert!(ahead < 25_000, "{ahead} of {events} events held ahead: {err}");
}

/// The preload library's content goes into every trace that used it, so a
/// rebuilt or upgraded library on disk does not make older traces
/// unreplayable (replay once refused them: "changed since it was recorded").
#[test]
fn a_trace_replays_after_the_preload_library_changed_on_disk() {
    require_library();
    let dir = tmpdir();
    let built = std::path::Path::new(SCRIBE).with_file_name("libscribe_preload.so");
    let library = dir.path().join("libscribe_preload.so");
    std::fs::copy(&built, &library).unwrap();
    // An old file (a fresh one's content is kept in any case).
    make_old(&library);
    let trace = dir.path().join("t.scribe");
    let mut command = std::process::Command::new(SCRIBE);
    command.env("SCRIBE_PRELOAD", &library).arg("record").arg("-o").arg(&trace).arg("--").arg(system_exe("ls")).args(["-l", "/usr/bin"]);
    let rec = run(command, None);
    assert!(rec.status.success(), "{}", show(&rec));
    assert!(buffered_lines(&trace) > 100, "the copied library was not used");
    let mut rebuilt = std::fs::read(&library).unwrap();
    rebuilt.extend_from_slice(&[0; 4096]);
    std::fs::write(&library, rebuilt).unwrap();
    let rep = replay(&trace);
    assert_same_run(&rec, &rep, "ls after its preload library changed");
}

/// A buffered call that the program makes otherwise than recorded (here:
/// the trace is edited so that one recorded call has another buffer
/// address) is reported as a divergence naming that call. Replay compares
/// a whole batch in one go and decodes it only when the bytes differ.
#[test]
fn a_buffered_call_made_otherwise_is_a_divergence() {
    use scribe_trace::{Event, TraceReader, TraceWriter};
    require_library();
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let rec = record(&trace, &argv![system_exe("ls"), "-l", "/usr/bin"], None);
    assert!(rec.status.success(), "{}", show(&rec));
    let edited = dir.path().join("edited.scribe");
    let mut reader = TraceReader::open(&trace).unwrap();
    let mut writer = TraceWriter::create(&edited, &reader.header().clone()).unwrap();
    let mut changed = 0;
    for item in reader.by_ref() {
        let mut event = item.unwrap().event;
        if let Event::Buffered(call) = &mut event {
            // The 50th buffered call, well inside the program's work.
            changed += 1;
            if changed == 50 {
                call.args[1] ^= 0x10;
            }
        }
        writer.push(&event).unwrap();
    }
    writer.finish().unwrap();
    assert!(changed > 50, "only {changed} buffered calls");
    let out = replay(&edited);
    assert_no_panic(&out, "replay of an edited buffered call");
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr_str(&out);
    assert!(err.contains("a buffered syscall differs from the recording"), "{err}");
    // And the unedited trace still replays.
    assert_same_run(&rec, &replay(&trace), "ls -l");
}

/// The questions a compiler driver asks by the thousand (open a header
/// that is not there, access, ids, cwd, limits, isatty, the cpu) are answered
/// through the buffer and replay with the recorded answers; a file that
/// appears between two opens is found by the second.
#[test]
fn failed_opens_and_other_questions_are_buffered() {
    let dir = tmpdir();
    let r = Case::new(argv![program("queries"), dir.path()]).in_dir(dir.path()).replays(2).run();
    assert_eq!(r.field("missing opens:"), "200");
    assert_eq!(r.field("late:"), "before -1 (No such file or directory), after opened");
    assert_eq!(r.field("through a file:"), "-1 (Not a directory)");
    assert_eq!(r.field("accessible:"), "51");
    assert_eq!(r.field("sched_getcpu answered:"), "50");
    assert_eq!(r.field("random:").split(' ').count(), 16);
    let text = profiler(&r.trace, &[]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    let buffered = |pred: &dyn Fn(&str) -> bool| lines.iter().filter(|l| pred(l) && l.ends_with("(buffered)")).count();
    let failed_opens = buffered(&|l| l.contains("] openat(") && l.contains("= -1 ENOENT"));
    assert!(failed_opens >= 201, "{failed_opens} failed opens buffered");
    assert!(buffered(&|l| l.contains("] access(")) >= 100);
    for name in ["getuid", "getgid", "geteuid", "getegid", "getcwd", "uname", "sysinfo", "prlimit64", "ioctl", "getcpu", "getrandom"] {
        let of_program: Vec<&&str> = lines.iter().filter(|l| l.contains(&format!("] {name}("))).collect();
        assert!(
            !of_program.is_empty() && of_program.iter().any(|l| l.ends_with("(buffered)")),
            "{name} not buffered: {of_program:?}"
        );
    }
    // euidaccess asks the four identities through libc's own calls,
    // which check no error: those sites are patched too.
    assert_eq!(r.field("effective access:"), "20");
    for name in ["getuid", "getgid", "geteuid", "getegid"] {
        let calls: Vec<&&str> = lines.iter().filter(|l| l.contains(&format!("] {name}("))).collect();
        assert!(calls.len() >= 21, "{name}: {calls:?}");
        let stopped: Vec<&&&str> = calls.iter().filter(|l| !l.ends_with("(buffered)")).collect();
        assert!(stopped.is_empty(), "{name} stopped: {stopped:?}");
    }
    // Blocking and asking run without a stop (at level 0); restoring a
    // mask, which may unblock a pending signal, stops.
    assert_eq!(r.field("blocked:"), "20");
    let masks = |how: &str| lines.iter().filter(|l| l.contains(&format!("] rt_sigprocmask({how}"))).count();
    assert_eq!(masks("SIG_BLOCK"), 0, "{}", text);
    assert!(masks("SIG_SETMASK") >= 20, "{}", text);
}

/// The library keeps the kind of each descriptor once it asked, and
/// forgets it when the number may have changed hands behind its back (a
/// close it did not make, a vfork child's descriptors), in recording and
/// replay alike.
#[test]
fn descriptor_kinds_are_asked_once_and_forgotten_when_the_number_changes_hands() {
    let dir = tmpdir();
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "x".repeat(500)).unwrap();
    let r = Case::new(argv![program("fd_kinds"), &file]).in_dir(dir.path()).replays(2).run();
    assert_eq!(r.field("small reads:"), "200");
    let a_fd: u32 = r.field("A").split(':').next().unwrap().parse().unwrap();
    assert_eq!(r.field("A"), format!("{a_fd}: 6 late A"));
    let b_fd: u32 = r.field("B").split(':').next().unwrap().parse().unwrap();
    assert_eq!(r.field("B"), format!("{b_fd}: 9"));
    let text = profiler(&r.trace, &[]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    // The 200 one-byte reads ask the file's kind once, not 200 times.
    let one_byte_reads = lines.iter().filter(|l| l.contains(", 1) = 1") && l.contains("] read(")).count();
    let fstats = lines.iter().filter(|l| l.contains("] fstat(") && l.ends_with("(buffered)")).count();
    assert!(one_byte_reads >= 200, "{one_byte_reads} one-byte reads");
    assert!(fstats < 20, "{fstats} buffered fstats for {one_byte_reads} reads");
    // A's read is made as a pipe read (it carries a pipe serial): the
    // library did not take the pipe for the regular file its number was.
    let all: Vec<&str> = text.lines().collect();
    let a_read = all.iter().position(|l| l.contains(&format!("] read({a_fd}, ")) && l.contains(") = 6")).expect("A's read in the trace");
    let serials: Vec<&str> = all[a_read + 1..].iter().take_while(|l| !l.starts_with('[')).copied().collect();
    assert!(serials.iter().any(|l| l.contains("type = pipe")), "A's read of a pipe was not made as a pipe read: {serials:?}");
    // B's read of the file is no pipe read (which would carry a pipe serial).
    let b_read = all.iter().position(|l| l.contains(&format!("] read({b_fd}, ")) && l.contains(", 9) = 9")).expect("B's read in the trace");
    let serials: Vec<&str> = all[b_read + 1..].iter().take_while(|l| !l.starts_with('[')).copied().collect();
    assert!(!serials.iter().any(|l| l.contains("type = pipe")), "B's read of a file was made as a pipe read: {serials:?}");
}

/// The library's read, write, pread and open are cancellation points as
/// glibc's are: a thread blocked in one (a pipe read or write, a FIFO's
/// open) can be cancelled, and a pending request is acted on when a
/// buffered read starts. Before, the first hung the recording.
#[test]
fn threads_are_cancelled_in_calls_the_library_makes() {
    let dir = tmpdir();
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "some bytes to read").unwrap();
    let r = Case::new(argv![program("cancel_points"), dir.path().join("fifo"), &file]).in_dir(dir.path()).replays(2).run();
    for what in ["blocked read", "blocked write", "blocked open", "pending cancel at a read"] {
        assert_eq!(r.field(&format!("{what}:")), "cancelled", "{}", r.stdout());
    }
    assert_eq!(r.field("cleanups:"), "4");
    // The request was acted on as the first read started, before it was made.
    let preads = profiler(&r.trace, &[]).lines().filter(|l| l.contains("] pread64(") && l.contains(", 16, 0) =")).count();
    assert_eq!(preads, 0, "the cancelled loop made {preads} reads");
}

/// brk and anonymous private mmaps (malloc's heap and big chunks, thread
/// stacks and arenas, a mapping at a fixed address) are buffered, and
/// replay's stub makes them again at the recorded addresses: the program
/// prints its addresses and a sum over the memory, which must replay the
/// same, from threads that map and unmap while others run.
#[test]
fn memory_from_brk_and_anonymous_mmap_is_buffered_and_made_again_in_replay() {
    let r = Case::new(argv![program("heap_growth")]).replays(3).run();
    assert_eq!(r.field("break grew:"), "yes");
    assert_eq!(r.field("fixed over a mapping:"), "refused");
    assert!(r.field("mapped:").ends_with("fixed 256 MiB below: yes"), "{}", r.stdout());
    let text = profiler(&r.trace, &[]);
    let buffered = |call: &str| text.lines().filter(|l| l.contains(call) && l.ends_with("(buffered)")).count();
    assert!(buffered("] brk(") >= 2, "brk was not buffered");
    // malloc's big chunk, the program's two mappings, three thread stacks and arenas.
    assert!(buffered("] mmap(") >= 6, "only {} buffered mmaps", buffered("] mmap("));
    assert!(
        text.lines().any(|l| l.contains("] mmap(") && l.contains("= -1 EEXIST") && l.ends_with("(buffered)")),
        "the refused fixed mapping was not buffered"
    );
}

/// A task alone in its memory domain waits for a pipe inside the library
/// instead of stopping: a reader of a slow writer makes every read there.
/// What must reach such a wait still does: a signal (with EINTR or a
/// restart, as SA_RESTART says), a process joining the domain through a
/// shared mapping (the reader waits for it to write), and a SIGKILL, after
/// which the killed child's buffered calls are still in the trace. A write
/// that a signal interrupts after part of it went in returns that part.
#[test]
fn pipe_reads_wait_in_the_library_and_signals_joins_and_kills_still_reach_them() {
    let dir = tmpdir();
    let r = Case::new(argv![program("pipe_waits"), dir.path()]).in_dir(dir.path()).replays(2).run();
    assert_eq!(r.field("slow writer:"), "20 messages, last read 0");
    assert_eq!(r.field("without SA_RESTART:"), "-1 Interrupted system call, ticks 1");
    assert_eq!(r.field("with SA_RESTART:"), "4 'late', ticks 2");
    // A pipe holds 64 KiB: the rest of the 1 MiB waited, and the signal ended it.
    assert_eq!(r.field("interrupted write:"), "65536");
    assert_eq!(r.field("interrupted write with SA_RESTART:"), "65536");
    assert_eq!(r.field("joined:"), "6 'joined', shared 42, child status 0");
    assert_eq!(r.field("killed:"), "signal 9, file size 790");
    let text = profiler(&r.trace, &[]);
    // Every read waited in the library: none found the pipe empty (EAGAIN)
    // and went on traced. How many messages each found depends on the
    // machine's load (2 ms apart; under load one read got two, 20 reads).
    let slow_reads: Vec<&str> = text.lines().filter(|l| l.contains("] read(10, ")).collect();
    assert!(slow_reads.len() >= 2, "{slow_reads:#?}");
    assert!(slow_reads.iter().all(|l| l.ends_with("(buffered)") && !l.contains("EAGAIN")), "{slow_reads:#?}");
    let results: Vec<i64> = slow_reads.iter().map(|l| l.split(" = ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap()).collect();
    assert_eq!((results.iter().sum::<i64>(), results.last()), (20, Some(&0)), "{slow_reads:#?}");
    let killed = text.lines().find(|l| l.ends_with("] killed by SIGKILL")).expect("the child's death is in the trace");
    let child = &killed[..killed.find(']').unwrap() + 1];
    let writes = text.lines().filter(|l| l.starts_with(child) && l.contains("] write(") && l.ends_with("(buffered)")).count();
    assert_eq!(writes, 100, "the killed child's buffered writes");
}

/// Runs `args` with its stdout sent to the file `out`.
fn with_stdout_to_file(out: &std::path::Path, args: &[std::ffi::OsString]) -> std::process::Output {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg("out=$1; shift; exec \"$@\" > \"$out\"").arg("sh").arg(out).args(args);
    run(c, None)
}

/// While the recording has one memory domain, writes to its stdout and
/// stderr are buffered, with their bytes and the terminal's serials, and
/// replay shows them in the recorded order, to a file too: the shell's
/// last line comes after the output of `head`, a process that ended
/// before it. Replay runs processes in parallel and printed the shell's
/// line first until it waited for earlier writes of other processes (a
/// pipe as the output has serials that order them anyway).
#[test]
fn output_of_a_lone_process_is_buffered_and_replays_in_order() {
    let script = "echo first; ls / | head -2; echo to-stderr >&2; echo last";
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let recorded = dir.path().join("recorded.txt");
    let rec = with_stdout_to_file(&recorded, &argv![SCRIBE, "record", "-o", &trace, "--", "sh", "-c", script]);
    assert!(rec.status.success(), "{}", show(&rec));
    let recorded = std::fs::read_to_string(&recorded).unwrap();
    assert!(recorded.starts_with("first\n") && recorded.ends_with("last\n") && recorded.lines().count() == 4, "{recorded}");
    for i in 0..5 {
        let replayed = dir.path().join(format!("replayed{i}.txt"));
        let rep = with_stdout_to_file(&replayed, &argv![SCRIBE, "replay", &trace]);
        assert!(rep.status.success(), "{}", show(&rep));
        assert_eq!(std::fs::read_to_string(&replayed).unwrap(), recorded, "replay {i}");
        assert_eq!(stderr_str(&rep).lines().filter(|l| *l == "to-stderr").count(), 1, "{}", show(&rep));
    }
    let r = Case::new(argv!["sh", "-c", script]).replays(2).run();
    let text = profiler(&r.trace, &[]);
    let lines: Vec<&str> = text.lines().collect();
    // A write to the output is followed by the terminal's serial (after its
    // pipe's, when the test's capture pipe is the output).
    let output_writes: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            l.contains("] write(")
                && lines[i + 1..].iter().take(2).take_while(|n| n.starts_with(' ')).any(|n| n.contains("type = terminal"))
        })
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(output_writes.len(), 4, "{text}");
    // The shell printed its first line before any child existed, and its
    // others after both had ended: buffered. head printed while the shell
    // was alive too: a stop.
    for (i, text_written) in [(0, "\"first\\n\""), (2, "\"to-stderr\\n\""), (3, "\"last\\n\"")] {
        assert!(output_writes[i].contains(text_written) && output_writes[i].ends_with("(buffered)"), "{output_writes:#?}");
    }
    assert!(!output_writes[1].ends_with("(buffered)"), "{output_writes:#?}");
    let serials: Vec<u64> = lines
        .iter()
        .filter(|l| l.contains("resource lock, type = terminal"))
        .map(|l| l.rsplit("serial = ").next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(serials, (1..=serials.len() as u64).collect::<Vec<_>>(), "{text}");
    for rep in &r.replays {
        assert_eq!(stderr_str(rep).lines().filter(|l| *l == "to-stderr").count(), 1, "{}", show(rep));
    }
}

/// A command that a shell starts with vfork and waits for, alone, stays in
/// the shell's memory domain after its exec (nothing would run beside it),
/// so the recording keeps one domain and the command's writes to the
/// output stay buffered. The output is a file: a pipe the test read too
/// slowly would make a write wait, and such a write stops.
#[test]
fn a_shells_lone_command_keeps_its_output_writes_buffered() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let recorded = dir.path().join("recorded.txt");
    // ls writes through stdio, 4096 bytes at a time.
    let rec = with_stdout_to_file(&recorded, &argv![SCRIBE, "record", "-o", &trace, "--", "sh", "-c", "ls -l /usr/bin; true"]);
    assert!(rec.status.success(), "{}", show(&rec));
    let recorded = std::fs::read_to_string(&recorded).unwrap();
    assert!(recorded.lines().count() > 100, "{recorded}");
    let replayed = dir.path().join("replayed.txt");
    let rep = with_stdout_to_file(&replayed, &argv![SCRIBE, "replay", &trace]);
    assert!(rep.status.success(), "{}", show(&rep));
    assert_eq!(std::fs::read_to_string(&replayed).unwrap(), recorded);
    let text = profiler(&trace, &[]);
    let writes: Vec<&str> = text.lines().filter(|l| l.contains("] write(1, ")).collect();
    assert!(writes.len() >= 3, "{writes:#?}");
    assert!(writes.iter().all(|l| l.ends_with("(buffered)")), "{writes:#?}");
    assert!(!text.contains("leaves its vfork parent's memory domain"), "the command left the shell's domain");
}

/// Runs `command` (a shell command line) on a new pseudo-terminal, through
/// script(1); what the terminal showed, with its "\r\n" made "\n".
fn on_a_terminal(command: &str) -> std::process::Output {
    let mut c = std::process::Command::new(system_exe("script"));
    c.args(["-qec", command, "/dev/null"]);
    let mut out = run(c, None);
    out.stdout = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n").into_bytes();
    out
}

/// A program printing line by line to the user's terminal, alone in its
/// memory domain, writes through the buffer (each line stopped twice
/// before), and replay shows the same lines on its own terminal.
#[test]
fn lines_written_to_a_terminal_go_through_the_buffer_and_replay_shows_them() {
    require_library();
    let dir = tmpdir();
    let trace = dir.path().join("terminal.trace");
    let lines = "i=0; while [ $i -lt 100 ]; do echo line $i; i=$((i+1)); done";
    let recorded = on_a_terminal(&format!("{SCRIBE} record -o {} -- sh -c '{lines}'", trace.display()));
    assert!(recorded.status.success(), "{}", show(&recorded));
    let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
    assert!(stdout_str(&recorded).contains(&expected), "{}", show(&recorded));
    let text = profiler(&trace, &["--syscall", "write"]);
    let writes: Vec<&str> = text.lines().filter(|l| l.contains("] write(1, ")).collect();
    assert_eq!(writes.len(), 100, "{text}");
    let stopped: Vec<&&str> = writes.iter().filter(|l| !l.ends_with("(buffered)")).collect();
    assert!(stopped.is_empty(), "writes to the terminal that stopped: {stopped:?}");
    let replayed = on_a_terminal(&format!("{SCRIBE} replay {}", trace.display()));
    assert!(replayed.status.success(), "{}", show(&replayed));
    assert!(stdout_str(&replayed).contains(&expected), "{}", show(&replayed));
}
