//! Counts the syscalls in a trace by name, using the event iterator.
//!
//! `cargo run --example count_syscalls -- TRACE`

use std::collections::BTreeMap;
use std::path::PathBuf;

use scribe_engine::format::syscall_name;
use scribe_engine::trace::{Event, TraceReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os().nth(1).ok_or("usage: count_syscalls TRACE")?.into();
    let reader = TraceReader::open(&path)?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for item in reader {
        if let Event::Syscall(call) = item?.event {
            *counts.entry(syscall_name(call.nr)).or_default() += 1;
        }
    }
    let mut by_count: Vec<_> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (name, count) in by_count {
        println!("{count:>8} {name}");
    }
    Ok(())
}
