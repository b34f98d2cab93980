//! Consumer-group state kept by the server: per (group, partition) checkpoints and
//! partition ownership claims, the two things the Event Hubs processor model needs
//! from a checkpoint store. Each group's state is one JSON file, replaced atomically
//! (write, fsync, rename) on every change, so an acknowledged update survives a crash.
//!
//! Ownership is compare-and-swap on an etag: a claim succeeds when the caller names
//! the current etag (or claims an unowned partition with none). Expiry is judged by
//! `last_modified_ms`; load balancers treat stale records as unowned.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{HubError, Result};
use crate::fsutil::write_atomic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub partition: u32,
    /// The last processed event; reading resumes after it.
    pub sequence_number: u64,
    pub offset: Option<u64>,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    pub partition: u32,
    /// Empty when the owner gave the partition up.
    pub owner_id: String,
    pub etag: String,
    pub last_modified_ms: i64,
}

/// A request to own a partition: `etag` is the one last seen, or none for a
/// partition nobody has claimed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipClaim {
    pub partition: u32,
    pub owner_id: String,
    #[serde(default)]
    pub etag: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct GroupState {
    checkpoints: BTreeMap<u32, Checkpoint>,
    ownership: BTreeMap<u32, Ownership>,
}

pub struct GroupStore {
    dir: PathBuf,
    groups: Mutex<BTreeMap<String, GroupState>>,
    etag_counter: AtomicU64,
}

impl GroupStore {
    /// Loads the state of `groups` from `dir`; groups without a file start empty.
    pub fn open(dir: PathBuf, groups: &[String]) -> Result<GroupStore> {
        std::fs::create_dir_all(&dir).map_err(HubError::io(format!("create {}", dir.display())))?;
        let mut map = BTreeMap::new();
        for g in groups {
            let path = dir.join(format!("{g}.json"));
            let state = match std::fs::read(&path) {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| HubError::Corrupt {
                    path: path.display().to_string(),
                    position: e.column() as u64,
                    detail: e.to_string(),
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => GroupState::default(),
                Err(e) => {
                    return Err(HubError::Io {
                        context: format!("read {}", path.display()),
                        source: e,
                    })
                }
            };
            map.insert(g.clone(), state);
        }
        Ok(GroupStore {
            dir,
            groups: Mutex::new(map),
            etag_counter: AtomicU64::new(0),
        })
    }

    pub fn add_group(&self, group: &str) {
        self.groups
            .lock()
            .unwrap()
            .entry(group.to_string())
            .or_default();
    }

    pub fn remove_group(&self, group: &str) -> Result<()> {
        self.groups.lock().unwrap().remove(group);
        match std::fs::remove_file(self.dir.join(format!("{group}.json"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(HubError::io("remove group state")(e))
            }
            _ => Ok(()),
        }
    }

    fn with_group<T>(
        &self,
        group: &str,
        f: impl FnOnce(&mut GroupState) -> (T, bool),
    ) -> Result<T> {
        let mut groups = self.groups.lock().unwrap();
        let state = groups
            .get_mut(group)
            .ok_or_else(|| HubError::GroupNotFound {
                hub: String::new(),
                group: group.to_string(),
                existing: Vec::new(),
            })?;
        let (out, changed) = f(state);
        if changed {
            self.persist(group, state)?;
        }
        Ok(out)
    }

    fn persist(&self, group: &str, state: &GroupState) -> Result<()> {
        let bytes = serde_json::to_vec(state).expect("group state serializes");
        write_atomic(&self.dir, &format!("{group}.json"), &bytes)
    }

    pub fn checkpoints(&self, group: &str) -> Result<Vec<Checkpoint>> {
        self.with_group(group, |s| {
            (s.checkpoints.values().cloned().collect(), false)
        })
    }

    pub fn set_checkpoint(&self, group: &str, cp: Checkpoint) -> Result<()> {
        self.with_group(group, |s| {
            s.checkpoints.insert(cp.partition, cp);
            ((), true)
        })
    }

    /// Sets (or with `None` clears) several partitions' checkpoints in one durable
    /// write.
    pub fn set_checkpoints(
        &self,
        group: &str,
        updates: Vec<(u32, Option<Checkpoint>)>,
    ) -> Result<()> {
        self.with_group(group, |s| {
            for (partition, cp) in updates {
                match cp {
                    Some(cp) => s.checkpoints.insert(partition, cp),
                    None => s.checkpoints.remove(&partition),
                };
            }
            ((), true)
        })
    }

    pub fn ownership(&self, group: &str) -> Result<Vec<Ownership>> {
        self.with_group(group, |s| (s.ownership.values().cloned().collect(), false))
    }

    /// Applies each claim whose etag matches; returns the records now held by the
    /// claimants (claims that lost the race are simply absent).
    pub fn claim(
        &self,
        group: &str,
        claims: &[OwnershipClaim],
        now_ms: i64,
    ) -> Result<Vec<Ownership>> {
        self.with_group(group, |s| {
            let mut granted = Vec::new();
            for c in claims {
                let current = s.ownership.get(&c.partition).map(|o| o.etag.as_str());
                if current != c.etag.as_deref() {
                    continue;
                }
                let n = self.etag_counter.fetch_add(1, Ordering::Relaxed);
                let record = Ownership {
                    partition: c.partition,
                    owner_id: c.owner_id.clone(),
                    etag: format!("{:x}-{n:x}", now_ms),
                    last_modified_ms: now_ms,
                };
                s.ownership.insert(c.partition, record.clone());
                granted.push(record);
            }
            let changed = !granted.is_empty();
            (granted, changed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(p: u32, owner: &str, etag: Option<&str>) -> OwnershipClaim {
        OwnershipClaim {
            partition: p,
            owner_id: owner.into(),
            etag: etag.map(String::from),
        }
    }

    #[test]
    fn claims_are_compare_and_swap_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let groups = vec!["$Default".to_string()];
        let store = GroupStore::open(dir.path().into(), &groups).unwrap();
        let a = store
            .claim("$Default", &[claim(0, "a", None), claim(1, "a", None)], 10)
            .unwrap();
        assert_eq!(a.len(), 2);
        // b has a stale view (no etag) and loses; with the current etag it wins.
        assert!(store
            .claim("$Default", &[claim(0, "b", None)], 11)
            .unwrap()
            .is_empty());
        let b = store
            .claim("$Default", &[claim(0, "b", Some(&a[0].etag))], 12)
            .unwrap();
        assert_eq!(b[0].owner_id, "b");
        // a's renewal with its old etag now fails for partition 0 only.
        let renew = store
            .claim(
                "$Default",
                &[
                    claim(0, "a", Some(&a[0].etag)),
                    claim(1, "a", Some(&a[1].etag)),
                ],
                13,
            )
            .unwrap();
        assert_eq!(
            renew.iter().map(|o| o.partition).collect::<Vec<_>>(),
            vec![1]
        );
        store
            .set_checkpoint(
                "$Default",
                Checkpoint {
                    partition: 1,
                    sequence_number: 41,
                    offset: Some(900),
                    updated_ms: 13,
                },
            )
            .unwrap();
        drop(store);
        let store = GroupStore::open(dir.path().into(), &groups).unwrap();
        assert_eq!(
            store.checkpoints("$Default").unwrap()[0].sequence_number,
            41
        );
        let owners: Vec<_> = store
            .ownership("$Default")
            .unwrap()
            .into_iter()
            .map(|o| o.owner_id)
            .collect();
        assert_eq!(owners, vec!["b", "a"]);
        assert!(store.checkpoints("nope").is_err());
    }
}
