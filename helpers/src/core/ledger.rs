//! What a consumer read of each partition, by offset: where reading started, how far it
//! got, and whether an offset came twice or was skipped. Equal totals per hashtag are
//! evidence that every event was counted once, not proof (one lost and one doubled
//! `#Spark` add up); the offsets are: a consumer that read every offset of
//! `[start, end)` of each partition once, where `end` is the partition's end offset, read
//! each stored message exactly once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What was read of one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRead {
    /// The partition.
    pub partition: i32,
    /// The offset reading started at (`None`: the start of the log, offset unknown).
    pub start: Option<i64>,
    /// The offset after the highest one read (`start` while nothing was read).
    pub next: Option<i64>,
    /// Messages read.
    pub read: u64,
    /// Messages read again (an offset below one already read).
    pub repeated: u64,
    /// Offsets skipped: between `start` and the first message read, or between two
    /// messages read one after the other.
    pub skipped: u64,
}

impl PartitionRead {
    /// Whether every offset of `[start, end)` was read exactly once (with an unknown
    /// start: every offset up to `end`, without gap, from the first one read).
    pub fn read_once_to(&self, end: i64) -> bool {
        let to = self.next.or(self.start).unwrap_or(0);
        self.repeated == 0 && self.skipped == 0 && to == end
    }
}

/// [`PartitionRead`] per partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetLedger {
    parts: BTreeMap<i32, PartitionRead>,
}

impl OffsetLedger {
    /// Reading `partition` starts at `offset` (negative: a logical offset, unknown).
    /// Ignored once something was read from it: what follows is judged by the offsets.
    pub fn start(&mut self, partition: i32, offset: i64) {
        let p = self.entry(partition);
        if p.read == 0 {
            p.start = (offset >= 0).then_some(offset);
            p.next = p.start;
        }
    }

    /// A message at `offset` of `partition` was read.
    pub fn record(&mut self, partition: i32, offset: i64) {
        let p = self.entry(partition);
        match p.next {
            Some(next) if offset < next => p.repeated += 1,
            Some(next) => p.skipped += (offset - next) as u64,
            None => {}
        }
        p.read += 1;
        p.next = Some(p.next.map_or(offset + 1, |n| n.max(offset + 1)));
    }

    /// Forgets everything (the log was replaced: its offsets mean nothing now).
    pub fn clear(&mut self) {
        self.parts.clear();
    }

    /// The partitions, in order.
    pub fn partitions(&self) -> Vec<PartitionRead> {
        self.parts.values().copied().collect()
    }

    fn entry(&mut self, partition: i32) -> &mut PartitionRead {
        self.parts.entry(partition).or_insert(PartitionRead {
            partition,
            ..PartitionRead::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offset_once_is_read_once() {
        let mut l = OffsetLedger::default();
        l.start(0, 5);
        for o in 5..9 {
            l.record(0, o);
        }
        let p = l.partitions()[0];
        assert_eq!((p.start, p.next, p.read), (Some(5), Some(9), 4));
        assert!(p.read_once_to(9));
        assert!(!p.read_once_to(10), "one message of the log was never read");
    }

    #[test]
    fn a_repeat_or_a_gap_is_seen_even_when_the_totals_add_up() {
        // Offsets 0..4 of a 4-message log, read as 0, 1, 1, 3: four reads, as many as
        // messages, but 1 twice and 2 never.
        let mut l = OffsetLedger::default();
        l.start(0, 0);
        for o in [0, 1, 1, 3] {
            l.record(0, o);
        }
        let p = l.partitions()[0];
        assert_eq!((p.read, p.repeated, p.skipped), (4, 1, 1));
        assert!(!p.read_once_to(4));
    }

    #[test]
    fn a_late_first_message_skipped_the_start() {
        let mut l = OffsetLedger::default();
        l.start(2, 10);
        l.record(2, 12);
        assert_eq!(l.partitions()[0].skipped, 2);
        // A start after a read changes nothing; a logical start is unknown.
        l.start(2, 0);
        assert_eq!(l.partitions()[0].start, Some(10));
        l.start(1, -2);
        assert_eq!(l.partitions()[0].start, None);
        assert!(l.partitions()[0].read_once_to(0));
        l.clear();
        assert!(l.partitions().is_empty());
    }
}
