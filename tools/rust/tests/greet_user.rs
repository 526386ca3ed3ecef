//! A second crate depending on `greet`: proves --extern wiring and rust_test(srcs = ...).
use greet::{checked_sum, greet};

#[test]
fn uses_the_dependency() {
    assert_eq!(greet("bazel"), "hello, bazel");
    assert_eq!(checked_sum(&[40, 2]), Some(42));
}
