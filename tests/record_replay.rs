//! Record a program, replay the trace, and check the replay printed exactly
//! what the recording printed and exited the same way, for small C programs
//! (tests/programs/*.c) that read nondeterministic inputs, and for real
//! programs.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use common::*;

// ---------------------------------------------------------------------------
// C test programs
// ---------------------------------------------------------------------------

/// A program built with AddressSanitizer's shared runtime (gcc's default)
/// records and replays, with threads, and its report of a heap overflow
/// too. It exited at once before (the runtime refused to come after the
/// preload library), and with threads LeakSanitizer's exit check, which
/// traces the program's threads, never let the recording end.
#[test]
fn a_program_built_with_address_sanitizer_records_and_replays() {
    let dir = tmpdir();
    let exe = dir.path().join("asan_threads");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/asan_threads.c");
    let built = Command::new("gcc").args(["-fsanitize=address", "-g", "-pthread", "-o"]).arg(&exe).arg(&src).output();
    if !built.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: gcc cannot build with -fsanitize=address here");
        return;
    }
    let trace = dir.path().join("t.scribe");
    let rec = record_for(&trace, &[], &argv![&exe], None, Duration::from_secs(60));
    assert!(rec.status.success(), "{}", show(&rec));
    assert!(stdout_str(&rec).starts_with("sum 6 "), "{}", show(&rec));
    assert_same_run(&rec, &replay(&trace), "replay of the ASan-built program");
    let rec = record_for(&trace, &[], &argv![&exe, "8"], None, Duration::from_secs(60));
    assert_eq!(rec.status.code(), Some(1), "{}", show(&rec));
    assert!(stderr_str(&rec).contains("ERROR: AddressSanitizer: heap-buffer-overflow"), "{}", show(&rec));
    let rep = replay(&trace);
    assert_eq!(rep.status.code(), Some(1), "{}", show(&rep));
    assert!(stderr_str(&rep).contains("ERROR: AddressSanitizer: heap-buffer-overflow"), "{}", show(&rep));
}

#[test]
fn fileio_replays() {
    let dir = tmpdir();
    let file = dir.path().join("data.txt");
    let file2 = file.clone();
    let r = Case::new(argv![program("fileio"), file])
        .in_dir(dir.path())
        // Replay must not need the file: every read comes from the trace.
        .before_replay(move || fs::remove_file(&file2).unwrap())
        .run();
    let out = r.stdout();
    assert!(out.starts_with("offset after write: 47\n"), "{out}");
    assert!(
        out.contains("read 47 bytes:\nfirst line of the scribe test file\nsecond line\n"),
        "{out}"
    );
    assert!(out.contains("slice at 6: [line]\n"), "{out}");
    assert!(out.contains("pread at 0: [first ]\n"), "{out}");
    assert!(out.contains("fstat size: 47\nseek end: 47\n"), "{out}");
    assert!(
        out.contains(
            "after append, 61 bytes (stat size 61):\n\
             first line of the scribe test file\nsecond line\nappended line\ndone\n"
        ),
        "{out}"
    );
    assert!(!file.exists(), "replay re-created {}", file.display());
}

#[test]
fn dirs_replays_readdir_order_and_mtimes() {
    let dir = tmpdir();
    let listed = dir.path().join("listed");
    let listed2 = listed.clone();
    let r = Case::new(argv![program("dirs"), listed])
        .in_dir(dir.path())
        .before_replay(move || fs::remove_dir_all(&listed2).unwrap())
        .run();
    let out = r.stdout();
    assert!(out.ends_with("entries: 6\n"), "{out}");
    for (name, size) in [
        ("alpha.txt", 10),
        ("beta.txt", 20),
        ("gamma.dat", 30),
        ("delta", 40),
        ("epsilon.log", 50),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
        assert!(
            line.contains(&format!(" file size={size} mode=644 ")),
            "{line}"
        );
        let mtime: i64 = line.split("mtime_ns=").nth(1).unwrap().parse().unwrap();
        assert!(mtime > 1_500_000_000_000_000_000, "{line}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("subdir dir ") && l.contains(" mode=700 ")),
        "{out}"
    );
    // The replay ran against the trace alone and left no files behind.
    assert!(!listed.exists(), "replay re-created {}", listed.display());
}

#[test]
fn timeprint_replays_vdso_clocks() {
    let r = assert_replays(argv![program("timeprint")]);
    let now = now_secs();
    let time: f64 = r.field("time:").parse().unwrap();
    let tod: f64 = r.field("gettimeofday:").parse().unwrap();
    let realtime: f64 = r.field("realtime:").parse().unwrap();
    let mono: f64 = r.field("monotonic:").parse().unwrap();
    let mono2: f64 = r.field("monotonic_after_loop:").parse().unwrap();
    assert!(
        (now - time).abs() < 300.0,
        "time() {time} is far from now {now}"
    );
    assert!(
        tod >= time && tod < time + 2.0,
        "gettimeofday {tod} vs time {time}"
    );
    assert!(
        realtime >= tod,
        "CLOCK_REALTIME {realtime} before gettimeofday {tod}"
    );
    assert!(
        mono > 0.0 && mono2 >= mono,
        "monotonic went {mono} -> {mono2}"
    );
    assert_eq!(r.field("backwards:"), "0");
    // Nanosecond fields make a coincidental match practically impossible.
    assert_eq!(r.field("realtime:").split('.').nth(1).unwrap().len(), 9);
}

#[test]
fn rdtsc_replays_counter_values() {
    let r = assert_replays(argv![program("rdtsc")]);
    let out = r.stdout();
    assert_eq!(r.field("monotonic:"), "yes", "{out}");
    for i in 0..5 {
        let v: u64 = r.field(&format!("rdtsc {i}:")).parse().unwrap();
        assert!(v > 0);
    }
    assert!(r.field("rdtscp 0:").contains(" aux="), "{out}");
    assert!(r.field("rdtscp 1:").contains(" aux="), "{out}");
}

/// std::random_device reads RDSEED or RDRAND, which no syscall or trap
/// shows: libstdc++'s are rewritten to fault, in recording and replay.
#[test]
fn std_random_device_values_replay() {
    let r = Case::new(argv![program("random_device"), "4", "0"]).replays(2).run();
    let values: Vec<String> = r.stdout().lines().filter(|l| l.starts_with("value ")).map(String::from).collect();
    assert_eq!(values.len(), 4, "{}", r.stdout());
    let events = profiler(&r.trace, &["--kind", "random"]);
    let random: Vec<&str> = events.lines().filter(|l| l.contains("rdrand/rdseed at ")).collect();
    assert!(random.len() >= 5, "{} RDRAND/RDSEED events for 5 values:\n{events}", random.len());
    // The values come from the CPU: another recording gets others.
    let again = Case::new(argv![program("random_device"), "4", "0"]).run();
    assert_ne!(again.stdout(), r.stdout(), "two recordings drew the same numbers");
}

#[test]
fn random_replays_kernel_randomness() {
    let r = assert_replays(argv![program("random")]);
    let getrandom = r.field("getrandom:");
    let urandom = r.field("urandom:");
    assert_eq!(getrandom.len(), 64, "{getrandom}");
    assert_eq!(urandom.len(), 48, "{urandom}");
    assert!(getrandom.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(getrandom, "0".repeat(64), "getrandom returned zeros");
    assert_eq!(r.field("rand:").split(' ').count(), 3);
}

/// io_uring is refused (ENOSYS) when recording: the kernel would read
/// requests and write completions in the program's memory without a stop.
/// A program that falls back to read() records and replays.
#[test]
fn io_uring_is_refused_and_the_fallback_replays() {
    let dir = tmpdir();
    let file = dir.path().join("lines");
    std::fs::write(&file, "the first line\nthe second\n").unwrap();
    let r = assert_replays(argv![program("io_uring"), file]);
    assert_eq!(r.stdout(), "io_uring: Function not implemented\nfirst line: the first line\n");
}

#[test]
fn pid_replays_recorded_ids() {
    let r = assert_replays(argv![program("pid")]);
    let pid: i64 = r.field("pid:").parse().unwrap();
    let ppid: i64 = r.field("ppid:").parse().unwrap();
    let tid: i64 = r.field("tid:").parse().unwrap();
    assert!(pid > 1 && ppid > 0, "{}", r.stdout());
    assert_eq!(pid, tid);
    assert_eq!(r.field("pid == tid:"), "yes");
}

#[test]
fn mmapfile_replays_private_and_shared_mappings() {
    let dir = tmpdir();
    let file = dir.path().join("mapped.bin");
    let r = Case::new(argv![program("mmapfile"), file])
        .in_dir(dir.path())
        .run();
    let out = r.stdout();

    const SIZE: usize = 3 * 4096;
    let mut data: Vec<u8> = (0..SIZE).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(
        r.field("private checksum:"),
        format!("{:016x}", fnv1a(&data)),
        "{out}"
    );
    assert_eq!(r.field("private matches written data:"), "yes");
    data[100..106].copy_from_slice(b"SCRIBE");
    data[5000] = 0xAB;
    data[SIZE - 1] = 0x5A;
    let modified = format!("{:016x}", fnv1a(&data));
    assert_eq!(r.field("shared checksum:"), modified, "{out}");
    assert_eq!(r.field("read back at 100:"), "[SCRIBE]");
    assert_eq!(r.field("read back at 5000:"), "ab, at end: 5a");
    assert_eq!(r.field("file checksum after msync:"), modified);
    assert_eq!(
        fs::read(&file).unwrap(),
        data,
        "the recording's writes reached the file"
    );

    let ls = fs::read("/usr/bin/ls").unwrap();
    let n = ls.len().min(65536);
    assert_eq!(r.field("ls magic:"), "7f454c46");
    assert_eq!(
        r.field(&format!("ls checksum({n}):")),
        format!("{:016x}", fnv1a(&ls[..n])),
        "{out}"
    );
}

#[test]
fn selfpipe_replays_pipe_and_poll() {
    let r = assert_replays(argv![program("selfpipe")]);
    assert_eq!(
        r.stdout(),
        "poll empty: 0 revents=0\n\
         poll write end: 1 pollout=1\n\
         poll after write 0: 1 pollin=1\n\
         read 13: first message\n\
         poll after write 1: 1 pollin=1\n\
         read 22: second, longer message\n\
         poll after write 2: 1 pollin=1\n\
         read 5: third\n\
         combined read 4: abcd\n\
         poll after close: 1 pollhup=1\n\
         read at eof: 0\n"
    );
}

#[test]
fn sighandler_replays_signal_delivery() {
    let r = assert_replays(argv![program("sighandler")]);
    let pid: i32 = r.field("pid:").parse().unwrap();
    // SIGUSR1 = 10 via raise (tgkill: SI_TKILL = -6), SIGUSR2 = 12 via kill
    // (SI_USER = 0); si_pid is the recorded pid.
    let expected = format!(
        "pid: {pid}\n\
         after raise: usr1=1 signo=10 code=-6 pid={pid} self=yes\n\
         after kill: usr2=10 signo=12 code=0 pid={pid} self=yes\n\
         while blocked: usr1=1 pending=1\n\
         after unblock: usr1=2\n\
         final: usr1=2 usr2=60\n"
    );
    assert_eq!(r.stdout(), expected);
}

#[test]
fn segfault_exits_139_and_replays() {
    let r = Case::new(argv![program("segfault")]).status(139).run();
    assert_eq!(r.stdout(), "about to crash\n");
    assert_eq!(status_code(r.replay.status), 139);
}

#[test]
fn segv_handler_replays_recovered_faults() {
    let r = assert_replays(argv![program("segv_handler")]);
    let out = r.stdout();
    assert_eq!(r.field("handled:"), "3, matching addresses: 3", "{out}");
    for i in 0..3 {
        assert!(out.contains(&format!("fault {i} at 0x")), "{out}");
    }
    assert!(!out.contains("expected no"), "{out}");
    assert!(!out.contains("no fault?"), "{out}");
}

#[test]
fn exit_status_is_passed_through_and_replayed() {
    for code in [0, 1, 42, 255] {
        let r = Case::new(argv![program("exitcode"), code.to_string()])
            .status(code)
            .run();
        assert_eq!(r.stdout(), format!("exiting with {code}\n"));
        assert_eq!(r.replay.status.code(), Some(code));
    }
}

#[test]
fn two_recordings_differ_and_each_replays_its_own() {
    let a = assert_replays(argv![program("nondet")]);
    let b = assert_replays(argv![program("nondet")]);
    for key in ["time_ns:", "rdtsc:", "random:", "pid:"] {
        assert_ne!(
            a.field(key),
            b.field(key),
            "two recordings printed the same {key}\n{}\n{}",
            a.stdout(),
            b.stdout()
        );
    }
    assert_ne!(a.record.stdout, b.record.stdout);
    // A second replay of the same trace gives the same bytes again.
    let again = replay(&a.trace);
    assert_same_run(&a.record, &again, "second replay of nondet");
    assert_eq!(again.stdout, a.replay.stdout);
}

#[test]
fn stdin_is_passed_through_and_replayed_without_stdin() {
    let input = "hello scribe\nSecond line, with MiXeD case.\n";
    let r = Case::new(argv![program("stdin_echo")])
        .stdin(input)
        .stderr_contains(&format!("stdin_echo: {} bytes", input.len()))
        .run();
    assert_eq!(r.stdout(), input.to_uppercase());
}

#[test]
fn large_stdin_is_replayed() {
    let input: Vec<u8> = pseudo_random_bytes(300 * 1024, 7)
        .into_iter()
        .map(|b| b"abcdefghij \n"[(b % 12) as usize])
        .collect();
    let r = Case::new(argv![program("stdin_echo")])
        .stdin(input.clone())
        .stderr_contains(&format!("stdin_echo: {} bytes", input.len()))
        .run();
    assert_eq!(r.record.stdout, input.to_ascii_uppercase());
}

#[test]
fn every_level_replays() {
    for level in ["0", "1", "2", "3"] {
        let r = Case::new(argv![program("nondet")])
            .opts(&["-l", level])
            .run();
        assert!(
            r.field("random:").len() == 32,
            "level {level}: {}",
            r.stdout()
        );
    }
}

/// Replay maps big private file mappings from the file on disk (libc and
/// /usr/bin/ls here) instead of copying them in; a portable trace, which
/// holds the contents, copies them; both replay what the recording printed.
/// The loader maps libc in three big pieces from one descriptor: replay
/// opens the file once for them.
#[test]
fn big_file_mappings_map_the_file_on_disk_unless_the_trace_holds_it() {
    let mapped_from_disk = |opts: &[&str]| -> (u64, u64) {
        let dir = tmpdir();
        let trace = dir.path().join("t.scribe");
        let rec = record_with(&trace, opts, &argv![program("mmapfile"), dir.path().join("mapped.bin")], None);
        assert!(rec.status.success(), "{}", show(&rec));
        let rep = replay_with(&["--stats"], &trace);
        assert_same_run(&rec, &rep, "mmapfile");
        let err = stderr_str(&rep);
        let counts = err
            .trim_end()
            .split(", ")
            .find_map(|part| part.strip_suffix(" through the descriptor of the one before)"))
            .unwrap_or_else(|| panic!("no count of file mappings in {err}"));
        let (all, kept) = counts.split_once(" file mappings of files on disk (").unwrap_or_else(|| panic!("{err}"));
        (all.trim().parse().unwrap(), kept.trim().parse().unwrap())
    };
    let (all, through_kept) = mapped_from_disk(&[]);
    assert!(all >= 2, "libc and ls should be mapped from disk");
    assert!(through_kept >= 2, "libc's pieces after the first: {through_kept} of {all}");
    assert_eq!(mapped_from_disk(&["--portable"]), (0, 0));
}

#[test]
fn portable_trace_replays_after_mapped_file_changed() {
    let dir = tmpdir();
    let file = dir.path().join("stable.bin");
    let original = pseudo_random_bytes(10_000, 11);
    fs::write(&file, &original).unwrap();
    make_old(&file);
    let file2 = file.clone();
    let r = Case::new(argv![program("mmapfile"), file, "--map-only"])
        .in_dir(dir.path())
        .opts(&["--portable"])
        .before_replay(move || {
            // Same size, different content, fresh mtime.
            let mut changed = fs::read(&file2).unwrap();
            for b in changed.iter_mut() {
                *b = !*b;
            }
            fs::write(&file2, changed).unwrap();
        })
        .run();
    assert_eq!(r.field("size:"), "10000");
    assert_eq!(r.field("checksum:"), format!("{:016x}", fnv1a(&original)));
}

#[test]
fn cwd_option_sets_the_programs_directory() {
    let dir = tmpdir();
    let sub = dir.path().join("workdir");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("here.txt"), "read relative to -c\n").unwrap();
    // The recorder itself runs in `dir`; only -c makes `here.txt` resolvable.
    let r = Case::new(argv![system_exe("cat"), "here.txt"])
        .in_dir(dir.path())
        .opts(&["-c", sub.to_str().unwrap()])
        .run();
    assert_eq!(r.stdout(), "read relative to -c\n");
}

// ---------------------------------------------------------------------------
// Shell mode
// ---------------------------------------------------------------------------

#[test]
fn shell_mode_runs_through_sh() {
    let r = Case::new(argv!["echo $((6 * 7)); echo to-stderr >&2; exit 3"])
        .opts(&["-s"])
        .status(3)
        .stderr_contains("to-stderr")
        .run();
    assert_eq!(r.stdout(), "42\n");
}

/// Output written through a standard stream opened again by name
/// (`> /dev/stdout`, `> /dev/stderr`, `/proc/self/fd/1`, `/dev/fd/2`,
/// `tee /dev/stderr`) is the program's output, and replay shows it. Before,
/// replay showed only what went through the inherited descriptors.
#[test]
fn output_through_dev_stdout_and_dev_stderr_replays() {
    let script = "echo a > /dev/stdout; echo b > /dev/stderr; echo c > /proc/self/fd/1; \
                  echo d >> /dev/fd/2; echo e >&1; tee /dev/stderr <<< teed > /dev/null; \
                  echo f > /proc/$$/fd/1; exec 3>/dev/stdout; echo g >&3";
    let r = Case::new(argv![system_exe("bash"), "-c", script])
        .replays(2)
        .stderr_contains("b\nd\nteed\n")
        .run();
    assert_eq!(r.stdout(), "a\nc\ne\nf\ng\n");
}

/// userfaultfd is refused (ENOSYS), so a program with a page-fault handler
/// thread takes its fallback: a faulting thread waits in the fault, not in
/// a syscall, and the handler never got to run (the recording hung).
#[test]
fn userfaultfd_is_refused_instead_of_hanging() {
    let r = Case::new(argv![program("userfaultfd")]).replays(1).run();
    assert_eq!(r.stdout(), "uffd unavailable: Function not implemented\n");
}

/// A process's own settings that shape what replay makes for real: a
/// data limit (brk, run in replay too, fails past it), PR_SET_TSC (rdtsc
/// keeps trapping, or its values go unrecorded), Linux AIO (refused).
#[test]
fn limits_tsc_mode_and_aio_of_the_program_replay() {
    let r = Case::new(argv![program("process_settings")]).replays(2).run();
    assert_eq!(r.field("data limit:"), "set 0, sbrk of 64 MiB failed");
    assert_eq!(r.field("PR_SET_TSC:"), "0, time-stamp counter went forward");
    // Natively "enable" too: the trapping Scribe set up does not show.
    assert_eq!(r.field("PR_GET_TSC:"), "0, mode enable");
    assert_eq!(r.field("io_setup:"), "-1 Function not implemented");
    let rdtsc = profiler(&r.trace, &["--kind", "rdtsc"]).lines().filter(|l| l.contains("rdtsc at")).count();
    assert!(rdtsc >= 2, "the program's two rdtsc were not recorded ({rdtsc})");
}

/// A persona without ADDR_NO_RANDOMIZE (`setarch` clears it) and an
/// unlimited stack (the legacy layout) before an exec: the exec'd program
/// must get the same addresses in replay. Both failed to replay before.
#[test]
fn setarch_and_an_unlimited_stack_before_an_exec_replay() {
    if find_exe("setarch").is_some() {
        let r = Case::new(argv![system_exe("setarch"), "x86_64", system_exe("echo"), "hi"]).replays(1).run();
        assert_eq!(r.stdout(), "hi\n");
    }
    let r = Case::new(argv!["ulimit -s unlimited; ulimit -s; /bin/echo after"]).opts(&["-s"]).replays(1).run();
    assert_eq!(r.stdout(), "unlimited\nafter\n");
}

/// An execve from a thread other than the main one cannot be recorded (the
/// exec'ing thread takes the main thread's id): the recording ends there
/// cleanly, saying why, the program goes on, and replay plays the trace up
/// to that point. The recorder used to fail with "waitpid ... No child
/// processes" and leave a trace that did not replay.
#[test]
fn an_exec_from_a_thread_ends_the_recording_cleanly() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let rec = record(&trace, &argv![program("exec_from_thread")], None);
    assert!(rec.status.success(), "{}", show(&rec));
    assert_eq!(stdout_str(&rec), "before\nfrom the thread\n");
    assert!(stderr_str(&rec).contains("from a thread other than its process's main thread"), "{}", show(&rec));
    assert!(profiler(&trace, &[]).contains("end of trace: the recorder detached"));
    let rep = replay(&trace);
    assert!(rep.status.success(), "{}", show(&rep));
    assert_eq!(stdout_str(&rep), "before\n");
    assert!(stderr_str(&rep).contains("where the recorder detached"), "{}", show(&rep));
}

/// The program's own seccomp filter: a trapped call runs its SIGSYS
/// handler, in recording and replay, and the library's syscalls (which the
/// filter applies to as well) stop from then on. Before, the handler never
/// ran when recorded and replay diverged.
#[test]
fn a_program_with_its_own_seccomp_filter_replays() {
    let r = Case::new(argv![program("own_seccomp")]).replays(2).run();
    assert_eq!(r.stdout(), "filter 0, getppid 4242 4242, traps 2, getuid -1 Operation not permitted\n");
}

/// A new PID namespace is refused as for an unprivileged user, with a
/// notice: ids inside it are not the ones the trace uses, and recording a
/// process that waited for its child there hung.
#[test]
fn a_new_pid_namespace_is_refused_with_a_notice() {
    let Some(unshare) = find_exe("unshare") else { return };
    let r = Case::new(argv![unshare, "--fork", "--pid", system_exe("true")]).status(1).replays(1).run();
    assert!(stderr_str(&r.record).contains("asked for a new PID namespace"), "{}", show(&r.record));
}

/// Writes into the program's own memory through /proc/self/mem (pwrite
/// and write) are made again in replay, which emulates them: their effect
/// is recorded as the call's output. Before, replay printed the old text.
#[test]
fn writes_through_proc_self_mem_change_memory_in_replay() {
    for opts in [&[][..], &["--no-syscall-buffer"][..]] {
        let r = Case::new(argv![program("self_mem")]).opts(opts).replays(1).run();
        assert_eq!(r.stdout(), "wrote 7 7: PATCHEDly text / CHANGEDe text\n");
    }
}

/// fexecve and execveat relative to a directory descriptor: replay, where
/// those descriptors' opens were emulated, opens the recorded file or
/// directory on the same number first. Both failed to replay before.
#[test]
fn execs_through_descriptors_replay() {
    let r = Case::new(argv![program("exec_by_descriptor")]).replays(2).run();
    assert_eq!(r.stdout(), "by fexecve\nchild exited 0\nby execveat\n");
}

/// Signals ignored by whatever ran the recorder (a shell's `trap '' INT`,
/// nohup) are ignored by the program too, and replay, run from a shell that
/// ignores nothing, starts it the same way. Before, replay gave it the
/// default actions and the program took another path.
/// SIGQUIT's number on x86-64 Linux.
const SIGQUIT: u32 = 3;

/// Whether this test process was started with `signal` ignored (SigIgn in
/// /proc/self/status).
fn ignored_here(signal: u32) -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let mask = field(&status, "SigIgn:");
    u64::from_str_radix(&mask, 16).unwrap() & (1 << (signal - 1)) != 0
}

/// Runs `sh -c SCRIPT` with Scribe's path as `$0` and `args` as `$1`...:
/// Scribe started by a shell that changed something first.
fn scribe_from_shell(script: &str, args: &[&Path]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(SCRIBE).args(args);
    run(cmd, None)
}

#[test]
fn signals_ignored_when_recording_are_ignored_in_replay() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let script = "trap '' INT; exec \"$0\" record -o \"$1\" -- \"$2\"";
    let rec = scribe_from_shell(script, &[&trace, &program("dispositions")]);
    assert!(rec.status.success(), "{}", show(&rec));
    // SIGQUIT keeps what the test itself was given (a background job of a
    // shell starts with it ignored, and sh cannot reset that).
    let quit = if ignored_here(SIGQUIT) { "ignored" } else { "default" };
    assert_eq!(stdout_str(&rec), format!("SIGINT ignored, SIGQUIT {quit}\n"));
    let rep = replay(&trace);
    assert_same_run(&rec, &rep, "replay from a shell that ignores nothing");
}

/// The kernel lays out a program's memory maps by the stack limit it starts
/// with (over 128 MiB moves them; unlimited lays them out bottom-up): a
/// recording made under `ulimit -s unlimited` replays from a shell with
/// the usual limit, and a replayer whose hard limit is lower says so.
/// Before, such a replay diverged at the loader's first rdtsc.
#[test]
fn a_recording_under_another_stack_limit_replays() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let script = "ulimit -s unlimited && exec \"$0\" record -o \"$1\" -- \"$2\" hello";
    let rec = scribe_from_shell(script, &[&trace, &system_exe("echo")]);
    assert!(rec.status.success(), "{}", show(&rec));
    assert_eq!(stdout_str(&rec), "hello\n");
    assert!(profiler(&trace, &[]).contains("# stack limit: unlimited"));
    let rep = replay(&trace);
    assert_same_run(&rec, &rep, "replay under the test's own stack limit");
    let refused = scribe_from_shell("ulimit -Hs 65536 && exec \"$0\" replay \"$1\"", &[&trace]);
    assert!(!refused.status.success(), "{}", show(&refused));
    assert!(stderr_str(&refused).contains("stack limit of unlimited, above this process's hard limit of 65536 KiB"), "{}", show(&refused));
    assert_no_panic(&refused, "replay under a lower hard stack limit");
}

#[test]
fn killed_program_exits_128_plus_signal() {
    let r = Case::new(argv!["echo before; kill -KILL $$; echo after"])
        .opts(&["-s"])
        .status(137)
        .run();
    assert_eq!(r.stdout(), "before\n");
    assert_eq!(status_code(r.replay.status), 137);
}

// ---------------------------------------------------------------------------
// Real programs
// ---------------------------------------------------------------------------

#[test]
fn date_replay_prints_the_recorded_time() {
    let date = system_exe("date");
    let r = Case::new(argv![date, "+%s.%N"])
        .before_replay(|| thread::sleep(Duration::from_millis(1100)))
        .run();
    let recorded: f64 = r.stdout().trim().parse().unwrap();
    assert!(
        (now_secs() - recorded).abs() < 300.0,
        "recorded date {recorded}"
    );
    let fresh = run_native(&argv![date, "+%s.%N"], None);
    assert!(fresh.status.success());
    assert_ne!(
        fresh.stdout, r.replay.stdout,
        "replay printed the current time, not the recorded one"
    );
    let fresh: f64 = stdout_str(&fresh).trim().parse().unwrap();
    assert!(fresh - recorded >= 1.0, "recorded {recorded}, now {fresh}");
}

#[test]
fn program_is_found_through_path() {
    let r = assert_replays(argv!["date", "+%Y"]);
    let year: i32 = r.stdout().trim().parse().unwrap();
    assert!((2020..3000).contains(&year), "{year}");
}

#[test]
fn ls_long_listing_replays() {
    let cmd = argv![system_exe("ls"), "-l", "/usr/bin"];
    let native = run_native(&cmd, None);
    assert!(native.status.success());
    let r = assert_replays(cmd);
    assert!(r.stdout().starts_with("total "), "{}", r.stdout());
    assert_eq!(
        r.record.stdout, native.stdout,
        "the recorded ls printed something else than ls run natively"
    );
}

#[test]
fn cat_replays_after_file_removed() {
    let dir = tmpdir();
    let file = dir.path().join("poem.txt");
    let content =
        "Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe\n".repeat(50);
    fs::write(&file, &content).unwrap();
    let file2 = file.clone();
    let r = Case::new(argv![system_exe("cat"), file])
        .in_dir(dir.path())
        .before_replay(move || fs::remove_file(&file2).unwrap())
        .run();
    assert_eq!(r.stdout(), content);
}

#[test]
fn replay_does_not_depend_on_working_directory() {
    let dir = tmpdir();
    fs::write(
        dir.path().join("relative.txt"),
        "found by a relative path\n",
    )
    .unwrap();
    // The recording runs in `dir`, so `cat relative.txt` finds the file.
    let trace = dir.path().join("trace.scribe");
    let rec = record(&trace, &argv![system_exe("cat"), "relative.txt"], None);
    assert_no_panic(&rec, "record");
    assert!(rec.status.success(), "{}", show(&rec));
    assert_eq!(stdout_str(&rec), "found by a relative path\n");
    fs::remove_file(dir.path().join("relative.txt")).unwrap();
    let rep = replay_in(&[], &trace, std::path::Path::new("/"));
    assert_same_run(&rec, &rep, "replay from /");
}

#[test]
fn sha256sum_replays_and_matches() {
    let dir = tmpdir();
    let file = dir.path().join("blob.bin");
    let data = pseudo_random_bytes(1 << 20, 0x5c41be);
    fs::write(&file, &data).unwrap();
    let r = Case::new(argv![system_exe("sha256sum"), file])
        .in_dir(dir.path())
        .run();
    assert_eq!(
        r.stdout(),
        format!("{}  {}\n", sha256_hex(&data), file.display())
    );
}

#[test]
fn python_replays() {
    let Some(python) = find_exe("python3") else {
        eprintln!("note: python3 not installed, test skipped");
        return;
    };
    let r = assert_replays(argv![
        python,
        "-c",
        "import time,random; print(time.time(), random.random())"
    ]);
    let out = r.stdout();
    let fields: Vec<f64> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
    assert_eq!(fields.len(), 2, "{out}");
    assert!((now_secs() - fields[0]).abs() < 300.0, "{out}");
    assert!((0.0..1.0).contains(&fields[1]), "{out}");
}

/// A program's own SIGTRAPs, an int3 and single steps under a trap flag it
/// sets itself, reach its handler when recorded and replayed: the recorder
/// passes over only the traps of its own steps and breakpoints that no
/// probe waits for (a stray one had killed a JVM).
#[test]
fn a_programs_own_traps_reach_its_handler() {
    let r = Case::new(argv![program("own_traps")]).replays(2).run();
    assert_eq!(r.stdout(), "int3 traps 1, single-step traps 5\n");
}

/// sqlite3 with memory-mapped I/O reads its database through a shared,
/// read-only mapping and writes it with pwrite: replay, which emulates the
/// writes, showed the mapping without them and diverged.
#[test]
fn sqlite_with_memory_mapped_io_replays() {
    let Some(sqlite) = find_exe("sqlite3") else {
        eprintln!("note: sqlite3 not installed, test skipped");
        return;
    };
    let script = "PRAGMA mmap_size=268435456;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000)
  INSERT INTO t SELECT x, printf('row %d %s', x, hex(randomblob(20))) FROM c;
SELECT count(*), sum(length(b)) FROM t;
UPDATE t SET b = 'changed ' || a WHERE a % 7 = 0;
SELECT b FROM t WHERE a = 700;
SELECT count(*) FROM t WHERE b LIKE 'changed%';
";
    let r = Case::new(argv![sqlite, "mapped.db"]).stdin(script).run();
    assert_eq!(r.stdout(), "268435456\n3000|145893\nchanged 700\n428\n");
}

#[test]
fn sqlite_replays() {
    let Some(sqlite) = find_exe("sqlite3") else {
        eprintln!("note: sqlite3 not installed, test skipped");
        return;
    };
    let r = assert_replays(argv![
        sqlite,
        ":memory:",
        "create table t(x); insert into t values (random()); select * from t;"
    ]);
    let value: i64 = r
        .stdout()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {:?}", r.stdout()));
    assert_ne!(value, 0);
}
