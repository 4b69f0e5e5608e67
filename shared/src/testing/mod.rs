//! Test doubles and the demo account, behind the `testing` feature (and in the library's own
//! unit tests): the in-memory account behind every port ([`memory`]), the policies the tests
//! and the demo use ([`policies`]), and the demo account seeded into any AWS-compatible
//! endpoint through the real SDK ([`seed`], with the `aws` feature too). Production code never
//! names this module (`shared/tests/module_graph.rs`).

pub mod memory;
pub mod policies;
#[cfg(feature = "aws")]
pub mod seed;
