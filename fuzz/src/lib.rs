//! The fuzz targets' properties (`checks.rs`, shared with the replay test in `shared/tests`).

pub mod checks;
