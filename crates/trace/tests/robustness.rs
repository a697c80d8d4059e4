//! Randomized robustness: mutated traces never panic the reader.
//!
//! A plain deterministic generator stands in for a fuzzer (see fuzz/ for the
//! cargo-fuzz targets), so these run in every `cargo test`.

mod common;

use common::*;
use scribe_trace::*;

const ITERATIONS: usize = 20_000;

/// Values that tend to sit on boundaries of the format's checks.
const INTERESTING_U32: [u32; 9] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    MAX_CHUNK_LEN as u32,
    MAX_CHUNK_LEN as u32 + 1,
    MAX_HEADER_LEN as u32,
    u32::MAX,
];

/// Applies 1 to 4 random edits to `data`.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next_u64() as u8;
            }
            2 => data.truncate(rng.below(len + 1)),
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let junk = rng.bytes(n);
                data.splice(i..i, junk);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(16)).min(len);
                data.drain(i..end);
            }
            5 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                data[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            6 if len > 0 => {
                // Duplicate a range somewhere else.
                let i = rng.below(len);
                let end = (i + 1 + rng.below(64)).min(len);
                let copy = data[i..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            _ => {
                if let Some(b) = data.last_mut() {
                    *b = b.wrapping_add(1);
                }
            }
        }
    }
}

/// Reads everything; the point is that it returns at all.
fn drain(bytes: &[u8]) -> usize {
    let (events, _) = read_bytes(bytes);
    events.len()
}

fn base_traces() -> Vec<Vec<u8>> {
    let (small, _) = build_trace(&small_chunks());
    let variants: Vec<Vec<Event>> = all_variants().chunks(5).map(<[Event]>::to_vec).collect();
    let (all, _) = build_trace(&variants);
    vec![small, all]
}

#[test]
fn mutated_files_never_panic() {
    let bases = base_traces();
    let mut rng = Rng::new(0x5eed_0001);
    let mut errors = 0;
    for _ in 0..ITERATIONS {
        let mut data = bases[rng.below(bases.len())].clone();
        mutate(&mut rng, &mut data);
        let (_, err) = read_bytes(&data);
        errors += usize::from(err.is_some());
    }
    // Almost every mutation must be caught (a truncation exactly at a chunk
    // boundary, or a no-op edit, is not an error).
    assert!(errors > ITERATIONS * 9 / 10, "only {errors} errors");
}

/// Mutates the decompressed payload and re-wraps it with valid checksums, so
/// that the event decoder itself is exercised rather than the crc checks.
#[test]
fn mutated_payloads_behind_valid_checksums_never_panic() {
    // The big variants only add bulk data, which makes every iteration slower
    // without reaching more of the decoder.
    let variants: Vec<Event> = all_variants()
        .into_iter()
        .filter(|ev| ev.to_bytes().len() < 1000)
        .collect();
    let payloads: Vec<(Vec<u8>, u32)> = vec![
        (raw_payload(&variants), variants.len() as u32),
        (
            raw_payload(&small_chunks()[1]),
            small_chunks()[1].len() as u32,
        ),
    ];
    let prefix = file_header_bytes(FORMAT_VERSION, &header());
    let mut rng = Rng::new(0x5eed_0002);
    let mut decoded = 0;
    for _ in 0..ITERATIONS {
        let (base, count) = &payloads[rng.below(payloads.len())];
        let mut raw = base.clone();
        mutate(&mut rng, &mut raw);
        let count = match rng.below(4) {
            0 => rng.next_u64() as u32,
            1 => count.saturating_sub(1),
            _ => *count,
        };
        let mut bytes = prefix.clone();
        bytes.extend(chunk_with_raw(&raw, 0, count));
        decoded += drain(&bytes);
    }
    assert!(decoded > 0);
}

/// Decoding any mutation of an event either fails or gives an event whose
/// encoding is exactly the input: the encoding is canonical.
#[test]
fn mutated_events_decode_canonically_or_fail() {
    let events = all_variants();
    let encoded: Vec<Vec<u8>> = events.iter().map(Wire::to_bytes).collect();
    let mut rng = Rng::new(0x5eed_0003);
    let mut accepted = 0;
    for _ in 0..ITERATIONS {
        let mut data = encoded[rng.below(encoded.len())].clone();
        mutate(&mut rng, &mut data);
        if let Ok(ev) = Event::from_bytes(&data) {
            assert_eq!(ev.to_bytes(), data, "non-canonical decode of {ev:?}");
            accepted += 1;
        }
    }
    assert!(
        accepted > 0,
        "no mutation decoded at all: the check is vacuous"
    );
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng::new(0x5eed_0004);
    let mut prefix = file_header_bytes(FORMAT_VERSION, &header());
    let header_len = prefix.len();
    for i in 0..ITERATIONS / 4 {
        let n = rng.below(200);
        let junk = rng.bytes(n);
        // Alternately pure garbage, and garbage after a valid file header
        // (with a chunk magic, half the time).
        if i % 2 == 0 {
            drain(&junk);
        } else {
            prefix.truncate(header_len);
            if rng.below(2) == 0 {
                prefix.extend_from_slice(&CHUNK_MAGIC);
            }
            prefix.extend_from_slice(&junk);
            drain(&prefix);
        }
        let _ = Event::from_bytes(&junk);
        let _ = Header::from_bytes(&junk);
    }
}
