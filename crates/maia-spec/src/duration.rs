//! `allocationTime`: how long a Job may run. A bare number counts days, as in the
//! original; `s`, `m`, `h` and `d` suffixes select the unit. (The original multiplied
//! hours by 1440; an hour here is 3600 seconds.)

use crate::diag::Issue;
use crate::path::FieldPath;

/// Parses an allocation time into seconds.
pub(crate) fn allocation_seconds(text: &str) -> Result<i64, Issue> {
    let t = text.trim();
    let (digits, unit, multiplier) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], "seconds", 1),
        Some((i, 'm')) => (&t[..i], "minutes", 60),
        Some((i, 'h')) => (&t[..i], "hours", 3600),
        Some((i, 'd')) => (&t[..i], "days", 86_400),
        _ => (t, "days", 86_400),
    };
    let bad = || {
        Issue::error(FieldPath::root(), format!("{text:?} is not an allocation time"))
            .hint("write a whole number of days (\"2\"), or a number with a unit: \"45s\", \"30m\", \"12h\", \"180d\"")
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(
            Issue::error(FieldPath::root(), format!("{text:?} allows no time at all")).hint(
                "a Job with no allocation time is refused by Kubernetes; give at least one second",
            ),
        );
    }
    n.checked_mul(multiplier).ok_or_else(|| {
        Issue::error(
            FieldPath::root(),
            format!("{text:?} ({n} {unit}) is too long"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(allocation_seconds("2").unwrap(), 2 * 86_400);
        assert_eq!(allocation_seconds("12h").unwrap(), 12 * 3600);
        assert_eq!(allocation_seconds("30m").unwrap(), 1800);
        assert_eq!(allocation_seconds("45s").unwrap(), 45);
        assert_eq!(allocation_seconds("180d").unwrap(), 180 * 86_400);
        for bad in ["", "h", "1.5", "2w", "-1", "0", "two days"] {
            assert!(allocation_seconds(bad).is_err(), "{bad}");
        }
    }
}
