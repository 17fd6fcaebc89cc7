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
        // Suggest the toolkit's spelling only when it is itself a valid name.
        let suggestion = suggest_label(s);
        let hint = if (c.is_ascii_uppercase() || c == '_' || c == '.')
            && check_label(what, &suggestion, max, must_start_alpha).is_ok()
        {
            format!("use {suggestion:?}")
        } else {
            "use lower-case letters, digits and '-', starting and ending with a letter or digit"
                .to_string()
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
            /// The name as text.
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

/// Namespaces no app and no workspace may use: the cluster's own and maia's.
pub(crate) fn is_system_namespace(namespace: &str) -> bool {
    namespace.starts_with("kube-") || namespace == "maia-system"
}

/// Namespaces a workspace may not take: the system ones, `default`, the KubeFlow
/// namespace every group shares, and those of the operators a cluster runs.
pub fn is_reserved_for_workspaces(namespace: &str) -> bool {
    is_system_namespace(namespace)
        || [
            "default",
            "kubeflow",
            "cert-manager",
            "ingress-nginx",
            "traefik",
            "minio-operator",
        ]
        .contains(&namespace)
}

/// Checks an image tag (or version used as one): a word character then at most 127
/// of `[A-Za-z0-9_.-]`, as the registry grammar says. `$(…)`, quotes, spaces, `:` and
/// `/` are refused, so nothing a shell or a template could interpret reaches a spec.
pub(crate) fn check_image_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || tag.len() > 128 {
        return Err(format!(
            "{tag:?} is not an image tag (a letter, digit or '_' first, at most 128 characters)"
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
    {
        return Err(format!(
            "{tag:?} is not an image tag: {bad:?} is not allowed (letters, digits, '_', '.', '-')"
        ));
    }
    Ok(())
}

/// Checks an image reference: `[registry[:port]/]path[:tag][@sha256:…]`, where the
/// registry is a host name and each path component is lower-case letters and digits
/// joined by `.`, `_`, `__` or `-`. With `tag_required`, a tag (or digest) must be there.
pub(crate) fn check_image_reference(reference: &str, tag_required: bool) -> Result<(), String> {
    let wrong = |why: &str| format!("{reference:?} is not an image reference: {why}");
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(wrong("the digest must be sha256: and 64 hex digits"));
        }
    }
    // A tag is after the last ':' that comes after the last '/'.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        check_image_tag(t).map_err(|e| wrong(&e))?;
    } else if tag_required && digest.is_none() {
        return Err(format!("{reference:?} has no tag"));
    }
    let mut parts: Vec<&str> = repository.split('/').collect();
    // The first part is a registry when it looks like a host (a '.', a ':' or localhost).
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let host = parts.remove(0);
        let (host_name, port) = match host.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        let host_ok = !host_name.is_empty()
            && host_name
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !host_ok || !port_ok {
            return Err(wrong(&format!("{host:?} is not a registry host[:port]")));
        }
    }
    if parts.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(wrong("a path component is empty"));
    }
    for part in parts {
        let ok = part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(wrong(&format!(
                "{part:?}: path components are lower-case letters and digits joined by '.', '_' or '-'"
            )));
        }
    }
    Ok(())
}

/// The longest name helm gives a release (it refuses longer ones at install time).
pub const HELM_RELEASE_MAX: usize = 53;

/// The helm release of a workspace's JupyterHub: the only release name maia derives
/// from the namespace (the others are fixed, and each lives in its own namespace).
pub fn hub_release(namespace: &str) -> String {
    format!("jupyterhub-{namespace}")
}

/// Whether `value` is a Kubernetes label value (what a node selector matches): at most
/// 63 characters of letters, digits, '-', '_' and '.', starting and ending with a
/// letter or digit (or empty). The reason when it is not.
pub(crate) fn check_label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!(
            "{value:?} is {} characters, over the 63 a label value may have",
            value.len()
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!(
            "{value:?} holds {c:?}; a label value has only letters, digits, '-', '_' and '.'"
        ));
    }
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    if !edge(value.chars().next()) || !edge(value.chars().last()) {
        return Err(format!(
            "{value:?} must start and end with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_and_tags() {
        for ok in [
            "nginx",
            "jupyter/scipy-notebook",
            "registry.maia.cloud.cbh.kth.se/maia/monai-label-ohif-maia",
            "localhost:5000/a/b",
            "quay.io/minio/mc:RELEASE.2024-06-12T14-34-03Z",
            "kthcloud/mlflow:1.1",
            "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image_reference(ok, false), Ok(()), "{ok}");
        }
        for bad in [
            "nginx$(id)",
            "Nginx",
            "a//b",
            "nginx:1.0$(reboot)",
            "x:",
            "re g/x",
            "a/-b",
        ] {
            assert!(check_image_reference(bad, false).is_err(), "{bad}");
        }
        assert!(check_image_reference("nginx", true).is_err());
        assert!(check_image_reference("registry:5000/nginx", true).is_err());
        assert!(check_image_tag("1.0$(reboot)").is_err());
        assert!(check_image_tag("2.0").is_ok());
        assert!(check_image_tag("-x").is_err());
    }

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
        // No suggestion that is itself invalid.
        for bad in ["__/etc", "../etc", "_x_"] {
            let e = bad.parse::<DnsLabel>().unwrap_err();
            assert!(
                !e.hint.as_deref().unwrap_or_default().starts_with("use \""),
                "{bad}: {e:?}"
            );
        }
    }
}
