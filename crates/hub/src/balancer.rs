//! Partition load balancing for consumers of one group (the Event Hubs processor
//! model): each consumer periodically lists ownership, renews what it holds and
//! claims towards its fair share, stealing at most one partition per round from an
//! owner above the share. Pure logic; the caller does the I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::groups::{Ownership, OwnershipClaim};

/// The claims `me` should make this round: renewals of its own partitions plus new
/// ones towards `ceil`/`floor` of `partitions / active owners`.
pub fn plan(
    partitions: u32,
    ownership: &[Ownership],
    me: &str,
    now_ms: i64,
    expiry_ms: i64,
) -> Vec<OwnershipClaim> {
    let active = |o: &&Ownership| !o.owner_id.is_empty() && now_ms - o.last_modified_ms < expiry_ms;
    let by_partition: BTreeMap<u32, &Ownership> =
        ownership.iter().map(|o| (o.partition, o)).collect();
    let mut counts: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for o in ownership
        .iter()
        .filter(active)
        .filter(|o| o.partition < partitions)
    {
        counts
            .entry(o.owner_id.as_str())
            .or_default()
            .push(o.partition);
    }
    counts.entry(me).or_default();
    let owners = counts.len() as u32;
    let floor = partitions / owners;
    let with_extra = partitions % owners;
    let mine: Vec<u32> = counts.get(me).cloned().unwrap_or_default();
    let claim = |p: u32| OwnershipClaim {
        partition: p,
        owner_id: me.to_string(),
        etag: by_partition.get(&p).map(|o| o.etag.clone()),
    };
    let mut claims: Vec<OwnershipClaim> = mine.iter().map(|p| claim(*p)).collect();

    // Owners already holding floor+1 use up the extra slots.
    let above_floor = counts
        .iter()
        .filter(|(o, ps)| **o != me && ps.len() as u32 > floor)
        .count() as u32;
    let target = if above_floor < with_extra {
        floor + 1
    } else {
        floor
    };
    let mut need = target.saturating_sub(mine.len() as u32);
    if need == 0 {
        return claims;
    }
    let owned: BTreeSet<u32> = counts.values().flatten().copied().collect();
    for p in (0..partitions).filter(|p| !owned.contains(p)) {
        if need == 0 {
            break;
        }
        claims.push(claim(p));
        need -= 1;
    }
    if need > 0 {
        // Steal one from the busiest owner holding more than the share.
        let busiest = counts
            .iter()
            .filter(|(o, _)| **o != me)
            .max_by_key(|(_, ps)| ps.len());
        if let Some((_, ps)) = busiest {
            if ps.len() as u32 > target {
                if let Some(p) = ps.iter().max() {
                    claims.push(claim(*p));
                }
            }
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(p: u32, owner: &str, at: i64) -> Ownership {
        Ownership {
            partition: p,
            owner_id: owner.into(),
            etag: format!("e{p}"),
            last_modified_ms: at,
        }
    }

    fn claimed(c: &[OwnershipClaim]) -> Vec<u32> {
        c.iter().map(|c| c.partition).collect()
    }

    #[test]
    fn alone_takes_everything() {
        assert_eq!(claimed(&plan(4, &[], "a", 0, 60_000)), vec![0, 1, 2, 3]);
    }

    #[test]
    fn newcomer_steals_one_at_a_time_until_balanced() {
        let mut ownership: Vec<Ownership> = (0..4).map(|p| own(p, "a", 1000)).collect();
        let c = plan(4, &ownership, "b", 1000, 60_000);
        assert_eq!(claimed(&c), vec![3], "one steal per round");
        ownership[3].owner_id = "b".into();
        let c = plan(4, &ownership, "b", 1000, 60_000);
        assert_eq!(claimed(&c), vec![3, 2]);
        ownership[2].owner_id = "b".into();
        let c = plan(4, &ownership, "b", 1000, 60_000);
        assert_eq!(claimed(&c), vec![2, 3], "balanced: only renewals");
        let c = plan(4, &ownership, "a", 1000, 60_000);
        assert_eq!(claimed(&c), vec![0, 1]);
    }

    #[test]
    fn expired_owners_partitions_are_free() {
        let ownership = vec![
            own(0, "a", 0),
            own(1, "a", 0),
            own(2, "b", 100_000),
            own(3, "b", 100_000),
        ];
        let c = plan(4, &ownership, "b", 100_000, 60_000);
        assert_eq!(claimed(&c), vec![2, 3, 0, 1]);
        assert_eq!(
            c[2].etag.as_deref(),
            Some("e0"),
            "claims carry the etag they replace"
        );
    }

    #[test]
    fn odd_counts_give_one_extra_slot() {
        let ownership = vec![own(0, "a", 0), own(1, "a", 0)];
        // 3 partitions, owners a and b: a holds 2 (floor 1 + extra), b takes the free one.
        assert_eq!(claimed(&plan(3, &ownership, "b", 0, 60_000)), vec![2]);
        let ownership = vec![own(0, "a", 0), own(1, "a", 0), own(2, "b", 0)];
        assert_eq!(claimed(&plan(3, &ownership, "b", 0, 60_000)), vec![2]);
    }
}
