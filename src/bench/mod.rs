//! `confsync bench ...`: benchmarks that print figures for BENCHMARKS.md.

pub mod directory;
pub mod mirror;
