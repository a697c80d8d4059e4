//! The events replay took last, for the backtrace of a divergence and the
//! "last events" of a report.
//!
//! A batch of buffered calls (up to some 50,000 events) is kept as the
//! vector it was taken in, not moved event by event into a ring: each move
//! of an event is 160 bytes, and the ring's moves were a tenth of the
//! replay of a program making a million buffered calls. The batches older
//! than the last `limit` events are dropped as a whole.

use std::collections::VecDeque;

use scribe_trace::Positioned;

/// Single events are gathered in chunks of this many.
const CHUNK: usize = 64;

/// The last events replay took, at least `limit` of them once there were.
#[derive(Debug)]
pub struct History {
    chunks: VecDeque<Vec<Positioned>>,
    /// Events in `chunks`.
    len: usize,
    limit: usize,
    /// The last chunk takes single events (it is not a batch).
    open_chunk: bool,
}

impl History {
    /// An empty history that keeps at least the last `limit` events.
    pub fn new(limit: usize) -> History {
        History { chunks: VecDeque::new(), len: 0, limit, open_chunk: false }
    }

    /// Keeps one event.
    pub fn push(&mut self, event: Positioned) {
        match self.chunks.back_mut() {
            Some(chunk) if self.open_chunk && chunk.len() < CHUNK => chunk.push(event),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(event);
                self.chunks.push_back(chunk);
                self.open_chunk = true;
            }
        }
        self.len += 1;
        self.trim();
    }

    /// Keeps a batch of events, in order, without moving them one by one.
    pub fn push_batch(&mut self, batch: Vec<Positioned>) {
        if batch.is_empty() {
            return;
        }
        self.len += batch.len();
        self.chunks.push_back(batch);
        self.open_chunk = false;
        self.trim();
    }

    /// Drops the oldest chunks while the rest still hold `limit` events.
    fn trim(&mut self) {
        while let Some(front) = self.chunks.front() {
            if self.len - front.len() < self.limit {
                break;
            }
            self.len -= front.len();
            self.chunks.pop_front();
        }
        if self.chunks.is_empty() {
            self.open_chunk = false;
        }
    }

    /// The last event kept.
    pub fn back(&self) -> Option<&Positioned> {
        self.chunks.back().and_then(|chunk| chunk.last())
    }

    /// How many events are kept (`limit` or somewhat more).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is kept yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The events kept, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Positioned> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scribe_trace::Event;

    fn event(index: u64) -> Positioned {
        Positioned { chunk_offset: 0, offset_in_chunk: 0, index, event: Event::End(Default::default()) }
    }

    fn indexes(history: &History) -> Vec<u64> {
        history.iter().map(|p| p.index).collect()
    }

    #[test]
    fn keeps_at_least_the_last_limit_events_in_order() {
        let mut history = History::new(100);
        assert!(history.back().is_none() && history.is_empty());
        for i in 0..250 {
            history.push(event(i));
        }
        let kept = indexes(&history);
        assert!(kept.len() >= 100 && kept.len() < 100 + CHUNK, "{} kept", kept.len());
        assert_eq!(kept.len(), history.len());
        assert!(kept.windows(2).all(|w| w[1] == w[0] + 1) && *kept.last().unwrap() == 249);
        // A batch goes in whole, after the single events; older chunks go
        // once the rest holds the limit.
        history.push_batch((250..300).map(event).collect());
        history.push(event(300));
        let kept = indexes(&history);
        assert!(kept.len() >= 100 && *kept.last().unwrap() == 300);
        assert!(kept.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(history.back().map(|p| p.index), Some(300));
        assert_eq!(history.iter().next_back().map(|p| p.index), Some(300));
        // A batch bigger than the limit is all that is left.
        history.push_batch((301..1000).map(event).collect());
        assert_eq!(indexes(&history), (301..1000).collect::<Vec<_>>());
        history.push(event(1000));
        assert_eq!(history.len(), 700);
        history.push_batch(Vec::new());
        assert_eq!(history.back().map(|p| p.index), Some(1000));
    }
}
