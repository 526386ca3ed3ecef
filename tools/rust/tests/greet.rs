//! A tiny library proving rust_library + rust_test: greeting text and a checked sum.

/// The greeting for `name`.
pub fn greet(name: &str) -> String {
    format!("hello, {name}")
}

/// Sum of `xs`, or None on overflow.
pub fn checked_sum(xs: &[u64]) -> Option<u64> {
    xs.iter().try_fold(0u64, |acc, &x| acc.checked_add(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_by_name() {
        assert_eq!(greet("nexa"), "hello, nexa");
    }

    #[test]
    fn sum_reports_overflow() {
        assert_eq!(checked_sum(&[1, 2, 3]), Some(6));
        assert_eq!(checked_sum(&[u64::MAX, 1]), None);
    }
}
