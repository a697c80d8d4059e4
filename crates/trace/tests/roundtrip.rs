//! Writing then reading gives back the same header and events.

mod common;

use common::*;
use scribe_trace::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn every_variant_round_trips_through_the_codec() {
    let events = all_variants();
    let mut kinds: Vec<u8> = events.iter().map(Event::kind).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        (kind::FILE..=kind::RANDOM).collect::<Vec<_>>(),
        "a variant is missing"
    );
    for ev in &events {
        let bytes = ev.to_bytes();
        assert_eq!(bytes[0], ev.kind());
        assert_eq!(Event::from_bytes(&bytes).as_ref(), Ok(ev), "{ev:?}");
    }
    let h = header();
    assert_eq!(Header::from_bytes(&h.to_bytes()), Ok(h));
    assert_eq!(
        Header::from_bytes(&Header::default().to_bytes()),
        Ok(Header::default())
    );
}

#[test]
fn every_variant_round_trips_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.trace");
    let events = all_variants();
    let mut w = TraceWriter::create(&path, &header()).unwrap();
    for ev in &events {
        w.push(ev).unwrap();
    }
    assert_eq!(w.events_written(), events.len() as u64);
    let size = w.finish().unwrap();
    assert_eq!(size, std::fs::metadata(&path).unwrap().len());

    let (h, read) = TraceReader::read_all(&path).unwrap();
    assert_eq!(h, header());
    assert_eq!(read, events);

    let mut reader = TraceReader::open(&path).unwrap();
    assert_eq!(reader.header(), &header());
    let positioned: Vec<_> = reader.events().map(Result::unwrap).collect();
    assert!(reader.ended_cleanly(), "last event is End");
    for (i, p) in positioned.iter().enumerate() {
        assert_eq!(p.index, i as u64);
        assert_eq!(p.event, events[i]);
    }
    // All in one chunk, right after the file header, events back to back.
    let first = &positioned[0];
    assert_eq!(first.offset_in_chunk, 0);
    assert_eq!(
        first.position().to_string(),
        format!("chunk@{}+0", first.chunk_offset)
    );
    let mut expected_offset = 0u32;
    for p in &positioned {
        assert_eq!(p.chunk_offset, first.chunk_offset);
        assert_eq!(p.offset_in_chunk, expected_offset);
        expected_offset += p.event.to_bytes().len() as u32;
    }
}

#[test]
fn many_events_span_several_chunks() {
    let mut rng = Rng::new(42);
    // ~5 MiB of incompressible data in 100 KiB events: at least 4 chunks.
    let events: Vec<Event> = (0..50)
        .map(|i| {
            Event::File(FileRecord {
                id: i,
                path: format!("/f{i}").into_bytes(),
                contents: Some(rng.bytes(100 << 10)),
                ..Default::default()
            })
        })
        .chain((0..20_000).map(small_event))
        .chain(std::iter::once(end_event()))
        .collect();
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    let mut sizes_seen = vec![];
    for ev in &events {
        w.push(ev).unwrap();
        sizes_seen.push(w.pending_bytes());
        assert!(w.pending_bytes() < CHUNK_TARGET_LEN);
    }
    let bytes = w.into_inner().unwrap();

    let mut reader = TraceReader::from_reader(&bytes[..]).unwrap();
    let mut chunk_offsets = vec![];
    let mut count = 0u64;
    for (i, item) in reader.by_ref().enumerate() {
        let p = item.unwrap();
        assert_eq!(p.index, i as u64);
        assert_eq!(p.event, events[i]);
        if chunk_offsets.last() != Some(&p.chunk_offset) {
            if let Some(&last) = chunk_offsets.last() {
                assert!(last < p.chunk_offset);
            }
            // A new chunk starts with its first event at offset 0.
            assert_eq!(p.offset_in_chunk, 0);
            chunk_offsets.push(p.chunk_offset);
        }
        count += 1;
    }
    assert_eq!(count, events.len() as u64);
    assert!(
        chunk_offsets.len() >= 5,
        "only {} chunks",
        chunk_offsets.len()
    );
    assert_eq!(reader.chunks_read(), chunk_offsets.len() as u64);
    assert!(reader.ended_cleanly());
}

#[test]
fn a_large_event_gets_its_own_chunk() {
    let mut rng = Rng::new(7);
    let big = Event::MapFile(MapRecord {
        data: Some(rng.bytes(3 << 20)),
        ..Default::default()
    });
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    w.push(&small_event(0)).unwrap();
    w.push(&big).unwrap();
    w.push(&small_event(1)).unwrap();
    let bytes = w.into_inner().unwrap();
    let (events, err) = read_bytes(&bytes);
    assert!(err.is_none());
    let got: Vec<_> = events.iter().map(|p| p.event.clone()).collect();
    assert_eq!(got, vec![small_event(0), big, small_event(1)]);
}

#[test]
fn oversized_events_are_refused_and_the_writer_goes_on() {
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    w.push(&small_event(0)).unwrap();
    let huge = Event::File(FileRecord {
        contents: Some(vec![0; MAX_EVENT_LEN]),
        ..Default::default()
    });
    let err = w.push(&huge).unwrap_err();
    assert!(
        matches!(err, TraceError::TooLarge { what: "file", .. }),
        "{err}"
    );
    w.push(&small_event(1)).unwrap();
    assert_eq!(w.events_written(), 2);
    let bytes = w.into_inner().unwrap();
    let (events, err) = read_bytes(&bytes);
    assert!(err.is_none());
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].index, 1);
}

#[test]
fn trace_file_mode_is_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.trace");
    TraceWriter::create(&path, &header())
        .unwrap()
        .finish()
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // An existing, more open file is restricted too, and truncated.
    let path = dir.path().join("old.trace");
    std::fs::write(&path, vec![b'x'; 10_000]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let size = TraceWriter::create(&path, &header())
        .unwrap()
        .finish()
        .unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), size);
    let (_, events) = TraceReader::read_all(&path).unwrap();
    assert!(events.is_empty());
}

#[test]
fn dropped_writer_leaves_the_flushed_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.trace");
    let mut w = TraceWriter::create(&path, &header()).unwrap();
    for i in 0..10 {
        w.push(&small_event(i)).unwrap();
    }
    w.flush().unwrap();
    for i in 10..15 {
        w.push(&small_event(i)).unwrap();
    }
    w.flush().unwrap();
    w.push(&small_event(15)).unwrap(); // never flushed
    drop(w);

    let mut reader = TraceReader::open(&path).unwrap();
    let events: Vec<_> = reader.by_ref().map(|p| p.unwrap().event).collect();
    assert_eq!(events, (0..15).map(small_event).collect::<Vec<_>>());
    // Ran out of chunks without an End event.
    assert!(reader.is_done());
    assert!(!reader.ended_cleanly());
}

#[test]
fn header_only_trace_is_valid_but_not_clean() {
    let (bytes, _) = build_trace(&[]);
    let mut reader = TraceReader::from_reader(&bytes[..]).unwrap();
    assert!(!reader.ended_cleanly());
    assert!(reader.next().is_none());
    assert!(reader.next().is_none());
    assert!(!reader.ended_cleanly());
    assert_eq!(reader.events_read(), 0);
}

#[test]
fn flush_without_pending_events_writes_no_chunk() {
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    let before = w.bytes_written();
    w.flush().unwrap();
    w.flush().unwrap();
    assert_eq!(w.bytes_written(), before);
    w.push(&end_event()).unwrap();
    w.flush().unwrap();
    assert!(w.bytes_written() > before);
    let bytes = w.into_inner().unwrap();
    let mut reader = TraceReader::from_reader(&bytes[..]).unwrap();
    assert_eq!(reader.by_ref().count(), 1);
    assert!(reader.ended_cleanly());
}

#[test]
fn writer_reports_io_errors_and_then_refuses() {
    /// Accepts `budget` bytes, then fails.
    struct Failing {
        budget: usize,
    }
    impl std::io::Write for Failing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.budget == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = TraceWriter::from_writer(Failing { budget: 1000 }, &header()).unwrap();
    let incompressible = Event::Exec(ExecRecord {
        stack: Rng::new(3).bytes(5000),
        ..Default::default()
    });
    w.push(&incompressible).unwrap();
    let err = w.flush().unwrap_err();
    assert!(matches!(err, TraceError::Io { .. }));
    assert!(err.to_string().contains("writing chunk at offset"), "{err}");
    assert!(w.push(&small_event(0)).is_err());
    assert!(w.flush().is_err());
}

/// A writer whose bytes stay readable after it moved to another thread.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn background_writer_writes_the_same_bytes_as_the_writer_it_wraps() {
    let events: Vec<Event> = (0..5000).map(small_event).collect();
    let mut direct = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    let shared = Shared::default();
    let mut background = BackgroundWriter::spawn(TraceWriter::from_writer(shared.clone(), &header()).unwrap()).unwrap();
    for (i, event) in events.iter().enumerate() {
        direct.push(event).unwrap();
        background.push(event.clone()).unwrap();
        if i == 1234 {
            direct.flush().unwrap();
            // A flush waits until everything pushed is in the output.
            let size = background.flush().unwrap();
            assert_eq!(size, shared.0.lock().unwrap().len() as u64);
            assert_eq!(size, direct.bytes_written());
        }
    }
    assert_eq!(background.events_written(), 5000);
    let size = background.finish().unwrap();
    let expected = direct.into_inner().unwrap();
    let written = shared.0.lock().unwrap().clone();
    assert_eq!(size, written.len() as u64);
    assert!(written == expected, "the background writer's trace differs");
    let mut reader = TraceReader::from_reader(&written[..]).unwrap();
    assert_eq!(reader.by_ref().count(), 5000);
}

#[test]
fn background_writer_reports_the_threads_io_error_and_then_refuses() {
    struct Failing;
    impl std::io::Write for Failing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Room for the file header only.
            if buf.len() > 200 {
                return Err(std::io::Error::other("disk full"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = BackgroundWriter::spawn(TraceWriter::from_writer(Failing, &header()).unwrap()).unwrap();
    let incompressible = Event::Exec(ExecRecord { stack: Rng::new(3).bytes(5000), ..Default::default() });
    w.push(incompressible).unwrap();
    let err = w.flush().unwrap_err();
    assert!(err.to_string().contains("writing chunk at offset"), "{err}");
    assert!(w.flush().is_err());
    let later = (0..5000).try_for_each(|i| w.push(small_event(i)));
    assert!(later.is_err(), "pushes after the error must fail once they reach the thread");
    assert!(w.finish().is_err());
}

/// The background reader yields what the plain reader does, in order, and
/// says the same about how the trace ended (and errors at the same item),
/// for a whole trace, one cut in half, and one missing its last 3 bytes.
#[test]
fn the_background_reader_matches_the_plain_reader() {
    let events: Vec<Event> = (0..5_000).map(small_event).chain(std::iter::once(end_event())).collect();
    let mut w = TraceWriter::from_writer(Vec::new(), &header()).unwrap();
    for (i, ev) in events.iter().enumerate() {
        w.push(ev).unwrap();
        if i % 700 == 0 {
            w.flush().unwrap();
        }
    }
    let whole = w.into_inner().unwrap();
    let plain_items = |bytes: Vec<u8>| {
        let mut reader = TraceReader::from_reader(std::io::Cursor::new(bytes)).unwrap();
        let items: Vec<String> = reader.by_ref().map(|item| format!("{item:?}")).collect();
        (items, reader.ended_cleanly())
    };
    let background_items = |bytes: Vec<u8>| {
        let reader = TraceReader::from_reader(std::io::Cursor::new(bytes)).unwrap();
        let mut background = BackgroundReader::spawn(reader).unwrap();
        assert_eq!(background.header(), &header());
        assert!(!background.ended_cleanly(), "said before the end");
        let items: Vec<String> = background.by_ref().map(|item| format!("{item:?}")).collect();
        (items, background.ended_cleanly())
    };
    let cuts = [whole.len(), whole.len() / 2, whole.len() - 3];
    for cut in cuts {
        let (plain, plain_clean) = plain_items(whole[..cut].to_vec());
        let (background, background_clean) = background_items(whole[..cut].to_vec());
        assert_eq!(plain.len(), background.len(), "cut at {cut}");
        assert_eq!(plain, background, "cut at {cut}");
        assert_eq!(plain_clean, background_clean, "cut at {cut}");
    }
    assert!(plain_items(whole.clone()).1, "the whole trace ends cleanly");
    assert_eq!(plain_items(whole).0.len(), events.len());
}
