//! Shared helpers of the end-to-end and corpus tests.

pub mod cases;
