//! A member's names on the cluster, derived from the e-mail they log in with.
//!
//! JupyterHub (z2jh 3.1.0, KubeSpawner 6.1) names a member's pod `jupyter-<escaped>`,
//! their home claim `claim-<escaped>`, the pod's volume `volume-<escaped>` and labels
//! the pod `hub.jupyter.org/username: <escaped>`, where `<escaped>` is the lower-case
//! user name with every character but `a-z0-9` written as `-XX` (its UTF-8 bytes in
//! hex; escapism's escaping). maia's Services are `<name>-ssh` and `jupyter-<name>`,
//! selecting that label. Kubernetes allows 63 characters in a Service name, a volume
//! name and a label value, and a Service name must start with a letter, so a long
//! address (or one starting with a digit or a symbol) cannot be named that way.
//!
//! [`member_name`] is the escaped e-mail whenever it makes valid names: every member
//! maia could deploy before keeps exactly the name they have. Otherwise it is a
//! shortened one (`<start of the escaped e-mail>--<hash>`), and the hub is told to use
//! it for that member (see the JupyterHub component), so the pod, claim and label
//! agree with maia's Services.

/// The longest member name: `jupyter-<name>` must fit a Service name's 63 characters.
pub const MEMBER_NAME_MAX: usize = 63 - "jupyter-".len();

/// Hex digits of the hash that keeps shortened names apart.
const HASH_DIGITS: usize = 8;

/// KubeSpawner 6's escaping of a user name: `a-z0-9` kept, every other character
/// written as `-XX` per UTF-8 byte, then lower-cased (`-` → `-2d`, `@` → `-40`, `.` →
/// `-2e`, `+` → `-2b`). One-to-one, so [`member_email`] can undo it.
pub fn jupyterhub_user(email: &str) -> String {
    let mut out = String::with_capacity(email.len() + 8);
    for c in email.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                // escapism writes `%X`: one digit below 0x10 (never in an e-mail).
                out.push_str(&format!("-{b:x}"));
            }
        }
    }
    out
}

/// The member's name on the cluster: their Services are `<name>-ssh` and
/// `jupyter-<name>`, their pod is labelled with it. The escaped e-mail
/// ([`jupyterhub_user`]) when that starts with a letter and has at most
/// [`MEMBER_NAME_MAX`] characters; otherwise its start, `--` and a hash of the e-mail.
/// `--` never occurs in an escaped e-mail (`-` there is always followed by a hex
/// digit), so a shortened name is never someone's escaped one.
pub fn member_name(email: &str) -> String {
    let escaped = jupyterhub_user(email);
    if escaped.len() <= MEMBER_NAME_MAX && escaped.starts_with(|c: char| c.is_ascii_lowercase()) {
        return escaped;
    }
    // Service names start with a letter: `u` (user) in front of a digit or escape.
    let mut start = if escaped.starts_with(|c: char| c.is_ascii_lowercase()) {
        escaped
    } else {
        format!("u{escaped}")
    };
    start.truncate(MEMBER_NAME_MAX - 2 - HASH_DIGITS);
    // Not half an escape: `…-2` would read as a character that is not there.
    if let Some(cut) = start.rfind('-').filter(|i| start.len() - i < 3) {
        start.truncate(cut);
    }
    let start = start.trim_end_matches('-');
    format!("{start}--{:0width$x}", hash(email), width = HASH_DIGITS)
}

/// True when the member's name is not KubeSpawner's own (the hub must be told).
pub fn member_name_is_shortened(email: &str) -> bool {
    member_name(email) != jupyterhub_user(email)
}

/// The e-mail of a member whose name is the escaped e-mail; `None` for a shortened
/// name (or text that is no escaped e-mail).
pub fn member_email(name: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(name.len());
    let mut chars = name.bytes();
    while let Some(b) = chars.next() {
        if b == b'-' {
            let hex = [chars.next()?, chars.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    let email = String::from_utf8(bytes).ok()?;
    (email.contains('@') && jupyterhub_user(&email) == name).then_some(email)
}

/// FNV-1a (64 bits) of the e-mail, folded to [`HASH_DIGITS`] hex digits: stable
/// across versions and platforms, which is all a name needs (it is no secret).
fn hash(email: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in email.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Both halves count; the fold keeps it to 32 bits.
    ((h >> 32) ^ (h & 0xffff_ffff)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Dns1035Label;

    #[test]
    fn escapes_like_kubespawner() {
        assert_eq!(
            jupyterhub_user("bob.smith-x@example.org"),
            "bob-2esmith-2dx-40example-2eorg"
        );
        assert_eq!(jupyterhub_user("a+b_c@x.org"), "a-2bb-5fc-40x-2eorg");
        assert_eq!(jupyterhub_user("jörg@x.de"), "j-c3-b6rg-40x-2ede");
    }

    /// Every member maia deployed before keeps their name (the example's goldens too).
    #[test]
    fn members_whose_escaped_e_mail_is_a_valid_name_keep_it() {
        assert_eq!(member_name("alice@example.org"), "alice-40example-2eorg");
        assert_eq!(
            member_name("bob.smith@example.org"),
            "bob-2esmith-40example-2eorg"
        );
        // `@x.org` escapes to 10 characters.
        let longest = format!("{}@x.org", "a".repeat(MEMBER_NAME_MAX - 10));
        assert_eq!(member_name(&longest).len(), MEMBER_NAME_MAX);
        assert!(!member_name_is_shortened(&longest));
        assert!(!member_name_is_shortened("alice@example.org"));
    }

    #[test]
    fn every_name_is_a_valid_service_name_and_label() {
        for email in [
            "anna-karin.lindqvist-johansson@sll.karolinska.se".to_string(),
            "alice+maia@example.org".into(),
            format!("{}@example.org", "l".repeat(64)),
            "1alice@example.org".into(),
            "_x@example.org".into(),
            "jörg@example.de".into(),
            format!("{}@x.org", "a".repeat(MEMBER_NAME_MAX - 8)),
        ] {
            let name = member_name(&email);
            assert!(name.len() <= MEMBER_NAME_MAX, "{email}: {name}");
            for service in [format!("{name}-ssh"), format!("jupyter-{name}")] {
                service
                    .parse::<Dns1035Label>()
                    .unwrap_or_else(|e| panic!("{email}: {service}: {e:?}"));
            }
            assert!(name.ends_with(|c: char| c.is_ascii_alphanumeric()));
            // Stable: the same e-mail, the same name.
            assert_eq!(member_name(&email), name);
        }
    }

    /// KubeSpawner escapes `+` (`-2b`), so a `+` address is a plain escaped name.
    #[test]
    fn a_plus_address_is_escaped_as_the_hub_does() {
        assert_eq!(
            member_name("alice+maia@example.org"),
            "alice-2bmaia-40example-2eorg"
        );
        assert!(!member_name_is_shortened("alice+maia@example.org"));
        assert!(member_name_is_shortened("1alice@example.org"));
    }

    #[test]
    fn the_issues_address_keeps_its_readable_start() {
        let name = member_name("anna-karin.lindqvist-johansson@sll.karolinska.se");
        assert!(
            name.starts_with("anna-2dkarin-2elindqvist-2djohansson-40sll"),
            "{name}"
        );
    }

    #[test]
    fn addresses_equal_up_to_the_cut_get_distinct_names() {
        let one = format!("{}.one@example.org", "x".repeat(70));
        let two = format!("{}.two@example.org", "x".repeat(70));
        assert_ne!(member_name(&one), member_name(&two));
        // Nor can a shortened name be someone's escaped e-mail.
        assert!(member_name(&one).contains("--"));
    }

    #[test]
    fn an_escaped_e_mail_is_read_back_and_a_shortened_name_is_not() {
        for email in ["alice@example.org", "a+b_c@x.org", "jörg@x.de"] {
            assert_eq!(
                member_email(&jupyterhub_user(email)).as_deref(),
                Some(email)
            );
        }
        let long = format!("{}@example.org", "l".repeat(64));
        assert_eq!(member_email(&member_name(&long)), None);
        assert_eq!(member_email("nginx"), None);
        assert_eq!(member_email("a-zz"), None);
    }
}
