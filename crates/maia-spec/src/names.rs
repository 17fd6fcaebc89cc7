//! Validated Kubernetes names. They are built only through `FromStr`, so a name that
//! the API server would refuse never reaches the render layer.

use std::fmt;
use std::str::FromStr;

use crate::diag::Issue;
use crate::path::FieldPath;

fn invalid(what: &str, value: &str, why: impl Into<String>) -> Issue {
    Issue::error(
        FieldPath::root(),
        format!("{value:?} is not a valid {what}: {}", why.into()),
    )
}

fn check_label(what: &str, s: &str, max: usize, must_start_alpha: bool) -> Result<(), Issue> {
    if s.is_empty() {
        return Err(invalid(what, s, "it is empty"));
    }
    if s.len() > max {
        return Err(invalid(
            what,
            s,
            format!("it has {} characters, at most {max} are allowed", s.len()),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let hint = if c.is_ascii_uppercase() || c == '_' || c == '.' {
            format!("use {:?}", suggest_label(s))
        } else {
            "use lower-case letters, digits and '-'".to_string()
        };
        return Err(invalid(
            what,
            s,
            format!("{c:?} is not allowed (lower-case letters, digits and '-' only)"),
        )
        .hint(hint));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(invalid(
            what,
            s,
            "it must start and end with a letter or digit",
        ));
    }
    if must_start_alpha && !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(invalid(what, s, "it must start with a letter"));
    }
    Ok(())
}

/// The name the original toolkit would derive: lower-case, `_` and `.` to `-`.
pub fn suggest_label(s: &str) -> String {
    s.to_ascii_lowercase().replace(['_', '.'], "-")
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Issue;
            fn from_str(s: &str) -> Result<Self, Issue> {
                let check: fn(&str) -> Result<(), Issue> = $check;
                check(s)?;
                Ok($name(s.to_string()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }
    };
}

name_type!(
    /// RFC 1123 label: namespaces, container names (≤ 63, `[a-z0-9-]`).
    DnsLabel,
    "DNS-1123 label",
    |s| check_label("DNS-1123 label (lower-case letters, digits, '-', at most 63)", s, 63, false)
);

name_type!(
    /// RFC 1035 label: Service names (as DNS-1123, but starting with a letter).
    Dns1035Label,
    "DNS-1035 label",
    |s| check_label("Service name (DNS-1035: lower-case letters, digits, '-', starting with a letter, at most 63)", s, 63, true)
);

name_type!(
    /// RFC 1123 subdomain: most object names (ConfigMaps, PVCs, Secrets, Ingresses).
    DnsSubdomain,
    "DNS-1123 subdomain",
    |s| {
        if s.len() > 253 {
            return Err(invalid("object name", s, "it is longer than 253 characters"));
        }
        for part in s.split('.') {
            check_label("object name (DNS-1123 subdomain)", part, 63, false).map_err(|mut e| {
                e.message = format!("{s:?} is not a valid object name (DNS-1123 subdomain: lower-case letters, digits, '-' and '.')");
                e
            })?;
        }
        Ok(())
    }
);

name_type!(
    /// IANA service name: the name of a Service port (≤ 15, at least one letter).
    PortName,
    "port name",
    |s| {
        let what = "port name (IANA service name: lower-case letters, digits, '-', at most 15)";
        check_label(what, s, 15, false)?;
        if !s.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(invalid(what, s, "it must contain a letter"));
        }
        if s.contains("--") {
            return Err(invalid(what, s, "it must not contain \"--\""));
        }
        Ok(())
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!("demo-1".parse::<DnsLabel>().is_ok());
        let e = "Demo_1".parse::<DnsLabel>().unwrap_err();
        assert!(e.message.contains("'D'"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("use \"demo-1\""));
        assert!("-a".parse::<DnsLabel>().is_err());
        assert!("a".repeat(64).parse::<DnsLabel>().is_err());
        assert!("1abc".parse::<Dns1035Label>().is_err());
        assert!("jupyter".parse::<PortName>().is_ok());
        assert!("a-very-long-port-name".parse::<PortName>().is_err());
        assert!("mlflow-v1.cfg".parse::<DnsSubdomain>().is_ok());
    }
}
