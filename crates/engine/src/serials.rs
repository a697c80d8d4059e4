//! Rendezvous serials on replay: which operations on a shared resource
//! (a pipe, a futex, an inode...) have been replayed, so that a later one can wait for them.
//!
//! Operations made at a stop are replayed in serial order: serial N goes
//! once 1..N-1 are done. Operations made through the syscall buffer are
//! replayed from the recording inside their batch, without a stop, and
//! count as done when the batch is checked; they may complete out of
//! order, so the progress is a done prefix plus the serials done past it.

use foldhash::HashMap;
use std::collections::BTreeSet;

/// Replay progress of one resource's serials.
#[derive(Debug, Default, Clone)]
pub struct SerialProgress {
    /// Every serial up to this one is done.
    prefix: u64,
    /// Serials done beyond the prefix.
    beyond: BTreeSet<u64>,
}

impl SerialProgress {
    /// Whether every serial before `serial` is done.
    pub fn may_go(&self, serial: u64) -> bool {
        self.prefix + 1 >= serial
    }

    /// Marks `serial` done.
    pub fn complete(&mut self, serial: u64) {
        if serial <= self.prefix {
            return;
        }
        self.beyond.insert(serial);
        while self.beyond.remove(&(self.prefix + 1)) {
            self.prefix += 1;
        }
    }
}

/// The progress of every resource, by kind and id.
#[derive(Debug, Default)]
pub struct Serials {
    by_id: HashMap<(u8, u64), SerialProgress>,
}

impl Serials {
    /// Whether operation `serial` on resource `id` of `kind` may be replayed now.
    pub fn may_go(&self, kind: u8, id: u64, serial: u64) -> bool {
        self.by_id.get(&(kind, id)).map_or(serial <= 1, |p| p.may_go(serial))
    }

    /// Marks operation `serial` on resource `id` of `kind` replayed.
    pub fn complete(&mut self, kind: u8, id: u64, serial: u64) {
        self.by_id.entry((kind, id)).or_default().complete(serial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_waits_for_every_earlier_one_even_when_they_complete_out_of_order() {
        let mut s = Serials::default();
        assert!(s.may_go(9, 7, 1) && !s.may_go(9, 7, 2));
        s.complete(9, 7, 3);
        assert!(!s.may_go(9, 7, 4), "2 and 1 are still missing");
        s.complete(9, 7, 1);
        assert!(s.may_go(9, 7, 2) && !s.may_go(9, 7, 4));
        s.complete(9, 7, 2);
        assert!(s.may_go(9, 7, 4) && !s.may_go(9, 7, 5), "1, 2, 3 done");
        assert!(s.may_go(9, 8, 1) && !s.may_go(9, 8, 2), "resources are independent");
        assert!(s.may_go(5, 7, 1) && !s.may_go(5, 7, 2), "so are kinds");
        s.complete(9, 7, 2);
        assert!(s.may_go(9, 7, 4), "completing twice changes nothing");
    }
}
