//! A trace writer and a trace reader that each work on a thread of their
//! own: the writer encodes, compresses and writes, so that the recorder's
//! thread, which every stopped task waits for, only hands events over; the
//! reader decompresses and decodes ahead, so that the replayer's thread,
//! which every replayed task waits for, only takes them.

use std::io::{self, Read, Write};
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::TraceError;
use crate::event::{Event, Header};
use crate::reader::{Positioned, TraceReader};
use crate::writer::TraceWriter;

/// Events handed to the thread at once (fewer channel operations).
const BATCH: usize = 1024;

/// Batches in flight at most: the recorder waits when the thread falls this
/// far behind, which bounds the memory they take.
const QUEUED_BATCHES: usize = 16;

enum Message {
    Events(Vec<Event>),
    /// Write everything so far and answer with the bytes written.
    Flush(SyncSender<Result<u64, TraceError>>),
}

/// Appends events to a trace through a [`TraceWriter`] on another thread.
///
/// Errors of the thread (a full disk, an event too large) are returned by
/// the next call after they happened; the events pushed after an error are
/// lost, as with [`TraceWriter`].
pub struct BackgroundWriter {
    batch: Vec<Event>,
    events: u64,
    to_thread: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<Result<u64, TraceError>>>,
}

impl BackgroundWriter {
    /// Moves `writer` to a new thread.
    pub fn spawn<W: Write + Send + 'static>(writer: TraceWriter<W>) -> Result<Self, TraceError> {
        let (to_thread, from_recorder) = sync_channel(QUEUED_BATCHES);
        let thread = std::thread::Builder::new()
            .name("scribe-trace-writer".into())
            .spawn(move || write_all(writer, from_recorder))
            .map_err(|e| TraceError::io("starting the trace writer thread", e))?;
        let events = 0;
        Ok(BackgroundWriter { batch: Vec::with_capacity(BATCH), events, to_thread: Some(to_thread), thread: Some(thread) })
    }

    /// Appends an event; it is written in the background.
    pub fn push(&mut self, event: Event) -> Result<(), TraceError> {
        self.batch.push(event);
        self.events += 1;
        if self.batch.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(())
    }

    /// Writes every event pushed so far to the file and flushes it (so that
    /// a recorder killed afterwards loses none of them); returns the trace's
    /// size in bytes.
    pub fn flush(&mut self) -> Result<u64, TraceError> {
        self.send_batch()?;
        let (answer, answered) = sync_channel(1);
        self.send(Message::Flush(answer))?;
        match answered.recv() {
            Ok(result) => result,
            Err(_) => Err(self.thread_error()),
        }
    }

    /// Flushes everything, stops the thread and returns the trace's size.
    pub fn finish(mut self) -> Result<u64, TraceError> {
        self.flush()?;
        self.to_thread = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(TraceError::io("finishing the trace", io::Error::other("the trace writer thread panicked"))),
        }
    }

    /// Events accepted by [`push`](Self::push), written or not.
    pub fn events_written(&self) -> u64 {
        self.events
    }

    fn send_batch(&mut self) -> Result<(), TraceError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send(Message::Events(batch))
    }

    fn send(&mut self, message: Message) -> Result<(), TraceError> {
        let sent = self.to_thread.as_ref().map(|to_thread| to_thread.send(message).is_ok());
        match sent {
            Some(true) => Ok(()),
            _ => Err(self.thread_error()),
        }
    }

    /// The error that ended the thread (it stops at its first one).
    fn thread_error(&mut self) -> TraceError {
        self.to_thread = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => TraceError::io("writing the trace", io::Error::other("the trace writer thread panicked")),
            _ => TraceError::io("writing the trace", io::Error::other("an earlier write failed; the trace ends there")),
        }
    }
}

impl std::fmt::Debug for BackgroundWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundWriter").field("events", &self.events).finish_non_exhaustive()
    }
}

/// The thread: writes what it receives until the channel closes or a
/// write fails, and returns the trace's size.
fn write_all<W: Write>(mut writer: TraceWriter<W>, from_recorder: Receiver<Message>) -> Result<u64, TraceError> {
    for message in from_recorder {
        match message {
            Message::Events(batch) => {
                for event in &batch {
                    writer.push(event)?;
                }
            }
            Message::Flush(answer) => {
                let result = writer.flush().map(|()| writer.bytes_written());
                let failed = result.is_err();
                let _ = answer.send(result);
                if failed {
                    return Err(TraceError::io("writing the trace", io::Error::other("an earlier write failed; the trace ends there")));
                }
            }
        }
    }
    writer.flush()?;
    Ok(writer.bytes_written())
}

/// Events the reader thread hands over at once.
const READ_BATCH: usize = 512;

/// Batches the reader thread reads ahead at most (it waits when the
/// replayer is this far behind), which bounds the memory they take.
const READ_AHEAD_BATCHES: usize = 8;

type ReadBatch = Vec<Result<Positioned, TraceError>>;

/// Reads a trace through a [`TraceReader`] on another thread; an
/// [`Iterator`] over the same items, in the same order.
pub struct BackgroundReader {
    header: Header,
    version: u32,
    batch: std::vec::IntoIter<Result<Positioned, TraceError>>,
    from_thread: Option<Receiver<ReadBatch>>,
    /// Set by the thread before it hands over its last batch.
    ended_cleanly: Arc<AtomicBool>,
}

impl BackgroundReader {
    /// Moves `reader` (its header already read) to a new thread.
    pub fn spawn<R: Read + Send + 'static>(reader: TraceReader<R>) -> Result<Self, TraceError> {
        let header = reader.header().clone();
        let version = reader.format_version();
        let ended_cleanly = Arc::new(AtomicBool::new(false));
        let (to_replayer, from_thread) = sync_channel(READ_AHEAD_BATCHES);
        let flag = Arc::clone(&ended_cleanly);
        std::thread::Builder::new()
            .name("scribe-trace-reader".into())
            .spawn(move || read_all(reader, to_replayer, &flag))
            .map_err(|e| TraceError::io("starting the trace reader thread", e))?;
        Ok(BackgroundReader { header, version, batch: Vec::new().into_iter(), from_thread: Some(from_thread), ended_cleanly })
    }

    /// The trace's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's format version.
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// As [`TraceReader::ended_cleanly`], once every item was taken.
    pub fn ended_cleanly(&self) -> bool {
        self.from_thread.is_none() && self.ended_cleanly.load(Ordering::SeqCst)
    }
}

impl Iterator for BackgroundReader {
    type Item = Result<Positioned, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            match self.from_thread.as_ref()?.recv() {
                Ok(batch) => self.batch = batch.into_iter(),
                // The thread is done, and said so before its last batch.
                Err(_) => {
                    self.from_thread = None;
                    return None;
                }
            }
        }
    }
}

impl std::fmt::Debug for BackgroundReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundReader").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The reader thread: hands over batches until the trace ends (or the
/// replayer is gone), saying first whether it ended cleanly.
fn read_all<R: Read>(mut reader: TraceReader<R>, to_replayer: SyncSender<ReadBatch>, ended_cleanly: &AtomicBool) {
    loop {
        let batch: ReadBatch = reader.by_ref().take(READ_BATCH).collect();
        let last = batch.len() < READ_BATCH;
        if last {
            ended_cleanly.store(reader.ended_cleanly(), Ordering::SeqCst);
        }
        if (!batch.is_empty() && to_replayer.send(batch).is_err()) || last {
            return;
        }
    }
}
