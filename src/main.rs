//! `scribe`: record a Linux program, replay it deterministically, print its trace.
//!
//! A thin command-line layer over the `scribe_engine` library.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use scribe_engine::profiler::{self, ProfilerOptions};
use scribe_engine::{EngineError, Recorder, Replayer};

/// Exit status for failures of scribe itself (as opposed to the program's own status).
const SCRIBE_FAILURE: u8 = 125;

#[derive(Parser, Debug)]
#[command(
    name = "scribe",
    version,
    about = "Record a Linux program's execution and replay it deterministically",
    long_about = "Scribe records a program's execution (syscalls, signals, time, randomness, \
                  mapped files) into a trace file, replays that exact execution as often as \
                  needed, and prints the trace for people.\n\n\
                  Typical use:\n  scribe record -o run.log -- ./flaky-test\n  \
                  scribe replay run.log\n  scribe profiler run.log | less"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a program and record its execution into a trace.
    ///
    /// The program's stdin, stdout and stderr pass through unchanged, and
    /// scribe exits with the program's exit status (128+N if killed by signal N).
    ///
    /// Signals to the recorder: SIGUSR1 detaches (the program runs on
    /// unrecorded), SIGUSR2 adds a bookmark, SIGINT is passed on to the
    /// program, SIGTERM/SIGHUP/SIGQUIT kill the program and end the trace
    /// with the reason.
    Record(RecordArgs),
    /// Re-execute a recorded program deterministically from its trace.
    ///
    /// The program prints what it printed when recorded and exits with the same
    /// status; nothing it did to files, pipes or sockets is repeated. If the
    /// execution departs from the recording, replay stops with a report.
    Replay(ReplayArgs),
    /// Print a trace for people: syscalls with results, signals, data.
    Profiler(ProfilerArgs),
    /// Rewrite a trace smaller: recompressed, without the data replay does
    /// not need (syscall inputs, register dumps); it replays identically.
    Shrink(ShrinkArgs),
}

#[derive(Parser, Debug)]
struct ShrinkArgs {
    /// Where to write the smaller trace.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Drop the bookmarks too.
    #[arg(long)]
    remove_bookmarks: bool,
    /// The trace to shrink.
    trace: PathBuf,
}

#[derive(Parser, Debug)]
struct RecordArgs {
    /// Trace file to write (default: `<program name>.log` in the current directory).
    #[arg(short, long, value_name = "TRACE")]
    output: Option<PathBuf>,
    /// Verbosity of the trace: 0 = only what replay needs (fastest); 1 = also
    /// syscall input data (paths, written bytes); 2 = also register checksums
    /// verified on replay; 3 = also a full register dump at every syscall.
    #[arg(short = 'l', long = "log-verbosity", value_name = "LEVEL", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=3))]
    level: u8,
    /// Store the content of every executed and mapped file in the trace, so it
    /// replays on another machine with the same CPU model, or after its
    /// programs were rebuilt or removed (replay runs the recorded copies).
    #[arg(long)]
    portable: bool,
    /// Run the command through /bin/sh -c (the arguments are joined with spaces).
    #[arg(short, long)]
    shell: bool,
    /// Working directory for the program.
    #[arg(short, long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Print a summary (events, trace size, preemptions) to stderr at the end.
    #[arg(long)]
    stats: bool,
    /// Stop recording after SECONDS and let the program run on unrecorded
    /// (SIGUSR1 to the recorder does the same at any time).
    #[arg(long, value_name = "SECONDS")]
    detach_after: Option<f64>,
    /// Add a bookmark every SECONDS (SIGUSR2 to the recorder adds one at any time).
    #[arg(short = 'a', long, value_name = "SECONDS")]
    auto_bookmark: Option<f64>,
    /// Run all tasks one at a time, as one memory domain (by default
    /// processes that share no writable memory run in parallel).
    #[arg(long)]
    serialize: bool,
    /// Do not preload the in-process syscall buffer: every recorded syscall
    /// then stops the program (slower; for comparison and as a fallback).
    #[arg(long)]
    no_syscall_buffer: bool,
    /// Give threads random time slices (0.2 to 20 ms) so that repeated
    /// recordings of a racy program explore different interleavings; use it
    /// to catch a rare failure, then replay the recording that shows it.
    #[arg(long)]
    chaos: bool,
    /// The program to record and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Parser, Debug)]
struct ReplayArgs {
    /// On divergence, show this many of the last replayed events.
    #[arg(short, long = "backtrace", value_name = "LEN", default_value_t = 100)]
    backtrace: usize,
    /// On divergence, show the last events of all tasks, not only the diverging one.
    #[arg(short = 'p', long = "backtrace-all-pids")]
    backtrace_all_pids: bool,
    /// After replay, print the last N replayed events to stderr.
    #[arg(short = 'l', long = "last-events", value_name = "N", default_value_t = 0)]
    last_events: usize,
    /// Print nothing of scribe's own except errors.
    #[arg(short, long)]
    quiet: bool,
    /// Print a summary (events, preemptions, breakpoint hits) to stderr at the end.
    #[arg(long)]
    stats: bool,
    /// Report, with each task's state and last events, a replay that makes no
    /// progress for SECONDS (all tasks waiting on each other) instead of hanging.
    #[arg(short = 'c', long = "check-deadlock", value_name = "SECONDS")]
    check_deadlock: Option<f64>,
    /// Go live at this bookmark: replay stops there and the program continues
    /// as a normal process, its files reopened at their recorded offsets
    /// (SIGUSR1 to the replayer does the same at any time).
    #[arg(short = 'g', long = "golive", value_name = "BOOKMARK")]
    golive: Option<u32>,
    /// Stop when this bookmark (see `profiler -k bookmark`) is reached.
    #[arg(long, value_name = "BOOKMARK")]
    stop_at: Option<u32>,
    /// Give the processes and threads replay makes the ids they had when
    /// recorded (needs root), so that a program that goes live can wait for
    /// and signal the children it was told about. It moves the system's pid
    /// counter back for a moment: run the replay in a pid namespace of its
    /// own (`unshare --pid --fork --mount-proc`) to leave other programs alone.
    #[arg(long)]
    recorded_pids: bool,
    /// The trace to replay.
    trace: PathBuf,
}

#[derive(Parser, Debug)]
struct ProfilerArgs {
    /// Print the raw, unannotated event fields.
    #[arg(short, long)]
    raw: bool,
    /// Only show events of this task id (repeatable).
    #[arg(short, long = "pid", value_name = "TID")]
    pid: Vec<i32>,
    /// Prefix each event with its position (chunk offset, offset in chunk) in the trace.
    #[arg(short = 'o', long = "offset")]
    offset: bool,
    /// Only show these syscalls, by name (repeatable).
    #[arg(long = "syscall", value_name = "NAME")]
    syscall: Vec<String>,
    /// Only show these event kinds (repeatable): syscall (with buffered ones),
    /// buffered (only syscalls made through the in-process buffer), data,
    /// signal, file, exec, mmap, rdtsc, random (rdrand/rdseed), exit, regs, resource, bookmark,
    /// start, preempt, end.
    #[arg(short, long = "kind", value_name = "KIND")]
    kind: Vec<String>,
    /// How many bytes of each data buffer to show.
    #[arg(long = "data-bytes", value_name = "N", default_value_t = 48)]
    data_bytes: usize,
    /// The trace to print.
    trace: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Record(args) => record(args),
        Command::Replay(args) => replay(args),
        Command::Profiler(args) => profile(args),
        Command::Shrink(args) => shrink(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("scribe: error: {err:#}");
            ExitCode::from(SCRIBE_FAILURE)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(cause.downcast_ref::<EngineError>(), Some(EngineError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn status_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(SCRIBE_FAILURE))
}

fn record(args: RecordArgs) -> Result<ExitCode> {
    let mut recorder =
        Recorder::new(args.command).level(args.level).portable(args.portable).shell(args.shell).serialize(args.serialize);
    recorder = recorder.syscall_buffer(!args.no_syscall_buffer).chaos(args.chaos);
    if let Some(out) = args.output {
        recorder = recorder.output(out);
    }
    if let Some(dir) = args.cwd {
        recorder = recorder.cwd(dir);
    }
    if let Some(secs) = args.detach_after {
        recorder = recorder.detach_after(seconds(secs, "--detach-after")?);
    }
    if let Some(secs) = args.auto_bookmark {
        recorder = recorder.auto_bookmark(seconds(secs, "--auto-bookmark")?);
    }
    recorder = recorder.on_notice(|message| eprintln!("scribe: {message}"));
    let trace = recorder.trace_path();
    let outcome = recorder.record().with_context(|| format!("recording into {}", trace.display()))?;
    if args.stats {
        eprintln!(
            "scribe: recorded {} events into {} ({} bytes), {} preemptions, {} syscalls buffered in process",
            outcome.events,
            outcome.trace.display(),
            outcome.bytes,
            outcome.preemptions,
            outcome.buffered
        );
        let p = outcome.points;
        eprintln!(
            "scribe: points in user code: {} spin-wait preemptions, {} loop preemptions, {} at a return address, {} signal deliveries; {} preemptions at a syscall",
            p.spins, p.loops, p.lukewarm, p.signals, p.at_syscalls
        );
        if outcome.stale_traps > 0 {
            eprintln!("scribe: {} traps of Scribe's own steps and breakpoints passed over", outcome.stale_traps);
        }
        if outcome.detached {
            eprintln!(
                "scribe: {} stops passed through after detaching; {} tasks made their syscalls without stops",
                outcome.passed_through, outcome.live_unfiltered
            );
        }
    }
    Ok(status_code(outcome.status.shell_code()))
}

fn seconds(value: f64, flag: &str) -> Result<std::time::Duration> {
    if !value.is_finite() || value <= 0.0 || value > 1e9 {
        anyhow::bail!("{flag} needs a positive number of seconds, got {value}");
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let replayer = Replayer::open(&args.trace).with_context(|| format!("cannot replay {}", args.trace.display()))?;
    if !args.quiet {
        for warning in replayer.machine_warnings() {
            eprintln!("scribe: warning: {warning}");
        }
    }
    let mut replayer = replayer.backtrace(args.backtrace).backtrace_all_tasks(args.backtrace_all_pids).last_events(args.last_events);
    if let Some(id) = args.stop_at {
        replayer = replayer.stop_at(id);
    }
    replayer = replayer.recorded_pids(args.recorded_pids);
    if let Some(id) = args.golive {
        replayer = replayer.golive(id);
    }
    let quiet = args.quiet;
    replayer = replayer.on_notice(move |message| {
        if !quiet {
            eprintln!("scribe: {message}");
        }
    });
    if let Some(secs) = args.check_deadlock {
        replayer = replayer.check_deadlock(seconds(secs, "--check-deadlock")?);
    }
    match replayer.replay() {
        Ok(outcome) => {
            if args.stats {
                eprintln!(
                    "scribe: replayed {} events (at most {} read ahead), {} preemptions and {} signal points found with {} traps and {} in-task checks ({} removed by a guard), {} passes alike but for their deeper stack, {} checks guarded by hardware breakpoints, {} file mappings of files on disk ({} through the descriptor of the one before), {} mappings of shared files",
                    outcome.events,
                    outcome.max_lookahead,
                    outcome.preemptions,
                    outcome.signal_points,
                    outcome.breakpoint_hits,
                    outcome.point_checks,
                    outcome.guard_hits,
                    outcome.stack_told_apart,
                    outcome.hw_guarded_checks,
                    outcome.files_mapped_itself,
                    outcome.files_mapped_through_kept_fd,
                    outcome.shared_file_mappings
                );
                let (made, given) = outcome.recorded_ids;
                eprintln!(
                    "scribe: {given} of the {made} processes and threads replay made have their recorded ids; {} had an id an earlier one of the recording had",
                    outcome.reused_ids
                );
                if matches!(outcome.stopped_at, Some(scribe_engine::Stop::WentLive(_))) {
                    eprintln!(
                        "scribe: {} stops passed through after going live; {} tasks made their syscalls without stops",
                        outcome.passed_through, outcome.live_unfiltered
                    );
                }
            }
            match outcome.stopped_at {
                Some(scribe_engine::Stop::Bookmark(id)) if !args.quiet => {
                    eprintln!("scribe: stopped at bookmark {id} after {} events", outcome.events);
                    print_digests(id, &outcome.stop_digests);
                }
                Some(scribe_engine::Stop::WentLive(Some(id))) if !args.quiet => print_digests(id, &outcome.stop_digests),
                Some(scribe_engine::Stop::Detached) if !args.quiet => {
                    eprintln!("scribe: replay reached the point where the recorder detached; the trace goes no further")
                }
                _ => {}
            }
            if args.stop_at.is_some() && outcome.stopped_at.is_none() {
                eprintln!("scribe: warning: the program ended before reaching bookmark {}", args.stop_at.unwrap_or(0));
            }
            if !outcome.last_events.is_empty() {
                eprintln!("scribe: last {} events replayed:", outcome.last_events.len());
                for line in &outcome.last_events {
                    eprintln!("  {line}");
                }
            }
            Ok(status_code(outcome.status.shell_code()))
        }
        Err(EngineError::Divergence(d)) => {
            print_divergence(&args.trace, &d);
            Ok(ExitCode::from(SCRIBE_FAILURE))
        }
        Err(err) => Err(anyhow::Error::new(err).context(format!("replaying {}", args.trace.display()))),
    }
}

/// Prints the replay's state digests at a bookmark, in the profiler's format.
fn print_digests(id: u32, digests: &[scribe_trace::StateDigest]) {
    for d in digests {
        eprintln!("scribe: bookmark {id} state: {}", scribe_engine::format::state_digest(d));
    }
}

fn print_divergence(trace: &std::path::Path, d: &scribe_engine::Divergence) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "scribe: replay of {} diverged on task {}: {}", trace.display(), d.tid, d.summary);
    let _ = writeln!(err, "  expected, at {}:", d.position);
    for line in d.expected.lines() {
        let _ = writeln!(err, "    {line}");
    }
    let _ = writeln!(err, "  observed:\n    {}", d.observed);
    if !d.registers.is_empty() {
        let _ = writeln!(err, "  registers of task {}:", d.tid);
        for row in d.registers.chunks(4) {
            let cells: Vec<String> = row.iter().map(|(n, v)| format!("{n:>8}={v:#018x}")).collect();
            let _ = writeln!(err, "    {}", cells.join(" "));
        }
    }
    if !d.backtrace.is_empty() {
        // Processes run in parallel, so events later in the trace may have
        // been replayed before the expected one.
        let _ = writeln!(err, "  last {} events replayed, in the order replay took them (other processes may be ahead):", d.backtrace.len());
        for line in &d.backtrace {
            let _ = writeln!(err, "    {line}");
        }
    }
}

fn shrink(args: ShrinkArgs) -> Result<ExitCode> {
    let options = scribe_engine::shrink::ShrinkOptions { remove_bookmarks: args.remove_bookmarks };
    let outcome = scribe_engine::shrink::shrink(&args.trace, &args.output, options)
        .with_context(|| format!("shrinking {} into {}", args.trace.display(), args.output.display()))?;
    eprintln!(
        "scribe: {} -> {}: {} bytes -> {} bytes, {} events -> {}",
        args.trace.display(),
        args.output.display(),
        outcome.bytes_in,
        outcome.bytes_out,
        outcome.events_in,
        outcome.events_out
    );
    Ok(ExitCode::SUCCESS)
}

fn profile(args: ProfilerArgs) -> Result<ExitCode> {
    for kind in &args.kind {
        if !profiler::EVENT_KINDS.contains(&kind.as_str()) {
            anyhow::bail!("unknown event kind '{kind}' (known: {})", profiler::EVENT_KINDS.join(", "));
        }
    }
    let options = ProfilerOptions {
        raw: args.raw,
        offsets: args.offset,
        tids: args.pid,
        syscalls: args.syscall,
        kinds: args.kind,
        data_prefix: args.data_bytes,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = profiler::profile(&args.trace, &options, &mut out)
        .with_context(|| format!("cannot read trace {}", args.trace.display()))?;
    out.flush().context("writing the profile")?;
    if let Some(stop) = summary.stopped_by {
        eprintln!("scribe: the trace is readable only up to this point ({} events): {:#}", summary.events, anyhow::Error::new(stop));
        return Ok(ExitCode::from(SCRIBE_FAILURE));
    }
    if !summary.complete {
        eprintln!(
            "scribe: warning: the trace has no end-of-trace event: the recorder stopped before finishing it; it ends after event {} at offset {}",
            summary.events, summary.end_offset
        );
    }
    Ok(ExitCode::SUCCESS)
}
