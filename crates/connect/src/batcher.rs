//! Open batches of routed events, one per (database, table, format, mapping), and when
//! each must be sealed: Kusto's batching policy (the first of time, items — events —
//! and raw size), or a short flush interval when the table has streaming ingestion on.
//! Pure bookkeeping with the clock passed in, so the rules are testable exactly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eddy_explorer::ingest::events::EventRecord;
use eddy_explorer::policy::BatchingPolicy;
use serde_json::Value;

use crate::route::Route;

/// One routed event waiting in a batch.
#[derive(Debug, Clone)]
pub struct Item {
    pub record: EventRecord,
    pub partition: u32,
    pub seq: u64,
    pub enqueued_ms: i64,
    /// Routing properties, kept for failure records.
    pub properties: Value,
}

#[derive(Debug)]
pub struct Batch {
    pub route: Route,
    pub items: Vec<Item>,
    pub bytes: u64,
    pub opened: Instant,
    /// First (lowest) sequence number per partition in this batch.
    pub first_seq: BTreeMap<u32, u64>,
}

impl Batch {
    /// Highest sequence number per partition in this batch.
    pub fn last_seq(&self) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for i in &self.items {
            let e = out.entry(i.partition).or_insert(i.seq);
            *e = (*e).max(i.seq);
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SealReason {
    Items,
    Time,
    Size,
    Streaming,
    /// The connection's buffer limit was reached: the largest batch goes early.
    Memory,
}

impl SealReason {
    pub fn name(self) -> &'static str {
        match self {
            SealReason::Items => "items",
            SealReason::Time => "time",
            SealReason::Size => "size",
            SealReason::Streaming => "streaming",
            SealReason::Memory => "memory",
        }
    }
}

/// How a table's batches seal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub policy: BatchingPolicy,
    pub streaming: bool,
}

/// Streaming tables: seal this often, or at this many events, whichever is first.
#[derive(Debug, Clone, Copy)]
pub struct StreamingFlush {
    pub every: Duration,
    pub max_items: usize,
}

#[derive(Default)]
pub struct Batcher {
    batches: BTreeMap<Route, Batch>,
    total_bytes: u64,
}

impl Batcher {
    pub fn add(&mut self, route: &Route, item: Item, now: Instant) {
        let size = item.record.body.len() as u64;
        if !self.batches.contains_key(route) {
            let b = Batch {
                route: route.clone(),
                items: vec![],
                bytes: 0,
                opened: now,
                first_seq: BTreeMap::new(),
            };
            self.batches.insert(route.clone(), b);
        }
        let b = self.batches.get_mut(route).expect("inserted above");
        b.first_seq.entry(item.partition).or_insert(item.seq);
        b.bytes += size;
        b.items.push(item);
        self.total_bytes += size;
    }

    /// Why the batch for `route` must seal now, if it must.
    pub fn due_reason(
        &self,
        route: &Route,
        limits: Limits,
        streaming: StreamingFlush,
        now: Instant,
    ) -> Option<SealReason> {
        let b = self.batches.get(route)?;
        if b.items.is_empty() {
            return None;
        }
        let age = now.saturating_duration_since(b.opened);
        if limits.streaming {
            return (age >= streaming.every || b.items.len() >= streaming.max_items)
                .then_some(SealReason::Streaming);
        }
        let p = limits.policy;
        if b.items.len() as u64 >= p.max_items {
            Some(SealReason::Items)
        } else if b.bytes >= p.max_raw_mb * 1024 * 1024 {
            Some(SealReason::Size)
        } else if age >= p.max_time {
            Some(SealReason::Time)
        } else {
            None
        }
    }

    pub fn routes(&self) -> Vec<Route> {
        self.batches.keys().cloned().collect()
    }

    pub fn take(&mut self, route: &Route) -> Option<Batch> {
        let b = self.batches.remove(route)?;
        self.total_bytes -= b.bytes;
        Some(b)
    }

    /// The batch holding the most bytes.
    pub fn largest(&self) -> Option<Route> {
        self.batches
            .values()
            .max_by_key(|b| b.bytes)
            .map(|b| b.route.clone())
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// The lowest sequence number still waiting in a batch, per partition.
    pub fn min_pending(&self) -> BTreeMap<u32, u64> {
        let mut out: BTreeMap<u32, u64> = BTreeMap::new();
        for b in self.batches.values() {
            for (p, s) in &b.first_seq {
                let e = out.entry(*p).or_insert(*s);
                *e = (*e).min(*s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(t: &str) -> Route {
        Route {
            db: "db".into(),
            table: t.into(),
            format: "json".into(),
            mapping: None,
        }
    }

    fn item(p: u32, seq: u64, size: usize) -> Item {
        Item {
            record: EventRecord {
                body: bytes::Bytes::from(vec![b'x'; size]),
                system: vec![],
                position: String::new(),
            },
            partition: p,
            seq,
            enqueued_ms: 0,
            properties: Value::Null,
        }
    }

    const STREAM: StreamingFlush = StreamingFlush {
        every: Duration::from_millis(200),
        max_items: 1000,
    };

    fn limits(secs: u64, items: u64, mb: u64) -> Limits {
        Limits {
            policy: BatchingPolicy {
                max_time: Duration::from_secs(secs),
                max_items: items,
                max_raw_mb: mb,
            },
            streaming: false,
        }
    }

    #[test]
    fn first_limit_reached_seals() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        let l = limits(10, 3, 1);
        b.add(&route("T"), item(0, 1, 10), t0);
        b.add(&route("T"), item(0, 2, 10), t0);
        assert_eq!(b.due_reason(&route("T"), l, STREAM, t0), None);
        assert_eq!(
            b.due_reason(&route("T"), l, STREAM, t0 + Duration::from_secs(10)),
            Some(SealReason::Time)
        );
        b.add(&route("T"), item(1, 7, 10), t0);
        assert_eq!(
            b.due_reason(&route("T"), l, STREAM, t0),
            Some(SealReason::Items)
        );
        b.add(&route("U"), item(0, 3, 1024 * 1024), t0);
        assert_eq!(
            b.due_reason(&route("U"), l, STREAM, t0),
            Some(SealReason::Size)
        );
        assert_eq!(b.largest(), Some(route("U")));
        assert_eq!(b.min_pending(), BTreeMap::from([(0, 1), (1, 7)]));
        let taken = b.take(&route("T")).unwrap();
        assert_eq!(taken.items.len(), 3);
        assert_eq!(taken.last_seq(), BTreeMap::from([(0, 2), (1, 7)]));
        assert_eq!(b.min_pending(), BTreeMap::from([(0, 3)]));
        assert_eq!(b.total_bytes(), 1024 * 1024);
    }

    #[test]
    fn streaming_tables_flush_quickly() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        let mut l = limits(300, 500, 1024);
        l.streaming = true;
        b.add(&route("T"), item(0, 1, 10), t0);
        assert_eq!(b.due_reason(&route("T"), l, STREAM, t0), None);
        assert_eq!(
            b.due_reason(&route("T"), l, STREAM, t0 + Duration::from_millis(200)),
            Some(SealReason::Streaming)
        );
    }
}
