//! The library API: the CLI's features through `Recorder`, `Replayer`,
//! the event iterator and an `Observer`.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use scribe_engine::trace::{Event, SyscallRecord, TraceReader};
use scribe_engine::{Observer, Recorder, Replayer};

#[derive(Default)]
struct Counts {
    syscalls: u64,
    writes: Vec<u8>,
}

struct Counter(Arc<Mutex<Counts>>);

impl Observer for Counter {
    fn syscall(&mut self, call: &SyscallRecord) {
        let mut counts = self.0.lock().unwrap();
        counts.syscalls += 1;
        if call.nr == 1 && call.args[0] == 1 {
            counts.writes.extend_from_slice(&call.result.to_le_bytes()[..1]);
        }
    }
}

#[test]
fn record_replay_and_observe_through_the_library() {
    let dir = tmpdir();
    let trace = dir.path().join("date.scribe");
    let recorded = Recorder::new([system_exe("date").into_os_string(), "+%s%N".into()]).output(&trace).level(1).record().unwrap();
    assert_eq!(recorded.status, scribe_engine::ExitStatus::Exited(0));
    assert!(recorded.events > 10);

    // The event iterator sees every syscall the observer sees, those made
    // through the in-process buffer included.
    let in_trace = TraceReader::open(&trace)
        .unwrap()
        .filter(|p| matches!(p.as_ref().unwrap().event, Event::Syscall(_) | Event::Buffered(_)))
        .count() as u64;

    let counts = Arc::new(Mutex::new(Counts::default()));
    let printed = Arc::new(Mutex::new(Vec::new()));
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let replayed = Replayer::open(&trace)
        .unwrap()
        .observer(Box::new(Counter(counts.clone())))
        .stdout(Box::new(Sink(printed.clone())))
        .replay()
        .unwrap();
    assert_eq!(replayed.status, recorded.status);
    let counts = counts.lock().unwrap();
    assert_eq!(counts.syscalls, in_trace, "the observer saw every recorded syscall");
    let text = String::from_utf8(printed.lock().unwrap().clone()).unwrap();
    assert_eq!(counts.writes, vec![text.len() as u8], "one write(1) of the printed length");
    assert!(text.trim().parse::<u128>().is_ok(), "{text}");
}

#[test]
fn replay_to_a_bookmark_reports_each_tasks_registers_the_same_every_time() {
    let dir = tmpdir();
    let trace = dir.path().join("ticker.scribe");
    // One process that sleeps between lines: bookmarks land while it waits.
    // (A bookmark during a new process's dynamic loading can see ld.so's
    // cpuid-derived data differ on another core: see "Limits today".)
    let recorded = Recorder::new([program("ticker_slow").into_os_string(), "8".into()])
        .output(&trace)
        .auto_bookmark(std::time::Duration::from_millis(150))
        .record()
        .unwrap();
    assert!(recorded.bookmarks > 0, "no bookmark was placed");
    let stop = || Replayer::open(&trace).unwrap().stdout(Box::new(std::io::sink())).stop_at(0).replay().unwrap();
    let (first, second) = (stop(), stop());
    assert_eq!(first.stopped_at, Some(scribe_engine::Stop::Bookmark(0)));
    assert!(!first.stop_registers.is_empty(), "no task's registers at the bookmark");
    assert_eq!(first.stop_registers, second.stop_registers, "two replays to one bookmark differ");
    for (tid, registers) in &first.stop_registers {
        let value = |name: &str| registers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap();
        assert_ne!(value("rip"), 0, "task {tid}");
        assert!(value("rsp") > 0x7fff_0000_0000, "task {tid}: stack pointer {:#x}", value("rsp"));
    }
}
