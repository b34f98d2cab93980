//! The classic group protocol: membership, generations and rebalances. The broker
//! only relays assignments; the group leader (a client) computes them with its own
//! assignor (range, round-robin, sticky ...).
//!
//! ```text
//!  Empty ──join──▶ Preparing ──all members joined (or rebalance timeout)──▶ Completing
//!    ▲               ▲   (first join of an empty group waits initial_delay)    │
//!    │               └──── join / leave / session expiry ◀── Stable ◀─leader sync─┘
//!    └── last member leaves or expires
//! ```
//!
//! Membership lives in memory, as in Kafka where a restart makes members rejoin;
//! committed offsets are durable elsewhere (hub checkpoints).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::errors;

/// What a JoinGroup answers.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// For the leader: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Bytes)>,
}

impl JoinResult {
    fn error(error: i16, member_id: &str) -> Self {
        JoinResult {
            error,
            generation: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

/// What a SyncGroup answers.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

/// Either an answer now or one that comes when the group moves on.
pub enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// A JoinGroup as the coordinator needs it.
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub client_id: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// v4+: a new member first gets MEMBER_ID_REQUIRED with its id.
    pub require_member_id: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    Preparing,
    Completing,
    Stable,
}

struct Member {
    id: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    last_seen: Instant,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

struct Group {
    state: State,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    /// In join order.
    members: Vec<Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, allowed to join once (until the time).
    pending: Vec<(String, Instant)>,
    /// While preparing: when members that have not rejoined are dropped.
    deadline: Option<Instant>,
    /// While preparing the first generation: nothing completes before this.
    hold_until: Option<Instant>,
}

impl Group {
    fn new() -> Self {
        Group {
            state: State::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: Vec::new(),
            pending: Vec::new(),
            deadline: None,
            hold_until: None,
        }
    }

    fn member(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    fn max_rebalance_timeout(&self) -> Duration {
        self.members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::from_secs(1))
    }

    /// Moves to Preparing; members waiting for an assignment are told to rejoin.
    fn prepare(&mut self, now: Instant) {
        if self.state == State::Preparing {
            return;
        }
        self.state = State::Preparing;
        self.deadline = Some(now + self.max_rebalance_timeout());
        for m in &mut self.members {
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(SyncResult {
                    error: errors::REBALANCE_IN_PROGRESS,
                    ..Default::default()
                });
            }
        }
    }

    /// The protocol every member supports that most members list first.
    fn choose_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let common: Vec<&String> = first
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .collect();
        let mut votes: Vec<(&String, usize)> = common.iter().map(|n| (*n, 0)).collect();
        for m in &self.members {
            let choice = m
                .protocols
                .iter()
                .find_map(|(n, _)| votes.iter().position(|(c, _)| *c == n));
            if let Some(i) = choice {
                votes[i].1 += 1;
            }
        }
        let best = votes.iter().map(|(_, v)| *v).max()?;
        votes
            .into_iter()
            .find(|(_, v)| *v == best)
            .map(|(n, _)| n.clone())
    }

    fn complete_join(&mut self) {
        self.generation += 1;
        self.deadline = None;
        self.hold_until = None;
        self.protocol = self.choose_protocol();
        let Some(protocol) = self.protocol.clone() else {
            for m in &mut self.members {
                if let Some(tx) = m.join_waiter.take() {
                    let _ = tx.send(JoinResult::error(
                        errors::INCONSISTENT_GROUP_PROTOCOL,
                        &m.id,
                    ));
                }
            }
            self.members.clear();
            self.state = State::Empty;
            return;
        };
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| &m.id == l))
        {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        let leader = self.leader.clone().unwrap_or_default();
        let roster: Vec<(String, Bytes)> = self
            .members
            .iter()
            .map(|m| {
                let meta = m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                (m.id.clone(), meta)
            })
            .collect();
        self.state = State::Completing;
        for m in &mut self.members {
            m.assignment = Bytes::new();
            m.last_seen = Instant::now();
            if let Some(tx) = m.join_waiter.take() {
                let _ = tx.send(JoinResult {
                    error: errors::NONE,
                    generation: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: Some(protocol.clone()),
                    leader: leader.clone(),
                    member_id: m.id.clone(),
                    members: if m.id == leader {
                        roster.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
        tracing::info!(
            generation = self.generation,
            members = self.members.len(),
            %protocol,
            "kafka group rebalanced"
        );
    }

    /// Completes the join when every member has rejoined and no hold applies.
    fn try_complete(&mut self, now: Instant) {
        if self.state != State::Preparing {
            return;
        }
        if self.hold_until.is_some_and(|t| now < t) {
            return;
        }
        if !self.members.is_empty() && self.members.iter().all(|m| m.join_waiter.is_some()) {
            self.complete_join();
        }
    }

    fn remove(&mut self, id: &str, now: Instant) -> bool {
        let Some(i) = self.members.iter().position(|m| m.id == id) else {
            return false;
        };
        let m = self.members.remove(i);
        if let Some(tx) = m.join_waiter {
            let _ = tx.send(JoinResult::error(errors::UNKNOWN_MEMBER_ID, id));
        }
        if let Some(tx) = m.sync_waiter {
            let _ = tx.send(SyncResult {
                error: errors::UNKNOWN_MEMBER_ID,
                ..Default::default()
            });
        }
        if self.members.is_empty() {
            self.state = State::Empty;
            self.leader = None;
            self.deadline = None;
            self.hold_until = None;
        } else {
            self.prepare(now);
            self.try_complete(now);
        }
        true
    }

    /// Drops members whose session lapsed, and finishes overdue rebalances.
    fn tick(&mut self, now: Instant) {
        self.pending.retain(|(_, until)| *until > now);
        // A member whose connection closed while it waited to join is gone.
        let vanished: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.join_waiter.as_ref().is_some_and(|tx| tx.is_closed()))
            .map(|m| m.id.clone())
            .collect();
        for id in vanished {
            self.remove(&id, now);
        }
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.join_waiter.is_none() && now > m.last_seen + m.session_timeout)
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(member = %id, "kafka group member session expired");
            self.remove(&id, now);
        }
        if self.state == State::Preparing && self.deadline.is_some_and(|d| now >= d) {
            let late: Vec<String> = self
                .members
                .iter()
                .filter(|m| m.join_waiter.is_none())
                .map(|m| m.id.clone())
                .collect();
            for id in &late {
                self.members.retain(|m| &m.id != id);
            }
            if self.members.is_empty() {
                self.state = State::Empty;
                self.leader = None;
                self.deadline = None;
            } else {
                self.hold_until = None;
                self.complete_join();
            }
        } else {
            self.try_complete(now);
        }
    }
}

/// Every Kafka group of this broker.
pub struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
    initial_delay: Duration,
}

impl Coordinator {
    pub fn new(initial_delay: Duration) -> Self {
        Coordinator {
            groups: Mutex::new(HashMap::new()),
            initial_delay,
        }
    }

    pub fn join(&self, req: JoinRequest) -> Reply<JoinResult> {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap();
        let fail = |code| Reply::Now(JoinResult::error(code, &req.member_id));
        if req.group_id.is_empty() {
            return fail(errors::INVALID_GROUP_ID);
        }
        if req.session_timeout < Duration::from_millis(1000)
            || req.session_timeout > Duration::from_secs(3600)
        {
            return fail(errors::INVALID_SESSION_TIMEOUT);
        }
        if req.protocols.is_empty() || req.protocol_type.is_empty() {
            return fail(errors::INCONSISTENT_GROUP_PROTOCOL);
        }
        let group = groups
            .entry(req.group_id.clone())
            .or_insert_with(Group::new);
        if group.state != State::Empty {
            let same_type = group.protocol_type.as_deref() == Some(req.protocol_type.as_str());
            let shares = group.members.iter().all(|m| {
                m.id == req.member_id
                    || m.protocols
                        .iter()
                        .any(|(n, _)| req.protocols.iter().any(|(r, _)| r == n))
            });
            if !same_type || !shares {
                return fail(errors::INCONSISTENT_GROUP_PROTOCOL);
            }
        }
        let member_id = if req.member_id.is_empty() {
            let id = format!("{}-{}", req.client_id, uuid::Uuid::new_v4());
            if req.require_member_id {
                group.pending.push((id.clone(), now + req.session_timeout));
                return Reply::Now(JoinResult::error(errors::MEMBER_ID_REQUIRED, &id));
            }
            id
        } else {
            req.member_id.clone()
        };
        let known = group.member(&member_id).is_some();
        if !known {
            let was_pending = group.pending.iter().position(|(p, _)| *p == member_id);
            match was_pending {
                Some(i) => {
                    group.pending.remove(i);
                }
                None if !req.member_id.is_empty() => return fail(errors::UNKNOWN_MEMBER_ID),
                None => {}
            }
            group.members.push(Member {
                id: member_id.clone(),
                session_timeout: req.session_timeout,
                rebalance_timeout: req.rebalance_timeout,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                last_seen: now,
                join_waiter: None,
                sync_waiter: None,
            });
        }
        group.protocol_type = Some(req.protocol_type.clone());
        let (tx, rx) = oneshot::channel();
        let member = group.member(&member_id).expect("member just ensured");
        member.protocols = req.protocols;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        member.last_seen = now;
        if let Some(old) = member.join_waiter.replace(tx) {
            let _ = old.send(JoinResult::error(errors::REBALANCE_IN_PROGRESS, &member_id));
        }
        match group.state {
            State::Empty => {
                group.prepare(now);
                let hold = self.initial_delay.min(req.rebalance_timeout);
                group.hold_until = Some(now + hold);
            }
            State::Preparing => {
                // New members during the first hold extend it, as Kafka does.
                if let Some(h) = group.hold_until {
                    let limit = group.deadline.unwrap_or(h);
                    group.hold_until = Some((now + self.initial_delay).min(limit));
                }
            }
            State::Completing | State::Stable => group.prepare(now),
        }
        group.try_complete(now);
        Reply::Later(rx)
    }

    pub fn sync(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncResult> {
        let mut groups = self.groups.lock().unwrap();
        let fail = |code| {
            Reply::Now(SyncResult {
                error: code,
                ..Default::default()
            })
        };
        let Some(group) = groups.get_mut(group_id) else {
            return fail(errors::UNKNOWN_MEMBER_ID);
        };
        if group.member(member_id).is_none() {
            return fail(errors::UNKNOWN_MEMBER_ID);
        }
        if generation != group.generation {
            return fail(errors::ILLEGAL_GENERATION);
        }
        let ok = |g: &Group, assignment: Bytes| SyncResult {
            error: errors::NONE,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol.clone(),
            assignment,
        };
        match group.state {
            State::Empty | State::Preparing => fail(errors::REBALANCE_IN_PROGRESS),
            State::Stable => {
                let m = group.member(member_id).expect("checked");
                m.last_seen = Instant::now();
                let a = m.assignment.clone();
                Reply::Now(ok(group, a))
            }
            State::Completing => {
                let is_leader = group.leader.as_deref() == Some(member_id);
                let m = group.member(member_id).expect("checked");
                m.last_seen = Instant::now();
                if !is_leader {
                    let (tx, rx) = oneshot::channel();
                    m.sync_waiter = Some(tx);
                    return Reply::Later(rx);
                }
                for (id, a) in assignments {
                    if let Some(m) = group.member(&id) {
                        m.assignment = a;
                    }
                }
                group.state = State::Stable;
                let results: Vec<(Option<oneshot::Sender<SyncResult>>, Bytes)> = group
                    .members
                    .iter_mut()
                    .map(|m| (m.sync_waiter.take(), m.assignment.clone()))
                    .collect();
                for (tx, a) in results {
                    if let Some(tx) = tx {
                        let _ = tx.send(ok(group, a));
                    }
                }
                let own = group.member(member_id).expect("checked").assignment.clone();
                Reply::Now(ok(group, own))
            }
        }
    }

    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        self.check_member(
            group_id,
            generation,
            member_id,
            errors::UNKNOWN_MEMBER_ID,
            |s| s == State::Preparing,
        )
    }

    /// Checks a member's generation (noting it is alive): `missing_group` when the
    /// group is unknown, REBALANCE_IN_PROGRESS in the states `busy` names.
    fn check_member(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        missing_group: i16,
        busy: fn(State) -> bool,
    ) -> i16 {
        let mut groups = self.groups.lock().unwrap();
        let Some(group) = groups.get_mut(group_id) else {
            return missing_group;
        };
        let (state, current) = (group.state, group.generation);
        let Some(m) = group.member(member_id) else {
            return errors::UNKNOWN_MEMBER_ID;
        };
        m.last_seen = Instant::now();
        if generation != current {
            errors::ILLEGAL_GENERATION
        } else if busy(state) {
            errors::REBALANCE_IN_PROGRESS
        } else {
            errors::NONE
        }
    }

    /// Removes members; answers an error code per member.
    pub fn leave(&self, group_id: &str, member_ids: &[String]) -> Vec<i16> {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap();
        let Some(group) = groups.get_mut(group_id) else {
            return vec![errors::UNKNOWN_MEMBER_ID; member_ids.len()];
        };
        member_ids
            .iter()
            .map(|id| {
                if group.remove(id, now) {
                    tracing::info!(member = %id, "kafka group member left");
                    errors::NONE
                } else {
                    errors::UNKNOWN_MEMBER_ID
                }
            })
            .collect()
    }

    /// Whether an offset commit from this member and generation is allowed now.
    /// Commits with generation -1 and no member id come from clients outside the
    /// group protocol (assign(), kcat without -G) and are always allowed.
    pub fn check_commit(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        if generation < 0 && member_id.is_empty() {
            return errors::NONE;
        }
        self.check_member(
            group_id,
            generation,
            member_id,
            errors::ILLEGAL_GENERATION,
            |s| s != State::Stable,
        )
    }

    /// Expires sessions and completes rebalances whose time is up; run periodically.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut groups = self.groups.lock().unwrap();
        for g in groups.values_mut() {
            g.tick(now);
        }
        groups.retain(|_, g| g.state != State::Empty || !g.pending.is_empty());
    }
}
