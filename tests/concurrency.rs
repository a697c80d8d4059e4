//! Multi-threaded and multi-process programs: record, replay, and check the
//! replay printed exactly what the recording printed and exited the same
//! way. Programs whose output depends on the interleaving are replayed
//! several times, and every replay must match the recording.
//!
//! The engine runs one task in user code at a time and switches tasks at
//! system calls; the trace order is the order tasks ran, and replay follows
//! it. A program whose result depends on the interleaving therefore prints
//! one of its possible results when recorded, and exactly that result on
//! every replay.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::time::Duration;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// How many times racy programs are replayed.
const RACY_REPLAYS: usize = 3;

/// Timeout for each scribe invocation of a program that may hang when the
/// engine cannot preempt a task that never makes a system call.
const SPIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Timeout for each scribe invocation of the other tests: all of them take
/// a few seconds at most, so a hang fails fast instead of after `TIMEOUT`.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// A `Case` for `cmd` with `CASE_TIMEOUT`.
fn case(cmd: Vec<std::ffi::OsString>) -> Case {
    Case::new(cmd).timeout(CASE_TIMEOUT)
}

/// Parses the value after `key` as a number.
fn num<T: std::str::FromStr>(r: &Recorded, key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    let v = r.field(key);
    v.parse()
        .unwrap_or_else(|e| panic!("{key} {v:?} is not a number ({e:?}) in:\n{}", r.stdout()))
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

#[test]
fn mutex_counter_replays() {
    let r = case(argv![program("mutex_counter"), "4"])
        .replays(RACY_REPLAYS)
        .run();
    assert_eq!(r.field("threads:"), "4", "{}", r.stdout());
    assert_eq!(num::<u64>(&r, "total:"), 4 * 100_000, "{}", r.stdout());
    assert_eq!(num::<u64>(&r, "expected:"), 4 * 100_000);
}

/// Threads that fork at the same time: each fork copies memory a sibling
/// could write meanwhile, so the forking thread keeps its token through
/// it. Before, 7 of 10 recordings of one fork per thread failed to replay.
#[test]
fn threads_that_fork_at_the_same_time_replay() {
    for opts in [&[][..], &["--chaos"][..]] {
        for _ in 0..3 {
            let r = case(argv![program("fork_from_threads"), "10"]).opts(opts).replays(2).run();
            // Children exit with 0..9 in each thread.
            assert_eq!(r.field("exit statuses:"), "45 45", "{}", r.stdout());
        }
    }
}

#[test]
fn racy_counter_replays_recorded_total() {
    let r = case(argv![program("racy_counter"), "4", "5000000"])
        .replays(RACY_REPLAYS)
        .run();
    let total: u64 = num(&r, "total:");
    let lost: u64 = num(&r, "lost:");
    assert_eq!(r.field("threads:"), "4");
    // Each thread's own increments are never lost, so at least 5,000,000.
    assert!(
        (5_000_000..=20_000_000).contains(&total),
        "impossible total {total}:\n{}",
        r.stdout()
    );
    assert_eq!(total + lost, 20_000_000, "{}", r.stdout());
}

#[test]
fn condvar_producer_consumer_replays() {
    let r = case(argv![program("condvar")]).replays(RACY_REPLAYS).run();
    let out = r.stdout();
    assert_eq!(r.field("consumed:"), "10000", "{out}");
    let expected: u64 = (1..=2u64)
        .map(|id| (1..=5000u64).map(|i| id * 1_000_000 + i).sum::<u64>())
        .sum();
    assert_eq!(num::<u64>(&r, "sum:"), expected, "{out}");
    assert_eq!(num::<u64>(&r, "expected sum:"), expected, "{out}");
    let hash = r.field("order hash:");
    assert_eq!(hash.len(), 16, "{out}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{out}");
    let per: Vec<u64> = r
        .field("per consumer:")
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(per.len(), 2, "{out}");
    assert_eq!(per.iter().sum::<u64>(), 10_000, "{out}");
}

#[test]
fn thread_pool_replays_job_distribution() {
    let r = case(argv![program("thread_pool")])
        .replays(RACY_REPLAYS)
        .run();
    let out = r.stdout();
    let per: Vec<u64> = r
        .field("per worker:")
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(per.len(), 4, "{out}");
    assert_eq!(per.iter().sum::<u64>(), 1000, "{out}");
    assert_eq!(r.field("jobs:"), "1000", "{out}");
    assert_eq!(r.field("bad jobs:"), "0", "{out}");
    assert_eq!(r.field("sum:"), r.field("expected sum:"), "{out}");
    assert!(num::<u64>(&r, "sum:") > 0, "{out}");
}

#[test]
fn pthread_kill_wakes_blocked_threads() {
    let r = case(argv![program("pthread_kill")])
        .replays(RACY_REPLAYS)
        .run();
    assert_eq!(
        r.stdout(),
        "flag: 1\n\
         handler ran in the pauser thread: yes\n\
         sigwait got: SIGUSR2\n"
    );
}

#[test]
fn a_loop_entered_at_its_condition_replays_its_points_quickly() {
    // The entry jump lands in the bytes an in-task check displaces for a
    // point just before the compare, which removes the check; replay gave
    // the check up for good and then trapped at every pass (a million per
    // entry): 4 of 4 replays ran past a minute. Now the check comes back.
    let r = case(argv![program("rotated_loop"), "100"])
        .opts(&["--chaos"])
        .timeout(Duration::from_secs(30))
        .replays(2)
        .run();
    let sums: Vec<String> = r.field("sums:").split(' ').map(str::to_string).collect();
    assert_eq!(sums.len(), 2, "{}", r.stdout());
    let trace = profiler(&r.trace, &[]);
    let points = trace.lines().filter(|l| l.contains("] preempted at ")).count();
    assert!(points >= 2, "only {points} points");
}

#[test]
fn spin_flag_needs_preemption() {
    let r = case(argv![program("spin_flag")])
        .timeout(SPIN_TIMEOUT)
        .replays(RACY_REPLAYS)
        .run();
    let out = r.stdout();
    assert!(out.ends_with("done\n"), "{out}");
    // 20,000,000 steps of an LCG from 1, computed here independently.
    let mut x: u64 = 1;
    for _ in 0..20_000_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    assert_eq!(num::<u64>(&r, "result:"), x, "{out}");
    let _: u64 = num(&r, "spins:");
}

#[test]
fn setitimer_interrupts_compute_loop() {
    let r = case(argv![program("setitimer")])
        .timeout(SPIN_TIMEOUT)
        .replays(RACY_REPLAYS)
        .run();
    // More ticks come in when the process did not run for a whole period
    // between the fifth and disarming the timer: a loaded CI machine saw
    // seven. What the recording saw, replay shows too.
    assert!(num::<u64>(&r, "ticks:") >= 5, "{}", r.stdout());
    // Five 10 ms periods of a counting loop: far more than a few iterations.
    assert!(num::<u64>(&r, "counter:") > 1000, "{}", r.stdout());
}

/// A handler of a timer signal that interrupts a compute loop reads the
/// fault fields of its frame (trap number, error code, fault address) and
/// the saved resume flag. The kernel fills them from the thread's last
/// trap, and the recorder's and replayer's own traps (breakpoints that
/// choose where the held signal is delivered) showed there: trap 1 and the
/// resume flag, in the recording; the replay's in-task checks would show
/// trap 3. Recorded and replayed, the handler sees what it sees untraced.
#[test]
fn a_handler_sees_the_frame_an_untraced_program_gets() {
    let native = Command::new(program("signal_frame")).output().expect("run signal_frame");
    let native = String::from_utf8_lossy(&native.stdout).into_owned();
    assert_eq!(native.lines().count(), 5, "{native}");
    let r = case(argv![program("signal_frame")]).timeout(SPIN_TIMEOUT).replays(2).run();
    assert_eq!(r.stdout(), native, "the handler saw another frame when recorded");
    let text = profiler(&r.trace, &[]);
    let at_points = text.lines().filter(|l| l.contains("signal SIGALRM") && l.contains("delivered at that point")).count();
    assert!(at_points > 0, "no tick was delivered at a point:\n{text}");
}

/// A timer firing every 3 ms at a computing thread while a sibling spins
/// with the signal blocked: the computing thread keeps its token through
/// the handler's rt_sigreturn, so it gets on with its work. Before, it gave
/// the token to the spinner at each rt_sigreturn, came back a slice later to
/// the next tick, and the recording never ended.
#[test]
fn a_timer_faster_than_a_time_slice_does_not_starve_the_thread_it_interrupts() {
    let r = case(argv![program("timer_starve")]).timeout(SPIN_TIMEOUT).replays(2).run();
    assert_eq!(r.field("sum:"), "2249992500000", "{}", r.stdout());
    assert_eq!(r.field("ticks seen:"), "yes");
    let text = profiler(&r.trace, &[]);
    let handled = text.lines().filter(|l| l.contains("] rt_sigreturn(")).count();
    assert!(handled > 0, "no tick was handled");
}

/// A thread that waits on a flag with a pause and a buffered getppid per
/// pass, while the main thread computes: the waiter's time slices end
/// (at a stop of its next buffered call when the end of a slice finds it
/// in the library) and the replay finds every point. Before, the end of
/// a slice always found it back in the library after a "buffer full"
/// stop and was put off to the next tick, which found it there again: the
/// recording never ended, and its replays stopped at a point's first
/// look-alike pass ("made 1 of the 1497 buffered syscalls recorded here").
#[test]
fn a_thread_waiting_with_buffered_calls_is_preempted_and_replays() {
    let r = case(argv![program("buffered_spin")]).timeout(SPIN_TIMEOUT).replays(2).run();
    assert_eq!(r.field("sum:"), "3374988750000", "{}", r.stdout());
    let text = profiler(&r.trace, &[]);
    let waits = text.lines().filter(|l| l.contains("] getppid(") && l.ends_with("(buffered)")).count();
    assert!(waits > 1000, "only {waits} buffered getppid calls");
}

/// Two threads that compute and make a buffered call every few
/// microseconds, without ever waiting: each runs until its slice winds
/// down, and then gives the token up at its next call (made to stop), a
/// sync point. Before, the end of each slice stopped the thread wherever
/// it was, nearly always in its computation, and chose a point there.
#[test]
fn a_thread_that_makes_syscalls_is_preempted_at_one() {
    let r = case(argv![program("busy_callers"), "60000"]).timeout(SPIN_TIMEOUT).replays(2).run();
    for id in 0..2 {
        assert!(r.stdout().contains(&format!("thread {id}: ")), "{}", r.stdout());
    }
    let text = profiler(&r.trace, &[]);
    let points: Vec<&str> = text.lines().filter(|l| l.contains("] preempted at ")).collect();
    assert!(points.is_empty(), "preempted in user code: {points:?}");
    let stopped: BTreeSet<&str> =
        text.lines().filter(|l| l.contains("] getppid(") && !l.ends_with("(buffered)")).filter_map(|l| l.split(']').next()).collect();
    assert_eq!(stopped.len(), 2, "both threads give the token up at a getppid:\n{text}");
}

/// A thread counting in code it copied into writable and executable
/// memory (as a JIT compiles), preempted while a sibling yields: its
/// points there are found with the breakpoint, never by patching that
/// code (HotSpot rewrites its code cache; a `--chaos` recording of a Java
/// thread pool replayed with "no task can reach the next recorded event").
/// Before, such a point was a loop point, and replay patched the code.
#[test]
fn code_the_program_may_write_is_never_patched_for_a_point() {
    let r = case(argv![program("jit_loop")]).opts(&["--chaos", "--stats"]).timeout(SPIN_TIMEOUT).replays(2).run();
    assert_eq!(r.field("sums:"), "45000000150000000 22500000150000000");
    assert_eq!(r.field("yielded:"), "yes");
    let recorded = stderr_str(&r.record);
    let kinds = field(&recorded, "scribe: points in user code:");
    assert!(kinds.contains(" 0 loop preemptions"), "{kinds}");
    let replayed = stderr_str(&replay_with(&["--stats"], &r.trace));
    assert!(replayed.contains(" 0 in-task checks"), "{replayed}");
    let found = field(&replayed, "scribe: replayed");
    assert!(!found.contains(", 0 preemptions and"), "the counting thread was never preempted: {found}");
}

/// A loop in writable code (a JIT's) that calls fixed code at every pass,
/// as V8's compiled JavaScript calls its builtins: a point cannot be
/// patched in the loop, and a return address found on the stack is the
/// loop's own, so replay trapped at every pass (this program's replay ran
/// for minutes; a node worker's `--chaos` recording failed to replay in
/// time about once in ten). The recorder now steps the task on to the
/// first instruction of fixed code where a check fits, in the helper.
#[test]
fn a_jit_loop_calling_fixed_code_is_preempted_where_replay_can_check() {
    let r = case(argv![program("jit_calls")]).opts(&["--chaos", "--stats"]).timeout(SPIN_TIMEOUT).replays(1).run();
    assert_eq!(r.field("sum:"), "399999997");
    let recorded = stderr_str(&r.record);
    let kinds = field(&recorded, "scribe: points in user code:");
    let loops = number_before(&kinds, " loop preemptions");
    assert!(loops >= 3, "the looping thread should be preempted in the helper: {kinds}");
    let replayed = stderr_str(&replay_with(&["--stats"], &r.trace));
    let found = field(&replayed, "scribe: replayed");
    let traps = number_before(&found, " traps");
    let checks = number_before(&found, " in-task checks");
    assert!(checks >= loops, "every loop point found by an in-task check: {found}");
    assert!(traps <= 4 * loops + 20, "a trap per pass somewhere: {found}");
}

/// The number just before `marker` in a `--stats` line.
fn number_before(line: &str, marker: &str) -> u64 {
    let before = line.split(marker).next().filter(|_| line.contains(marker));
    before.and_then(|s| s.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no number before {marker:?}: {line}"))
}

/// A loop in code the program mapped itself, where the kernel puts mmaps,
/// whose check sites have a guard on the jump's top byte: a branch there
/// traps only with a check page 96 MiB or more away. Replay kept that
/// whole area free (the next 2 GiB of mmaps), so each check took hardware
/// breakpoints on its guards instead, which made the loop about twice as
/// slow in replay (2.6 s against 1.2 s for this program). Only the calls
/// the task makes before its point can map memory while a check is in
/// place, and this loop makes none: every check now has trapping bytes.
#[test]
fn checks_in_a_loop_below_the_libraries_need_no_hardware_breakpoints() {
    let r = case(argv![program("mapped_loop")]).opts(&["--stats"]).timeout(SPIN_TIMEOUT).replays(1).run();
    assert_eq!(r.stdout(), "counted\n");
    let kinds = field(&stderr_str(&r.record), "scribe: points in user code:");
    let loops = number_before(&kinds, " loop preemptions");
    assert!(loops >= 2, "the counting thread should be preempted in its loop: {kinds}");
    let found = field(&stderr_str(&replay_with(&["--stats"], &r.trace)), "scribe: replayed");
    assert!(number_before(&found, " in-task checks") >= 2, "{found}");
    assert_eq!(number_before(&found, " checks guarded by hardware breakpoints"), 0, "{found}");
}

/// A loop whose r9 points into Scribe's stub page: a point's state holds
/// the bytes behind each register, the recording's stub there and replay's
/// own in replay, so replay never found such a point ("no task can reach
/// the next recorded event"). A python3 multiprocessing worker hit it
/// about once in twenty runs, killed while ld.so had r9 there. Replay now
/// reads that page as the recording had it.
#[test]
fn a_register_pointing_into_scribes_stub_page_does_not_hide_a_point() {
    let r = case(argv![program("stub_pointer")]).opts(&["--stats"]).timeout(SPIN_TIMEOUT).replays(1).run();
    assert_eq!(r.stdout(), "counted\n");
    let kinds = field(&stderr_str(&r.record), "scribe: points in user code:");
    assert!(number_before(&kinds, " loop preemptions") >= 2, "the counting thread should be preempted in its loop: {kinds}");
}

/// A thread whose loop keeps its count only in its frame, 4 KiB above the
/// function it calls over and over: each call of that function looks the
/// same in its registers, its first KiB of stack and the memory they point
/// to, so replay stopped the thread at the first call's pass of each point
/// and the main thread, reading the count there, printed 1, 2, 2, 3...
/// where the recording had printed thousands ("a buffered syscall differs
/// from the recording"). A JVM's interpreted loop does this (its compiler
/// policy is entered with the same registers every thousand passes): a
/// thread pool's bookmark had another memory digest in replay. A point now
/// carries a digest of the stack above it, and replay passes over the
/// passes that differ there.
#[test]
fn a_loop_counting_deep_in_its_stack_is_preempted_at_the_recorded_pass() {
    let r = case(argv![program("deep_progress"), "12"]).opts(&["--chaos", "--stats"]).timeout(SPIN_TIMEOUT).replays(1).run();
    let counts: Vec<u64> = r.stdout().lines().map(|l| l.parse().expect("a count per line")).collect();
    assert_eq!(counts.len(), 12, "{}", r.stdout());
    assert!(counts.windows(2).all(|w| w[0] <= w[1]) && counts[11] > 12, "counts should grow with the worker's calls: {counts:?}");
    let kinds = field(&stderr_str(&r.record), "scribe: points in user code:");
    assert!(number_before(&kinds, " loop preemptions") >= 5, "the worker should be preempted in its loop: {kinds}");
    let found = field(&stderr_str(&replay_with(&["--stats"], &r.trace)), "scribe: replayed");
    assert!(number_before(&found, " passes alike but for their deeper stack") > 0, "{found}");
}

/// Two threads printing 2,000 lines each: a write to the terminal keeps
/// its token, so a printing thread whose slice is over lets the other run
/// at its next write. Before, only a SIGSTOP could preempt it, which found
/// it in the library nearly every time: recording this took 4 to 81 s,
/// now well under one (the timeout catches only the worst of the old runs).
#[test]
fn threads_printing_to_stdout_take_turns() {
    let r = case(argv![program("two_printers"), "2000"]).timeout(SPIN_TIMEOUT).replays(1).run();
    let out = r.stdout();
    for id in 0..2 {
        let mine: Vec<&str> = out.lines().filter(|l| l.starts_with(&format!("T{id} "))).collect();
        assert_eq!(mine.len(), 2000, "thread {id}");
        assert!(mine.iter().enumerate().all(|(i, l)| *l == format!("T{id} {i}")), "thread {id}'s lines out of order");
    }
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// A recording in which one pid names two processes, one after the other
/// (the kernel's pid counter wrapping in a long run; here the program sets
/// it back itself, as root), replays: a child killed by a signal and the
/// next one with its pid are told apart. The recording runs in a pid
/// namespace of its own, so that setting the counter back gives no other
/// test's process a pid used a moment before.
#[test]
fn a_pid_used_twice_in_one_recording_replays() {
    let Some((rec, trace, _dir)) = record_in_pid_namespace(None, &[&program("pid_reuse"), Path::new("4")]) else { return };
    let out = stdout_str(&rec);
    assert!(out.starts_with("child 0 pid known\nreaped child 0: killed by signal 15\nchild 1 pid known\nreaped child 1: status 11\n"), "{out}");
    assert!(out.ends_with("pids repeated: yes\n"), "as root in its own namespace, the program sets the counter back: {out}");
    for _ in 0..2 {
        assert_same_run(&rec, &replay(&trace), "replay of pid_reuse");
    }
}

/// A thread of one process and, later, a child of another process, in
/// domains of their own that never meet, have one id (the counter set back
/// in between): replay runs the second process ahead of the first, whose
/// long computation comes before its thread, and its fork waits until the
/// thread has ended, where it once diverged (events of the thread were
/// taken for the child's).
#[test]
fn a_thread_id_taken_again_by_another_domains_child_replays() {
    let Some((rec, trace, _dir)) = record_in_pid_namespace(None, &[&program("tid_reuse")]) else { return };
    let out = stdout_str(&rec);
    let thread = field(&out, "a's thread id");
    assert_eq!(field(&out, "b's child id"), thread, "the child did not take the thread's id: {out}");
    assert!(out.ends_with("a exited 0, b exited 0\n"), "{out}");
    for _ in 0..2 {
        let rep = replay_with(&["--stats"], &trace);
        assert_same_run(&rec, &rep, "replay of tid_reuse");
        assert!(stderr_str(&rep).contains("; 1 had an id an earlier one of the recording had"), "{}", stderr_str(&rep));
    }
}

/// Pids wrap around (the namespace's pid_max set low: past 340, ids 300 to
/// 340 go round) after a shell's background pipelines, while python's
/// threads, of one domain, take the ids of processes of other domains
/// whose replay may lag behind, as in a long build: every recorded id used
/// again replays. Before replay told a task from an earlier one with its
/// id, each of 8 such recordings diverged.
#[test]
fn pids_that_wrap_around_under_a_shell_and_python_threads_replay() {
    let script = "for i in $(seq 40); do (seq 100 | sort | head -1 > /dev/null) & (echo x | cat > /dev/null) & done; wait
python3 -c '
import threading
def spawn():
    for i in range(3):
        threading.Thread(target=lambda: None).start()
threads = [threading.Thread(target=spawn) for i in range(20)]
for t in threads: t.start()
for t in threads: t.join()
print(\"done\")'";
    let Some((rec, trace, _dir)) = record_in_pid_namespace(Some(340), &[Path::new("sh"), Path::new("-c"), Path::new(script)]) else { return };
    assert_eq!(stdout_str(&rec), "done\n");
    let rep = replay_with(&["--stats"], &trace);
    assert_same_run(&rec, &rep, "replay of the wrapping pids");
    let stats = stderr_str(&rep);
    let reused: u64 = stats
        .lines()
        .find_map(|l| l.split_once("; ")?.1.strip_suffix(" had an id an earlier one of the recording had"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of reused ids in: {stats}"));
    assert!(reused >= 30, "280 processes, then 80 threads with 41 ids to go round past the first 340: {stats}");
}

/// Records `argv` in a pid namespace of its own (as root), where setting
/// the pid counter back gives no other test's process a pid used a moment
/// before, with the namespace's `pid_max` if given (a kernel of 6.14 or
/// later); `None` (the test skipped) where there is no such namespace.
fn record_in_pid_namespace(pid_max: Option<u32>, argv: &[&Path]) -> Option<(Output, PathBuf, tempfile::TempDir)> {
    /// The exit status of the setup when pid_max cannot be set.
    const NO_PID_MAX: i32 = 77;
    let Some(unshare) = find_exe("unshare") else {
        eprintln!("skipped: no unshare");
        return None;
    };
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let mut cmd = Command::new(unshare);
    cmd.args(["--pid", "--fork", "--mount-proc"]);
    if let Some(max) = pid_max {
        let setup = format!("echo {max} > /proc/sys/kernel/pid_max 2>/dev/null || exit {NO_PID_MAX}; exec \"$@\"");
        cmd.args(["sh", "-c", &setup, "sh"]);
    }
    cmd.args([SCRIBE, "record", "-o"]).arg(&trace).arg("--").args(argv);
    let rec = run(cmd, None);
    if !rec.status.success() && stderr_str(&rec).contains("unshare") {
        eprintln!("skipped: no pid namespace here: {}", stderr_str(&rec));
        return None;
    }
    if rec.status.code() == Some(NO_PID_MAX) {
        eprintln!("skipped: this kernel has no pid_max per pid namespace");
        return None;
    }
    assert!(rec.status.success(), "{}", show(&rec));
    Some((rec, trace, dir))
}

/// Checks fork_wait's output: five children, each printed and reaped once
/// with status 10 + its index.
fn check_fork_wait(out: &str) {
    assert!(out.starts_with("parent: forking 5 children\n"), "{out}");
    let mut printed = BTreeSet::new();
    let mut reaped = BTreeSet::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("child ") {
            let idx: u32 = rest.split(':').next().unwrap().parse().unwrap();
            assert!(printed.insert(idx), "child {idx} printed twice:\n{out}");
        }
        if let Some(rest) = line.strip_prefix("reaped child ") {
            let (idx, status) = rest.split_once(": ").unwrap();
            let idx: u32 = idx.parse().unwrap();
            assert_eq!(
                status,
                format!("exited=1 status={}", 10 + idx),
                "{line}\n{out}"
            );
            assert!(
                printed.contains(&idx),
                "child {idx} reaped before it printed:\n{out}"
            );
            assert!(reaped.insert(idx), "child {idx} reaped twice:\n{out}");
        }
    }
    let all: BTreeSet<u32> = (0..5).collect();
    assert_eq!(printed, all, "{out}");
    assert_eq!(reaped, all, "{out}");
    assert!(out.ends_with("no more children: yes\nbad: 0\n"), "{out}");
}

#[test]
fn fork_wait_replays_completion_order() {
    let r = case(argv![program("fork_wait")])
        .replays(RACY_REPLAYS)
        .run();
    check_fork_wait(&r.stdout());
}

#[test]
fn pipeline_child_writes_through_pipe() {
    let r = case(argv![program("pipeline")]).run();
    let data: Vec<u8> = (0..102_400u64).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(
        r.stdout(),
        format!(
            "length: 102400\nchecksum: {:016x}\nchild status: 0\n",
            fnv1a(&data)
        )
    );
}

#[test]
fn shared_anon_mapping_seen_by_parent() {
    let r = case(argv![program("shared_anon")]).run();
    let out = r.stdout();
    assert_eq!(r.field("magic:"), "5c51be", "{out}");
    let sum: u64 = (0..100_000u64).map(|i| i * i).sum();
    assert_eq!(num::<u64>(&r, "sum:"), sum, "{out}");
    assert_eq!(r.field("child pid matches fork:"), "yes", "{out}");
    assert!(num::<u64>(&r, "child clock:") > 0, "{out}");
    assert_eq!(r.field("child status:"), "0", "{out}");
}

/// Checks the counter `shared_file` prints: 50 rounds in which the parent
/// triples it and the child adds the round, each seen by the other.
fn assert_shared_file_rounds(r: &Recorded) {
    let (mut counter, mut seen) = (1000u64, 0u64);
    for round in 0..50u64 {
        counter = counter.wrapping_mul(3).wrapping_add(round);
        seen = seen.wrapping_mul(31).wrapping_add(counter);
    }
    assert_eq!(num::<u64>(r, "counter:"), counter, "{}", r.stdout());
    assert_eq!(num::<u64>(r, "seen:"), seen, "{}", r.stdout());
}

#[test]
fn shared_file_mapping_stays_shared_after_fork() {
    // Parent and child hand a counter back and forth through semaphores in
    // a MAP_SHARED file mapping. Replay used to make every file mapping
    // private, so the child's posts never reached the parent.
    let r = case(argv![program("shared_file"), "shared_file.bin"]).replays(2).run();
    assert_shared_file_rounds(&r);
    let out = r.stdout();
    assert_eq!(r.field("child pid matches fork:"), "yes", "{out}");
    assert_eq!(r.field("child status:"), "0", "{out}");
}

#[test]
fn processes_that_map_one_file_by_name_share_it_in_replay() {
    // Parent and child each map the file after the fork: they start in
    // memory domains of their own, which the second mapping joins.
    // Replay maps one memory file for both; before, each process got
    // private pages and the child's posts never reached the parent.
    let r = case(argv![program("shared_file"), "shared_file.bin", "late"]).replays(3).run();
    assert_shared_file_rounds(&r);
    let out = r.stdout();
    assert_eq!(r.field("child status:"), "0", "{out}");
    let joins = profiler(&r.trace, &["-k", "join"]);
    assert_eq!(joins.lines().filter(|l| l.contains("joins the memory domain")).count(), 1, "{joins}");
    let stats = replay_with(&["--stats"], &r.trace);
    assert!(stderr_str(&stats).contains("2 mappings of shared files"), "{}", stderr_str(&stats));
}

/// A file mapped shared, read-only, and changed only with write calls (as
/// LMDB and bbolt do): the mapping shows each write. Replay emulates the
/// writes, so the mapping showed none of them (the program read zeros);
/// now replay makes them on the memory file that stands for the file, with
/// the bytes the program passed, buffered or traced. A child's write
/// reaches the parent's mapping before the parent's wait4 returns, as it
/// did when recorded (replay let the wait return first).
#[test]
fn writes_to_a_file_reach_its_shared_mapping_in_replay() {
    let expect = |r: &Recorded| {
        let out = r.stdout();
        assert_eq!(r.field("after pwrite:").split(" sum").next(), Some("record 1 of the log;"), "{out}");
        assert_eq!(r.field("after write:"), "written at the offset and right after it", "{out}");
        assert_eq!(r.field("after writev:"), "gathered from two buffers", "{out}");
        assert!(r.field("after the thread:").starts_with("the thread's bytes sum "), "{out}");
        assert!(r.field("after the child:").starts_with("the child's bytes sum "), "{out}");
    };
    expect(&case(argv![program("write_mapped"), "mapped.bin"]).replays(2).run());
    expect(&case(argv![program("write_mapped"), "mapped.bin"]).opts(&["--no-syscall-buffer"]).run());
}

#[test]
fn an_exec_while_threads_are_blocked_in_the_kernel_replays() {
    // The kernel completes such an exec only after the other threads have
    // exited, which needs the tracer to let them go: replay waited for the
    // exec alone and hung (cargo build, which execs from a threaded process).
    let r = case(argv![program("exec_threads"), "echo", "exec done"]).replays(3).run();
    assert_eq!(r.stdout(), "threads started: 4\nexec done\n");
}

#[test]
fn a_task_waiting_for_a_far_event_runs_on_before_its_siblings() {
    // Replay parks a task whose next event is far ahead in the trace. It
    // used to park it before the user code it runs after its syscall, and
    // a sibling whose event came first read the variable that code sets
    // before it was set (zstd -T2 | zstd -d diverged this way).
    // Without the syscall buffer every call is an event: the child's
    // 20,000 getppid calls put both threads' next events far ahead of the
    // main thread's sleep, and the sibling's comes first.
    let r = case(argv![program("park_order")]).opts(&["--no-syscall-buffer"]).replays(3).run();
    assert_eq!(r.stdout(), "shared: 42\nchild status: 0\n");
}

#[test]
fn threads_blocked_in_the_kernel_at_a_group_exit_replay() {
    // The recorder writes the calls the exit interrupted just before each
    // thread's exit; replay used to wait for them forever, or resume a
    // thread the exit had already killed ("task is gone").
    let r = case(argv![program("exit_blocked")]).status(7).replays(5).run();
    assert_eq!(r.field("threads started:"), "9", "{}", r.stdout());
    let trace = profiler(&r.trace, &["-k", "exit"]);
    assert_eq!(trace.lines().filter(|l| l.contains("exit 7")).count(), 10, "{trace}");
}

#[test]
fn a_group_exit_from_a_thread_replays_while_the_others_make_calls() {
    // Replay has the other threads at syscall stops when the exit runs;
    // the kernel kills them after the exiting thread is gone, and replay
    // used to call itself stuck when it looked before their ends came (a
    // Go program, whose main goroutine exits from any thread, failed 2 of
    // 4 replays of one trace).
    let r = case(argv![program("exit_from_thread")]).status(3).replays(10).run();
    assert_eq!(r.stdout(), "ending after calls\n");
}

#[test]
fn timeout_under_xargs_records_and_replays() {
    // timeout(1) waits with sigsuspend and wait4 while its SIGALRM,
    // SIGTERM, SIGCONT and SIGCHLD arrive. A signal the recorder held was
    // injected at a wait4 while the program blocked it: the kernel neither
    // delivered it nor restarted the call, and timeout printed "error
    // waiting for command: Unknown error 513" (2 of 6 recordings). Replay
    // lost the recorded signal of a masked wait when a real SIGCHLD came
    // first (4 of 8 replays).
    let cmd = argv!["/bin/sh", "-c", "seq 1 8 | xargs -P2 -I{} timeout 0.05 sleep 1; echo \"xargs: $?\""];
    for _ in 0..4 {
        let dir = tmpdir();
        let trace = dir.path().join("t.scribe");
        let rec = record(&trace, &cmd, None);
        assert_eq!((status_code(rec.status), stdout_str(&rec), stderr_str(&rec)), (0, "xargs: 123\n".to_string(), String::new()));
        let rep = replay(&trace);
        assert_same_run(&rec, &rep, "timeout under xargs");
    }
}

#[test]
fn children_killed_by_their_parent_replay() {
    // SIGKILL has no delivery stop: replay kills the child itself once it
    // has replayed what it did before. It used to kill only a child waiting
    // at a syscall (one that computed ran forever), to kill it as soon as
    // its exit came into view (before the events of an exec'd sleep), to
    // stop at a time-stamp read the child reached after its recorded death,
    // and to miss a signal at a syscall exit behind the call a spawned
    // sleep died in. The recorder gave up when a task was killed while it
    // handled its stop ("task N is gone").
    let r = case(argv![program("kill_children"), "4"]).replays(3).run();
    assert_eq!(r.stdout(), "computing: 4\ncalling: 4\nexec'd: 4\nspawned: 4\n");
    let trace = profiler(&r.trace, &["-k", "exit"]);
    assert_eq!(trace.lines().filter(|l| l.contains("killed by SIGKILL")).count(), 16, "{trace}");
}

#[test]
fn profiler_separates_fork_wait_tasks() {
    let dir = tmpdir();
    let trace = dir.path().join("fork_wait.scribe");
    let rec = record_for(
        &trace,
        &[],
        &argv![program("fork_wait")],
        None,
        CASE_TIMEOUT,
    );
    assert_no_panic(&rec, "record fork_wait");
    assert!(rec.status.success(), "{}", show(&rec));
    check_fork_wait(&stdout_str(&rec));

    let all = profiler(&trace, &[]);
    let lines = syscall_lines(&all);
    let tids: BTreeSet<i32> = lines.iter().map(|(tid, _, _)| *tid).collect();
    assert!(
        tids.len() >= 2,
        "expected syscalls of at least 2 tasks, got {tids:?} in:\n{all}"
    );
    // The parent is the first task; its first fork returns a child's tid.
    let parent = lines[0].0;
    let child: i32 = lines
        .iter()
        .find(|(tid, name, _)| *tid == parent && (name == "clone" || name == "fork"))
        .and_then(|(_, _, line)| line.rsplit_once(" = ")?.1.trim().parse().ok())
        .unwrap_or_else(|| panic!("no fork/clone of task {parent} with a tid result in:\n{all}"));
    assert_ne!(child, parent);
    assert!(
        tids.contains(&child),
        "no syscall of child {child} in:\n{all}"
    );

    let tagged = |text: &str, tid: i32| -> Vec<String> {
        let tag = format!("[{tid}]");
        text.lines()
            .filter(|l| l.starts_with(&tag))
            .map(str::to_string)
            .collect()
    };
    let filtered = profiler(&trace, &["-p", &child.to_string()]);
    let event_lines: Vec<&str> = filtered.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        !event_lines.is_empty(),
        "-p {child} printed no events:\n{filtered}"
    );
    for line in &event_lines {
        assert!(
            line.starts_with(&format!("[{child}]")),
            "-p {child} printed another task's event: {line}\n{filtered}"
        );
    }
    // Exactly the child's events of the full listing, in the same order.
    assert_eq!(tagged(&filtered, child), tagged(&all, child));
    assert!(
        syscall_lines(&filtered)
            .iter()
            .any(|(_, name, line)| name == "exit_group" && line.contains("exit_group(10)")),
        "the first child's exit_group(10) is missing:\n{filtered}"
    );
    assert!(tagged(&filtered, parent).is_empty(), "{filtered}");
}

// ---------------------------------------------------------------------------
// Real programs
// ---------------------------------------------------------------------------

#[test]
fn shell_pipeline_seq_sort_head() {
    let sh = system_exe("sh");
    for tool in ["seq", "sort", "head"] {
        if find_exe(tool).is_none() {
            eprintln!("skipping: {tool} not found");
            return;
        }
    }
    let cmd = argv![sh, "-c", "seq 100000 | sort -r | head"];
    let native = run_native(&cmd, None);
    assert!(native.status.success(), "{}", show(&native));
    // `sort -r` compares text, not numbers: "99999" comes before "100000".
    let mut lines: Vec<String> = (1..=100_000).map(|n: u32| n.to_string()).collect();
    lines.sort_unstable_by(|a, b| b.cmp(a));
    let expected: String = lines[..10].iter().map(|l| format!("{l}\n")).collect();
    assert!(expected.starts_with("99999\n99998\n"), "{expected}");
    assert_eq!(stdout_str(&native), expected);
    let r = case(cmd).replays(RACY_REPLAYS).run();
    assert_eq!(r.stdout(), expected);
}

/// Every read, write and close on a pipe carries the pipe's serial: per
/// pipe the serials are 1, 2, 3... with none missing, and replay waits for
/// them: a trace whose serials leave a gap cannot be replayed past it.
#[test]
fn pipe_operations_carry_serials_that_replay_waits_for() {
    let dir = tmpdir();
    let trace = dir.path().join("pipes.scribe");
    let cmd = argv![system_exe("sh"), "-c", "seq 20000 | sort -r | head -3"];
    let rec = record_with(&trace, &[], &cmd, None);
    assert!(rec.status.success(), "{}", show(&rec));
    let profile = profiler(&trace, &[]);
    let mut serials: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut previous = "";
    let mut ops = BTreeSet::new();
    for line in profile.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("resource lock, type = pipe, id = ") {
            let (id, serial) = rest.split_once(", serial = ").expect("id and serial");
            serials.entry(id.to_string()).or_default().push(serial.parse().unwrap());
            let call = previous.split(']').nth(1).unwrap_or("").trim_start();
            ops.insert(call.split('(').next().unwrap_or("").to_string());
        } else if line.starts_with('[') {
            previous = line;
        }
    }
    // Two pipes in `seq | sort | head`, and the test's own stdout and
    // stderr are pipes too.
    assert!(serials.len() >= 2, "{serials:?}");
    for (id, list) in &serials {
        let mut sorted = list.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=list.len() as u64).collect::<Vec<_>>(), "pipe {id}");
    }
    for op in ["read", "write", "close"] {
        assert!(ops.contains(op), "no {op} with a pipe serial: {ops:?}");
    }
    // Reads and writes that did not have to wait go through the syscall
    // buffer, serials included.
    let buffered_with_serial = profile
        .lines()
        .zip(profile.lines().skip(1))
        .filter(|(call, next)| call.ends_with("(buffered)") && next.contains("resource lock, type = pipe"))
        .count();
    assert!(buffered_with_serial > 0, "no buffered pipe call with a serial");
    let rep = replay_with(&[], &trace);
    assert_same_run(&rec, &rep, "replay");

    // Move one pipe operation made at a stop (not its first) far ahead:
    // nothing can reach it.
    let gap = dir.path().join("gap.scribe");
    let moved = move_serial_far_ahead(&trace, &gap, |r, after_stop| {
        r.kind == scribe_trace::resource_kind::PIPE && r.serial >= 2 && after_stop
    });
    assert!(moved, "no pipe operation made at a stop");
    assert_gap_stops_replay(&gap, "a pipe's serials");
}

/// Copies `trace` to `out`, giving the first resource serial `pick` accepts
/// (with whether it follows a stopped syscall) the serial 1000, which no
/// operation can reach. Returns whether one was picked.
fn move_serial_far_ahead(
    trace: &std::path::Path,
    out: &std::path::Path,
    mut pick: impl FnMut(&scribe_trace::ResourceRecord, bool) -> bool,
) -> bool {
    use scribe_trace::{Event, TraceReader, TraceWriter};
    let mut reader = TraceReader::open(trace).unwrap();
    let mut writer = TraceWriter::create(out, &reader.header().clone()).unwrap();
    let mut after_stop = false;
    let mut moved = false;
    for item in reader.by_ref() {
        let mut event = item.unwrap().event;
        if let Event::Resource(r) = &mut event {
            if !moved && pick(r, after_stop) {
                r.serial = 1000;
                moved = true;
            }
        }
        after_stop = matches!(event, Event::Syscall(_)) || (after_stop && matches!(event, Event::Resource(_)));
        writer.push(&event).unwrap();
    }
    writer.finish().unwrap();
    moved
}

/// Replay of a trace from [`move_serial_far_ahead`] fails cleanly: no task
/// can reach the moved serial.
fn assert_gap_stops_replay(gap: &std::path::Path, what: &str) {
    let out = replay_for(gap, CASE_TIMEOUT);
    assert_no_panic(&out, &format!("replay of a trace with a gap in {what}"));
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr_str(&out).contains("no task can reach the next recorded event"), "{}", show(&out));
}

#[test]
fn make_j2_builds_small_project() {
    small_make_build("-j2", "-O0", &[]);
}

/// `make -j4` with short random slices: the compilers, vfork children of
/// make at first, are preempted inside malloc. Replay's in-task checks for
/// those points used to take pages where the program's memory later grew
/// (the next mmap, the brk heap), and every such recording hung in replay.
#[test]
fn make_j4_with_chaos_replays() {
    small_make_build("-j4", "-O2", &["--chaos"]);
}

/// A child that a process starts with posix_spawn (a vfork) shares its
/// parent's memory only until its exec; from there, if its parent has
/// another child alive, it gets a memory domain of its own, so two such
/// children compute in parallel (make's compilers): here the second child
/// (the first is alive until the parent closes their stdin). With a second
/// thread in the parent, which makes buffered calls while the children
/// start, the move must come in the parent domain's order (the thread's
/// calls replayed at other stops when it did not). Both replay.
#[test]
fn spawned_children_leave_their_parents_domain_at_exec() {
    for (mode, leaves) in [("single", 1), ("threaded", 1)] {
        let r = case(argv![program("spawn_pair"), mode]).replays(2).run();
        assert_eq!(r.field("children ok:"), "2", "{mode}");
        for n in [1u64, 2] {
            let sum: u64 = (0..n * 1_000_000).map(|i| i % 7).sum();
            assert_eq!(r.field(&format!("child {n}:")), sum.to_string(), "{mode}");
        }
        let text = profiler(&r.trace, &[]);
        let left = text.lines().filter(|l| l.contains("leaves its vfork parent's memory domain")).count();
        assert_eq!(left, leaves, "{mode}: {left} children left their parent's domain");
        assert_files_described_before_use(&r.trace);
    }
}

/// Every file an exec or a mapping names is described earlier in the trace
/// (the two children map the same files from domains of their own, and a
/// description used to wait for its task's grant).
fn assert_files_described_before_use(trace: &std::path::Path) {
    use scribe_trace::{Event, TraceReader};
    let mut described = BTreeSet::new();
    for item in TraceReader::open(trace).unwrap() {
        let p = item.unwrap();
        let used: Vec<u32> = match &p.event {
            Event::File(f) => {
                described.insert(f.id);
                continue;
            }
            Event::Exec(e) => e.mapped_files.clone(),
            Event::MapFile(m) => m.file_id.into_iter().collect(),
            _ => continue,
        };
        for id in used {
            assert!(described.contains(&id), "file #{id} is used at event {} before it is described", p.index);
        }
    }
}

/// Records and replays `make JOBS` of a five-file project compiled with
/// `cflags`, and checks the build's output.
fn small_make_build(jobs: &str, cflags: &str, opts: &[&str]) {
    let (Some(make), Some(gcc)) = (find_exe("make"), find_exe("gcc")) else {
        eprintln!("skipping: make or gcc not found");
        return;
    };
    let dir = tmpdir();
    let proj = dir.path();
    let mut objs = Vec::new();
    let mut main = String::from("#include <stdio.h>\n");
    for i in 1..=5 {
        fs::write(
            proj.join(format!("f{i}.c")),
            format!("int f{i}(int x) {{ return x * {i} + {}; }}\n", i * i),
        )
        .unwrap();
        main.push_str(&format!("int f{i}(int);\n"));
        objs.push(format!("f{i}.o"));
    }
    main.push_str(
        "int main(void) {\n    int s = 0;\n    s += f1(1); s += f2(2); s += f3(3); \
         s += f4(4); s += f5(5);\n    printf(\"prog says %d\\n\", s);\n    return 0;\n}\n",
    );
    fs::write(proj.join("main.c"), main).unwrap();
    objs.push("main.o".to_string());
    fs::write(
        proj.join("Makefile"),
        format!(
            "CC = {gcc}\nOBJS = {objs}\n\n\
             all: prog\n\t./prog\n\n\
             prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n\
             %.o: %.c\n\t$(CC) {cflags} -c -o $@ $<\n\n\
             .PHONY: all\n",
            gcc = gcc.display(),
            objs = objs.join(" ")
        ),
    )
    .unwrap();

    // The jobserver of an enclosing make must not leak into the recording.
    let env = system_exe("env");
    let cmd = argv![env, "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL", make, jobs, "-C", proj];
    let r = case(cmd).in_dir(proj).opts(opts).run();
    let out = r.stdout();
    for o in &objs {
        let c = o.replace(".o", ".c");
        assert!(
            out.lines()
                .any(|l| l.contains(" -c -o ") && l.ends_with(&format!(" {o} {c}"))),
            "no compile line for {c}:\n{out}"
        );
    }
    assert!(
        out.lines().any(|l| l.contains(" -o prog ")),
        "no link line:\n{out}"
    );
    let s: i32 = (1..=5).map(|i| i * i + i * i).sum();
    assert!(
        out.contains(&format!("prog says {s}\n")),
        "prog's output is missing:\n{out}"
    );
    assert!(proj.join("prog").is_file());
    assert_files_described_before_use(&r.trace);
}

#[test]
fn cargo_build_replays() {
    // cargo runs rustc from a process with threads (its jobserver helper),
    // and rustc is multi-threaded: a real Rust build, recorded and replayed.
    let Some(cargo) = find_exe("cargo") else {
        eprintln!("skipping: cargo not found");
        return;
    };
    let dir = tmpdir();
    let proj = dir.path();
    fs::create_dir_all(proj.join("src")).unwrap();
    fs::write(proj.join("Cargo.toml"), "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n").unwrap();
    fs::write(
        proj.join("src/main.rs"),
        "fn main() {\n    let t = std::thread::spawn(|| (1..=100u64).sum::<u64>());\n    println!(\"sum {}\", t.join().unwrap());\n}\n",
    )
    .unwrap();
    let env = system_exe("env");
    let script = format!("{} build --offline -q -j2 && ./target/debug/hello", cargo.display());
    let cmd = argv![env, "-u", "CARGO_TARGET_DIR", "-u", "CARGO_BUILD_TARGET_DIR", "-u", "MAKEFLAGS", "sh", "-c", script];
    let r = case(cmd).in_dir(proj).timeout(Duration::from_secs(120)).run();
    assert_eq!(r.stdout(), "sum 5050\n");
    assert!(proj.join("target/debug/hello").is_file());
}

/// Two exec'd children map a file the parent maps shared, so each joins
/// the parent's memory domain, while the parent waits in waitpid and its
/// thread on a pipe: the parent's domain has nothing in replay's window
/// of events. The join waited for that domain to have replayed what came
/// before it, which a domain with nothing in the window always has: every
/// replay stopped with "no task can reach the next recorded event" (found
/// with python3 multiprocessing's spawn start method, whose workers map
/// its semaphores).
#[test]
fn a_join_with_a_domain_idle_in_the_window_replays() {
    let r = case(argv![program("shm_join"), "10000"]).replays(2).run();
    assert_eq!(r.field("counter:"), "43", "{}", r.stdout());
    assert_eq!(r.field("failed children:"), "0");
    let joins = profiler(&r.trace, &[]).lines().filter(|l| l.contains("joins the memory domain of task")).count();
    assert_eq!(joins, 2, "both children join the parent's domain");
}

/// xz compressing with two threads (1 MiB blocks, so both work): real
/// contention between worker threads that mostly compute, so the slices
/// end inside its loops and replay finds those points. The output
/// decompresses to the input, recorded and replayed. (A point at the end
/// of a memcmp once guarded the next function's entry, hit at every call:
/// 41,000 traps and a replay 2.4 times as long as the recording.)
#[test]
fn xz_with_two_threads_replays() {
    let Some(xz) = find_exe("xz") else {
        eprintln!("note: xz not installed, test skipped");
        return;
    };
    let dir = tmpdir();
    let input = dir.path().join("input.txt");
    let mut text = String::new();
    let mut x: u64 = 7;
    while text.len() < 6 << 20 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        text.push_str(["alpha ", "beta ", "gamma ", "delta\n", "epsilon "][(x >> 60) as usize % 5]);
        text.push_str(&format!("{} ", (x >> 40) % 1000));
    }
    fs::write(&input, &text).expect("write input");
    let script = format!(
        "{xz} -T2 -3 --block-size=1MiB -c {input} | {xz} -dc | cksum",
        xz = xz.display(),
        input = input.display()
    );
    let native = run_native(&argv!["sh", "-c", format!("cksum < {}", input.display())], None);
    let r = case(argv!["sh", "-c", script]).timeout(Duration::from_secs(120)).replays(2).run();
    assert_eq!(r.stdout(), stdout_str(&native), "the round trip changed the data");
}

#[test]
fn python_threads_replay() {
    let Some(python) = find_exe("python3") else {
        eprintln!("skipping: python3 not found");
        return;
    };
    let script = "\
import threading, time
items = []
lock = threading.Lock()
def work(k):
    for i in range(3000):
        with lock:
            items.append(k * 10000 + i)
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print('length:', len(items))
print('sorted ok:', sorted(items) == [k * 10000 + i for k in range(4) for i in range(3000)])
print('order:', hash(tuple(items)))
print('time:', time.time())
";
    let r = case(argv![python, "-c", script])
        .replays(RACY_REPLAYS)
        .run();
    let out = r.stdout();
    assert_eq!(r.field("length:"), "12000", "{out}");
    assert_eq!(r.field("sorted ok:"), "True", "{out}");
    let _: i64 = num(&r, "order:");
    let t: f64 = num(&r, "time:");
    assert!((t - now_secs()).abs() < 300.0, "time {t} is far from now");
}

#[test]
fn python_multiprocessing_replays() {
    // Pool workers meet the parent through semaphores in /dev/shm files:
    // inherited mappings with "fork", and each worker's own mapping by
    // name with "forkserver" and "spawn" (which joins memory domains). Replay used to
    // give each process private pages, and the workers diverged.
    let Some(python) = find_exe("python3") else {
        eprintln!("skipping: python3 not found");
        return;
    };
    let dir = tmpdir();
    let script = dir.path().join("pool.py");
    fs::write(
        &script,
        "\
import multiprocessing as mp, sys
def square(x):
    return x * x
if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    with mp.Pool(2) as pool:
        print('sum:', sum(pool.map(square, range(200))))
    queue = mp.Queue()
    workers = [mp.Process(target=queue.put, args=(k,)) for k in range(3)]
    for w in workers:
        w.start()
    print('got:', sorted(queue.get() for _ in workers))
    for w in workers:
        w.join()
",
    )
    .expect("write the script");
    // "spawn" execs each worker afresh (vfork and exec): its mapping of
    // the semaphores joins the parent's domain too.
    for method in ["fork", "forkserver", "spawn"] {
        let r = case(argv![&python, &script, method]).replays(2).run();
        let out = r.stdout();
        assert_eq!(num::<u64>(&r, "sum:"), (0..200u64).map(|x| x * x).sum::<u64>(), "{method}: {out}");
        assert_eq!(r.field("got:"), "[0, 1, 2]", "{method}: {out}");
    }
}

#[test]
fn rust_threads_mpsc_replay() {
    let Some(bin) = rust_program("rust_threads") else {
        eprintln!("skipping: rustc not found");
        return;
    };
    let r = case(argv![bin]).replays(RACY_REPLAYS).run();
    let out = r.stdout();
    assert_eq!(r.field("received:"), "80000", "{out}");
    let expected: u64 = (0..4u64)
        .map(|p| (0..20_000u64).map(|i| p * 1_000_000 + i).sum::<u64>())
        .sum();
    assert_eq!(num::<u64>(&r, "sum:"), expected, "{out}");
    assert_eq!(num::<u64>(&r, "expected sum:"), expected, "{out}");
    assert_eq!(r.field("order hash:").len(), 16, "{out}");
    assert!(num::<u64>(&r, "producer switches:") >= 1, "{out}");
}

// ---------------------------------------------------------------------------
// Chaos
// ---------------------------------------------------------------------------

/// Records racy_counter 20 times; each replay must reproduce its own
/// recording, and the recordings must not all agree (which needs the
/// recorder to switch threads in the middle of the unsynchronized loops).
#[test]
fn racy_counter_chaos() {
    const RUNS: usize = 20;
    let bin = program("racy_counter");
    let dir = tmpdir();
    let mut totals: BTreeMap<u64, usize> = BTreeMap::new();
    for i in 0..RUNS {
        let trace = dir.path().join(format!("racy{i}.scribe"));
        let cmd = argv![bin, "4", "5000000"];
        let rec = record_for(&trace, &["--chaos"], &cmd, None, CASE_TIMEOUT);
        assert_no_panic(&rec, "record racy_counter");
        assert!(rec.status.success(), "recording {i}\n{}", show(&rec));
        let total: u64 = field(&stdout_str(&rec), "total:").parse().unwrap();
        // At most every increment counts. No lower bound but one holds: a
        // thread preempted between its load and its store erases all its
        // siblings did meanwhile, as often as it happens (a recording once
        // printed 4,391,876, less than one thread's share).
        assert!((1..=20_000_000).contains(&total), "{}", show(&rec));
        let rep = replay_for(&trace, CASE_TIMEOUT);
        assert_same_run(&rec, &rep, &format!("replay of recording {i}"));
        *totals.entry(total).or_default() += 1;
    }
    assert!(
        totals.len() >= 2,
        "all {RUNS} recordings of 4 racing threads printed the same total: {totals:?}"
    );
}

/// A recorded syscall may end with a restart code and no signal: the
/// recorder's own stop interrupted it, the kernel ran it again, and the
/// trace holds both. Replay must restart it too rather than hand the
/// internal code to the program. (Made here by inserting such an event
/// before each wait4 of a fork-and-wait program.)
#[test]
fn a_syscall_restarted_without_a_signal_is_restarted_on_replay() {
    let dir = tmpdir();
    let trace = dir.path().join("t.scribe");
    let rec = record(&trace, &argv![program("fork_wait")], None);
    assert!(rec.status.success(), "{}", show(&rec));
    let edited = dir.path().join("restart.scribe");
    let mut inserted = 0;
    {
        use scribe_trace::{Event, TraceReader, TraceWriter};
        let mut reader = TraceReader::open(&trace).unwrap();
        let mut writer = TraceWriter::create(&edited, &reader.header().clone()).unwrap();
        for item in reader.by_ref() {
            let event = item.unwrap().event;
            if let Event::Syscall(call) = &event {
                if call.nr == 61 {
                    // wait4, interrupted: -ERESTARTSYS, nothing written.
                    let mut interrupted = call.clone();
                    interrupted.result = -512;
                    interrupted.outputs.clear();
                    writer.push(&Event::Syscall(interrupted)).unwrap();
                    inserted += 1;
                }
            }
            writer.push(&event).unwrap();
        }
        writer.finish().unwrap();
    }
    assert!(inserted >= 3, "{inserted} wait4 calls");
    let rep = replay_for(&edited, CASE_TIMEOUT);
    assert_same_run(&rec, &rep, "replay with restarted wait4 calls");
}

/// The serials of every resource (kind, id) in a trace, from the profiler,
/// in trace order.
fn resource_serials(profile: &str) -> BTreeMap<(String, String), Vec<u64>> {
    let mut serials: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for line in profile.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("resource lock, type = ") {
            let (kind, rest) = rest.split_once(", id = ").expect("kind and id");
            let (id, serial) = rest.split_once(", serial = ").expect("id and serial");
            serials.entry((kind.to_string(), id.to_string())).or_default().push(serial.parse().unwrap());
        }
    }
    serials
}

/// Each kind of shared kernel resource a program touches gets serials:
/// per resource they run 1, 2, 3... in trace order (they are taken as the
/// trace is written), and the processes' shared ones (the file's inode, the
/// child's pid, the semaphore, the socket address) are used by both.
/// Replay waits for them: a serial moved far ahead cannot be reached.
#[test]
fn every_kind_of_shared_resource_gets_rendezvous_serials() {
    let dir = tmpdir();
    let r = case(argv![program("resources"), dir.path()]).in_dir(dir.path()).run();
    assert_eq!(r.field("from the socket:"), "child saw 4 bytes and 'shared'");
    let profile = profiler(&r.trace, &[]);
    let serials = resource_serials(&profile);
    let kinds: BTreeSet<&str> = serials.keys().map(|(kind, _)| kind.as_str()).collect();
    for kind in ["futex", "memory map", "files table", "inode", "file", "pid", "ppid", "ipc", "unix address"] {
        assert!(kinds.contains(kind), "no {kind} serial: {kinds:?}");
    }
    for ((kind, id), list) in &serials {
        if kind == "pipe" {
            continue; // taken at each call's exit, not in trace order
        }
        assert_eq!(list, &(1..=list.len() as u64).collect::<Vec<_>>(), "{kind} {id}");
    }
    // The semaphore and the socket address are used by parent and child.
    let users = |kind: &str| -> usize {
        let mut tids = BTreeSet::new();
        let mut last = "";
        for line in profile.lines() {
            if line.starts_with('[') {
                last = line.split(']').next().unwrap_or("");
            } else if line.contains(&format!("resource lock, type = {kind},")) {
                tids.insert(last.to_string());
            }
        }
        tids.len()
    };
    assert!(users("ipc") >= 2 && users("unix address") >= 2, "ipc by {}, unix address by {}", users("ipc"), users("unix address"));
    // The eventfd and the socketpair (one id for both ends) are
    // descriptions that the child writes and the parent reads.
    assert_eq!(r.field("eventfd:"), "3 (8 bytes); socketpair: pair (4 bytes)");
    let mut file_users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut last = "";
    for line in profile.lines() {
        if line.starts_with('[') {
            last = line.split(']').next().unwrap_or("");
        } else if let Some(rest) = line.trim_start().strip_prefix("resource lock, type = file, id = ") {
            let id = rest.split(',').next().unwrap_or("");
            file_users.entry(id.to_string()).or_default().insert(last.to_string());
        }
    }
    let shared = file_users.values().filter(|tids| tids.len() >= 2).count();
    assert!(shared >= 2, "descriptions used by two processes: {file_users:?}");
    // The child renamed and chmodded the file by name: both calls carry the
    // file's inode serial, and the parent's stat of the new name comes after.
    let status = r.field("child status:");
    assert!(status.starts_with("0;") && status.ends_with("mode 600"), "{status}");
    let mut inode_uses: Vec<(String, String, u64)> = Vec::new(); // (call line, id, serial)
    let mut call = "";
    for line in profile.lines() {
        if line.starts_with('[') {
            call = line;
        } else if let Some(rest) = line.trim_start().strip_prefix("resource lock, type = inode, id = ") {
            let (id, serial) = rest.split_once(", serial = ").unwrap();
            inode_uses.push((call.to_string(), id.to_string(), serial.parse().unwrap()));
        }
    }
    let by_call = |name: &str| inode_uses.iter().find(|(c, _, _)| c.contains(name)).unwrap_or_else(|| panic!("no inode serial on {name}: {inode_uses:?}"));
    let (rename_line, file, rename_serial) = by_call("] rename(");
    let (_, chmod_file, chmod_serial) = by_call("] chmod(");
    assert_eq!(chmod_file, file);
    assert!(chmod_serial > rename_serial);
    let child = rename_line.split(']').next().unwrap();
    let parent_stat = inode_uses.iter().find(|(c, id, serial)| id == file && !c.starts_with(child) && serial > chmod_serial);
    assert!(parent_stat.is_some(), "the parent's stat of the moved file has no later serial: {inode_uses:?}");

    // Move the child's semop (its serial on the semaphore) far ahead.
    let gap = dir.path().join("gap.scribe");
    let moved = move_serial_far_ahead(&r.trace, &gap, |res, _| res.kind == scribe_trace::resource_kind::IPC && res.serial >= 2);
    assert!(moved, "no second operation on an IPC object");
    assert_gap_stops_replay(&gap, "a semaphore's serials");
}

/// A signal that kills a process with threads ends them all at once: sent
/// by the parent while the threads wait in pause() or read(), raised by
/// abort(), or raised by a fault in a thread. Replay used to try to resume
/// or to replay the calls of the threads the group exit had killed ("task
/// N is gone").
#[test]
fn processes_with_threads_killed_by_a_signal_replay() {
    let r = Case::new(argv![program("kill_threads"), "3"]).replays(2).run();
    assert_eq!(
        r.stdout(),
        "child 0: signaled 1, signal 15\nchild 1: signaled 1, signal 6\nchild 2: signaled 1, signal 11\n"
    );
}

/// A child spinning in memory shared with its parent holds its domain's
/// token when the parent's kill comes: replay kills it where the
/// recording has it die (it used to wait for its next event, which never
/// came, while the parent waited for the token: a deadlock every time).
#[test]
fn a_child_spinning_in_shared_memory_killed_by_its_parent_replays() {
    let r = Case::new(argv![program("kill_shared_spinner")]).replays(2).run();
    assert_eq!(r.stdout(), "signal 9, counted 1\n");
}

/// A task that stops often is held on the recorder's (and replayer's) CPU,
/// where its stops cost a third, but what it asks of its CPUs, and what its
/// children and threads start with, are all the machine's: the pin is let
/// go before sched_getaffinity, fork and clone. `busy_affinity` stops until
/// /proc/self/status shows it held (which it does not hide), then asks.
#[test]
fn a_task_held_on_one_cpu_while_it_stops_often_sees_all_its_cpus() {
    let native = run_native(&argv![program("busy_affinity")], None);
    if field(&stdout_str(&native), "asked") == "1" {
        eprintln!("skipped: one CPU, nothing to hold a task on");
        return;
    }
    let r = case(argv![program("busy_affinity")]).run();
    assert_eq!(r.stdout(), stdout_str(&native), "{}", show(&r.record));
    assert!(stderr_str(&r.record).contains("held on one cpu: yes"), "never held: {}", show(&r.record));
}

/// A robust mutex whose owner (a thread, then a child process holding one
/// in shared memory, by exit and by a signal) dies holding it gives the next locker EOWNERDEAD in
/// replay too: the kernel marks the lock word by comparing it with the
/// dying thread's id, and in replay the word holds the recorded one, so
/// the replayer marks it.
#[test]
fn a_robust_mutex_whose_owner_died_replays() {
    let r = Case::new(argv![program("robust_mutex")]).replays(2).run();
    let out = r.stdout();
    assert_eq!(r.field("thread:"), "EOWNERDEAD", "{out}");
    assert_eq!(r.field("thread again:"), "Success", "{out}");
    assert_eq!(r.field("process:"), "EOWNERDEAD", "{out}");
    assert_eq!(r.field("process again:"), "Success", "{out}");
    assert_eq!(r.field("killed by"), "9", "{out}");
    assert_eq!(r.field("killed:"), "EOWNERDEAD", "{out}");
}
