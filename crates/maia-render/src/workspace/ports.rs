//! SSH ports: each user keeps the port they have (even when `port_range` has changed
//! since); a new user gets the lowest free port of the range that no other user and no
//! other Service in the cluster uses.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Port per user e-mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SshPorts(pub BTreeMap<String, u16>);

impl SshPorts {
    /// The port of the member with this e-mail.
    pub fn port(&self, user: &str) -> Option<u16> {
        self.0.get(user).copied()
    }
}

/// Why ports could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the SSH port range {min}-{max} has no free port left for {user} ({needed} users, {in_use} ports already in use)"
)]
pub struct PortsExhausted {
    /// The first member left without a port.
    pub user: String,
    /// The range's first port.
    pub min: u16,
    /// The range's last port.
    pub max: u16,
    /// How many members need a port.
    pub needed: usize,
    /// How many ports other Services of the cluster already take.
    pub in_use: usize,
}

/// The ports something else already holds, as [`allocate_in`] asks about them: a set,
/// or a caller's own index when it allocates for many groups in a row.
pub trait InUse {
    /// Whether `port` is taken.
    fn contains(&self, port: u16) -> bool;
    /// How many ports are taken (for the error message).
    fn count(&self) -> usize;
    /// The lowest port of `from..=to` that is not taken.
    fn first_free(&self, from: u16, to: u16) -> Option<u16> {
        (from..=to).find(|p| !self.contains(*p))
    }
}

impl InUse for BTreeSet<u16> {
    fn contains(&self, port: u16) -> bool {
        BTreeSet::contains(self, &port)
    }

    fn count(&self) -> usize {
        self.len()
    }
}

/// Allocates ports for `users`. `kept` are the ports of the previous run (users no
/// longer listed free theirs); `in_use` are ports taken by anything else.
pub fn allocate(
    users: &[String],
    kept: &SshPorts,
    in_use: &BTreeSet<u16>,
    range: (u16, u16),
) -> Result<SshPorts, PortsExhausted> {
    allocate_in(users, kept, in_use, range)
}

/// [`allocate`], asking `in_use` which ports are taken.
pub fn allocate_in(
    users: &[String],
    kept: &SshPorts,
    in_use: &impl InUse,
    range: (u16, u16),
) -> Result<SshPorts, PortsExhausted> {
    let mut out = BTreeMap::new();
    // This group's ports, as they are given.
    let mut mine = BTreeSet::new();
    // Existing users first, so a new user can never take a port someone has. A port
    // outside a since-changed range is kept too: the member's SSH config names it
    // (the caller warns, see [`outside_range`]).
    for user in users {
        if let Some(p) = kept.port(user)
            && !in_use.contains(p)
            && mine.insert(p)
        {
            out.insert(user.clone(), p);
        }
    }
    // Every port below the last one given is taken: the next search starts there.
    let mut from = Some(range.0);
    for user in users {
        if out.contains_key(user) {
            continue;
        }
        let exhausted = || PortsExhausted {
            user: user.clone(),
            min: range.0,
            max: range.1,
            needed: users.len(),
            in_use: in_use.count(),
        };
        let free = loop {
            let p = from
                .and_then(|f| in_use.first_free(f, range.1))
                .ok_or_else(exhausted)?;
            if mine.insert(p) {
                break p;
            }
            from = p.checked_add(1);
        };
        from = Some(free);
        out.insert(user.clone(), free);
    }
    Ok(SshPorts(out))
}

/// The members whose (kept) port lies outside `range`, for a warning: `port_range`
/// was changed after they got it.
pub fn outside_range(ports: &SshPorts, range: (u16, u16)) -> Vec<(String, u16)> {
    ports
        .0
        .iter()
        .filter(|(_, p)| !(range.0..=range.1).contains(*p))
        .map(|(u, p)| (u.clone(), *p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn users_keep_their_ports_and_new_ones_avoid_every_port_in_use() {
        let first = allocate(
            &users(&["a", "b"]),
            &SshPorts::default(),
            &BTreeSet::new(),
            (100, 110),
        )
        .unwrap();
        assert_eq!(
            first.0,
            BTreeMap::from([("a".into(), 100), ("b".into(), 101)])
        );
        // a leaves, c joins; 100 is now used by another Service
        let second = allocate(
            &users(&["b", "c"]),
            &first,
            &BTreeSet::from([100]),
            (100, 110),
        )
        .unwrap();
        assert_eq!(second.port("b"), Some(101));
        assert_eq!(second.port("c"), Some(102));
        let err = allocate(
            &users(&["a", "b", "c"]),
            &SshPorts::default(),
            &BTreeSet::new(),
            (100, 101),
        )
        .unwrap_err();
        assert_eq!(err.user, "c");
    }

    /// A changed `port_range` renumbers nobody: members keep the ports their SSH
    /// configs name, even outside the new range (the caller warns), unless something
    /// else took a port meanwhile; new members get ports of the new range.
    #[test]
    fn members_keep_their_ports_when_the_range_changes() {
        let kept = SshPorts(BTreeMap::from([("a".into(), 100), ("b".into(), 101)]));
        let moved = allocate(
            &users(&["a", "b", "c"]),
            &kept,
            &BTreeSet::from([101]),
            (200, 210),
        )
        .unwrap();
        assert_eq!(moved.port("a"), Some(100), "kept outside the new range");
        assert_eq!(moved.port("b"), Some(200), "101 is someone else's now");
        assert_eq!(moved.port("c"), Some(201));
        assert_eq!(outside_range(&moved, (200, 210)), [("a".to_string(), 100)]);
    }

    /// A caller's own index gives what a set gives, kept ports and all.
    #[test]
    fn allocate_in_asks_the_callers_index() {
        struct Odd;
        impl InUse for Odd {
            fn contains(&self, port: u16) -> bool {
                port % 2 == 1
            }
            fn count(&self) -> usize {
                5
            }
        }
        let set: BTreeSet<u16> = (100..=110).filter(|p| p % 2 == 1).collect();
        let kept = SshPorts(BTreeMap::from([("b".into(), 104), ("c".into(), 103)]));
        let u = users(&["a", "b", "c", "d"]);
        let by_index = allocate_in(&u, &kept, &Odd, (100, 110)).unwrap();
        assert_eq!(by_index, allocate(&u, &kept, &set, (100, 110)).unwrap());
        assert_eq!(
            by_index.0,
            BTreeMap::from([
                ("a".into(), 100),
                ("b".into(), 104),
                ("c".into(), 102),
                ("d".into(), 106)
            ])
        );
        let err =
            allocate_in(&users(&["a", "b"]), &SshPorts::default(), &Odd, (109, 110)).unwrap_err();
        assert_eq!((err.user.as_str(), err.in_use), ("b", 5));
        // The last port of all can be given, and then nothing is left.
        let all = allocate_in(
            &users(&["a", "b"]),
            &SshPorts::default(),
            &Odd,
            (65534, 65535),
        );
        assert_eq!(all.unwrap_err().user, "b");
    }
}
