//! SSH ports: each user keeps the port they have; a new user gets the lowest free port
//! of the range that no other user and no other Service in the cluster uses.

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

/// Allocates ports for `users`. `kept` are the ports of the previous run (users no
/// longer listed free theirs); `in_use` are ports taken by anything else.
pub fn allocate(
    users: &[String],
    kept: &SshPorts,
    in_use: &BTreeSet<u16>,
    range: (u16, u16),
) -> Result<SshPorts, PortsExhausted> {
    let mut out = BTreeMap::new();
    let mut taken: BTreeSet<u16> = in_use.clone();
    // Existing users first, so a new user can never take a port someone has.
    for user in users {
        if let Some(p) = kept.port(user).filter(|p| (range.0..=range.1).contains(p))
            && taken.insert(p)
        {
            out.insert(user.clone(), p);
        }
    }
    for user in users {
        if out.contains_key(user) {
            continue;
        }
        let free = (range.0..=range.1)
            .find(|p| !taken.contains(p))
            .ok_or_else(|| PortsExhausted {
                user: user.clone(),
                min: range.0,
                max: range.1,
                needed: users.len(),
                in_use: in_use.len(),
            })?;
        taken.insert(free);
        out.insert(user.clone(), free);
    }
    Ok(SshPorts(out))
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
}
