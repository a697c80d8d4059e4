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
        let again = h.to_bytes();
        // Format 11 headers end with an explicit 0 for no ignored signals,
        // which later writers leave out: the one accepted non-canonical form.
        let format_11_zero = h.ignored_signals == 0 && data.len() == again.len() + 1 && data.starts_with(&again) && data.ends_with(&[0]);
        assert!(format_11_zero || again == data, "{again:?} != {data:?}");
        assert_eq!(Header::from_bytes(&again).ok(), Some(h));
    }
});
