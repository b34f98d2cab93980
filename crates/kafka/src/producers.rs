//! Idempotent producers: producer ids, and de-duplication of retried batches by
//! (producer id, epoch, sequence) per partition, as a Kafka broker does.
//!
//! The state is in memory. After a restart the first batch a producer sends to a
//! partition is taken at whatever sequence it carries, so a client resuming an old
//! session is not refused; a retry of a batch acknowledged before the restart is
//! the one case that can store twice.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use crate::errors;

/// Batches remembered per producer and partition (Kafka allows 5 in flight).
const REMEMBERED: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchId {
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub count: i32,
}

impl BatchId {
    fn last_sequence(&self) -> i32 {
        // Sequences wrap from i32::MAX to 0.
        ((i64::from(self.base_sequence) + i64::from(self.count) - 1) % (i64::from(i32::MAX) + 1))
            as i32
    }
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// A retry of a stored batch: answer with its original base offset.
    Duplicate {
        base_offset: i64,
    },
    Refuse(i16),
}

#[derive(Debug, Default)]
struct State {
    epoch: i16,
    /// (first sequence, last sequence, base offset), newest last.
    batches: VecDeque<(i32, i32, i64)>,
}

pub struct Producers {
    next_id: AtomicI64,
    state: Mutex<HashMap<(String, u32, i64), State>>,
}

impl Default for Producers {
    fn default() -> Self {
        Self::new()
    }
}

impl Producers {
    pub fn new() -> Self {
        // Ids from the clock, so a restarted server never hands out an id a producer
        // of the previous run still holds.
        let seed = chrono::Utc::now().timestamp_millis().max(1) << 12;
        Producers {
            next_id: AtomicI64::new(seed),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh producer id at epoch 0.
    pub fn allocate(&self) -> (i64, i16) {
        (self.next_id.fetch_add(1, Ordering::Relaxed), 0)
    }

    pub fn check(&self, hub: &str, partition: u32, batch: BatchId) -> Verdict {
        if batch.producer_id < 0 {
            return Verdict::Append;
        }
        let states = self.state.lock().unwrap();
        let Some(state) = states.get(&(hub.to_string(), partition, batch.producer_id)) else {
            return Verdict::Append;
        };
        if batch.epoch < state.epoch {
            return Verdict::Refuse(errors::INVALID_PRODUCER_EPOCH);
        }
        if batch.epoch > state.epoch {
            return if batch.base_sequence == 0 {
                Verdict::Append
            } else {
                Verdict::Refuse(errors::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let last = batch.last_sequence();
        if let Some((_, _, offset)) = state
            .batches
            .iter()
            .find(|(first, l, _)| *first == batch.base_sequence && *l == last)
        {
            return Verdict::Duplicate {
                base_offset: *offset,
            };
        }
        let expected = state
            .batches
            .back()
            .map_or(
                batch.base_sequence,
                |(_, l, _)| {
                    if *l == i32::MAX {
                        0
                    } else {
                        l + 1
                    }
                },
            );
        if batch.base_sequence == expected {
            Verdict::Append
        } else {
            Verdict::Refuse(errors::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Remembers a stored batch.
    pub fn record(&self, hub: &str, partition: u32, batch: BatchId, base_offset: i64) {
        if batch.producer_id < 0 {
            return;
        }
        let mut states = self.state.lock().unwrap();
        let state = states
            .entry((hub.to_string(), partition, batch.producer_id))
            .or_default();
        if batch.epoch != state.epoch {
            state.epoch = batch.epoch;
            state.batches.clear();
        }
        state
            .batches
            .push_back((batch.base_sequence, batch.last_sequence(), base_offset));
        while state.batches.len() > REMEMBERED {
            state.batches.pop_front();
        }
    }

    /// Forgets the producers of a deleted hub.
    pub fn forget_hub(&self, hub: &str) {
        self.state.lock().unwrap().retain(|(h, _, _), _| h != hub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: i32, count: i32, epoch: i16) -> BatchId {
        BatchId {
            producer_id: 7,
            epoch,
            base_sequence: seq,
            count,
        }
    }

    #[test]
    fn retries_are_recognised_and_gaps_refused() {
        let p = Producers::new();
        assert_eq!(p.check("h", 0, batch(0, 10, 0)), Verdict::Append);
        p.record("h", 0, batch(0, 10, 0), 100);
        assert_eq!(
            p.check("h", 0, batch(0, 10, 0)),
            Verdict::Duplicate { base_offset: 100 }
        );
        assert_eq!(
            p.check("h", 0, batch(11, 5, 0)),
            Verdict::Refuse(errors::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(p.check("h", 0, batch(10, 5, 0)), Verdict::Append);
        // Other partitions and producers are independent.
        assert_eq!(p.check("h", 1, batch(40, 1, 0)), Verdict::Append);
        // A new epoch restarts at 0; an old epoch is fenced.
        assert_eq!(p.check("h", 0, batch(0, 1, 1)), Verdict::Append);
        p.record("h", 0, batch(0, 1, 1), 200);
        assert_eq!(
            p.check("h", 0, batch(10, 5, 0)),
            Verdict::Refuse(errors::INVALID_PRODUCER_EPOCH)
        );
        // Sequences wrap.
        let wrap = batch(i32::MAX - 1, 2, 1);
        assert_eq!(wrap.last_sequence(), i32::MAX);
        p.record("h", 2, wrap, 5);
        assert_eq!(p.check("h", 2, batch(0, 1, 1)), Verdict::Append);
        let (a, _) = p.allocate();
        let (b, _) = p.allocate();
        assert_eq!(b, a + 1);
    }
}
