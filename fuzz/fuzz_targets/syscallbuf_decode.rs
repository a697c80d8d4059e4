//! Feeds arbitrary bytes to the decoder of the in-process syscall buffer
//! (tracee memory, which a buggy or hostile program can scribble on): it must
//! return an error or calls that encode and decode back to themselves, and
//! never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scribe_engine::syscallbuf;

fuzz_target!(|data: &[u8]| {
    if let Ok(calls) = syscallbuf::decode(data, 1) {
        let bytes = syscallbuf::encode(calls.iter().map(|c| (&c.call, c.pipe))).expect("decoded calls fit again");
        assert_eq!(syscallbuf::decode(&bytes, 1).expect("re-encoded calls decode"), calls);
    }
});
