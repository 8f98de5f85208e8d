//! Tidy checks on the source tree (as rust-analyzer's `tidy.rs`): crate
//! edges go one way, every source file says what it is for, and no library
//! source file grows past the size a reader can hold.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace crates each crate depends on (normal dependencies).
fn workspace_dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    value
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|table| {
            table
                .iter()
                .filter(|(_, spec)| spec.get("path").is_some())
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn crate_edges_go_one_way() {
    // grammar ← compiler ← {lint, runtime} ← cli; text (no language) below compiler
    let allowed: &[(&str, &[&str])] = &[
        ("grammar/Cargo.toml", &[]),
        ("text/Cargo.toml", &[]),
        ("compiler/Cargo.toml", &["qlp-grammar", "qlp-text"]),
        ("lint/Cargo.toml", &["qlp-compiler", "qlp-grammar"]),
        ("runtime/Cargo.toml", &["qlp-compiler", "qlp-grammar"]),
        (
            "Cargo.toml",
            &["qlp-compiler", "qlp-grammar", "qlp-lint", "qlp-runtime"],
        ),
    ];
    for (manifest, may_use) in allowed {
        for dependency in workspace_dependencies(&root().join(manifest)) {
            assert!(
                may_use.contains(&dependency.as_str()),
                "{manifest} depends on {dependency}: crate edges go grammar ← compiler ← {{lint, runtime}} ← cli"
            );
        }
    }
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn library_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "grammar/src",
        "text/src",
        "compiler/src",
        "lint/src",
        "runtime/src",
        "src",
    ] {
        sources(&root().join(dir), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_source_file_says_what_it_is_for() {
    for path in library_sources() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not start with a `//!` line saying what it is for",
            path.display()
        );
    }
}

/// The most lines a source file may have.
const MAX_LINES: usize = 800;

/// Files already past the limit, with the size they may not grow beyond:
/// each is to be split by concern, and this list only shrinks.
const OVERSIZE: &[(&str, usize)] = &[];

#[test]
fn no_source_file_grows_past_the_limit() {
    for path in library_sources() {
        let relative = path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        let limit = OVERSIZE
            .iter()
            .find(|(name, _)| *name == relative)
            .map_or(MAX_LINES, |(_, ceiling)| *ceiling);
        assert!(
            lines <= limit,
            "{relative} has {lines} lines, more than {limit}: split it by concern"
        );
    }
}
