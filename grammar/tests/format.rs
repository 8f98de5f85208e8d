//! `qlp fmt` on every policy in the repository: idempotent, the same AST,
//! and every comment kept.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use qlp_grammar::format::format_source;
use qlp_grammar::{parse_file, FileId};

fn qlp_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            qlp_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "qlp") {
            out.push(path);
        }
    }
}

fn comment_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.find("//").map(|i| l[i..].trim_end().to_string()))
        .collect()
}

#[test]
fn formatting_every_policy_keeps_meaning_and_comments() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    qlp_files(&root.join("policies"), &mut files);
    qlp_files(&root.join("compiler/tests/data/ok"), &mut files);
    qlp_files(&root.join("compiler/tests/data/clif"), &mut files);
    qlp_files(&root.join("lint/tests/data/lint"), &mut files);
    qlp_files(&root.join("grammar/tests/data/ok"), &mut files);
    assert!(files.len() > 40);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let once = format_source(&text, FileId(0)).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let twice = format_source(&once, FileId(0)).unwrap();
        assert_eq!(once, twice, "{}: formatting is not idempotent", path.display());
        assert_eq!(
            parse_file(&text, FileId(0)).0,
            parse_file(&once, FileId(0)).0,
            "{}",
            path.display()
        );
        let mut before = comment_lines(&text);
        let mut after = comment_lines(&once);
        before.sort();
        after.sort();
        assert_eq!(before, after, "{}: comments changed", path.display());
    }
}
