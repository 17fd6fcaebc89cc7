//! Kubernetes quantities compared by value, as the API server normalises them.

/// True when both texts are quantities of the same value ("5000m" and "5",
/// "1Gi" and "1024Mi"), or the same text.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a == b || matches!((nanos(a), nanos(b)), (Some(x), Some(y)) if x == y)
}

/// True when `a` is a larger quantity than `b` ("200Gi" > "100Gi").
pub(crate) fn greater(a: &str, b: &str) -> bool {
    matches!((nanos(a), nanos(b)), (Some(x), Some(y)) if x > y)
}

/// The value in billionths, exact for every quantity a spec would hold.
fn nanos(text: &str) -> Option<i128> {
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

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn equal_values_in_other_units_are_the_same() {
        for (a, b) in [
            ("5000m", "5"),
            ("1Gi", "1024Mi"),
            ("0.5", "500m"),
            ("1k", "1000"),
            ("1e3", "1k"),
            ("100Gi", "107374182400"),
            ("1.5Gi", "1536Mi"),
        ] {
            assert!(same(a, b), "{a} == {b}");
        }
    }

    #[test]
    fn larger_is_by_value() {
        assert!(super::greater("200Gi", "100Gi"));
        assert!(super::greater("1Ti", "1000Gi"));
        assert!(!super::greater("100Gi", "100Gi"));
        assert!(!super::greater("50Gi", "100Gi"));
        assert!(!super::greater("lots", "100Gi"));
    }

    #[test]
    fn other_values_or_non_quantities_differ() {
        for (a, b) in [
            ("5", "4"),
            ("1Gi", "1G"),
            ("4Gi", "4"),
            ("abc", "abd"),
            ("", "0"),
        ] {
            assert!(!same(a, b), "{a} != {b}");
        }
    }
}
