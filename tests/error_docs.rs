//! `docs/errors/README.md` is generated from the table of diagnostic codes
//! (`grammar/src/codes.rs`), with an example of each code taken from the
//! data tests that produce it; the table and the codes the sources report
//! must be the same set. `QLP_UPDATE_DOCS=1` rewrites the page.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use qlp_grammar::codes::CODES;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// Every `"qlp::..."` code the library sources report.
fn reported_codes() -> BTreeSet<String> {
    let mut sources = Vec::new();
    for dir in ["grammar/src", "compiler/src", "runtime/src", "lint/src", "src"] {
        files(&root().join(dir), "rs", &mut sources);
    }
    let mut codes = BTreeSet::new();
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("\"qlp::") {
            let rest = &text[at + 1..];
            let end = rest.find('"').unwrap();
            let code = &rest[..end];
            if code.len() > "qlp::".len() && code[5..].chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                codes.insert(code.to_string());
            }
        }
    }
    codes
}

#[test]
fn the_table_lists_exactly_the_reported_codes() {
    let table: BTreeSet<String> = CODES.iter().map(|c| c.code.to_string()).collect();
    assert_eq!(CODES.len(), table.len(), "a code is listed twice");
    let reported = reported_codes();
    let missing: Vec<&String> = reported.difference(&table).collect();
    let stale: Vec<&String> = table.difference(&reported).collect();
    assert!(
        missing.is_empty(),
        "codes reported but not in grammar/src/codes.rs: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "codes in grammar/src/codes.rs that nothing reports: {stale:?}"
    );
}

/// The first data test whose snapshot shows `code`, as a link.
fn example(code: &str, snapshots: &[(String, String)]) -> String {
    snapshots
        .iter()
        .find(|(_, text)| text.lines().any(|line| line.trim() == code))
        .map_or(String::from("—"), |(name, _)| format!("[{name}](../../{name})"))
}

fn page() -> String {
    let mut snapshot_files = Vec::new();
    for dir in ["compiler/tests/snapshots", "grammar/tests/snapshots"] {
        files(&root().join(dir), "snap", &mut snapshot_files);
    }
    snapshot_files.sort();
    let snapshots: Vec<(String, String)> = snapshot_files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            // Link the data file the snapshot was made from.
            let input = text
                .lines()
                .find_map(|l| l.strip_prefix("input_file: "))
                .map(str::to_string)
                .unwrap_or_else(|| path.strip_prefix(root()).unwrap().to_string_lossy().into_owned());
            (input, text)
        })
        .collect();
    let mut out = String::from(
        "# Diagnostic codes\n\nGenerated from `grammar/src/codes.rs` by `tests/error_docs.rs`; do not edit by hand.\n\
         Each example is a data test whose snapshot shows the code with its message and help.\n\
         Lint codes (`QLP1xx`) are in [../lints/](../lints/README.md).\n",
    );
    let mut group = "";
    for code in CODES {
        if code.group != group {
            group = code.group;
            out.push_str(&format!(
                "\n## {group}\n\n| code | meaning | example |\n|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.code,
            code.summary.replace('|', "\\|"),
            example(code.code, &snapshots)
        ));
    }
    out
}

#[test]
fn error_docs_are_up_to_date() {
    let path = root().join("docs/errors/README.md");
    let expected = page();
    if std::env::var_os("QLP_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/errors/README.md is stale: run `QLP_UPDATE_DOCS=1 cargo test --test error_docs`"
    );
}
