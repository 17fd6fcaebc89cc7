//! Kubernetes quantities compared by value, as the API server normalises them.

use maia_spec::quantity::nanos;

/// True when both texts are quantities of the same value ("5000m" and "5",
/// "1Gi" and "1024Mi"), or the same text.
pub fn same(a: &str, b: &str) -> bool {
    a == b || matches!((nanos(a), nanos(b)), (Some(x), Some(y)) if x == y)
}

/// True when `a` is a larger quantity than `b` ("200Gi" > "100Gi").
pub fn greater(a: &str, b: &str) -> bool {
    matches!((nanos(a), nanos(b)), (Some(x), Some(y)) if x > y)
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
