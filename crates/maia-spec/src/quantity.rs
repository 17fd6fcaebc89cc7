//! Kubernetes resource quantities (`4Gi`, `500m`, `1.5`, `2e3`), checked against the
//! API server's grammar so a typo like `4GB` is caught before it reaches a cluster.

use std::fmt;
use std::str::FromStr;

use crate::diag::Issue;
use crate::path::FieldPath;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(String);

impl Quantity {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const SUFFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "", "k", "M", "G", "T", "P", "E",
];

fn split_number(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let mut i = 0;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        i += 1;
    }
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    s.split_at(i)
}

fn valid_number(n: &str) -> bool {
    let digits = n.trim_start_matches(['+', '-']);
    let mut parts = digits.split('.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    parts.next().is_none()
        && (int.chars().all(|c| c.is_ascii_digit()))
        && frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()))
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
}

fn valid_suffix(suffix: &str) -> bool {
    if SUFFIXES.contains(&suffix) {
        return true;
    }
    // decimal exponent: e/E followed by a signed integer
    let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let exp = exp.trim_start_matches(['+', '-']);
    !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
}

fn suggestion(number: &str, suffix: &str) -> Option<String> {
    let lower = suffix.to_ascii_lowercase();
    let unit = match lower.as_str() {
        "kb" | "k" | "kib" | "ki" => "K",
        "mb" | "mib" | "mi" => "M",
        "gb" | "g" | "gib" | "gi" => "G",
        "tb" | "t" | "tib" | "ti" => "T",
        "pb" | "p" | "pib" | "pi" => "P",
        "b" | "bytes" => return Some(format!("write plain bytes as {number}")),
        _ => return None,
    };
    let decimal = if unit == "K" { "k" } else { unit };
    Some(format!(
        "use {number}{decimal} (powers of 1000) or {number}{unit}i (powers of 1024)"
    ))
}

/// The quantity's value in base units (bytes, cores), for range checks.
fn value(number: &str, suffix: &str) -> f64 {
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    let binary = |p: i32| 1024f64.powi(p);
    let multiplier = match suffix {
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exp => exp[1..]
            .parse::<i32>()
            .map_or(f64::INFINITY, |e| 10f64.powi(e)),
    };
    n * multiplier
}

/// The largest quantity the API server keeps as an integer (2^63 base units).
const MAX_VALUE: f64 = 9.223_372_036_854_775e18;

impl FromStr for Quantity {
    type Err = Issue;
    fn from_str(s: &str) -> Result<Self, Issue> {
        let trimmed = s.trim();
        let (number, suffix) = split_number(trimmed);
        if valid_number(number) && valid_suffix(suffix) && trimmed == s {
            if number.starts_with('-') {
                return Err(Issue::error(
                    FieldPath::root(),
                    format!("{s:?} is negative; a resource amount cannot be"),
                )
                .hint("write a positive amount, e.g. 4Gi or 500m"));
            }
            let v = value(number, suffix);
            if !v.is_finite() || v > MAX_VALUE {
                return Err(Issue::error(
                    FieldPath::root(),
                    format!("{s:?} is too large for Kubernetes (at most 2^63)"),
                )
                .hint("write a realistic amount, e.g. 64Gi or 16"));
            }
            return Ok(Quantity(s.to_string()));
        }
        let mut issue = Issue::error(
            FieldPath::root(),
            format!("{s:?} is not a Kubernetes quantity"),
        );
        issue.hint = Some(
            suggestion(number, suffix)
                .filter(|_| valid_number(number))
                .unwrap_or_else(|| {
                    "write a number with an optional suffix: Ki Mi Gi Ti (1024), k M G T (1000), m (1/1000, for CPU)".to_string()
                }),
        );
        Err(issue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_api_server_grammar() {
        for ok in [
            "4Gi", "500m", "1", "0.5", "2e3", "100Ki", "1.5G", "+1", ".5", "9E", "0",
        ] {
            assert!(ok.parse::<Quantity>().is_ok(), "{ok}");
        }
        // Grammatical, but no API server accepts them as resource amounts.
        for absurd in ["-1", "-4Gi", "-100Gi", "1e400", "10E", "9Ei", "1e19"] {
            let e = absurd.parse::<Quantity>().unwrap_err();
            assert!(e.hint.is_some(), "{absurd}");
        }
        for bad in ["4GB", "4gb", "", "Gi", "1..2", "4 Gi", "1Gi ", "abc", "1e"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
    }

    #[test]
    fn suggests_the_unit_meant() {
        let e = "4GB".parse::<Quantity>().unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("use 4G (powers of 1000) or 4Gi (powers of 1024)")
        );
        let e = "512mb".parse::<Quantity>().unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("use 512M (powers of 1000) or 512Mi (powers of 1024)")
        );
    }
}
