//! Receivers per (hub, consumer group, partition) and the epoch rules.
//!
//! A receiver with an epoch (`com.microsoft:epoch`) owns the partition: it
//! disconnects every receiver with a lower or equal epoch and every receiver without
//! one (they are detached with `amqp:link:stolen`), and while it is there a receiver
//! with a lower epoch or without one is refused. Without epochs, up to
//! `max_receivers_per_partition` readers share a partition.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Key = (String, String, u32);

struct Entry {
    id: u64,
    epoch: Option<i64>,
    /// Fired with the reason when a higher epoch takes over.
    kick: Option<oneshot::Sender<String>>,
}

/// Why a receiver was not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A receiver with a higher epoch (or any epoch, for a non-epoch receiver) holds it.
    Epoch(String),
    /// Too many non-epoch receivers.
    Limit(String),
}

#[derive(Clone)]
pub struct Receivers {
    inner: Arc<Mutex<State>>,
    max_plain: usize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    by_key: HashMap<Key, Vec<Entry>>,
}

/// A registered receiver; dropping it unregisters.
pub struct Registration {
    receivers: Receivers,
    key: Key,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut st = self.receivers.inner.lock().unwrap();
        if let Some(list) = st.by_key.get_mut(&self.key) {
            list.retain(|e| e.id != self.id);
            if list.is_empty() {
                st.by_key.remove(&self.key);
            }
        }
    }
}

impl Receivers {
    pub fn new(max_plain: usize) -> Self {
        Receivers {
            inner: Arc::default(),
            max_plain: max_plain.max(1),
        }
    }

    /// Lets a receiver in, displacing those its epoch outranks. The receiver half
    /// resolves, with the reason, when this one is displaced in turn.
    pub fn register(
        &self,
        hub: &str,
        group: &str,
        partition: u32,
        epoch: Option<i64>,
    ) -> Result<(Registration, oneshot::Receiver<String>), Refused> {
        // Consumer group names are case-insensitive in Event Hubs.
        let key = (hub.to_string(), group.to_ascii_lowercase(), partition);
        let mut st = self.inner.lock().unwrap();
        st.next_id += 1;
        let id = st.next_id;
        let list = st.by_key.entry(key.clone()).or_default();
        let highest = list.iter().filter_map(|e| e.epoch).max();
        match epoch {
            Some(e) => {
                if let Some(h) = highest.filter(|h| *h > e) {
                    return Err(Refused::Epoch(format!(
                        "a receiver with a higher epoch of '{h}' already exists on partition {partition} of consumer group '{group}'; a receiver with epoch '{e}' cannot be created"
                    )));
                }
                for old in list.iter_mut() {
                    if let Some(kick) = old.kick.take() {
                        let _ = kick.send(format!(
                            "a new receiver with epoch '{e}' took partition {partition} of consumer group '{group}'; this receiver (epoch {}) is disconnected",
                            old.epoch.map_or("none".to_string(), |x| x.to_string())
                        ));
                    }
                }
                list.retain(|old| old.kick.is_some());
            }
            None => {
                if let Some(h) = highest {
                    return Err(Refused::Epoch(format!(
                        "a receiver with epoch '{h}' owns partition {partition} of consumer group '{group}'; a receiver without an epoch cannot be created"
                    )));
                }
                if list.len() >= self.max_plain {
                    return Err(Refused::Limit(format!(
                        "at most {} receivers may read partition {partition} of consumer group '{group}' at once",
                        self.max_plain
                    )));
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        list.push(Entry {
            id,
            epoch,
            kick: Some(tx),
        });
        drop(st);
        Ok((
            Registration {
                receivers: self.clone(),
                key,
                id,
            },
            rx,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_epoch_takes_over_and_a_lower_one_is_refused() {
        let r = Receivers::new(5);
        let (_p, mut plain) = r.register("h", "g", 0, None).unwrap();
        let (_o, mut one) = r.register("h", "g", 0, Some(1)).unwrap();
        assert!(plain.try_recv().is_ok());
        assert!(matches!(
            r.register("h", "g", 0, None),
            Err(Refused::Epoch(_))
        ));
        assert!(matches!(
            r.register("h", "g", 0, Some(0)),
            Err(Refused::Epoch(_))
        ));
        let _two = r.register("h", "g", 0, Some(2)).unwrap();
        assert!(one.try_recv().is_ok());
        // Other partitions and groups are independent.
        assert!(r.register("h", "g", 1, None).is_ok());
        assert!(r.register("h", "other", 0, None).is_ok());
    }

    #[test]
    fn plain_receivers_are_limited_and_leaving_frees_a_place() {
        let r = Receivers::new(2);
        let a = r.register("h", "g", 0, None).unwrap();
        let _b = r.register("h", "g", 0, None).unwrap();
        assert!(matches!(
            r.register("h", "g", 0, None),
            Err(Refused::Limit(_))
        ));
        drop(a);
        assert!(r.register("h", "g", 0, None).is_ok());
    }
}
