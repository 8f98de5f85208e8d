//! qlp-runtime: what a platform embeds. Loads policy directories from disk
//! and evaluates records against them.
//!
//! Architecture invariant: only this crate (and the CLI) touches the file
//! system or knows JSON.

pub mod fs;

pub use fs::{policy_files, FsLoader};
