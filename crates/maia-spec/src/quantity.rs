//! Kubernetes resource quantities (`4Gi`, `500m`, `1.5`, `2e3`), checked against the
//! API server's grammar so a typo like `4GB` is caught before it reaches a cluster.

use std::fmt;
use std::str::FromStr;

use crate::diag::Issue;
use crate::path::FieldPath;

/// A resource amount the API server accepts (parsed with `FromStr`), kept as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(String);

impl Quantity {
    /// The quantity as written, e.g. `4Gi`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value in billionths of the base unit (bytes, cores): exact, and never
    /// `None` for a quantity that parsed (those are at most 2^63 base units).
    pub fn nanos(&self) -> i128 {
        nanos(&self.0).unwrap_or(0)
    }

    /// A quantity of at least `nanos` billionths, for an upper bound: `binary` amounts
    /// (bytes) rounded up to whole MiB and written with the largest exact binary
    /// suffix; others as whole units when exact, else milli-units rounded up.
    pub fn from_nanos(nanos: i128, binary: bool) -> Quantity {
        const G: i128 = 1_000_000_000;
        if binary {
            const MI: i128 = 1 << 20;
            let bytes = (nanos + G - 1) / G;
            let whole = (bytes + MI - 1) / MI * MI;
            return Quantity::from_nanos(whole * G, false).binary_form();
        }
        if nanos % G == 0 {
            return Quantity((nanos / G).to_string());
        }
        let milli = (nanos + 999_999) / 1_000_000;
        Quantity(format!("{milli}m"))
    }

    /// A whole number of bytes with the largest binary suffix that keeps it exact.
    fn binary_form(self) -> Quantity {
        let Ok(whole) = self.0.parse::<i128>() else {
            return self;
        };
        for (suffix, shift) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
            if whole != 0 && whole % (1i128 << shift) == 0 {
                return Quantity(format!("{}{suffix}", whole >> shift));
            }
        }
        self
    }
}

/// The value of a quantity's text in billionths of its base unit, exact for every
/// quantity a spec holds; `None` when the text is not a quantity.
pub fn nanos(text: &str) -> Option<i128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let mut exponent: i32 = 9 - i32::try_from(fraction.len()).ok()?;
    let mut factor: i128 = 1;
    match suffix {
        "" => {}
        "n" => exponent -= 9,
        "u" => exponent -= 6,
        "m" => exponent -= 3,
        "k" => exponent += 3,
        "M" => exponent += 6,
        "G" => exponent += 9,
        "T" => exponent += 12,
        "P" => exponent += 15,
        "E" => exponent += 18,
        "Ki" => factor = 1 << 10,
        "Mi" => factor = 1 << 20,
        "Gi" => factor = 1 << 30,
        "Ti" => factor = 1 << 40,
        "Pi" => factor = 1 << 50,
        "Ei" => factor = 1 << 60,
        s => {
            let e = s.strip_prefix(['e', 'E'])?;
            exponent += e.parse::<i32>().ok()?;
        }
    }
    let mut value = mantissa.checked_mul(factor)?;
    if exponent >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(exponent).ok()?)?)?;
    } else {
        value /= 10i128.checked_pow(u32::try_from(-exponent).ok()?)?;
    }
    Some(if negative { -value } else { value })
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
    fn sums_are_written_back_as_upper_bounds() {
        let gi: Quantity = "8Gi".parse().unwrap();
        assert_eq!(Quantity::from_nanos(gi.nanos(), true).as_str(), "8Gi");
        // 8G is not whole MiB: rounded up, never down.
        let g: Quantity = "8G".parse().unwrap();
        let up = Quantity::from_nanos(g.nanos(), true);
        assert_eq!(up.as_str(), "7630Mi");
        assert!(up.nanos() >= g.nanos());
        assert_eq!(
            Quantity::from_nanos(nanos("2.5").unwrap(), false).as_str(),
            "2500m"
        );
        assert_eq!(
            Quantity::from_nanos(nanos("4").unwrap(), false).as_str(),
            "4"
        );
        assert_eq!(Quantity::from_nanos(1, false).as_str(), "1m");
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
