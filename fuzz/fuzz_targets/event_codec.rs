//! Decodes arbitrary bytes as one event (and as a header): decoding must
//! never panic, and whatever decodes must re-encode to exactly the input,
//! since the encoding is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scribe_trace::{Event, Header, Wire};

fuzz_target!(|data: &[u8]| {
    if let Ok(ev) = Event::from_bytes(data) {
        assert_eq!(ev.to_bytes(), data);
    }
    if let Ok(h) = Header::from_bytes(data) {
        assert_eq!(h.to_bytes(), data);
    }
});
