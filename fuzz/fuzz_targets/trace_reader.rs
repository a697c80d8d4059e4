//! Feeds arbitrary bytes to the trace reader as a whole file and reads every
//! event: it must return errors, never panic, hang or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scribe_trace::TraceReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = TraceReader::from_reader(data) else {
        return;
    };
    let _ = reader.header();
    let mut errors = 0;
    for item in reader.by_ref() {
        if item.is_err() {
            errors += 1;
        }
    }
    // The iterator is fused after its first error.
    assert!(errors <= 1);
    assert!(reader.next().is_none());
    let _ = reader.ended_cleanly();
});
