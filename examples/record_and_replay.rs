//! Records a command with the library, replays it to its first bookmark
//! (or to the end), and prints what each run reported and, at the bookmark,
//! each task's registers.
//!
//! `cargo run --example record_and_replay -- CMD ARGS...`

use std::time::Duration;

use scribe_engine::{Recorder, Replayer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let command: Vec<String> = std::env::args().skip(1).collect();
    if command.is_empty() {
        return Err("usage: record_and_replay CMD ARGS...".into());
    }
    let trace = std::env::temp_dir().join(format!("scribe-example-{}.log", std::process::id()));
    let recorded = Recorder::new(&command)
        .output(&trace)
        .auto_bookmark(Duration::from_millis(100))
        .on_notice(|message| eprintln!("recorder: {message}"))
        .record()?;
    eprintln!("recorded {} events, status {:?}, {} bookmarks", recorded.events, recorded.status, recorded.bookmarks);
    let mut replayer = Replayer::open(&trace)?.stdout(Box::new(std::io::sink()));
    if recorded.bookmarks > 0 {
        replayer = replayer.stop_at(0);
    }
    let replayed = replayer.replay()?;
    eprintln!("replayed {} events, stopped at {:?}, status {:?}", replayed.events, replayed.stopped_at, replayed.status);
    for (tid, registers) in &replayed.stop_registers {
        let shown: Vec<String> = registers.iter().map(|(name, value)| format!("{name}={value:#x}")).collect();
        eprintln!("task {tid} at the bookmark: {}", shown.join(" "));
    }
    std::fs::remove_file(&trace)?;
    Ok(())
}
