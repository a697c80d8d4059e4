//! Damaged and truncated traces give the right errors, never a panic.

mod common;

use common::*;
use scribe_trace::*;

fn events_of(chunks: &[Vec<Event>]) -> Vec<Event> {
    chunks.iter().flatten().cloned().collect()
}

#[test]
fn truncation_at_every_byte_keeps_complete_chunks() {
    let chunks = small_chunks();
    let (bytes, bounds) = build_trace(&chunks);
    let header_end = bounds[0];
    for cut in 0..bytes.len() {
        let cut64 = cut as u64;
        let (events, err) = read_bytes(&bytes[..cut]);
        if cut64 < header_end {
            assert!(events.is_empty());
            match err {
                Some(TraceError::Truncated {
                    offset: 0,
                    what: "file header",
                }) => {}
                other => panic!("cut {cut}: expected truncated header, got {other:?}"),
            }
            continue;
        }
        // Chunks that end at or before the cut are complete.
        let complete = bounds[1..].iter().filter(|&&b| b <= cut64).count();
        let expected = events_of(&chunks[..complete]);
        let got: Vec<_> = events.iter().map(|p| p.event.clone()).collect();
        assert_eq!(got, expected, "cut {cut}");
        let chunk_start = bounds[complete];
        if cut64 == chunk_start {
            assert!(err.is_none(), "cut {cut} at a chunk boundary: {err:?}");
            continue;
        }
        let what = if cut64 - chunk_start < CHUNK_HEADER_LEN as u64 {
            "chunk header"
        } else {
            "chunk"
        };
        match err {
            Some(TraceError::Truncated { offset, what: w }) => {
                assert_eq!(offset, chunk_start, "cut {cut}");
                assert_eq!(w, what, "cut {cut}");
            }
            other => panic!("cut {cut}: expected Truncated, got {other:?}"),
        }
    }
}

#[test]
fn truncated_file_on_disk() {
    let chunks = small_chunks();
    let (bytes, bounds) = build_trace(&chunks);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.trace");
    // Cut in the middle of the last chunk's payload.
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let mut reader = TraceReader::open(&path).unwrap();
    let mut events = vec![];
    let err = loop {
        match reader.next() {
            Some(Ok(p)) => events.push(p.event),
            Some(Err(e)) => break e,
            None => panic!("no error"),
        }
    };
    assert_eq!(events, events_of(&chunks[..2]));
    assert!(err.is_truncated());
    let msg = err.to_string();
    assert!(msg.contains(&format!("offset {}", bounds[2])), "{msg}");
    assert!(reader.next().is_none(), "fused");
    assert!(!reader.ended_cleanly());
    assert!(matches!(
        TraceReader::read_all(&path),
        Err(TraceError::Truncated { .. })
    ));
}

#[test]
fn empty_file_is_a_truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.trace");
    std::fs::write(&path, b"").unwrap();
    let err = TraceReader::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            TraceError::Truncated {
                offset: 0,
                what: "file header"
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("file header"), "{err}");
}

#[test]
fn wrong_magic_is_not_a_trace() {
    let (mut bytes, _) = build_trace(&small_chunks());
    bytes[0] = b'X';
    let err = TraceReader::from_reader(&bytes[..]).unwrap_err();
    assert!(matches!(err, TraceError::NotATrace { .. }), "{err}");
    assert!(err.to_string().contains("XCRIBETR"), "{err}");
    // Short files that are not a magic prefix are not traces either.
    for input in [&b"hello"[..], b"#!/bin/sh\necho hi\n", b"\x7fELF"] {
        assert!(matches!(
            TraceReader::from_reader(input).unwrap_err(),
            TraceError::NotATrace { .. }
        ));
    }
    // A magic prefix is a truncated trace.
    assert!(TraceReader::from_reader(&b"SCRIB"[..])
        .unwrap_err()
        .is_truncated());
}

#[test]
fn future_version_is_unsupported() {
    let mut bytes = file_header_bytes(FORMAT_VERSION + 1, &header());
    bytes.extend(chunk_with_raw(&raw_payload(&[end_event()]), 0, 1));
    match TraceReader::from_reader(&bytes[..]).unwrap_err() {
        TraceError::UnsupportedVersion { found, supported } => {
            assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
        }
        other => panic!("{other:?}"),
    }
    let bytes = file_header_bytes(0, &header());
    assert!(matches!(
        TraceReader::from_reader(&bytes[..]).unwrap_err(),
        TraceError::UnsupportedVersion { found: 0, .. }
    ));
}

#[test]
fn header_length_over_cap_is_corrupt() {
    let mut bytes = file_header_bytes(1, &header());
    bytes[12..16].copy_from_slice(&((MAX_HEADER_LEN as u32) + 1).to_le_bytes());
    let err = TraceReader::from_reader(&bytes[..]).unwrap_err();
    assert!(
        matches!(err, TraceError::Corrupt { offset: 0, .. }),
        "{err}"
    );
    // A huge but allowed length with no data behind it is truncation, and
    // must not allocate the declared size up front.
    bytes[12..16].copy_from_slice(&(MAX_HEADER_LEN as u32).to_le_bytes());
    assert!(TraceReader::from_reader(&bytes[..])
        .unwrap_err()
        .is_truncated());
}

#[test]
fn header_body_that_does_not_decode_is_corrupt() {
    // Valid crc over a body with a trailing byte.
    let mut body = header().to_bytes();
    body.push(0);
    let mut bytes = b"SCRIBETR".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    let err = TraceReader::from_reader(&bytes[..]).unwrap_err();
    assert!(
        matches!(err, TraceError::Corrupt { offset: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("trailing"), "{err}");
}

/// Flipping any byte is detected: the reader yields a prefix of the original
/// events, then an error of the kind expected for that region.
#[test]
fn flipped_bytes_are_detected() {
    let chunks = small_chunks();
    let (bytes, bounds) = build_trace(&chunks);
    let all = events_of(&chunks);
    let header_end = bounds[0] as usize;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let (events, err) = read_bytes(&bad);
            let err = err.unwrap_or_else(|| panic!("byte {i} ^ {mask:#x} undetected"));
            for p in &events {
                assert_eq!(p.event, all[p.index as usize], "byte {i}");
            }
            let ok = if i < 8 {
                matches!(err, TraceError::NotATrace { .. })
            } else if i < 12 {
                // A version this build does not read, or one it reads but
                // that the header checksum (which covers it) disagrees with.
                matches!(
                    err,
                    TraceError::UnsupportedVersion { .. }
                        | TraceError::ChecksumMismatch { offset: 0, what: "file header" }
                )
            } else if i < 16 {
                // The body length: too big, runs past the end, or shifts
                // where the crc is read from.
                matches!(
                    err,
                    TraceError::Corrupt { .. }
                        | TraceError::Truncated { .. }
                        | TraceError::ChecksumMismatch { .. }
                )
            } else if i < header_end {
                matches!(
                    err,
                    TraceError::ChecksumMismatch {
                        offset: 0,
                        what: "file header"
                    }
                )
            } else {
                let chunk = bounds.iter().rposition(|&b| b as usize <= i).unwrap();
                let start = bounds[chunk];
                let rel = i - start as usize;
                events.len() == chunks[..chunk].iter().map(Vec::len).sum::<usize>()
                    && if rel < 4 {
                        matches!(err, TraceError::Corrupt { offset, .. } if offset == start)
                    } else if rel < CHUNK_HEADER_LEN {
                        matches!(err, TraceError::ChecksumMismatch { offset, what: "chunk header" } if offset == start)
                    } else {
                        matches!(err, TraceError::ChecksumMismatch { offset, what: "chunk payload" } if offset == start)
                    }
            };
            assert!(
                ok,
                "byte {i} ^ {mask:#x}: unexpected {err:?} after {} events",
                events.len()
            );
        }
    }
}

/// Problems behind valid checksums, as a buggy writer would produce.
mod with_valid_checksums {
    use super::*;

    fn trace_with(chunks: &[Vec<u8>]) -> (Vec<u8>, u64) {
        let mut bytes = file_header_bytes(1, &header());
        let first_chunk = bytes.len() as u64;
        for c in chunks {
            bytes.extend_from_slice(c);
        }
        (bytes, first_chunk)
    }

    fn only_error(chunks: &[Vec<u8>]) -> (Vec<Positioned>, TraceError) {
        let (bytes, _) = trace_with(chunks);
        let (events, err) = read_bytes(&bytes);
        (events, err.expect("expected an error"))
    }

    fn assert_corrupt(err: &TraceError, at_chunk: u64, needle: &str) {
        match err {
            TraceError::Corrupt { offset, detail, .. } => {
                assert_eq!(*offset, at_chunk, "{err}");
                assert!(detail.contains(needle), "{err}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_good_handmade_chunk_reads() {
        let (bytes, _) = trace_with(&[chunk_with_raw(&raw_payload(&[end_event()]), 0, 1)]);
        let (events, err) = read_bytes(&bytes);
        assert!(err.is_none());
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn unknown_event_kind() {
        let mut raw = raw_payload(&[small_event(1)]);
        let bad_at = raw.len();
        raw.extend_from_slice(&[99, 1, 0]);
        let (bytes, start) = trace_with(&[chunk_with_raw(&raw, 0, 2)]);
        let (events, err) = read_bytes(&bytes);
        let err = err.unwrap();
        assert_eq!(events.len(), 1, "the good event before it is yielded");
        assert_corrupt(&err, start, "unknown event kind 99");
        match &err {
            TraceError::Corrupt { at: Some(pos), .. } => {
                assert_eq!(pos.chunk_offset, start);
                assert_eq!(pos.offset_in_chunk as usize, bad_at);
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&format!("chunk@{start}+{bad_at}")), "{msg}");
    }

    #[test]
    fn trailing_bytes_in_an_event_body() {
        let mut raw = end_event().to_bytes();
        raw[1] += 1; // body one byte longer
        raw.push(0);
        let (_, err) = only_error(&[chunk_with_raw(&raw, 0, 1)]);
        assert!(err.to_string().contains("trailing"), "{err}");
    }

    #[test]
    fn event_body_length_past_the_payload() {
        let mut raw = end_event().to_bytes();
        raw[1] += 5;
        let (bytes, start) = trace_with(&[chunk_with_raw(&raw, 0, 1)]);
        let (_, err) = read_bytes(&bytes);
        assert_corrupt(&err.unwrap(), start, "input ends early");
    }

    #[test]
    fn more_events_than_declared() {
        let raw = raw_payload(&[small_event(0), small_event(1)]);
        let (bytes, start) = trace_with(&[chunk_with_raw(&raw, 0, 1)]);
        let (events, err) = read_bytes(&bytes);
        assert_eq!(events.len(), 1);
        assert_corrupt(&err.unwrap(), start, "left after the chunk's 1 events");
    }

    #[test]
    fn fewer_events_than_declared() {
        let raw = raw_payload(&[small_event(0), small_event(1)]);
        let (bytes, start) = trace_with(&[chunk_with_raw(&raw, 0, 3)]);
        let (events, err) = read_bytes(&bytes);
        assert_eq!(events.len(), 2);
        assert_corrupt(&err.unwrap(), start, "ends after 2 of the chunk's 3 events");
    }

    #[test]
    fn zero_events() {
        let raw = raw_payload(&[small_event(0)]);
        let (bytes, start) = trace_with(&[chunk_with_raw(&raw, 0, 0)]);
        assert_corrupt(&read_bytes(&bytes).1.unwrap(), start, "declares 0 events");
    }

    #[test]
    fn raw_length_mismatch() {
        let raw = raw_payload(&[small_event(0)]);
        let compressed = zstd::bulk::compress(&raw, 3).unwrap();
        for raw_len in [raw.len() - 1, raw.len() + 1] {
            let c = chunk_with_payload(&compressed, raw_len as u32, 0, 1);
            let (bytes, start) = trace_with(&[c]);
            let (events, err) = read_bytes(&bytes);
            assert!(events.is_empty());
            let err = err.unwrap();
            assert!(
                matches!(err, TraceError::Corrupt { offset, .. } if offset == start),
                "{err}"
            );
        }
    }

    #[test]
    fn payload_that_is_not_zstd() {
        let c = chunk_with_payload(b"definitely not zstd", 100, 0, 1);
        let (bytes, start) = trace_with(&[c]);
        assert_corrupt(&read_bytes(&bytes).1.unwrap(), start, "zstd");
    }

    #[test]
    fn zstd_frame_followed_by_garbage() {
        let raw = raw_payload(&[small_event(0)]);
        let mut compressed = zstd::bulk::compress(&raw, 3).unwrap();
        compressed.extend_from_slice(b"junk");
        let c = chunk_with_payload(&compressed, raw.len() as u32, 0, 1);
        let (bytes, start) = trace_with(&[c]);
        let err = read_bytes(&bytes).1.unwrap();
        assert!(
            matches!(err, TraceError::Corrupt { offset, .. } if offset == start),
            "{err}"
        );
    }

    #[test]
    fn missing_or_repeated_chunk() {
        let c0 = chunk_with_raw(&raw_payload(&[small_event(0)]), 0, 1);
        let c1 = chunk_with_raw(&raw_payload(&[small_event(1)]), 1, 1);
        let c2 = chunk_with_raw(&raw_payload(&[small_event(2)]), 2, 1);
        let (bytes, start) = trace_with(&[c0.clone(), c2.clone()]);
        let (events, err) = read_bytes(&bytes);
        assert_eq!(events.len(), 1);
        assert_corrupt(&err.unwrap(), start + c0.len() as u64, "expected #1");
        let (_, err) = only_error(&[c0.clone(), c1.clone(), c1]);
        assert!(err.to_string().contains("expected #2"), "{err}");
        let (_, err) = only_error(&[c2]);
        assert!(err.to_string().contains("expected #0"), "{err}");
    }

    #[test]
    fn lengths_over_the_cap() {
        for (comp, raw) in [
            (MAX_CHUNK_LEN as u32 + 1, 10),
            (10, MAX_CHUNK_LEN as u32 + 1),
            (u32::MAX, u32::MAX),
        ] {
            let h = ChunkHeader {
                compressed_len: comp,
                raw_len: raw,
                first_index: 0,
                event_count: 1,
                payload_crc: 0,
            };
            let (bytes, start) = trace_with(&[h.to_bytes().to_vec()]);
            assert_corrupt(&read_bytes(&bytes).1.unwrap(), start, "cap");
        }
        // At the cap, with no payload behind it: truncated, not a 64 MiB
        // allocation.
        let h = ChunkHeader {
            compressed_len: MAX_CHUNK_LEN as u32,
            raw_len: MAX_CHUNK_LEN as u32,
            first_index: 0,
            event_count: 1,
            payload_crc: 0,
        };
        let (bytes, start) = trace_with(&[h.to_bytes().to_vec()]);
        match read_bytes(&bytes).1.unwrap() {
            TraceError::Truncated {
                offset,
                what: "chunk",
            } => assert_eq!(offset, start),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_chunk_magic_names_the_offset() {
        let mut c = chunk_with_raw(&raw_payload(&[end_event()]), 0, 1);
        c[..4].copy_from_slice(b"JUNK");
        let (bytes, start) = trace_with(&[c]);
        let err = read_bytes(&bytes).1.unwrap();
        assert_corrupt(&err, start, "JUNK");
        assert!(
            err.to_string().contains(&format!("offset {start}")),
            "{err}"
        );
    }
}

#[test]
fn version_1_traces_are_read_and_their_bookmarks_have_no_digests() {
    // A version 1 bookmark body ends after its tid.
    let mut v1_bookmark = vec![kind::BOOKMARK, 2, 4, 6];
    v1_bookmark.extend(end_event().to_bytes());
    let mut bytes = file_header_bytes(1, &header());
    bytes.extend(chunk_with_raw(&v1_bookmark, 0, 2));
    assert_eq!(TraceReader::from_reader(&bytes[..]).unwrap().format_version(), 1);
    let (events, err) = read_bytes(&bytes);
    assert!(err.is_none(), "{err:?}");
    match &events[0].event {
        Event::Bookmark(b) => assert_eq!((b.id, b.tid, b.digests.len()), (4, 3, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_explicit_empty_digest_list_is_not_canonical() {
    // id 4, tid 3, then a digest count of 0: the canonical form omits it.
    let err = Event::from_bytes(&[kind::BOOKMARK, 3, 4, 6, 0]).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::NonCanonical("empty digest list"));
    assert_eq!(err.offset, 4);
    // A truncated digest is an ordinary error, not a panic.
    let err = Event::from_bytes(&[kind::BOOKMARK, 5, 4, 6, 1, 2, 0xff]).unwrap_err();
    assert!(matches!(err.kind, DecodeErrorKind::CountTooLarge { .. }), "{err:?}");
}

#[test]
fn preemption_state_is_a_trailing_field() {
    // tid 3 (zigzag 6), rip 0x10, fingerprint: a version 2 preemption.
    let mut v2 = vec![kind::PREEMPT, 6, 0x10];
    v2.extend(7u64.to_le_bytes());
    let mut body = vec![v2.len() as u8 - 1];
    body.extend(&v2[1..]);
    let event = Event::from_bytes(&[&[kind::PREEMPT][..], &body].concat()).unwrap();
    match &event {
        Event::Preempt(p) => assert_eq!((p.tid, p.rip, p.fingerprint, p.state.len()), (3, 0x10, 7, 0)),
        other => panic!("{other:?}"),
    }
    // With a state it round-trips; an explicit empty state is rejected.
    let with_state = Event::Preempt(PreemptRecord { tid: 3, rip: 0x10, fingerprint: 7, state: vec![1, 2, u64::MAX], stack: None });
    assert_eq!(Event::from_bytes(&with_state.to_bytes()).unwrap(), with_state);
    // So does a stack digest after it (format 22); a zero length is not one.
    let stack = StackDigest { len: 65536, digest: 0x1234 };
    let with_stack = Event::Preempt(PreemptRecord { tid: 3, rip: 0x10, fingerprint: 7, state: vec![1, 2, u64::MAX], stack: Some(stack) });
    assert_eq!(Event::from_bytes(&with_stack.to_bytes()).unwrap(), with_stack);
    let plain = with_state.to_bytes();
    let mut zero = vec![kind::PREEMPT, plain[1] + 9];
    zero.extend(&plain[2..]);
    zero.push(0);
    zero.extend(0x1234u64.to_le_bytes());
    let err = Event::from_bytes(&zero).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::NonCanonical("stack digest length"));
    let mut explicit = vec![kind::PREEMPT, body[0] + 1];
    explicit.extend(&body[1..]);
    explicit.push(0);
    let err = Event::from_bytes(&explicit).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::NonCanonical("empty preemption state"));
}
