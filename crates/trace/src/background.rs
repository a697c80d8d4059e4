//! A trace writer that encodes, compresses and writes on a thread of its
//! own, so that the recorder's thread, which every stopped task waits for,
//! only hands events over.

use std::io::{self, Write};
use std::mem;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::error::TraceError;
use crate::event::Event;
use crate::writer::TraceWriter;

/// Events handed to the thread at once (fewer channel operations).
const BATCH: usize = 256;

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
